#include "common/testing/test_stores.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/process/local_stores.h"
#include "common/process/process.h"
#include "common/status/status_macros.h"

namespace gennaker::testing {

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(tmp ? tmp : "/tmp", "/gennaker-", prefix, "-XXXXXX");
  char* dir = mkdtemp(tmpl.data());
  if (dir == nullptr) std::abort();
  // Other users (postgres) must be able to traverse into it.
  std::filesystem::permissions(tmpl, std::filesystem::perms::owner_all |
                                         std::filesystem::perms::group_exec |
                                         std::filesystem::perms::others_exec);
  return tmpl;
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string BinDir() {
  const char* dir = std::getenv("GENNAKER_BIN_DIR");
  if (dir != nullptr) return dir;
  // The load drivers sit next to the service binaries (build/bin).
  std::error_code ec;
  std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "bin" : self.parent_path().string();
}

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string TestPostgres::Dsn(const std::string& db) const {
  return process::LocalPostgresDsn(port_, db);
}

absl::StatusOr<std::string> TestPostgres::CreateDatabase(
    const std::string& prefix) {
  std::string name = absl::StrCat(prefix, "_", getpid(), "_", next_db_++);
  GENNAKER_RETURN_IF_ERROR(process::EnsureDatabase(port_, name));
  return Dsn(name);
}

absl::StatusOr<std::unique_ptr<TestPostgres>> TestPostgres::Start(
    const std::string& prefix, bool durable) {
  auto pg = std::unique_ptr<TestPostgres>(new TestPostgres());
  pg->dir_ = MakeTempDir(prefix);
  process::LocalPostgresOptions o;
  o.data_dir = pg->dir_ + "/data";
  o.log_file = pg->dir_ + "/postgres.log";
  o.durable = durable;
  o.detach = false;
  // On failure the destructor removes the directory.
  GENNAKER_ASSIGN_OR_RETURN(process::LocalServer server,
                            process::StartLocalPostgres(o));
  pg->pid_ = server.pid;
  pg->port_ = server.port;
  return pg;
}

TestPostgres::~TestPostgres() {
  // A fast shutdown: clients still connected (a pool the caller has not closed
  // yet) must not hold the server up, and the server must be gone before its
  // files are removed.
  (void)process::StopLocalPostgres(dir_ + "/data", absl::Seconds(10));
  if (pid_ != 0) (void)process::Terminate(pid_, absl::Seconds(10));
  RemoveTree(dir_);
}

absl::StatusOr<TestPostgres*> SharedPostgres() {
  static absl::StatusOr<std::unique_ptr<TestPostgres>>* shared = [] {
    auto* result = new absl::StatusOr<std::unique_ptr<TestPostgres>>(
        TestPostgres::Start("pg", /*durable=*/false));
    // Stopped at exit, so no server outlives a test binary that ends normally.
    if (result->ok()) std::atexit([] { shared->value().reset(); });
    return result;
  }();
  if (!shared->ok()) return shared->status();
  return shared->value().get();
}

absl::StatusOr<std::unique_ptr<TestRedis>> TestRedis::Start() {
  auto r = std::unique_ptr<TestRedis>(new TestRedis());
  r->dir_ = MakeTempDir("redis");
  GENNAKER_RETURN_IF_ERROR(r->Restart());
  return r;
}

TestRedis::~TestRedis() {
  Stop();
  RemoveTree(dir_);
}

std::string TestRedis::Url() const {
  return absl::StrCat("redis://127.0.0.1:", port_);
}

void TestRedis::Stop() {
  if (pid_ != 0) (void)process::Terminate(pid_, absl::Seconds(5));
  pid_ = 0;
}

absl::Status TestRedis::Restart() {
  process::LocalRedisOptions o;
  o.data_dir = dir_;
  o.port = port_;
  o.detach = false;
  GENNAKER_ASSIGN_OR_RETURN(auto server, process::StartLocalRedis(o));
  pid_ = server.pid;
  port_ = server.port;
  return absl::OkStatus();
}

}  // namespace gennaker::testing
