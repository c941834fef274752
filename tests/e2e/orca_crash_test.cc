// orca as real processes on one real PostgreSQL: two instances share the work
// without handling any message twice at once, and executions survive kill -9
// of either instance at random moments. Webhook stages call a local counting
// HTTP server; every call carries an idempotency key that is the same on each
// delivery of that call, so a redelivery after a crash is visible (and
// de-duplicable) at the receiver.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/counting_server.h"

namespace gennaker {
namespace {

using Json = nlohmann::json;
namespace ov1 = orca::v1;

struct Instance {
  int grpc_port = 0;
  int admin_port = 0;
  std::string config;
  pid_t pid = 0;
};

class OrcaCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::SharedPostgres();
    ASSERT_TRUE(pg.ok()) << pg.status();
    auto dsn = (*pg)->CreateDatabase("crash");
    ASSERT_TRUE(dsn.ok());
    dsn_ = *dsn;
    dir_ = testing::MakeTempDir("orca-crash");
    hooks_ = testing::CountingServer::Start();
    ASSERT_NE(hooks_, nullptr);
    for (int i = 0; i < 2; ++i) {
      Instance in;
      in.grpc_port = *process::FreePort();
      in.admin_port = *process::FreePort();
      in.config = absl::StrCat(dir_, "/orca-", i, ".yml");
      std::ofstream(in.config) << absl::StrCat(
          "server: {host: 127.0.0.1, grpcPort: ", in.grpc_port,
          ", adminPort: ", in.admin_port,
          ", shutdownGraceSeconds: 2}\n"
          "logging: {level: info, format: text}\n"
          "postgres: {dsn: '",
          dsn_,
          "', poolSize: 8, connectTimeoutSeconds: 5}\n"
          // Pipelines here are started from inline configs: front50 is never
          // called, but orca requires its address.
          "services: {front50: {address: '127.0.0.1:9'}}\n"
          "engine: {workerThreads: 3, safetyPollMs: 500, "
          "maxHandlerAttempts: ",
          kDefaultMaxAttempts,
          "}\n"
          // The webhook receiver runs on loopback, which the outbound
          // policy refuses unless allow-listed.
          "outbound: {allowedUrlPrefixes: ['",
          hooks_->Url("/"), "']}\n");
      instances_.push_back(in);
    }
  }

  void TearDown() override {
    for (Instance& in : instances_) {
      if (in.pid > 0) (void)process::Terminate(in.pid, absl::Seconds(3));
    }
    testing::RemoveTree(dir_);
  }

  // orca's default; the poison-message test lowers it to kMaxAttempts.
  static constexpr int kDefaultMaxAttempts = 8;
  static constexpr int kMaxAttempts = 3;

  // `crash_on`: a stage type whose tasks make this orca abort (the test hook
  // GENNAKER_TEST_CRASH_ON).
  // Spawns without waiting for it to serve (it may die before).
  void SpawnInstance(Instance& in, const std::string& crash_on = "") {
    process::SpawnOptions o;
    o.argv = {testing::BinDir() + "/orca", "--config", in.config};
    if (!crash_on.empty())
      o.env.push_back({"GENNAKER_TEST_CRASH_ON", crash_on});
    o.log_file = absl::StrCat(in.config, ".log");
    o.die_with_parent = true;
    auto pid = process::Spawn(o);
    ASSERT_TRUE(pid.ok()) << pid.status();
    in.pid = *pid;
  }

