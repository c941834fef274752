// InstanceSupervisor with real gennaker-demo processes: instances become Up,
// a kill -9 is replaced, resize both ways, disable reports OutOfService, an
// unhealthy instance goes Down, Stop leaves no process behind.
#include "services/clouddriver/local/instance_supervisor.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gtest/gtest.h"

namespace gennaker::clouddriver::local {
namespace {

class InstanceSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("local-sg"); }
  void TearDown() override { testing::RemoveTree(dir_); }

  ServerGroupSpec Spec(const std::string& version) {
    ServerGroupSpec s;
    s.name = "demo-test-v000";
    s.command = {testing::BinDir() + "/gennaker-demo", "--port", "{{port}}",
                 "--version", version};
    s.health.interval_ms = 100;
    s.health.healthy_threshold = 2;
    s.health.unhealthy_threshold = 2;
    s.log_dir = dir_;
    return s;
  }

  static bool WaitFor(const std::function<bool()>& done, int ms = 10000) {
    for (int i = 0; i < ms / 20; ++i) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return done();
  }

  static int CountIn(InstanceSupervisor& s, HealthState state) {
    int n = 0;
    for (const InstanceView& v : s.Instances()) n += v.health == state;
    return n;
  }

  std::string dir_;
};

TEST_F(InstanceSupervisorTest, KeepsCapacityAndTracksHealth) {
  InstanceSupervisor sg(Spec("v1"), 3);
  ASSERT_TRUE(sg.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return CountIn(sg, HealthState::kUp) == 3; }));
  std::vector<InstanceView> before = sg.Instances();
  // Each instance answers on its own port with the version.
  for (const InstanceView& v : before) {
    http::ClientRequest r;
    r.url = absl::StrCat("http://127.0.0.1:", v.port, "/");
    auto resp = http::Fetch(r);
    ASSERT_TRUE(resp.ok());
    EXPECT_NE(resp->body.find("\"v1\""), std::string::npos);
  }
  // kill -9: replaced with a new process, back to 3 Up.
  ASSERT_EQ(kill(before[0].pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] {
    auto now = sg.Instances();
    return now.size() == 3 && CountIn(sg, HealthState::kUp) == 3 &&
           std::none_of(now.begin(), now.end(), [&](const InstanceView& v) {
             return v.pid == before[0].pid;
           });
  }));
  // An instance whose health endpoint fails goes Down.
  InstanceView victim = sg.Instances()[1];
  http::ClientRequest sick;
  sick.method = "POST";
  sick.url = absl::StrCat("http://127.0.0.1:", victim.port, "/admin/unhealthy");
  ASSERT_TRUE(http::Fetch(sick).ok());
  ASSERT_TRUE(WaitFor([&] { return CountIn(sg, HealthState::kDown) == 1; }));
  // Disabled: still running, OutOfService.
  sg.SetEnabled(false);
  EXPECT_EQ(CountIn(sg, HealthState::kOutOfService), 3);
  sg.SetEnabled(true);
  // Resize down then up.
  sg.Resize(1);
  ASSERT_TRUE(WaitFor([&] { return sg.Instances().size() == 1; }));
  sg.Resize(2);
  ASSERT_TRUE(WaitFor([&] {
    return sg.Instances().size() == 2 && CountIn(sg, HealthState::kUp) >= 1;
  }));
  std::vector<pid_t> pids;
  for (const InstanceView& v : sg.Instances()) pids.push_back(v.pid);
  sg.Stop();
  for (pid_t pid : pids) EXPECT_FALSE(process::IsAlive(pid));
}

TEST_F(InstanceSupervisorTest, NeverHealthyStaysStarting) {
  ServerGroupSpec s = Spec("v2");
  s.command.push_back("--unhealthy");
  InstanceSupervisor sg(s, 2);
  ASSERT_TRUE(sg.Start().ok());
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_EQ(CountIn(sg, HealthState::kStarting), 2);
  EXPECT_EQ(CountIn(sg, HealthState::kUp), 0);
}

TEST_F(InstanceSupervisorTest, ACrashLoopBacksOff) {
  ServerGroupSpec s = Spec("v1");
  s.command = {"/bin/false"};  // exits at once, every time
  s.health.path = "";
  InstanceSupervisor sg(s, 1);
  ASSERT_TRUE(sg.Start().ok());
  absl::SleepFor(absl::Milliseconds(2500));
  sg.Stop();
  // Without backoff the loop would relaunch every 50 ms (~50 launches);
  // with 250 ms doubling: launches at ~0, 0.3, 0.8, 1.8 s.
  int launches = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    launches += e.path().extension() == ".log";
  }
  EXPECT_GE(launches, 2);
  EXPECT_LE(launches, 6);
}

TEST_F(InstanceSupervisorTest, RefusesBadSpecs) {
  ServerGroupSpec s = Spec("v1");
  EXPECT_FALSE(InstanceSupervisor::Validate(s, -1).ok());
  s.command.clear();
  EXPECT_FALSE(InstanceSupervisor::Validate(s, 1).ok());
  s = Spec("v1");
  s.health.path = "health";
  EXPECT_FALSE(InstanceSupervisor::Validate(s, 1).ok());
  s = Spec("v1");
  s.health.interval_ms = 1;
  EXPECT_FALSE(InstanceSupervisor::Validate(s, 1).ok());
  EXPECT_TRUE(InstanceSupervisor::Validate(Spec("v1"), 0).ok());
}

}  // namespace
}  // namespace gennaker::clouddriver::local

namespace gennaker::clouddriver::local {
namespace {

// Services block SIGTERM for sigwait; instances they start must not inherit
// that mask, or they would ignore a polite stop and only die by SIGKILL after
// the grace period.
TEST(InstanceSupervisorSignalsTest, InstancesStartWithNoSignalBlocked) {
  std::string dir = testing::MakeTempDir("supervisor-signals");
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  ServerGroupSpec spec;
  spec.name = "signals-v000";
  spec.command = {"/bin/grep", "SigBlk", "/proc/self/status"};
  spec.health.path = "";
  spec.log_dir = dir;
  {
    InstanceSupervisor group(spec, 1);
    ASSERT_TRUE(group.Start().ok());
    absl::SleepFor(absl::Milliseconds(300));
    group.Stop();
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  std::ifstream log(dir + "/signals-v000-0.log");
  std::string line;
  std::getline(log, line);
  EXPECT_EQ(line, "SigBlk:\t0000000000000000");
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace gennaker::clouddriver::local
