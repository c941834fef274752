#include "services/orca/stages/cloud_common.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"

namespace gennaker::orca::cloud {

namespace {

std::string FirstString(const Json& ctx,
                        std::initializer_list<const char*> ks) {
  for (const char* k : ks) {
    std::string v = Str(ctx, k);
    if (!v.empty()) return v;
  }
  return "";
}

// "-v" followed by three or more digits at the end.
size_t VersionSuffix(const std::string& name) {
  size_t dash = name.rfind("-v");
  if (dash == std::string::npos || name.size() - dash < 5) {
    return std::string::npos;
  }
  for (size_t i = dash + 2; i < name.size(); ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(name[i]))) {
      return std::string::npos;
    }
  }
  return dash;
}

}  // namespace

std::string ClusterName(const std::string& app, const std::string& stack,
                        const std::string& detail) {
  std::string out = app;
  if (!stack.empty() || !detail.empty()) absl::StrAppend(&out, "-", stack);
  if (!detail.empty()) absl::StrAppend(&out, "-", detail);
  return out;
}

std::string ClusterOfServerGroup(const std::string& name) {
  size_t v = VersionSuffix(name);
  return v == std::string::npos ? name : name.substr(0, v);
}

std::string AppOfName(const std::string& name) {
  return name.substr(0, name.find('-'));
}

Location LocationOf(const Json& ctx, const Json& execution) {
  Location l;
  l.account = FirstString(ctx, {"credentials", "account"});
  l.cloud_provider = FirstString(ctx, {"cloudProvider", "provider"});
  if (l.cloud_provider.empty()) l.cloud_provider = kDefaultProvider;
  const Json moniker = ctx.contains("moniker") && ctx["moniker"].is_object()
                           ? ctx["moniker"]
                           : Json::object();
  l.application = Str(ctx, "application");
  if (l.application.empty()) l.application = Str(moniker, "app");
  l.cluster = Str(ctx, "cluster");
  if (l.cluster.empty()) l.cluster = Str(moniker, "cluster");
  if (l.cluster.empty() && !l.application.empty() &&
      (ctx.contains("stack") || ctx.contains("freeFormDetails"))) {
    l.cluster = ClusterName(l.application, Str(ctx, "stack"),
                            Str(ctx, "freeFormDetails"));
  }
  std::string sg = FirstString(ctx, {"serverGroupName", "asgName"});
  if (l.cluster.empty() && !sg.empty()) l.cluster = ClusterOfServerGroup(sg);
  if (l.application.empty() && !l.cluster.empty()) {
    l.application = AppOfName(l.cluster);
  }
  if (l.application.empty()) l.application = Str(execution, "application");
  if (ctx.contains("regions") && ctx["regions"].is_array()) {
    for (const Json& r : ctx["regions"]) {
      if (r.is_string() && !r.get<std::string>().empty()) {
        l.regions.push_back(r.get<std::string>());
      }
    }
  }
  if (l.regions.empty() && !Str(ctx, "region").empty()) {
    l.regions.push_back(Str(ctx, "region"));
  }
  if (l.regions.empty() && ctx.contains("availabilityZones") &&
      ctx["availabilityZones"].is_object()) {
    for (auto it = ctx["availabilityZones"].begin();
         it != ctx["availabilityZones"].end(); ++it) {
      l.regions.push_back(it.key());
    }
  }
  if (l.regions.empty()) l.regions.push_back(kDefaultRegion);
  return l;
}

std::string IdempotencyKey(const TaskInput& in) {
  std::string key = absl::StrCat(Str(in.execution, "id"), ":",
                                 Str(in.stage, "id"), ":", in.task_id);
  if (int64_t restarts = StageRestarts(in.execution, Str(in.stage, "id"));
      restarts > 0) {
    absl::StrAppend(&key, ":", restarts);
  }
  return key;
}

TaskResult NoClouddriver() {
  return TaskResult::Terminal(
      "clouddriver is not configured: set services.clouddriver.address in "
      "orca's config to run cloud stages");
}

TaskResult FromError(const absl::Status& s, const std::string& what) {
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
    TaskResult r = TaskResult::Running(2000);
    r.context["lastClouddriverError"] = absl::StrCat(what, ": ", s.message());
    return r;
  }
  return TaskResult::Terminal(absl::StrCat(what, ": ", s.message()));
}

