#include "services/halyard/deployer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/grpc/health_client.h"
#include "common/log/logging.h"
#include "common/process/local_stores.h"
#include "common/process/process.h"
#include "common/service/defaults.h"
#include "common/status/status_macros.h"
#include "nlohmann/json.hpp"
#include "services/halyard/halconfig.h"
#include "services/halyard/render.h"

namespace gennaker::halyard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kDatabase[] = "gennaker";

std::string RecordPath(const std::string& state_dir) {
  return state_dir + "/run/deployment.json";
}

json ToJson(const ProcessRecord& r) {
  return {{"pid", r.pid},
          {"host", r.host},
          {"grpcPort", r.grpc_port},
          {"adminPort", r.admin_port},
          {"httpPort", r.http_port},
          {"configHash", r.config_hash},
          {"startedAtMs", r.started_at_ms},
          {"marker", r.marker}};
}

ProcessRecord FromJson(const json& j) {
  ProcessRecord r;
  r.pid = j.value("pid", 0);
  r.host = j.value("host", "127.0.0.1");
  r.grpc_port = j.value("grpcPort", 0);
  r.admin_port = j.value("adminPort", 0);
  r.http_port = j.value("httpPort", 0);
  r.config_hash = j.value("configHash", "");
  r.started_at_ms = j.value("startedAtMs", int64_t{0});
  r.marker = j.value("marker", "");
  return r;
}

// FNV-1a: stable across runs and builds, unlike std::hash.
std::string Hash(absl::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", h);
}

// Identifies a binary build, so that an upgraded binary counts as a change.
std::string BinaryStamp(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "missing";
  return absl::StrCat(st.st_size, ":", st.st_mtim.tv_sec, ".",
                      st.st_mtim.tv_nsec);
}

std::string Tail(const std::string& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  std::string line;
  while (std::getline(in, line)) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines
                                                          : 0;
       i < all.size(); ++i) {
    absl::StrAppend(&out, "    ", RedactSecrets(all[i]), "\n");
  }
  return out;
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

bool Running(const ProcessRecord& record) {
  if (!process::IsAlive(record.pid)) return false;
  std::ifstream in(absl::StrCat("/proc/", record.pid, "/cmdline"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string cmdline = buffer.str();
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  return cmdline.find(record.marker) != std::string::npos;
}

// Stops a recorded process if it is still ours.
absl::Status Stop(const ProcessRecord& record, absl::Duration grace) {
  if (!Running(record)) return absl::OkStatus();
  return process::Terminate(record.pid, grace);
}

std::string GateUrl(const v1::Halconfig& config) {
  const v1::ServiceSettings& gate = Settings(config, "gate");
  return absl::StrCat("http://", gate.host(), ":", gate.http_port());
}

absl::StatusOr<DeploymentRecord> ReadRecord(const std::string& state_dir) {
  DeploymentRecord record;
  std::ifstream in(RecordPath(state_dir));
  if (!in) return record;  // nothing deployed yet
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(
        absl::StrCat(RecordPath(state_dir), " is not valid JSON"));
  }
  record.deployment = j.value("deployment", "");
  record.version = j.value("version", "");
  if (j.contains("postgres")) record.postgres = FromJson(j["postgres"]);
  if (j.contains("redis")) record.redis = FromJson(j["redis"]);
  if (j.contains("services") && j["services"].is_object()) {
    for (const auto& [name, s] : j["services"].items())
      record.services[name] = FromJson(s);
  }
  return record;
}

absl::Status WriteRecord(const std::string& state_dir,
                         const DeploymentRecord& record) {
  json j = {{"deployment", record.deployment},
            {"version", record.version},
            {"postgres", ToJson(record.postgres)},
            {"redis", ToJson(record.redis)},
            {"services", json::object()}};
  for (const auto& [name, s] : record.services) j["services"][name] = ToJson(s);
  GENNAKER_RETURN_IF_ERROR(process::MakeDirs(state_dir + "/run"));
  std::string path = RecordPath(state_dir);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out.good()) return absl::InternalError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", ec.message()));
  return absl::OkStatus();
}

