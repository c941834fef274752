// Load driver: cold start and idle memory of the ten services.
//
// Starts a real PostgreSQL and Redis, then for each round execs every service
// binary with its stores and free loopback ports, and measures exec -> SERVING
// (gRPC health, polled every millisecond), one service at a time; then all ten
// at once. With all ten idle for a few seconds it reads each one's RSS and PSS
// from /proc. Prints a Markdown table.
//
//   build/bin/startup_bench [--rounds N] [--idle-seconds S]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/health_client.h"
#include "common/process/local_stores.h"
#include "common/process/process.h"
#include "common/service/defaults.h"
#include "common/testing/test_stores.h"

namespace gennaker {
namespace {

using Clock = std::chrono::steady_clock;

struct Running {
  std::string name;
  pid_t pid = 0;
  int port = 0;
  Clock::time_point start;
  double ready_ms = -1;
};

absl::StatusOr<Running> Launch(const std::string& name, const std::string& dsn,
                               const std::string& redis,
                               const std::string& logs) {
  Running r;
  r.name = name;
  auto grpc = process::FreePort();
  auto admin = process::FreePort();
  auto http = process::FreePort();
  if (!grpc.ok() || !admin.ok() || !http.ok())
    return absl::InternalError("no free port");
  r.port = *grpc;
  process::SpawnOptions o;
  o.argv = {testing::BinDir() + "/" + name};
  if (name == "halyard") o.argv.push_back("serve");
  o.env = {{"GENNAKER__SERVER__GRPC_PORT", absl::StrCat(*grpc)},
           {"GENNAKER__SERVER__ADMIN_PORT", absl::StrCat(*admin)}};
  if (name == "gate")
    o.env.push_back({"GENNAKER__HTTP_PORT", absl::StrCat(*http)});
  if (name == "orca" || name == "front50" || name == "echo" ||
      name == "kayenta") {
    o.env.push_back({"GENNAKER__POSTGRES__DSN", dsn});
  }
  if (name == "gate" || name == "clouddriver" || name == "igor" ||
      name == "fiat" || name == "rosco") {
    o.env.push_back({"GENNAKER__REDIS__URL", redis});
  }
  // clouddriver's local state defaults to a directory under the working
  // directory: keep it in the bench's own.
  if (name == "clouddriver") {
    o.env.push_back({"GENNAKER__STATE_DIR", logs + "/clouddriver-state"});
  }
  o.log_file = logs + "/" + name + ".log";
  o.die_with_parent = true;
  r.start = Clock::now();
  auto pid = process::Spawn(o);
  if (!pid.ok()) return pid.status();
  r.pid = *pid;
  return r;
}

absl::Status WaitServing(Running& r) {
  std::string address = absl::StrCat("127.0.0.1:", r.port);
  auto deadline = r.start + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    auto serving = CheckServing(address, std::chrono::milliseconds(200));
    if (serving.ok() && *serving) {
      r.ready_ms =
          std::chrono::duration<double, std::milli>(Clock::now() - r.start)
              .count();
      return absl::OkStatus();
    }
    if (!process::IsAlive(r.pid))
      return absl::InternalError(r.name + " exited");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::DeadlineExceededError(r.name + " not SERVING within 10 s");
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Main(int argc, char** argv) {
  int rounds = 5, idle_seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rounds") (void)absl::SimpleAtoi(argv[i + 1], &rounds);
    if (flag == "--idle-seconds")
      (void)absl::SimpleAtoi(argv[i + 1], &idle_seconds);
  }
  std::string dir = testing::MakeTempDir("bench");
  // On every way out: the services stopped (they log into `dir`), then `dir`
  // removed; the shared PostgreSQL and the Redis stop on their own.
  std::vector<pid_t> live;
  absl::Cleanup cleanup = [&] {
    for (pid_t pid : live) (void)process::Terminate(pid, absl::Seconds(5));
    testing::RemoveTree(dir);
  };
  fprintf(stderr, "starting PostgreSQL and Redis in %s ...\n", dir.c_str());
  auto pg = testing::SharedPostgres();
  if (!pg.ok()) {
    fprintf(stderr, "postgres: %s\n",
            std::string(pg.status().message()).c_str());
    return 1;
  }
  auto dsn = (*pg)->CreateDatabase("bench");
  auto redis = testing::TestRedis::Start();
  if (!dsn.ok() || !redis.ok()) return 1;

  std::map<std::string, std::vector<double>> solo;
  for (int round = 1; round <= rounds; ++round) {
    fprintf(stderr, "round %d/%d: starting each service alone ...\n", round,
            rounds);
    for (absl::string_view name : kServiceNames) {
      auto r = Launch(std::string(name), *dsn, (*redis)->Url(), dir);
      if (r.ok()) live.push_back(r->pid);
      if (!r.ok() || !WaitServing(*r).ok()) {
        fprintf(stderr, "%s failed to start; see %s/%s.log\n",
                std::string(name).c_str(), dir.c_str(),
                std::string(name).c_str());
        return 1;
      }
      solo[r->name].push_back(r->ready_ms);
      (void)process::Terminate(r->pid, absl::Seconds(5));
      live.pop_back();
    }
  }

  fprintf(stderr, "starting all ten at once ...\n");
  std::vector<Running> all;
  auto t0 = Clock::now();
  for (absl::string_view name : kServiceNames) {
    auto r = Launch(std::string(name), *dsn, (*redis)->Url(), dir);
    if (!r.ok()) return 1;
    live.push_back(r->pid);
    all.push_back(*r);
  }
  for (auto& r : all) {
    if (!WaitServing(r).ok()) return 1;
  }
  double all_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  fprintf(stderr, "all SERVING; idling %d s before reading memory ...\n",
          idle_seconds);
  std::this_thread::sleep_for(std::chrono::seconds(idle_seconds));

  printf(
      "| service | exec -> SERVING, median of %d (ms) | max (ms) | idle RSS "
      "(MiB) | "
      "idle PSS (MiB) |\n|---|---|---|---|---|\n",
      rounds);
  double rss_total = 0, pss_total = 0;
  for (const auto& r : all) {
    double rss = *process::ResidentBytes(r.pid) / 1048576.0;
    double pss = *process::ProportionalBytes(r.pid) / 1048576.0;
    rss_total += rss;
    pss_total += pss;
    const auto& v = solo[r.name];
    printf("| %s | %.1f | %.1f | %.1f | %.1f |\n", r.name.c_str(), Median(v),
           *std::max_element(v.begin(), v.end()), rss, pss);
  }
  printf(
      "| **all ten** (started together) | %.1f (until the last is SERVING) | | "
      "%.1f | %.1f |\n",
      all_ms, rss_total, pss_total);
  return 0;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
