// Deploy and server-group stages acting through clouddriver: deploy (one
// createServerGroup per cluster), createServerGroup / cloneServerGroup with
// the deployment strategies, resize / enable / disable / destroy / pin
// server group, determineTargetServerGroup, and the infrastructure
// orchestrations Deck posts (load balancers, security groups, instances).
//
// Every task that calls clouddriver commits right after its call and submits
// with the key "<execution>:<stage>:<task>[:<restarts>]", so a run repeated
// after a crash gets the same clouddriver task instead of a second one.
#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/cloud_common.h"
#include "services/orca/stages/deploy_strategies.h"

namespace gennaker::orca {

namespace {

using cloud::CapacityOf;
using cloud::CloudTask;
using cloud::ClusterGroups;
using cloud::ClusterName;
using cloud::FirstDeployed;
using cloud::FromError;
using cloud::IsDisabled;
using cloud::Location;
using cloud::LocationOf;
using cloud::Operation;
using cloud::ResolveTarget;
using cloud::SubmitOps;

constexpr int64_t kThirtyMinutesMs = 30 * cloud::kMinuteMs;

Json Object(const Json& ctx, const char* key) {
  return ctx.contains(key) && ctx[key].is_object() ? ctx[key] : Json::object();
}

// The keys that say where a stage acts, copied into the stages it plans.
Json WhereKeys(const Json& ctx) {
  Json out = Json::object();
  for (const char* k :
       {"cluster", "moniker", "credentials", "account", "cloudProvider",
        "region", "regions", "interestingHealthProviderNames"}) {
    if (ctx.contains(k) && !ctx[k].is_null()) out[k] = ctx[k];
  }
  return out;
}

// Most recent "originalCapacity" recorded for `name` by a pin (the
// capacity it had before its minimum was raised).
Json OriginalCapacity(const Json& execution, const std::string& name) {
  Json found;
  if (!execution.contains("stages")) return found;
  for (const Json& s : execution["stages"]) {
    const Json ctx = Object(s, "context");
    if (Str(ctx, "serverGroupName") == name &&
        ctx.contains("originalCapacity") &&
        ctx["originalCapacity"].is_object()) {
      found = ctx["originalCapacity"];
    }
  }
  return found;
}

int64_t Scale(int64_t value, double pct) {
  return static_cast<int64_t>(
      std::ceil(static_cast<double>(value) * pct / 100));
}

Json ScaleCapacity(const Json& c, double pct) {
  return {{"min", Scale(Int(c, "min"), pct)},
          {"max", Scale(Int(c, "max"), pct)},
          {"desired", Scale(Int(c, "desired"), pct)}};
}

// min <= desired <= max, nothing negative.
Json Consistent(Json c) {
  int64_t desired = std::max<int64_t>(0, Int(c, "desired"));
  int64_t min = std::clamp<int64_t>(Int(c, "min"), 0, desired);
  int64_t max = std::max(Int(c, "max"), desired);
  return {{"min", min}, {"max", max}, {"desired", desired}};
}

// The number of Up instances a server group must reach (Spinnaker's rules):
// its desired capacity, the stage's configured one when either is pinned,
// scaled by targetHealthyDeployPercentage (or desiredPercentage).
int64_t TargetDesired(const Json& ctx, const Json& sg) {
  const Json cur = CapacityOf(sg);
  int64_t desired = Int(cur, "desired");
  const Json cfg = Object(ctx, "capacity");
  if (cfg.contains("desired") && (cloud::Pinned(cfg) || cloud::Pinned(cur))) {
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

// ---------------------------------------------------------------- deploy

class DeployStage : public StageDefinition {
 public:
  std::vector<std::string> Tasks(const Json&) const override {
    return {"completeParallelDeploy"};
  }
  std::vector<SyntheticStage> BeforeStages(const Json& stage) const override {
    const Json ctx = Object(stage, "context");
    Json clusters = Json::array();
    if (ctx.contains("clusters") && ctx["clusters"].is_array()) {
      clusters = ctx["clusters"];
    } else if (ctx.contains("cluster") && ctx["cluster"].is_object()) {
      clusters.push_back(ctx["cluster"]);
    }
    std::vector<SyntheticStage> out;
    for (const Json& c : clusters) {
      if (!c.is_object()) continue;
      SyntheticStage s;
      s.type = Str(c, "type") == "cloneServerGroup" ? "cloneServerGroup"
                                                    : "createServerGroup";
      s.context = c;
      s.context.erase("type");
      if (Str(s.context, "application").empty() &&
          !Str(ctx, "application").empty()) {
        s.context["application"] = ctx["application"];
      }
      if (Str(s.context, "cloudProvider").empty() &&
          !Str(s.context, "provider").empty()) {
        s.context["cloudProvider"] = s.context["provider"];
      }
      s.name = "Deploy in " + LocationOf(s.context, Json::object()).region();
      s.parallel = true;
      out.push_back(std::move(s));
    }
    return out;
  }
};

// The deploy stage's own task: gathers what its clusters deployed.
class CompleteParallelDeployTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    const std::string id = Str(in.stage, "id");
    Json deployed = Json::object();
    std::string account;
    int children = 0;
    for (const Json& s : in.execution["stages"]) {
      if (Str(s, "parentStageId") != id) continue;
      const std::string type = Str(s, "type");
      if (type != "createServerGroup" && type != "cloneServerGroup") continue;
      ++children;
      const Json ctx = Object(s, "context");
      if (!Str(ctx, "deploy.account.name").empty()) {
        account = Str(ctx, "deploy.account.name");
      }
      const Json groups = Object(ctx, "deploy.server.groups");
      for (auto it = groups.begin(); it != groups.end(); ++it) {
        if (!deployed[it.key()].is_array()) deployed[it.key()] = Json::array();
        for (const Json& n : *it) deployed[it.key()].push_back(n);
      }
    }
    if (children == 0) {
      return TaskResult::Terminal(
          "the deploy stage needs at least one cluster in 'clusters'");
    }
    TaskResult r;
    r.context["deploy.server.groups"] = deployed;
    r.outputs["deploy.server.groups"] = deployed;
    if (!account.empty()) {
      r.context["deploy.account.name"] = account;
      r.outputs["deploy.account.name"] = account;
    }
    return r;
  }
};

// ---------------------------------------------------- createServerGroup

std::string SourceName(const Json& ctx) {
  const Json source = Object(ctx, "source");
  std::string name = Str(source, "serverGroupName");
  return name.empty() ? Str(source, "asgName") : name;
}

class CreateServerGroupStage : public StageDefinition {
 public:
  explicit CreateServerGroupStage(bool clone) : clone_(clone) {}
  std::vector<std::string> Tasks(const Json& stage) const override {
    if (StrategyName(Object(stage, "context")) == "custom") {
      return {"determineSourceServerGroup"};
    }
    return {"determineSourceServerGroup",
            clone_ ? "cloneServerGroup" : "createServerGroup", "monitorDeploy",
            "waitForUpInstances"};
  }
  std::vector<SyntheticStage> AfterStages(const Json& stage) const override {
    const Json ctx = Object(stage, "context");
    absl::StatusOr<std::vector<SyntheticStage>> plan =
        StrategyAfterStages(ctx, SourceName(ctx));
    // Malformed settings were refused by determineSourceServerGroup.
    return plan.ok() ? *plan : std::vector<SyntheticStage>{};
  }
  std::vector<SyntheticStage> OnFailureStages(
      const Json& stage) const override {
    const Json ctx = Object(stage, "context");
    bool own_task_failed = false;
    if (stage.contains("tasks") && stage["tasks"].is_array()) {
      for (const Json& t : stage["tasks"]) {
        own_task_failed = own_task_failed || Str(t, "status") == "TERMINAL";
      }
    }
    return RollbackStages(ctx, FirstDeployed(ctx).first, own_task_failed);
  }

