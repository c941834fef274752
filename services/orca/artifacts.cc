#include "services/orca/artifacts.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"
#include "re2/re2.h"
#include "services/orca/engine/registry.h"
#include "services/orca/engine/store.h"

namespace gennaker::orca {

namespace {

constexpr const char* kMatchFields[] = {"type", "name", "version", "location",
                                        "reference"};

// Keeps error messages readable when an artifact carries a large embedded
// reference.
std::string Short(const Json& value) {
  std::string text = Dump(value);
  constexpr size_t kMax = 300;
  if (text.size() > kMax) text = absl::StrCat(text.substr(0, kMax), "...");
  return text;
}

// How an error names an expected artifact.
std::string Describe(const Json& expected) {
  const std::string id = String(expected, "id");
  const std::string display = String(expected, "displayName");
  if (display.empty()) return absl::StrCat("'", id, "'");
  return absl::StrCat("'", display, "' (id ", id, ")");
}

bool IsObject(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_object();
}

// One field of kork's ExpectedArtifact.matches.
absl::StatusOr<bool> FieldMatches(const std::string& field,
                                  const std::string& pattern,
                                  const Json& artifact) {
  auto it = artifact.find(field);
  if (it == artifact.end() || !it->is_string()) return false;
  const std::string& other = it->get_ref<const std::string&>();
  if (other == pattern) return true;
  if (field == "type" &&
      ((pattern == "embedded/base64" && other == "remote/base64") ||
       (pattern == "remote/base64" && other == "embedded/base64"))) {
    return true;
  }
  RE2 re(pattern, RE2::Quiet);
  if (!re.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("matchArtifact.", field, " '", pattern,
                     "' is not a valid regular expression: ", re.error()));
  }
  return RE2::FullMatch(other, re);
}

// Appends `a` to `list` unless an equal artifact is there.
void AddUnique(Json& list, const Json& a) {
  for (const Json& x : list) {
    if (x == a) return;
  }
  list.push_back(a);
}

std::string GitRepositoryUrl(const std::string& source,
                             const std::string& project,
                             const std::string& slug) {
  if (source == "github") {
    return absl::StrCat("https://github.com/", project, "/", slug, ".git");
  }
  if (source == "gitlab") {
    return absl::StrCat("https://gitlab.com/", project, "/", slug, ".git");
  }
  if (source == "bitbucket") {
    return absl::StrCat("https://bitbucket.org/", project, "/", slug, ".git");
  }
  return absl::StrCat(source, ":", project, "/", slug);
}

bool HasArtifact(const Json& list, const std::string& type,
                 const std::string& reference) {
  for (const Json& a : list) {
    if (String(a, "type") == type &&
        (reference.empty() || String(a, "reference") == reference)) {
      return true;
    }
  }
  return false;
}

// The match of `expected` among `candidates` (a list, or null for none),
// nullopt for none. With `require_unique`, several distinct matches are
// refused; else the first wins.
absl::StatusOr<std::optional<Json>> MatchOne(const Json& expected,
                                             const Json& candidates,
                                             bool require_unique = true) {
  Json matches = Json::array();
  if (candidates.is_array()) {
    for (const Json& a : candidates) {
      GENNAKER_ASSIGN_OR_RETURN(bool ok, ArtifactMatches(expected, a));
      if (!ok) continue;
      if (!require_unique) return std::optional<Json>(a);
      AddUnique(matches, a);
    }
  }
  if (matches.empty()) return std::nullopt;
  if (matches.size() > 1) {
    std::vector<std::string> shown;
    for (const Json& m : matches) shown.push_back(Short(m));
    return absl::InvalidArgumentError(absl::StrCat(
        "Expected artifact ", Describe(expected),
        " matches multiple artifacts [", absl::StrJoin(shown, ", "), "]"));
  }
  return std::optional<Json>(matches[0]);
}

// The resolvedExpectedArtifacts lists to search, nearest first.
std::vector<const Json*> ResolvedLists(const Json& execution_or_trigger) {
  std::vector<const Json*> lists;
  const Json& x = execution_or_trigger;
  if (!x.is_object()) return lists;
  const bool is_execution = IsObject(x, "trigger") || x.contains("stages");
  if (!is_execution) {
    auto it = x.find("resolvedExpectedArtifacts");
    if (it != x.end() && it->is_array()) lists.push_back(&*it);
    return lists;
  }
  auto stages = x.find("stages");
  if (stages != x.end() && stages->is_array()) {
    // Later stages first, as stage outputs are searched before the trigger.
    for (auto s = stages->rbegin(); s != stages->rend(); ++s) {
      if (!s->is_object() || !IsObject(*s, "outputs")) continue;
      auto it = (*s)["outputs"].find("resolvedExpectedArtifacts");
      if (it != (*s)["outputs"].end() && it->is_array()) lists.push_back(&*it);
    }
  }
  if (IsObject(x, "trigger")) {
    auto it = x["trigger"].find("resolvedExpectedArtifacts");
    if (it != x["trigger"].end() && it->is_array()) lists.push_back(&*it);
  }
  return lists;
}

// The bound artifacts of trigger.resolvedExpectedArtifacts, in order.
Json TriggerBoundArtifacts(const Json& execution) {
  Json out = Json::array();
  if (!execution.is_object() || !IsObject(execution, "trigger")) return out;
  for (const Json& e :
       spinnaker::Array(execution["trigger"], "resolvedExpectedArtifacts")) {
    if (e.is_object() && IsObject(e, "boundArtifact")) {
      out.push_back(e["boundArtifact"]);
    }
  }
  return out;
}

absl::StatusOr<Json> TriggerResolvedBy(const Json& execution,
                                       const std::vector<Json>& args,
                                       const char* function,
                                       const char* field) {
  if (args.size() != 1 || !args[0].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("#", function, " takes one string argument"));
  }
  const std::string wanted = args[0].get<std::string>();
  for (const Json& a : TriggerBoundArtifacts(execution)) {
    if (String(a, field) == wanted) return a;
  }
  return absl::NotFoundError(absl::StrCat("Unable to locate resolved artifact ",
                                          wanted, " in trigger execution ",
                                          String(execution, "id"), "."));
}

