// Wiring of the kayenta service: the one place where its config becomes running
// parts (postgres connection, gRPC adapter). Its RPCs are built by later
// issues; until then the generated base class answers UNIMPLEMENTED, which the
// shared interceptor explains.
#ifndef GENNAKER_SERVICES_KAYENTA_KAYENTA_SERVER_H_
#define GENNAKER_SERVICES_KAYENTA_KAYENTA_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/kayenta/v1/config.pb.h"

namespace gennaker::kayenta {

// Text naming where the unimplemented RPCs of this service will be built.
inline constexpr char kUnimplementedArea[] =
    "kayenta canary analysis: not yet scheduled";

// Checks what the shared validation cannot know about kayenta.
absl::Status ValidateConfig(const v1::KayentaConfig& config);

// Connects to postgres and builds the service. Fails when the store is
// unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildKayenta(
    const v1::KayentaConfig& config, Metrics* metrics);

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_KAYENTA_SERVER_H_
