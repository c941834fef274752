// The real kayenta binary on a real PostgreSQL and a real Prometheus (which
// scrapes itself under two server_group labels, baseline and canary): a canary
// run over gRPC end to end, the REST API on http_port through the in-process
// channel (config CRUD, ad hoc runs, metric set pair lists and the judge, a
// standalone analysis), and start-up refusing an invalid config.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/pg/migrations.h"
#include "common/process/process.h"
#include "common/spinnaker/json.h"
#include "common/testing/prometheus.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gennaker/kayenta/v1/kayenta.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/kayenta/fake_metrics_source.h"
#include "services/kayenta/kayenta_core.h"
#include "services/kayenta/store/pg_kayenta_store.h"

namespace gennaker::kayenta {

std::vector<pg::Migration> Migrations();

namespace {

using ::gennaker::testing::IsOk;
using spinnaker::Json;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

class KayentaBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::gennaker::testing::MakeTempDir("kayenta-bin");
    auto prom = ::gennaker::testing::TestPrometheus::Start();
    ASSERT_THAT(prom, IsOk());
    prom_ = std::move(*prom);
    const std::string self = absl::StrCat("127.0.0.1:", prom_->port());
    ASSERT_THAT(
        prom_->WriteTargets(
            {{{self},
              {{"server_group", "app-baseline"}, {"location", "local"}}},
             {{self},
              {{"server_group", "app-canary"}, {"location", "local"}}}}),
        IsOk());
    for (const char* sg : {"app-baseline", "app-canary"}) {
      ASSERT_THAT(
          prom_->WaitForSeries(absl::StrCat("up{server_group=\"", sg, "\"}"),
                               absl::Seconds(30)),
          IsOk());
    }
    auto pg = ::gennaker::testing::SharedPostgres();
    ASSERT_THAT(pg, IsOk());
    auto dsn = (*pg)->CreateDatabase("kayenta_bin");
    ASSERT_THAT(dsn, IsOk());
    dsn_ = *dsn;
    grpc_port_ = *process::FreePort();
    admin_port_ = *process::FreePort();
    http_port_ = *process::FreePort();
  }

  void TearDown() override {
    if (pid_ > 0) (void)process::Terminate(pid_, absl::Seconds(5));
    prom_.reset();
    ::gennaker::testing::RemoveTree(dir_);
  }

  std::string WriteConfig(const std::string& prometheus) {
    const std::string path =
        absl::StrCat(dir_, "/kayenta-", ++configs_, ".yml");
    std::ofstream(path) << absl::StrCat(
        "server: {host: 127.0.0.1, grpcPort: ", grpc_port_,
        ", adminPort: ", admin_port_, ", shutdownGraceSeconds: 2}\n",
        "logging: {level: info, format: text}\n", "postgres: {dsn: '", dsn_,
        "'}\n", "httpPort: ", http_port_, "\n", "prometheus: ", prometheus,
        "\n", "runner: {workerThreads: 2, fetchAttempts: 2}\n",
        "outbound: {allowedUrlPrefixes: ['", prom_->BaseUrl(), "/']}\n");
    return path;
  }

