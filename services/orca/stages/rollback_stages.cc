// Rollbacks acting through clouddriver: rollbackCluster (per region, the
// server group to roll back and the one to restore) and rollbackServerGroup
// (an EXPLICIT rollback: resize and enable the restored group, disable the
// rolled-back one, as synthetic stages).
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/spinnaker/names.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/cloud_common.h"
#include "services/orca/stages/cloud_submit.h"
#include "services/orca/stages/cloud_targets.h"
#include "services/orca/stages/server_group_facts.h"

namespace gennaker::orca::cloud {

namespace {

using spinnaker::Object;

// Finds, per region, the server group to roll back (context serverGroup,
// else the newest) and the one to restore (the newest older enabled one,
// else the newest older one); writes "rollbackTypes" and
// "rollbackContexts" ({region: {...}}) for the rollbackServerGroup stages.
class DetermineRollbackCandidatesTask : public CloudTask {
 public:
  using CloudTask::CloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location where) override {
    const Json& ctx = in.context;
    std::string wanted = String(ctx, "serverGroup");
    if (wanted.empty()) wanted = String(ctx, "serverGroupName");
    if (where.cluster.empty() && !wanted.empty()) {
      where.cluster = spinnaker::ClusterOfServerGroup(wanted);
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
      if (!groups.ok()) return ClusterReadFailure(groups.status(), where);
      size_t i = 0;
      if (!wanted.empty()) {
        while (i < groups->size() && String((*groups)[i], "name") != wanted)
          ++i;
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
                                     String(rollback, "name"),
                                     " to roll back to"));
        continue;
      }
      types[region] = "EXPLICIT";
      contexts[region] = {
          {"rollbackServerGroupName", String(rollback, "name")},
          {"restoreServerGroupName", String(*restore, "name")},
          {"targetHealthyRollbackPercentage",
           Int(more, "targetHealthyRollbackPercentage",
               Int(ctx, "targetHealthyRollbackPercentage", 100))},
          {"disableOnly", Bool(more, "disableOnly")},
          {"enableAndDisableOnly", Bool(more, "enableAndDisableOnly")},
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
      s.context["rollbackType"] = String(types, it.key().c_str()).empty()
                                      ? "EXPLICIT"
                                      : String(types, it.key().c_str());
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
  // The location is that of the server group named by rollbackContext.
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location) override {
    const Json& ctx = in.context;
    std::string type = absl::AsciiStrToUpper(String(ctx, "rollbackType"));
    if (!type.empty() && type != "EXPLICIT") {
      return TaskResult::Terminal(absl::StrCat(
          "rollbackType ", type, " is not supported; use EXPLICIT"));
    }
    const Json rc = Object(ctx, "rollbackContext");
    const std::string rollback_name = String(rc, "rollbackServerGroupName");
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
    std::string restore_name = String(rc, "restoreServerGroupName");
    if (restore_name.empty()) {
      absl::StatusOr<std::vector<Json>> groups =
          ClusterGroups(cd_, where, region);
      if (!groups.ok())
        return FromError(groups.status(), "reading the cluster");
      std::string any;
      for (const Json& g : *groups) {
        if (CreatedMs(g) >= CreatedMs(*rollback) ||
            String(g, "name") == rollback_name) {
          continue;
        }
        if (any.empty()) any = String(g, "name");
        if (!IsDisabled(g)) {
          restore_name = String(g, "name");
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
    const bool disable_only = Bool(rc, "disableOnly");
    const bool no_resize = disable_only || Bool(rc, "enableAndDisableOnly");
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
    const std::string restore = String(plan, "restoreServerGroupName");
    const std::string rollback = String(plan, "rollbackServerGroupName");
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
    if (Bool(plan, "enable")) {
      Json c = base;
      c["serverGroupName"] = restore;
      out.push_back({"enableServerGroup", "Enable " + restore, c});
    }
    int64_t delay =
        Int(Object(ctx, "rollbackContext"), "delayBeforeDisableSeconds", 0);
    if (delay > 0) {
      out.push_back({"wait", "Wait Before Disable", {{"waitTime", delay}}});
    }
    if (Bool(plan, "disable")) {
      Json c = base;
      c["serverGroupName"] = rollback;
      out.push_back({"disableServerGroup", "Disable " + rollback, c});
    }
    return out;
  }
};

}  // namespace

void RegisterRollbackStages(Registry* r, const StageDeps& deps) {
  CloudDriver* cd = deps.clouddriver;
  r->AddStage("rollbackCluster", std::make_shared<RollbackClusterStage>());
  r->AddTask("determineRollbackCandidates",
             std::make_shared<DetermineRollbackCandidatesTask>(cd));
  r->AddStage("rollbackServerGroup",
              std::make_shared<RollbackServerGroupStage>());
  r->AddTask("prepareRollback", std::make_shared<PrepareRollbackTask>(cd));
}

}  // namespace gennaker::orca::cloud
