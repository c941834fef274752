// Cluster-wide stages acting through clouddriver: disableCluster,
// scaleDownCluster, shrinkCluster, rollbackCluster / rollbackServerGroup,
// findImageFromCluster, and the clusterSize precondition.
//
// Which server groups a cluster-wide stage acts on, per region (server
// groups ordered newest first by createdTime):
// - disableCluster: the enabled groups; the first remainingEnabledServerGroups
//   (default 1) stay enabled, newest first or, with preferLargerOverNewer,
//   largest (instance count) first; the others are disabled.
// - scaleDownCluster: all groups, active (enabled) ones first, then largest
//   first with preferLargerOverNewer, then newest; the first
//   remainingFullSizeServerGroups (default 1) keep their size; of the others,
//   disabled ones (and enabled ones with allowScaleDownActive) are resized to
//   0/0/0 unless already empty.
// - shrinkCluster: all groups ordered active (enabled) first, then largest
//   first if retainLargerOverNewer, then newest; the first shrinkToSize
//   (default 1) are kept; of the others, disabled ones (and enabled ones with
//   allowDeleteActive) are destroyed. With allowDeleteActive a disableCluster
//   stage (remainingEnabledServerGroups = shrinkToSize) runs first, unless
//   runDisableClusterStep is false.
// In every case the server group the enclosing createServerGroup stage
// deployed, and any newer one, is never touched.
#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/cloud_common.h"

