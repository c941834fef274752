#include "services/halyard/deployer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/log/logging.h"
#include "common/process/local_stores.h"
#include "common/process/process.h"
#include "common/service/defaults.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"
#include "nlohmann/json.hpp"
#include "services/halyard/halconfig.h"
#include "services/halyard/render.h"
#include "services/halyard/secrets.h"

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
  r.pid = static_cast<int>(spinnaker::Int(j, "pid"));
  r.host = spinnaker::String(j, "host", "127.0.0.1");
  r.grpc_port = static_cast<int>(spinnaker::Int(j, "grpcPort"));
  r.admin_port = static_cast<int>(spinnaker::Int(j, "adminPort"));
  r.http_port = static_cast<int>(spinnaker::Int(j, "httpPort"));
  r.config_hash = spinnaker::String(j, "configHash");
  r.started_at_ms = spinnaker::Int(j, "startedAtMs");
  r.marker = spinnaker::String(j, "marker");
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

namespace {

// Where a managed store of the deployment in `state` keeps its data and log.
template <typename Options>
Options StoreOptions(const std::string& state, absl::string_view name,
                     int port) {
  Options o;
  o.data_dir = absl::StrCat(state, "/data/", name);
  o.log_file = absl::StrCat(state, "/logs/", name, ".log");
  o.port = port;
  return o;
}

// The record of a store server just started; `marker` is text of its command
// line.
ProcessRecord StoreRecord(const process::LocalServer& server,
                          std::string marker) {
  ProcessRecord r;
  r.pid = server.pid;
  r.host = "127.0.0.1";
  r.grpc_port = server.port;
  r.started_at_ms = NowMs();
  r.marker = std::move(marker);
  return r;
}

// The store servers halyard runs for a LOCAL_MANAGED deployment.
enum class ManagedStore { kPostgres, kRedis };

// Keeps the recorded server of `store` when it still runs on `port` (making
// it require `password`); otherwise stops it, starts a new one and records it.
absl::Status EnsureStore(ManagedStore store, int port, const std::string& state,
                         const std::string& password,
                         const LocalDeployer::Progress& progress,
                         DeploymentRecord* record) {
  const bool postgres = store == ManagedStore::kPostgres;
  const char* name = postgres ? "postgres" : "redis";
  ProcessRecord* slot = postgres ? &record->postgres : &record->redis;
  if (Running(*slot) && slot->grpc_port == port) {
    progress(
        absl::StrCat(name, ": running (pid ", slot->pid, ", port ", port, ")"));
    // A store started before the deployment had passwords gets its password
    // now; the services' rendered configs change with it, so they restart.
    return postgres ? process::RequirePostgresPassword(port, password)
                    : process::RequireRedisPassword(port, password);
  }
  if (postgres) {
    auto o = StoreOptions<process::LocalPostgresOptions>(state, name, port);
    // Whatever runs on the data directory (the recorded server on another
    // port, or one started by hand) would keep the new server out; a fast
    // shutdown does not wait for its clients.
    GENNAKER_RETURN_IF_ERROR(
        process::StopLocalPostgres(o.data_dir, absl::Seconds(30)));
    GENNAKER_RETURN_IF_ERROR(Stop(*slot, absl::Seconds(30)));
    progress(absl::StrCat("postgres: starting on 127.0.0.1:", port, " ..."));
    o.password = password;
    GENNAKER_ASSIGN_OR_RETURN(process::LocalServer server,
                              process::StartLocalPostgres(o));
    *slot = StoreRecord(server, o.data_dir);
  } else {
    GENNAKER_RETURN_IF_ERROR(Stop(*slot, absl::Seconds(10)));
    auto o = StoreOptions<process::LocalRedisOptions>(state, name, port);
    o.password = password;
    GENNAKER_ASSIGN_OR_RETURN(process::LocalServer server,
                              process::StartLocalRedis(o));
    *slot = StoreRecord(server, absl::StrCat(":", server.port));
  }
  GENNAKER_RETURN_IF_ERROR(WriteRecord(state, *record));
  progress(postgres ? absl::StrCat("postgres: ready (pid ", slot->pid, ")")
                    : absl::StrCat("redis: ready on 127.0.0.1:", port, " (pid ",
                                   slot->pid, ")"));
  return absl::OkStatus();
}

std::string ReadProcFile(pid_t pid, const char* name) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/", name), std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// This process and its ancestors: never stopped, whatever directory they
// work in.
std::set<pid_t> SelfAndAncestors() {
  std::set<pid_t> out;
  for (pid_t pid = getpid(); pid > 1 && out.insert(pid).second;) {
    const std::string stat = ReadProcFile(pid, "stat");
    auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) break;
    std::istringstream fields(stat.substr(close_paren + 1));
    std::string state;
    int64_t ppid = 0;
    if (!(fields >> state >> ppid)) break;
    pid = static_cast<pid_t>(ppid);
  }
  return out;
}

