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
#include "common/spinnaker/names.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/cloud_common.h"
#include "services/orca/stages/cloud_submit.h"
#include "services/orca/stages/cloud_targets.h"
#include "services/orca/stages/deploy_strategies.h"
#include "services/orca/stages/server_group_facts.h"

namespace gennaker::orca::cloud {

namespace {

using spinnaker::Object;

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
      s.type = String(c, "type") == "cloneServerGroup" ? "cloneServerGroup"
                                                       : "createServerGroup";
      s.context = c;
      s.context.erase("type");
      if (String(s.context, "application").empty() &&
          !String(ctx, "application").empty()) {
        s.context["application"] = ctx["application"];
      }
      if (String(s.context, "cloudProvider").empty() &&
          !String(s.context, "provider").empty()) {
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
    const std::string id = String(in.stage, "id");
    Json deployed = Json::object();
    std::string account;
    int children = 0;
    for (const Json& s : in.execution["stages"]) {
      if (String(s, "parentStageId") != id) continue;
      const std::string type = String(s, "type");
      if (type != "createServerGroup" && type != "cloneServerGroup") continue;
      ++children;
      const Json ctx = Object(s, "context");
      if (!String(ctx, "deploy.account.name").empty()) {
        account = String(ctx, "deploy.account.name");
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
        own_task_failed = own_task_failed || String(t, "status") == "TERMINAL";
      }
    }
    return RollbackStages(ctx, FirstDeployed(ctx).first, own_task_failed);
  }

