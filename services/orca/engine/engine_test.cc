// Engine behaviour over the in-memory store with a manual clock: DAG fan-out
// and fan-in, skipped branches, every failure option, timeouts, judgment,
// restart, cancel, pause/resume, concurrency limits, expressions, child
// pipelines and redelivery.
#include "services/orca/engine/engine.h"

#include <map>

#include "gtest/gtest.h"
#include "services/orca/engine/engine_test_util.h"
#include "services/orca/engine/memory_store.h"
#include "services/orca/front50_client.h"
#include "services/orca/launcher.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {
namespace {

using testing::ManualClock;

// Pipeline configs by id, applications by name.
class FakeFront50 : public Front50 {
 public:
  absl::StatusOr<Json> PipelineById(const std::string& id) override {
    auto it = pipelines.find(id);
    if (it == pipelines.end()) return absl::NotFoundError("no pipeline " + id);
    return it->second;
  }
  absl::StatusOr<Json> PipelineByName(const std::string& app,
                                      const std::string& name) override {
    for (auto& [id, p] : pipelines) {
      if (String(p, "application") == app && String(p, "name") == name)
        return p;
    }
    return absl::NotFoundError("no pipeline " + name);
  }
  absl::StatusOr<bool> ApplicationExists(const std::string& name) override {
    return apps.count(name) > 0;
  }
  absl::Status UpsertApplication(const Json& a) override {
    apps[String(a, "name")] = a;
    return absl::OkStatus();
  }
  absl::Status PutApplicationPermissions(const std::string& name,
                                         const Json& permissions) override {
    app_permissions[name] = permissions;
    return absl::OkStatus();
  }
  absl::Status UpdateApplication(const Json& a) override {
    if (!apps.count(String(a, "name"))) return absl::NotFoundError("no app");
    apps[String(a, "name")] = a;
    return absl::OkStatus();
  }
  absl::Status DeleteApplication(const std::string& name) override {
    apps.erase(name);
    return absl::OkStatus();
  }
  absl::Status UpsertProject(const Json& p) override {
    projects[String(p, "name")] = p;
    return absl::OkStatus();
  }
  absl::Status DeleteProject(const std::string& name) override {
    projects.erase(name);
    return absl::OkStatus();
  }
  std::map<std::string, Json> projects;
  std::map<std::string, Json> pipelines;
  std::map<std::string, Json> apps;
  std::map<std::string, Json> app_permissions;
};

class Lookups : public ExpressionServices {
 public:
  explicit Lookups(FakeFront50* f) : f_(f) {}
  absl::StatusOr<std::string> PipelineId(const std::string& app,
                                         const std::string& name) override {
    auto p = f_->PipelineByName(app, name);
    if (!p.ok()) return p.status();
    return String(*p, "id");
  }
  absl::StatusOr<std::string> FetchUrl(const std::string&) override {
    return absl::UnimplementedError("no HTTP in unit tests");
  }
  FakeFront50* f_;
};

// Succeeds after `runs` RUNNING results, recording when it ran.
class FlakyTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    times.push_back(in.now_ms);
    if (static_cast<int>(times.size()) <= running_results) {
      return TaskResult::Running(backoff);
    }
    TaskResult r;
    r.outputs["flaky"] = static_cast<int>(times.size());
    return r;
  }
  int running_results = 2;
  int64_t backoff = 5000;
  std::vector<int64_t> times;
};

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : store_(&clock_), lookups_(&front50_) {
    StageDeps deps;
    deps.front50 = &front50_;
    deps.prior_artifacts = PriorArtifactsFromStore(&store_);
    RegisterBuiltinStages(&registry_, deps);
    flaky_ = std::make_shared<FlakyTask>();
    registry_.AddStage("flaky", std::make_shared<SimpleStage>(
                                    std::vector<std::string>{"flaky"}));
    registry_.AddTask("flaky", flaky_);
    engine_ = std::make_unique<Engine>(&store_, &registry_, &clock_, &lookups_);
  }

  std::string Start(Json config, Json trigger = Json::object()) {
    if (!config.contains("application")) config["application"] = "app";
    LaunchOptions o;
    o.now_ms = clock_.NowMs();
    o.user = "alice";
    auto exec = BuildPipelineExecution(config, trigger, o);
    EXPECT_TRUE(exec.ok()) << exec.status();
    auto id = store_.Create(*exec, "", {StartMessage(*exec)});
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }

  // Handles everything due; then jumps the clock to the next delivery, at
  // most `horizon_ms` ahead.
  void Run(int64_t horizon_ms = 0) {
    testing::RunUntilSettled(engine_.get(), &store_, &clock_, horizon_ms,
                             10000);
  }

  Json Get(const std::string& id) { return testing::GetExecution(&store_, id); }
  static const Json& StageByRef(const Json& e, const std::string& ref) {
    for (const Json& s : e["stages"]) {
      if (String(s, "refId") == ref) return s;
    }
    static Json none;
    return none;
  }
  static std::string StatusOfRef(const Json& e, const std::string& ref) {
    return String(StageByRef(e, ref), "status");
  }

  ManualClock clock_;
  MemoryStore store_;
  FakeFront50 front50_;
  Lookups lookups_;
  Registry registry_;
  std::shared_ptr<FlakyTask> flaky_;
  std::unique_ptr<Engine> engine_;
};

Json Wait(const std::string& ref, std::vector<std::string> req,
          int seconds = 0) {
  return {{"refId", ref},
          {"type", "wait"},
          {"name", "wait " + ref},
          {"waitTime", seconds},
          {"requisiteStageRefIds", req}};
}

Json Judgment(const std::string& ref, std::vector<std::string> req) {
  return {{"refId", ref},
          {"type", "manualJudgment"},
          {"name", "judge " + ref},
          {"judgmentInputs", Json::array({{{"value", "ok"}}})},
          {"requisiteStageRefIds", req}};
}

// A stage that fails: a precondition that is false.
Json Failing(const std::string& ref, std::vector<std::string> req,
             Json extra = Json::object()) {
  Json s = {{"refId", ref},
            {"type", "checkPreconditions"},
            {"name", "fail " + ref},
            {"preconditions",
             Json::array({{{"type", "expression"},
                           {"context", {{"expression", "${1 == 2}"}}}}})},
            {"requisiteStageRefIds", req}};
  for (auto it = extra.begin(); it != extra.end(); ++it) s[it.key()] = *it;
  return s;
}