namespace gennaker::orca {

namespace {

using cloud::CapacityOf;
using cloud::CloudTask;
using cloud::ClusterGroups;
using cloud::CreatedMs;
using cloud::FromError;
using cloud::InstanceCount;
using cloud::IsDisabled;
using cloud::Location;
using cloud::LocationOf;
using cloud::Operation;
using cloud::SubmitOps;

Json Object(const Json& ctx, const char* key) {
  return ctx.contains(key) && ctx[key].is_object() ? ctx[key] : Json::object();
}

Json WhereKeys(const Json& ctx) {
  Json out = Json::object();
  for (const char* k :
       {"cluster", "moniker", "credentials", "account", "cloudProvider",
        "region", "regions", "interestingHealthProviderNames"}) {
    if (ctx.contains(k) && !ctx[k].is_null()) out[k] = ctx[k];
  }
  return out;
}

enum class ClusterOp { kDisable, kScaleDown, kShrink };

// Orders server groups by priority to keep (first = kept first).
void Prioritize(std::vector<Json>& groups, bool active_first, bool larger) {
  std::sort(groups.begin(), groups.end(), [&](const Json& a, const Json& b) {
    if (active_first && IsDisabled(a) != IsDisabled(b)) return !IsDisabled(a);
    if (larger && InstanceCount(a) != InstanceCount(b)) {
      return InstanceCount(a) > InstanceCount(b);
    }
    if (CreatedMs(a) != CreatedMs(b)) return CreatedMs(a) > CreatedMs(b);
    return Str(a, "name") > Str(b, "name");
  });
}

std::vector<Json> Select(ClusterOp op, const Json& ctx,
                         std::vector<Json> groups) {
  std::vector<Json> out;
  if (op == ClusterOp::kDisable) {
    groups.erase(std::remove_if(groups.begin(), groups.end(), IsDisabled),
                 groups.end());
    Prioritize(groups, false, Flag(ctx, "preferLargerOverNewer"));
    size_t keep = static_cast<size_t>(
        std::max<int64_t>(0, Int(ctx, "remainingEnabledServerGroups", 1)));
    for (size_t i = keep; i < groups.size(); ++i) out.push_back(groups[i]);
    return out;
  }
  if (op == ClusterOp::kScaleDown) {
    Prioritize(groups, true, Flag(ctx, "preferLargerOverNewer"));
    size_t keep = static_cast<size_t>(
        std::max<int64_t>(0, Int(ctx, "remainingFullSizeServerGroups", 1)));
    bool active_ok = Flag(ctx, "allowScaleDownActive");
    for (size_t i = keep; i < groups.size(); ++i) {
      const Json& g = groups[i];
      if (!active_ok && !IsDisabled(g)) continue;
      if (Int(CapacityOf(g), "desired") == 0 && InstanceCount(g) == 0) {
        continue;
      }
      out.push_back(g);
    }
    return out;
  }
  // Enabled groups count against shrinkToSize first (Spinnaker's
  // AbstractClusterWideClouddriverTask sorts active ones first), whether or
  // not they may be deleted.
  bool active_ok = Flag(ctx, "allowDeleteActive");
  Prioritize(groups, true, Flag(ctx, "retainLargerOverNewer"));
  size_t keep =
      static_cast<size_t>(std::max<int64_t>(0, Int(ctx, "shrinkToSize", 1)));
  for (size_t i = keep; i < groups.size(); ++i) {
    if (active_ok || IsDisabled(groups[i])) out.push_back(groups[i]);
  }
  return out;
}

// {region: [names]} deployed by the nearest enclosing createServerGroup /
// cloneServerGroup stage.
Json ParentDeployed(const Json& execution, const Json& stage) {
  const Json* s = &stage;
  for (int depth = 0; depth < 50; ++depth) {
    std::string parent = Str(*s, "parentStageId");
    if (parent.empty()) break;
    s = FindStage(execution, parent);
    if (s == nullptr) break;
    const std::string type = Str(*s, "type");
    if (type == "createServerGroup" || type == "cloneServerGroup") {
      return Object(Object(*s, "context"), "deploy.server.groups");
    }
  }
  return Json::object();
}

const char* OpName(ClusterOp op) {
  switch (op) {
    case ClusterOp::kDisable:
      return "disableServerGroup";
    case ClusterOp::kScaleDown:
      return "resizeServerGroup";
    case ClusterOp::kShrink:
      return "destroyServerGroup";
  }
  return "";
}

// Selects the server groups (see the top of the file), submits one
// operation per group in one clouddriver task, and records them as
// "deploy.server.groups" ({region: [names]}).
class ClusterOpTask : public CloudTask {
 public:
  ClusterOpTask(CloudDriver* cd, ClusterOp op) : CloudTask(cd), op_(op) {}
  int64_t TimeoutMs(const Json&) const override {
    return 10 * cloud::kMinuteMs;
  }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    if (where.account.empty() || where.cluster.empty()) {
      return TaskResult::Terminal(
          "a cluster stage needs 'credentials' (the account) and 'cluster'");
    }
    const Json parent = ParentDeployed(in.execution, in.stage);
    Json ops = Json::array();
    Json affected = Json::object();
    for (const std::string& region : where.regions) {
      absl::StatusOr<std::vector<Json>> groups =
          ClusterGroups(cd_, where, region);
      if (!groups.ok()) {
        return FromError(groups.status(),
                         absl::StrCat("reading cluster ", where.cluster));
      }
      // Never the group the parent deploy made, nor a newer one.
      std::set<std::string> protect;
      int64_t protect_from = -1;
      if (parent.contains(region) && parent[region].is_array()) {
        for (const Json& n : parent[region]) {
          if (!n.is_string()) continue;
          protect.insert(n.get<std::string>());
          for (const Json& g : *groups) {
            if (Str(g, "name") == n.get<std::string>() &&
                (protect_from < 0 || CreatedMs(g) < protect_from)) {
              protect_from = CreatedMs(g);
            }
          }
        }
      }
      for (const Json& g : Select(op_, ctx, *groups)) {
        const std::string name = Str(g, "name");
        if (protect.count(name) ||
            (protect_from >= 0 && CreatedMs(g) >= protect_from)) {
          continue;
        }
        Json desc = {
            {"serverGroupName", name}, {"asgName", name}, {"region", region}};
        if (op_ == ClusterOp::kScaleDown) {
          desc["capacity"] = {{"min", 0}, {"max", 0}, {"desired", 0}};
        }
        ops.push_back(Operation(OpName(op_), where, desc));
        if (!affected[region].is_array()) affected[region] = Json::array();
        affected[region].push_back(name);
      }
    }
    TaskResult r = SubmitOps(cd_, in, ops, where.application);
    r.context["deploy.server.groups"] = affected;
    return r;
  }

