// The rules that decide a stage's state from facts about it, with no store
// and no clock of their own: how the statuses of its tasks and synthetic
// stages roll up into the stage's status, when a task or stage has timed
// out, and when a stage can never start because something upstream halted.
// The engine gathers the facts from the execution document and applies the
// outcome.
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_STAGE_RULES_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_STAGE_RULES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "services/orca/engine/model.h"

namespace gennaker::orca {

// What a stage's status is made of when it completes.
struct StageOutcome {
  bool manual_skip = false;  // context.manualSkip
  // Statuses of the before-stages, the after-stages that started, and the
  // tasks, in any order.
  std::vector<std::string> statuses;
  // After-stages still NOT_STARTED.
  bool after_stages_pending = false;
  // Planning the before-stages failed (e.g. an unknown stage type).
  bool planning_failed = false;
  // The stage's failure status (failPipeline / continuePipeline).
  std::string failure_status = status::kTerminal;
};

// The status a completing stage gets: SKIPPED when manually skipped or when
// nothing ran; the failure status for a TERMINAL part; else STOPPED,
// CANCELED, FAILED_CONTINUE in that order; RUNNING while after-stages are
// pending behind parts that all succeeded (or were skipped); SUCCEEDED when
// every part did; TERMINAL otherwise.
std::string RollUpStageStatus(const StageOutcome& outcome);

// A task has timed out when it has a timeout and ran (pauses excluded) for
// longer.
bool TaskTimedOut(int64_t now_ms, int64_t task_start_ms, int64_t paused_ms,
                  int64_t timeout_ms);

// A stage with stageTimeoutMs has timed out when it ran for longer, not
// counting pauses of the execution nor the time spent waiting for its
// execution window.
bool StageTimedOut(int64_t now_ms, int64_t stage_start_ms, int64_t paused_ms,
                   int64_t window_ms, int64_t limit_ms);

// True when an upstream stage, directly or through NOT_STARTED ones, halted
// (TERMINAL, CANCELED, STOPPED): the stage can never start.
bool UpstreamHalted(Json& execution, const Json& stage);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_STAGE_RULES_H_
