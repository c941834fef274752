// Deployments end to end with real processes: PostgreSQL, Redis, clouddriver
// (local provider), orca and gate, deploying gennaker-demo instances behind a
// local load balancer while a load generator sends requests through it.
//   - v1 (3 instances), then red/black to v2 under load: 0 failed requests,
//     v2 serves all traffic afterwards, v1 disabled and scaled down to 0;
//   - a v3 whose instances never become healthy: the deploy fails, the
//     rollback disables v3, v2 keeps serving every request;
//   - clouddriver killed with SIGKILL in the middle of a deploy and
//     restarted: the deploy finishes or fails cleanly, no orphan process;
//   - the load balancer created by a Deck-style infrastructure task through
//     gate's POST /tasks, and the infrastructure read through gate's REST API.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
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

class DeployE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::SharedPostgres();
    ASSERT_TRUE(pg.ok()) << pg.status();
    auto dsn = (*pg)->CreateDatabase("deploy");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    auto redis = testing::TestRedis::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    dir_ = testing::MakeTempDir("deploy-e2e");
    state_ = std::filesystem::canonical(dir_).string() + "/local/local";
    for (Service* s : {&clouddriver_, &orca_, &gate_}) {
      s->grpc_port = *process::FreePort();
    }
    gate_http_ = *process::FreePort();
    auto common = [&](const Service& s) {
      return absl::StrCat("server: {host: 127.0.0.1, grpcPort: ", s.grpc_port,
                          ", adminPort: ", *process::FreePort(),
                          ", shutdownGraceSeconds: 2}\n"
                          "logging: {level: info, format: text}\n");
    };
    const std::string cd_address =
        absl::StrCat("127.0.0.1:", clouddriver_.grpc_port);
    clouddriver_.name = "clouddriver";
    clouddriver_.config = dir_ + "/clouddriver.yml";
    std::ofstream(clouddriver_.config)
        << common(clouddriver_)
        << absl::StrCat("redis: {url: '", redis_->Url(), "'}\nstateDir: '",
                        dir_,
                        "'\nlocalAccounts: [{name: local, environment: test}]\n"
                        "cacheIntervalSeconds: 1\ntaskOwnerTtlSeconds: 2\n");
    orca_.name = "orca";
    orca_.config = dir_ + "/orca.yml";
    std::ofstream(orca_.config)
        << common(orca_)
        << absl::StrCat("postgres: {dsn: '", *dsn,
                        "'}\nservices: {front50: {address: '127.0.0.1:9'}, "
                        "clouddriver: {address: '",
                        cd_address,
                        "'}}\nengine: {workerThreads: 4, safetyPollMs: 200}\n");
    gate_.name = "gate";
    gate_.config = dir_ + "/gate.yml";
    std::ofstream(gate_.config)
        << common(gate_)
        << absl::StrCat(
               "redis: {url: '", redis_->Url(), "'}\nhttpPort: ", gate_http_,
               "\nservices: {orca: {address: '127.0.0.1:", orca_.grpc_port,
               "'}, clouddriver: {address: '", cd_address, "'}}\n");
    for (Service* s : {&clouddriver_, &orca_, &gate_}) Start(*s);
    gate_url_ = absl::StrCat("http://127.0.0.1:", gate_http_);
  }

  void TearDown() override {
    load_.reset();
    for (Service* s : {&gate_, &orca_, &clouddriver_}) {
      if (s->pid > 0) (void)process::Terminate(s->pid, absl::Seconds(10));
    }
    for (pid_t p : process::ProcessesWithEnv(Tag())) killpg(p, SIGKILL);
    testing::RemoveTree(dir_);
  }

  std::string Tag() const {
    return absl::StrCat("GENNAKER_LOCAL_STATE_DIR=", state_);
  }

  void Start(Service& s) {
    absl::Status started = testing::StartSuiteProcess(s, dir_);
    ASSERT_TRUE(started.ok()) << started;
  }

  Json Get(const std::string& path) {
    http::ClientResponse r = testing::RestCall(gate_url_, "GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return Json::parse(r.body, nullptr, false);
  }

  // Runs a Deck-style infrastructure task through gate; its final status.
  std::string RunTask(const Json& body) {
    http::ClientResponse r =
        testing::RestCall(gate_url_, "POST", "/tasks", body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    std::string ref = Json::parse(r.body).value("ref", "");
    std::string id = ref.substr(ref.rfind('/') + 1);
    for (int i = 0; i < 600; ++i) {
      Json t = Get("/tasks/" + id);
      std::string st = t.value("status", "");
      if (st != "RUNNING" && st != "NOT_STARTED") return st;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return "TIMEOUT";
  }

  std::string StartPipeline(const Json& stages) {
    ov1::StartPipelineRequest req;
    req.set_application("demo");
    req.mutable_config()->set_json(
        Json({{"application", "demo"}, {"name", "deploy"}, {"stages", stages}})
            .dump());
    ov1::StartPipelineResponse resp;
    auto stub = ov1::OrcaService::NewStub(
        MakeChannel(absl::StrCat("127.0.0.1:", orca_.grpc_port)));
    auto ctx = MakeClientContext(std::chrono::seconds(5));
    grpc::Status s = stub->StartPipeline(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.execution().id();
  }

  Json WaitPipeline(const std::string& id, int seconds = 120) {
    Json e;
    for (int i = 0; i < seconds * 20; ++i) {
      e = Get("/pipelines/" + id);
      std::string st = e.value("status", "");
      if (st != "RUNNING" && st != "NOT_STARTED") return e;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "pipeline " << id << " did not finish: " << e.dump(1);
    return e;
  }

  static Json DeployStage(const std::string& version, Json extra) {
    Json cluster = {
        {"application", "demo"},
        {"stack", "prod"},
        {"credentials", "local"},
        {"cloudProvider", "local"},
        {"availabilityZones", {{"localhost", {"localhost"}}}},
        {"capacity", {{"min", 3}, {"max", 3}, {"desired", 3}}},
        {"command",
         {testing::BinDir() + "/gennaker-demo", "--port", "{{port}}",
          "--version", version}},
        {"healthCheck",
         {{"path", "/health"}, {"intervalMs", 100}, {"healthyThreshold", 2}}},
        {"loadBalancers", {"demo"}},
        {"strategy", "redblack"},
        {"scaleDown", true},
        {"maxRemainingAsgs", 3}};
    for (auto it = extra.begin(); it != extra.end(); ++it) {
      cluster[it.key()] = *it;
    }
    return Json::array({{{"refId", "1"},
                         {"type", "deploy"},
                         {"name", "Deploy " + version},
                         {"clusters", {cluster}}}});
  }

  Json Group(const std::string& name) {
    return Get("/applications/demo/serverGroups/local/localhost/" + name);
  }

  std::string Describe(const testing::LoadGenerator::Counts& c) {
    std::string out = absl::StrCat("ok=", c.ok, " failed=", c.failed);
    for (const auto& [v, n] : c.by_version)
      absl::StrAppend(&out, " ", v, "=", n);
    for (const auto& f : c.failures) absl::StrAppend(&out, "\n  failure: ", f);
    return out;
  }

  std::unique_ptr<testing::TestRedis> redis_;
  std::string dir_, state_, gate_url_;
  Service clouddriver_, orca_, gate_;
  int gate_http_ = 0;
  std::unique_ptr<testing::LoadGenerator> load_;
};

TEST_F(DeployE2eTest, RedBlackUnderLoadRollbackAndClouddriverRestart) {
  // The load balancer, as Deck creates it: an infrastructure task via gate.
  ASSERT_EQ(RunTask({{"application", "demo"},
                     {"description", "Create Load Balancer: demo"},
                     {"job",
                      {{{"type", "upsertLoadBalancer"},
                        {"name", "demo"},
                        {"credentials", "local"},
                        {"cloudProvider", "local"},
                        {"region", "localhost"},
                        {"listeners", {{{"port", 0}}}}}}}}),
            "SUCCEEDED");
  Json lbs = Get("/applications/demo/loadBalancers");
  ASSERT_EQ(lbs.size(), 1u) << lbs.dump();
  const int lb_port = lbs[0]["listeners"][0]["port"];
  const std::string lb_url = absl::StrCat("http://127.0.0.1:", lb_port, "/");

  // v1.
  Json e = WaitPipeline(StartPipeline(DeployStage("v1", Json::object())));
  ASSERT_EQ(e["status"], "SUCCEEDED") << e.dump(1);
  Json v1 = Group("demo-prod-v000");
  EXPECT_EQ(v1["instanceCounts"]["up"], 3) << v1.dump(1);

  // Red/black to v2 with requests flowing the whole time.
  load_ = std::make_unique<testing::LoadGenerator>(lb_url, 4);
  absl::SleepFor(absl::Milliseconds(500));
  e = WaitPipeline(StartPipeline(DeployStage("v2", Json::object())));
  ASSERT_EQ(e["status"], "SUCCEEDED") << e.dump(1);
  testing::LoadGenerator::Counts during = load_->counts();
  std::printf("red/black v1 -> v2 under load: %s\n", Describe(during).c_str());
  EXPECT_EQ(during.failed, 0) << Describe(during);
  EXPECT_GT(during.by_version["v1"], 0);
  EXPECT_GT(during.by_version["v2"], 0);
  load_->Reset();
  absl::SleepFor(absl::Milliseconds(1000));
  testing::LoadGenerator::Counts after = load_->counts();
  std::printf("after red/black: %s\n", Describe(after).c_str());
  EXPECT_EQ(after.failed, 0);
  EXPECT_GT(after.by_version["v2"], 0);
  EXPECT_EQ(after.by_version.count("v1"), 0u) << "v1 still serves";
  v1 = Group("demo-prod-v000");
  EXPECT_EQ(v1["isDisabled"], true) << v1.dump(1);
  EXPECT_EQ(v1["capacity"]["desired"], 0) << "v1 not scaled down";
  Json v2 = Group("demo-prod-v001");
  EXPECT_EQ(v2["isDisabled"], false);
  EXPECT_EQ(v2["instanceCounts"]["up"], 3);

  // v3 never becomes healthy: the deploy fails, rollback disables it, and v2
  // keeps serving every request.
  load_->Reset();
  e = WaitPipeline(StartPipeline(
      DeployStage("v3", {{"command",
                          {testing::BinDir() + "/gennaker-demo", "--port",
                           "{{port}}", "--version", "v3", "--unhealthy"}},
                         {"rollback", {{"onFailure", true}}},
                         {"waitForUpInstancesTimeoutMs", 3000}})));
  EXPECT_EQ(e["status"], "TERMINAL") << e.dump(1);
  bool rolled_back = false;
  for (const Json& s : e["stages"]) {
    if (s["type"] == "rollbackCluster") {
      rolled_back = s["status"] == "SUCCEEDED";
    }
  }
  EXPECT_TRUE(rolled_back) << e.dump(1);
  during = load_->counts();
  std::printf("failed v3 deploy with rollback under load: %s\n",
              Describe(during).c_str());
  EXPECT_EQ(during.failed, 0) << Describe(during);
  EXPECT_EQ(during.by_version.count("v3"), 0u);
  EXPECT_GT(during.by_version["v2"], 0);
  Json v3 = Group("demo-prod-v002");
  EXPECT_EQ(v3["isDisabled"], true) << v3.dump(1);
  EXPECT_EQ(Group("demo-prod-v001")["isDisabled"], false);
  load_.reset();

  // The infrastructure through gate's REST API.
  Json clusters = Get("/applications/demo/clusters");
  EXPECT_EQ(clusters, Json({{"local", {"demo-prod"}}}));
  Json search = Get("/search?q=demo-prod-v001&type=serverGroups");
  ASSERT_EQ(search.size(), 1u);
  EXPECT_EQ(search[0]["totalMatches"], 1);
  std::string instance = v2["instances"][0]["id"];
  Json in = Get("/instances/local/localhost/" + instance);
  EXPECT_EQ(in["serverGroup"], "demo-prod-v001");
  EXPECT_EQ(Get("/credentials")[0]["name"], "local");

  // clouddriver killed in the middle of a deploy of v4, then restarted.
  const std::string id = StartPipeline(DeployStage("v4", Json::object()));
  bool launching = false;
  for (int i = 0; i < 400 && !launching; ++i) {
    Json now = Get("/pipelines/" + id);
    for (const Json& s : now["stages"]) {
      launching = launching || (s["type"] == "createServerGroup" &&
                                s["status"] == "RUNNING");
    }
    if (!launching) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(launching);
  absl::SleepFor(absl::Milliseconds(300));
  const std::set<pid_t> before = process::ProcessesWithEnv(Tag());
  ASSERT_EQ(kill(clouddriver_.pid, SIGKILL), 0);
  while (process::IsAlive(clouddriver_.pid)) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  Start(clouddriver_);
  for (pid_t p : process::ProcessesWithEnv(Tag())) {
    EXPECT_EQ(before.count(p), 0u) << "orphan instance " << p;
  }
  e = WaitPipeline(id);
  int resumed = 0;
  for (const Json& s : e["stages"]) {
    if (s["type"] == "createServerGroup" && s.contains("context") &&
        s["context"].contains("kato.task.resumeCount")) {
      resumed = s["context"]["kato.task.resumeCount"];
    }
  }
  std::printf(
      "deploy across a clouddriver restart: %s (orphaned task resumed %d "
      "time(s), %zu instances before the kill)\n",
      e["status"].get<std::string>().c_str(), resumed, before.size());
  // The deploy was waiting for its instances when clouddriver died: the
  // restored server group's new instances come up and it finishes.
  EXPECT_EQ(e["status"], "SUCCEEDED") << e.dump(1);
  // Every running instance is one clouddriver reports: nothing orphaned
  // (the cache may lag a moment behind the processes).
  std::set<pid_t> known, running;
  for (int i = 0; i < 40; ++i) {
    known.clear();
    for (const Json& g : Get("/applications/demo/serverGroups")) {
      for (const Json& in : g["instances"]) {
        known.insert(in["pid"].get<pid_t>());
      }
    }
    running = process::ProcessesWithEnv(Tag());
    if (running == known) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(running, known);
  http::ClientRequest r;
  r.url = lb_url;
  auto resp = http::Fetch(r);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(Json::parse(resp->body)["version"], "v4");
}

}  // namespace
}  // namespace gennaker
