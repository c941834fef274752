// Trigger matching (Spinnaker's echo-pipelinetriggers): which enabled
// triggers of which enabled pipelines an event starts, and the `trigger`
// object each execution gets.
//
// TriggerIndex is an immutable snapshot of the pipeline configs (front50
// JSON, as ListAllPipelines returns them), indexed by trigger type and key
// fields so that one event is matched against 10,000 pipelines without
// scanning every trigger; echo swaps a new snapshot in when front50 changes.
// Thread-safe (const).
//
// Rules, by trigger type (trigger.enabled must be true and the pipeline not
// disabled; a trigger's `type` is compared ignoring case):
//   git      event type "git": source, project (= repoProject) and slug equal
//            ignoring case; branch empty or a regex fully matching the branch;
//            events[] empty or containing the action; signature: trigger
//            secret or the shared secret must check kValid, no secret and no
//            signature is kNotNeeded (matches), anything else does not match.
//   webhook  any event type but "manual": trigger.type equals details.type
//            ignoring case, trigger.source equals details.source exactly,
//            payloadConstraints pass (each key present in the payload, its
//            value a regex found in the value; non top-level keys as JSON
//            paths).
//   jenkins, travis, concourse, gitlab-ci, wercker
//            event type "build": master and job (= project.name) equal,
//            lastBuild not building and result SUCCESS, trigger type equal to
//            the event's build type when the event names one
//            (content.type), payloadConstraints pass.
//   docker   event type "docker": account equal, repository equal
//            (registry/organization prefixes as Spinnaker compares them), tag
//            empty (any tag) or a regex fully matching the tag.
//   pipeline event type "orca:pipeline:complete" or "orca:pipeline:failed":
//            trigger.application equals the execution's application,
//            trigger.pipeline equals its pipelineConfigId, and status[]
//            contains the execution's status mapped as Spinnaker's
//            (SUCCEEDED successful, CANCELED canceled, SUSPENDED suspended,
//            anything else failed).
//   cron     never matched here (the scheduler fires them).
// A pipeline whose expectedArtifacts a trigger requires
// (trigger.expectedArtifactIds) matches only when every one of them matches
// an artifact of the event (by type and name regex, as Spinnaker's
// ArtifactMatcher).
#ifndef GENNAKER_SERVICES_ECHO_TRIGGERS_TRIGGER_INDEX_H_
#define GENNAKER_SERVICES_ECHO_TRIGGERS_TRIGGER_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/echo/triggers/events.h"

namespace gennaker::echo {

struct MatchOptions {
  // trigger.git.shared-secret: used for git triggers without a secret.
  std::string git_shared_secret;
};

// One pipeline to start.
struct TriggerMatch {
  // The pipeline config (front50 JSON) to start.
  Json pipeline;
  // The execution's trigger: the configured trigger's fields (without
  // secret) plus what the event adds, as Spinnaker's: git: hash, branch,
  // action, source, project, slug; build: master, job, buildNumber,
  // propertyFile (buildInfo/properties are added later from igor: see
  // EnrichBuildTrigger); docker: account, registry, repository, tag,
  // digest; webhook: payload, parameters (content.parameters); pipeline:
  // parentExecution (the whole execution), parentPipelineId,
  // parentPipelineName, parentPipelineApplication, parentStatus,
  // parentPipelineStageId absent; every type: eventId, type, user
  // (runAsUser or "[anonymous]"), artifacts (content.artifacts plus the
  // docker image for docker events), and parameters (the trigger's
  // configured parameters, overlaid by the event's).
  Json trigger;
  // Stable per (event, pipeline, trigger): orca's idempotency key.
  std::string key;
};

class TriggerIndex {
 public:
  // Pipelines: the configs' JSON (each with id, application, name,
  // disabled, triggers[]). Pipelines without an id are skipped.
  TriggerIndex(std::vector<Json> pipelines, MatchOptions options);
  ~TriggerIndex();
  TriggerIndex(const TriggerIndex&) = delete;
  TriggerIndex& operator=(const TriggerIndex&) = delete;

  // The pipelines `event` starts, each once (the first matching trigger of a
  // pipeline wins), in the index's pipeline order.
  std::vector<TriggerMatch> Match(const Json& event) const;

  // Cron triggers of enabled pipelines: {pipeline, trigger} pairs.
  struct CronTrigger {
    Json pipeline;
    Json trigger;
  };
  std::vector<CronTrigger> CronTriggers() const;

  // Whether a git event for source/project/slug has at least one enabled
  // git trigger with a secret (trigger or shared): webhook intake then
  // refuses (401) a request no candidate secret validates.
  // `secrets` receives the candidate secrets.
  bool GitSecretsFor(const Json& event, std::vector<std::string>* secrets) const;

  size_t pipeline_count() const;
  size_t trigger_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The trigger an execution gets when a cron trigger fires (Spinnaker's
// TriggerConverter.toPipeline): type "cron", id, cronExpression, eventId,
// user (runAsUser or "[anonymous]"), parameters.
Json CronExecutionTrigger(const Json& trigger, const std::string& event_id);

// What a build trigger needs from igor.
class BuildInfoSource {
 public:
  virtual ~BuildInfoSource() = default;
  // Spinnaker's GenericBuild JSON of the build (igor GetBuild's build_info).
  virtual absl::StatusOr<Json> BuildInfo(const std::string& master,
                                         const std::string& job,
                                         int64_t number) = 0;
  // The parsed property file (igor GetBuildProperties).
  virtual absl::StatusOr<Json> Properties(const std::string& master,
                                          const std::string& job,
                                          int64_t number,
                                          const std::string& file) = 0;
};

// Adds buildInfo (and properties, when the trigger has a propertyFile) to a
// build trigger (types jenkins, travis, ...); other triggers are left alone.
// An igor failure is returned (the event is retried).
absl::Status EnrichBuildTrigger(Json& trigger, BuildInfoSource& igor);

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_TRIGGERS_TRIGGER_INDEX_H_
