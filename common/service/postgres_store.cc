#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"

namespace gennaker {

absl::StatusOr<std::unique_ptr<pg::Pool>> ConnectPostgres(
    const common::v1::PostgresConfig& config, absl::string_view service,
    const std::vector<pg::Migration>& migrations) {
  pg::PoolOptions options;
  options.dsn = config.dsn();
  options.size = config.pool_size();
  options.connect_timeout_seconds = config.connect_timeout_seconds();
  GENNAKER_ASSIGN_OR_RETURN(auto pool, pg::Pool::Create(options));
  GENNAKER_ASSIGN_OR_RETURN(int applied,
                            pg::ApplyMigrations(*pool, service, migrations));
  SPDLOG_INFO(
      "postgres ready: {} connections, {} migration(s) applied now, {} known",
      config.pool_size(), applied, migrations.size());
  return pool;
}

absl::Status PingPostgres(pg::Pool& pool) {
  auto lease = pool.Acquire();
  // Every connection busy means a busy server, not a lost one.
  if (absl::IsResourceExhausted(lease.status())) return absl::OkStatus();
  if (!lease.ok()) return lease.status();
  return (*lease)->Exec("SELECT 1").status();
}

}  // namespace gennaker