Json Operation(const std::string& name, const Location& where,
               Json description) {
  if (!description.is_object()) description = Json::object();
  description["credentials"] = where.account;
  description["account"] = where.account;
  if (Str(description, "cloudProvider").empty()) {
    description["cloudProvider"] = where.cloud_provider;
  }
  return {{"name", name},
          {"account", where.account},
          {"description", std::move(description)}};
}

TaskResult SubmitOps(CloudDriver* cd, const TaskInput& in, const Json& ops,
                     const std::string& application) {
  TaskResult r;
  if (ops.empty()) {
    r.context["kato.last.task.id"] = nullptr;
    return r;
  }
  absl::StatusOr<std::string> id =
      cd->Submit(ops, IdempotencyKey(in), application);
  if (!id.ok()) return FromError(id.status(), "clouddriver refused the task");
  Json tasks =
      in.context.contains("kato.tasks") && in.context["kato.tasks"].is_array()
          ? in.context["kato.tasks"]
          : Json::array();
  bool known = false;
  for (const Json& t : tasks) known = known || Str(t, "id") == *id;
  if (!known) {
    tasks.push_back({{"id", *id},
                     {"status", {{"completed", false}, {"failed", false}}},
                     {"history", Json::array()},
                     {"resultObjects", Json::array()}});
  }
  r.context["kato.last.task.id"] = {{"id", *id}};
  r.context["kato.tasks"] = std::move(tasks);
  if (in.context.contains("lastClouddriverError")) {
    r.context["lastClouddriverError"] = nullptr;
  }
  return r;
}

Json StoredPlan(const TaskInput& in) {
  const Json& ctx = in.context;
  if (!ctx.contains("kato.planned") || !ctx["kato.planned"].is_object()) {
    return Json();
  }
  const Json& plan = ctx["kato.planned"];
  return Str(plan, "key") == IdempotencyKey(in) ? plan : Json();
}

TaskResult StorePlan(const TaskInput& in, Json ops, Json context) {
  TaskResult r = TaskResult::Running(0);
  r.context["kato.planned"] = {{"key", IdempotencyKey(in)},
                               {"ops", std::move(ops)},
                               {"context", std::move(context)}};
  return r;
}

TaskResult SubmitPlan(CloudDriver* cd, const TaskInput& in, const Json& plan,
                      const std::string& application) {
  const Json ops =
      plan.contains("ops") && plan["ops"].is_array() ? plan["ops"] : Json();
  TaskResult r =
      SubmitOps(cd, in, ops.is_array() ? ops : Json::array(), application);
  if (r.status != status::kSucceeded) return r;
  if (plan.contains("context") && plan["context"].is_object()) {
    for (auto it = plan["context"].begin(); it != plan["context"].end(); ++it) {
      r.context[it.key()] = *it;
    }
  }
  return r;
}

bool IsDisabled(const Json& sg) {
  return Flag(sg, "isDisabled") || Flag(sg, "disabled");
}

int64_t CreatedMs(const Json& sg) { return Int(sg, "createdTime"); }

int InstanceCount(const Json& sg) {
  if (sg.contains("instances") && sg["instances"].is_array()) {
    return static_cast<int>(sg["instances"].size());
  }
  if (sg.contains("instanceCounts")) {
    return static_cast<int>(Int(sg["instanceCounts"], "total"));
  }
  return 0;
}

Json CapacityOf(const Json& sg) {
  const Json c = sg.contains("capacity") && sg["capacity"].is_object()
                     ? sg["capacity"]
                     : Json::object();
  return {{"min", Int(c, "min")},
          {"max", Int(c, "max")},
          {"desired", Int(c, "desired")}};
}

bool Pinned(const Json& c) {
  if (!c.is_object() || !c.contains("desired")) return false;
  return Int(c, "min", -1) == Int(c, "desired") &&
         Int(c, "max", -1) == Int(c, "desired");
}