 private:
  ClusterOp op_;
};

// RUNNING until every group in "deploy.server.groups" shows the change.
class WaitForClusterTask : public CloudTask {
 public:
  WaitForClusterTask(CloudDriver* cd, ClusterOp op) : CloudTask(cd), op_(op) {}
  int64_t BackoffMs(const Json&) const override { return 1000; }
  int64_t TimeoutMs(const Json&) const override {
    return 30 * cloud::kMinuteMs;
  }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    const Json affected = Object(ctx, "deploy.server.groups");
    for (auto it = affected.begin(); it != affected.end(); ++it) {
      for (const Json& n : *it) {
        if (!n.is_string()) continue;
        absl::StatusOr<Json> sg =
            cd_->GetServerGroup(where.account, it.key(), n.get<std::string>());
        if (absl::IsNotFound(sg.status())) continue;
        if (!sg.ok()) return FromError(sg.status(), "reading a server group");
        bool done = false;
        switch (op_) {
          case ClusterOp::kDisable:
            done = IsDisabled(*sg);
            break;
          case ClusterOp::kScaleDown:
            done =
                Int(CapacityOf(*sg), "desired") == 0 && InstanceCount(*sg) == 0;
            break;
          case ClusterOp::kShrink:
            done = false;
            break;
        }
        if (!done) return TaskResult::Running(1000);
      }
    }
    return TaskResult();
  }

 private:
  ClusterOp op_;
};

class ShrinkClusterStage : public SimpleStage {
 public:
  ShrinkClusterStage()
      : SimpleStage(
            {"shrinkCluster", "monitorKatoTask", "waitForClusterShrink"}) {}
  std::vector<SyntheticStage> BeforeStages(const Json& stage) const override {
    const Json ctx = Object(stage, "context");
    if (!Flag(ctx, "allowDeleteActive") ||
        !Flag(ctx, "runDisableClusterStep", true)) {
      return {};
    }
    SyntheticStage s;
    s.type = "disableCluster";
    s.name = "disableCluster";
    s.context = WhereKeys(ctx);
    s.context["remainingEnabledServerGroups"] = Int(ctx, "shrinkToSize", 1);
    s.context["preferLargerOverNewer"] = Flag(ctx, "retainLargerOverNewer");
    return {s};
  }
};

// ------------------------------------------------------------- rollback

// Finds, per region, the server group to roll back (context serverGroup,
// else the newest) and the one to restore (the newest older enabled one,
// else the newest older one); writes "rollbackTypes" and
// "rollbackContexts" ({region: {...}}) for the rollbackServerGroup stages.
class DetermineRollbackCandidatesTask : public CloudTask {
 public:
  using CloudTask::CloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    std::string wanted = Str(ctx, "serverGroup");
    if (wanted.empty()) wanted = Str(ctx, "serverGroupName");
    if (where.cluster.empty() && !wanted.empty()) {
      where.cluster = cloud::ClusterOfServerGroup(wanted);
    }
    if (where.account.empty() || where.cluster.empty()) {
      return TaskResult::Terminal(
          "rollbackCluster needs 'credentials' and a cluster (or "
          "serverGroup)");
    }
    const Json more = Object(ctx, "additionalRollbackContext");
    Json types = Json::object();
    Json contexts = Json::object();
    Json notes = Json::array();
    for (const std::string& region : where.regions) {
      absl::StatusOr<std::vector<Json>> groups =
          ClusterGroups(cd_, where, region);
      if (!groups.ok()) {
        return FromError(groups.status(),
                         absl::StrCat("reading cluster ", where.cluster));
      }
      size_t i = 0;
      if (!wanted.empty()) {
        while (i < groups->size() && Str((*groups)[i], "name") != wanted) ++i;
      }
      if (i >= groups->size()) {
        notes.push_back(absl::StrCat(region, ": nothing to roll back"));
        continue;
      }
      const Json& rollback = (*groups)[i];
      const Json* restore = nullptr;
      for (size_t j = i + 1; j < groups->size(); ++j) {
        if (!IsDisabled((*groups)[j])) {
          restore = &(*groups)[j];
          break;
        }
      }
      if (restore == nullptr && i + 1 < groups->size()) {
        restore = &(*groups)[i + 1];
      }
      if (restore == nullptr) {
        notes.push_back(absl::StrCat(region, ": no server group older than ",
                                     Str(rollback, "name"),
                                     " to roll back to"));
        continue;
      }
      types[region] = "EXPLICIT";
      contexts[region] = {
          {"rollbackServerGroupName", Str(rollback, "name")},
          {"restoreServerGroupName", Str(*restore, "name")},
          {"targetHealthyRollbackPercentage",
           Int(more, "targetHealthyRollbackPercentage",
               Int(ctx, "targetHealthyRollbackPercentage", 100))},
          {"disableOnly", Flag(more, "disableOnly")},
          {"enableAndDisableOnly", Flag(more, "enableAndDisableOnly")},
          {"delayBeforeDisableSeconds",
           Int(more, "delayBeforeDisableSeconds", 0)}};
    }
    TaskResult r;
    r.context["rollbackTypes"] = types;
    r.context["rollbackContexts"] = contexts;
    if (!notes.empty()) r.context["rollbackNotes"] = notes;
    return r;
  }
};

