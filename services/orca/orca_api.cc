#include "services/orca/orca_api.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/fiat/authorizer.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/spinnaker/identity.h"
#include "common/status/status_macros.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/store.h"
#include "services/orca/front50_client.h"
#include "services/orca/launcher.h"
#include "services/orca/templates/v2_template.h"

namespace gennaker::orca {

namespace {

// A JSON object from a request; empty text is {} unless it is required.
absl::StatusOr<Json> ParseObject(const std::string& text, const char* what,
                                 bool allow_empty = true) {
  if (text.empty() && !allow_empty) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be a JSON object"));
  }
  return spinnaker::ParseJsonObject(text, what);
}

// The engine walks user-shaped JSON: a throw must become an error reply,
// not a dead process.
template <typename Fn>
auto Safely(Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("unexpected document: ", e.what()));
  }
}

// Supplied parameters win over the trigger's own.
void MergeParameters(const Json& params, Json& trigger) {
  Json& p = trigger["parameters"];
  if (!p.is_object()) p = Json::object();
  for (auto it = params.begin(); it != params.end(); ++it) {
    p[it.key()] = it.value();
  }
}

// A start repeated with the same execution id is the same start when it
// names the same thing.
bool SameStart(const Json& existing, const Json& exec) {
  for (const char* k : {"application", "type", "name", "pipelineConfigId"}) {
    if (String(existing, k) != String(exec, k)) return false;
  }
  return true;
}

// The roles a manual judgment requires, lower-cased, in order, without
// repeats: requiredJudgmentRoles and Deck's selectedStageRoles, each a list
// or a comma-separated string.
std::vector<std::string> RequiredJudgmentRoles(const Json& context) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& role) {
    std::string r = absl::AsciiStrToLower(absl::StripAsciiWhitespace(role));
    if (!r.empty() && seen.insert(r).second) out.push_back(std::move(r));
  };
  for (const char* key : {"requiredJudgmentRoles", "selectedStageRoles"}) {
    if (!context.contains(key)) continue;
    const Json& v = context[key];
    if (v.is_string()) {
      for (absl::string_view r : absl::StrSplit(v.get<std::string>(), ',')) {
        add(std::string(r));
      }
    } else if (v.is_array()) {
      for (const Json& r : v) {
        if (r.is_string()) add(r.get<std::string>());
      }
    }
  }
  return out;
}

// The application a job acts on: its `application` (a name, or an object
// with a name); "" when it names none.
std::string JobApplication(const Json& job) {
  if (!job.contains("application")) return "";
  const Json& a = job["application"];
  if (a.is_string()) return a.get<std::string>();
  if (a.is_object()) return String(a, "name");
  return "";
}

// The context keys a stage update may carry when authorization is on: a
// judgment's decision, and the skips Deck offers. Anything else could
// rewrite what a stage acts on (an account, a command) after the start's
// checks.
constexpr const char* kPatchableKeys[] = {"judgmentStatus", "judgmentInput",
                                          "lastModifiedBy", "skipRemainingWait",
                                          "manualSkip"};

// The keys that decide who may judge: never patched.
constexpr const char* kJudgmentRoleKeys[] = {"requiredJudgmentRoles",
                                             "selectedStageRoles"};

}  // namespace

OrcaApi::OrcaApi(Engine* engine, Store* store, Front50* front50,
                 const Clock* clock,
                 std::shared_ptr<fiat::Authorizer> authorizer)
    : engine_(engine),
      store_(store),
      front50_(front50),
      clock_(clock),
      authorizer_(authorizer != nullptr ? std::move(authorizer)
                                        : fiat::Authorizer::Disabled()) {}

absl::Status OrcaApi::CheckExecute(const std::string& user,
                                   const std::string& application) {
  absl::Status s =
      authorizer_->Check(user, fiat::v1::RESOURCE_TYPE_APPLICATION, application,
                         fiat::v1::AUTHORIZATION_EXECUTE);
  if (!s.ok()) {
    SPDLOG_WARN("event=start_refused application={} user={} code={}",
                application, spinnaker::UserOrAnonymous(user),
                absl::StatusCodeToString(s.code()));
  }
  return s;
}

