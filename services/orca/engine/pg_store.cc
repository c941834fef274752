#include "services/orca/engine/pg_store.h"

#include <limits>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/log/log.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"

namespace gennaker::orca {

namespace {

std::string WaitingFlag(const Json& e) {
  return e.contains(kPrivateKey) && Bool(e[kPrivateKey], "waiting") ? "true"
                                                                    : "false";
}

// Stored documents were written by orca from bounded input, but a document
// nested past any legitimate depth must be refused here, where it is still
// text: copying or printing it would overflow the stack.
constexpr int kMaxStoredDepth = 1000;

absl::StatusOr<Json> ParseBody(absl::string_view body) {
  spinnaker::JsonLimits limits;
  limits.max_depth = kMaxStoredDepth;
  limits.max_bytes = std::numeric_limits<size_t>::max();
  absl::StatusOr<Json> j =
      spinnaker::ParseJson(body, "stored execution", limits);
  if (!j.ok() || !j->is_object()) {
    return absl::DataLossError(j.ok() ? "stored execution is not a JSON object"
                                      : std::string(j.status().message()));
  }
  return *std::move(j);
}

// The stored execution `id` (not locked); NOT_FOUND when absent.
absl::StatusOr<Json> ReadExecution(pg::Connection& c, const std::string& id) {
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      c.Exec("SELECT body FROM orca.executions WHERE id = $1", {id}));
  if (r.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("Execution not found: ", id));
  }
  return ParseBody(r.Get(0, 0));
}

// Pushes messages (identical ones collapse to the last) and NOTIFYs.
absl::Status PushMessages(pg::Connection& c,
                          const std::vector<Outgoing>& messages,
                          int64_t now_ms) {
  if (messages.empty()) return absl::OkStatus();
  std::map<std::string, const Outgoing*> unique;
  for (const Outgoing& o : messages) unique[o.message.ToJson()] = &o;
  // Messages for executions that do not exist (deleted, or named by a
  // user-supplied trigger) are dropped rather than left to rot in the queue.
  std::string sql =
      "INSERT INTO orca.queue (fingerprint, execution_id, body, deliver_at, "
      "enqueued_at) SELECT md5(v.body), v.execution_id, v.body, v.deliver_at, "
      "v.enqueued_at FROM (VALUES ";
  std::vector<pg::Param> params;
  int n = 0;
  for (auto& [body, o] : unique) {
    if (n > 0) sql += ",";
    int b = static_cast<int>(params.size());
    absl::StrAppend(&sql, "($", b + 1, "::text, $", b + 2, "::text, $", b + 3,
                    "::bigint, $", b + 4, "::bigint)");
    params.push_back(body);
    params.push_back(o->message.execution_id);
    params.push_back(std::to_string(now_ms + o->delay_ms));
    params.push_back(std::to_string(now_ms));
    ++n;
  }
  sql +=
      ") AS v (body, execution_id, deliver_at, enqueued_at) WHERE EXISTS "
      "(SELECT 1 FROM orca.executions e WHERE e.id = v.execution_id) "
      "ON CONFLICT (fingerprint) DO UPDATE SET deliver_at = "
      "EXCLUDED.deliver_at, attempts = 0";
  GENNAKER_RETURN_IF_ERROR(c.Exec(sql, params).status());
  return c.Exec(absl::StrCat("NOTIFY ", kQueueChannel)).status();
}

// The id of the execution started with `correlation_id`, or "" when none
// (or no correlation id).
absl::StatusOr<std::string> CorrelatedId(pg::Connection& c,
                                         const std::string& correlation_id) {
  if (correlation_id.empty()) return std::string();
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      c.Exec("SELECT id FROM orca.executions WHERE correlation_id = $1",
             {correlation_id}));
  return r.rows() > 0 ? std::string(r.Get(0, 0)) : std::string();
}

