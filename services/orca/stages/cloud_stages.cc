// Deploy stages acting through clouddriver: deploy (one createServerGroup per
// cluster), createServerGroup / cloneServerGroup with the deployment
// strategies, and the infrastructure orchestrations Deck posts (load
// balancers, security groups, instances). The server-group stages are in
// server_group_stages.cc, the cluster stages in cluster_stages.cc.
//
// A cluster naming an image artifact (imageArtifactId / expectedArtifactId /
// inline imageArtifact) deploys that artifact's image (see
// ClusterImageArtifact); else a cluster without an image (imageId / image /
// imageName) or a command deploys the image of the nearest upstream stage
// (bake, findImageFromTags, findImageFromCluster) whose deploymentDetails has
// one for its region and cloud provider; a local deploy with none fails saying
// so.
//
// Every task that calls clouddriver commits right after its call and submits
// with the key "<execution>:<stage>:<task>[:<restarts>]", so a run repeated
// after a crash gets the same clouddriver task instead of a second one.
#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/spinnaker/names.h"
#include "services/orca/artifacts.h"
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

// True when `key` holds something: not absent, null, "" or an empty list.
bool HasValue(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return false;
  const Json& v = j[key];
  return !v.is_null() && !(v.is_string() && v.get<std::string>().empty()) &&
         !(v.is_array() && v.empty()) && !(v.is_object() && v.empty());
}

// A cluster that names the image to deploy.
bool HasImage(const Json& j) {
  return HasValue(j, "imageId") || HasValue(j, "image") ||
         HasValue(j, "imageName") || HasValue(j, "amiName");
}

// A deployment detail with an image (findImageFromCluster's "image" of a
// group running a raw command is that command's text, not an image).
bool DetailHasImage(const Json& d) {
  return HasValue(d, "imageId") || HasValue(d, "imageName") ||
         HasValue(d, "ami");
}

// A deployment detail for `region` ("global" ones serve every region) and
// `provider` (a detail without one serves any).
bool DetailFits(const Json& d, const std::string& region,
                const std::string& provider) {
  if (!d.is_object()) return false;
  const std::string r = String(d, "region");
  const std::string p =
      spinnaker::FirstString(d, {"cloudProvider", "cloudProviderType"});
  return (r.empty() || r == region || r == "global") &&
         (p.empty() || p == provider);
}

// The deployment detail (image, or command) the deploy takes: from the
// nearest of the stage itself and its ancestors (parents, upstream stages)
// with a detail that fits; in each, its outputs' deploymentDetails, else its
// context's. Null when none.
Json UpstreamImage(const TaskInput& in, const std::string& region,
                   const std::string& provider) {
  for (const Json* s : StageAncestors(in.execution, in.stage)) {
    const bool self = String(*s, "id") == String(in.stage, "id");
    const Json outputs = Object(*s, "outputs");
    const Json& ctx = self ? in.context : Object(*s, "context");
    for (const Json* source : {&outputs, &ctx}) {
      for (const Json& d : spinnaker::Array(*source, "deploymentDetails")) {
        if (DetailFits(d, region, provider) &&
            (DetailHasImage(d) || HasValue(d, "command"))) {
          return d;
        }
      }
    }
  }
  return nullptr;
}