// The prior artifacts of a resolution, fetched once when first needed: null
// when there is no prior execution.
using PriorFetch = std::function<absl::StatusOr<Json>()>;

// kork's ArtifactResolver.resolveSingleArtifact: an existing boundArtifact,
// else a received match, else (usePriorArtifact) a prior match, else
// (useDefaultArtifact) the default; none is INVALID_ARGUMENT. Returns the
// expected artifact with its boundArtifact.
absl::StatusOr<Json> ResolveOne(const Json& e, const Json& received,
                                const PriorFetch& prior, bool require_unique,
                                const char* received_what) {
  if (!e.is_object()) {
    return absl::InvalidArgumentError(
        "every expected artifact must be a JSON object");
  }
  Json expected = e;
  std::optional<Json> artifact;
  if (IsObject(expected, "boundArtifact")) artifact = expected["boundArtifact"];
  if (!artifact) {
    GENNAKER_ASSIGN_OR_RETURN(artifact,
                              MatchOne(expected, received, require_unique));
  }
  std::string prior_note;
  if (!artifact && Bool(expected, "usePriorArtifact")) {
    Json prior_artifacts;
    if (prior) {
      GENNAKER_ASSIGN_OR_RETURN(prior_artifacts, prior());
    }
    if (prior_artifacts.is_null()) {
      prior_note =
          "; usePriorArtifact: the pipeline has no prior execution to take it "
          "from";
    } else {
      GENNAKER_ASSIGN_OR_RETURN(
          artifact, MatchOne(expected, prior_artifacts, require_unique));
      prior_note =
          "; usePriorArtifact: no artifact of the pipeline's last execution "
          "matches either";
    }
  }
  if (!artifact && Bool(expected, "useDefaultArtifact")) {
    if (IsObject(expected, "defaultArtifact")) {
      artifact = expected["defaultArtifact"];
    } else {
      prior_note +=
          "; useDefaultArtifact is set but there is no defaultArtifact";
    }
  }
  if (!artifact) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Unmatched expected artifact ", Describe(expected),
        " could not be resolved: no artifact of the ", received_what,
        " matches ",
        Short(expected.contains("matchArtifact") ? expected["matchArtifact"]
                                                 : Json()),
        prior_note));
  }
  expected["boundArtifact"] = *std::move(artifact);
  return expected;
}

}  // namespace

