// Real PostgreSQL, Redis and Prometheus servers run as local child processes
// on loopback: halyard's "local managed" storage and metrics and the test
// fixtures use the same code.
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
#include <vector>

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

struct LocalPrometheusOptions {
  // Holds the generated prometheus.yml and the TSDB (<data_dir>/tsdb).
  std::string data_dir;
  std::string log_file;  // default <data_dir>/prometheus.log
  int port = 0;          // 0 picks a free port
  bool detach = true;
  absl::Duration start_timeout = absl::Seconds(30);
  // Prometheus duration text ("15s", "500ms"): scrape and evaluation interval.
  std::string scrape_interval = "15s";
  // How often the file_sd files are re-read besides file change events.
  std::string file_sd_refresh_interval = "30s";
  // One scrape job reading these Prometheus file_sd JSON files (absolute
  // paths; they need not exist yet).
  std::string job_name = "gennaker";
  std::vector<std::string> file_sd_paths;
  // The server binary; empty: $GENNAKER_PROMETHEUS or /usr/bin/prometheus.
  std::string binary;
};

// The prometheus.yml StartLocalPrometheus writes for `options`.
std::string LocalPrometheusConfig(const LocalPrometheusOptions& options);

// The binary StartLocalPrometheus runs for `options`.
std::string LocalPrometheusBinary(const LocalPrometheusOptions& options);

// Writes <data_dir>/prometheus.yml and starts Prometheus on 127.0.0.1:<port>
// with its TSDB under <data_dir>/tsdb; returns when /-/ready answers 200.
// FAILED_PRECONDITION when the binary is missing, UNAVAILABLE when the server
// exits or is not ready within start_timeout (it is then stopped).
absl::StatusOr<LocalServer> StartLocalPrometheus(
    const LocalPrometheusOptions& options);

// True when an HTTP GET of http://127.0.0.1:<port>/-/ready answers 200.
bool PrometheusReady(int port);

// The pid of a Prometheus server whose TSDB is <data_dir>/tsdb (found by its
// command line), whoever started it, or 0.
pid_t LocalPrometheusPid(const std::string& data_dir);

// Stops the Prometheus server running on `data_dir` (LocalPrometheusPid):
// SIGTERM, SIGKILL after `grace`. OK when none runs.
absl::Status StopLocalPrometheus(const std::string& data_dir,
                                 absl::Duration grace);

// Where the PostgreSQL server binaries are (the newest
// /usr/lib/postgresql/<v>/bin).
absl::StatusOr<std::string> PostgresBinDir();

}  // namespace gennaker::process

#endif  // GENNAKER_COMMON_PROCESS_LOCAL_STORES_H_
