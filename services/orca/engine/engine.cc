#include "services/orca/engine/engine.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/ids/ids.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/spinnaker/identity.h"
#include "common/status/status_macros.h"
#include "services/orca/engine/engine_internal.h"
#include "services/orca/engine/stage_rules.h"
#include "services/orca/expression/expression.h"

namespace gennaker::orca {

namespace engine_internal {

Json& Private(Json& execution) {
  Json& p = execution[kPrivateKey];
  if (!p.is_object()) p = Json::object();
  return p;
}

Json* FindTask(Json& stage, const std::string& task_id) {
  if (!stage.contains("tasks")) return nullptr;
  for (Json& t : stage["tasks"]) {
    if (String(t, "id") == task_id) return &t;
  }
  return nullptr;
}

void SetStatus(Json& object, const std::string& s) { object["status"] = s; }
std::string StatusOf(const Json& object) { return String(object, "status"); }

Json& Ctx(Json& stage) {
  Json& c = stage["context"];
  if (!c.is_object()) c = Json::object();
  return c;
}

void MergeInto(Json& target, const Json& source) {
  if (!source.is_object()) return;
  if (!target.is_object()) target = Json::object();
  for (auto it = source.begin(); it != source.end(); ++it) {
    target[it.key()] = it.value();
  }
}

// The stage and all its upstream stages and parents, nearest first.
std::vector<const Json*> Ancestors(Json& execution, const Json& stage) {
  std::vector<const Json*> out;
  std::set<std::string> seen;
  std::deque<const Json*> queue{&stage};
  while (!queue.empty() && out.size() < 10000) {
    const Json* s = queue.front();
    queue.pop_front();
    if (!seen.insert(String(*s, "id")).second) continue;
    out.push_back(s);
    for (Json* up : Upstream(execution, *s)) queue.push_back(up);
    if (Json* p = Parent(execution, *s)) queue.push_back(p);
  }
  return out;
}

Json StageForExpressions(const Json& stage) {
  Json s = stage;
  std::string st = StatusOf(stage);
  s["hasSucceeded"] = st == status::kSucceeded;
  s["hasFailed"] = st == status::kTerminal;
  return s;
}

const Json* OnFailurePlan(const Json& execution, const std::string& stage_id) {
  if (!execution.contains(kPrivateKey)) return nullptr;
  const Json& p = execution[kPrivateKey];
  if (!p.is_object() || !p.contains("onFailure")) return nullptr;
  const Json& plans = p["onFailure"];
  if (!plans.is_object() || !plans.contains(stage_id)) return nullptr;
  const Json& ids = plans[stage_id];
  return ids.is_array() ? &ids : nullptr;
}

int64_t PausedMs(const Json& execution) {
  if (!execution.contains("paused")) return 0;
  return Int(execution["paused"], "pausedMs");
}

}  // namespace engine_internal

using engine_internal::Ancestors;
using engine_internal::Ctx;
using engine_internal::FindTask;
using engine_internal::kMinBackoffMs;
using engine_internal::MergeInto;
using engine_internal::OnFailurePlan;
using engine_internal::PausedMs;
using engine_internal::Private;
using engine_internal::SetStatus;
using engine_internal::StageForExpressions;
using engine_internal::StatusOf;
using spinnaker::synthetic_owner::kAfter;
using spinnaker::synthetic_owner::kBefore;

namespace {

// The identity an execution's tasks act with: its authentication.user (a
// triggered pipeline's service account, or whoever started it) and allowed
// accounts, so every call to clouddriver, igor, kayenta or rosco carries
// them as x-spinnaker-user / x-spinnaker-accounts. A later actor (a manual
// judgment's judge, whoever resumes) does not change it. The anonymous user
// travels as no user at all, as before.
CallContext ExecutionCallContext(const Json& execution) {
  CallContext c;
  c.request_id = CurrentCallContext().request_id;
  if (execution.contains("authentication") &&
      execution["authentication"].is_object()) {
    const Json& auth = execution["authentication"];
    c.user = String(auth, "user");
    if (absl::EqualsIgnoreCase(c.user, spinnaker::kAnonymousUser)) {
      c.user.clear();
    }
    std::vector<std::string> accounts;
    if (auth.contains("allowedAccounts") &&
        auth["allowedAccounts"].is_array()) {
      for (const Json& a : auth["allowedAccounts"]) {
        if (a.is_string()) accounts.push_back(a.get<std::string>());
      }
    }
    c.accounts = absl::StrJoin(accounts, ",");
  }
  return c;
}

}  // namespace

Engine::Engine(Store* store, const Registry* registry, const Clock* clock,
               ExpressionServices* services, EngineOptions options)
    : store_(store),
      registry_(registry),
      clock_(clock),
      services_(services),
      options_(options) {}

absl::StatusOr<bool> Engine::ProcessOne() {
  int64_t now = clock_->NowMs();
  GENNAKER_ASSIGN_OR_RETURN(std::unique_ptr<Work> work, store_->Claim(now));
  if (work == nullptr) return false;
  const Message first = work->message();
  if (options_.observer) {
    int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    options_.observer(first.kind, now_us - work->deliver_at_ms() * 1000);
  }
  if (options_.max_crashes > 0 && work->crashes() >= options_.max_crashes) {
    // Handling this message killed the process that many times: handling
    // it again would only do it again, and again after each restart.
    const std::string error =
        absl::StrCat("orca crashed ", work->crashes(), " times handling ",
                     first.kind, " of this execution; dead-lettered");
    SPDLOG_ERROR("event=dead_letter kind={} execution={} crashes={}",
                 first.kind, first.execution_id, work->crashes());
    // Under this claim: released first, another worker could claim the
    // message again before it is dropped (and count one more crash).
    GiveUp(first, error, std::move(work));
    return true;
  }
  Json& exec = work->execution();
  const std::string exec_id = String(exec, "id");
  // Every handler below (and the tasks it runs) acts as the execution's user.
  ScopedCallContext as_user(ExecutionCallContext(exec));

  std::deque<Message> local{first};
  std::vector<Outgoing> remote;
  std::vector<ExecutionEvent> events;
  SideEffects effects;
  effects.work = work.get();
  int handled = 0;
  while (!local.empty()) {
    if (handled >= options_.max_chain) {
      for (Message& m : local) remote.push_back({std::move(m), 0});
      break;
    }
    // A task with outside effects runs in a transaction of its own, from
    // committed state: readers see its stage RUNNING during the call, and a
    // crash during the call repeats only the call.
    if (handled > 0 && HasOutsideEffects(local.front(), exec)) {
      for (Message& m : local) remote.push_back({std::move(m), 0});
      local.clear();
      break;
    }
    Message m = std::move(local.front());
    local.pop_front();
    Context c{exec, work.get(), clock_->NowMs(), {}, {}};
    c.effects.work = work.get();
    absl::Status s;
    try {
      s = Handle(m, c);
    } catch (const std::exception& e) {
      // Malformed documents must not take the process down in a loop.
      s = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
    }
    if (!s.ok()) {
      // Roll back everything of this claim and retry the claimed message.
      work.reset();
      HandleFailure(first, s);
      return true;
    }
    ++handled;
    for (ExecutionEvent& e : c.events) events.push_back(std::move(e));
    for (Outgoing& o : c.out) {
      if (o.message.execution_id == exec_id && o.delay_ms == 0) {
        local.push_back(std::move(o.message));
      } else {
        remote.push_back(std::move(o));
      }
    }
    for (Outgoing& o : c.effects.messages) remote.push_back(std::move(o));
    if (c.commit_now) {
      for (Message& rest : local) remote.push_back({std::move(rest), 0});
      break;
    }
  }
  // Taken before the commit (which finishes the Work), published only once
  // it succeeded: a rolled-back change reports nothing.
  std::shared_ptr<const Json> snapshot =
      events.empty() ? nullptr : std::make_shared<const Json>(PublicView(exec));
  absl::Status committed = work->Commit(remote);
  if (!committed.ok()) {
    work.reset();
    HandleFailure(first, committed);
    return true;
  }
  PublishCommitted(snapshot, std::move(events));
  return true;
}

void Engine::PublishCommitted(std::shared_ptr<const Json> execution,
                              std::vector<ExecutionEvent> events) const {
  if (options_.events == nullptr || events.empty()) return;
  for (ExecutionEvent& e : events) e.execution = execution;
  options_.events->Publish(std::move(events));
}

void Engine::ExecutionEventOf(Context& c, const std::string& phase) const {
  if (options_.events == nullptr) return;
  const Json& exec = c.exec;
  ExecutionEvent e;
  const std::string type = absl::AsciiStrToLower(String(exec, "type"));
  e.type = absl::StrCat("orca:", type.empty() ? "pipeline" : type, ":", phase);
  e.execution_id = String(exec, "id");
  e.application = String(exec, "application");
  e.created_ms = c.now;
  e.run = Restarts(exec);
  e.content = {{"executionId", e.execution_id}};
  c.events.push_back(std::move(e));
}

void Engine::StageEventOf(Context& c, const Json& stage,
                          const std::string& phase) const {
  if (options_.events == nullptr) return;
  const Json& exec = c.exec;
  ExecutionEvent e;
  e.type = absl::StrCat("orca:stage:", phase);
  e.execution_id = String(exec, "id");
  e.stage_id = String(stage, "id");
  e.application = String(exec, "application");
  e.created_ms = c.now;
  e.run = StageRestarts(exec, e.stage_id);
  const Json* context = stage.contains("context") ? &stage["context"] : nullptr;
  auto time = [&](const char* key) {
    return stage.contains(key) ? stage[key] : Json();
  };
  e.content = {
      {"standalone", String(exec, "type") == "ORCHESTRATION"},
      {"canceled", Bool(exec, "canceled")},
      {"context",
       context != nullptr && context->is_object() ? *context : Json::object()},
      {"startTime", time("startTime")},
      {"endTime", time("endTime")},
      {"executionId", e.execution_id},
      {"stageId", e.stage_id},
      {"isSynthetic", !String(stage, "syntheticStageOwner").empty()},
      {"name", String(stage, "name")}};
  c.events.push_back(std::move(e));
}

void Engine::HandleFailure(const Message& m, const absl::Status& error) {
  absl::StatusOr<int> attempts =
      store_->Retry(m, clock_->NowMs(), options_.retry_base_ms);
  if (!attempts.ok()) {
    // The message stays queued; its next claim retries it.
    SPDLOG_WARN("event=handler_failed kind={} execution={} error={} store={}",
                m.kind, m.execution_id, error, attempts.status());
    return;
  }
  int n = *attempts;
  if (n < options_.max_attempts) {
    SPDLOG_WARN("event=handler_failed kind={} execution={} attempt={} error={}",
                m.kind, m.execution_id, n, error);
    return;
  }
  SPDLOG_ERROR("event=dead_letter kind={} execution={} attempts={} error={}",
               m.kind, m.execution_id, n, error);
  GiveUp(m, std::string(error.message()));
}

void Engine::GiveUp(const Message& m, const std::string& error,
                    std::unique_ptr<Work> claim) {
  absl::StatusOr<std::unique_ptr<Work>> w = std::move(claim);
  if (*w != nullptr) {
    absl::Status recorded = (*w)->DeadLetterClaimed(error);
    if (!recorded.ok()) {
      // Still queued: the next claim counts one more and tries again.
      SPDLOG_ERROR("event=dead_letter_failed execution={} error={}",
                   m.execution_id, recorded);
      return;
    }
  } else {
    (void)store_->DeadLetter(m, error);
    w = store_->Lock(m.execution_id);
    if (!w.ok()) return;
  }
  // The execution must not stay RUNNING forever: fail it.
  Json& exec = (*w)->execution();
  if (IsComplete(StatusOf(exec))) {
    (void)(*w)->Commit({});
    return;
  }
  Context c{exec, w->get(), clock_->NowMs(), {}, {}};
  c.effects.work = w->get();
  try {
    Private(exec)["internalError"] = error;
    // Shown where users look for a stage's failure (the shape a failed
    // task leaves).
    if (Json* stage = FindStage(exec, m.stage_id); stage != nullptr) {
      Json& context = (*stage)["context"];
      if (!context.is_object()) context = Json::object();
      context["exception"] = {
          {"details", {{"error", error}, {"errors", Json::array({error})}}}};
    }
    Finish(c, status::kTerminal);
  } catch (const std::exception& e) {
    // A document too broken to finish normally: mark it and move on.
    SPDLOG_ERROR("event=finish_failed execution={} error={}", m.execution_id,
                 e.what());
    exec["status"] = status::kTerminal;
  }
  std::vector<Outgoing> all = c.out;
  for (Outgoing& o : c.effects.messages) all.push_back(o);
  std::shared_ptr<const Json> snapshot =
      c.events.empty() ? nullptr
                       : std::make_shared<const Json>(PublicView(exec));
  if ((*w)->Commit(all).ok()) PublishCommitted(snapshot, std::move(c.events));
}

bool Engine::HasOutsideEffects(const Message& m, Json& exec) const {
  if (m.kind != kind::kRunTask) return false;
  Json* stage = FindStage(exec, m.stage_id);
  if (stage == nullptr) return false;
  Json* task = FindTask(*stage, m.task_id);
  if (task == nullptr) return false;
  Task* impl = registry_->FindTask(String(*task, "name"));
  return impl != nullptr && impl->CommitsAfterRun();
}

absl::Status Engine::Handle(const Message& m, Context& c) {
  const std::string& k = m.kind;
  if (k == kind::kStartExecution) return StartExecution(m, c);
  if (k == kind::kStartStage) return StartStage(m, c);
  if (k == kind::kStartTask) return StartTask(m, c);
  if (k == kind::kRunTask) return RunTask(m, c);
  if (k == kind::kCompleteTask) return CompleteTask(m, c);
  if (k == kind::kCompleteStage) return CompleteStage(m, c);
  if (k == kind::kContinueParentStage) return ContinueParentStage(m, c);
  if (k == kind::kCompleteExecution) return CompleteExecution(m, c);
  if (k == kind::kCancelExecution) return CancelExecution(m, c);
  if (k == kind::kRescheduleExecution) return RescheduleExecution(m, c);
  if (k == kind::kStartWaitingExecutions) return StartWaitingExecutions(m, c);
  SPDLOG_WARN("event=unknown_message kind={} execution={}", k, m.execution_id);
  return absl::OkStatus();  // acknowledged: redelivery cannot help
}

absl::Status Engine::StartExecution(const Message&, Context& c) {
  Json& exec = c.exec;
  if (StatusOf(exec) != status::kNotStarted) return absl::OkStatus();
  if (Bool(exec, "canceled")) {
    Finish(c, status::kCanceled);
    return absl::OkStatus();
  }
  const std::string config = String(exec, "pipelineConfigId");
  if (String(exec, "type") == "PIPELINE" && !config.empty()) {
    bool limit = Bool(exec, "limitConcurrent");
    int64_t max = Int(exec, "maxConcurrentExecutions");
    if (limit || max > 0) {
      GENNAKER_ASSIGN_OR_RETURN(int running,
                                c.work->LockConfigCountRunning(config));
      if ((limit && running > 0) || (!limit && running >= max)) {
        Private(exec)["waiting"] = true;
        return absl::OkStatus();
      }
    }
  }
  Private(exec).erase("waiting");
  int64_t expiry = Int(exec, "startTimeExpiry");
  if (expiry > 0 && c.now > expiry) {
    exec["canceled"] = true;
    exec["canceledBy"] = "spinnaker";
    exec["cancellationReason"] =
        "Could not begin execution before start time expiry";
    Finish(c, status::kCanceled);
    return absl::OkStatus();
  }
  std::vector<std::string> initial;
  for (const Json& s : exec["stages"]) {
    if (!String(s, "parentStageId").empty()) continue;
    const Json& req = s.contains("requisiteStageRefIds")
                          ? s["requisiteStageRefIds"]
                          : Json::array();
    if (!req.is_array() || req.empty()) initial.push_back(String(s, "id"));
  }
  exec["startTime"] = c.now;
  if (initial.empty()) {
    Finish(c, status::kTerminal);
    return absl::OkStatus();
  }
  SetStatus(exec, status::kRunning);
  exec["canceled"] = false;
  ExecutionEventOf(c, "starting");
  for (const std::string& id : initial) c.Push(kind::kStartStage, id);
  return absl::OkStatus();
}

bool Engine::StageEnabled(const Json& execution, const Json& stage) const {
  const Json& ctx = stage.contains("context") ? stage["context"] : Json();
  if (!ctx.is_object() || !ctx.contains("stageEnabled")) return true;
  const Json& se = ctx["stageEnabled"];
  std::string text = String(se, "expression");
  if (text.empty()) return true;
  if (absl::StartsWith(text, "${") && absl::EndsWith(text, "}")) {
    text = text.substr(2, text.size() - 3);
  }
  absl::StatusOr<expression::Expression> e =
      expression::Expression::Parse(text);
  if (!e.ok()) return false;  // an invalid expression skips the stage
  Json exec = execution;
  absl::StatusOr<Json> v =
      e->Evaluate(EvaluationRoot(exec, stage), Functions(execution, stage));
  if (!v.ok()) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) return Bool(Json{{"v", *v}}, "v", false);
  return false;
}