absl::StatusOr<std::string> InsertExecution(
    pg::Connection& c, const Json& e, const std::string& correlation_id,
    const std::vector<Outgoing>& messages, int64_t now_ms) {
  GENNAKER_ASSIGN_OR_RETURN(std::string known, CorrelatedId(c, correlation_id));
  if (!known.empty()) return known;
  std::string config = String(e, "pipelineConfigId");
  // DO NOTHING (instead of an error that would abort the transaction) lets a
  // concurrent request with the same correlation id find the winner's row.
  absl::StatusOr<pg::Result> r = c.Exec(
      "INSERT INTO orca.executions (id, type, application, config_id, status, "
      "waiting, build_time, correlation_id, body) VALUES ($1, $2, $3, $4, $5, "
      "$6::boolean, $7::bigint, $8, $9) ON CONFLICT DO NOTHING RETURNING id",
      {String(e, "id"), String(e, "type"), String(e, "application"),
       config.empty() ? pg::Param() : pg::Param(config), String(e, "status"),
       WaitingFlag(e), std::to_string(Int(e, "buildTime")),
       correlation_id.empty() ? pg::Param() : pg::Param(correlation_id),
       Dump(e)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) {
    GENNAKER_ASSIGN_OR_RETURN(std::string winner,
                              CorrelatedId(c, correlation_id));
    if (!winner.empty()) return winner;
    return absl::AlreadyExistsError(
        absl::StrCat("execution ", String(e, "id"), " already exists"));
  }
  GENNAKER_RETURN_IF_ERROR(PushMessages(c, messages, now_ms));
  return String(e, "id");
}

}  // namespace

class PgStore::PgWork : public Work {
 public:
  PgWork(pg::Pool::Lease lease, const Clock* clock, Message message, Json exec,
         int64_t claimed_row, int64_t deliver_at, int crashes = 0)
      : lease_(std::move(lease)),
        clock_(clock),
        message_(std::move(message)),
        execution_(std::move(exec)),
        claimed_row_(claimed_row),
        deliver_at_(deliver_at),
        crashes_(crashes) {}
  ~PgWork() override {
    if (!done_) (void)lease_->Exec("ROLLBACK");
  }
  const Message& message() const override { return message_; }
  int64_t deliver_at_ms() const override { return deliver_at_; }
  int crashes() const override { return crashes_; }
  Json& execution() override { return execution_; }

  absl::StatusOr<std::string> CreateExecution(
      const Json& execution, const std::string& correlation_id,
      const std::vector<Outgoing>& messages) override {
    return InsertExecution(*lease_, execution, correlation_id, messages,
                           clock_->NowMs());
  }
  // Runs `sql` (with $1 the config id) once start decisions of that
  // pipeline config are serialized, until the commit.
  absl::StatusOr<pg::Result> QueryLockedConfig(
      const std::string& config_id, absl::string_view sql,
      const std::vector<pg::Param>& more = {}) {
    GENNAKER_RETURN_IF_ERROR(
        lease_->Exec("SELECT pg_advisory_xact_lock(hashtext($1))", {config_id})
            .status());
    std::vector<pg::Param> params = {config_id};
    params.insert(params.end(), more.begin(), more.end());
    return lease_->Exec(sql, params);
  }
  absl::StatusOr<int> LockConfigCountRunning(
      const std::string& config_id) override {
    GENNAKER_ASSIGN_OR_RETURN(
        pg::Result r,
        QueryLockedConfig(config_id,
                          "SELECT count(*) FROM orca.executions WHERE "
                          "config_id = $1 AND status IN ('RUNNING', 'PAUSED') "
                          "AND id <> $2",
                          {String(execution_, "id")}));
    return static_cast<int>(r.GetInt(0, 0));
  }
  absl::StatusOr<std::vector<std::string>> Waiting(
      const std::string& config_id) override {
    GENNAKER_ASSIGN_OR_RETURN(
        pg::Result r,
        QueryLockedConfig(config_id,
                          "SELECT id FROM orca.executions WHERE config_id = $1 "
                          "AND waiting ORDER BY build_time, id"));
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
    return out;
  }
  absl::StatusOr<Json> Read(const std::string& id) override {
    return ReadExecution(*lease_, id);
  }
  absl::Status Commit(const std::vector<Outgoing>& messages) override {
    GENNAKER_RETURN_IF_ERROR(
        lease_
            ->Exec("UPDATE orca.executions SET body = $2, status = $3, "
                   "waiting = $4::boolean WHERE id = $1",
                   {String(execution_, "id"), Dump(execution_),
                    String(execution_, "status"), WaitingFlag(execution_)})
            .status());
    // Acknowledge before pushing: a handler may push its own message again
    // (a RUNNING task), which must survive.
    if (claimed_row_ > 0) {
      GENNAKER_RETURN_IF_ERROR(
          lease_
              ->Exec("DELETE FROM orca.queue WHERE id = $1",
                     {std::to_string(claimed_row_)})
              .status());
    }
    GENNAKER_RETURN_IF_ERROR(PushMessages(*lease_, messages, clock_->NowMs()));
    absl::StatusOr<pg::Result> r = lease_->Exec("COMMIT");
    done_ = true;
    return r.status();
  }
  absl::Status DeadLetterClaimed(const std::string& error) override {
    if (claimed_row_ <= 0) {
      return absl::FailedPreconditionError("no claimed message");
    }
    return lease_
        ->Exec(
            "INSERT INTO orca.dead_letters (execution_id, body, error, at) "
            "SELECT execution_id, body, $2, $3::bigint FROM orca.queue WHERE "
            "id = $1::bigint",
            {std::to_string(claimed_row_), error,
             std::to_string(clock_->NowMs())})
        .status();
  }