class RollbackClusterStage : public SimpleStage {
 public:
  RollbackClusterStage() : SimpleStage({"determineRollbackCandidates"}) {}
  std::vector<SyntheticStage> AfterStages(const Json& stage) const override {
    const Json ctx = Object(stage, "context");
    const Json contexts = Object(ctx, "rollbackContexts");
    const Json types = Object(ctx, "rollbackTypes");
    int64_t wait = Int(ctx, "waitTimeBetweenRegions", 0);
    std::vector<SyntheticStage> out;
    for (auto it = contexts.begin(); it != contexts.end(); ++it) {
      if (!out.empty() && wait > 0) {
        out.push_back({"wait", "Wait Between Regions", {{"waitTime", wait}}});
      }
      SyntheticStage s;
      s.type = "rollbackServerGroup";
      s.name = "Rollback " + it.key();
      s.context = WhereKeys(ctx);
      s.context.erase("regions");
      s.context["region"] = it.key();
      s.context["rollbackType"] = Str(types, it.key().c_str()).empty()
                                      ? "EXPLICIT"
                                      : Str(types, it.key().c_str());
      s.context["rollbackContext"] = *it;
      out.push_back(std::move(s));
    }
    return out;
  }
};

// Reads both server groups of an EXPLICIT rollback and writes
// "rollbackPlan": {rollbackServerGroupName, restoreServerGroupName,
// resize (capacity or null), enable, disable}; the stage's after-stages
// carry it out.
class PrepareRollbackTask : public CloudTask {
 public:
  using CloudTask::CloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    std::string type = absl::AsciiStrToUpper(Str(ctx, "rollbackType"));
    if (!type.empty() && type != "EXPLICIT") {
      return TaskResult::Terminal(absl::StrCat(
          "rollbackType ", type, " is not supported; use EXPLICIT"));
    }
    const Json rc = Object(ctx, "rollbackContext");
    const std::string rollback_name = Str(rc, "rollbackServerGroupName");
    if (rollback_name.empty()) {
      return TaskResult::Terminal(
          "rollbackServerGroup needs rollbackContext.rollbackServerGroupName");
    }
    Json probe = ctx;
    probe["serverGroupName"] = rollback_name;  // names the cluster if unset
    Location where = LocationOf(probe, in.execution);
    const std::string region = where.region();
    absl::StatusOr<Json> rollback =
        cd_->GetServerGroup(where.account, region, rollback_name);
    if (!rollback.ok()) {
      return FromError(rollback.status(),
                       absl::StrCat("reading ", rollback_name));
    }
    std::string restore_name = Str(rc, "restoreServerGroupName");
    if (restore_name.empty()) {
      absl::StatusOr<std::vector<Json>> groups =
          ClusterGroups(cd_, where, region);
      if (!groups.ok())
        return FromError(groups.status(), "reading the cluster");
      std::string any;
      for (const Json& g : *groups) {
        if (CreatedMs(g) >= CreatedMs(*rollback) ||
            Str(g, "name") == rollback_name) {
          continue;
        }
        if (any.empty()) any = Str(g, "name");
        if (!IsDisabled(g)) {
          restore_name = Str(g, "name");
          break;
        }
      }
      if (restore_name.empty()) restore_name = any;
    }
    if (restore_name.empty()) {
      return TaskResult::Terminal(absl::StrCat(
          "no server group older than ", rollback_name, " to roll back to"));
    }
    absl::StatusOr<Json> restore =
        cd_->GetServerGroup(where.account, region, restore_name);
    if (!restore.ok()) {
      return FromError(restore.status(),
                       absl::StrCat("reading ", restore_name));
    }
    const bool disable_only = Flag(rc, "disableOnly");
    const bool no_resize = disable_only || Flag(rc, "enableAndDisableOnly");
    const Json want = CapacityOf(*rollback);
    Json resize;  // null: no resize
    if (!no_resize &&
        Int(CapacityOf(*restore), "desired") < Int(want, "desired")) {
      resize = want;
    }
    TaskResult r;
    r.context["rollbackPlan"] = {
        {"rollbackServerGroupName", rollback_name},
        {"restoreServerGroupName", restore_name},
        {"resize", resize},
        {"enable", IsDisabled(*restore)},
        {"disable", !IsDisabled(*rollback)},
        {"targetHealthyRollbackPercentage",
         Int(rc, "targetHealthyRollbackPercentage", 100)}};
    return r;
  }
};

