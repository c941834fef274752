// Turns a pipeline config plus a trigger (or an ad-hoc task's jobs) into a new
// execution document in Spinnaker's shape, validating it first: a malformed
// config or trigger, or a missing required parameter, is INVALID_ARGUMENT; a
// disabled pipeline FAILED_PRECONDITION. Nothing is stored here.
#ifndef GENNAKER_SERVICES_ORCA_LAUNCHER_H_
#define GENNAKER_SERVICES_ORCA_LAUNCHER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "services/orca/engine/model.h"

namespace gennaker::orca {

struct LaunchOptions {
  std::string execution_id;  // empty: a new ULID
  std::string user;          // authenticated user ("" = anonymous)
  std::string origin;        // "api", "deck", ... ("" = "api")
  int64_t now_ms = 0;
};

// A PIPELINE execution of `config` (front50's pipeline JSON). The trigger
// gets type (default "manual"), user and parameters (parameterConfig
// defaults filled in).
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