 private:
  bool clone_;
};

// The source of a deploy among the cluster's groups (newest first), as
// Spinnaker's SourceResolver picks it: with useSourceCapacity the largest
// (instance count; ties: enabled, then newest), else the newest enabled one,
// else the newest disabled one. Null when the cluster has none.
Json PickSource(const std::vector<Json>& groups, bool largest) {
  Json best;
  for (const Json& g : groups) {
    if (!best.is_object()) {
      best = g;
    } else if (largest) {
      if (cloud::InstanceCount(g) > cloud::InstanceCount(best) ||
          (cloud::InstanceCount(g) == cloud::InstanceCount(best) &&
           IsDisabled(best) && !IsDisabled(g))) {
        best = g;
      }
    } else if (IsDisabled(best) && !IsDisabled(g)) {
      best = g;
    }
  }
  return best;
}

// Normalizes where the deploy goes (lifts a nested `cluster` map, names the
// cluster, fills credentials/region/cloudProvider/moniker), validates the
// strategy, finds the source server group (see PickSource, or the clone's
// `source`) and applies the strategy's context changes.
class DetermineSourceTask : public CloudTask {
 public:
  using CloudTask::CloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    Json ctx = in.context;
    TaskResult r;
    if (ctx.contains("cluster") && ctx["cluster"].is_object()) {
      Json nested = ctx["cluster"];
      ctx.erase("cluster");
      for (auto it = nested.begin(); it != nested.end(); ++it) {
        ctx[it.key()] = *it;
        r.context[it.key()] = *it;
      }
    }
    const Json moniker = Object(ctx, "moniker");
    std::string stack = Str(ctx, "stack");
    if (stack.empty()) stack = Str(moniker, "stack");
    std::string detail = Str(ctx, "freeFormDetails");
    if (detail.empty()) detail = Str(moniker, "detail");
    Json probe = ctx;
    probe.erase("cluster");
    Location where = LocationOf(probe, in.execution);
    if (where.account.empty()) {
      return TaskResult::Terminal(
          "a deploy needs 'credentials' (or 'account'): the account to deploy "
          "to");
    }
    if (where.application.empty()) {
      return TaskResult::Terminal("a deploy needs an 'application'");
    }
    where.cluster = ClusterName(where.application, stack, detail);
    r.context["application"] = where.application;
    r.context["cluster"] = where.cluster;
    r.context["credentials"] = where.account;
    r.context["account"] = where.account;
    r.context["region"] = where.region();
    r.context["cloudProvider"] = where.cloud_provider;
    Json m = {{"app", where.application}, {"cluster", where.cluster}};
    if (!stack.empty()) m["stack"] = stack;
    if (!detail.empty()) m["detail"] = detail;
    r.context["moniker"] = m;
    for (auto it = r.context.begin(); it != r.context.end(); ++it) {
      ctx[it.key()] = *it;
    }
    absl::StatusOr<std::vector<SyntheticStage>> plan =
        StrategyAfterStages(ctx, "probe");
    if (!plan.ok()) {
      return TaskResult::Terminal(absl::StrCat(
          "invalid deployment strategy settings: ", plan.status().message()));
    }