void Engine::EvaluateContext(Json& execution, Json& stage) const {
  Json& ctx = Ctx(stage);
  // Keep what the user wrote so that a restart evaluates it again.
  Private(execution)["original"][String(stage, "id")] = ctx;
  std::set<std::string> skip{"stageEnabled", "expressionEvaluationSummary"};
  if (const StageDefinition* def =
          registry_->FindStage(String(stage, "type"))) {
    for (const std::string& k : def->SelfEvaluatedKeys()) skip.insert(k);
  }
  Json to_eval = Json::object();
  for (auto it = ctx.begin(); it != ctx.end(); ++it) {
    if (!skip.count(it.key())) to_eval[it.key()] = it.value();
  }
  std::vector<expression::Failure> failures;
  Json result =
      expression::ProcessTemplates(to_eval, EvaluationRoot(execution, stage),
                                   Functions(execution, stage), &failures);
  MergeInto(ctx, result);
  if (!failures.empty()) {
    Json& summary = ctx["expressionEvaluationSummary"];
    if (!summary.is_object()) summary = Json::object();
    for (const expression::Failure& f : failures) {
      if (!summary[f.expression].is_array()) {
        summary[f.expression] = Json::array();
      }
      summary[f.expression].push_back(
          {{"description", f.description},
           {"exceptionType", f.error ? "org.springframework.expression."
                                       "spel.SpelEvaluationException"
                                     : "null"},
           {"level", f.error ? "ERROR" : "INFO"},
           {"timestamp", clock_->NowMs()}});
    }
  }
}

