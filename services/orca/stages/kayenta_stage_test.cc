// The kayentaCanary stage on the engine (in-memory store, manual clock)
// against an in-memory kayenta: intervals and their windows, scores, the
// early stop, kayenta failures, a missing kayenta, and cancel.
#include "services/orca/stages/kayenta_stage.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/spinnaker/time.h"
#include "gtest/gtest.h"
#include "services/orca/engine/engine_test_util.h"
#include "services/orca/launcher.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/fake_clouddriver.h"
#include "services/orca/stages/fake_kayenta.h"

namespace gennaker::orca {
namespace {

using spinnaker::FormatIsoInstant;

constexpr int64_t kMin = 60 * 1000;

Json Scope() {
  return {{"scopeName", "default"},
          {"controlScope", "demo-prod-baseline"},
          {"controlLocation", "localhost"},
          {"experimentScope", "demo-prod-canary"},
          {"experimentLocation", "localhost"},
          {"step", 30},
          {"extendedScopeParams", {{"env", "prod"}}}};
}

// Two hours in hourly intervals after a 5 min warm-up, looking back one
// hour, the baseline read 30 min earlier.
Json CanaryConfig(Json thresholds = {{"marginal", 75}, {"pass", 90}}) {
  return {{"canaryConfigId", "cfg-1"},
          {"metricsAccountName", "prometheus"},
          {"storageAccountName", "kayenta-pg"},
          {"lifetimeDuration", "PT2H"},
          {"canaryAnalysisIntervalMins", 60},
          {"beginCanaryAnalysisAfterMins", 5},
          {"lookbackMins", 60},
          {"baselineAnalysisOffsetInMins", 30},
          {"scoreThresholds", std::move(thresholds)},
          {"scopes", Json::array({Scope()})}};
}

class KayentaStageTest : public ::testing::Test {
 protected:
  void Build(Kayenta* kayenta) {
    StageDeps deps;
    deps.clouddriver = &cd_;
    RegisterBuiltinStages(&registry_, deps);
    RegisterKayentaStage(&registry_, kayenta);
    engine_ = std::make_unique<Engine>(&store_, &registry_, &clock_, nullptr);
  }

  std::string Start(Json canary_config) {
    Json stage = {{"refId", "1"},
                  {"type", "kayentaCanary"},
                  {"name", "Canary Analysis"},
                  {"canaryConfig", std::move(canary_config)}};
    return StartPipeline(
        {{"application", "demo"}, {"name", "canary"}, {"stages", {stage}}});
  }

  std::string StartPipeline(const Json& pipeline,
                            const Json& trigger = Json::object()) {
    LaunchOptions o;
    o.now_ms = clock_.NowMs();
    auto exec = BuildPipelineExecution(pipeline, trigger, o);
    EXPECT_TRUE(exec.ok()) << exec.status();
    auto id = store_.Create(*exec, "", {StartMessage(*exec)});
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }

  void Run(int64_t horizon_ms) {
    testing::RunUntilSettled(engine_.get(), &store_, &clock_, horizon_ms,
                             20000);
  }

  Json Get(const std::string& id) { return testing::GetExecution(&store_, id); }

  static Json ByName(const Json& e, const std::string& name) {
    for (const Json& s : e["stages"]) {
      if (String(s, "name") == name) return s;
    }
    return nullptr;
  }
  static std::vector<std::string> Names(const Json& e) {
    std::vector<std::string> out;
    for (const Json& s : e["stages"]) out.push_back(String(s, "name"));
    return out;
  }
  static std::string Error(const Json& stage) {
    return String(stage["context"]["exception"]["details"], "error");
  }

