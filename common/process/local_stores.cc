#include "common/process/local_stores.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/pg/pg.h"
#include "common/process/process.h"
#include "common/redis/redis.h"
#include "common/status/status_macros.h"

namespace gennaker::process {
namespace {

constexpr char kPostgresUser[] = "postgres";

std::string RunAsForPostgres() { return geteuid() == 0 ? kPostgresUser : ""; }

}  // namespace

absl::StatusOr<std::string> PostgresBinDir() {
  std::string best;
  int best_version = 0;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    int v = 0;
    if (absl::SimpleAtoi(e.path().filename().string(), &v) &&
        v > best_version &&
        std::filesystem::exists(e.path() / "bin" / "postgres")) {
      best_version = v;
      best = (e.path() / "bin").string();
    }
  }
  if (best.empty()) {
    return absl::NotFoundError(
        "PostgreSQL server not found under /usr/lib/postgresql (apt-get "
        "install postgresql)");
  }
  return best;
}

std::string LocalPostgresDsn(int port, const std::string& dbname) {
  return absl::StrCat("host=127.0.0.1 port=", port, " dbname=", dbname,
                      " user=postgres");
}

absl::StatusOr<LocalServer> StartLocalPostgres(
    const LocalPostgresOptions& options) {
  GENNAKER_ASSIGN_OR_RETURN(std::string bin, PostgresBinDir());
  const std::string run_as = RunAsForPostgres();
  const std::string dir = options.data_dir;
  std::string log = options.log_file.empty() ? dir + ".log" : options.log_file;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "PG_VERSION")) {
    GENNAKER_RETURN_IF_ERROR(MakeDirs(dir));
    if (!run_as.empty()) GENNAKER_RETURN_IF_ERROR(ChownTo(dir, run_as));
    SpawnOptions init;
    init.argv = {bin + "/initdb", "-D", dir,    "-U",        kPostgresUser,
                 "--auth=trust",  "-E", "UTF8", "--locale=C"};
    if (!options.durable) init.argv.push_back("--no-sync");
    init.log_file = log;
    init.run_as = run_as;
    GENNAKER_ASSIGN_OR_RETURN(int rc, Run(init));
    if (rc != 0) {
      return absl::InternalError(
          absl::StrCat("initdb failed (exit ", rc, "); see ", log));
    }
  }
  int port = options.port;
  if (port == 0) {
    GENNAKER_ASSIGN_OR_RETURN(port, FreePort());
  }
  SpawnOptions run;
  run.argv = {bin + "/postgres",
              "-D",
              dir,
              "-p",
              std::to_string(port),
              "-c",
              "listen_addresses=127.0.0.1",
              "-c",
              "unix_socket_directories=",
              "-c",
              "max_connections=200"};
  if (!options.durable) {
    for (const char* o :
         {"fsync=off", "synchronous_commit=off", "full_page_writes=off"}) {
      run.argv.push_back("-c");
      run.argv.push_back(o);
    }
  }
  run.log_file = log;
  run.run_as = run_as;
  run.new_session = options.detach;
  run.die_with_parent = !options.detach;
  GENNAKER_ASSIGN_OR_RETURN(pid_t pid, Spawn(run));
  std::string dsn = LocalPostgresDsn(port, "postgres") + " connect_timeout=2";
  absl::Time deadline = absl::Now() + options.start_timeout;
  while (PQping(dsn.c_str()) != PQPING_OK) {
    if (!IsAlive(pid)) {
      return absl::InternalError(
          absl::StrCat("postgres exited at start-up; see ", log));
    }
    if (absl::Now() > deadline) {
      (void)Terminate(pid, absl::Seconds(5));
      return absl::DeadlineExceededError(
          absl::StrCat("postgres did not start; see ", log));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return LocalServer{pid, port};
}

absl::Status EnsureDatabase(int port, const std::string& dbname) {
  GENNAKER_ASSIGN_OR_RETURN(
      auto conn, pg::Connection::Open(LocalPostgresDsn(port, "postgres"), 5));
  GENNAKER_ASSIGN_OR_RETURN(
      auto r,
      conn->Exec("SELECT 1 FROM pg_database WHERE datname = $1", {dbname}));
  if (r.rows() > 0) return absl::OkStatus();
  // Identifiers cannot be parameters; the name is checked to be a plain
  // identifier.
  for (char c : dbname) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return absl::InvalidArgumentError("database name must be [A-Za-z0-9_]+");
    }
  }
  return conn->ExecScript(absl::StrCat("CREATE DATABASE ", dbname));
}

absl::StatusOr<LocalServer> StartLocalRedis(const LocalRedisOptions& options) {
  GENNAKER_RETURN_IF_ERROR(MakeDirs(options.data_dir));
  int port = options.port;
  if (port == 0) {
    GENNAKER_ASSIGN_OR_RETURN(port, FreePort());
  }
  std::string log = options.log_file.empty() ? options.data_dir + "/redis.log"
                                             : options.log_file;
  SpawnOptions run;
  run.argv = {"/usr/bin/redis-server",
              "--port",
              std::to_string(port),
              "--bind",
              "127.0.0.1",
              "--save",
              "",
              "--appendonly",
              "no",
              "--dir",
              options.data_dir,
              "--daemonize",
              "no",
              "--protected-mode",
              "yes"};
  run.log_file = log;
  run.new_session = options.detach;
  run.die_with_parent = !options.detach;
  GENNAKER_ASSIGN_OR_RETURN(pid_t pid, Spawn(run));
  redis::Options ro;
  ro.port = port;
  ro.timeout_ms = 500;
  absl::Time deadline = absl::Now() + options.start_timeout;
  while (true) {
    auto client = redis::Client::Connect(ro);
    if (client.ok() && (*client)->Command({"PING"}).ok()) break;
    if (!IsAlive(pid)) {
      return absl::InternalError(
          absl::StrCat("redis-server exited at start-up; see ", log));
    }
    if (absl::Now() > deadline) {
      (void)Terminate(pid, absl::Seconds(5));
      return absl::DeadlineExceededError(
          absl::StrCat("redis did not start; see ", log));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return LocalServer{pid, port};
}

}  // namespace gennaker::process
