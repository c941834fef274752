#include "services/orca/templates/v2_template.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"
#include "services/orca/expression/expression.h"

namespace gennaker::orca::templates {

namespace {

using spinnaker::String;

const expression::FunctionRegistry& Functions() {
  static const auto* f = new expression::FunctionRegistry(
      expression::FunctionRegistry::WithBuiltins());
  return *f;
}

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

std::string RefOf(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return "";
}

// A stage with its refId a string and its requisites a list of strings.
Json Normalize(const Json& stage) {
  Json s = stage;
  // A V2 stage definition may keep its settings under `config`.
  if (s.contains("config") && s["config"].is_object()) {
    Json config = s["config"];
    s.erase("config");
    for (auto it = config.begin(); it != config.end(); ++it) {
      if (!s.contains(it.key())) s[it.key()] = it.value();
    }
  }
  if (s.contains("refId")) s["refId"] = RefOf(s["refId"]);
  Json req = Json::array();
  if (s.contains("requisiteStageRefIds") &&
      s["requisiteStageRefIds"].is_array()) {
    for (const Json& r : s["requisiteStageRefIds"]) {
      std::string ref = RefOf(r);
      if (!ref.empty()) req.push_back(ref);
    }
  }
  s["requisiteStageRefIds"] = req;
  return s;
}

bool HasInject(const Json& s) {
  if (!s.contains("inject") || !s["inject"].is_object()) return false;
  const Json& i = s["inject"];
  return spinnaker::Bool(i, "first") || spinnaker::Bool(i, "last") ||
         (i.contains("before") && !i["before"].is_null()) ||
         (i.contains("after") && !i["after"].is_null());
}

int IndexOf(const std::vector<Json>& stages, const std::string& ref) {
  for (size_t i = 0; i < stages.size(); ++i) {
    if (String(stages[i], "refId") == ref) return static_cast<int>(i);
  }
  return -1;
}

// Kahn's algorithm over requisites (iterative: a long chain must not
// overflow the stack). Stages left over are on a cycle or after one; walking
// requisites among them from any of them reaches a stage on the cycle, named
// in the message.
absl::Status CheckNoCycle(const std::vector<Json>& stages) {
  std::map<std::string, const Json*> graph;
  for (const Json& s : stages) graph[String(s, "refId")] = &s;
  std::map<std::string, int> indegree;
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& [ref, stage] : graph) {
    indegree[ref];
    for (const Json& r : (*stage)["requisiteStageRefIds"]) {
      const std::string required = RefOf(r);
      if (!graph.count(required)) continue;
      ++indegree[ref];
      dependents[required].push_back(ref);
    }
  }
  std::vector<std::string> ready;
  for (const auto& [ref, n] : indegree) {
    if (n == 0) ready.push_back(ref);
  }
  size_t done = 0;
  while (!ready.empty()) {
    const std::string ref = std::move(ready.back());
    ready.pop_back();
    ++done;
    for (const std::string& d : dependents[ref]) {
      if (--indegree[d] == 0) ready.push_back(d);
    }
  }
  if (done == graph.size()) return absl::OkStatus();
  std::string at;
  for (const Json& s : stages) {
    if (indegree[String(s, "refId")] > 0) {
      at = String(s, "refId");
      break;
    }
  }
  std::set<std::string> seen;
  while (seen.insert(at).second) {
    for (const Json& r : (*graph[at])["requisiteStageRefIds"]) {
      const std::string required = RefOf(r);
      if (graph.count(required) && indegree[required] > 0) {
        at = required;
        break;
      }
    }
  }
  return Invalid(
      absl::StrCat("Cycle detected in graph (discovered on stage: ", at, ")"));
}

std::vector<std::string> Targets(const Json& v) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const Json& t : v) {
      std::string r = RefOf(t);
      if (!r.empty()) out.push_back(r);
    }
  } else {
    std::string r = RefOf(v);
    if (!r.empty()) out.push_back(r);
  }
  return out;
}