    // The source: the clone's, else the cluster's newest enabled group.
    Json source_sg;
    const Json given = Object(ctx, "source");
    if (!SourceName(ctx).empty()) {
      std::string account = Str(given, "account");
      std::string region = Str(given, "region");
      absl::StatusOr<Json> sg = cd_->GetServerGroup(
          account.empty() ? where.account : account,
          region.empty() ? where.region() : region, SourceName(ctx));
      if (!sg.ok()) {
        return FromError(sg.status(),
                         absl::StrCat("source server group ", SourceName(ctx)));
      }
      source_sg = *sg;
    } else {
      absl::StatusOr<std::vector<Json>> groups =
          ClusterGroups(cd_, where, where.region());
      if (!groups.ok()) {
        return FromError(groups.status(),
                         absl::StrCat("reading cluster ", where.cluster));
      }
      source_sg =
          PickSource(*groups, Flag(ctx, "useSourceCapacity") &&
                                  StrategyName(ctx) != "rollingredblack");
    }
    if (source_sg.is_object()) {
      const std::string name = Str(source_sg, "name");
      std::string region = Str(source_sg, "region");
      if (region.empty()) region = where.region();
      std::string account = Str(source_sg, "account");
      if (account.empty()) account = where.account;
      r.context["source"] = {{"asgName", name},
                             {"serverGroupName", name},
                             {"account", account},
                             {"region", region}};
      if (Flag(ctx, "useSourceCapacity") &&
          StrategyName(ctx) != "rollingredblack") {
        r.context["capacity"] = CapacityOf(source_sg);
        ctx["capacity"] = r.context["capacity"];
      }
    }
    // The launch command from an upstream findImageFromCluster.
    if (!ctx.contains("command")) {
      std::vector<std::string> errors;
      Json details =
          in.process(Json("${deploymentDetails}"), Json::object(), &errors);
      if (details.is_array()) {
        for (const Json& d : details) {
          if (d.contains("command") && d["command"].is_array() &&
              (Str(d, "region").empty() ||
               Str(d, "region") == where.region())) {
            r.context["command"] = d["command"];
            break;
          }
        }
      }
    }
    if (!ctx.contains("savedCapacity")) {
      Json changes = StrategyContextChanges(ctx);
      for (auto it = changes.begin(); it != changes.end(); ++it) {
        r.context[it.key()] = *it;
      }
    }
    return r;
  }
};

class CreateServerGroupTask : public CloudTask {
 public:
  CreateServerGroupTask(CloudDriver* cd, bool clone)
      : CloudTask(cd), clone_(clone) {}
  int64_t TimeoutMs(const Json&) const override {
    return 10 * cloud::kMinuteMs;
  }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    Json desc = cloud::DescriptionFrom(ctx);
    desc["application"] = where.application;
    desc["region"] = where.region();
    const char* op = "createServerGroup";
    if (clone_) {
      op = "cloneServerGroup";
      const Json source = Object(ctx, "source");
      if (SourceName(ctx).empty()) {
        return TaskResult::Terminal(
            "cloneServerGroup needs a source server group (source.asgName)");
      }
      desc["source"] = {
          {"account", Str(source, "account").empty() ? where.account
                                                     : Str(source, "account")},
          {"region", Str(source, "region").empty() ? where.region()
                                                   : Str(source, "region")},
          {"asgName", SourceName(ctx)}};
    }
    TaskResult r = SubmitOps(cd_, in, Json::array({Operation(op, where, desc)}),
                             where.application);
    r.context["deploy.account.name"] = where.account;
    r.outputs["deploy.account.name"] = where.account;
    return r;
  }