absl::Status OrcaApi::CheckOrchestration(const std::string& user,
                                         const std::string& application,
                                         const Json& jobs) {
  if (!authorizer_->enabled()) return absl::OkStatus();
  // What each application needs: a job acts on its own application (a
  // string, or an object's name), else on the task's.
  struct Needs {
    bool creates = false, writes = false, executes = false;
  };
  std::map<std::string, Needs> needs;
  for (const Json& job : jobs) {
    if (!job.is_object()) continue;
    const std::string type = String(job, "type");
    std::string target = JobApplication(job);
    if (target.empty()) target = application;
    if (target.empty()) continue;
    Needs& n = needs[target];
    if (type == "createApplication" || type == "upsertApplication") {
      n.creates = true;
    } else if (type == "updateApplication" || type == "deleteApplication") {
      n.writes = true;
    } else {
      n.executes = true;
    }
  }
  for (auto& [app, n] : needs) {
    if (n.creates && !n.writes) {
      // An upsert over an existing application changes it: WRITE, as an
      // update.
      if (front50_ == nullptr) {
        return absl::FailedPreconditionError("front50 is not configured");
      }
      GENNAKER_ASSIGN_OR_RETURN(bool exists, front50_->ApplicationExists(app));
      n.writes = exists;
    }
    if (n.writes) {
      absl::Status s =
          authorizer_->Check(user, fiat::v1::RESOURCE_TYPE_APPLICATION, app,
                             fiat::v1::AUTHORIZATION_WRITE);
      if (!s.ok()) {
        SPDLOG_WARN("event=start_refused application={} user={} code={}", app,
                    spinnaker::UserOrAnonymous(user),
                    absl::StatusCodeToString(s.code()));
        return s;
      }
    }
    if (n.executes) GENNAKER_RETURN_IF_ERROR(CheckExecute(user, app));
  }
  return absl::OkStatus();
}

absl::Status OrcaApi::CheckControl(const std::string& id,
                                   const std::string& caller, bool write) {
  if (!authorizer_->enabled()) return absl::OkStatus();
  GENNAKER_ASSIGN_OR_RETURN(Json exec, store_->Get(id));
  const std::string application = String(exec, "application");
  absl::Status s = authorizer_->Check(
      caller, fiat::v1::RESOURCE_TYPE_APPLICATION, application,
      write ? fiat::v1::AUTHORIZATION_WRITE : fiat::v1::AUTHORIZATION_EXECUTE);
  if (!s.ok()) {
    SPDLOG_WARN(
        "event=control_refused execution={} application={} user={} code={}", id,
        application, spinnaker::UserOrAnonymous(caller),
        absl::StatusCodeToString(s.code()));
  }
  return s;
}

