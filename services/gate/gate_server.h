// Wiring of gate, the API gateway: its Redis (sessions), the REST/JSON listener
// that Spinnaker clients (spin, Deck) talk to, its gRPC API and, with ui.port
// set, the listener serving Deck itself (gate_ui.h).
#ifndef GENNAKER_SERVICES_GATE_GATE_SERVER_H_
#define GENNAKER_SERVICES_GATE_GATE_SERVER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/service/defaults.h"
#include "common/service/service_main.h"
#include "gennaker/gate/v1/config.pb.h"

namespace gennaker::gate {

inline constexpr char kUnimplementedArea[] = "gate: not built yet";

// gate's own defaults, under the file and the environment: the REST port
// (Spinnaker's 8084), a 4 MiB body limit and CORS for a Deck on this machine.
inline constexpr int kDefaultHttpPort = kGateHttpPort;
inline constexpr int64_t kDefaultMaxBodyBytes = int64_t{4} << 20;
inline constexpr char kDefaultCorsAllowedOrigins[] =
    R"(https?://(localhost|127\.0\.0\.1)(:[0-9]+)?)";

// Security defaults: Spinnaker's idle session timeout (an hour), sessions
// of at most 12 hours, basic credentials remembered for 5 minutes.
inline constexpr int kDefaultSessionIdleSeconds = 3600;
inline constexpr int kDefaultSessionAbsoluteSeconds = 43200;
inline constexpr char kDefaultSessionCookieName[] = "SESSION";
inline constexpr int kDefaultLoginFailuresBeforeDelay = 5;
inline constexpr int kDefaultLoginMaxDelaySeconds = 30;
inline constexpr int kDefaultCredentialCacheSeconds = 300;

// Sets gate's own keys (http_port, max_body_bytes, cors_allowed_origins, the
// security timeouts, cookie name, login delays and credential cache) to
// their defaults; the shared blocks are ApplyServiceDefaults' job. Apply
// before the config file, then validate.
void ApplyGateDefaults(v1::GateConfig* config);

// http_port must be a valid port distinct from the gRPC and admin ports,
// max_body_bytes must fit the message limits of front50 and orca,
// authorization needs services.fiat.address, security needs a users file
// or an LDAP url, and the UI needs its bundle (ValidateUiConfig).
absl::Status ValidateConfig(const v1::GateConfig& config);

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildGate(
    const v1::GateConfig& config, Metrics* metrics);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_SERVER_H_
