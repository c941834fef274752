#include "services/echo/echo_server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/http/outbound.h"
#include "common/http/outbound_config.h"
#include "common/log/log.h"
#include "common/pg/listener.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "services/echo/echo_clients.h"
#include "services/echo/echo_core.h"
#include "services/echo/echo_grpc.h"
#include "services/echo/store/pg_echo_store.h"

namespace gennaker::echo {

// Generated from deploy/sql/echo/.
std::vector<pg::Migration> Migrations();

namespace {

std::chrono::milliseconds DeadlineOf(const common::v1::EndpointConfig& e) {
  return std::chrono::milliseconds(e.deadline_ms() > 0 ? e.deadline_ms()
                                                       : 10000);
}

int LimitOf(const common::v1::EndpointConfig& e) {
  return e.max_message_bytes() > 0 ? e.max_message_bytes()
                                   : kDefaultMaxMessageBytes;
}

class EchoInstance : public ServiceInstance {
 public:
  ~EchoInstance() override {
    Stop();
    core_.reset();
  }

  std::vector<grpc::Service*> GrpcServices() override {
    return {service_.get()};
  }

  absl::Status StartExtra() override {
    EchoCore* core = core_.get();
    // NOTIFY from any instance wakes this one's workers; after a reconnect
    // (notifications may have been missed) too.
    listener_ = std::make_unique<pg::Listener>(
        config_.postgres().dsn(), kWakeChannel,
        [core](const std::string&) { core->Wake(); }, [core] { core->Wake(); });
    if (front50_stub_ != nullptr) {
      watcher_ = std::make_unique<Front50Watcher>(
          front50_stub_, [core] { core->RequestRefresh(); });
    }
    core_->Start();
    return absl::OkStatus();
  }

  void Stop() override {
    watcher_.reset();
    listener_.reset();
    if (core_) core_->Stop();
  }

  absl::Status CheckDependencies() override { return PingPostgres(*pool_); }

  v1::EchoConfig config_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgEchoStore> store_;
  std::unique_ptr<http::OutboundClient> outbound_;
  std::shared_ptr<front50::v1::Front50Service::StubInterface> front50_stub_;
  std::unique_ptr<GrpcOrcaClient> orca_;
  std::unique_ptr<GrpcFront50Client> front50_;
  std::unique_ptr<GrpcIgorSource> igor_;
  std::unique_ptr<EchoCore> core_;
  std::unique_ptr<v1::EchoService::Service> service_;
  std::unique_ptr<pg::Listener> listener_;
  std::unique_ptr<Front50Watcher> watcher_;
};

absl::StatusOr<std::unique_ptr<http::OutboundClient>> MakeOutbound(
    const v1::EchoConfig& config) {
  absl::StatusOr<std::unique_ptr<http::OutboundClient>> c =
      http::OutboundClient::Create(
          http::OutboundPolicyFromConfig(config.outbound()));
  if (!c.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("outbound: ", c.status().message()));
  }
  return c;
}

}  // namespace

void ApplyEchoDefaults(v1::EchoConfig* config) {
  v1::EventsConfig* e = config->mutable_events();
  e->set_worker_threads(kDefaultWorkerThreads);
  e->set_claim_seconds(kDefaultClaimSeconds);
  e->set_max_attempts(kDefaultMaxAttempts);
  e->set_retention_days(kDefaultRetentionDays);
  e->set_pipeline_poll_ms(kDefaultPipelinePollMs);
  e->set_max_webhook_bytes(kDefaultMaxWebhookBytes);
  config->mutable_scheduler()->set_time_zone(kDefaultTimeZone);
  config->mutable_scheduler()->set_misfire_threshold_ms(
      kDefaultMisfireThresholdMs);
  config->mutable_notifications()->set_max_attempts(
      kDefaultNotificationAttempts);
}

