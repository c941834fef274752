// Benches and test fixtures leave nothing behind: after orca_bench finishes,
// and after a fixture server is destroyed while a client is still connected,
// no process works in their temporary directory and the directory is gone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/pg/pg.h"
#include "common/process/local_stores.h"
#include "common/process/process.h"
#include "common/redis/redis.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"

namespace gennaker {
namespace {

using ::gennaker::testing::IsOk;

// Live processes (other than us) whose working directory or command line is
// under `dir`.
std::vector<std::string> ProcessesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !absl::ascii_isdigit(name[0])) continue;
    const pid_t pid = std::stoi(name);
    if (pid == getpid() || !process::IsAlive(pid)) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::string cmdline = text.str();
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    std::error_code cwd_ec;
    const std::string cwd =
        std::filesystem::read_symlink(entry.path() / "cwd", cwd_ec).string();
    if (absl::StrContains(cmdline, dir) ||
        (!cwd_ec && absl::StartsWith(cwd + "/", dir + "/"))) {
      out.push_back(absl::StrCat(pid, ": ", cmdline));
    }
  }
  return out;
}

bool Empty(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::is_empty(dir, ec) && !ec;
}

TEST(BenchCleanupTest, OrcaBenchLeavesNoServerAndNoDirectory) {
  // The bench's temporary directories go into a directory of our own.
  const std::string tmp = testing::MakeTempDir("bench-cleanup");
  const std::string logs = testing::MakeTempDir("bench-cleanup-log");
  absl::Cleanup remove = [&] {
    testing::RemoveTree(tmp);
    testing::RemoveTree(logs);
  };
  process::SpawnOptions o;
  o.argv = {testing::BinDir() + "/orca_bench",
            "--executions",
            "20",
            "--rate",
            "10",
            "--seconds",
            "1",
            "--pgbench-seconds",
            "1"};
  o.env = {{"TMPDIR", tmp}};
  o.log_file = logs + "/orca_bench.log";
  auto rc = process::Run(o);
  ASSERT_THAT(rc, IsOk());
  EXPECT_EQ(*rc, 0) << "see " << o.log_file;
  EXPECT_THAT(ProcessesUnder(tmp), ::testing::IsEmpty());
  EXPECT_TRUE(Empty(tmp)) << tmp;
}

TEST(BenchCleanupTest, FixtureServersStopAndTheirDirectoriesGo) {
  auto pg = testing::TestPostgres::Start("cleanup", /*durable=*/true);
  ASSERT_THAT(pg, IsOk());
  const std::string pg_dir = (*pg)->dir();
  const pid_t pg_pid = (*pg)->pid();
  // A client still connected when the server is stopped (as a bench's pool
  // is) must not keep it, or a backend, alive.
  auto conn = pg::Connection::Open((*pg)->Dsn(), 5);
  ASSERT_THAT(conn, IsOk());
  auto redis = testing::TestRedis::Start();
  ASSERT_THAT(redis, IsOk());
  redis::Options ro;
  ro.port = (*redis)->port();
  auto client = redis::Client::Connect(ro);
  ASSERT_THAT(client, IsOk());

  // Promptly: a smart shutdown would wait for the client, then be cut short
  // by SIGKILL.
  absl::Time start = absl::Now();
  pg->reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_FALSE(process::IsAlive(pg_pid));
  EXPECT_THAT(ProcessesUnder(pg_dir), ::testing::IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(pg_dir)) << pg_dir;
  redis->reset();
  EXPECT_TRUE(ProcessesUnder(absl::StrCat("127.0.0.1:", ro.port)).empty());
}

// A bench (or test) killed outright takes its servers with it, even those
// that run as another user (PostgreSQL as `postgres` when we are root).
TEST(BenchCleanupTest, ServersDieWithAKilledBench) {
  const std::string tmp = testing::MakeTempDir("bench-killed");
  absl::Cleanup remove = [&] { testing::RemoveTree(tmp); };
  process::SpawnOptions o;
  o.argv = {testing::BinDir() + "/orca_bench", "--executions", "1000000"};
  o.env = {{"TMPDIR", tmp}};
  o.new_session = false;
  auto bench = process::Spawn(o);
  ASSERT_THAT(bench, IsOk());
  pid_t postmaster = 0;
  for (int i = 0; i < 600 && postmaster == 0; ++i) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(tmp, ec)) {
      postmaster = process::PostmasterPid((e.path() / "data").string());
      if (postmaster != 0) break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_NE(postmaster, 0);
  kill(*bench, SIGKILL);
  for (int i = 0; i < 100 && process::IsAlive(*bench); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  for (int i = 0; i < 200 && !ProcessesUnder(tmp).empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_FALSE(process::IsAlive(postmaster));
  EXPECT_THAT(ProcessesUnder(tmp), ::testing::IsEmpty());
}

}  // namespace
}  // namespace gennaker