int HealthyCount(const Json& sg, const Json& ctx) {
  if (!sg.contains("instances") || !sg["instances"].is_array()) return 0;
  const Json& instances = sg["instances"];
  const Json interesting = ctx.contains("interestingHealthProviderNames")
                               ? ctx["interestingHealthProviderNames"]
                               : Json();
  if (interesting.is_array() && interesting.empty()) {
    return static_cast<int>(instances.size());
  }
  std::set<std::string> types;
  if (interesting.is_array()) {
    for (const Json& t : interesting) {
      if (t.is_string()) types.insert(t.get<std::string>());
    }
  }
  int healthy = 0;
  for (const Json& i : instances) {
    bool any = false, up = false, blocked = false;
    if (i.contains("health") && i["health"].is_array()) {
      for (const Json& h : i["health"]) {
        if (!types.empty() && !types.count(Str(h, "type"))) continue;
        any = true;
        const std::string state = Str(h, "state");
        if (state == "Up") up = true;
        bool platform = Str(h, "healthClass") == "platform";
        if (state == "Down" ||
            (!platform && (state == "OutOfService" || state == "Starting" ||
                           state == "Draining"))) {
          blocked = true;
        }
      }
    }
    if (!any) up = Str(i, "healthState") == "Up";
    if (up && !blocked) ++healthy;
  }
  return healthy;
}

std::string HealthSummary(const Json& sg) {
  std::map<std::string, int> by_state;
  if (sg.contains("instances") && sg["instances"].is_array()) {
    for (const Json& i : sg["instances"]) {
      std::string s = Str(i, "healthState");
      ++by_state[s.empty() ? "Unknown" : s];
    }
  }
  if (by_state.empty()) return "no instances";
  std::vector<std::string> parts;
  for (const auto& [state, n] : by_state) {
    parts.push_back(absl::StrCat(n, " ", state));
  }
  return absl::StrJoin(parts, ", ");
}

absl::StatusOr<std::vector<Json>> ClusterGroups(CloudDriver* cd,
                                                const Location& where,
                                                const std::string& region) {
  std::vector<Json> out;
  if (where.cluster.empty()) {
    return absl::InvalidArgumentError("the stage names no cluster");
  }
  absl::StatusOr<Json> cluster = cd->GetCluster(
      where.application, where.account, where.cluster, where.cloud_provider);
  if (absl::IsNotFound(cluster.status())) return out;
  if (!cluster.ok()) return cluster.status();
  if (!cluster->contains("serverGroups") ||
      !(*cluster)["serverGroups"].is_array()) {
    return out;
  }
  for (const Json& sg : (*cluster)["serverGroups"]) {
    std::string r = Str(sg, "region");
    if (!r.empty() && r != region) continue;
    out.push_back(sg);
  }
  std::stable_sort(out.begin(), out.end(), [](const Json& a, const Json& b) {
    if (CreatedMs(a) != CreatedMs(b)) return CreatedMs(a) > CreatedMs(b);
    return Str(a, "name") > Str(b, "name");
  });
  return out;
}

absl::StatusOr<Json> ResolveTarget(CloudDriver* cd, const Json& ctx,
                                   const Location& where,
                                   const std::string& region) {
  std::string name = FirstString(ctx, {"serverGroupName", "asgName"});
  if (!name.empty()) return cd->GetServerGroup(where.account, region, name);
  std::string target = absl::AsciiStrToLower(Str(ctx, "target"));
  if (target.empty()) {
    return absl::InvalidArgumentError(
        "the stage needs serverGroupName or a target (current_asg_dynamic, "
        "ancestor_asg_dynamic, oldest_asg_dynamic, largest_asg_dynamic)");
  }
  GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> groups,
                            ClusterGroups(cd, where, region));
  if (Flag(ctx, "onlyEnabled")) {
    groups.erase(std::remove_if(groups.begin(), groups.end(), IsDisabled),
                 groups.end());
  }
  auto none = [&](const std::string& which) {
    return absl::NotFoundError(absl::StrCat("no ", which, " server group in ",
                                            where.cluster, " (", region, ")"));
  };
  if (groups.empty()) return none("");
  if (target == "current_asg_dynamic" || target == "current_asg") {
    return groups.front();
  }
  if (target == "ancestor_asg_dynamic" || target == "ancestor_asg") {
    if (groups.size() < 2) return none("previous");
    return groups[1];
  }
  if (target == "oldest_asg_dynamic") return groups.back();
  if (target == "largest_asg_dynamic") {
    return *std::max_element(groups.begin(), groups.end(),
                             [](const Json& a, const Json& b) {
                               return InstanceCount(a) < InstanceCount(b);
                             });
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown target '", Str(ctx, "target"), "'"));
}

