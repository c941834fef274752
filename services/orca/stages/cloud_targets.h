// Which server groups a stage acts on: a cluster's groups in a region, and
// the one server group a stage targets (by name, or by a dynamic target that
// clouddriver resolves).
// Internal to the stage files.
#ifndef GENNAKER_SERVICES_ORCA_STAGES_CLOUD_TARGETS_H_
#define GENNAKER_SERVICES_ORCA_STAGES_CLOUD_TARGETS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/orca/clouddriver_client.h"
#include "services/orca/stages/cloud_common.h"
#include "services/orca/stages/cloud_submit.h"

namespace gennaker::orca::cloud {

// The cluster's server groups in `region`, newest first (empty when the
// cluster does not exist).
absl::StatusOr<std::vector<Json>> ClusterGroups(CloudDriver* cd,
                                                const Location& where,
                                                const std::string& region);

// A failed read of the stage's cluster as the task's answer (see FromError).
TaskResult ClusterReadFailure(const absl::Status& s, const Location& where);

// The server group a stage targets: serverGroupName / asgName, else the
// dynamic `target` (current_asg_dynamic, ancestor_asg_dynamic,
// oldest_asg_dynamic, largest_asg_dynamic, and the other names
// spinnaker::ParseTarget accepts) in the cluster, resolved by clouddriver
// (onlyEnabled: among enabled groups). NOT_FOUND when there is none;
// INVALID_ARGUMENT for a missing or unknown target or a missing cluster.
absl::StatusOr<Json> ResolveTarget(CloudDriver* cd, const Json& context,
                                   const Location& where,
                                   const std::string& region);
// A target that could not be resolved as the task's answer (FromError).
TaskResult TargetFailure(const absl::Status& s);

}  // namespace gennaker::orca::cloud

#endif  // GENNAKER_SERVICES_ORCA_STAGES_CLOUD_TARGETS_H_
