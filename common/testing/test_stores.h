// Real PostgreSQL and Redis for tests and benches, on random loopback ports in
// throwaway directories. SharedPostgres() starts one server per test binary on
// first use and stops it (and removes its directory) at exit; the servers also
// die with the test process if it crashes. Every server here is stopped, and
// waited for, before its directory is removed, so nothing is left behind.
#ifndef GENNAKER_COMMON_TESTING_TEST_STORES_H_
#define GENNAKER_COMMON_TESTING_TEST_STORES_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace gennaker::testing {

// A fresh directory under $TMPDIR (or /tmp), removed by the caller (or
// RemoveTree).
std::string MakeTempDir(const std::string& prefix);
void RemoveTree(const std::string& path);

// Directory with the built binaries: $GENNAKER_BIN_DIR (ctest sets it), else
// the directory of the running program (the load drivers in build/bin).
std::string BinDir();

// A blocking TCP connection to 127.0.0.1:`port` (a raw client for tests that
// send bytes by hand), or -1 when the connect fails. The caller closes it.
int ConnectLoopback(int port);

class TestPostgres {
 public:
  // A server of the caller's own in a fresh directory named after `prefix`;
  // `durable` keeps fsync on (benches). Destroying it stops the server and
  // removes the directory.
  static absl::StatusOr<std::unique_ptr<TestPostgres>> Start(
      const std::string& prefix = "pg", bool durable = false);
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // The throwaway directory (the data directory is <dir>/data).
  const std::string& dir() const { return dir_; }
  // DSN of database `db` (created by CreateDatabase, or "postgres").
  std::string Dsn(const std::string& db = "postgres") const;
  // Creates a new, empty database with a unique name and returns its DSN.
  absl::StatusOr<std::string> CreateDatabase(const std::string& prefix = "t");
  ~TestPostgres();

 private:
  TestPostgres() = default;
  pid_t pid_ = 0;
  int port_ = 0;
  int next_db_ = 0;
  std::string dir_;
};

// The binary's PostgreSQL server (started on first call).
absl::StatusOr<TestPostgres*> SharedPostgres();

class TestRedis {
 public:
  static absl::StatusOr<std::unique_ptr<TestRedis>> Start();
  ~TestRedis();
  int port() const { return port_; }
  std::string Url() const;
  void Stop();
  // Starts again on the same port (after Stop), with empty data.
  absl::Status Restart();

 private:
  pid_t pid_ = 0;
  int port_ = 0;
  std::string dir_;
};

}  // namespace gennaker::testing

#endif  // GENNAKER_COMMON_TESTING_TEST_STORES_H_
