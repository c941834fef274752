// gennaker-demo as a real process: its version, health, failure and latency
// switches, Prometheus metrics, bad flags and a clean stop on SIGTERM.
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace gennaker {
namespace {

using ::testing::HasSubstr;

class DemoTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra) {
    port_ = *process::FreePort();
    process::SpawnOptions o;
    o.argv = {testing::BinDir() + "/gennaker-demo", "--port",
              std::to_string(port_)};
    o.argv.insert(o.argv.end(), extra.begin(), extra.end());
    o.die_with_parent = true;
    auto pid = process::Spawn(o);
    ASSERT_TRUE(pid.ok());
    pid_ = *pid;
    for (int i = 0; i < 200; ++i) {
      if (Get("/metrics").status == 200) return;
      absl::SleepFor(absl::Milliseconds(10));
    }
    FAIL() << "gennaker-demo did not start";
  }
  void TearDown() override {
    if (pid_ > 0) (void)process::Terminate(pid_, absl::Seconds(3));
  }
  http::ClientResponse Call(const std::string& method,
                            const std::string& path) {
    http::ClientRequest r;
    r.method = method;
    r.url = absl::StrCat("http://127.0.0.1:", port_, path);
    r.timeout_ms = 5000;
    auto resp = http::Fetch(r);
    return resp.ok() ? *resp : http::ClientResponse{};
  }
  http::ClientResponse Get(const std::string& path) {
    return Call("GET", path);
  }

  int port_ = 0;
  pid_t pid_ = 0;
};

TEST_F(DemoTest, ServesItsVersionHealthAndMetrics) {
  Start({"--version", "v7"});
  auto root = Get("/");
  ASSERT_EQ(root.status, 200);
  auto j = nlohmann::json::parse(root.body);
  EXPECT_EQ(j["version"], "v7");
  EXPECT_EQ(j["port"], port_);
  EXPECT_EQ(Get("/health").status, 200);
  EXPECT_EQ(Call("POST", "/admin/unhealthy").status, 200);
  EXPECT_EQ(Get("/health").status, 503);
  EXPECT_EQ(Call("POST", "/admin/healthy").status, 200);
  EXPECT_EQ(Get("/health").status, 200);
  // Every request fails, then is slow, then back to normal.
  EXPECT_EQ(Call("POST", "/admin/fail?rate=1").status, 200);
  EXPECT_EQ(Get("/").status, 500);
  EXPECT_EQ(Call("POST", "/admin/fail?rate=2").status, 400);
  EXPECT_EQ(Call("POST", "/admin/reset").status, 200);
  EXPECT_EQ(Call("POST", "/admin/slow?ms=150").status, 200);
  absl::Time t = absl::Now();
  EXPECT_EQ(Get("/").status, 200);
  EXPECT_GE(absl::Now() - t, absl::Milliseconds(150));
  auto metrics = Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(
      metrics.body,
      HasSubstr(
          R"(gennaker_requests_total{service="gennaker-demo",kind="http",method="/",code="200"} 2)"));
  EXPECT_THAT(metrics.body, HasSubstr(R"(code="500"} 1)"));
  EXPECT_THAT(metrics.body,
              HasSubstr("gennaker_request_duration_seconds_bucket"));
}

TEST_F(DemoTest, StartsUnhealthyOrFailingOnRequest) {
  Start({"--unhealthy", "--fail-rate", "1"});
  EXPECT_EQ(Get("/health").status, 503);
  EXPECT_EQ(Get("/").status, 500);
}

TEST_F(DemoTest, RefusesBadFlags) {
  process::SpawnOptions o;
  o.argv = {testing::BinDir() + "/gennaker-demo", "--port", "0"};
  EXPECT_EQ(*process::Run(o), 2);
  o.argv = {testing::BinDir() + "/gennaker-demo", "--port", "8080",
            "--fail-rate", "7"};
  EXPECT_EQ(*process::Run(o), 2);
}

TEST_F(DemoTest, StopsOnSigterm) {
  Start({});
  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  for (int i = 0; i < 300 && process::IsAlive(pid_); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_FALSE(process::IsAlive(pid_));
  pid_ = 0;
}

}  // namespace
}  // namespace gennaker