  testing::ManualClock clock_;
  MemoryStore store_{&clock_};
  Registry registry_;
  std::unique_ptr<Engine> engine_;
  FakeKayenta kayenta_;
  FakeCloudDriver cd_;
};

TEST_F(KayentaStageTest, TwoPassingIntervalsSucceedWithSpinnakersOutputs) {
  Build(&kayenta_);
  kayenta_.outcomes = {{"SUCCEEDED", 95, "", 100},
                       {"SUCCEEDED", 98, "", 10}};  // few samples: a warning
  const int64_t t0 = clock_.NowMs();
  std::string id = Start(CanaryConfig());
  Run(4 * 60 * kMin);
  Json e = Get(id);
  Json canary = ByName(e, "Canary Analysis");
  ASSERT_EQ(String(canary, "status"), "SUCCEEDED") << Dump(e);
  // After-stages of the intervals stage, planned once it fixed its start.
  EXPECT_EQ(Names(e),
            (std::vector<std::string>{"Run Canary Intervals", "Warmup Wait",
                                      "Interval Wait #1", "Run Canary #1",
                                      "Interval Wait #2", "Run Canary #2",
                                      "Canary Analysis"}));

  const Json& out = canary["outputs"];
  EXPECT_EQ(out["canaryScores"], Json::array({95.0, 98.0}));
  EXPECT_EQ(String(out, "canaryScoreMessage"),
            "Final canary score 98.0 met or exceeded the pass score "
            "threshold.");
  EXPECT_EQ(out["canaryExecutionIds"], Json::array({"canary-1", "canary-2"}));
  EXPECT_EQ(Int(out, "lastUpdated"), FakeKayenta::kEndMs + 2000);
  EXPECT_EQ(String(out, "lastUpdatedIso"),
            FormatIsoInstant(FakeKayenta::kEndMs + 2000));
  // Deck reads these from the context.
  EXPECT_EQ(canary["context"]["canaryScores"], out["canaryScores"]);
  EXPECT_EQ(String(canary["context"], "intervalStageId"),
            String(ByName(e, "Run Canary Intervals"), "id"));

  // Each run: its kayenta id (Deck's report link), score and windows.
  ASSERT_EQ(kayenta_.started.size(), 2u);
  for (int i = 1; i <= 2; ++i) {
    Json run = ByName(e, "Run Canary #" + std::to_string(i));
    EXPECT_EQ(String(run, "status"), "SUCCEEDED");
    EXPECT_EQ(String(run["context"], "canaryPipelineExecutionId"),
              "canary-" + std::to_string(i));
    EXPECT_EQ(spinnaker::Double(run["context"], "canaryScore"),
              i == 1 ? 95.0 : 98.0);
    const CanaryRunRequest& req = kayenta_.started[i - 1];
    EXPECT_EQ(req.canary_config_id, "cfg-1");
    EXPECT_EQ(req.application, "demo");
    EXPECT_EQ(req.parent_pipeline_execution_id, id);
    EXPECT_EQ(req.metrics_account, "prometheus");
    EXPECT_EQ(req.pass, 90);
    EXPECT_EQ(req.marginal, 75);
    // Planned when the canary started (the clock has not moved by then):
    // after the 5 min warm-up, window i ends at i hours, looks back 1 h.
    const Json& exp = req.scopes["default"]["experimentScope"];
    const Json& ctl = req.scopes["default"]["controlScope"];
    const int64_t end = t0 + 5 * kMin + i * 60 * kMin;
    EXPECT_EQ(Int(exp, "end"), end);
    EXPECT_EQ(Int(exp, "start"), end - 60 * kMin);
    EXPECT_EQ(Int(ctl, "end"), end - 30 * kMin);
    EXPECT_EQ(Int(ctl, "start"), end - 90 * kMin);
    EXPECT_EQ(String(exp, "scope"), "demo-prod-canary");
    EXPECT_EQ(String(ctl, "scope"), "demo-prod-baseline");
    EXPECT_EQ(Int(exp, "step"), 30);
    EXPECT_EQ(String(exp["extendedScopeParams"], "env"), "prod");
    // The waits hold each run until its window has ended.
    EXPECT_GE(Int(run, "startTime"), end);
  }
  EXPECT_TRUE(ByName(e, "Run Canary #1")["context"]["warnings"].empty());
  EXPECT_EQ(ByName(e, "Run Canary #2")["context"]["warnings"].size(), 1u);
}

TEST_F(KayentaStageTest, AScoreAtOrBelowMarginalStopsTheCanary) {
  Build(&kayenta_);
  // 80 is marginal (above 75, below the pass 90): the canary goes on; 75 is
  // not above the marginal threshold: it stops there.
  kayenta_.outcomes = {{"SUCCEEDED", 80, "", 100},
                       {"SUCCEEDED", 75, "", 100},
                       {"SUCCEEDED", 99, "", 100}};
  Json cfg = CanaryConfig();
  cfg["lifetimeDuration"] = "PT3H";
  std::string id = Start(cfg);
  Run(6 * 60 * kMin);
  Json e = Get(id);
  EXPECT_EQ(String(ByName(e, "Canary Analysis"), "status"), "TERMINAL");
  EXPECT_EQ(kayenta_.started.size(), 2u);
  EXPECT_EQ(String(ByName(e, "Run Canary #1"), "status"), "SUCCEEDED");
  Json second = ByName(e, "Run Canary #2");
  EXPECT_EQ(String(second, "status"), "TERMINAL");
  EXPECT_EQ(String(second["context"], "canaryScoreMessage"),
            "Canary score is not above the marginal score threshold.");
  EXPECT_EQ(spinnaker::Double(second["context"], "canaryScore"), 75.0);
  EXPECT_EQ(String(ByName(e, "Run Canary #3"), "status"), "NOT_STARTED");
  EXPECT_EQ(String(e, "status"), "TERMINAL");
}

TEST_F(KayentaStageTest, AFinalScoreBelowPassFails) {
  Build(&kayenta_);
  kayenta_.outcomes = {{"SUCCEEDED", 95, "", 100}, {"SUCCEEDED", 80, "", 100}};
  std::string id = Start(CanaryConfig());
  Run(4 * 60 * kMin);
  Json canary = ByName(Get(id), "Canary Analysis");
  EXPECT_EQ(String(canary, "status"), "TERMINAL");
  EXPECT_EQ(String(canary["outputs"], "canaryScoreMessage"),
            "Final canary score 80.0 is below the pass score threshold.");
  EXPECT_EQ(canary["outputs"]["canaryScores"], Json::array({95.0, 80.0}));
}

TEST_F(KayentaStageTest, AFailedKayentaRunFailsTheStageWithItsException) {
  Build(&kayenta_);
  kayenta_.outcomes = {
      {"TERMINAL", 0, "prometheus query failed: connection refused", 100}};
  std::string id = Start(CanaryConfig());
  Run(4 * 60 * kMin);
  Json e = Get(id);
  EXPECT_EQ(String(ByName(e, "Canary Analysis"), "status"), "TERMINAL");
  Json run = ByName(e, "Run Canary #1");
  EXPECT_EQ(String(run, "status"), "TERMINAL");
  EXPECT_EQ(Error(run), "prometheus query failed: connection refused");
  EXPECT_EQ(String(run["context"], "canaryPipelineStatus"), "TERMINAL");
  EXPECT_EQ(kayenta_.started.size(), 1u);
}

TEST_F(KayentaStageTest, WithoutKayentaTheStageFailsAtOnceSayingSo) {
  Build(nullptr);
  std::string id = Start(CanaryConfig());
  Run(60 * kMin);
  Json e = Get(id);
  Json canary = ByName(e, "Canary Analysis");
  EXPECT_EQ(String(canary, "status"), "TERMINAL");
  EXPECT_NE(Error(canary).find("services.kayenta.address"), std::string::npos)
      << Error(canary);
  EXPECT_EQ(e["stages"].size(), 1u);  // nothing planned
}

TEST_F(KayentaStageTest, AConfigWithoutLifetimeFailsWithSpinnakersMessage) {
  Build(&kayenta_);
  Json cfg = CanaryConfig();
  cfg.erase("lifetimeDuration");
  std::string id = Start(cfg);
  Run(60 * kMin);
  Json canary = ByName(Get(id), "Canary Analysis");
  EXPECT_EQ(String(canary, "status"), "TERMINAL");
  EXPECT_EQ(Error(canary),
            "Canary stage configuration must include either `endTime` or "
            "`lifetimeDuration`.");
  EXPECT_TRUE(kayenta_.started.empty());
}

TEST_F(KayentaStageTest, AnUnavailableKayentaIsRetried) {
  Build(&kayenta_);
  kayenta_.unavailable = true;
  std::string id = Start(CanaryConfig());
  Run(66 * kMin);  // run #1 is due after 65 min and keeps retrying
  Json run = ByName(Get(id), "Run Canary #1");
  ASSERT_EQ(String(run, "status"), "RUNNING") << Dump(run);
  EXPECT_TRUE(kayenta_.started.empty());
  kayenta_.unavailable = false;
  Run(4 * 60 * kMin);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  EXPECT_EQ(kayenta_.started.size(), 2u);
}

TEST_F(KayentaStageTest, CancelingTheExecutionCancelsTheKayentaRun) {
  Build(&kayenta_);
  kayenta_.polls_running = 1000000;
  std::string id = Start(CanaryConfig());
  // Past the warm-up and the first interval wait: run #1 is being polled.
  Run(65 * kMin + 30 * 1000);
  Json run = ByName(Get(id), "Run Canary #1");
  ASSERT_EQ(String(run, "status"), "RUNNING") << Dump(Get(id));
  ASSERT_GT(kayenta_.polls, 0);
  ASSERT_TRUE(engine_->Cancel(id, "alice", "bad canary").ok());
  Run(60 * 1000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "CANCELED");
  ASSERT_FALSE(kayenta_.canceled.empty());
  EXPECT_EQ(kayenta_.canceled[0], "canary-1");
  EXPECT_EQ(kayenta_.started.size(), 1u);
}

// The canary release of the README on the local provider: a baseline (the
// version in production) and a canary (the new one) behind production's
// load balancer, the analysis, then promotion red/black, and the canary and
// baseline destroyed whatever the outcome; a failed canary fails the
// pipeline at the end.
Json CanaryReleasePipeline() {
  auto side = [](const char* detail, const char* version) {
    return Json{
        {"application", "demo"},
        {"stack", "web"},
        {"freeFormDetails", detail},
        {"credentials", "local"},
        {"cloudProvider", "local"},
        {"availabilityZones", {{"localhost", {"localhost"}}}},
        {"capacity", {{"min", 1}, {"max", 1}, {"desired", 1}}},
        {"command",
         {"/opt/gennaker/bin/gennaker-demo", "--port", "{{port}}", "--version",
          version}},
        {"healthCheck",
         {{"path", "/health"}, {"intervalMs", 250}, {"healthyThreshold", 2}}},
        {"loadBalancers", {"demo"}},
        {"strategy", ""}};
  };
  Json production = side("", "${parameters.version}");
  production.erase("freeFormDetails");
  production["capacity"] = {{"min", 3}, {"max", 3}, {"desired", 3}};
  production["strategy"] = "redblack";
  production["scaleDown"] = true;
  production["maxRemainingAsgs"] = 2;
  production["rollback"] = {{"onFailure", true}};
  auto destroy = [](const char* ref, const char* name, const char* cluster) {
    return Json{{"refId", ref},
                {"requisiteStageRefIds", {"4"}},
                {"type", "destroyServerGroup"},
                {"name", name},
                {"cloudProvider", "local"},
                {"credentials", "local"},
                {"cluster", cluster},
                {"regions", {"localhost"}},
                {"target", "current_asg_dynamic"}};
  };
  return {{"application", "demo"},
          {"name", "canary-release"},
          {"parameterConfig",
           {{{"name", "version"}, {"required", true}},
            {{"name", "baselineVersion"}, {"required", true}}}},
          {"stages",
           {{{"refId", "1"},
             {"type", "deploy"},
             {"name", "Deploy baseline"},
             {"clusters", {side("baseline", "${parameters.baselineVersion}")}}},
            {{"refId", "2"},
             {"type", "deploy"},
             {"name", "Deploy canary"},
             {"clusters", {side("canary", "${parameters.version}")}}},
            {{"refId", "3"},
             {"requisiteStageRefIds", {"1", "2"}},
             {"type", "kayentaCanary"},
             {"name", "Canary Analysis"},
             {"continuePipeline", true},
             {"canaryConfig",
              {{"canaryConfigId", "demo-latency"},
               {"metricsAccountName", "prometheus"},
               {"lifetimeDuration", "PT30M"},
               {"canaryAnalysisIntervalMins", 10},
               {"beginCanaryAnalysisAfterMins", 2},
               {"scoreThresholds", {{"marginal", 50}, {"pass", 75}}},
               {"scopes",
                {{{"scopeName", "default"},
                  {"controlScope",
                   "${#stage('Deploy baseline').outputs['deploy.server.groups']"
                   "['localhost'][0]}"},
                  {"controlLocation", "localhost"},
                  {"experimentScope",
                   "${#stage('Deploy canary').outputs['deploy.server.groups']"
                   "['localhost'][0]}"},
                  {"experimentLocation", "localhost"},
                  {"step", 10}}}}}}},
            {{"refId", "4"},
             {"requisiteStageRefIds", {"3"}},
             {"type", "deploy"},
             {"name", "Promote"},
             {"stageEnabled",
              {{"type", "expression"},
               {"expression",
                "${#stage('Canary Analysis').status == 'SUCCEEDED'}"}}},
             {"clusters", {production}}},
            destroy("5", "Destroy canary", "demo-web-canary"),
            destroy("6", "Destroy baseline", "demo-web-baseline"),
            {{"refId", "7"},
             {"requisiteStageRefIds", {"5", "6"}},
             {"type", "checkPreconditions"},
             {"name", "Canary passed"},
             {"preconditions",
              {{{"type", "stageStatus"},
                {"failPipeline", true},
                {"context",
                 {{"stageName", "Canary Analysis"},
                  {"stageStatus", "SUCCEEDED"}}}}}}}}}};
}

TEST_F(KayentaStageTest, CanaryReleasePromotesAPassingCanary) {
  Build(&kayenta_);
  kayenta_.outcomes = {{"SUCCEEDED", 90, "", 100},
                       {"SUCCEEDED", 92, "", 100},
                       {"SUCCEEDED", 96, "", 100}};
  std::string id = StartPipeline(
      CanaryReleasePipeline(),
      {{"type", "manual"},
       {"parameters", {{"version", "v2"}, {"baselineVersion", "v1"}}}});
  Run(2 * 60 * kMin);
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  EXPECT_EQ(String(ByName(e, "Promote"), "status"), "SUCCEEDED");
  ASSERT_EQ(kayenta_.started.size(), 3u);
  const Json& scope = kayenta_.started[0].scopes["default"];
  EXPECT_EQ(String(scope["controlScope"], "scope"), "demo-web-baseline-v000");
  EXPECT_EQ(String(scope["experimentScope"], "scope"), "demo-web-canary-v000");
  std::vector<std::string> groups;
  for (const auto& [name, g] : cd_.groups) groups.push_back(name);
  EXPECT_EQ(groups, std::vector<std::string>{"demo-web-v000"});
}

TEST_F(KayentaStageTest, CanaryReleaseCleansUpAndFailsAFailingCanary) {
  Build(&kayenta_);
  kayenta_.outcomes = {{"SUCCEEDED", 30, "", 100}};
  std::string id = StartPipeline(
      CanaryReleasePipeline(),
      {{"type", "manual"},
       {"parameters", {{"version", "v2"}, {"baselineVersion", "v1"}}}});
  Run(2 * 60 * kMin);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL") << Dump(e);
  EXPECT_EQ(String(ByName(e, "Canary Analysis"), "status"), "FAILED_CONTINUE");
  EXPECT_EQ(String(ByName(e, "Promote"), "status"), "SKIPPED");
  EXPECT_EQ(String(ByName(e, "Destroy canary"), "status"), "SUCCEEDED");
  EXPECT_EQ(String(ByName(e, "Destroy baseline"), "status"), "SUCCEEDED");
  EXPECT_EQ(kayenta_.started.size(), 1u);
  EXPECT_TRUE(cd_.groups.empty());
}

// Windows of the reference's vectors, in minutes from now.
std::vector<std::pair<int64_t, int64_t>> Windows(Json extra, int64_t now) {
  Json cfg = {{"canaryConfigId", "c"}, {"scopes", Json::array({Scope()})}};
  for (auto it = extra.begin(); it != extra.end(); ++it) cfg[it.key()] = *it;
  auto plan = PlanCanaryIntervals(cfg, now);
  EXPECT_TRUE(plan.ok()) << plan.status();
  std::vector<std::pair<int64_t, int64_t>> out;
  if (!plan.ok()) return out;
  for (const CanaryWindow& w : plan->runs) {
    out.push_back(
        {(w.control_start_ms - now) / kMin, (w.control_end_ms - now) / kMin});
  }
  return out;
}

TEST(PlanCanaryIntervalsTest, MatchesSpinnakersWindows) {
  using W = std::vector<std::pair<int64_t, int64_t>>;
  const int64_t now = 1'700'000'000'000;
  // Start and end given (240 min).
  auto with_end = [&](Json extra) {
    Json s = Scope();
    s["startTimeIso"] = FormatIsoInstant(now);
    s["endTimeIso"] = FormatIsoInstant(now + 240 * kMin);
    extra["scopes"] = Json::array({s});
    return Windows(extra, now);
  };
  EXPECT_EQ(with_end({}), (W{{0, 240}}));
  EXPECT_EQ(with_end({{"canaryAnalysisIntervalMins", 60}}),
            (W{{0, 60}, {0, 120}, {0, 180}, {0, 240}}));
  EXPECT_EQ(with_end({{"beginCanaryAnalysisAfterMins", 15}}), (W{{0, 240}}));
  EXPECT_EQ(with_end({{"lookbackMins", 120}}), (W{{120, 240}}));
  EXPECT_EQ(
      with_end({{"canaryAnalysisIntervalMins", ""}, {"lookbackMins", 60}}),
      (W{{180, 240}}));
  EXPECT_EQ(with_end({{"beginCanaryAnalysisAfterMins", 15},
                      {"canaryAnalysisIntervalMins", 60},
                      {"lookbackMins", 60}}),
            (W{{0, 60}, {60, 120}, {120, 180}, {180, 240}}));
  EXPECT_EQ(with_end({{"canaryAnalysisIntervalMins", 300}}), (W{{0, 240}}));
  EXPECT_EQ(with_end({{"baselineAnalysisOffsetInMins", 30}}), (W{{-30, 210}}));

  // No start or end, a 48 h lifetime.
  auto life = [&](Json extra) {
    extra["lifetimeDuration"] = "PT48H";
    return Windows(extra, now);
  };
  EXPECT_EQ(life({}), (W{{0, 2880}}));
  EXPECT_EQ(life({{"canaryAnalysisIntervalMins", 480}}).size(), 6u);
  EXPECT_EQ(life({{"canaryAnalysisIntervalMins", 480}})[5],
            (std::pair<int64_t, int64_t>{0, 2880}));
  EXPECT_EQ(life({{"beginCanaryAnalysisAfterMins", 45}}), (W{{45, 2925}}));
  EXPECT_EQ(life({{"lookbackMins", 60}}), (W{{2820, 2880}}));
  W sliding = life({{"beginCanaryAnalysisAfterMins", 45},
                    {"canaryAnalysisIntervalMins", 480},
                    {"lookbackMins", 60}});
  ASSERT_EQ(sliding.size(), 6u);
  EXPECT_EQ(sliding[0], (std::pair<int64_t, int64_t>{465, 525}));
  EXPECT_EQ(sliding[5], (std::pair<int64_t, int64_t>{2865, 2925}));
  // lifetimeHours when lifetimeDuration is absent.
  Json hours = {{"canaryConfigId", "c"},
                {"lifetimeHours", 2},
                {"scopes", Json::array({Scope()})}};
  EXPECT_EQ(PlanCanaryIntervals(hours, now)->runs.size(), 1u);
  EXPECT_EQ(PlanCanaryIntervals(hours, now)->interval_wait_s, 7200);
}

TEST(PlanCanaryIntervalsTest, RefusesWhatCannotBePlanned) {
  Json no_lifetime = {{"canaryConfigId", "c"},
                      {"scopes", Json::array({Scope()})}};
  auto p = PlanCanaryIntervals(no_lifetime, 0);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "Canary stage configuration must include either `endTime` or "
            "`lifetimeDuration`.");
  Json bad = no_lifetime;
  bad["lifetimeDuration"] = "1 hour";
  EXPECT_FALSE(PlanCanaryIntervals(bad, 0).ok());
  Json no_scopes = {{"canaryConfigId", "c"}, {"lifetimeDuration", "PT1H"}};
  EXPECT_FALSE(PlanCanaryIntervals(no_scopes, 0).ok());
  Json many = no_lifetime;
  many["lifetimeDuration"] = "P30D";
  many["canaryAnalysisIntervalMins"] = 1;
  EXPECT_FALSE(PlanCanaryIntervals(many, 0).ok());
}

// The instants the stage writes are Java's (common/spinnaker/time.h).
TEST(KayentaIsoTest, RunWindowsAreWrittenAsJavaInstants) {
  Json cfg = {{"canaryConfigId", "c"},
              {"lifetimeDuration", "PT1H"},
              {"scopes", Json::array({Scope()})}};
  EXPECT_TRUE(PlanCanaryIntervals(cfg, 1500).ok());
  EXPECT_EQ(FormatIsoInstant(1500), "1970-01-01T00:00:01.500Z");
  cfg["lifetimeDuration"] = "pt90m";
  auto plan = PlanCanaryIntervals(cfg, 0);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->runs[0].experiment_end_ms, 90 * kMin);
  cfg["lifetimeDuration"] = "P1H";
  EXPECT_FALSE(PlanCanaryIntervals(cfg, 0).ok());
}

