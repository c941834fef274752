// The jenkins and travis stages (Spinnaker's CIStage): run a CI job through
// igor and wait for it.
//
//   context: master, job, parameters (a map; each value is sent as text after
//   expression evaluation: strings as they are, other values as their JSON),
//   propertyFile, markUnstableAsSuccessful, waitForCompletion (default true).
//   travis: propertyFile defaults to "travis".
//
//   tasks (Type = Jenkins or Travis):
//     start<Type>Job        TriggerBuild, idempotency key
//                           "<execution id>:<stage id>:<stage startTime>";
//                           igor's PENDING is asked again; writes queuedBuild
//     waitFor<Type>JobStart GetQueuedBuild until the build has a number;
//                           writes buildNumber; an item cancelled in the CI
//                           queue ends the stage CANCELED
//     with waitForCompletion:
//     monitor<Type>Job      GetBuild until it is not building; SUCCESS ->
//                           SUCCEEDED, UNSTABLE -> TERMINAL (SUCCEEDED with
//                           markUnstableAsSuccessful), FAILURE -> TERMINAL,
//                           ABORTED -> CANCELED, another result -> keeps
//                           polling; buildInfo goes to the context while it
//                           runs and to the context and outputs at the end
//     getBuildProperties    with a propertyFile: its properties are merged
//                           into the context and outputs, with
//                           propertyFileContents holding them all
//     getBuildArtifacts     the build's artifacts -> outputs.artifacts
//
// Errors: igor or the CI system unreachable (UNAVAILABLE, DEADLINE_EXCEEDED,
// INTERNAL, ...) is retried after the poll interval until the task's timeout
// (start 15 min, queue and monitor 2 h as Spinnaker's; stageTimeoutMs applies
// too); a refusal (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND,
// PERMISSION_DENIED) fails the stage with igor's message. The property and
// artifact reads give up after 5 consecutive transient errors.
//
// A stage that fails after its build started, with a propertyFile, runs an
// after-stage "Try to get properties file" (type getProperties: the
// getBuildProperties task on the same build), as Spinnaker does; the stage
// still ends failed.
//
// Canceling the execution stops the build (StopBuild with the queue item and
// the build number known so far). Without an igor client the stages fail at
// once saying services.igor.address is not set.
#ifndef GENNAKER_SERVICES_ORCA_STAGES_CI_STAGES_H_
#define GENNAKER_SERVICES_ORCA_STAGES_CI_STAGES_H_

#include <cstdint>

#include "services/orca/engine/registry.h"

namespace gennaker::orca {

class Igor;

struct CiStageOptions {
  // Delay between two polls of igor (queue item, build) and before retrying
  // a transient error. Spinnaker polls every 10 s; orca's server uses 2 s so
  // that short builds end promptly. A stage's context may set its own:
  // pollIntervalMs (a Gennaker extension, clamped to 100 ms..10 min); the
  // engine's backoffPeriodMs can only lengthen it.
  int64_t poll_ms = 2000;
};

// Registers the jenkins and travis stages and their tasks. `igor` may be
// null (igor not configured): the stages then fail.
void RegisterCiStages(Registry* registry, Igor* igor,
                      CiStageOptions options = {});

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_STAGES_CI_STAGES_H_
