// PostgreSQL access on libpq: a connection, a fixed-size pool, and
// transactions.
//
//   GENNAKER_ASSIGN_OR_RETURN(auto pool, pg::Pool::Create({.dsn = dsn, .size =
//   4})); GENNAKER_RETURN_IF_ERROR(pool->Transact([&](pg::Connection& c) ->
//   absl::Status {
//     GENNAKER_ASSIGN_OR_RETURN(auto r, c.Exec("SELECT $1::int", {"42"}));
//     ...
//   }));
//
// Errors come back as absl::Status: unreachable server UNAVAILABLE, unique
// violation ALREADY_EXISTS, serialization failure/deadlock ABORTED, other SQL
// errors INTERNAL or INVALID_ARGUMENT. The DSN's password never appears in
// messages. Pool is thread-safe; a Connection is used by one thread at a time.
#ifndef GENNAKER_COMMON_PG_PG_H_
#define GENNAKER_COMMON_PG_PG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct pg_conn;
struct pg_result;

namespace gennaker::pg {

// A query parameter: text form, or NULL.
using Param = std::optional<std::string>;

// The rows of a query. Values are text (libpq text format).
class Result {
 public:
  explicit Result(pg_result* result);
  ~Result();
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;

  int rows() const;
  int columns() const;
  bool IsNull(int row, int col) const;
  absl::string_view Get(int row, int col) const;
  int64_t GetInt(int row, int col) const;
  // Rows changed by INSERT/UPDATE/DELETE.
  int64_t AffectedRows() const;

 private:
  pg_result* result_;
};

class Connection {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& dsn, int connect_timeout_seconds);
  ~Connection();

  // Runs one statement with $1..$n parameters.
  absl::StatusOr<Result> Exec(absl::string_view sql,
                              const std::vector<Param>& params = {});
  // Runs a script of several statements (no parameters), e.g. a migration.
  absl::Status ExecScript(absl::string_view sql);
  // True when the connection is usable.
  bool healthy() const;
  // Re-establishes a broken connection.
  absl::Status Reset();

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  pg_conn* conn_;
};

struct PoolOptions {
  std::string dsn;
  int size = 4;
  int connect_timeout_seconds = 5;
  absl::Duration acquire_timeout = absl::Seconds(10);
};

class Pool {
 public:
  // Opens every connection now, so a bad DSN or unreachable server fails at
  // start-up.
  static absl::StatusOr<std::unique_ptr<Pool>> Create(
      const PoolOptions& options);
  ~Pool();

  // A connection borrowed from the pool, returned on destruction.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease();
    Connection* operator->() { return conn_.get(); }
    Connection& operator*() { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  absl::StatusOr<Lease> Acquire();

  // Runs `fn` inside BEGIN/COMMIT on one connection; rolls back when fn fails.
  // Retries the whole transaction up to `attempts` times when PostgreSQL aborts
  // it on a serialization failure or deadlock (other errors, ABORTED ones of
  // fn's own included, are returned at once), so `fn` must only touch the
  // database.
  absl::Status Transact(const std::function<absl::Status(Connection&)>& fn,
                        int attempts = 3);

 private:
  explicit Pool(PoolOptions options) : options_(std::move(options)) {}
  void Release(std::unique_ptr<Connection> conn);

  const PoolOptions options_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::pg

#endif  // GENNAKER_COMMON_PG_PG_H_