// Without scoreThresholds (or with one of them) every check uses
// Spinnaker's defaults, pass 75 and marginal 50: the runs kayenta scores,
// each run's stop rule and the final judgement agree.
TEST_F(KayentaStageTest, MissingThresholdsTakeTheDefaultsEverywhere) {
  Build(&kayenta_);
  kayenta_.outcomes = {{"SUCCEEDED", 95, "", 100}, {"SUCCEEDED", 60, "", 100}};
  Json cfg = CanaryConfig();
  cfg.erase("scoreThresholds");
  std::string id = Start(cfg);
  Run(4 * 60 * kMin);
  Json e = Get(id);
  Json canary = ByName(e, "Canary Analysis");
  // 60 is above the marginal 50 (run #2 goes through) but below pass 75.
  EXPECT_EQ(String(ByName(e, "Run Canary #2"), "status"), "SUCCEEDED");
  EXPECT_EQ(String(canary, "status"), "TERMINAL") << Dump(e);
  EXPECT_EQ(String(canary["outputs"], "canaryScoreMessage"),
            "Final canary score 60.0 is below the pass score threshold.");
  ASSERT_EQ(kayenta_.started.size(), 2u);
  for (const CanaryRunRequest& req : kayenta_.started) {
    EXPECT_EQ(req.pass, 75);
    EXPECT_EQ(req.marginal, 50);
  }
  EXPECT_EQ(ByName(e, "Run Canary #1")["context"]["scoreThresholds"],
            (Json{{"pass", 75.0}, {"marginal", 50.0}}));

  // Only marginal given: pass is still 75 for the final judgement.
  kayenta_ = FakeKayenta();
  kayenta_.outcomes = {{"SUCCEEDED", 95, "", 100}, {"SUCCEEDED", 60, "", 100}};
  id = Start(CanaryConfig({{"marginal", 5}}));
  Run(4 * 60 * kMin);
  canary = ByName(Get(id), "Canary Analysis");
  EXPECT_EQ(String(canary, "status"), "TERMINAL");
  EXPECT_EQ(String(canary["outputs"], "canaryScoreMessage"),
            "Final canary score 60.0 is below the pass score threshold.");
  ASSERT_EQ(kayenta_.started.size(), 2u);
  EXPECT_EQ(kayenta_.started[1].pass, 75);
  EXPECT_EQ(kayenta_.started[1].marginal, 5);

  // Empty thresholds: a final 80 passes the default 75.
  kayenta_ = FakeKayenta();
  kayenta_.outcomes = {{"SUCCEEDED", 95, "", 100}, {"SUCCEEDED", 80, "", 100}};
  id = Start(CanaryConfig(Json::object()));
  Run(4 * 60 * kMin);
  canary = ByName(Get(id), "Canary Analysis");
  EXPECT_EQ(String(canary, "status"), "SUCCEEDED");
  EXPECT_EQ(String(canary["outputs"], "canaryScoreMessage"),
            "Final canary score 80.0 met or exceeded the pass score "
            "threshold.");

  // The plan carries the thresholds the runs use.
  Json planned = CanaryConfig({{"pass", "80"}});
  auto plan = PlanCanaryIntervals(planned, 0);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->thresholds.pass, 80);
  EXPECT_EQ(plan->thresholds.marginal, 50);
}