// The image artifact the cluster names: its imageArtifactId, else its
// expectedArtifactId (bound as the stage sees it: its own, upstream stages'
// and the trigger's resolvedExpectedArtifacts), else its inline
// imageArtifact. Null when the cluster names none, or when its imageSource
// says the image comes from elsewhere (Deck keeps a stale imageArtifactId
// when the source is switched, as Spinnaker's Google deploy reads it only
// for imageSource "artifact"). An id that binds nothing is an error in
// Spinnaker's words ("No artifact could be bound to '<id>'").
absl::StatusOr<Json> ClusterImageArtifact(const TaskInput& in,
                                          const Json& ctx) {
  if (HasValue(ctx, "imageSource") &&
      absl::AsciiStrToLower(String(ctx, "imageSource")) != "artifact") {
    return nullptr;
  }
  std::string key = "imageArtifactId";
  std::string id = String(ctx, "imageArtifactId");
  if (id.empty()) {
    key = "expectedArtifactId";
    id = String(ctx, "expectedArtifactId");
  }
  const Json inline_artifact =
      HasValue(ctx, "imageArtifact") && ctx["imageArtifact"].is_object()
          ? ctx["imageArtifact"]
          : Json(nullptr);
  if (id.empty() && inline_artifact.is_null()) return nullptr;
  absl::StatusOr<Json> a =
      BoundArtifactForStage(in.execution, in.stage, id, inline_artifact);
  if (!a.ok()) {
    return absl::Status(
        a.status().code(),
        absl::StrCat("No artifact could be bound to '", id, "' (the ", key,
                     " of the cluster): ", a.status().message()));
  }
  if (String(*a, "reference").empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the image artifact ",
                     id.empty() ? std::string("given inline (imageArtifact)")
                                : absl::StrCat("bound to '", id, "'"),
                     " has no reference to deploy: ", Dump(*a)));
  }
  return a;
}

// Puts the image `artifact` names into `r`'s context, replacing any image
// the cluster names: a local/image artifact's reference ("sha256:<hex>") is
// the imageId and its name the image name; for another provider the
// reference is the imageId (a docker/image's "<registry>/<repo>:<tag>" as
// the docker-based providers take it) and the artifact rides along as
// imageArtifact (as Spinnaker's Google deploy passes it). A local deploy of
// another artifact type fails: the local provider runs local images only.
absl::Status TakeArtifactImage(const Json& artifact,
                               const std::string& provider, TaskResult& r) {
  const std::string type = String(artifact, "type");
  if (provider == kDefaultProvider && type != "local/image") {
    return absl::InvalidArgumentError(absl::StrCat(
        "the local provider deploys 'local/image' artifacts (a bake's "
        "image), not '",
        type, "' (", String(artifact, "reference"), ")"));
  }
  // A command stays: the local provider runs it in the image instead of
  // the image's entry command.
  for (const char* k : {"image", "imageName", "amiName"}) {
    r.context[k] = nullptr;
  }
  r.context["imageId"] = artifact["reference"];
  if (!String(artifact, "name").empty()) {
    r.context["imageName"] = artifact["name"];
  }
  r.context["imageArtifact"] = artifact;
  return absl::OkStatus();
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
    // What to run, as Spinnaker decides: the image artifact the cluster
    // names; else its own image or command; else the image (or command) of
    // the nearest upstream bake / findImage stage for this region and
    // provider, as Spinnaker's deploy takes amiName / imageId.
    absl::StatusOr<Json> artifact = ClusterImageArtifact(in, ctx);
    if (!artifact.ok()) {
      return TaskResult::Terminal(std::string(artifact.status().message()));
    }
    if (artifact->is_object()) {
      absl::Status taken =
          TakeArtifactImage(*artifact, where.cloud_provider, r);
      if (!taken.ok())
        return TaskResult::Terminal(std::string(taken.message()));
    } else if (!HasImage(ctx) && !HasValue(ctx, "command")) {
      const Json d = UpstreamImage(in, where.region(), where.cloud_provider);
      if (DetailHasImage(d)) {
        const std::string id = spinnaker::FirstString(d, {"imageId", "ami"});
        if (!id.empty()) r.context["imageId"] = id;
        if (!String(d, "imageName").empty()) {
          r.context["imageName"] = d["imageName"];
        }
        if (where.cloud_provider != kDefaultProvider &&
            !String(d, "ami").empty()) {
          r.context["amiName"] = d["ami"];
        }
      } else if (d.is_object() && HasValue(d, "command")) {
        r.context["command"] = d["command"];
      } else if (where.cloud_provider == kDefaultProvider &&
                 String(in.stage, "type") != "cloneServerGroup" &&
                 StrategyName(ctx) != "custom") {
        return TaskResult::Terminal(absl::StrCat(
            "nothing to deploy to ", where.cluster, " in ", where.region(),
            ": the cluster sets no imageId, image or command, and no upstream "
            "stage (bake, findImageFromTags, findImageFromCluster) produced an "
            "image for region ",
            where.region(), " and cloud provider ", where.cloud_provider));
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
