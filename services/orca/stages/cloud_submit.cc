#include "services/orca/stages/cloud_submit.h"

#include "absl/strings/str_cat.h"

namespace gennaker::orca::cloud {

namespace {

// Copies the members of the object `from` into `to`.
void AddMembers(const Json& from, Json& to) {
  for (auto it = from.begin(); it != from.end(); ++it) to[it.key()] = *it;
}

}  // namespace

std::string IdempotencyKey(const TaskInput& in) {
  std::string key = absl::StrCat(String(in.execution, "id"), ":",
                                 String(in.stage, "id"), ":", in.task_id);
  if (int64_t restarts = StageRestarts(in.execution, String(in.stage, "id"));
      restarts > 0) {
    absl::StrAppend(&key, ":", restarts);
  }
  return key;
}

TaskResult NoClouddriver() {
  return TaskResult::Terminal(
      "clouddriver is not configured: set services.clouddriver.address in "
      "orca's config to run cloud stages");
}

TaskResult FromError(const absl::Status& s, const std::string& what) {
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
    TaskResult r = TaskResult::Running(2000);
    r.context["lastClouddriverError"] = absl::StrCat(what, ": ", s.message());
    return r;
  }
  return TaskResult::Terminal(absl::StrCat(what, ": ", s.message()));
}

Json Operation(const std::string& name, const Location& where,
               Json description) {
  if (!description.is_object()) description = Json::object();
  description["credentials"] = where.account;
  description["account"] = where.account;
  if (String(description, "cloudProvider").empty()) {
    description["cloudProvider"] = where.cloud_provider;
  }
  return {{"name", name},
          {"account", where.account},
          {"description", std::move(description)}};
}

TaskResult SubmitOps(CloudDriver* cd, const TaskInput& in, const Json& ops,
                     const std::string& application) {
  TaskResult r;
  if (ops.empty()) {
    r.context["kato.last.task.id"] = nullptr;
    return r;
  }
  absl::StatusOr<std::string> id =
      cd->Submit(ops, IdempotencyKey(in), application);
  if (absl::IsPermissionDenied(id.status())) {
    // fiat's refusal (orca's own check or clouddriver's) says it all.
    return TaskResult::Terminal(std::string(id.status().message()));
  }
  if (!id.ok()) return FromError(id.status(), "clouddriver refused the task");
  Json tasks =
      in.context.contains("kato.tasks") && in.context["kato.tasks"].is_array()
          ? in.context["kato.tasks"]
          : Json::array();
  bool known = false;
  for (const Json& t : tasks) known = known || String(t, "id") == *id;
  if (!known) {
    tasks.push_back({{"id", *id},
                     {"status", {{"completed", false}, {"failed", false}}},
                     {"history", Json::array()},
                     {"resultObjects", Json::array()}});
  }
  r.context["kato.last.task.id"] = {{"id", *id}};
  r.context["kato.tasks"] = std::move(tasks);
  if (in.context.contains("lastClouddriverError")) {
    r.context["lastClouddriverError"] = nullptr;
  }
  return r;
}

Json StoredPlan(const TaskInput& in) {
  const Json& ctx = in.context;
  if (!ctx.contains("kato.planned") || !ctx["kato.planned"].is_object()) {
    return Json();
  }
  const Json& plan = ctx["kato.planned"];
  return String(plan, "key") == IdempotencyKey(in) ? plan : Json();
}

TaskResult StorePlan(const TaskInput& in, Json ops, Json context,
                     Json outputs) {
  TaskResult r = TaskResult::Running(0);
  r.context["kato.planned"] = {{"key", IdempotencyKey(in)},
                               {"ops", std::move(ops)},
                               {"context", std::move(context)}};
  if (outputs.is_object() && !outputs.empty()) {
    r.context["kato.planned"]["outputs"] = std::move(outputs);
  }
  return r;
}

TaskResult SubmitPlan(CloudDriver* cd, const TaskInput& in, const Json& plan,
                      const std::string& application) {
  TaskResult r = SubmitOps(cd, in, spinnaker::Array(plan, "ops"), application);
  if (r.status != status::kSucceeded) return r;
  AddMembers(spinnaker::Object(plan, "context"), r.context);
  AddMembers(spinnaker::Object(plan, "outputs"), r.outputs);
  return r;
}

int64_t TaskStartMs(const TaskInput& in) {
  if (in.stage.contains("tasks") && in.stage["tasks"].is_array()) {
    for (const Json& t : in.stage["tasks"]) {
      if (String(t, "id") == in.task_id) return Int(t, "startTime", in.now_ms);
    }
  }
  return in.now_ms;
}

