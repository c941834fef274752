#include "services/orca/engine/stage_rules.h"

#include <algorithm>

namespace gennaker::orca {

namespace {

// Deep enough for any real pipeline, and a bound on malformed documents.
constexpr int kMaxUpstreamDepth = 500;

bool UpstreamHaltedFrom(Json& execution, const Json& stage, int depth) {
  if (depth > kMaxUpstreamDepth) return false;
  for (Json* up : Upstream(execution, stage)) {
    const std::string s = String(*up, "status");
    if (IsHalt(s)) return true;
    if (s == status::kNotStarted &&
        UpstreamHaltedFrom(execution, *up, depth + 1)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string RollUpStageStatus(const StageOutcome& outcome) {
  if (outcome.manual_skip) return status::kSkipped;
  std::vector<std::string> all = outcome.statuses;
  if (outcome.planning_failed) all.push_back(outcome.failure_status);
  auto has = [&](const char* s) {
    return std::find(all.begin(), all.end(), s) != all.end();
  };
  if (all.empty() && !outcome.after_stages_pending) return status::kSkipped;
  if (has(status::kTerminal)) return outcome.failure_status;
  if (has(status::kStopped)) return status::kStopped;
  if (has(status::kCanceled)) return status::kCanceled;
  if (has(status::kFailedContinue)) return status::kFailedContinue;
  bool all_ok = std::all_of(all.begin(), all.end(), [](const std::string& s) {
    return s == status::kSucceeded || s == status::kSkipped;
  });
  if (all_ok && outcome.after_stages_pending) return status::kRunning;
  if (all_ok) return status::kSucceeded;
  return status::kTerminal;
}

bool TaskTimedOut(int64_t now_ms, int64_t task_start_ms, int64_t paused_ms,
                  int64_t timeout_ms) {
  return timeout_ms > 0 && now_ms - task_start_ms - paused_ms > timeout_ms;
}

bool StageTimedOut(int64_t now_ms, int64_t stage_start_ms, int64_t paused_ms,
                   int64_t window_ms, int64_t limit_ms) {
  return limit_ms > 0 &&
         now_ms - stage_start_ms - paused_ms - window_ms > limit_ms;
}

bool UpstreamHalted(Json& execution, const Json& stage) {
  return UpstreamHaltedFrom(execution, stage, 0);
}

}  // namespace gennaker::orca
