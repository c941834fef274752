#include "services/kayenta/kayenta_server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/http/http_server.h"
#include "common/http/outbound_config.h"
#include "common/log/log.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "services/kayenta/kayenta_core.h"
#include "services/kayenta/kayenta_grpc.h"
#include "services/kayenta/metrics/prometheus.h"
#include "services/kayenta/store/pg_kayenta_store.h"
#ifdef GENNAKER_HAVE_KAYENTA_REST
#include "services/kayenta/rest/kayenta_rest.h"
#endif

namespace gennaker::kayenta {

// Generated from deploy/sql/kayenta/.
std::vector<pg::Migration> Migrations();

namespace {

constexpr std::chrono::milliseconds kRestDeadline{60000};

class KayentaInstance : public ServiceInstance {
 public:
  ~KayentaInstance() override {
    Stop();
    core_.reset();
  }

  std::vector<grpc::Service*> GrpcServices() override {
    return {service_.get()};
  }

  absl::Status StartExtra() override {
    GENNAKER_RETURN_IF_ERROR(core_->Start());
    if (config_.http_port() <= 0) return absl::OkStatus();
    // The REST API calls the gRPC API in-process: one implementation, and
    // the same validation and errors for both.
    grpc::ServerBuilder builder;
    builder.SetMaxReceiveMessageSize(64 << 20);
    builder.SetMaxSendMessageSize(64 << 20);
    builder.RegisterService(inproc_service_.get());
    inproc_server_ = builder.BuildAndStart();
    if (inproc_server_ == nullptr) {
      return absl::InternalError("cannot start the in-process gRPC server");
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(64 << 20);
    std::shared_ptr<v1::KayentaService::StubInterface> stub =
        v1::KayentaService::NewStub(inproc_server_->InProcessChannel(args));
    http::Router router;
    // THE place where Kayenta's REST routes are registered.
#ifdef GENNAKER_HAVE_KAYENTA_REST
    AddKayentaRestRoutes(router, stub, kRestDeadline);
#else
    (void)stub;
    (void)kRestDeadline;
    SPDLOG_WARN("event=kayenta_rest_missing reason=not_built");
#endif
    http::ServerOptions options;
    options.host = config_.server().host();
    options.port = config_.http_port();
    options.threads = std::max(2, config_.server().http_threads());
    options.metrics = metrics_;
    GENNAKER_ASSIGN_OR_RETURN(rest_,
                              http::Server::Start(options, std::move(router)));
    SPDLOG_INFO("Kayenta REST API on http://{}:{}", options.host,
                rest_->port());
    return absl::OkStatus();
  }

  void Stop() override {
    if (rest_) rest_->Stop();
    if (inproc_server_) {
      inproc_server_->Shutdown();
      inproc_server_.reset();
    }
    if (core_) core_->Stop();
  }

  absl::Status CheckDependencies() override { return PingPostgres(*pool_); }

  v1::KayentaConfig config_;
  Metrics* metrics_ = nullptr;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgKayentaStore> store_;
  std::unique_ptr<KayentaCore> core_;
  std::unique_ptr<v1::KayentaService::Service> service_;
  std::unique_ptr<v1::KayentaService::Service> inproc_service_;
  std::unique_ptr<grpc::Server> inproc_server_;
  std::unique_ptr<http::Server> rest_;
};

}  // namespace

void ApplyKayentaDefaults(v1::KayentaConfig* config) {
  config->mutable_runner()->set_worker_threads(kDefaultWorkerThreads);
  config->mutable_runner()->set_fetch_attempts(kDefaultFetchAttempts);
  config->mutable_runner()->set_fetch_timeout_ms(kDefaultFetchTimeoutMs);
}

absl::StatusOr<std::vector<std::unique_ptr<MetricsSource>>> BuildSources(
    const v1::KayentaConfig& config) {
  http::OutboundPolicy policy =
      http::OutboundPolicyFromConfig(config.outbound());
  if (config.runner().fetch_timeout_ms() > 0) {
    policy.timeout_ms = config.runner().fetch_timeout_ms();
  }
  const int attempts = std::max(1, config.runner().fetch_attempts());
  std::vector<std::unique_ptr<MetricsSource>> out;
  std::set<std::string> names;
  for (int i = 0; i < config.prometheus_size(); ++i) {
    const v1::PrometheusAccount& a = config.prometheus(i);
    if (!names.insert(a.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("prometheus[", i, "].name: account '", a.name(),
                       "' is defined twice"));
    }
    absl::StatusOr<std::unique_ptr<MetricsSource>> s =
        NewPrometheusSource(a, policy, attempts);
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "prometheus[", i, "] (", a.name(), "): ", s.status().message()));
    }
    out.push_back(*std::move(s));
  }
  return out;
}

absl::Status ValidateConfig(const v1::KayentaConfig& config) {
  const int port = config.http_port();
  if (port > 0 && (port == config.server().grpc_port() ||
                   port == config.server().admin_port())) {
    return absl::InvalidArgumentError(
        "httpPort: must differ from server.grpcPort/adminPort");
  }
  return BuildSources(config).status();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildKayenta(
    const v1::KayentaConfig& config, Metrics* metrics) {
  auto instance = std::make_unique<KayentaInstance>();
  instance->config_ = config;
  instance->metrics_ = metrics;
  GENNAKER_ASSIGN_OR_RETURN(auto sources, BuildSources(config));
  GENNAKER_ASSIGN_OR_RETURN(
      instance->pool_,
      ConnectPostgres(config.postgres(), "kayenta", Migrations()));
  instance->store_ = std::make_unique<PgKayentaStore>(instance->pool_.get());
  CoreOptions options;
  options.worker_threads = config.runner().worker_threads() > 0
                               ? config.runner().worker_threads()
                               : kDefaultWorkerThreads;
  instance->core_ = std::make_unique<KayentaCore>(
      instance->store_.get(), std::move(sources), SystemClock(), options);
  instance->service_ = NewKayentaGrpcService(instance->core_.get());
  instance->inproc_service_ = NewKayentaGrpcService(instance->core_.get());
  return instance;
}

}  // namespace gennaker::kayenta