class RollbackServerGroupStage : public SimpleStage {
 public:
  RollbackServerGroupStage() : SimpleStage({"prepareRollback"}) {}
  std::vector<SyntheticStage> AfterStages(const Json& stage) const override {
    const Json ctx = Object(stage, "context");
    const Json plan = Object(ctx, "rollbackPlan");
    if (plan.empty()) return {};
    Json base = WhereKeys(ctx);
    base.erase("cluster");
    base.erase("moniker");
    const std::string restore = Str(plan, "restoreServerGroupName");
    const std::string rollback = Str(plan, "rollbackServerGroupName");
    std::vector<SyntheticStage> out;
    if (plan.contains("resize") && plan["resize"].is_object()) {
      Json c = base;
      c["serverGroupName"] = restore;
      c["action"] = "scale_exact";
      c["capacity"] = plan["resize"];
      c["targetHealthyDeployPercentage"] =
          Int(plan, "targetHealthyRollbackPercentage", 100);
      out.push_back({"resizeServerGroup", "Resize " + restore, c});
    }
    if (Flag(plan, "enable")) {
      Json c = base;
      c["serverGroupName"] = restore;
      out.push_back({"enableServerGroup", "Enable " + restore, c});
    }
    int64_t delay =
        Int(Object(ctx, "rollbackContext"), "delayBeforeDisableSeconds", 0);
    if (delay > 0) {
      out.push_back({"wait", "Wait Before Disable", {{"waitTime", delay}}});
    }
    if (Flag(plan, "disable")) {
      Json c = base;
      c["serverGroupName"] = rollback;
      out.push_back({"disableServerGroup", "Disable " + rollback, c});
    }
    return out;
  }
};

// -------------------------------------------------------- findImage

// The image of a local server group: its "image" when set, else its launch
// command joined by spaces.
std::string ImageOf(const Json& sg) {
  if (sg.contains("image")) {
    const Json& i = sg["image"];
    if (i.is_string() && !i.get<std::string>().empty()) {
      return i.get<std::string>();
    }
    if (i.is_object()) {
      for (const char* k : {"imageId", "imageName", "name"}) {
        if (!Str(i, k).empty()) return Str(i, k);
      }
    }
  }
  const Json lc = Object(sg, "launchConfig");
  std::vector<std::string> argv;
  if (lc.contains("command") && lc["command"].is_array()) {
    for (const Json& a : lc["command"]) {
      argv.push_back(a.is_string() ? a.get<std::string>() : Dump(a));
    }
  }
  return absl::StrJoin(argv, " ");
}

