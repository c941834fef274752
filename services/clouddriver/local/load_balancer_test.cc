// LoadBalancer in front of real gennaker-demo instances: round-robin over
// the enabled groups' Up instances, a red/black switch under continuous load
// with zero failed requests, 503 without instances, firewall CIDRs.
#include "services/clouddriver/local/load_balancer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/testing/test_stores.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/clouddriver/local/instance_supervisor.h"

namespace gennaker::clouddriver::local {
namespace {

class LoadBalancerTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("local-lb"); }
  void TearDown() override { testing::RemoveTree(dir_); }

  std::unique_ptr<InstanceSupervisor> Group(const std::string& version) {
    ServerGroupSpec s;
    s.name = "demo-v" + version;
    s.command = {testing::BinDir() + "/gennaker-demo", "--port", "{{port}}",
                 "--version", version};
    s.health.interval_ms = 100;
    s.health.healthy_threshold = 1;
    s.log_dir = dir_;
    auto g = std::make_unique<InstanceSupervisor>(s, 2);
    EXPECT_TRUE(g->Start().ok());
    return g;
  }

  static void WaitUp(InstanceSupervisor& g, size_t n) {
    for (int i = 0; i < 500; ++i) {
      size_t up = 0;
      for (const auto& v : g.Instances()) up += v.health == HealthState::kUp;
      if (up == n) return;
      absl::SleepFor(absl::Milliseconds(20));
    }
    FAIL() << "instances did not become Up";
  }

  std::string dir_;
};

// The targets of the enabled groups, as clouddriver will compute them.
struct Attached {
  absl::Mutex mu;
  std::map<std::string, InstanceSupervisor*> groups;
  std::map<std::string, bool> enabled;
  std::vector<Target> Targets() {
    absl::MutexLock l(&mu);
    std::vector<Target> out;
    for (auto& [name, g] : groups) {
      if (!enabled[name]) continue;
      for (const InstanceView& v : g->Instances()) {
        if (v.health == HealthState::kUp) out.push_back({name, v.id, v.port});
      }
    }
    return out;
  }
  void Enable(const std::string& name, bool on) {
    absl::MutexLock l(&mu);
    enabled[name] = on;
  }
};

TEST_F(LoadBalancerTest, RedBlackSwitchUnderLoadFailsNoRequest) {
  auto v1 = Group("1"), v2 = Group("2");
  WaitUp(*v1, 2);
  WaitUp(*v2, 2);
  Attached attached;
  attached.groups = {{"v1", v1.get()}, {"v2", v2.get()}};
  attached.Enable("v1", true);
  LoadBalancerOptions o;
  o.name = "demo-frontend";
  auto lb = LoadBalancer::Start(o, [&] { return attached.Targets(); });
  ASSERT_TRUE(lb.ok()) << lb.status();
  std::string url = absl::StrCat("http://127.0.0.1:", (*lb)->port(), "/");

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  absl::Mutex mu;
  std::map<std::string, int> versions;  // by phase below
  std::string phase = "v1 only";
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&] {
      while (!stop) {
        http::ClientRequest r;
        r.url = url;
        auto resp = http::Fetch(r);
        if (!resp.ok() || resp->status != 200) {
          ++failed;
          continue;
        }
        ++ok;
        std::string v = nlohmann::json::parse(resp->body)["version"];
        absl::MutexLock l(&mu);
        ++versions[phase + ":" + v];
      }
    });
  }
  auto set_phase = [&](const std::string& p) {
    absl::MutexLock l(&mu);
    phase = p;
  };
  absl::SleepFor(absl::Milliseconds(400));
  attached.Enable("v2", true);  // both serve
  (*lb)->TargetsChanged();      // the owner's duty, as LocalProvider does
  set_phase("both");
  absl::SleepFor(absl::Milliseconds(400));
  attached.Enable("v1", false);  // v1 disabled: drained
  (*lb)->TargetsChanged();
  absl::SleepFor(absl::Milliseconds(50));
  set_phase("v2 only");
  absl::SleepFor(absl::Milliseconds(400));
  v1->Resize(0);  // scaled down after disable
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  for (auto& t : load) t.join();
  std::printf(
      "lb red/black: ok=%d failed=%d v1only:v1=%d both:v1=%d both:v2=%d "
      "v2only:v1=%d v2only:v2=%d\n",
      ok.load(), failed.load(), versions["v1 only:1"], versions["both:1"],
      versions["both:2"], versions["v2 only:1"], versions["v2 only:2"]);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 100);
  EXPECT_EQ(versions["v1 only:2"], 0);
  EXPECT_GT(versions["both:1"], 0);
  EXPECT_GT(versions["both:2"], 0);
  EXPECT_EQ(versions["v2 only:1"], 0);
  EXPECT_GT(versions["v2 only:2"], 0);
}

