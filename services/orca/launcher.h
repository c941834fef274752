// Turns a pipeline config plus a trigger (or an ad-hoc task's jobs) into a new
// execution document in Spinnaker's shape, validating it first: a malformed
// config or trigger, or a missing required parameter, is INVALID_ARGUMENT; a
// disabled pipeline FAILED_PRECONDITION. Nothing is stored here.
#ifndef GENNAKER_SERVICES_ORCA_LAUNCHER_H_
#define GENNAKER_SERVICES_ORCA_LAUNCHER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "services/orca/artifacts.h"
#include "services/orca/engine/model.h"

namespace gennaker::orca {

class Front50;

struct LaunchOptions {
  std::string execution_id;  // empty: a new ULID
  std::string user;          // authenticated user ("" = anonymous)
  std::string origin;        // "api", "deck", ... ("" = "api")
  int64_t now_ms = 0;
  // Where MPT v2 templated configs find their templates; null refuses them.
  Front50* front50 = nullptr;
  // The artifacts of the config's last execution, for expected artifacts
  // with usePriorArtifact (services/orca/artifacts.h); empty: none.
  PriorArtifacts prior_artifacts;
  // False for a plan: as Spinnaker, a plan does not resolve artifacts (the
  // trigger's are kept as given, nothing is bound or refused).
  bool resolve_artifacts = true;
};

// A PIPELINE execution of `config` (front50's pipeline JSON). The trigger
// gets type (default "manual"), user and parameters (parameterConfig
// defaults filled in). A templated config (MPT v2) is resolved against its
// template first (services/orca/templates/v2_template.h).
absl::StatusOr<Json> BuildPipelineExecution(const Json& config, Json trigger,
                                            const LaunchOptions& options);

// An ORCHESTRATION running `jobs` (stage configs, run one after another).
absl::StatusOr<Json> BuildOrchestration(const std::string& application,
                                        const std::string& description,
                                        const Json& jobs, Json trigger,
                                        const LaunchOptions& options);

// The parameters a run gets: supplied values over parameterConfig defaults.
// INVALID_ARGUMENT when a required one has no value.
absl::StatusOr<Json> ResolveParameters(const Json& config,
                                       const Json& supplied);

// The first message of a new execution.
Outgoing StartMessage(const Json& execution);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_LAUNCHER_H_
