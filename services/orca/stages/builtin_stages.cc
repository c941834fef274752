#include "services/orca/stages/builtin_stages.h"

#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/fiat/authorizer.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "services/orca/artifacts.h"
#include "services/orca/front50_client.h"

namespace gennaker::orca {

namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

// A front50 outage is retried; anything else fails the task.
absl::StatusOr<TaskResult> Transient(const absl::Status& s) {
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
    // Said every time: a task waiting on front50 must not look idle.
    SPDLOG_WARN("event=front50_call_retry retry_in_ms=2000 error={}", s);
    return TaskResult::Running(2000);
  }
  return TaskResult::Terminal(std::string(s.message()));
}

class WaitTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (Bool(in.context, "skipRemainingWait")) return TaskResult();
    int64_t wait_s = Int(in.context, "waitTime", -1);
    if (wait_s < 0) {
      return TaskResult::Terminal(
          "waitTime must be a non-negative number of seconds");
    }
    int64_t left =
        Int(in.stage, "startTime", in.now_ms) + wait_s * 1000 - in.now_ms;
    if (left <= 0) return TaskResult();
    return TaskResult::Running(left);
  }
};

class JudgmentTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    std::string s = absl::AsciiStrToLower(String(in.context, "judgmentStatus"));
    if (s == "continue") return TaskResult();
    if (s == "stop") {
      TaskResult r;
      r.status = status::kTerminal;
      return r;
    }
    return TaskResult::Running(15000);
  }
  int64_t BackoffMs(const Json&) const override { return 15000; }
  int64_t TimeoutMs(const Json& stage) const override {
    int64_t t = Int(stage.contains("context") ? stage["context"] : Json(),
                    "stageTimeoutMs");
    return t > 0 ? t : 3 * kDayMs;
  }
};

class JudgmentStage : public SimpleStage {
 public:
  JudgmentStage() : SimpleStage({"waitForJudgment"}) {}
  void PrepareRestart(Json& stage) const override {
    for (const char* k : {"judgmentStatus", "lastModifiedBy"}) {
      stage["context"].erase(k);
    }
  }
};

class PreconditionsStage : public StageDefinition {
 public:
  std::vector<std::string> Tasks(const Json& stage) const override {
    const std::string type = String(stage["context"], "preconditionType");
    if (type == "clusterSize") return {"checkClusterSize"};  // clouddriver
    if (!type.empty()) return {"checkPrecondition"};
    return {};
  }
  std::vector<SyntheticStage> BeforeStages(const Json& stage) const override {
    const Json& ctx = stage["context"];
    if (!String(ctx, "preconditionType").empty()) return {};
    std::vector<SyntheticStage> out;
    if (!ctx.contains("preconditions") || !ctx["preconditions"].is_array()) {
      return out;
    }
    Json base = ctx;
    for (const char* k :
         {"preconditions", "stageEnabled", "restrictExecutionDuringTimeWindow",
          "restrictedExecutionWindow", "expressionEvaluationSummary"}) {
      base.erase(k);
    }
    for (const Json& p : ctx["preconditions"]) {
      std::string type = String(p, "type");
      SyntheticStage s;
      s.type = "checkPreconditions";
      s.name = absl::StrCat("Check precondition (", type, ")");
      s.context = base;
      s.context["preconditionType"] = type;
      s.context["context"] =
          p.contains("context") ? p["context"] : Json::object();
      s.context["failPipeline"] = Bool(p, "failPipeline", true);
      s.parallel = true;
      out.push_back(std::move(s));
    }
    return out;
  }
};

class PreconditionTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    std::string type = String(in.context, "preconditionType");
    const Json pctx = spinnaker::Object(in.context, "context");
    if (type == "expression") {
      Json value = pctx.contains("expression") ? pctx["expression"] : Json();
      if (value.is_string()) {
        std::string text = value.get<std::string>();
        if (!absl::StartsWith(text, "${")) text = absl::StrCat("${", text, "}");
        std::vector<std::string> errors;
        value = in.process(Json(text), Json::object(), &errors);
        if (!errors.empty()) {
          return TaskResult::Terminal(absl::StrCat(
              "Expression check failed: ", absl::StrJoin(errors, "; ")));
        }
      }
      bool ok = value.is_boolean() ? value.get<bool>()
                                   : Bool(Json{{"v", value}}, "v", false);
      TaskResult r =
          ok ? TaskResult() : TaskResult::Terminal("Expression check failed");
      r.context["context"] = pctx;
      r.context["context"]["expressionResult"] = ok ? "true" : "false";
      return r;
    }
    if (type == "stageStatus") {
      std::string name = String(pctx, "stageName");
      std::string want = String(pctx, "stageStatus");
      for (const Json& s : in.execution["stages"]) {
        if (String(s, "name") != name) continue;
        if (String(s, "status") == want) return TaskResult();
        return TaskResult::Terminal(absl::StrCat("Stage '", name, "' is ",
                                                 String(s, "status"),
                                                 ", expected ", want));
      }
      return TaskResult::Terminal(absl::StrCat("No stage named '", name, "'"));
    }
    return TaskResult::Terminal(
        absl::StrCat("Unknown precondition type '", type, "'"));
  }
};

