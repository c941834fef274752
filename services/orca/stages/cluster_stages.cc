// Cluster-wide stages acting through clouddriver: disableCluster,
// scaleDownCluster, shrinkCluster, findImageFromCluster, findImageFromTags,
// and the clusterSize precondition. The rollbacks (rollbackCluster /
// rollbackServerGroup) are in rollback_stages.cc.
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
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/cloud_common.h"
#include "services/orca/stages/cloud_submit.h"
#include "services/orca/stages/cloud_targets.h"
#include "services/orca/stages/server_group_facts.h"

namespace gennaker::orca::cloud {

namespace {

using spinnaker::Object;

enum class ClusterOp { kDisable, kScaleDown, kShrink };

// Orders server groups by priority to keep (first = kept first).
void Prioritize(std::vector<Json>& groups, bool active_first, bool larger) {
  std::sort(groups.begin(), groups.end(), [&](const Json& a, const Json& b) {
    if (active_first && IsDisabled(a) != IsDisabled(b)) return !IsDisabled(a);
    if (larger && InstanceCount(a) != InstanceCount(b)) {
      return InstanceCount(a) > InstanceCount(b);
    }
    if (CreatedMs(a) != CreatedMs(b)) return CreatedMs(a) > CreatedMs(b);
    return String(a, "name") > String(b, "name");
  });
}

std::vector<Json> Select(ClusterOp op, const Json& ctx,
                         std::vector<Json> groups) {
  std::vector<Json> out;
  if (op == ClusterOp::kDisable) {
    groups.erase(std::remove_if(groups.begin(), groups.end(), IsDisabled),
                 groups.end());
    Prioritize(groups, false, Bool(ctx, "preferLargerOverNewer"));
    size_t keep = static_cast<size_t>(
        std::max<int64_t>(0, Int(ctx, "remainingEnabledServerGroups", 1)));
    for (size_t i = keep; i < groups.size(); ++i) out.push_back(groups[i]);
    return out;
  }
  if (op == ClusterOp::kScaleDown) {
    Prioritize(groups, true, Bool(ctx, "preferLargerOverNewer"));
    size_t keep = static_cast<size_t>(
        std::max<int64_t>(0, Int(ctx, "remainingFullSizeServerGroups", 1)));
    bool active_ok = Bool(ctx, "allowScaleDownActive");
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
  bool active_ok = Bool(ctx, "allowDeleteActive");
  Prioritize(groups, true, Bool(ctx, "retainLargerOverNewer"));
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
    std::string parent = String(*s, "parentStageId");
    if (parent.empty()) break;
    s = FindStage(execution, parent);
    if (s == nullptr) break;
    const std::string type = String(*s, "type");
    if (type == "createServerGroup" || type == "cloneServerGroup") {
      return Object(Object(*s, "context"), "deploy.server.groups");
    }
  }
  return Json::object();
}

// The operation each cluster-wide stage submits per server group, by
// ClusterOp.
constexpr const char* kClusterOpNames[] = {
    "disableServerGroup", "resizeServerGroup", "destroyServerGroup"};
const char* OpName(ClusterOp op) {
  return kClusterOpNames[static_cast<int>(op)];
}

// Selects the server groups (see the top of the file), plans one operation
// per group in one clouddriver task, and records them as
// "deploy.server.groups" ({region: [names]}) once submitted.
class ClusterOpTask : public PlannedCloudTask {
 public:
  ClusterOpTask(CloudDriver* cd, ClusterOp op)
      : PlannedCloudTask(cd), op_(op) {}
  int64_t TimeoutMs(const Json&) const override { return 10 * kMinuteMs; }

 protected:
  std::string Missing(const Location& where) const override {
    return where.account.empty() || where.cluster.empty()
               ? "a cluster stage needs 'credentials' (the account) and "
                 "'cluster'"
               : "";
  }

