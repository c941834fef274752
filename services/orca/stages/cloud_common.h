// Where a stage acting through clouddriver acts (account, provider, regions,
// cluster, application) and which of its context keys are orca's own rather
// than part of an operation's description. Submission and monitoring are in
// cloud_submit.h, server-group facts in server_group_facts.h, resolving a
// stage's target server group in cloud_targets.h.
// Internal to the stage files.
#ifndef GENNAKER_SERVICES_ORCA_STAGES_CLOUD_COMMON_H_
#define GENNAKER_SERVICES_ORCA_STAGES_CLOUD_COMMON_H_

#include <string>
#include <utility>
#include <vector>

#include "services/orca/engine/model.h"

namespace gennaker::orca::cloud {

inline constexpr char kDefaultRegion[] = "localhost";
inline constexpr char kDefaultProvider[] = "local";

// Where a stage acts.
struct Location {
  std::string account;               // credentials, else account
  std::string cloud_provider;        // cloudProvider / provider, else "local"
  std::vector<std::string> regions;  // never empty
  std::string cluster;      // cluster name (or moniker.cluster, or built)
  std::string application;  // application, moniker.app, or from the names
  const std::string& region() const { return regions.front(); }
};
Location LocationOf(const Json& context, const Json& execution);

// {serverGroupName, asgName, region}: the server group an operation acts on.
Json GroupDescription(const std::string& name, const std::string& region);

// The keys that say where a stage acts, copied into the stages it plans.
Json WhereKeys(const Json& context);

// Stage-context keys that are orca's own and never part of a description.
bool IsOrcaKey(const std::string& key);
// The context minus orca's keys: the description of infrastructure ops.
Json DescriptionFrom(const Json& context);

// The first server group name of "deploy.server.groups" ({region: [names]})
// and its region; empty when none.
std::pair<std::string, std::string> FirstDeployed(const Json& context);

// The source server group's name recorded in the context ("source").
std::string SourceName(const Json& ctx);

}  // namespace gennaker::orca::cloud

#endif  // GENNAKER_SERVICES_ORCA_STAGES_CLOUD_COMMON_H_