absl::Status Inject(Json stage, std::vector<Json>& all) {
  const std::string ref = String(stage, "refId");
  const Json rule = stage["inject"];
  stage.erase("inject");
  // A stage injected somewhere is not also where it was defined.
  all.erase(
      std::remove_if(all.begin(), all.end(),
                     [&](const Json& s) { return String(s, "refId") == ref; }),
      all.end());
  auto unknown = [&](const std::string& target) {
    return Invalid(absl::StrCat("could not inject '", ref,
                                "' stage: unknown target stage id '", target,
                                "'"));
  };
  if (spinnaker::Bool(rule, "first")) {
    for (Json& s : all) {
      if (s["requisiteStageRefIds"].empty()) {
        s["requisiteStageRefIds"].push_back(ref);
      }
    }
    all.insert(all.begin(), std::move(stage));
  } else if (spinnaker::Bool(rule, "last")) {
    // After every leaf (a stage nothing requires).
    std::set<std::string> required;
    for (const Json& s : all) {
      for (const Json& r : s["requisiteStageRefIds"]) required.insert(RefOf(r));
    }
    for (const Json& s : all) {
      const std::string r = String(s, "refId");
      if (!required.count(r)) stage["requisiteStageRefIds"].push_back(r);
    }
    all.push_back(std::move(stage));
  } else if (rule.contains("before") && !rule["before"].is_null()) {
    std::vector<std::string> targets = Targets(rule["before"]);
    if (targets.empty()) return unknown("");
    int last = -1;
    std::vector<std::string> edges;
    for (const std::string& t : targets) {
      int i = IndexOf(all, t);
      if (i < 0) return unknown(t);
      for (const Json& r : all[i]["requisiteStageRefIds"]) {
        std::string e = r.get<std::string>();
        if (std::find(edges.begin(), edges.end(), e) == edges.end()) {
          edges.push_back(e);
        }
      }
      all[i]["requisiteStageRefIds"] = Json::array({ref});
      last = std::max(last, i);
    }
    for (const std::string& e : edges)
      stage["requisiteStageRefIds"].push_back(e);
    all.insert(all.begin() + last, std::move(stage));
  } else if (rule.contains("after") && !rule["after"].is_null()) {
    std::vector<std::string> targets = Targets(rule["after"]);
    if (targets.empty()) return unknown("");
    int last = -1;
    std::set<std::string> target_set;
    for (const std::string& t : targets) {
      int i = IndexOf(all, t);
      if (i < 0) return unknown(t);
      last = std::max(last, i);
      stage["requisiteStageRefIds"].push_back(t);
      target_set.insert(t);
    }
    // What followed a target now follows the injected stage (one pass).
    for (Json& s : all) {
      Json kept = Json::array();
      bool followed = false;
      for (const Json& r : s["requisiteStageRefIds"]) {
        if (target_set.count(RefOf(r))) {
          followed = true;
        } else {
          kept.push_back(r);
        }
      }
      if (!followed) continue;
      kept.push_back(ref);
      s["requisiteStageRefIds"] = std::move(kept);
    }
    all.insert(all.begin() + last + 1, std::move(stage));
  } else {
    return Invalid(absl::StrCat(
        "stage did not have any valid injections defined (id: ", ref, ")"));
  }
  return absl::OkStatus();
}

// Template items marked inherited, then the config's that are not already
// there.
Json MergeDistinct(const Json& from_template, const Json& from_config) {
  Json out = Json::array();
  if (from_template.is_array()) {
    for (Json item : from_template) {
      if (item.is_object()) item["inherited"] = true;
      out.push_back(std::move(item));
    }
  }
  if (from_config.is_array()) {
    for (const Json& item : from_config) {
      bool seen = std::any_of(out.begin(), out.end(), [&](const Json& o) {
        Json a = o;
        if (a.is_object()) a.erase("inherited");
        return a == item;
      });
      if (!seen) out.push_back(item);
    }
  }
  return out;
}

