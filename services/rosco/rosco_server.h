// Wiring of the rosco service: the one place where its config becomes running
// parts (redis connection, gRPC adapter). Its RPCs are built by later issues;
// until then the generated base class answers UNIMPLEMENTED, which the shared
// interceptor explains.
#ifndef GENNAKER_SERVICES_ROSCO_ROSCO_SERVER_H_
#define GENNAKER_SERVICES_ROSCO_ROSCO_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/rosco/v1/config.pb.h"

namespace gennaker::rosco {

// Text naming where the unimplemented RPCs of this service will be built.
inline constexpr char kUnimplementedArea[] = "rosco bakery: not yet scheduled";

// Checks what the shared validation cannot know about rosco.
absl::Status ValidateConfig(const v1::RoscoConfig& config);

// Connects to redis and builds the service. Fails when the store is
// unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildRosco(
    const v1::RoscoConfig& config, Metrics* metrics);

}  // namespace gennaker::rosco

#endif  // GENNAKER_SERVICES_ROSCO_ROSCO_SERVER_H_
