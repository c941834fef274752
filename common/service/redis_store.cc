#include "common/log/log.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"

namespace gennaker {

absl::StatusOr<std::unique_ptr<redis::Client>> ConnectRedis(
    const common::v1::RedisConfig& config) {
  GENNAKER_ASSIGN_OR_RETURN(redis::Options options,
                            redis::ParseUrl(config.url()));
  options.pool_size = config.pool_size();
  options.timeout_ms = config.timeout_ms();
  GENNAKER_ASSIGN_OR_RETURN(auto client, redis::Client::Connect(options));
  SPDLOG_INFO("redis ready at {}:{}", options.host, options.port);
  return client;
}

absl::Status PingRedis(redis::Client& client) {
  return client.Command({"PING"}).status();
}

}  // namespace gennaker