std::vector<std::string> Engine::PlanSynthetic(
    Json& execution, Json& parent, const std::vector<SyntheticStage>& stages,
    const std::string& owner) const {
  std::vector<std::string> ids;
  if (stages.empty()) return ids;
  const std::string parent_id = String(parent, "id");
  const std::string parent_ref = String(parent, "refId");
  const char* sep = owner == kBefore ? "<" : ">";
  std::vector<Json> built;
  std::string previous_ref;
  // Stages planned later (on-failure stages) keep the refIds unique.
  int n = static_cast<int>(Children(execution, parent_id, owner).size());
  for (const SyntheticStage& s : stages) {
    Json st = {{"id", UlidAt(clock_->NowMs())},
               {"refId", absl::StrCat(parent_ref, sep, ++n)},
               {"type", s.type},
               {"name", s.name},
               {"status", status::kNotStarted},
               {"context", s.context},
               {"outputs", Json::object()},
               {"tasks", Json::array()},
               {"requisiteStageRefIds", Json::array()},
               {"parentStageId", parent_id},
               {"syntheticStageOwner", owner}};
    if (!s.parallel && !previous_ref.empty()) {
      st["requisiteStageRefIds"].push_back(previous_ref);
    }
    previous_ref = String(st, "refId");
    ids.push_back(String(st, "id"));
    built.push_back(std::move(st));
  }
  // Before-stages go just before the parent, after-stages just after it.
  Json& all = execution["stages"];
  size_t pos = 0;
  for (; pos < all.size(); ++pos) {
    if (String(all[pos], "id") == parent_id) break;
  }
  if (owner == kAfter) {
    ++pos;
    while (pos < all.size() && String(all[pos], "parentStageId") == parent_id) {
      ++pos;
    }
  }
  for (Json& s : built) {
    all.insert(all.begin() + static_cast<std::ptrdiff_t>(pos++), std::move(s));
  }
  return ids;
}