LocalDeployer::LocalDeployer(std::string halconfig_path, Progress progress)
    : halconfig_path_(std::move(halconfig_path)),
      progress_(std::move(progress)) {}

std::string LocalDeployer::BinDir(const v1::Halconfig& config) const {
  if (!config.bin_dir().empty()) return ExpandHome(config.bin_dir());
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "." : self.parent_path().string();
}

absl::Status LocalDeployer::EnsureStores(const v1::Halconfig& config,
                                         DeploymentRecord* record,
                                         std::string* dsn,
                                         std::string* redis_url) {
  const auto& storage = config.storage();
  if (storage.mode() == v1::STORAGE_MODE_EXTERNAL) {
    *dsn = storage.postgres().dsn();
    *redis_url = storage.redis().url();
    progress_("storage: external PostgreSQL and Redis");
    return absl::OkStatus();
  }
  const std::string state = ExpandHome(config.state_dir());
  // PostgreSQL.
  int pg_port = storage.postgres().port();
  if (Running(record->postgres) && record->postgres.grpc_port == pg_port) {
    progress_(absl::StrCat("postgres: running (pid ", record->postgres.pid,
                           ", port ", pg_port, ")"));
  } else {
    GENNAKER_RETURN_IF_ERROR(Stop(record->postgres, absl::Seconds(30)));
    progress_(
        absl::StrCat("postgres: starting on 127.0.0.1:", pg_port, " ..."));
    process::LocalPostgresOptions o;
    o.data_dir = state + "/data/postgres";
    o.log_file = state + "/logs/postgres.log";
    o.port = pg_port;
    GENNAKER_ASSIGN_OR_RETURN(process::LocalServer pg,
                              process::StartLocalPostgres(o));
    record->postgres = ProcessRecord{pg.pid, "127.0.0.1", pg.port, 0,
                                     0,      "",          NowMs(), o.data_dir};
    GENNAKER_RETURN_IF_ERROR(WriteRecord(state, *record));
    progress_(absl::StrCat("postgres: ready (pid ", pg.pid, ")"));
  }
  GENNAKER_RETURN_IF_ERROR(process::EnsureDatabase(pg_port, kDatabase));
  *dsn = process::LocalPostgresDsn(pg_port, kDatabase);
  // Redis.
  int redis_port = storage.redis().port();
  if (Running(record->redis) && record->redis.grpc_port == redis_port) {
    progress_(absl::StrCat("redis: running (pid ", record->redis.pid, ", port ",
                           redis_port, ")"));
  } else {
    GENNAKER_RETURN_IF_ERROR(Stop(record->redis, absl::Seconds(10)));
    process::LocalRedisOptions o;
    o.data_dir = state + "/data/redis";
    o.log_file = state + "/logs/redis.log";
    o.port = redis_port;
    GENNAKER_ASSIGN_OR_RETURN(process::LocalServer redis,
                              process::StartLocalRedis(o));
    record->redis = ProcessRecord{
        redis.pid, "127.0.0.1", redis.port, 0,
        0,         "",          NowMs(),    absl::StrCat(":", redis.port)};
    GENNAKER_RETURN_IF_ERROR(WriteRecord(state, *record));
    progress_(absl::StrCat("redis: ready on 127.0.0.1:", redis_port, " (pid ",
                           redis.pid, ")"));
  }
  *redis_url = absl::StrCat("redis://127.0.0.1:", redis_port);
  return absl::OkStatus();
}

