// Pieces shared by the engine's source files (engine.cc: message handlers,
// engine_api.cc: API operations, engine_expressions.cc: expressions). Not
// part of the engine's interface.
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_ENGINE_INTERNAL_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_ENGINE_INTERNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "services/orca/engine/engine.h"

namespace gennaker::orca {
namespace engine_internal {

// A RUNNING task never re-runs sooner than this.
inline constexpr int64_t kMinBackoffMs = 10;

// The execution's engine-private object (created when missing).
Json& Private(Json& execution);
Json* FindTask(Json& stage, const std::string& task_id);
void SetStatus(Json& object, const std::string& s);
std::string StatusOf(const Json& object);
// The stage's context object (created when missing or not an object).
Json& Ctx(Json& stage);
// Copies the top-level members of `source` into `target`.
void MergeInto(Json& target, const Json& source);
// The stage and all its upstream stages and parents, nearest first.
std::vector<const Json*> Ancestors(Json& execution, const Json& stage);
// A stage as expressions see it (with hasSucceeded / hasFailed).
Json StageForExpressions(const Json& stage);
int64_t PausedMs(const Json& execution);
// Ids of the on-failure stages planned for the stage, or nullptr.
const Json* OnFailurePlan(const Json& execution, const std::string& stage_id);

}  // namespace engine_internal

struct Engine::Context {
  Json& exec;
  Work* work;
  int64_t now;
  std::vector<Outgoing> out;
  SideEffects effects;
  bool commit_now = false;  // a task with outside effects just ran
  // Events for the publisher, handed over once the transaction commits.
  std::vector<ExecutionEvent> events = {};

  void Push(const char* k, const std::string& stage_id = "",
            const std::string& task_id = "", Json extra = Json::object(),
            int64_t delay = 0, std::string execution_id = "") {
    Outgoing o;
    o.message.kind = k;
    o.message.execution_id =
        execution_id.empty() ? String(exec, "id") : std::move(execution_id);
    o.message.stage_id = stage_id;
    o.message.task_id = task_id;
    o.message.extra = std::move(extra);
    o.delay_ms = delay;
    out.push_back(std::move(o));
  }
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_ENGINE_INTERNAL_H_
