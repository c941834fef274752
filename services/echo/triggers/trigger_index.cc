#include "services/echo/triggers/trigger_index.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/echo/triggers/trigger_rules.h"

namespace gennaker::echo {
namespace {

using spinnaker::String;

constexpr size_t kMaxTriggersPerPipeline = 1000;
constexpr char kSep = '\x1f';

using internal::Absent;
using internal::AppendArtifacts;
using internal::ArtifactMatches;
using internal::Constraint;
using internal::ConstraintsPass;
using internal::EmptyObject;
using internal::ExecutionStatusName;
using internal::ExpectedArtifact;
using internal::IsBuildType;
using internal::kMaxArtifacts;
using internal::Lower;
using internal::Member;
using internal::ObjectMember;
using internal::OptionalString;
using internal::ParseConstraints;
using internal::Pattern;
using internal::RegexCache;
using internal::Sha256Hex;

enum class Kind { kGit, kWebhook, kBuild, kDocker, kPipeline };

struct TriggerEntry {
  uint32_t pipeline = 0;
  uint32_t index = 0;
  Kind kind = Kind::kGit;
  std::string type;
  std::string ref;  // "id:<id>" or "index:<n>" (the match key's part)
  Json config;      // as configured, without secret
  std::string secret;
  std::string run_as_user;
  // git
  bool has_branch = false;
  Pattern branch;
  std::vector<std::string> events;
  // webhook, build
  bool has_constraints = false;
  std::vector<Constraint> constraints;
  // docker
  bool has_tag = false;
  Pattern tag;
  // pipeline
  std::vector<std::string> statuses;
  // expected artifacts
  bool requires_artifacts = false;
  std::vector<ExpectedArtifact> expected;
};

struct PipelineEntry {
  Json config;
  std::string id;
  bool disabled = false;
};

}  // namespace

struct TriggerIndex::Impl {
  MatchOptions options;
  std::vector<PipelineEntry> pipelines;
  std::vector<TriggerEntry> triggers;
  std::vector<CronTrigger> crons;
  std::unordered_map<std::string, std::vector<uint32_t>> git;
  std::unordered_map<std::string, std::vector<uint32_t>> webhook;
  std::unordered_map<std::string, std::vector<uint32_t>> build;
  std::unordered_map<std::string, std::vector<uint32_t>> docker;
  std::unordered_map<std::string, std::vector<uint32_t>> upstream;
  // Only while building (compiled regexes are dropped after; the warned set
  // too, so a rebuilt index logs its bad patterns once again).
  RegexCache regexes;

  void Add(uint32_t p, uint32_t index, const Json& t);
  static std::string GitKey(const Json& event);

