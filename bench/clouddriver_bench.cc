// clouddriver's deploy time and gate's server-group read latency (issue:
// clouddriver local provider).
//
//   clouddriver_bench [--rounds 5] [--seconds 10] [--connections 8]
//
// Starts a throwaway Redis, the real clouddriver (one local account) and the
// real gate in front of it, then:
//  1. deploys a 10-instance gennaker-demo server group `rounds` times through
//     clouddriver's SubmitOperations and reports, per round, submit -> task
//     COMPLETED and submit -> all 10 instances Up in the cache (what orca's
//     wait-for-up-instances sees);
//  2. deploys 10 server groups x 100 instances (`sleep`, no health check, so
//     Up at once) of application "big" = 1,000 instances, and runs wrk on
//     gate's GET /applications/big/serverGroups (all 1,000 instances in the
//     answer) and on one 100-instance server group, reporting p50/p99 and
//     requests/s.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/wrk.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace gennaker {
namespace {

using Json = nlohmann::json;
namespace cv1 = clouddriver::v1;

struct Suite {
  std::string dir;
  bool keep_dir = false;  // a failed start keeps its logs for reading
  std::unique_ptr<testing::TestRedis> redis;
  pid_t clouddriver = 0, gate = 0;
  int cd_port = 0, gate_http = 0;
  std::unique_ptr<cv1::ClouddriverService::Stub> stub;
  ~Suite() {
    if (gate > 0) (void)process::Terminate(gate, absl::Seconds(5));
    // clouddriver stops the instances it runs when it is stopped.
    if (clouddriver > 0) {
      (void)process::Terminate(clouddriver, absl::Seconds(30));
    }
    redis.reset();
    if (!dir.empty() && !keep_dir) testing::RemoveTree(dir);
  }
};

bool WaitServing(int port) {
  for (int i = 0; i < 200; ++i) {
    auto s = CheckServing(absl::StrCat("127.0.0.1:", port),
                          std::chrono::milliseconds(200));
    if (s.ok() && *s) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

pid_t StartBinary(const std::string& name, const std::string& config,
                  const std::string& dir) {
  process::SpawnOptions o;
  o.argv = {testing::BinDir() + "/" + name, "--config", config};
  o.log_file = dir + "/" + name + ".log";
  o.die_with_parent = true;
  o.env = {{"GENNAKER__LOGGING__LEVEL", "warn"}};
  auto pid = process::Spawn(o);
  return pid.ok() ? *pid : 0;
}

bool StartSuite(Suite& s) {
  s.dir = testing::MakeTempDir("clouddriver-bench");
  auto redis = testing::TestRedis::Start();
  if (!redis.ok()) return false;
  s.redis = std::move(*redis);
  s.cd_port = *process::FreePort();
  std::ofstream(s.dir + "/clouddriver.yml")
      << absl::StrCat("server: {host: 127.0.0.1, grpcPort: ", s.cd_port,
                      ", adminPort: ", *process::FreePort(),
                      "}\nredis: {url: '", s.redis->Url(), "'}\nstateDir: '",
                      s.dir, "'\nlocalAccounts: [{name: local}]\n");
  s.clouddriver = StartBinary("clouddriver", s.dir + "/clouddriver.yml", s.dir);
  if (s.clouddriver == 0 || !WaitServing(s.cd_port)) return false;
  int gate_grpc = *process::FreePort();
  s.gate_http = *process::FreePort();
  std::ofstream(s.dir + "/gate.yml") << absl::StrCat(
      "server: {host: 127.0.0.1, grpcPort: ", gate_grpc,
      ", adminPort: ", *process::FreePort(), "}\nredis: {url: '",
      s.redis->Url(), "'}\nhttpPort: ", s.gate_http,
      "\nservices: {clouddriver: {address: '127.0.0.1:", s.cd_port, "'}}\n");
  s.gate = StartBinary("gate", s.dir + "/gate.yml", s.dir);
  if (s.gate == 0 || !WaitServing(gate_grpc)) return false;
  s.stub = cv1::ClouddriverService::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", s.cd_port)));
  return true;
}

std::string Submit(Suite& s, const std::string& op, const Json& d) {
  cv1::SubmitOperationsRequest req;
  cv1::Operation* o = req.add_operations();
  o->set_name(op);
  o->set_account("local");
  o->mutable_description()->set_json(d.dump());
  cv1::SubmitOperationsResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = s.stub->SubmitOperations(&ctx, req, &resp);
  if (!st.ok()) fprintf(stderr, "submit: %s\n", st.error_message().c_str());
  return resp.task_id();
}

// Waits for the task; false when it failed or did not end in 2 minutes.
// `created` receives the name of the server group it made, if any.
bool WaitTask(Suite& s, const std::string& id, std::string* created = nullptr) {
  absl::Time deadline = absl::Now() + absl::Minutes(2);
  while (absl::Now() < deadline) {
    cv1::GetOperationTaskRequest req;
    req.set_task_id(id);
    cv1::GetOperationTaskResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    if (s.stub->GetOperationTask(&ctx, req, &resp).ok() &&
        resp.task().state() != cv1::TASK_STATE_STARTED) {
      if (created != nullptr) {
        Json results =
            Json::parse(resp.task().result_objects().json(), nullptr, false);
        if (results.is_array() && !results.empty() &&
            results[0].contains("serverGroupNameByRegion")) {
          *created = results[0]["serverGroupNameByRegion"]["localhost"];
        }
      }
      return resp.task().state() == cv1::TASK_STATE_COMPLETED;
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  fprintf(stderr, "task %s did not end in 2 minutes\n", id.c_str());
  return false;
}

int UpCount(Suite& s, const std::string& name) {
  cv1::GetServerGroupRequest req;
  req.mutable_ref()->set_account("local");
  req.mutable_ref()->set_region("localhost");
  req.mutable_ref()->set_name(name);
  cv1::GetServerGroupResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!s.stub->GetServerGroup(&ctx, req, &resp).ok()) return -1;
  return resp.server_group().instance_counts().up();
}

// "99%   12.34ms" from wrk's latency distribution, in ms.
double Percentile(const std::string& text, const std::string& label) {
  size_t at = text.find("\n" + label);
  if (at == std::string::npos) at = text.find(" " + label);
  if (at == std::string::npos) return -1;
  std::istringstream in(text.substr(at + label.size() + 1));
  double v = 0;
  std::string unit;
  in >> v >> unit;
  if (unit.rfind("us", 0) == 0) return v / 1000;
  if (unit.rfind("s", 0) == 0) return v * 1000;
  return v;
}

int Main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress as it happens
  int rounds = 5, seconds = 10, connections = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--rounds") (void)absl::SimpleAtoi(argv[i + 1], &rounds);
    if (f == "--seconds") (void)absl::SimpleAtoi(argv[i + 1], &seconds);
    if (f == "--connections") (void)absl::SimpleAtoi(argv[i + 1], &connections);
  }
  Suite s;
  if (!StartSuite(s)) {
    s.keep_dir = true;
    fprintf(stderr, "could not start redis/clouddriver/gate; logs in %s\n",
            s.dir.c_str());
    return 1;
  }
  // 1. Deploy time of a 10-instance server group.
  printf(
      "| round | submit -> task COMPLETED (ms) | submit -> 10 Up (ms) |\n"
      "|---|---|---|\n");
  for (int r = 0; r < rounds; ++r) {
    Json d = {
        {"application", "deploy"},
        {"capacity", {{"min", 10}, {"max", 10}, {"desired", 10}}},
        {"command",
         {testing::BinDir() + "/gennaker-demo", "--port", "{{port}}",
          "--version", "v1"}},
        {"healthCheck",
         {{"path", "/health"}, {"intervalMs", 100}, {"healthyThreshold", 1}}}};
    absl::Time start = absl::Now();
    std::string task = Submit(s, "createServerGroup", d);
    std::string name;
    if (!WaitTask(s, task, &name) || name.empty()) return 1;
    double done_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    while (UpCount(s, name) < 10) {
      if (absl::Now() - start > absl::Minutes(2)) {
        fprintf(stderr, "%s did not reach 10 Up in 2 minutes\n", name.c_str());
        return 1;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    double up_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    printf("| %d | %.0f | %.0f |\n", r + 1, done_ms, up_ms);
    fflush(stdout);
    if (!WaitTask(
            s, Submit(s, "destroyServerGroup", {{"serverGroupName", name}}))) {
      return 1;
    }
  }
  // 2. gate's read of an application with 1,000 instances.
  fprintf(stderr, "deploying 10 x 100 instances of 'big' ...\n");
  std::vector<std::string> big;
  for (int g = 0; g < 10; ++g) {
    Json d = {{"application", "big"},
              {"capacity", {{"min", 100}, {"max", 100}, {"desired", 100}}},
              {"command", {"/bin/sleep", "3600"}},
              {"healthCheck", {{"path", ""}}}};
    std::string name;
    if (!WaitTask(s, Submit(s, "createServerGroup", d), &name)) return 1;
    big.push_back(name);
  }
  for (const std::string& name : big) {
    absl::Time start = absl::Now();
    while (UpCount(s, name) < 100) {
      if (absl::Now() - start > absl::Minutes(2)) return 1;
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  http::ClientRequest check;
  check.url = absl::StrCat("http://127.0.0.1:", s.gate_http,
                           "/applications/big/serverGroups");
  auto resp = http::Fetch(check);
  size_t instances = 0;
  if (resp.ok() && resp->status == 200) {
    for (const Json& g : Json::parse(resp->body)) {
      instances += g["instances"].size();
    }
  }
  fprintf(stderr, "gate answers %zu instances in %zu bytes\n", instances,
          resp.ok() ? resp->body.size() : 0);
  printf(
      "\n| read through gate | instances in answer | connections | req/s | "
      "p50 (ms) | p99 (ms) |\n|---|---|---|---|---|---|\n");
  struct Url {
    std::string what;
    std::string path;
    size_t instances;
  };
  // wrk needs at least one connection per thread (it runs two).
  for (int c : {2, connections}) {
    for (const Url& u :
         {Url{"GET /applications/big/serverGroups",
              "/applications/big/serverGroups", instances},
          Url{"GET /applications/big/serverGroups/local/localhost/" + big[0],
              "/applications/big/serverGroups/local/localhost/" + big[0],
              100}}) {
      bench::WrkResult w =
          bench::RunWrk(absl::StrCat("http://127.0.0.1:", s.gate_http, u.path),
                        c, seconds, s.dir + "/wrk.txt");
      if (!w.ok) {
        fprintf(stderr, "wrk failed:\n%s\n", w.text.c_str());
        return 1;
      }
      printf("| %s | %zu | %d | %.0f | %.2f | %.2f |\n", u.what.c_str(),
             u.instances, c, w.rps, Percentile(w.text, "50%"),
             Percentile(w.text, "99%"));
    }
  }
  return 0;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
