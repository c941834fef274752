// Wiring of the igor service: the one place where its config becomes running
// parts (redis connection, gRPC adapter). Its RPCs are built by later issues;
// until then the generated base class answers UNIMPLEMENTED, which the shared
// interceptor explains.
#ifndef GENNAKER_SERVICES_IGOR_IGOR_SERVER_H_
#define GENNAKER_SERVICES_IGOR_IGOR_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/igor/v1/config.pb.h"

namespace gennaker::igor {

// Text naming where the unimplemented RPCs of this service will be built.
inline constexpr char kUnimplementedArea[] =
    "igor CI integration: not yet scheduled";

// Checks what the shared validation cannot know about igor.
absl::Status ValidateConfig(const v1::IgorConfig& config);

// Connects to redis and builds the service. Fails when the store is
// unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildIgor(
    const v1::IgorConfig& config, Metrics* metrics);

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_IGOR_SERVER_H_
