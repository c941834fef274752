#include "services/halyard/halconfig.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

}  // namespace

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
  return out;
}

}  // namespace gennaker::halyard