TEST_F(EngineTest, FanOutAndFanIn) {
  std::string id = Start({{"stages",
                           {Wait("1", {}), Wait("2", {"1"}, 5),
                            Wait("3", {"1"}, 10), Wait("4", {"2", "3"})}}});
  Run(60000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  for (const char* r : {"1", "2", "3", "4"})
    EXPECT_EQ(StatusOfRef(e, r), "SUCCEEDED");
  // 2 and 3 ran in parallel after 1; 4 started only when both were done.
  EXPECT_EQ(Int(StageByRef(e, "2"), "startTime"),
            Int(StageByRef(e, "3"), "startTime"));
  EXPECT_GE(Int(StageByRef(e, "4"), "startTime"),
            Int(StageByRef(e, "3"), "endTime"));
  EXPECT_GE(
      Int(StageByRef(e, "3"), "endTime") - Int(StageByRef(e, "3"), "startTime"),
      10000);
  EXPECT_EQ(StageByRef(e, "1")["tasks"][0]["status"], "SUCCEEDED");
  EXPECT_EQ(store_.QueueSize(), 0);
}

TEST_F(EngineTest, LinearPipelineWithoutRefIds) {
  std::string id = Start({{"stages",
                           {{{"type", "wait"}, {"waitTime", 1}},
                            {{"type", "wait"}, {"waitTime", 1}}}}});
  Run(10000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  EXPECT_EQ(e["stages"][1]["requisiteStageRefIds"], Json::array({"0"}));
  EXPECT_GE(Int(e["stages"][1], "startTime"), Int(e["stages"][0], "endTime"));
}

TEST_F(EngineTest, DisabledStageIsSkippedAndDownstreamRuns) {
  Json skipped = Wait("2", {"1"});
  skipped["stageEnabled"] = {{"type", "expression"},
                             {"expression", "parameters.deploy == 'true'"}};
  std::string id =
      Start({{"stages", {Wait("1", {}), skipped, Wait("3", {"2"})}}},
            {{"parameters", {{"deploy", "false"}}}});
  Run(1000);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "2"), "SKIPPED");
  EXPECT_EQ(StatusOfRef(e, "3"), "SUCCEEDED");
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
}

TEST_F(EngineTest, FailPipelineStopsEverything) {
  std::string id = Start({{"stages", {Failing("1", {}), Wait("2", {"1"})}}});
  Run(1000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_EQ(StatusOfRef(e, "1"), "TERMINAL");
  EXPECT_EQ(StatusOfRef(e, "2"), "NOT_STARTED");
  // The synthetic precondition stage carries the error.
  EXPECT_EQ(StatusOfRef(e, "1<1"), "TERMINAL");
  EXPECT_EQ(String(StageByRef(e, "1<1"), "parentStageId"),
            String(StageByRef(e, "1"), "id"));
  EXPECT_EQ(String(StageByRef(e, "1<1"), "syntheticStageOwner"),
            "STAGE_BEFORE");
}

TEST_F(EngineTest, FailPipelineFalseStopsOnlyItsBranch) {
  std::string id = Start({{"stages",
                           {Failing("1", {}, {{"failPipeline", false}}),
                            Wait("2", {"1"}), Wait("3", {}, 30)}}});
  Run(60000);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "1"), "STOPPED");
  EXPECT_EQ(StatusOfRef(e, "2"), "NOT_STARTED");
  EXPECT_EQ(StatusOfRef(e, "3"), "SUCCEEDED");
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
}

TEST_F(EngineTest, CompleteOtherBranchesThenFail) {
  std::string id = Start({{"stages",
                           {Failing("1", {},
                                    {{"failPipeline", false},
                                     {"completeOtherBranchesThenFail", true}}),
                            Wait("3", {}, 30)}}});
  Run(5000);
  // The other branch still runs: the execution is not finished.
  EXPECT_EQ(String(Get(id), "status"), "RUNNING");
  Run(60000);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "3"), "SUCCEEDED");
  EXPECT_EQ(String(e, "status"), "TERMINAL");
}

TEST_F(EngineTest, JoinBehindAStoppedBranchDoesNotHang) {
  // A stops (failPipeline false); B needs A; C runs alone; D needs B and C.
  std::string id =
      Start({{"stages",
              {Failing("A", {}, {{"failPipeline", false}}), Wait("B", {"A"}),
               Wait("C", {}, 5), Wait("D", {"B", "C"})}}});
  Run(60000);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "A"), "STOPPED");
  EXPECT_EQ(StatusOfRef(e, "B"), "NOT_STARTED");
  EXPECT_EQ(StatusOfRef(e, "C"), "SUCCEEDED");
  EXPECT_EQ(StatusOfRef(e, "D"), "NOT_STARTED");
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  EXPECT_EQ(store_.QueueSize(), 0);
}

TEST_F(EngineTest, OddlyTypedUserFieldsFailStagesNotTheEngine) {
  Json bad_precondition = Failing("1", {});
  bad_precondition["preconditions"][0]["context"] = "not an object";
  Json odd = Wait("2", {});
  odd["exception"] = "a string where an object is expected";
  odd["note"] = "${nope(}";
  odd["expressionEvaluationSummary"] = {{"x", 1}};
  std::string id = Start({{"stages", {bad_precondition, odd}}});
  Run(1000);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "1"), "TERMINAL");
  EXPECT_EQ(StatusOfRef(e, "2"), "SUCCEEDED");
  EXPECT_TRUE(IsComplete(String(e, "status")));
  EXPECT_EQ(store_.DeadLetters(), 0);
}

TEST_F(EngineTest, PauseWhileATaskCompletesLosesNothing) {
  std::string id = Start({{"stages", {Wait("1", {}, 1), Wait("2", {"1"}, 1)}}});
  Run(0);
  clock_.now_ += 2000;  // stage 1's wait is over; its RunTask is due
  ASSERT_TRUE(engine_->Pause(id, "p").ok());
  Run(0);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "PAUSED");
  ASSERT_TRUE(engine_->Resume(id, "p", false).ok());
  Run(60000);
  EXPECT_EQ(String(Get(id), "status"), "SUCCEEDED");
}

