// The kayentaCanary stage: automated canary analysis by kayenta, planned the
// way Spinnaker's orca plans it.
//
//   kayentaCanary            tasks: aggregateCanaryResults
//   └ runCanaryIntervals     (before-stage) tasks: planCanaryIntervals, then
//     │                      after-stages planned from the time it ran:
//     ├ wait "Warmup Wait"          when beginCanaryAnalysisAfterMins > 0
//     ├ wait "Interval Wait #i"     i = 1..N, only without an end time
//     └ runCanary "Run Canary #i"   tasks: runCanary, monitorCanary
//
// The context is read under "canaryConfig" (Spinnaker's field names). Each
// runCanary stage starts one kayenta run over its window and follows it; a
// score at or below the marginal threshold ends the canary there. The
// aggregate task then judges the last score against the thresholds and
// writes canaryScores, canaryScoreMessage, canaryExecutionIds, lastUpdated
// and lastUpdatedIso (context and outputs). Canceling the execution cancels
// the kayenta run in flight. Without a kayenta client the stage fails at
// once saying so; so does a canaryConfig that cannot be planned.
//
// Thresholds: scoreThresholds.pass and .marginal default to 75 and 50 each
// (Spinnaker's), the same for kayenta's runs, the per-run check and the final
// judgement; a value that is not a finite number fails the stage. A score
// passes a run when it is above marginal and the canary when it is also at
// least pass; a NaN score fails both. The minute fields must be whole
// numbers from 0 to 10,000,000 and the lifetime at most one year, so that no
// window computation can overflow.
#ifndef GENNAKER_SERVICES_ORCA_STAGES_KAYENTA_STAGE_H_
#define GENNAKER_SERVICES_ORCA_STAGES_KAYENTA_STAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/orca/engine/registry.h"

namespace gennaker::orca {

class Kayenta;

// The windows of one canary run, epoch ms.
struct CanaryWindow {
  int64_t control_start_ms = 0;
  int64_t control_end_ms = 0;
  int64_t experiment_start_ms = 0;
  int64_t experiment_end_ms = 0;
};

// Scores judged against (defaults applied).
struct CanaryThresholds {
  double pass = 75;
  double marginal = 50;
};

struct CanaryPlan {
  int64_t warmup_wait_s = 0;    // 0: no warm-up wait
  int64_t interval_wait_s = 0;  // 0: no interval waits (an end time is set)
  int64_t step_s = 60;          // the first scope's step
  CanaryThresholds thresholds;
  std::vector<CanaryWindow> runs;
};

// Most runs one stage plans: each adds stages to the execution document.
inline constexpr int kMaxCanaryRuns = 1000;

// The runs of `canary_config` planned at `now_ms` (used when the first scope
// has no start time). INVALID_ARGUMENT with a message for the user when the
// config cannot be planned.
absl::StatusOr<CanaryPlan> PlanCanaryIntervals(const Json& canary_config,
                                               int64_t now_ms);

// Registers kayentaCanary, runCanaryIntervals, runCanary and their tasks.
// `kayenta` may be null (kayenta not configured): the stage then fails.
void RegisterKayentaStage(Registry* registry, Kayenta* kayenta);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_STAGES_KAYENTA_STAGE_H_
