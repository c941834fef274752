// In-memory Store for unit tests: the same claim/lock/commit semantics as
// PgStore (one holder per execution, atomic commit, fingerprint de-dup),
// without durability.
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_MEMORY_STORE_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_MEMORY_STORE_H_

#include <map>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "services/orca/engine/store.h"

namespace gennaker::orca {

class MemoryStore : public Store {
 public:
  // Delivery times come from `clock` (the system clock when null).
  explicit MemoryStore(const Clock* clock = nullptr) : clock_(clock) {}

  absl::StatusOr<std::string> Create(
      const Json& execution, const std::string& correlation_id,
      const std::vector<Outgoing>& messages) override;
  absl::StatusOr<Json> Get(const std::string& id) override;
  absl::StatusOr<std::vector<Json>> List(const ExecutionQuery& query) override;
  absl::Status Push(const std::vector<Outgoing>& messages) override;
  absl::Status Delete(const std::string& id) override;
  absl::StatusOr<std::unique_ptr<Work>> Claim(int64_t now_ms) override;
  absl::StatusOr<std::unique_ptr<Work>> Lock(const std::string& id) override;
  absl::StatusOr<int> Retry(const Message& message, int64_t now_ms,
                            int64_t base_delay_ms) override;
  absl::Status DeadLetter(const Message& message,
                          const std::string& error) override;
  absl::StatusOr<std::optional<int64_t>> NextDelivery() override;
  absl::StatusOr<int> Purge(int64_t before_ms, int keep_per_config) override;

  // Test helpers.
  int QueueSize();
  int DeadLetters();

 private:
  class MemoryWork;
  struct Queued {
    std::string body;
    Message message;
    int64_t deliver_at = 0;
    int attempts = 0;
  };
  void PushLocked(const std::vector<Outgoing>& messages, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> CreateLocked(const Json& execution,
                                           const std::string& correlation_id,
                                           const std::vector<Outgoing>& msgs,
                                           int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  int64_t Now() const;

  const Clock* clock_;
  absl::Mutex mu_;
  std::map<std::string, Json> executions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> correlations_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Queued> queue_ ABSL_GUARDED_BY(mu_);  // by body
  std::set<std::string> locked_ ABSL_GUARDED_BY(mu_);
  int dead_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_MEMORY_STORE_H_