  // The trigger of one match: configured fields plus the common ones.
  Json BaseTrigger(const TriggerEntry& t, const std::string& event_id) const;
  bool ArtifactsPass(const TriggerEntry& t, const Json& trigger) const;
};

void TriggerIndex::Impl::Add(uint32_t p, uint32_t index, const Json& t) {
  if (!t.is_object()) return;
  const Json* type_json = Member(t, "type");
  if (type_json == nullptr || !type_json->is_string()) return;
  if (!spinnaker::Bool(t, "enabled", false)) return;
  const std::string type = Lower(type_json->get<std::string>());
  const PipelineEntry& pipeline = pipelines[p];
  const std::string where =
      absl::StrCat("pipeline=", pipeline.id, " trigger=", index);

  TriggerEntry e;
  e.pipeline = p;
  e.index = index;
  e.type = type;
  e.config = t;
  e.config.erase("secret");
  const std::string id = String(t, "id");
  e.ref = id.empty() ? absl::StrCat("index:", index) : "id:" + id;
  if (!OptionalString(t, "secret") || !OptionalString(t, "runAsUser") ||
      !OptionalString(t, "id")) {
    return;
  }
  e.secret = String(t, "secret");
  e.run_as_user =
      std::string(absl::StripAsciiWhitespace(String(t, "runAsUser")));
  if (!Absent(t, "parameters") && !Member(t, "parameters")->is_object()) {
    return;
  }

  if (type == "cron") {
    if (String(t, "cronExpression").empty()) return;
    Json config = e.config;
    if (id.empty()) config["id"] = absl::StrCat(pipeline.id, "-cron-", index);
    crons.push_back({pipeline.config, std::move(config)});
    return;
  }

  // Expected artifacts (any type but pipeline and cron).
  const Json* ids = Member(t, "expectedArtifactIds");
  if (ids != nullptr && !ids->is_null()) {
    if (!ids->is_array()) return;
    std::unordered_set<std::string> wanted;
    for (const Json& i : *ids) {
      if (i.is_string()) wanted.insert(i.get<std::string>());
    }
    if (!wanted.empty() && type != "pipeline") {
      e.requires_artifacts = true;
      const Json* expected = Member(pipeline.config, "expectedArtifacts");
      if (expected != nullptr && expected->is_array()) {
        for (const Json& ea : *expected) {
          if (!ea.is_object() || wanted.count(String(ea, "id")) == 0) continue;
          ExpectedArtifact compiled;
          const Json* ma = ObjectMember(ea, "matchArtifact");
          for (const char* f :
               {"type", "name", "version", "location", "reference"}) {
            std::string text = ma == nullptr ? "" : String(*ma, f);
            if (text.empty()) continue;
            compiled.fields.push_back(
                {f, Pattern(text, where + " expectedArtifact", &regexes)});
          }
          e.expected.push_back(std::move(compiled));
        }
      }
    }
  }

  if (type == "git") {
    std::string source = String(t, "source");
    std::string project = String(t, "project");
    std::string slug = String(t, "slug");
    if (source.empty() || project.empty() || slug.empty()) return;
    if (!OptionalString(t, "branch")) return;
    const Json* events = Member(t, "events");
    if (events != nullptr && !events->is_null()) {
      if (!events->is_array()) return;
      e.events = spinnaker::Strings(t, "events");
    }
    std::string branch = String(t, "branch");
    if (!branch.empty()) {
      e.has_branch = true;
      e.branch = Pattern(branch, where + " branch", &regexes);
    }
    e.kind = Kind::kGit;
    git[absl::StrCat(Lower(source), std::string(1, kSep), Lower(project),
                     std::string(1, kSep), Lower(slug))]
        .push_back(static_cast<uint32_t>(triggers.size()));
  } else if (type == "webhook") {
    std::string source = String(t, "source");
    if (source.empty()) return;
    if (!ParseConstraints(t, where + " payloadConstraints", &regexes,
                          &e.constraints, &e.has_constraints)) {
      return;
    }
    e.kind = Kind::kWebhook;
    webhook[source].push_back(static_cast<uint32_t>(triggers.size()));
  } else if (IsBuildType(type)) {
    std::string master = String(t, "master");
    std::string job = String(t, "job");
    if (master.empty() || job.empty() || !OptionalString(t, "propertyFile")) {
      return;
    }
    // Checked by EnrichBuildTrigger; only the shape matters here.
    const Json* pc = Member(t, "payloadConstraints");
    if (pc != nullptr && !pc->is_null() && !pc->is_object()) return;
    e.kind = Kind::kBuild;
    build[absl::StrCat(master, std::string(1, kSep), job)].push_back(
        static_cast<uint32_t>(triggers.size()));
  } else if (type == "docker") {
    std::string account = String(t, "account");
    std::string repository = String(t, "repository");
    if (account.empty() || repository.empty() || !OptionalString(t, "tag") ||
        !OptionalString(t, "registry")) {
      return;
    }
    std::string tag(absl::StripAsciiWhitespace(String(t, "tag")));
    if (!tag.empty()) {
      e.has_tag = true;
      e.tag = Pattern(tag, where + " tag", &regexes);
    }
    e.kind = Kind::kDocker;
    docker[absl::StrCat(account, std::string(1, kSep), repository)].push_back(
        static_cast<uint32_t>(triggers.size()));
  } else if (type == "pipeline") {
    std::string upstream_id = String(t, "pipeline");
    if (upstream_id.empty()) return;
    const Json* status = Member(t, "status");
    if (status == nullptr || !status->is_array()) return;
    e.statuses = spinnaker::Strings(t, "status");
    for (std::string& s : e.statuses) s = Lower(s);
    e.kind = Kind::kPipeline;
    upstream[upstream_id].push_back(static_cast<uint32_t>(triggers.size()));
  } else {
    return;  // pubsub, helm, ...: not matched by this index
  }
  triggers.push_back(std::move(e));
}

std::string TriggerIndex::Impl::GitKey(const Json& event) {
  const Json* details = ObjectMember(event, "details");
  const Json* content = ObjectMember(event, "content");
  if (details == nullptr || content == nullptr) return "";
  return absl::StrCat(Lower(String(*details, "source")), std::string(1, kSep),
                      Lower(String(*content, "repoProject")),
                      std::string(1, kSep), Lower(String(*content, "slug")));
}

Json TriggerIndex::Impl::BaseTrigger(const TriggerEntry& t,
                                     const std::string& event_id) const {
  Json trigger = t.config;
  trigger["type"] = t.type;
  trigger["eventId"] = event_id;
  trigger["user"] = t.run_as_user.empty() ? "[anonymous]" : t.run_as_user;
  if (!trigger.contains("parameters") || !trigger["parameters"].is_object()) {
    trigger["parameters"] = Json::object();
  }
  trigger["artifacts"] = Json::array();
  return trigger;
}

bool TriggerIndex::Impl::ArtifactsPass(const TriggerEntry& t,
                                       const Json& trigger) const {
  if (!t.requires_artifacts) return true;
  const Json* artifacts = Member(trigger, "artifacts");
  if (artifacts == nullptr || !artifacts->is_array()) return false;
  for (const Json& a : *artifacts) {
    for (const ExpectedArtifact& e : t.expected) {
      if (ArtifactMatches(e, a)) return true;
    }
  }
  return false;
}

TriggerIndex::TriggerIndex(std::vector<Json> pipelines, MatchOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->pipelines.reserve(pipelines.size());
  for (Json& p : pipelines) {
    if (!p.is_object()) continue;
    std::string id = String(p, "id");
    if (id.empty()) continue;
    PipelineEntry entry;
    entry.id = std::move(id);
    entry.disabled = spinnaker::Bool(p, "disabled", false);
    entry.config = std::move(p);
    impl_->pipelines.push_back(std::move(entry));
  }
  for (uint32_t i = 0; i < impl_->pipelines.size(); ++i) {
    PipelineEntry& p = impl_->pipelines[i];
    auto it = p.config.find("triggers");
    if (it == p.config.end() || !it->is_array()) continue;
    // The config goes to orca with every match: without trigger secrets.
    Json triggers = *it;
    for (Json& t : *it) {
      if (t.is_object()) t.erase("secret");
    }
    if (p.disabled) continue;
    uint32_t n = 0;
    for (const Json& t : triggers) {
      if (n >= kMaxTriggersPerPipeline) break;
      impl_->Add(i, n++, t);
    }
  }
  impl_->regexes = RegexCache();
}

TriggerIndex::~TriggerIndex() = default;

size_t TriggerIndex::pipeline_count() const { return impl_->pipelines.size(); }

size_t TriggerIndex::trigger_count() const {
  return impl_->triggers.size() + impl_->crons.size();
}

std::vector<TriggerIndex::CronTrigger> TriggerIndex::CronTriggers() const {
  return impl_->crons;
}

bool TriggerIndex::GitSecretsFor(const Json& event,
                                 std::vector<std::string>* secrets) const {
  if (secrets != nullptr) secrets->clear();
  const Json* details = ObjectMember(event, "details");
  if (details == nullptr || Lower(String(*details, "type")) != "git") {
    return false;
  }
  auto it = impl_->git.find(Impl::GitKey(event));
  if (it == impl_->git.end()) return false;
  std::vector<std::string> found;
  // A signature is required only when no candidate trigger would accept an
  // unsigned request: one trigger without a secret must still fire for an
  // unsigned push (Match then skips the triggers with secrets).
  bool every = !it->second.empty();
  for (uint32_t idx : it->second) {
    const TriggerEntry& t = impl_->triggers[idx];
    const std::string& secret =
        t.secret.empty() ? impl_->options.git_shared_secret : t.secret;
    if (secret.empty()) {
      every = false;
      continue;
    }
    if (std::find(found.begin(), found.end(), secret) == found.end()) {
      found.push_back(secret);
    }
  }
  if (secrets != nullptr) *secrets = std::move(found);
  return every;
}

std::vector<TriggerMatch> TriggerIndex::Match(const Json& event) const {
  std::vector<TriggerMatch> out;
  const Json* details = ObjectMember(event, "details");
  if (details == nullptr) return out;
  const Json& content = ObjectMember(event, "content") != nullptr
                            ? *ObjectMember(event, "content")
                            : EmptyObject();
  const std::string type = Lower(String(*details, "type"));

  const Impl& impl = *impl_;

  // Candidates come in index order (pipeline, then trigger position); the
  // first match of a pipeline wins.
  const std::vector<uint32_t>* bucket = nullptr;
  auto find =
      [&](const std::unordered_map<std::string, std::vector<uint32_t>>& map,
          const std::string& key) {
        auto it = map.find(key);
        if (it != map.end()) bucket = &it->second;
      };
  if (type == "git") {
    find(impl.git, Impl::GitKey(event));
  } else if (type == "webhook") {
    find(impl.webhook, String(*details, "source"));
  } else if (type == "build") {
    const Json* project = ObjectMember(content, "project");
    if (project != nullptr) {
      find(impl.build,
           absl::StrCat(String(content, "master"), std::string(1, kSep),
                        String(*project, "name")));
    }
  } else if (type == "docker") {
    find(impl.docker,
         absl::StrCat(String(content, "account"), std::string(1, kSep),
                      String(content, "repository")));
  } else if (type == "orca:pipeline:complete" ||
             type == "orca:pipeline:failed") {
    const Json* execution = ObjectMember(content, "execution");
    if (execution != nullptr &&
        (Absent(*execution, "type") ||
         Lower(String(*execution, "type")) == "pipeline")) {
      find(impl.upstream, String(*execution, "pipelineConfigId"));
    }
  }
  if (bucket == nullptr) return out;

  std::string event_id = String(event, "eventId");
  std::string key_event_id =
      event_id.empty() ? "digest:" + Sha256Hex(spinnaker::Dump(event), 64)
                       : event_id;

  // Per-event facts, read once.
  // Webhook intake, the only path from outside, always sets rawContent; a git
  // event without it was posted by an internal, authenticated caller (igor's
  // git poller through PostEvent) and carries no signature to check.
  const bool internal_event = Member(event, "rawContent") == nullptr;
  std::vector<std::pair<std::string, SignatureCheck>> signature_cache;
  auto signature_ok = [&](const TriggerEntry& t) {
    if (internal_event) return true;
    const std::string& secret =
        t.secret.empty() ? impl.options.git_shared_secret : t.secret;
    for (const auto& [s, check] : signature_cache) {
      if (s == secret) {
        return check == SignatureCheck::kValid ||
               check == SignatureCheck::kNotNeeded;
      }
    }
    SignatureCheck check = CheckGitSignature(event, secret);
    signature_cache.emplace_back(secret, check);
    return check == SignatureCheck::kValid ||
           check == SignatureCheck::kNotNeeded;
  };
  const Json* payload = ObjectMember(event, "payload");
  if (payload == nullptr) payload = &content;

  int64_t last_pipeline = -1;
  for (uint32_t idx : *bucket) {
    const TriggerEntry& t = impl.triggers[idx];
    if (static_cast<int64_t>(t.pipeline) == last_pipeline) continue;
    Json trigger;
    switch (t.kind) {
      case Kind::kGit: {
        const std::string branch = String(content, "branch");
        const std::string action = String(content, "action");
        // Equality first, as Spinnaker: a branch that is not a valid regex
        // still matches itself.
        if (t.has_branch && branch != t.branch.text() &&
            !t.branch.FullMatch(branch)) {
          continue;
        }
        if (!t.events.empty() && std::find(t.events.begin(), t.events.end(),
                                           action) == t.events.end()) {
          continue;
        }
        if (!signature_ok(t)) continue;
        trigger = impl.BaseTrigger(t, event_id);
        trigger.erase("buildNumber");
        trigger.erase("tag");
        trigger["hash"] = String(content, "hash");
        trigger["branch"] = branch;
        trigger["action"] = action;
        Json properties = Json::object();
        if (const Json* p = ObjectMember(trigger, "properties"))
          properties = *p;
        for (const char* k : {"number", "draft", "state", "title"}) {
          if (const Json* v = Member(content, k);
              v != nullptr && !v->is_null()) {
            properties[k] = *v;
          }
        }
        if (!properties.empty()) trigger["properties"] = std::move(properties);
        AppendArtifacts(Member(content, "artifacts"), trigger["artifacts"]);
        break;
      }
      case Kind::kWebhook: {
        if (t.has_constraints &&
            !ConstraintsPass(t.constraints, *payload, /*json_paths=*/true)) {
          continue;
        }
        trigger = impl.BaseTrigger(t, event_id);
        trigger["payload"] = *payload;
        if (const Json* params = ObjectMember(content, "parameters")) {
          for (auto it = params->begin(); it != params->end(); ++it) {
            trigger["parameters"][it.key()] = it.value();
          }
        }
        AppendArtifacts(Member(content, "artifacts"), trigger["artifacts"]);
        break;
      }
      case Kind::kBuild: {
        const Json* project = ObjectMember(content, "project");
        const Json* last =
            project == nullptr ? nullptr : ObjectMember(*project, "lastBuild");
        if (last == nullptr || spinnaker::Bool(*last, "building", false) ||
            String(*last, "result") != "SUCCESS") {
          continue;
        }
        const std::string build_type = Lower(String(content, "type"));
        if (!build_type.empty() && build_type != t.type) continue;
        trigger = impl.BaseTrigger(t, event_id);
        trigger.erase("hash");
        trigger.erase("tag");
        trigger["buildNumber"] = spinnaker::Int(*last, "number");
        if (std::string url = String(*last, "url"); !url.empty()) {
          trigger["link"] = url;
        }
        // Jenkins' own artifacts (fileName, relativePath) are not Spinnaker
        // artifacts; those with a type are.
        if (const Json* la = Member(*last, "artifacts");
            la != nullptr && la->is_array()) {
          for (const Json& a : *la) {
            if (a.is_object() && !String(a, "type").empty() &&
                trigger["artifacts"].size() < kMaxArtifacts) {
              trigger["artifacts"].push_back(a);
            }
          }
        }
        AppendArtifacts(Member(content, "artifacts"), trigger["artifacts"]);
        break;
      }
      case Kind::kDocker: {
        const std::string tag = String(content, "tag");
        if (tag.empty()) continue;
        if (t.has_tag ? !t.tag.FullMatch(tag) : tag == "latest") continue;
        trigger = impl.BaseTrigger(t, event_id);
        trigger.erase("hash");
        trigger.erase("buildNumber");
        trigger["tag"] = tag;
        const std::string digest = String(content, "digest");
        if (!digest.empty()) {
          trigger["digest"] = digest;
        } else {
          trigger.erase("digest");
        }
        const std::string registry = String(content, "registry");
        if (String(trigger, "registry").empty() && !registry.empty()) {
          trigger["registry"] = registry;
        }
        const std::string name =
            absl::StrCat(registry, "/", String(content, "repository"));
        trigger["artifacts"].push_back({{"type", "docker/image"},
                                        {"name", name},
                                        {"version", tag},
                                        {"reference", name + ":" + tag}});
        AppendArtifacts(Member(content, "artifacts"), trigger["artifacts"]);
        break;
      }
      case Kind::kPipeline: {
        const Json& execution = *ObjectMember(content, "execution");
        const std::string status = String(execution, "status");
        const std::string mapped = ExecutionStatusName(status);
        if (std::find(t.statuses.begin(), t.statuses.end(), mapped) ==
            t.statuses.end()) {
          continue;
        }
        trigger = impl.BaseTrigger(t, event_id);
        if (t.run_as_user.empty()) {
          const Json* parent_trigger = ObjectMember(execution, "trigger");
          std::string user =
              parent_trigger == nullptr ? "" : String(*parent_trigger, "user");
          if (!user.empty()) trigger["user"] = user;
        }
        const std::string parent_id = String(execution, "id");
        trigger["parentExecution"] = execution;
        trigger["parentPipelineId"] = parent_id;
        trigger["parentPipelineName"] = String(execution, "name");
        trigger["parentPipelineApplication"] = String(execution, "application");
        trigger["parentStatus"] = status;
        trigger["correlationId"] =
            absl::StrCat(parent_id, "_null_", impl.pipelines[t.pipeline].id,
                         "_", spinnaker::Int(execution, "startTime"));
        if (const Json* stages = Member(execution, "stages");
            stages != nullptr && stages->is_array()) {
          for (const Json& s : *stages) {
            if (const Json* outputs = ObjectMember(s, "outputs")) {
              AppendArtifacts(Member(*outputs, "artifacts"),
                              trigger["artifacts"]);
            }
          }
        }
        break;
      }
    }
    if (!impl.ArtifactsPass(t, trigger)) continue;
    const PipelineEntry& p = impl.pipelines[t.pipeline];
    TriggerMatch m;
    m.pipeline = p.config;
    m.trigger = std::move(trigger);
    m.key =
        "trigger-" + Sha256Hex(absl::StrCat(key_event_id, std::string(1, kSep),
                                            p.id, std::string(1, kSep), t.ref),
                               32);
    out.push_back(std::move(m));
    last_pipeline = t.pipeline;
  }
  return out;
}

Json CronExecutionTrigger(const Json& trigger, const std::string& event_id) {
  std::string run_as(absl::StripAsciiWhitespace(String(trigger, "runAsUser")));
  Json out = {{"type", "cron"},
              {"id", String(trigger, "id")},
              {"cronExpression", String(trigger, "cronExpression")},
              {"eventId", event_id},
              {"user", run_as.empty() ? "[anonymous]" : run_as}};
  if (!run_as.empty()) out["runAsUser"] = run_as;
  const Json* params = ObjectMember(trigger, "parameters");
  out["parameters"] = params != nullptr ? *params : Json::object();
  return out;
}

absl::Status EnrichBuildTrigger(Json& trigger, BuildInfoSource& igor) {
  if (!trigger.is_object()) return absl::OkStatus();
  if (!IsBuildType(Lower(String(trigger, "type")))) return absl::OkStatus();
  const std::string master = String(trigger, "master");
  const std::string job = String(trigger, "job");
  const int64_t number = spinnaker::Int(trigger, "buildNumber", -1);
  if (master.empty() || job.empty() || number < 0) return absl::OkStatus();

  GENNAKER_ASSIGN_OR_RETURN(Json info, igor.BuildInfo(master, job, number));
  trigger["buildInfo"] = std::move(info);
  const std::string file = String(trigger, "propertyFile");
  Json properties = Json::object();
  if (!file.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(properties,
                              igor.Properties(master, job, number, file));
    trigger["properties"] = properties;
  }
  std::vector<Constraint> constraints;
  bool has = false;
  if (!ParseConstraints(trigger, "build payloadConstraints", nullptr,
                        &constraints, &has)) {
    return absl::FailedPreconditionError(
        "the trigger's payloadConstraints are not an object");
  }
  if (has &&
      !ConstraintsPass(constraints,
                       properties.is_object() ? properties : EmptyObject(),
                       /*json_paths=*/false)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "build ", master, "/", job, " #", number,
        ": its properties do not satisfy the trigger's payloadConstraints"));
  }
  return absl::OkStatus();
}

}  // namespace gennaker::echo
