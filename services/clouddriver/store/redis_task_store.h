// The production TaskStore, in Redis. Keys (prefix "gennaker:cd:"): task:<id>
// (JSON, kept 7 days after its last change), taskkey:<key> -> id (set only if
// absent, 7 days), tasks:running (set), owner:<owner> (lease with a TTL).
// Creation and the compare-and-set saves are Lua scripts, so replicas sharing
// one Redis never both win.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_STORE_REDIS_TASK_STORE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_STORE_REDIS_TASK_STORE_H_

#include <string>

#include "services/clouddriver/store/task_store.h"

namespace gennaker::redis {
class Client;
}

namespace gennaker::clouddriver {

class RedisTaskStore : public TaskStore {
 public:
  explicit RedisTaskStore(redis::Client* redis) : redis_(redis) {}
  absl::StatusOr<std::string> Create(const Json& task,
                                     const std::string& key) override;
  absl::StatusOr<bool> Save(const Json& task, bool running,
                            const std::string& expect_owner = "",
                            const std::string& expect_state = "") override;
  absl::Status Forget(const std::string& id) override;
  absl::StatusOr<std::optional<Json>> Get(const std::string& id) override;
  absl::StatusOr<std::optional<std::string>> TaskIdForKey(
      const std::string& key) override;
  absl::StatusOr<std::vector<std::string>> Running() override;
  absl::Status Renew(const std::string& owner, int64_t ttl_ms) override;
  absl::StatusOr<bool> OwnerAlive(const std::string& owner) override;

 private:
  redis::Client* redis_;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_STORE_REDIS_TASK_STORE_H_
