// Throughput and tail latency of the local provider's load balancer against
// calling one instance directly (issue 18: >= 70 % of direct at 32 and 200
// connections, p99 within 2x of direct).
//
//   lb_bench [--seconds 10] [--connections 32,200] [--rounds 1]
//            [--instances 1] [--threads 1] [--shared-session 0]
//
// Starts N gennaker-demo instances (supervised, health-checked) and a load
// balancer in front of them (one per --threads value: event loops), then, per
// round and connection count, runs `wrk -t2 -c<C> -d<S>s --latency` on one
// instance directly and right after on each load balancer, and prints one
// table row per round, connection count and thread count. Alternating in one
// run keeps the machine's drift out of the ratio. wrk, the proxy and the
// instances share the same cores.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/nginx.h"
#include "bench/wrk.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "services/clouddriver/local/instance_supervisor.h"
#include "services/clouddriver/local/load_balancer.h"

namespace gennaker {
namespace {

using clouddriver::local::HealthState;

std::vector<int> IntList(const std::string& s) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v) && v > 0) out.push_back(v);
  }
  return out;
}

// bench::RunWrk, but wrk gets its own session (so its own scheduler
// autogroup) unless `shared_session`: as a real client, it then does not
// compete for this process's CPU share, which the load balancer's loops use.
// With a shared session, wrk's two threads and the proxy split one group's
// share while the instance has a group of its own.
bench::WrkResult RunWrkAlone(const std::string& url, int connections,
                             int seconds, const std::string& log,
                             bool shared_session) {
  return bench::RunWrk(url, connections, seconds, log,
                       /*hard_timeout_seconds=*/0, !shared_session);
}

int Main(int argc, char** argv) {
  int seconds = 10, rounds = 1, instances = 1, shared_session = 0, nginx = 1;
  std::vector<int> connections = {32, 200}, threads = {1};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--seconds") (void)absl::SimpleAtoi(argv[i + 1], &seconds);
    if (f == "--rounds") (void)absl::SimpleAtoi(argv[i + 1], &rounds);
    if (f == "--instances") (void)absl::SimpleAtoi(argv[i + 1], &instances);
    if (f == "--shared-session") {
      (void)absl::SimpleAtoi(argv[i + 1], &shared_session);
    }
    if (f == "--nginx") (void)absl::SimpleAtoi(argv[i + 1], &nginx);
    if (f == "--connections") connections = IntList(argv[i + 1]);
    if (f == "--threads") threads = IntList(argv[i + 1]);
  }
  std::string dir = testing::MakeTempDir("lb-bench");
  // Declared before the instances: removed after they are stopped.
  absl::Cleanup remove_dir = [&dir] { testing::RemoveTree(dir); };
  clouddriver::local::ServerGroupSpec spec;
  spec.name = "bench-v000";
  spec.command = {testing::BinDir() + "/gennaker-demo", "--port", "{{port}}",
                  "--version", "v1"};
  spec.health.interval_ms = 200;
  spec.health.healthy_threshold = 1;
  spec.log_dir = dir;
  clouddriver::local::InstanceSupervisor group(spec, instances);
  if (!group.Start().ok()) return 1;
  for (int i = 0; i < 250; ++i) {
    int up = 0;
    for (const auto& v : group.Instances()) up += v.health == HealthState::kUp;
    if (up == instances) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  auto targets = [&group] {
    std::vector<clouddriver::local::Target> out;
    for (const auto& v : group.Instances()) {
      if (v.health == HealthState::kUp) {
        out.push_back({"bench-v000", v.id, v.port});
      }
    }
    return out;
  };
  std::vector<std::unique_ptr<clouddriver::local::LoadBalancer>> lbs;
  for (int t : threads) {
    clouddriver::local::LoadBalancerOptions o;
    o.name = absl::StrCat("bench-t", t);
    o.threads = t;
    o.max_connections = 4096;
    auto lb = clouddriver::local::LoadBalancer::Start(o, targets);
    if (!lb.ok()) return 1;
    lbs.push_back(std::move(*lb));
  }
  const int direct_port = group.Instances().front().port;
  const std::string direct_url =
      absl::StrCat("http://127.0.0.1:", direct_port, "/");
  // (label, port) of each proxy measured after the direct run.
  std::vector<std::pair<std::string, int>> proxies;
  for (size_t i = 0; i < lbs.size(); ++i) {
    proxies.push_back(
        {absl::StrCat("LB, ", threads[i], " loop(s)"), lbs[i]->port()});
  }
  // nginx proxying to the same instance (1 worker, kept-alive upstream
  // connections): what a mature event-loop L7 proxy reaches on this machine.
  std::unique_ptr<bench::Nginx> nginx_proxy;
  if (nginx != 0 && instances == 1) {
    absl::StatusOr<std::unique_ptr<bench::Nginx>> started =
        bench::Nginx::StartProxy(direct_port, /*workers=*/1);
    if (!started.ok()) {
      fprintf(stderr, "nginx not started (%s): no nginx row\n",
              std::string(started.status().message()).c_str());
    } else {
      nginx_proxy = std::move(*started);
      proxies.push_back({"nginx, 1 worker", nginx_proxy->port()});
    }
  }
  std::string table =
      "| round | connections | proxy | direct req/s | direct p99 (ms) | "
      "proxy req/s | proxy p99 (ms) | ratio | p99 ratio | proxy errors |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  for (int round = 1; round <= rounds; ++round) {
    for (int c : connections) {
      fprintf(stderr, "round %d: wrk -t2 -c%d -d%ds direct ...\n", round, c,
              seconds);
      bench::WrkResult direct =
          RunWrkAlone(direct_url, c, seconds, absl::StrCat(dir, "/direct.txt"),
                      shared_session != 0);
      for (size_t i = 0; i < proxies.size(); ++i) {
        fprintf(stderr, "round %d: ... through %s\n", round,
                proxies[i].first.c_str());
        bench::WrkResult lb = RunWrkAlone(
            absl::StrCat("http://127.0.0.1:", proxies[i].second, "/"), c,
            seconds, absl::StrCat(dir, "/lb.txt"), shared_session != 0);
        if (round == 1 && c == connections.front() && i == 0) {
          fprintf(stderr, "direct:\n%s\nload balancer:\n%s\n",
                  direct.text.c_str(), lb.text.c_str());
        }
        std::string row = absl::StrFormat(
            "| %d | %d | %s | %.0f | %.2f | %.0f | %.2f | %.0f %% | %.2f | "
            "%lld |\n",
            round, c, proxies[i].first, direct.rps, direct.p99_ms, lb.rps,
            lb.p99_ms, direct.rps > 0 ? 100 * lb.rps / direct.rps : 0,
            direct.p99_ms > 0 ? lb.p99_ms / direct.p99_ms : 0,
            static_cast<long long>(lb.non_2xx + lb.socket_errors()));
        fputs(row.c_str(), stderr);
        table += row;
      }
    }
  }
  printf("%s", table.c_str());
  nginx_proxy.reset();
  lbs.clear();
  group.Stop();
  return 0;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
