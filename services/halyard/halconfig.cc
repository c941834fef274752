#include "services/halyard/halconfig.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/config/config_loader.h"
#include "common/http/outbound_config.h"
#include "common/log/logging.h"
#include "common/process/process.h"
#include "common/service/defaults.h"
#include "common/status/status_macros.h"
#include "common/version.h"
#include "re2/re2.h"

namespace gennaker::halyard {
namespace {

v1::ServiceSettings* MutableSettings(v1::Halconfig* config,
                                     absl::string_view service) {
  auto* services = config->mutable_services();
  const auto* field =
      services->GetDescriptor()->FindFieldByName(std::string(service));
  return static_cast<v1::ServiceSettings*>(
      services->GetReflection()->MutableMessage(services, field));
}

// Every port `config` binds besides the managed Prometheus's.
std::set<int> PortsBesidesPrometheus(const v1::Halconfig& c) {
  std::set<int> ports;
  for (absl::string_view name : kServiceNames) {
    if (!Enabled(c, name)) continue;
    const v1::ServiceSettings& s = Settings(c, name);
    for (int p : {s.grpc_port(), s.admin_port(), s.http_port()}) {
      if (p > 0) ports.insert(p);
    }
  }
  if (c.storage().mode() != v1::STORAGE_MODE_EXTERNAL) {
    ports.insert(c.storage().postgres().port());
    ports.insert(c.storage().redis().port());
  }
  return ports;
}

constexpr char kDefaultPrometheusAccount[] = "prometheus";
// Canary windows of a minute need a dozen points per instance.
constexpr char kDefaultScrapeInterval[] = "5s";
constexpr char kFileSdName[] = "prometheus-targets.json";

}  // namespace

bool ManagedPrometheus(const v1::Halconfig& config) {
  return Enabled(config, "kayenta") &&
         config.canary().prometheus().base_url().empty();
}

int ManagedPrometheusPort(const v1::Halconfig& config) {
  if (config.canary().prometheus().port() != 0) {
    return config.canary().prometheus().port();
  }
  const std::set<int> taken = PortsBesidesPrometheus(config);
  int port = kDefaultPrometheusPort;
  while (taken.count(port) > 0) ++port;
  return port;
}

std::string PrometheusBaseUrl(const v1::Halconfig& config) {
  if (!ManagedPrometheus(config)) {
    return std::string(
        absl::StripSuffix(config.canary().prometheus().base_url(), "/"));
  }
  return absl::StrCat("http://127.0.0.1:", ManagedPrometheusPort(config));
}

std::string LocalAccountDir(const v1::Halconfig& config,
                            const clouddriver::v1::LocalAccount& account) {
  if (!account.state_dir().empty()) return account.state_dir();
  return absl::StrCat(ExpandHome(config.state_dir()),
                      "/data/clouddriver/local/", account.name());
}

std::string ExpandHome(const std::string& path) {
  if (path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    return absl::StrCat(home ? home : "/root", path.substr(1));
  }
  return path;
}

std::string DefaultHalconfigPath() { return ExpandHome("~/.hal/config"); }

v1::Halconfig DefaultHalconfig() {
  v1::Halconfig c;
  c.set_name("default");
  c.set_version(kVersion);
  // PostgreSQL runs as the postgres user when we are root, and cannot enter
  // /root: root's deployments live under /var/lib instead.
  c.set_state_dir(geteuid() == 0 ? "/var/lib/gennaker/default"
                                 : ExpandHome("~/.hal/default"));
  c.set_timezone("America/Los_Angeles");
  c.set_log_level("info");
  c.set_log_format("text");
  c.set_start_timeout_seconds(30);
  c.mutable_storage()->set_mode(v1::STORAGE_MODE_LOCAL_MANAGED);
  c.mutable_storage()->mutable_postgres()->set_port(15432);
  c.mutable_storage()->mutable_redis()->set_port(16379);
  for (absl::string_view name : kServiceNames) {
    v1::ServiceSettings* s = MutableSettings(&c, name);
    s->set_host("127.0.0.1");
    s->set_grpc_port(DefaultGrpcPort(name));
    s->set_admin_port(DefaultGrpcPort(name) + kAdminPortOffset);
    if (name == "gate") s->set_http_port(kGateHttpPort);
  }
  return c;
}

const v1::ServiceSettings& Settings(const v1::Halconfig& config,
                                    absl::string_view service) {
  const auto& services = config.services();
  const auto* field =
      services.GetDescriptor()->FindFieldByName(std::string(service));
  return static_cast<const v1::ServiceSettings&>(
      services.GetReflection()->GetMessage(services, field));
}

bool Enabled(const v1::Halconfig& config, absl::string_view service) {
  const v1::ServiceSettings& s = Settings(config, service);
  return !s.has_enabled() || s.enabled();
}

absl::StatusOr<v1::Halconfig> LoadHalconfig(const std::string& path) {
  v1::Halconfig config = DefaultHalconfig();
  GENNAKER_RETURN_IF_ERROR(config::MergeYamlFile(path, &config));
  return config;
}

absl::StatusOr<v1::Halconfig> ParseHalconfig(const std::string& yaml,
                                             const std::string& source) {
  v1::Halconfig config = DefaultHalconfig();
  GENNAKER_RETURN_IF_ERROR(config::MergeYaml(yaml, source, &config));
  return config;
}

v1::Halconfig EffectiveHalconfig(const v1::Halconfig& config) {
  v1::Halconfig c = config;
  for (absl::string_view name : kServiceNames) {
    v1::ServiceSettings* s = MutableSettings(&c, name);
    if (s->log_level().empty()) s->set_log_level(c.log_level());
  }
  v1::HalLocalProvider* local = c.mutable_providers()->mutable_local();
  if (!local->has_enabled()) local->set_enabled(true);
  if (local->enabled() && local->accounts_size() == 0) {
    auto* account = local->add_accounts();
    account->set_name("local");
    account->set_environment("test");
  }
  v1::HalPrometheus* prometheus = c.mutable_canary()->mutable_prometheus();
  if (prometheus->account_name().empty()) {
    prometheus->set_account_name(kDefaultPrometheusAccount);
  }
  if (ManagedPrometheus(c)) {
    prometheus->set_port(ManagedPrometheusPort(c));
    if (prometheus->scrape_interval().empty()) {
      prometheus->set_scrape_interval(kDefaultScrapeInterval);
    }
  }
  if (Enabled(c, "kayenta") && local->enabled()) {
    // Prometheus (managed, or the operator's on this machine) finds the
    // instances of each account in its file_sd file.
    for (auto& account : *local->mutable_accounts()) {
      if (account.prometheus_file_sd_path().empty()) {
        account.set_prometheus_file_sd_path(
            absl::StrCat(LocalAccountDir(c, account), "/", kFileSdName));
      }
    }
  }
  if (!c.bin_dir().empty()) {
    c.set_bin_dir(ExpandHome(c.bin_dir()));
  } else {
    std::error_code ec;
    std::filesystem::path self =
        std::filesystem::read_symlink("/proc/self/exe", ec);
    c.set_bin_dir(ec ? "." : self.parent_path().string());
  }
  return c;
}

std::vector<v1::ValidationProblem> Validate(const v1::Halconfig& c) {
  std::vector<v1::ValidationProblem> problems;
  auto problem = [&](std::string key, std::string message) {
    v1::ValidationProblem p;
    p.set_key(std::move(key));
    p.set_message(std::move(message));
    problems.push_back(std::move(p));
  };
  static const LazyRE2 kName = {"[a-z0-9]([a-z0-9-]{0,62})"};
  if (!RE2::FullMatch(c.name(), *kName)) {
    problem("name",
            "must be lowercase letters, digits and '-', at most 63 characters");
  }
  if (c.version().empty()) problem("version", "is required");
  if (c.state_dir().empty()) problem("stateDir", "is required");
  if (c.start_timeout_seconds() < 1 || c.start_timeout_seconds() > 3600) {
    problem("startTimeoutSeconds", "must be in 1..3600");
  }
  static const char* kLevels[] = {"trace", "debug",    "info", "warn",
                                  "error", "critical", "off"};
  auto valid_level = [&](const std::string& level) {
    for (const char* l : kLevels) {
      if (level == l) return true;
    }
    return false;
  };
  if (!valid_level(c.log_level())) {
    problem("logLevel",
            "must be one of trace, debug, info, warn, error, critical, off");
  }
  if (c.log_format() != "text" && c.log_format() != "json") {
    problem("logFormat", "must be text or json");
  }
  // Every port this deployment binds, to find clashes.
  std::map<int, std::string> ports;
  auto port = [&](const std::string& key, int value) {
    if (value < 1 || value > 65535) {
      problem(key, absl::StrCat("must be a port in 1..65535, got ", value));
      return;
    }
    auto [it, inserted] = ports.emplace(value, key);
    if (!inserted)
      problem(key,
              absl::StrCat("port ", value, " is also used by ", it->second));
  };
  const auto& storage = c.storage();
  if (storage.mode() == v1::STORAGE_MODE_EXTERNAL) {
    if (storage.postgres().dsn().empty()) {
      problem("storage.postgres.dsn",
              "is required when storage.mode is EXTERNAL");
    }
    if (storage.redis().url().rfind("redis://", 0) != 0) {
      problem("storage.redis.url",
              "must be a redis://host:port URL when storage.mode is EXTERNAL");
    }
  } else {
    port("storage.postgres.port", storage.postgres().port());
    port("storage.redis.port", storage.redis().port());
  }
  for (absl::string_view name : kServiceNames) {
    const v1::ServiceSettings& s = Settings(c, name);
    std::string prefix = absl::StrCat("services.", name, ".");
    if (name == "halyard" || name == "gate") {
      if (s.has_enabled() && !s.enabled()) {
        problem(prefix + "enabled", "cannot be disabled: the suite needs it");
      }
    }
    if (!Enabled(c, name)) continue;
    if (s.host().empty()) problem(prefix + "host", "is required");
    port(prefix + "grpcPort", s.grpc_port());
    port(prefix + "adminPort", s.admin_port());
    if (name == "gate") port(prefix + "httpPort", s.http_port());
    if (!s.cors_allowed_origins().empty() &&
        !RE2(s.cors_allowed_origins(), RE2::Quiet).ok()) {
      problem(prefix + "corsAllowedOrigins",
              "is not a valid regular expression");
    }
    if (!s.log_level().empty() && !valid_level(s.log_level())) {
      problem(prefix + "logLevel",
              "must be one of trace, debug, info, warn, error");
    }
    if (s.has_outbound()) {
      for (const std::string& v :
           config::RuleViolations(s.outbound(), prefix + "outbound")) {
        const size_t colon = v.find(": ");
        problem(v.substr(0, colon), v.substr(colon + 2));
      }
      absl::StatusOr<std::unique_ptr<http::OutboundClient>> client =
          http::OutboundClient::Create(
              http::OutboundPolicyFromConfig(s.outbound()));
      if (!client.ok()) {
        problem(prefix + "outbound", std::string(client.status().message()));
      }
    }
  }
  const v1::HalPrometheus& prometheus = c.canary().prometheus();
  const std::string& base_url = prometheus.base_url();
  if (!base_url.empty()) {
    static const LazyRE2 kUrl = {R"(https?://[^/?#@\s]+(/[^?#\s]*)?)"};
    if (!RE2::FullMatch(base_url, *kUrl)) {
      problem("canary.prometheus.baseUrl",
              "must be an http:// or https:// URL with no user name, query or "
              "fragment (credentials go in canary.prometheus.username and "
              "password)");
    }
  } else {
    if (!prometheus.username().empty() || !prometheus.password().empty()) {
      problem("canary.prometheus.password",
              "username and password are for the server named by "
              "canary.prometheus.baseUrl; the managed Prometheus needs none");
    }
  }
  if (!prometheus.account_name().empty() &&
      !RE2::FullMatch(prometheus.account_name(), "[A-Za-z0-9_-]{1,64}")) {
    problem("canary.prometheus.accountName",
            "must be letters, digits, '-' and '_', at most 64 characters");
  }
  if (!prometheus.scrape_interval().empty() &&
      !RE2::FullMatch(prometheus.scrape_interval(),
                      "([0-9]+(ms|s|m|h|d|w|y))+")) {
    problem("canary.prometheus.scrapeInterval",
            "must be a Prometheus duration such as 15s or 1m");
  }
  if (ManagedPrometheus(c)) {
    port("canary.prometheus.port", ManagedPrometheusPort(c));
  }
  return problems;
}

absl::Status ValidateStatus(const v1::Halconfig& config) {
  std::vector<v1::ValidationProblem> problems = Validate(config);
  if (problems.empty()) return absl::OkStatus();
  std::vector<std::string> lines;
  for (const auto& p : problems)
    lines.push_back(absl::StrCat(p.key(), ": ", p.message()));
  return absl::InvalidArgumentError(absl::StrJoin(lines, "; "));
}

absl::Status SaveHalconfig(const std::string& path,
                           const v1::Halconfig& config) {
  GENNAKER_RETURN_IF_ERROR(ValidateStatus(config));
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path())
    std::filesystem::create_directories(p.parent_path(), ec);
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  // Private: storage.postgres.dsn may carry a password.
  GENNAKER_RETURN_IF_ERROR(process::WritePrivateFile(
      tmp,
      absl::StrCat(
          "# Gennaker halconfig: edit with `halyard config set KEY VALUE`.\n",
          config::ToYaml(config))));
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return absl::InternalError(
        absl::StrCat("cannot replace ", path, ": ", ec.message()));
  return absl::OkStatus();
}

v1::Halconfig RedactedHalconfig(const v1::Halconfig& config) {
  v1::Halconfig out = config;
  v1::HalStorage* storage = out.mutable_storage();
  if (!storage->postgres().dsn().empty()) {
    storage->mutable_postgres()->set_dsn(
        RedactSecrets(storage->postgres().dsn()));
  }
  if (!storage->redis().url().empty()) {
    storage->mutable_redis()->set_url(RedactSecrets(storage->redis().url()));
  }
  v1::HalPrometheus* prometheus = out.mutable_canary()->mutable_prometheus();
  if (!prometheus->password().empty()) prometheus->set_password("***");
  if (!prometheus->base_url().empty()) {
    prometheus->set_base_url(RedactSecrets(prometheus->base_url()));
  }
  if (!out.canary().has_prometheus() ||
      out.canary().prometheus().ByteSizeLong() == 0) {
    out.mutable_canary()->clear_prometheus();
  }
  if (out.canary().ByteSizeLong() == 0) out.clear_canary();
  return out;
}

}  // namespace gennaker::halyard
