// Server-group stages acting through clouddriver: resize (exact, up, down,
// to another group or cluster, by number or percentage), pin / unpin,
// enable / disable / destroy (by name or dynamic target) each with a wait
// for the read to show the change, and determineTargetServerGroup.
//
// Tasks compute their operations once and store them (cloud::StorePlan), so
// a run repeated after a crash submits exactly what was computed first.
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
using cloud::SourceName;
using cloud::SubmitOps;

using cloud::kThirtyMinutesMs;
using cloud::Object;
using cloud::TargetDesired;

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

}  // namespace

void RegisterServerGroupStages(Registry* r, const StageDeps& deps) {
  CloudDriver* cd = deps.clouddriver;
  auto simple = [r](const std::string& type, std::vector<std::string> tasks) {
    r->AddStage(type, std::make_shared<SimpleStage>(std::move(tasks)));
  };
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
}

}  // namespace gennaker::orca
