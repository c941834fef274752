#include "services/orca/orca_server.h"

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/http/http_client.h"
#include "common/metrics/metrics.h"
#include "common/pg/listener.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "services/orca/clouddriver_client.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/pg_store.h"
#include "services/orca/engine/worker.h"
#include "services/orca/front50_client.h"
#include "services/orca/orca_grpc.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {

// Generated from deploy/sql/orca/.
std::vector<pg::Migration> Migrations();

namespace {

int Or(int value, int fallback) { return value > 0 ? value : fallback; }

// #pipelineId and #fromUrl for expressions.
class Lookups : public ExpressionServices {
 public:
  explicit Lookups(Front50* front50) : front50_(front50) {}
  absl::StatusOr<std::string> PipelineId(const std::string& application,
                                         const std::string& name) override {
    GENNAKER_ASSIGN_OR_RETURN(Json config,
                              front50_->PipelineByName(application, name));
    return Str(config, "id");
  }
  absl::StatusOr<std::string> FetchUrl(const std::string& url) override {
    http::ClientRequest req;
    req.url = url;
    req.timeout_ms = 10000;
    GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse resp, http::Fetch(req));
    if (resp.status >= 400) {
      return absl::FailedPreconditionError(
          absl::StrCat(url, " answered ", resp.status));
    }
    return resp.body;
  }

 private:
  Front50* front50_;
};

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
  }
  absl::Status CheckDependencies() override { return PingPostgres(*pool_); }

  SystemClock clock_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<Front50> front50_;
  std::unique_ptr<CloudDriver> clouddriver_;  // null without an address
  std::unique_ptr<Lookups> lookups_;
  Registry registry_;
  std::unique_ptr<PgStore> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<pg::Listener> listener_;
  std::unique_ptr<v1::OrcaService::Service> service_;
};

}  // namespace

absl::Status ValidateConfig(const v1::OrcaConfig& config) {
  const v1::EngineConfig& e = config.engine();
  for (auto [name, value] :
       {std::pair{"engine.workerThreads", e.worker_threads()},
        {"engine.leaseSeconds", e.lease_seconds()},
        {"engine.safetyPollMs", e.safety_poll_ms()},
        {"engine.retentionDays", e.retention_days()},
        {"engine.keepPerPipeline", e.keep_per_pipeline()},
        {"engine.maxHandlerAttempts", e.max_handler_attempts()},
        {"engine.webhookMaxAttempts", e.webhook_max_attempts()}}) {
    if (value < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": must not be negative"));
    }
  }
  if (e.worker_threads() > 64) {
    return absl::InvalidArgumentError("engine.workerThreads: at most 64");
  }
  if (config.services().front50().address().empty()) {
    return absl::InvalidArgumentError(
        "services.front50.address: orca needs front50 to start pipelines");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildOrca(
    const v1::OrcaConfig& config, Metrics* metrics) {
  auto in = std::make_unique<OrcaInstance>();
  const v1::EngineConfig& e = config.engine();
  int threads = Or(e.worker_threads(), 4);
  common::v1::PostgresConfig pg = config.postgres();
  // One connection per worker plus room for API calls.
  pg.set_pool_size(std::max(pg.pool_size(), threads + 4));
  GENNAKER_ASSIGN_OR_RETURN(in->pool_,
                            ConnectPostgres(pg, "orca", Migrations()));
  in->front50_ =
      NewFront50Grpc(MakeChannel(config.services().front50().address()));
  in->lookups_ = std::make_unique<Lookups>(in->front50_.get());
  StageDeps deps;
  deps.front50 = in->front50_.get();
  // Optional: without clouddriver its stages fail with a message saying so.
  if (!config.services().clouddriver().address().empty()) {
    in->clouddriver_ = NewCloudDriverGrpc(
        MakeChannel(config.services().clouddriver().address()));
    deps.clouddriver = in->clouddriver_.get();
  }
  deps.webhook_max_attempts = Or(e.webhook_max_attempts(), 10);
  deps.max_call_ms = std::min(30000, Or(e.lease_seconds(), 60) * 1000 / 2);
  RegisterBuiltinStages(&in->registry_, deps);
  in->store_ = std::make_unique<PgStore>(in->pool_.get(), &in->clock_,
                                         Or(e.lease_seconds(), 60));
  EngineOptions options;
  options.max_attempts = Or(e.max_handler_attempts(), 8);
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
  w.safety_poll_ms = Or(e.safety_poll_ms(), 2000);
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
                             in->front50_.get(), &in->clock_);
  return in;
}

}  // namespace gennaker::orca
