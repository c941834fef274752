#include "services/gate/gate_executions.h"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/ids/ids.h"
#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/json.h"
#include "services/gate/gate_authz.h"
#include "services/gate/gate_backend.h"
#include "services/gate/json_array.h"
#include "services/gate/request.h"

namespace gennaker::gate {
namespace {

namespace ov1 = orca::v1;

std::string CurrentUser() {
  return spinnaker::UserOrAnonymous(CurrentCallContext().user);
}

// Missing, null or "": a value gate may fill in.
bool Unset(const Json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ||
         (it->is_string() && it->get_ref<const std::string&>().empty());
}

// Deck's name for a user it knows nothing about (its AuthenticationService
// default, sent as trigger.user and job[].user before or without a login).
constexpr char kDeckUnknownUser[] = "[anonymous]";

// A user field gate fills in with the caller: unset, or Deck's placeholder,
// which names nobody (the caller is who gate authenticated, "anonymous" with
// security off).
bool UserUnknown(const Json& object) {
  if (Unset(object, "user")) return true;
  const Json& user = object["user"];
  return user.is_string() &&
         user.get_ref<const std::string&>() == kDeckUnknownUser;
}

// A request body that must be a JSON object; an empty body is {} when
// `empty_is_object`.
absl::StatusOr<Json> ParseObject(absl::string_view body, bool empty_is_object) {
  return ParseJsonObjectBody(body, "request body", empty_is_object);
}

// The Spinnaker rendering orca sent, or {} when it sent none.
const std::string& JsonText(const ov1::Execution& execution) {
  static const std::string kEmptyObject = "{}";
  const std::string& text = execution.json().json();
  return text.empty() ? kEmptyObject : text;
}

const std::string& ExecutionText(const ov1::Execution* execution) {
  return JsonText(*execution);
}

Json ParseExecution(const ov1::Execution& execution) {
  absl::StatusOr<Json> j =
      spinnaker::ParseJson(JsonText(execution), "execution");
  return j.ok() && j->is_object() ? *std::move(j) : Json::object();
}

// statuses, limit and (when `default_expand` is set) expand of a list request.
absl::Status ApplyListQuery(const Request& r, int default_limit,
                            std::optional<bool> default_expand,
                            ov1::ListExecutionsRequest* req) {
  for (const std::string& name : r.QueryList("statuses")) {
    absl::StatusOr<ov1::ExecutionStatus> status = ParseExecutionStatus(name);
    if (!status.ok()) return status.status();
    req->add_statuses(*status);
  }
  absl::StatusOr<int> limit = QueryPositiveInt(r, "limit", default_limit);
  if (!limit.ok()) return limit.status();
  req->set_limit(*limit);
  bool expand = true;
  if (default_expand.has_value()) {
    absl::StatusOr<bool> e = QueryBool(r, "expand", *default_expand);
    if (!e.ok()) return e.status();
    expand = *e;
  }
  req->set_view(expand ? ov1::EXECUTION_VIEW_FULL
                       : ov1::EXECUTION_VIEW_SUMMARY);
  return absl::OkStatus();
}

// Executions by build time, oldest first (ties by id: ULIDs sort by creation),
// or newest first. Sorting here keeps gate's order independent of orca's.
std::vector<const ov1::Execution*> Sorted(
    const ov1::ListExecutionsResponse& response, bool newest_first) {
  std::vector<const ov1::Execution*> out;
  out.reserve(response.executions_size());
  for (const auto& e : response.executions()) out.push_back(&e);
  std::stable_sort(out.begin(), out.end(),
                   [](const ov1::Execution* a, const ov1::Execution* b) {
                     if (a->build_time_ms() != b->build_time_ms())
                       return a->build_time_ms() < b->build_time_ms();
                     return a->id() < b->id();
                   });
  if (newest_first) std::reverse(out.begin(), out.end());
  return out;
}

// --- pipelines ---

// POST /pipelines/{app}/{pipelineNameOrId} (spin) and, with `v2`, POST
// /pipelines/v2/{app}/{pipelineName} (Deck), where gate picks the execution id
// and an event id before the execution exists.
Response TriggerPipeline(const Orca& orca, const Request& r, bool v2) {
  absl::StatusOr<Json> trigger = PrepareTrigger(r.body, CurrentUser());
  if (!trigger.ok()) return ErrorResponse(trigger.status(), r);
  ov1::StartPipelineRequest req;
  req.set_application(r.params.at("app"));
  req.set_origin("api");
  std::string event_id;
  std::string execution_id;
  if (v2) {
    event_id = NewUuid();
    execution_id = NewUlid();
    (*trigger)["eventId"] = event_id;
    req.set_execution_id(execution_id);
  }
  req.mutable_trigger()->set_json(spinnaker::Dump(*trigger));
  ov1::StartPipelineResponse resp;
  grpc::Status s = StartStoredPipeline(*orca.stub, orca.deadline,
                                       r.params.at("name"), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  if (!resp.execution().id().empty()) execution_id = resp.execution().id();
  Json out = Json::object();
  if (v2) out["eventId"] = event_id;
  out["ref"] = "/pipelines/" + execution_id;
  return http::Json(202, spinnaker::Dump(out));
}

// GET /pipelines/{id}: orca's Spinnaker JSON, unchanged.
Response GetPipeline(const Orca& orca, const Request& r) {
  ov1::GetExecutionRequest req;
  req.set_id(r.params.at("id"));
  req.set_type(common::v1::PIPELINE);
  req.set_view(ov1::EXECUTION_VIEW_FULL);
  ov1::GetExecutionResponse resp;
  grpc::Status s = orca.stub->GetExecution(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, JsonText(resp.execution()));
}

// GET /applications/{app}/pipelines?limit=&statuses=&expand=: oldest first.
Response ListApplicationPipelines(const Orca& orca, const Request& r) {
  ov1::ListExecutionsRequest req;
  req.set_application(r.params.at("app"));
  req.set_type(common::v1::PIPELINE);
  for (std::string& id : r.QueryList("pipelineConfigIds"))
    req.add_pipeline_config_ids(std::move(id));
  // Orca's defaults: 10 per pipeline config, expanded unless expand=false
  // (Deck always sends expand=false).
  absl::Status valid = ApplyListQuery(r, 10, true, &req);
  if (!valid.ok()) return ErrorResponse(valid, r);
  ov1::ListExecutionsResponse resp;
  grpc::Status s = orca.stub->ListExecutions(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(
      200, JoinArray(Sorted(resp, /*newest_first=*/false), ExecutionText));
}

// GET /executions?pipelineConfigIds=&executionIds=&limit=&statuses=&expand=:
// newest first; [] when no id is given; only executions of applications the
// caller may READ.
Response ListExecutions(const Backends& b, const Request& r) {
  const Orca& orca = b.orca;
  ov1::ListExecutionsRequest req;
  req.set_type(common::v1::PIPELINE);
  for (std::string& id : r.QueryList("pipelineConfigIds"))
    req.add_pipeline_config_ids(std::move(id));
  for (std::string& id : r.QueryList("executionIds"))
    req.add_execution_ids(std::move(id));
  if (req.pipeline_config_ids().empty() && req.execution_ids().empty())
    return http::Json(200, "[]");
  // Gate's rules: by execution ids, exactly those executions (limit and
  // statuses do not apply); by config ids, the newest 1 per config unless
  // `limit` says otherwise.
  bool by_ids = !req.execution_ids().empty();
  absl::Status valid =
      ApplyListQuery(r, by_ids ? req.execution_ids_size() : 1, true, &req);
  if (!valid.ok()) return ErrorResponse(valid, r);
  if (by_ids) {
    req.clear_statuses();
    req.clear_pipeline_config_ids();
    req.set_limit(req.execution_ids_size());
  }
  ov1::ListExecutionsResponse resp;
  grpc::Status s = orca.stub->ListExecutions(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  absl::StatusOr<std::shared_ptr<const fiat::v1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
  std::vector<const ov1::Execution*> sorted =
      Sorted(resp, /*newest_first=*/true);
  sorted.erase(
      std::remove_if(sorted.begin(), sorted.end(),
                     [&caller](const ov1::Execution* e) {
                       return !fiat::Allows(
                           **caller, fiat::v1::RESOURCE_TYPE_APPLICATION,
                           e->application(), fiat::v1::AUTHORIZATION_READ);
                     }),
      sorted.end());
  return http::Json(200, JoinArray(sorted, ExecutionText));
}

// PUT /pipelines/{id}/cancel, /applications/{any}/pipelines/{id}/cancel and
// /tasks/{id}/cancel, with ?reason=&force=.
Response Cancel(const Orca& orca, const Request& r) {
  absl::StatusOr<bool> force = QueryBool(r, "force", false);
  if (!force.ok()) return ErrorResponse(force.status(), r);
  ov1::CancelExecutionRequest req;
  req.set_id(r.params.at("id"));
  req.set_reason(r.Query("reason"));
  req.set_user(CurrentUser());
  req.set_force(*force);
  ov1::CancelExecutionResponse resp;
  grpc::Status s = orca.stub->CancelExecution(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return EmptyResponse();
}

Response Pause(const Orca& orca, const Request& r) {
  ov1::PauseExecutionRequest req;
  req.set_id(r.params.at("id"));
  req.set_user(CurrentUser());
  ov1::PauseExecutionResponse resp;
  grpc::Status s = orca.stub->PauseExecution(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return EmptyResponse();
}

Response Resume(const Orca& orca, const Request& r) {
  ov1::ResumeExecutionRequest req;
  req.set_id(r.params.at("id"));
  req.set_user(CurrentUser());
  ov1::ResumeExecutionResponse resp;
  grpc::Status s = orca.stub->ResumeExecution(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return EmptyResponse();
}

// PATCH /pipelines/{id}/stages/{stageId}: the body (e.g. a manual judgment)
// is merged into the stage context; answers the updated execution.
Response UpdateStage(const Orca& orca, const Request& r) {
  absl::StatusOr<Json> patch = ParseObject(r.body, /*empty_is_object=*/false);
  if (!patch.ok()) return ErrorResponse(patch.status(), r);
  ov1::UpdateStageRequest req;
  req.set_execution_id(r.params.at("id"));
  req.set_stage_id(r.params.at("stageId"));
  req.mutable_context_patch()->set_json(r.body);
  req.set_user(CurrentUser());
  req.set_view(ov1::EXECUTION_VIEW_FULL);
  ov1::UpdateStageResponse resp;
  grpc::Status s = orca.stub->UpdateStage(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, JsonText(resp.execution()));
}

// PUT /pipelines/{id}/stages/{stageId}/restart: answers the execution.
Response RestartStage(const Orca& orca, const Request& r) {
  absl::StatusOr<Json> details = ParseObject(r.body, /*empty_is_object=*/true);
  if (!details.ok()) return ErrorResponse(details.status(), r);
  ov1::RestartStageRequest req;
  req.set_execution_id(r.params.at("id"));
  req.set_stage_id(r.params.at("stageId"));
  req.mutable_restart_details()->set_json(spinnaker::Dump(*details));
  req.set_user(CurrentUser());
  ov1::RestartStageResponse resp;
  grpc::Status s = orca.stub->RestartStage(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, JsonText(resp.execution()));
}

// DELETE /pipelines/{id}: orca refuses while the execution runs.
Response DeleteExecution(const Orca& orca, const Request& r) {
  ov1::DeleteExecutionRequest req;
  req.set_id(r.params.at("id"));
  req.set_type(common::v1::PIPELINE);
  ov1::DeleteExecutionResponse resp;
  grpc::Status s = orca.stub->DeleteExecution(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return EmptyResponse();
}

// --- tasks (orchestrations) ---

// The application a task names: job[0].application, a name or {name}.
std::string JobApplication(const Json& job) {
  auto it = job.find("application");
  if (it == job.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return spinnaker::String(*it, "name");
}

// POST /tasks and POST /applications/{app}/tasks (the path's application
// wins): ad-hoc jobs run by orca.
Response SubmitTask(const Orca& orca, const Request& r) {
  absl::StatusOr<Json> body = ParseObject(r.body, /*empty_is_object=*/false);
  if (!body.ok()) return ErrorResponse(body.status(), r);
  auto job = body->find("job");
  if (job == body->end() || !job->is_array() || job->empty()) {
    return http::Error(400, "task must have a non-empty 'job' list", r.path);
  }
  const std::string user = CurrentUser();
  for (Json& stage : *job) {
    if (!stage.is_object()) {
      return http::Error(400, "every 'job' entry must be a JSON object",
                         r.path);
    }
    if (UserUnknown(stage)) stage["user"] = user;
  }
  std::string application;
  if (auto app = r.params.find("app"); app != r.params.end()) {
    application = app->second;
  } else {
    application = spinnaker::String(*body, "application");
    if (application.empty()) application = JobApplication(job->front());
  }
  if (application.empty())
    return http::Error(400, "task application is required", r.path);
  ov1::StartOrchestrationRequest req;
  req.set_application(application);
  req.set_description(spinnaker::String(*body, "description"));
  req.mutable_jobs()->set_json(spinnaker::Dump(*job));
  if (auto trigger = body->find("trigger");
      trigger != body->end() && trigger->is_object()) {
    req.mutable_trigger()->set_json(spinnaker::Dump(*trigger));
  }
  req.set_origin("api");
  ov1::StartOrchestrationResponse resp;
  grpc::Status s =
      orca.stub->StartOrchestration(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(
      200, spinnaker::Dump(Json{{"ref", "/tasks/" + resp.execution().id()}}));
}

// GET /tasks/{id} and GET /applications/{app}/tasks/{id}: the task view.
Response GetTask(const Orca& orca, const Request& r) {
  ov1::GetExecutionRequest req;
  req.set_id(r.params.at("id"));
  req.set_type(common::v1::ORCHESTRATION);
  req.set_view(ov1::EXECUTION_VIEW_FULL);
  ov1::GetExecutionResponse resp;
  grpc::Status s = orca.stub->GetExecution(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(
      200, spinnaker::Dump(ToTaskView(ParseExecution(resp.execution()))));
}

// GET /applications/{app}/tasks?limit=&statuses=: task views, newest first.
Response ListTasks(const Orca& orca, const Request& r) {
  ov1::ListExecutionsRequest req;
  req.set_application(r.params.at("app"));
  req.set_type(common::v1::ORCHESTRATION);
  // Orca's default page size for tasks is 3500; Deck pages with `page`.
  absl::Status valid = ApplyListQuery(r, 3500, std::nullopt, &req);
  if (!valid.ok()) return ErrorResponse(valid, r);
  absl::StatusOr<int> page = QueryPositiveInt(r, "page", 0);
  if (!page.ok()) return ErrorResponse(page.status(), r);
  if (*page > 0) req.set_page(*page);
  ov1::ListExecutionsResponse resp;
  grpc::Status s = orca.stub->ListExecutions(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  Json out = Json::array();
  for (const ov1::Execution* e : Sorted(resp, /*newest_first=*/true))
    out.push_back(ToTaskView(ParseExecution(*e)));
  return http::Json(200, spinnaker::Dump(out));
}

// null, "", [] or {}.
bool IsEmptyValue(const Json& v) {
  if (v.is_null()) return true;
  if (v.is_string()) return v.get_ref<const std::string&>().empty();
  if (v.is_array() || v.is_object()) return v.empty();
  return false;
}

}  // namespace

void AddExecutionRoutes(std::shared_ptr<const Backends> backends,
                        const AddRoute& add) {
  const Orca& orca = backends->orca;
  RouteAdder<Orca> route(add, std::shared_ptr<const Orca>(backends, &orca));
  route("POST", "/pipelines/{app}/{name}", [](const Orca& o, const Request& r) {
    return TriggerPipeline(o, r, false);
  });
  route("POST", "/pipelines/v2/{app}/{name}",
        [](const Orca& o, const Request& r) {
          return TriggerPipeline(o, r, true);
        });
  route("GET", "/pipelines/{id}", GetPipeline);
  route("DELETE", "/pipelines/{id}", DeleteExecution);
  route("PUT", "/pipelines/{id}/cancel", Cancel);
  // spin sends the literal "{application}" here; the segment is ignored.
  route("PUT", "/applications/{app}/pipelines/{id}/cancel", Cancel);
  route("PUT", "/pipelines/{id}/pause", Pause);
  route("PUT", "/pipelines/{id}/resume", Resume);
  route("PATCH", "/pipelines/{id}/stages/{stageId}", UpdateStage);
  route("PUT", "/pipelines/{id}/stages/{stageId}/restart", RestartStage);
  route("GET", "/applications/{app}/pipelines", ListApplicationPipelines);
  RouteAdder<Backends> with_backends(add, backends);
  with_backends("GET", "/executions", ListExecutions);

  route("POST", "/tasks", SubmitTask);
  route("POST", "/applications/{app}/tasks", SubmitTask);
  route("GET", "/tasks/{id}", GetTask);
  route("GET", "/applications/{app}/tasks/{id}", GetTask);
  route("GET", "/applications/{app}/tasks", ListTasks);
  route("PUT", "/tasks/{id}/cancel", Cancel);
}

Response EvaluateExpression(const Backends& b, const Request& r) {
  const Orca& orca = b.orca;
  // The execution's application decides who may read what it evaluates.
  ov1::GetExecutionRequest get;
  get.set_id(r.params.at("id"));
  get.set_view(ov1::EXECUTION_VIEW_STATUS);
  ov1::GetExecutionResponse found;
  grpc::Status s = orca.stub->GetExecution(orca.Context().get(), get, &found);
  if (!s.ok()) return ErrorResponse(s, r);
  absl::StatusOr<std::shared_ptr<const fiat::v1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
  if (!fiat::Allows(**caller, fiat::v1::RESOURCE_TYPE_APPLICATION,
                    found.execution().application(),
                    fiat::v1::AUTHORIZATION_READ)) {
    return ErrorResponse(
        absl::PermissionDeniedError(absl::StrCat(
            "Access denied to application ", found.execution().application())),
        r);
  }
  ov1::EvaluateExpressionRequest req;
  req.set_execution_id(r.params.at("id"));
  if (auto stage = r.params.find("stageId"); stage != r.params.end()) {
    req.set_stage_id(stage->second);
  }
  req.set_expression(r.Query("expression"));
  if (req.expression().empty()) {
    return http::Error(400, "query parameter 'expression' is required", r.path);
  }
  ov1::EvaluateExpressionResponse resp;
  s = orca.stub->EvaluateExpression(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  Json out = Json::object();
  absl::StatusOr<Json> result =
      spinnaker::ParseJson(resp.result().json(), "expression result");
  out["result"] = result.ok() ? *std::move(result) : Json(req.expression());
  if (resp.diagnostics_size() > 0) {
    Json detail = Json::object();
    for (const ov1::ExpressionDiagnostic& d : resp.diagnostics()) {
      const std::string key =
          d.expression().empty() ? req.expression() : d.expression();
      if (!detail.contains(key)) detail[key] = Json::array();
      detail[key].push_back(Json{{"description", d.description()},
                                 {"exceptionType", d.exception_type()},
                                 {"level", d.level()},
                                 {"timestamp", d.timestamp_ms()}});
    }
    out["detail"] = std::move(detail);
  }
  return http::Json(200, spinnaker::Dump(out));
}

nlohmann::ordered_json ToTaskView(const nlohmann::ordered_json& execution) {
  static const Json kEmpty = Json::object();
  const Json& e = execution.is_object() ? execution : kEmpty;
  Json view = Json::object();
  auto copy = [&e, &view](const char* key) {
    auto it = e.find(key);
    if (it != e.end() && !it->is_null()) view[key] = *it;
  };
  copy("id");
  // The task's name is the orchestration's description.
  auto description = e.find("description");
  auto name = e.find("name");
  if (description != e.end() && description->is_string() &&
      !description->get_ref<const std::string&>().empty()) {
    view["name"] = *description;
  } else if (name != e.end() && !name->is_null()) {
    view["name"] = *name;
  } else if (description != e.end() && !description->is_null()) {
    view["name"] = *description;
  }
  copy("application");
  copy("status");

  // Context entries in order of first appearance.
  std::vector<std::pair<std::string, Json>> variables;
  std::unordered_map<std::string, size_t> index;
  Json steps = Json::array();
  auto stages = e.find("stages");
  if (stages != e.end() && stages->is_array()) {
    for (const Json& stage : *stages) {
      if (!stage.is_object()) continue;
      auto context = stage.find("context");
      if (context != stage.end() && context->is_object()) {
        for (const auto& entry : context->items()) {
          auto [it, inserted] =
              index.try_emplace(entry.key(), variables.size());
          if (inserted) {
            variables.emplace_back(entry.key(), entry.value());
          } else if (!IsEmptyValue(entry.value()) ||
                     IsEmptyValue(variables[it->second].second)) {
            variables[it->second].second = entry.value();
          }
        }
      }
      auto tasks = stage.find("tasks");
      if (tasks != stage.end() && tasks->is_array()) {
        for (const Json& task : *tasks) steps.push_back(task);
      }
    }
  }
  Json vars = Json::array();
  for (auto& [key, value] : variables) {
    Json v = Json::object();
    v["key"] = key;
    v["value"] = std::move(value);
    vars.push_back(std::move(v));
  }
  view["variables"] = std::move(vars);
  view["steps"] = std::move(steps);
  copy("buildTime");
  copy("startTime");
  copy("endTime");
  view["execution"] = e;
  return view;
}

absl::StatusOr<nlohmann::ordered_json> PrepareTrigger(absl::string_view text,
                                                      const std::string& user) {
  absl::StatusOr<Json> parsed =
      ParseJsonObjectBody(text, "trigger", /*empty_is_object=*/true);
  if (!parsed.ok()) return parsed.status();
  Json trigger = *std::move(parsed);
  if (UserUnknown(trigger)) trigger["user"] = user;
  if (Unset(trigger, "type")) trigger["type"] = "manual";
  return trigger;
}

grpc::Status StartStoredPipeline(orca::v1::OrcaService::StubInterface& orca,
                                 std::chrono::milliseconds deadline,
                                 const std::string& name_or_id,
                                 orca::v1::StartPipelineRequest request,
                                 orca::v1::StartPipelineResponse* response) {
  request.set_pipeline_name(name_or_id);
  grpc::Status by_name =
      orca.StartPipeline(MakeClientContext(deadline).get(), request, response);
  if (by_name.error_code() != grpc::StatusCode::NOT_FOUND) return by_name;
  request.set_pipeline_config_id(name_or_id);
  response->Clear();
  grpc::Status by_id =
      orca.StartPipeline(MakeClientContext(deadline).get(), request, response);
  return by_id.error_code() == grpc::StatusCode::NOT_FOUND ? by_name : by_id;
}

absl::StatusOr<orca::v1::ExecutionStatus> ParseExecutionStatus(
    absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(name));
  ov1::ExecutionStatus status;
  if (upper.empty() ||
      !ov1::ExecutionStatus_Parse("EXECUTION_STATUS_" + upper, &status) ||
      status == ov1::EXECUTION_STATUS_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown execution status '", name, "'"));
  }
  return status;
}

}  // namespace gennaker::gate
