// Server-group stages acting through clouddriver: resize (exact, up, down,
// to another group or cluster, by number or percentage), pin / unpin,
// enable / disable / destroy (by name or dynamic target) each with a wait
// for the read to show the change, and determineTargetServerGroup.
//
// Tasks compute their operations once and store them (StorePlan), so
// a run repeated after a crash submits exactly what was computed first.
#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/cloud_common.h"
#include "services/orca/stages/cloud_submit.h"
#include "services/orca/stages/cloud_targets.h"
#include "services/orca/stages/server_group_facts.h"

namespace gennaker::orca::cloud {

namespace {

using spinnaker::Object;

// Most recent "originalCapacity" recorded for `name` by a pin (the
// capacity it had before its minimum was raised).
Json OriginalCapacity(const Json& execution, const std::string& name) {
  Json found;
  if (!execution.contains("stages")) return found;
  for (const Json& s : execution["stages"]) {
    const Json ctx = Object(s, "context");
    if (String(ctx, "serverGroupName") == name &&
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

// A task planning operations on the one server group its stage targets
// (ResolveTarget in the stage's first region).
class TargetedGroupTask : public PlannedCloudTask {
 public:
  using PlannedCloudTask::PlannedCloudTask;

 protected:
  CloudPlan Plan(const TaskInput& in, const Location& where) final {
    const std::string region = where.region();
    absl::StatusOr<Json> sg = ResolveTarget(cd_, in.context, where, region);
    if (!sg.ok()) return Unresolved(in, where, sg.status());
    return PlanFor(in, where, region, *sg);
  }
  // The answer when there is no such server group (or no reading it).
  virtual CloudPlan Unresolved(const TaskInput& /*in*/,
                               const Location& /*where*/,
                               const absl::Status& s) {
    return CloudPlan::Answer(TargetFailure(s));
  }
  virtual CloudPlan PlanFor(const TaskInput& in, const Location& where,
                            const std::string& region, const Json& sg) = 0;
};

enum class GroupOp { kEnable, kDisable, kDestroy };

// The operation of each GroupOp.
constexpr const char* kGroupOpNames[] = {
    "enableServerGroup", "disableServerGroup", "destroyServerGroup"};
const char* OpName(GroupOp op) { return kGroupOpNames[static_cast<int>(op)]; }

// enable / disable / destroy the targeted server group. Writes
// "serverGroupName" and "region" (the resolved target) for the wait task.
class GroupOpTask : public TargetedGroupTask {
 public:
  GroupOpTask(CloudDriver* cd, GroupOp op) : TargetedGroupTask(cd), op_(op) {}
  int64_t TimeoutMs(const Json&) const override { return 10 * kMinuteMs; }

 protected:
  std::string Missing(const Location& where) const override {
    return where.account.empty()
               ? absl::StrCat(OpName(op_), " needs 'credentials' (the account)")
               : "";
  }

  // A group already gone is no failure for a destroy, nor with
  // skipIfMissing.
  CloudPlan Unresolved(const TaskInput& in, const Location& where,
                       const absl::Status& s) override {
    const Json& ctx = in.context;
    if (!absl::IsNotFound(s) ||
        (op_ != GroupOp::kDestroy && !Bool(ctx, "skipIfMissing"))) {
      return TargetedGroupTask::Unresolved(in, where, s);
    }
    TaskResult r;
    r.context["kato.last.task.id"] = nullptr;
    r.context["serverGroupName"] = String(ctx, "serverGroupName").empty()
                                       ? String(ctx, "asgName")
                                       : String(ctx, "serverGroupName");
    r.context["region"] = where.region();
    return CloudPlan::Answer(std::move(r));
  }

  CloudPlan PlanFor(const TaskInput& in, const Location& where,
                    const std::string& region, const Json& sg) override {
    const Json& ctx = in.context;
    const std::string name = String(sg, "name");
    TaskResult r;
    Json ops = Json::array();
    bool partial = ctx.contains("desiredPercentage") &&
                   Int(ctx, "desiredPercentage", 100) < 100;
    if (op_ == GroupOp::kDisable && partial &&
        where.cloud_provider == kDefaultProvider) {
      // The local provider disables a whole group only: a partial disable
      // (rolling red/black's steps) leaves it in service until 100%.
      r.context["partialDisableSkipped"] =
          absl::StrCat("the ", where.cloud_provider,
                       " provider cannot disable part of a server group; ",
                       name, " stays enabled until 100%");
    } else {
      Json desc = GroupDescription(name, region);
      if (ctx.contains("desiredPercentage")) {
        desc["desiredPercentage"] = ctx["desiredPercentage"];
      }
      ops.push_back(Operation(OpName(op_), where, desc));
    }
    r.context["serverGroupName"] = name;
    r.context["region"] = region;
    CloudPlan plan;
    plan.ops = std::move(ops);
    plan.context = std::move(r.context);
    return plan;
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
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location where) override {
    const Json& ctx = in.context;
    if (ctx.contains("partialDisableSkipped")) return TaskResult();
    const std::string name = String(ctx, "serverGroupName");
    if (name.empty()) return TaskResult::Terminal("no server group to watch");
    absl::StatusOr<Json> sg =
        cd_->GetServerGroup(where.account, where.region(), name);
    if (absl::IsNotFound(sg.status())) {
      if (want_ == Want::kGone) return TaskResult();
      if (Bool(ctx, "skipIfMissing")) return TaskResult();
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
  std::string action = absl::AsciiStrToLower(String(ctx, "action"));
  if (action.empty()) {
    if (absl::AsciiStrToLower(String(ctx, "resizeType")) == "exact" ||
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
      std::string account = String(src, "account");
      absl::StatusOr<Json> sg = cd->GetServerGroup(
          account.empty() ? where.account : account,
          String(src, "region").empty() ? region : String(src, "region"),
          source);
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
      absl::StrCat("unknown resize action '", String(ctx, "action"), "'"));
}

// A resize of `name` to `capacity`; the context changes (and where it acts,
// for the wait task) apply once it is submitted. With `submit` false nothing
// is submitted (the group has that capacity already).
CloudPlan ResizePlan(const Location& where, const std::string& name,
                     const std::string& region, const Json& capacity,
                     Json context, bool submit = true) {
  CloudPlan plan;
  if (submit) {
    Json desc = GroupDescription(name, region);
    desc["capacity"] = capacity;
    plan.ops.push_back(Operation("resizeServerGroup", where, desc));
  }
  plan.context = std::move(context);
  plan.context["serverGroupName"] = name;
  plan.context["region"] = region;
  plan.context["capacity"] = capacity;
  return plan;
}

class ResizeTask : public TargetedGroupTask {
 public:
  using TargetedGroupTask::TargetedGroupTask;
  int64_t TimeoutMs(const Json&) const override { return 10 * kMinuteMs; }

 protected:
  std::string Missing(const Location& where) const override {
    return where.account.empty()
               ? "resizeServerGroup needs 'credentials' (the account)"
               : "";
  }

  CloudPlan PlanFor(const TaskInput& in, const Location& where,
                    const std::string& region, const Json& sg) override {
    const Json& ctx = in.context;
    const std::string name = String(sg, "name");
    const Json cur = CapacityOf(sg);
    absl::StatusOr<Json> want = ResizeTarget(cd_, in, where, region, cur);
    if (!want.ok()) {
      return CloudPlan::Answer(FromError(want.status(), "resizeServerGroup"));
    }
    Json c = Consistent(*want);
    Json context = Json::object();
    if (Bool(ctx, "pinCapacity")) {
      c["min"] = c["desired"];
      c["max"] = c["desired"];
    }
    if (Bool(ctx, "pinMinimumCapacity")) {
      c["min"] = c["desired"];
      context["originalCapacity"] = cur;
    }
    if (Bool(ctx, "unpinMinimumCapacity")) {
      Json original = OriginalCapacity(in.execution, name);
      if (original.is_object()) {
        c["min"] = std::min(Int(original, "min"), Int(c, "desired"));
      }
    }
    return ResizePlan(where, name, region, c, std::move(context));
  }
};

// Raises a server group's minimum to its desired size (pinMinimumCapacity,
// recording "originalCapacity"), or restores the recorded minimum
// (unpinMinimumCapacity).
class PinServerGroupTask : public TargetedGroupTask {
 public:
  using TargetedGroupTask::TargetedGroupTask;

 protected:
  CloudPlan PlanFor(const TaskInput& in, const Location& where,
                    const std::string& region, const Json& sg) override {
    const Json& ctx = in.context;
    const std::string name = String(sg, "name");
    const Json cur = CapacityOf(sg);
    Json want = cur;
    Json context = Json::object();
    if (Bool(ctx, "pinMinimumCapacity")) {
      want["min"] = cur["desired"];
      context["originalCapacity"] = cur;
    } else if (Bool(ctx, "unpinMinimumCapacity")) {
      Json original = OriginalCapacity(in.execution, name);
      if (original.is_object()) {
        want["min"] = std::min(Int(original, "min"), Int(cur, "desired"));
      }
    } else {
      return CloudPlan::Answer(TaskResult::Terminal(
          "pinServerGroup needs pinMinimumCapacity or unpinMinimumCapacity"));
    }
    return ResizePlan(where, name, region, want, std::move(context),
                      /*submit=*/want != cur);
  }
};

// RUNNING until the server group has the "capacity" of the context and as
// many healthy instances as it desires.
class WaitForCapacityMatchTask : public WaitingCloudTask {
 public:
  using WaitingCloudTask::WaitingCloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location where) override {
    const Json& ctx = in.context;
    const std::string name = String(ctx, "serverGroupName");
    const int64_t timeout =
        Int(ctx, "waitForCapacityMatchTimeoutMs", kThirtyMinutesMs);
    const int64_t elapsed = in.now_ms - TaskStartMs(in);
    absl::StatusOr<Json> sg =
        cd_->GetServerGroup(where.account, where.region(), name);
    if (!sg.ok()) return ReadFailure(sg.status(), name, elapsed, timeout);
    const Json want = Object(ctx, "capacity");
    const Json cur = CapacityOf(*sg);
    const int64_t desired = Int(want, "desired", Int(cur, "desired"));
    int64_t target = desired;
    if (ctx.contains("targetHealthyDeployPercentage") && desired > 0) {
      target = TargetDesired(ctx, *sg);
    }
    bool done = Int(cur, "desired") == desired &&
                InstanceCount(*sg) == desired &&
                HealthyCount(*sg, ctx) >= target;
    if (done) return TaskResult();
    if (elapsed > timeout) {
      return TaskResult::Terminal(
          absl::StrCat("server group ", name, " did not reach ", desired,
                       " healthy instance(s) within ", timeout / 1000,
                       " s (instances: ", HealthSummary(*sg), ")"));
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
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location where) override {
    const Json& ctx = in.context;
    Json refs = Json::array();
    for (const std::string& region : where.regions) {
      absl::StatusOr<Json> sg = ResolveTarget(cd_, ctx, where, region);
      if (!sg.ok()) return TargetFailure(sg.status());
      refs.push_back({{"region", region},
                      {"location", region},
                      {"account", where.account},
                      {"cluster", where.cluster},
                      {"serverGroupName", String(*sg, "name")},
                      {"name", String(*sg, "name")},
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
  r->AddSimpleStage(
      "resizeServerGroup",
      {"resizeServerGroup", "monitorKatoTask", "waitForCapacityMatch"});
  r->AddTask("resizeServerGroup", std::make_shared<ResizeTask>(cd));
  r->AddTask("waitForCapacityMatch",
             std::make_shared<WaitForCapacityMatchTask>(cd));
  r->AddSimpleStage("pinServerGroup", {"pinServerGroup", "monitorKatoTask",
                                       "waitForCapacityMatch"});
  r->AddTask("pinServerGroup", std::make_shared<PinServerGroupTask>(cd));
  r->AddSimpleStage(
      "enableServerGroup",
      {"enableServerGroup", "monitorKatoTask", "waitForServerGroupEnabled"});
  r->AddTask("enableServerGroup",
             std::make_shared<GroupOpTask>(cd, GroupOp::kEnable));
  r->AddTask("waitForServerGroupEnabled",
             std::make_shared<WaitForGroupTask>(cd, Want::kEnabled));
  r->AddSimpleStage(
      "disableServerGroup",
      {"disableServerGroup", "monitorKatoTask", "waitForServerGroupDisabled"});
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
  r->AddSimpleStage("determineTargetServerGroup",
                    {"determineTargetServerGroup"});
  r->AddTask("determineTargetServerGroup",
             std::make_shared<DetermineTargetTask>(cd));
}

}  // namespace gennaker::orca::cloud