 private:
  bool clone_;
};

// RUNNING until the deployed (or targeted) server group has the target
// number of healthy instances; TERMINAL after waitForUpInstancesTimeoutMs
// (30 minutes by default) with the instances' states.
class WaitForUpInstancesTask : public CloudTask {
 public:
  using CloudTask::CloudTask;
  int64_t BackoffMs(const Json&) const override { return 2000; }
  // The task enforces waitForUpInstancesTimeoutMs itself.
  int64_t TimeoutMs(const Json&) const override { return 0; }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    auto [name, region] = FirstDeployed(ctx);
    if (name.empty()) {
      name = Str(ctx, "serverGroupName");
      region = where.region();
    }
    if (name.empty()) {
      return TaskResult::Terminal("no server group to wait for");
    }
    const int64_t timeout =
        Int(ctx, "waitForUpInstancesTimeoutMs", kThirtyMinutesMs);
    const int64_t elapsed = in.now_ms - cloud::TaskStartMs(in);
    absl::StatusOr<Json> sg = cd_->GetServerGroup(where.account, region, name);
    if (!sg.ok() && !absl::IsNotFound(sg.status())) {
      if (elapsed > timeout) {
        return TaskResult::Terminal(
            absl::StrCat("server group ", name, " could not be read within ",
                         timeout / 1000, " s: ", sg.status().message()));
      }
      return FromError(sg.status(), absl::StrCat("reading ", name));
    }
    int64_t target = 0;
    int healthy = 0;
    if (sg.ok()) {
      target = TargetDesired(ctx, *sg);
      if (target == 0 && Int(CapacityOf(*sg), "desired") == 0 &&
          !ZeroPercentage(ctx)) {
        // A group reading desired 0 (a cache not caught up yet) is not done
        // while the deploy asked for instances (rolling red/black starts
        // at 0 on purpose: its "capacity" is 0).
        target = ConfiguredDesired(ctx, where);
      }
      healthy = cloud::HealthyCount(*sg, ctx);
      if (cloud::InstanceCount(*sg) >= target && healthy >= target) {
        return TaskResult();
      }
    }
    if (elapsed > timeout) {
      return TaskResult::Terminal(
          sg.ok()
              ? absl::StrCat("server group ", name, " did not reach ", target,
                             " healthy instance(s) within ", timeout / 1000,
                             " s (", healthy, " healthy; instances: ",
                             cloud::HealthSummary(*sg), ")")
              : absl::StrCat("server group ", name, " did not appear within ",
                             timeout / 1000, " s"));
    }
    return TaskResult::Running(2000);
  }

 private:
  static bool ZeroPercentage(const Json& ctx) {
    for (const char* k :
         {"targetHealthyDeployPercentage", "desiredPercentage"}) {
      if (ctx.contains(k) && ctx[k].is_number() && ctx[k].get<double>() <= 0) {
        return true;
      }
    }
    return false;
  }
  // The desired size the deploy asked for: "capacity", else the source's
  // (a clone without capacity copies it); 0 when unknown.
  int64_t ConfiguredDesired(const Json& ctx, const Location& where) {
    const Json cfg = Object(ctx, "capacity");
    if (cfg.contains("desired") && !cfg["desired"].is_null()) {
      return std::max<int64_t>(0, Int(cfg, "desired"));
    }
    const std::string source = SourceName(ctx);
    if (source.empty()) return 0;
    const Json src = Object(ctx, "source");
    absl::StatusOr<Json> sg = cd_->GetServerGroup(
        Str(src, "account").empty() ? where.account : Str(src, "account"),
        Str(src, "region").empty() ? where.region() : Str(src, "region"),
        source);
    return sg.ok() ? Int(CapacityOf(*sg), "desired") : 0;
  }
};

// ------------------------------------------------- server group stages

enum class GroupOp { kEnable, kDisable, kDestroy };

const char* OpName(GroupOp op) {
  switch (op) {
    case GroupOp::kEnable:
      return "enableServerGroup";
    case GroupOp::kDisable:
      return "disableServerGroup";
    case GroupOp::kDestroy:
      return "destroyServerGroup";
  }
  return "";
}