TEST_F(KayentaStageTest, ANaNScoreFailsTheRun) {
  Build(&kayenta_);
  kayenta_.outcomes = {{"SUCCEEDED", std::nan(""), "", 100}};
  std::string id = Start(CanaryConfig());
  Run(4 * 60 * kMin);
  Json e = Get(id);
  Json run = ByName(e, "Run Canary #1");
  EXPECT_EQ(String(run, "status"), "TERMINAL") << Dump(e);
  EXPECT_EQ(String(run["context"], "canaryScoreMessage"),
            "Canary score is not above the marginal score threshold.");
  EXPECT_EQ(String(ByName(e, "Canary Analysis"), "status"), "TERMINAL");
  EXPECT_EQ(kayenta_.started.size(), 1u);
}

TEST_F(KayentaStageTest, ThresholdsThatAreNotFiniteNumbersFailTheStage) {
  Build(&kayenta_);
  std::string id = Start(CanaryConfig({{"marginal", 50}, {"pass", "NaN"}}));
  Run(60 * kMin);
  Json canary = ByName(Get(id), "Canary Analysis");
  EXPECT_EQ(String(canary, "status"), "TERMINAL");
  EXPECT_EQ(Error(canary),
            "canaryConfig.scoreThresholds.pass must be a finite number, not "
            "\"NaN\"");
  EXPECT_TRUE(kayenta_.started.empty());

  Json cfg = CanaryConfig();
  for (Json bad :
       {Json("nan"), Json("inf"), Json("-Infinity"), Json("high"), Json(true),
        Json::array({75}), Json(std::numeric_limits<double>::quiet_NaN()),
        Json(std::numeric_limits<double>::infinity())}) {
    cfg["scoreThresholds"] = {{"marginal", bad}};
    auto plan = PlanCanaryIntervals(cfg, 0);
    ASSERT_FALSE(plan.ok()) << Dump(bad);
    EXPECT_NE(plan.status().message().find("scoreThresholds.marginal"),
              std::string::npos)
        << plan.status();
  }
  // Numbers, numeric strings, and null / "" (the default) are fine.
  cfg["scoreThresholds"] = {{"marginal", "60.5"}, {"pass", nullptr}};
  auto plan = PlanCanaryIntervals(cfg, 0);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->thresholds.marginal, 60.5);
  EXPECT_EQ(plan->thresholds.pass, 75);
}

