#include "common/process/local_stores.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "common/pg/pg.h"
#include "common/process/process.h"
#include "common/redis/redis.h"
#include "common/status/status_macros.h"

namespace gennaker::process {
namespace {

namespace fs = std::filesystem;

constexpr char kPostgresUser[] = "postgres";

// Client authentication of a server with a password: TCP only (no Unix
// sockets are opened), every role authenticates with scram-sha-256.
constexpr char kPasswordHba[] =
    "# Written by gennaker: every connection authenticates with a password\n"
    "# (scram-sha-256); the server opens no Unix sockets.\n"
    "host all all 127.0.0.1/32 scram-sha-256\n"
    "host all all ::1/128 scram-sha-256\n";

std::string RunAsForPostgres() { return geteuid() == 0 ? kPostgresUser : ""; }

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Passwords are embedded in SQL and config files: letters and digits only,
// which every generated secret is.
absl::Status CheckPassword(const std::string& password) {
  if (password.empty()) return absl::InvalidArgumentError("empty password");
  for (char c : password) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          "a store password must be letters and digits only");
    }
  }
  return absl::OkStatus();
}

// Direct children of `pid` (from /proc).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    int64_t child = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &child)) continue;
    std::string stat = ReadWhole(entry.path().string() + "/stat");
    auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) continue;
    // After ")": state, then ppid.
    std::istringstream fields(stat.substr(close_paren + 1));
    std::string state;
    int64_t ppid = 0;
    if (fields >> state >> ppid && ppid == pid) {
      out.push_back(static_cast<pid_t>(child));
    }
  }
  return out;
}

