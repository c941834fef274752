// orca's message-driven execution engine (Spinnaker's keiko handlers).
//
// ProcessOne() claims one due message with its execution locked, runs its
// handler, and keeps handling the follow-up messages of the same execution
// that are due at once (start stage -> start task -> run task -> ...) in the
// same transaction, up to a bound; then it commits the new state, the
// acknowledgement and all other follow-up messages together. Every handler
// checks the current state first, so a redelivered message is harmless.
//
// The API operations (cancel, pause, resume, judge/patch, restart) lock the
// execution, change it and push their messages in one transaction too.
//
// Execution and stage events (events.h) are collected while handling and
// handed to EngineOptions::events only after their transaction committed.
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_ENGINE_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/orca/engine/events.h"
#include "services/orca/engine/model.h"
#include "services/orca/engine/registry.h"
#include "services/orca/engine/store.h"

namespace gennaker::orca {

namespace expression {
class FunctionRegistry;
}

// Outside lookups the expression helpers need (#pipelineId, #fromUrl).
class ExpressionServices {
 public:
  virtual ~ExpressionServices() = default;
  // Config id of the pipeline `name` in `application`; NOT_FOUND if none.
  virtual absl::StatusOr<std::string> PipelineId(const std::string& application,
                                                 const std::string& name) = 0;
  // Body of an HTTP GET.
  virtual absl::StatusOr<std::string> FetchUrl(const std::string& url) = 0;
};

// Called for every message claimed from the queue with the time from its
// delivery time to its handler starting (microseconds).
using QueueObserver =
    std::function<void(const std::string& kind, int64_t latency_us)>;

struct EngineOptions {
  // Same-execution messages handled in one transaction at most.
  int max_chain = 200;
  // Handler failures before a message is dead-lettered and its execution
  // marked TERMINAL.
  int max_attempts = 8;
  // Handlings of one message during which the process died (Work::crashes)
  // before the message is dead-lettered and its execution marked TERMINAL,
  // so that a message that kills orca does not kill every restart; 0: never.
  int max_crashes = 3;
  // Test only: the process aborts when a task of a stage of this type is
  // about to run (crash-recovery tests set it from GENNAKER_TEST_CRASH_ON).
  std::string crash_on_stage_type;
  // First retry delay after a handler failure (doubles per attempt).
  int64_t retry_base_ms = 200;
  QueueObserver observer;
  // Receives the execution and stage events (events.h) of each transaction
  // once it committed; null: no events.
  EventPublisher* events = nullptr;
};

class Engine {
 public:
  Engine(Store* store, const Registry* registry, const Clock* clock,
         ExpressionServices* services, EngineOptions options = {});

  // Handles one due message (and its same-execution follow-ups). Returns
  // false when nothing was due. Handler failures are retried with backoff and
  // reported in the log, not returned; only store errors are returned.
  absl::StatusOr<bool> ProcessOne();

  // API operations. NOT_FOUND for unknown ids, FAILED_PRECONDITION when the
  // execution is not in a state that allows the change, UNAVAILABLE when a
  // task holds the execution for longer than the store's lock timeout.
  // Cancel is queued (it never waits for a running task) and takes effect
  // as soon as the execution is free.
  absl::Status Cancel(const std::string& id, const std::string& user,
                      const std::string& reason);
  absl::Status Pause(const std::string& id, const std::string& user);
  absl::Status Resume(const std::string& id, const std::string& user,
                      bool ignore_current_status);
  // Merges `patch` into the stage context (manual judgment, skipRemainingWait,
  // manualSkip) and runs the stage's tasks at once. Returns the execution.
  absl::StatusOr<Json> UpdateStage(const std::string& id,
                                   const std::string& stage_id,
                                   const Json& patch, const std::string& user);
  // Restarts the stage's top-level ancestor and everything downstream.
  absl::StatusOr<Json> RestartStage(const std::string& id,
                                    const std::string& stage_id,
                                    const std::string& user,
                                    const Json& restart_details);

  // Evaluates `${...}` templates in `value` for `stage_id` (or the execution
  // alone when empty). Failures are appended to `failures` as
  // {expression, description, level}.
  absl::StatusOr<Json> Evaluate(const std::string& id,
                                const std::string& stage_id, const Json& value,
                                Json* failures);

  // The root object expressions see while `stage` runs.
  static Json EvaluationRoot(const Json& execution, const Json& stage);
  // Helper functions bound to the execution and stage.
  expression::FunctionRegistry Functions(const Json& execution,
                                         const Json& stage) const;

 private:
  struct Context;
  absl::Status Handle(const Message& m, Context& c);
  bool HasOutsideEffects(const Message& m, Json& execution) const;
  absl::Status StartExecution(const Message& m, Context& c);
  absl::Status StartStage(const Message& m, Context& c);
  absl::Status StartTask(const Message& m, Context& c);
  absl::Status RunTask(const Message& m, Context& c);
  absl::Status CompleteTask(const Message& m, Context& c);
  absl::Status CompleteStage(const Message& m, Context& c);
  absl::Status ContinueParentStage(const Message& m, Context& c);
  absl::Status CompleteExecution(const Message& m, Context& c);
  absl::Status CancelExecution(const Message& m, Context& c);
  absl::Status RescheduleExecution(const Message& m, Context& c);
  absl::Status StartWaitingExecutions(const Message& m, Context& c);

  // Finishes the execution with `final_status` (cancels what still runs).
  void Finish(Context& c, const std::string& final_status);
  void StartNext(Context& c, Json& stage);
  std::string DetermineStageStatus(Json& execution, Json& stage) const;
  bool StageEnabled(const Json& execution, const Json& stage) const;
  void EvaluateContext(Json& execution, Json& stage) const;
  // Adds `stages` as children of `parent` owned by `owner` (numbered after
  // the children it already has); returns their ids.
  std::vector<std::string> PlanSynthetic(
      Json& execution, Json& parent, const std::vector<SyntheticStage>& stages,
      const std::string& owner) const;
  // With a failure status: plans the stage's on-failure stages (once) and
  // starts them. True when the stage must wait for them.
  bool RunOnFailureStages(Context& c, const std::string& stage_id,
                          const std::string& st) const;
  void CancelRunning(Context& c);
  // Records an execution event ("starting", or the end by its status) or a
  // stage event for the commit (no-ops without options_.events).
  void ExecutionEventOf(Context& c, const std::string& phase) const;
  void StageEventOf(Context& c, const Json& stage,
                    const std::string& phase) const;
  // Hands the events of a committed transaction to options_.events.
  void PublishCommitted(std::shared_ptr<const Json> execution,
                        std::vector<ExecutionEvent> events) const;
  void HandleFailure(const Message& m, const absl::Status& error);
  // Dead-letters `m` and ends its execution TERMINAL with `error`; with
  // `claim` (the claim of `m`), both in that claim's transaction.
  void GiveUp(const Message& m, const std::string& error,
              std::unique_ptr<Work> claim = nullptr);

  Store* store_;
  const Registry* registry_;
  const Clock* clock_;
  ExpressionServices* services_;
  EngineOptions options_;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_ENGINE_H_
