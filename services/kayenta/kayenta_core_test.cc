// Unit tests of KayentaCore: in-memory store, a fake metrics source that
// answers fixed series, the real judge and mixer, and a manual clock.
#include "services/kayenta/kayenta_core.h"

#include <atomic>
#include <limits>
#include <map>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/kayenta/fake_metrics_source.h"
#include "services/kayenta/store/in_memory_kayenta_store.h"

namespace gennaker::kayenta {
namespace {

using ::gennaker::testing::StatusIs;
using testing::Config;
using testing::FakeSource;
using ::testing::HasSubstr;
using testing::ManualClock;
using testing::Request;
using testing::Series;

class CoreTest : public ::testing::Test {
 protected:
  CoreTest() {
    auto src = std::make_unique<FakeSource>();
    source_ = src.get();
    std::vector<std::unique_ptr<MetricsSource>> sources;
    sources.push_back(std::move(src));
    CoreOptions o;
    o.worker_threads = 0;
    o.tick = absl::ZeroDuration();
    core_ =
        std::make_unique<KayentaCore>(&store_, std::move(sources), &clock_, o);
    source_->Set("baseline", Series(10));
    source_->Set("canary", Series(10));
  }

  Json Body(const Record& r) { return *spinnaker::ParseJson(r.body); }

  Json Execution(const std::string& id) {
    auto r = core_->GetExecution(id);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? Body(*r) : Json();
  }

