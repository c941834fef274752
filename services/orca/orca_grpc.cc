#include "services/orca/orca_grpc.h"

#include "absl/strings/str_cat.h"
#include "common/json/json_fields.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/store.h"
#include "services/orca/front50_client.h"
#include "services/orca/launcher.h"

namespace gennaker::orca {

namespace {

using grpc::ServerContext;
using grpc::Status;

absl::StatusOr<Json> ParseObject(const std::string& text, const char* what,
                                 bool allow_empty = true) {
  if (text.empty() && allow_empty) return Json::object();
  if (!json::WithinNesting(text)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": JSON nested deeper than ", json::kMaxNesting, " levels"));
  }
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be a JSON object"));
  }
  return j;
}

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

// The engine's API calls walk user-shaped JSON: a throw must become an
// error reply, not a dead process.
template <typename Fn>
auto Safely(Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("unexpected document: ", e.what()));
  }
}

std::string TypeName(common::v1::ExecutionType t) {
  if (t == common::v1::PIPELINE) return "PIPELINE";
  if (t == common::v1::ORCHESTRATION) return "ORCHESTRATION";
  return "";
}

void Fill(const Json& e, v1::ExecutionView view, v1::Execution* out) {
  out->set_id(Str(e, "id"));
  out->set_type(Str(e, "type") == "ORCHESTRATION" ? common::v1::ORCHESTRATION
                                                  : common::v1::PIPELINE);
  out->set_application(Str(e, "application"));
  out->set_name(Str(e, "name"));
  out->set_status(ToProtoStatus(Str(e, "status")));
  out->set_pipeline_config_id(Str(e, "pipelineConfigId"));
  out->set_build_time_ms(Int(e, "buildTime"));
  out->set_start_time_ms(Int(e, "startTime"));
  out->set_end_time_ms(Int(e, "endTime"));
  out->set_canceled(Flag(e, "canceled"));
  out->set_canceled_by(Str(e, "canceledBy"));
  out->set_cancellation_reason(Str(e, "cancellationReason"));
  out->set_origin(Str(e, "origin"));
  if (e.contains("trigger")) {
    out->set_trigger_type(Str(e["trigger"], "type"));
    out->mutable_trigger()->set_json(Dump(e["trigger"]));
  }
  out->set_limit_concurrent(Flag(e, "limitConcurrent"));
  out->set_max_concurrent_executions(
      static_cast<int32_t>(Int(e, "maxConcurrentExecutions")));
  out->set_keep_waiting_pipelines(Flag(e, "keepWaitingPipelines"));
  if (e.contains("authentication")) {
    out->mutable_authentication()->set_user(Str(e["authentication"], "user"));
  }
  if (view == v1::EXECUTION_VIEW_STATUS) return;
  Json pub = PublicView(e, view != v1::EXECUTION_VIEW_SUMMARY);
  out->mutable_json()->set_json(
      pub.dump(-1, ' ', false, Json::error_handler_t::replace));
}

std::string User() {
  const std::string& u = CurrentCallContext().user;
  return u.empty() ? "anonymous" : u;
}

class OrcaGrpc : public v1::OrcaService::Service {
 public:
  OrcaGrpc(Engine* engine, Store* store, Front50* front50, const Clock* clock)
      : engine_(engine), store_(store), front50_(front50), clock_(clock) {}