// The executables the suite runs: the services' binaries in `bin_dir` and the
// store servers, with symlinks resolved (as /proc/<pid>/exe shows them).
std::set<std::string> SuiteExecutables(const std::string& bin_dir) {
  std::set<std::string> out;
  auto add = [&out](const std::string& path) {
    std::error_code ec;
    fs::path resolved = fs::weakly_canonical(path, ec);
    out.insert(ec ? path : resolved.string());
  };
  for (absl::string_view name : kServiceNames) {
    add(absl::StrCat(bin_dir, "/", name));
  }
  if (auto pg_bin = process::PostgresBinDir(); pg_bin.ok()) {
    add(*pg_bin + "/postgres");
  }
  add("/usr/bin/redis-server");  // where StartLocalRedis runs it from
  return out;
}

// True when `pid` runs one of `executables`, or a PostgreSQL or Redis server
// installed elsewhere.
bool RunsSuiteExecutable(pid_t pid, const std::set<std::string>& executables) {
  std::error_code ec;
  std::string exe =
      fs::read_symlink(absl::StrCat("/proc/", pid, "/exe"), ec).string();
  if (ec) return false;  // not ours to look at, so not ours to stop
  exe = std::string(absl::StripSuffix(exe, " (deleted)"));
  if (executables.count(exe) > 0) return true;
  const std::string base = fs::path(exe).filename().string();
  return base == "postgres" || base == "redis-server";
}

// Processes of the suite working on the deployment in `state` that no record
// names: they run a service binary of `bin_dir`, postgres or redis-server, and
// their working directory is under <state>/data (a store's data directory) or
// an argument is a path under <state>/config or <state>/data (a service's
// config file, a store's data directory). Anything else (an editor on a config
// file, a shell in a data directory, a reader of a log) is left alone.
std::map<pid_t, std::string> ProcessesOnState(const std::string& state,
                                              const std::string& bin_dir) {
  // The state directory as given and with symlinks resolved: command lines
  // hold the first, working directories the second.
  std::error_code ec;
  std::vector<std::string> roots = {std::string(absl::StripSuffix(state, "/"))};
  std::string canonical = fs::weakly_canonical(state, ec).string();
  if (!ec && canonical != roots[0]) roots.push_back(canonical);
  std::vector<std::string> data, config;
  for (const std::string& root : roots) {
    if (root.empty() || root == "/") return {};
    data.push_back(root + "/data/");
    config.push_back(root + "/config/");
  }
  auto under = [](absl::string_view path,
                  const std::vector<std::string>& prefixes) {
    for (const std::string& p : prefixes) {
      if (absl::StartsWith(path, p)) return true;
    }
    return false;
  };
  const std::set<pid_t> spared = SelfAndAncestors();
  const std::set<std::string> executables = SuiteExecutables(bin_dir);
  std::map<pid_t, std::string> out;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &n) || n <= 1) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(n);
    if (spared.count(pid) > 0 || !process::IsAlive(pid)) continue;
    std::string cmdline = ReadProcFile(pid, "cmdline");
    bool match = false;
    std::error_code cwd_ec;
    std::string cwd =
        fs::read_symlink(entry.path() / "cwd", cwd_ec).string() + "/";
    if (!cwd_ec && under(cwd, data)) match = true;
    for (absl::string_view arg : absl::StrSplit(cmdline, '\0')) {
      if (absl::StartsWith(arg, "-D")) arg.remove_prefix(2);
      if (under(arg, data) || under(arg, config)) match = true;
    }
    if (!match || !RunsSuiteExecutable(pid, executables)) continue;
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    out[pid] = std::string(absl::StripTrailingAsciiWhitespace(cmdline));
  }
  return out;
}

}  // namespace

