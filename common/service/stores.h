// Connecting a service to its stores at start-up, the same way everywhere:
// PostgreSQL pool plus the service's schema migrations, or a Redis client; a
// clear error (password redacted) when the store is unreachable, so main exits
// non-zero.
#ifndef GENNAKER_COMMON_SERVICE_STORES_H_
#define GENNAKER_COMMON_SERVICE_STORES_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pg/migrations.h"
#include "common/pg/pg.h"
#include "common/redis/redis.h"
#include "gennaker/common/v1/config.pb.h"

namespace gennaker {

absl::StatusOr<std::unique_ptr<pg::Pool>> ConnectPostgres(
    const common::v1::PostgresConfig& config, absl::string_view service,
    const std::vector<pg::Migration>& migrations);

absl::StatusOr<std::unique_ptr<redis::Client>> ConnectRedis(
    const common::v1::RedisConfig& config);

// Cheap liveness checks for ServiceInstance::CheckDependencies.
absl::Status PingPostgres(pg::Pool& pool);
absl::Status PingRedis(redis::Client& client);

}  // namespace gennaker

#endif  // GENNAKER_COMMON_SERVICE_STORES_H_