// Gives one file (not a tree) to `user`.
absl::Status GiveFile(const std::string& path, const std::string& user) {
  passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) return absl::NotFoundError("no such user: " + user);
  if (lchown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    return absl::InternalError(
        absl::StrCat("chown ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

bool WaitGone(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (IsAlive(pid)) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> PostgresBinDir() {
  std::string best;
  int best_version = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int v = 0;
    if (absl::SimpleAtoi(e.path().filename().string(), &v) &&
        v > best_version && fs::exists(e.path() / "bin" / "postgres")) {
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

std::string LocalPostgresDsn(int port, const std::string& dbname,
                             const std::string& password) {
  std::string dsn = absl::StrCat("host=127.0.0.1 port=", port,
                                 " dbname=", dbname, " user=postgres");
  if (!password.empty()) absl::StrAppend(&dsn, " password=", password);
  return dsn;
}

absl::StatusOr<LocalServer> StartLocalPostgres(
    const LocalPostgresOptions& options) {
  if (!options.password.empty()) {
    GENNAKER_RETURN_IF_ERROR(CheckPassword(options.password));
  }
  GENNAKER_ASSIGN_OR_RETURN(std::string bin, PostgresBinDir());
  const std::string run_as = RunAsForPostgres();
  const std::string dir = options.data_dir;
  std::string log = options.log_file.empty() ? dir + ".log" : options.log_file;
  if (!fs::exists(fs::path(dir) / "PG_VERSION")) {
    GENNAKER_RETURN_IF_ERROR(MakeDirs(dir));
    if (!run_as.empty()) GENNAKER_RETURN_IF_ERROR(ChownTo(dir, run_as));
    SpawnOptions init;
    init.argv = {bin + "/initdb", "-D", dir,    "-U",
                 kPostgresUser,   "-E", "UTF8", "--locale=C"};
    // initdb reads the superuser's password from a file, so that it never
    // shows on a command line.
    const std::string pwfile = dir + ".pwfile";
    if (options.password.empty()) {
      init.argv.push_back("--auth=trust");
    } else {
      GENNAKER_RETURN_IF_ERROR(WritePrivateFile(pwfile, options.password));
      if (!run_as.empty()) GENNAKER_RETURN_IF_ERROR(GiveFile(pwfile, run_as));
      init.argv.push_back("--auth=scram-sha-256");
      init.argv.push_back("--pwfile=" + pwfile);
    }
    if (!options.durable) init.argv.push_back("--no-sync");
    init.log_file = log;
    init.run_as = run_as;
    absl::StatusOr<int> rc = Run(init);
    std::error_code ec;
    fs::remove(pwfile, ec);
    if (!rc.ok()) return rc.status();
    if (*rc != 0) {
      return absl::InternalError(
          absl::StrCat("initdb failed (exit ", *rc, "); see ", log));
    }
    if (!options.password.empty()) {
      GENNAKER_RETURN_IF_ERROR(WritePrivateFile(
          (fs::path(dir) / "pg_hba.conf").string(), kPasswordHba));
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
  // A ping needs no password: an authentication failure still means "up".
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
  if (!options.password.empty()) {
    absl::Status secured = RequirePostgresPassword(port, options.password);
    if (!secured.ok()) {
      (void)StopLocalPostgres(dir, absl::Seconds(10));
      (void)Terminate(pid, absl::Seconds(5));
      return secured;
    }
  }
  return LocalServer{pid, port};
}

namespace {

// The scram-sha-256 verifier of `password` for the `postgres` role, as a
// quoted SQL literal, computed by libpq on a connection to the server (`dsn`).
absl::StatusOr<std::string> ScramVerifierLiteral(const std::string& dsn,
                                                 const std::string& password) {
  PGconn* raw = PQconnectdb(absl::StrCat(dsn, " connect_timeout=5").c_str());
  if (raw == nullptr || PQstatus(raw) != CONNECTION_OK) {
    std::string message = raw ? PQerrorMessage(raw) : "out of memory";
    if (raw != nullptr) PQfinish(raw);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL: ", message));
  }
  char* verifier =
      PQencryptPasswordConn(raw, password.c_str(), "postgres", "scram-sha-256");
  if (verifier == nullptr) {
    std::string message = PQerrorMessage(raw);
    PQfinish(raw);
    return absl::InternalError(
        absl::StrCat("cannot compute the SCRAM verifier: ", message));
  }
  char* literal = PQescapeLiteral(raw, verifier, strlen(verifier));
  PQfreemem(verifier);
  if (literal == nullptr) {
    std::string message = PQerrorMessage(raw);
    PQfinish(raw);
    return absl::InternalError(
        absl::StrCat("cannot quote the SCRAM verifier: ", message));
  }
  std::string out(literal);
  PQfreemem(literal);
  PQfinish(raw);
  return out;
}

}  // namespace

absl::Status RequirePostgresPassword(int port, const std::string& password) {
  GENNAKER_RETURN_IF_ERROR(CheckPassword(password));
  auto conn =
      pg::Connection::Open(LocalPostgresDsn(port, "postgres", password), 5);
  const bool with_password = conn.ok();
  if (!conn.ok()) {
    // A server created before it had a password still trusts.
    conn = pg::Connection::Open(LocalPostgresDsn(port, "postgres"), 5);
  }
  if (!conn.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot log in to PostgreSQL on 127.0.0.1:", port,
                     " with the deployment's password, nor without one: ",
                     conn.status().message()));
  }
  GENNAKER_ASSIGN_OR_RETURN(auto hba, (*conn)->Exec("SHOW hba_file"));
  const std::string hba_file(hba.Get(0, 0));
  if (hba_file.empty()) return absl::InternalError("no hba_file");
  // Logging in with the password proves it only when the server asks for it.
  if (with_password && ReadWhole(hba_file) == kPasswordHba) {
    return absl::OkStatus();
  }
  // Only the SCRAM verifier, computed here, reaches the server: the cleartext
  // password never appears in SQL, where the server could log it.
  GENNAKER_ASSIGN_OR_RETURN(
      std::string verifier_literal,
      ScramVerifierLiteral(with_password
                               ? LocalPostgresDsn(port, "postgres", password)
                               : LocalPostgresDsn(port, "postgres"),
                           password));
  GENNAKER_RETURN_IF_ERROR((*conn)->ExecScript(
      absl::StrCat("ALTER ROLE postgres WITH PASSWORD ", verifier_literal)));
  // The file keeps its owner (the server's user) when rewritten in place.
  GENNAKER_RETURN_IF_ERROR(WritePrivateFile(hba_file, kPasswordHba));
  GENNAKER_RETURN_IF_ERROR((*conn)->Exec("SELECT pg_reload_conf()").status());
  // The reload is asynchronous: done when a login without password fails.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (pg::Connection::Open(LocalPostgresDsn(port, "postgres"), 2).ok()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "PostgreSQL on 127.0.0.1:", port,
          " still accepts logins without a password after a reload"));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::OkStatus();
}

pid_t PostmasterPid(const std::string& data_dir) {
  std::ifstream in((fs::path(data_dir) / "postmaster.pid").string());
  std::string first;
  int64_t pid = 0;
  if (!std::getline(in, first) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(first), &pid) || pid <= 0 ||
      !IsAlive(static_cast<pid_t>(pid))) {
    return 0;
  }
  // A stale file may name a pid that now belongs to something else: the
  // postmaster works in its data directory.
  std::error_code ec;
  fs::path cwd = fs::read_symlink(absl::StrCat("/proc/", pid, "/cwd"), ec);
  if (!ec) {
    fs::path want = fs::weakly_canonical(data_dir, ec);
    return !ec && cwd == want ? static_cast<pid_t>(pid) : 0;
  }
  // Not allowed to look (another user's process): trust its name.
  std::string comm = ReadWhole(absl::StrCat("/proc/", pid, "/comm"));
  return comm.rfind("postgres", 0) == 0 ? static_cast<pid_t>(pid) : 0;
}

absl::Status StopLocalPostgres(const std::string& data_dir,
                               absl::Duration grace) {
  const pid_t pid = PostmasterPid(data_dir);
  if (pid == 0) return absl::OkStatus();
  // SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would wait for every
  // client to disconnect.
  if (kill(pid, SIGINT) != 0 && errno != ESRCH) {
    return absl::InternalError(
        absl::StrCat("cannot signal postgres pid ", pid, " on ", data_dir));
  }
  if (WaitGone(pid, grace)) return absl::OkStatus();
  std::vector<pid_t> backends = ChildrenOf(pid);
  kill(pid, SIGKILL);
  for (pid_t child : backends) kill(child, SIGKILL);
  bool gone = WaitGone(pid, absl::Seconds(5));
  for (pid_t child : backends) gone = WaitGone(child, absl::Seconds(2)) && gone;
  if (!gone) {
    return absl::InternalError(
        absl::StrCat("postgres pid ", pid, " on ", data_dir, " did not exit"));
  }
  return absl::OkStatus();
}

absl::Status EnsureDatabase(int port, const std::string& dbname,
                            const std::string& password) {
  GENNAKER_ASSIGN_OR_RETURN(
      auto conn,
      pg::Connection::Open(LocalPostgresDsn(port, "postgres", password), 5));
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

std::string LocalRedisUrl(int port, const std::string& password) {
  return password.empty()
             ? absl::StrCat("redis://127.0.0.1:", port)
             : absl::StrCat("redis://:", password, "@127.0.0.1:", port);
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
  run.argv = {"/usr/bin/redis-server"};
  if (!options.password.empty()) {
    GENNAKER_RETURN_IF_ERROR(CheckPassword(options.password));
    // A config file readable by us only: a command line is world-readable.
    const std::string conf = options.data_dir + "/redis.conf";
    GENNAKER_RETURN_IF_ERROR(WritePrivateFile(
        conf, absl::StrCat("requirepass ", options.password, "\n")));
    run.argv.push_back(conf);
  }
  for (const std::string& a :
       {std::string("--port"), std::to_string(port), std::string("--bind"),
        std::string("127.0.0.1"), std::string("--save"), std::string(""),
        std::string("--appendonly"), std::string("no"), std::string("--dir"),
        options.data_dir, std::string("--daemonize"), std::string("no"),
        std::string("--protected-mode"), std::string("yes")}) {
    run.argv.push_back(a);
  }
  run.log_file = log;
  run.new_session = options.detach;
  run.die_with_parent = !options.detach;
  GENNAKER_ASSIGN_OR_RETURN(pid_t pid, Spawn(run));
  redis::Options ro;
  ro.port = port;
  ro.password = options.password;
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

absl::Status RequireRedisPassword(int port, const std::string& password) {
  GENNAKER_RETURN_IF_ERROR(CheckPassword(password));
  redis::Options ro;
  ro.port = port;
  ro.password = password;
  ro.pool_size = 1;
  ro.timeout_ms = 2000;
  auto client = redis::Client::Connect(ro);
  if (client.ok() && (*client)->Command({"PING"}).ok()) return absl::OkStatus();
  // A server started before it had a password answers without AUTH.
  ro.password.clear();
  auto open = redis::Client::Connect(ro);
  if (!open.ok()) return open.status();
  absl::StatusOr<redis::Reply> set =
      (*open)->Command({"CONFIG", "SET", "requirepass", password});
  if (!set.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Redis on 127.0.0.1:", port,
        " refuses both the deployment's password and no password"));
  }
  return absl::OkStatus();
}

namespace {

constexpr char kPrometheusBinary[] = "/usr/bin/prometheus";

// A double-quoted YAML scalar (YAML's double-quoted escapes are JSON's).
std::string YamlQuoted(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Writes `text` to `path` through a temporary file and a rename, so that a
// running Prometheus never reads half a file.
absl::Status WriteReplacing(const std::string& path, const std::string& text) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace

std::string LocalPrometheusBinary(const LocalPrometheusOptions& options) {
  if (!options.binary.empty()) return options.binary;
  const char* env = std::getenv("GENNAKER_PROMETHEUS");
  return env != nullptr && *env != '\0' ? env : kPrometheusBinary;
}

std::string LocalPrometheusConfig(const LocalPrometheusOptions& options) {
  std::string files;
  for (const std::string& f : options.file_sd_paths) {
    absl::StrAppend(&files, files.empty() ? "" : ", ", YamlQuoted(f));
  }
  return absl::StrCat(
      "# Written by gennaker: one job scraping the file_sd targets below.\n"
      "global:\n  scrape_interval: ",
      YamlQuoted(options.scrape_interval),
      "\n  scrape_timeout: ", YamlQuoted(options.scrape_interval),
      "\n  evaluation_interval: ", YamlQuoted(options.scrape_interval),
      "\nscrape_configs:\n  - job_name: ", YamlQuoted(options.job_name),
      "\n    file_sd_configs:\n      - refresh_interval: ",
      YamlQuoted(options.file_sd_refresh_interval), "\n        files: [", files,
      "]\n");
}

bool PrometheusReady(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ready = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        "GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      std::string answer;
      char buf[256];
      ssize_t n;
      while (answer.find("\r\n") == std::string::npos &&
             (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        answer.append(buf, static_cast<size_t>(n));
      }
      // "HTTP/1.x 200 OK"
      ready = absl::StartsWith(answer, "HTTP/") &&
              answer.find(" 200 ") != std::string::npos &&
              answer.find(" 200 ") < answer.find("\r\n");
    }
  }
  close(fd);
  return ready;
}

absl::StatusOr<LocalServer> StartLocalPrometheus(
    const LocalPrometheusOptions& options) {
  const std::string binary = LocalPrometheusBinary(options);
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(binary,
                     " is not installed (scripts/install-deps.sh installs "
                     "Debian's prometheus)"));
  }
  const std::string dir = options.data_dir;
  GENNAKER_RETURN_IF_ERROR(MakeDirs(dir + "/tsdb"));
  const std::string config_path = dir + "/prometheus.yml";
  GENNAKER_RETURN_IF_ERROR(
      WriteReplacing(config_path, LocalPrometheusConfig(options)));
  int port = options.port;
  if (port == 0) {
    GENNAKER_ASSIGN_OR_RETURN(port, FreePort());
  }
  const std::string log =
      options.log_file.empty() ? dir + "/prometheus.log" : options.log_file;
  SpawnOptions run;
  run.argv = {binary, absl::StrCat("--config.file=", config_path),
              absl::StrCat("--storage.tsdb.path=", dir, "/tsdb"),
              absl::StrCat("--web.listen-address=127.0.0.1:", port),
              "--log.level=warn"};
  run.log_file = log;
  run.new_session = options.detach;
  run.die_with_parent = !options.detach;
  GENNAKER_ASSIGN_OR_RETURN(pid_t pid, Spawn(run));
  const absl::Time deadline = absl::Now() + options.start_timeout;
  while (!PrometheusReady(port)) {
    if (!IsAlive(pid)) {
      return absl::UnavailableError(
          absl::StrCat("prometheus exited at start-up; see ", log));
    }
    if (absl::Now() > deadline) {
      (void)Terminate(pid, absl::Seconds(5));
      return absl::UnavailableError(absl::StrCat(
          "prometheus did not become ready within ",
          absl::FormatDuration(options.start_timeout), "; see ", log));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return LocalServer{pid, port};
}

pid_t LocalPrometheusPid(const std::string& data_dir) {
  const std::string want =
      absl::StrCat("--storage.tsdb.path=", data_dir, "/tsdb");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    int64_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid) || pid <= 1 ||
        pid == getpid()) {
      continue;
    }
    const std::string cmdline = ReadWhole(entry.path().string() + "/cmdline");
    size_t start = 0;
    bool match = false;
    while (start < cmdline.size()) {
      size_t end = cmdline.find('\0', start);
      if (end == std::string::npos) end = cmdline.size();
      if (cmdline.compare(start, end - start, want) == 0) match = true;
      start = end + 1;
    }
    if (match && IsAlive(static_cast<pid_t>(pid))) {
      return static_cast<pid_t>(pid);
    }
  }
  return 0;
}

absl::Status StopLocalPrometheus(const std::string& data_dir,
                                 absl::Duration grace) {
  const pid_t pid = LocalPrometheusPid(data_dir);
  if (pid == 0) return absl::OkStatus();
  return Terminate(pid, grace);
}

}  // namespace gennaker::process
