// The plug-in point for stage types: a StageDefinition names the tasks a
// stage runs and the synthetic stages it adds; a Task does one step and says
// whether it finished. Later stage types (deploy, bake, jenkins, canary) are
// registered here without touching the engine.
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_REGISTRY_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/orca/engine/model.h"

namespace gennaker::orca {

class Work;

// What a task run reports. `context` is merged into the stage context and
// `outputs` into the stage outputs.
struct TaskResult {
  std::string status = status::kSucceeded;  // RUNNING: run again later
  Json context = Json::object();
  Json outputs = Json::object();
  int64_t backoff_ms = -1;  // with RUNNING: overrides the task's backoff

  static TaskResult Running(int64_t backoff_ms = -1) {
    TaskResult r;
    r.status = status::kRunning;
    r.backoff_ms = backoff_ms;
    return r;
  }
  static TaskResult Terminal(const std::string& error) {
    TaskResult r;
    r.status = status::kTerminal;
    r.context["exception"] = {
        {"details", {{"error", error}, {"errors", Json::array({error})}}}};
    return r;
  }
};

// A message for another execution (a child pipeline, its parent), pushed in
// the same transaction as the task's result.
struct SideEffects {
  Work* work = nullptr;  // to create executions in the same transaction
  std::vector<Outgoing> messages;
};

// Everything a task may look at.
struct TaskInput {
  const Json& execution;
  const Json& stage;    // the stage with its evaluated context
  const Json& context;  // stage.context, after expression evaluation
  int64_t now_ms;
  std::string task_id;
  SideEffects* effects;
  // Processes ${...} templates in `value` as this stage sees them, with the
  // keys of `extra` added to the root; failures are appended to `errors`.
  std::function<Json(const Json& value, const Json& extra,
                     std::vector<std::string>* errors)>
      process;
};

class Task {
 public:
  virtual ~Task() = default;
  // Runs one step. An error status is a failure of the task (TERMINAL with
  // the message recorded), not of the engine.
  virtual absl::StatusOr<TaskResult> Execute(const TaskInput& input) = 0;
  // Delay before a RUNNING task runs again.
  virtual int64_t BackoffMs(const Json& /*stage*/) const { return 1000; }
  // Task timeout from the task's start (0: none); a stage's stageTimeoutMs
  // applies in addition.
  virtual int64_t TimeoutMs(const Json& /*stage*/) const { return 0; }
  // True for tasks with effects outside orca (HTTP calls, other services):
  // they run in a transaction of their own, started from committed state and
  // committed right after, so that a crash repeats at most the call in
  // flight.
  virtual bool CommitsAfterRun() const { return false; }
  // Called when the execution is canceled while this task runs.
  virtual void OnCancel(const TaskInput& /*input*/) {}
};

// A synthetic stage to add before or after a stage.
struct SyntheticStage {
  std::string type;
  std::string name;
  Json context = Json::object();
  bool parallel = false;  // true: no requisite on the previous synthetic stage
};

class StageDefinition {
 public:
  virtual ~StageDefinition() = default;
  // Task names (registered Tasks) in order.
  virtual std::vector<std::string> Tasks(const Json& stage) const = 0;
  virtual std::vector<SyntheticStage> BeforeStages(
      const Json& /*stage*/) const {
    return {};
  }
  virtual std::vector<SyntheticStage> AfterStages(const Json& /*stage*/) const {
    return {};
  }
  // Stages to run when the stage fails (TERMINAL, STOPPED or
  // FAILED_CONTINUE; not when canceled), e.g. a deploy's rollback. Planned
  // once, as after-stages in sequence; the stage waits for them and then ends
  // with its failure status whatever they do. `stage` holds its tasks and
  // context as they ended.
  virtual std::vector<SyntheticStage> OnFailureStages(
      const Json& /*stage*/) const {
    return {};
  }
  // Context keys the stage evaluates itself (e.g. evaluateVariables).
  virtual std::vector<std::string> SelfEvaluatedKeys() const { return {}; }
  // Clears runtime state before a restart.
  virtual void PrepareRestart(Json& /*stage*/) const {}
  virtual bool CanManuallySkip() const { return false; }
  // Called when a running stage is canceled (e.g. cancel the child pipeline).
  virtual void Cancel(const Json& /*execution*/, const Json& /*stage*/,
                      SideEffects* /*effects*/) const {}
};

// A stage definition made of a fixed task list.
class SimpleStage : public StageDefinition {
 public:
  explicit SimpleStage(std::vector<std::string> tasks)
      : tasks_(std::move(tasks)) {}
  std::vector<std::string> Tasks(const Json&) const override { return tasks_; }

 private:
  std::vector<std::string> tasks_;
};

// A helper function of the expression language that reads the execution
// being evaluated, e.g. #deployedServerGroups: the stages that know the data
// it reads register it, so the engine does not need to.
using ExecutionFunction = std::function<absl::StatusOr<Json>(
    const Json& execution, const std::vector<Json>& args)>;

class Registry {
 public:
  void AddStage(const std::string& type,
                std::shared_ptr<const StageDefinition> stage);
  // A stage type that runs `tasks` in order (a SimpleStage).
  void AddSimpleStage(const std::string& type, std::vector<std::string> tasks);
  void AddTask(const std::string& name, std::shared_ptr<Task> task);
  const StageDefinition* FindStage(const std::string& type) const;
  Task* FindTask(const std::string& name) const;
  std::vector<std::string> StageTypes() const;
  // Adds #name(args) to the expressions every stage evaluates.
  void AddExpressionFunction(const std::string& name,
                             ExecutionFunction function);
  const std::map<std::string, ExecutionFunction>& ExpressionFunctions() const {
    return functions_;
  }

 private:
  std::map<std::string, std::shared_ptr<const StageDefinition>> stages_;
  std::map<std::string, std::shared_ptr<Task>> tasks_;
  std::map<std::string, ExecutionFunction> functions_;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_REGISTRY_H_
