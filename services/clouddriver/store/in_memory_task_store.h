// A TaskStore held in memory, with the same semantics as the Redis one (but
// leases that never lapse by themselves), for unit tests.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_STORE_IN_MEMORY_TASK_STORE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_STORE_IN_MEMORY_TASK_STORE_H_

#include <map>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "services/clouddriver/store/task_store.h"

namespace gennaker::clouddriver {

class InMemoryTaskStore : public TaskStore {
 public:
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
  // Test hook: forget an owner's lease (as if it died).
  void Expire(const std::string& owner);

 private:
  absl::Mutex mu_;
  std::map<std::string, Json> tasks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> keys_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> running_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> owners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_STORE_IN_MEMORY_TASK_STORE_H_