Json ListOr(const Json& object, const char* key) {
  if (object.is_object() && object.contains(key) && object[key].is_array()) {
    return object[key];
  }
  return Json::array();
}

bool Excluded(const Json& config, const std::string& what) {
  for (const Json& e : ListOr(config, "exclude")) {
    if (e == what) return true;
  }
  return false;
}

// The variable a failed expression names, from templateVariables.x or
// templateVariables['x'].
std::string VariableNamed(const std::string& expression) {
  static constexpr char kPrefix[] = "templateVariables";
  size_t at = expression.find(kPrefix);
  if (at == std::string::npos) return "";
  size_t i = at + sizeof(kPrefix) - 1;
  if (i < expression.size() && expression[i] == '.') {
    ++i;
  } else if (i + 1 < expression.size() && expression[i] == '[' &&
             (expression[i + 1] == '\'' || expression[i + 1] == '"')) {
    i += 2;
  } else {
    return "";
  }
  size_t end = i;
  while (end < expression.size() &&
         (absl::ascii_isalnum(static_cast<unsigned char>(expression[end])) ||
          expression[end] == '_' || expression[end] == '-')) {
    ++end;
  }
  return expression.substr(i, end - i);
}

// Renders every string that names templateVariables; other expressions are
// left for the stages to evaluate when they run.
void RenderTemplateVariables(Json& value, const Json& root,
                             std::vector<expression::Failure>* failures) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (s.find("${") == std::string::npos ||
        s.find("templateVariables") == std::string::npos) {
      return;
    }
    value = expression::ProcessTemplates(value, root, Functions(), failures);
  } else if (value.is_array() || value.is_object()) {
    for (auto& child : value) RenderTemplateVariables(child, root, failures);
  }
}

absl::StatusOr<Json> LoadTemplate(const TemplateReference& ref,
                                  const TemplateLoader& load) {
  absl::StatusOr<Json> t = load(ref);
  // front50 keeps an untagged save apart from its "latest" tag.
  if (absl::IsNotFound(t.status()) && ref.tag == "latest") {
    TemplateReference untagged = ref;
    untagged.tag.clear();
    t = load(untagged);
  }
  if (absl::IsNotFound(t.status())) {
    return Invalid(absl::StrCat("Pipeline template is invalid: template '",
                                kReferencePrefix, ref.Key(),
                                "' does not exist"));
  }
  if (!t.ok()) return t.status();
  if (!t->is_object()) {
    return Invalid(absl::StrCat("Pipeline template is invalid: template '",
                                ref.Key(), "' is not a JSON object"));
  }
  return t;
}