 private:
  pg::Pool::Lease lease_;
  const Clock* clock_;
  Message message_;
  Json execution_;
  int64_t claimed_row_;
  int64_t deliver_at_;
  int crashes_;
  bool done_ = false;
};

absl::StatusOr<std::string> PgStore::Create(
    const Json& execution, const std::string& correlation_id,
    const std::vector<Outgoing>& messages) {
  std::string id;
  GENNAKER_RETURN_IF_ERROR(pool_->Transact([&](pg::Connection& c) {
    absl::StatusOr<std::string> r = InsertExecution(
        c, execution, correlation_id, messages, clock_->NowMs());
    if (!r.ok()) return r.status();
    id = *r;
    return absl::OkStatus();
  }));
  return id;
}

absl::StatusOr<Json> PgStore::Get(const std::string& id) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  return ReadExecution(*c, id);
}

absl::StatusOr<std::vector<Json>> PgStore::List(const ExecutionQuery& q) {
  std::string sql = "SELECT body FROM orca.executions WHERE true";
  std::vector<pg::Param> params;
  auto arg = [&params](std::string v) {
    params.push_back(std::move(v));
    return absl::StrCat("$", params.size());
  };
  auto array = [](const std::vector<std::string>& v) {
    // A text[] literal; the values are quoted and escaped.
    std::string out = "{";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ",";
      out += "\"";
      for (char ch : v[i]) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
      }
      out += "\"";
    }
    return out + "}";
  };
  if (!q.application.empty()) {
    absl::StrAppend(&sql, " AND application = ", arg(q.application));
  }
  if (!q.type.empty()) absl::StrAppend(&sql, " AND type = ", arg(q.type));
  if (!q.config_ids.empty()) {
    absl::StrAppend(&sql, " AND config_id = ANY(", arg(array(q.config_ids)),
                    "::text[])");
  }
  if (!q.execution_ids.empty()) {
    absl::StrAppend(&sql, " AND id = ANY(", arg(array(q.execution_ids)),
                    "::text[])");
  }
  if (!q.statuses.empty()) {
    absl::StrAppend(&sql, " AND status = ANY(", arg(array(q.statuses)),
                    "::text[])");
  }
  if (q.limit > 0 && q.limit_per_config) {
    sql = absl::StrCat(
        "SELECT body FROM (SELECT body, build_time, id, row_number() OVER "
        "(PARTITION BY config_id ORDER BY build_time DESC, id DESC) AS n FROM "
        "(",
        absl::StrReplaceAll(sql, {{"SELECT body FROM", "SELECT * FROM"}}),
        ") f) x WHERE n <= ", q.limit, " ORDER BY build_time DESC, id DESC");
  } else {
    sql += " ORDER BY build_time DESC, id DESC";
    if (q.limit > 0) absl::StrAppend(&sql, " LIMIT ", q.limit);
    if (q.offset > 0) absl::StrAppend(&sql, " OFFSET ", q.offset);
  }
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(pg::Result r, c->Exec(sql, params));
  std::vector<Json> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    GENNAKER_ASSIGN_OR_RETURN(Json j, ParseBody(r.Get(i, 0)));
    out.push_back(std::move(j));
  }
  return out;
}

absl::Status PgStore::Push(const std::vector<Outgoing>& messages) {
  return pool_->Transact([&](pg::Connection& c) {
    return PushMessages(c, messages, clock_->NowMs());
  });
}

absl::Status PgStore::Delete(const std::string& id) {
  return pool_->Transact([&](pg::Connection& c) -> absl::Status {
    GENNAKER_ASSIGN_OR_RETURN(
        pg::Result r,
        c.Exec("DELETE FROM orca.executions WHERE id = $1", {id}));
    if (r.AffectedRows() == 0) {
      return absl::NotFoundError(absl::StrCat("Execution not found: ", id));
    }
    return c.Exec("DELETE FROM orca.queue WHERE execution_id = $1", {id})
        .status();
  });
}