class EvaluateVariablesStage : public SimpleStage {
 public:
  EvaluateVariablesStage() : SimpleStage({"evaluateVariables"}) {}
  std::vector<std::string> SelfEvaluatedKeys() const override {
    return {"variables"};
  }
};

class EvaluateVariablesTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    const Json& vars = in.context.contains("variables")
                           ? in.context["variables"]
                           : Json::array();
    if (!vars.is_array()) {
      return TaskResult::Terminal("'variables' must be a list of {key, value}");
    }
    TaskResult r;
    Json seen = Json::object();
    Json evaluated = Json::array();
    std::vector<std::string> errors;
    for (const Json& v : vars) {
      std::string key = String(v, "key");
      if (key.empty()) {
        errors.push_back("a variable has no key");
        continue;
      }
      Json source = v.contains("value") ? v["value"] : Json();
      Json value = in.process(source, seen, &errors);
      seen[key] = value;
      r.outputs[key] = value;
      Json out = v;
      out["value"] = value;
      if (source.is_string() &&
          absl::StrContains(source.get<std::string>(), "${")) {
        out["sourceExpression"] = source;
      }
      evaluated.push_back(std::move(out));
    }
    if (!errors.empty()) {
      TaskResult t = TaskResult::Terminal(absl::StrJoin(errors, "; "));
      t.outputs = r.outputs;
      return t;
    }
    r.context["variables"] = std::move(evaluated);
    return r;
  }
};

// Next time at or after `now_ms` inside the window (UTC), or -1 if none within
// a week.
int64_t NextAllowed(const Json& window, int64_t now_ms) {
  const Json& whitelist =
      window.contains("whitelist") ? window["whitelist"] : Json::array();
  const Json& days = window.contains("days") ? window["days"] : Json::array();
  int64_t day_start = now_ms - now_ms % kDayMs;
  int64_t best = -1;
  for (int offset = -1; offset <= 8; ++offset) {
    int64_t d = day_start + offset * kDayMs;
    time_t secs = static_cast<time_t>(d / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    int dow = tm.tm_wday + 1;  // 1 = Sunday, as java.util.Calendar counts
    if (days.is_array() && !days.empty()) {
      bool allowed = false;
      for (const Json& x : days) {
        if (x.is_number_integer() && x.get<int>() == dow) allowed = true;
      }
      if (!allowed) continue;
    }
    std::vector<std::pair<int64_t, int64_t>> ranges;
    if (!whitelist.is_array() || whitelist.empty()) {
      ranges.push_back({d, d + kDayMs});
    } else {
      for (const Json& w : whitelist) {
        int64_t start =
            d + (Int(w, "startHour") * 60 + Int(w, "startMin")) * 60000;
        int64_t end = d + (Int(w, "endHour") * 60 + Int(w, "endMin")) * 60000;
        if (end <= start) end += kDayMs;
        ranges.push_back({start, end});
      }
    }
    for (auto [start, end] : ranges) {
      if (now_ms >= start && now_ms < end) return now_ms;
      if (start > now_ms && (best < 0 || start < best)) best = start;
    }
  }
  return best;
}

class TimeWindowTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (Bool(in.context, "skipRemainingWait")) return TaskResult();
    const Json& window = in.context.contains("restrictedExecutionWindow")
                             ? in.context["restrictedExecutionWindow"]
                             : Json::object();
    int64_t next = NextAllowed(window, in.now_ms);
    if (next < 0) {
      return TaskResult::Terminal("the execution window never opens");
    }
    if (next <= in.now_ms) return TaskResult();
    TaskResult r =
        TaskResult::Running(std::min<int64_t>(30000, next - in.now_ms));
    r.context["scheduledTime"] = next;
    return r;
  }
  int64_t BackoffMs(const Json&) const override { return 30000; }
  int64_t TimeoutMs(const Json&) const override { return 7 * kDayMs; }
};