absl::Status NormalizeTriggerArtifacts(Json& trigger) {
  if (!trigger.is_object()) {
    return absl::InvalidArgumentError("the trigger must be a JSON object");
  }
  Json artifacts = Json::array();
  auto it = trigger.find("artifacts");
  if (it != trigger.end() && !it->is_null()) {
    if (!it->is_array()) {
      return absl::InvalidArgumentError("trigger.artifacts must be a list");
    }
    for (const Json& a : *it) {
      if (a.is_object()) artifacts.push_back(a);
    }
  }
  // A docker trigger (Spinnaker picks the subtype by these fields).
  const std::string repository = String(trigger, "repository");
  const std::string tag = String(trigger, "tag");
  if (!String(trigger, "account").empty() && !repository.empty() &&
      !tag.empty()) {
    const std::string registry = String(trigger, "registry");
    const std::string name =
        registry.empty() ? repository : absl::StrCat(registry, "/", repository);
    const std::string reference = absl::StrCat(name, ":", tag);
    if (!HasArtifact(artifacts, "docker/image", reference)) {
      artifacts.push_back({{"type", "docker/image"},
                           {"name", name},
                           {"version", tag},
                           {"reference", reference}});
    }
  }
  // A git trigger.
  const std::string source = String(trigger, "source");
  const std::string project = String(trigger, "project");
  const std::string slug = String(trigger, "slug");
  const std::string hash = String(trigger, "hash");
  if (!source.empty() && !project.empty() && !slug.empty() && !hash.empty() &&
      !HasArtifact(artifacts, "git/repo", "")) {
    artifacts.push_back(
        {{"type", "git/repo"},
         {"name", absl::StrCat(project, "/", slug)},
         {"version", hash},
         {"reference", GitRepositoryUrl(source, project, slug)},
         {"metadata",
          {{"source", source}, {"branch", String(trigger, "branch")}}}});
  }
  trigger["artifacts"] = std::move(artifacts);
  return absl::OkStatus();
}

absl::StatusOr<bool> ArtifactMatches(const Json& expected_artifact,
                                     const Json& artifact) {
  if (!artifact.is_object()) return false;
  if (!expected_artifact.is_object() ||
      !IsObject(expected_artifact, "matchArtifact")) {
    return absl::InvalidArgumentError(absl::StrCat("expected artifact ",
                                                   Describe(expected_artifact),
                                                   " has no matchArtifact"));
  }
  const Json& match = expected_artifact["matchArtifact"];
  for (const char* field : kMatchFields) {
    const std::string pattern = String(match, field);
    if (pattern.empty()) continue;
    absl::StatusOr<bool> ok = FieldMatches(field, pattern, artifact);
    if (!ok.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected artifact ", Describe(expected_artifact), ": ",
                       ok.status().message()));
    }
    if (!*ok) return false;
  }
  return true;
}

Json AllArtifacts(const Json& execution, std::string_view without_stage_ref) {
  Json out = Json::array();
  if (!execution.is_object()) return out;
  auto stages = execution.find("stages");
  if (stages != execution.end() && stages->is_array()) {
    // Stages are stored in the order they were planned: later stages last.
    for (auto s = stages->rbegin(); s != stages->rend(); ++s) {
      if (!s->is_object() || !IsObject(*s, "outputs")) continue;
      if (!without_stage_ref.empty() &&
          String(*s, "refId") == without_stage_ref) {
        continue;
      }
      const Json& list = spinnaker::Array((*s)["outputs"], "artifacts");
      for (auto a = list.rbegin(); a != list.rend(); ++a) {
        if (a->is_object()) out.push_back(*a);
      }
    }
  }
  if (IsObject(execution, "trigger")) {
    for (const Json& a : spinnaker::Array(execution["trigger"], "artifacts")) {
      if (a.is_object()) out.push_back(a);
    }
  }
  return out;
}