  void StartInstance(Instance& in, const std::string& crash_on = "") {
    SpawnInstance(in, crash_on);
    std::string address = absl::StrCat("127.0.0.1:", in.grpc_port);
    for (int i = 0; i < 100; ++i) {
      auto serving = CheckServing(address, std::chrono::milliseconds(200));
      if (serving.ok() && *serving) return;
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "orca did not become SERVING; see " << in.config << ".log";
  }

  void Kill9(Instance& in) {
    ASSERT_EQ(kill(in.pid, SIGKILL), 0);
    while (process::IsAlive(in.pid)) absl::SleepFor(absl::Milliseconds(5));
    in.pid = 0;
  }

  std::unique_ptr<ov1::OrcaService::Stub> Stub(const Instance& in) {
    return ov1::OrcaService::NewStub(
        MakeChannel(absl::StrCat("127.0.0.1:", in.grpc_port)));
  }

  // Webhook stages: 1, then 2 and 3 in parallel (then 4 after both).
  Json WebhookPipeline(int delay_ms, bool join = false) {
    std::string url = hooks_->Url(absl::StrCat("/hook?delay_ms=", delay_ms));
    Json stages = Json::array();
    std::vector<std::pair<std::string, Json>> shape = {
        {"1", Json::array()},
        {"2", Json::array({"1"})},
        {"3", Json::array({"1"})}};
    if (join) shape.push_back({"4", Json::array({"2", "3"})});
    for (auto [ref, req] : shape) {
      stages.push_back({{"refId", ref},
                        {"type", "webhook"},
                        {"name", "call " + ref},
                        {"url", url},
                        {"method", "POST"},
                        {"payload", {{"stage", ref}}},
                        {"requisiteStageRefIds", req}});
    }
    return {{"application", "crash"}, {"name", "hooks"}, {"stages", stages}};
  }

  // Starts `n` executions through whichever instance is up.
  std::vector<std::string> StartExecutions(int n, const Json& config) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ov1::StartPipelineRequest req;
      req.mutable_config()->set_json(config.dump());
      req.set_application("crash");
      for (int attempt = 0; attempt < 50; ++attempt) {
        Instance& in = instances_[(i + attempt) % instances_.size()];
        if (in.pid == 0) continue;
        ov1::StartPipelineResponse resp;
        auto ctx = MakeClientContext(std::chrono::seconds(5));
        grpc::Status s = Stub(in)->StartPipeline(ctx.get(), req, &resp);
        if (s.ok()) {
          ids.push_back(resp.execution().id());
          break;
        }
        absl::SleepFor(absl::Milliseconds(20));
      }
    }
    return ids;
  }

  // Final statuses, read through any live instance.
  std::map<std::string, std::string> Statuses(
      const std::vector<std::string>& ids) {
    std::map<std::string, std::string> out;
    for (Instance& in : instances_) {
      if (in.pid == 0) continue;
      ov1::ListExecutionsRequest req;
      for (const std::string& id : ids) req.add_execution_ids(id);
      req.set_limit(static_cast<int>(ids.size()));
      req.set_view(ov1::EXECUTION_VIEW_STATUS);
      ov1::ListExecutionsResponse resp;
      auto ctx = MakeClientContext(std::chrono::seconds(5));
      if (!Stub(in)->ListExecutions(ctx.get(), req, &resp).ok()) continue;
      for (const auto& e : resp.executions()) {
        std::string name = ov1::ExecutionStatus_Name(e.status());
        out[e.id()] = name.substr(strlen("EXECUTION_STATUS_"));
      }
      return out;
    }
    return out;
  }

  bool AllDone(const std::map<std::string, std::string>& s, size_t n) {
    if (s.size() != n) return false;
    for (auto& [id, st] : s) {
      if (st == "RUNNING" || st == "NOT_STARTED") return false;
    }
    return true;
  }

  // Messages claimed by an instance since it started (its /metrics).
  int64_t Claimed(const Instance& in) {
    http::ClientRequest r;
    r.url = absl::StrCat("http://127.0.0.1:", in.admin_port, "/metrics");
    auto resp = http::Fetch(r);
    if (!resp.ok()) return -1;
    int64_t total = 0;
    std::istringstream lines(resp->body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("gennaker_requests_total{", 0) == 0 &&
          line.find("kind=\"queue\"") != std::string::npos) {
        total += std::stoll(line.substr(line.rfind(' ') + 1));
      }
    }
    return total;
  }

  std::string dsn_, dir_;
  std::unique_ptr<testing::CountingServer> hooks_;
  std::vector<Instance> instances_;
};

TEST_F(OrcaCrashTest,
       TwoInstancesShareTheWorkAndNeverHandleOneStageTwiceAtOnce) {
  for (Instance& in : instances_) StartInstance(in);
  std::vector<std::string> ids = StartExecutions(60, WebhookPipeline(20));
  ASSERT_EQ(ids.size(), 60u);
  std::map<std::string, std::string> s;
  for (int i = 0; i < 600 && !AllDone(s, ids.size()); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    s = Statuses(ids);
  }
  for (const std::string& id : ids) EXPECT_EQ(s[id], "SUCCEEDED") << id;
  auto calls = hooks_->CallsByKey();
  EXPECT_EQ(calls.size(), 180u);  // 60 executions x 3 stages
  for (auto& [key, n] : calls) EXPECT_EQ(n, 1) << key;
  EXPECT_EQ(hooks_->MaxConcurrentPerKey(), 1);
  int64_t a = Claimed(instances_[0]), b = Claimed(instances_[1]);
  std::printf(
      "two-instances: executions=60 webhook_calls=%d claimed_a=%lld "
      "claimed_b=%lld\n",
      hooks_->TotalCalls(), static_cast<long long>(a),
      static_cast<long long>(b));
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
}

