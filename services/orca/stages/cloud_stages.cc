// Deploy stages acting through clouddriver: deploy (one createServerGroup per
// cluster), createServerGroup / cloneServerGroup with the deployment
// strategies, and the infrastructure orchestrations Deck posts (load
// balancers, security groups, instances). The server-group stages are in
// server_group_stages.cc, the cluster stages in cluster_stages.cc.
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
using cloud::kThirtyMinutesMs;
using cloud::Location;
using cloud::LocationOf;
using cloud::Object;
using cloud::Operation;
using cloud::ResolveTarget;
using cloud::SourceName;
using cloud::SubmitOps;
using cloud::TargetDesired;

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
  RegisterServerGroupStages(r, deps);
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
