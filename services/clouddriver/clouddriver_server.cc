#include "services/clouddriver/clouddriver_server.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/fiat/authorizer.h"
#include "common/grpc/channel.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "services/clouddriver/account_ownership.h"
#include "services/clouddriver/caching_agent.h"
#include "services/clouddriver/clouddriver_grpc.h"
#include "services/clouddriver/images.h"
#include "services/clouddriver/local/local_provider.h"
#include "services/clouddriver/operations.h"
#include "services/clouddriver/reads.h"
#include "services/clouddriver/store/redis_cache.h"
#include "services/clouddriver/store/redis_lease_store.h"
#include "services/clouddriver/store/redis_task_store.h"

namespace gennaker::clouddriver {

namespace {

class ClouddriverInstance : public ServiceInstance {
 public:
  ~ClouddriverInstance() override { Stop(); }
  std::vector<grpc::Service*> GrpcServices() override {
    return {service_.get()};
  }
  absl::Status CheckDependencies() override { return PingRedis(*redis_); }
  void Stop() override {
    if (operations_ != nullptr) operations_->Stop();
    if (agent_ != nullptr) agent_->Stop();
    // The leases are left to lapse (account_ownership.h).
    if (ownership_ != nullptr) ownership_->Stop();
  }

  std::unique_ptr<redis::Client> redis_;
  std::vector<std::unique_ptr<Provider>> providers_;
  std::unique_ptr<RedisCache> cache_;
  std::unique_ptr<RedisTaskStore> tasks_;
  std::unique_ptr<RedisLeaseStore> leases_;
  std::unique_ptr<AccountOwnership> ownership_;
  std::unique_ptr<CachingAgent> agent_;
  std::unique_ptr<Operations> operations_;
  std::unique_ptr<Reads> reads_;
  std::unique_ptr<ImageSearch> images_;
  std::unique_ptr<v1::ClouddriverService::Service> service_;
};

}  // namespace

void ApplyClouddriverDefaults(v1::ClouddriverConfig* config) {
  config->set_state_dir("clouddriver-state");
  config->set_cache_interval_seconds(10);
  config->set_operation_threads(4);
  config->set_task_owner_ttl_seconds(15);
}

absl::Status ValidateConfig(const v1::ClouddriverConfig& config) {
  std::set<std::string> names, dirs;
  for (const v1::LocalAccount& a : config.local_accounts()) {
    if (a.name().empty() ||
        a.name().find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
            std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("local_accounts: account name '", a.name(),
                       "' must be non-empty letters, digits, '-' or '_'"));
    }
    if (!names.insert(a.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "local_accounts: account '", a.name(), "' is listed twice"));
    }
    if (!a.state_dir().empty() && !dirs.insert(a.state_dir()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("local_accounts: state dir '", a.state_dir(),
                       "' is given to two accounts"));
    }
  }
  if (config.authorization().enabled() && config.fiat().address().empty()) {
    return absl::InvalidArgumentError(
        "fiat.address: authorization.enabled needs fiat");
  }
  if (const std::string& a = config.advertise_address(); !a.empty()) {
    const size_t colon = a.rfind(':');
    if (colon == 0 || colon == std::string::npos || colon + 1 == a.size() ||
        a.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
        a.find_first_of(" \t\n") != std::string::npos ||
        // An IPv6 host needs brackets: "[fd00::1]:7002".
        (a.substr(0, colon).find(':') != std::string::npos &&
         (a.front() != '[' || a[colon - 1] != ']'))) {
      return absl::InvalidArgumentError(
          absl::StrCat("advertise_address: want host:port, got '", a, "'"));
    }
  }
  for (auto [name, value] :
       {std::pair{"cache_interval_seconds", config.cache_interval_seconds()},
        {"operation_threads", config.operation_threads()},
        {"task_owner_ttl_seconds", config.task_owner_ttl_seconds()}}) {
    if (value < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": must not be negative"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildClouddriver(
    const v1::ClouddriverConfig& config, Metrics*) {
  auto in = std::make_unique<ClouddriverInstance>();
  // Checked again here: a config built in code skips ValidateConfig.
  std::shared_ptr<fiat::Authorizer> authorizer;
  if (config.authorization().enabled()) {
    const common::v1::EndpointConfig& f = config.fiat();
    if (f.address().empty()) {
      return absl::InvalidArgumentError(
          "fiat.address: authorization.enabled needs fiat");
    }
    authorizer = std::make_shared<fiat::Authorizer>(
        fiat::MakeGrpcPermissionSource(
            fiat::v1::FiatService::NewStub(
                MakeChannel(f.address(), f.max_message_bytes())),
            std::chrono::milliseconds(f.deadline_ms() > 0 ? f.deadline_ms()
                                                          : 5000)),
        config.authorization());
  }
  GENNAKER_ASSIGN_OR_RETURN(in->redis_, ConnectRedis(config.redis()));
  const std::string base = config.state_dir();
  std::vector<AccountInfo> accounts;
  std::vector<Provider*> providers;
  std::map<std::string, std::string> holder_ids;
  for (const v1::LocalAccount& a : config.local_accounts()) {
    std::string dir = a.state_dir().empty()
                          ? absl::StrCat(base, "/local/", a.name())
                          : a.state_dir();
    GENNAKER_ASSIGN_OR_RETURN(
        std::unique_ptr<local::LocalProvider> p,
        local::LocalProvider::Open(a.name(), dir, a.image_store_dir()));
    // The state dir is this replica's alone (LocalProvider::Open locks it),
    // so its id names this replica across restarts.
    GENNAKER_ASSIGN_OR_RETURN(holder_ids[a.name()], LoadOrCreateHolderId(dir));
    // Prometheus (and so kayenta's canary analysis) finds the instances here.
    if (!a.prometheus_file_sd_path().empty()) {
      GENNAKER_RETURN_IF_ERROR(
          p->PublishPrometheusTargets(a.prometheus_file_sd_path()));
    }
    providers.push_back(p.get());
    in->providers_.push_back(std::move(p));
    AccountInfo info;
    info.name = a.name();
    info.cloud_provider = "local";
    info.environment = a.environment();
    info.regions = {local::kRegion};
    info.read_roles.assign(a.read_roles().begin(), a.read_roles().end());
    info.write_roles.assign(a.write_roles().begin(), a.write_roles().end());
    accounts.push_back(std::move(info));
  }
  in->cache_ = std::make_unique<RedisCache>(in->redis_.get());
  in->tasks_ = std::make_unique<RedisTaskStore>(in->redis_.get());
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  AccountOwnership::Options lease_options;
  lease_options.address = config.advertise_address();
  if (lease_options.address.empty()) {
    const char* pod_ip = std::getenv("POD_IP");
    lease_options.address =
        absl::StrCat(pod_ip != nullptr && *pod_ip != '\0' ? pod_ip : host, ":",
                     config.server().grpc_port());
  }
  lease_options.ttl_ms = int64_t{config.task_owner_ttl_seconds()} * 1000;
  in->leases_ = std::make_unique<RedisLeaseStore>(in->redis_.get());
  in->ownership_ = std::make_unique<AccountOwnership>(
      in->leases_.get(), std::move(holder_ids), lease_options);
  AccountOwnership* ownership = in->ownership_.get();
  in->agent_ = std::make_unique<CachingAgent>(
      in->cache_.get(), providers,
      int64_t{config.cache_interval_seconds()} * 1000,
      [ownership](const std::string& account) {
        return ownership->Serves(account);
      });
  ownership->ClaimAll();
  // Reads are right from the first request.
  for (Provider* p : providers) {
    GENNAKER_RETURN_IF_ERROR(in->agent_->RefreshNow(p->account()));
  }
  // An account taken over later is cached in full at once.
  ownership->SetGainedListener(
      [cache = in->cache_.get(),
       agent = in->agent_.get()](const std::string& account) {
        cache->ForgetWrites();
        agent->MarkDirty(account);
      });
  in->agent_->Start();
  ownership->Start();
  Operations::Options o;
  o.threads = config.operation_threads();
  o.owner_ttl_ms = int64_t{config.task_owner_ttl_seconds()} * 1000;
  o.owner = absl::StrCat(host, ":", getpid(), ":", NewUlid());
  o.authorizer = authorizer;
  in->operations_ = std::make_unique<Operations>(in->tasks_.get(), providers,
                                                 in->agent_.get(), o);
  in->operations_->Start();
  in->reads_ = std::make_unique<Reads>(in->cache_.get(), std::move(accounts));
  in->images_ = std::make_unique<ImageSearch>(providers, authorizer);
  in->service_ =
      NewClouddriverGrpc(in->reads_.get(), in->operations_.get(),
                         in->agent_.get(), in->images_.get(), ownership);
  SPDLOG_INFO(
      "event=clouddriver_ready accounts={} owner={} address={} "
      "authorization={}",
      config.local_accounts_size(), o.owner, lease_options.address,
      authorizer != nullptr ? "fiat" : "off");
  return in;
}

}  // namespace gennaker::clouddriver
