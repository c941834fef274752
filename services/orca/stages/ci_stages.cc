#include "services/orca/stages/ci_stages.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "services/orca/igor_client.h"

namespace gennaker::orca {

namespace {

constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
// Bounds on the parameters users give (igor bounds them again).
constexpr size_t kMaxParameters = 1000;
constexpr size_t kMaxParameterBytes = 256 * 1024;
// Consecutive transient errors after which the property and artifact reads
// give up (Spinnaker's RetryableIgorTask).
constexpr int64_t kMaxConsecutiveErrors = 5;
// Keys of the stage's own state that a property file must not overwrite in
// the context (they stay in the outputs and propertyFileContents).
constexpr const char* kOwnKeys[] = {
    "master",      "job",         "parameters", "propertyFile",
    "queuedBuild", "buildNumber", "buildInfo",  "waitForCompletion",
    "stageEnabled"};

// "Jenkins" for "jenkins".
std::string Capitalized(std::string type) {
  if (!type.empty() && type[0] >= 'a' && type[0] <= 'z') type[0] -= 'a' - 'A';
  return type;
}

TaskResult NoIgor(const TaskInput& in) {
  return TaskResult::Terminal(absl::StrCat(
      "igor is not configured: set services.igor.address in orca's config "
      "to run ",
      String(in.stage, "type"), " stages"));
}

// Errors worth asking again about: igor or the CI system is unreachable,
// overloaded or failed for a moment (Spinnaker retries network errors and
// HTTP 500/503).
bool Transient(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) ||
         absl::IsInternal(s) || absl::IsUnknown(s) || absl::IsAborted(s) ||
         absl::IsResourceExhausted(s);
}

TaskResult RetryLater(const absl::Status& s, const std::string& what,
                      int64_t poll_ms) {
  TaskResult r = TaskResult::Running(poll_ms);
  r.context["lastIgorError"] = absl::StrCat(what, ": ", s.message());
  return r;
}

// The property file the stage reads: travis stages default it to "travis"
// (Spinnaker's putIfAbsent: an explicit "" stays empty).
std::string PropertyFile(const TaskInput& in) {
  if (in.context.contains("propertyFile")) {
    return String(in.context, "propertyFile");
  }
  return String(in.stage, "type") == "travis" ? "travis" : "";
}

// The build parameters as text, or an error for the user.
absl::StatusOr<std::map<std::string, std::string>> Parameters(
    const Json& context) {
  std::map<std::string, std::string> out;
  auto it = context.find("parameters");
  if (it == context.end() || it->is_null()) return out;
  if (!it->is_object()) {
    return absl::InvalidArgumentError(
        "parameters must be a map of parameter names to values");
  }
  if (it->size() > kMaxParameters) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameters holds ", it->size(), " entries; at most ",
                     kMaxParameters, " are allowed"));
  }
  size_t total = 0;
  for (auto p = it->begin(); p != it->end(); ++p) {
    if (p.value().is_null()) continue;  // unset: the job's default applies
    std::string value =
        p.value().is_string() ? p.value().get<std::string>() : Dump(p.value());
    total += p.key().size() + value.size();
    if (total > kMaxParameterBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "parameters are larger than ", kMaxParameterBytes, " bytes in all"));
    }
    out[p.key()] = std::move(value);
  }
  return out;
}

class CiTask : public Task {
 public:
  CiTask(Igor* igor, CiStageOptions options) : igor_(igor), options_(options) {}
  bool CommitsAfterRun() const override { return true; }
  int64_t BackoffMs(const Json&) const override { return options_.poll_ms; }

 protected:
  // The stage's pollIntervalMs (a Gennaker extension, 100 ms to 10 min) or
  // the registered interval.
  int64_t Poll(const TaskInput& in) const {
    const int64_t v = Int(in.context, "pollIntervalMs");
    if (v <= 0) return options_.poll_ms;
    return std::clamp<int64_t>(v, 100, 10 * kMinuteMs);
  }

  // The build a task reads about, or the result that ends the task first.
  struct BuildRef {
    std::string master;
    std::string job;
    int64_t number = 0;
    std::optional<TaskResult> stop;
  };

  // Reads master, job and buildNumber from the context; stop holds NoIgor when
  // igor is not configured, or Terminal(no_number) when the build has no
  // number yet.
  BuildRef ReadBuild(const TaskInput& in, const char* no_number) const {
    BuildRef ref;
    if (igor_ == nullptr) {
      ref.stop = NoIgor(in);
      return ref;
    }
    ref.master = String(in.context, "master");
    ref.job = String(in.context, "job");
    ref.number = Int(in.context, "buildNumber");
    if (ref.number <= 0) ref.stop = TaskResult::Terminal(no_number);
    return ref;
  }