absl::StatusOr<v1::ApplyDeploymentResponse> LocalDeployer::Apply(
    const v1::Halconfig& config, const std::vector<std::string>& only) {
  GENNAKER_RETURN_IF_ERROR(ValidateStatus(config));
  const std::string state = ExpandHome(config.state_dir());
  const std::string bin = BinDir(config);
  for (absl::string_view name : kServiceNames) {
    std::string path = absl::StrCat(bin, "/", name);
    if (Enabled(config, name) && access(path.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "service binary ", path, " not found (set binDir in the halconfig)"));
    }
  }
  for (const char* dir : {"/config", "/logs", "/run", "/data"}) {
    GENNAKER_RETURN_IF_ERROR(process::MakeDirs(state + dir));
  }
  GENNAKER_ASSIGN_OR_RETURN(DeploymentRecord record, ReadRecord(state));
  record.deployment = config.name();
  record.version = config.version();

  std::string dsn, redis_url;
  GENNAKER_RETURN_IF_ERROR(EnsureStores(config, &record, &dsn, &redis_url));
  GENNAKER_ASSIGN_OR_RETURN(
      auto rendered,
      RenderServiceConfigs(config, {dsn, redis_url}, halconfig_path_));

  v1::ApplyDeploymentResponse response;
  const int total = static_cast<int>(rendered.size());
  int index = 0;
  for (absl::string_view name_view : kServiceNames) {
    std::string name(name_view);
    if (!Enabled(config, name)) {
      auto it = record.services.find(name);
      if (it != record.services.end()) {
        progress_(
            absl::StrCat(name, ": disabled, stopping pid ", it->second.pid));
        GENNAKER_RETURN_IF_ERROR(Stop(it->second, absl::Seconds(15)));
        record.services.erase(it);
        GENNAKER_RETURN_IF_ERROR(WriteRecord(state, record));
      }
      continue;
    }
    ++index;
    std::string prefix = absl::StrFormat("[%2d/%d] %-12s", index, total, name);
    const std::string binary = absl::StrCat(bin, "/", name);
    const std::string& yaml = rendered[name];
    const std::string hash =
        Hash(absl::StrCat(yaml, "\n", binary, "@", BinaryStamp(binary)));
    const v1::ServiceSettings& s = Settings(config, name);
    auto existing = record.services.find(name);
    bool running =
        existing != record.services.end() && Running(existing->second);
    bool selected =
        only.empty() || std::find(only.begin(), only.end(), name) != only.end();
    if (running && (existing->second.config_hash == hash || !selected)) {
      progress_(
          absl::StrCat(prefix, " unchanged (pid ", existing->second.pid, ")"));
      response.add_unchanged(name);
      continue;
    }
    if (!selected && !running) {
      progress_(absl::StrCat(prefix,
                             " not running, skipped (not in --service-names)"));
      continue;
    }
    if (running) {
      progress_(absl::StrCat(prefix, " config changed: stopping pid ",
                             existing->second.pid));
      GENNAKER_RETURN_IF_ERROR(Stop(existing->second, absl::Seconds(15)));
    }
    const std::string config_file =
        absl::StrCat(state, "/config/", name, ".yml");
    // It may hold a DSN with a password.
    GENNAKER_RETURN_IF_ERROR(process::WritePrivateFile(config_file, yaml));
    process::SpawnOptions spawn;
    spawn.argv = {binary};
    if (name == "halyard") spawn.argv.push_back("serve");
    spawn.argv.push_back("--config");
    spawn.argv.push_back(config_file);
    spawn.log_file = absl::StrCat(state, "/logs/", name, ".log");
    auto start = std::chrono::steady_clock::now();
    GENNAKER_ASSIGN_OR_RETURN(pid_t pid, process::Spawn(spawn));
    ProcessRecord rec{pid,           s.host(), s.grpc_port(), s.admin_port(),
                      s.http_port(), hash,     NowMs(),       config_file};
    record.services[name] = rec;
    GENNAKER_RETURN_IF_ERROR(WriteRecord(state, record));
    const std::string address = absl::StrCat(s.host(), ":", s.grpc_port());
    auto deadline =
        start + std::chrono::seconds(config.start_timeout_seconds());
    while (true) {
      auto serving = CheckServing(address, std::chrono::milliseconds(500));
      if (serving.ok() && *serving) break;
      if (!process::IsAlive(pid)) {
        record.services.erase(name);
        (void)WriteRecord(state, record);
        return absl::FailedPreconditionError(
            absl::StrCat(name, " exited during start-up; last lines of ",
                         spawn.log_file, ":\n", Tail(spawn.log_file, 15)));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            name, " did not report SERVING on ", address, " within ",
            config.start_timeout_seconds(), " s; see ", spawn.log_file));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    progress_(absl::StrCat(prefix, " SERVING on ", address, " (pid ", pid, ", ",
                           ms, " ms)"));
    response.add_restarted(name);
  }
  // Keep a copy of every applied config, for the record and for rollback.
  GENNAKER_RETURN_IF_ERROR(process::MakeDirs(state + "/history"));
  std::error_code ec;
  fs::copy_file(halconfig_path_,
                absl::StrCat(state, "/history/", NowMs(), ".yml"),
                fs::copy_options::overwrite_existing, ec);
  return response;
}

