// The PostgreSQL EchoStore (schema `echo`, deploy/sql/echo/002_events.sql).
// Claims use UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) with
// an expiring lease timed by the database's clock (now_ms only orders
// next_attempt_at and stamps updated_at); the owner of a claim is the
// caller's per-claim token, so only that claim's holder may end it; inserts of
// events and notifications NOTIFY channel kWakeChannel in their transaction so
// that every instance's workers wake at commit (see common/pg/listener.h).
#ifndef GENNAKER_SERVICES_ECHO_STORE_PG_ECHO_STORE_H_
#define GENNAKER_SERVICES_ECHO_STORE_PG_ECHO_STORE_H_

#include "common/pg/pg.h"
#include "services/echo/store/echo_store.h"

namespace gennaker::echo {

// LISTEN channel; payload "e" (an event) or "n" (a notification).
inline constexpr char kWakeChannel[] = "echo_wake";

class PgEchoStore : public EchoStore {
 public:
  explicit PgEchoStore(pg::Pool* pool) : pool_(pool) {}

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
  pg::Pool* pool_;
};

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_STORE_PG_ECHO_STORE_H_
