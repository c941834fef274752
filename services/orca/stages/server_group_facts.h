// Facts about a server group read from clouddriver (Spinnaker's JSON shape):
// whether it is disabled, when it was made, its instances, capacity and
// health, and how many healthy instances a deploy or resize waits for.
// Internal to the stage files.
#ifndef GENNAKER_SERVICES_ORCA_STAGES_SERVER_GROUP_FACTS_H_
#define GENNAKER_SERVICES_ORCA_STAGES_SERVER_GROUP_FACTS_H_

#include <cstdint>
#include <string>

#include "services/orca/engine/model.h"

namespace gennaker::orca::cloud {

bool IsDisabled(const Json& sg);
int64_t CreatedMs(const Json& sg);
int InstanceCount(const Json& sg);
Json CapacityOf(const Json& sg);  // {min, max, desired}, zeros when absent
bool Pinned(const Json& capacity);
// Instances counted healthy (Spinnaker's rules): with an explicit empty
// interestingHealthProviderNames every instance; else an instance whose
// (filtered) health has an Up and nothing Down, OutOfService, Starting or
// Draining (a platform health blocks only when Down); instances without
// health entries count by healthState.
int HealthyCount(const Json& sg, const Json& context);
// "2 Up, 1 Down", or "no instances".
std::string HealthSummary(const Json& sg);

// The number of Up instances a server group must reach (Spinnaker's rules):
// its desired capacity, the stage's configured one when either is pinned,
// scaled by targetHealthyDeployPercentage (or desiredPercentage).
int64_t TargetDesired(const Json& ctx, const Json& sg);

}  // namespace gennaker::orca::cloud

#endif  // GENNAKER_SERVICES_ORCA_STAGES_SERVER_GROUP_FACTS_H_
