#include "services/echo/store/pg_echo_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace gennaker::echo {
namespace {

constexpr char kEventColumns[] =
    "id, COALESCE(idempotency_key, ''), type, source, application, "
    "created_at, accepted_at, state, body, attempts, next_attempt_at, error, "
    "executions, updated_at";

constexpr char kNotificationColumns[] =
    "id, group_id, COALESCE(idempotency_key, ''), type, message, state, "
    "attempts, next_attempt_at, error, created_at, updated_at";

std::string Str(int64_t v) { return std::to_string(v); }

// Claim leases are timed by the database's clock, not the instances' (whose
// clocks may differ): epoch ms of now().
constexpr char kDbNowMs[] =
    "(extract(epoch from clock_timestamp()) * 1000)::bigint";

pg::Param KeyParam(const std::string& key) {
  return key.empty() ? pg::Param() : pg::Param(key);
}

EventRow EventOf(const pg::Result& r, int i) {
  EventRow e;
  e.id = std::string(r.Get(i, 0));
  e.idempotency_key = std::string(r.Get(i, 1));
  e.type = std::string(r.Get(i, 2));
  e.source = std::string(r.Get(i, 3));
  e.application = std::string(r.Get(i, 4));
  e.created_ms = r.GetInt(i, 5);
  e.accepted_ms = r.GetInt(i, 6);
  e.state = EventStateFromName(r.Get(i, 7)).value_or(EventState::kAccepted);
  e.body = std::string(r.Get(i, 8));
  e.attempts = static_cast<int>(r.GetInt(i, 9));
  e.next_attempt_ms = r.GetInt(i, 10);
  e.error = std::string(r.Get(i, 11));
  e.executions = std::string(r.Get(i, 12));
  e.updated_ms = r.GetInt(i, 13);
  return e;
}

NotificationRow NotificationOf(const pg::Result& r, int i) {
  NotificationRow n;
  n.id = std::string(r.Get(i, 0));
  n.group_id = std::string(r.Get(i, 1));
  n.idempotency_key = std::string(r.Get(i, 2));
  n.type = std::string(r.Get(i, 3));
  n.message = std::string(r.Get(i, 4));
  n.state = NotificationStateFromName(r.Get(i, 5))
                .value_or(NotificationState::kPending);
  n.attempts = static_cast<int>(r.GetInt(i, 6));
  n.next_attempt_ms = r.GetInt(i, 7);
  n.error = std::string(r.Get(i, 8));
  n.created_ms = r.GetInt(i, 9);
  n.updated_ms = r.GetInt(i, 10);
  return n;
}

// Inserts `row` unless its idempotency key is taken (then the first id).
absl::StatusOr<InsertResult> InsertEventIn(pg::Connection& c,
                                           const EventRow& row) {
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      c.Exec("INSERT INTO echo.events (id, idempotency_key, type, source, "
             "application, created_at, accepted_at, state, body, attempts, "
             "next_attempt_at, error, executions, updated_at) VALUES ($1, $2, "
             "$3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, $7) "
             "ON CONFLICT (idempotency_key) DO NOTHING",
             {row.id, KeyParam(row.idempotency_key), row.type, row.source,
              row.application, Str(row.created_ms), Str(row.accepted_ms),
              std::string(EventStateName(row.state)), row.body,
              Str(row.next_attempt_ms), row.error, row.executions}));
  if (r.AffectedRows() == 0) {
    GENNAKER_ASSIGN_OR_RETURN(pg::Result k,
                              c.Exec("SELECT id FROM echo.events WHERE "
                                     "idempotency_key = $1",
                                     {row.idempotency_key}));
    if (k.rows() == 0) {
      return absl::AbortedError("idempotency key race; retry");
    }
    return InsertResult{std::string(k.Get(0, 0)), true};
  }
  if (row.state == EventState::kAccepted) {
    GENNAKER_RETURN_IF_ERROR(
        c.Exec("SELECT pg_notify($1, 'e')", {std::string(kWakeChannel)})
            .status());
  }
  return InsertResult{row.id, false};
}

// One of the two work queues (events, notifications): they share the claim
// lease protocol and differ only in these constants. SQL is built only from
// these compile-time constants, never from data.
struct QueueTable {
  const char* table;        // schema-qualified table name
  const char* columns;      // the SELECT list a claim returns
  const char* live_state;   // the state of rows still to handle
  const char* claim_order;  // ORDER BY of the claim
};

constexpr QueueTable kEventQueue = {"echo.events", kEventColumns, "ACCEPTED",
                                    "next_attempt_at, accepted_at"};
constexpr QueueTable kNotificationQueue = {"echo.notifications",
                                           kNotificationColumns, "PENDING",
                                           "next_attempt_at, id"};