  void StartKayenta() {
    const std::string config = WriteConfig(
        absl::StrCat("[{name: prom, baseUrl: '", prom_->BaseUrl(), "'}]"));
    process::SpawnOptions o;
    o.argv = {::gennaker::testing::BinDir() + "/kayenta", "--config", config};
    o.log_file = config + ".log";
    o.die_with_parent = true;
    auto pid = process::Spawn(o);
    ASSERT_THAT(pid, IsOk());
    pid_ = *pid;
    const std::string address = absl::StrCat("127.0.0.1:", grpc_port_);
    for (int i = 0; i < 200; ++i) {
      auto serving = CheckServing(address, std::chrono::milliseconds(200));
      if (serving.ok() && *serving) {
        stub_ = v1::KayentaService::NewStub(MakeChannel(address));
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "kayenta did not become SERVING; see " << o.log_file;
  }

  // One call to Kayenta's REST API on http_port: the answer must have status
  // `want`; its JSON body comes back parsed (null when it has none).
  Json Rest(const std::string& method, const std::string& path,
            const std::string& body, int want) {
    http::ClientRequest req;
    req.method = method;
    req.url = absl::StrCat("http://127.0.0.1:", http_port_, path);
    req.body = body;
    if (!body.empty()) {
      req.headers.push_back({"Content-Type", "application/json"});
    }
    auto resp = http::Fetch(req);
    EXPECT_THAT(resp, IsOk()) << method << " " << path;
    if (!resp.ok()) return Json();
    EXPECT_EQ(resp->status, want)
        << method << " " << path << ": " << resp->body;
    if (resp->body.empty()) return Json();
    auto parsed = spinnaker::ParseJson(resp->body);
    EXPECT_THAT(parsed, IsOk()) << resp->body;
    return parsed.ok() ? *std::move(parsed) : Json();
  }

  // GET `path` until its "complete" is true (or `tries` 100 ms apart).
  Json PollUntilComplete(const std::string& path, int tries) {
    Json j;
    for (int i = 0; i < tries; ++i) {
      j = Rest("GET", path, "", 200);
      if (spinnaker::Bool(j, "complete")) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return j;
  }

  std::string dir_, dsn_;
  int grpc_port_ = 0, admin_port_ = 0, http_port_ = 0, configs_ = 0;
  pid_t pid_ = 0;
  std::unique_ptr<::gennaker::testing::TestPrometheus> prom_;
  std::unique_ptr<v1::KayentaService::Stub> stub_;
};

TEST_F(KayentaBinaryTest, CanaryRunOverGrpcAndRest) {
  StartKayenta();
  ASSERT_NE(stub_, nullptr);

  {
    grpc::ClientContext ctx;
    v1::ListCredentialsResponse resp;
    ASSERT_TRUE(stub_->ListCredentials(&ctx, {}, &resp).ok());
    ASSERT_EQ(resp.accounts_size(), 2);
    EXPECT_EQ(resp.accounts(0).name(), "prom");
    EXPECT_EQ(resp.accounts(0).type(), "prometheus");
    EXPECT_EQ(resp.accounts(1).name(), "postgres");
  }

  Json config{
      {"name", "self-canary"},
      {"applications", {"app"}},
      {"judge", {{"name", "NetflixACAJudge-v1.0"}}},
      {"metrics",
       {{{"name", "up"},
         {"scopeName", "default"},
         {"groups", {"health"}},
         {"query", {{"type", "prometheus"}, {"metricName", "up"}}},
         {"analysisConfigurations", {{"canary", {{"direction", "either"}}}}}}}},
      {"classifier", {{"groupWeights", {{"health", 100}}}}}};
  std::string config_id;
  {
    grpc::ClientContext ctx;
    v1::CreateCanaryConfigRequest req;
    req.mutable_config()->set_json(config.dump());
    v1::CreateCanaryConfigResponse resp;
    grpc::Status s = stub_->CreateCanaryConfig(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    config_id = resp.canary_config_id();
  }
  {
    // Kayenta's validation message reaches the client.
    grpc::ClientContext ctx;
    v1::CreateCanaryConfigRequest req;
    req.mutable_config()->set_json(R"({"applications": ["app"]})");
    v1::CreateCanaryConfigResponse resp;
    grpc::Status s = stub_->CreateCanaryConfig(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "Canary config must specify a name.");
  }

  // A few scrapes of both scopes.
  absl::SleepFor(absl::Seconds(3));
  const int64_t end = NowMs();
  std::string execution_id;
  {
    grpc::ClientContext ctx;
    v1::StartCanaryRequest req;
    req.set_canary_config_id(config_id);
    req.set_application("app");
    auto* pair = &(*req.mutable_scopes())["default"];
    for (auto [scope, name] :
         {std::pair{pair->mutable_control_scope(), "app-baseline"},
          std::pair{pair->mutable_experiment_scope(), "app-canary"}}) {
      scope->set_scope(name);
      scope->set_location("local");
      scope->set_start_ms(end - 60000);
      scope->set_end_ms(end);
      scope->set_step_seconds(1);
    }
    req.mutable_thresholds()->set_pass(75);
    req.mutable_thresholds()->set_marginal(50);
    v1::StartCanaryResponse resp;
    grpc::Status s = stub_->StartCanary(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    execution_id = resp.canary_execution_id();
  }
  v1::CanaryExecution execution;
  for (int i = 0; i < 300; ++i) {
    grpc::ClientContext ctx;
    v1::GetCanaryExecutionRequest req;
    req.set_canary_execution_id(execution_id);
    v1::GetCanaryExecutionResponse resp;
    ASSERT_TRUE(stub_->GetCanaryExecution(&ctx, req, &resp).ok());
    execution = resp.execution();
    if (execution.status() != v1::CANARY_STATUS_NOT_STARTED &&
        execution.status() != v1::CANARY_STATUS_RUNNING) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(execution.status(), v1::CANARY_STATUS_SUCCEEDED)
      << execution.json().json();
  // `up` is 1 on both sides: identical data passes.
  ASSERT_TRUE(execution.has_score());
  EXPECT_DOUBLE_EQ(execution.score(), 100.0);
  EXPECT_EQ(execution.classification(), v1::SCORE_CLASSIFICATION_PASS);
  EXPECT_GT(execution.min_control_sample_count(), 0);

  // Kayenta's REST API answers from the same service.
  http::ClientRequest get;
  get.url =
      absl::StrCat("http://127.0.0.1:", http_port_, "/canary/", execution_id);
  auto rest = http::Fetch(get);
  ASSERT_THAT(rest, IsOk());
  EXPECT_EQ(rest->status, 200) << rest->body;
  auto body = spinnaker::ParseJson(rest->body);
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(spinnaker::String(*body, "status"), "succeeded");
}

// A metric set pair as Kayenta stores one.
Json Pair(const std::string& id, const std::string& name,
          const std::vector<double>& control,
          const std::vector<double>& experiment) {
  Json p;
  p["id"] = id;
  p["name"] = name;
  p["tags"] = Json{{"instance", "i-1"}};
  p["values"]["control"] = control;
  p["values"]["experiment"] = experiment;
  p["attributes"]["control"] = Json::object();
  p["attributes"]["experiment"] = Json::object();
  for (const char* side : {"control", "experiment"}) {
    p["scopes"][side] = Json{{"startTimeIso", "2025-01-01T00:00:00Z"},
                             {"startTimeMillis", 1735689600000},
                             {"stepMillis", 60000}};
  }
  return p;
}

// The judge result of `results` named `name`.
Json ResultNamed(const Json& judged, const std::string& name) {
  for (const Json& r : spinnaker::Array(judged, "results")) {
    if (spinnaker::String(r, "name") == name) return r;
  }
  return Json::object();
}

TEST_F(KayentaBinaryTest, RestApiRoundTrips) {
  StartKayenta();
  ASSERT_NE(stub_, nullptr);

  // --- /canaryConfig CRUD ---
  // Both metrics read a scope's `up` series. The Prometheus started seconds
  // ago, so for the past window of the standalone analysis below `vector(1)`
  // stands in before the first sample (the value `up` has after it).
  const std::string up_or_one =
      R"(PromQL:max(up{server_group="${scope}"}) or vector(1))";
  auto metric = [&up_or_one](const std::string& name, const std::string& group,
                             const std::string& direction, bool critical) {
    Json m{{"name", name}, {"scopeName", "default"}};
    m["groups"] = Json::array();
    m["groups"].push_back(group);
    m["query"] =
        Json{{"type", "prometheus"}, {"customInlineTemplate", up_or_one}};
    m["analysisConfigurations"]["canary"] =
        Json{{"direction", direction}, {"critical", critical}};
    return m;
  };
  Json config{{"name", "rest-canary"},
              {"description", "first"},
              {"applications", {"app"}},
              {"judge", {{"name", "NetflixACAJudge-v1.0"}}}};
  config["metrics"] = Json::array();
  config["metrics"].push_back(metric("up", "health", "either", false));
  config["metrics"].push_back(metric("latency", "latency", "increase", true));
  config["classifier"]["groupWeights"] = Json{{"health", 50}, {"latency", 50}};

  const Json created = Rest("POST", "/canaryConfig", config.dump(), 200);
  const std::string config_id = spinnaker::String(created, "canaryConfigId");
  ASSERT_FALSE(config_id.empty()) << created.dump();

  {
    const Json list = Rest("GET", "/canaryConfig?application=app", "", 200);
    ASSERT_TRUE(list.is_array()) << list.dump();
    Json summary;
    for (const Json& c : list) {
      if (spinnaker::String(c, "id") == config_id) summary = c;
    }
    ASSERT_TRUE(summary.is_object()) << list.dump();
    EXPECT_EQ(spinnaker::String(summary, "name"), "rest-canary");
    const int64_t updated = spinnaker::Int(summary, "updatedTimestamp");
    EXPECT_GT(updated, NowMs() - 600000);
    EXPECT_LE(updated, NowMs());
    auto iso_ms =
        MsOfIso(Json(spinnaker::String(summary, "updatedTimestampIso")));
    ASSERT_THAT(iso_ms, IsOk());
    EXPECT_EQ(*iso_ms, updated);
    EXPECT_THAT(spinnaker::Strings(summary, "applications"),
                ::testing::ElementsAre("app"));
    // Another application's list does not show it.
    const Json other = Rest("GET", "/canaryConfig?application=other", "", 200);
    ASSERT_TRUE(other.is_array()) << other.dump();
    for (const Json& c : other) {
      EXPECT_NE(spinnaker::String(c, "id"), config_id);
    }
  }
  {
    const Json got = Rest("GET", "/canaryConfig/" + config_id, "", 200);
    EXPECT_EQ(spinnaker::String(got, "name"), "rest-canary");
    EXPECT_EQ(spinnaker::String(got, "description"), "first");
    const Json metrics = spinnaker::Array(got, "metrics");
    ASSERT_EQ(metrics.size(), 2u) << got.dump();
    EXPECT_EQ(spinnaker::String(metrics[1], "name"), "latency");
  }
  {
    config["description"] = "second";
    const Json updated =
        Rest("PUT", "/canaryConfig/" + config_id, config.dump(), 200);
    EXPECT_EQ(spinnaker::String(updated, "canaryConfigId"), config_id);
    const Json got = Rest("GET", "/canaryConfig/" + config_id, "", 200);
    EXPECT_EQ(spinnaker::String(got, "description"), "second");
    EXPECT_EQ(spinnaker::String(got, "name"), "rest-canary");
  }
  {
    const Json error =
        Rest("POST", "/canaryConfig", R"({"applications": ["app"]})", 400);
    EXPECT_EQ(spinnaker::String(error, "message"),
              "Canary config must specify a name.");
  }

  // --- ad hoc POST /canary ---
  absl::SleepFor(absl::Seconds(3));  // a few scrapes of both scopes
  {
    const int64_t end = NowMs();
    Json adhoc_config{{"name", "adhoc-canary"},
                      {"applications", {"app"}},
                      {"judge", {{"name", "NetflixACAJudge-v1.0"}}}};
    Json up{{"name", "up"}, {"scopeName", "default"}};
    up["groups"] = Json::array();
    up["groups"].push_back("health");
    up["query"] = Json{{"type", "prometheus"}, {"metricName", "up"}};
    up["analysisConfigurations"]["canary"]["direction"] = "either";
    adhoc_config["metrics"] = Json::array();
    adhoc_config["metrics"].push_back(up);
    adhoc_config["classifier"]["groupWeights"]["health"] = 100;
    auto scope = [end](const char* server_group) {
      return Json{{"scope", server_group},
                  {"location", "local"},
                  {"start", IsoOfMs(end - 60000)},
                  {"end", IsoOfMs(end)},
                  {"step", 1}};
    };
    Json request;
    request["scopes"]["default"]["controlScope"] = scope("app-baseline");
    request["scopes"]["default"]["experimentScope"] = scope("app-canary");
    request["thresholds"] = Json{{"pass", 75}, {"marginal", 50}};
    Json adhoc;
    adhoc["canaryConfig"] = adhoc_config;
    adhoc["executionRequest"] = request;
    const Json started =
        Rest("POST", "/canary?application=app", adhoc.dump(), 200);
    const std::string id = spinnaker::String(started, "canaryExecutionId");
    ASSERT_FALSE(id.empty()) << started.dump();
    const Json execution = PollUntilComplete("/canary/" + id, 300);
    ASSERT_TRUE(spinnaker::Bool(execution, "complete")) << execution.dump();
    EXPECT_EQ(spinnaker::String(execution, "status"), "succeeded")
        << execution.dump();
    const Json score = spinnaker::Object(
        spinnaker::Object(spinnaker::Object(execution, "result"),
                          "judgeResult"),
        "score");
    ASSERT_TRUE(score.contains("score")) << execution.dump();
    EXPECT_TRUE(score.at("score").is_number()) << execution.dump();
    // `up` is 1 on both sides.
    EXPECT_DOUBLE_EQ(spinnaker::Double(score, "score", -1), 100.0);
  }

  // --- /metricSetPairList and /judges/judge ---
  const std::vector<double> ones(10, 1.0);
  const std::vector<double> low = {10, 11, 12, 10, 11, 12, 10, 11, 12, 10};
  const std::vector<double> high = {100, 101, 102, 100, 101,
                                    102, 100, 101, 102, 100};
  {
    Json pairs = Json::array();
    pairs.push_back(Pair("pair-up", "up", ones, ones));
    pairs.push_back(Pair("pair-latency", "latency", low, high));
    const Json created_list =
        Rest("POST", "/metricSetPairList", pairs.dump(), 200);
    const std::string list_id =
        spinnaker::String(created_list, "metricSetPairListId");
    ASSERT_FALSE(list_id.empty()) << created_list.dump();

    const Json got = Rest("GET", "/metricSetPairList/" + list_id, "", 200);
    ASSERT_TRUE(got.is_array()) << got.dump();
    ASSERT_EQ(got.size(), 2u) << got.dump();
    EXPECT_EQ(spinnaker::String(got[0], "id"), "pair-up");
    EXPECT_EQ(spinnaker::String(got[1], "name"), "latency");
    const Json pair =
        Rest("GET", "/metricSetPairList/" + list_id + "/pair-latency", "", 200);
    EXPECT_EQ(spinnaker::String(pair, "name"), "latency");
    EXPECT_EQ(spinnaker::String(spinnaker::Object(pair, "tags"), "instance"),
              "i-1");
    const Json values = spinnaker::Object(pair, "values");
    ASSERT_TRUE(values.contains("control")) << pair.dump();
    ASSERT_TRUE(values.contains("experiment")) << pair.dump();
    EXPECT_EQ(values.at("control").get<std::vector<double>>(), low);
    EXPECT_EQ(values.at("experiment").get<std::vector<double>>(), high);
    Rest("GET", "/metricSetPairList/" + list_id + "/no-such-pair", "", 404);

    // The critical latency metric is clearly higher in the experiment.
    const Json judged =
        Rest("POST",
             absl::StrCat("/judges/judge?canaryConfigId=", config_id,
                          "&metricSetPairListId=", list_id,
                          "&passThreshold=75&marginalThreshold=50"),
             "", 200);
    const Json score = spinnaker::Object(judged, "score");
    EXPECT_DOUBLE_EQ(spinnaker::Double(score, "score", -1), 0.0)
        << judged.dump();
    EXPECT_EQ(spinnaker::String(score, "classification"), "Fail");
    EXPECT_EQ(spinnaker::String(ResultNamed(judged, "up"), "classification"),
              "Pass")
        << judged.dump();
    EXPECT_EQ(
        spinnaker::String(ResultNamed(judged, "latency"), "classification"),
        "High")
        << judged.dump();
  }
  {
    // Identical data on both sides passes with 100.
    Json pairs = Json::array();
    pairs.push_back(Pair("same-up", "up", ones, ones));
    pairs.push_back(Pair("same-latency", "latency", low, low));
    const Json created_list =
        Rest("POST", "/metricSetPairList", pairs.dump(), 200);
    const std::string list_id =
        spinnaker::String(created_list, "metricSetPairListId");
    ASSERT_FALSE(list_id.empty()) << created_list.dump();
    const Json judged =
        Rest("POST",
             absl::StrCat("/judges/judge?canaryConfigId=", config_id,
                          "&metricSetPairListId=", list_id,
                          "&passThreshold=75&marginalThreshold=50"),
             "", 200);
    const Json score = spinnaker::Object(judged, "score");
    EXPECT_DOUBLE_EQ(spinnaker::Double(score, "score", -1), 100.0)
        << judged.dump();
    EXPECT_EQ(spinnaker::String(score, "classification"), "Pass");
    for (const char* name : {"up", "latency"}) {
      EXPECT_EQ(spinnaker::String(ResultNamed(judged, name), "classification"),
                "Pass")
          << judged.dump();
    }
  }

  // --- standalone analysis over a past two-minute window, two intervals ---
  {
    const int64_t window_end = NowMs() / 1000 * 1000;
    Json scope{{"scopeName", "default"},
               {"controlScope", "app-baseline"},
               {"controlLocation", "local"},
               {"experimentScope", "app-canary"},
               {"experimentLocation", "local"},
               {"startTimeIso", IsoOfMs(window_end - 120000)},
               {"endTimeIso", IsoOfMs(window_end)},
               {"step", 5}};
    Json request;
    request["scopes"] = Json::array();
    request["scopes"].push_back(scope);
    request["thresholds"] = Json{{"pass", 75}, {"marginal", 50}};
    request["analysisIntervalMins"] = 1;
    const Json started = Rest("POST",
                              absl::StrCat("/standalone_canary_analysis/",
                                           config_id, "?application=x&user=me"),
                              request.dump(), 200);
    const std::string id =
        spinnaker::String(started, "canaryAnalysisExecutionId");
    ASSERT_FALSE(id.empty()) << started.dump();
    const Json analysis =
        PollUntilComplete("/standalone_canary_analysis/" + id, 600);
    ASSERT_TRUE(spinnaker::Bool(analysis, "complete")) << analysis.dump();
    EXPECT_EQ(spinnaker::String(analysis, "status"), "succeeded")
        << analysis.dump();
    EXPECT_EQ(spinnaker::String(analysis, "application"), "x");
    EXPECT_EQ(spinnaker::String(analysis, "user"), "me");
    const Json result =
        spinnaker::Object(analysis, "canaryAnalysisExecutionResult");
    const Json scores = spinnaker::Array(result, "canaryScores");
    ASSERT_EQ(scores.size(), 2u) << analysis.dump();
    for (const Json& s : scores) {
      ASSERT_TRUE(s.is_number()) << analysis.dump();
      EXPECT_DOUBLE_EQ(s.get<double>(), 100.0) << analysis.dump();
    }
    EXPECT_TRUE(spinnaker::Bool(result, "didPassThresholds"))
        << analysis.dump();
  }

  // --- DELETE ---
  Rest("DELETE", "/canaryConfig/" + config_id, "", 204);
  const Json gone = Rest("GET", "/canaryConfig/" + config_id, "", 404);
  EXPECT_THAT(spinnaker::String(gone, "message"),
              ::testing::HasSubstr("No canary config"));
  const Json after = Rest("GET", "/canaryConfig?application=app", "", 200);
  ASSERT_TRUE(after.is_array()) << after.dump();
  for (const Json& c : after) {
    EXPECT_NE(spinnaker::String(c, "id"), config_id);
  }
}

TEST_F(KayentaBinaryTest, ResumesRunLeftByEarlierProcess) {
  // An earlier kayenta accepted a run and died while running it.
  std::string id;
  {
    pg::PoolOptions o;
    o.dsn = dsn_;
    o.size = 2;
    auto pool = pg::Pool::Create(o);
    ASSERT_THAT(pool, IsOk());
    ASSERT_THAT(pg::ApplyMigrations(**pool, "kayenta", Migrations()), IsOk());
    PgKayentaStore store(pool->get());
    std::vector<std::unique_ptr<MetricsSource>> sources;
    sources.push_back(std::make_unique<testing::FakeSource>());  // "prom"
    KayentaCore earlier(&store, std::move(sources), SystemClock(),
                        CoreOptions{0, absl::ZeroDuration()});
    RunSource src;
    src.inline_config = testing::Config();
    src.inline_config->at("metrics")[0]["query"]["metricName"] = "up";
    absl::SleepFor(absl::Seconds(3));
    const int64_t end = NowMs();
    Json request = testing::Request(end - 60000);
    for (auto [side, scope] : {std::pair{"controlScope", "app-baseline"},
                               std::pair{"experimentScope", "app-canary"}}) {
      Json& s = request["scopes"]["default"][side];
      s["scope"] = scope;
      s["end"] = IsoOfMs(end);
      s["step"] = 1;
    }
    auto started = earlier.StartCanary(src, request);
    ASSERT_THAT(started, IsOk());
    id = *started;
    auto rec = store.Get(Kind::kExecution, id);
    ASSERT_THAT(rec, IsOk());
    rec->status = "running";
    ASSERT_THAT(store.Update(Kind::kExecution, *rec, {}), IsOk());
  }
  StartKayenta();
  ASSERT_NE(stub_, nullptr);
  v1::CanaryExecution execution;
  for (int i = 0; i < 300; ++i) {
    grpc::ClientContext ctx;
    v1::GetCanaryExecutionRequest req;
    req.set_canary_execution_id(id);
    v1::GetCanaryExecutionResponse resp;
    ASSERT_TRUE(stub_->GetCanaryExecution(&ctx, req, &resp).ok());
    execution = resp.execution();
    if (execution.status() == v1::CANARY_STATUS_SUCCEEDED ||
        execution.status() == v1::CANARY_STATUS_TERMINAL) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(execution.status(), v1::CANARY_STATUS_SUCCEEDED)
      << execution.json().json();
  EXPECT_TRUE(execution.has_score());
}

TEST_F(KayentaBinaryTest, InvalidConfigFailsFast) {
  const std::string config = WriteConfig(
      absl::StrCat("[{name: prom, baseUrl: '", prom_->BaseUrl(),
                   "'}, {name: prom, baseUrl: '", prom_->BaseUrl(), "'}]"));
  process::SpawnOptions o;
  o.argv = {::gennaker::testing::BinDir() + "/kayenta", "--config", config,
            "--check-config"};
  o.log_file = config + ".log";
  auto code = process::Run(o);
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
  std::ifstream log(o.log_file);
  std::string text((std::istreambuf_iterator<char>(log)),
                   std::istreambuf_iterator<char>());
  EXPECT_THAT(text, ::testing::HasSubstr("defined twice"));

  const std::string bad_url =
      WriteConfig("[{name: prom, baseUrl: 'not a url'}]");
  o.argv = {::gennaker::testing::BinDir() + "/kayenta", "--config", bad_url,
            "--check-config"};
  o.log_file = bad_url + ".log";
  code = process::Run(o);
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
}

}  // namespace
}  // namespace gennaker::kayenta