  Igor* igor_;
  CiStageOptions options_;
};

class StartJobTask : public CiTask {
 public:
  using CiTask::CiTask;
  int64_t TimeoutMs(const Json&) const override { return 15 * kMinuteMs; }

  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (igor_ == nullptr) return NoIgor(in);
    if (!String(in.context, "queuedBuild").empty()) return TaskResult();
    CiBuildRequest req;
    req.master = String(in.context, "master");
    req.job = String(in.context, "job");
    if (req.master.empty() || req.job.empty()) {
      return TaskResult::Terminal(absl::StrCat(
          "The ", String(in.stage, "type"), " stage needs a master and a job"));
    }
    absl::StatusOr<std::map<std::string, std::string>> params =
        Parameters(in.context);
    if (!params.ok()) {
      return TaskResult::Terminal(std::string(params.status().message()));
    }
    req.parameters = std::move(*params);
    // The stage's start time changes when the stage is restarted: a restart
    // queues a new build while redeliveries find the same one.
    req.idempotency_key =
        absl::StrCat(String(in.execution, "id"), ":", String(in.stage, "id"),
                     ":", Int(in.stage, "startTime"));
    req.execution_id = String(in.execution, "id");
    req.execution_type = String(in.execution, "type");
    req.application = String(in.execution, "application");
    absl::StatusOr<CiTriggerOutcome> outcome = igor_->TriggerBuild(req);
    if (!outcome.ok()) {
      if (Transient(outcome.status())) {
        return RetryLater(
            outcome.status(),
            absl::StrCat("starting ", req.job, " on ", req.master), Poll(in));
      }
      return TaskResult::Terminal(std::string(outcome.status().message()));
    }
    if (outcome->pending) {
      TaskResult r = TaskResult::Running(Poll(in));
      return r;
    }
    SPDLOG_INFO(
        "event=ci_build_queued execution={} stage={} master={} job={} "
        "queue_item={}",
        req.execution_id, String(in.stage, "id"), req.master, req.job,
        outcome->queue_id);
    TaskResult r;
    r.context["queuedBuild"] = outcome->queue_id;
    if (in.context.contains("lastIgorError"))
      r.context["lastIgorError"] = nullptr;
    return r;
  }
};

class WaitForJobStartTask : public CiTask {
 public:
  using CiTask::CiTask;
  int64_t TimeoutMs(const Json&) const override { return 2 * kHourMs; }

  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (igor_ == nullptr) return NoIgor(in);
    if (Int(in.context, "buildNumber") > 0) return TaskResult();
    const std::string master = String(in.context, "master");
    const std::string job = String(in.context, "job");
    const std::string queued = String(in.context, "queuedBuild");
    if (queued.empty()) return TaskResult::Terminal("No build was queued");
    absl::StatusOr<CiQueuedBuild> q = igor_->GetQueuedBuild(master, queued);
    if (!q.ok()) {
      // igor may not know a fresh item yet: Spinnaker keeps asking on 404.
      if (Transient(q.status()) || absl::IsNotFound(q.status())) {
        return RetryLater(
            q.status(),
            absl::StrCat("reading queue item ", queued, " of ", master),
            Poll(in));
      }
      return TaskResult::Terminal(std::string(q.status().message()));
    }
    if (q->cancelled) {
      TaskResult r = TaskResult::Terminal(
          absl::StrCat("The build of ", job, " was cancelled in ", master,
                       "'s queue before it started"));
      r.status = status::kCanceled;
      return r;
    }
    if (!q->build_number.has_value()) {
      TaskResult r = TaskResult::Running(Poll(in));
      if (in.context.contains("lastIgorError")) {
        r.context["lastIgorError"] = nullptr;
      }
      return r;
    }
    SPDLOG_INFO(
        "event=ci_build_started execution={} stage={} master={} job={} "
        "build={}",
        String(in.execution, "id"), String(in.stage, "id"), master, job,
        *q->build_number);
    TaskResult r;
    r.context["buildNumber"] = *q->build_number;
    if (in.context.contains("lastIgorError"))
      r.context["lastIgorError"] = nullptr;
    return r;
  }
};

