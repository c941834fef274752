// The start-up the gate-against-nginx load drivers share (gate_nginx_bench,
// soak_bench). StartGateSuite starts a throwaway PostgreSQL and Redis, the
// real front50 (build/bin, testing::BinDir()) and the given gate binary (2 HTTP
// threads, its default, stated explicitly), stores application "bench" with
// kSuitePipelines realistic pipelines of ~1 KB through front50's gRPC API,
// fetches gate's reply to GET kSuiteRoute once, and starts nginx
// (bench/nginx.h) serving exactly those bytes at the same path, then checks
// that both answer byte-identical bodies. On failure it prints why to stderr
// and returns false; whatever it started is stopped by ~GateSuite (nginx,
// gate, front50, Redis, PostgreSQL, newest first) and the directory removed.
//
// StopOnSignals, called first in main before any thread starts, blocks
// SIGINT, SIGTERM and SIGHUP and hands them to one thread that sets
// StopRequested(): the loops here (and the benches') then return early so
// that the destructors clean up. Children get an empty signal mask.
#ifndef GENNAKER_BENCH_GATE_SUITE_H_
#define GENNAKER_BENCH_GATE_SUITE_H_

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/nginx.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace gennaker::bench {

inline constexpr char kSuiteRoute[] = "/applications/bench/pipelineConfigs";
inline constexpr int kSuitePipelines = 100;

namespace internal {
// Set by the signal thread StopOnSignals starts.
inline std::atomic<bool> g_stop{false};
}  // namespace internal

inline bool StopRequested() { return internal::g_stop.load(); }

// Signals go to one thread that sets StopRequested(), so that the caller's
// cleanup runs (blocked before any thread starts; children get an empty
// mask).
inline void StopOnSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    internal::g_stop = true;
  }).detach();
}

// A realistic deploy pipeline (bake, staging, judgment, prod): ~0.9 KB,
// ~1 KB as front50 returns it (with id, index, updateTs).
inline nlohmann::json SuitePipeline(int i) {
  using Json = nlohmann::json;
  auto cluster = [&](const std::string& account) {
    return Json{{"account", account},
                {"application", "bench"},
                {"stack", account},
                {"strategy", "redblack"},
                {"capacity", {{"min", 1}, {"max", 4}, {"desired", 2}}}};
  };
  return {{"application", "bench"},
          {"name", absl::StrCat("deploy-service-", i)},
          {"keepWaitingPipelines", false},
          {"limitConcurrent", true},
          {"triggers", Json::array({{{"type", "jenkins"},
                                     {"enabled", true},
                                     {"master", "ci"},
                                     {"job", absl::StrCat("service-", i)}}})},
          {"stages",
           Json::array({{{"refId", "1"},
                         {"requisiteStageRefIds", Json::array()},
                         {"type", "bake"},
                         {"name", "Bake"},
                         {"package", absl::StrCat("service-", i)},
                         {"baseOs", "bookworm"},
                         {"regions", {"us-east-1"}}},
                        {{"refId", "2"},
                         {"requisiteStageRefIds", {"1"}},
                         {"type", "deploy"},
                         {"name", "Deploy to staging"},
                         {"clusters", Json::array({cluster("staging")})}},
                        {{"refId", "3"},
                         {"requisiteStageRefIds", {"2"}},
                         {"type", "manualJudgment"},
                         {"name", "Promote to prod?"},
                         {"judgmentInputs", Json::array()}},
                        {{"refId", "4"},
                         {"requisiteStageRefIds", {"3"}},
                         {"type", "deploy"},
                         {"name", "Deploy to prod"},
                         {"clusters", Json::array({cluster("prod")})}}})}};
}

// Everything StartGateSuite starts; the destructor stops it all (newest
// first) and removes the directory.
struct GateSuite {
  std::unique_ptr<testing::TestPostgres> pg;
  std::unique_ptr<testing::TestRedis> redis;
  std::string dir;
  pid_t front50 = 0, gate = 0;
  int front50_grpc = 0, gate_grpc = 0, gate_http = 0, gate_admin = 0;
  std::unique_ptr<Nginx> nginx;
  std::string body;  // gate's reply, served by nginx too

  GateSuite() = default;
  GateSuite(const GateSuite&) = delete;
  GateSuite& operator=(const GateSuite&) = delete;
  ~GateSuite() {
    nginx.reset();
    for (pid_t pid : {gate, front50}) {
      if (pid > 0) (void)process::Terminate(pid, absl::Seconds(5));
    }
    redis.reset();
    pg.reset();
    if (!dir.empty()) testing::RemoveTree(dir);
  }

  // gate's URL for kSuiteRoute.
  std::string GateUrl() const {
    return absl::StrCat("http://127.0.0.1:", gate_http, kSuiteRoute);
  }
};

