// The bake stage through rosco, as Spinnaker's orca runs it:
//
// - The top-level "bake" stage plans one parallel synthetic "bake" child per
//   region, named "Bake in <region>", with the parent's context (minus
//   "regions") and that "region". Regions come from "region" / "regions";
//   without any, "localhost" for cloudProviderType "local" (Gennaker's
//   default provider) and "global" for "docker" (Spinnaker also adds the
//   regions of downstream deploy stages; the plan here sees only the stage).
//   Its one task, completeParallelBake, collects the children's
//   deploymentDetails[] and artifacts into its context and outputs, and
//   their resolvedExpectedArtifacts into its outputs.
// - Each child runs createBake (rosco CreateBake with the request built from
//   the context, keyed by "<execution>:<stage>:<task>" so a repeated run
//   gets the same bake), monitorBake (polls the bake status every 2 s, 1 h
//   timeout; FAILURE or CANCELED ends the stage TERMINAL with rosco's
//   message), completedBake (reads the bake: ami, imageId, imageName,
//   artifacts, and one deploymentDetails entry) and bindProducedArtifacts
//   (the stage's expectedArtifacts bound to the baked image artifact, e.g.
//   type "local/image"; a deploy names one by imageArtifactId).
//
// Context keys the request does not name are forwarded snake_cased in
// additional_attributes, as orca's BakeRequest forwards unknown keys.
//
// The package names become the built packages' file names as orca's
// PackageInfo finds them: "hello" with a build artifact "hello_1.2-3_all.deb"
// (of the trigger's buildInfo, a parent pipeline's trigger, or an upstream CI
// stage's buildInfo) or a "deb" artifact named "hello" with version "1.2-3"
// is baked as "hello_1.2-3_all" (RPM: "-" and ".rpm", NuGet: "." and
// ".nupkg", by packageType else baseOs). A package found nowhere is passed
// on as it is: rosco takes the newest of its repository (Spinnaker's
// allowMissingPackageInstallation), but a Jenkins build that archived no
// packages fails the bake, as in Spinnaker.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "services/orca/artifacts.h"
#include "services/orca/rosco_client.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/cloud_common.h"
#include "services/orca/stages/cloud_submit.h"

namespace gennaker::orca {

namespace {

using spinnaker::Object;

constexpr char kBake[] = "bake";
constexpr int64_t kMinuteMs = 60 * 1000;

TaskResult NoRosco() {
  return TaskResult::Terminal(
      "rosco is not configured: set services.rosco.address in orca's config "
      "to run bake stages");
}

// UNAVAILABLE / DEADLINE_EXCEEDED: retried (the task's timeout ends it);
// anything else fails the task.
TaskResult FromError(const absl::Status& s, const std::string& what) {
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
    return TaskResult::Running(2000);
  }
  return TaskResult::Terminal(absl::StrCat(what, ": ", s.message()));
}

bool IsChild(const Json& stage) {
  return !String(stage, "parentStageId").empty();
}

// cloudProviderType, else cloudProvider, else Gennaker's default provider.
std::string ProviderOf(const Json& ctx) {
  std::string p =
      spinnaker::FirstString(ctx, {"cloudProviderType", "cloudProvider"});
  return p.empty() ? cloud::kDefaultProvider : p;
}

// Distinct regions one bake stage may bake in (one child stage, each with a
// copy of the context, per region).
constexpr size_t kMaxBakeRegions = 64;

// The distinct regions, in order; at most kMaxBakeRegions + 1 (more than the
// cap is refused: the stage fails saying so).
std::vector<std::string> RegionsOf(const Json& ctx) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& r) {
    if (r.empty() || out.size() > kMaxBakeRegions) return;
    if (seen.insert(r).second) out.push_back(r);
  };
  add(String(ctx, "region"));
  auto regions = ctx.is_object() ? ctx.find("regions") : ctx.end();
  if (ctx.is_object() && regions != ctx.end() && regions->is_array()) {
    for (const Json& r : *regions) {
      if (out.size() > kMaxBakeRegions) break;
      if (r.is_string()) add(r.get<std::string>());
    }
  }
  if (out.empty()) {
    const std::string provider = ProviderOf(ctx);
    if (provider == "local") add(cloud::kDefaultRegion);
    if (provider == "docker") add("global");
  }
  return out;
}

// A scalar as text: strings as they are, numbers and booleans as JSON.
std::string Text(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return Dump(*it);
  return "";
}