// enable / disable / destroy the targeted server group. Writes
// "serverGroupName" and "region" (the resolved target) for the wait task.
class GroupOpTask : public CloudTask {
 public:
  GroupOpTask(CloudDriver* cd, GroupOp op) : CloudTask(cd), op_(op) {}
  int64_t TimeoutMs(const Json&) const override {
    return 10 * cloud::kMinuteMs;
  }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    if (where.account.empty()) {
      return TaskResult::Terminal(
          absl::StrCat(OpName(op_), " needs 'credentials' (the account)"));
    }
    if (Json plan = cloud::StoredPlan(in); plan.is_object()) {
      return cloud::SubmitPlan(cd_, in, plan, where.application);
    }
    const std::string region = where.region();
    absl::StatusOr<Json> sg = ResolveTarget(cd_, ctx, where, region);
    if (absl::IsNotFound(sg.status()) &&
        (op_ == GroupOp::kDestroy || Flag(ctx, "skipIfMissing"))) {
      TaskResult r;
      r.context["kato.last.task.id"] = nullptr;
      r.context["serverGroupName"] = Str(ctx, "serverGroupName").empty()
                                         ? Str(ctx, "asgName")
                                         : Str(ctx, "serverGroupName");
      r.context["region"] = region;
      return r;
    }
    if (!sg.ok()) return FromError(sg.status(), "finding the server group");
    const std::string name = Str(*sg, "name");
    TaskResult r;
    Json ops = Json::array();
    bool partial = ctx.contains("desiredPercentage") &&
                   Int(ctx, "desiredPercentage", 100) < 100;
    if (op_ == GroupOp::kDisable && partial &&
        where.cloud_provider == cloud::kDefaultProvider) {
      // The local provider disables a whole group only: a partial disable
      // (rolling red/black's steps) leaves it in service until 100%.
      r.context["partialDisableSkipped"] =
          absl::StrCat("the ", where.cloud_provider,
                       " provider cannot disable part of a server group; ",
                       name, " stays enabled until 100%");
    } else {
      Json desc = {
          {"serverGroupName", name}, {"asgName", name}, {"region", region}};
      if (ctx.contains("desiredPercentage")) {
        desc["desiredPercentage"] = ctx["desiredPercentage"];
      }
      ops.push_back(Operation(OpName(op_), where, desc));
    }
    r.context["serverGroupName"] = name;
    r.context["region"] = region;
    return cloud::StorePlan(in, std::move(ops), std::move(r.context));
  }

 private:
  GroupOp op_;
};

enum class Want { kEnabled, kDisabled, kGone };

// RUNNING until a read of the server group shows the change.
class WaitForGroupTask : public CloudTask {
 public:
  WaitForGroupTask(CloudDriver* cd, Want want) : CloudTask(cd), want_(want) {}
  int64_t BackoffMs(const Json&) const override { return 1000; }
  int64_t TimeoutMs(const Json&) const override { return kThirtyMinutesMs; }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    if (ctx.contains("partialDisableSkipped")) return TaskResult();
    Location where = LocationOf(ctx, in.execution);
    const std::string name = Str(ctx, "serverGroupName");
    if (name.empty()) return TaskResult::Terminal("no server group to watch");
    absl::StatusOr<Json> sg =
        cd_->GetServerGroup(where.account, where.region(), name);
    if (absl::IsNotFound(sg.status())) {
      if (want_ == Want::kGone) return TaskResult();
      if (Flag(ctx, "skipIfMissing")) return TaskResult();
      return TaskResult::Terminal(
          absl::StrCat("server group ", name, " no longer exists"));
    }
    if (!sg.ok()) return FromError(sg.status(), absl::StrCat("reading ", name));
    bool done = (want_ == Want::kEnabled && !IsDisabled(*sg)) ||
                (want_ == Want::kDisabled && IsDisabled(*sg));
    return done ? TaskResult() : TaskResult::Running(1000);
  }

 private:
  Want want_;
};

class DestroyServerGroupStage : public SimpleStage {
 public:
  DestroyServerGroupStage()
      : SimpleStage({"destroyServerGroup", "monitorKatoTask",
                     "waitForDestroyedServerGroup"}) {}
  // Out of traffic first, as Spinnaker does.
  std::vector<SyntheticStage> BeforeStages(const Json& stage) const override {
    const Json ctx = Object(stage, "context");
    Json c = WhereKeys(ctx);
    for (const char* k : {"serverGroupName", "asgName", "target"}) {
      if (ctx.contains(k)) c[k] = ctx[k];
    }
    c["skipIfMissing"] = true;
    SyntheticStage s;
    s.type = "disableServerGroup";
    s.name = "disableServerGroup";
    s.context = std::move(c);
    return {s};
  }
};

