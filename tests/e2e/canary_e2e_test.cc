// A canary release end to end with real processes: PostgreSQL, Redis,
// clouddriver (local provider, publishing its instances for Prometheus),
// a real Prometheus scraping every gennaker-demo instance, kayenta, orca and
// gate. Production (v1) serves through the local load balancer while:
//   - a healthy v2 canary passes the analysis and is promoted red/black;
//   - a v3 canary answering 20 % errors, and a v4 canary adding latency, each
//     fail on the right metric: the pipeline skips the promotion, destroys
//     the canary and the baseline, and ends TERMINAL;
// and the report is read through gate's /v2/canaries routes (Deck's).
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/prometheus.h"
#include "common/testing/test_stores.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/load_generator.h"
#include "tests/support/rest_call.h"
#include "tests/support/suite_process.h"

namespace gennaker {
namespace {

using Json = nlohmann::json;
namespace ov1 = orca::v1;

using Service = testing::SuiteProcess;

// Error ratio and p90 latency of one scope (a server group), over 10 s.
Json CanaryConfig() {
  auto metric = [](const std::string& name, const std::string& group,
                   const std::string& promql, bool critical,
                   double allowed_increase) {
    return Json{
        {"name", name},
        {"scopeName", "default"},
        {"groups", {group}},
        {"query",
         {{"type", "prometheus"},
          {"customInlineTemplate", "PromQL:" + promql}}},
        {"analysisConfigurations",
         {{"canary",
           {{"direction", "increase"},
            {"critical", critical},
            {"nanStrategy", "replace"},
            {"effectSize", {{"allowedIncrease", allowed_increase}}}}}}}};
  };
  return {
      {"name", "demo-canary"},
      {"applications", {"demo"}},
      {"judge", {{"name", "NetflixACAJudge-v1.0"}}},
      {"metrics",
       {metric("error ratio", "errors",
               "(sum(rate(gennaker_requests_total{server_group=\"${scope}\","
               "code=~\"5..\"}[10s])) or vector(0)) / "
               "sum(rate(gennaker_requests_total{server_group=\"${scope}\"}["
               "10s]))",
               true, 1.0),
        metric("p90 latency", "latency",
               "histogram_quantile(0.9, sum by (le) "
               "(rate(gennaker_request_duration_seconds_bucket{server_group="
               "\"${scope}\"}[10s])))",
               false, 2.0)}},
      {"classifier", {{"groupWeights", {{"errors", 50}, {"latency", 50}}}}},
      {"templates", Json::object()}};
}

class CanaryE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::SharedPostgres();
    ASSERT_TRUE(pg.ok()) << pg.status();
    auto orca_dsn = (*pg)->CreateDatabase("canary_orca");
    ASSERT_TRUE(orca_dsn.ok()) << orca_dsn.status();
    auto kayenta_dsn = (*pg)->CreateDatabase("canary_kayenta");
    ASSERT_TRUE(kayenta_dsn.ok()) << kayenta_dsn.status();
    auto redis = testing::TestRedis::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    dir_ = testing::MakeTempDir("canary-e2e");
    state_ = std::filesystem::canonical(dir_).string() + "/local/local";
    const std::string targets = dir_ + "/local-targets.json";
    testing::PrometheusOptions po;
    po.file_sd_paths = {targets};
    auto prometheus = testing::TestPrometheus::Start(po);
    ASSERT_TRUE(prometheus.ok()) << prometheus.status();
    prometheus_ = std::move(*prometheus);