// "camelCase" -> "camel_case".
std::string SnakeCase(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (absl::ascii_isupper(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != '_') out.push_back('_');
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Context keys that are part of the request, orca's bookkeeping of the bake,
// or the stage's own settings: never forwarded as additional attributes.
bool IsBakeKey(const std::string& k) {
  static const std::set<std::string>* keys =
      new std::set<std::string>{"package",
                                "packageType",
                                "cloudProviderType",
                                "cloudProvider",
                                "baseLabel",
                                "baseOs",
                                "baseName",
                                "baseAmi",
                                "vmType",
                                "storeType",
                                "enhancedNetworking",
                                "amiName",
                                "amiSuffix",
                                "upgrade",
                                "instanceType",
                                "organization",
                                "templateFileName",
                                "varFileName",
                                "extendedAttributes",
                                "account",
                                "accountName",
                                "credentials",
                                "user",
                                "buildHost",
                                "job",
                                "buildNumber",
                                "commitHash",
                                "buildInfoUrl",
                                "buildInfo",
                                "packageArtifactIds",
                                "rebake",
                                "region",
                                "regions",
                                "skipRegionDetection",
                                "status",
                                "previouslyBaked",
                                "bakePackageName",
                                "ami",
                                "imageId",
                                "imageName",
                                "artifacts",
                                "deploymentDetails",
                                "expectedArtifacts",
                                "resolvedExpectedArtifacts",
                                "requestId",
                                "backoffPeriodMs",
                                "group",
                                "name",
                                "isNew"};
  return keys->count(k) > 0 || cloud::IsOrcaKey(k);
}

// The build that produced the packages (orca's build detail extraction).
struct BuildDetails {
  std::string host;
  std::string job;
  std::string number;
  std::string commit;
  std::string url;

  // Fills what is still unset from a CI buildInfo ({url, name, number,
  // scm[{sha1}]}, as igor and jenkins stages report it).
  void FromBuildInfo(const Json& info) {
    if (!info.is_object()) return;
    if (url.empty()) url = Text(info, "url");
    if (job.empty()) job = Text(info, "name");
    if (number.empty()) number = Text(info, "number");
    if (commit.empty()) {
      const Json scm = spinnaker::Array(info, "scm");
      if (!scm.empty()) commit = Text(scm[0], "sha1");
    }
    if (host.empty() && !url.empty()) host = HostOf(url);
  }
  // Keys a caller sets directly (in the stage context or trigger
  // parameters), in camelCase or snake_case.
  void FromKeys(const Json& j) {
    auto pick = [&](std::string& field, const char* camel, const char* snake) {
      if (!field.empty()) return;
      field = Text(j, camel);
      if (field.empty()) field = Text(j, snake);
    };
    pick(host, "buildHost", "build_host");
    pick(job, "job", "job");
    pick(number, "buildNumber", "build_number");
    pick(commit, "commitHash", "commit_hash");
    pick(url, "buildInfoUrl", "build_info_url");
  }
  // "http://jenkins:8080/job/app/12/" -> "http://jenkins:8080/".
  static std::string HostOf(const std::string& url) {
    size_t job = url.find("/job/");
    if (job != std::string::npos) return url.substr(0, job + 1);
    size_t scheme = url.find("://");
    size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    return path == std::string::npos ? url + "/" : url.substr(0, path + 1);
  }
};

// UTC yyyyMMddHHmmss, rosco's default image name suffix.
std::string Timestamp(int64_t ms) {
  return absl::FormatTime("%Y%m%d%H%M%S", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

// The bake's top-level stage (the parent of a per-region child).
const Json* TopLevelOf(const Json& execution, const Json& stage) {
  const Json* s = &stage;
  for (int depth = 0; depth < 100 && IsChild(*s); ++depth) {
    const Json* p = FindStage(execution, String(*s, "parentStageId"));
    if (p == nullptr) break;
    s = p;
  }
  return s;
}

// The artifact bound to the expected artifact `id` as the stage sees it
// (Spinnaker's getBoundArtifactForStage: its own, its ancestors' and the
// trigger's resolvedExpectedArtifacts, see artifacts.h); else an artifact of
// an ancestor's outputs (or of the trigger) whose uuid is `id`. NOT_FOUND
// when none.
absl::StatusOr<Json> PackageArtifact(const Json& execution, const Json& stage,
                                     const std::string& id) {
  absl::StatusOr<Json> bound = BoundArtifactForStage(execution, stage, id);
  if (bound.ok() || !absl::IsNotFound(bound.status())) return bound;
  auto by_uuid = [&](const Json& artifacts) -> Json {
    for (const Json& a : artifacts) {
      if (a.is_object() && String(a, "uuid") == id) return a;
    }
    return nullptr;
  };
  for (const Json* s : StageAncestors(execution, stage)) {
    Json found = by_uuid(spinnaker::Array(Object(*s, "outputs"), "artifacts"));
    if (!found.is_null()) return found;
  }
  Json found =
      by_uuid(spinnaker::Array(Object(execution, "trigger"), "artifacts"));
  if (!found.is_null()) return found;
  return bound.status();
}

// The first buildInfo an upstream stage (e.g. a jenkins stage) reports.
Json UpstreamBuildInfo(const Json& execution, const Json& stage) {
  for (const Json* s : StageAncestors(execution, stage)) {
    for (const char* where : {"outputs", "context"}) {
      const Json info = Object(Object(*s, where), "buildInfo");
      if (!info.empty()) return info;
    }
  }
  return nullptr;
}

// --- Packages (orca's PackageInfo) -------------------------------------

struct PackageFormat {
  std::string extension;  // "deb", "rpm", "nupkg"
  std::string delimiter;  // between the name and the version
};

// By packageType, else by base OS as orca's OperatingSystem decides.
PackageFormat FormatOf(const Json& ctx) {
  std::string type = absl::AsciiStrToLower(String(ctx, "packageType"));
  if (type.empty()) {
    const std::string os = absl::AsciiStrToLower(String(ctx, "baseOs"));
    type = "deb";
    for (const char* rpm :
         {"centos", "rhel", "amazon", "amzn", "fedora", "rocky", "alma"}) {
      if (absl::StrContains(os, rpm)) type = "rpm";
    }
    if (absl::StrContains(os, "windows")) type = "nupkg";
  }
  if (type == "rpm") return {"rpm", "-"};
  if (type == "nupkg") return {"nupkg", "."};
  return {"deb", "_"};
}

bool IsUrl(const std::string& s) {
  return absl::StartsWith(s, "http://") || absl::StartsWith(s, "https://") ||
         absl::StartsWith(s, "ssh://");
}

// The trigger's buildInfo when it lists artifacts, else its parent
// pipeline's trigger's (transitively); {} when none.
Json TriggerBuildInfo(Json trigger) {
  for (int depth = 0; depth < 32 && trigger.is_object(); ++depth) {
    const Json info = Object(trigger, "buildInfo");
    if (info.contains("artifacts") && !info["artifacts"].is_null()) {
      return info;
    }
    const Json parent = Object(trigger, "parentExecution");
    if (!parent.contains("trigger")) break;
    trigger = parent["trigger"];
  }
  return Json::object();
}

// The first artifact {fileName} named "<prefix>...<.extension>"; null when
// none.
Json FileWithPrefix(const Json& artifacts, const std::string& prefix,
                    const std::string& extension) {
  for (const Json& a : artifacts) {
    const std::string file = String(a, "fileName");
    if (absl::StartsWith(file, prefix) && absl::EndsWith(file, extension)) {
      return a;
    }
  }
  return nullptr;
}

// "hello_1.2-3_all.deb" -> "hello_1.2-3_all".
std::string Identifier(const Json& file, const std::string& extension) {
  const std::string name = String(file, "fileName");
  return name.substr(0, name.size() - extension.size());
}

// The version in a file name ("hello_1.2-3_all.deb", prefix "hello_" ->
// "1.2-3"; RPM "hello-1.2-3.noarch.rpm" -> "1.2-3.noarch").
std::string FileVersion(const Json& file, const std::string& prefix,
                        const PackageFormat& f, const std::string& extension) {
  const std::string name = String(file, "fileName");
  if (f.extension == "rpm") {
    std::vector<std::string> parts = absl::StrSplit(name, f.delimiter);
    if (parts.size() < 2) return "";
    std::string suffix = parts.back();
    if (absl::EndsWith(suffix, ".rpm")) suffix.resize(suffix.size() - 4);
    return absl::StrCat(parts[parts.size() - 2], f.delimiter, suffix);
  }
  std::string version = name.substr(
      prefix.size(), name.size() - extension.size() - prefix.size());
  if (size_t d = version.find(f.delimiter); d != std::string::npos) {
    version.resize(d);
  }
  return version;
}

// Every artifact of the execution: the trigger's and the stages' outputs.
Json ExecutionArtifacts(const Json& execution) {
  Json out = spinnaker::Array(Object(execution, "trigger"), "artifacts");
  for (const Json& s : spinnaker::Array(execution, "stages")) {
    for (const Json& a : spinnaker::Array(Object(s, "outputs"), "artifacts")) {
      out.push_back(a);
    }
  }
  return out;
}

// The nearest ancestor's outputs.buildInfo with an artifact file of one of
// `packages`; {} when none.
Json UpstreamPackageBuild(const Json& execution, const Json& stage,
                          const std::vector<std::string>& packages,
                          const std::string& extension) {
  for (const Json* s : StageAncestors(execution, stage)) {
    const Json info = Object(Object(*s, "outputs"), "buildInfo");
    for (const std::string& p : packages) {
      if (!FileWithPrefix(spinnaker::Array(info, "artifacts"), p, extension)
               .is_null()) {
        return info;
      }
    }
  }
  return Json::object();
}

// The package list to bake: `package` with each name found among the
// pipeline's built packages replaced by that package's identifier.
// FAILED_PRECONDITION (orca's messages) when the builds disagree or a
// Jenkins build archived nothing. `build_info` is set to the build the
// packages came from ({} when none).
absl::StatusOr<std::string> TargetPackages(const Json& execution,
                                           const Json& stage, const Json& ctx,
                                           Json* build_info) {
  *build_info = Json::object();
  const std::string requested = String(ctx, "package");
  if (requested.empty() || IsUrl(requested)) return requested;
  if (String(execution, "type") != "PIPELINE") return requested;
  const PackageFormat f = FormatOf(ctx);
  const std::string extension = absl::StrCat(".", f.extension);
  std::vector<std::string> packages =
      absl::StrSplit(requested, ' ', absl::SkipEmpty());

  const Json trigger = Object(execution, "trigger");
  Json current = Object(ctx, "buildInfo");
  if (current.empty() || !spinnaker::Array(current, "artifacts").empty()) {
    Json upstream = UpstreamPackageBuild(execution, stage, packages, extension);
    if (!upstream.empty()) current = std::move(upstream);
  }
  const Json trigger_info = TriggerBuildInfo(trigger);
  const Json trigger_files = spinnaker::Array(trigger_info, "artifacts");
  const Json build_files = spinnaker::Array(current, "artifacts");
  const Json artifacts = ExecutionArtifacts(execution);
  if (current.empty() || build_files.empty()) {
    const bool parent_build =
        !Object(Object(Object(trigger, "parentExecution"), "trigger"),
                "buildInfo")
             .empty();
    if (trigger_files.empty() &&
        (!Object(trigger, "buildInfo").empty() || parent_build) &&
        artifacts.empty()) {
      return absl::FailedPreconditionError(
          "Jenkins job detected but no artifacts found, please archive the "
          "packages in your job and try again.");
    }
  }
  if (build_files.empty() && trigger_files.empty() && artifacts.empty()) {
    return requested;
  }
  for (std::string& p : packages) {
    const std::string prefix = absl::StrCat(p, f.delimiter);
    Json matched = nullptr;
    for (const Json& a : artifacts) {
      if (String(a, "name") == p &&
          absl::AsciiStrToLower(String(a, "type")) == f.extension) {
        matched = a;
        break;
      }
    }
    const Json from_trigger = FileWithPrefix(trigger_files, prefix, extension);
    const Json from_build = FileWithPrefix(build_files, prefix, extension);
    if (!from_trigger.is_null() && !from_build.is_null() &&
        String(from_trigger, "fileName") != String(from_build, "fileName")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Found build artifact in both Jenkins stage (",
          String(from_build, "fileName"), ") and Pipeline Trigger (",
          String(from_trigger, "fileName"), ")"));
    }
    for (const Json* file : {&from_trigger, &from_build}) {
      if (!file->is_null() && !matched.is_null() &&
          FileVersion(*file, prefix, f, extension) !=
              String(matched, "version")) {
        return absl::FailedPreconditionError(
            absl::StrCat("Found build artifact ", String(*file, "fileName"),
                         " and produced artifact ", p, f.delimiter,
                         String(matched, "version"), " of different versions"));
      }
    }
    if (!matched.is_null()) {
      p = absl::StrCat(String(matched, "name"), f.delimiter,
                       String(matched, "version"));
    } else if (!from_build.is_null()) {
      p = Identifier(from_build, extension);
      if (build_info->empty()) *build_info = current;
    } else if (!from_trigger.is_null()) {
      p = Identifier(from_trigger, extension);
      if (build_info->empty()) *build_info = trigger_info;
    }
  }
  return absl::StrJoin(packages, " ");
}

Json StatusJson(const RoscoBakeStatus& s) {
  Json j = {{"id", s.id},
            {"state", s.state},
            {"result", s.result},
            {"resourceId", s.resource_id},
            {"region", s.region}};
  if (!s.bake_key.empty()) j["bakeKey"] = s.bake_key;
  if (!s.failure_message.empty()) j["failureMessage"] = s.failure_message;
  return j;
}

// --- Stage --------------------------------------------------------------

class BakeStage : public StageDefinition {
 public:
  explicit BakeStage(Rosco* rosco) : rosco_(rosco) {}

  std::vector<std::string> Tasks(const Json& stage) const override {
    if (IsChild(stage)) {
      return {"createBake", "monitorBake", "completedBake",
              "bindProducedArtifacts"};
    }
    return {"completeParallelBake"};
  }

  std::vector<SyntheticStage> BeforeStages(const Json& stage) const override {
    // Nothing to bake without rosco: completeParallelBake says why.
    if (IsChild(stage) || rosco_ == nullptr) return {};
    static const Json kEmpty = Json::object();
    auto found = stage.find("context");
    const Json& ctx =
        found != stage.end() && found->is_object() ? *found : kEmpty;
    const std::vector<std::string> regions = RegionsOf(ctx);
    // Too many regions: no children, completeParallelBake fails saying so.
    if (regions.size() > kMaxBakeRegions) return {};
    // The child's context: the parent's without "regions" (never copied).
    Json base = Json::object();
    for (auto it = ctx.begin(); it != ctx.end(); ++it) {
      if (it.key() != "regions") base[it.key()] = it.value();
    }
    std::vector<SyntheticStage> out;
    for (const std::string& region : regions) {
      SyntheticStage s;
      s.type = kBake;
      s.name = absl::StrCat("Bake in ", region);
      s.context = base;
      s.context["region"] = region;
      s.parallel = true;
      out.push_back(std::move(s));
    }
    return out;
  }

  void PrepareRestart(Json& stage) const override {
    Json& ctx = stage["context"];
    if (!ctx.is_object()) return;
    for (const char* k :
         {"status", "previouslyBaked", "bakePackageName", "ami", "imageId",
          "imageName", "artifacts", "deploymentDetails"}) {
      ctx.erase(k);
    }
  }

  // The bake in flight is canceled with the stage. Best effort: a failure is
  // logged, the bake then ends on its own.
  void Cancel(const Json& execution, const Json& stage,
              SideEffects*) const override {
    const Json ctx = Object(stage, "context");
    const Json st = Object(ctx, "status");
    if (rosco_ == nullptr || !IsChild(stage) || String(st, "id").empty() ||
        String(st, "state") == "COMPLETED" ||
        String(st, "state") == "CANCELED") {
      return;
    }
    absl::StatusOr<bool> r =
        rosco_->CancelBake(String(ctx, "region"), String(st, "id"));
    if (r.ok()) {
      SPDLOG_INFO("event=bake_cancel execution={} bake={} canceled={}",
                  String(execution, "id"), String(st, "id"), *r);
    } else {
      SPDLOG_WARN("event=bake_cancel_failed execution={} bake={} error={}",
                  String(execution, "id"), String(st, "id"),
                  r.status().message());
    }
  }

 private:
  Rosco* rosco_;
};

// --- Tasks ----------------------------------------------------------------

class CreateBakeTask : public Task {
 public:
  explicit CreateBakeTask(Rosco* rosco) : rosco_(rosco) {}
  bool CommitsAfterRun() const override { return true; }
  // Retrying an unavailable rosco ends.
  int64_t TimeoutMs(const Json&) const override { return 15 * kMinuteMs; }

  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (rosco_ == nullptr) return NoRosco();
    const Json& ctx = in.context;
    // Already started (a redelivery after the commit).
    if (!String(Object(ctx, "status"), "id").empty()) return TaskResult();
    const std::string region = String(ctx, "region");
    if (region.empty()) return TaskResult::Terminal("a bake needs a region");
    const Json trigger = Object(in.execution, "trigger");

    RoscoBakeRequest req;
    Json package_build;
    absl::StatusOr<std::string> package =
        TargetPackages(in.execution, in.stage, ctx, &package_build);
    if (!package.ok()) {
      return TaskResult::Terminal(std::string(package.status().message()));
    }
    req.package = *std::move(package);
    req.package_type = String(ctx, "packageType");
    req.cloud_provider_type = ProviderOf(ctx);
    req.base_label = String(ctx, "baseLabel");
    req.base_os = String(ctx, "baseOs");
    req.base_name = String(ctx, "baseName");
    req.base_ami = String(ctx, "baseAmi");
    req.vm_type = String(ctx, "vmType");
    req.store_type = String(ctx, "storeType");
    req.enhanced_networking = Bool(ctx, "enhancedNetworking");
    req.ami_name = String(ctx, "amiName");
    req.ami_suffix = Text(ctx, "amiSuffix");
    if (req.ami_suffix.empty()) {
      // One suffix for every region: the time the bake stage started.
      int64_t start = Int(*TopLevelOf(in.execution, in.stage), "startTime");
      req.ami_suffix = Timestamp(start > 0 ? start : in.now_ms);
    }
    req.upgrade = Bool(ctx, "upgrade");
    req.instance_type = String(ctx, "instanceType");
    req.organization = String(ctx, "organization");
    req.template_file_name = String(ctx, "templateFileName");
    req.var_file_name = String(ctx, "varFileName");
    req.extended_attributes = Object(ctx, "extendedAttributes");
    req.account_name =
        spinnaker::FirstString(ctx, {"accountName", "account", "credentials"});
    req.spinnaker_execution_id = String(in.execution, "id");
    req.user = String(ctx, "user");
    if (req.user.empty()) {
      req.user = String(Object(in.execution, "authentication"), "user");
    }
    if (req.user.empty()) req.user = String(trigger, "user");

    // The build: the stage's own keys, the build its packages came from,
    // its buildInfo, an upstream CI stage's, the trigger's (a jenkins
    // trigger's buildInfo, a git trigger's hash), then the trigger's
    // parameters.
    BuildDetails build;
    build.FromKeys(ctx);
    build.FromBuildInfo(package_build);
    build.FromBuildInfo(Object(ctx, "buildInfo"));
    build.FromBuildInfo(UpstreamBuildInfo(in.execution, in.stage));
    build.FromBuildInfo(Object(trigger, "buildInfo"));
    if (build.job.empty()) build.job = String(trigger, "job");
    if (build.number.empty()) build.number = Text(trigger, "buildNumber");
    if (build.commit.empty()) build.commit = String(trigger, "hash");
    build.FromKeys(Object(trigger, "parameters"));
    req.build_host = build.host;
    req.job = build.job;
    req.build_number = build.number;
    req.commit_hash = build.commit;
    req.build_info_url = build.url;

    for (const Json& id : spinnaker::Array(ctx, "packageArtifactIds")) {
      if (!id.is_string() || id.get<std::string>().empty()) continue;
      absl::StatusOr<Json> a =
          PackageArtifact(in.execution, in.stage, id.get<std::string>());
      if (!a.ok()) {
        return TaskResult::Terminal(absl::StrCat(
            "NOT_FOUND: no artifact is bound to the expected artifact '",
            id.get<std::string>(), "' named in packageArtifactIds (",
            a.status().message(), ")"));
      }
      req.package_artifacts.push_back(*std::move(a));
    }

    for (auto it = ctx.begin(); it != ctx.end(); ++it) {
      if (IsBakeKey(it.key()) || it.value().is_null()) continue;
      req.additional_attributes[SnakeCase(it.key())] = it.value();
    }

    const bool rebake = Bool(ctx, "rebake") || Bool(trigger, "rebake");
    absl::StatusOr<RoscoCreatedBake> created =
        rosco_->CreateBake(region, req, rebake, cloud::IdempotencyKey(in));
    if (!created.ok()) {
      return FromError(created.status(), "rosco refused the bake");
    }
    SPDLOG_INFO(
        "event=bake_started execution={} stage={} region={} bake={} "
        "reused={} rebake={}",
        String(in.execution, "id"), String(in.stage, "id"), region,
        created->status.id, created->reused, rebake);
    TaskResult r;
    r.context["status"] = StatusJson(created->status);
    r.context["bakePackageName"] = req.package;
    // The suffix every region's image name shares; in deploymentDetails.
    if (Text(ctx, "amiSuffix").empty()) r.context["amiSuffix"] = req.ami_suffix;
    r.context["previouslyBaked"] =
        created->reused || created->status.state == "COMPLETED";
    if (!req.build_info_url.empty()) {
      r.context["buildInfoUrl"] = req.build_info_url;
    }
    if (!req.build_host.empty()) {
      r.context["buildHost"] = req.build_host;
      r.context["job"] = req.job;
      r.context["buildNumber"] = req.build_number;
      if (!req.commit_hash.empty()) r.context["commitHash"] = req.commit_hash;
    }
    return r;
  }

 private:
  Rosco* rosco_;
};

class MonitorBakeTask : public Task {
 public:
  explicit MonitorBakeTask(Rosco* rosco) : rosco_(rosco) {}
  bool CommitsAfterRun() const override { return true; }
  // Spinnaker polls every 30 s; local bakes take seconds.
  int64_t BackoffMs(const Json&) const override { return 2000; }
  int64_t TimeoutMs(const Json&) const override { return 60 * kMinuteMs; }

  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (rosco_ == nullptr) return NoRosco();
    const std::string id = String(Object(in.context, "status"), "id");
    if (id.empty()) return TaskResult::Terminal("no bake was started");
    absl::StatusOr<RoscoBakeStatus> s =
        rosco_->GetBakeStatus(String(in.context, "region"), id);
    if (!s.ok())
      return FromError(s.status(), absl::StrCat("reading bake ", id));
    TaskResult r;
    if (s->state == "COMPLETED" && s->result == "SUCCESS") {
      r.status = status::kSucceeded;
    } else if (s->state == "COMPLETED" || s->state == "CANCELED") {
      std::string message = s->failure_message;
      if (message.empty()) {
        message = s->state == "CANCELED"
                      ? absl::StrCat("bake ", id, " was canceled")
                      : absl::StrCat("bake ", id, " failed");
      }
      r = TaskResult::Terminal(message);
    } else {
      r = TaskResult::Running();
    }
    r.context["status"] = StatusJson(*s);
    return r;
  }

 private:
  Rosco* rosco_;
};

class CompletedBakeTask : public Task {
 public:
  explicit CompletedBakeTask(Rosco* rosco) : rosco_(rosco) {}
  bool CommitsAfterRun() const override { return true; }
  int64_t TimeoutMs(const Json&) const override { return 15 * kMinuteMs; }

  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (rosco_ == nullptr) return NoRosco();
    const Json& ctx = in.context;
    const std::string region = String(ctx, "region");
    const std::string bake_id = String(Object(ctx, "status"), "resourceId");
    if (bake_id.empty()) {
      return TaskResult::Terminal("the bake ended without a bake id");
    }
    absl::StatusOr<RoscoBake> bake = rosco_->GetBake(region, bake_id);
    if (!bake.ok()) {
      return FromError(bake.status(), absl::StrCat("reading bake ", bake_id));
    }
    Json artifacts = Json::array();
    if (bake->artifact.is_object() && !bake->artifact.empty()) {
      artifacts.push_back(bake->artifact);
    } else if (bake->artifacts.is_array()) {
      artifacts = bake->artifacts;
    }
    // Spinnaker's: ami, else the image name. Gennaker's local images are
    // identified by the artifact's reference ("sha256:<hex>").
    const std::string reference =
        bake->artifact.is_object() ? String(bake->artifact, "reference") : "";
    const std::string ami = bake->ami.empty() ? bake->image_name : bake->ami;
    std::string image_id = bake->ami;
    if (image_id.empty()) image_id = reference;
    if (image_id.empty()) image_id = bake->image_name;
    if (image_id.empty()) {
      return TaskResult::Terminal(
          absl::StrCat("bake ", bake_id, " produced no image"));
    }
    Json result = {{"ami", ami},
                   {"imageId", image_id},
                   {"imageName", bake->image_name},
                   {"region", region},
                   {"artifacts", artifacts}};
    if (!String(ctx, "baseOs").empty()) result["baseOs"] = ctx["baseOs"];
    if (!bake->base_ami.empty()) result["baseAmiId"] = bake->base_ami;
    // Orca's deployment detail fields (CompleteParallelBakeTask's list).
    Json detail = {{"ami", ami},
                   {"imageId", image_id},
                   {"imageName", bake->image_name},
                   {"region", region},
                   {"cloudProviderType", ProviderOf(ctx)},
                   {"cloudProvider", ProviderOf(ctx)}};
    for (const char* k : {"amiSuffix", "baseOs", "baseLabel", "package",
                          "storeType", "vmType"}) {
      if (!Text(ctx, k).empty()) detail[k] = ctx[k];
    }
    TaskResult r;
    r.context = result;
    r.outputs = result;
    r.context["deploymentDetails"] = Json::array({std::move(detail)});
    return r;
  }

 private:
  Rosco* rosco_;
};

