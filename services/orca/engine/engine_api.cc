// The engine's API operations: cancel, pause, resume, stage updates and
// restarts, each one locked change of an execution.
#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/engine_internal.h"
#include "services/orca/expression/expression.h"

namespace gennaker::orca {

using engine_internal::Ctx;
using engine_internal::MergeInto;
using engine_internal::Private;
using engine_internal::SetStatus;
using engine_internal::StatusOf;

absl::Status Engine::Cancel(const std::string& id, const std::string& user,
                            const std::string& reason) {
  // A message instead of a lock: cancel must not wait for a task that is
  // in the middle of an outside call; the execution's next holder applies it.
  GENNAKER_ASSIGN_OR_RETURN(Json exec, store_->Get(id));
  if (IsComplete(StatusOf(exec))) return absl::OkStatus();
  Outgoing o;
  o.message.kind = kind::kCancelExecution;
  o.message.execution_id = id;
  o.message.extra = {{"user", user}, {"reason", reason}};
  return store_->Push({o});
}

absl::Status Engine::Pause(const std::string& id, const std::string& user) {
  GENNAKER_ASSIGN_OR_RETURN(std::unique_ptr<Work> w, store_->Lock(id));
  Json& exec = w->execution();
  if (StatusOf(exec) != status::kRunning) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Unable to pause pipeline that is not RUNNING (executionId: ", id,
        ", currentStatus: ", StatusOf(exec), ")"));
  }
  SetStatus(exec, status::kPaused);
  Json& paused = exec["paused"];
  if (!paused.is_object()) paused = Json::object();
  paused["pauseTime"] = clock_->NowMs();
  paused["pausedBy"] = user;
  paused.erase("resumeTime");
  paused.erase("resumedBy");
  // Stages and tasks are parked by their next RunTask (which sees PAUSED), so
  // every other message in flight still finds its stage RUNNING.
  return w->Commit({});
}

absl::Status Engine::Resume(const std::string& id, const std::string& user,
                            bool ignore_current_status) {
  GENNAKER_ASSIGN_OR_RETURN(std::unique_ptr<Work> w, store_->Lock(id));
  Json& exec = w->execution();
  if (StatusOf(exec) != status::kPaused && !ignore_current_status) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Unable to resume pipeline that is not PAUSED (executionId: ", id,
        ", currentStatus: ", StatusOf(exec), ")"));
  }
  if (IsComplete(StatusOf(exec))) return absl::OkStatus();
  int64_t now = clock_->NowMs();
  SetStatus(exec, status::kRunning);
  Json& paused = exec["paused"];
  if (!paused.is_object()) paused = Json::object();
  int64_t since = Int(paused, "pauseTime", now);
  paused["resumeTime"] = now;
  paused["resumedBy"] = user;
  paused["pausedMs"] =
      Int(paused, "pausedMs") + std::max<int64_t>(0, now - since);
  std::vector<Outgoing> out;
  for (Json& s : exec["stages"]) {
    if (StatusOf(s) == status::kPaused) SetStatus(s, status::kRunning);
    if (StatusOf(s) != status::kRunning) continue;
    for (Json& t : s["tasks"]) {
      if (StatusOf(t) == status::kPaused) SetStatus(t, status::kRunning);
      if (StatusOf(t) == status::kRunning) {
        Outgoing o;
        o.message = {kind::kRunTask, id, String(s, "id"), String(t, "id")};
        out.push_back(o);
      }
    }
  }
  return w->Commit(out);
}

absl::StatusOr<Json> Engine::UpdateStage(const std::string& id,
                                         const std::string& stage_id,
                                         const Json& patch,
                                         const std::string& user) {
  if (!patch.is_object()) {
    return absl::InvalidArgumentError("the stage update must be a JSON object");
  }
  GENNAKER_ASSIGN_OR_RETURN(std::unique_ptr<Work> w, store_->Lock(id));
  Json& exec = w->execution();
  Json* stage = FindStage(exec, stage_id);
  if (stage == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("No stage '", stage_id, "' in execution ", id));
  }
  const StageDefinition* def = registry_->FindStage(String(*stage, "type"));
  if (Bool(patch, "manualSkip") &&
      (def == nullptr || !def->CanManuallySkip())) {
    return absl::FailedPreconditionError(
        absl::StrCat("Stage type '", String(*stage, "type"),
                     "' cannot be skipped manually"));
  }
  int64_t now = clock_->NowMs();
  MergeInto(Ctx(*stage), patch);
  Ctx(*stage)["lastModifiedBy"] = user;
  (*stage)["lastModified"] = {{"user", user},
                              {"allowedAccounts", Json::array()},
                              {"lastModifiedTime", now}};
  std::vector<Outgoing> out;
  for (Json& s : exec["stages"]) {
    if (String(s, "id") != stage_id && String(s, "parentStageId") != stage_id) {
      continue;
    }
    for (Json& t : s["tasks"]) {
      if (StatusOf(t) == status::kRunning) {
        Outgoing o;
        o.message = {kind::kRunTask, id, String(s, "id"), String(t, "id")};
        out.push_back(o);
      }
    }
  }
  Json view = PublicView(exec);
  GENNAKER_RETURN_IF_ERROR(w->Commit(out));
  return view;
}

