#include "services/fiat/fiat_server.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/auth/ldap.h"
#include "common/auth/users_file.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "services/fiat/fiat_core.h"
#include "services/fiat/fiat_grpc.h"
#include "services/fiat/fiat_rest.h"
#include "services/fiat/repository.h"
#include "services/fiat/resources.h"
#include "services/fiat/roles.h"

namespace gennaker::fiat {
namespace {

using Clock = std::chrono::steady_clock;

std::string SyncOwner() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return absl::StrCat(host, ":", getpid());
}

class FiatInstance : public ServiceInstance {
 public:
  ~FiatInstance() override { Stop(); }

  std::vector<grpc::Service*> GrpcServices() override {
    return {service_.get()};
  }

  absl::Status StartExtra() override {
    // First load before serving REST, so the unrestricted user exists; the
    // owners of the resources may not be up yet: then the loop retries.
    if (absl::Status s = core_->RefreshResources(); !s.ok()) {
      SPDLOG_WARN("event=fiat_initial_refresh_incomplete error=\"{}\"",
                  s.message());
    }
    http::ServerOptions options;
    options.host = config_.server().host();
    options.port = config_.http_port();
    options.threads = std::max(1, config_.server().http_threads());
    options.metrics = metrics_;
    GENNAKER_ASSIGN_OR_RETURN(
        rest_, http::Server::Start(options, MakeFiatRouter(core_.get())));
    SPDLOG_INFO("event=fiat_rest_listening address=http://{}:{}", options.host,
                rest_->port());
    worker_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  void Stop() override {
    if (!stop_.HasBeenNotified()) stop_.Notify();
    if (worker_.joinable()) worker_.join();
    if (rest_) rest_->Stop();
  }

  absl::Status CheckDependencies() override { return PingRedis(*redis_); }

  // Refreshes resources every refresh interval; tries the sync at start and
  // every sync interval (the lock spaces runs across replicas).
  void Loop() {
    const auto refresh = std::chrono::seconds(refresh_seconds_);
    const auto sync = std::chrono::seconds(sync_seconds_);
    Clock::time_point next_refresh = Clock::now() + refresh;
    Clock::time_point next_sync = Clock::now();
    const std::string owner = SyncOwner();
    while (true) {
      const Clock::time_point next = std::min(next_refresh, next_sync);
      const auto wait = std::max(Clock::duration::zero(), next - Clock::now());
      if (stop_.WaitForNotificationWithTimeout(absl::FromChrono(wait))) return;
      const Clock::time_point now = Clock::now();
      if (now >= next_sync) {
        next_sync = now + sync;
        absl::StatusOr<bool> ran =
            core_->ScheduledSync(owner, sync_seconds_ * int64_t{1000});
        if (!ran.ok()) {
          SPDLOG_WARN("event=fiat_scheduled_sync_failed error=\"{}\"",
                      ran.status().message());
        }
        next_refresh = Clock::now() + refresh;  // the sync refreshed
      } else if (now >= next_refresh) {
        next_refresh = now + refresh;
        if (absl::Status s = core_->RefreshResources(); !s.ok()) {
          SPDLOG_WARN("event=fiat_refresh_incomplete error=\"{}\"",
                      s.message());
        }
      }
    }
  }

  v1::FiatConfig config_;
  Metrics* metrics_ = nullptr;
  int refresh_seconds_ = kDefaultResourceRefreshSeconds;
  int sync_seconds_ = kDefaultSyncIntervalSeconds;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<PermissionsRepository> repository_;
  std::unique_ptr<UserRolesProvider> provider_;
  std::unique_ptr<ResourceSource> source_;
  std::unique_ptr<ResourceCache> resources_;
  std::unique_ptr<FiatCore> core_;
  std::unique_ptr<v1::FiatService::Service> service_;
  std::unique_ptr<http::Server> rest_;
  absl::Notification stop_;
  std::thread worker_;
};

int OrDefault(int value, int fallback) { return value > 0 ? value : fallback; }

absl::StatusOr<std::unique_ptr<UserRolesProvider>> NewProvider(
    const v1::RolesConfig& roles) {
  const std::string kind = roles.provider().empty()
                               ? std::string(kDefaultRolesProvider)
                               : roles.provider();
  if (kind == "file") {
    absl::StatusOr<std::unique_ptr<auth::UsersFile>> file =
        auth::UsersFile::Open(roles.file_path());
    if (!file.ok()) {
      return absl::Status(
          file.status().code(),
          absl::StrCat("roles.filePath: ", file.status().message()));
    }
    return NewFileRolesProvider(*std::move(file));
  }
  if (kind == "ldap") {
    absl::StatusOr<std::unique_ptr<auth::LdapDirectory>> directory =
        auth::LdapDirectory::Create(roles.ldap());
    if (!directory.ok()) {
      return absl::Status(
          directory.status().code(),
          absl::StrCat("roles.ldap: ", directory.status().message()));
    }
    return NewLdapRolesProvider(*std::move(directory));
  }
  return NewExternalRolesProvider();
}

}  // namespace

void ApplyFiatDefaults(v1::FiatConfig* config) {
  config->set_http_port(kDefaultHttpPort);
  config->mutable_roles()->set_provider(kDefaultRolesProvider);
  config->set_execute_fallback(kDefaultExecuteFallback);
  config->set_resource_refresh_seconds(kDefaultResourceRefreshSeconds);
  config->set_sync_interval_seconds(kDefaultSyncIntervalSeconds);
  config->set_redis_prefix(kDefaultRedisPrefix);
  config->set_permission_ttl_seconds(kDefaultPermissionTtlSeconds);
}

absl::Status ValidateConfig(const v1::FiatConfig& config) {
  const int port = config.http_port();
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError("httpPort: must be in 1..65535");
  }
  if (port == config.server().grpc_port() ||
      port == config.server().admin_port()) {
    return absl::InvalidArgumentError(
        "httpPort: must differ from server.grpcPort/adminPort");
  }
  const std::string& provider = config.roles().provider();
  if (provider == "file") {
    if (config.roles().file_path().empty()) {
      return absl::InvalidArgumentError(
          "roles.filePath: is required with provider 'file'");
    }
    if (access(config.roles().file_path().c_str(), R_OK) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("roles.filePath: '",
                                                     config.roles().file_path(),
                                                     "' is not readable"));
    }
  } else if (provider == "ldap") {
    if (config.roles().ldap().url().empty()) {
      return absl::InvalidArgumentError(
          "roles.ldap.url: is required with provider 'ldap'");
    }
  } else if (!provider.empty() && provider != "external") {
    return absl::InvalidArgumentError(
        "roles.provider: must be one of file, ldap, external");
  }
  const std::string fallback = absl::AsciiStrToUpper(config.execute_fallback());
  if (!fallback.empty() && fallback != "READ" && fallback != "WRITE") {
    return absl::InvalidArgumentError("executeFallback: must be READ or WRITE");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildFiat(
    const v1::FiatConfig& config, Metrics* metrics) {
  GENNAKER_RETURN_IF_ERROR(ValidateConfig(config));
  auto in = std::make_unique<FiatInstance>();
  in->config_ = config;
  in->metrics_ = metrics;
  in->refresh_seconds_ = OrDefault(config.resource_refresh_seconds(),
                                   kDefaultResourceRefreshSeconds);
  in->sync_seconds_ =
      OrDefault(config.sync_interval_seconds(), kDefaultSyncIntervalSeconds);
  GENNAKER_ASSIGN_OR_RETURN(in->provider_, NewProvider(config.roles()));
  GENNAKER_ASSIGN_OR_RETURN(in->redis_, ConnectRedis(config.redis()));
  in->repository_ = NewRedisPermissionsRepository(
      in->redis_.get(),
      config.redis_prefix().empty() ? kDefaultRedisPrefix
                                    : config.redis_prefix(),
      OrDefault(config.permission_ttl_seconds(), kDefaultPermissionTtlSeconds));
  in->source_ = NewGrpcResourceSource(config.services().front50(),
                                      config.services().clouddriver(),
                                      config.services().igor());
  in->resources_ = std::make_unique<ResourceCache>(in->source_.get(), [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  });
  CoreOptions options;
  for (const std::string& r : config.admin_roles()) {
    std::string role = NormalizeRole(r);
    if (!role.empty()) options.resolve.admin_roles.insert(role);
  }
  options.resolve.execute_fallback =
      absl::AsciiStrToUpper(config.execute_fallback()) == "WRITE"
          ? v1::AUTHORIZATION_WRITE
          : v1::AUTHORIZATION_READ;
  options.resolve.allow_access_to_unknown_applications =
      config.allow_access_to_unknown_applications();
  options.resolve.role_or_mode = config.role_or_mode();
  options.restrict_application_creation =
      config.restrict_application_creation();
  options.get_all_enabled = config.get_all_enabled();
  in->core_ =
      std::make_unique<FiatCore>(in->provider_.get(), in->resources_.get(),
                                 in->repository_.get(), options);
  in->service_ = NewFiatGrpcService(in->core_.get());
  SPDLOG_INFO(
      "event=fiat_built provider={} admin_roles={} refresh_seconds={} "
      "sync_seconds={} igor={}",
      config.roles().provider(), options.resolve.admin_roles.size(),
      in->refresh_seconds_, in->sync_seconds_,
      config.services().igor().address().empty() ? "off" : "on");
  return std::unique_ptr<ServiceInstance>(std::move(in));
}

}  // namespace gennaker::fiat
