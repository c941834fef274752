#include "services/orca/stages/cloud_common.h"

#include <set>

#include "absl/strings/match.h"
#include "common/spinnaker/names.h"

namespace gennaker::orca::cloud {

Location LocationOf(const Json& ctx, const Json& execution) {
  Location l;
  l.account = spinnaker::FirstString(ctx, {"credentials", "account"});
  l.cloud_provider = spinnaker::FirstString(ctx, {"cloudProvider", "provider"});
  if (l.cloud_provider.empty()) l.cloud_provider = kDefaultProvider;
  const Json moniker = spinnaker::Object(ctx, "moniker");
  l.application = String(ctx, "application");
  if (l.application.empty()) l.application = String(moniker, "app");
  l.cluster = String(ctx, "cluster");
  if (l.cluster.empty()) l.cluster = String(moniker, "cluster");
  if (l.cluster.empty() && !l.application.empty() &&
      (ctx.contains("stack") || ctx.contains("freeFormDetails"))) {
    l.cluster = spinnaker::FormatClusterName(
        l.application, String(ctx, "stack"), String(ctx, "freeFormDetails"));
  }
  std::string sg = spinnaker::FirstString(ctx, {"serverGroupName", "asgName"});
  if (l.cluster.empty() && !sg.empty())
    l.cluster = spinnaker::ClusterOfServerGroup(sg);
  if (l.application.empty() && !l.cluster.empty()) {
    l.application = spinnaker::AppOfName(l.cluster);
  }
  if (l.application.empty()) l.application = String(execution, "application");
  if (ctx.contains("regions") && ctx["regions"].is_array()) {
    for (const Json& r : ctx["regions"]) {
      if (r.is_string() && !r.get<std::string>().empty()) {
        l.regions.push_back(r.get<std::string>());
      }
    }
  }
  if (l.regions.empty() && !String(ctx, "region").empty()) {
    l.regions.push_back(String(ctx, "region"));
  }
  if (l.regions.empty() && ctx.contains("availabilityZones") &&
      ctx["availabilityZones"].is_object()) {
    for (auto it = ctx["availabilityZones"].begin();
         it != ctx["availabilityZones"].end(); ++it) {
      l.regions.push_back(it.key());
    }
  }
  if (l.regions.empty()) l.regions.push_back(kDefaultRegion);
  return l;
}

bool IsOrcaKey(const std::string& k) {
  static const std::set<std::string>* keys = new std::set<std::string>{
      "type",
      "refId",
      "requisiteStageRefIds",
      "stageEnabled",
      "stageTimeoutMs",
      "failPipeline",
      "continuePipeline",
      "completeOtherBranchesThenFail",
      "failOnFailedExpressions",
      "restrictExecutionDuringTimeWindow",
      "restrictedExecutionWindow",
      "skipRemainingWait",
      "expressionEvaluationSummary",
      "exception",
      "restartDetails",
      "notifications",
      "sendNotifications",
      "comments",
      "user",
      "strategy",
      "rollback",
      "maxRemainingAsgs",
      "scaleDown",
      "allowScaleDownActive",
      "allowDeleteActive",
      "delayBeforeCleanup",
      "delayBeforeDisableSec",
      "delayBeforeScaleDownSec",
      "targetPercentages",
      "pipelineBeforeCleanup",
      "strategyApplication",
      "strategyPipeline",
      "savedCapacity",
      "useSourceCapacity",
      "preferSourceCapacity",
      "interestingHealthProviderNames",
      "waitForUpInstancesTimeoutMs",
      "waitForCapacityMatchTimeoutMs",
      "lastClouddriverError",
      "serverGroupName",
      "provider",
      "source",
  };
  return keys->count(k) > 0 || absl::StartsWith(k, "kato.") ||
         absl::StartsWith(k, "deploy.");
}

Json DescriptionFrom(const Json& ctx) {
  Json out = Json::object();
  if (!ctx.is_object()) return out;
  for (auto it = ctx.begin(); it != ctx.end(); ++it) {
    if (!IsOrcaKey(it.key())) out[it.key()] = it.value();
  }
  return out;
}

std::pair<std::string, std::string> FirstDeployed(const Json& ctx) {
  if (!ctx.contains("deploy.server.groups") ||
      !ctx["deploy.server.groups"].is_object()) {
    return {};
  }
  for (auto it = ctx["deploy.server.groups"].begin();
       it != ctx["deploy.server.groups"].end(); ++it) {
    if (it->is_array() && !it->empty() && (*it)[0].is_string()) {
      return {(*it)[0].get<std::string>(), it.key()};
    }
  }
  return {};
}

std::string SourceName(const Json& ctx) {
  const Json source = spinnaker::Object(ctx, "source");
  std::string name = String(source, "serverGroupName");
  return name.empty() ? String(source, "asgName") : name;
}

Json GroupDescription(const std::string& name, const std::string& region) {
  return {{"serverGroupName", name}, {"asgName", name}, {"region", region}};
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

}  // namespace gennaker::orca::cloud