// The capacity a resize asks for (see RegisterCloudStages for the actions).
absl::StatusOr<Json> ResizeTarget(CloudDriver* cd, const TaskInput& in,
                                  const Location& where,
                                  const std::string& region, const Json& cur) {
  const Json& ctx = in.context;
  std::string action = absl::AsciiStrToLower(Str(ctx, "action"));
  if (action.empty()) {
    if (absl::AsciiStrToLower(Str(ctx, "resizeType")) == "exact" ||
        ctx.contains("capacity")) {
      action = "scale_exact";
    } else {
      return absl::InvalidArgumentError(
          "resizeServerGroup needs an action (scale_exact, scale_up, "
          "scale_down, scale_to_cluster, scale_to_server_group)");
    }
  }
  const bool has_pct = ctx.contains("scalePct") && ctx["scalePct"].is_number();
  const double pct = has_pct ? ctx["scalePct"].get<double>() : 100.0;
  if (action == "scale_exact") {
    Json want = cur;
    const Json c = Object(ctx, "capacity");
    for (const char* k : {"min", "max", "desired"}) {
      if (c.contains(k) && !c[k].is_null()) want[k] = Int(c, k, Int(cur, k));
    }
    return has_pct ? ScaleCapacity(want, pct) : want;
  }
  if (action == "scale_up" || action == "scale_down") {
    int64_t delta = 0;
    if (ctx.contains("scaleNum") && !ctx["scaleNum"].is_null()) {
      delta = Int(ctx, "scaleNum");
    } else if (has_pct) {
      delta = Scale(Int(cur, "desired"), pct);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(action, " needs scalePct or scaleNum"));
    }
    Json want = cur;
    if (action == "scale_up") {
      want["desired"] = Int(cur, "desired") + delta;
      want["max"] = std::max(Int(cur, "max"), Int(want, "desired"));
    } else {
      want["desired"] = std::max<int64_t>(0, Int(cur, "desired") - delta);
      want["min"] = std::min(Int(cur, "min"), Int(want, "desired"));
    }
    return want;
  }
  if (action == "scale_to_server_group") {
    std::string source = SourceName(ctx);
    if (source.empty()) {
      return absl::InvalidArgumentError(
          "scale_to_server_group needs source.serverGroupName");
    }
    // The source's capacity before a pin raised its minimum.
    Json base = OriginalCapacity(in.execution, source);
    if (!base.is_object()) {
      const Json src = Object(ctx, "source");
      std::string account = Str(src, "account");
      absl::StatusOr<Json> sg = cd->GetServerGroup(
          account.empty() ? where.account : account,
          Str(src, "region").empty() ? region : Str(src, "region"), source);
      if (!sg.ok()) return sg.status();
      base = CapacityOf(*sg);
    }
    return ScaleCapacity(base, pct);
  }
  if (action == "scale_to_cluster") {
    absl::StatusOr<std::vector<Json>> groups = ClusterGroups(cd, where, region);
    if (!groups.ok()) return groups.status();
    Json base = cur;
    for (const Json& g : *groups) {
      if (Int(CapacityOf(g), "desired") > Int(base, "desired")) {
        base = CapacityOf(g);
      }
    }
    return ScaleCapacity(base, pct);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown resize action '", Str(ctx, "action"), "'"));
}

class ResizeTask : public CloudTask {
 public:
  using CloudTask::CloudTask;
  int64_t TimeoutMs(const Json&) const override {
    return 10 * cloud::kMinuteMs;
  }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    if (where.account.empty()) {
      return TaskResult::Terminal(
          "resizeServerGroup needs 'credentials' (the account)");
    }
    if (Json plan = cloud::StoredPlan(in); plan.is_object()) {
      return cloud::SubmitPlan(cd_, in, plan, where.application);
    }
    const std::string region = where.region();
    absl::StatusOr<Json> sg = ResolveTarget(cd_, ctx, where, region);
    if (!sg.ok()) return FromError(sg.status(), "finding the server group");
    const std::string name = Str(*sg, "name");
    const Json cur = CapacityOf(*sg);
    absl::StatusOr<Json> want = ResizeTarget(cd_, in, where, region, cur);
    if (!want.ok()) return FromError(want.status(), "resizeServerGroup");
    Json c = Consistent(*want);
    TaskResult r;
    if (Flag(ctx, "pinCapacity")) {
      c["min"] = c["desired"];
      c["max"] = c["desired"];
    }
    if (Flag(ctx, "pinMinimumCapacity")) {
      c["min"] = c["desired"];
      r.context["originalCapacity"] = cur;
    }
    if (Flag(ctx, "unpinMinimumCapacity")) {
      Json original = OriginalCapacity(in.execution, name);
      if (original.is_object()) {
        c["min"] = std::min(Int(original, "min"), Int(c, "desired"));
      }
    }
    Json desc = {{"serverGroupName", name},
                 {"asgName", name},
                 {"region", region},
                 {"capacity", c}};
    r.context["serverGroupName"] = name;
    r.context["region"] = region;
    r.context["capacity"] = c;
    return cloud::StorePlan(
        in, Json::array({Operation("resizeServerGroup", where, desc)}),
        std::move(r.context));
  }
};

