// The one mapping between kayenta's canary status names (the lower-case
// strings its stored JSON and REST answers carry: "not_started", "running",
// "succeeded", "terminal", "canceled") and the gRPC CanaryStatus enum.
// Linked by the gRPC service and the REST mapping (which gate also links), so
// it depends on nothing but the proto.
#ifndef GENNAKER_SERVICES_KAYENTA_CANARY_STATUS_H_
#define GENNAKER_SERVICES_KAYENTA_CANARY_STATUS_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "gennaker/kayenta/v1/kayenta.pb.h"

namespace gennaker::kayenta {

// "not_started", ...; "" for UNSPECIFIED or a value outside the enum.
std::string CanaryStatusName(v1::CanaryStatus status);

// A status name in any case ("RUNNING", "running"); "cancelled" is read as
// canceled. nullopt for anything else.
std::optional<v1::CanaryStatus> ParseCanaryStatus(absl::string_view text);

// SUCCEEDED, TERMINAL, CANCELED.
bool IsCompleteCanaryStatus(v1::CanaryStatus status);

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_CANARY_STATUS_H_