absl::Status OrcaApi::CheckJudge(const std::string& id,
                                 const std::string& stage_id,
                                 const std::string& caller) {
  if (!authorizer_->enabled()) return absl::OkStatus();
  GENNAKER_ASSIGN_OR_RETURN(Json exec, store_->Get(id));
  const Json* stage = FindStage(static_cast<const Json&>(exec), stage_id);
  // An unknown stage is the engine's NOT_FOUND.
  if (stage == nullptr || String(*stage, "type") != "manualJudgment" ||
      !stage->contains("context")) {
    return absl::OkStatus();
  }
  const std::vector<std::string> required =
      RequiredJudgmentRoles((*stage)["context"]);
  if (required.empty()) return absl::OkStatus();
  GENNAKER_ASSIGN_OR_RETURN(std::shared_ptr<const fiat::v1::UserPermission> p,
                            authorizer_->Permission(caller));
  if (p->admin()) return absl::OkStatus();
  for (const fiat::v1::RoleView& role : p->roles()) {
    const std::string held = absl::AsciiStrToLower(role.name());
    if (std::find(required.begin(), required.end(), held) != required.end()) {
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat("user '", spinnaker::UserOrAnonymous(caller),
                   "' holds none of the roles required to judge this stage: [",
                   absl::StrJoin(required, ", "), "]"));
}

int64_t OrcaApi::NowMs() const { return clock_->NowMs(); }

LaunchOptions OrcaApi::Options(const std::string& execution_id,
                               const std::string& origin,
                               const std::string& user) const {
  LaunchOptions options;
  options.execution_id = execution_id;
  options.user = user;
  options.origin = origin;
  options.now_ms = clock_->NowMs();
  options.front50 = front50_;
  options.prior_artifacts = PriorArtifactsFromStore(store_);
  return options;
}

absl::StatusOr<Started> OrcaApi::StartPipeline(const PipelineStart& start,
                                               const std::string& user) {
  absl::StatusOr<Json> config;
  switch (start.source) {
    case PipelineSource::kConfig:
      config = ParseObject(start.config_json, "config", false);
      break;
    case PipelineSource::kConfigId:
      config = front50_->PipelineById(start.pipeline_config_id);
      break;
    case PipelineSource::kName:
      if (start.application.empty()) {
        return absl::InvalidArgumentError(
            "application is required with pipeline_name");
      }
      config = front50_->PipelineByName(start.application, start.pipeline_name);
      break;
    case PipelineSource::kNone:
      return absl::InvalidArgumentError(
          "one of config, pipeline_config_id or pipeline_name is required");
  }
  if (!config.ok()) return config.status();
  if (!start.application.empty() && String(*config, "application").empty()) {
    (*config)["application"] = start.application;
  }
  if (config->is_object() && !String(*config, "application").empty()) {
    GENNAKER_RETURN_IF_ERROR(
        CheckExecute(user, String(*config, "application")));
  }
  GENNAKER_ASSIGN_OR_RETURN(Json trigger,
                            ParseObject(start.trigger_json, "trigger"));
  if (!start.parameters_json.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(Json params,
                              ParseObject(start.parameters_json, "parameters"));
    MergeParameters(params, trigger);
  }
  LaunchOptions options = Options(start.execution_id, start.origin, user);
  options.resolve_artifacts = !start.plan_only;  // as Spinnaker's plan
  if (start.plan_only && templates::IsTemplatedConfig(*config)) {
    // Spinnaker's /v2/pipelineTemplates/plan: the resolved pipeline (which
    // must also be one that could start), nothing stored.
    if (front50_ == nullptr) {
      return absl::FailedPreconditionError("front50 is not configured");
    }
    GENNAKER_ASSIGN_OR_RETURN(templates::Resolved resolved, Safely([&] {
                                return templates::ResolveTemplatedPipeline(
                                    *config, trigger,
                                    templates::Front50Loader(front50_));
                              }));
    GENNAKER_RETURN_IF_ERROR(Safely([&] {
                               return BuildPipelineExecution(resolved.pipeline,
                                                             resolved.trigger,
                                                             options);
                             }).status());
    Started planned;
    planned.planned = std::move(resolved.pipeline);
    planned.planned["trigger"] = std::move(resolved.trigger);
    return planned;
  }
  GENNAKER_ASSIGN_OR_RETURN(Json exec, Safely([&] {
                              return BuildPipelineExecution(
                                  *config, std::move(trigger), options);
                            }));
  if (start.plan_only) {
    Started planned;
    planned.planned = PublicView(exec);
    return planned;
  }
  std::string correlation = start.idempotency_key;
  if (correlation.empty())
    correlation = String(exec["trigger"], "correlationId");
  return Create(exec, correlation, user);
}

absl::StatusOr<Started> OrcaApi::StartOrchestration(
    const OrchestrationStart& start, const std::string& user) {
  absl::StatusOr<Json> jobs = spinnaker::ParseJson(start.jobs_json, "jobs");
  if (!jobs.ok() || !jobs->is_array()) {
    return absl::InvalidArgumentError(
        "jobs must be a JSON list of job objects");
  }
  GENNAKER_RETURN_IF_ERROR(CheckOrchestration(user, start.application, *jobs));
  GENNAKER_ASSIGN_OR_RETURN(Json trigger,
                            ParseObject(start.trigger_json, "trigger"));
  const LaunchOptions options = Options(start.execution_id, start.origin, user);
  GENNAKER_ASSIGN_OR_RETURN(Json exec, Safely([&] {
                              return BuildOrchestration(
                                  start.application, start.description, *jobs,
                                  std::move(trigger), options);
                            }));
  return Create(exec, start.idempotency_key, user);
}

absl::StatusOr<Started> OrcaApi::Create(const Json& exec,
                                        const std::string& correlation,
                                        const std::string& user) {
  Started out;
  absl::StatusOr<std::string> id =
      store_->Create(exec, correlation, {StartMessage(exec)});
  if (!id.ok()) {
    // A retried request with the same execution id started it already.
    if (absl::IsAlreadyExists(id.status())) {
      absl::StatusOr<Json> existing = store_->Get(String(exec, "id"));
      if (existing.ok() && SameStart(*existing, exec)) {
        id = String(exec, "id");
        out.deduplicated = true;
      }
    }
    if (!id.ok()) return id.status();
  }
  out.deduplicated = out.deduplicated || *id != String(exec, "id");
  out.id = *id;
  out.type = String(exec, "type");
  out.application = String(exec, "application");
  SPDLOG_INFO(
      "event=execution_started execution={} type={} application={} "
      "name={} user={} deduplicated={}",
      *id, String(exec, "type"), String(exec, "application"),
      String(exec, "name"), user, out.deduplicated);
  return out;
}

absl::StatusOr<Json> OrcaApi::Get(const std::string& id,
                                  const std::string& type) {
  absl::StatusOr<Json> e = store_->Get(id);
  if (!e.ok()) return e.status();
  if (!type.empty() && String(*e, "type") != type) {
    return absl::NotFoundError(absl::StrCat("No ", type, " execution ", id));
  }
  return e;
}

absl::StatusOr<std::vector<Json>> OrcaApi::List(const ListRequest& request) {
  if (request.limit < 0) {
    return absl::InvalidArgumentError("limit must not be negative");
  }
  if (request.page < 0) {
    return absl::InvalidArgumentError("page must not be negative");
  }
  ExecutionQuery q;
  q.application = request.application;
  q.type = request.type;
  // PIPELINE unless ids are asked for.
  if (q.type.empty() && request.execution_ids.empty()) q.type = "PIPELINE";
  q.config_ids = request.config_ids;
  q.execution_ids = request.execution_ids;
  q.statuses = request.statuses;
  q.limit = request.limit > 0 ? std::min(request.limit, 5000) : 10;
  // Spinnaker limits pipeline lists per pipeline config; ids are exact.
  q.limit_per_config = q.type == "PIPELINE" && q.execution_ids.empty();
  if (!q.limit_per_config && request.page > 1) {
    q.offset = (request.page - 1) * q.limit;
  }
  GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> list, store_->List(q));
  if (request.built_after_ms > 0) {
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const Json& e) {
                                return Int(e, "buildTime") <
                                       request.built_after_ms;
                              }),
               list.end());
  }
  return list;
}