// Raises a server group's minimum to its desired size (pinMinimumCapacity,
// recording "originalCapacity"), or restores the recorded minimum
// (unpinMinimumCapacity).
class PinServerGroupTask : public CloudTask {
 public:
  using CloudTask::CloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    if (Json plan = cloud::StoredPlan(in); plan.is_object()) {
      return cloud::SubmitPlan(cd_, in, plan, where.application);
    }
    const std::string region = where.region();
    absl::StatusOr<Json> sg = ResolveTarget(cd_, ctx, where, region);
    if (!sg.ok()) return FromError(sg.status(), "finding the server group");
    const std::string name = Str(*sg, "name");
    const Json cur = CapacityOf(*sg);
    Json want = cur;
    TaskResult extra;
    if (Flag(ctx, "pinMinimumCapacity")) {
      want["min"] = cur["desired"];
      extra.context["originalCapacity"] = cur;
    } else if (Flag(ctx, "unpinMinimumCapacity")) {
      Json original = OriginalCapacity(in.execution, name);
      if (original.is_object()) {
        want["min"] = std::min(Int(original, "min"), Int(cur, "desired"));
      }
    } else {
      return TaskResult::Terminal(
          "pinServerGroup needs pinMinimumCapacity or unpinMinimumCapacity");
    }
    Json ops = Json::array();
    if (want != cur) {
      ops.push_back(Operation("resizeServerGroup", where,
                              {{"serverGroupName", name},
                               {"asgName", name},
                               {"region", region},
                               {"capacity", want}}));
    }
    extra.context["serverGroupName"] = name;
    extra.context["region"] = region;
    extra.context["capacity"] = want;
    return cloud::StorePlan(in, std::move(ops), std::move(extra.context));
  }
};

// RUNNING until the server group has the "capacity" of the context and as
// many healthy instances as it desires.
class WaitForCapacityMatchTask : public CloudTask {
 public:
  using CloudTask::CloudTask;
  int64_t BackoffMs(const Json&) const override { return 2000; }
  // The task enforces waitForCapacityMatchTimeoutMs itself.
  int64_t TimeoutMs(const Json&) const override { return 0; }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    const std::string name = Str(ctx, "serverGroupName");
    const int64_t timeout =
        Int(ctx, "waitForCapacityMatchTimeoutMs", kThirtyMinutesMs);
    const int64_t elapsed = in.now_ms - cloud::TaskStartMs(in);
    absl::StatusOr<Json> sg =
        cd_->GetServerGroup(where.account, where.region(), name);
    if (!sg.ok()) {
      if (elapsed > timeout && !absl::IsNotFound(sg.status())) {
        return TaskResult::Terminal(
            absl::StrCat("server group ", name, " could not be read within ",
                         timeout / 1000, " s: ", sg.status().message()));
      }
      return FromError(sg.status(), absl::StrCat("reading ", name));
    }
    const Json want = Object(ctx, "capacity");
    const Json cur = CapacityOf(*sg);
    const int64_t desired = Int(want, "desired", Int(cur, "desired"));
    int64_t target = desired;
    if (ctx.contains("targetHealthyDeployPercentage") && desired > 0) {
      target = TargetDesired(ctx, *sg);
    }
    bool done = Int(cur, "desired") == desired &&
                cloud::InstanceCount(*sg) == desired &&
                cloud::HealthyCount(*sg, ctx) >= target;
    if (done) return TaskResult();
    if (elapsed > timeout) {
      return TaskResult::Terminal(
          absl::StrCat("server group ", name, " did not reach ", desired,
                       " healthy instance(s) within ", timeout / 1000,
                       " s (instances: ", cloud::HealthSummary(*sg), ")"));
    }
    return TaskResult::Running(2000);
  }
};

// Records the resolved target as "targetReferences" (and its name as
// "serverGroupName" of this stage).
class DetermineTargetTask : public CloudTask {
 public:
  using CloudTask::CloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    Json refs = Json::array();
    for (const std::string& region : where.regions) {
      absl::StatusOr<Json> sg = ResolveTarget(cd_, ctx, where, region);
      if (!sg.ok()) return FromError(sg.status(), "finding the server group");
      refs.push_back({{"region", region},
                      {"location", region},
                      {"account", where.account},
                      {"cluster", where.cluster},
                      {"serverGroupName", Str(*sg, "name")},
                      {"name", Str(*sg, "name")},
                      {"capacity", CapacityOf(*sg)},
                      {"isDisabled", IsDisabled(*sg)}});
    }
    TaskResult r;
    r.context["targetReferences"] = refs;
    return r;
  }
};

// --------------------------------------------------- infrastructure ops