std::string GateUrl(const v1::Halconfig& config) {
  const v1::ServiceSettings& gate = Settings(config, "gate");
  return absl::StrCat("http://", gate.host(), ":", gate.http_port());
}

std::string UiUrl(const v1::Halconfig& config) {
  if (!UiEnabled(config)) return "";
  std::string host = Settings(config, "gate").host();
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  const std::string& gate_url = config.ui().gate_url();
  if (size_t scheme = gate_url.find("://"); scheme != std::string::npos) {
    // The browser reaches gate by this name: the UI is on the same host.
    std::string authority = gate_url.substr(scheme + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    const size_t colon = authority.rfind(':');
    if (colon != std::string::npos && authority.back() != ']') {
      authority.resize(colon);
    }
    if (!authority.empty()) host = authority;
  }
  return absl::StrCat("http://", host, ":", config.ui().port());
}

std::vector<std::string> ProcessNames(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& name : names) {
    const std::string process = name == "deck" ? "gate" : name;
    if (std::find(out.begin(), out.end(), process) == out.end()) {
      out.push_back(process);
    }
  }
  return out;
}

absl::StatusOr<DeploymentRecord> ReadRecord(const std::string& state_dir) {
  DeploymentRecord record;
  std::ifstream in(RecordPath(state_dir));
  if (!in) return record;  // nothing deployed yet
  std::stringstream text;
  text << in.rdbuf();
  const json j(spinnaker::ParseJson(text.str(), "deployment record",
                                    spinnaker::kStoredJsonLimits)
                   .value_or(spinnaker::Json()));
  if (!j.is_object()) {
    return absl::DataLossError(
        absl::StrCat(RecordPath(state_dir), " is not valid JSON"));
  }
  record.deployment = spinnaker::String(j, "deployment");
  record.version = spinnaker::String(j, "version");
  if (j.contains("postgres")) record.postgres = FromJson(j["postgres"]);
  if (j.contains("redis")) record.redis = FromJson(j["redis"]);
  if (j.contains("prometheus")) {
    record.prometheus = FromJson(j["prometheus"]);
  }
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
            {"prometheus", ToJson(record.prometheus)},
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

absl::StatusOr<StorageEndpoints> LocalDeployer::EnsureStores(
    const v1::Halconfig& config) {
  const auto& storage = config.storage();
  if (storage.mode() == v1::STORAGE_MODE_EXTERNAL) {
    progress_("storage: external PostgreSQL and Redis");
    return StorageEndpoints{storage.postgres().dsn(), storage.redis().url()};
  }
  const std::string state = ExpandHome(config.state_dir());
  for (const char* dir : {"/logs", "/run", "/data"}) {
    GENNAKER_RETURN_IF_ERROR(process::MakeDirs(state + dir));
  }
  GENNAKER_ASSIGN_OR_RETURN(StoreSecrets secrets, EnsureStoreSecrets(state));
  GENNAKER_ASSIGN_OR_RETURN(DeploymentRecord record, ReadRecord(state));
  const int pg_port = storage.postgres().port();
  GENNAKER_RETURN_IF_ERROR(EnsureStore(ManagedStore::kPostgres, pg_port, state,
                                       secrets.postgres_password, progress_,
                                       &record));
  GENNAKER_RETURN_IF_ERROR(
      process::EnsureDatabase(pg_port, kDatabase, secrets.postgres_password));
  const int redis_port = storage.redis().port();
  GENNAKER_RETURN_IF_ERROR(EnsureStore(ManagedStore::kRedis, redis_port, state,
                                       secrets.redis_password, progress_,
                                       &record));
  return StorageEndpoints{
      process::LocalPostgresDsn(pg_port, kDatabase, secrets.postgres_password),
      process::LocalRedisUrl(redis_port, secrets.redis_password)};
}

absl::Status LocalDeployer::EnsurePrometheus(const v1::Halconfig& config) {
  const v1::Halconfig effective = EffectiveHalconfig(config);
  const std::string state = ExpandHome(config.state_dir());
  const std::string data_dir = state + "/data/prometheus";
  GENNAKER_ASSIGN_OR_RETURN(DeploymentRecord record, ReadRecord(state));
  ProcessRecord* slot = &record.prometheus;
  // The recorded server, or one found on the data directory (started by an
  // apply whose record is gone).
  auto stop_managed = [&]() -> absl::Status {
    const pid_t found = process::LocalPrometheusPid(data_dir);
    if (found != 0 || Running(*slot)) {
      progress_(absl::StrCat("prometheus: stopping pid ",
                             found != 0 ? found : slot->pid));
    }
    GENNAKER_RETURN_IF_ERROR(
        process::StopLocalPrometheus(data_dir, absl::Seconds(15)));
    GENNAKER_RETURN_IF_ERROR(Stop(*slot, absl::Seconds(15)));
    if (slot->pid != 0) {
      *slot = ProcessRecord{};
      GENNAKER_RETURN_IF_ERROR(WriteRecord(state, record));
    }
    return absl::OkStatus();
  };
  if (!ManagedPrometheus(effective)) {
    if (Enabled(effective, "kayenta")) {
      progress_(absl::StrCat("prometheus: external at ",
                             RedactSecrets(PrometheusBaseUrl(effective))));
    }
    return stop_managed();
  }
  process::LocalPrometheusOptions o;
  o.data_dir = data_dir;
  o.log_file = state + "/logs/prometheus.log";
  o.port = ManagedPrometheusPort(effective);
  o.scrape_interval = effective.canary().prometheus().scrape_interval();
  o.job_name = "gennaker";
  const v1::HalLocalProvider& local = effective.providers().local();
  if (local.enabled()) {
    for (const auto& account : local.accounts()) {
      const std::string& path = account.prometheus_file_sd_path();
      if (path.empty()) continue;
      o.file_sd_paths.push_back(path);
      // Prometheus watches the file's directory, which must exist.
      GENNAKER_RETURN_IF_ERROR(
          process::MakeDirs(fs::path(path).parent_path().string()));
    }
  }
  const std::string binary = process::LocalPrometheusBinary(o);
  const std::string hash =
      Hash(absl::StrCat(process::LocalPrometheusConfig(o), "\n", binary, "@",
                        BinaryStamp(binary)));
  if (Running(*slot) && slot->grpc_port == o.port &&
      slot->config_hash == hash && process::PrometheusReady(o.port)) {
    progress_(absl::StrCat("prometheus: running (pid ", slot->pid, ", port ",
                           o.port, ")"));
    return absl::OkStatus();
  }
  GENNAKER_RETURN_IF_ERROR(stop_managed());
  GENNAKER_RETURN_IF_ERROR(process::MakeDirs(state + "/logs"));
  progress_(absl::StrCat("prometheus: starting on 127.0.0.1:", o.port, " (",
                         o.file_sd_paths.size(), " file_sd file",
                         o.file_sd_paths.size() == 1 ? "" : "s", ") ..."));
  GENNAKER_ASSIGN_OR_RETURN(process::LocalServer server,
                            process::StartLocalPrometheus(o));
  *slot = StoreRecord(server, data_dir + "/tsdb");
  slot->http_port = server.port;
  slot->config_hash = hash;
  GENNAKER_RETURN_IF_ERROR(WriteRecord(state, record));
  progress_(absl::StrCat("prometheus: ready on 127.0.0.1:", o.port, " (pid ",
                         slot->pid, ")"));
  return absl::OkStatus();
}

absl::StatusOr<v1::ApplyDeploymentResponse> LocalDeployer::Apply(
    const v1::Halconfig& config, const std::vector<std::string>& only) {
  return Deploy(config, ProcessNames(only), /*force=*/false);
}

absl::StatusOr<v1::ApplyDeploymentResponse> LocalDeployer::Restart(
    const v1::Halconfig& config, const std::vector<std::string>& services) {
  if (services.empty()) {
    return absl::InvalidArgumentError("name at least one service to restart");
  }
  for (const std::string& name : services) {
    if (name == "deck") {
      if (!UiEnabled(config)) {
        return absl::InvalidArgumentError(
            "deck: ui.enabled is false, nothing serves it");
      }
      progress_("deck: served by gate, restarting gate");
      continue;
    }
    if (std::find(kServiceNames.begin(), kServiceNames.end(), name) ==
        kServiceNames.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown service '", name,
                       "' (one of gate, orca, clouddriver, front50, rosco, "
                       "igor, echo, fiat, kayenta, halyard, deck)"));
    }
    if (!Enabled(config, name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": disabled in the halconfig"));
    }
  }
  return Deploy(config, ProcessNames(services), /*force=*/true);
}