// Spawns `binary --config config` (output to `log`) and waits up to ~10 s
// for its gRPC health check on `grpc_port`.
inline absl::StatusOr<pid_t> StartService(const std::string& binary,
                                          const std::string& config,
                                          const std::string& log,
                                          int grpc_port) {
  process::SpawnOptions o;
  o.argv = {binary, "--config", config};
  o.log_file = log;
  o.die_with_parent = true;
  auto pid = process::Spawn(o);
  if (!pid.ok()) return pid;
  for (int i = 0; i < 200 && !StopRequested(); ++i) {
    auto ok = CheckServing(absl::StrCat("127.0.0.1:", grpc_port),
                           std::chrono::milliseconds(200));
    if (ok.ok() && *ok) return pid;
    if (!process::IsAlive(*pid)) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  (void)process::Terminate(*pid, absl::Seconds(2));
  return absl::DeadlineExceededError(binary + " did not start; see " + log);
}

inline absl::StatusOr<http::ClientResponse> Get(const std::string& url,
                                                int timeout_ms = 5000) {
  http::ClientRequest r;
  r.url = url;
  r.timeout_ms = timeout_ms;
  return http::Fetch(r);
}

// PostgreSQL, Redis, front50, gate with the pipelines, and nginx serving
// gate's reply into `s`; `name` names the PostgreSQL instance and the
// directory (e.g. "soak-bench"). false (after saying why) on any failure.
inline bool StartGateSuite(GateSuite& s, const std::string& name,
                           const std::string& gate_binary) {
  namespace f50 = front50::v1;
  auto pg = testing::TestPostgres::Start(name);
  if (!pg.ok()) {
    fprintf(stderr, "PostgreSQL: %s\n", pg.status().ToString().c_str());
    return false;
  }
  s.pg = std::move(*pg);
  auto dsn = s.pg->CreateDatabase("front50");
  auto redis = testing::TestRedis::Start();
  if (!dsn.ok() || !redis.ok()) {
    fprintf(stderr, "PostgreSQL database or Redis did not start\n");
    return false;
  }
  s.redis = std::move(*redis);
  s.dir = testing::MakeTempDir(name);
  s.front50_grpc = *process::FreePort();
  s.gate_grpc = *process::FreePort();
  s.gate_http = *process::FreePort();
  s.gate_admin = *process::FreePort();
  const std::string common = "logging: {level: warn, format: text}\n";
  std::ofstream(s.dir + "/front50.yml") << absl::StrCat(
      "server: {host: 127.0.0.1, grpcPort: ", s.front50_grpc,
      ", adminPort: ", *process::FreePort(), ", shutdownGraceSeconds: 2}\n",
      common, "postgres: {dsn: '", *dsn, "', poolSize: 8}\n");
  // httpThreads: 2 is gate's default, stated so the comparison is explicit.
  std::ofstream(s.dir + "/gate.yml") << absl::StrCat(
      "server: {host: 127.0.0.1, grpcPort: ", s.gate_grpc,
      ", adminPort: ", s.gate_admin,
      ", httpThreads: 2, shutdownGraceSeconds: 2}\n", common, "redis: {url: '",
      s.redis->Url(), "'}\nhttpPort: ", s.gate_http,
      "\nservices: {front50: {address: '127.0.0.1:", s.front50_grpc, "'}}\n");
  auto front50 =
      StartService(testing::BinDir() + "/front50", s.dir + "/front50.yml",
                   s.dir + "/front50.log", s.front50_grpc);
  if (!front50.ok()) {
    fprintf(stderr, "%s\n", front50.status().ToString().c_str());
    return false;
  }
  s.front50 = *front50;
  auto gate = StartService(gate_binary, s.dir + "/gate.yml",
                           s.dir + "/gate.log", s.gate_grpc);
  if (!gate.ok()) {
    fprintf(stderr, "%s\n", gate.status().ToString().c_str());
    return false;
  }
  s.gate = *gate;

  auto stub = f50::Front50Service::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", s.front50_grpc)));
  {
    f50::CreateApplicationRequest req;
    req.mutable_application()->set_name("bench");
    req.mutable_application()->set_email("bench@example.com");
    f50::CreateApplicationResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    if (!stub->CreateApplication(ctx.get(), req, &resp).ok()) {
      fprintf(stderr, "CreateApplication failed\n");
      return false;
    }
  }
  for (int i = 0; i < kSuitePipelines; ++i) {
    f50::SavePipelineRequest req;
    req.mutable_config()->set_json(SuitePipeline(i).dump());
    f50::SavePipelineResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    if (!stub->SavePipeline(ctx.get(), req, &resp).ok()) {
      fprintf(stderr, "SavePipeline %d failed\n", i);
      return false;
    }
  }

  const std::string gate_url = s.GateUrl();
  for (int i = 0; i < 50 && !StopRequested(); ++i) {
    auto resp = Get(gate_url);
    if (resp.ok() && resp->status == 200) {
      nlohmann::json list = nlohmann::json::parse(resp->body, nullptr, false);
      if (list.is_array() && list.size() == kSuitePipelines) {
        s.body = resp->body;
        break;
      }
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  if (s.body.empty()) {
    fprintf(stderr, "gate did not answer %s with %d pipelines\n", kSuiteRoute,
            kSuitePipelines);
    return false;
  }
  auto nginx = Nginx::Start({{kSuiteRoute, s.body}});
  if (!nginx.ok()) {
    fprintf(stderr, "%s\n", std::string(nginx.status().message()).c_str());
    return false;
  }
  s.nginx = std::move(*nginx);
  auto from_nginx = Get(s.nginx->Url(kSuiteRoute));
  auto again = Get(gate_url);
  if (!from_nginx.ok() || !again.ok() || from_nginx->body != s.body ||
      again->body != s.body) {
    fprintf(stderr, "gate's and nginx's bodies differ\n");
    return false;
  }
  fprintf(stderr,
          "gate and nginx answer byte-identical bodies of %zu bytes "
          "(Content-Type gate %s, nginx %s)\n",
          s.body.size(), again->headers["content-type"].c_str(),
          from_nginx->headers["content-type"].c_str());
  return true;
}

}  // namespace gennaker::bench

#endif  // GENNAKER_BENCH_GATE_SUITE_H_
