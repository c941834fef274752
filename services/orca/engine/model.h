// The execution model shared by orca's engine, stores and adapters.
//
// An execution is kept as one JSON document in Spinnaker's wire shape: the
// engine mutates it under the execution's lock and the document is served
// as-is. Engine-private state lives under the key
// kPrivateKey and is removed by PublicView(). Statuses are Spinnaker's names.
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_MODEL_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/status.h"

namespace gennaker::orca {

// orca speaks Spinnaker's vocabulary: its JSON type and field dialect
// (String, Int, Bool, Dump) and its status names and predicates.
using Json = spinnaker::Json;
using spinnaker::Bool;
using spinnaker::Dump;
using spinnaker::Int;
using spinnaker::String;
namespace status = spinnaker::status;
using spinnaker::AllowsDownstream;
using spinnaker::IsComplete;
using spinnaker::IsHalt;
using spinnaker::IsKnownStatus;

// Engine-private keys of an execution (waiting flag, queued restart).
inline constexpr char kPrivateKey[] = "_gennaker";

// One queue message (keiko's kinds). Identical messages share a fingerprint,
// so pushing one twice only moves its delivery time.
struct Message {
  std::string kind;
  std::string execution_id;
  std::string stage_id;
  std::string task_id;
  Json extra = Json::object();  // kind-specific fields (status, user, ...)

  std::string ToJson() const;
  static std::optional<Message> FromJson(absl::string_view text);
};

// A message to push, delivered `delay_ms` after the commit.
struct Outgoing {
  Message message;
  int64_t delay_ms = 0;
};

// Message kinds: the steps of an execution, each handled under the lock of
// its execution (see Engine).
namespace kind {
// Starts the initial stages, or leaves the execution waiting
// (limitConcurrent).
inline constexpr char kStartExecution[] = "startExecution";
// Starts a stage's before-stages, else its first task.
inline constexpr char kStartStage[] = "startStage";
inline constexpr char kStartTask[] = "startTask";
// Runs a task once; a RUNNING result pushes it again after its backoff.
inline constexpr char kRunTask[] = "runTask";
inline constexpr char kCompleteTask[] = "completeTask";
// Runs after-stages or on-failure stages, then starts downstream stages.
inline constexpr char kCompleteStage[] = "completeStage";
// A synthetic stage ended: its parent goes on.
inline constexpr char kContinueParentStage[] = "continueParentStage";
inline constexpr char kCompleteExecution[] = "completeExecution";
inline constexpr char kCancelExecution[] = "cancelExecution";
// Re-runs the RUNNING tasks now (a child pipeline of theirs ended).
inline constexpr char kRescheduleExecution[] = "rescheduleExecution";
// An execution of a limitConcurrent pipeline ended: starts the next ones.
inline constexpr char kStartWaitingExecutions[] = "startWaitingExecutions";
}  // namespace kind

// Stage lookup and DAG helpers over an execution document.
Json* FindStage(Json& execution, absl::string_view stage_id);
const Json* FindStage(const Json& execution, absl::string_view stage_id);
// Top-level stages (no parentStageId) whose refId is in the stage's
// requisiteStageRefIds; for synthetic stages, siblings with the same parent.
std::vector<Json*> Upstream(Json& execution, const Json& stage);
std::vector<Json*> Downstream(Json& execution, const Json& stage);
// Synthetic children of `parent_id` owned as STAGE_BEFORE / STAGE_AFTER.
std::vector<Json*> Children(Json& execution, absl::string_view parent_id,
                            absl::string_view owner);
// The parent of a synthetic stage, or nullptr.
Json* Parent(Json& execution, const Json& stage);
// The top-level ancestor (the stage itself when it has no parent).
Json* TopLevel(Json& execution, Json* stage);

// `status` as the stage's failure status (failPipeline / continuePipeline).
std::string FailureStatus(const Json& stage,
                          const std::string& fallback = status::kTerminal);

// The execution as Spinnaker's orca serializes it: without engine-private
// keys, with Spinnaker's defaults for what the document lacks (null counts as
// missing): execution canceled/limitConcurrent/keepWaitingPipelines false,
// maxConcurrentExecutions 0, stages/notifications/systemNotifications [],
// initialConfig {}; trigger type "manual", user "[anonymous]", parameters {},
// artifacts/notifications/resolvedExpectedArtifacts [] (and expectedArtifacts
// [] for pipelines), rebake/dryRun/strategy false; every stage's context and
// outputs {}, tasks and requisiteStageRefIds []. With `expand` false, stage
// contexts (but context.group), outputs and tasks are emptied as orca's
// unexpanded lists do.
Json PublicView(const Json& execution, bool expand = true);

// How many times stages of the execution were restarted. It is committed
// before anything runs again, so (unlike start times) it identifies a run of a
// stage across redeliveries: outside calls use it in their idempotency keys.
int64_t Restarts(const Json& execution);
// How often the stage `stage_id` or one of its ancestors (parentStageId) was
// restarted: part of idempotency keys of outside calls, so that a restart
// makes new calls while other branches' retries keep their keys.
int64_t StageRestarts(const Json& execution, const std::string& stage_id);

// Clock used by the engine; tests inject a manual one.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
};
class SystemClock : public Clock {
 public:
  int64_t NowMs() const override;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_MODEL_H_
