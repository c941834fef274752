// Where clouddriver keeps its operation ("kato") tasks: the task JSON by id,
// the idempotency key -> task id map, the set of running tasks, and owner
// leases (a replica renews its lease while it lives; tasks whose owner's lease
// lapsed are orphans). RedisTaskStore is the production store, MemoryTaskStore
// serves unit tests.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_TASK_STORE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_TASK_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/clouddriver/provider.h"

namespace gennaker::redis {
class Client;
}

namespace gennaker::clouddriver {

class TaskStore {
 public:
  virtual ~TaskStore() = default;
  // Stores `task` (which has an "id") and adds it to the running set, unless
  // `key` (non-empty) already names a task: then nothing is stored and that
  // task's id is returned. Atomic.
  virtual absl::StatusOr<std::string> Create(const Json& task,
                                             const std::string& key) = 0;
  // Overwrites the task and keeps it in (`running`) or removes it from the
  // running set, atomically, but only if the stored task's ownerId equals
  // `expect_owner` and its state `expect_state` (each when non-empty): false,
  // with nothing written, when it does not (another replica changed it).
  virtual absl::StatusOr<bool> Save(const Json& task, bool running,
                                    const std::string& expect_owner = "",
                                    const std::string& expect_state = "") = 0;
  // Removes `id` from the running set only.
  virtual absl::Status Forget(const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<Json>> Get(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<std::string>> Running() = 0;
  // Renews `owner`'s lease for `ttl_ms`.
  virtual absl::Status Renew(const std::string& owner, int64_t ttl_ms) = 0;
  virtual absl::StatusOr<bool> OwnerAlive(const std::string& owner) = 0;
};

class MemoryTaskStore : public TaskStore {
 public:
  absl::StatusOr<std::string> Create(const Json& task,
                                     const std::string& key) override;
  absl::StatusOr<bool> Save(const Json& task, bool running,
                            const std::string& expect_owner = "",
                            const std::string& expect_state = "") override;
  absl::Status Forget(const std::string& id) override;
  absl::StatusOr<std::optional<Json>> Get(const std::string& id) override;
  absl::StatusOr<std::vector<std::string>> Running() override;
  absl::Status Renew(const std::string& owner, int64_t ttl_ms) override;
  absl::StatusOr<bool> OwnerAlive(const std::string& owner) override;
  // Test hook: forget an owner's lease (as if it died).
  void Expire(const std::string& owner);

 private:
  absl::Mutex mu_;
  std::map<std::string, Json> tasks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> keys_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> running_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> owners_ ABSL_GUARDED_BY(mu_);
};

// Keys (prefix "gennaker:cd:"): task:<id> (JSON, kept 7 days after its last
// change), taskkey:<key> -> id (SET NX, 7 days), tasks:running (set),
// owner:<owner> (lease with a TTL).
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
  absl::StatusOr<std::vector<std::string>> Running() override;
  absl::Status Renew(const std::string& owner, int64_t ttl_ms) override;
  absl::StatusOr<bool> OwnerAlive(const std::string& owner) override;

 private:
  redis::Client* redis_;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_TASK_STORE_H_
