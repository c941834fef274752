// Wiring of the clouddriver service: the one place where its config becomes
// running parts (redis connection, gRPC adapter). Its RPCs are built by later
// issues; until then the generated base class answers UNIMPLEMENTED, which the
// shared interceptor explains.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_CLOUDDRIVER_SERVER_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_CLOUDDRIVER_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/clouddriver/v1/config.pb.h"

namespace gennaker::clouddriver {

// Text naming where the unimplemented RPCs of this service will be built.
inline constexpr char kUnimplementedArea[] =
    "issue 'clouddriver with a real local-host cloud provider'";

// Checks what the shared validation cannot know about clouddriver.
absl::Status ValidateConfig(const v1::ClouddriverConfig& config);

// Connects to redis and builds the service. Fails when the store is
// unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildClouddriver(
    const v1::ClouddriverConfig& config, Metrics* metrics);

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_CLOUDDRIVER_SERVER_H_