absl::StatusOr<std::unique_ptr<Work>> PgStore::Claim(int64_t now_ms) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_RETURN_IF_ERROR(c->ExecScript(
      absl::StrCat("BEGIN; SET LOCAL idle_in_transaction_session_timeout = ",
                   lease_seconds_ * 1000)));
  auto fail = [&c](const absl::Status& s) {
    (void)c->Exec("ROLLBACK");
    return s;
  };
  // Lock the execution of the oldest due message whose execution nobody
  // holds. Only the execution row is locked here (skipped rows stay
  // unlocked), then the message row: only a concurrent push of the same
  // message can hold that one, briefly; then give up and retry later.
  absl::StatusOr<pg::Result> e = c->Exec(
      "SELECT q.id, e.body FROM orca.queue q JOIN orca.executions e ON e.id = "
      "q.execution_id WHERE q.deliver_at <= $1::bigint ORDER BY q.deliver_at "
      "LIMIT 1 FOR UPDATE OF e SKIP LOCKED",
      {std::to_string(now_ms)});
  if (!e.ok()) return fail(e.status());
  if (e->rows() == 0) {
    (void)c->Exec("ROLLBACK");
    return nullptr;
  }
  std::string row(e->Get(0, 0));
  // Count this handling before it starts, in a transaction of its own, so
  // that the count survives the process dying in the handler. Only the
  // execution row is locked so far: the message row is free to update.
  {
    absl::StatusOr<pg::Pool::Lease> counter = pool_->Acquire();
    if (!counter.ok()) return fail(counter.status());
    // synchronous_commit off: the count must outlive orca, not PostgreSQL.
    absl::Status counted = (*counter)->ExecScript(absl::StrCat(
        "BEGIN; SET LOCAL synchronous_commit = off; UPDATE orca.queue SET "
        "handling = handling + 1 WHERE id = ",
        std::stoll(row), "; COMMIT"));
    if (!counted.ok()) {
      (void)(*counter)->Exec("ROLLBACK");
      return fail(counted);
    }
  }
  auto uncount = [this, &row] {
    absl::StatusOr<pg::Pool::Lease> u = pool_->Acquire();
    if (u.ok()) {
      (void)(*u)->Exec(
          "UPDATE orca.queue SET handling = GREATEST(handling - 1, 0) WHERE "
          "id = $1::bigint",
          {row});
    }
  };
  {
    absl::StatusOr<pg::Result> q = c->Exec(
        "SELECT body, deliver_at, handling FROM orca.queue WHERE id = "
        "$1::bigint AND deliver_at <= $2::bigint FOR UPDATE SKIP LOCKED",
        {row, std::to_string(now_ms)});
    if (!q.ok()) {
      absl::Status s = fail(q.status());
      uncount();
      return s;
    }
    if (q->rows() == 0) {
      (void)c->Exec("ROLLBACK");
      uncount();
      return nullptr;
    }
    std::optional<Message> m = Message::FromJson(q->Get(0, 0));
    absl::StatusOr<Json> exec = ParseBody(e->Get(0, 1));
    if (!m.has_value() || !exec.ok()) {
      // Unreadable: keep it for inspection, out of the queue.
      SPDLOG_ERROR("event=unreadable_message row={}", row);
      (void)c->Exec(
          "INSERT INTO orca.dead_letters (execution_id, body, error, at) "
          "SELECT execution_id, body, 'unreadable', $2::bigint FROM orca.queue "
          "WHERE id = $1::bigint",
          {row, std::to_string(now_ms)});
      (void)c->Exec("DELETE FROM orca.queue WHERE id = $1::bigint", {row});
      (void)c->Exec("COMMIT");
      return nullptr;
    }
    int64_t deliver_at = q->GetInt(0, 1);
    // This handling is counted too.
    int crashes = static_cast<int>(q->GetInt(0, 2)) - 1;
    return std::make_unique<PgWork>(std::move(c), clock_, std::move(*m),
                                    std::move(*exec), std::stoll(row),
                                    deliver_at, std::max(0, crashes));
  }
}

absl::StatusOr<std::unique_ptr<Work>> PgStore::Lock(const std::string& id) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  // API calls wait a bounded time for a handler that holds the execution.
  GENNAKER_RETURN_IF_ERROR(c->ExecScript(
      absl::StrCat("BEGIN; SET LOCAL idle_in_transaction_session_timeout = ",
                   lease_seconds_ * 1000, "; SET LOCAL lock_timeout = 5000")));
  absl::StatusOr<pg::Result> r = c->Exec(
      "SELECT body FROM orca.executions WHERE id = $1 FOR UPDATE", {id});
  if (!r.ok() || r->rows() == 0) {
    (void)c->Exec("ROLLBACK");
    if (!r.ok() && absl::StrContains(r.status().message(), "lock timeout")) {
      return absl::UnavailableError(absl::StrCat(
          "execution ", id, " is busy (a task is running); try again"));
    }
    if (!r.ok()) return r.status();
    return absl::NotFoundError(absl::StrCat("Execution not found: ", id));
  }
  absl::StatusOr<Json> exec = ParseBody(r->Get(0, 0));
  if (!exec.ok()) {
    (void)c->Exec("ROLLBACK");
    return exec.status();
  }
  return std::make_unique<PgWork>(std::move(c), clock_, Message{},
                                  std::move(*exec), 0, 0);
}

