#include "common/spinnaker/status.h"

#include <initializer_list>

#include "absl/strings/string_view.h"

namespace gennaker::spinnaker {
namespace {

bool In(absl::string_view s, std::initializer_list<absl::string_view> set) {
  for (absl::string_view v : set) {
    if (s == v) return true;
  }
  return false;
}

}  // namespace

bool IsKnownStatus(absl::string_view s) {
  return In(s, {status::kNotStarted, status::kRunning, status::kPaused,
                status::kSuspended, status::kSucceeded, status::kFailedContinue,
                status::kTerminal, status::kCanceled, status::kRedirect,
                status::kStopped, status::kSkipped, status::kBuffered});
}

bool IsComplete(absl::string_view s) {
  return In(s, {status::kSucceeded, status::kFailedContinue, status::kTerminal,
                status::kCanceled, status::kStopped, status::kSkipped});
}

bool IsHalt(absl::string_view s) {
  return In(s, {status::kTerminal, status::kCanceled, status::kStopped});
}

bool AllowsDownstream(absl::string_view s) {
  return In(s, {status::kSucceeded, status::kFailedContinue, status::kSkipped});
}

}  // namespace gennaker::spinnaker
