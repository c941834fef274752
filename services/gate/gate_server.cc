#include "services/gate/gate_server.h"

#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "common/version.h"
#include "re2/re2.h"
#include "services/gate/gate_backend.h"
#include "services/gate/gate_grpc.h"
#include "services/gate/gate_rest.h"

namespace gennaker::gate {
namespace {

class GateInstance : public ServiceInstance {
 public:
  GateInstance(const v1::GateConfig& config, Metrics* metrics)
      : config_(config),
        metrics_(metrics),
        // One set of backend stubs for the gRPC API and every REST route.
        backends_(std::make_shared<const Backends>(
            ConnectBackends(config.services()))),
        grpc_service_(config.version(), backends_) {}

  std::vector<grpc::Service*> GrpcServices() override {
    return {&grpc_service_};
  }

  absl::Status StartExtra() override {
    http::ServerOptions options;
    options.host = config_.server().host();
    options.port = config_.http_port();
    options.threads = config_.server().http_threads();
    options.max_body_bytes = config_.max_body_bytes();
    options.metrics = metrics_;
    RestOptions rest;
    rest.version = config_.version();
    rest.cors_allowed_origins = config_.cors_allowed_origins();
    GENNAKER_ASSIGN_OR_RETURN(
        rest_, http::Server::Start(options, MakeRestRouter(backends_, rest)));
    SPDLOG_INFO("REST API on http://{}:{}", options.host, rest_->port());
    return absl::OkStatus();
  }

  void Stop() override {
    if (rest_) rest_->Stop();
  }

  absl::Status CheckDependencies() override { return PingRedis(*redis_); }

  std::unique_ptr<redis::Client> redis_;

 private:
  v1::GateConfig config_;
  Metrics* metrics_;
  std::shared_ptr<const Backends> backends_;
  GateGrpcService grpc_service_;
  std::unique_ptr<http::Server> rest_;
};

}  // namespace

void ApplyGateDefaults(v1::GateConfig* config) {
  config->set_http_port(kDefaultHttpPort);
  config->set_max_body_bytes(kDefaultMaxBodyBytes);
  config->set_cors_allowed_origins(kDefaultCorsAllowedOrigins);
}

absl::Status ValidateConfig(const v1::GateConfig& config) {
  int port = config.http_port();
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError("httpPort: must be in 1..65535");
  }
  if (port == config.server().grpc_port() ||
      port == config.server().admin_port()) {
    return absl::InvalidArgumentError(
        "httpPort: must differ from server.grpcPort/adminPort");
  }
  if (!RE2(config.cors_allowed_origins(), RE2::Quiet).ok()) {
    return absl::InvalidArgumentError("corsAllowedOrigins: invalid regex");
  }
  if (config.max_body_bytes() < 1024) {
    return absl::InvalidArgumentError("maxBodyBytes: must be at least 1024");
  }
  // A body gate accepts must reach storage, not fail one hop behind it.
  return CheckBodyFitsBackends(config.max_body_bytes(), config.services());
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildGate(
    const v1::GateConfig& config, Metrics* metrics) {
  v1::GateConfig effective = config;
  if (effective.version().empty()) effective.set_version(kVersion);
  auto instance = std::make_unique<GateInstance>(effective, metrics);
  GENNAKER_ASSIGN_OR_RETURN(instance->redis_, ConnectRedis(config.redis()));
  return instance;
}

}  // namespace gennaker::gate