absl::StatusOr<int> PgStore::Retry(const Message& message, int64_t now_ms,
                                   int64_t base_delay_ms) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      c->Exec("UPDATE orca.queue SET attempts = attempts + 1, handling = "
              "GREATEST(handling - 1, 0), deliver_at = $2::bigint + "
              "($3::bigint << LEAST(attempts, 10)) WHERE fingerprint = md5($1) "
              "RETURNING attempts",
              {message.ToJson(), std::to_string(now_ms),
               std::to_string(base_delay_ms)}));
  if (r.rows() == 0) return absl::NotFoundError("message is no longer queued");
  return static_cast<int>(r.GetInt(0, 0));
}

absl::Status PgStore::DeadLetter(const Message& message,
                                 const std::string& error) {
  return pool_->Transact([&](pg::Connection& c) -> absl::Status {
    GENNAKER_RETURN_IF_ERROR(
        c.Exec("INSERT INTO orca.dead_letters (execution_id, body, error, at) "
               "VALUES ($1, $2, $3, $4::bigint)",
               {message.execution_id, message.ToJson(), error,
                std::to_string(clock_->NowMs())})
            .status());
    return c
        .Exec("DELETE FROM orca.queue WHERE fingerprint = md5($1)",
              {message.ToJson()})
        .status();
  });
}

absl::StatusOr<std::optional<int64_t>> PgStore::NextDelivery() {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(pg::Result r,
                            c->Exec("SELECT min(q.deliver_at) FROM orca.queue "
                                    "q WHERE EXISTS (SELECT 1 FROM "
                                    "orca.executions e WHERE e.id = "
                                    "q.execution_id)"));
  if (r.IsNull(0, 0)) return std::optional<int64_t>();
  return std::optional<int64_t>(r.GetInt(0, 0));
}

absl::StatusOr<int> PgStore::Purge(int64_t before_ms, int keep_per_config) {
  int deleted = 0;
  GENNAKER_RETURN_IF_ERROR(
      pool_->Transact([&](pg::Connection& c) -> absl::Status {
        const std::string finished =
            "status IN ('SUCCEEDED','FAILED_CONTINUE','TERMINAL','CANCELED',"
            "'STOPPED','SKIPPED')";
        GENNAKER_ASSIGN_OR_RETURN(
            pg::Result a,
            c.Exec(absl::StrCat("DELETE FROM orca.executions WHERE ", finished,
                                " AND build_time < $1::bigint"),
                   {std::to_string(before_ms)}));
        deleted = static_cast<int>(a.AffectedRows());
        if (keep_per_config > 0) {
          GENNAKER_ASSIGN_OR_RETURN(
              pg::Result b,
              c.Exec(
                  absl::StrCat(
                      "DELETE FROM orca.executions WHERE id IN (SELECT id FROM "
                      "(SELECT id, ",
                      finished,
                      " AS done, row_number() OVER (PARTITION BY config_id "
                      "ORDER BY build_time DESC) AS n FROM orca.executions "
                      "WHERE config_id IS NOT NULL) x WHERE done AND n > "
                      "$1::bigint)"),
                  {std::to_string(keep_per_config)}));
          deleted += static_cast<int>(b.AffectedRows());
        }
        return c
            .Exec(
                "DELETE FROM orca.queue q WHERE NOT EXISTS (SELECT 1 FROM "
                "orca.executions e WHERE e.id = q.execution_id)")
            .status();
      }));
  return deleted;
}

absl::StatusOr<std::vector<std::string>> PgStore::StrandedConfigs() {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      c->Exec("SELECT DISTINCT w.config_id FROM orca.executions w WHERE "
              "w.waiting AND NOT EXISTS (SELECT 1 FROM orca.executions r "
              "WHERE r.config_id = w.config_id AND r.status IN ('RUNNING', "
              "'PAUSED'))"));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

absl::StatusOr<int64_t> PgStore::QueueDepth() {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(pg::Result r,
                            c->Exec("SELECT count(*) FROM orca.queue"));
  return r.GetInt(0, 0);
}

}  // namespace gennaker::orca