  ManualClock clock_;
  InMemoryKayentaStore store_;
  FakeSource* source_;
  std::unique_ptr<KayentaCore> core_;
};

TEST_F(CoreTest, ConfigValidationMessages) {
  Json c = Config();
  c.erase("name");
  EXPECT_THAT(core_->CreateConfig(c, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Canary config must specify a name."));
  c = Config();
  c["applications"] = Json::array();
  EXPECT_THAT(core_->CreateConfig(c, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Canary config must specify at least one application."));
  c = Config();
  c["metrics"].push_back(c["metrics"][0]);
  EXPECT_THAT(core_->CreateConfig(c, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Metric config name must be unique. 'cpu' is "
                       "duplicated."));
  c = Config();
  c["metrics"][0].erase("scopeName");
  EXPECT_THAT(
      core_->CreateConfig(c, ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scopeName")));
  c = Config();
  c["judge"]["name"] = "dredd-v1.0";
  EXPECT_THAT(
      core_->CreateConfig(c, ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dredd-v1.0")));
  c = Config("bad name!");
  EXPECT_THAT(core_->CreateConfig(c, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto all = core_->ListConfigs({});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(CoreTest, ConfigCrud) {
  auto id = core_->CreateConfig(Config(), "key-1");
  ASSERT_TRUE(id.ok()) << id.status();
  // A retry with the same key answers the first id.
  auto again = core_->CreateConfig(Config(), "key-1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *id);
  // Same name in an overlapping application is refused.
  EXPECT_THAT(core_->CreateConfig(Config("my-canary", {"other", "app"}), ""),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // ... but fine in another application.
  EXPECT_TRUE(core_->CreateConfig(Config("my-canary", {"other"}), "").ok());
  // A taken id.
  Json withid = Config("x");
  withid["id"] = *id;
  EXPECT_THAT(core_->CreateConfig(withid, ""),
              StatusIs(absl::StatusCode::kAlreadyExists));

  auto got = core_->GetConfig(*id);
  ASSERT_TRUE(got.ok());
  Json body = Body(*got);
  EXPECT_EQ(body["id"], *id);
  EXPECT_EQ(body["createdTimestamp"], clock_.NowMs());

  auto list = core_->ListConfigs({"app"});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "my-canary");

  clock_.Advance(1000);
  const int64_t stamp = got->updated_ms;
  Json renamed = Config("renamed");
  EXPECT_TRUE(core_->UpdateConfig(*id, renamed, stamp).ok());
  // The stale stamp is refused now.
  EXPECT_THAT(core_->UpdateConfig(*id, renamed, stamp),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(core_->UpdateConfig("nope", renamed, 0),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(core_->GetConfig(*id)->name, "renamed");
  EXPECT_TRUE(*core_->DeleteConfig(*id));
  EXPECT_FALSE(*core_->DeleteConfig(*id));
  EXPECT_THAT(core_->GetConfig(*id), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CoreTest, StartCanaryValidates) {
  auto cid = core_->CreateConfig(Config(), "");
  ASSERT_TRUE(cid.ok());
  RunSource src;
  src.canary_config_id = *cid;
  Json req = Request();
  req.erase("thresholds");
  EXPECT_THAT(core_->StartCanary(src, req),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Execution request must contain thresholds"));
  req = Request();
  req["scopes"]["other"] = req["scopes"]["default"];
  req["scopes"].erase("default");
  EXPECT_THAT(
      core_->StartCanary(src, req),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("default")));
  src.metrics_account = "missing-account";
  EXPECT_THAT(core_->StartCanary(src, Request()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("missing-account")));
  src.metrics_account = "";
  src.canary_config_id = "no-such-config";
  EXPECT_THAT(core_->StartCanary(src, Request()),
              StatusIs(absl::StatusCode::kNotFound));
  auto list = core_->ListExecutions("", {}, 0, 0);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(CoreTest, CanaryRunPassesAndIsJudged) {
  auto cid = core_->CreateConfig(Config(), "");
  ASSERT_TRUE(cid.ok());
  RunSource src;
  src.canary_config_id = *cid;
  src.application = "app";
  src.idempotency_key = "run-1";
  auto id = core_->StartCanary(src, Request());
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*core_->StartCanary(src, Request()), *id);
  Json st = Execution(*id);
  EXPECT_EQ(st["status"], "not_started");
  EXPECT_EQ(st["complete"], false);

  core_->RunQueued();
  st = Execution(*id);
  EXPECT_EQ(st["status"], "succeeded") << st.dump(2);
  EXPECT_EQ(st["complete"], true);
  EXPECT_EQ(st["canaryConfigId"], *cid);
  EXPECT_EQ(st["metricsAccountName"], "prom");
  for (const char* s : {"setupContext", "fetchControl0", "fetchExperiment0",
                        "mixMetrics", "judge"}) {
    EXPECT_EQ(st["stageStatus"][s], "succeeded") << s;
  }
  EXPECT_EQ(st["result"]["canaryDuration"], "PT1H");
  EXPECT_DOUBLE_EQ(st["result"]["judgeResult"]["score"]["score"].get<double>(),
                   100.0);
  // The control side was asked for the baseline scope over its window.
  auto q = source_->queries();
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].scope, "baseline");
  EXPECT_EQ(q[1].scope, "canary");
  EXPECT_EQ(q[0].end_ms - q[0].start_ms, 3600000);
  // The pair list was stored and can be judged again.
  const std::string list_id = st["metricSetPairListId"];
  auto judged = core_->Judge(*cid, list_id, Thresholds{75, 50});
  ASSERT_TRUE(judged.ok()) << judged.status();
  EXPECT_DOUBLE_EQ((*judged)["score"]["score"].get<double>(), 100.0);
  EXPECT_THAT(core_->Judge(*cid, list_id, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(core_->Judge(*cid, "nope", Thresholds{75, 50}),
              StatusIs(absl::StatusCode::kNotFound));

  auto listed = core_->ListExecutions("app", {"succeeded"}, 10, 0);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, *id);
  EXPECT_FALSE(core_->CancelCanary(*id).value());
}

TEST_F(CoreTest, CanaryRunFailsOnHighMetric) {
  source_->Set("canary", Series(30));
  RunSource src;
  src.inline_config = Config();
  auto id = core_->StartCanary(src, Request());
  ASSERT_TRUE(id.ok()) << id.status();
  core_->RunQueued();
  Json st = Execution(*id);
  EXPECT_EQ(st["status"], "succeeded");
  EXPECT_EQ(st["application"], "ad-hoc");
  EXPECT_FALSE(st.contains("canaryConfigId"));
  EXPECT_DOUBLE_EQ(st["result"]["judgeResult"]["score"]["score"].get<double>(),
                   0.0);
}

TEST_F(CoreTest, FetchFailureEndsTerminal) {
  source_->Fail(absl::UnavailableError("prometheus is down"));
  RunSource src;
  src.inline_config = Config();
  auto id = core_->StartCanary(src, Request());
  ASSERT_TRUE(id.ok());
  core_->RunQueued();
  Json st = Execution(*id);
  EXPECT_EQ(st["status"], "terminal");
  EXPECT_EQ(st["complete"], true);
  EXPECT_EQ(st["stageStatus"]["fetchControl0"], "terminal");
  EXPECT_EQ(st["stageStatus"]["judge"], "not_started");
  EXPECT_FALSE(st.contains("result"));
  EXPECT_THAT(st["exception"]["details"]["error"].get<std::string>(),
              HasSubstr("prometheus is down"));
}

TEST_F(CoreTest, CancelStopsRun) {
  RunSource src;
  src.inline_config = Config();
  auto id = core_->StartCanary(src, Request());
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(core_->CancelCanary(*id).value());
  EXPECT_FALSE(core_->CancelCanary(*id).value());
  core_->RunQueued();
  Json st = Execution(*id);
  EXPECT_EQ(st["status"], "canceled");
  EXPECT_TRUE(source_->queries().empty());
}

TEST_F(CoreTest, UnfinishedRunsResumeOnTick) {
  RunSource src;
  src.inline_config = Config();
  auto id = core_->StartCanary(src, Request());
  ASSERT_TRUE(id.ok());
  // A new core on the same store (a restart) finishes the run.
  auto src2 = std::make_unique<FakeSource>();
  src2->Set("baseline", Series(10));
  src2->Set("canary", Series(10));
  std::vector<std::unique_ptr<MetricsSource>> sources;
  sources.push_back(std::move(src2));
  KayentaCore other(&store_, std::move(sources), &clock_,
                    CoreOptions{0, absl::ZeroDuration()});
  other.Tick();
  other.RunQueued();
  EXPECT_EQ(Execution(*id)["status"], "succeeded");
}

TEST_F(CoreTest, PairListsAndListings) {
  Json list{{"pairs", Json::array({Json{{"name", "cpu"}}})}};
  auto id = core_->CreatePairList(list, "k");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*core_->CreatePairList(list, "k"), *id);
  EXPECT_THAT(core_->CreatePairList(Json{{"x", 1}}, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto got = core_->GetPairList(*id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Body(*got)["pairs"][0]["name"], "cpu");
  EXPECT_EQ(core_->ListPairLists(10, 0)->size(), 1u);
  EXPECT_TRUE(*core_->DeletePairList(*id));
  EXPECT_THAT(core_->GetPairList(*id), StatusIs(absl::StatusCode::kNotFound));

  auto accounts = core_->Accounts();
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_EQ(accounts[0].name, "prom");
  EXPECT_EQ(accounts[0].type, "prometheus");
  EXPECT_EQ(accounts[0].supported_types,
            std::vector<std::string>{"METRICS_STORE"});
  EXPECT_EQ(accounts[1].type, "postgres");
  auto names = core_->MetricDescriptors("", "http");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"http_requests"});
  EXPECT_THAT(core_->MetricDescriptors("nope", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nope")));
}

TEST(TimeFormats, IsoAndDurations) {
  EXPECT_EQ(IsoOfMs(1545080199689), "2018-12-17T20:56:39.689Z");
  EXPECT_EQ(IsoOfMs(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(*MsOfIso(Json("2018-12-17T20:56:39.689Z")), 1545080199689);
  EXPECT_FALSE(MsOfIso(Json("yesterday")).ok());
  EXPECT_EQ(IsoDuration(3600000), "PT1H");
  EXPECT_EQ(IsoDuration(5400000), "PT1H30M");
  EXPECT_EQ(IsoDuration(0), "PT0S");
  EXPECT_EQ(IsoDuration(90500), "PT1M30.5S");
}

// ---- standalone analyses ----

Json AnalysisRequest(Json extra) {
  Json r{{"scopes", Json::array({Json{{"scopeName", "default"},
                                      {"controlScope", "baseline"},
                                      {"controlLocation", "local"},
                                      {"experimentScope", "canary"},
                                      {"experimentLocation", "local"},
                                      {"step", 60}}})},
         {"thresholds", {{"pass", 75}, {"marginal", 50}}}};
  for (auto& [k, v] : extra.items()) r[k] = v;
  return r;
}

class AnalysisTest : public CoreTest {
 protected:
  Json Analysis(const std::string& id) {
    auto r = core_->GetAnalysis(id);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? Body(*r) : Json();
  }
  // Lets `minutes` pass, ticking and running every minute.
  void Pass(int minutes) {
    for (int i = 0; i < minutes; ++i) {
      clock_.Advance(60000);
      core_->Tick();
      core_->RunQueued();
      core_->Tick();
    }
  }
};

TEST_F(AnalysisTest, RunsEveryIntervalAndPasses) {
  RunSource src;
  src.inline_config = Config();
  src.user = "alice";
  const int64_t t0 = clock_.NowMs();
  auto id = core_->StartCanaryAnalysis(
      src, AnalysisRequest({{"lifetimeDurationMins", 9},
                            {"analysisIntervalMins", 3},
                            {"beginAfterMins", 4}}));
  ASSERT_TRUE(id.ok()) << id.status();
  Json st = Analysis(*id);
  EXPECT_EQ(st["status"], "running");
  EXPECT_EQ(st["user"], "alice");
  EXPECT_TRUE(
      st["canaryAnalysisExecutionResult"]["canaryExecutionResults"].empty());
  Pass(6);  // warm-up 4 + first interval 3 not yet reached
  st = Analysis(*id);
  EXPECT_TRUE(
      st["canaryAnalysisExecutionResult"]["canaryExecutionResults"].empty());
  Pass(1);
  st = Analysis(*id);
  ASSERT_EQ(
      st["canaryAnalysisExecutionResult"]["canaryExecutionResults"].size(), 1u);
  Pass(7);
  st = Analysis(*id);
  EXPECT_EQ(st["status"], "succeeded") << st.dump(2);
  EXPECT_EQ(st["executionStatus"], "SUCCEEDED");
  EXPECT_EQ(st["complete"], true);
  const Json& result = st["canaryAnalysisExecutionResult"];
  EXPECT_EQ(result["didPassThresholds"], true);
  EXPECT_EQ(result["canaryScores"].size(), 3u);
  EXPECT_EQ(result["canaryScoreMessage"],
            "Final canary score 100.0 met or exceeded the pass score "
            "threshold.");
  // 30 points per side: fewer than 50 gives orca's warning.
  EXPECT_EQ(result["hasWarnings"], true);
  const Json& first = result["canaryExecutionResults"][0];
  EXPECT_EQ(first["executionStatus"], "SUCCEEDED");
  EXPECT_EQ(first["judgementEndTimeMillis"], t0 + 7 * 60000);
  EXPECT_EQ(first["warnings"].size(), 1u);
  // Windows: [t0+4, t0+4+3i] for the experiment side.
  auto q = source_->queries();
  ASSERT_EQ(q.size(), 6u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(q[2 * i + 1].start_ms, t0 + 4 * 60000);
    EXPECT_EQ(q[2 * i + 1].end_ms, t0 + (4 + 3 * (i + 1)) * 60000);
  }
}

TEST_F(AnalysisTest, LookbackAndControlOffset) {
  RunSource src;
  src.inline_config = Config();
  const int64_t t0 = clock_.NowMs();
  Json req = AnalysisRequest({{"lifetimeDurationMins", 10},
                              {"analysisIntervalMins", 5},
                              {"lookbackMins", 5}});
  req["scopes"][0]["controlOffsetInMinutes"] = 5;
  auto id = core_->StartCanaryAnalysis(src, req);
  ASSERT_TRUE(id.ok()) << id.status();
  Pass(11);
  EXPECT_EQ(Analysis(*id)["status"], "succeeded");
  auto q = source_->queries();
  ASSERT_EQ(q.size(), 4u);
  // Run 2: experiment [t0+5, t0+10], control shifted 5 minutes earlier.
  EXPECT_EQ(q[3].start_ms, t0 + 5 * 60000);
  EXPECT_EQ(q[3].end_ms, t0 + 10 * 60000);
  EXPECT_EQ(q[2].start_ms, t0);
  EXPECT_EQ(q[2].end_ms, t0 + 5 * 60000);
}

TEST_F(AnalysisTest, LowInterimScoreFailsEarly) {
  source_->Set("canary", Series(30));
  RunSource src;
  src.inline_config = Config();
  auto id = core_->StartCanaryAnalysis(
      src, AnalysisRequest(
               {{"lifetimeDurationMins", 6}, {"analysisIntervalMins", 2}}));
  ASSERT_TRUE(id.ok()) << id.status();
  Pass(7);
  Json st = Analysis(*id);
  EXPECT_EQ(st["status"], "terminal") << st.dump(2);
  EXPECT_EQ(st["canaryAnalysisExecutionResult"]["didPassThresholds"], false);
  // Only the first run happened.
  EXPECT_EQ(
      st["canaryAnalysisExecutionResult"]["canaryExecutionResults"].size(), 1u);
  EXPECT_EQ(source_->queries().size(), 2u);
}

TEST_F(AnalysisTest, WithEndTimeRunsAtOnce) {
  RunSource src;
  src.inline_config = Config();
  const int64_t start = clock_.NowMs() - 5 * 60000;
  Json req = AnalysisRequest({{"analysisIntervalMins", 3}});
  req["scopes"][0]["startTimeIso"] = IsoOfMs(start);
  req["scopes"][0]["endTimeIso"] = IsoOfMs(start + 6 * 60000);
  auto id = core_->StartCanaryAnalysis(src, req);
  ASSERT_TRUE(id.ok()) << id.status();
  for (int i = 0; i < 4; ++i) {
    core_->RunQueued();
    core_->Tick();
  }
  Json st = Analysis(*id);
  EXPECT_EQ(st["status"], "succeeded") << st.dump(2);
  auto q = source_->queries();
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[1].start_ms, start);
  EXPECT_EQ(q[1].end_ms, start + 3 * 60000);
  EXPECT_EQ(q[3].end_ms, start + 6 * 60000);
}

TEST_F(AnalysisTest, ValidationAndCancel) {
  RunSource src;
  src.inline_config = Config();
  EXPECT_THAT(core_->StartCanaryAnalysis(src, AnalysisRequest({})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("lifetimeDurationMins")));
  Json no_thresholds = AnalysisRequest({{"lifetimeDurationMins", 5}});
  no_thresholds.erase("thresholds");
  EXPECT_THAT(core_->StartCanaryAnalysis(src, no_thresholds),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Execution request must contain thresholds"));
  auto id = core_->StartCanaryAnalysis(
      src, AnalysisRequest({{"lifetimeDurationMins", 5}}));
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(core_->CancelCanaryAnalysis(*id).value());
  EXPECT_FALSE(core_->CancelCanaryAnalysis(*id).value());
  Pass(6);
  EXPECT_EQ(Analysis(*id)["status"], "canceled");
  EXPECT_TRUE(source_->queries().empty());
}

TEST_F(AnalysisTest, FailedRunEndsAnalysis) {
  source_->Fail(absl::UnavailableError("prometheus is down"));
  RunSource src;
  src.inline_config = Config();
  auto id = core_->StartCanaryAnalysis(
      src, AnalysisRequest(
               {{"lifetimeDurationMins", 4}, {"analysisIntervalMins", 2}}));
  ASSERT_TRUE(id.ok());
  Pass(5);
  Json st = Analysis(*id);
  EXPECT_EQ(st["status"], "terminal") << st.dump(2);
  EXPECT_EQ(st["canaryAnalysisExecutionResult"]["didPassThresholds"], false);
  EXPECT_THAT(st["exception"]["details"]["error"].get<std::string>(),
              HasSubstr("prometheus is down"));
  EXPECT_EQ(
      st["canaryAnalysisExecutionResult"]["canaryExecutionResults"].size(), 1u);
}

TEST(TimeFormats, MsOfIsoRefusesNumbersOutsideTheYearRange) {
  EXPECT_EQ(*MsOfIso(Json(1545080199689)), 1545080199689);
  // 1e30 and a huge unsigned were undefined / wrapped before.
  EXPECT_THAT(MsOfIso(Json(1e30)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MsOfIso(Json(uint64_t{18446744073709551615u})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MsOfIso(Json(int64_t{-9223372036854775807})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MsOfIso(Json(1.5)), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MsOfIso(Json("20000-01-01T00:00:00Z")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CoreTest, StartCanaryBoundsScopesAndThresholds) {
  auto cid = core_->CreateConfig(Config(), "");
  ASSERT_TRUE(cid.ok());
  RunSource src;
  src.canary_config_id = *cid;
  auto refused = [&](const Json& req, absl::string_view what) {
    EXPECT_THAT(core_->StartCanary(src, req),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(what)))
        << req.dump();
  };
  Json req = Request();
  req["scopes"]["default"]["controlScope"]["start"] = 1e30;
  refused(req, "controlScope");
  req = Request();
  req["scopes"]["default"]["experimentScope"]["start"] =
      std::numeric_limits<int64_t>::min();
  refused(req, "experimentScope");
  req = Request();
  std::swap(req["scopes"]["default"]["controlScope"]["start"],
            req["scopes"]["default"]["controlScope"]["end"]);
  refused(req, "start must not be after end");
  req = Request();
  req["scopes"]["default"]["controlScope"]["step"] = 0;
  refused(req, "step");
  req = Request();
  req["scopes"]["default"]["controlScope"]["step"] = int64_t{1} << 60;
  refused(req, "step");
  // Thresholds: both present, finite.
  req = Request();
  req["thresholds"] = Json::object();
  refused(req, "thresholds");
  req = Request();
  req["thresholds"].erase("marginal");
  refused(req, "marginal");
  req = Request();
  req["thresholds"]["pass"] = "NaN";
  refused(req, "thresholds.pass must be a finite number");
  auto list = core_->ListExecutions("", {}, 0, 0);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(CoreTest, JudgeRefusesNonFiniteThresholds) {
  EXPECT_THAT(
      core_->Judge("c", "l",
                   Thresholds{std::numeric_limits<double>::quiet_NaN(), 50}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("finite")));
}

TEST_F(CoreTest, ConfigTheJudgeWouldRefuseIsRefusedAtSave) {
  Json c = Config();
  c["metrics"][0]["analysisConfigurations"]["canary"]["critical"] = "true";
  EXPECT_THAT(core_->CreateConfig(c, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("critical must be a boolean")));
  c = Config();
  c["classifier"]["groupWeights"]["system"] = "100";
  EXPECT_THAT(core_->CreateConfig(c, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("groupWeights.system must be a number")));
  c = Config();
  c["metrics"][0]["analysisConfigurations"]["canary"]["effectSize"] = 3;
  EXPECT_THAT(core_->CreateConfig(c, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("effectSize must be an object")));
  auto all = core_->ListConfigs({});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(CoreTest, TakenIdHoldingNameIsAnIdConflict) {
  Json c = Config("first");
  c["id"] = "rename-me";
  ASSERT_TRUE(core_->CreateConfig(c, "").ok());
  Json again = Config("second", {"other"});
  again["id"] = "rename-me";
  EXPECT_THAT(core_->CreateConfig(again, ""),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       "Canary config with id 'rename-me' already exists."));
  // A name conflict keeps the store's message.
  EXPECT_THAT(core_->CreateConfig(Config("first"), ""),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("with name 'first'")));
}

TEST_F(CoreTest, CorruptStoredConfigIsInternal) {
  Record r;
  r.id = "broken";
  r.name = "broken";
  r.applications = {"app"};
  r.body = "{not json";
  ASSERT_TRUE(store_.Insert(Kind::kConfig, r).ok());
  EXPECT_THAT(core_->UpdateConfig("broken", Config("broken"), 0),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(CoreNoSourcesTest, NoMetricsAccountIsAFailedPrecondition) {
  ManualClock clock;
  InMemoryKayentaStore store;
  CoreOptions o;
  o.worker_threads = 0;
  o.tick = absl::ZeroDuration();
  KayentaCore core(&store, {}, &clock, o);
  RunSource src;
  src.inline_config = Config();
  EXPECT_THAT(core.StartCanary(src, Request()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("No metrics account")));
}

TEST_F(AnalysisTest, ClientNumbersAreBounded) {
  RunSource src;
  src.inline_config = Config();
  auto refused = [&](const Json& req, absl::string_view what) {
    EXPECT_THAT(core_->StartCanaryAnalysis(src, req),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(what)))
        << req.dump();
  };
  refused(AnalysisRequest({{"lifetimeDurationMins", int64_t{1} << 50}}),
          "lifetime");
  refused(AnalysisRequest({{"lifetimeDurationMins", 5},
                           {"beginAfterMins", int64_t{1} << 60}}),
          "beginAfterMins");
  refused(AnalysisRequest({{"lifetimeDurationMins", 5},
                           {"lookbackMins", int64_t{1} << 60}}),
          "lookbackMins");
  Json offset = AnalysisRequest({{"lifetimeDurationMins", 5}});
  offset["scopes"][0]["controlOffsetInMinutes"] =
      std::numeric_limits<int64_t>::max();
  refused(offset, "controlOffsetInMinutes");
  Json step = AnalysisRequest({{"lifetimeDurationMins", 5}});
  step["scopes"][0]["step"] = int64_t{1} << 60;
  refused(step, "step");
  // lifetime / interval runs: at most 1000.
  refused(AnalysisRequest(
              {{"lifetimeDurationMins", 100000}, {"analysisIntervalMins", 1}}),
          "at most 1000");
  Json far = AnalysisRequest({});
  far["scopes"][0]["startTimeIso"] = "0001-01-01T00:00:00Z";
  far["scopes"][0]["endTimeIso"] = "9999-12-31T00:00:00Z";
  refused(far, "lifetime");
  EXPECT_TRUE(core_
                  ->StartCanaryAnalysis(
                      src, AnalysisRequest({{"lifetimeDurationMins", 1000},
                                            {"analysisIntervalMins", 1}}))
                  .ok());
}

TEST_F(AnalysisTest, NaNScoreDoesNotPass) {
  RunSource src;
  src.inline_config = Config();
  auto id = core_->StartCanaryAnalysis(
      src, AnalysisRequest({{"lifetimeDurationMins", 1}}));
  ASSERT_TRUE(id.ok()) << id.status();
  clock_.Advance(60000);
  core_->Tick();  // starts run #1
  Json st = Analysis(*id);
  const Json& runs =
      st["canaryAnalysisExecutionResult"]["canaryExecutionResults"];
  ASSERT_EQ(runs.size(), 1u);
  // The run ends with a NaN score (as the judge writes one: "NaN").
  auto exec =
      store_.Get(Kind::kExecution, runs[0]["executionId"].get<std::string>());
  ASSERT_TRUE(exec.ok());
  Json body = Body(*exec);
  body["status"] = "succeeded";
  body["complete"] = true;
  body["result"] = {{"judgeResult", {{"score", {{"score", "NaN"}}}}}};
  exec->status = "succeeded";
  exec->body = body.dump();
  ASSERT_TRUE(store_.Update(Kind::kExecution, *exec, {}).ok());
  core_->Tick();
  st = Analysis(*id);
  EXPECT_EQ(st["complete"], true) << st.dump(2);
  EXPECT_EQ(st["canaryAnalysisExecutionResult"]["didPassThresholds"], false)
      << st.dump(2);
}

}  // namespace
}  // namespace gennaker::kayenta