TEST_F(EngineTest, ContinuePipelineLetsDownstreamRun) {
  std::string id = Start(
      {{"stages",
        {Failing("1", {}, {{"continuePipeline", true}}), Wait("2", {"1"})}}});
  Run(1000);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "1"), "FAILED_CONTINUE");
  EXPECT_EQ(StatusOfRef(e, "2"), "SUCCEEDED");
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
}

TEST_F(EngineTest, StageTimeoutFailsTheStage) {
  Json j = Judgment("1", {});
  j["stageTimeoutMs"] = 60000;
  std::string id = Start({{"stages", {j}}});
  Run(30000);
  EXPECT_EQ(StatusOfRef(Get(id), "1"), "RUNNING");
  Run(120000);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "1"), "TERMINAL");
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_NE(StageByRef(e, "1")["context"]["exception"].dump().find("timed out"),
            std::string::npos);
}

TEST_F(EngineTest, MarkSuccessfulOnTimeout) {
  Json j = Judgment("1", {});
  j["stageTimeoutMs"] = 1000;
  j["markSuccessfulOnTimeout"] = true;
  std::string id = Start({{"stages", {j}}});
  Run(100000);
  EXPECT_EQ(String(Get(id), "status"), "SUCCEEDED");
}

TEST_F(EngineTest, TaskRetriesWithBackoff) {
  flaky_->running_results = 2;
  flaky_->backoff = 5000;
  Json s = {{"refId", "1"}, {"type", "flaky"}, {"backoffPeriodMs", 7000}};
  std::string id = Start({{"stages", {s}}});
  Run(60000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  ASSERT_EQ(flaky_->times.size(), 3u);
  // The larger of the task's backoff and the stage's backoffPeriodMs.
  EXPECT_EQ(flaky_->times[1] - flaky_->times[0], 7000);
  EXPECT_EQ(flaky_->times[2] - flaky_->times[1], 7000);
  EXPECT_EQ(StageByRef(e, "1")["outputs"]["flaky"], 3);
}

TEST_F(EngineTest, ManualJudgmentContinueRecordsTheUser) {
  std::string id = Start({{"stages", {Judgment("1", {}), Wait("2", {"1"})}}});
  Run(1000);
  Json e = Get(id);
  ASSERT_EQ(StatusOfRef(e, "1"), "RUNNING");
  std::string stage_id = String(StageByRef(e, "1"), "id");
  auto updated = engine_->UpdateStage(
      id, stage_id, {{"judgmentStatus", "continue"}, {"judgmentInput", "ok"}},
      "bob");
  ASSERT_TRUE(updated.ok()) << updated.status();
  Run(0);  // the patch runs the task at once: no clock advance needed
  e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "1"), "SUCCEEDED");
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  const Json& s = StageByRef(e, "1");
  EXPECT_EQ(String(s["lastModified"], "user"), "bob");
  EXPECT_EQ(String(s["context"], "lastModifiedBy"), "bob");
  EXPECT_EQ(String(s["context"], "judgmentInput"), "ok");
}

TEST_F(EngineTest, ManualJudgmentStopThenRestartThenContinue) {
  std::string id = Start({{"stages", {Judgment("1", {}), Wait("2", {"1"})}}});
  Run(1000);
  std::string stage_id = String(StageByRef(Get(id), "1"), "id");
  ASSERT_TRUE(
      engine_->UpdateStage(id, stage_id, {{"judgmentStatus", "stop"}}, "bob")
          .ok());
  Run(0);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "1"), "TERMINAL");
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  // Restart: the judgment is cleared and the stage waits again.
  auto restarted = engine_->RestartStage(id, stage_id, "carol", Json::object());
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  Run(1000);
  e = Get(id);
  EXPECT_EQ(String(e, "status"), "RUNNING");
  EXPECT_EQ(StatusOfRef(e, "1"), "RUNNING");
  EXPECT_EQ(
      String(StageByRef(e, "1")["context"]["restartDetails"], "restartedBy"),
      "carol");
  EXPECT_FALSE(StageByRef(e, "1")["context"].contains("judgmentStatus"));
  ASSERT_TRUE(
      engine_
          ->UpdateStage(id, stage_id, {{"judgmentStatus", "continue"}}, "bob")
          .ok());
  Run(1000);
  e = Get(id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  EXPECT_EQ(StatusOfRef(e, "2"), "SUCCEEDED");
}

TEST_F(EngineTest, RestartOfARunningStageIsRefused) {
  std::string id = Start({{"stages", {Judgment("1", {})}}});
  Run(1000);
  std::string stage_id = String(StageByRef(Get(id), "1"), "id");
  auto r = engine_->RestartStage(id, stage_id, "carol", Json::object());
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
}

TEST_F(EngineTest, CancelStopsRunningStages) {
  std::string id = Start({{"stages", {Wait("1", {}, 600), Wait("2", {"1"})}}});
  Run(1000);
  ASSERT_TRUE(engine_->Cancel(id, "dave", "not needed").ok());
  Run(0);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "CANCELED");
  EXPECT_TRUE(Bool(e, "canceled"));
  EXPECT_EQ(String(e, "canceledBy"), "dave");
  EXPECT_EQ(String(e, "cancellationReason"), "not needed");
  EXPECT_EQ(StatusOfRef(e, "1"), "CANCELED");
  EXPECT_EQ(StatusOfRef(e, "2"), "NOT_STARTED");
  // Nothing is left to run.
  Run(3600000);
  EXPECT_EQ(store_.QueueSize(), 0);
}

TEST_F(EngineTest, PauseHoldsTasksAndResumeContinues) {
  std::string id = Start({{"stages", {Wait("1", {}, 10)}}});
  Run(1000);
  ASSERT_TRUE(engine_->Pause(id, "erin").ok());
  Run(60000);  // the wait time passes while paused
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "PAUSED");
  EXPECT_EQ(StatusOfRef(e, "1"), "PAUSED");
  EXPECT_EQ(String(e["paused"], "pausedBy"), "erin");
  EXPECT_TRUE(absl::IsFailedPrecondition(engine_->Pause(id, "erin")));
  clock_.now_ += 60000;
  ASSERT_TRUE(engine_->Resume(id, "frank", false).ok());
  Run(60000);
  e = Get(id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  EXPECT_EQ(String(e["paused"], "resumedBy"), "frank");
  EXPECT_GE(Int(e["paused"], "pausedMs"), 59000);
  EXPECT_TRUE(absl::IsFailedPrecondition(engine_->Resume(id, "x", false)));
}