absl::Status Engine::StartStage(const Message& m, Context& c) {
  Json& exec = c.exec;
  if (IsComplete(StatusOf(exec)) || Bool(exec, "canceled")) {
    return absl::OkStatus();
  }
  Json* stage = FindStage(exec, m.stage_id);
  if (stage == nullptr || StatusOf(*stage) != status::kNotStarted) {
    return absl::OkStatus();
  }
  if (UpstreamHalted(exec, *stage)) {
    // This stage can never run; the execution may be finished.
    if (String(*stage, "parentStageId").empty()) {
      c.Push(kind::kCompleteExecution);
    }
    return absl::OkStatus();
  }
  for (Json* up : Upstream(exec, *stage)) {
    // Not all upstream stages are done: the last one starts this stage.
    if (!AllowsDownstream(StatusOf(*up))) return absl::OkStatus();
  }
  const std::string id = m.stage_id;
  bool top_level = String(*stage, "parentStageId").empty();
  if (top_level && !StageEnabled(exec, *stage)) {
    SetStatus(*stage, status::kSkipped);
    (*stage)["startTime"] = c.now;
    (*stage)["endTime"] = c.now;
    StageEventOf(c, *stage, "skipped");
    StartNext(c, *stage);
    return absl::OkStatus();
  }
  EvaluateContext(exec, *stage);
  const std::string type = String(*stage, "type");
  const StageDefinition* def = registry_->FindStage(type);
  Json& ctx = Ctx(*stage);
  std::vector<SyntheticStage> before;
  if (def == nullptr) {
    ctx["beforeStagePlanningFailed"] = true;
    ctx["exception"] = {
        {"details",
         {{"error", absl::StrCat("Unknown stage type '", type, "'")},
          {"errors",
           Json::array({absl::StrCat("Unknown stage type '", type, "'")})}}}};
  } else {
    if (top_level && Bool(ctx, "restrictExecutionDuringTimeWindow")) {
      SyntheticStage w{"restrictExecutionDuringTimeWindow",
                       "Restrict Execution During", Json::object(), false};
      for (const char* k : {"restrictedExecutionWindow", "skipRemainingWait"}) {
        if (ctx.contains(k)) w.context[k] = ctx[k];
      }
      before.push_back(std::move(w));
    }
    for (SyntheticStage& s : def->BeforeStages(*stage)) {
      before.push_back(std::move(s));
    }
    Json tasks = Json::array();
    std::vector<std::string> names = def->Tasks(*stage);
    for (size_t i = 0; i < names.size(); ++i) {
      tasks.push_back({{"id", std::to_string(i + 1)},
                       {"implementingClass", names[i]},
                       {"name", names[i]},
                       {"status", status::kNotStarted},
                       {"stageStart", i == 0},
                       {"stageEnd", i + 1 == names.size()},
                       {"loopStart", false},
                       {"loopEnd", false}});
    }
    (*stage)["tasks"] = std::move(tasks);
  }
  SetStatus(*stage, status::kRunning);
  (*stage)["startTime"] = c.now;
  StageEventOf(c, *stage, "starting");
  PlanSynthetic(exec, *stage, before, kBefore);
  stage = FindStage(exec, id);  // the stage array may have moved
  if (def == nullptr) {
    c.Push(kind::kCompleteStage, id);
    return absl::OkStatus();
  }
  bool started = false;
  for (Json* child : Children(exec, id, kBefore)) {
    if (Upstream(exec, *child).empty()) {
      c.Push(kind::kStartStage, String(*child, "id"));
      started = true;
    }
  }
  if (started) return absl::OkStatus();
  if (!(*stage)["tasks"].empty()) {
    c.Push(kind::kStartTask, id, "1");
  } else {
    c.Push(kind::kCompleteStage, id);
  }
  return absl::OkStatus();
}

