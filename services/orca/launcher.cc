#include "services/orca/launcher.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/spinnaker/identity.h"
#include "common/status/status_macros.h"
#include "services/orca/artifacts.h"
#include "services/orca/templates/v2_template.h"

namespace gennaker::orca {

namespace {

bool Empty(const Json& v) {
  return v.is_null() || (v.is_string() && v.get<std::string>().empty());
}

// Builds stage documents from stage configs and checks the DAG.
absl::StatusOr<Json> BuildStages(const Json& configs, int64_t now_ms) {
  if (!configs.is_array()) {
    return absl::InvalidArgumentError("'stages' must be a list");
  }
  bool any_ref = false;
  for (const Json& s : configs) {
    if (!s.is_object()) {
      return absl::InvalidArgumentError("every stage must be a JSON object");
    }
    if (s.contains("refId") && !Empty(s["refId"])) any_ref = true;
  }
  Json stages = Json::array();
  std::set<std::string> refs;
  int index = 0;
  for (const Json& config : configs) {
    std::string type = String(config, "type");
    if (type.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stage ", index, " has no 'type'"));
    }
    Json ctx = config;
    std::string ref;
    if (any_ref) {
      const Json& r = config.contains("refId") ? config["refId"] : Json();
      if (r.is_string()) {
        ref = r.get<std::string>();
      } else if (r.is_number_integer()) {
        ref = std::to_string(r.get<int64_t>());
      }
      if (ref.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "stage ", index, " ('", type, "') has no refId while others do"));
      }
    } else {
      ref = std::to_string(index);
    }
    if (!refs.insert(ref).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate stage refId '", ref, "'"));
    }
    Json requisites = Json::array();
    if (any_ref) {
      if (config.contains("requisiteStageRefIds") &&
          !config["requisiteStageRefIds"].is_null()) {
        const Json& req = config["requisiteStageRefIds"];
        if (!req.is_array()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "stage '", ref, "': requisiteStageRefIds must be a list"));
        }
        for (const Json& r : req) {
          if (r.is_string()) {
            requisites.push_back(r);
          } else if (r.is_number_integer()) {
            requisites.push_back(std::to_string(r.get<int64_t>()));
          } else {
            return absl::InvalidArgumentError(absl::StrCat(
                "stage '", ref, "': requisiteStageRefIds must hold strings"));
          }
        }
      }
    } else if (index > 0) {
      requisites.push_back(std::to_string(index - 1));
    }
    for (const char* k : {"refId", "requisiteStageRefIds", "type", "name"}) {
      ctx.erase(k);
    }
    std::string name = String(config, "name");
    stages.push_back({{"id", UlidAt(now_ms)},
                      {"refId", ref},
                      {"type", type},
                      {"name", name.empty() ? type : name},
                      {"status", status::kNotStarted},
                      {"context", ctx},
                      {"outputs", Json::object()},
                      {"tasks", Json::array()},
                      {"requisiteStageRefIds", requisites}});
    ++index;
  }
  // Every requisite must exist and the graph must have no cycle.
  std::map<std::string, std::vector<std::string>> deps;
  for (const Json& s : stages) {
    for (const Json& r : s["requisiteStageRefIds"]) {
      if (!refs.count(r.get<std::string>())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "stage '", String(s, "refId"), "' requires unknown stage '",
            r.get<std::string>(), "'"));
      }
      deps[String(s, "refId")].push_back(r.get<std::string>());
    }
  }
  std::set<std::string> done;
  bool progress = true;
  while (done.size() < refs.size() && progress) {
    progress = false;
    for (const std::string& ref : refs) {
      if (done.count(ref)) continue;
      bool ready = true;
      for (const std::string& d : deps[ref]) ready = ready && done.count(d);
      if (ready) {
        done.insert(ref);
        progress = true;
      }
    }
  }
  if (done.size() < refs.size()) {
    return absl::InvalidArgumentError("Invalid stage relationships found");
  }
  return stages;
}

absl::StatusOr<Json> NormalizeTrigger(Json trigger, const LaunchOptions& o) {
  if (trigger.is_null()) trigger = Json::object();
  if (!trigger.is_object()) {
    return absl::InvalidArgumentError("the trigger must be a JSON object");
  }
  if (String(trigger, "type").empty()) trigger["type"] = "manual";
  if (String(trigger, "user").empty()) {
    trigger["user"] = o.user.empty() ? "[anonymous]" : o.user;
  }
  if (trigger.contains("parameters") && !trigger["parameters"].is_null() &&
      !trigger["parameters"].is_object()) {
    return absl::InvalidArgumentError("trigger.parameters must be an object");
  }
  for (const char* k : {"artifacts", "notifications"}) {
    if (!trigger.contains(k) || trigger[k].is_null())
      trigger[k] = Json::array();
  }
  for (const char* k : {"rebake", "dryRun", "strategy"}) {
    if (!trigger.contains(k)) trigger[k] = false;
  }
  return trigger;
}

// Who the execution runs for.
Json Authentication(const LaunchOptions& o) {
  return {{"user", spinnaker::UserOrAnonymous(o.user)},
          {"allowedAccounts", Json::array()}};
}

}  // namespace

absl::StatusOr<Json> ResolveParameters(const Json& config,
                                       const Json& supplied) {
  Json out = supplied.is_object() ? supplied : Json::object();
  const Json& pc = config.contains("parameterConfig")
                       ? config["parameterConfig"]
                       : Json::array();
  if (!pc.is_array()) return out;
  for (const Json& p : pc) {
    std::string name = String(p, "name");
    if (name.empty()) continue;
    if (!out.contains(name) || out[name].is_null()) {
      if (p.contains("default") && !p["default"].is_null()) {
        out[name] = p["default"];
      } else {
        out[name] = nullptr;
      }
    }
    if (Bool(p, "required") && Empty(out[name])) {
      return absl::InvalidArgumentError(
          absl::StrCat("Required parameter '", name, "' is missing"));
    }
    if (out[name].is_null()) out.erase(name);
  }
  return out;
}

