#include "services/orca/orca_server.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/fiat/authorizer.h"
#include "common/grpc/channel.h"
#include "common/http/outbound.h"
#include "common/http/outbound_config.h"
#include "common/metrics/metrics.h"
#include "common/pg/listener.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "services/orca/artifacts.h"
#include "services/orca/clouddriver_client.h"
#include "services/orca/echo_events.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/pg_store.h"
#include "services/orca/engine/worker.h"
#include "services/orca/expression_lookups.h"
#include "services/orca/front50_client.h"
#include "services/orca/igor_client.h"
#include "services/orca/kayenta_client.h"
#include "services/orca/orca_grpc.h"
#include "services/orca/rosco_client.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/ci_stages.h"
#include "services/orca/stages/kayenta_stage.h"

namespace gennaker::orca {

// Generated from deploy/sql/orca/.
std::vector<pg::Migration> Migrations();

namespace {

class OrcaInstance : public ServiceInstance {
 public:
  std::vector<grpc::Service*> GrpcServices() override {
    return {service_.get()};
  }
  absl::Status StartExtra() override {
    worker_->Start();
    return absl::OkStatus();
  }
  void Stop() override {
    listener_.reset();
    worker_->Stop();
    // The last events of executions that just ended, if echo takes them
    // promptly; what remains is lost (echo_events.h).
    if (echo_events_ != nullptr) {
      echo_events_->Flush(std::chrono::milliseconds(2000));
    }
  }
  absl::Status CheckDependencies() override { return PingPostgres(*pool_); }

