// Real PostgreSQL and Redis servers run as local child processes on loopback:
// halyard's "local managed" storage and the test fixtures use the same code.
// PostgreSQL refuses to run as root, so when we are root it runs as the
// `postgres` user (the data directory is given to that user). Unix sockets are
// off: clients connect over TCP to 127.0.0.1:<port>.
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
};

// Initializes (if needed) and starts PostgreSQL; returns when it accepts
// connections. Stop it with Terminate(pid, ...).
struct LocalServer {
  pid_t pid = 0;
  int port = 0;
};
absl::StatusOr<LocalServer> StartLocalPostgres(
    const LocalPostgresOptions& options);

// A DSN for database `dbname` of a local server.
std::string LocalPostgresDsn(int port, const std::string& dbname);

// Creates database `dbname` unless it exists.
absl::Status EnsureDatabase(int port, const std::string& dbname);

struct LocalRedisOptions {
  std::string data_dir;  // working directory (no persistence is configured)
  std::string log_file;  // default <data_dir>/redis.log
  int port = 0;
  bool detach = true;
  absl::Duration start_timeout = absl::Seconds(20);
};

absl::StatusOr<LocalServer> StartLocalRedis(const LocalRedisOptions& options);

// Where the PostgreSQL server binaries are (the newest
// /usr/lib/postgresql/<v>/bin).
absl::StatusOr<std::string> PostgresBinDir();

}  // namespace gennaker::process

#endif  // GENNAKER_COMMON_PROCESS_LOCAL_STORES_H_
