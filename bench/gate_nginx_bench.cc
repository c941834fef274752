// Load driver: gate's cached GET /applications/bench/pipelineConfigs (100
// pipelines, ~100 KB) against nginx serving the very same bytes from a file,
// in one run (issue 18; goal: gate >= 50 % of nginx's throughput, gate's p99
// under 20 ms and within 3x nginx's).
//
//   gate_nginx_bench [--seconds 10] [--connections 200] [--rounds 3]
//                    [--gate PATH]
//
// Starts a throwaway PostgreSQL and Redis, the real front50 and gate binaries
// (gate with its default 2 HTTP threads; --gate runs another gate binary, e.g.
// a saved "before" build), stores application "bench" with 100 pipelines of
// ~1 KB, fetches gate's reply once, writes exactly those bytes to a file that
// nginx (2 workers, bench/nginx.h) serves at the same path, checks that both
// answer byte-identical bodies, then per round runs
// `wrk -t2 -c<C> -d<S>s --latency` on gate, then on nginx, and prints one
// table and the goals per round. The start-up is bench/gate_suite.h's.
#include <stdlib.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/gate_suite.h"
#include "bench/wrk.h"
#include "common/testing/test_stores.h"

namespace gennaker {
namespace {

using bench::kSuitePipelines;
using bench::kSuiteRoute;
using bench::StopRequested;

std::string Ms(double ms) {
  return ms < 0 ? std::string("-") : absl::StrFormat("%.2f", ms);
}

std::string Errors(const bench::WrkResult& r) {
  return absl::StrCat(r.non_2xx, "/", r.connect_errors, "/", r.read_errors, "/",
                      r.write_errors, "/", r.timeout_errors,
                      r.ok ? "" : " (wrk failed)");
}

int Main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  bench::StopOnSignals();  // before any thread starts

  int seconds = 10, connections = 200, rounds = 3;
  std::string gate_binary = testing::BinDir() + "/gate";
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      fprintf(stderr, "missing value for %s\n", argv[i]);
      return 2;
    }
    if (flag == "--gate") {
      gate_binary = argv[i + 1];
      continue;
    }
    int* target = flag == "--seconds"       ? &seconds
                  : flag == "--connections" ? &connections
                  : flag == "--rounds"      ? &rounds
                                            : nullptr;
    if (target == nullptr || !absl::SimpleAtoi(argv[i + 1], target) ||
        *target <= 0) {
      fprintf(stderr,
              "usage: gate_nginx_bench [--seconds 10] [--connections 200] "
              "[--rounds 3] [--gate PATH]\n");
      return 2;
    }
  }

  bench::GateSuite s;
  if (!bench::StartGateSuite(s, "gate-nginx-bench", gate_binary)) return 1;
  const std::string gate_url = s.GateUrl();
  const std::string nginx_url = s.nginx->Url(kSuiteRoute);

  struct Round {
    bench::WrkResult gate, nginx;
  };
  std::vector<Round> done;
  for (int r = 1; r <= rounds && !StopRequested(); ++r) {
    Round round;
    fprintf(stderr, "round %d: wrk -t2 -c%d -d%ds --latency on gate\n", r,
            connections, seconds);
    round.gate = bench::RunWrk(gate_url, connections, seconds,
                               s.dir + "/wrk-gate.txt", seconds + 30);
    if (StopRequested()) break;
    fprintf(stderr, "round %d: the same on nginx\n", r);
    round.nginx = bench::RunWrk(nginx_url, connections, seconds,
                                s.dir + "/wrk-nginx.txt", seconds + 30);
    if (!round.gate.ok) fprintf(stderr, "%s\n", round.gate.text.c_str());
    if (!round.nginx.ok) fprintf(stderr, "%s\n", round.nginx.text.c_str());
    done.push_back(std::move(round));
  }
  if (StopRequested()) {
    fprintf(stderr, "stopped by a signal; cleaning up\n");
    return 1;
  }

  double load[3] = {0, 0, 0};
  (void)getloadavg(load, 3);
  printf(
      "\nGET %s: %d pipelines, %zu bytes; wrk -t2 -c%d -d%ds --latency, "
      "gate (2 HTTP threads) then nginx (2 workers) each round; load average "
      "after the run %.2f %.2f %.2f\n\n",
      kSuiteRoute, kSuitePipelines, s.body.size(), connections, seconds,
      load[0], load[1], load[2]);
  printf(
      "| round | gate req/s | gate p50 ms | gate p99 ms | nginx req/s | "
      "nginx p50 ms | nginx p99 ms | gate/nginx req/s | gate p99 / nginx "
      "p99 | gate errors | nginx errors |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  bool all_met = true;
  std::vector<std::string> verdicts;
  for (size_t i = 0; i < done.size(); ++i) {
    const bench::WrkResult& g = done[i].gate;
    const bench::WrkResult& n = done[i].nginx;
    const double share = n.rps > 0 ? 100.0 * g.rps / n.rps : 0;
    const double tail =
        (g.rps > 0 && g.p99_ms >= 0 && n.p99_ms > 0) ? g.p99_ms / n.p99_ms : -1;
    printf(
        "| %zu | %.0f | %s | %s | %.0f | %s | %s | %.1f %% | %s | %s | %s |\n",
        i + 1, g.rps, Ms(g.rps > 0 ? g.p50_ms : -1).c_str(),
        Ms(g.rps > 0 ? g.p99_ms : -1).c_str(), n.rps,
        Ms(n.rps > 0 ? n.p50_ms : -1).c_str(),
        Ms(n.rps > 0 ? n.p99_ms : -1).c_str(), share,
        tail < 0 ? "-" : absl::StrFormat("%.2fx", tail).c_str(),
        Errors(g).c_str(), Errors(n).c_str());
    const bool throughput = g.ok && n.ok && share >= 50;
    const bool p99_abs = g.ok && g.rps > 0 && g.p99_ms >= 0 && g.p99_ms < 20;
    const bool p99_rel = tail >= 0 && tail <= 3;
    const bool clean = g.non_2xx == 0 && g.socket_errors() == 0;
    const bool met = throughput && p99_abs && p99_rel && clean;
    all_met = all_met && met;
    verdicts.push_back(absl::StrCat(
        "round ", i + 1, ": throughput >= 50 % of nginx ",
        throughput ? "MET" : "NOT MET", ", p99 < 20 ms ",
        p99_abs ? "MET" : "NOT MET", ", p99 <= 3x nginx ",
        p99_rel ? "MET" : "NOT MET", ", no errors ", clean ? "MET" : "NOT MET",
        " => ", met ? "MET" : "NOT MET"));
  }
  printf(
      "\nerrors: non-2xx/connect/read/write/timeout (wrk's socket errors)\n");
  for (const std::string& v : verdicts) printf("%s\n", v.c_str());
  printf("goals (every round): %s\n", all_met ? "MET" : "NOT MET");
  return 0;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
