// #fromUrl and friends as orca runs them: through the outbound policy, with a
// deadline per call and a bounded number of calls in flight, against a real
// HTTP server on loopback.
#include "services/orca/expression_lookups.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_server.h"
#include "gtest/gtest.h"
#include "services/orca/engine/engine_test_util.h"
#include "services/orca/engine/memory_store.h"
#include "services/orca/engine/worker.h"
#include "services/orca/launcher.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {
namespace {

class ExpressionLookupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    big_ = std::make_shared<const std::string>(size_t{200} << 20, 'x');
    http::Router router;
    router.Add("GET", "/ok", [](const http::Request&) {
      return http::Json(200, R"({"a": 1})");
    });
    router.Add("GET", "/slow", [](const http::Request&) {
      absl::SleepFor(absl::Seconds(2));
      return http::Json(200, "{}");
    });
    std::shared_ptr<const std::string> big = big_;
    router.Add("GET", "/big", [big](const http::Request&) {
      return http::SharedJson(200, big);
    });
    http::ServerOptions o;
    o.threads = 8;
    auto server = http::Server::Start(o, std::move(router));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    base_ = absl::StrCat("http://127.0.0.1:", server_->port());
  }

  // Lookups under `policy` (with this test's server allow-listed when
  // `trust_server`).
  std::unique_ptr<ExpressionLookups> Lookups(http::OutboundPolicy policy,
                                             bool trust_server,
                                             int max_concurrent = 2) {
    if (trust_server) policy.allowed_url_prefixes.push_back(base_ + "/");
    auto client = http::OutboundClient::Create(std::move(policy));
    EXPECT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
    return std::make_unique<ExpressionLookups>(nullptr, client_.get(),
                                               max_concurrent);
  }

  std::shared_ptr<const std::string> big_;
  std::unique_ptr<http::Server> server_;
  std::string base_;
  std::unique_ptr<http::OutboundClient> client_;
};

TEST_F(ExpressionLookupsTest, FilesLoopbackAndSuitePortsAreRefused) {
  auto lookups = Lookups(http::DefaultOutboundPolicy(), false);
  for (const std::string& url :
       {std::string("file:///etc/passwd"),
        std::string("dict://127.0.0.1:6379/"),
        std::string("gopher://127.0.0.1:6379/_INFO"), base_ + "/ok",
        std::string("http://localhost:") + std::to_string(server_->port()) +
            "/ok",
        std::string("http://169.254.169.254/latest/meta-data/")}) {
    absl::StatusOr<std::string> body = lookups->FetchUrl(url);
    EXPECT_EQ(body.status().code(), absl::StatusCode::kPermissionDenied)
        << url << ": " << body.status();
  }
  // The suite's own ports stay refused even where loopback is allowed.
  http::OutboundPolicy loopback = http::DefaultOutboundPolicy();
  loopback.allow_loopback = true;
  auto open = Lookups(loopback, false);
  for (int port : http::SuitePorts()) {
    std::string url = absl::StrCat("http://127.0.0.1:", port, "/");
    EXPECT_EQ(open->FetchUrl(url).status().code(),
              absl::StatusCode::kPermissionDenied)
        << url;
  }
  EXPECT_TRUE(open->FetchUrl(base_ + "/ok").ok());
}

TEST_F(ExpressionLookupsTest, AnAllowListedPrefixIsFetched) {
  auto lookups = Lookups(http::DefaultOutboundPolicy(), true);
  absl::StatusOr<std::string> body = lookups->FetchUrl(base_ + "/ok");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, R"({"a": 1})");
}

TEST_F(ExpressionLookupsTest, AHugeAnswerIsCutAtTheCapNotReadWhole) {
  http::OutboundPolicy policy = http::DefaultOutboundPolicy();
  policy.max_response_bytes = 1 << 20;
  auto lookups = Lookups(policy, true);
  absl::Time start = absl::Now();
  absl::StatusOr<std::string> body = lookups->FetchUrl(base_ + "/big");
  EXPECT_EQ(body.status().code(), absl::StatusCode::kFailedPrecondition)
      << body.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

// One slow URL must not hold the engine's workers: each call ends at the
// deadline, calls beyond the slots fail at the deadline instead of queueing,
// and a fast URL is served as soon as a slot frees.
TEST_F(ExpressionLookupsTest, ASlowUrlHoldsAtMostItsSlotsForOneDeadline) {
  http::OutboundPolicy policy = http::DefaultOutboundPolicy();
  policy.timeout_ms = 300;
  auto lookups = Lookups(policy, true, /*max_concurrent=*/1);
  std::vector<std::thread> callers;
  std::vector<absl::Duration> took(3);
  std::vector<absl::Status> results(3);
  for (int i = 0; i < 3; ++i) {
    callers.emplace_back([&, i] {
      absl::Time start = absl::Now();
      results[i] = lookups->FetchUrl(base_ + "/slow").status();
      took[i] = absl::Now() - start;
    });
  }
  for (std::thread& t : callers) t.join();
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(results[i].ok());
    EXPECT_LT(took[i], absl::Seconds(1)) << i << ": " << results[i];
  }
  // The slow handlers are still sleeping on the server: a fast URL gets a
  // slot and its answer now.
  absl::Time start = absl::Now();
  EXPECT_TRUE(lookups->FetchUrl(base_ + "/ok").ok());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(300));
}