absl::Status ValidateConfig(const v1::EchoConfig& config) {
  absl::StatusOr<absl::TimeZone> zone = LoadZone(
      config.scheduler().time_zone().empty() ? kDefaultTimeZone
                                             : config.scheduler().time_zone());
  if (!zone.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("scheduler.timeZone: ", zone.status().message()));
  }
  if (config.services().orca().address().empty()) {
    return absl::InvalidArgumentError(
        "services.orca.address: echo needs orca to start pipelines");
  }
  if (config.services().front50().address().empty()) {
    return absl::InvalidArgumentError(
        "services.front50.address: echo needs front50 for pipeline configs");
  }
  GENNAKER_ASSIGN_OR_RETURN(auto outbound, MakeOutbound(config));
  absl::StatusOr<std::vector<std::unique_ptr<NotificationSender>>> senders =
      BuildSenders(config.notifications(), outbound.get());
  if (!senders.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("notifications: ", senders.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildEcho(
    const v1::EchoConfig& config, Metrics* metrics) {
  auto instance = std::make_unique<EchoInstance>();
  instance->config_ = config;
  GENNAKER_ASSIGN_OR_RETURN(instance->outbound_, MakeOutbound(config));
  GENNAKER_ASSIGN_OR_RETURN(
      auto senders,
      BuildSenders(config.notifications(), instance->outbound_.get()));
  GENNAKER_ASSIGN_OR_RETURN(
      instance->pool_,
      ConnectPostgres(config.postgres(), "echo", Migrations()));
  instance->store_ = std::make_unique<PgEchoStore>(instance->pool_.get());

  const common::v1::EndpointConfig& orca = config.services().orca();
  instance->orca_ = std::make_unique<GrpcOrcaClient>(
      orca::v1::OrcaService::NewStub(
          MakeChannel(orca.address(), LimitOf(orca))),
      DeadlineOf(orca));
  const common::v1::EndpointConfig& f50 = config.services().front50();
  auto f50_channel = MakeChannel(f50.address(), LimitOf(f50));
  instance->front50_stub_ = front50::v1::Front50Service::NewStub(f50_channel);
  instance->front50_ = std::make_unique<GrpcFront50Client>(
      front50::v1::Front50Service::NewStub(f50_channel), DeadlineOf(f50),
      LimitOf(f50) - (1 << 20));
  const common::v1::EndpointConfig& igor = config.services().igor();
  if (!igor.address().empty()) {
    instance->igor_ = std::make_unique<GrpcIgorSource>(
        igor::v1::IgorService::NewStub(
            MakeChannel(igor.address(), LimitOf(igor))),
        DeadlineOf(igor));
  } else {
    SPDLOG_WARN(
        "event=echo_igor_missing reason=not_configured "
        "effect=build_triggers_start_without_buildInfo");
  }

  const v1::EventsConfig& e = config.events();
  CoreOptions o;
  o.worker_threads =
      e.worker_threads() > 0 ? e.worker_threads() : kDefaultWorkerThreads;
  o.claim_seconds =
      e.claim_seconds() > 0 ? e.claim_seconds() : kDefaultClaimSeconds;
  o.max_attempts =
      e.max_attempts() > 0 ? e.max_attempts() : kDefaultMaxAttempts;
  o.retention_days =
      e.retention_days() > 0 ? e.retention_days() : kDefaultRetentionDays;
  o.pipeline_poll_ms =
      e.pipeline_poll_ms() > 0 ? e.pipeline_poll_ms() : kDefaultPipelinePollMs;
  o.git_shared_secret = e.git_shared_secret();
  o.max_webhook_bytes = e.max_webhook_bytes() > 0 ? e.max_webhook_bytes()
                                                  : kDefaultMaxWebhookBytes;
  o.scheduler_enabled = !config.scheduler().disabled();
  o.time_zone = config.scheduler().time_zone().empty()
                    ? kDefaultTimeZone
                    : config.scheduler().time_zone();
  o.misfire_threshold_ms = config.scheduler().misfire_threshold_ms() > 0
                               ? config.scheduler().misfire_threshold_ms()
                               : kDefaultMisfireThresholdMs;
  o.spinnaker_base_url = config.notifications().spinnaker_base_url();
  o.metrics = metrics;
  o.notification_max_attempts = config.notifications().max_attempts() > 0
                                    ? config.notifications().max_attempts()
                                    : kDefaultNotificationAttempts;
  GENNAKER_ASSIGN_OR_RETURN(
      instance->core_,
      EchoCore::Create(instance->store_.get(), instance->orca_.get(),
                       instance->front50_.get(), instance->igor_.get(),
                       std::move(senders), SystemClock(), o));
  instance->service_ = NewEchoGrpcService(instance->core_.get());
  return instance;
}

}  // namespace gennaker::echo