// Values whose products with 60 or 60,000 would overflow int64 are refused
// with a message, before any arithmetic.
TEST(PlanCanaryIntervalsTest, RefusesValuesThatWouldOverflow) {
  const Json base = {{"canaryConfigId", "c"},
                     {"lifetimeDuration", "PT1H"},
                     {"scopes", Json::array({Scope()})}};
  auto refused = [&](const char* key, Json value) -> std::string {
    Json cfg = base;
    cfg[key] = std::move(value);
    if (std::string(key) == "lifetimeHours") cfg.erase("lifetimeDuration");
    auto plan = PlanCanaryIntervals(cfg, 1'700'000'000'000);
    return plan.ok() ? "" : std::string(plan.status().message());
  };
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  for (const char* key :
       {"beginCanaryAnalysisAfterMins", "baselineAnalysisOffsetInMins",
        "lookbackMins", "canaryAnalysisIntervalMins"}) {
    for (Json bad :
         {Json(kMax), Json(kMax / 60), Json(kMax / 60000 + 1), Json(10'000'001),
          Json(-1), Json(1.5), Json(1e300), Json("9223372036854775807"),
          Json("ten"), Json(std::numeric_limits<uint64_t>::max())}) {
      EXPECT_EQ(refused(key, bad),
                absl::StrCat("canaryConfig.", key,
                             " must be a whole number of minutes from 0 to "
                             "10000000, not ",
                             Dump(bad)))
          << key << " " << Dump(bad);
    }
    EXPECT_EQ(refused(key, 10'000'000), "") << key;
    EXPECT_EQ(refused(key, "30"), "") << key;
    EXPECT_EQ(refused(key, 30.0), "") << key;
  }
  EXPECT_EQ(refused("lifetimeHours", kMax / 30),
            absl::StrCat("canaryConfig.lifetimeHours must be a whole number of "
                         "hours from 0 to 8760, not ",
                         kMax / 30));
  EXPECT_NE(refused("lifetimeHours", 8761), "");
  EXPECT_NE(refused("lifetimeHours", 2.5), "");
  EXPECT_EQ(refused("lifetimeHours", 8760), "");
  EXPECT_NE(refused("lifetimeDuration", "P366D").find("longer than the one"),
            std::string::npos);
  EXPECT_EQ(refused("lifetimeDuration", "P365D"), "");
  // A start and end more than a year apart.
  Json scope = Scope();
  scope["startTimeIso"] = "0001-01-01T00:00:00Z";
  scope["endTimeIso"] = "9999-12-31T23:59:59Z";
  EXPECT_NE(refused("scopes", Json::array({scope})).find("one year"),
            std::string::npos);
}