TEST_F(OrcaCrashTest, ExecutionsSurviveKill9AtRandomMoments) {
  for (Instance& in : instances_) StartInstance(in);
  constexpr int kExecutions = 50;
  std::vector<std::string> ids =
      StartExecutions(kExecutions, WebhookPipeline(150, /*join=*/true));
  ASSERT_EQ(ids.size(), static_cast<size_t>(kExecutions));
  std::mt19937 rng(20261127);
  int kills = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(120);
  std::map<std::string, std::string> s;
  while (absl::Now() < deadline) {
    s = Statuses(ids);
    if (AllDone(s, ids.size())) break;
    if (kills < 16) {
      absl::SleepFor(absl::Milliseconds(100 + rng() % 250));
      Instance& victim = instances_[rng() % instances_.size()];
      if (victim.pid != 0) {
        Kill9(victim);
        ++kills;
        absl::SleepFor(absl::Milliseconds(rng() % 300));
        StartInstance(victim);
      }
    } else {
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  int succeeded = 0;
  for (const std::string& id : ids) {
    EXPECT_EQ(s[id], "SUCCEEDED") << id;
    succeeded += s[id] == "SUCCEEDED";
  }
  // Every stage's call arrived; redeliveries (a kill while the call was in
  // flight or before its result committed) carry the same key.
  auto calls = hooks_->CallsByKey();
  int total = hooks_->TotalCalls();
  int redelivered = 0, max_per_key = 0;
  for (auto& [key, n] : calls) {
    EXPECT_FALSE(key.empty());
    redelivered += n - 1;
    max_per_key = std::max(max_per_key, n);
  }
  std::set<std::string> executions;
  for (auto& [key, n] : calls) executions.insert(key.substr(0, key.find(':')));
  EXPECT_EQ(calls.size(), 4u * kExecutions);
  EXPECT_EQ(executions.size(), static_cast<size_t>(kExecutions));
  std::printf(
      "crash-test: executions=%d succeeded=%d kill9=%d webhook_calls=%d "
      "distinct_calls=%zu redelivered=%d max_deliveries_per_call=%d\n",
      kExecutions, succeeded, kills, total, calls.size(), redelivered,
      max_per_key);
  EXPECT_GE(kills, 5);
}

// A message whose handling kills orca used to be handled again after every
// restart, so orca crashed forever and no pipeline ran. Each handling is now
// counted before it starts; after maxHandlerAttempts deaths the message is
// dead-lettered and only its execution fails, with a message saying why.
TEST_F(OrcaCrashTest, AMessageThatKillsOrcaIsDeadLetteredAndOthersStillRun) {
  Instance& in = instances_[0];
  {
    std::ifstream f(in.config);
    std::string config((std::istreambuf_iterator<char>(f)),
                       std::istreambuf_iterator<char>());
    std::ofstream(in.config) << absl::StrReplaceAll(
        config, {{absl::StrCat("maxHandlerAttempts: ", kDefaultMaxAttempts),
                  absl::StrCat("maxHandlerAttempts: ", kMaxAttempts)}});
  }
  // Webhook tasks abort this orca (as a stack overflow would).
  StartInstance(in, "webhook");
  // Pipelines that run across the crashes: they must finish anyway.
  Json fine = {
      {"application", "crash"},
      {"name", "fine"},
      {"stages", {{{"refId", "1"}, {"type", "wait"}, {"waitTime", 2}}}}};
  std::vector<std::string> ids = StartExecutions(3, fine);
  ASSERT_EQ(ids.size(), 3u);
  Json poison = {{"application", "crash"},
                 {"name", "poison"},
                 {"stages",
                  {{{"refId", "1"},
                    {"type", "webhook"},
                    {"name", "poison"},
                    {"url", hooks_->Url("/hook")}}}}};
  std::vector<std::string> bad = StartExecutions(1, poison);
  ASSERT_EQ(bad.size(), 1u);
  ids.push_back(bad[0]);
  int restarts = 0;
  std::map<std::string, std::string> s;
  absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    if (!process::IsAlive(in.pid)) {
      ++restarts;
      ASSERT_LE(restarts, 2 * kMaxAttempts) << "orca keeps crashing";
      SpawnInstance(in, "webhook");
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    s = Statuses(ids);
    if (AllDone(s, ids.size())) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(restarts, kMaxAttempts);
  EXPECT_EQ(s[bad[0]], "TERMINAL");
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    EXPECT_EQ(s[ids[i]], "SUCCEEDED") << ids[i];
  }
  ov1::GetExecutionRequest req;
  req.set_id(bad[0]);
  ov1::GetExecutionResponse resp;
  auto ctx = MakeClientContext(std::chrono::seconds(5));
  ASSERT_TRUE(Stub(in)->GetExecution(ctx.get(), req, &resp).ok());
  EXPECT_NE(resp.execution().json().json().find(absl::StrCat(
                "orca crashed ", kMaxAttempts,
                " times handling runTask of this execution; dead-lettered")),
            std::string::npos)
      << resp.execution().json().json();
  // The poison's call never happened (orca died before making it).
  EXPECT_EQ(hooks_->TotalCalls(), 0);
  std::printf("poison-message: restarts=%d then dead-lettered\n", restarts);
}

}  // namespace
}  // namespace gennaker