  CloudPlan Plan(const TaskInput& in, const Location& where) override {
    const Json& ctx = in.context;
    const Json parent = ParentDeployed(in.execution, in.stage);
    Json ops = Json::array();
    Json affected = Json::object();
    for (const std::string& region : where.regions) {
      absl::StatusOr<std::vector<Json>> groups =
          ClusterGroups(cd_, where, region);
      if (!groups.ok()) {
        return CloudPlan::Answer(ClusterReadFailure(groups.status(), where));
      }
      // Never the group the parent deploy made, nor a newer one.
      std::set<std::string> protect;
      int64_t protect_from = -1;
      if (parent.contains(region) && parent[region].is_array()) {
        for (const Json& n : parent[region]) {
          if (!n.is_string()) continue;
          protect.insert(n.get<std::string>());
          for (const Json& g : *groups) {
            if (String(g, "name") == n.get<std::string>() &&
                (protect_from < 0 || CreatedMs(g) < protect_from)) {
              protect_from = CreatedMs(g);
            }
          }
        }
      }
      for (const Json& g : Select(op_, ctx, *groups)) {
        const std::string name = String(g, "name");
        if (protect.count(name) ||
            (protect_from >= 0 && CreatedMs(g) >= protect_from)) {
          continue;
        }
        Json desc = GroupDescription(name, region);
        if (op_ == ClusterOp::kScaleDown) {
          desc["capacity"] = {{"min", 0}, {"max", 0}, {"desired", 0}};
        }
        ops.push_back(Operation(OpName(op_), where, desc));
        if (!affected[region].is_array()) affected[region] = Json::array();
        affected[region].push_back(name);
      }
    }
    CloudPlan plan;
    plan.ops = std::move(ops);
    plan.context["deploy.server.groups"] = affected;
    return plan;
  }

 private:
  ClusterOp op_;
};

// RUNNING until every group in "deploy.server.groups" shows the change.
class WaitForClusterTask : public CloudTask {
 public:
  WaitForClusterTask(CloudDriver* cd, ClusterOp op) : CloudTask(cd), op_(op) {}
  int64_t BackoffMs(const Json&) const override { return 1000; }
  int64_t TimeoutMs(const Json&) const override { return 30 * kMinuteMs; }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location where) override {
    const Json& ctx = in.context;
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
    if (!Bool(ctx, "allowDeleteActive") ||
        !Bool(ctx, "runDisableClusterStep", true)) {
      return {};
    }
    SyntheticStage s;
    s.type = "disableCluster";
    s.name = "disableCluster";
    s.context = WhereKeys(ctx);
    s.context["remainingEnabledServerGroups"] = Int(ctx, "shrinkToSize", 1);
    s.context["preferLargerOverNewer"] = Bool(ctx, "retainLargerOverNewer");
    return {s};
  }
};

// -------------------------------------------------------- findImage

// The image a server group was deployed from: {imageId, name}, from its
// "imageId", "image" ({imageId, name|imageName} or a string) or
// launchConfig.imageId; both empty for a group running a raw command.
struct GroupImage {
  std::string id;
  std::string name;
  bool empty() const { return id.empty() && name.empty(); }
};

GroupImage GroupImageOf(const Json& sg) {
  GroupImage g;
  g.id = String(sg, "imageId");
  if (sg.contains("image")) {
    const Json& i = sg["image"];
    if (i.is_string()) {
      g.name = i.get<std::string>();
    } else if (i.is_object()) {
      if (g.id.empty()) g.id = String(i, "imageId");
      g.name = spinnaker::FirstString(i, {"name", "imageName"});
    }
  }
  if (g.id.empty()) g.id = String(Object(sg, "launchConfig"), "imageId");
  return g;
}

// What a local server group runs, for comparing groups: its image id (or
// name) when it was deployed from an image, else its launch command joined
// by spaces.
std::string ImageOf(const Json& sg) {
  const GroupImage image = GroupImageOf(sg);
  if (!image.id.empty()) return image.id;
  if (!image.name.empty()) return image.name;
  const Json lc = Object(sg, "launchConfig");
  std::vector<std::string> argv;
  if (lc.contains("command") && lc["command"].is_array()) {
    for (const Json& a : lc["command"]) {
      argv.push_back(a.is_string() ? a.get<std::string>() : Dump(a));
    }
  }
  return absl::StrJoin(argv, " ");
}

// Deployment details per region: {cloudProvider, account, region,
// serverGroupName, sourceServerGroup, image, command[, buildInfo]}, plus
// imageId, imageName and ami when the group was deployed from an image (a
// deploy downstream then deploys that image; else it runs the command).
class FindImageTask : public CloudTask {
 public:
  using CloudTask::CloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location where) override {
    const Json& ctx = in.context;
    if (where.account.empty() || where.cluster.empty()) {
      return TaskResult::Terminal(
          "findImageFromCluster needs 'credentials' and 'cluster'");
    }
    const bool only_enabled = Bool(ctx, "onlyEnabled", true);
    std::string strategy =
        absl::AsciiStrToUpper(String(ctx, "selectionStrategy"));
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
      if (!groups.ok()) return ClusterReadFailure(groups.status(), where);
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
      const Json lc = Object(*pick, "launchConfig");
      Json d = {
          {"cloudProvider", where.cloud_provider},
          {"account", where.account},
          {"region", region},
          {"serverGroupName", String(*pick, "name")},
          {"sourceServerGroup", String(*pick, "name")},
          {"image", ImageOf(*pick)},
          {"command", lc.contains("command") ? lc["command"] : Json::array()}};
      const GroupImage image = GroupImageOf(*pick);
      if (!image.empty()) {
        d["imageId"] = image.id.empty() ? image.name : image.id;
        d["imageName"] = image.name;
        d["ami"] = image.name.empty() ? image.id : image.name;
      }
      if (pick->contains("buildInfo")) d["buildInfo"] = (*pick)["buildInfo"];
      details.push_back(std::move(d));
    }
    TaskResult r;
    r.context["amiDetails"] = details;
    r.context["deploymentDetails"] = details;
    r.outputs["deploymentDetails"] = details;
    // One region's image is the stage's, as for a bake.
    if (details.size() == 1 && details[0].contains("imageId")) {
      for (const char* k : {"imageId", "imageName", "ami"}) {
        r.context[k] = details[0][k];
      }
    }
    return r;
  }
};