TEST_F(KayentaStageTest, HugeMinuteFieldsFailTheStageSayingWhy) {
  Build(&kayenta_);
  Json cfg = CanaryConfig();
  cfg["beginCanaryAnalysisAfterMins"] = std::numeric_limits<int64_t>::max();
  std::string id = Start(cfg);
  Run(60 * kMin);
  Json e = Get(id);
  Json canary = ByName(e, "Canary Analysis");
  EXPECT_EQ(String(canary, "status"), "TERMINAL");
  EXPECT_EQ(Error(canary),
            "canaryConfig.beginCanaryAnalysisAfterMins must be a whole number "
            "of minutes from 0 to 10000000, not 9223372036854775807");
  EXPECT_EQ(e["stages"].size(), 1u);
  EXPECT_TRUE(kayenta_.started.empty());
}

// Stage documents without a context, or with one that is not an object, and
// executions without stages: nothing is planned, nothing crashes.
TEST_F(KayentaStageTest, MalformedStagesAreReadWithCheckedAccess) {
  Build(&kayenta_);
  const StageDefinition* canary = registry_.FindStage("kayentaCanary");
  const StageDefinition* intervals = registry_.FindStage("runCanaryIntervals");
  const StageDefinition* run = registry_.FindStage("runCanary");
  ASSERT_NE(canary, nullptr);
  ASSERT_NE(intervals, nullptr);
  ASSERT_NE(run, nullptr);
  for (const Json& stage :
       {Json{{"type", "kayentaCanary"}}, Json{{"context", "oops"}},
        Json{{"context", 5}}, Json{{"context", Json::array({1})}}}) {
    EXPECT_TRUE(canary->BeforeStages(stage).empty()) << Dump(stage);
    EXPECT_TRUE(intervals->AfterStages(stage).empty()) << Dump(stage);
    run->Cancel(Json::object(), stage, nullptr);
  }
  EXPECT_TRUE(kayenta_.canceled.empty());

  Task* aggregate = registry_.FindTask("aggregateCanaryResults");
  ASSERT_NE(aggregate, nullptr);
  const Json stage = {{"id", "s1"},
                      {"context", {{"canaryConfig", CanaryConfig()}}}};
  const Json& ctx = stage["context"];
  const Json interval = {
      {"id", "i1"}, {"parentStageId", "s1"}, {"type", "runCanaryIntervals"}};
  const Json no_context = {{"id", "r1"},
                           {"parentStageId", "i1"},
                           {"type", "runCanary"},
                           {"name", "Run Canary #1"}};
  for (const Json& execution :
       {Json::object(), Json{{"stages", "oops"}},
        Json{{"stages", Json::array({interval, no_context})}}}) {
    TaskInput in{execution, stage, ctx, 0, "", nullptr, nullptr};
    absl::StatusOr<TaskResult> r = aggregate->Execute(in);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(Dump(r->context["exception"]["details"]["error"]),
              "\"No canary run has a score\"")
        << Dump(execution);
  }
}

