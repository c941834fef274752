// Webhook event to pipeline started, through the real suite (issue: echo and
// igor; the latency of a trigger at a steady event rate).
//
//   echo_webhook_bench [--rate 100] [--seconds 30] [--pipelines 1000]
//
// Runs a durable PostgreSQL (front50, orca and echo each in a database),
// Redis (gate), and the real front50, orca, echo and gate binaries. It
// stores `--pipelines` pipeline configs with webhook, git and jenkins
// triggers that the events do not match, plus one pipeline whose webhook
// trigger (source "bench", a payloadConstraint) they do, then POSTs
// `--rate` generic webhooks a second to gate's /webhooks/webhook/bench for
// `--seconds`, each with a sequence number. When every event has started
// its execution it prints, per event, the time from sending the POST to
// the execution's start time as orca recorded it (same machine clock):
// p50, p90, p99 and max, and how many events started nothing or more than
// one execution.
//
// Everything it starts dies with it (die-with-parent) and its directory is
// removed on a normal end, a failure and SIGINT/SIGTERM/SIGHUP.
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
#include "common/testing/test_stores.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace gennaker {
namespace {

using Json = nlohmann::json;
namespace ov1 = orca::v1;
namespace fv1 = front50::v1;

constexpr char kApp[] = "whbench";

std::atomic<bool> g_stop{false};

bool Sleep(absl::Duration d) {
  const absl::Time end = absl::Now() + d;
  while (!g_stop.load()) {
    const absl::Duration left = end - absl::Now();
    if (left <= absl::ZeroDuration()) return true;
    absl::SleepFor(std::min(left, absl::Milliseconds(50)));
  }
  return false;
}

struct Server {
  std::string name;
  pid_t pid = 0;
  int port = 0;
};

struct Suite {
  std::string dir;
  std::unique_ptr<testing::TestPostgres> pg;
  std::unique_ptr<testing::TestRedis> redis;
  Server front50{"front50"}, orca{"orca"}, echo{"echo"}, gate{"gate"};
  int gate_http = 0;

  ~Suite() {
    for (Server* s : {&gate, &echo, &orca, &front50}) {
      if (s->pid > 0) (void)process::Terminate(s->pid, absl::Seconds(10));
    }
    redis.reset();
    pg.reset();
    if (!dir.empty()) testing::RemoveTree(dir);
  }