class MonitorJobTask : public CiTask {
 public:
  using CiTask::CiTask;
  int64_t TimeoutMs(const Json&) const override { return 2 * kHourMs; }

  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    BuildRef ref = ReadBuild(in, "The build has no build number to monitor");
    if (ref.stop.has_value()) return std::move(*ref.stop);
    const std::string& master = ref.master;
    const std::string& job = ref.job;
    const int64_t number = ref.number;
    absl::StatusOr<CiBuild> b = igor_->GetBuild(master, job, number);
    if (!b.ok()) {
      if (Transient(b.status()) || absl::IsNotFound(b.status())) {
        return RetryLater(
            b.status(),
            absl::StrCat("reading build ", job, " #", number, " of ", master),
            Poll(in));
      }
      return TaskResult::Terminal(std::string(b.status().message()));
    }
    std::string st;
    if (!b->building) {
      if (b->result == "SUCCESS") {
        st = status::kSucceeded;
      } else if (b->result == "UNSTABLE") {
        st = Bool(in.context, "markUnstableAsSuccessful") ? status::kSucceeded
                                                          : status::kTerminal;
      } else if (b->result == "FAILURE") {
        st = status::kTerminal;
      } else if (b->result == "ABORTED") {
        st = status::kCanceled;
      }
    }
    if (st.empty()) {
      // Building, or a result Spinnaker does not map: keep polling.
      TaskResult r = TaskResult::Running(Poll(in));
      r.context["buildInfo"] = b->info;
      if (in.context.contains("lastIgorError")) {
        r.context["lastIgorError"] = nullptr;
      }
      return r;
    }
    SPDLOG_INFO(
        "event=ci_build_ended execution={} stage={} master={} job={} "
        "build={} result={}",
        String(in.execution, "id"), String(in.stage, "id"), master, job, number,
        b->result);
    TaskResult r;
    if (st != status::kSucceeded) {
      r = TaskResult::Terminal(absl::StrCat("Build ", job, " #", number, " on ",
                                            master, " ended ", b->result));
      r.status = st;
    }
    r.context["buildInfo"] = b->info;
    r.outputs["buildInfo"] = b->info;
    if (in.context.contains("lastIgorError"))
      r.context["lastIgorError"] = nullptr;
    return r;
  }
};

// Retries transient errors a few times in a row (consecutiveErrors), then
// fails; a success resets the count.
TaskResult RetryOrFail(const TaskInput& in, const absl::Status& s,
                       const std::string& what, int64_t poll_ms) {
  const int64_t errors = Int(in.context, "consecutiveErrors");
  if (Transient(s) && errors < kMaxConsecutiveErrors) {
    TaskResult r = RetryLater(s, what, poll_ms);
    r.context["consecutiveErrors"] = errors + 1;
    return r;
  }
  return TaskResult::Terminal(absl::StrCat(what, ": ", s.message()));
}

class GetBuildPropertiesTask : public CiTask {
 public:
  using CiTask::CiTask;
  int64_t TimeoutMs(const Json&) const override { return 5 * kMinuteMs; }

  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    const std::string file = PropertyFile(in);
    if (file.empty()) return TaskResult();
    BuildRef ref = ReadBuild(
        in,
        "Can't retrieve property file because the build number is not "
        "available, check for build start failures");
    if (ref.stop.has_value()) return std::move(*ref.stop);
    const std::string& master = ref.master;
    const std::string& job = ref.job;
    const int64_t number = ref.number;
    const std::string missing = absl::StrCat(
        "Expected properties file ", file,
        " but it was either missing, empty or contained invalid syntax");
    absl::StatusOr<Json> props =
        igor_->GetBuildProperties(master, job, number, file);
    if (!props.ok()) {
      if (absl::IsNotFound(props.status())) {
        return TaskResult::Terminal(
            absl::StrCat(missing, " (", props.status().message(), ")"));
      }
      return RetryOrFail(
          in, props.status(),
          absl::StrCat("reading ", file, " of ", job, " #", number), Poll(in));
    }
    if (!props->is_object() || props->empty()) {
      // Travis builds often have none (Spinnaker lets them pass).
      if (String(in.stage, "type") == "travis" ||
          absl::StartsWith(master, "travis-")) {
        TaskResult r;
        r.context["consecutiveErrors"] = 0;
        return r;
      }
      return TaskResult::Terminal(missing);
    }
    TaskResult r;
    for (auto it = props->begin(); it != props->end(); ++it) {
      r.outputs[it.key()] = it.value();
      const bool own =
          std::any_of(std::begin(kOwnKeys), std::end(kOwnKeys),
                      [&](const char* k) { return it.key() == k; });
      if (!own) r.context[it.key()] = it.value();
    }
    r.context["propertyFileContents"] = *props;
    r.outputs["propertyFileContents"] = *props;
    r.context["consecutiveErrors"] = 0;
    return r;
  }
};

