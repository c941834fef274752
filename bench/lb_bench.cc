// Throughput of the local provider's load balancer against calling one
// instance directly (issue: clouddriver local provider, goal >= 70 %).
//
//   lb_bench [--seconds 10] [--connections 32] [--instances 1]
//
// Starts N gennaker-demo instances (supervised, health-checked) and a load
// balancer in front of them, then runs `wrk -t2 -c<C> -d<S>s --latency` on one
// instance directly and on the load balancer, and prints both and the ratio.
// wrk, the proxy and the instances share the same cores.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/wrk.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "services/clouddriver/local/instance_supervisor.h"
#include "services/clouddriver/local/load_balancer.h"

namespace gennaker {
namespace {

using clouddriver::local::HealthState;

int Main(int argc, char** argv) {
  int seconds = 10, connections = 32, instances = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--seconds") (void)absl::SimpleAtoi(argv[i + 1], &seconds);
    if (f == "--connections") (void)absl::SimpleAtoi(argv[i + 1], &connections);
    if (f == "--instances") (void)absl::SimpleAtoi(argv[i + 1], &instances);
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
  clouddriver::local::LoadBalancerOptions o;
  o.name = "bench";
  auto lb = clouddriver::local::LoadBalancer::Start(o, [&group] {
    std::vector<clouddriver::local::Target> out;
    for (const auto& v : group.Instances()) {
      if (v.health == HealthState::kUp) {
        out.push_back({"bench-v000", v.id, v.port});
      }
    }
    return out;
  });
  if (!lb.ok()) return 1;
  int direct_port = group.Instances().front().port;
  fprintf(stderr, "wrk -t2 -c%d -d%ds: direct to one instance ...\n",
          connections, seconds);
  bench::WrkResult direct =
      bench::RunWrk(absl::StrCat("http://127.0.0.1:", direct_port, "/"),
                    connections, seconds, dir + "/direct.txt");
  fprintf(stderr, "... through the load balancer (%d instance(s)) ...\n",
          instances);
  bench::WrkResult proxied =
      bench::RunWrk(absl::StrCat("http://127.0.0.1:", (*lb)->port(), "/"),
                    connections, seconds, dir + "/lb.txt");
  printf("direct:\n%s\nload balancer:\n%s\n", direct.text.c_str(),
         proxied.text.c_str());
  printf("| direct req/s | load balancer req/s | ratio |\n|---|---|---|\n");
  printf("| %.0f | %.0f | %.0f %% |\n", direct.rps, proxied.rps,
         direct.rps > 0 ? 100 * proxied.rps / direct.rps : 0);
  lb->reset();
  group.Stop();
  return 0;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