    for (Service* s : {&clouddriver_, &kayenta_, &orca_, &gate_}) {
      s->grpc_port = *process::FreePort();
    }
    gate_http_ = *process::FreePort();
    auto common = [&](const Service& s) {
      return absl::StrCat("server: {host: 127.0.0.1, grpcPort: ", s.grpc_port,
                          ", adminPort: ", *process::FreePort(),
                          ", shutdownGraceSeconds: 2}\n"
                          "logging: {level: info, format: text}\n");
    };
    auto address = [](const Service& s) {
      return absl::StrCat("127.0.0.1:", s.grpc_port);
    };
    clouddriver_.name = "clouddriver";
    clouddriver_.config = dir_ + "/clouddriver.yml";
    std::ofstream(clouddriver_.config)
        << common(clouddriver_)
        << absl::StrCat("redis: {url: '", redis_->Url(), "'}\nstateDir: '",
                        dir_,
                        "'\nlocalAccounts: [{name: local, environment: test, "
                        "prometheusFileSdPath: '",
                        targets,
                        "'}]\ncacheIntervalSeconds: 1\n"
                        "taskOwnerTtlSeconds: 2\n");
    kayenta_.name = "kayenta";
    kayenta_.config = dir_ + "/kayenta.yml";
    std::ofstream(kayenta_.config)
        << common(kayenta_)
        << absl::StrCat("postgres: {dsn: '", *kayenta_dsn,
                        "'}\nprometheus: [{name: prometheus, baseUrl: '",
                        prometheus_->BaseUrl(),
                        "'}]\n"
                        // Prometheus runs on loopback, which the outbound
                        // policy refuses unless allow-listed.
                        "outbound: {allowedUrlPrefixes: ['",
                        prometheus_->BaseUrl(), "/']}\n");
    orca_.name = "orca";
    orca_.config = dir_ + "/orca.yml";
    std::ofstream(orca_.config)
        << common(orca_)
        << absl::StrCat("postgres: {dsn: '", *orca_dsn,
                        "'}\nservices: {front50: {address: '127.0.0.1:9'}, "
                        "clouddriver: {address: '",
                        address(clouddriver_), "'}, kayenta: {address: '",
                        address(kayenta_),
                        "'}}\nengine: {workerThreads: 4, safetyPollMs: 200}\n");
    gate_.name = "gate";
    gate_.config = dir_ + "/gate.yml";
    std::ofstream(gate_.config)
        << common(gate_)
        << absl::StrCat("redis: {url: '", redis_->Url(),
                        "'}\nhttpPort: ", gate_http_,
                        "\nservices: {orca: {address: '", address(orca_),
                        "'}, clouddriver: {address: '", address(clouddriver_),
                        "'}, kayenta: {address: '", address(kayenta_), "'}}\n");
    for (Service* s : {&clouddriver_, &kayenta_, &orca_, &gate_}) Start(*s);
    gate_url_ = absl::StrCat("http://127.0.0.1:", gate_http_);
  }

  void TearDown() override {
    load_.reset();
    for (Service* s : {&gate_, &orca_, &kayenta_, &clouddriver_}) {
      if (s->pid > 0) (void)process::Terminate(s->pid, absl::Seconds(10));
    }
    for (pid_t p : process::ProcessesWithEnv(
             absl::StrCat("GENNAKER_LOCAL_STATE_DIR=", state_))) {
      killpg(p, SIGKILL);
    }
    prometheus_.reset();
    testing::RemoveTree(dir_);
  }

  void Start(Service& s) {
    absl::Status started = testing::StartSuiteProcess(s, dir_);
    ASSERT_TRUE(started.ok()) << started;
  }

  Json Call(const std::string& method, const std::string& path,
            const Json& body = nullptr, int want = 200) {
    http::ClientResponse r = testing::RestCall(
        gate_url_, method, path, body.is_null() ? "" : body.dump());
    EXPECT_EQ(r.status, want) << method << " " << path << ": " << r.body;
    return Json::parse(r.body, nullptr, false);
  }