  Status StartPipeline(ServerContext*, const v1::StartPipelineRequest* req,
                       v1::StartPipelineResponse* resp) override {
    absl::StatusOr<Json> config;
    switch (req->source_case()) {
      case v1::StartPipelineRequest::kConfig:
        config = ParseObject(req->config().json(), "config", false);
        break;
      case v1::StartPipelineRequest::kPipelineConfigId:
        config = front50_->PipelineById(req->pipeline_config_id());
        break;
      case v1::StartPipelineRequest::kPipelineName:
        if (req->application().empty()) {
          return Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "application is required with pipeline_name");
        }
        config =
            front50_->PipelineByName(req->application(), req->pipeline_name());
        break;
      default:
        return Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "one of config, pipeline_config_id or pipeline_name is "
                      "required");
    }
    if (!config.ok()) return ToGrpcStatus(config.status());
    if (!req->application().empty() && Str(*config, "application").empty()) {
      (*config)["application"] = req->application();
    }
    absl::StatusOr<Json> trigger =
        ParseObject(req->trigger().json(), "trigger");
    if (!trigger.ok()) return ToGrpcStatus(trigger.status());
    if (!req->parameters().json().empty()) {
      absl::StatusOr<Json> params =
          ParseObject(req->parameters().json(), "parameters");
      if (!params.ok()) return ToGrpcStatus(params.status());
      Json& p = (*trigger)["parameters"];
      if (!p.is_object()) p = Json::object();
      for (auto it = params->begin(); it != params->end(); ++it) {
        p[it.key()] = it.value();
      }
    }
    LaunchOptions options;
    options.execution_id = req->execution_id();
    options.user = User();
    options.origin = req->origin();
    options.now_ms = clock_->NowMs();
    absl::StatusOr<Json> exec = Safely([&] {
      return BuildPipelineExecution(*config, std::move(*trigger), options);
    });
    if (!exec.ok()) return ToGrpcStatus(exec.status());
    if (req->plan_only()) {
      resp->mutable_planned_pipeline()->set_json(Dump(PublicView(*exec)));
      return Status::OK;
    }
    std::string correlation = req->idempotency_key();
    if (correlation.empty())
      correlation = Str((*exec)["trigger"], "correlationId");
    bool dedup = false;
    Status s =
        Create(*exec, correlation, resp->mutable_execution(), &dedup, resp);
    resp->set_deduplicated(dedup);
    return s;
  }

  Status StartOrchestration(ServerContext*,
                            const v1::StartOrchestrationRequest* req,
                            v1::StartOrchestrationResponse* resp) override {
    Json jobs = json::WithinNesting(req->jobs().json())
                    ? Json::parse(req->jobs().json(), nullptr, false)
                    : Json();
    if (!jobs.is_array()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "jobs must be a JSON list of job objects");
    }
    absl::StatusOr<Json> trigger =
        ParseObject(req->trigger().json(), "trigger");
    if (!trigger.ok()) return ToGrpcStatus(trigger.status());
    LaunchOptions options;
    options.execution_id = req->execution_id();
    options.user = User();
    options.origin = req->origin();
    options.now_ms = clock_->NowMs();
    absl::StatusOr<Json> exec = Safely([&] {
      return BuildOrchestration(req->application(), req->description(), jobs,
                                std::move(*trigger), options);
    });
    if (!exec.ok()) return ToGrpcStatus(exec.status());
    bool dedup = false;
    v1::StartPipelineResponse unused;
    Status s = Create(*exec, req->idempotency_key(), resp->mutable_execution(),
                      &dedup, &unused);
    resp->set_deduplicated(dedup);
    return s;
  }

  Status GetExecution(ServerContext*, const v1::GetExecutionRequest* req,
                      v1::GetExecutionResponse* resp) override {
    absl::StatusOr<Json> e = GetOfType(req->id(), req->type());
    if (!e.ok()) return ToGrpcStatus(e.status());
    Fill(*e, req->view(), resp->mutable_execution());
    return Status::OK;
  }

  Status ListExecutions(ServerContext*, const v1::ListExecutionsRequest* req,
                        v1::ListExecutionsResponse* resp) override {
    ExecutionQuery q;
    q.application = req->application();
    q.type = TypeName(req->type());
    // As documented in orca.proto: PIPELINE unless ids are asked for.
    if (q.type.empty() && req->execution_ids().empty()) q.type = "PIPELINE";
    q.config_ids.assign(req->pipeline_config_ids().begin(),
                        req->pipeline_config_ids().end());
    q.execution_ids.assign(req->execution_ids().begin(),
                           req->execution_ids().end());
    for (int s : req->statuses()) {
      if (s == v1::EXECUTION_STATUS_UNSPECIFIED) continue;
      std::string name = FromProtoStatus(s);
      if (name.empty()) {
        return Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("unknown execution status ", s));
      }
      q.statuses.push_back(name);
    }
    if (req->limit() < 0) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "limit must not be negative");
    }
    if (req->page() < 0) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "page must not be negative");
    }
    q.limit = req->limit() > 0 ? std::min(req->limit(), 5000) : 10;
    // Spinnaker limits pipeline lists per pipeline config; ids are exact.
    q.limit_per_config = q.type == "PIPELINE" && q.execution_ids.empty();
    if (!q.limit_per_config && req->page() > 1) {
      q.offset = (req->page() - 1) * q.limit;
    }
    absl::StatusOr<std::vector<Json>> list = store_->List(q);
    if (!list.ok()) return ToGrpcStatus(list.status());
    for (const Json& e : *list) {
      if (req->built_after_ms() > 0 &&
          Int(e, "buildTime") < req->built_after_ms()) {
        continue;
      }
      Fill(e, req->view(), resp->add_executions());
    }
    return Status::OK;
  }

  Status CancelExecution(ServerContext*, const v1::CancelExecutionRequest* req,
                         v1::CancelExecutionResponse* resp) override {
    std::string user = req->user().empty() ? User() : req->user();
    absl::Status s =
        Safely([&] { return engine_->Cancel(req->id(), user, req->reason()); });
    if (!s.ok()) return ToGrpcStatus(s);
    return CurrentStatus(req->id(), resp);
  }

  Status PauseExecution(ServerContext*, const v1::PauseExecutionRequest* req,
                        v1::PauseExecutionResponse* resp) override {
    std::string user = req->user().empty() ? User() : req->user();
    absl::Status s = Safely([&] { return engine_->Pause(req->id(), user); });
    if (!s.ok()) return ToGrpcStatus(s);
    return CurrentStatus(req->id(), resp);
  }

  Status ResumeExecution(ServerContext*, const v1::ResumeExecutionRequest* req,
                         v1::ResumeExecutionResponse* resp) override {
    std::string user = req->user().empty() ? User() : req->user();
    absl::Status s = Safely([&] {
      return engine_->Resume(req->id(), user, req->ignore_current_status());
    });
    if (!s.ok()) return ToGrpcStatus(s);
    return CurrentStatus(req->id(), resp);
  }

  Status RestartStage(ServerContext*, const v1::RestartStageRequest* req,
                      v1::RestartStageResponse* resp) override {
    absl::StatusOr<Json> details =
        ParseObject(req->restart_details().json(), "restart_details");
    if (!details.ok()) return ToGrpcStatus(details.status());
    std::string user = req->user().empty() ? User() : req->user();
    absl::StatusOr<Json> e = Safely([&] {
      return engine_->RestartStage(req->execution_id(), req->stage_id(), user,
                                   *details);
    });
    if (!e.ok()) return ToGrpcStatus(e.status());
    Fill(*e, v1::EXECUTION_VIEW_FULL, resp->mutable_execution());
    return Status::OK;
  }

  Status UpdateStage(ServerContext*, const v1::UpdateStageRequest* req,
                     v1::UpdateStageResponse* resp) override {
    absl::StatusOr<Json> patch =
        ParseObject(req->context_patch().json(), "context_patch");
    if (!patch.ok()) return ToGrpcStatus(patch.status());
    if (req->judgment_status() == v1::JUDGMENT_STATUS_CONTINUE) {
      (*patch)["judgmentStatus"] = "continue";
    } else if (req->judgment_status() == v1::JUDGMENT_STATUS_STOP) {
      (*patch)["judgmentStatus"] = "stop";
    }
    if (!req->judgment_input().empty()) {
      (*patch)["judgmentInput"] = req->judgment_input();
    }
    if (req->manual_skip()) (*patch)["manualSkip"] = true;
    if (req->skip_remaining_wait()) (*patch)["skipRemainingWait"] = true;
    if (patch->contains("judgmentStatus")) {
      std::string js = Str(*patch, "judgmentStatus");
      if (js != "continue" && js != "stop") {
        return Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "judgmentStatus must be \"continue\" or \"stop\"");
      }
    }
    std::string user = req->user().empty() ? User() : req->user();
    absl::StatusOr<Json> e = Safely([&] {
      return engine_->UpdateStage(req->execution_id(), req->stage_id(), *patch,
                                  user);
    });
    if (!e.ok()) return ToGrpcStatus(e.status());
    Fill(*e,
         req->view() == v1::EXECUTION_VIEW_UNSPECIFIED ? v1::EXECUTION_VIEW_FULL
                                                       : req->view(),
         resp->mutable_execution());
    return Status::OK;
  }

  Status DeleteExecution(ServerContext*, const v1::DeleteExecutionRequest* req,
                         v1::DeleteExecutionResponse* resp) override {
    absl::StatusOr<Json> e = GetOfType(req->id(), req->type());
    if (!e.ok()) return ToGrpcStatus(e.status());
    if (!IsComplete(Str(*e, "status"))) {
      return Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("Execution ", req->id(), " is ", Str(*e, "status"),
                       "; cancel it before deleting it"));
    }
    absl::Status s = store_->Delete(req->id());
    if (!s.ok()) return ToGrpcStatus(s);
    resp->set_deleted(true);
    return Status::OK;
  }

  Status EvaluateExpression(ServerContext*,
                            const v1::EvaluateExpressionRequest* req,
                            v1::EvaluateExpressionResponse* resp) override {
    Json failures = Json::array();
    absl::StatusOr<Json> v = Safely([&] {
      return engine_->Evaluate(req->execution_id(), req->stage_id(),
                               Json(req->expression()), &failures);
    });
    if (!v.ok()) return ToGrpcStatus(v.status());
    resp->mutable_result()->set_json(v->dump());
    for (const Json& f : failures) {
      v1::ExpressionDiagnostic* d = resp->add_diagnostics();
      d->set_expression(Str(f, "expression"));
      d->set_level(Str(f, "level"));
      d->set_description(Str(f, "description"));
      d->set_timestamp_ms(clock_->NowMs());
    }
    return Status::OK;
  }

 private:
  // The execution `id`; NOT_FOUND also when it is not of `type` (when set).
  absl::StatusOr<Json> GetOfType(const std::string& id,
                                 common::v1::ExecutionType type) {
    absl::StatusOr<Json> e = store_->Get(id);
    if (!e.ok()) return e.status();
    std::string name = TypeName(type);
    if (!name.empty() && Str(*e, "type") != name) {
      return absl::NotFoundError(absl::StrCat("No ", name, " execution ", id));
    }
    return e;
  }

  template <typename Resp>
  Status CurrentStatus(const std::string& id, Resp* resp) {
    absl::StatusOr<Json> e = store_->Get(id);
    if (!e.ok()) return ToGrpcStatus(e.status());
    resp->set_status(ToProtoStatus(Str(*e, "status")));
    return Status::OK;
  }

  Status Create(const Json& exec, const std::string& correlation,
                common::v1::ExecutionRef* ref, bool* dedup,
                v1::StartPipelineResponse* resp) {
    absl::StatusOr<std::string> id =
        store_->Create(exec, correlation, {StartMessage(exec)});
    if (!id.ok()) {
      // A retried request with the same execution id started it already.
      if (absl::IsAlreadyExists(id.status())) {
        absl::StatusOr<Json> existing = store_->Get(Str(exec, "id"));
        if (existing.ok() &&
            Str(*existing, "application") == Str(exec, "application") &&
            Str(*existing, "type") == Str(exec, "type") &&
            Str(*existing, "name") == Str(exec, "name") &&
            Str(*existing, "pipelineConfigId") ==
                Str(exec, "pipelineConfigId")) {
          id = Str(exec, "id");
          *dedup = true;
        }
      }
      if (!id.ok()) return ToGrpcStatus(id.status());
    }
    *dedup = *dedup || *id != Str(exec, "id");
    ref->set_id(*id);
    ref->set_type(Str(exec, "type") == "ORCHESTRATION"
                      ? common::v1::ORCHESTRATION
                      : common::v1::PIPELINE);
    ref->set_application(Str(exec, "application"));
    resp->set_status(v1::EXECUTION_STATUS_NOT_STARTED);
    SPDLOG_INFO(
        "event=execution_started execution={} type={} application={} "
        "name={} user={} deduplicated={}",
        *id, Str(exec, "type"), Str(exec, "application"), Str(exec, "name"),
        User(), *dedup);
    return Status::OK;
  }

  Engine* engine_;
  Store* store_;
  Front50* front50_;
  const Clock* clock_;
};

}  // namespace

std::unique_ptr<v1::OrcaService::Service> NewOrcaGrpc(Engine* engine,
                                                      Store* store,
                                                      Front50* front50,
                                                      const Clock* clock) {
  return std::make_unique<OrcaGrpc>(engine, store, front50, clock);
}

}  // namespace gennaker::orca