absl::StatusOr<Json> Resolve(const Json& config, const Json& trigger,
                             const TemplateLoader& load,
                             std::vector<std::string>& chain) {
  if (!config.contains("template") || !config["template"].is_object()) {
    return Invalid("a templated pipeline config needs a 'template'");
  }
  // The reference may be dynamic.
  Json reference = config["template"].contains("reference")
                       ? config["template"]["reference"]
                       : Json();
  if (!reference.is_string() || reference.get<std::string>().empty()) {
    return Invalid("a templated pipeline config needs template.reference");
  }
  if (reference.get<std::string>().find("${") != std::string::npos) {
    std::vector<expression::Failure> failures;
    Json root = {{"trigger", trigger},
                 {"application", String(config, "application")}};
    reference =
        expression::ProcessTemplates(reference, root, Functions(), &failures);
    if (!failures.empty() || !reference.is_string()) {
      return Invalid(absl::StrCat(
          "could not render template.reference ",
          config["template"]["reference"].dump(), ": ",
          failures.empty() ? "not a string" : failures[0].description));
    }
  }
  GENNAKER_ASSIGN_OR_RETURN(
      TemplateReference ref,
      ParseTemplateReference(reference.get<std::string>()));
  for (const std::string& seen : chain) {
    if (absl::EqualsIgnoreCase(seen, ref.id)) {
      chain.push_back(ref.id);
      return Invalid(absl::StrCat(
          "Pipeline template is invalid: Cyclic template inheritance: ",
          absl::StrJoin(chain, " -> ")));
    }
  }
  chain.push_back(ref.id);
  if (static_cast<int>(chain.size()) > kMaxTemplateDepth) {
    return Invalid(absl::StrCat(
        "Pipeline template is invalid: templates nest deeper than ",
        kMaxTemplateDepth));
  }
  GENNAKER_ASSIGN_OR_RETURN(Json tmpl, LoadTemplate(ref, load));
  GENNAKER_RETURN_IF_ERROR(ValidateTemplate(tmpl));

  Json base = tmpl.contains("pipeline") && tmpl["pipeline"].is_object()
                  ? tmpl["pipeline"]
                  : Json::object();
  if (IsTemplatedConfig(base)) {
    // A template built on another template: that one first.
    if (String(base, "application").empty()) {
      base["application"] = String(config, "application");
    }
    GENNAKER_ASSIGN_OR_RETURN(base, Resolve(base, trigger, load, chain));
  }

  Json render_root = {{"trigger", trigger},
                      {"application", String(config, "application")}};
  GENNAKER_ASSIGN_OR_RETURN(
      Json variables,
      ResolveVariables(
          tmpl.contains("variables") ? tmpl["variables"] : Json::array(),
          config.contains("variables") ? config["variables"] : Json::object(),
          render_root));

  Json config_stages = ListOr(config, "stages");
  if (spinnaker::Bool(tmpl, "protect") && !config_stages.empty()) {
    return Invalid(absl::StrCat(
        "Pipeline template is invalid: template '", ref.id,
        "' is protected: a configuration cannot change its stages"));
  }
  GENNAKER_ASSIGN_OR_RETURN(Json stages,
                            MergeStages(ListOr(base, "stages"), config_stages));

  Json out = base;
  out.erase("type");
  out.erase("schema");
  out.erase("template");
  out.erase("variables");
  out["stages"] = std::move(stages);
  std::string id = String(config, "id");
  if (id.empty()) id = String(config, "pipelineConfigId");
  if (!id.empty()) {
    out["id"] = id;
  } else {
    out.erase("id");
  }
  out["application"] = String(config, "application");
  std::string name = String(config, "name");
  out["name"] = name.empty() ? "Unnamed Execution" : name;
  for (const char* k :
       {"limitConcurrent", "keepWaitingPipelines", "maxConcurrentExecutions"}) {
    if (!out.contains(k) && config.contains(k)) out[k] = config[k];
  }
  for (const char* k : {"description", "disabled", "spelEvaluator"}) {
    if (config.contains(k) && !config[k].is_null()) out[k] = config[k];
  }
  // What a config may add to or take from the template's lists.
  struct Category {
    const char* exclude;
    const char* pipeline_key;
    const char* config_key;
  };
  for (const Category& c :
       {Category{"triggers", "triggers", "triggers"},
        Category{"parameters", "parameterConfig", "parameters"},
        Category{"notifications", "notifications", "notifications"}}) {
    if (Excluded(config, c.exclude)) {
      out[c.pipeline_key] = ListOr(config, c.config_key);
    } else {
      out[c.pipeline_key] = MergeDistinct(ListOr(base, c.pipeline_key),
                                          ListOr(config, c.config_key));
    }
  }
  out["templateVariables"] = variables;

  // ${templateVariables.x} wherever the pipeline says it.
  Json root = {{"templateVariables", variables}, {"trigger", trigger}};
  std::vector<expression::Failure> failures;
  for (auto it = out.begin(); it != out.end(); ++it) {
    if (it.key() == "templateVariables") continue;
    RenderTemplateVariables(it.value(), root, &failures);
  }
  std::vector<std::string> missing;
  for (const expression::Failure& f : failures) {
    std::string v = VariableNamed(f.expression);
    if (!v.empty() && !variables.contains(v) &&
        std::find(missing.begin(), missing.end(), v) == missing.end()) {
      missing.push_back(v);
    }
  }
  if (!missing.empty()) {
    return Invalid(absl::StrCat(
        "Missing template variable values for the following variables: [",
        absl::StrJoin(missing, ", "), "]"));
  }
  if (!out.contains("source")) {
    out["source"] = {{"type", "templatedPipeline"}, {"version", "v2"}};
  }
  return out;
}

}  // namespace

