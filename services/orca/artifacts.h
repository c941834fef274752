// Spinnaker's artifact model where a pipeline needs it: the artifacts a run's
// trigger brings, the pipeline's expectedArtifacts bound to them at start, and
// the lookups stages and expressions make afterwards.
//
// Contract (what other parts of orca rely on):
//
// * An artifact is a JSON object in kork's shape: {type, name, version,
//   location, reference, artifactAccount, metadata, provenance, ...}; fields
//   are kept as given (an embedded/base64 artifact keeps its base64
//   `reference`, an http/file one its URL).
// * An expected artifact is {id, displayName, matchArtifact, usePriorArtifact,
//   useDefaultArtifact, defaultArtifact, boundArtifact}.
// * After ResolveTriggerArtifacts (run by the launcher for every PIPELINE
//   execution, before anything is stored), the trigger holds
//     artifacts                  received artifacts plus every bound one
//                                (no duplicates, received first);
//     expectedArtifacts          the expected artifacts that were resolved;
//     resolvedExpectedArtifacts  the same list: each entry is the pipeline's
//                                expected artifact plus `boundArtifact`.
//   Which expected artifacts are resolved, as Spinnaker's
//   ArtifactUtils.resolveArtifacts does: those whose id is listed in the
//   trigger's `expectedArtifactIds` (echo copies it from the configured
//   trigger; Deck's manual run sends the ids of the trigger it runs as), and
//   those with useDefaultArtifact or usePriorArtifact. So a trigger (e.g. a
//   plain POST /pipelines/{app}/{name}) without ids does not bind, nor
//   refuse, an expected artifact that has neither flag.
// * Binding, for each such expected artifact (ArtifactResolver): an existing
//   boundArtifact stays; else exactly one received artifact must match
//   (several: refused); else, with usePriorArtifact, exactly one artifact of
//   the config's last execution; else, with useDefaultArtifact, the
//   defaultArtifact; else the run is refused. Refusals are INVALID_ARGUMENT
//   naming the expected artifact (displayName and id).
// * Matching (kork ExpectedArtifact.matches): each non-empty field among type,
//   name, version, location and reference of matchArtifact must equal the
//   artifact's field or be a regex (RE2) that fully matches it; an absent
//   field of the artifact does not match. Types embedded/base64 and
//   remote/base64 match each other (as echo matches them). A matchArtifact
//   field that is neither equal nor a valid regex refuses the run.
// * Received artifacts: trigger.artifacts, normalized (non-objects dropped)
//   and completed from the trigger's own fields as Spinnaker's triggers carry
//   them: a docker trigger (account, repository and tag) gets
//   {type:"docker/image", name:"<registry>/<repository>" (just repository
//   without registry), version:tag, reference:"<name>:<tag>"} (what echo
//   sends), unless an artifact with that reference is there; a git trigger
//   (source, project, slug, hash) gets {type:"git/repo",
//   name:"<project>/<slug>", version:hash, reference:"<repository URL>",
//   metadata:{source, branch}} when it carries no git/repo artifact (the URL is
//   https://github.com/..., gitlab.com or bitbucket.org for those sources,
//   else "<source>:<project>/<slug>"). Then the artifacts of a parent
//   execution (trigger.parentExecution: its stages' outputs.artifacts, later
//   stages first, then its trigger's artifacts) are received too.
//   A pipeline config's own `receivedArtifacts` list (Spinnaker reads it
//   too) joins the received artifacts, before the trigger's.
// * usePriorArtifact needs the config's last execution: PriorArtifacts gives
//   AllArtifacts() of it (LaunchOptions::prior_artifacts, set by OrcaApi from
//   its store), looked up within the config's own application. When there is
//   none (no provider, a config without id or application, or a config that
//   never ran in its application), such an expected artifact falls through to
//   its default or is refused with a message saying there is no prior
//   execution.
// * Stages: BoundArtifactForStage is what a stage calls for an expected
//   artifact id it names (bake's packageArtifactIds, a deploy's
//   imageArtifactId / expectedArtifactId / manifestArtifactId ...), with the
//   inline artifact as fallback (Spinnaker's getBoundArtifactForStage).
//   BindProducedArtifacts is Spinnaker's bindProducedArtifacts task: a stage
//   binds its own expectedArtifacts to what it produced.
#ifndef GENNAKER_SERVICES_ORCA_ARTIFACTS_H_
#define GENNAKER_SERVICES_ORCA_ARTIFACTS_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/orca/engine/model.h"