  void DumpLogs() const {
    for (const char* name : {"front50", "orca", "echo", "gate"}) {
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

bool WaitServing(const Server& s) {
  for (int i = 0; i < 200 && !g_stop.load(); ++i) {
    auto serving = CheckServing(absl::StrCat("127.0.0.1:", s.port),
                                std::chrono::milliseconds(200));
    if (serving.ok() && *serving) return true;
    Sleep(absl::Milliseconds(50));
  }
  return false;
}

bool StartServer(const Suite& s, Server& srv, const std::string& config) {
  const std::string path = absl::StrCat(s.dir, "/", srv.name, ".yml");
  std::ofstream(path) << config;
  process::SpawnOptions o;
  o.argv = {testing::BinDir() + "/" + srv.name, "--config", path};
  o.log_file = absl::StrCat(s.dir, "/", srv.name, ".log");
  o.die_with_parent = true;
  auto pid = process::Spawn(o);
  if (!pid.ok()) {
    fprintf(stderr, "cannot start %s: %s\n", srv.name.c_str(),
            std::string(pid.status().message()).c_str());
    return false;
  }
  srv.pid = *pid;
  if (!WaitServing(srv)) {
    fprintf(stderr, "%s did not become SERVING\n", srv.name.c_str());
    return false;
  }
  return true;
}

bool StartSuite(Suite& s) {
  s.dir = testing::MakeTempDir("echo-webhook-bench");
  auto pg = testing::TestPostgres::Start("echo-webhook-bench",
                                         /*durable=*/true);
  if (!pg.ok()) {
    fprintf(stderr, "cannot start PostgreSQL: %s\n",
            std::string(pg.status().message()).c_str());
    return false;
  }
  s.pg = std::move(*pg);
  auto redis = testing::TestRedis::Start();
  if (!redis.ok()) {
    fprintf(stderr, "cannot start Redis: %s\n",
            std::string(redis.status().message()).c_str());
    return false;
  }
  s.redis = std::move(*redis);
  auto front50_dsn = s.pg->CreateDatabase("bench_front50");
  auto orca_dsn = s.pg->CreateDatabase("bench_orca");
  auto echo_dsn = s.pg->CreateDatabase("bench_echo");
  if (!front50_dsn.ok() || !orca_dsn.ok() || !echo_dsn.ok()) {
    fprintf(stderr, "cannot create the databases\n");
    return false;
  }
  printf("progress: PostgreSQL (durable) on port %d, Redis up\n", s.pg->port());
  for (Server* srv : {&s.front50, &s.orca, &s.echo, &s.gate}) {
    srv->port = *process::FreePort();
  }
  s.gate_http = *process::FreePort();
  auto common = [](const Server& srv) {
    return absl::StrCat("server: {host: 127.0.0.1, grpcPort: ", srv.port,
                        ", adminPort: ", *process::FreePort(),
                        ", shutdownGraceSeconds: 2}\n"
                        "logging: {level: warn, format: text}\n");
  };
  auto address = [](const Server& srv) {
    return absl::StrCat("'127.0.0.1:", srv.port, "'");
  };
  if (!StartServer(s, s.front50,
                   common(s.front50) + absl::StrCat("postgres: {dsn: '",
                                                    *front50_dsn, "'}\n"))) {
    return false;
  }
  if (!StartServer(
          s, s.orca,
          common(s.orca) + absl::StrCat("postgres: {dsn: '", *orca_dsn,
                                        "'}\nservices: {front50: {address: ",
                                        address(s.front50),
                                        "}}\nengine: {workerThreads: 4}\n"))) {
    return false;
  }
  if (!StartServer(s, s.echo,
                   common(s.echo) +
                       absl::StrCat("postgres: {dsn: '", *echo_dsn,
                                    "'}\nservices: {front50: {address: ",
                                    address(s.front50),
                                    "}, orca: {address: ", address(s.orca),
                                    "}}\nevents: {pipelinePollMs: 30000}\n"))) {
    return false;
  }
  if (!StartServer(
          s, s.gate,
          common(s.gate) +
              absl::StrCat(
                  "redis: {url: '", s.redis->Url(),
                  "'}\nhttpPort: ", s.gate_http,
                  "\nservices: {front50: {address: ", address(s.front50),
                  "}, orca: {address: ", address(s.orca),
                  "}, echo: {address: ", address(s.echo), "}}\n"))) {
    return false;
  }
  printf("progress: front50, orca, echo and gate are SERVING\n");
  return true;
}

// `n` pipelines the events do not match, and the one they do.
bool SavePipelines(const Suite& s, int n, std::string* target_id) {
  auto stub = fv1::Front50Service::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", s.front50.port)));
  auto save = [&](const Json& p, std::string* id) {
    fv1::SavePipelineRequest req;
    req.set_kind(fv1::PIPELINE_KIND_PIPELINE);
    req.mutable_config()->set_json(p.dump());
    fv1::SavePipelineResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    grpc::Status st = stub->SavePipeline(&ctx, req, &resp);
    if (!st.ok()) {
      fprintf(stderr, "SavePipeline %s: %s\n", p["name"].dump().c_str(),
              st.error_message().c_str());
      return false;
    }
    if (id != nullptr) *id = resp.pipeline().id();
    return true;
  };
  {
    fv1::CreateApplicationRequest req;
    req.mutable_application()->set_name(kApp);
    req.mutable_application()->set_email("bench@example.com");
    req.mutable_application()->mutable_attributes()->set_json(
        Json({{"name", kApp}, {"email", "bench@example.com"}}).dump());
    fv1::CreateApplicationResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    grpc::Status st = stub->CreateApplication(&ctx, req, &resp);
    if (!st.ok()) {
      fprintf(stderr, "CreateApplication: %s\n", st.error_message().c_str());
      return false;
    }
  }
  const Json wait_stage = Json::array(
      {{{"refId", "1"}, {"type", "wait"}, {"name", "Wait"}, {"waitTime", 0}}});
  for (int i = 0; i < n && !g_stop.load(); ++i) {
    Json triggers =
        Json::array({{{"type", "webhook"},
                      {"enabled", true},
                      {"source", absl::StrCat("other-", i % 50)}},
                     {{"type", "git"},
                      {"enabled", true},
                      {"source", "github"},
                      {"project", absl::StrCat("org", i % 20)},
                      {"slug", absl::StrCat("repo", i)},
                      {"branch", "main"}},
                     {{"type", "jenkins"},
                      {"enabled", true},
                      {"master", "ci"},
                      {"job", absl::StrCat("job-", i)}},
                     {{"type", "webhook"},
                      {"enabled", true},
                      {"source", "bench"},
                      {"payloadConstraints", {{"target", "nobody"}}}}});
    Json p = {{"application", kApp},
              {"name", absl::StrCat("other-", i)},
              {"limitConcurrent", false},
              {"triggers", triggers},
              {"stages", wait_stage}};
    if (!save(p, nullptr)) return false;
    if ((i + 1) % 250 == 0) printf("progress: %d pipelines stored\n", i + 1);
  }
  Json target = {{"application", kApp},
                 {"name", "on-webhook"},
                 {"limitConcurrent", false},
                 {"keepWaitingPipelines", true},
                 {"triggers",
                  {{{"type", "webhook"},
                    {"enabled", true},
                    {"source", "bench"},
                    {"payloadConstraints", {{"target", "^bench$"}}}}}},
                 {"stages", wait_stage}};
  return save(target, target_id);
}

absl::StatusOr<int> PostWebhook(const Suite& s, const Json& body) {
  http::ClientRequest r;
  r.method = "POST";
  r.url =
      absl::StrCat("http://127.0.0.1:", s.gate_http, "/webhooks/webhook/bench");
  r.headers = {{"Content-Type", "application/json"}};
  r.body = body.dump();
  r.timeout_ms = 10000;
  auto resp = http::Fetch(r);
  if (!resp.ok()) return resp.status();
  return resp->status;
}

// seq -> start times of the executions it started.
std::map<int, std::vector<int64_t>> Executions(const Suite& s,
                                               const std::string& config_id,
                                               int64_t built_after_ms) {
  auto stub = ov1::OrcaService::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", s.orca.port), 64 << 20));
  std::map<int, std::vector<int64_t>> out;
  ov1::ListExecutionsRequest req;
  req.add_pipeline_config_ids(config_id);
  req.set_limit(5000);
  req.set_built_after_ms(built_after_ms);
  ov1::ListExecutionsResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status st = stub->ListExecutions(&ctx, req, &resp);
  if (!st.ok()) {
    fprintf(stderr, "ListExecutions: %s\n", st.error_message().c_str());
    return out;
  }
  for (const ov1::Execution& e : resp.executions()) {
    Json trigger = Json::parse(e.trigger().json(), nullptr, false);
    if (!trigger.is_object()) continue;
    const Json& payload = trigger.value("payload", Json::object());
    if (!payload.is_object() || !payload.contains("seq") ||
        !payload["seq"].is_number_integer()) {
      continue;
    }
    if (e.start_time_ms() == 0) continue;
    out[payload["seq"].get<int>()].push_back(e.start_time_ms());
  }
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int Run(Suite& s, int rate, int seconds, int pipelines) {
  std::string target_id;
  if (!SavePipelines(s, pipelines, &target_id)) return 1;
  printf("progress: %d + 1 pipelines stored; waiting for echo to index them\n",
         pipelines);
  // Warm-up: until an event starts the target pipeline (echo has loaded the
  // configs).
  const int64_t warm_ms = absl::ToUnixMillis(absl::Now());
  bool warm = false;
  for (int attempt = 0; attempt < 60 && !warm && !g_stop.load(); ++attempt) {
    auto code = PostWebhook(
        s, {{"target", "bench"}, {"seq", -1 - attempt}, {"warmup", true}});
    if (!code.ok() || *code != 200) {
      fprintf(stderr, "warm-up webhook: %s\n",
              code.ok() ? absl::StrCat("HTTP ", *code).c_str()
                        : std::string(code.status().message()).c_str());
    }
    Sleep(absl::Milliseconds(500));
    warm = !Executions(s, target_id, warm_ms).empty();
  }
  if (!warm) {
    fprintf(stderr, "no execution started by the warm-up events\n");
    s.DumpLogs();
    return 1;
  }
  printf("progress: echo matches; sending %d events/s for %d s\n", rate,
         seconds);
  const int total = rate * seconds;
  std::vector<int64_t> sent_ms(total, 0);
  std::atomic<int> http_errors{0};
  const int64_t begin_ms = absl::ToUnixMillis(absl::Now());
  // Four senders keep the schedule even when one POST is slow.
  constexpr int kSenders = 4;
  std::vector<std::thread> senders;
  const absl::Time start = absl::Now();
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < total && !g_stop.load(); i += kSenders) {
        const absl::Time due = start + absl::Seconds(1) * i / rate;
        const absl::Duration wait = due - absl::Now();
        if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
        sent_ms[i] = absl::ToUnixMillis(absl::Now());
        auto code = PostWebhook(s, {{"target", "bench"}, {"seq", i}});
        if (!code.ok() || *code != 200) ++http_errors;
      }
    });
  }
  for (int sec = 1; sec <= seconds && !g_stop.load(); ++sec) {
    Sleep(absl::Seconds(1));
    if (sec % 5 == 0) printf("progress: %d s sent\n", sec);
  }
  for (std::thread& t : senders) t.join();
  const double send_s = absl::ToDoubleSeconds(absl::Now() - start);
  // Wait until every event has its execution (or 60 s).
  std::map<int, std::vector<int64_t>> started;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline && !g_stop.load()) {
    started = Executions(s, target_id, begin_ms);
    int have = 0;
    for (const auto& [seq, v] : started) have += seq >= 0 ? 1 : 0;
    if (have >= total) break;
    Sleep(absl::Milliseconds(500));
  }
  std::vector<double> lat_ms;
  int missing = 0, duplicated = 0;
  for (int i = 0; i < total; ++i) {
    auto it = started.find(i);
    if (it == started.end() || sent_ms[i] == 0) {
      ++missing;
      continue;
    }
    if (it->second.size() > 1) ++duplicated;
    lat_ms.push_back(static_cast<double>(
        *std::min_element(it->second.begin(), it->second.end()) - sent_ms[i]));
  }
  printf(
      "\n| events | rate sent | pipelines indexed | p50 | p90 | p99 | max | "
      "not started | started twice | HTTP errors |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n");
  printf(
      "| %d | %.1f/s | %d | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %d | %d "
      "| %d |\n",
      total, total / send_s, pipelines + 1, Percentile(lat_ms, 50),
      Percentile(lat_ms, 90), Percentile(lat_ms, 99), Percentile(lat_ms, 100),
      missing, duplicated, http_errors.load());
  if (missing > 0 || duplicated > 0 || http_errors.load() > 0) {
    s.DumpLogs();
    return 1;
  }
  return 0;
}

int Main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    g_stop = true;
  }).detach();
  int rate = 100, seconds = 30, pipelines = 1000;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    int* target = f == "--rate"        ? &rate
                  : f == "--seconds"   ? &seconds
                  : f == "--pipelines" ? &pipelines
                                       : nullptr;
    if (target != nullptr && i + 1 < argc &&
        absl::SimpleAtoi(argv[i + 1], target) && *target >= 0) {
      ++i;
      continue;
    }
    fprintf(stderr,
            "usage: echo_webhook_bench [--rate N] [--seconds N] "
            "[--pipelines N]\n");
    return 2;
  }
  if (rate <= 0 || seconds <= 0) {
    fprintf(stderr, "--rate and --seconds must be positive\n");
    return 2;
  }
  Suite s;
  if (!StartSuite(s)) {
    if (!g_stop.load()) s.DumpLogs();
    return 1;
  }
  return Run(s, rate, seconds, pipelines);
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