absl::Status OrcaApi::Delete(const std::string& id, const std::string& type) {
  GENNAKER_ASSIGN_OR_RETURN(Json e, Get(id, type));
  GENNAKER_RETURN_IF_ERROR(CheckControl(id, CurrentCallContext().user,
                                        /*write=*/true));
  if (!IsComplete(String(e, "status"))) {
    return absl::FailedPreconditionError(
        absl::StrCat("Execution ", id, " is ", String(e, "status"),
                     "; cancel it before deleting it"));
  }
  return store_->Delete(id);
}

absl::StatusOr<std::string> OrcaApi::StatusOf(const std::string& id) {
  GENNAKER_ASSIGN_OR_RETURN(Json e, store_->Get(id));
  return String(e, "status");
}

absl::StatusOr<std::string> OrcaApi::Cancel(const std::string& id,
                                            const std::string& user,
                                            const std::string& reason) {
  GENNAKER_RETURN_IF_ERROR(CheckControl(id, CurrentCallContext().user,
                                        /*write=*/false));
  GENNAKER_RETURN_IF_ERROR(
      Safely([&] { return engine_->Cancel(id, user, reason); }));
  return StatusOf(id);
}

absl::StatusOr<std::string> OrcaApi::Pause(const std::string& id,
                                           const std::string& user) {
  GENNAKER_RETURN_IF_ERROR(CheckControl(id, CurrentCallContext().user,
                                        /*write=*/false));
  GENNAKER_RETURN_IF_ERROR(Safely([&] { return engine_->Pause(id, user); }));
  return StatusOf(id);
}

