// Wiring of gate, the API gateway: its Redis (sessions), the REST/JSON listener
// that Spinnaker clients (spin, Deck) talk to, and its gRPC API.
#ifndef GENNAKER_SERVICES_GATE_GATE_SERVER_H_
#define GENNAKER_SERVICES_GATE_GATE_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/gate/v1/config.pb.h"

namespace gennaker::gate {

inline constexpr char kUnimplementedArea[] = "gate: not built yet";

// http_port must be a valid port distinct from the gRPC and admin ports.
absl::Status ValidateConfig(const v1::GateConfig& config);

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildGate(
    const v1::GateConfig& config, Metrics* metrics);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_SERVER_H_