class GetBuildArtifactsTask : public CiTask {
 public:
  using CiTask::CiTask;
  int64_t TimeoutMs(const Json&) const override { return 5 * kMinuteMs; }

  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    BuildRef ref = ReadBuild(
        in,
        "Can't retrieve the build's artifacts because the build number is "
        "not available, check for build start failures");
    if (ref.stop.has_value()) return std::move(*ref.stop);
    const std::string& master = ref.master;
    const std::string& job = ref.job;
    const int64_t number = ref.number;
    absl::StatusOr<Json> artifacts =
        igor_->GetBuildArtifacts(master, job, number, PropertyFile(in));
    if (!artifacts.ok()) {
      return RetryOrFail(
          in, artifacts.status(),
          absl::StrCat("reading the artifacts of ", job, " #", number),
          Poll(in));
    }
    TaskResult r;
    r.outputs["artifacts"] =
        artifacts->is_array() ? std::move(*artifacts) : Json::array();
    r.context["consecutiveErrors"] = 0;
    return r;
  }
};

class CiStage : public StageDefinition {
 public:
  CiStage(std::string type, Igor* igor) : type_(std::move(type)), igor_(igor) {}

  std::vector<std::string> Tasks(const Json& stage) const override {
    const std::string t = Capitalized(type_);
    std::vector<std::string> tasks = {absl::StrCat("start", t, "Job"),
                                      absl::StrCat("waitFor", t, "JobStart")};
    const Json ctx = spinnaker::Object(stage, "context");
    if (Bool(ctx, "waitForCompletion", true)) {
      tasks.push_back(absl::StrCat("monitor", t, "Job"));
      tasks.push_back("getBuildProperties");
      tasks.push_back("getBuildArtifacts");
    }
    return tasks;
  }

  // Spinnaker reads the property file of a failed build too (it may have
  // been archived): when the build had started.
  std::vector<SyntheticStage> OnFailureStages(
      const Json& stage) const override {
    const Json ctx = spinnaker::Object(stage, "context");
    std::string file = String(ctx, "propertyFile");
    if (!ctx.contains("propertyFile") && type_ == "travis") file = "travis";
    if (file.empty() || Int(ctx, "buildNumber") <= 0) return {};
    return {{"getProperties",
             "Try to get properties file",
             {{"master", String(ctx, "master")},
              {"job", String(ctx, "job")},
              {"propertyFile", file},
              {"buildNumber", Int(ctx, "buildNumber")}}}};
  }

  // Spinnaker's StopJenkinsJobTask: stop what was queued or started.
  void Cancel(const Json& execution, const Json& stage,
              SideEffects*) const override {
    if (igor_ == nullptr) return;
    const Json ctx = spinnaker::Object(stage, "context");
    const std::string queued = String(ctx, "queuedBuild");
    const int64_t number = Int(ctx, "buildNumber");
    if (queued.empty() && number <= 0) return;
    const Json info = spinnaker::Object(ctx, "buildInfo");
    if (info.contains("building") && !Bool(info, "building") &&
        !String(info, "result").empty()) {
      return;  // the build ended already
    }
    const std::string master = String(ctx, "master");
    const std::string job = String(ctx, "job");
    absl::StatusOr<bool> stopped =
        igor_->StopBuild(master, job, queued, number);
    if (stopped.ok()) {
      SPDLOG_INFO(
          "event=ci_build_stop execution={} stage={} master={} job={} "
          "queue_item={} build={} stopped={}",
          String(execution, "id"), String(stage, "id"), master, job, queued,
          number, *stopped);
    } else {
      SPDLOG_WARN(
          "event=ci_build_stop_failed execution={} stage={} master={} job={} "
          "error={}",
          String(execution, "id"), String(stage, "id"), master, job,
          stopped.status().message());
    }
  }

 private:
  std::string type_;
  Igor* igor_;
};

}  // namespace

void RegisterCiStages(Registry* r, Igor* igor, CiStageOptions options) {
  options.poll_ms = std::max<int64_t>(options.poll_ms, 10);
  auto start = std::make_shared<StartJobTask>(igor, options);
  auto wait = std::make_shared<WaitForJobStartTask>(igor, options);
  auto monitor = std::make_shared<MonitorJobTask>(igor, options);
  for (const char* type : {"jenkins", "travis"}) {
    const std::string t = Capitalized(type);
    r->AddStage(type, std::make_shared<CiStage>(type, igor));
    r->AddTask(absl::StrCat("start", t, "Job"), start);
    r->AddTask(absl::StrCat("waitFor", t, "JobStart"), wait);
    r->AddTask(absl::StrCat("monitor", t, "Job"), monitor);
  }
  r->AddSimpleStage("getProperties", {"getBuildProperties"});
  r->AddTask("getBuildProperties",
             std::make_shared<GetBuildPropertiesTask>(igor, options));
  r->AddTask("getBuildArtifacts",
             std::make_shared<GetBuildArtifactsTask>(igor, options));
}

}  // namespace gennaker::orca