class FindImageTask : public CloudTask {
 public:
  using CloudTask::CloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json& ctx = in.context;
    Location where = LocationOf(ctx, in.execution);
    if (where.account.empty() || where.cluster.empty()) {
      return TaskResult::Terminal(
          "findImageFromCluster needs 'credentials' and 'cluster'");
    }
    const bool only_enabled = Flag(ctx, "onlyEnabled", true);
    std::string strategy = absl::AsciiStrToUpper(Str(ctx, "selectionStrategy"));
    if (strategy.empty()) strategy = "NEWEST";
    if (strategy != "NEWEST" && strategy != "LARGEST" && strategy != "OLDEST" &&
        strategy != "FAIL") {
      return TaskResult::Terminal(
          absl::StrCat("unknown selectionStrategy '", strategy,
                       "' (NEWEST, LARGEST, OLDEST or FAIL)"));
    }
    Json details = Json::array();
    for (const std::string& region : where.regions) {
      absl::StatusOr<std::vector<Json>> groups =
          ClusterGroups(cd_, where, region);
      if (!groups.ok()) {
        return FromError(groups.status(),
                         absl::StrCat("reading cluster ", where.cluster));
      }
      if (only_enabled) {
        groups->erase(
            std::remove_if(groups->begin(), groups->end(), IsDisabled),
            groups->end());
      }
      if (groups->empty()) {
        return TaskResult::Terminal(absl::StrCat(
            "no ", only_enabled ? "enabled " : "", "server group in cluster ",
            where.cluster, " (", region, ")"));
      }
      const Json* pick = &groups->front();
      if (strategy == "OLDEST") {
        pick = &groups->back();
      } else if (strategy == "LARGEST") {
        for (const Json& g : *groups) {
          if (InstanceCount(g) > InstanceCount(*pick)) pick = &g;
        }
      } else if (strategy == "FAIL") {
        std::set<std::string> images;
        for (const Json& g : *groups) images.insert(ImageOf(g));
        if (images.size() > 1) {
          return TaskResult::Terminal(
              absl::StrCat("cluster ", where.cluster, " runs ", images.size(),
                           " different images in ", region,
                           " and selectionStrategy is FAIL"));
        }
      }
      const std::string image = ImageOf(*pick);
      const Json lc = Object(*pick, "launchConfig");
      Json d = {
          {"cloudProvider", where.cloud_provider},
          {"account", where.account},
          {"region", region},
          {"serverGroupName", Str(*pick, "name")},
          {"sourceServerGroup", Str(*pick, "name")},
          {"imageId", image},
          {"imageName", image},
          {"ami", image},
          {"image", image},
          {"command", lc.contains("command") ? lc["command"] : Json::array()}};
      if (pick->contains("buildInfo")) d["buildInfo"] = (*pick)["buildInfo"];
      details.push_back(std::move(d));
    }
    TaskResult r;
    r.context["amiDetails"] = details;
    r.context["deploymentDetails"] = details;
    r.outputs["deploymentDetails"] = details;
    return r;
  }
};

// ------------------------------------------------ clusterSize precondition

bool Compare(int64_t actual, const std::string& op, int64_t expected,
             bool* known) {
  *known = true;
  if (op == "==") return actual == expected;
  if (op == "!=") return actual != expected;
  if (op == "<") return actual < expected;
  if (op == "<=") return actual <= expected;
  if (op == ">") return actual > expected;
  if (op == ">=") return actual >= expected;
  *known = false;
  return false;
}

