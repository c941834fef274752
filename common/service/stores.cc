#include "common/service/stores.h"

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/log/log.h"

namespace gennaker {

absl::StatusOr<std::unique_ptr<pg::Pool>> ConnectPostgres(
    const common::v1::PostgresConfig& config, absl::string_view service,
    const std::vector<pg::Migration>& migrations) {
  pg::PoolOptions options;
  options.dsn = config.dsn();
  options.size = config.pool_size();
  options.connect_timeout_seconds = config.connect_timeout_seconds();
  GENNAKER_ASSIGN_OR_RETURN(auto pool, pg::Pool::Create(options));
  GENNAKER_ASSIGN_OR_RETURN(int applied, pg::ApplyMigrations(*pool, service, migrations));
  SPDLOG_INFO("postgres ready: {} connections, {} migration(s) applied now, {} known",
              config.pool_size(), applied, migrations.size());
  return pool;
}

absl::StatusOr<std::unique_ptr<redis::Client>> ConnectRedis(
    const common::v1::RedisConfig& config) {
  GENNAKER_ASSIGN_OR_RETURN(redis::Options options, redis::ParseUrl(config.url()));
  options.pool_size = config.pool_size();
  options.timeout_ms = config.timeout_ms();
  GENNAKER_ASSIGN_OR_RETURN(auto client, redis::Client::Connect(options));
  SPDLOG_INFO("redis ready at {}:{}", options.host, options.port);
  return client;
}

}  // namespace gennaker
