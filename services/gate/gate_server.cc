#include "services/gate/gate_server.h"

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/http/http_server.h"
#include "common/json/json_fields.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/service/stores.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/version.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "gennaker/gate/v1/gate.grpc.pb.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "re2/re2.h"
#include "services/gate/gate_executions.h"
#include "services/gate/gate_rest.h"

namespace gennaker::gate {
namespace {

// The gRPC API: version, identity, applications (front50) and executions
// (orca).
class GateGrpcService final : public v1::GateService::Service {
 public:
  explicit GateGrpcService(std::string version)
      : version_(std::move(version)) {}

  // Must be called before serving.
  void SetFront50(std::shared_ptr<grpc::Channel> channel,
                  std::chrono::milliseconds deadline) {
    front50_ = front50::v1::Front50Service::NewStub(std::move(channel));
    deadline_ = deadline;
  }

  // Must be called before serving.
  void SetOrca(std::shared_ptr<grpc::Channel> channel,
               std::chrono::milliseconds deadline) {
    orca_ = orca::v1::OrcaService::NewStub(std::move(channel));
    orca_deadline_ = deadline;
  }

  grpc::Status ListApplications(
      grpc::ServerContext*, const v1::ListApplicationsRequest*,
      v1::ListApplicationsResponse* response) override {
    front50::v1::ListApplicationsResponse apps;
    grpc::Status s = front50_->ListApplications(
        MakeClientContext(deadline_).get(), {}, &apps);
    if (!s.ok()) return s;
    for (auto& a : *apps.mutable_applications()) {
      *response->add_applications()->mutable_application() = std::move(a);
    }
    return grpc::Status::OK;
  }

  grpc::Status GetApplication(grpc::ServerContext*,
                              const v1::GetApplicationRequest* request,
                              v1::GetApplicationResponse* response) override {
    front50::v1::GetApplicationRequest req;
    req.set_name(request->name());
    front50::v1::GetApplicationResponse app;
    grpc::Status s =
        front50_->GetApplication(MakeClientContext(deadline_).get(), req, &app);
    if (!s.ok()) return s;
    *response->mutable_application()->mutable_application() =
        std::move(*app.mutable_application());
    return grpc::Status::OK;
  }

  // Starts a stored pipeline by name or config id, like REST POST
  // /pipelines/{app}/{pipelineNameOrId}.
  grpc::Status TriggerPipeline(grpc::ServerContext*,
                               const v1::TriggerPipelineRequest* request,
                               v1::TriggerPipelineResponse* response) override {
    if (request->application().empty() ||
        request->pipeline_name_or_id().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "application and pipeline_name_or_id are required");
    }
    const std::string& user = CurrentCallContext().user;
    auto trigger = PrepareTrigger(request->trigger().json(),
                                  user.empty() ? "anonymous" : user);
    if (!trigger.ok()) return ToGrpcStatus(trigger.status());
    orca::v1::StartPipelineRequest req;
    req.set_application(request->application());
    req.mutable_trigger()->set_json(json::Dump(*trigger));
    *req.mutable_parameters() = request->parameters();
    req.set_idempotency_key(request->idempotency_key());
    req.set_origin("api");
    orca::v1::StartPipelineResponse started;
    grpc::Status s = StartStoredPipeline(
        *orca_, orca_deadline_, request->pipeline_name_or_id(), req, &started);
    if (!s.ok()) return s;
    response->set_ref("/pipelines/" + started.execution().id());
    *response->mutable_execution() = std::move(*started.mutable_execution());
    response->set_status(started.status());
    return grpc::Status::OK;
  }

  grpc::Status GetExecution(grpc::ServerContext*,
                            const v1::GetExecutionRequest* request,
                            v1::GetExecutionResponse* response) override {
    orca::v1::GetExecutionRequest req;
    req.set_id(request->id());
    req.set_view(request->view());
    orca::v1::GetExecutionResponse found;
    grpc::Status s = orca_->GetExecution(
        MakeClientContext(orca_deadline_).get(), req, &found);
    if (!s.ok()) return s;
    *response->mutable_execution() = std::move(*found.mutable_execution());
    return grpc::Status::OK;
  }

  grpc::Status GetVersion(grpc::ServerContext*, const v1::GetVersionRequest*,
                          v1::GetVersionResponse* response) override {
    response->set_version(version_);
    return grpc::Status::OK;
  }

  grpc::Status GetCurrentUser(grpc::ServerContext*,
                              const v1::GetCurrentUserRequest*,
                              v1::GetCurrentUserResponse* response) override {
    const std::string& user = CurrentCallContext().user;
    response->set_username(user.empty() ? "anonymous" : user);
    return grpc::Status::OK;
  }

 private:
  std::string version_;
  std::unique_ptr<front50::v1::Front50Service::Stub> front50_;
  std::chrono::milliseconds deadline_{10000};
  std::unique_ptr<orca::v1::OrcaService::Stub> orca_;
  std::chrono::milliseconds orca_deadline_{10000};
};

class GateInstance : public ServiceInstance {
 public:
  GateInstance(const v1::GateConfig& config, Metrics* metrics)
      : config_(config), metrics_(metrics), grpc_service_(config.version()) {
    grpc_service_.SetFront50(
        MakeChannel(config.services().front50().address()),
        std::chrono::milliseconds(config.services().front50().deadline_ms()));
    grpc_service_.SetOrca(
        MakeChannel(config.services().orca().address()),
        std::chrono::milliseconds(config.services().orca().deadline_ms()));
  }

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
    const auto& deps = config_.services();
    RestBackends backends;
    backends.front50 = MakeChannel(deps.front50().address());
    backends.orca = MakeChannel(deps.orca().address());
    backends.clouddriver = MakeChannel(deps.clouddriver().address());
    backends.deadline = std::chrono::milliseconds(deps.front50().deadline_ms());
    backends.orca_deadline =
        std::chrono::milliseconds(deps.orca().deadline_ms());
    backends.clouddriver_deadline =
        std::chrono::milliseconds(deps.clouddriver().deadline_ms());
    backends.version = config_.version();
    backends.cors_allowed_origins = config_.cors_allowed_origins();
    GENNAKER_ASSIGN_OR_RETURN(
        rest_, http::Server::Start(options, MakeRestRouter(backends)));
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
  GateGrpcService grpc_service_;
  std::unique_ptr<http::Server> rest_;
};

}  // namespace

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
  return absl::OkStatus();
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