absl::StatusOr<Json> ResolveVariables(const Json& template_variables,
                                      const Json& config_variables,
                                      const Json& render_root) {
  Json declared =
      template_variables.is_array() ? template_variables : Json::array();
  Json given = config_variables.is_object() ? config_variables : Json::object();
  Json out = Json::object();
  for (const Json& v : declared) {
    const std::string name = String(v, "name");
    if (given.contains(name)) out[name] = given[name];  // unknown names drop
  }
  for (const Json& v : declared) {
    const std::string name = String(v, "name");
    if (out.contains(name) || !v.contains("defaultValue") ||
        v["defaultValue"].is_null()) {
      continue;
    }
    Json d = v["defaultValue"];
    if (d.is_string() && d.get<std::string>().find("${") != std::string::npos) {
      std::vector<expression::Failure> failures;
      d = expression::ProcessTemplates(d, render_root, Functions(), &failures);
    }
    out[name] = d;
  }
  std::vector<std::string> missing;
  for (const Json& v : declared) {
    const std::string name = String(v, "name");
    if (!out.contains(name) && !spinnaker::Bool(v, "nullable")) {
      missing.push_back(name);
    }
  }
  if (!missing.empty()) {
    return Invalid(absl::StrCat("Missing variable values for: ",
                                absl::StrJoin(missing, ", ")));
  }
  std::vector<std::string> wrong;
  for (const Json& v : declared) {
    const std::string name = String(v, "name");
    const bool nullable = spinnaker::Bool(v, "nullable");
    if (!out.contains(name)) {
      out[name] = nullptr;  // nullable and not given
      continue;
    }
    const Json& value = out[name];
    if (value.is_null()) {
      if (!nullable) {
        wrong.push_back(absl::StrCat("variable '", name,
                                     "' supplied value is null but variable "
                                     "is not nullable"));
      }
      continue;
    }
    const std::string type = VariableType(v);
    if (type.empty()) {
      return Invalid(absl::StrCat("Pipeline template is invalid: variable '",
                                  name, "' has unknown type ",
                                  v["type"].dump()));
    }
    if (!FitsType(type, value)) {
      wrong.push_back(absl::StrCat(name, " (expected type '", type,
                                   "' found type '", JavaTypeName(value),
                                   "')"));
    }
  }
  if (!wrong.empty()) {
    return Invalid(absl::StrCat("Incorrectly defined variable(s): ",
                                absl::StrJoin(wrong, ", ")));
  }
  return out;
}

