// The stage types orca ships with: wait, manualJudgment, checkPreconditions,
// evaluateVariables, restrictExecutionDuringTimeWindow (synthetic), pipeline
// (child pipelines), webhook, the orchestrations spin and Deck send
// (createApplication, updateApplication, deleteApplication, upsertProject,
// deleteProject), and the stages acting through clouddriver (deploy,
// server-group and cluster stages, rollbacks, findImageFromCluster, load
// balancer / security group / instance orchestrations). The bake stage
// (through rosco) registers separately: RegisterBakeStages.
#ifndef GENNAKER_SERVICES_ORCA_STAGES_BUILTIN_STAGES_H_
#define GENNAKER_SERVICES_ORCA_STAGES_BUILTIN_STAGES_H_

#include <string>
#include <vector>

#include "services/orca/artifacts.h"
#include "services/orca/engine/registry.h"

namespace gennaker::orca {

class CloudDriver;
class Front50;
class Rosco;
}  // namespace gennaker::orca

namespace gennaker::http {
class OutboundClient;
}  // namespace gennaker::http

namespace gennaker::fiat {
class Authorizer;
}  // namespace gennaker::fiat

namespace gennaker::orca {

struct StageDeps {
  Front50* front50 = nullptr;
  // Clouddriver; null when orca runs without one (its stages then fail with
  // a message saying so).
  CloudDriver* clouddriver = nullptr;
  // Rosco; null when orca runs without one (bake stages then fail with a
  // message saying so).
  Rosco* rosco = nullptr;
  // Checks what application jobs and child pipelines may do, as the
  // execution's user (CurrentCallContext().user while a task runs); null or
  // disabled: no checks.
  fiat::Authorizer* authorizer = nullptr;
  // The last execution's artifacts of a child pipeline's config, for its
  // usePriorArtifact expected artifacts (scoped to the child config's
  // application); empty: a child has no prior execution.
  PriorArtifacts prior_artifacts;
  // Header sent with every webhook call: "<execution>:<stage>:<task>", the
  // same on every delivery of that call, so receivers can de-duplicate.
  std::string idempotency_header = "X-Gennaker-Idempotency-Key";
  // The outbound policy every webhook call (and its status polls) goes
  // through; without one, webhook stages fail saying so.
  const http::OutboundClient* outbound = nullptr;
  // Attempts of a webhook call answering 5xx / failing to connect.
  int webhook_max_attempts = 10;
  // Upper bound of one outside call (a webhook's webhookTimeoutMs is capped
  // to it): it must end well before the engine's lease does.
  int max_call_ms = 30000;
};

void RegisterBuiltinStages(Registry* registry, const StageDeps& deps);

// bake (one "Bake in <region>" child per region: createBake, monitorBake,
// completedBake; the parent collects deploymentDetails), through deps.rosco.
void RegisterBakeStages(Registry* registry, const StageDeps& deps);

// Internal to the stage files.
void RegisterWebhookStage(Registry* registry, const StageDeps& deps);
void RegisterPipelineStage(Registry* registry, const StageDeps& deps);
namespace cloud {
void RegisterCloudStages(Registry* registry, const StageDeps& deps);
void RegisterServerGroupStages(Registry* registry, const StageDeps& deps);
void RegisterClusterStages(Registry* registry, const StageDeps& deps);
void RegisterRollbackStages(Registry* registry, const StageDeps& deps);
}  // namespace cloud
// #deployedServerGroups.
void RegisterDeployExpressions(Registry* registry);

// The stage itself, then its upstream stages (with their synthetic stages)
// and parents, transitively, nearest first (Spinnaker's stage.ancestors()).
// `stage` may be a copy of a stage of `execution`; the others point into
// `execution`.
std::vector<const Json*> StageAncestors(const Json& execution,
                                        const Json& stage);

// A value read from JSON by a "$.a.b[0]" path (the subset of JSONPath webhook
// monitors use); nullptr when absent.
Json JsonPathGet(const Json& root, const std::string& path);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_STAGES_BUILTIN_STAGES_H_
