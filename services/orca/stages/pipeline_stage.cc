// The `pipeline` stage: starts a child pipeline in the same transaction as the
// parent's state (so it is started exactly once) and follows it.
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/fiat/authorizer.h"
#include "services/orca/engine/store.h"
#include "services/orca/front50_client.h"
#include "services/orca/launcher.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {

namespace {

bool WaitsForCompletion(const Json& ctx) {
  return Bool(ctx, "waitForCompletion", true);
}

class PipelineStage : public StageDefinition {
 public:
  std::vector<std::string> Tasks(const Json& stage) const override {
    if (WaitsForCompletion(stage["context"])) {
      return {"startPipeline", "monitorPipeline"};
    }
    return {"startPipeline"};
  }
  void PrepareRestart(Json& stage) const override {
    for (const char* k : {"executionId", "executionName", "status"}) {
      stage["context"].erase(k);
    }
  }
  void Cancel(const Json&, const Json& stage,
              SideEffects* effects) const override {
    std::string child = String(stage["context"], "executionId");
    if (child.empty()) return;
    Outgoing o;
    o.message.kind = kind::kCancelExecution;
    o.message.execution_id = child;
    o.message.extra = {{"user", "spinnaker"},
                       {"reason", "The parent pipeline was canceled"}};
    effects->messages.push_back(std::move(o));
  }
};

class StartPipelineTask : public Task {
 public:
  StartPipelineTask(Front50* front50, fiat::Authorizer* authorizer,
                    PriorArtifacts prior_artifacts)
      : front50_(front50),
        authorizer_(authorizer),
        prior_artifacts_(std::move(prior_artifacts)) {}
  bool CommitsAfterRun() const override { return true; }
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (!String(in.context, "executionId").empty()) return TaskResult();
    std::string config_id = String(in.context, "pipeline");
    if (config_id.empty()) {
      return TaskResult::Terminal(
          "the pipeline stage needs the child pipeline's id in 'pipeline'");
    }
    if (front50_ == nullptr) return TaskResult::Terminal("front50 is not set");
    absl::StatusOr<Json> config = front50_->PipelineById(config_id);
    if (!config.ok()) {
      if (absl::IsUnavailable(config.status()))
        return TaskResult::Running(2000);
      return TaskResult::Terminal(absl::StrCat(
          "Child pipeline ", config_id, ": ", config.status().message()));
    }
    const Json& exec = in.execution;
    const Json& parent_trigger =
        exec.contains("trigger") ? exec["trigger"] : Json::object();
    // A restarted stage starts a new child instead of finding the old one.
    std::string correlation =
        absl::StrCat(String(exec, "id"), "_", String(in.stage, "id"), "_",
                     config_id, "_", Restarts(exec));
    Json params = spinnaker::Object(in.context, "pipelineParameters");
    Json trigger = {{"type", "pipeline"},
                    {"user", String(parent_trigger, "user")},
                    {"parentExecution",
                     {{"id", String(exec, "id")},
                      {"type", String(exec, "type")},
                      {"application", String(exec, "application")},
                      {"name", String(exec, "name")},
                      {"pipelineConfigId", String(exec, "pipelineConfigId")},
                      {"buildTime", Int(exec, "buildTime")},
                      {"status", String(exec, "status")},
                      {"trigger", parent_trigger}}},
                    {"parentPipelineStageId", String(in.stage, "id")},
                    {"parentPipelineId", String(exec, "id")},
                    {"parentPipelineName", String(exec, "name")},
                    {"parentPipelineApplication", String(exec, "application")},
                    {"parentStatus", String(exec, "status")},
                    {"isPipeline", true},
                    {"correlationId", correlation},
                    {"parameters", params}};
    LaunchOptions options;
    options.now_ms = in.now_ms;
    options.user = exec.contains("authentication")
                       ? String(exec["authentication"], "user")
                       : std::string();
    options.origin = String(exec, "origin");
    options.front50 = front50_;  // a templated child finds its template
    // usePriorArtifact: the child config's last run, in its own application.
    options.prior_artifacts = prior_artifacts_;
    // The child runs as the parent's user: who must be allowed to start it,
    // in whatever application it is.
    if (authorizer_ != nullptr && authorizer_->enabled()) {
      absl::Status allowed = authorizer_->Check(
          options.user, fiat::v1::RESOURCE_TYPE_APPLICATION,
          String(*config, "application"), fiat::v1::AUTHORIZATION_EXECUTE);
      if (absl::IsUnavailable(allowed) || absl::IsDeadlineExceeded(allowed)) {
        return TaskResult::Running(2000);
      }
      if (!allowed.ok()) {
        return TaskResult::Terminal(absl::StrCat(
            "Could not start the child pipeline: ", allowed.message()));
      }
    }
    absl::StatusOr<Json> child =
        BuildPipelineExecution(*config, std::move(trigger), options);
    if (!child.ok()) {
      return TaskResult::Terminal(absl::StrCat(
          "Could not start the child pipeline: ", child.status().message()));
    }
    absl::StatusOr<std::string> id = in.effects->work->CreateExecution(
        *child, correlation, {StartMessage(*child)});
    if (!id.ok()) return id.status();  // a store error: retried
    TaskResult r;
    r.context["executionId"] = *id;
    r.context["executionName"] = String(*config, "name");
    return r;
  }