Json ApplicationOf(const Json& ctx) {
  const Json& a = ctx.contains("application") ? ctx["application"] : Json();
  if (a.is_string()) return Json{{"name", a}};
  return a.is_object() ? a : Json::object();
}

// WRITE on `application` for the execution's user (installed as the call
// context while tasks run); OK when there is no enabled authorizer.
absl::Status CheckWrite(fiat::Authorizer* authorizer,
                        const std::string& application) {
  if (authorizer == nullptr || !authorizer->enabled()) {
    return absl::OkStatus();
  }
  return authorizer->Check(CurrentCallContext().user,
                           fiat::v1::RESOURCE_TYPE_APPLICATION, application,
                           fiat::v1::AUTHORIZATION_WRITE);
}

// The task acts on the job's own application, whatever the execution's
// application is: that one is what is authorized. Creating an application
// front50 does not have needs nothing (gate asked fiat's AuthorizeCreate);
// an upsert over an existing one, an update or a delete needs WRITE.
class UpsertApplicationTask : public Task {
 public:
  UpsertApplicationTask(Front50* front50, fiat::Authorizer* authorizer,
                        bool create)
      : front50_(front50), authorizer_(authorizer), create_(create) {}
  bool CommitsAfterRun() const override { return true; }
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    Json app = ApplicationOf(in.context);
    const std::string name = String(app, "name");
    if (name.empty()) {
      return TaskResult::Terminal("application.name is required");
    }
    if (front50_ == nullptr) return TaskResult::Terminal("front50 is not set");
    if (authorizer_ != nullptr && authorizer_->enabled()) {
      bool writes = !create_;
      if (create_) {
        absl::StatusOr<bool> exists = front50_->ApplicationExists(name);
        if (!exists.ok()) return Transient(exists.status());
        writes = *exists;
      }
      if (writes) {
        absl::Status allowed = CheckWrite(authorizer_, name);
        if (!allowed.ok()) return Transient(allowed);
      }
    }
    absl::Status s = create_ ? front50_->UpsertApplication(app)
                             : front50_->UpdateApplication(app);
    if (!s.ok()) return Transient(s);
    // Permissions live apart from the attributes (where fiat reads them), as
    // Spinnaker's orca writes them after the application.
    if (auto p = app.find("permissions"); p != app.end() && p->is_object()) {
      s = front50_->PutApplicationPermissions(String(app, "name"), *p);
      if (!s.ok()) return Transient(s);
    }
    TaskResult r;
    r.outputs["notification.type"] =
        create_ ? "createapplication" : "updateapplication";
    return r;
  }
  int64_t TimeoutMs(const Json&) const override { return 300000; }

 private:
  Front50* front50_;
  fiat::Authorizer* authorizer_;
  bool create_;
};

class DeleteApplicationTask : public Task {
 public:
  DeleteApplicationTask(Front50* front50, fiat::Authorizer* authorizer)
      : front50_(front50), authorizer_(authorizer) {}
  bool CommitsAfterRun() const override { return true; }
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    std::string name = String(ApplicationOf(in.context), "name");
    if (name.empty()) {
      return TaskResult::Terminal("application.name is required");
    }
    if (front50_ == nullptr) return TaskResult::Terminal("front50 is not set");
    absl::Status allowed = CheckWrite(authorizer_, name);
    if (!allowed.ok()) return Transient(allowed);
    absl::Status s = front50_->DeleteApplication(name);
    if (!s.ok()) return Transient(s);
    TaskResult r;
    r.outputs["notification.type"] = "deleteapplication";
    return r;
  }
  int64_t TimeoutMs(const Json&) const override { return 300000; }

 private:
  Front50* front50_;
  fiat::Authorizer* authorizer_;
};