namespace gennaker::orca {

class Registry;
class Store;

// The artifacts of the last execution of a pipeline config (its application
// and id given), as AllArtifacts() lists them; null when the config never ran
// in that application. The application scopes the lookup: a config naming
// another application's pipeline id must not bind that application's
// artifacts.
using PriorArtifacts = std::function<absl::StatusOr<Json>(
    const std::string& application, const std::string& config_id)>;

// Completes trigger.artifacts as described above (in place). Returns
// INVALID_ARGUMENT when trigger.artifacts is neither null nor a list.
absl::Status NormalizeTriggerArtifacts(Json& trigger);

// Whether `artifact` matches the expected artifact's matchArtifact. An invalid
// regex is INVALID_ARGUMENT.
absl::StatusOr<bool> ArtifactMatches(const Json& expected_artifact,
                                     const Json& artifact);

// Normalizes the trigger and binds `config`'s expectedArtifacts (see above),
// recording the result in `trigger`. `prior` may be empty.
absl::Status ResolveTriggerArtifacts(const Json& config, Json& trigger,
                                     const PriorArtifacts& prior = nullptr);

// Spinnaker's getAllArtifacts: the artifacts of an execution's stages'
// outputs (later stages first), then its trigger's. Stages with refId
// `without_stage_ref` (when not empty) are skipped
// (getArtifactsForPipelineIdWithoutStageRef).
Json AllArtifacts(const Json& execution,
                  std::string_view without_stage_ref = "");

// PriorArtifacts reading the newest execution of the config from `store`, in
// the given application only (an execution of another application is no
// prior execution).
PriorArtifacts PriorArtifactsFromStore(Store* store);

// The artifact bound to expected artifact `expected_artifact_id`: looked up in
// the resolvedExpectedArtifacts of `execution_or_trigger` (an execution: its
// stages' outputs first, then its trigger; or a trigger object). As
// Spinnaker's getBoundArtifactForId, a bound artifact without artifactAccount
// gets the matchArtifact's. NOT_FOUND when there is no such expected
// artifact, or it is unbound.
absl::StatusOr<Json> BoundArtifactById(const Json& execution_or_trigger,
                                       std::string_view expected_artifact_id);

// Spinnaker's getBoundArtifactForStage, for stages: with a non-empty
// `expected_artifact_id`, the artifact bound to it as `stage` sees it: its own
// context.resolvedExpectedArtifacts, then the outputs.resolvedExpectedArtifacts
// of the stage and its ancestors (upstream stages and parents, nearest first),
// then the trigger's (the account filled in as BoundArtifactById does);
// NOT_FOUND when none binds it. With an empty id, `inline_artifact` when it
// is a JSON object (e.g. context.imageArtifact); else INVALID_ARGUMENT.
// `stage` is a stage of `execution` (or a copy of one). The result is as
// stored: a stage processes ${...} in it if it wants them evaluated.
absl::StatusOr<Json> BoundArtifactForStage(
    const Json& execution, const Json& stage,
    std::string_view expected_artifact_id,
    const Json& inline_artifact = nullptr);

// Spinnaker's bindProducedArtifacts task: binds the stage's own
// `expected_artifacts` (context.expectedArtifacts, may be null) to the
// artifacts it `produced` (the first match wins, several are no error), else
// with usePriorArtifact to `prior` (AllArtifacts of the config's last
// execution without this stage's refId; may be null), else the default.
// Returns the outputs to record: {artifacts: the bound artifacts,
// resolvedExpectedArtifacts: the expected artifacts with boundArtifact}, or
// an empty object when there are no expected artifacts. An expected artifact
// that binds nothing is INVALID_ARGUMENT ("Unmatched expected artifact ...").
absl::StatusOr<Json> BindProducedArtifacts(const Json& expected_artifacts,
                                           const Json& produced,
                                           const Json& prior = nullptr);

// Expression functions (execution-aware, the execution is implicit):
//   #triggerResolvedArtifact(name)      the first bound artifact of
//                                        trigger.resolvedExpectedArtifacts
//                                        with that name;
//   #triggerResolvedArtifactByType(type) the same by type;
//   #resolvedArtifacts()                 all those bound artifacts (a list).
// No match is an error ("Unable to locate resolved artifact <x> in trigger
// execution <id>."), which the expression evaluator records as a failed
// expression.
absl::StatusOr<Json> TriggerResolvedArtifact(const Json& execution,
                                             const std::vector<Json>& args);
absl::StatusOr<Json> TriggerResolvedArtifactByType(
    const Json& execution, const std::vector<Json>& args);
absl::StatusOr<Json> ResolvedArtifacts(const Json& execution,
                                       const std::vector<Json>& args);
// Adds the three functions to `registry`'s expression functions.
void RegisterArtifactExpressionFunctions(Registry* registry);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ARTIFACTS_H_
