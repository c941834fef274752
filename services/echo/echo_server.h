// Wiring of the echo service: the one place where its config becomes running
// parts (postgres connection, gRPC adapter). Its RPCs are built by later
// issues; until then the generated base class answers UNIMPLEMENTED, which the
// shared interceptor explains.
#ifndef GENNAKER_SERVICES_ECHO_ECHO_SERVER_H_
#define GENNAKER_SERVICES_ECHO_ECHO_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/echo/v1/config.pb.h"

namespace gennaker::echo {

// Text naming where the unimplemented RPCs of this service will be built.
inline constexpr char kUnimplementedArea[] =
    "echo events and notifications: not yet scheduled";

// Checks what the shared validation cannot know about echo.
absl::Status ValidateConfig(const v1::EchoConfig& config);

// Connects to postgres and builds the service. Fails when the store is
// unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildEcho(
    const v1::EchoConfig& config, Metrics* metrics);

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_ECHO_SERVER_H_