absl::StatusOr<std::string> OrcaApi::Resume(const std::string& id,
                                            const std::string& user,
                                            bool ignore_current_status) {
  GENNAKER_RETURN_IF_ERROR(CheckControl(id, CurrentCallContext().user,
                                        /*write=*/false));
  GENNAKER_RETURN_IF_ERROR(
      Safely([&] { return engine_->Resume(id, user, ignore_current_status); }));
  return StatusOf(id);
}

absl::StatusOr<Json> OrcaApi::RestartStage(
    const std::string& id, const std::string& stage_id, const std::string& user,
    const std::string& restart_details_json) {
  GENNAKER_ASSIGN_OR_RETURN(
      Json details, ParseObject(restart_details_json, "restart_details"));
  GENNAKER_RETURN_IF_ERROR(CheckControl(id, CurrentCallContext().user,
                                        /*write=*/false));
  return Safely(
      [&] { return engine_->RestartStage(id, stage_id, user, details); });
}

absl::StatusOr<Json> OrcaApi::UpdateStage(const std::string& id,
                                          const std::string& stage_id,
                                          const StageUpdate& update,
                                          const std::string& user,
                                          const std::string& caller) {
  GENNAKER_ASSIGN_OR_RETURN(
      Json patch, ParseObject(update.context_patch_json, "context_patch"));
  if (!update.judgment_status.empty()) {
    patch["judgmentStatus"] = update.judgment_status;
  }
  if (!update.judgment_input.empty()) {
    patch["judgmentInput"] = update.judgment_input;
  }
  if (update.manual_skip) patch["manualSkip"] = true;
  if (update.skip_remaining_wait) patch["skipRemainingWait"] = true;
  for (const char* key : kJudgmentRoleKeys) {
    if (patch.contains(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("context_patch may not change '", key, "'"));
    }
  }
  if (authorizer_->enabled()) {
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      if (std::find_if(std::begin(kPatchableKeys), std::end(kPatchableKeys),
                       [&](const char* k) { return it.key() == k; }) ==
          std::end(kPatchableKeys)) {
        return absl::InvalidArgumentError(
            absl::StrCat("context_patch may not change '", it.key(),
                         "'; allowed: ", absl::StrJoin(kPatchableKeys, ", ")));
      }
    }
  }
  if (patch.contains("judgmentStatus")) {
    std::string js = String(patch, "judgmentStatus");
    if (js != "continue" && js != "stop") {
      return absl::InvalidArgumentError(
          "judgmentStatus must be \"continue\" or \"stop\"");
    }
  }
  GENNAKER_RETURN_IF_ERROR(CheckControl(id, caller, /*write=*/false));
  // Any update of a manual judgment (a context patch too) needs a judge.
  GENNAKER_RETURN_IF_ERROR(
      Safely([&] { return CheckJudge(id, stage_id, caller); }));
  return Safely(
      [&] { return engine_->UpdateStage(id, stage_id, patch, user); });
}

absl::StatusOr<Json> OrcaApi::Evaluate(const std::string& id,
                                       const std::string& stage_id,
                                       const std::string& expression,
                                       Json* failures) {
  return Safely([&] {
    return engine_->Evaluate(id, stage_id, Json(expression), failures);
  });
}

}  // namespace gennaker::orca
