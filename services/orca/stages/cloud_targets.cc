#include "services/orca/stages/cloud_targets.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/spinnaker/targets.h"
#include "services/orca/stages/server_group_facts.h"

namespace gennaker::orca::cloud {

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
    std::string r = String(sg, "region");
    if (!r.empty() && r != region) continue;
    out.push_back(sg);
  }
  std::stable_sort(out.begin(), out.end(), [](const Json& a, const Json& b) {
    if (CreatedMs(a) != CreatedMs(b)) return CreatedMs(a) > CreatedMs(b);
    return String(a, "name") > String(b, "name");
  });
  return out;
}

TaskResult ClusterReadFailure(const absl::Status& s, const Location& where) {
  return FromError(s, absl::StrCat("reading cluster ", where.cluster));
}

TaskResult TargetFailure(const absl::Status& s) {
  return FromError(s, "finding the server group");
}

absl::StatusOr<Json> ResolveTarget(CloudDriver* cd, const Json& ctx,
                                   const Location& where,
                                   const std::string& region) {
  std::string name = String(ctx, "serverGroupName");
  if (name.empty()) name = String(ctx, "asgName");
  if (!name.empty()) return cd->GetServerGroup(where.account, region, name);
  if (String(ctx, "target").empty()) {
    return absl::InvalidArgumentError(
        "the stage needs serverGroupName or a target (current_asg_dynamic, "
        "ancestor_asg_dynamic, oldest_asg_dynamic, largest_asg_dynamic)");
  }
  std::optional<spinnaker::Target> target =
      spinnaker::ParseTarget(String(ctx, "target"));
  if (where.cluster.empty()) {
    return absl::InvalidArgumentError("the stage names no cluster");
  }
  if (!target.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown target '", String(ctx, "target"), "'"));
  }
  return cd->TargetServerGroup(where.application, where.account, where.cluster,
                               where.cloud_provider, region, *target,
                               Bool(ctx, "onlyEnabled"));
}

}  // namespace gennaker::orca::cloud
