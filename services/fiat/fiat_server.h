// Wiring of the fiat service: the one place where its config becomes running
// parts (redis connection, gRPC adapter). Its RPCs are built by later issues;
// until then the generated base class answers UNIMPLEMENTED, which the shared
// interceptor explains.
#ifndef GENNAKER_SERVICES_FIAT_FIAT_SERVER_H_
#define GENNAKER_SERVICES_FIAT_FIAT_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/fiat/v1/config.pb.h"

namespace gennaker::fiat {

// Text naming where the unimplemented RPCs of this service will be built.
inline constexpr char kUnimplementedArea[] =
    "fiat authorization: not yet scheduled";

// Checks what the shared validation cannot know about fiat.
absl::Status ValidateConfig(const v1::FiatConfig& config);

// Connects to redis and builds the service. Fails when the store is
// unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildFiat(
    const v1::FiatConfig& config, Metrics* metrics);

}  // namespace gennaker::fiat

#endif  // GENNAKER_SERVICES_FIAT_FIAT_SERVER_H_
