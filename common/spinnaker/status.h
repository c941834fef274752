// Spinnaker's status names: of executions, stages and tasks (orca's
// ExecutionStatus) and of clouddriver's operation tasks.
#ifndef GENNAKER_COMMON_SPINNAKER_STATUS_H_
#define GENNAKER_COMMON_SPINNAKER_STATUS_H_

#include "absl/strings/string_view.h"

namespace gennaker::spinnaker {

namespace status {
inline constexpr char kNotStarted[] = "NOT_STARTED";
inline constexpr char kRunning[] = "RUNNING";
inline constexpr char kPaused[] = "PAUSED";
inline constexpr char kSuspended[] = "SUSPENDED";
inline constexpr char kSucceeded[] = "SUCCEEDED";
inline constexpr char kFailedContinue[] = "FAILED_CONTINUE";
inline constexpr char kTerminal[] = "TERMINAL";
inline constexpr char kCanceled[] = "CANCELED";
inline constexpr char kRedirect[] = "REDIRECT";
inline constexpr char kStopped[] = "STOPPED";
inline constexpr char kSkipped[] = "SKIPPED";
inline constexpr char kBuffered[] = "BUFFERED";
}  // namespace status

bool IsKnownStatus(absl::string_view s);
// SUCCEEDED, FAILED_CONTINUE, TERMINAL, CANCELED, STOPPED, SKIPPED.
bool IsComplete(absl::string_view s);
// TERMINAL, CANCELED, STOPPED: nothing downstream runs.
bool IsHalt(absl::string_view s);
// SUCCEEDED, FAILED_CONTINUE, SKIPPED: downstream stages may start.
bool AllowsDownstream(absl::string_view s);

// States of a clouddriver operation task. FAILED_RETRYABLE: its owner died
// mid-operation and a caller may resume it.
namespace task_state {
inline constexpr char kStarted[] = "STARTED";
inline constexpr char kCompleted[] = "COMPLETED";
inline constexpr char kFailed[] = "FAILED";
inline constexpr char kFailedRetryable[] = "FAILED_RETRYABLE";
}  // namespace task_state

// A synthetic stage's "syntheticStageOwner": it runs before its parent's
// tasks, or after them.
namespace synthetic_owner {
inline constexpr char kBefore[] = "STAGE_BEFORE";
inline constexpr char kAfter[] = "STAGE_AFTER";
}  // namespace synthetic_owner

}  // namespace gennaker::spinnaker

#endif  // GENNAKER_COMMON_SPINNAKER_STATUS_H_