// Claims up to `limit` due rows of `q` for `owner` ($1 owner, $2 now_ms,
// $3 claim_ms, $4 limit); the rows hold q.columns.
absl::StatusOr<pg::Result> ClaimRows(pg::Pool* pool, const QueueTable& q,
                                     const std::string& owner, int64_t now_ms,
                                     int64_t claim_ms, int limit) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool->Acquire());
  return c->Exec(
      absl::StrCat("UPDATE ", q.table,
                   " SET claimed_by = $1, "
                   "claim_expires_at = ",
                   kDbNowMs,
                   " + $3, attempts = attempts + 1, updated_at = $2 WHERE id "
                   "IN (SELECT id FROM ",
                   q.table, " WHERE state = '", q.live_state,
                   "' AND next_attempt_at <= $2 AND claim_expires_at <= ",
                   kDbNowMs, " ORDER BY ", q.claim_order,
                   " LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING ", q.columns),
      {owner, Str(now_ms), Str(claim_ms), Str(limit)});
}

// Ends `owner`'s claim on row $1 of `q` (owner $2), applying `set` (a
// constant SET list over $3...); false when the claim is not (or no longer)
// the caller's.
absl::StatusOr<bool> EndClaim(pg::Pool* pool, const QueueTable& q,
                              const char* set,
                              const std::vector<pg::Param>& params) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      c->Exec(absl::StrCat("UPDATE ", q.table, " SET ", set,
                           ", claimed_by = '', claim_expires_at = 0 WHERE "
                           "id = $1 AND claimed_by = $2 AND state = '",
                           q.live_state, "'"),
              params));
  return r.AffectedRows() > 0;
}

// The SET list of a retry (the same for both queues).
constexpr char kRetrySet[] =
    "next_attempt_at = $3, error = $4, updated_at = $5";

}  // namespace

absl::StatusOr<InsertResult> PgEchoStore::InsertEvent(const EventRow& row) {
  InsertResult out;
  absl::Status s = pool_->Transact([&](pg::Connection& c) -> absl::Status {
    GENNAKER_ASSIGN_OR_RETURN(out, InsertEventIn(c, row));
    return absl::OkStatus();
  });
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(
        absl::StrCat("event '", row.id, "' already exists"));
  }
  GENNAKER_RETURN_IF_ERROR(s);
  return out;
}

absl::StatusOr<EventRow> PgEchoStore::GetEvent(absl::string_view id) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r, c->Exec(absl::StrCat("SELECT ", kEventColumns,
                                         " FROM echo.events WHERE id = $1"),
                            {std::string(id)}));
  if (r.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("event '", id, "' not found"));
  }
  return EventOf(r, 0);
}

absl::StatusOr<std::vector<EventRow>> PgEchoStore::ListEvents(
    const EventQuery& query) {
  std::string sql = absl::StrCat("SELECT ", kEventColumns,
                                 " FROM echo.events WHERE accepted_at >= $1");
  std::vector<pg::Param> params = {Str(query.since_ms)};
  auto add = [&](const char* column, const std::string& value) {
    if (value.empty()) return;
    params.push_back(value);
    absl::StrAppend(&sql, " AND ", column, " = $", params.size());
  };
  add("type", query.type);
  add("source", query.source);
  add("application", query.application);
  absl::StrAppend(&sql, " ORDER BY accepted_at DESC, id DESC");
  if (query.limit > 0) absl::StrAppend(&sql, " LIMIT ", query.limit);
  if (query.offset > 0) absl::StrAppend(&sql, " OFFSET ", query.offset);
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(pg::Result r, c->Exec(sql, params));
  std::vector<EventRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(EventOf(r, i));
  return out;
}

absl::StatusOr<std::vector<EventRow>> PgEchoStore::ClaimEvents(
    const std::string& owner, int64_t now_ms, int64_t claim_ms, int limit) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Result r, ClaimRows(pool_, kEventQueue, owner,
                                                    now_ms, claim_ms, limit));
  std::vector<EventRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(EventOf(r, i));
  return out;
}

absl::StatusOr<bool> PgEchoStore::FinishEvent(
    const std::string& id, const std::string& owner, EventState state,
    const std::string& executions, const std::string& error, int64_t now_ms) {
  return EndClaim(pool_, kEventQueue,
                  "state = $3, executions = $4, error = $5, updated_at = $6",
                  {id, owner, std::string(EventStateName(state)), executions,
                   error, Str(now_ms)});
}

absl::StatusOr<bool> PgEchoStore::RetryEvent(const std::string& id,
                                             const std::string& owner,
                                             int64_t next_attempt_ms,
                                             const std::string& error,
                                             int64_t now_ms) {
  return EndClaim(pool_, kEventQueue, kRetrySet,
                  {id, owner, Str(next_attempt_ms), error, Str(now_ms)});
}

absl::StatusOr<int64_t> PgEchoStore::DeleteFinishedBefore(int64_t before_ms) {
  int64_t n = 0;
  GENNAKER_RETURN_IF_ERROR(
      pool_->Transact([&](pg::Connection& c) -> absl::Status {
        GENNAKER_ASSIGN_OR_RETURN(
            pg::Result r,
            c.Exec("DELETE FROM echo.events WHERE state <> 'ACCEPTED' AND "
                   "accepted_at < $1",
                   {Str(before_ms)}));
        n = r.AffectedRows();
        GENNAKER_RETURN_IF_ERROR(
            c.Exec("DELETE FROM echo.cron_slots WHERE slot_at < $1",
                   {Str(before_ms)})
                .status());
        return c
            .Exec(
                "DELETE FROM echo.notifications WHERE state <> 'PENDING' "
                "AND created_at < $1",
                {Str(before_ms)})
            .status();
      }));
  return n;
}

