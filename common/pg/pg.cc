#include "common/pg/pg.h"

#include <libpq-fe.h>

#include <cstdlib>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "common/log/logging.h"
#include "common/status/status_macros.h"

namespace gennaker::pg {
namespace {

// Marks statuses of serialization failures and deadlocks, which Transact
// retries.
constexpr char kRetryablePayload[] = "gennaker.pg/retryable";

std::string ConnError(pg_conn* conn) {
  std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
  return RedactSecrets(absl::StripTrailingAsciiWhitespace(msg));
}

absl::Status StatusFromResult(pg_result* res, pg_conn* conn) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = res ? std::string(absl::StripTrailingAsciiWhitespace(
                              PQresultErrorMessage(res)))
                        : ConnError(conn);
  absl::string_view sqlstate = state ? state : "";
  if (PQstatus(conn) != CONNECTION_OK)
    return absl::UnavailableError(ConnError(conn));
  if (sqlstate == "23505") return absl::AlreadyExistsError(msg);
  if (sqlstate == "40001" || sqlstate == "40P01") {
    absl::Status s = absl::AbortedError(msg);
    s.SetPayload(kRetryablePayload, absl::Cord("1"));
    return s;
  }
  if (sqlstate.substr(0, 2) == "22" || sqlstate.substr(0, 2) == "23") {
    return absl::InvalidArgumentError(msg);
  }
  if (sqlstate.substr(0, 2) == "08" || sqlstate.substr(0, 2) == "57") {
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(absl::StrCat("SQL error ", sqlstate, ": ", msg));
}

}  // namespace

Result::Result(pg_result* result) : result_(result) {}
Result::~Result() {
  if (result_ != nullptr) PQclear(result_);
}
Result::Result(Result&& other) noexcept
    : result_(std::exchange(other.result_, nullptr)) {}
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
int Result::rows() const { return PQntuples(result_); }
int Result::columns() const { return PQnfields(result_); }
bool Result::IsNull(int row, int col) const {
  return PQgetisnull(result_, row, col);
}
absl::string_view Result::Get(int row, int col) const {
  return absl::string_view(PQgetvalue(result_, row, col),
                           PQgetlength(result_, row, col));
}
int64_t Result::GetInt(int row, int col) const {
  int64_t v = 0;
  (void)absl::SimpleAtoi(Get(row, col), &v);
  return v;
}
int64_t Result::AffectedRows() const {
  int64_t v = 0;
  (void)absl::SimpleAtoi(PQcmdTuples(result_), &v);
  return v;
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const std::string& dsn, int connect_timeout_seconds) {
  // Keepalives and a TCP user timeout: a vanished server (power loss,
  // partition) fails calls within about a minute instead of the kernel's
  // 15-minute retransmission limit.
  std::string full =
      absl::StrCat(dsn, " connect_timeout=", connect_timeout_seconds,
                   " keepalives=1 keepalives_idle=30 keepalives_interval=10"
                   " keepalives_count=3 tcp_user_timeout=60000");
  pg_conn* conn = PQconnectdb(full.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string msg = ConnError(conn);
    if (conn) PQfinish(conn);
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL (",
                                               RedactSecrets(dsn), "): ", msg));
  }
  return std::unique_ptr<Connection>(new Connection(conn));
}

Connection::~Connection() { PQfinish(conn_); }

absl::StatusOr<Result> Connection::Exec(absl::string_view sql,
                                        const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
  std::string query(sql);
  pg_result* res =
      PQexecParams(conn_, query.c_str(), static_cast<int>(values.size()),
                   nullptr, values.data(), nullptr, nullptr, 0);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    absl::Status status = StatusFromResult(res, conn_);
    if (res) PQclear(res);
    return status;
  }
  return Result(res);
}

absl::Status Connection::ExecScript(absl::string_view sql) {
  std::string query(sql);
  pg_result* res = PQexec(conn_, query.c_str());
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  absl::Status status = absl::OkStatus();
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    status = StatusFromResult(res, conn_);
  if (res) PQclear(res);
  return status;
}

bool Connection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

absl::Status Connection::Reset() {
  PQreset(conn_);
  if (!healthy()) {
    return absl::UnavailableError(
        absl::StrCat("PostgreSQL reconnect failed: ", ConnError(conn_)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Pool>> Pool::Create(const PoolOptions& options) {
  if (options.size < 1)
    return absl::InvalidArgumentError("pool size must be at least 1");
  std::unique_ptr<Pool> pool(new Pool(options));
  for (int i = 0; i < options.size; ++i) {
    GENNAKER_ASSIGN_OR_RETURN(
        auto conn,
        Connection::Open(options.dsn, options.connect_timeout_seconds));
    absl::MutexLock lock(&pool->mu_);
    pool->idle_.push_back(std::move(conn));
  }
  return pool;
}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

absl::StatusOr<Pool::Lease> Pool::Acquire() {
  std::unique_ptr<Connection> conn;
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty();
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&available),
                              options_.acquire_timeout)) {
      return absl::ResourceExhaustedError(
          "no PostgreSQL connection free in time");
    }
    conn = std::move(idle_.back());
    idle_.pop_back();
  }
  if (!conn->healthy()) {
    absl::Status s = conn->Reset();
    if (!s.ok()) {
      Release(std::move(conn));
      return s;
    }
    SPDLOG_INFO("postgres connection re-established");
  }
  return Lease(this, std::move(conn));
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(conn));
}

absl::Status Pool::Transact(const std::function<absl::Status(Connection&)>& fn,
                            int attempts) {
  absl::Status last;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    GENNAKER_ASSIGN_OR_RETURN(Lease lease, Acquire());
    GENNAKER_RETURN_IF_ERROR(lease->ExecScript("BEGIN"));
    last = fn(*lease);
    if (last.ok()) last = lease->ExecScript("COMMIT");
    if (last.ok()) return last;
    (void)lease->ExecScript("ROLLBACK");
    if (!last.GetPayload(kRetryablePayload).has_value()) return last;
  }
  return last;
}

}  // namespace gennaker::pg