// A status kayenta reports that orca does not know ends the run at once,
// naming the status, instead of being polled for 12 hours.
TEST_F(KayentaStageTest, AnUnknownKayentaStatusFailsTheRun) {
  CanaryRun r;
  r.id = "c-1";
  SetCanaryRunStatus(2, &r);
  EXPECT_EQ(r.status, "RUNNING");
  SetCanaryRunStatus(42, &r);
  EXPECT_EQ(r.status, "TERMINAL");
  EXPECT_EQ(String(r.json["exception"]["details"], "error"),
            "Canary execution c-1 has a status orca does not know (42); it is "
            "treated as failed");

  Build(&kayenta_);
  kayenta_.end_proto_status = 0;  // CANARY_STATUS_UNSPECIFIED
  std::string id = Start(CanaryConfig());
  Run(2 * 60 * kMin);
  Json e = Get(id);
  Json run = ByName(e, "Run Canary #1");
  EXPECT_EQ(String(run, "status"), "TERMINAL") << Dump(e);
  EXPECT_EQ(Error(run),
            "Canary execution canary-1 has a status orca does not know "
            "(CANARY_STATUS_UNSPECIFIED); it is treated as failed");
  EXPECT_EQ(String(ByName(e, "Canary Analysis"), "status"), "TERMINAL");
}

}  // namespace
}  // namespace gennaker::orca