  std::string RunTask(const Json& job) {
    Json r = Call("POST", "/tasks",
                  {{"application", "demo"},
                   {"description", "task"},
                   {"job", Json::array({job})}});
    std::string ref = r.value("ref", "");
    std::string id = ref.substr(ref.rfind('/') + 1);
    for (int i = 0; i < 600; ++i) {
      std::string st = Call("GET", "/tasks/" + id).value("status", "");
      if (st != "RUNNING" && st != "NOT_STARTED") return st;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return "TIMEOUT";
  }

  std::string StartPipeline(const Json& pipeline) {
    ov1::StartPipelineRequest req;
    req.set_application("demo");
    req.mutable_config()->set_json(pipeline.dump());
    ov1::StartPipelineResponse resp;
    auto stub = ov1::OrcaService::NewStub(
        MakeChannel(absl::StrCat("127.0.0.1:", orca_.grpc_port)));
    auto ctx = MakeClientContext(std::chrono::seconds(5));
    grpc::Status s = stub->StartPipeline(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.execution().id();
  }

  Json WaitPipeline(const std::string& id, int seconds) {
    Json e;
    for (int i = 0; i < seconds * 5; ++i) {
      e = Call("GET", "/pipelines/" + id);
      std::string st = e.value("status", "");
      if (st != "RUNNING" && st != "NOT_STARTED") return e;
      absl::SleepFor(absl::Milliseconds(200));
    }
    ADD_FAILURE() << "pipeline " << id << " did not finish: " << e.dump(1);
    return e;
  }

  static Json Cluster(const std::string& detail, int instances,
                      std::vector<std::string> args) {
    std::vector<std::string> command = {testing::BinDir() + "/gennaker-demo",
                                        "--port", "{{port}}"};
    command.insert(command.end(), args.begin(), args.end());
    Json c = {
        {"application", "demo"},
        {"stack", "web"},
        {"credentials", "local"},
        {"cloudProvider", "local"},
        {"availabilityZones", {{"localhost", {"localhost"}}}},
        {"capacity",
         {{"min", instances}, {"max", instances}, {"desired", instances}}},
        {"command", command},
        {"healthCheck",
         {{"path", "/health"}, {"intervalMs", 100}, {"healthyThreshold", 2}}},
        {"loadBalancers", {"demo"}},
        {"strategy", ""}};
    if (!detail.empty()) c["freeFormDetails"] = detail;
    return c;
  }

  // The README's canary release: baseline (production's version) and canary
  // beside production, kayentaCanary, promotion only on success, cleanup
  // always, and the pipeline fails when the canary did.
  static Json CanaryRelease(const std::string& tag,
                            const std::vector<std::string>& baseline,
                            const std::vector<std::string>& canary,
                            const std::vector<std::string>& promoted) {
    const std::string base = "baseline" + tag, can = "canary" + tag;
    auto destroy = [](const std::string& ref, const std::string& name,
                      const std::string& cluster) {
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
    Json promote = Cluster("", 2, promoted);
    promote["strategy"] = "redblack";
    promote["scaleDown"] = true;
    promote["rollback"] = {{"onFailure", true}};
    return {
        {"application", "demo"},
        {"name", "canary-release" + tag},
        {"stages",
         {{{"refId", "1"},
           {"type", "deploy"},
           {"name", "Deploy baseline"},
           {"clusters", {Cluster(base, 1, baseline)}}},
          {{"refId", "2"},
           {"type", "deploy"},
           {"name", "Deploy canary"},
           {"clusters", {Cluster(can, 1, canary)}}},
          {{"refId", "3"},
           {"requisiteStageRefIds", {"1", "2"}},
           {"type", "kayentaCanary"},
           {"name", "Canary Analysis"},
           {"continuePipeline", true},
           {"canaryConfig",
            {{"canaryConfigId", "demo-canary"},
             {"metricsAccountName", "prometheus"},
             {"lifetimeDuration", "PT1M"},
             {"scoreThresholds", {{"marginal", 50}, {"pass", 75}}},
             {"scopes",
              {{{"scopeName", "default"},
                {"controlScope",
                 "${#stage('Deploy baseline').outputs['deploy.server.groups']"
                 "['localhost'][0]}"},
                {"controlLocation", "localhost"},
                {"experimentScope",
                 "${#stage('Deploy canary').outputs['deploy.server.groups']["
                 "'localhost'][0]}"},
                {"experimentLocation", "localhost"},
                {"step", 5}}}}}}},
          {{"refId", "4"},
           {"requisiteStageRefIds", {"3"}},
           {"type", "deploy"},
           {"name", "Promote"},
           {"stageEnabled",
            {{"type", "expression"},
             {"expression",
              "${#stage('Canary Analysis').status == 'SUCCEEDED'}"}}},
           {"clusters", {promote}}},
          destroy("5", "Destroy canary", "demo-web-" + can),
          destroy("6", "Destroy baseline", "demo-web-" + base),
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

  static const Json* StageNamed(const Json& e, const std::string& name) {
    for (const Json& s : e["stages"]) {
      if (s.value("name", "") == name) return &s;
    }
    return nullptr;
  }

  // The last canary run's report as Deck reads it (by the run id each
  // runCanary stage keeps, also when the analysis failed), and per metric
  // its classification.
  std::map<std::string, std::string> Report(const Json& e, double* score) {
    std::map<std::string, std::string> out;
    std::string id;
    for (const Json& s : e["stages"]) {
      const Json ctx = s.value("context", Json::object());
      if (s.value("type", "") == "runCanary" &&
          ctx.contains("canaryPipelineExecutionId")) {
        id = ctx.value("canaryPipelineExecutionId", "");
      }
    }
    if (id.empty()) {
      ADD_FAILURE() << "no canary run: " << e.dump(1);
      return out;
    }
    Json report = Call("GET", "/v2/canaries/canary/" + id);
    const Json judge = report.value("result", Json::object())
                           .value("judgeResult", Json::object());
    *score = judge.value("score", Json::object()).value("score", -1.0);
    for (const Json& m : judge.value("results", Json::array())) {
      out[m.value("name", "")] = m.value("classification", "");
    }
    return out;
  }

  std::string Describe(const testing::LoadGenerator::Counts& c) {
    std::string out = absl::StrCat("ok=", c.ok, " failed=", c.failed);
    for (const auto& [v, n] : c.by_version)
      absl::StrAppend(&out, " ", v, "=", n);
    for (const auto& f : c.failures) absl::StrAppend(&out, "\n  failure: ", f);
    return out;
  }

  std::unique_ptr<testing::TestRedis> redis_;
  std::unique_ptr<testing::TestPrometheus> prometheus_;
  std::string dir_, state_, gate_url_;
  Service clouddriver_, kayenta_, orca_, gate_;
  int gate_http_ = 0;
  std::unique_ptr<testing::LoadGenerator> load_;
};

TEST_F(CanaryE2eTest, PassPromotesAndFailuresRollBackWhileProductionServes) {
  ASSERT_EQ(RunTask({{"type", "upsertLoadBalancer"},
                     {"name", "demo"},
                     {"credentials", "local"},
                     {"cloudProvider", "local"},
                     {"region", "localhost"},
                     {"listeners", {{{"port", 0}}}}}),
            "SUCCEEDED");
  Json lbs = Call("GET", "/applications/demo/loadBalancers");
  ASSERT_EQ(lbs.size(), 1u) << lbs.dump();
  const int lb_port = lbs[0]["listeners"][0]["port"];
  // The canary config, as Deck's canary module saves it.
  Json created = Call("POST", "/v2/canaryConfig", CanaryConfig());
  ASSERT_TRUE(created.contains("id") || created.contains("canaryConfigId"))
      << created.dump();
  std::string config_id = created.value("canaryConfigId", "");
  if (config_id.empty()) config_id = created.value("id", "");

  // Production: v1.
  Json prod = {{"application", "demo"},
               {"name", "prod"},
               {"stages",
                {{{"refId", "1"},
                  {"type", "deploy"},
                  {"name", "Deploy v1"},
                  {"clusters", {Cluster("", 2, {"--version", "v1"})}}}}}};
  Json e = WaitPipeline(StartPipeline(prod), 60);
  ASSERT_EQ(e["status"], "SUCCEEDED") << e.dump(1);
  load_ = std::make_unique<testing::LoadGenerator>(
      absl::StrCat("http://127.0.0.1:", lb_port, "/"), 4);

  auto with_config = [&](Json p) {
    for (Json& s : p["stages"]) {
      if (s["type"] == "kayentaCanary") {
        s["canaryConfig"]["canaryConfigId"] = config_id;
      }
    }
    return p;
  };

  // A healthy v2: passes, is promoted red/black, canary and baseline go.
  e = WaitPipeline(
      StartPipeline(with_config(CanaryRelease(
          "", {"--version", "v1"}, {"--version", "v2"}, {"--version", "v2"}))),
      240);
  double score = -1;
  std::map<std::string, std::string> metrics = Report(e, &score);
  std::printf("canary pass: pipeline=%s score=%.2f errors=%s latency=%s\n",
              e.value("status", "").c_str(), score,
              metrics["error ratio"].c_str(), metrics["p90 latency"].c_str());
  ASSERT_EQ(e["status"], "SUCCEEDED") << e.dump(1);
  EXPECT_GE(score, 75.0);
  EXPECT_EQ(StageNamed(e, "Promote")->value("status", ""), "SUCCEEDED");
  testing::LoadGenerator::Counts during = load_->counts();
  std::printf("canary pass, load: %s\n", Describe(during).c_str());
  EXPECT_EQ(during.failed, 0) << Describe(during);
  load_->Reset();
  absl::SleepFor(absl::Seconds(1));
  testing::LoadGenerator::Counts after = load_->counts();
  EXPECT_EQ(after.failed, 0);
  EXPECT_GT(after.by_version["v2"], 0) << Describe(after);
  EXPECT_EQ(after.by_version.count("v1"), 0u) << Describe(after);

  // v3 answers 20 % errors and v4 is slow: both canaries (run at once) fail
  // on their own metric; nothing is promoted and production v2 keeps serving.
  load_->Reset();
  const std::string errors = StartPipeline(with_config(CanaryRelease(
      "-e", {"--version", "v2"}, {"--version", "v3", "--fail-rate", "0.2"},
      {"--version", "v3"})));
  const std::string slow = StartPipeline(with_config(CanaryRelease(
      "-s", {"--version", "v2"}, {"--version", "v4", "--latency-ms", "60"},
      {"--version", "v4"})));
  Json e_errors = WaitPipeline(errors, 240);
  Json e_slow = WaitPipeline(slow, 240);
  during = load_->counts();
  load_.reset();
  for (const auto& [name, ex, bad] :
       {std::tuple<const char*, Json*, const char*>{"errors", &e_errors,
                                                    "error ratio"},
        {"latency", &e_slow, "p90 latency"}}) {
    score = -1;
    metrics = Report(*ex, &score);
    std::printf(
        "canary fail (%s): pipeline=%s score=%.2f errors=%s "
        "latency=%s\n",
        name, ex->value("status", "").c_str(), score,
        metrics["error ratio"].c_str(), metrics["p90 latency"].c_str());
    EXPECT_EQ((*ex)["status"], "TERMINAL") << ex->dump(1);
    EXPECT_LT(score, 75.0) << name;
    EXPECT_EQ(metrics[bad], "High") << name;
    EXPECT_EQ(StageNamed(*ex, "Promote")->value("status", ""), "SKIPPED");
    EXPECT_EQ(StageNamed(*ex, "Destroy canary")->value("status", ""),
              "SUCCEEDED");
    EXPECT_EQ(StageNamed(*ex, "Destroy baseline")->value("status", ""),
              "SUCCEEDED");
  }
  EXPECT_EQ(metrics["error ratio"], "Pass");  // the slow canary's errors
  // Production answered every request; the only failures are the erring
  // canary's own 500s while it took its share of the traffic.
  std::printf("canary failures, load: %s\n", Describe(during).c_str());
  EXPECT_GT(during.by_version["v2"], 0);
  EXPECT_EQ(during.by_version.count("v3") + during.by_version.count("v4") > 0,
            true);
  for (const std::string& f : during.failures) {
    EXPECT_NE(f.find("500"), std::string::npos) << f;
  }
  // Afterwards only production is left, and it is v2.
  Json groups = Call("GET", "/applications/demo/serverGroups");
  for (const Json& g : groups) {
    if (g.value("isDisabled", false)) continue;
    if (g.value("instanceCounts", Json::object()).value("total", 0) == 0) {
      continue;
    }
    EXPECT_EQ(g.value("cluster", ""), "demo-web") << g.dump();
  }
}

}  // namespace
}  // namespace gennaker
