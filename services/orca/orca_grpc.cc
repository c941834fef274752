#include "services/orca/orca_grpc.h"

#include "absl/strings/str_cat.h"
#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "common/status/grpc_status.h"
#include "services/orca/engine/model.h"
#include "services/orca/orca_api.h"

namespace gennaker::orca {

namespace {

using grpc::ServerContext;
using grpc::Status;

v1::ExecutionStatus ToProtoStatus(const std::string& s) {
  v1::ExecutionStatus out = v1::EXECUTION_STATUS_UNSPECIFIED;
  v1::ExecutionStatus_Parse(absl::StrCat("EXECUTION_STATUS_", s), &out);
  return out;
}

// "" for values outside the enum.
std::string FromProtoStatus(int s) {
  if (!v1::ExecutionStatus_IsValid(s)) return "";
  std::string name =
      v1::ExecutionStatus_Name(static_cast<v1::ExecutionStatus>(s));
  constexpr absl::string_view kPrefix = "EXECUTION_STATUS_";
  return name.substr(kPrefix.size());
}

std::string TypeName(common::v1::ExecutionType t) {
  if (t == common::v1::PIPELINE) return "PIPELINE";
  if (t == common::v1::ORCHESTRATION) return "ORCHESTRATION";
  return "";
}

void Fill(const Json& e, v1::ExecutionView view, v1::Execution* out) {
  out->set_id(String(e, "id"));
  out->set_type(String(e, "type") == "ORCHESTRATION" ? common::v1::ORCHESTRATION
                                                     : common::v1::PIPELINE);
  out->set_application(String(e, "application"));
  out->set_name(String(e, "name"));
  out->set_status(ToProtoStatus(String(e, "status")));
  out->set_pipeline_config_id(String(e, "pipelineConfigId"));
  out->set_build_time_ms(Int(e, "buildTime"));
  out->set_start_time_ms(Int(e, "startTime"));
  out->set_end_time_ms(Int(e, "endTime"));
  out->set_canceled(Bool(e, "canceled"));
  out->set_canceled_by(String(e, "canceledBy"));
  out->set_cancellation_reason(String(e, "cancellationReason"));
  out->set_origin(String(e, "origin"));
  if (e.contains("trigger")) {
    out->set_trigger_type(String(e["trigger"], "type"));
    out->mutable_trigger()->set_json(Dump(e["trigger"]));
  }
  out->set_limit_concurrent(Bool(e, "limitConcurrent"));
  out->set_max_concurrent_executions(
      static_cast<int32_t>(Int(e, "maxConcurrentExecutions")));
  out->set_keep_waiting_pipelines(Bool(e, "keepWaitingPipelines"));
  if (e.contains("authentication")) {
    out->mutable_authentication()->set_user(
        String(e["authentication"], "user"));
  }
  if (view == v1::EXECUTION_VIEW_STATUS) return;
  Json pub = PublicView(e, view != v1::EXECUTION_VIEW_SUMMARY);
  out->mutable_json()->set_json(
      pub.dump(-1, ' ', false, Json::error_handler_t::replace));
}

// The caller.
std::string User() {
  return spinnaker::UserOrAnonymous(CurrentCallContext().user);
}

// The user a request names, else the caller.
std::string UserOr(const std::string& named) {
  return named.empty() ? User() : named;
}

void FillRef(const Started& started, common::v1::ExecutionRef* ref) {
  ref->set_id(started.id);
  ref->set_type(started.type == "ORCHESTRATION" ? common::v1::ORCHESTRATION
                                                : common::v1::PIPELINE);
  ref->set_application(started.application);
}

class OrcaGrpc : public v1::OrcaService::Service {
 public:
  explicit OrcaGrpc(std::unique_ptr<OrcaApi> api) : api_(std::move(api)) {}