int64_t TaskStartMs(const TaskInput& in) {
  if (in.stage.contains("tasks") && in.stage["tasks"].is_array()) {
    for (const Json& t : in.stage["tasks"]) {
      if (Str(t, "id") == in.task_id) return Int(t, "startTime", in.now_ms);
    }
  }
  return in.now_ms;
}

bool IsOrcaKey(const std::string& k) {
  static const std::set<std::string>* keys = new std::set<std::string>{
      "type",
      "refId",
      "requisiteStageRefIds",
      "stageEnabled",
      "stageTimeoutMs",
      "failPipeline",
      "continuePipeline",
      "completeOtherBranchesThenFail",
      "failOnFailedExpressions",
      "restrictExecutionDuringTimeWindow",
      "restrictedExecutionWindow",
      "skipRemainingWait",
      "expressionEvaluationSummary",
      "exception",
      "restartDetails",
      "notifications",
      "sendNotifications",
      "comments",
      "user",
      "strategy",
      "rollback",
      "maxRemainingAsgs",
      "scaleDown",
      "allowScaleDownActive",
      "allowDeleteActive",
      "delayBeforeCleanup",
      "delayBeforeDisableSec",
      "delayBeforeScaleDownSec",
      "targetPercentages",
      "pipelineBeforeCleanup",
      "strategyApplication",
      "strategyPipeline",
      "savedCapacity",
      "useSourceCapacity",
      "preferSourceCapacity",
      "interestingHealthProviderNames",
      "waitForUpInstancesTimeoutMs",
      "waitForCapacityMatchTimeoutMs",
      "lastClouddriverError",
      "serverGroupName",
      "provider",
      "source",
  };
  return keys->count(k) > 0 || absl::StartsWith(k, "kato.") ||
         absl::StartsWith(k, "deploy.");
}

Json DescriptionFrom(const Json& ctx) {
  Json out = Json::object();
  if (!ctx.is_object()) return out;
  for (auto it = ctx.begin(); it != ctx.end(); ++it) {
    if (!IsOrcaKey(it.key())) out[it.key()] = it.value();
  }
  return out;
}

std::pair<std::string, std::string> FirstDeployed(const Json& ctx) {
  if (!ctx.contains("deploy.server.groups") ||
      !ctx["deploy.server.groups"].is_object()) {
    return {};
  }
  for (auto it = ctx["deploy.server.groups"].begin();
       it != ctx["deploy.server.groups"].end(); ++it) {
    if (it->is_array() && !it->empty() && (*it)[0].is_string()) {
      return {(*it)[0].get<std::string>(), it.key()};
    }
  }
  return {};
}