// ------------------------------------------------------ findImageFromTags

// The newest image of `packageName` carrying every one of `tags`, per
// region, searched through clouddriver: deploymentDetails (imageId,
// imageName, ami, region, cloudProvider, package, tags, jenkins) and image
// artifacts of type "<cloudProvider>/image".
class FindImageFromTagsTask : public CloudTask {
 public:
  using CloudTask::CloudTask;
  int64_t TimeoutMs(const Json&) const override { return 10 * kMinuteMs; }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location where) override {
    const Json& ctx = in.context;
    const std::string package = String(ctx, "packageName");
    if (package.empty()) {
      return TaskResult::Terminal("findImageFromTags needs 'packageName'");
    }
    std::map<std::string, std::string> tags;
    const Json given = Object(ctx, "tags");
    for (auto it = given.begin(); it != given.end(); ++it) {
      if (it->is_null()) continue;
      tags[it.key()] = it->is_string() ? it->get<std::string>() : Dump(*it);
    }
    std::string provider = where.cloud_provider;
    if (!String(ctx, "cloudProviderType").empty() &&
        String(ctx, "cloudProvider").empty()) {
      provider = String(ctx, "cloudProviderType");
    }
    Json details = Json::array();
    Json artifacts = Json::array();
    for (const std::string& region : where.regions) {
      absl::StatusOr<std::vector<Json>> images =
          cd_->FindImages(provider, package, where.account, region, tags);
      if (!images.ok()) {
        return FromError(images.status(),
                         absl::StrCat("searching images of ", package));
      }
      const Json* newest = nullptr;
      for (const Json& i : *images) {
        if (!OfPackage(i, package)) continue;
        if (newest == nullptr ||
            Int(i, "createdAt") > Int(*newest, "createdAt")) {
          newest = &i;
        }
      }
      if (newest == nullptr) {
        return TaskResult::Terminal(absl::StrCat(
            "no image found for package '", package, "'",
            tags.empty() ? "" : absl::StrCat(" with tags ", Dump(given)),
            " in region ", region, " (cloud provider ", provider, ")"));
      }
      const std::string id = String(*newest, "imageId");
      const std::string name = String(*newest, "imageName");
      const Json image_tags = Object(*newest, "tags");
      Json d = {{"imageId", id.empty() ? name : id},
                {"imageName", name},
                {"ami", name.empty() ? id : name},
                {"region", region},
                {"cloudProvider", provider},
                {"package", package},
                {"tags", image_tags}};
      if (!String(image_tags, "job").empty()) {
        d["jenkins"] = {{"name", String(image_tags, "job")},
                        {"number", String(image_tags, "build_number")},
                        {"host", String(image_tags, "build_host")}};
      }
      details.push_back(d);
      Json metadata = {{"createdAt", Int(*newest, "createdAt")}};
      if (!image_tags.empty()) metadata["tags"] = image_tags;
      artifacts.push_back({{"type", absl::StrCat(provider, "/image")},
                           {"name", name},
                           {"reference", id.empty() ? name : id},
                           {"location", region},
                           {"metadata", std::move(metadata)}});
    }
    TaskResult r;
    r.context["amiDetails"] = details;
    r.context["deploymentDetails"] = details;
    r.context["artifacts"] = artifacts;
    r.outputs["deploymentDetails"] = details;
    r.outputs["artifacts"] = artifacts;
    return r;
  }

 private:
  // An image of `package` (not of "hello-world" when looking for "hello"):
  // its "package" tag, else its "appversion" tag ("<package>-<version>...")
  // says so; an image with neither matched by name.
  static bool OfPackage(const Json& image, const std::string& package) {
    const Json tags = Object(image, "tags");
    if (!String(tags, "package").empty()) {
      return String(tags, "package") == package;
    }
    const std::string appversion = String(tags, "appversion");
    if (!appversion.empty()) {
      return absl::StartsWith(appversion, absl::StrCat(package, "-")) &&
             appversion.size() > package.size() + 1 &&
             absl::ascii_isdigit(
                 static_cast<unsigned char>(appversion[package.size() + 1]));
    }
    return true;
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
  // The precondition's own "context" names the cluster.
  Location Where(const TaskInput& in) const override {
    return LocationOf(Object(in.context, "context"), in.execution);
  }
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location where) override {
    const Json pctx = Object(in.context, "context");
    if (where.account.empty() || where.cluster.empty()) {
      return TaskResult::Terminal(
          "a clusterSize precondition needs 'credentials' and 'cluster'");
    }
    std::string op = String(pctx, "comparison");
    if (op.empty()) op = "==";
    const int64_t expected = Int(pctx, "expected", 1);
    const bool only_enabled = Bool(pctx, "onlyEnabledServerGroups");
    std::vector<std::string> failures;
    Json actual = Json::object();
    for (const std::string& region : where.regions) {
      absl::StatusOr<std::vector<Json>> groups =
          ClusterGroups(cd_, where, region);
      if (!groups.ok()) return ClusterReadFailure(groups.status(), where);
      std::vector<std::string> names;
      for (const Json& g : *groups) {
        if (!only_enabled || !IsDisabled(g)) names.push_back(String(g, "name"));
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
  r->AddSimpleStage("disableCluster", {"disableCluster", "monitorKatoTask",
                                       "waitForClusterDisable"});
  r->AddTask("disableCluster",
             std::make_shared<ClusterOpTask>(cd, ClusterOp::kDisable));
  r->AddTask("waitForClusterDisable",
             std::make_shared<WaitForClusterTask>(cd, ClusterOp::kDisable));
  r->AddSimpleStage("scaleDownCluster", {"scaleDownCluster", "monitorKatoTask",
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
  auto find = std::make_shared<SimpleStage>(
      std::vector<std::string>{"findImageFromCluster"});
  r->AddStage("findImageFromCluster", find);
  r->AddStage("findImage", find);
  r->AddTask("findImageFromCluster", std::make_shared<FindImageTask>(cd));
  r->AddSimpleStage("findImageFromTags", {"findImageFromTags"});
  r->AddTask("findImageFromTags", std::make_shared<FindImageFromTagsTask>(cd));
  r->AddTask("checkClusterSize", std::make_shared<ClusterSizeTask>(cd));
}

}  // namespace gennaker::orca::cloud