// spin's `project save` / `project delete` jobs.
class ProjectTask : public Task {
 public:
  ProjectTask(Front50* front50, bool remove)
      : front50_(front50), remove_(remove) {}
  bool CommitsAfterRun() const override { return true; }
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    const Json& p =
        in.context.contains("project") ? in.context["project"] : Json();
    if (!p.is_object() ||
        (String(p, "name").empty() && String(p, "id").empty())) {
      return TaskResult::Terminal("the job needs a 'project' with a name");
    }
    if (front50_ == nullptr) return TaskResult::Terminal("front50 is not set");
    std::string key =
        String(p, "id").empty() ? String(p, "name") : String(p, "id");
    absl::Status s =
        remove_ ? front50_->DeleteProject(key) : front50_->UpsertProject(p);
    if (!s.ok()) return Transient(s);
    TaskResult r;
    r.outputs["notification.type"] =
        remove_ ? "deleteproject" : "upsertproject";
    return r;
  }

 private:
  Front50* front50_;
  bool remove_;
};

}  // namespace

Json JsonPathGet(const Json& root, const std::string& path) {
  std::string p = path;
  if (absl::StartsWith(p, "$")) p = p.substr(1);
  const Json* cur = &root;
  size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '.') {
      ++i;
      continue;
    }
    if (p[i] == '[') {
      size_t close = p.find(']', i);
      if (close == std::string::npos) return nullptr;
      std::string inner = p.substr(i + 1, close - i - 1);
      i = close + 1;
      if (!inner.empty() && (inner[0] == '\'' || inner[0] == '"')) {
        std::string key = inner.substr(1, inner.size() - 2);
        if (!cur->is_object() || !cur->contains(key)) return nullptr;
        cur = &(*cur)[key];
        continue;
      }
      if (inner.empty() ||
          !std::all_of(inner.begin(), inner.end(), ::isdigit) ||
          inner.size() > 9) {
        return nullptr;
      }
      size_t idx = std::stoul(inner);
      if (!cur->is_array() || idx >= cur->size()) return nullptr;
      cur = &(*cur)[idx];
      continue;
    }
    size_t end = p.find_first_of(".[", i);
    std::string key = p.substr(i, end == std::string::npos ? end : end - i);
    i = end == std::string::npos ? p.size() : end;
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
  }
  return *cur;
}

void RegisterBuiltinStages(Registry* r, const StageDeps& deps) {
  r->AddSimpleStage("wait", {"wait"});
  r->AddTask("wait", std::make_shared<WaitTask>());
  r->AddStage("manualJudgment", std::make_shared<JudgmentStage>());
  r->AddTask("waitForJudgment", std::make_shared<JudgmentTask>());
  r->AddStage("checkPreconditions", std::make_shared<PreconditionsStage>());
  r->AddTask("checkPrecondition", std::make_shared<PreconditionTask>());
  r->AddStage("evaluateVariables", std::make_shared<EvaluateVariablesStage>());
  r->AddTask("evaluateVariables", std::make_shared<EvaluateVariablesTask>());
  r->AddSimpleStage("restrictExecutionDuringTimeWindow",
                    {"suspendExecutionDuringTimeWindow"});
  r->AddTask("suspendExecutionDuringTimeWindow",
             std::make_shared<TimeWindowTask>());
  auto create = std::make_shared<SimpleStage>(
      std::vector<std::string>{"createApplication"});
  r->AddStage("createApplication", create);
  r->AddStage("upsertApplication", create);
  r->AddTask("createApplication", std::make_shared<UpsertApplicationTask>(
                                      deps.front50, deps.authorizer, true));
  r->AddSimpleStage("updateApplication", {"updateApplication"});
  r->AddTask("updateApplication", std::make_shared<UpsertApplicationTask>(
                                      deps.front50, deps.authorizer, false));
  r->AddSimpleStage("deleteApplication", {"deleteApplication"});
  r->AddTask("deleteApplication", std::make_shared<DeleteApplicationTask>(
                                      deps.front50, deps.authorizer));
  r->AddSimpleStage("upsertProject", {"upsertProject"});
  r->AddTask("upsertProject",
             std::make_shared<ProjectTask>(deps.front50, false));
  r->AddSimpleStage("deleteProject", {"deleteProject"});
  r->AddTask("deleteProject",
             std::make_shared<ProjectTask>(deps.front50, true));
  RegisterPipelineStage(r, deps);
  RegisterWebhookStage(r, deps);
  cloud::RegisterCloudStages(r, deps);
  cloud::RegisterClusterStages(r, deps);
  cloud::RegisterRollbackStages(r, deps);
  RegisterDeployExpressions(r);
  // #triggerResolvedArtifact, #triggerResolvedArtifactByType,
  // #resolvedArtifacts.
  RegisterArtifactExpressionFunctions(r);
}

}  // namespace gennaker::orca