  Status StartPipeline(ServerContext*, const v1::StartPipelineRequest* req,
                       v1::StartPipelineResponse* resp) override {
    PipelineStart start;
    switch (req->source_case()) {
      case v1::StartPipelineRequest::kConfig:
        start.source = PipelineSource::kConfig;
        start.config_json = req->config().json();
        break;
      case v1::StartPipelineRequest::kPipelineConfigId:
        start.source = PipelineSource::kConfigId;
        start.pipeline_config_id = req->pipeline_config_id();
        break;
      case v1::StartPipelineRequest::kPipelineName:
        start.source = PipelineSource::kName;
        start.pipeline_name = req->pipeline_name();
        break;
      default:
        start.source = PipelineSource::kNone;
    }
    start.application = req->application();
    start.trigger_json = req->trigger().json();
    start.parameters_json = req->parameters().json();
    start.execution_id = req->execution_id();
    start.origin = req->origin();
    start.idempotency_key = req->idempotency_key();
    start.plan_only = req->plan_only();
    absl::StatusOr<Started> started = api_->StartPipeline(start, User());
    if (!started.ok()) return ToGrpcStatus(started.status());
    if (req->plan_only()) {
      resp->mutable_planned_pipeline()->set_json(Dump(started->planned));
      return Status::OK;
    }
    FillRef(*started, resp->mutable_execution());
    resp->set_status(v1::EXECUTION_STATUS_NOT_STARTED);
    resp->set_deduplicated(started->deduplicated);
    return Status::OK;
  }

  Status StartOrchestration(ServerContext*,
                            const v1::StartOrchestrationRequest* req,
                            v1::StartOrchestrationResponse* resp) override {
    OrchestrationStart start;
    start.application = req->application();
    start.description = req->description();
    start.jobs_json = req->jobs().json();
    start.trigger_json = req->trigger().json();
    start.execution_id = req->execution_id();
    start.origin = req->origin();
    start.idempotency_key = req->idempotency_key();
    absl::StatusOr<Started> started = api_->StartOrchestration(start, User());
    if (!started.ok()) return ToGrpcStatus(started.status());
    FillRef(*started, resp->mutable_execution());
    resp->set_deduplicated(started->deduplicated);
    return Status::OK;
  }

  Status GetExecution(ServerContext*, const v1::GetExecutionRequest* req,
                      v1::GetExecutionResponse* resp) override {
    absl::StatusOr<Json> e = api_->Get(req->id(), TypeName(req->type()));
    if (!e.ok()) return ToGrpcStatus(e.status());
    Fill(*e, req->view(), resp->mutable_execution());
    return Status::OK;
  }

  Status ListExecutions(ServerContext*, const v1::ListExecutionsRequest* req,
                        v1::ListExecutionsResponse* resp) override {
    ListRequest list;
    list.application = req->application();
    list.type = TypeName(req->type());
    list.config_ids.assign(req->pipeline_config_ids().begin(),
                           req->pipeline_config_ids().end());
    list.execution_ids.assign(req->execution_ids().begin(),
                              req->execution_ids().end());
    for (int s : req->statuses()) {
      if (s == v1::EXECUTION_STATUS_UNSPECIFIED) continue;
      std::string name = FromProtoStatus(s);
      if (name.empty()) {
        return Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("unknown execution status ", s));
      }
      list.statuses.push_back(name);
    }
    list.limit = req->limit();
    list.page = req->page();
    list.built_after_ms = req->built_after_ms();
    absl::StatusOr<std::vector<Json>> found = api_->List(list);
    if (!found.ok()) return ToGrpcStatus(found.status());
    for (const Json& e : *found) Fill(e, req->view(), resp->add_executions());
    return Status::OK;
  }

  Status CancelExecution(ServerContext*, const v1::CancelExecutionRequest* req,
                         v1::CancelExecutionResponse* resp) override {
    return Reply(api_->Cancel(req->id(), UserOr(req->user()), req->reason()),
                 resp);
  }