 private:
  bool clone_;
};

// The source of a deploy among the cluster's groups (newest first), picked as
// Spinnaker's orca picks it: with useSourceCapacity the largest
// (instance count; ties: enabled, then newest), else the newest enabled one,
// else the newest disabled one. Null when the cluster has none.
Json PickSource(const std::vector<Json>& groups, bool largest) {
  Json best;
  for (const Json& g : groups) {
    if (!best.is_object()) {
      best = g;
    } else if (largest) {
      if (InstanceCount(g) > InstanceCount(best) ||
          (InstanceCount(g) == InstanceCount(best) && IsDisabled(best) &&
           !IsDisabled(g))) {
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
  // The location is read once a nested "cluster" is flattened.
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location) override {
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
    std::string stack = String(ctx, "stack");
    if (stack.empty()) stack = String(moniker, "stack");
    std::string detail = String(ctx, "freeFormDetails");
    if (detail.empty()) detail = String(moniker, "detail");
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
    where.cluster =
        spinnaker::FormatClusterName(where.application, stack, detail);
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
      std::string account = String(given, "account");
      std::string region = String(given, "region");
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
      if (!groups.ok()) return ClusterReadFailure(groups.status(), where);
      source_sg =
          PickSource(*groups, Bool(ctx, "useSourceCapacity") &&
                                  StrategyName(ctx) != "rollingredblack");
    }
    if (source_sg.is_object()) {
      const std::string name = String(source_sg, "name");
      std::string region = String(source_sg, "region");
      if (region.empty()) region = where.region();
      std::string account = String(source_sg, "account");
      if (account.empty()) account = where.account;
      r.context["source"] = {{"asgName", name},
                             {"serverGroupName", name},
                             {"account", account},
                             {"region", region}};
      if (Bool(ctx, "useSourceCapacity") &&
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
              (String(d, "region").empty() ||
               String(d, "region") == where.region())) {
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

class CreateServerGroupTask : public PlannedCloudTask {
 public:
  CreateServerGroupTask(CloudDriver* cd, bool clone)
      : PlannedCloudTask(cd), clone_(clone) {}
  int64_t TimeoutMs(const Json&) const override { return 10 * kMinuteMs; }

 protected:
  // The operation comes from the context alone.
  bool StoresPlan() const override { return false; }

  CloudPlan Plan(const TaskInput& in, const Location& where) override {
    const Json& ctx = in.context;
    Json desc = DescriptionFrom(ctx);
    desc["application"] = where.application;
    desc["region"] = where.region();
    const char* op = "createServerGroup";
    if (clone_) {
      op = "cloneServerGroup";
      const Json source = Object(ctx, "source");
      if (SourceName(ctx).empty()) {
        return CloudPlan::Answer(TaskResult::Terminal(
            "cloneServerGroup needs a source server group (source.asgName)"));
      }
      desc["source"] = {{"account", String(source, "account").empty()
                                        ? where.account
                                        : String(source, "account")},
                        {"region", String(source, "region").empty()
                                       ? where.region()
                                       : String(source, "region")},
                        {"asgName", SourceName(ctx)}};
    }
    CloudPlan plan;
    plan.ops.push_back(Operation(op, where, desc));
    plan.context["deploy.account.name"] = where.account;
    plan.outputs["deploy.account.name"] = where.account;
    return plan;
  }

 private:
  bool clone_;
};

// RUNNING until the deployed (or targeted) server group has the target
// number of healthy instances; TERMINAL after waitForUpInstancesTimeoutMs
// (30 minutes by default) with the instances' states.
class WaitForUpInstancesTask : public WaitingCloudTask {
 public:
  using WaitingCloudTask::WaitingCloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location where) override {
    const Json& ctx = in.context;
    auto [name, region] = FirstDeployed(ctx);
    if (name.empty()) {
      name = String(ctx, "serverGroupName");
      region = where.region();
    }
    if (name.empty()) {
      return TaskResult::Terminal("no server group to wait for");
    }
    const int64_t timeout =
        Int(ctx, "waitForUpInstancesTimeoutMs", kThirtyMinutesMs);
    const int64_t elapsed = in.now_ms - TaskStartMs(in);
    absl::StatusOr<Json> sg = cd_->GetServerGroup(where.account, region, name);
    if (!sg.ok() && !absl::IsNotFound(sg.status())) {
      return ReadFailure(sg.status(), name, elapsed, timeout);
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
      healthy = HealthyCount(*sg, ctx);
      if (InstanceCount(*sg) >= target && healthy >= target) {
        return TaskResult();
      }
    }
    if (elapsed > timeout) {
      return TaskResult::Terminal(
          sg.ok()
              ? absl::StrCat("server group ", name, " did not reach ", target,
                             " healthy instance(s) within ", timeout / 1000,
                             " s (", healthy,
                             " healthy; instances: ", HealthSummary(*sg), ")")
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
        String(src, "account").empty() ? where.account : String(src, "account"),
        String(src, "region").empty() ? where.region() : String(src, "region"),
        source);
    return sg.ok() ? Int(CapacityOf(*sg), "desired") : 0;
  }
};

// --------------------------------------------------- infrastructure ops

// One operation whose description is the stage context (minus orca's keys).
class InfraOpTask : public PlannedCloudTask {
 public:
  InfraOpTask(CloudDriver* cd, std::string op, std::string required)
      : PlannedCloudTask(cd),
        op_(std::move(op)),
        required_(std::move(required)) {}

 protected:
  std::string Missing(const Location& where) const override {
    return where.account.empty()
               ? absl::StrCat(op_, " needs 'credentials' (the account)")
               : "";
  }

  // The operation comes from the context alone.
  bool StoresPlan() const override { return false; }

  CloudPlan Plan(const TaskInput& in, const Location& where) override {
    const Json& ctx = in.context;
    if (!required_.empty() &&
        (!ctx.contains(required_) || ctx[required_].is_null() ||
         (ctx[required_].is_string() &&
          ctx[required_].get<std::string>().empty()) ||
         (ctx[required_].is_array() && ctx[required_].empty()))) {
      return CloudPlan::Answer(
          TaskResult::Terminal(absl::StrCat(op_, " needs '", required_, "'")));
    }
    Json desc = DescriptionFrom(ctx);
    if (ctx.contains("serverGroupName")) {
      desc["serverGroupName"] = ctx["serverGroupName"];
    }
    if (!desc.contains("region")) desc["region"] = where.region();
    CloudPlan plan;
    plan.ops.push_back(Operation(op_, where, desc));
    return plan;
  }

 private:
  std::string op_;
  std::string required_;
};

}  // namespace

void RegisterCloudStages(Registry* r, const StageDeps& deps) {
  CloudDriver* cd = deps.clouddriver;
  RegisterServerGroupStages(r, deps);
  auto monitor = std::make_shared<MonitorKatoTask>(cd);
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
    r->AddSimpleStage(op, {op, "monitorKatoTask"});
    r->AddTask(op, std::make_shared<InfraOpTask>(cd, op, required));
  }
}

}  // namespace gennaker::orca::cloud