absl::Status Engine::StartTask(const Message& m, Context& c) {
  Json* stage = FindStage(c.exec, m.stage_id);
  if (stage == nullptr || StatusOf(*stage) != status::kRunning) {
    return absl::OkStatus();
  }
  Json* task = FindTask(*stage, m.task_id);
  if (task == nullptr || StatusOf(*task) != status::kNotStarted) {
    return absl::OkStatus();
  }
  SetStatus(*task, status::kRunning);
  (*task)["startTime"] = c.now;
  c.Push(kind::kRunTask, m.stage_id, m.task_id);
  return absl::OkStatus();
}

absl::Status Engine::RunTask(const Message& m, Context& c) {
  Json& exec = c.exec;
  Json* stage = FindStage(exec, m.stage_id);
  if (stage == nullptr) return absl::OkStatus();
  Json* task = FindTask(*stage, m.task_id);
  if (task == nullptr) return absl::OkStatus();
  const std::string task_status = StatusOf(*task);
  if (task_status != status::kRunning && task_status != status::kPaused) {
    return absl::OkStatus();
  }
  auto complete = [&](const std::string& s, const std::string& original) {
    c.Push(kind::kCompleteTask, m.stage_id, m.task_id,
           {{"status", s}, {"originalStatus", original}});
  };
  if (Bool(exec, "canceled") || IsComplete(StatusOf(exec))) {
    // Let the stage undo what it started (e.g. cancel a child pipeline).
    if (const StageDefinition* d =
            registry_->FindStage(String(*stage, "type"))) {
      d->Cancel(exec, *stage, &c.effects);
    }
    complete(status::kCanceled, status::kCanceled);
    return absl::OkStatus();
  }
  if (StatusOf(exec) == status::kPaused) {
    SetStatus(*task, status::kPaused);
    SetStatus(*stage, status::kPaused);
    return absl::OkStatus();
  }
  if (StatusOf(*stage) != status::kRunning) return absl::OkStatus();
  Json& ctx = Ctx(*stage);
  const StageDefinition* def = registry_->FindStage(String(*stage, "type"));
  if (Bool(ctx, "manualSkip") && def != nullptr && def->CanManuallySkip()) {
    complete(status::kSkipped, status::kSkipped);
    return absl::OkStatus();
  }
  Task* impl = registry_->FindTask(String(*task, "name"));
  if (impl == nullptr) {
    ctx["exception"] =
        TaskResult::Terminal(absl::StrCat("No task implementation '",
                                          String(*task, "name"), "'"))
            .context["exception"];
    complete(FailureStatus(*stage), status::kTerminal);
    return absl::OkStatus();
  }
  // Timeouts: the task's own, and the nearest stageTimeoutMs up the parents.
  int64_t paused = PausedMs(exec);
  bool timed_out = TaskTimedOut(c.now, Int(*task, "startTime", c.now), paused,
                                impl->TimeoutMs(*stage));
  if (String(*stage, "type") != "restrictExecutionDuringTimeWindow") {
    for (Json* s = stage; s != nullptr && !timed_out; s = Parent(exec, *s)) {
      int64_t limit = Int(Ctx(*s), "stageTimeoutMs");
      if (limit > 0) {
        int64_t window = 0;
        for (Json* w : Children(exec, String(*s, "id"), kBefore)) {
          if (String(*w, "type") == "restrictExecutionDuringTimeWindow") {
            window += Int(*w, "endTime", c.now) - Int(*w, "startTime", c.now);
          }
        }
        timed_out = StageTimedOut(c.now, Int(*s, "startTime", c.now), paused,
                                  window, limit);
        break;
      }
    }
  }
  if (timed_out) {
    if (Bool(ctx, "markSuccessfulOnTimeout")) {
      complete(status::kSucceeded, status::kSucceeded);
    } else {
      ctx["exception"] =
          TaskResult::Terminal(
              absl::StrCat("Task '", String(*task, "name"), "' timed out"))
              .context["exception"];
      complete(FailureStatus(*stage), status::kTerminal);
    }
    return absl::OkStatus();
  }
  TaskInput input{exec, *stage, Ctx(*stage), c.now, m.task_id, &c.effects, {}};
  input.process = [this, &exec, stage](const Json& value, const Json& extra,
                                       std::vector<std::string>* errors) {
    Json root = EvaluationRoot(exec, *stage);
    MergeInto(root, extra);
    std::vector<expression::Failure> failures;
    Json out = expression::ProcessTemplates(value, root,
                                            Functions(exec, *stage), &failures);
    for (const expression::Failure& f : failures) {
      errors->push_back(absl::StrCat(f.expression, ": ", f.description));
    }
    return out;
  };
  c.commit_now = impl->CommitsAfterRun();
  if (!options_.crash_on_stage_type.empty() &&
      String(*stage, "type") == options_.crash_on_stage_type) {
    SPDLOG_ERROR("event=test_crash stage_type={}",
                 options_.crash_on_stage_type);
    std::abort();
  }
  absl::StatusOr<TaskResult> result = impl->Execute(input);
  if (!result.ok()) {
    SPDLOG_INFO("event=task_failed execution={} stage={} task={} error={}",
                String(exec, "id"), m.stage_id, String(*task, "name"),
                result.status());
    result = TaskResult::Terminal(std::string(result.status().message()));
  }
  // The task may have grown the stage list (it cannot; but stay safe).
  stage = FindStage(exec, m.stage_id);
  MergeInto(Ctx(*stage), result->context);
  Json& outputs = (*stage)["outputs"];
  MergeInto(outputs, result->outputs);
  outputs.erase("stageTimeoutMs");
  const std::string& st = result->status;
  if (st == status::kRunning) {
    int64_t backoff =
        result->backoff_ms >= 0 ? result->backoff_ms : impl->BackoffMs(*stage);
    backoff = std::max(backoff, Int(Ctx(*stage), "backoffPeriodMs"));
    c.Push(kind::kRunTask, m.stage_id, m.task_id, Json::object(),
           std::max(backoff, kMinBackoffMs));
  } else if (st == status::kTerminal || st == status::kCanceled) {
    complete(FailureStatus(*stage, st == status::kCanceled ? status::kCanceled
                                                           : status::kTerminal),
             st);
  } else {
    complete(st, st);
  }
  return absl::OkStatus();
}