// Spinnaker's bindProducedArtifacts: the stage's expectedArtifacts bound to
// the artifacts it produced (context and outputs "artifacts"); the outputs
// get {artifacts, resolvedExpectedArtifacts}. Nothing without expected
// artifacts; one that binds nothing fails the stage.
class BindProducedArtifactsTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    const Json expected = spinnaker::Array(in.context, "expectedArtifacts");
    if (expected.empty()) return TaskResult();
    Json produced = spinnaker::Array(in.context, "artifacts");
    for (const Json& a :
         spinnaker::Array(Object(in.stage, "outputs"), "artifacts")) {
      if (std::find(produced.begin(), produced.end(), a) == produced.end()) {
        produced.push_back(a);
      }
    }
    absl::StatusOr<Json> bound = BindProducedArtifacts(expected, produced);
    if (!bound.ok()) {
      return TaskResult::Terminal(std::string(bound.status().message()));
    }
    TaskResult r;
    for (auto it = bound->begin(); it != bound->end(); ++it) {
      r.outputs[it.key()] = *it;
    }
    return r;
  }
};

// The parent's task: what its regions baked.
class CompleteParallelBakeTask : public Task {
 public:
  explicit CompleteParallelBakeTask(Rosco* rosco) : rosco_(rosco) {}
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (rosco_ == nullptr) return NoRosco();
    if (RegionsOf(in.context).size() > kMaxBakeRegions) {
      return TaskResult::Terminal(absl::StrCat(
          "the bake stage names more than ", kMaxBakeRegions,
          " regions: bake in at most ", kMaxBakeRegions,
          " regions per stage (split it into several bake stages)"));
    }
    const std::string id = String(in.stage, "id");
    Json details = Json::array();
    Json artifacts = Json::array();
    Json resolved = Json::array();
    int children = 0;
    for (const Json& s : spinnaker::Array(in.execution, "stages")) {
      if (String(s, "parentStageId") != id || String(s, "type") != kBake) {
        continue;
      }
      ++children;
      const Json c = Object(s, "context");
      for (const Json& d : spinnaker::Array(c, "deploymentDetails")) {
        details.push_back(d);
      }
      for (const Json& a : spinnaker::Array(c, "artifacts")) {
        artifacts.push_back(a);
      }
      for (const Json& x : spinnaker::Array(Object(s, "outputs"),
                                            "resolvedExpectedArtifacts")) {
        resolved.push_back(x);
      }
    }
    if (children == 0) {
      return TaskResult::Terminal(absl::StrCat(
          "the bake stage has no region to bake in: set 'region' or "
          "'regions' (cloud provider '",
          ProviderOf(in.context), "' has no default region)"));
    }
    TaskResult r;
    r.context["deploymentDetails"] = details;
    r.outputs["deploymentDetails"] = details;
    r.context["artifacts"] = artifacts;
    r.outputs["artifacts"] = artifacts;
    // What the regions' bindProducedArtifacts bound, on the stage downstream
    // stages name (a deploy's imageArtifactId finds it through its
    // requisite stages; the first region's binding wins, as in Spinnaker).
    if (!resolved.empty()) r.outputs["resolvedExpectedArtifacts"] = resolved;
    // One region: its image is also the stage's, for expressions such as
    // ${#stage('Bake')['context']['imageId']}.
    if (details.size() == 1) {
      for (const char* k : {"ami", "imageId", "imageName"}) {
        if (details[0].contains(k)) r.context[k] = details[0][k];
      }
    }
    return r;
  }

 private:
  Rosco* rosco_;
};

}  // namespace