TEST_F(EngineTest, LimitConcurrentQueuesAndKeepsOnlyTheNewestWaiting) {
  Json config = {{"id", "cfg-1"},
                 {"limitConcurrent", true},
                 {"stages", {Wait("1", {}, 10)}}};
  std::string a = Start(config);
  Run(0);
  clock_.now_ += 1;
  std::string b = Start(config);
  clock_.now_ += 1;
  std::string c = Start(config);
  Run(0);
  EXPECT_EQ(String(Get(a), "status"), "RUNNING");
  EXPECT_EQ(String(Get(b), "status"), "NOT_STARTED");
  EXPECT_EQ(String(Get(c), "status"), "NOT_STARTED");
  Run(60000);
  EXPECT_EQ(String(Get(a), "status"), "SUCCEEDED");
  // keepWaitingPipelines false: the older waiting run is canceled.
  EXPECT_EQ(String(Get(b), "status"), "CANCELED");
  EXPECT_EQ(String(Get(b), "canceledBy"), "spinnaker");
  EXPECT_EQ(String(Get(c), "status"), "SUCCEEDED");
  EXPECT_GE(Int(Get(c), "startTime"), Int(Get(a), "endTime"));
}

TEST_F(EngineTest, KeepWaitingPipelinesRunsQueuedInOrder) {
  Json config = {{"id", "cfg-2"},
                 {"limitConcurrent", true},
                 {"keepWaitingPipelines", true},
                 {"stages", {Wait("1", {}, 10)}}};
  std::string a = Start(config);
  clock_.now_ += 1;
  std::string b = Start(config);
  clock_.now_ += 1;
  std::string c = Start(config);
  Run(120000);
  for (const std::string& id : {a, b, c}) {
    EXPECT_EQ(String(Get(id), "status"), "SUCCEEDED") << id;
  }
  EXPECT_GE(Int(Get(b), "startTime"), Int(Get(a), "endTime"));
  EXPECT_GE(Int(Get(c), "startTime"), Int(Get(b), "endTime"));
}

TEST_F(EngineTest, MaxConcurrentExecutions) {
  Json config = {{"id", "cfg-3"},
                 {"maxConcurrentExecutions", 2},
                 {"keepWaitingPipelines", true},
                 {"stages", {Wait("1", {}, 10)}}};
  std::string a = Start(config), b = Start(config), c = Start(config);
  Run(0);
  int running = 0, waiting = 0;
  for (const std::string& id : {a, b, c}) {
    std::string s = String(Get(id), "status");
    running += s == "RUNNING";
    waiting += s == "NOT_STARTED";
  }
  EXPECT_EQ(running, 2);
  EXPECT_EQ(waiting, 1);
  Run(120000);
  for (const std::string& id : {a, b, c}) {
    EXPECT_EQ(String(Get(id), "status"), "SUCCEEDED");
  }
}