absl::Status Engine::CompleteTask(const Message& m, Context& c) {
  Json* stage = FindStage(c.exec, m.stage_id);
  if (stage == nullptr) return absl::OkStatus();
  Json* task = FindTask(*stage, m.task_id);
  if (task == nullptr || IsComplete(StatusOf(*task))) return absl::OkStatus();
  const std::string st = String(m.extra, "status");
  const std::string original = String(m.extra, "originalStatus");
  SetStatus(*task, st);
  (*task)["endTime"] = c.now;
  const Json& tasks = (*stage)["tasks"];
  bool last = String(tasks.back(), "id") == m.task_id;
  bool stop =
      IsHalt(st) || st == status::kSkipped ||
      (st == status::kFailedContinue && original != status::kFailedContinue);
  if (last || stop) {
    c.Push(kind::kCompleteStage, m.stage_id);
  } else {
    c.Push(kind::kStartTask, m.stage_id,
           std::to_string(std::stoi(m.task_id) + 1));
  }
  return absl::OkStatus();
}

std::string Engine::DetermineStageStatus(Json& execution, Json& stage) const {
  const std::string id = String(stage, "id");
  Json& ctx = Ctx(stage);
  StageOutcome outcome;
  outcome.manual_skip = Bool(ctx, "manualSkip");
  for (Json* s : Children(execution, id, kBefore)) {
    outcome.statuses.push_back(StatusOf(*s));
  }
  for (Json* s : Children(execution, id, kAfter)) {
    if (StatusOf(*s) == status::kNotStarted) {
      outcome.after_stages_pending = true;
    } else {
      outcome.statuses.push_back(StatusOf(*s));
    }
  }
  for (const Json& t : stage["tasks"]) outcome.statuses.push_back(StatusOf(t));
  outcome.planning_failed = Bool(ctx, "beforeStagePlanningFailed");
  outcome.failure_status = FailureStatus(stage);
  return RollUpStageStatus(outcome);
}

absl::Status Engine::CompleteStage(const Message& m, Context& c) {
  Json& exec = c.exec;
  Json* stage = FindStage(exec, m.stage_id);
  if (stage == nullptr) return absl::OkStatus();
  const std::string current = StatusOf(*stage);
  if (current != status::kRunning && current != status::kNotStarted) {
    return absl::OkStatus();
  }
  const std::string id = m.stage_id;
  std::string st = DetermineStageStatus(exec, *stage);
  if (RunOnFailureStages(c, id, st)) return absl::OkStatus();
  stage = FindStage(exec, id);
  if (!IsHalt(st) && st != status::kFailedContinue) {
    const StageDefinition* def = registry_->FindStage(String(*stage, "type"));
    if (def != nullptr && Children(exec, id, kAfter).empty()) {
      PlanSynthetic(exec, *stage, def->AfterStages(*stage), kAfter);
      stage = FindStage(exec, id);
    }
    bool started = false;
    for (Json* child : Children(exec, id, kAfter)) {
      if (StatusOf(*child) == status::kNotStarted &&
          Upstream(exec, *child).empty()) {
        c.Push(kind::kStartStage, String(*child, "id"));
        started = true;
      }
    }
    if (started) return absl::OkStatus();
  }
  Json& ctx = Ctx(*stage);
  const Json& summary = ctx.contains("expressionEvaluationSummary")
                            ? ctx["expressionEvaluationSummary"]
                            : Json();
  if (summary.is_object() && !summary.empty()) {
    Json errors = Json::array();
    for (auto it = summary.begin(); it != summary.end(); ++it) {
      if (!it.value().is_array()) continue;
      for (const Json& e : it.value()) {
        if (String(e, "level") == "ERROR")
          errors.push_back(String(e, "description"));
      }
    }
    if (!errors.empty()) {
      Json& exception = ctx["exception"];
      if (!exception.is_object()) exception = Json::object();
      Json& details = exception["details"];
      if (!details.is_object()) details = Json::object();
      Json& all = details["errors"];
      if (!all.is_array()) all = Json::array();
      for (Json& e : errors) all.push_back(std::move(e));
      if (Bool(ctx, "failOnFailedExpressions")) st = status::kTerminal;
    }
  }
  const bool siblings_continue =
      Bool(ctx, "allowSiblingStagesToContinueOnFailure");
  SetStatus(*stage, st);
  (*stage)["endTime"] = c.now;  // may move the context: do not use ctx below
  StageEventOf(c, *stage,
               st == status::kSucceeded ? "complete"
               : st == status::kSkipped ? "skipped"
                                        : "failed");
  if (!String(*stage, "parentStageId").empty()) {
    const std::string parent = String(*stage, "parentStageId");
    if (AllowsDownstream(st) &&
        !(st == status::kFailedContinue && !siblings_continue)) {
      std::vector<Json*> next = Downstream(exec, *stage);
      if (next.empty()) {
        c.Push(kind::kContinueParentStage, parent, "",
               {{"owner", String(*stage, "syntheticStageOwner")}});
      }
      for (Json* n : next) c.Push(kind::kStartStage, String(*n, "id"));
    } else {
      c.Push(kind::kCompleteStage, parent);
    }
    return absl::OkStatus();
  }
  if (AllowsDownstream(st)) {
    StartNext(c, *stage);
  } else {
    c.Push(kind::kCompleteExecution);
  }
  return absl::OkStatus();
}

