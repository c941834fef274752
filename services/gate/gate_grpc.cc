#include "services/gate/gate_grpc.h"

#include <utility>

#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/names.h"
#include "common/status/grpc_status.h"
#include "services/gate/gate_executions.h"

namespace gennaker::gate {
namespace {

std::string CurrentUser() {
  return spinnaker::UserOrAnonymous(CurrentCallContext().user);
}

// Spinnaker's application name rule, checked before any call.
grpc::Status CheckApplicationName(const std::string& name) {
  if (spinnaker::ValidApplicationName(name)) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "invalid application name");
}

}  // namespace

GateGrpcService::GateGrpcService(std::string version,
                                 std::shared_ptr<const Backends> backends)
    : version_(std::move(version)), backends_(std::move(backends)) {}

grpc::Status GateGrpcService::ListApplications(
    grpc::ServerContext*, const v1::ListApplicationsRequest*,
    v1::ListApplicationsResponse* response) {
  const Front50& front50 = backends_->front50;
  front50::v1::ListApplicationsResponse apps;
  grpc::Status s =
      front50.stub->ListApplications(front50.Context().get(), {}, &apps);
  if (!s.ok()) return s;
  for (auto& a : *apps.mutable_applications()) {
    *response->add_applications()->mutable_application() = std::move(a);
  }
  return grpc::Status::OK;
}

grpc::Status GateGrpcService::GetApplication(
    grpc::ServerContext*, const v1::GetApplicationRequest* request,
    v1::GetApplicationResponse* response) {
  grpc::Status valid = CheckApplicationName(request->name());
  if (!valid.ok()) return valid;
  const Front50& front50 = backends_->front50;
  front50::v1::GetApplicationRequest req;
  req.set_name(request->name());
  front50::v1::GetApplicationResponse app;
  grpc::Status s =
      front50.stub->GetApplication(front50.Context().get(), req, &app);
  if (!s.ok()) return s;
  *response->mutable_application()->mutable_application() =
      std::move(*app.mutable_application());
  return grpc::Status::OK;
}

grpc::Status GateGrpcService::TriggerPipeline(
    grpc::ServerContext*, const v1::TriggerPipelineRequest* request,
    v1::TriggerPipelineResponse* response) {
  if (request->application().empty() ||
      request->pipeline_name_or_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "application and pipeline_name_or_id are required");
  }
  grpc::Status valid = CheckApplicationName(request->application());
  if (!valid.ok()) return valid;
  auto trigger = PrepareTrigger(request->trigger().json(), CurrentUser());
  if (!trigger.ok()) return ToGrpcStatus(trigger.status());
  orca::v1::StartPipelineRequest req;
  req.set_application(request->application());
  req.mutable_trigger()->set_json(spinnaker::Dump(*trigger));
  *req.mutable_parameters() = request->parameters();
  req.set_idempotency_key(request->idempotency_key());
  req.set_origin("api");
  orca::v1::StartPipelineResponse started;
  const Orca& orca = backends_->orca;
  grpc::Status s = StartStoredPipeline(
      *orca.stub, orca.deadline, request->pipeline_name_or_id(), req, &started);
  if (!s.ok()) return s;
  response->set_ref("/pipelines/" + started.execution().id());
  *response->mutable_execution() = std::move(*started.mutable_execution());
  response->set_status(started.status());
  return grpc::Status::OK;
}

grpc::Status GateGrpcService::GetExecution(
    grpc::ServerContext*, const v1::GetExecutionRequest* request,
    v1::GetExecutionResponse* response) {
  const Orca& orca = backends_->orca;
  orca::v1::GetExecutionRequest req;
  req.set_id(request->id());
  req.set_view(request->view());
  orca::v1::GetExecutionResponse found;
  grpc::Status s = orca.stub->GetExecution(orca.Context().get(), req, &found);
  if (!s.ok()) return s;
  *response->mutable_execution() = std::move(*found.mutable_execution());
  return grpc::Status::OK;
}

grpc::Status GateGrpcService::GetVersion(grpc::ServerContext*,
                                         const v1::GetVersionRequest*,
                                         v1::GetVersionResponse* response) {
  response->set_version(version_);
  return grpc::Status::OK;
}

grpc::Status GateGrpcService::GetCurrentUser(
    grpc::ServerContext*, const v1::GetCurrentUserRequest*,
    v1::GetCurrentUserResponse* response) {
  response->set_username(CurrentUser());
  return grpc::Status::OK;
}

}  // namespace gennaker::gate