absl::StatusOr<Json> BuildPipelineExecution(const Json& config, Json trigger,
                                            const LaunchOptions& o) {
  if (!config.is_object()) {
    return absl::InvalidArgumentError("the pipeline config must be an object");
  }
  if (String(config, "application").empty()) {
    return absl::InvalidArgumentError("the pipeline config has no application");
  }
  if (Bool(config, "disabled")) {
    return absl::FailedPreconditionError(
        "Pipeline is disabled and cannot be started.");
  }
  if (templates::IsTemplatedConfig(config)) {
    if (o.front50 == nullptr) {
      return absl::FailedPreconditionError(
          "templated pipelines (MPT v2) need front50 for their templates");
    }
    GENNAKER_ASSIGN_OR_RETURN(
        templates::Resolved resolved,
        templates::ResolveTemplatedPipeline(
            config, std::move(trigger), templates::Front50Loader(o.front50)));
    return BuildPipelineExecution(resolved.pipeline,
                                  std::move(resolved.trigger), o);
  }
  if (!config.contains("stages") || config["stages"].is_null()) {
    return absl::InvalidArgumentError("the pipeline config has no 'stages'");
  }
  GENNAKER_ASSIGN_OR_RETURN(Json stages,
                            BuildStages(config["stages"], o.now_ms));
  GENNAKER_ASSIGN_OR_RETURN(trigger, NormalizeTrigger(std::move(trigger), o));
  GENNAKER_ASSIGN_OR_RETURN(
      Json params, ResolveParameters(config, trigger.contains("parameters")
                                                 ? trigger["parameters"]
                                                 : Json::object()));
  trigger["parameters"] = params;
  // Binds the pipeline's expected artifacts to the trigger's (refusing the
  // run when one cannot be bound), before anything is stored.
  if (o.resolve_artifacts) {
    GENNAKER_RETURN_IF_ERROR(
        ResolveTriggerArtifacts(config, trigger, o.prior_artifacts));
  }
  Json e = {{"type", "PIPELINE"},
            {"id", o.execution_id.empty() ? UlidAt(o.now_ms) : o.execution_id},
            {"application", String(config, "application")},
            {"name", String(config, "name")},
            {"status", status::kNotStarted},
            {"buildTime", o.now_ms},
            {"canceled", false},
            {"limitConcurrent", Bool(config, "limitConcurrent")},
            {"maxConcurrentExecutions", Int(config, "maxConcurrentExecutions")},
            {"keepWaitingPipelines", Bool(config, "keepWaitingPipelines")},
            {"stages", std::move(stages)},
            {"trigger", std::move(trigger)},
            {"authentication", Authentication(o)},
            {"origin", o.origin.empty() ? "api" : o.origin},
            {"notifications", config.contains("notifications") &&
                                      config["notifications"].is_array()
                                  ? config["notifications"]
                                  : Json::array()},
            {"initialConfig", Json::object()},
            {"systemNotifications", Json::array()}};
  if (!String(config, "id").empty())
    e["pipelineConfigId"] = String(config, "id");
  for (const char* k : {"spelEvaluator", "description", "source",
                        "templateVariables", "startTimeExpiry"}) {
    if (config.contains(k) && !config[k].is_null()) e[k] = config[k];
  }
  return e;
}

absl::StatusOr<Json> BuildOrchestration(const std::string& application,
                                        const std::string& description,
                                        const Json& jobs, Json trigger,
                                        const LaunchOptions& o) {
  if (application.empty()) {
    return absl::InvalidArgumentError("a task needs an application");
  }
  if (!jobs.is_array() || jobs.empty()) {
    return absl::InvalidArgumentError("a task needs a non-empty 'job' list");
  }
  // Jobs always run in order.
  Json linear = Json::array();
  for (const Json& j : jobs) {
    if (!j.is_object()) {
      return absl::InvalidArgumentError("every job must be a JSON object");
    }
    Json copy = j;
    copy.erase("refId");
    copy.erase("requisiteStageRefIds");
    linear.push_back(std::move(copy));
  }
  GENNAKER_ASSIGN_OR_RETURN(Json stages, BuildStages(linear, o.now_ms));
  // A job's "name" is also an operation field (the load balancer or security
  // group to upsert): it stays in the context, as orca keeps it.
  for (size_t i = 0; i < stages.size() && i < linear.size(); ++i) {
    if (linear[i].contains("name")) {
      stages[i]["context"]["name"] = linear[i]["name"];
    }
  }
  GENNAKER_ASSIGN_OR_RETURN(trigger, NormalizeTrigger(std::move(trigger), o));
  return Json{
      {"type", "ORCHESTRATION"},
      {"id", o.execution_id.empty() ? UlidAt(o.now_ms) : o.execution_id},
      {"application", application},
      {"name", description},
      {"description", description},
      {"status", status::kNotStarted},
      {"buildTime", o.now_ms},
      {"canceled", false},
      {"stages", std::move(stages)},
      {"trigger", std::move(trigger)},
      {"authentication", Authentication(o)},
      {"origin", o.origin.empty() ? "api" : o.origin},
      {"systemNotifications", Json::array()}};
}

Outgoing StartMessage(const Json& execution) {
  Outgoing o;
  o.message.kind = kind::kStartExecution;
  o.message.execution_id = String(execution, "id");
  return o;
}

}  // namespace gennaker::orca