bool Engine::RunOnFailureStages(Context& c, const std::string& id,
                                const std::string& st) const {
  if (st != status::kTerminal && st != status::kStopped &&
      st != status::kFailedContinue) {
    return false;
  }
  Json& exec = c.exec;
  if (const Json* planned = OnFailurePlan(exec, id)) {
    // Planned already: wait while one of them runs or will still start
    // (every stage before it succeeded or was skipped; one that ended
    // FAILED_CONTINUE does not start the next).
    for (const Json& sid : *planned) {
      const Json* s = FindStage(
          exec, sid.is_string() ? sid.get<std::string>() : std::string());
      if (s == nullptr) continue;
      const std::string child = StatusOf(*s);
      if (child == status::kRunning || child == status::kPaused) return true;
      if (child != status::kNotStarted) continue;
      bool will_start = true;
      for (const Json* up : Upstream(exec, *s)) {
        const std::string u = StatusOf(*up);
        will_start =
            will_start && (u == status::kSucceeded || u == status::kSkipped);
      }
      if (will_start) return true;
    }
    return false;
  }
  Json* stage = FindStage(exec, id);
  const StageDefinition* def = registry_->FindStage(String(*stage, "type"));
  if (def == nullptr) return false;
  std::vector<SyntheticStage> stages = def->OnFailureStages(*stage);
  if (stages.empty()) return false;
  std::vector<std::string> ids = PlanSynthetic(exec, *stage, stages, kAfter);
  Private(exec)["onFailure"][id] = ids;
  for (const std::string& sid : ids) {
    Json* child = FindStage(exec, sid);
    if (child != nullptr && Upstream(exec, *child).empty()) {
      c.Push(kind::kStartStage, sid);
    }
  }
  SPDLOG_INFO("event=on_failure_stages execution={} stage={} count={}",
              String(exec, "id"), id, ids.size());
  return true;
}

void Engine::StartNext(Context& c, Json& stage) {
  std::vector<Json*> next = Downstream(c.exec, stage);
  if (next.empty()) {
    c.Push(kind::kCompleteExecution);
    return;
  }
  for (Json* n : next) c.Push(kind::kStartStage, String(*n, "id"));
}

absl::Status Engine::ContinueParentStage(const Message& m, Context& c) {
  Json* parent = FindStage(c.exec, m.stage_id);
  if (parent == nullptr || StatusOf(*parent) != status::kRunning) {
    return absl::OkStatus();
  }
  const std::string owner = String(m.extra, "owner");
  std::vector<Json*> children = Children(c.exec, m.stage_id, owner);
  const Json* on_failure = OnFailurePlan(c.exec, m.stage_id);
  if (owner == kAfter && on_failure != nullptr) {
    // A failed stage waits only for its on-failure stages.
    children.clear();
    for (const Json& sid : *on_failure) {
      if (!sid.is_string()) continue;
      if (Json* s = FindStage(c.exec, sid.get<std::string>())) {
        children.push_back(s);
      }
    }
  }
  for (Json* child : children) {
    if (!IsComplete(StatusOf(*child))) return absl::OkStatus();
  }
  if (owner == kBefore) {
    for (Json* child : children) {
      if (!AllowsDownstream(StatusOf(*child))) {
        c.Push(kind::kCompleteStage, m.stage_id);
        return absl::OkStatus();
      }
    }
    Json& tasks = (*parent)["tasks"];
    if (!tasks.empty() && StatusOf(tasks[0]) == status::kNotStarted) {
      c.Push(kind::kStartTask, m.stage_id, "1");
      return absl::OkStatus();
    }
  }
  c.Push(kind::kCompleteStage, m.stage_id);
  return absl::OkStatus();
}

absl::Status Engine::CompleteExecution(const Message&, Context& c) {
  Json& exec = c.exec;
  if (IsComplete(StatusOf(exec))) return absl::OkStatus();
  if (StatusOf(exec) == status::kNotStarted) return absl::OkStatus();
  std::vector<Json*> top;
  for (Json& s : exec["stages"]) {
    if (String(s, "parentStageId").empty()) top.push_back(&s);
  }
  auto any = [&](const char* st) {
    return std::any_of(top.begin(), top.end(),
                       [&](Json* s) { return StatusOf(*s) == st; });
  };
  std::string final_status;
  if (Bool(exec, "canceled")) {
    final_status = status::kCanceled;
  } else if (std::all_of(top.begin(), top.end(), [](Json* s) {
               return AllowsDownstream(StatusOf(*s));
             })) {
    final_status = status::kSucceeded;
  } else if (any(status::kTerminal)) {
    final_status = status::kTerminal;
  } else if (any(status::kCanceled)) {
    final_status = status::kCanceled;
  } else if (any(status::kStopped)) {
    // Wait for the other branches that can still run.
    for (Json* s : top) {
      std::string st = StatusOf(*s);
      if (st == status::kRunning || st == status::kPaused) {
        return absl::OkStatus();
      }
      if (st == status::kNotStarted) {
        std::vector<Json*> up = Upstream(exec, *s);
        if (!up.empty() && std::all_of(up.begin(), up.end(), [](Json* u) {
              return AllowsDownstream(StatusOf(*u));
            })) {
          return absl::OkStatus();
        }
      }
    }
    final_status = status::kSucceeded;
    for (Json* s : top) {
      if (StatusOf(*s) == status::kStopped &&
          Bool(Ctx(*s), "completeOtherBranchesThenFail")) {
        final_status = status::kTerminal;
      }
    }
  } else {
    return absl::OkStatus();  // still running
  }
  Finish(c, final_status);
  return absl::OkStatus();
}