absl::StatusOr<TaskResult> MonitorKatoTask::Run(const TaskInput& in, Location) {
  const Json& ctx = in.context;
  const Json last =
      ctx.contains("kato.last.task.id") ? ctx["kato.last.task.id"] : Json();
  std::string id = last.is_object()   ? String(last, "id")
                   : last.is_string() ? last.get<std::string>()
                                      : std::string();
  if (id.empty()) return TaskResult();  // nothing was submitted
  absl::StatusOr<Json> task = cd_->GetTask(id);
  if (absl::IsNotFound(task.status())) {
    // A task another clouddriver replica has not stored yet: retried.
    int64_t misses = Int(ctx, "kato.task.notFoundRetryCount") + 1;
    if (misses > 30) {
      return TaskResult::Terminal(
          absl::StrCat("clouddriver task ", id, " was not found"));
    }
    TaskResult r = TaskResult::Running(1000);
    r.context["kato.task.notFoundRetryCount"] = misses;
    return r;
  }
  if (!task.ok()) {
    return FromError(task.status(), absl::StrCat("clouddriver task ", id));
  }
  const Json st = task->contains("status") ? (*task)["status"] : Json();
  Json entry = {{"id", id},
                {"status", st},
                {"history", task->contains("history") ? (*task)["history"]
                                                      : Json::array()},
                {"resultObjects", task->contains("resultObjects")
                                      ? (*task)["resultObjects"]
                                      : Json::array()}};
  std::string message;
  if (Bool(st, "failed")) {
    for (const Json& o : entry["resultObjects"]) {
      if (String(o, "type") == "EXCEPTION") message = String(o, "message");
    }
    if (message.empty()) message = String(st, "status");
    entry["exception"] = {{"message", message}};
  }
  Json tasks = ctx.contains("kato.tasks") && ctx["kato.tasks"].is_array()
                   ? ctx["kato.tasks"]
                   : Json::array();
  bool replaced = false;
  for (Json& t : tasks) {
    if (String(t, "id") == id) {
      t = entry;
      replaced = true;
    }
  }
  if (!replaced) tasks.push_back(entry);
  TaskResult r;
  const int64_t resumes = Int(ctx, "kato.task.resumeCount");
  if (Bool(st, "failed") && Bool(st, "retryable") && resumes < 3) {
    // clouddriver lost the task (it restarted): run it again, same id. Its
    // operations are idempotent (a deploy finds the group it made).
    absl::Status resumed = cd_->ResumeTask(id);
    if (!resumed.ok() && !absl::IsFailedPrecondition(resumed)) {
      return FromError(resumed, absl::StrCat("resuming clouddriver task ", id));
    }
    r = TaskResult::Running(1000);
    r.context["kato.task.resumeCount"] = resumes + 1;
  } else if (Bool(st, "failed")) {
    r = TaskResult::Terminal(
        absl::StrCat("clouddriver task ", id, " failed: ", message));
  } else if (!Bool(st, "completed")) {
    r = TaskResult::Running(1000);
  }
  r.context["kato.tasks"] = std::move(tasks);
  if (ctx.contains("lastClouddriverError")) {
    r.context["lastClouddriverError"] = nullptr;
  }
  if (r.status != status::kSucceeded) return r;
  // A deploy's result: {"serverGroupNames": ["region:name"], ...}.
  Json deployed = Json::object();
  for (const Json& o : entry["resultObjects"]) {
    if (!o.contains("serverGroupNames") || !o["serverGroupNames"].is_array()) {
      continue;
    }
    for (const Json& n : o["serverGroupNames"]) {
      if (!n.is_string()) continue;
      std::string s = n.get<std::string>();
      size_t colon = s.find(':');
      std::string region =
          colon == std::string::npos ? kDefaultRegion : s.substr(0, colon);
      std::string name = colon == std::string::npos ? s : s.substr(colon + 1);
      if (!deployed[region].is_array()) deployed[region] = Json::array();
      deployed[region].push_back(name);
    }
  }
  if (!deployed.empty()) {
    r.context["deploy.server.groups"] = deployed;
    r.outputs["deploy.server.groups"] = deployed;
    r.context["serverGroupName"] = FirstDeployed(r.context).first;
  }
  return r;
}

TaskResult WaitingCloudTask::ReadFailure(const absl::Status& s,
                                         const std::string& name,
                                         int64_t elapsed_ms,
                                         int64_t timeout_ms) {
  if (elapsed_ms > timeout_ms && !absl::IsNotFound(s)) {
    return TaskResult::Terminal(
        absl::StrCat("server group ", name, " could not be read within ",
                     timeout_ms / 1000, " s: ", s.message()));
  }
  return FromError(s, absl::StrCat("reading ", name));
}

absl::StatusOr<TaskResult> PlannedCloudTask::Run(const TaskInput& in,
                                                 Location where) {
  if (std::string missing = Missing(where); !missing.empty()) {
    return TaskResult::Terminal(missing);
  }
  if (Json plan = StoredPlan(in); plan.is_object()) {
    return SubmitPlan(cd_, in, plan, where.application);
  }
  CloudPlan plan = Plan(in, where);
  if (plan.answer.has_value()) return std::move(*plan.answer);
  if (!StoresPlan()) {
    TaskResult r = SubmitOps(cd_, in, plan.ops, where.application);
    AddMembers(plan.context, r.context);
    AddMembers(plan.outputs, r.outputs);
    return r;
  }
  return StorePlan(in, std::move(plan.ops), std::move(plan.context),
                   std::move(plan.outputs));
}

}  // namespace gennaker::orca::cloud