std::vector<const Json*> StageAncestors(const Json& execution,
                                        const Json& stage) {
  // The model's helpers take the document mutably; they only read it.
  Json& exec = const_cast<Json&>(execution);
  std::vector<const Json*> out;
  std::set<std::string> seen;
  std::vector<const Json*> queue{&stage};
  for (size_t i = 0; i < queue.size() && out.size() < 10000; ++i) {
    const Json* s = queue[i];
    if (!seen.insert(String(*s, "id")).second) continue;
    out.push_back(s);
    if (!exec.contains("stages") || !exec["stages"].is_array()) continue;
    // The upstream stages, then their synthetic stages (e.g. the "Bake in
    // <region>" children of an upstream bake), as Spinnaker's ancestors().
    std::vector<Json*> upstream = Upstream(exec, *s);
    std::set<std::string> upstream_ids;
    for (Json* up : upstream) {
      queue.push_back(up);
      upstream_ids.insert(String(*up, "id"));
    }
    if (!upstream_ids.empty()) {
      for (const Json& c : exec["stages"]) {
        if (upstream_ids.count(String(c, "parentStageId")) > 0) {
          queue.push_back(&c);
        }
      }
    }
    if (Json* p = Parent(exec, *s)) queue.push_back(p);
  }
  return out;
}

void RegisterBakeStages(Registry* r, const StageDeps& deps) {
  Rosco* rosco = deps.rosco;
  r->AddStage(kBake, std::make_shared<BakeStage>(rosco));
  r->AddTask("completeParallelBake",
             std::make_shared<CompleteParallelBakeTask>(rosco));
  r->AddTask("createBake", std::make_shared<CreateBakeTask>(rosco));
  r->AddTask("monitorBake", std::make_shared<MonitorBakeTask>(rosco));
  r->AddTask("completedBake", std::make_shared<CompletedBakeTask>(rosco));
  r->AddTask("bindProducedArtifacts",
             std::make_shared<BindProducedArtifactsTask>());
}

}  // namespace gennaker::orca