absl::StatusOr<bool> PgEchoStore::ClaimCronSlot(const CronSlot& slot,
                                                const std::string& owner,
                                                const EventRow& event) {
  bool claimed = false;
  GENNAKER_RETURN_IF_ERROR(
      pool_->Transact([&](pg::Connection& c) -> absl::Status {
        claimed = false;
        GENNAKER_ASSIGN_OR_RETURN(
            pg::Result r,
            c.Exec("INSERT INTO echo.cron_slots (trigger_id, pipeline_id, "
                   "slot_at, claimed_by, claimed_at, event_id) VALUES ($1, $2, "
                   "$3, $4, $5, $6) ON CONFLICT DO NOTHING",
                   {slot.trigger_id, slot.pipeline_id, Str(slot.slot_ms), owner,
                    Str(event.accepted_ms), event.id}));
        if (r.AffectedRows() == 0) return absl::OkStatus();
        GENNAKER_ASSIGN_OR_RETURN(InsertResult ins, InsertEventIn(c, event));
        // The fire's key was stored before (the slot row was deleted by
        // retention, or written apart): that event is the fire, not a new
        // one.
        claimed = !ins.duplicate;
        return absl::OkStatus();
      }));
  return claimed;
}

absl::StatusOr<InsertResult> PgEchoStore::InsertNotifications(
    const std::vector<NotificationRow>& rows) {
  if (rows.empty()) return InsertResult{};
  InsertResult out;
  auto existing = [&](pg::Connection& c) -> absl::StatusOr<bool> {
    if (rows[0].idempotency_key.empty()) return false;
    GENNAKER_ASSIGN_OR_RETURN(
        pg::Result k, c.Exec("SELECT group_id FROM echo.notifications WHERE "
                             "idempotency_key = $1",
                             {rows[0].idempotency_key}));
    if (k.rows() == 0) return false;
    out = InsertResult{std::string(k.Get(0, 0)), true};
    return true;
  };
  absl::Status s = pool_->Transact([&](pg::Connection& c) -> absl::Status {
    GENNAKER_ASSIGN_OR_RETURN(bool dup, existing(c));
    if (dup) return absl::OkStatus();
    for (const NotificationRow& n : rows) {
      GENNAKER_RETURN_IF_ERROR(
          c.Exec("INSERT INTO echo.notifications (id, group_id, "
                 "idempotency_key, type, message, state, attempts, "
                 "next_attempt_at, error, created_at, updated_at) VALUES ($1, "
                 "$2, $3, $4, $5, $6, 0, $7, '', $8, $8) ON CONFLICT (id) DO "
                 "NOTHING",
                 {n.id, n.group_id, KeyParam(n.idempotency_key), n.type,
                  n.message, std::string(NotificationStateName(n.state)),
                  Str(n.next_attempt_ms), Str(n.created_ms)})
              .status());
    }
    out = InsertResult{rows[0].group_id, false};
    return c.Exec("SELECT pg_notify($1, 'n')", {std::string(kWakeChannel)})
        .status();
  });
  // A concurrent request with the same key won the race.
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
    GENNAKER_ASSIGN_OR_RETURN(bool dup, existing(*c));
    if (dup) return out;
  }
  GENNAKER_RETURN_IF_ERROR(s);
  return out;
}

absl::StatusOr<std::vector<NotificationRow>> PgEchoStore::ClaimNotifications(
    const std::string& owner, int64_t now_ms, int64_t claim_ms, int limit) {
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      ClaimRows(pool_, kNotificationQueue, owner, now_ms, claim_ms, limit));
  std::vector<NotificationRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(NotificationOf(r, i));
  return out;
}

absl::StatusOr<bool> PgEchoStore::FinishNotification(const std::string& id,
                                                     const std::string& owner,
                                                     NotificationState state,
                                                     const std::string& error,
                                                     int64_t now_ms) {
  return EndClaim(pool_, kNotificationQueue,
                  "state = $3, error = $4, updated_at = $5",
                  {id, owner, std::string(NotificationStateName(state)), error,
                   Str(now_ms)});
}

absl::StatusOr<bool> PgEchoStore::RetryNotification(const std::string& id,
                                                    const std::string& owner,
                                                    int64_t next_attempt_ms,
                                                    const std::string& error,
                                                    int64_t now_ms) {
  return EndClaim(pool_, kNotificationQueue, kRetrySet,
                  {id, owner, Str(next_attempt_ms), error, Str(now_ms)});
}

absl::StatusOr<std::vector<NotificationRow>> PgEchoStore::ListNotifications(
    const std::string& group_id) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      c->Exec(absl::StrCat("SELECT ", kNotificationColumns,
                           " FROM echo.notifications WHERE group_id = $1 "
                           "ORDER BY id"),
              {group_id}));
  std::vector<NotificationRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(NotificationOf(r, i));
  return out;
}

}  // namespace gennaker::echo