  SystemClock clock_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<Front50> front50_;
  // Disabled unless authorization.enabled.
  std::shared_ptr<fiat::Authorizer> authorizer_;
  std::unique_ptr<CloudDriver> clouddriver_;  // null without an address
  // clouddriver_ behind fiat's account check (authorization enabled).
  std::unique_ptr<CloudDriver> checked_clouddriver_;
  std::unique_ptr<Kayenta> kayenta_;  // null without an address
  std::unique_ptr<Igor> igor_;        // null without an address
  std::unique_ptr<Rosco> rosco_;      // null without an address
  // Execution events to echo; null without an address (no events).
  std::unique_ptr<EchoEventPublisher> echo_events_;
  // Outbound HTTP under the operator's policy: one client for expression
  // fetches, one for webhook stages (their deadlines differ).
  std::unique_ptr<http::OutboundClient> fetches_;
  std::unique_ptr<http::OutboundClient> webhooks_;
  std::unique_ptr<ExpressionLookups> lookups_;
  Registry registry_;
  std::unique_ptr<PgStore> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<pg::Listener> listener_;
  std::unique_ptr<v1::OrcaService::Service> service_;
};

}  // namespace

void ApplyOrcaDefaults(v1::OrcaConfig* config) {
  v1::EngineConfig* e = config->mutable_engine();
  e->set_worker_threads(4);
  e->set_lease_seconds(60);
  e->set_safety_poll_ms(2000);
  e->set_max_handler_attempts(8);
  e->set_webhook_max_attempts(10);
  // retention_days and keep_per_pipeline stay 0: keep every execution.
}

absl::Status ValidateConfig(const v1::OrcaConfig& config) {
  if (config.services().front50().address().empty()) {
    return absl::InvalidArgumentError(
        "services.front50.address: orca needs front50 to start pipelines");
  }
  if (config.authorization().enabled() &&
      config.services().fiat().address().empty()) {
    return absl::InvalidArgumentError(
        "services.fiat.address: authorization.enabled needs fiat");
  }
  // A regex or CIDR that does not parse is a config error, found before
  // anything starts.
  absl::Status outbound = http::OutboundClient::Create(
                              http::OutboundPolicyFromConfig(config.outbound()))
                              .status();
  if (!outbound.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("outbound: ", outbound.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildOrca(
    const v1::OrcaConfig& config, Metrics* metrics) {
  auto in = std::make_unique<OrcaInstance>();
  const v1::EngineConfig& e = config.engine();
  const int threads = e.worker_threads();
  common::v1::PostgresConfig pg = config.postgres();
  // Two connections per worker (a claim, and the durable count of handling
  // attempts made while the claim is held) plus room for API calls.
  pg.set_pool_size(std::max(pg.pool_size(), 2 * threads + 4));
  // Checked again here: a config built in code skips ValidateConfig.
  if (config.authorization().enabled()) {
    const common::v1::EndpointConfig& f = config.services().fiat();
    if (f.address().empty()) {
      return absl::InvalidArgumentError(
          "services.fiat.address: authorization.enabled needs fiat");
    }
    in->authorizer_ = std::make_shared<fiat::Authorizer>(
        fiat::MakeGrpcPermissionSource(
            fiat::v1::FiatService::NewStub(
                MakeChannel(f.address(), f.max_message_bytes())),
            std::chrono::milliseconds(f.deadline_ms() > 0 ? f.deadline_ms()
                                                          : 5000)),
        config.authorization());
  } else {
    in->authorizer_ = fiat::Authorizer::Disabled();
  }
  GENNAKER_ASSIGN_OR_RETURN(in->pool_,
                            ConnectPostgres(pg, "orca", Migrations()));
  in->front50_ = NewFront50Grpc(
      MakeChannel(config.services().front50().address(),
                  config.services().front50().max_message_bytes()));
  // Expression fetches run on the workers: each ends well within a lease,
  // and at most half the workers wait on URLs at once.
  const int lease_ms = e.lease_seconds() * 1000;
  http::OutboundPolicy policy =
      http::OutboundPolicyFromConfig(config.outbound());
  http::OutboundPolicy fetch_policy = policy;
  fetch_policy.timeout_ms =
      std::max(1, std::min(policy.timeout_ms, lease_ms / 4));
  GENNAKER_ASSIGN_OR_RETURN(in->fetches_,
                            http::OutboundClient::Create(fetch_policy));
  in->lookups_ = std::make_unique<ExpressionLookups>(
      in->front50_.get(), in->fetches_.get(), std::max(1, threads / 2));
  StageDeps deps;
  deps.front50 = in->front50_.get();
  deps.authorizer = in->authorizer_.get();
  // A child pipeline's usePriorArtifact reads the store, created below: the
  // lookup reaches it through `in` once tasks run.
  deps.prior_artifacts = [raw = in.get()](const std::string& application,
                                          const std::string& config_id) {
    return PriorArtifactsFromStore(raw->store_.get())(application, config_id);
  };
  // Optional: without clouddriver its stages fail with a message saying so.
  if (!config.services().clouddriver().address().empty()) {
    in->clouddriver_ = NewCloudDriverGrpc(
        MakeChannel(config.services().clouddriver().address(),
                    config.services().clouddriver().max_message_bytes()));
    deps.clouddriver = in->clouddriver_.get();
    // A deploy needs WRITE on its account for the execution's user.
    if (in->authorizer_->enabled()) {
      in->checked_clouddriver_ =
          WithAccountChecks(in->clouddriver_.get(), in->authorizer_);
      deps.clouddriver = in->checked_clouddriver_.get();
    }
  }
  deps.webhook_max_attempts = e.webhook_max_attempts();
  deps.max_call_ms = std::min(30000, lease_ms / 2);
  // A webhook's own webhookTimeoutMs may exceed the policy's default
  // deadline, up to max_call_ms; an operator's explicit timeout still caps it.
  http::OutboundPolicy webhook_policy = policy;
  webhook_policy.timeout_ms =
      config.outbound().timeout_ms() > 0
          ? std::min(policy.timeout_ms, deps.max_call_ms)
          : deps.max_call_ms;
  GENNAKER_ASSIGN_OR_RETURN(in->webhooks_,
                            http::OutboundClient::Create(webhook_policy));
  deps.outbound = in->webhooks_.get();
  RegisterBuiltinStages(&in->registry_, deps);
  // Optional: without rosco, bake stages fail saying so.
  if (const auto& ro = config.services().rosco(); !ro.address().empty()) {
    in->rosco_ =
        NewRoscoGrpc(MakeChannel(ro.address(), ro.max_message_bytes()),
                     std::chrono::milliseconds(
                         ro.deadline_ms() > 0 ? ro.deadline_ms() : 10000));
    deps.rosco = in->rosco_.get();
  }
  RegisterBakeStages(&in->registry_, deps);
  // Optional: without kayenta, kayentaCanary stages fail saying so.
  if (const auto& k = config.services().kayenta(); !k.address().empty()) {
    in->kayenta_ =
        NewKayentaGrpc(MakeChannel(k.address(), k.max_message_bytes()),
                       std::chrono::milliseconds(
                           k.deadline_ms() > 0 ? k.deadline_ms() : 10000));
  }
  RegisterKayentaStage(&in->registry_, in->kayenta_.get());
  // Optional: without igor, jenkins and travis stages fail saying so. They
  // poll igor every 2 s (CiStageOptions).
  if (const auto& i = config.services().igor(); !i.address().empty()) {
    in->igor_ = NewIgorGrpc(MakeChannel(i.address(), i.max_message_bytes()),
                            std::chrono::milliseconds(
                                i.deadline_ms() > 0 ? i.deadline_ms() : 10000));
  }
  RegisterCiStages(&in->registry_, in->igor_.get());
  // Optional: without echo no execution events are posted.
  if (const auto& ec = config.services().echo(); !ec.address().empty()) {
    EchoPublisherOptions po;
    if (ec.deadline_ms() > 0) {
      po.deadline = std::chrono::milliseconds(ec.deadline_ms());
    }
    in->echo_events_ = NewEchoEventPublisher(
        MakeChannel(ec.address(), ec.max_message_bytes()), po);
  }
  in->store_ = std::make_unique<PgStore>(in->pool_.get(), &in->clock_,
                                         e.lease_seconds());
  EngineOptions options;
  options.max_attempts = e.max_handler_attempts();
  // Deaths of the process while handling one message count like failed
  // attempts: a kill -9 that happens to hit the same message a few times
  // must not fail a healthy execution.
  options.max_crashes = e.max_handler_attempts();
  // Test hook for the crash-recovery tests; unset in any real deployment.
  if (const char* crash_on = std::getenv("GENNAKER_TEST_CRASH_ON")) {
    options.crash_on_stage_type = crash_on;
  }
  options.events = in->echo_events_.get();
  options.observer = [metrics](const std::string& kind, int64_t latency_us) {
    if (metrics != nullptr) {
      metrics->RecordRequest("queue", kind, "claimed",
                             static_cast<double>(latency_us) / 1e6);
    }
  };
  in->engine_ =
      std::make_unique<Engine>(in->store_.get(), &in->registry_, &in->clock_,
                               in->lookups_.get(), options);
  WorkerOptions w;
  w.threads = threads;
  w.safety_poll_ms = e.safety_poll_ms();
  w.retention_days = e.retention_days();
  w.keep_per_pipeline = e.keep_per_pipeline();
  PgStore* store = in->store_.get();
  w.stranded_configs = [store] { return store->StrandedConfigs(); };
  in->worker_ = std::make_unique<Worker>(in->engine_.get(), in->store_.get(),
                                         &in->clock_, w);
  Worker* worker = in->worker_.get();
  in->listener_ = std::make_unique<pg::Listener>(
      config.postgres().dsn(), kQueueChannel,
      [worker](const std::string&) { worker->Wake(); },
      [worker] { worker->Wake(); });
  in->service_ = NewOrcaGrpc(in->engine_.get(), in->store_.get(),
                             in->front50_.get(), &in->clock_, in->authorizer_);
  return in;
}

}  // namespace gennaker::orca