absl::Status ResolveTriggerArtifacts(const Json& config, Json& trigger,
                                     const PriorArtifacts& prior) {
  GENNAKER_RETURN_IF_ERROR(NormalizeTriggerArtifacts(trigger));
  Json received = Json::array();
  if (IsObject(trigger, "parentExecution")) {
    for (const Json& a : AllArtifacts(trigger["parentExecution"])) {
      AddUnique(received, a);
    }
  }
  auto config_received = config.find("receivedArtifacts");
  if (config_received != config.end() && config_received->is_array()) {
    for (const Json& a : *config_received) {
      if (a.is_object()) AddUnique(received, a);
    }
  }
  for (const Json& a : trigger["artifacts"]) AddUnique(received, a);

  std::set<std::string> ids;
  auto ids_it = trigger.find("expectedArtifactIds");
  if (ids_it != trigger.end() && !ids_it->is_null()) {
    if (!ids_it->is_array()) {
      return absl::InvalidArgumentError(
          "trigger.expectedArtifactIds must be a list");
    }
    for (const Json& id : *ids_it) {
      if (id.is_string()) ids.insert(id.get<std::string>());
    }
  }
  const Json* expected_list = nullptr;
  auto ea = config.find("expectedArtifacts");
  if (ea != config.end() && !ea->is_null()) {
    if (!ea->is_array()) {
      return absl::InvalidArgumentError(
          "the pipeline's expectedArtifacts must be a list");
    }
    expected_list = &*ea;
  }

  // The config's last execution is read at most once, and only when an
  // expected artifact needs it.
  std::optional<absl::StatusOr<Json>> prior_cache;
  const PriorFetch fetch_prior = [&]() -> absl::StatusOr<Json> {
    if (!prior_cache) {
      const std::string config_id = String(config, "id");
      const std::string application = String(config, "application");
      if (!prior || config_id.empty() || application.empty()) {
        prior_cache = Json(nullptr);
      } else {
        prior_cache = prior(application, config_id);
      }
    }
    return *prior_cache;
  };

  Json resolved = Json::array();
  Json bound = Json::array();
  if (expected_list != nullptr) {
    for (const Json& e : *expected_list) {
      if (!e.is_object()) {
        return absl::InvalidArgumentError(
            "every expected artifact must be a JSON object");
      }
      // As Spinnaker: the ids the trigger lists, and every expected artifact
      // that can bind without the trigger (default or prior).
      if (!ids.count(String(e, "id")) && !Bool(e, "useDefaultArtifact") &&
          !Bool(e, "usePriorArtifact")) {
        continue;
      }
      GENNAKER_ASSIGN_OR_RETURN(Json expected,
                                ResolveOne(e, received, fetch_prior,
                                           /*require_unique=*/true, "trigger"));
      AddUnique(bound, expected["boundArtifact"]);
      resolved.push_back(std::move(expected));
    }
  }
  Json all = received;
  for (const Json& a : bound) AddUnique(all, a);
  trigger["artifacts"] = std::move(all);
  trigger["expectedArtifacts"] = resolved;
  trigger["resolvedExpectedArtifacts"] = std::move(resolved);
  return absl::OkStatus();
}

PriorArtifacts PriorArtifactsFromStore(Store* store) {
  return [store](const std::string& application,
                 const std::string& config_id) -> absl::StatusOr<Json> {
    if (application.empty() || config_id.empty()) return Json(nullptr);
    ExecutionQuery q;
    q.application = application;
    q.type = "PIPELINE";
    q.config_ids = {config_id};
    q.limit = 1;
    GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> found, store->List(q));
    // Belt and braces: a store ignoring the application must not leak
    // another application's artifacts.
    if (found.empty() || String(found.front(), "application") != application) {
      return Json(nullptr);
    }
    return AllArtifacts(found.front());
  };
}

absl::StatusOr<Json> BoundArtifactById(const Json& execution_or_trigger,
                                       std::string_view expected_artifact_id) {
  const std::string id(expected_artifact_id);
  if (id.empty()) {
    return absl::InvalidArgumentError("an expected artifact id is required");
  }
  for (const Json* list : ResolvedLists(execution_or_trigger)) {
    for (const Json& e : *list) {
      if (!e.is_object() || String(e, "id") != id) continue;
      if (!IsObject(e, "boundArtifact")) {
        return absl::NotFoundError(
            absl::StrCat("expected artifact ", Describe(e), " is not bound"));
      }
      Json artifact = e["boundArtifact"];
      const std::string account = String(artifact, "artifactAccount");
      if (account.empty() && IsObject(e, "matchArtifact")) {
        const std::string match_account =
            String(e["matchArtifact"], "artifactAccount");
        if (!match_account.empty()) artifact["artifactAccount"] = match_account;
      }
      return artifact;
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "no resolved expected artifact with id '", id,
      "' (the trigger must list it in expectedArtifactIds and bind it)"));
}