// Starts a one-stage pipeline (a wait with `extra` context) on `store`.
std::string StartWait(MemoryStore* store, int64_t now_ms, const Json& extra) {
  Json stage = {{"refId", "1"}, {"type", "wait"}, {"waitTime", 0}};
  for (auto it = extra.begin(); it != extra.end(); ++it) {
    stage[it.key()] = *it;
  }
  LaunchOptions o;
  o.now_ms = now_ms;
  auto exec = BuildPipelineExecution(
      {{"application", "app"}, {"stages", {stage}}}, Json::object(), o);
  EXPECT_TRUE(exec.ok()) << exec.status();
  auto id = store->Create(*exec, "", {StartMessage(*exec)});
  EXPECT_TRUE(id.ok()) << id.status();
  return id.ok() ? *id : "";
}

TEST_F(ExpressionLookupsTest, ARefusedUrlFailsTheExpressionInAPipeline) {
  auto lookups = Lookups(http::DefaultOutboundPolicy(), false);
  Registry registry;
  RegisterBuiltinStages(&registry, StageDeps{});
  testing::ManualClock clock;
  MemoryStore store(&clock);
  Engine engine(&store, &registry, &clock, lookups.get());
  std::string id = StartWait(&store, clock.NowMs(),
                             {{"failOnFailedExpressions", true},
                              {"secret", "${#fromUrl('file:///etc/passwd')}"}});
  testing::RunUntilSettled(&engine, &store, &clock, 1000, 100);
  Json e = testing::GetExecution(&store, id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  std::string errors =
      Dump(e["stages"][0]["context"]["exception"]["details"]["errors"]);
  EXPECT_NE(errors.find("scheme 'file' is not allowed"), std::string::npos)
      << errors;
}

// Workers evaluating #fromUrl of a slow target must leave room for the rest:
// with two workers and executions that all fetch a URL answering after 2 s,
// executions that fetch nothing still finish at once.
TEST_F(ExpressionLookupsTest, ASlowUrlDoesNotStopOtherExecutions) {
  http::OutboundPolicy policy = http::DefaultOutboundPolicy();
  policy.timeout_ms = 300;
  auto lookups = Lookups(policy, true, /*max_concurrent=*/1);
  Registry registry;
  RegisterBuiltinStages(&registry, StageDeps{});
  SystemClock clock;
  MemoryStore store(&clock);
  Engine engine(&store, &registry, &clock, lookups.get());
  std::vector<std::string> slow, fast;
  for (int i = 0; i < 6; ++i) {
    slow.push_back(StartWait(&store, clock.NowMs(),
                             {{"note", "${#fromUrl('" + base_ + "/slow')}"}}));
  }
  for (int i = 0; i < 3; ++i) {
    fast.push_back(StartWait(&store, clock.NowMs(), Json::object()));
  }
  WorkerOptions w;
  w.threads = 2;
  w.safety_poll_ms = 20;
  Worker worker(&engine, &store, &clock, w);
  const absl::Time start = absl::Now();
  worker.Start();
  auto done = [&store](const std::vector<std::string>& ids) {
    for (const std::string& id : ids) {
      auto e = store.Get(id);
      if (!e.ok() || String(*e, "status") != "SUCCEEDED") return false;
    }
    return true;
  };
  while (!done(fast) && absl::Now() - start < absl::Seconds(20)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Duration fast_took = absl::Now() - start;
  while (!done(slow) && absl::Now() - start < absl::Seconds(20)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  worker.Stop();
  EXPECT_TRUE(done(fast));
  EXPECT_TRUE(done(slow));
  // Unbounded, the six fetches hold both workers for 6 s before these run.
  EXPECT_LT(fast_took, absl::Seconds(3));
  // Each slow fetch failed its expression (recorded), not the stage.
  auto e = store.Get(slow[0]);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->at("stages")[0]["context"]["note"],
            "${#fromUrl('" + base_ + "/slow')}");
}

}  // namespace
}  // namespace gennaker::orca
