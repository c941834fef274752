#include "services/halyard/daemon.h"

#include "absl/strings/str_cat.h"
#include "common/config/config_loader.h"
#include "common/http/http_client.h"
#include "common/service/defaults.h"
#include "common/spinnaker/json.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "gennaker/halyard/v1/halyard.grpc.pb.h"
#include "services/halyard/deployer.h"
#include "services/halyard/halconfig.h"

namespace gennaker::halyard {
namespace {

// The daemon reports and runs a LOCAL deployment only; a Kubernetes one is
// driven by the CLI (kubectl) and must not be reported as local processes.
grpc::Status NotForKubernetes(const v1::Halconfig& config,
                              absl::string_view what) {
  return grpc::Status(
      grpc::StatusCode::FAILED_PRECONDITION,
      absl::StrCat("the deploymentEnvironment of '", config.name(),
                   "' is KUBERNETES: the halyard daemon ", what,
                   " only a LOCAL deployment; use the CLI (`halyard deploy "
                   "status|apply|rollback`, which drives kubectl) or kubectl"));
}

class HalyardGrpcService final : public v1::HalyardService::Service {
 public:
  explicit HalyardGrpcService(std::string path) : path_(std::move(path)) {}

  grpc::Status GetConfig(grpc::ServerContext*, const v1::GetConfigRequest*,
                         v1::GetConfigResponse* response) override {
    auto config = LoadHalconfig(path_);
    if (!config.ok()) return ToGrpcStatus(config.status());
    // Store passwords stay in the file.
    const v1::Halconfig shown = RedactedHalconfig(*config);
    response->set_path(path_);
    response->set_yaml(config::ToYaml(shown));
    *response->mutable_config() = shown;
    return grpc::Status::OK;
  }

  grpc::Status ValidateConfig(grpc::ServerContext*,
                              const v1::ValidateConfigRequest* request,
                              v1::ValidateConfigResponse* response) override {
    auto config = ParseHalconfig(request->yaml(), "yaml");
    if (!config.ok()) {
      v1::ValidationProblem* p = response->add_problems();
      p->set_message(std::string(config.status().message()));
      return grpc::Status::OK;
    }
    for (auto& p : Validate(*config)) *response->add_problems() = std::move(p);
    return grpc::Status::OK;
  }

  grpc::Status GetDeploymentStatus(
      grpc::ServerContext*, const v1::GetDeploymentStatusRequest*,
      v1::GetDeploymentStatusResponse* response) override {
    auto config = LoadHalconfig(path_);
    if (!config.ok()) return ToGrpcStatus(config.status());
    if (KubernetesDeployment(*config)) {
      return NotForKubernetes(*config, "reports the status of");
    }
    LocalDeployer deployer(path_, [](const std::string&) {});
    auto status = deployer.Status(*config);
    if (!status.ok()) return ToGrpcStatus(status.status());
    *response = std::move(*status);
    return grpc::Status::OK;
  }

  grpc::Status GetVersions(grpc::ServerContext*, const v1::GetVersionsRequest*,
                           v1::GetVersionsResponse* response) override {
    auto config = LoadHalconfig(path_);
    if (!config.ok()) return ToGrpcStatus(config.status());
    if (KubernetesDeployment(*config)) {
      return NotForKubernetes(*config, "reports the versions of");
    }
    response->set_deployment_version(config->version());
    // Each running service reports its version on its admin /health endpoint.
    for (absl::string_view name : kServiceNames) {
      if (!Enabled(*config, name)) continue;
      const v1::ServiceSettings& s = Settings(*config, name);
      http::ClientRequest request;
      request.url =
          absl::StrCat("http://", s.host(), ":", s.admin_port(), "/health");
      request.timeout_ms = 1000;
      auto reply = http::Fetch(request);
      std::string version = "unreachable";
      if (reply.ok() && reply->status == 200) {
        auto body = spinnaker::ParseJson(reply->body, "health");
        if (body.ok() && body->is_object()) {
          version = spinnaker::String(*body, "version", "unknown");
        }
      }
      (*response->mutable_service_versions())[std::string(name)] = version;
    }
    return grpc::Status::OK;
  }

  grpc::Status ApplyDeployment(grpc::ServerContext*,
                               const v1::ApplyDeploymentRequest*,
                               v1::ApplyDeploymentResponse*) override {
    return NotHere("applies");
  }

  grpc::Status RollbackDeployment(grpc::ServerContext*,
                                  const v1::RollbackDeploymentRequest*,
                                  v1::RollbackDeploymentResponse*) override {
    return NotHere("rolls back");
  }

 private:
  // Apply and rollback run from the CLI, for either environment.
  grpc::Status NotHere(absl::string_view what) const {
    auto config = LoadHalconfig(path_);
    if (config.ok() && KubernetesDeployment(*config)) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("the deploymentEnvironment of '", config->name(),
                       "' is KUBERNETES: the halyard daemon never ", what,
                       " it; use the CLI (`halyard deploy apply|rollback`, "
                       "which drives kubectl)"));
    }
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, kUnimplementedArea);
  }

  std::string path_;
};

class DaemonInstance : public ServiceInstance {
 public:
  explicit DaemonInstance(std::string path) : service_(std::move(path)) {}
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

 private:
  HalyardGrpcService service_;
};

}  // namespace

absl::Status ValidateDaemonConfig(const v1::HalyardConfig&) {
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildDaemon(
    const v1::HalyardConfig& config, Metrics*) {
  return std::make_unique<DaemonInstance>(
      config.halconfig_path().empty() ? DefaultHalconfigPath()
                                      : ExpandHome(config.halconfig_path()));
}

}  // namespace gennaker::halyard
