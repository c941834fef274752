// The in-memory EchoStore of unit tests: the same answers as the PostgreSQL
// store, one mutex around maps.
#ifndef GENNAKER_SERVICES_ECHO_STORE_IN_MEMORY_ECHO_STORE_H_
#define GENNAKER_SERVICES_ECHO_STORE_IN_MEMORY_ECHO_STORE_H_

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/echo/store/echo_store.h"

namespace gennaker::echo {

class InMemoryEchoStore : public EchoStore {
 public:
  absl::StatusOr<InsertResult> InsertEvent(const EventRow& row) override;
  absl::StatusOr<EventRow> GetEvent(absl::string_view id) override;
  absl::StatusOr<std::vector<EventRow>> ListEvents(
      const EventQuery& query) override;
  absl::StatusOr<std::vector<EventRow>> ClaimEvents(const std::string& owner,
                                                    int64_t now_ms,
                                                    int64_t claim_ms,
                                                    int limit) override;
  absl::StatusOr<bool> FinishEvent(const std::string& id,
                                   const std::string& owner, EventState state,
                                   const std::string& executions,
                                   const std::string& error,
                                   int64_t now_ms) override;
  absl::StatusOr<bool> RetryEvent(const std::string& id,
                                  const std::string& owner,
                                  int64_t next_attempt_ms,
                                  const std::string& error,
                                  int64_t now_ms) override;
  absl::StatusOr<int64_t> DeleteFinishedBefore(int64_t before_ms) override;
  absl::StatusOr<bool> ClaimCronSlot(const CronSlot& slot,
                                     const std::string& owner,
                                     const EventRow& event) override;
  absl::StatusOr<InsertResult> InsertNotifications(
      const std::vector<NotificationRow>& rows) override;
  absl::StatusOr<std::vector<NotificationRow>> ClaimNotifications(
      const std::string& owner, int64_t now_ms, int64_t claim_ms,
      int limit) override;
  absl::StatusOr<bool> FinishNotification(const std::string& id,
                                          const std::string& owner,
                                          NotificationState state,
                                          const std::string& error,
                                          int64_t now_ms) override;
  absl::StatusOr<bool> RetryNotification(const std::string& id,
                                         const std::string& owner,
                                         int64_t next_attempt_ms,
                                         const std::string& error,
                                         int64_t now_ms) override;
  absl::StatusOr<std::vector<NotificationRow>> ListNotifications(
      const std::string& group_id) override;

 private:
  struct Claim {
    std::string owner;
    int64_t expires_ms = 0;
  };
  absl::StatusOr<InsertResult> InsertEventLocked(const EventRow& row)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<std::string, EventRow> events_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Claim> event_claims_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> event_keys_ ABSL_GUARDED_BY(mu_);
  std::set<std::tuple<std::string, std::string, int64_t>> slots_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, NotificationRow> notifications_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Claim> notification_claims_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> notification_keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_STORE_IN_MEMORY_ECHO_STORE_H_