 private:
  Front50* front50_;
  fiat::Authorizer* authorizer_;
  PriorArtifacts prior_artifacts_;
};

class MonitorPipelineTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    std::string id = String(in.context, "executionId");
    absl::StatusOr<Json> child = in.effects->work->Read(id);
    if (!child.ok()) {
      if (absl::IsNotFound(child.status())) {
        return TaskResult::Terminal(
            absl::StrCat("Child execution ", id, " no longer exists"));
      }
      return child.status();
    }
    std::string st = String(*child, "status");
    TaskResult r;
    r.context["status"] = st;
    if (st == status::kSucceeded) {
      if (!Bool(in.context, "skipDownstreamOutput")) {
        for (const Json& s : (*child)["stages"]) {
          if (!String(s, "parentStageId").empty() || !s.contains("outputs")) {
            continue;
          }
          for (auto it = s["outputs"].begin(); it != s["outputs"].end(); ++it) {
            r.outputs[it.key()] = it.value();
          }
        }
      }
      return r;
    }
    if (st == status::kCanceled) {
      r.status = status::kCanceled;
      return r;
    }
    if (IsComplete(st)) {
      Json errors = Json::array();
      for (const Json& s : (*child)["stages"]) {
        if (!IsHalt(String(s, "status")) || !s.contains("context")) continue;
        const Json& c = s["context"];
        if (c.contains("exception") && c["exception"].contains("details")) {
          const Json& d = c["exception"]["details"];
          if (d.contains("errors") && d["errors"].is_array()) {
            for (const Json& e : d["errors"]) errors.push_back(e);
          }
        }
      }
      std::string summary = absl::StrCat("Child pipeline ", id, " ended ", st);
      TaskResult t = TaskResult::Terminal(summary);
      if (!errors.empty()) {
        t.context["exception"]["details"]["errors"] = errors;
      }
      t.context["status"] = st;
      return t;
    }
    return TaskResult::Running(15000);
  }
  int64_t BackoffMs(const Json&) const override { return 15000; }
  int64_t TimeoutMs(const Json& stage) const override {
    int64_t t = Int(stage.contains("context") ? stage["context"] : Json(),
                    "stageTimeoutMs");
    return t > 0 ? t : 12LL * 3600 * 1000;
  }
};

}  // namespace

void RegisterPipelineStage(Registry* r, const StageDeps& deps) {
  r->AddStage("pipeline", std::make_shared<PipelineStage>());
  r->AddTask("startPipeline",
             std::make_shared<StartPipelineTask>(deps.front50, deps.authorizer,
                                                 deps.prior_artifacts));
  r->AddTask("monitorPipeline", std::make_shared<MonitorPipelineTask>());
}

}  // namespace gennaker::orca