namespace {

// How many requisites (and injection targets) a stage list names: bounded
// with the stage count so merging and injecting stay cheap.
size_t EdgeCount(const Json& stages) {
  size_t n = 0;
  if (!stages.is_array()) return 0;
  for (const Json& s : stages) {
    if (!s.is_object()) continue;
    if (s.contains("requisiteStageRefIds") &&
        s["requisiteStageRefIds"].is_array()) {
      n += s["requisiteStageRefIds"].size();
    }
    if (s.contains("inject") && s["inject"].is_object()) {
      for (const char* k : {"before", "after"}) {
        if (!s["inject"].contains(k)) continue;
        const Json& t = s["inject"][k];
        n += t.is_array() ? t.size() : 1;
      }
    }
  }
  return n;
}

absl::Status CheckSize(const Json& stages) {
  if (stages.is_array() && stages.size() > kMaxTemplateStages) {
    return Invalid(absl::StrCat("a pipeline template may have at most ",
                                kMaxTemplateStages, " stages"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Json> MergeStages(const Json& template_stages,
                                 const Json& config_stages) {
  GENNAKER_RETURN_IF_ERROR(CheckSize(template_stages));
  GENNAKER_RETURN_IF_ERROR(CheckSize(config_stages));
  if (EdgeCount(template_stages) + EdgeCount(config_stages) >
      kMaxTemplateStageEdges) {
    return Invalid(absl::StrCat(
        "a pipeline template may name at most ", kMaxTemplateStageEdges,
        " stage dependencies (requisiteStageRefIds and injection targets)"));
  }
  std::vector<Json> all;
  if (template_stages.is_array()) {
    for (const Json& s : template_stages) {
      if (!s.is_object()) return Invalid("every stage must be a JSON object");
      all.push_back(Normalize(s));
    }
  }
  std::vector<Json> config;
  if (config_stages.is_array()) {
    for (const Json& s : config_stages) {
      if (!s.is_object()) return Invalid("every stage must be a JSON object");
      Json n = Normalize(s);
      if (String(n, "refId").empty()) {
        return Invalid("every configuration stage needs a refId");
      }
      config.push_back(std::move(n));
    }
  }
  // Replacements by refId, then additions.
  for (const Json& s : config) {
    if (HasInject(s)) continue;
    int i = IndexOf(all, String(s, "refId"));
    if (i >= 0) {
      all[i] = s;
    } else {
      all.push_back(s);
    }
  }
  GENNAKER_RETURN_IF_ERROR(CheckNoCycle(all));
  // Injections: the template's own, then the config's.
  std::vector<Json> template_injected;
  for (const Json& s : all) {
    if (HasInject(s)) template_injected.push_back(s);
  }
  for (const Json& s : template_injected) {
    GENNAKER_RETURN_IF_ERROR(Inject(s, all));
  }
  for (const Json& s : config) {
    if (HasInject(s)) GENNAKER_RETURN_IF_ERROR(Inject(s, all));
  }
  if (all.size() > kMaxTemplateStages) {
    return Invalid(absl::StrCat("a pipeline template may have at most ",
                                kMaxTemplateStages, " stages"));
  }
  // Once, after every injection.
  GENNAKER_RETURN_IF_ERROR(CheckNoCycle(all));
  Json out = Json::array();
  for (Json& s : all) {
    s.erase("inject");
    out.push_back(std::move(s));
  }
  return out;
}

TemplateLoader Front50Loader(Front50* front50) {
  return [front50](const TemplateReference& ref) -> absl::StatusOr<Json> {
    return front50->PipelineTemplate(ref.id, ref.tag, ref.digest);
  };
}

absl::StatusOr<Resolved> ResolveTemplatedPipeline(const Json& config,
                                                  Json trigger,
                                                  const TemplateLoader& load) {
  if (!config.is_object()) {
    return Invalid("the pipeline config must be an object");
  }
  if (!trigger.is_object()) trigger = Json::object();
  // Parameters as orca's starters set them from the stored config, then
  // rendered against the trigger (a default may read the parent's).
  Json& params = trigger["parameters"];
  if (!params.is_object()) params = Json::object();
  for (const Json& p : ListOr(config, "parameterConfig")) {
    const std::string name = String(p, "name");
    if (name.empty() || (params.contains(name) && !params[name].is_null())) {
      continue;
    }
    if (p.contains("default") && !p["default"].is_null()) {
      params[name] = p["default"];
    }
  }
  Json root = {{"trigger", trigger}};
  for (auto it = params.begin(); it != params.end(); ++it) {
    if (it->is_string() &&
        it->get<std::string>().find("${") != std::string::npos) {
      std::vector<expression::Failure> failures;
      *it = expression::ProcessTemplates(*it, root, Functions(), &failures);
    }
  }
  std::vector<std::string> chain;
  Resolved r;
  GENNAKER_ASSIGN_OR_RETURN(r.pipeline, Resolve(config, trigger, load, chain));
  r.trigger = std::move(trigger);
  return r;
}

}  // namespace gennaker::orca::templates
