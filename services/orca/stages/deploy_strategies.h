// Spinnaker's deployment strategies as plans of synthetic stages around a
// createServerGroup stage: none, highlander, redblack, rollingredblack and
// custom. Pure functions over the stage context, so each strategy's plan is
// unit-tested apart from the cloud that executes it.
#ifndef GENNAKER_SERVICES_ORCA_STAGES_DEPLOY_STRATEGIES_H_
#define GENNAKER_SERVICES_ORCA_STAGES_DEPLOY_STRATEGIES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/orca/engine/registry.h"

namespace gennaker::orca {

// The strategy key, lower-cased; "" (none) when missing or unknown.
std::string StrategyName(const Json& context);

// Context changes to apply before the server group is created (rolling
// red/black starts the new group at 0 and remembers the wanted capacity).
Json StrategyContextChanges(const Json& context);

// The after-stages of the strategy, in order (each after the previous one).
// `source` is the server group being replaced ("" when the cluster is new).
// INVALID_ARGUMENT for malformed strategy settings (e.g. targetPercentages
// outside 1..100).
absl::StatusOr<std::vector<SyntheticStage>> StrategyAfterStages(
    const Json& context, const std::string& source);

// The on-failure stages (rollback.onFailure): `created` is the server group
// the deploy made ("" when none was made); `failed_while_launching` says
// whether one of the stage's own tasks failed.
std::vector<SyntheticStage> RollbackStages(const Json& context,
                                           const std::string& created,
                                           bool failed_while_launching);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_STAGES_DEPLOY_STRATEGIES_H_