absl::StatusOr<Json> BoundArtifactForStage(
    const Json& execution, const Json& stage,
    std::string_view expected_artifact_id, const Json& inline_artifact) {
  if (expected_artifact_id.empty()) {
    if (inline_artifact.is_object()) return inline_artifact;
    return absl::InvalidArgumentError(
        "neither an expected artifact id nor an artifact is given");
  }
  const std::string id(expected_artifact_id);
  // Spinnaker's stage.context.getAll("resolvedExpectedArtifacts"): the
  // stage's context, its ancestors' outputs, the trigger.
  std::vector<const Json*> lists;
  auto add = [&lists](const Json& holder) {
    if (!holder.is_object()) return;
    auto it = holder.find("resolvedExpectedArtifacts");
    if (it != holder.end() && it->is_array()) lists.push_back(&*it);
  };
  if (stage.is_object() && IsObject(stage, "context")) add(stage["context"]);
  if (execution.is_object() && execution.contains("stages") &&
      stage.is_object()) {
    // The model's DAG helpers take the document mutably; they only read it.
    Json& exec = const_cast<Json&>(execution);
    std::set<std::string> seen;
    std::vector<const Json*> queue{&stage};
    for (size_t i = 0; i < queue.size() && i < 10000; ++i) {
      const Json* s = queue[i];
      if (!seen.insert(String(*s, "id")).second) continue;
      if (IsObject(*s, "outputs")) add((*s)["outputs"]);
      for (Json* up : Upstream(exec, *s)) queue.push_back(up);
      if (Json* p = Parent(exec, *s)) queue.push_back(p);
    }
  }
  if (execution.is_object() && IsObject(execution, "trigger")) {
    add(execution["trigger"]);
  }
  for (const Json* list : lists) {
    for (const Json& e : *list) {
      if (!e.is_object() || String(e, "id") != id) continue;
      // As Spinnaker: the first expected artifact with the id decides.
      Json view = {{"resolvedExpectedArtifacts", Json::array({e})}};
      return BoundArtifactById(view, id);
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "no artifact is bound to the expected artifact '", id,
      "' (neither the trigger nor an upstream stage resolved it)"));
}

absl::StatusOr<Json> BindProducedArtifacts(const Json& expected_artifacts,
                                           const Json& produced,
                                           const Json& prior) {
  if (expected_artifacts.is_null() ||
      (expected_artifacts.is_array() && expected_artifacts.empty())) {
    return Json::object();
  }
  if (!expected_artifacts.is_array()) {
    return absl::InvalidArgumentError(
        "the stage's expectedArtifacts must be a list");
  }
  Json produced_list = Json::array();
  if (produced.is_array()) {
    for (const Json& a : produced) {
      if (a.is_object()) produced_list.push_back(a);
    }
  }
  const PriorFetch fetch_prior = [&prior]() -> absl::StatusOr<Json> {
    return prior;
  };
  Json resolved = Json::array();
  Json bound = Json::array();
  for (const Json& e : expected_artifacts) {
    GENNAKER_ASSIGN_OR_RETURN(
        Json expected, ResolveOne(e, produced_list, fetch_prior,
                                  /*require_unique=*/false, "stage's output"));
    AddUnique(bound, expected["boundArtifact"]);
    resolved.push_back(std::move(expected));
  }
  return Json{{"artifacts", std::move(bound)},
              {"resolvedExpectedArtifacts", std::move(resolved)}};
}

absl::StatusOr<Json> TriggerResolvedArtifact(const Json& execution,
                                             const std::vector<Json>& args) {
  return TriggerResolvedBy(execution, args, "triggerResolvedArtifact", "name");
}

absl::StatusOr<Json> TriggerResolvedArtifactByType(
    const Json& execution, const std::vector<Json>& args) {
  return TriggerResolvedBy(execution, args, "triggerResolvedArtifactByType",
                           "type");
}

absl::StatusOr<Json> ResolvedArtifacts(const Json& execution,
                                       const std::vector<Json>& args) {
  if (!args.empty()) {
    return absl::InvalidArgumentError("#resolvedArtifacts takes no argument");
  }
  return TriggerBoundArtifacts(execution);
}

void RegisterArtifactExpressionFunctions(Registry* registry) {
  registry->AddExpressionFunction("triggerResolvedArtifact",
                                  TriggerResolvedArtifact);
  registry->AddExpressionFunction("triggerResolvedArtifactByType",
                                  TriggerResolvedArtifactByType);
  registry->AddExpressionFunction("resolvedArtifacts", ResolvedArtifacts);
}

}  // namespace gennaker::orca
