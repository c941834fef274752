// Wall time of orca's kayentaCanary stage against its configured lifetime
// (issue: kayenta canary analysis; goal: overhead under 5 %).
//
//   canary_stage_bench [--lifetime-minutes 2]
//
// Runs the real pieces: a durable PostgreSQL (one database for kayenta, one
// for orca), two gennaker-demo processes labelled server_group=baseline and
// server_group=canary for a real Prometheus (scraping every second), a light
// steady request load on both, and the real kayenta and orca binaries. It
// stores a canary config with one PromQL metric through kayenta's
// CreateCanaryConfig, starts a pipeline with one kayentaCanary stage
// (lifetime N minutes, 1-minute analysis intervals, no warm-up, step 5 s),
// waits for it and prints: the configured lifetime, the stage's wall time
// (endTime - startTime), the overhead (wall - lifetime) / lifetime, and per
// interval orca's runCanary stage time, kayenta's run time
// (GetCanaryExecution start/end) and the score.
//
// Every process it starts and its temporary directory are gone on every way
// out: normal end, failure, timeout, and SIGINT/SIGTERM/SIGHUP (handled by a
// thread that asks the main loop to stop); if the bench itself is killed, the
// servers die with it (die-with-parent), only the directory stays.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/prometheus.h"
#include "common/testing/test_stores.h"
#include "gennaker/kayenta/v1/kayenta.grpc.pb.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace gennaker {
namespace {

using Json = nlohmann::json;
namespace kv1 = kayenta::v1;
namespace ov1 = orca::v1;

// Set by the signal thread: every wait returns early and Main cleans up.
std::atomic<bool> g_stop{false};

// Sleeps `d` unless a stop was asked for; false then.
bool Sleep(absl::Duration d) {
  const absl::Time end = absl::Now() + d;
  while (!g_stop.load()) {
    const absl::Duration left = end - absl::Now();
    if (left <= absl::ZeroDuration()) return true;
    absl::SleepFor(std::min(left, absl::Milliseconds(100)));
  }
  return false;
}

struct Server {
  std::string name;
  pid_t pid = 0;
  int port = 0;  // gRPC, or HTTP for the demos
};

// Everything the bench starts; the destructor stops it all (newest first)
// and removes the directory.
struct Suite {
  std::string dir;
  std::unique_ptr<testing::TestPostgres> pg;
  std::vector<Server> demos;
  std::unique_ptr<testing::TestPrometheus> prometheus;
  Server kayenta{"kayenta"}, orca{"orca"};
  std::atomic<bool> stop_load{false};
  std::thread load;

  ~Suite() {
    stop_load = true;
    if (load.joinable()) load.join();
    for (Server* s : {&orca, &kayenta}) {
      if (s->pid > 0) (void)process::Terminate(s->pid, absl::Seconds(10));
    }
    prometheus.reset();
    for (const Server& d : demos) {
      if (d.pid > 0) (void)process::Terminate(d.pid, absl::Seconds(5));
    }
    pg.reset();
    if (!dir.empty()) testing::RemoveTree(dir);
  }