TEST_F(EngineTest, EvaluateVariablesFeedDownstreamExpressions) {
  Json vars = {{"refId", "1"},
               {"type", "evaluateVariables"},
               {"variables",
                Json::array({{{"key", "env"}, {"value", "${parameters.env}"}},
                             {{"key", "full"},
                              {"value", "${env + '-' + trigger.user}"}}})}};
  Json check = Failing("2", {"1"});
  check["preconditions"][0]["context"]["expression"] =
      "${full == 'prod-alice' and #stage('wait 3') == null}";
  // #stage of an unknown name fails: recorded, and the check fails.
  Json w = Wait("3", {"1"});
  w["waitTime"] = "${env == 'prod' ? 2 : 1}";
  std::string id =
      Start({{"stages", {vars, w}}}, {{"parameters", {{"env", "prod"}}}});
  Run(10000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  EXPECT_EQ(StageByRef(e, "1")["outputs"]["env"], "prod");
  EXPECT_EQ(StageByRef(e, "1")["outputs"]["full"], "prod-alice");
  EXPECT_EQ(StageByRef(e, "1")["context"]["variables"][1]["sourceExpression"],
            "${env + '-' + trigger.user}");
  EXPECT_EQ(StageByRef(e, "3")["context"]["waitTime"], 2);
}

TEST_F(EngineTest, FailedExpressionIsRecordedAndStaysText) {
  Json w = Wait("1", {});
  w["note"] = "${#stage('nope').status}";
  std::string id = Start({{"stages", {w}}});
  Run(1000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  const Json& ctx = StageByRef(e, "1")["context"];
  EXPECT_EQ(ctx["note"], "${#stage('nope').status}");
  ASSERT_TRUE(ctx.contains("expressionEvaluationSummary"));
  EXPECT_EQ(ctx["expressionEvaluationSummary"].begin()->at(0)["level"],
            "ERROR");
}

// A trigger parameter of deeply nested JSON read by #readJson used to
// overflow the worker's stack: every restart crashed on the same message.
TEST_F(EngineTest, DeepJsonFromAParameterFailsTheStageNotTheProcess) {
  Json vars = {
      {"refId", "1"},
      {"type", "evaluateVariables"},
      {"failOnFailedExpressions", true},
      {"variables",
       Json::array({{{"key", "v"}, {"value", "${#readJson(parameters.p)}"}}})}};
  std::string deep = std::string(200000, '[') + std::string(200000, ']');
  std::string id = Start({{"stages", {vars, Wait("2", {"1"})}}},
                         {{"parameters", {{"p", deep}}}});
  Run(1000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_EQ(StatusOfRef(e, "1"), "TERMINAL");
  EXPECT_EQ(StatusOfRef(e, "2"), "NOT_STARTED");
  std::string errors =
      Dump(StageByRef(e, "1")["context"]["exception"]["details"]["errors"]);
  EXPECT_NE(errors.find("nests deeper than 100 levels"), std::string::npos)
      << errors;
  // Shallow JSON in the same place still works.
  std::string ok = Start({{"stages", {vars}}},
                         {{"parameters", {{"p", R"({"a": [1, 2]})"}}}});
  Run(1000);
  Json f = Get(ok);
  EXPECT_EQ(String(f, "status"), "SUCCEEDED");
  EXPECT_EQ(StageByRef(f, "1")["outputs"]["v"]["a"][1], 2);
}

TEST_F(EngineTest, FailOnFailedExpressions) {
  Json w = Wait("1", {});
  w["note"] = "${unknownFunction(}";
  w["failOnFailedExpressions"] = true;
  std::string id = Start({{"stages", {w}}});
  Run(1000);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "1"), "TERMINAL");
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_FALSE(
      StageByRef(e, "1")["context"]["exception"]["details"]["errors"].empty());
}

TEST_F(EngineTest, JudgmentHelperAndStageHelpers) {
  Json j = Judgment("1", {});
  Json check = Failing("2", {"1"});
  check["preconditions"][0]["context"]["expression"] =
      "${#judgment('judge 1') == 'ok' && #stage('judge 1').hasSucceeded && "
      "#stageByRefId('1').status == 'SUCCEEDED'}";
  std::string id = Start({{"stages", {j, check}}});
  Run(1000);
  std::string sid = String(StageByRef(Get(id), "1"), "id");
  ASSERT_TRUE(engine_
                  ->UpdateStage(
                      id, sid,
                      {{"judgmentStatus", "continue"}, {"judgmentInput", "ok"}},
                      "bob")
                  .ok());
  Run(1000);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "2"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
}

TEST_F(EngineTest, ExecutionWindowHoldsTheStageUntilItOpens) {
  // 2023-11-14 22:13:20 UTC is a Tuesday (day 3); the window is 23:00-23:30.
  clock_.now_ = 1'700'000'000'000;
  Json w = Wait("1", {});
  w["restrictExecutionDuringTimeWindow"] = true;
  w["restrictedExecutionWindow"] = {
      {"whitelist", Json::array({{{"startHour", 23},
                                  {"startMin", 0},
                                  {"endHour", 23},
                                  {"endMin", 30}}})},
      {"days", Json::array({3})}};
  std::string id = Start({{"stages", {w}}});
  Run(0);
  Json e = Get(id);
  EXPECT_EQ(StatusOfRef(e, "1"), "RUNNING");
  const Json& window = StageByRef(e, "1<1");
  EXPECT_EQ(String(window, "type"), "restrictExecutionDuringTimeWindow");
  int64_t opens = 1'700'000'000'000 + (46 * 60 + 40) * 1000;
  EXPECT_EQ(Int(window["context"], "scheduledTime"), opens);
  Run(3600 * 1000);
  e = Get(id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  EXPECT_GE(Int(StageByRef(e, "1")["tasks"][0], "startTime"), opens);
}

TEST_F(EngineTest, CurrentStageAndStageExists) {
  Json check = Failing("1", {});
  check["name"] = "the check";
  check["preconditions"][0]["context"]["expression"] =
      "${#currentStage().type == 'checkPreconditions' && "
      "#stageExists('the check') && !#stageExists('other')}";
  std::string id = Start({{"stages", {check}}});
  Run(1000);
  EXPECT_EQ(String(Get(id), "status"), "SUCCEEDED");
}

TEST_F(EngineTest, UnknownStageTypeFailsCleanly) {
  std::string id = Start({{"stages", {{{"refId", "1"}, {"type", "nope"}}}}});
  Run(1000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_NE(StageByRef(e, "1")["context"]["exception"].dump().find("nope"),
            std::string::npos);
}

TEST_F(EngineTest, ChildPipelineRunsOnceAndItsOutputsReachTheParent) {
  front50_.pipelines["child-cfg"] = {
      {"id", "child-cfg"},
      {"application", "app"},
      {"name", "child"},
      {"parameterConfig", Json::array({{{"name", "size"}, {"default", "s"}},
                                       {{"name", "who"}, {"required", true}}})},
      {"stages",
       Json::array(
           {{{"refId", "1"},
             {"type", "evaluateVariables"},
             {"variables",
              Json::array(
                  {{{"key", "answer"},
                    {"value", "${parameters.who + parameters.size}"}}})}}})}};
  Json stage = {{"refId", "1"},
                {"type", "pipeline"},
                {"application", "app"},
                {"pipeline", "${#pipelineId('child')}"},
                {"pipelineParameters", {{"who", "me"}}}};
  std::string id = Start({{"stages", {stage, Wait("2", {"1"})}}});
  Run(60000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  const Json& s = StageByRef(e, "1");
  EXPECT_EQ(s["outputs"]["answer"], "mes");
  std::string child_id = String(s["context"], "executionId");
  Json child = Get(child_id);
  EXPECT_EQ(String(child, "status"), "SUCCEEDED");
  EXPECT_EQ(String(child["trigger"], "type"), "pipeline");
  EXPECT_EQ(String(child["trigger"]["parentExecution"], "id"), id);
  EXPECT_EQ(child["trigger"]["parameters"]["size"], "s");
  ExecutionQuery q;
  q.config_ids = {"child-cfg"};
  EXPECT_EQ(store_.List(q)->size(), 1u);
}

TEST_F(EngineTest, ChildPipelineBindsPriorArtifactsOfItsOwnApplicationOnly) {
  const Json image = {
      {"type", "docker/image"}, {"name", "img"}, {"version", "v1"}};
  Json expected = {{"id", "ea"},
                   {"usePriorArtifact", true},
                   {"matchArtifact", {{"type", "docker/image"}}}};
  for (const char* cfg : {"kid", "kid2"}) {
    front50_.pipelines[cfg] = {{"id", cfg},
                               {"application", "app"},
                               {"name", cfg},
                               {"expectedArtifacts", {expected}},
                               {"stages", {Wait("1", {})}}};
  }
  // "kid" ran before in its own application; an execution with config id
  // "kid2" ran in another application only.
  Start({{"id", "kid"}, {"stages", {Wait("1", {})}}}, {{"artifacts", {image}}});
  Start({{"id", "kid2"}, {"application", "other"}, {"stages", {Wait("1", {})}}},
        {{"artifacts", {image}}});
  Run(1000);
  auto child_of = [&](const std::string& cfg) {
    std::string id = Start({{"stages",
                             {{{"refId", "1"},
                               {"type", "pipeline"},
                               {"pipeline", cfg},
                               {"pipelineParameters", Json::object()}}}}});
    Run(60000);
    return Get(id);
  };
  Json e = child_of("kid");
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  Json child = Get(String(StageByRef(e, "1")["context"], "executionId"));
  EXPECT_EQ(child["trigger"]["resolvedExpectedArtifacts"][0]["boundArtifact"],
            image);

  Json e2 = child_of("kid2");
  EXPECT_EQ(String(e2, "status"), "TERMINAL");
  EXPECT_NE(StageByRef(e2, "1")["context"].dump().find("no prior execution"),
            std::string::npos)
      << e2.dump(1);
}

TEST_F(EngineTest, RestartingAPipelineStageStartsANewChild) {
  front50_.pipelines["judged"] = {{"id", "judged"},
                                  {"application", "app"},
                                  {"name", "judged"},
                                  {"stages", {Judgment("1", {})}}};
  std::string id = Start(
      {{"stages",
        {{{"refId", "1"}, {"type", "pipeline"}, {"pipeline", "judged"}}}}});
  Run(1000);
  std::string first =
      String(StageByRef(Get(id), "1")["context"], "executionId");
  std::string judge = String(Get(first)["stages"][0], "id");
  ASSERT_TRUE(
      engine_->UpdateStage(first, judge, {{"judgmentStatus", "stop"}}, "x")
          .ok());
  Run(60000);
  EXPECT_EQ(String(Get(id), "status"), "TERMINAL");
  clock_.now_ += 1000;
  std::string stage_id = String(StageByRef(Get(id), "1"), "id");
  ASSERT_TRUE(engine_->RestartStage(id, stage_id, "x", Json::object()).ok());
  Run(1000);
  std::string second =
      String(StageByRef(Get(id), "1")["context"], "executionId");
  EXPECT_NE(second, first);
  EXPECT_EQ(String(Get(second), "status"), "RUNNING");
}

TEST_F(EngineTest, CancelingTheParentCancelsTheChild) {
  front50_.pipelines["slow"] = {{"id", "slow"},
                                {"application", "app"},
                                {"name", "slow"},
                                {"stages", {Wait("1", {}, 600)}}};
  std::string id =
      Start({{"stages",
              {{{"refId", "1"}, {"type", "pipeline"}, {"pipeline", "slow"}}}}});
  Run(1000);
  std::string child =
      String(StageByRef(Get(id), "1")["context"], "executionId");
  ASSERT_FALSE(child.empty());
  EXPECT_EQ(String(Get(child), "status"), "RUNNING");
  ASSERT_TRUE(engine_->Cancel(id, "gina", "").ok());
  Run(1000);
  EXPECT_EQ(String(Get(id), "status"), "CANCELED");
  EXPECT_EQ(String(Get(child), "status"), "CANCELED");
}

TEST_F(EngineTest, RedeliveredMessagesChangeNothing) {
  std::string id = Start({{"stages", {Wait("1", {}), Wait("2", {"1"})}}});
  Run(1000);
  Json before = Get(id);
  std::string s1 = String(StageByRef(before, "1"), "id");
  // Duplicates of every kind of message arrive after the fact.
  std::vector<Outgoing> dup;
  for (const char* k : {kind::kStartExecution, kind::kStartStage,
                        kind::kCompleteStage, kind::kCompleteExecution}) {
    Outgoing o;
    o.message = {k, id,
                 std::string(k) == kind::kStartExecution ||
                         std::string(k) == kind::kCompleteExecution
                     ? ""
                     : s1,
                 ""};
    dup.push_back(o);
  }
  Outgoing t;
  t.message = {kind::kRunTask, id, s1, "1"};
  dup.push_back(t);
  ASSERT_TRUE(store_.Push(dup).ok());
  Run(1000);
  Json after = Get(id);
  EXPECT_EQ(before.dump(), after.dump());
}

TEST_F(EngineTest, OrchestrationCreatesAndDeletesAnApplication) {
  LaunchOptions o;
  o.now_ms = clock_.NowMs();
  auto exec =
      BuildOrchestration("demo", "Create Application: demo",
                         Json::array({{{"type", "createApplication"},
                                       {"application",
                                        {{"name", "demo"},
                                         {"email", "a@b.c"},
                                         {"cloudProviders", "local"}}}},
                                      {{"type", "deleteApplication"},
                                       {"application", {{"name", "demo"}}}}}),
                         Json::object(), o);
  ASSERT_TRUE(exec.ok());
  ASSERT_TRUE(store_.Create(*exec, "", {StartMessage(*exec)}).ok());
  Run(1000);
  Json e = Get(String(*exec, "id"));
  EXPECT_EQ(String(e, "status"), "SUCCEEDED");
  EXPECT_EQ(String(e, "type"), "ORCHESTRATION");
  EXPECT_EQ(e["stages"][0]["type"], "createApplication");
  EXPECT_TRUE(front50_.apps.empty());  // created, then deleted
}

// Permissions given with the application are stored apart from its
// attributes, where fiat reads them.
TEST_F(EngineTest, CreateApplicationStoresItsPermissions) {
  LaunchOptions o;
  o.now_ms = clock_.NowMs();
  const Json permissions = {{"READ", {"team-a"}}, {"WRITE", {"team-a"}}};
  auto exec = BuildOrchestration(
      "shop", "Create Application: shop",
      Json::array({{{"type", "createApplication"},
                    {"application",
                     {{"name", "shop"}, {"permissions", permissions}}}}}),
      Json::object(), o);
  ASSERT_TRUE(exec.ok());
  ASSERT_TRUE(store_.Create(*exec, "", {StartMessage(*exec)}).ok());
  Run(1000);
  EXPECT_EQ(String(Get(String(*exec, "id")), "status"), "SUCCEEDED");
  ASSERT_EQ(front50_.app_permissions.count("shop"), 1u);
  EXPECT_EQ(front50_.app_permissions["shop"], permissions);
}

TEST_F(EngineTest, PluggedInStageTypeRunsWithoutEngineChanges) {
  // `flaky` is registered by the test itself (see the fixture).
  flaky_->running_results = 0;
  std::string id = Start({{"stages", {{{"refId", "1"}, {"type", "flaky"}}}}});
  Run(1000);
  EXPECT_EQ(String(Get(id), "status"), "SUCCEEDED");
}

// A stage that fails and plans clean-up stages on failure.
class FailNowTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput&) override {
    return TaskResult::Terminal("boom");
  }
};
class FragileStage : public SimpleStage {
 public:
  explicit FragileStage(std::vector<SyntheticStage> on_failure)
      : SimpleStage({"failNow"}), on_failure_(std::move(on_failure)) {}
  std::vector<SyntheticStage> OnFailureStages(const Json&) const override {
    return on_failure_;
  }

 private:
  std::vector<SyntheticStage> on_failure_;
};

TEST_F(EngineTest, OnFailureStagesRunOnceAndTheStageStaysTerminal) {
  registry_.AddTask("failNow", std::make_shared<FailNowTask>());
  registry_.AddStage("fragile",
                     std::make_shared<FragileStage>(std::vector<SyntheticStage>{
                         {"wait", "cleanup 1", {{"waitTime", 5}}},
                         {"wait", "cleanup 2", {{"waitTime", 1}}}}));
  std::string id = Start(
      {{"stages", {{{"refId", "1"}, {"type", "fragile"}}, Wait("2", {"1"})}}});
  Run(60000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  const Json& fragile = StageByRef(e, "1");
  EXPECT_EQ(String(fragile, "status"), "TERMINAL");
  EXPECT_EQ(String(fragile["context"]["exception"]["details"], "error"),
            "boom");
  EXPECT_EQ(StatusOfRef(e, "1>1"), "SUCCEEDED");
  EXPECT_EQ(StatusOfRef(e, "1>2"), "SUCCEEDED");
  EXPECT_EQ(String(StageByRef(e, "1>2"), "syntheticStageOwner"), "STAGE_AFTER");
  EXPECT_EQ(StageByRef(e, "1>2")["requisiteStageRefIds"], Json({"1>1"}));
  // The stage ended after its clean-up; downstream never ran.
  EXPECT_GE(Int(fragile, "endTime"), Int(StageByRef(e, "1>2"), "endTime"));
  EXPECT_GE(Int(StageByRef(e, "1>1"), "endTime") -
                Int(StageByRef(e, "1>1"), "startTime"),
            5000);
  EXPECT_EQ(StatusOfRef(e, "2"), "NOT_STARTED");
  EXPECT_FALSE(PublicView(e).contains(kPrivateKey));

  // A restart plans them again (once).
  ASSERT_TRUE(
      engine_->RestartStage(id, String(fragile, "id"), "bob", Json::object())
          .ok());
  Run(60000);
  e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  int cleanups = 0;
  for (const Json& s : e["stages"]) {
    cleanups += String(s, "parentStageId") == String(fragile, "id");
  }
  EXPECT_EQ(cleanups, 2);
  EXPECT_EQ(StatusOfRef(e, "1>2"), "SUCCEEDED");
}

TEST_F(EngineTest, FailingOnFailureStageStillEndsTheStageTerminal) {
  registry_.AddTask("failNow", std::make_shared<FailNowTask>());
  registry_.AddStage("fragileCleanup", std::make_shared<FragileStage>(
                                           std::vector<SyntheticStage>{}));
  registry_.AddStage("fragile",
                     std::make_shared<FragileStage>(std::vector<SyntheticStage>{
                         {"fragileCleanup", "cleanup 1", Json::object()},
                         {"wait", "cleanup 2", {{"waitTime", 1}}}}));
  std::string id = Start({{"stages", {{{"refId", "1"}, {"type", "fragile"}}}}});
  Run(60000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_EQ(StatusOfRef(e, "1"), "TERMINAL");
  EXPECT_EQ(StatusOfRef(e, "1>1"), "TERMINAL");
  EXPECT_EQ(StatusOfRef(e, "1>2"), "NOT_STARTED");
}

TEST_F(EngineTest, OnFailureStageEndingFailedContinueDoesNotHangTheStage) {
  registry_.AddTask("failNow", std::make_shared<FailNowTask>());
  registry_.AddStage("fragileCleanup", std::make_shared<FragileStage>(
                                           std::vector<SyntheticStage>{}));
  registry_.AddStage(
      "fragile", std::make_shared<FragileStage>(std::vector<SyntheticStage>{
                     {"fragileCleanup",
                      "cleanup 1",
                      {{"failPipeline", false}, {"continuePipeline", true}}},
                     {"wait", "cleanup 2", {{"waitTime", 1}}}}));
  std::string id = Start({{"stages", {{{"refId", "1"}, {"type", "fragile"}}}}});
  Run(60000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL") << e.dump(1);
  EXPECT_EQ(StatusOfRef(e, "1"), "TERMINAL");
  EXPECT_EQ(StatusOfRef(e, "1>1"), "FAILED_CONTINUE");
  EXPECT_EQ(StatusOfRef(e, "1>2"), "NOT_STARTED");
}

TEST_F(EngineTest, RetentionPurgesOldFinishedExecutions) {
  std::string a = Start({{"stages", {Wait("1", {})}}});
  Run(0);
  clock_.now_ += 10LL * 24 * 3600 * 1000;
  std::string b = Start({{"stages", {Wait("1", {}, 600)}}});
  Run(0);
  auto purged = store_.Purge(clock_.NowMs() - 24LL * 3600 * 1000, 0);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 1);
  EXPECT_TRUE(absl::IsNotFound(store_.Get(a).status()));
  EXPECT_TRUE(store_.Get(b).ok());  // still running: kept
}

TEST(LauncherTest, ValidatesConfigsAndParameters) {
  LaunchOptions o;
  o.now_ms = 1;
  Json ok = {
      {"application", "a"},
      {"name", "p"},
      {"parameterConfig", Json::array({{{"name", "env"}, {"required", true}},
                                       {{"name", "size"}, {"default", "m"}}})},
      {"stages", {{{"refId", "1"}, {"type", "wait"}}}}};
  auto missing = BuildPipelineExecution(ok, Json::object(), o);
  EXPECT_TRUE(absl::IsInvalidArgument(missing.status()));
  EXPECT_NE(missing.status().message().find("env"), std::string::npos);
  auto good =
      BuildPipelineExecution(ok, {{"parameters", {{"env", "prod"}}}}, o);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ((*good)["trigger"]["parameters"]["size"], "m");
  EXPECT_EQ((*good)["trigger"]["type"], "manual");
  EXPECT_EQ((*good)["trigger"]["user"], "[anonymous]");

  Json cycle = ok;
  cycle["stages"] = {
      {{"refId", "1"}, {"type", "wait"}, {"requisiteStageRefIds", {"2"}}},
      {{"refId", "2"}, {"type", "wait"}, {"requisiteStageRefIds", {"1"}}}};
  EXPECT_TRUE(absl::IsInvalidArgument(
      BuildPipelineExecution(cycle, {{"parameters", {{"env", "x"}}}}, o)
          .status()));
  Json unknown = ok;
  unknown["stages"] = {
      {{"refId", "1"}, {"type", "wait"}, {"requisiteStageRefIds", {"9"}}}};
  EXPECT_TRUE(absl::IsInvalidArgument(
      BuildPipelineExecution(unknown, {{"parameters", {{"env", "x"}}}}, o)
          .status()));
  Json untyped = ok;
  untyped["stages"] = {{{"refId", "1"}}};
  EXPECT_TRUE(absl::IsInvalidArgument(
      BuildPipelineExecution(untyped, {{"parameters", {{"env", "x"}}}}, o)
          .status()));
  Json disabled = ok;
  disabled["disabled"] = true;
  EXPECT_TRUE(absl::IsFailedPrecondition(
      BuildPipelineExecution(disabled, {{"parameters", {{"env", "x"}}}}, o)
          .status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      BuildPipelineExecution(ok, Json::array(), o).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      BuildPipelineExecution(ok, {{"parameters", "x"}}, o).status()));
}

TEST(JsonPathTest, ReadsNestedValues) {
  Json j = {{"a", {{"b", Json::array({{{"c", "x"}}})}}}, {"s", "DONE"}};
  EXPECT_EQ(JsonPathGet(j, "$.a.b[0].c"), "x");
  EXPECT_EQ(JsonPathGet(j, "$.s"), "DONE");
  EXPECT_EQ(JsonPathGet(j, "$['s']"), "DONE");
  EXPECT_TRUE(JsonPathGet(j, "$.a.b[3]").is_null());
  EXPECT_TRUE(JsonPathGet(j, "$.missing.x").is_null());
}

TEST(ModelTest, StageRestartsCountTheStageAndItsAncestorsOnly) {
  Json exec = {{"id", "E"},
               {"stages",
                {{{"id", "A"}},
                 {{"id", "B"}},
                 {{"id", "A1"}, {"parentStageId", "A"}},
                 {{"id", "A11"}, {"parentStageId", "A1"}}}},
               {kPrivateKey, {{"stageRestarts", {{"A", 1}, {"A1", 2}}}}}};
  EXPECT_EQ(StageRestarts(exec, "A"), 1);
  EXPECT_EQ(StageRestarts(exec, "A1"), 3);
  EXPECT_EQ(StageRestarts(exec, "A11"), 3);
  EXPECT_EQ(StageRestarts(exec, "B"), 0);  // another branch keeps its keys
  EXPECT_EQ(StageRestarts(Json::object(), "A"), 0);
}

// Deck reads trigger.resolvedExpectedArtifacts.length and the stages'
// collections without checks: Spinnaker's orca always serializes them.
TEST(PublicViewTest, FillsSpinnakersDefaultsForWhatTheDocumentLacks) {
  Json bare = {{"type", "PIPELINE"},
               {"id", "E"},
               {"notifications", nullptr},
               {"trigger", {{"type", "webhook"}, {"user", "ci"}}},
               {"stages", {{{"id", "S"}, {"refId", "1"}, {"type", "wait"}}}},
               {kPrivateKey, {{"restarts", 1}}}};
  Json v = PublicView(bare);
  EXPECT_FALSE(v.contains(kPrivateKey));
  EXPECT_EQ(v["notifications"], Json::array());
  EXPECT_EQ(v["systemNotifications"], Json::array());
  EXPECT_EQ(v["initialConfig"], Json::object());
  EXPECT_EQ(v["canceled"], false);
  EXPECT_EQ(v["limitConcurrent"], false);
  EXPECT_EQ(v["keepWaitingPipelines"], false);
  EXPECT_EQ(v["maxConcurrentExecutions"], 0);
  const Json& t = v["trigger"];
  EXPECT_EQ(t["type"], "webhook");  // present values are kept
  EXPECT_EQ(t["user"], "ci");
  EXPECT_EQ(t["parameters"], Json::object());
  for (const char* k : {"artifacts", "notifications",
                        "resolvedExpectedArtifacts", "expectedArtifacts"}) {
    EXPECT_EQ(t[k], Json::array()) << k;
  }
  for (const char* k : {"rebake", "dryRun", "strategy"}) {
    EXPECT_EQ(t[k], false) << k;
  }
  const Json& s = v["stages"][0];
  EXPECT_EQ(s["context"], Json::object());
  EXPECT_EQ(s["outputs"], Json::object());
  EXPECT_EQ(s["tasks"], Json::array());
  EXPECT_EQ(s["requisiteStageRefIds"], Json::array());
  // The stored document itself is untouched.
  EXPECT_FALSE(bare.contains("initialConfig"));
  EXPECT_FALSE(bare["trigger"].contains("resolvedExpectedArtifacts"));

  // Values that are there stay, in the summary view too.
  Json full = bare;
  full["trigger"]["resolvedExpectedArtifacts"] = {{{"id", "a"}}};
  full["stages"][0]["requisiteStageRefIds"] = {"0"};
  full["stages"][0]["context"] = {{"group", "g"}, {"waitTime", 5}};
  Json summary = PublicView(full, /*expand=*/false);
  EXPECT_EQ(summary["trigger"]["resolvedExpectedArtifacts"].size(), 1u);
  EXPECT_EQ(summary["stages"][0]["requisiteStageRefIds"], Json({"0"}));
  EXPECT_EQ(summary["stages"][0]["context"], Json({{"group", "g"}}));
  EXPECT_EQ(summary["stages"][0]["tasks"], Json::array());
}

TEST(PublicViewTest, OrchestrationsAndMissingTriggersGetDefaultsToo) {
  Json v = PublicView(Json{{"type", "ORCHESTRATION"}, {"id", "T"}});
  EXPECT_EQ(v["stages"], Json::array());
  EXPECT_EQ(v["trigger"]["type"], "manual");
  EXPECT_EQ(v["trigger"]["user"], "[anonymous]");
  EXPECT_EQ(v["trigger"]["resolvedExpectedArtifacts"], Json::array());
  // Only pipelines resolve expected artifacts at start.
  EXPECT_FALSE(v["trigger"].contains("expectedArtifacts"));
  // Not an execution document: returned as it is.
  EXPECT_EQ(PublicView(Json("x")), Json("x"));
}

}  // namespace
}  // namespace gennaker::orca
