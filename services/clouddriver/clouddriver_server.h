// Wiring of the clouddriver service: the one place where its config becomes
// running parts: the providers (one per configured account), the redis cache
// and its caching agent, the operation tasks (checked against fiat when
// authorization is enabled), the read model and the gRPC adapter.
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

// clouddriver's own defaults (state dir, cache interval, operation threads,
// task owner lease), applied after the shared blocks' by ServiceMain.
void ApplyClouddriverDefaults(v1::ClouddriverConfig* config);

// Checks what the shared validation cannot know about clouddriver: account
// names (unique, [A-Za-z0-9_-]+), non-negative intervals, a fiat address when
// authorization is enabled.
absl::Status ValidateConfig(const v1::ClouddriverConfig& config);

// Connects to redis, opens every account (restoring local state) and builds
// the service. Fails when the store is unreachable or an account cannot open.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildClouddriver(
    const v1::ClouddriverConfig& config, Metrics* metrics);

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_CLOUDDRIVER_SERVER_H_