absl::StatusOr<TaskResult> MonitorKatoTask::Run(const TaskInput& in) {
  const Json& ctx = in.context;
  const Json last =
      ctx.contains("kato.last.task.id") ? ctx["kato.last.task.id"] : Json();
  std::string id = last.is_object()   ? Str(last, "id")
                   : last.is_string() ? last.get<std::string>()
                                      : std::string();
  if (id.empty()) return TaskResult();  // nothing was submitted
  absl::StatusOr<Json> task = cd_->GetTask(id);
  if (absl::IsNotFound(task.status())) {
    // A task another clouddriver replica has not stored yet: retried.
    int64_t misses = Int(ctx, "kato.task.notFoundRetryCount") + 1;
    if (misses > 30) {
      return TaskResult::Terminal(
          absl::StrCat("clouddriver task ", id, " was not found"));
    }
    TaskResult r = TaskResult::Running(1000);
    r.context["kato.task.notFoundRetryCount"] = misses;
    return r;
  }
  if (!task.ok()) {
    return FromError(task.status(), absl::StrCat("clouddriver task ", id));
  }
  const Json st = task->contains("status") ? (*task)["status"] : Json();
  Json entry = {{"id", id},
                {"status", st},
                {"history", task->contains("history") ? (*task)["history"]
                                                      : Json::array()},
                {"resultObjects", task->contains("resultObjects")
                                      ? (*task)["resultObjects"]
                                      : Json::array()}};
  std::string message;
  if (Flag(st, "failed")) {
    for (const Json& o : entry["resultObjects"]) {
      if (Str(o, "type") == "EXCEPTION") message = Str(o, "message");
    }
    if (message.empty()) message = Str(st, "status");
    entry["exception"] = {{"message", message}};
  }
  Json tasks = ctx.contains("kato.tasks") && ctx["kato.tasks"].is_array()
                   ? ctx["kato.tasks"]
                   : Json::array();
  bool replaced = false;
  for (Json& t : tasks) {
    if (Str(t, "id") == id) {
      t = entry;
      replaced = true;
    }
  }
  if (!replaced) tasks.push_back(entry);
  TaskResult r;
  const int64_t resumes = Int(ctx, "kato.task.resumeCount");
  if (Flag(st, "failed") && Flag(st, "retryable") && resumes < 3) {
    // clouddriver lost the task (it restarted): run it again, same id. Its
    // operations are idempotent (a deploy finds the group it made).
    absl::Status resumed = cd_->ResumeTask(id);
    if (!resumed.ok() && !absl::IsFailedPrecondition(resumed)) {
      return FromError(resumed, absl::StrCat("resuming clouddriver task ", id));
    }
    r = TaskResult::Running(1000);
    r.context["kato.task.resumeCount"] = resumes + 1;
  } else if (Flag(st, "failed")) {
    r = TaskResult::Terminal(
        absl::StrCat("clouddriver task ", id, " failed: ", message));
  } else if (!Flag(st, "completed")) {
    r = TaskResult::Running(1000);
  }
  r.context["kato.tasks"] = std::move(tasks);
  if (ctx.contains("lastClouddriverError")) {
    r.context["lastClouddriverError"] = nullptr;
  }
  if (r.status != status::kSucceeded) return r;
  // A deploy's result: {"serverGroupNames": ["region:name"], ...}.
  Json deployed = Json::object();
  for (const Json& o : entry["resultObjects"]) {
    if (!o.contains("serverGroupNames") || !o["serverGroupNames"].is_array()) {
      continue;
    }
    for (const Json& n : o["serverGroupNames"]) {
      if (!n.is_string()) continue;
      std::string s = n.get<std::string>();
      size_t colon = s.find(':');
      std::string region =
          colon == std::string::npos ? kDefaultRegion : s.substr(0, colon);
      std::string name = colon == std::string::npos ? s : s.substr(colon + 1);
      if (!deployed[region].is_array()) deployed[region] = Json::array();
      deployed[region].push_back(name);
    }
  }
  if (!deployed.empty()) {
    r.context["deploy.server.groups"] = deployed;
    r.outputs["deploy.server.groups"] = deployed;
    r.context["serverGroupName"] = FirstDeployed(r.context).first;
  }
  return r;
}

Json Object(const Json& ctx, const char* key) {
  return ctx.contains(key) && ctx[key].is_object() ? ctx[key] : Json::object();
}

int64_t TargetDesired(const Json& ctx, const Json& sg) {
  const Json cur = CapacityOf(sg);
  int64_t desired = Int(cur, "desired");
  const Json cfg = Object(ctx, "capacity");
  if (cfg.contains("desired") && (Pinned(cfg) || Pinned(cur))) {
    desired = Int(cfg, "desired");
  }
  const char* key = ctx.contains("targetHealthyDeployPercentage")
                        ? "targetHealthyDeployPercentage"
                    : ctx.contains("desiredPercentage") ? "desiredPercentage"
                                                        : nullptr;
  if (key != nullptr && ctx[key].is_number()) {
    double pct = ctx[key].get<double>();
    if (pct <= 0) return 0;
    if (desired > 0) {
      desired = std::max<int64_t>(
          1, std::llround(static_cast<double>(desired) * pct / 100));
    }
  }
  return desired;
}

std::string SourceName(const Json& ctx) {
  const Json source = Object(ctx, "source");
  std::string name = Str(source, "serverGroupName");
  return name.empty() ? Str(source, "asgName") : name;
}

}  // namespace gennaker::orca::cloud