absl::StatusOr<v1::GetDeploymentStatusResponse> LocalDeployer::Status(
    const v1::Halconfig& config) const {
  const std::string state = ExpandHome(config.state_dir());
  GENNAKER_ASSIGN_OR_RETURN(DeploymentRecord record, ReadRecord(state));
  v1::GetDeploymentStatusResponse response;
  response.set_deployment(config.name());
  response.set_gate_url(GateUrl(config));
  for (absl::string_view name_view : kServiceNames) {
    std::string name(name_view);
    v1::ServiceStatus* st = response.add_services();
    st->set_name(name);
    auto it = record.services.find(name);
    if (it == record.services.end()) {
      st->set_health(Enabled(config, name) ? v1::SERVICE_HEALTH_DOWN
                                           : v1::SERVICE_HEALTH_DISABLED);
      continue;
    }
    const ProcessRecord& r = it->second;
    st->set_pid(r.pid);
    st->set_grpc_address(absl::StrCat(r.host, ":", r.grpc_port));
    st->set_admin_port(r.admin_port);
    st->set_http_port(r.http_port);
    st->set_config_hash(r.config_hash);
    st->set_started_at_ms(r.started_at_ms);
    st->set_version(record.version);
    if (!Running(r)) {
      st->set_health(v1::SERVICE_HEALTH_DOWN);
      continue;
    }
    auto serving =
        CheckServing(st->grpc_address(), std::chrono::milliseconds(1000));
    st->set_health(serving.ok() && *serving ? v1::SERVICE_HEALTH_SERVING
                                            : v1::SERVICE_HEALTH_NOT_SERVING);
  }
  return response;
}

absl::Status LocalDeployer::Clean(const v1::Halconfig& config,
                                  bool delete_data) {
  const std::string state = ExpandHome(config.state_dir());
  GENNAKER_ASSIGN_OR_RETURN(DeploymentRecord record, ReadRecord(state));
  for (auto it = kServiceNames.rbegin(); it != kServiceNames.rend(); ++it) {
    auto found = record.services.find(std::string(*it));
    if (found == record.services.end()) continue;
    progress_(absl::StrCat(*it, ": stopping pid ", found->second.pid));
    GENNAKER_RETURN_IF_ERROR(Stop(found->second, absl::Seconds(15)));
    record.services.erase(found);
    GENNAKER_RETURN_IF_ERROR(WriteRecord(state, record));
  }
  for (ProcessRecord* store : {&record.redis, &record.postgres}) {
    if (store->pid == 0) continue;
    progress_(absl::StrCat(store == &record.redis ? "redis" : "postgres",
                           ": stopping pid ", store->pid));
    GENNAKER_RETURN_IF_ERROR(Stop(*store, absl::Seconds(30)));
    *store = ProcessRecord{};
    GENNAKER_RETURN_IF_ERROR(WriteRecord(state, record));
  }
  std::error_code ec;
  fs::remove(RecordPath(state), ec);
  if (delete_data) {
    fs::remove_all(state + "/data", ec);
    progress_("deleted " + state + "/data");
  }
  return absl::OkStatus();
}

}  // namespace gennaker::halyard