// One operation whose description is the stage context (minus orca's keys).
class InfraOpTask : public CloudTask {
 public:
  InfraOpTask(CloudDriver* cd, std::string op, std::string required)
      : CloudTask(cd), op_(std::move(op)), required_(std::move(required)) {}

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    if (where.account.empty()) {
      return TaskResult::Terminal(
          absl::StrCat(op_, " needs 'credentials' (the account)"));
    }
    if (!required_.empty() &&
        (!ctx.contains(required_) || ctx[required_].is_null() ||
         (ctx[required_].is_string() &&
          ctx[required_].get<std::string>().empty()) ||
         (ctx[required_].is_array() && ctx[required_].empty()))) {
      return TaskResult::Terminal(
          absl::StrCat(op_, " needs '", required_, "'"));
    }
    Json desc = cloud::DescriptionFrom(ctx);
    if (ctx.contains("serverGroupName")) {
      desc["serverGroupName"] = ctx["serverGroupName"];
    }
    if (!desc.contains("region")) desc["region"] = where.region();
    return SubmitOps(cd_, in, Json::array({Operation(op_, where, desc)}),
                     where.application);
  }

 private:
  std::string op_;
  std::string required_;
};

}  // namespace

void RegisterCloudStages(Registry* r, const StageDeps& deps) {
  CloudDriver* cd = deps.clouddriver;
  auto simple = [r](const std::string& type, std::vector<std::string> tasks) {
    r->AddStage(type, std::make_shared<SimpleStage>(std::move(tasks)));
  };
  auto monitor = std::make_shared<cloud::MonitorKatoTask>(cd);
  r->AddTask("monitorKatoTask", monitor);
  r->AddTask("monitorDeploy", monitor);

  r->AddStage("deploy", std::make_shared<DeployStage>());
  r->AddTask("completeParallelDeploy",
             std::make_shared<CompleteParallelDeployTask>());
  r->AddStage("createServerGroup",
              std::make_shared<CreateServerGroupStage>(false));
  r->AddStage("cloneServerGroup",
              std::make_shared<CreateServerGroupStage>(true));
  r->AddTask("determineSourceServerGroup",
             std::make_shared<DetermineSourceTask>(cd));
  r->AddTask("createServerGroup",
             std::make_shared<CreateServerGroupTask>(cd, false));
  r->AddTask("cloneServerGroup",
             std::make_shared<CreateServerGroupTask>(cd, true));
  r->AddTask("waitForUpInstances",
             std::make_shared<WaitForUpInstancesTask>(cd));

  simple("resizeServerGroup",
         {"resizeServerGroup", "monitorKatoTask", "waitForCapacityMatch"});
  r->AddTask("resizeServerGroup", std::make_shared<ResizeTask>(cd));
  r->AddTask("waitForCapacityMatch",
             std::make_shared<WaitForCapacityMatchTask>(cd));
  simple("pinServerGroup",
         {"pinServerGroup", "monitorKatoTask", "waitForCapacityMatch"});
  r->AddTask("pinServerGroup", std::make_shared<PinServerGroupTask>(cd));
  simple("enableServerGroup",
         {"enableServerGroup", "monitorKatoTask", "waitForServerGroupEnabled"});
  r->AddTask("enableServerGroup",
             std::make_shared<GroupOpTask>(cd, GroupOp::kEnable));
  r->AddTask("waitForServerGroupEnabled",
             std::make_shared<WaitForGroupTask>(cd, Want::kEnabled));
  simple("disableServerGroup", {"disableServerGroup", "monitorKatoTask",
                                "waitForServerGroupDisabled"});
  r->AddTask("disableServerGroup",
             std::make_shared<GroupOpTask>(cd, GroupOp::kDisable));
  r->AddTask("waitForServerGroupDisabled",
             std::make_shared<WaitForGroupTask>(cd, Want::kDisabled));
  r->AddStage("destroyServerGroup",
              std::make_shared<DestroyServerGroupStage>());
  r->AddTask("destroyServerGroup",
             std::make_shared<GroupOpTask>(cd, GroupOp::kDestroy));
  r->AddTask("waitForDestroyedServerGroup",
             std::make_shared<WaitForGroupTask>(cd, Want::kGone));
  simple("determineTargetServerGroup", {"determineTargetServerGroup"});
  r->AddTask("determineTargetServerGroup",
             std::make_shared<DetermineTargetTask>(cd));

  for (auto [op, required] : {std::pair{"upsertLoadBalancer", "name"},
                              {"deleteLoadBalancer", "loadBalancerName"},
                              {"upsertSecurityGroup", "name"},
                              {"deleteSecurityGroup", "securityGroupName"},
                              {"terminateInstances", "instanceIds"}}) {
    simple(op, {op, "monitorKatoTask"});
    r->AddTask(op, std::make_shared<InfraOpTask>(cd, op, required));
  }
}

}  // namespace gennaker::orca
