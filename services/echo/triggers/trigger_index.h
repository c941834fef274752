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
// disabled; a trigger's `type` is compared ignoring case; a trigger missing
// its key fields, or of the wrong JSON types, is skipped when the index is
// built). Regexes are compiled once, at index build, with RE2 (Java's syntax
// minus backreferences and lookaround); one that does not compile makes its
// trigger never match (logged once).
//   git      event type "git": source, project (= repoProject) and slug equal
//            ignoring case; branch empty, equal to the pushed branch, or a
//            regex fully matching it; events[] empty or containing the
//            action; signature (CheckGitSignature) with the trigger's
//            secret, else the shared secret: kValid or kNotNeeded match,
//            anything else does not (a signed request with no secret
//            configured is refused, as Spinnaker does). The signature is
//            checked only for events with a "rawContent" member: webhook
//            intake (BuildWebhookEvent), the only path from outside, always
//            sets it (to "" for an empty body); a git event without it comes
//            from an internal, authenticated caller (igor's git poller
//            through PostEvent), unsigned by nature, and matches triggers
//            with secrets too.
//   webhook  event type "webhook" (ignoring case): trigger.source equals
//            details.source exactly; payloadConstraints pass against the
//            event's payload: each key present at the top level (not null)
//            with its value (toString of scalars) containing a match of the
//            constraint's regex (find); a key that is not at the top level is
//            a JSON path ("a.b", "$.a[0].b", "a[*].b", "$..b", ['a b']) and
//            passes when any string/number/bool it selects contains a match;
//            a null constraint only requires the key.
//   jenkins, travis, concourse, gitlab-ci, wercker
//            event type "build": master and job (= project.name) equal,
//            lastBuild not building and result SUCCESS, trigger type equal to
//            the event's build type when the event names one
//            (content.type). payloadConstraints are checked against the
//            build's properties, which only igor has: EnrichBuildTrigger
//            does it.
//   docker   event type "docker": the event has a tag; account and
//            repository equal exactly (as Spinnaker compares them; the
//            registry is not part of the key); trigger tag blank: any tag but
//            "latest"; else the trimmed tag is a regex fully matching it.
//   pipeline event type "orca:pipeline:complete" or "orca:pipeline:failed"
//            of a PIPELINE execution: trigger.pipeline equals the execution's
//            pipelineConfigId (trigger.application is not compared, as in
//            orca's DependentPipelineExecutionListener), and status[]
//            contains the execution's status mapped as Spinnaker's
//            (SUCCEEDED successful, CANCELED canceled, SUSPENDED suspended,
//            anything else failed).
//   cron     never matched here (the scheduler fires them).
// Expected artifacts (Spinnaker's ArtifactMatcher.anyArtifactsMatchExpected):
// a trigger with expectedArtifactIds matches only when at least one artifact
// of the event (trigger.artifacts below) matches at least one of the
// pipeline's expectedArtifacts with those ids (matchArtifact's non-empty
// type, name, version, location and reference each equal to, or a regex
// fully matching, the artifact's; embedded/base64 and remote/base64 types
// match each other). Pipeline triggers are not filtered this way: orca
// resolves a downstream pipeline's artifacts itself.
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
  // The pipeline config (front50 JSON) to start, its triggers' secrets
  // removed.
  Json pipeline;
  // The execution's trigger: the configured trigger's fields (without
  // secret) plus what the event adds, as Spinnaker's: git: hash, branch (the
  // pushed one), action, source, project, slug, and for pull requests
  // properties {number, draft, state, title}; build: master, job,
  // buildNumber, link (the build's url), propertyFile (buildInfo/properties
  // are added later from igor: see EnrichBuildTrigger); docker: account,
  // registry, repository, tag, digest; webhook: payload, parameters
  // (content.parameters); pipeline: parentExecution (the whole execution),
  // parentPipelineId (the parent execution's id), parentPipelineName,
  // parentPipelineApplication, parentStatus, correlationId
  // "<parent id>_null_<pipeline id>_<parent startTime>" as orca's,
  // parentPipelineStageId absent, user runAsUser else the parent trigger's
  // user; every type: eventId, type, user (runAsUser or "[anonymous]"),
  // artifacts (content.artifacts and, for builds, lastBuild.artifacts that
  // are Spinnaker artifacts; the docker/image artifact for docker events;
  // the parent's stage output artifacts for pipeline events), and
  // parameters (the trigger's configured parameters, overlaid by the
  // event's).
  Json trigger;
  // Stable per (event, pipeline, trigger): orca's idempotency key.
  // "trigger-" + 32 hex digits of SHA-256(eventId, pipeline id, trigger id or
  // index); an event without eventId uses a digest of the event instead.
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

  // Enabled cron triggers of enabled pipelines: {pipeline, trigger} pairs,
  // in pipeline order; the trigger as configured (secret removed), with a
  // stable id "<pipeline id>-cron-<index>" when it has none.
  struct CronTrigger {
    Json pipeline;
    Json trigger;
  };
  std::vector<CronTrigger> CronTriggers() const;

  // Webhook intake's check, before a git event is stored. True ("a valid
  // signature is required") only when EVERY enabled git trigger on the
  // event's source/project/slug has an effective secret (its own, else the
  // shared one): intake then refuses (401) a request that no candidate secret
  // validates (CheckGitSignature(event, s) == kValid for some s). False when
  // there is no such trigger or at least one has no secret: the event is
  // stored and Match checks each trigger's secret at delivery (an unsigned
  // push then starts only the triggers without a secret).
  // `secrets` (may be null) receives the distinct effective secrets of those
  // triggers (branch and events not considered), whatever is returned.
  bool GitSecretsFor(const Json& event,
                     std::vector<std::string>* secrets) const;

  // Pipelines held (with an id, disabled ones included) and triggers indexed
  // (enabled, well-formed, of enabled pipelines; cron included).
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
// build trigger (types jenkins, travis, ...) with master, job and
// buildNumber; other triggers are left alone. An igor failure is returned
// as igor gave it (the event is retried). When the trigger has
// payloadConstraints, the properties (none without a propertyFile) must
// satisfy them (top-level keys, regex find): otherwise FAILED_PRECONDITION,
// meaning "do not start this pipeline" (not retried).
absl::Status EnrichBuildTrigger(Json& trigger, BuildInfoSource& igor);

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_TRIGGERS_TRIGGER_INDEX_H_
