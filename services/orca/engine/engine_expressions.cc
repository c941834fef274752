// Expressions as a stage sees them: the evaluation root and the helper
// functions bound to the execution.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "common/spinnaker/identity.h"
#include "common/status/status_macros.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/engine_internal.h"
#include "services/orca/expression/expression.h"

namespace gennaker::orca {

using engine_internal::Ancestors;
using engine_internal::MergeInto;
using engine_internal::StageForExpressions;

Json Engine::EvaluationRoot(const Json& execution, const Json& stage) {
  Json& exec = const_cast<Json&>(execution);
  Json root = Json::object();
  std::vector<const Json*> ancestors = Ancestors(exec, stage);
  // Farthest first, so that nearer outputs win.
  for (auto it = ancestors.rbegin(); it != ancestors.rend(); ++it) {
    if ((*it)->contains("outputs")) MergeInto(root, (**it)["outputs"]);
  }
  if (stage.contains("context")) MergeInto(root, stage["context"]);
  Json view = PublicView(execution);
  Json trigger = view.contains("trigger") ? view["trigger"] : Json::object();
  root["parameters"] = spinnaker::Object(trigger, "parameters");
  root["trigger"] = std::move(trigger);
  root["execution"] = std::move(view);
  return root;
}

expression::FunctionRegistry Engine::Functions(const Json& execution,
                                               const Json& stage) const {
  using expression::FunctionRegistry;
  FunctionRegistry f = FunctionRegistry::WithBuiltins();
  // One copy of the execution shared by the functions (they may outlive the
  // caller's document).
  auto exec = std::make_shared<Json>(execution);
  if (!exec->contains("stages")) (*exec)["stages"] = Json::array();
  std::shared_ptr<const Json> stages(exec, &(*exec)["stages"]);
  // Functions of the stage types (e.g. #deployedServerGroups).
  for (const auto& [name, fn] : registry_->ExpressionFunctions()) {
    f.Register(name, [exec, fn](const std::vector<Json>& args) {
      return fn(*exec, args);
    });
  }
  auto one_string = [](const std::vector<Json>& args,
                       const char* fn) -> absl::StatusOr<std::string> {
    if (args.size() != 1 || !args[0].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("#", fn, " takes one string argument"));
    }
    return args[0].get<std::string>();
  };
  f.Register(
      "stage",
      [stages, one_string](const std::vector<Json>& a) -> absl::StatusOr<Json> {
        GENNAKER_ASSIGN_OR_RETURN(std::string key, one_string(a, "stage"));
        for (const Json& s : *stages) {
          if (String(s, "name") == key || String(s, "id") == key) {
            return StageForExpressions(s);
          }
        }
        return absl::NotFoundError(
            absl::StrCat("Unable to locate [", key, "] in pipeline"));
      });
  f.Register(
      "stageByRefId",
      [stages, one_string](const std::vector<Json>& a) -> absl::StatusOr<Json> {
        GENNAKER_ASSIGN_OR_RETURN(std::string key,
                                  one_string(a, "stageByRefId"));
        for (const Json& s : *stages) {
          if (String(s, "refId") == key) return StageForExpressions(s);
        }
        return absl::NotFoundError(
            absl::StrCat("Unable to locate stage with refId [", key, "]"));
      });
  f.Register(
      "stageExists",
      [stages, one_string](const std::vector<Json>& a) -> absl::StatusOr<Json> {
        GENNAKER_ASSIGN_OR_RETURN(std::string key,
                                  one_string(a, "stageExists"));
        for (const Json& s : *stages) {
          if (String(s, "name") == key || String(s, "id") == key) return true;
        }
        return false;
      });
  auto judgment =
      [stages, one_string](const std::vector<Json>& a) -> absl::StatusOr<Json> {
    GENNAKER_ASSIGN_OR_RETURN(std::string key, one_string(a, "judgment"));
    for (const Json& s : *stages) {
      if (String(s, "name") == key && String(s, "type") == "manualJudgment") {
        const Json& c = s.contains("context") ? s["context"] : Json();
        if (c.is_object() && c.contains("judgmentInput")) {
          return c["judgmentInput"];
        }
        break;
      }
    }
    return absl::NotFoundError(absl::StrCat(
        "Unable to locate manual judgment stage [", key, "] in pipeline"));
  };
  f.Register("judgment", judgment);
  f.Register("judgement", judgment);
  auto current = std::make_shared<Json>(StageForExpressions(stage));
  f.Register("currentStage",
             [current](const std::vector<Json>&) -> absl::StatusOr<Json> {
               return *current;
             });
  const std::string user = spinnaker::UserOrAnonymous(
      execution.contains("trigger") ? String(execution["trigger"], "user")
                                    : std::string());
  f.Register("currentUser",
             [user](const std::vector<Json>&) -> absl::StatusOr<Json> {
               return user;
             });
  std::string app = String(execution, "application");
  ExpressionServices* services = services_;
  auto pipeline_id = [services, app, one_string](
                         const std::vector<Json>& a,
                         bool or_null) -> absl::StatusOr<Json> {
    GENNAKER_ASSIGN_OR_RETURN(std::string name, one_string(a, "pipelineId"));
    if (services == nullptr) {
      return absl::UnavailableError("front50 is not configured");
    }
    absl::StatusOr<std::string> id = services->PipelineId(app, name);
    if (!id.ok() && or_null && absl::IsNotFound(id.status())) return nullptr;
    if (!id.ok()) return id.status();
    return *id;
  };
  f.Register("pipelineId", [pipeline_id](const std::vector<Json>& a) {
    return pipeline_id(a, false);
  });
  f.Register("pipelineIdOrNull", [pipeline_id](const std::vector<Json>& a) {
    return pipeline_id(a, true);
  });
  auto fetch = [services, one_string](
                   const std::vector<Json>& a) -> absl::StatusOr<std::string> {
    GENNAKER_ASSIGN_OR_RETURN(std::string url, one_string(a, "fromUrl"));
    if (services == nullptr) return absl::UnavailableError("no HTTP client");
    return services->FetchUrl(url);
  };
  f.Register("fromUrl",
             [fetch](const std::vector<Json>& a) -> absl::StatusOr<Json> {
               GENNAKER_ASSIGN_OR_RETURN(std::string body, fetch(a));
               return body;
             });
  f.Register(
      "jsonFromUrl",
      [fetch](const std::vector<Json>& a) -> absl::StatusOr<Json> {
        GENNAKER_ASSIGN_OR_RETURN(std::string body, fetch(a));
        absl::StatusOr<Json> j = spinnaker::ParseJson(body, "the URL's body");
        if (!j.ok()) {
          return absl::InvalidArgumentError("the URL did not return JSON");
        }
        return *j;
      });
  f.Register(
      "propertiesFromUrl",
      [fetch](const std::vector<Json>& a) -> absl::StatusOr<Json> {
        GENNAKER_ASSIGN_OR_RETURN(std::string body, fetch(a));
        Json out = Json::object();
        for (absl::string_view line : absl::StrSplit(body, '\n')) {
          line = absl::StripAsciiWhitespace(line);
          if (line.empty() || line[0] == '#' || line[0] == '!') continue;
          size_t eq = line.find_first_of("=:");
          if (eq == absl::string_view::npos) {
            out[std::string(line)] = "";
            continue;
          }
          out[std::string(absl::StripAsciiWhitespace(line.substr(0, eq)))] =
              std::string(absl::StripAsciiWhitespace(line.substr(eq + 1)));
        }
        return out;
      });
  return f;
}

absl::StatusOr<Json> Engine::Evaluate(const std::string& id,
                                      const std::string& stage_id,
                                      const Json& value, Json* failures) {
  GENNAKER_ASSIGN_OR_RETURN(Json exec, store_->Get(id));
  Json stage = Json::object();
  if (!stage_id.empty()) {
    const Json* s = FindStage(exec, stage_id);
    if (s == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("No stage '", stage_id, "' in execution ", id));
    }
    stage = *s;
  }
  std::vector<expression::Failure> f;
  Json out = expression::ProcessTemplates(value, EvaluationRoot(exec, stage),
                                          Functions(exec, stage), &f);
  for (const expression::Failure& x : f) {
    failures->push_back({{"expression", x.expression},
                         {"description", x.description},
                         {"level", x.error ? "ERROR" : "INFO"}});
  }
  return out;
}

}  // namespace gennaker::orca
