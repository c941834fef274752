// Wiring of fiat: the one place where its config becomes running parts: the
// Redis repository, the role provider (file, ldap or external), the resource
// source (front50, clouddriver, igor over gRPC), the core, its gRPC and REST
// adapters, and the background work (resource refresh, the periodic sync
// that one replica at a time runs under a Redis lock).
#ifndef GENNAKER_SERVICES_FIAT_FIAT_SERVER_H_
#define GENNAKER_SERVICES_FIAT_FIAT_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/fiat/v1/config.pb.h"

namespace gennaker::fiat {

inline constexpr char kUnimplementedArea[] = "fiat";
// The REST listener. Spinnaker's fiat serves REST on 7003, which is fiat's
// gRPC port here; the REST API takes the next port.
inline constexpr int kDefaultHttpPort = 7004;
inline constexpr char kDefaultRolesProvider[] = "external";
inline constexpr char kDefaultExecuteFallback[] = "READ";
inline constexpr int kDefaultResourceRefreshSeconds = 15;
inline constexpr int kDefaultSyncIntervalSeconds = 600;
inline constexpr char kDefaultRedisPrefix[] = "gennaker:fiat";
inline constexpr int kDefaultPermissionTtlSeconds = 86400;

// fiat's own defaults; apply before the config file, then validate.
void ApplyFiatDefaults(v1::FiatConfig* config);

// What the shared validation cannot know: httpPort distinct from the gRPC and
// admin ports, the file provider's filePath, the ldap provider's url.
absl::Status ValidateConfig(const v1::FiatConfig& config);

// Connects to Redis, opens the role provider (an unreadable users file or a
// bad LDAP config fails here) and builds the service.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildFiat(
    const v1::FiatConfig& config, Metrics* metrics);

}  // namespace gennaker::fiat

#endif  // GENNAKER_SERVICES_FIAT_FIAT_SERVER_H_