absl::StatusOr<v1::ApplyDeploymentResponse> LocalDeployer::Deploy(
    const v1::Halconfig& config, const std::vector<std::string>& only,
    bool force) {
  GENNAKER_RETURN_IF_ERROR(ValidateStatus(config));
  GENNAKER_RETURN_IF_ERROR(CheckUiBundle(config));
  const std::string state = ExpandHome(config.state_dir());
  const std::string bin = EffectiveHalconfig(config).bin_dir();
  for (absl::string_view name : kServiceNames) {
    std::string path = absl::StrCat(bin, "/", name);
    if (Enabled(config, name) && access(path.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "service binary ", path, " not found (set binDir in the halconfig)"));
    }
  }
  GENNAKER_RETURN_IF_ERROR(CheckBakery(config));
  for (const char* dir : {"/config", "/logs", "/run", "/data"}) {
    GENNAKER_RETURN_IF_ERROR(process::MakeDirs(state + dir));
  }
  {
    // The bakery's directories (rosco writes them, clouddriver reads the
    // image store): there before either starts.
    const v1::Halconfig effective = EffectiveHalconfig(config);
    const v1::HalBakery& bakery = effective.bakery();
    if (Enabled(config, "rosco")) {
      for (const std::string& dir :
           {bakery.image_store_dir(), bakery.package_repository_dir(),
            bakery.work_dir()}) {
        GENNAKER_RETURN_IF_ERROR(process::MakeDirs(dir));
      }
    }
    if (Enabled(config, "clouddriver")) {
      for (const auto& account : effective.providers().local().accounts()) {
        GENNAKER_RETURN_IF_ERROR(process::MakeDirs(account.image_store_dir()));
      }
    }
  }
  GENNAKER_ASSIGN_OR_RETURN(StorageEndpoints storage, EnsureStores(config));
  GENNAKER_RETURN_IF_ERROR(EnsurePrometheus(config));
  GENNAKER_ASSIGN_OR_RETURN(DeploymentRecord record, ReadRecord(state));
  record.deployment = config.name();
  record.version = config.version();
  GENNAKER_ASSIGN_OR_RETURN(
      auto rendered, RenderServiceConfigs(config, storage, halconfig_path_));

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
    const bool unchanged = running && existing->second.config_hash == hash;
    if (running && ((unchanged && !(force && selected)) || !selected)) {
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
      progress_(absl::StrCat(prefix,
                             unchanged ? " restarting: stopping pid "
                                       : " config changed: stopping pid ",
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
    ProcessRecord rec{pid,
                      s.host(),
                      s.grpc_port(),
                      s.admin_port(),
                      ServiceHttpPort(config, name),
                      hash,
                      NowMs(),
                      config_file};
    record.services[name] = rec;
    GENNAKER_RETURN_IF_ERROR(WriteRecord(state, record));
    const std::string address = absl::StrCat(s.host(), ":", s.grpc_port());
    auto deadline =
        start + std::chrono::seconds(config.start_timeout_seconds());
    for (int round = 0;; ++round) {
      auto serving = CheckServing(address, std::chrono::milliseconds(500));
      if (serving.ok() && *serving) break;
      // A service waits for a store that does not answer (for containers,
      // which start before their stores). Here the stores are halyard's own,
      // already up, or the operator's: waiting says they cannot be reached,
      // so stop it and say so now rather than at the start timeout.
      if (round % 10 == 9 && absl::StrContains(Tail(spawn.log_file, 5),
                                               "event=waiting_for_store")) {
        (void)process::Terminate(pid, absl::Seconds(5));
        record.services.erase(name);
        (void)WriteRecord(state, record);
        return absl::FailedPreconditionError(absl::StrCat(
            name, " cannot reach its store (stopped; it would wait up to ",
            "120 s); last lines of ", spawn.log_file, ":\n",
            Tail(spawn.log_file, 15)));
      }
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
  // Keep a copy of every applied config, for the record and for rollback;
  // readable by its owner only, as it may hold an external store's password.
  GENNAKER_RETURN_IF_ERROR(process::MakeDirs(state + "/history"));
  std::ifstream applied(halconfig_path_);
  if (applied) {
    std::stringstream text;
    text << applied.rdbuf();
    GENNAKER_RETURN_IF_ERROR(process::WritePrivateFile(
        absl::StrCat(state, "/history/", NowMs(), ".yml"), text.str()));
  }
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
  // Deck: gate's process, healthy when its UI listener answers UP.
  v1::ServiceStatus* deck = response.mutable_deck();
  deck->set_name("deck");
  if (!UiEnabled(config)) {
    deck->set_health(v1::SERVICE_HEALTH_DISABLED);
    return response;
  }
  response.set_ui_url(UiUrl(config));
  deck->set_http_port(config.ui().port());
  deck->set_health(v1::SERVICE_HEALTH_DOWN);
  auto gate = record.services.find("gate");
  if (gate == record.services.end() || !Running(gate->second)) {
    return response;
  }
  deck->set_pid(gate->second.pid);
  deck->set_started_at_ms(gate->second.started_at_ms);
  deck->set_version(record.version);
  std::string host = gate->second.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  http::ClientRequest request;
  request.url =
      absl::StrCat("http://", host, ":", config.ui().port(), "/health");
  request.timeout_ms = 1000;
  absl::StatusOr<http::ClientResponse> reply = http::Fetch(request);
  if (reply.ok() && reply->status == 200) {
    auto body = spinnaker::ParseJson(reply->body, "UI health");
    if (body.ok() && body->is_object() &&
        spinnaker::String(*body, "status") == "UP") {
      deck->set_health(v1::SERVICE_HEALTH_SERVING);
    }
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
  // PostgreSQL: whatever runs on the data directory, which is the recorded
  // server or one restarted by hand under another pid.
  const std::string pg_data = state + "/data/postgres";
  if (pid_t postmaster = process::PostmasterPid(pg_data); postmaster != 0) {
    progress_(
        absl::StrCat("postgres: stopping pid ", postmaster,
                     postmaster == record.postgres.pid
                         ? ""
                         : absl::StrCat(" (running on ", pg_data,
                                        ", not the pid halyard recorded)")));
    GENNAKER_RETURN_IF_ERROR(
        process::StopLocalPostgres(pg_data, absl::Seconds(30)));
  }
  for (ProcessRecord* store : {&record.redis, &record.postgres}) {
    if (store->pid == 0) continue;
    if (Running(*store)) {
      progress_(absl::StrCat(store == &record.redis ? "redis" : "postgres",
                             ": stopping pid ", store->pid));
    }
    GENNAKER_RETURN_IF_ERROR(Stop(*store, absl::Seconds(30)));
    *store = ProcessRecord{};
    GENNAKER_RETURN_IF_ERROR(WriteRecord(state, record));
  }
  // Prometheus: the recorded server and whatever runs on its data directory.
  const std::string prom_data = state + "/data/prometheus";
  if (pid_t found = process::LocalPrometheusPid(prom_data); found != 0) {
    progress_(absl::StrCat("prometheus: stopping pid ", found));
    GENNAKER_RETURN_IF_ERROR(
        process::StopLocalPrometheus(prom_data, absl::Seconds(15)));
  }
  if (record.prometheus.pid != 0) {
    GENNAKER_RETURN_IF_ERROR(Stop(record.prometheus, absl::Seconds(15)));
    record.prometheus = ProcessRecord{};
    GENNAKER_RETURN_IF_ERROR(WriteRecord(state, record));
  }
  for (const auto& [pid, cmdline] :
       ProcessesOnState(state, EffectiveHalconfig(config).bin_dir())) {
    if (!process::IsAlive(pid)) continue;  // a backend of a server just stopped
    progress_(absl::StrCat("stopping pid ", pid, " (", RedactSecrets(cmdline),
                           "), found working on ", state));
    GENNAKER_RETURN_IF_ERROR(process::Terminate(pid, absl::Seconds(15)));
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
