// Wiring of the front50 service: the one place where its config becomes running
// parts (PostgreSQL pool and migrations, object store, domain core, gRPC
// adapter).
#ifndef GENNAKER_SERVICES_FRONT50_FRONT50_SERVER_H_
#define GENNAKER_SERVICES_FRONT50_FRONT50_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/front50/v1/config.pb.h"

namespace gennaker::front50 {

// Text naming where the unimplemented RPCs of this service will be built.
inline constexpr char kUnimplementedArea[] = "front50: not built yet";

// Checks what the shared validation cannot know about front50.
absl::Status ValidateConfig(const v1::Front50Config& config);

// Connects to postgres and builds the service. Fails when the store is
// unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildFront50(
    const v1::Front50Config& config, Metrics* metrics);

}  // namespace gennaker::front50

#endif  // GENNAKER_SERVICES_FRONT50_FRONT50_SERVER_H_
