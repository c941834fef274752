// Where clouddriver keeps its operation ("kato") tasks: the task JSON by id,
// the idempotency key -> task id map, the set of running tasks, and owner
// leases (a replica renews its lease while it lives; tasks whose owner's lease
// lapsed are orphans). Implementations: Redis (production,
// redis_task_store.h) and in memory (unit tests, in_memory_task_store.h);
// both are thread-safe.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_STORE_TASK_STORE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_STORE_TASK_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/clouddriver/provider.h"

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
  // The id of the task idempotency key `key` names, if any.
  virtual absl::StatusOr<std::optional<std::string>> TaskIdForKey(
      const std::string& key) = 0;
  virtual absl::StatusOr<std::vector<std::string>> Running() = 0;
  // Renews `owner`'s lease for `ttl_ms`.
  virtual absl::Status Renew(const std::string& owner, int64_t ttl_ms) = 0;
  virtual absl::StatusOr<bool> OwnerAlive(const std::string& owner) = 0;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_STORE_TASK_STORE_H_