TEST_F(LoadBalancerTest, NoInstancesAndFirewall) {
  LoadBalancerOptions o;
  o.name = "empty";
  auto lb = LoadBalancer::Start(o, [] { return std::vector<Target>{}; });
  ASSERT_TRUE(lb.ok());
  http::ClientRequest r;
  r.url = absl::StrCat("http://127.0.0.1:", (*lb)->port(), "/x?a=b");
  auto resp = http::Fetch(r);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 503);
  EXPECT_NE(resp->body.find("no healthy instances"), std::string::npos);

  LoadBalancerOptions f;
  f.name = "walled";
  f.allowed_cidrs = {"10.0.0.0/8"};
  auto walled = LoadBalancer::Start(f, [] { return std::vector<Target>{}; });
  ASSERT_TRUE(walled.ok());
  r.url = absl::StrCat("http://127.0.0.1:", (*walled)->port(), "/");
  resp = http::Fetch(r);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 403);
  f.allowed_cidrs = {"10.0.0.0/40"};
  EXPECT_FALSE(
      LoadBalancer::Start(f, [] { return std::vector<Target>{}; }).ok());
}

// A backend that reads one request per connection and closes without
// answering: the proxy must not send a POST to it (or anyone) again.
TEST_F(LoadBalancerTest, APostIsNeverSentTwice) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  std::atomic<int> received{0};
  std::thread backend([&] {
    while (true) {
      int c = accept(fd, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      if (recv(c, buf, sizeof(buf), 0) > 0) ++received;
      close(c);
    }
  });
  LoadBalancerOptions o;
  o.name = "closer";
  auto lb = LoadBalancer::Start(o, [port] {
    return std::vector<Target>{{"g", "a", port}, {"g", "b", port}};
  });
  ASSERT_TRUE(lb.ok());
  http::ClientRequest r;
  r.method = "POST";
  r.body = R"({"order":1})";
  r.url = absl::StrCat("http://127.0.0.1:", (*lb)->port(), "/orders");
  auto resp = http::Fetch(r);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 502);
  EXPECT_EQ(received.load(), 1);
  lb->reset();
  shutdown(fd, SHUT_RDWR);
  close(fd);
  backend.join();
}

TEST(CidrTest, Matches) {
  EXPECT_TRUE(*InCidr("127.0.0.1", "127.0.0.0/8"));
  EXPECT_FALSE(*InCidr("128.0.0.1", "127.0.0.0/8"));
  EXPECT_TRUE(*InCidr("10.1.2.3", "0.0.0.0/0"));
  EXPECT_TRUE(*InCidr("10.1.2.3", "10.1.2.3"));
  EXPECT_FALSE(*InCidr("10.1.2.4", "10.1.2.3/32"));
  EXPECT_FALSE(InCidr("1.2.3.4", "nope/8").ok());
  EXPECT_FALSE(*InCidr("not-an-ip", "10.0.0.0/8"));
}

}  // namespace
}  // namespace gennaker::clouddriver::local
