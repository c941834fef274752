// Storage of echo's durable state behind one interface: accepted events (a
// queue that delivery workers claim with an expiring lease, so a dead
// instance's claim is taken over), cron slot claims (one fire per slot
// across instances) and the notification outbox (rows claimed and sent by
// notification workers). Implementations: PostgreSQL (production, schema
// `echo`, deploy/sql/echo/002_events.sql) and an in-memory fake (unit tests);
// both are thread-safe and give the same answers. Times are epoch ms given by
// the caller (its Clock), so tests drive them.
#ifndef GENNAKER_SERVICES_ECHO_STORE_ECHO_STORE_H_
#define GENNAKER_SERVICES_ECHO_STORE_ECHO_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gennaker::echo {

enum class EventState { kAccepted, kDelivered, kFailed, kIgnored };
enum class NotificationState { kPending, kSent, kFailed };

// "ACCEPTED", ... as stored; and back (nullopt for an unknown name).
const char* EventStateName(EventState state);
std::optional<EventState> EventStateFromName(absl::string_view name);
const char* NotificationStateName(NotificationState state);
std::optional<NotificationState> NotificationStateFromName(
    absl::string_view name);

struct EventRow {
  std::string id;
  std::string idempotency_key;  // "" = none
  std::string type;
  std::string source;
  std::string application;
  int64_t created_ms = 0;
  int64_t accepted_ms = 0;
  EventState state = EventState::kAccepted;
  std::string body;  // the event JSON
  int attempts = 0;  // claims so far
  int64_t next_attempt_ms = 0;
  std::string error;
  std::string executions = "[]";  // JSON [{id, application}]
  int64_t updated_ms = 0;
};

struct InsertResult {
  std::string id;
  bool duplicate = false;  // the idempotency key was taken: id is the first's
};

struct EventQuery {
  std::string type, source, application;  // "" = any
  int64_t since_ms = 0;                   // accepted_at >= since_ms
  int limit = 100;
  int64_t offset = 0;
};

struct NotificationRow {
  std::string id;
  std::string group_id;
  std::string idempotency_key;  // "" = none
  std::string type;
  std::string message;  // JSON of the rendered message
  NotificationState state = NotificationState::kPending;
  int attempts = 0;
  int64_t next_attempt_ms = 0;
  std::string error;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct CronSlot {
  std::string trigger_id;
  std::string pipeline_id;
  int64_t slot_ms = 0;
};

class EchoStore {
 public:
  virtual ~EchoStore() = default;

  // Stores a new event. With an idempotency key already used, stores nothing
  // and returns the first event's id with duplicate=true. Wakes the delivery
  // workers of every instance (PostgreSQL: NOTIFY) when it is ACCEPTED.
  virtual absl::StatusOr<InsertResult> InsertEvent(const EventRow& row) = 0;
  // NOT_FOUND when absent.
  virtual absl::StatusOr<EventRow> GetEvent(absl::string_view id) = 0;
  // Matching events, newest first (accepted_at, then id, descending).
  virtual absl::StatusOr<std::vector<EventRow>> ListEvents(
      const EventQuery& query) = 0;

  // Claims up to `limit` ACCEPTED events due at `now_ms` (next_attempt_ms <=
  // `owner` is a token of this one claim (EchoCore: instance id + a uuid), so
  // a stale holder's Finish/Retry matches nothing once another claim took
  // the row over. PostgreSQL times the lease with the database's clock.
  // now) whose claim is free or expired, oldest first: claimed by `owner`
  // until now + claim_ms, attempts + 1. Rows another transaction is claiming
  // are skipped (FOR UPDATE SKIP LOCKED).
  virtual absl::StatusOr<std::vector<EventRow>> ClaimEvents(
      const std::string& owner, int64_t now_ms, int64_t claim_ms,
      int limit) = 0;
  // Ends a claimed event in `state` (DELIVERED with the executions, FAILED
  // with the error). False (and nothing written) when `owner` no longer holds
  // the claim.
  virtual absl::StatusOr<bool> FinishEvent(const std::string& id,
                                           const std::string& owner,
                                           EventState state,
                                           const std::string& executions,
                                           const std::string& error,
                                           int64_t now_ms) = 0;
  // Releases a claimed event for another attempt at next_attempt_ms.
  virtual absl::StatusOr<bool> RetryEvent(const std::string& id,
                                          const std::string& owner,
                                          int64_t next_attempt_ms,
                                          const std::string& error,
                                          int64_t now_ms) = 0;
  // Deletes finished (not ACCEPTED) events accepted before `before_ms`, with
  // their cron slots and notifications of the same age. Returns the events
  // deleted.
  virtual absl::StatusOr<int64_t> DeleteFinishedBefore(int64_t before_ms) = 0;

  // Claims `slot` for `owner` and stores `event` (the fire) in one
  // transaction: false, and nothing new stored, when the slot was claimed
  // before or the event's idempotency key is already taken.
  virtual absl::StatusOr<bool> ClaimCronSlot(const CronSlot& slot,
                                             const std::string& owner,
                                             const EventRow& event) = 0;

  // Stores the rows of one group (ids already present are skipped). When
  // rows[0] has an idempotency key already used, stores nothing and returns
  // that row's group with duplicate=true; else returns rows[0].group_id.
  // Wakes the notification workers.
  virtual absl::StatusOr<InsertResult> InsertNotifications(
      const std::vector<NotificationRow>& rows) = 0;
  // As ClaimEvents, for PENDING notifications.
  virtual absl::StatusOr<std::vector<NotificationRow>> ClaimNotifications(
      const std::string& owner, int64_t now_ms, int64_t claim_ms,
      int limit) = 0;
  // Ends a claimed notification SENT or FAILED (with the error).
  virtual absl::StatusOr<bool> FinishNotification(const std::string& id,
                                                  const std::string& owner,
                                                  NotificationState state,
                                                  const std::string& error,
                                                  int64_t now_ms) = 0;
  virtual absl::StatusOr<bool> RetryNotification(const std::string& id,
                                                 const std::string& owner,
                                                 int64_t next_attempt_ms,
                                                 const std::string& error,
                                                 int64_t now_ms) = 0;
  // The rows of a group, by id.
  virtual absl::StatusOr<std::vector<NotificationRow>> ListNotifications(
      const std::string& group_id) = 0;
};

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_STORE_ECHO_STORE_H_
