#include "services/kayenta/canary_status.h"

#include "absl/strings/ascii.h"

namespace gennaker::kayenta {

std::string CanaryStatusName(v1::CanaryStatus status) {
  switch (status) {
    case v1::CANARY_STATUS_NOT_STARTED:
      return "not_started";
    case v1::CANARY_STATUS_RUNNING:
      return "running";
    case v1::CANARY_STATUS_SUCCEEDED:
      return "succeeded";
    case v1::CANARY_STATUS_TERMINAL:
      return "terminal";
    case v1::CANARY_STATUS_CANCELED:
      return "canceled";
    default:
      return "";
  }
}

std::optional<v1::CanaryStatus> ParseCanaryStatus(absl::string_view text) {
  const std::string s = absl::AsciiStrToLower(text);
  for (v1::CanaryStatus st :
       {v1::CANARY_STATUS_NOT_STARTED, v1::CANARY_STATUS_RUNNING,
        v1::CANARY_STATUS_SUCCEEDED, v1::CANARY_STATUS_TERMINAL,
        v1::CANARY_STATUS_CANCELED}) {
    if (s == CanaryStatusName(st)) return st;
  }
  if (s == "cancelled") return v1::CANARY_STATUS_CANCELED;
  return std::nullopt;
}

bool IsCompleteCanaryStatus(v1::CanaryStatus status) {
  return status == v1::CANARY_STATUS_SUCCEEDED ||
         status == v1::CANARY_STATUS_TERMINAL ||
         status == v1::CANARY_STATUS_CANCELED;
}

}  // namespace gennaker::kayenta