  // The last lines of each service's log, before the directory goes.
  void DumpLogs() const {
    for (const char* name : {"kayenta", "orca"}) {
      std::ifstream in(absl::StrCat(dir, "/", name, ".log"));
      std::vector<std::string> lines;
      for (std::string l; std::getline(in, l);) lines.push_back(l);
      const size_t from = lines.size() > 15 ? lines.size() - 15 : 0;
      fprintf(stderr, "--- last lines of %s.log ---\n", name);
      for (size_t i = from; i < lines.size(); ++i) {
        fprintf(stderr, "%s\n", lines[i].c_str());
      }
    }
  }
};

absl::StatusOr<pid_t> SpawnChild(const Suite& s, const std::string& name,
                                 std::vector<std::string> argv) {
  process::SpawnOptions o;
  o.argv = std::move(argv);
  o.log_file = absl::StrCat(s.dir, "/", name, ".log");
  o.die_with_parent = true;
  return process::Spawn(o);
}

bool WaitServing(const Server& s) {
  for (int i = 0; i < 200 && !g_stop.load(); ++i) {
    auto serving = CheckServing(absl::StrCat("127.0.0.1:", s.port),
                                std::chrono::milliseconds(200));
    if (serving.ok() && *serving) return true;
    Sleep(absl::Milliseconds(50));
  }
  return false;
}

bool WaitHttpUp(int port) {
  for (int i = 0; i < 200 && !g_stop.load(); ++i) {
    http::ClientRequest r;
    r.url = absl::StrCat("http://127.0.0.1:", port, "/health");
    r.timeout_ms = 1000;
    auto resp = http::Fetch(r);
    if (resp.ok() && resp->status == 200) return true;
    Sleep(absl::Milliseconds(50));
  }
  return false;
}

// One PromQL metric: each server group's request rate, which the steady
// load keeps equal on both sides (a healthy canary).
Json CanaryConfig() {
  return {{"name", "bench-canary"},
          {"applications", {"canarybench"}},
          {"judge", {{"name", "NetflixACAJudge-v1.0"}}},
          {"metrics",
           {{{"name", "request rate"},
             {"scopeName", "default"},
             {"groups", {"traffic"}},
             {"query",
              {{"type", "prometheus"},
               {"customInlineTemplate",
                "PromQL:sum(rate(gennaker_requests_total{server_group="
                "\"${scope}\"}[15s]))"}}},
             {"analysisConfigurations",
              {{"canary",
                {{"direction", "either"},
                 {"nanStrategy", "replace"},
                 {"effectSize",
                  {{"allowedIncrease", 1.5}, {"allowedDecrease", 0.5}}}}}}}}}},
          {"classifier", {{"groupWeights", {{"traffic", 100}}}}},
          {"templates", Json::object()}};
}

Json Pipeline(const std::string& config_id, int lifetime_minutes) {
  return {{"application", "canarybench"},
          {"name", "canary-stage-bench"},
          {"stages",
           {{{"refId", "1"},
             {"type", "kayentaCanary"},
             {"name", "Canary Analysis"},
             {"canaryConfig",
              {{"canaryConfigId", config_id},
               {"metricsAccountName", "prometheus"},
               {"lifetimeDuration", absl::StrCat("PT", lifetime_minutes, "M")},
               {"canaryAnalysisIntervalMins", 1},
               {"beginCanaryAnalysisAfterMins", 0},
               {"scoreThresholds", {{"marginal", 50}, {"pass", 75}}},
               {"scopes",
                {{{"scopeName", "default"},
                  {"controlScope", "baseline"},
                  {"controlLocation", "local"},
                  {"experimentScope", "canary"},
                  {"experimentLocation", "local"},
                  {"step", 5}}}}}}}}}};
}

const char* StatusName(ov1::ExecutionStatus s) {
  switch (s) {
    case ov1::EXECUTION_STATUS_NOT_STARTED:
      return "NOT_STARTED";
    case ov1::EXECUTION_STATUS_RUNNING:
      return "RUNNING";
    case ov1::EXECUTION_STATUS_SUCCEEDED:
      return "SUCCEEDED";
    case ov1::EXECUTION_STATUS_TERMINAL:
      return "TERMINAL";
    case ov1::EXECUTION_STATUS_CANCELED:
      return "CANCELED";
    default:
      return ov1::ExecutionStatus_Name(s).c_str();
  }
}

bool Finished(ov1::ExecutionStatus s) {
  return s != ov1::EXECUTION_STATUS_NOT_STARTED &&
         s != ov1::EXECUTION_STATUS_RUNNING &&
         s != ov1::EXECUTION_STATUS_PAUSED &&
         s != ov1::EXECUTION_STATUS_SUSPENDED &&
         s != ov1::EXECUTION_STATUS_UNSPECIFIED;
}

// The stages of an execution's JSON rendering (empty when absent).
const Json& Stages(const Json& doc) {
  static const Json kNone = Json::array();
  if (!doc.is_object() || !doc.contains("stages") ||
      !doc["stages"].is_array()) {
    return kNone;
  }
  return doc["stages"];
}

// An epoch-ms field of a stage; 0 when absent or null.
int64_t Ms(const Json& stage, const char* key) {
  if (!stage.contains(key) || !stage[key].is_number()) return 0;
  return stage[key].get<int64_t>();
}

// Starts stores, demos, Prometheus, kayenta and orca; false (having said
// why) when something does not come up.
bool StartSuite(Suite& s) {
  s.dir = testing::MakeTempDir("canary-stage-bench");
  auto pg = testing::TestPostgres::Start("canary-stage-bench",
                                         /*durable=*/true);
  if (!pg.ok()) {
    fprintf(stderr, "cannot start PostgreSQL: %s\n",
            std::string(pg.status().message()).c_str());
    return false;
  }
  s.pg = std::move(*pg);
  auto orca_dsn = s.pg->CreateDatabase("canary_orca");
  auto kayenta_dsn = s.pg->CreateDatabase("canary_kayenta");
  if (!orca_dsn.ok() || !kayenta_dsn.ok()) {
    fprintf(stderr, "cannot create the databases\n");
    return false;
  }
  printf("progress: PostgreSQL up (durable) on port %d\n", s.pg->port());

  // The two server groups Prometheus scrapes.
  std::vector<testing::TargetGroup> groups;
  for (const char* group : {"baseline", "canary"}) {
    Server d{absl::StrCat("demo-", group)};
    d.port = *process::FreePort();
    auto pid = SpawnChild(s, d.name,
                          {testing::BinDir() + "/gennaker-demo", "--port",
                           std::to_string(d.port), "--version", "v1"});
    if (!pid.ok()) {
      fprintf(stderr, "cannot start gennaker-demo: %s\n",
              std::string(pid.status().message()).c_str());
      return false;
    }
    d.pid = *pid;
    s.demos.push_back(d);
    if (!WaitHttpUp(d.port)) {
      fprintf(stderr, "gennaker-demo (%s) did not answer\n", group);
      return false;
    }
    groups.push_back(
        {{absl::StrCat("127.0.0.1:", d.port)}, {{"server_group", group}}});
  }
  // A steady 10 requests/s on each, so the metric has values.
  s.load = std::thread([&s] {
    while (!s.stop_load.load()) {
      for (const Server& d : s.demos) {
        http::ClientRequest r;
        r.url = absl::StrCat("http://127.0.0.1:", d.port, "/");
        r.timeout_ms = 2000;
        (void)http::Fetch(r);
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  });

  auto prometheus = testing::TestPrometheus::Start();
  if (!prometheus.ok()) {
    fprintf(stderr, "cannot start Prometheus: %s\n",
            std::string(prometheus.status().message()).c_str());
    return false;
  }
  s.prometheus = std::move(*prometheus);
  if (!s.prometheus->WriteTargets(groups).ok()) {
    fprintf(stderr, "cannot write Prometheus targets\n");
    return false;
  }
  for (const char* group : {"baseline", "canary"}) {
    absl::Status st = s.prometheus->WaitForSeries(
        absl::StrCat("rate(gennaker_requests_total{server_group=\"", group,
                     "\"}[15s]) > 0"),
        absl::Seconds(60));
    if (!st.ok()) {
      fprintf(stderr, "Prometheus has no request rate for %s: %s\n", group,
              std::string(st.message()).c_str());
      return false;
    }
  }
  printf("progress: Prometheus on port %d scrapes baseline and canary\n",
         s.prometheus->port());

  auto common = [&](const Server& srv) {
    return absl::StrCat("server: {host: 127.0.0.1, grpcPort: ", srv.port,
                        ", adminPort: ", *process::FreePort(),
                        ", shutdownGraceSeconds: 2}\n"
                        "logging: {level: info, format: text}\n");
  };
  s.kayenta.port = *process::FreePort();
  s.orca.port = *process::FreePort();
  const std::string kayenta_yml = s.dir + "/kayenta.yml";
  std::ofstream(kayenta_yml)
      << common(s.kayenta)
      << absl::StrCat("postgres: {dsn: '", *kayenta_dsn,
                      "'}\nprometheus: [{name: prometheus, baseUrl: '",
                      s.prometheus->BaseUrl(),
                      "'}]\n"
                      // Loopback is refused by the outbound policy unless
                      // allow-listed.
                      "outbound: {allowedUrlPrefixes: ['",
                      s.prometheus->BaseUrl(), "/']}\n");
  const std::string orca_yml = s.dir + "/orca.yml";
  // front50 is required by orca's config but not used by a pipeline started
  // with its config inline.
  std::ofstream(orca_yml) << common(s.orca)
                          << absl::StrCat("postgres: {dsn: '", *orca_dsn,
                                          "'}\nservices: {front50: {address: "
                                          "'127.0.0.1:9'}, kayenta: {address: "
                                          "'127.0.0.1:",
                                          s.kayenta.port,
                                          "'}}\nengine: {workerThreads: 4}\n");
  for (auto [srv, yml] :
       {std::pair<Server*, std::string>{&s.kayenta, kayenta_yml},
        {&s.orca, orca_yml}}) {
    auto pid = SpawnChild(
        s, srv->name, {testing::BinDir() + "/" + srv->name, "--config", yml});
    if (!pid.ok()) {
      fprintf(stderr, "cannot start %s: %s\n", srv->name.c_str(),
              std::string(pid.status().message()).c_str());
      return false;
    }
    srv->pid = *pid;
    if (!WaitServing(*srv)) {
      fprintf(stderr, "%s did not become SERVING\n", srv->name.c_str());
      return false;
    }
  }
  printf("progress: kayenta and orca SERVING\n");
  return true;
}

struct Interval {
  std::string name;
  int64_t orca_start_ms = 0, orca_end_ms = 0;
  std::string run_id;
  int64_t run_start_ms = 0, run_end_ms = 0;
  std::string status;
  double score = -1;
};

int Run(Suite& s, int lifetime_minutes) {
  auto kayenta = kv1::KayentaService::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", s.kayenta.port)));
  auto orca = ov1::OrcaService::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", s.orca.port)));

  kv1::CreateCanaryConfigRequest creq;
  creq.mutable_config()->set_json(CanaryConfig().dump());
  kv1::CreateCanaryConfigResponse cresp;
  {
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    grpc::Status st = kayenta->CreateCanaryConfig(ctx.get(), creq, &cresp);
    if (!st.ok()) {
      fprintf(stderr, "CreateCanaryConfig: %s\n", st.error_message().c_str());
      return 1;
    }
  }
  printf("progress: canary config %s stored\n",
         cresp.canary_config_id().c_str());

  ov1::StartPipelineRequest sreq;
  sreq.set_application("canarybench");
  sreq.mutable_config()->set_json(
      Pipeline(cresp.canary_config_id(), lifetime_minutes).dump());
  ov1::StartPipelineResponse sresp;
  {
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    grpc::Status st = orca->StartPipeline(ctx.get(), sreq, &sresp);
    if (!st.ok()) {
      fprintf(stderr, "StartPipeline: %s\n", st.error_message().c_str());
      return 1;
    }
  }
  const std::string id = sresp.execution().id();
  const absl::Time started = absl::Now();
  printf("progress: pipeline %s started; lifetime %d min, expect ~%d s\n",
         id.c_str(), lifetime_minutes, lifetime_minutes * 60);

  // Follows the execution, printing each stage as it starts and ends.
  const absl::Time deadline = started + absl::Minutes(lifetime_minutes + 5);
  ov1::Execution e;
  Json doc;  // the execution's JSON rendering (stages are only there)
  std::map<std::string, std::string> seen;  // stage id -> status printed
  absl::Time last_line = started;
  while (true) {
    if (g_stop.load()) {
      fprintf(stderr, "stopped by a signal; cleaning up\n");
      return 1;
    }
    if (absl::Now() > deadline) {
      fprintf(stderr, "pipeline did not finish within lifetime + 5 min\n");
      s.DumpLogs();
      return 1;
    }
    ov1::GetExecutionRequest greq;
    greq.set_id(id);
    ov1::GetExecutionResponse gresp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    if (orca->GetExecution(ctx.get(), greq, &gresp).ok()) {
      e = gresp.execution();
      doc = Json::parse(e.json().json(), nullptr, false);
      const double t = absl::ToDoubleSeconds(absl::Now() - started);
      for (const Json& st : Stages(doc)) {
        const std::string status = st.value("status", "");
        const std::string sid = st.value("id", "");
        if (status == "NOT_STARTED" || seen[sid] == status) continue;
        seen[sid] = status;
        printf("progress: %6.1f s  %-22s %s\n", t, st.value("name", "").c_str(),
               status.c_str());
        last_line = absl::Now();
      }
      if (Finished(e.status())) break;
      if (absl::Now() - last_line > absl::Seconds(15)) {
        printf("progress: %6.1f s  (execution %s)\n", t,
               StatusName(e.status()));
        last_line = absl::Now();
      }
    }
    Sleep(absl::Milliseconds(500));
  }

  const Json* canary = nullptr;
  std::vector<Interval> intervals;
  for (const Json& st : Stages(doc)) {
    const std::string type = st.value("type", "");
    if (type == "kayentaCanary") canary = &st;
    if (type != "runCanary") continue;
    Interval in;
    in.name = st.value("name", "");
    in.orca_start_ms = Ms(st, "startTime");
    in.orca_end_ms = Ms(st, "endTime");
    const Json ctx = st.value("context", Json::object());
    if (ctx.is_object()) in.run_id = ctx.value("canaryPipelineExecutionId", "");
    if (!in.run_id.empty()) {
      kv1::GetCanaryExecutionRequest r;
      r.set_canary_execution_id(in.run_id);
      kv1::GetCanaryExecutionResponse resp;
      auto c = MakeClientContext(std::chrono::seconds(10));
      if (kayenta->GetCanaryExecution(c.get(), r, &resp).ok()) {
        const kv1::CanaryExecution& x = resp.execution();
        in.run_start_ms = x.start_time_ms();
        in.run_end_ms = x.end_time_ms();
        in.status = kv1::CanaryStatus_Name(x.status());
        if (x.has_score()) in.score = x.score();
      }
    }
    intervals.push_back(in);
  }
  std::sort(intervals.begin(), intervals.end(),
            [](const Interval& a, const Interval& b) {
              return a.orca_start_ms < b.orca_start_ms;
            });
  if (canary == nullptr || Ms(*canary, "endTime") == 0) {
    fprintf(stderr, "no finished kayentaCanary stage in execution %s (%s)\n",
            id.c_str(), StatusName(e.status()));
    s.DumpLogs();
    return 1;
  }
  const double lifetime_s = lifetime_minutes * 60.0;
  const double wall_s =
      (Ms(*canary, "endTime") - Ms(*canary, "startTime")) / 1000.0;
  const double overhead = 100.0 * (wall_s - lifetime_s) / lifetime_s;
  const Json out = canary->value("outputs", Json::object());
  std::string scores = "-";
  if (out.is_object() && out.contains("canaryScores")) {
    scores = out["canaryScores"].dump();
  }
  double run_sum_s = 0, stage_sum_s = 0;
  for (const Interval& in : intervals) {
    run_sum_s += (in.run_end_ms - in.run_start_ms) / 1000.0;
    stage_sum_s += (in.orca_end_ms - in.orca_start_ms) / 1000.0;
  }

  printf(
      "\n| configured lifetime | stage wall time | overhead | stage status "
      "| canary scores |\n|---|---|---|---|---|\n");
  printf("| %.0f s | %.3f s | %.2f %% | %s | %s |\n", lifetime_s, wall_s,
         overhead, canary->value("status", "").c_str(), scores.c_str());
  printf(
      "\n| interval | orca runCanary stage (s) | kayenta run start -> end "
      "(s) | starts at (s after stage start) | kayenta status | score "
      "|\n|---|---|---|---|---|---|\n");
  for (const Interval& in : intervals) {
    printf("| %s | %.3f | %.3f | %.3f | %s | %s |\n", in.name.c_str(),
           (in.orca_end_ms - in.orca_start_ms) / 1000.0,
           (in.run_end_ms - in.run_start_ms) / 1000.0,
           (in.run_start_ms - Ms(*canary, "startTime")) / 1000.0,
           in.status.c_str(),
           in.score < 0 ? "-" : absl::StrCat(in.score).c_str());
  }
  printf(
      "\nsum of kayenta runs: %.3f s; sum of runCanary stages: %.3f s; "
      "rest of the overhead (orca scheduling, waits, planning): %.3f s\n",
      run_sum_s, stage_sum_s, wall_s - lifetime_s - stage_sum_s);
  printf("goal overhead < 5 %%: %s\n", overhead < 5.0 ? "MET" : "NOT MET");
  return canary->value("status", "") == "SUCCEEDED" ? 0 : 1;
}

int Main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress as it happens
  // Signals go to one thread that asks every wait to stop, so that Main
  // returns and its cleanup runs. Blocked before any thread starts (children
  // get an empty mask from process::Spawn).
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    g_stop = true;
  }).detach();

  int lifetime_minutes = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--lifetime-minutes" && i + 1 < argc &&
        absl::SimpleAtoi(argv[i + 1], &lifetime_minutes) &&
        lifetime_minutes > 0) {
      ++i;
      continue;
    }
    fprintf(stderr, "usage: canary_stage_bench [--lifetime-minutes N>0]\n");
    return 2;
  }
  Suite s;
  if (!StartSuite(s)) {
    if (!g_stop.load()) s.DumpLogs();
    return 1;
  }
  return Run(s, lifetime_minutes);
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