void Engine::CancelRunning(Context& c) {
  Json& exec = c.exec;
  std::vector<std::string> ids;
  for (const Json& s : exec["stages"]) {
    std::string st = StatusOf(s);
    if (st == status::kRunning || st == status::kPaused) {
      ids.push_back(String(s, "id"));
    }
  }
  for (const std::string& id : ids) {
    Json* stage = FindStage(exec, id);
    if (const StageDefinition* def =
            registry_->FindStage(String(*stage, "type"))) {
      def->Cancel(exec, *stage, &c.effects);
    }
    stage = FindStage(exec, id);
    for (Json& t : (*stage)["tasks"]) {
      std::string st = StatusOf(t);
      if (st == status::kRunning || st == status::kPaused) {
        if (Task* impl = registry_->FindTask(String(t, "name"))) {
          TaskInput input{exec,  *stage,          Ctx(*stage),
                          c.now, String(t, "id"), &c.effects,
                          {}};
          impl->OnCancel(input);
        }
        SetStatus(t, status::kCanceled);
        t["endTime"] = c.now;
      }
    }
    SetStatus(*stage, status::kCanceled);
    (*stage)["endTime"] = c.now;
    StageEventOf(c, *stage, "failed");
  }
}

void Engine::Finish(Context& c, const std::string& final_status) {
  Json& exec = c.exec;
  bool ever_started = StatusOf(exec) != status::kNotStarted;
  CancelRunning(c);
  SetStatus(exec, final_status);
  exec["endTime"] = c.now;
  // Spinnaker's ExecutionStatus.isSuccessful: SUCCEEDED, STOPPED, SKIPPED.
  ExecutionEventOf(c, final_status == status::kSucceeded ||
                              final_status == status::kStopped ||
                              final_status == status::kSkipped
                          ? "complete"
                          : "failed");
  Private(exec).erase("waiting");
  const std::string config = String(exec, "pipelineConfigId");
  if (!config.empty() && (Bool(exec, "limitConcurrent") ||
                          Int(exec, "maxConcurrentExecutions") > 0)) {
    // Orders this end against concurrent start decisions of the config.
    (void)c.work->LockConfigCountRunning(config);
  }
  if (!config.empty() && String(exec, "type") == "PIPELINE" && ever_started) {
    c.Push(kind::kStartWaitingExecutions, "", "",
           {{"pipelineConfigId", config},
            {"purgeQueue", !Bool(exec, "keepWaitingPipelines")}});
  }
  // Wake a parent pipeline's monitoring task at once.
  const Json& trigger = exec.contains("trigger") ? exec["trigger"] : Json();
  if (String(trigger, "type") == "pipeline" &&
      trigger.contains("parentExecution")) {
    std::string parent = String(trigger["parentExecution"], "id");
    if (!parent.empty()) {
      c.Push(kind::kRescheduleExecution, "", "", Json::object(), 0, parent);
    }
  }
  SPDLOG_INFO("event=execution_complete execution={} application={} status={}",
              String(exec, "id"), String(exec, "application"), final_status);
}

absl::Status Engine::CancelExecution(const Message& m, Context& c) {
  Json& exec = c.exec;
  if (IsComplete(StatusOf(exec))) return absl::OkStatus();
  exec["canceled"] = true;
  if (!exec.contains("canceledBy"))
    exec["canceledBy"] = String(m.extra, "user");
  if (!exec.contains("cancellationReason") &&
      !String(m.extra, "reason").empty()) {
    exec["cancellationReason"] = String(m.extra, "reason");
  }
  Finish(c, status::kCanceled);
  return absl::OkStatus();
}

absl::Status Engine::RescheduleExecution(const Message&, Context& c) {
  for (const Json& s : c.exec["stages"]) {
    if (StatusOf(s) != status::kRunning) continue;
    for (const Json& t : s["tasks"]) {
      if (StatusOf(t) == status::kRunning) {
        c.Push(kind::kRunTask, String(s, "id"), String(t, "id"), Json::object(),
               1);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::StartWaitingExecutions(const Message& m, Context& c) {
  const std::string config = String(m.extra, "pipelineConfigId");
  if (config.empty()) return absl::OkStatus();
  GENNAKER_ASSIGN_OR_RETURN(std::vector<std::string> waiting,
                            c.work->Waiting(config));
  if (waiting.empty()) return absl::OkStatus();
  if (Bool(m.extra, "purgeQueue")) {
    for (size_t i = 0; i + 1 < waiting.size(); ++i) {
      c.Push(kind::kCancelExecution, "", "",
             {{"user", "spinnaker"},
              {"reason",
               "This execution was queued but then canceled because a newer "
               "queued execution superseded it. This pipeline is configured "
               "to automatically cancel waiting executions."}},
             0, waiting[i]);
    }
    c.Push(kind::kStartExecution, "", "", Json::object(), 0, waiting.back());
  } else {
    c.Push(kind::kStartExecution, "", "", Json::object(), 0, waiting.front());
  }
  return absl::OkStatus();
}

}  // namespace gennaker::orca
