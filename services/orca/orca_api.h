// The operations behind orca's API, in orca's own terms: starting pipelines
// and orchestrations (finding the config, merging parameters into the
// trigger, building the execution, de-duplicating retried starts), reading,
// listing and deleting executions, and the engine's operations on running
// ones. Adapters (gRPC) only translate their messages to and from these.
//
// Errors are absl statuses: INVALID_ARGUMENT for malformed input, NOT_FOUND
// for unknown ids (and executions of another type than asked),
// FAILED_PRECONDITION for changes the execution's state does not allow.
// A document that makes the engine throw is INTERNAL, never a crash.
//
// Authorization (when the Authorizer is enabled): starting a pipeline or an
// orchestration needs EXECUTE on its application for the caller; judging a
// manualJudgment stage whose context names requiredJudgmentRoles (Deck:
// selectedStageRoles) needs one of them (or admin). Refusals are
// PERMISSION_DENIED with nothing stored or changed; UNAVAILABLE when fiat
// cannot answer. The execution runs as the caller (authentication.user): a
// trigger's runAsUser is honoured through the caller (echo calls as it), never
// on its own. Controlling an execution (cancel, pause, resume, restart a
// stage, update a stage) needs EXECUTE on its application for the caller,
// deleting it WRITE; a stage update may then only patch the judgment and
// skip keys, and never a judgment's roles. What a task's application jobs
// act on is checked against each job's own application.
#ifndef GENNAKER_SERVICES_ORCA_ORCA_API_H_
#define GENNAKER_SERVICES_ORCA_ORCA_API_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/orca/engine/model.h"
#include "services/orca/launcher.h"

namespace gennaker::fiat {
class Authorizer;
}

namespace gennaker::orca {

class Engine;
class Store;
class Front50;

// Where a pipeline to start comes from.
enum class PipelineSource { kNone, kConfig, kConfigId, kName };

struct PipelineStart {
  PipelineSource source = PipelineSource::kNone;
  std::string config_json;         // kConfig: the pipeline config
  std::string pipeline_config_id;  // kConfigId
  std::string pipeline_name;       // kName, with `application`
  // Fills the config's application when it has none.
  std::string application;
  std::string trigger_json;     // "" = {}
  std::string parameters_json;  // merged over trigger.parameters
  std::string execution_id;     // "" = a new id
  std::string origin;
  // De-duplicates starts; "" = the trigger's correlationId.
  std::string idempotency_key;
  bool plan_only = false;
};

struct OrchestrationStart {
  std::string application;
  std::string description;
  std::string jobs_json;  // a JSON list of job (stage) objects
  std::string trigger_json;
  std::string execution_id;
  std::string origin;
  std::string idempotency_key;
};

// The outcome of a start.
struct Started {
  std::string id;
  std::string type;  // PIPELINE / ORCHESTRATION
  std::string application;
  // An earlier start with the same execution id or idempotency key matched.
  bool deduplicated = false;
  // plan_only: the execution as it would run (nothing stored); else null.
  Json planned;
};

struct ListRequest {
  std::string application;
  std::string type;  // "" = PIPELINE unless execution ids are given
  std::vector<std::string> config_ids;
  std::vector<std::string> execution_ids;
  std::vector<std::string> statuses;
  int limit = 0;  // 0 = 10; at most 5000
  int page = 0;   // 1-based; ignored when limits apply per config
  int64_t built_after_ms = 0;
};

// A stage update from the API (manual judgment, skips, context patch).
struct StageUpdate {
  std::string context_patch_json;
  std::string judgment_status;  // "", "continue" or "stop"
  std::string judgment_input;
  bool manual_skip = false;
  bool skip_remaining_wait = false;
};

class OrcaApi {
 public:
  // `authorizer`: fiat::Authorizer::Disabled() when authorization is off.
  OrcaApi(Engine* engine, Store* store, Front50* front50, const Clock* clock,
          std::shared_ptr<fiat::Authorizer> authorizer);

  // `user` is the authenticated caller (or the anonymous user).
  absl::StatusOr<Started> StartPipeline(const PipelineStart& start,
                                        const std::string& user);
  absl::StatusOr<Started> StartOrchestration(const OrchestrationStart& start,
                                             const std::string& user);

  // The execution `id`; NOT_FOUND also when it is not of `type` (when set).
  absl::StatusOr<Json> Get(const std::string& id, const std::string& type);
  absl::StatusOr<std::vector<Json>> List(const ListRequest& request);
  // Only finished executions can be deleted.
  absl::Status Delete(const std::string& id, const std::string& type);

  // The engine's operations; they return the execution's status (or the
  // execution) afterwards.
  absl::StatusOr<std::string> Cancel(const std::string& id,
                                     const std::string& user,
                                     const std::string& reason);
  absl::StatusOr<std::string> Pause(const std::string& id,
                                    const std::string& user);
  absl::StatusOr<std::string> Resume(const std::string& id,
                                     const std::string& user,
                                     bool ignore_current_status);
  absl::StatusOr<Json> RestartStage(const std::string& id,
                                    const std::string& stage_id,
                                    const std::string& user,
                                    const std::string& restart_details_json);
  // `user` is recorded (lastModifiedBy); `caller`, the authenticated
  // identity, must be allowed to judge.
  absl::StatusOr<Json> UpdateStage(const std::string& id,
                                   const std::string& stage_id,
                                   const StageUpdate& update,
                                   const std::string& user,
                                   const std::string& caller);
  // Evaluates `expression` for the stage (or the execution); failures are
  // appended as {expression, description, level}.
  absl::StatusOr<Json> Evaluate(const std::string& id,
                                const std::string& stage_id,
                                const std::string& expression, Json* failures);

  int64_t NowMs() const;

 private:
  // Stores a built execution with its start message; a retried start with
  // the same execution id (same application, type, name and config) or the
  // same correlation id is matched instead.
  absl::StatusOr<Started> Create(const Json& exec,
                                 const std::string& correlation,
                                 const std::string& user);
  absl::StatusOr<std::string> StatusOf(const std::string& id);
  LaunchOptions Options(const std::string& execution_id,
                        const std::string& origin,
                        const std::string& user) const;
  // EXECUTE on `application` for `user`.
  absl::Status CheckExecute(const std::string& user,
                            const std::string& application);
  // What a task's jobs need on `application`: creating an application that
  // front50 does not have needs nothing more (gate asked fiat's
  // AuthorizeCreate); creating over an existing one, updating or deleting it
  // needs WRITE; any other job EXECUTE.
  absl::Status CheckOrchestration(const std::string& user,
                                  const std::string& application,
                                  const Json& jobs);
  // With authorization on, `caller` holds EXECUTE (`write`: WRITE) on the
  // application of execution `id` (NOT_FOUND when there is none).
  absl::Status CheckControl(const std::string& id, const std::string& caller,
                            bool write);
  // `caller` holds one of the roles the manual judgment `stage_id` requires.
  absl::Status CheckJudge(const std::string& id, const std::string& stage_id,
                          const std::string& caller);

  Engine* engine_;
  Store* store_;
  Front50* front50_;
  const Clock* clock_;
  std::shared_ptr<fiat::Authorizer> authorizer_;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ORCA_API_H_