absl::StatusOr<Json> Engine::RestartStage(const std::string& id,
                                          const std::string& stage_id,
                                          const std::string& user,
                                          const Json& restart_details) {
  GENNAKER_ASSIGN_OR_RETURN(std::unique_ptr<Work> w, store_->Lock(id));
  Json& exec = w->execution();
  Json* stage = TopLevel(exec, FindStage(exec, stage_id));
  if (stage == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("No stage '", stage_id, "' in execution ", id));
  }
  std::string st = StatusOf(*stage);
  if (!IsComplete(st) && st != status::kNotStarted) {
    return absl::FailedPreconditionError(
        absl::StrCat("Stage '", String(*stage, "name"), "' is ", st,
                     "; only a finished stage can be restarted"));
  }
  int64_t now = clock_->NowMs();
  const std::string top_id = String(*stage, "id");
  Json& ctx = Ctx(*stage);
  Json details = {{"restartedBy", user}, {"restartTime", now}};
  if (ctx.contains("exception"))
    details["previousException"] = ctx["exception"];
  if (restart_details.is_object()) MergeInto(details, restart_details);
  // Reset the stage and everything downstream of it.
  std::vector<std::string> reset{top_id};
  std::set<std::string> queued{top_id};
  for (size_t i = 0; i < reset.size(); ++i) {
    Json* s = FindStage(exec, reset[i]);
    for (Json* d : Downstream(exec, *s)) {
      if (queued.insert(String(*d, "id")).second)
        reset.push_back(String(*d, "id"));
    }
  }
  std::set<std::string> removed;
  for (const std::string& sid : reset) {
    Json* s = FindStage(exec, sid);
    Json& original = Private(exec)["original"];
    if (original.contains(sid)) (*s)["context"] = original[sid];
    if (const StageDefinition* def = registry_->FindStage(String(*s, "type"))) {
      def->PrepareRestart(*s);
    }
    Json& c = Ctx(*s);
    for (const char* k :
         {"exception", "expressionEvaluationSummary",
          "beforeStagePlanningFailed", "lastModifiedBy", "manualSkip"}) {
      c.erase(k);
    }
    SetStatus(*s, status::kNotStarted);
    s->erase("startTime");
    s->erase("endTime");
    s->erase("lastModified");
    (*s)["tasks"] = Json::array();
    (*s)["outputs"] = Json::object();
    // Synthetic descendants are planned again.
    std::vector<std::string> frontier{sid};
    while (!frontier.empty()) {
      std::string p = frontier.back();
      frontier.pop_back();
      for (const Json& x : exec["stages"]) {
        if (String(x, "parentStageId") == p) {
          removed.insert(String(x, "id"));
          frontier.push_back(String(x, "id"));
        }
      }
    }
  }
  // On-failure stages are planned again after a restart.
  Json& plans = Private(exec)["onFailure"];
  if (plans.is_object()) {
    for (const std::string& sid : reset) plans.erase(sid);
    for (const std::string& sid : removed) plans.erase(sid);
  } else {
    Private(exec).erase("onFailure");
  }
  Json kept = Json::array();
  for (Json& x : exec["stages"]) {
    if (!removed.count(String(x, "id"))) kept.push_back(std::move(x));
  }
  exec["stages"] = std::move(kept);
  FindStage(exec, top_id)->at("context")["restartDetails"] = details;
  SetStatus(exec, status::kRunning);
  Private(exec).erase("waiting");
  Private(exec)["restarts"] = Restarts(exec) + 1;
  Json& stage_restarts = Private(exec)["stageRestarts"];
  if (!stage_restarts.is_object()) stage_restarts = Json::object();
  for (const std::string& sid : reset) {
    stage_restarts[sid] = Int(stage_restarts, sid.c_str()) + 1;
  }
  exec.erase("endTime");
  exec["canceled"] = false;
  exec.erase("canceledBy");
  exec.erase("cancellationReason");
  Outgoing o;
  o.message = {kind::kStartStage, id, top_id, ""};
  Json view = PublicView(exec);
  GENNAKER_RETURN_IF_ERROR(w->Commit({o}));
  return view;
}

}  // namespace gennaker::orca