  Status PauseExecution(ServerContext*, const v1::PauseExecutionRequest* req,
                        v1::PauseExecutionResponse* resp) override {
    return Reply(api_->Pause(req->id(), UserOr(req->user())), resp);
  }

  Status ResumeExecution(ServerContext*, const v1::ResumeExecutionRequest* req,
                         v1::ResumeExecutionResponse* resp) override {
    return Reply(api_->Resume(req->id(), UserOr(req->user()),
                              req->ignore_current_status()),
                 resp);
  }

  Status RestartStage(ServerContext*, const v1::RestartStageRequest* req,
                      v1::RestartStageResponse* resp) override {
    absl::StatusOr<Json> e =
        api_->RestartStage(req->execution_id(), req->stage_id(),
                           UserOr(req->user()), req->restart_details().json());
    if (!e.ok()) return ToGrpcStatus(e.status());
    Fill(*e, v1::EXECUTION_VIEW_FULL, resp->mutable_execution());
    return Status::OK;
  }

  Status UpdateStage(ServerContext*, const v1::UpdateStageRequest* req,
                     v1::UpdateStageResponse* resp) override {
    StageUpdate update;
    update.context_patch_json = req->context_patch().json();
    if (req->judgment_status() == v1::JUDGMENT_STATUS_CONTINUE) {
      update.judgment_status = "continue";
    } else if (req->judgment_status() == v1::JUDGMENT_STATUS_STOP) {
      update.judgment_status = "stop";
    }
    update.judgment_input = req->judgment_input();
    update.manual_skip = req->manual_skip();
    update.skip_remaining_wait = req->skip_remaining_wait();
    absl::StatusOr<Json> e =
        api_->UpdateStage(req->execution_id(), req->stage_id(), update,
                          UserOr(req->user()), CurrentCallContext().user);
    if (!e.ok()) return ToGrpcStatus(e.status());
    Fill(*e,
         req->view() == v1::EXECUTION_VIEW_UNSPECIFIED ? v1::EXECUTION_VIEW_FULL
                                                       : req->view(),
         resp->mutable_execution());
    return Status::OK;
  }

  Status DeleteExecution(ServerContext*, const v1::DeleteExecutionRequest* req,
                         v1::DeleteExecutionResponse* resp) override {
    absl::Status s = api_->Delete(req->id(), TypeName(req->type()));
    if (!s.ok()) return ToGrpcStatus(s);
    resp->set_deleted(true);
    return Status::OK;
  }

  Status EvaluateExpression(ServerContext*,
                            const v1::EvaluateExpressionRequest* req,
                            v1::EvaluateExpressionResponse* resp) override {
    Json failures = Json::array();
    absl::StatusOr<Json> v = api_->Evaluate(
        req->execution_id(), req->stage_id(), req->expression(), &failures);
    if (!v.ok()) return ToGrpcStatus(v.status());
    resp->mutable_result()->set_json(v->dump());
    for (const Json& f : failures) {
      v1::ExpressionDiagnostic* d = resp->add_diagnostics();
      d->set_expression(String(f, "expression"));
      d->set_level(String(f, "level"));
      d->set_description(String(f, "description"));
      d->set_timestamp_ms(api_->NowMs());
    }
    return Status::OK;
  }

 private:
  // The execution's status after an operation.
  template <typename Resp>
  static Status Reply(const absl::StatusOr<std::string>& status, Resp* resp) {
    if (!status.ok()) return ToGrpcStatus(status.status());
    resp->set_status(ToProtoStatus(*status));
    return Status::OK;
  }

  std::unique_ptr<OrcaApi> api_;
};

}  // namespace

std::unique_ptr<v1::OrcaService::Service> NewOrcaGrpc(
    Engine* engine, Store* store, Front50* front50, const Clock* clock,
    std::shared_ptr<fiat::Authorizer> authorizer) {
  return std::make_unique<OrcaGrpc>(std::make_unique<OrcaApi>(
      engine, store, front50, clock, std::move(authorizer)));
}

}  // namespace gennaker::orca
