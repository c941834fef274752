// Load driver: front50 saves per second, and GET
// /applications/{app}/pipelineConfigs for an application with 100 pipelines
// through gate to front50, measured with wrk.
//
// Starts a durable PostgreSQL (fsync on), the real front50 and gate binaries,
// creates the application, then:
//   1. saves pipelines through front50's gRPC SavePipeline: one client, then 8
//   concurrent;
//   2. leaves 100 pipelines (each a copy of a real 2.3 KB pipeline) in the
//   application and
//      runs `wrk -t2 -c<C> -d<S>s --latency` against gate.
//   build/bin/front50_bench [--seconds S] [--connections C] [--pipeline FILE]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/wrk.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/process/local_stores.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace gennaker {
namespace {

using Json = nlohmann::json;
namespace f50 = front50::v1;

absl::StatusOr<pid_t> StartService(
    const std::string& name,
    std::vector<std::pair<std::string, std::string>> env,
    const std::string& dir, int grpc_port) {
  process::SpawnOptions o;
  o.argv = {testing::BinDir() + "/" + name};
  o.env = std::move(env);
  o.log_file = dir + "/" + name + ".log";
  o.die_with_parent = true;
  auto pid = process::Spawn(o);
  if (!pid.ok()) return pid;
  for (int i = 0; i < 500; ++i) {
    auto ok = CheckServing(absl::StrCat("127.0.0.1:", grpc_port),
                           std::chrono::milliseconds(200));
    if (ok.ok() && *ok) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError(name + " did not start; see " +
                                     o.log_file);
}

double SavesPerSecond(f50::Front50Service::Stub* stub, const Json& base,
                      int clients, int per_client, const std::string& prefix) {
  std::atomic<int> failures{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; i < per_client; ++i) {
        Json p = base;
        p["name"] = absl::StrCat(prefix, "-", c, "-", i);
        p.erase("id");
        f50::SavePipelineRequest req;
        req.mutable_config()->set_json(p.dump());
        f50::SavePipelineResponse resp;
        auto ctx = MakeClientContext(std::chrono::seconds(10));
        if (!stub->SavePipeline(ctx.get(), req, &resp).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (failures > 0) fprintf(stderr, "%d saves failed\n", failures.load());
  return clients * per_client / seconds;
}

int Main(int argc, char** argv) {
  int seconds = 10, connections = 32;
  std::string pipeline_file =
      std::string(getenv("GENNAKER_SOURCE_DIR") ? getenv("GENNAKER_SOURCE_DIR")
                                                : ".") +
      "/../shared/pipelines/DawnBreather-spinnaker-poc__pipeline.json";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--seconds") (void)absl::SimpleAtoi(argv[i + 1], &seconds);
    if (flag == "--connections")
      (void)absl::SimpleAtoi(argv[i + 1], &connections);
    if (flag == "--pipeline") pipeline_file = argv[i + 1];
  }
  std::ifstream in(pipeline_file);
  std::stringstream text;
  text << in.rdbuf();
  Json base = Json::parse(text.str(), nullptr, false);
  if (!base.is_object()) {
    fprintf(stderr, "cannot read %s (set GENNAKER_SOURCE_DIR)\n",
            pipeline_file.c_str());
    return 1;
  }
  base["application"] = "bench";

  // The stores are stopped, and the directory removed, on every way out.
  auto pg = testing::TestPostgres::Start("front50-bench", /*durable=*/true);
  if (!pg.ok() || !process::EnsureDatabase((*pg)->port(), "gennaker").ok()) {
    return 1;
  }
  const std::string dir = (*pg)->dir();
  fprintf(stderr, "started a durable PostgreSQL in %s\n", dir.c_str());
  auto redis = testing::TestRedis::Start();
  if (!redis.ok()) return 1;
  std::string dsn = (*pg)->Dsn("gennaker");
  int f50_port = *process::FreePort(), gate_port = *process::FreePort();
  int http_port = *process::FreePort();
  auto front50 = StartService(
      "front50",
      {{"GENNAKER__SERVER__GRPC_PORT", absl::StrCat(f50_port)},
       {"GENNAKER__SERVER__ADMIN_PORT", absl::StrCat(*process::FreePort())},
       {"GENNAKER__POSTGRES__DSN", dsn},
       {"GENNAKER__POSTGRES__POOL_SIZE", "8"},
       {"GENNAKER__LOGGING__LEVEL", "warn"}},
      dir, f50_port);
  auto gate = StartService(
      "gate",
      {{"GENNAKER__SERVER__GRPC_PORT", absl::StrCat(gate_port)},
       {"GENNAKER__SERVER__ADMIN_PORT", absl::StrCat(*process::FreePort())},
       {"GENNAKER__SERVER__HTTP_THREADS", "4"},
       {"GENNAKER__HTTP_PORT", absl::StrCat(http_port)},
       {"GENNAKER__REDIS__URL", (*redis)->Url()},
       {"GENNAKER__SERVICES__FRONT50__ADDRESS",
        absl::StrCat("127.0.0.1:", f50_port)},
       {"GENNAKER__LOGGING__LEVEL", "warn"}},
      dir, gate_port);
  // Before the stores: the services are their clients.
  absl::Cleanup stop_services = [&] {
    if (gate.ok()) (void)process::Terminate(*gate, absl::Seconds(5));
    if (front50.ok()) (void)process::Terminate(*front50, absl::Seconds(5));
  };
  if (!front50.ok() || !gate.ok()) {
    fprintf(stderr, "%s %s\n", std::string(front50.status().message()).c_str(),
            std::string(gate.status().message()).c_str());
    return 1;
  }
  auto stub = f50::Front50Service::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", f50_port)));
  {
    f50::CreateApplicationRequest req;
    req.mutable_application()->set_name("bench");
    req.mutable_application()->set_email("bench@example.com");
    f50::CreateApplicationResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    if (!stub->CreateApplication(ctx.get(), req, &resp).ok()) return 1;
  }
  fprintf(stderr, "saving pipelines ...\n");
  double one = SavesPerSecond(stub.get(), base, 1, 100, "one");
  // The first 100 saves are the 100 pipelines of the read benchmark; the rest
  // go elsewhere.
  Json other = base;
  other["application"] = "bench2";
  {
    f50::CreateApplicationRequest req;
    req.mutable_application()->set_name("bench2");
    req.mutable_application()->set_email("bench@example.com");
    f50::CreateApplicationResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    (void)stub->CreateApplication(ctx.get(), req, &resp);
  }
  double eight = SavesPerSecond(stub.get(), other, 8, 100, "eight");

  std::string url = absl::StrCat("http://127.0.0.1:", http_port,
                                 "/applications/bench/pipelineConfigs");
  fprintf(stderr, "wrk -t2 -c%d -d%ds --latency %s\n", connections, seconds,
          url.c_str());
  bench::WrkResult wrk =
      bench::RunWrk(url, connections, seconds, dir + "/wrk.txt");
  printf(
      "front50 saves/s (durable PostgreSQL, gRPC SavePipeline): 1 client %.0f, "
      "8 clients "
      "%.0f\n\n",
      one, eight);
  printf(
      "GET /applications/bench/pipelineConfigs (100 pipelines, %zu bytes each) "
      "via gate:\n%s",
      base.dump().size(), wrk.text.c_str());
  return wrk.ok ? 0 : 1;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
