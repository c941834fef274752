// Default ports and config values of the ten services, in one place.
//   gRPC port: Spinnaker's port for the service (gate: 8085; its REST API is on
//   8084). Admin HTTP port (/health, /metrics): gRPC port + 10000.
#ifndef GENNAKER_COMMON_SERVICE_DEFAULTS_H_
#define GENNAKER_COMMON_SERVICE_DEFAULTS_H_

#include <array>

#include "absl/strings/string_view.h"

namespace google::protobuf {
class Message;
}

namespace gennaker {

// The services in dependency (start) order.
inline constexpr std::array<absl::string_view, 10> kServiceNames = {
    "fiat",    "front50", "clouddriver", "rosco", "igor",
    "kayenta", "echo",    "orca",        "gate",  "halyard"};

inline constexpr int kGateHttpPort = 8084;
inline constexpr int kAdminPortOffset = 10000;

// gRPC port of `service`, or 0 when unknown.
int DefaultGrpcPort(absl::string_view service);

// Fills the shared blocks of a <Svc>Config (server, logging, postgres, redis,
// the endpoints under `services`) with the defaults for `service`. Keys only
// one service has are that service's to default (e.g. gate's
// ApplyGateDefaults), passed to ServiceMain.
void ApplyServiceDefaults(absl::string_view service,
                          google::protobuf::Message* config);

}  // namespace gennaker

#endif  // GENNAKER_COMMON_SERVICE_DEFAULTS_H_