// checkPreconditions' clusterSize: per region, the number of server groups
// of the cluster (only enabled ones with onlyEnabledServerGroups) compared
// with `expected` (default 1) by `comparison` (==, !=, <, <=, >, >=;
// default ==).
class ClusterSizeTask : public CloudTask {
 public:
  using CloudTask::CloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override {
    const Json pctx = Object(in.context, "context");
    Location where = LocationOf(pctx, in.execution);
    if (where.account.empty() || where.cluster.empty()) {
      return TaskResult::Terminal(
          "a clusterSize precondition needs 'credentials' and 'cluster'");
    }
    std::string op = Str(pctx, "comparison");
    if (op.empty()) op = "==";
    const int64_t expected = Int(pctx, "expected", 1);
    const bool only_enabled = Flag(pctx, "onlyEnabledServerGroups");
    std::vector<std::string> failures;
    Json actual = Json::object();
    for (const std::string& region : where.regions) {
      absl::StatusOr<std::vector<Json>> groups =
          ClusterGroups(cd_, where, region);
      if (!groups.ok()) {
        return FromError(groups.status(),
                         absl::StrCat("reading cluster ", where.cluster));
      }
      std::vector<std::string> names;
      for (const Json& g : *groups) {
        if (!only_enabled || !IsDisabled(g)) names.push_back(Str(g, "name"));
      }
      const int64_t n = static_cast<int64_t>(names.size());
      actual[region] = n;
      bool known = false;
      bool ok = Compare(n, op, expected, &known);
      if (!known) {
        return TaskResult::Terminal(
            absl::StrCat("unknown comparison '", op, "'"));
      }
      if (!ok) {
        failures.push_back(absl::StrCat(
            "expected ", op, " ", expected, " ", only_enabled ? "enabled " : "",
            "server group(s) in ", where.cluster, " (", region, ") but found ",
            n, names.empty() ? "" : ": ", absl::StrJoin(names, ", ")));
      }
    }
    TaskResult r = failures.empty()
                       ? TaskResult()
                       : TaskResult::Terminal(absl::StrJoin(failures, "; "));
    Json c = pctx;
    c["actual"] = actual;
    r.context["context"] = c;
    return r;
  }
};

}  // namespace

void RegisterClusterStages(Registry* r, const StageDeps& deps) {
  CloudDriver* cd = deps.clouddriver;
  auto simple = [r](const std::string& type, std::vector<std::string> tasks) {
    r->AddStage(type, std::make_shared<SimpleStage>(std::move(tasks)));
  };
  simple("disableCluster",
         {"disableCluster", "monitorKatoTask", "waitForClusterDisable"});
  r->AddTask("disableCluster",
             std::make_shared<ClusterOpTask>(cd, ClusterOp::kDisable));
  r->AddTask("waitForClusterDisable",
             std::make_shared<WaitForClusterTask>(cd, ClusterOp::kDisable));
  simple("scaleDownCluster", {"scaleDownCluster", "monitorKatoTask",
                              "waitForScaleDownClusterInstances"});
  r->AddTask("scaleDownCluster",
             std::make_shared<ClusterOpTask>(cd, ClusterOp::kScaleDown));
  r->AddTask("waitForScaleDownClusterInstances",
             std::make_shared<WaitForClusterTask>(cd, ClusterOp::kScaleDown));
  r->AddStage("shrinkCluster", std::make_shared<ShrinkClusterStage>());
  r->AddTask("shrinkCluster",
             std::make_shared<ClusterOpTask>(cd, ClusterOp::kShrink));
  r->AddTask("waitForClusterShrink",
             std::make_shared<WaitForClusterTask>(cd, ClusterOp::kShrink));
  r->AddStage("rollbackCluster", std::make_shared<RollbackClusterStage>());
  r->AddTask("determineRollbackCandidates",
             std::make_shared<DetermineRollbackCandidatesTask>(cd));
  r->AddStage("rollbackServerGroup",
              std::make_shared<RollbackServerGroupStage>());
  r->AddTask("prepareRollback", std::make_shared<PrepareRollbackTask>(cd));
  auto find = std::make_shared<SimpleStage>(
      std::vector<std::string>{"findImageFromCluster"});
  r->AddStage("findImageFromCluster", find);
  r->AddStage("findImage", find);
  r->AddTask("findImageFromCluster", std::make_shared<FindImageTask>(cd));
  r->AddTask("checkClusterSize", std::make_shared<ClusterSizeTask>(cd));
}

}  // namespace gennaker::orca
