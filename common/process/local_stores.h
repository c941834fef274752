// Real PostgreSQL and Redis servers run as local child processes on loopback:
// halyard's "local managed" storage and the test fixtures use the same code.
// PostgreSQL refuses to run as root, so when we are root it runs as the
// `postgres` user (the data directory is given to that user). Unix sockets are
// off and both listen on 127.0.0.1 only: clients connect over TCP to
// 127.0.0.1:<port>.
//
// With a password (halyard), PostgreSQL accepts only password-authenticated
// (scram-sha-256) connections of the `postgres` role and Redis requires AUTH;
// without one (tests, benches) every local connection is trusted.
#ifndef GENNAKER_COMMON_PROCESS_LOCAL_STORES_H_
#define GENNAKER_COMMON_PROCESS_LOCAL_STORES_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gennaker::process {

struct LocalPostgresOptions {
  std::string data_dir;  // created and initialized (initdb) when empty
  std::string log_file;  // server log; default <data_dir>.log
  int port = 0;          // 0 picks a free port
  bool durable = true;   // false: fsync off (tests)
  bool detach =
      true;  // true: survives us (halyard); false: dies with us (tests)
  absl::Duration start_timeout = absl::Seconds(60);
  // Password of the `postgres` role ([A-Za-z0-9]+). Empty: trust. Set: a new
  // data directory is created with it; an existing one (created trusting) is
  // switched to it at start (RequirePostgresPassword).
  std::string password;
};

// Initializes (if needed) and starts PostgreSQL; returns when it accepts
// connections. Stop it with StopLocalPostgres (or Terminate(pid, ...)).
struct LocalServer {
  pid_t pid = 0;
  int port = 0;
};
absl::StatusOr<LocalServer> StartLocalPostgres(
    const LocalPostgresOptions& options);

// A DSN for database `dbname` of a local server, as the `postgres` role
// (with `password` when not empty).
std::string LocalPostgresDsn(int port, const std::string& dbname,
                             const std::string& password = "");

// Creates database `dbname` unless it exists.
absl::Status EnsureDatabase(int port, const std::string& dbname,
                            const std::string& password = "");

// Makes the local server on `port` accept only connections that authenticate
// with `password`: sets it on the `postgres` role (connecting with it, or
// without a password while the server still trusts), replaces pg_hba.conf with
// password-only TCP rules and reloads. Nothing changes when that is already
// so. FAILED_PRECONDITION when neither way in works (a different password).
absl::Status RequirePostgresPassword(int port, const std::string& password);

// The pid of the postmaster running on `data_dir`, whoever started it (read
// from its postmaster.pid and checked against /proc), or 0.
pid_t PostmasterPid(const std::string& data_dir);

// Stops the PostgreSQL server running on `data_dir` (PostmasterPid), however it
// was started: a fast shutdown (open connections are closed, not waited for),
// then SIGKILL after `grace`. Returns when it and its backends are gone; OK
// when none runs.
absl::Status StopLocalPostgres(const std::string& data_dir,
                               absl::Duration grace);

struct LocalRedisOptions {
  std::string data_dir;  // working directory (no persistence is configured)
  std::string log_file;  // default <data_dir>/redis.log
  int port = 0;
  bool detach = true;
  absl::Duration start_timeout = absl::Seconds(20);
  // Required by AUTH when set ([A-Za-z0-9]+); given to the server in a 0600
  // file (<data_dir>/redis.conf), never on its command line.
  std::string password;
};

absl::StatusOr<LocalServer> StartLocalRedis(const LocalRedisOptions& options);

// Makes the running local Redis on `port` require `password` (CONFIG SET on a
// server started without one). Nothing changes when it already does.
absl::Status RequireRedisPassword(int port, const std::string& password);

// redis://[:password@]127.0.0.1:<port>
std::string LocalRedisUrl(int port, const std::string& password = "");

// Where the PostgreSQL server binaries are (the newest
// /usr/lib/postgresql/<v>/bin).
absl::StatusOr<std::string> PostgresBinDir();

}  // namespace gennaker::process

#endif  // GENNAKER_COMMON_PROCESS_LOCAL_STORES_H_
