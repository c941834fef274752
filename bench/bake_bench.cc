// Bake and deploy-an-image timings (issue 16: rosco with real packer).
//
//   bake_bench [--rounds 5] [--instances 3]
//
// Starts a throwaway Redis, the real rosco (real Debian packer, the shipped
// templates of build/share/rosco/packer) and the real clouddriver (one local
// account sharing rosco's image store), builds .deb packages of
// gennaker-demo, then:
//  1. bakes `rounds` distinct packages (hello 1.0.<i>: a new bake key and a
//     new image each time) through rosco's gRPC CreateBake, polling
//     GetBakeStatus every 2 ms: total = CreateBake -> COMPLETED. packer runs
//     through a wrapper that records its start and end, so packer's own time
//     is measured, not guessed, and rosco's overhead = total - packer (job
//     queue, packer's arguments, spawning it, parsing its output, bake store
//     writes, status polling; package resolution, unpacking and the manifest
//     are packer's: its shell-local provisioner runs local-image.sh). Also:
//     the same bake again (reused, no packer) and with rebake.
//  2. deploys `instances` gennaker-demo instances through clouddriver's
//     SubmitOperations createServerGroup, `rounds` times each way,
//     alternating: by imageId (the baked image; cwd = its rootfs) against a
//     raw `command` (the binary in build/bin) and against a raw command
//     running the image's own binary, submit -> all Up in the cache; each
//     server group is destroyed before the next round.
// Prints markdown tables (per round, then medians).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gennaker/rosco/v1/rosco.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/support/deb_package.h"

namespace gennaker {
namespace {

using Json = nlohmann::json;
namespace cv1 = clouddriver::v1;
namespace rv1 = rosco::v1;
namespace fs = std::filesystem;

struct Suite {
  std::string dir, images, repo, packer_runs;
  bool keep_dir = false;  // a failed start keeps its logs for reading
  std::unique_ptr<testing::TestRedis> redis;
  pid_t clouddriver = 0, rosco = 0;
  std::unique_ptr<cv1::ClouddriverService::Stub> cd;
  std::unique_ptr<rv1::RoscoService::Stub> rosco_stub;
  ~Suite() {
    if (rosco > 0) (void)process::Terminate(rosco, absl::Seconds(10));
    // clouddriver stops the instances it runs when it is stopped.
    if (clouddriver > 0) {
      (void)process::Terminate(clouddriver, absl::Seconds(30));
    }
    redis.reset();
    if (dir.empty() || keep_dir) return;
    // Baked rootfs trees are read-only.
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add,
                        ec);
      }
    }
    testing::RemoveTree(dir);
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
                  const std::string& dir, const std::string& level) {
  process::SpawnOptions o;
  o.argv = {testing::BinDir() + "/" + name, "--config", config};
  o.log_file = dir + "/" + name + ".log";
  o.die_with_parent = true;
  o.env = {{"GENNAKER__LOGGING__LEVEL", level}};
  auto pid = process::Spawn(o);
  return pid.ok() ? *pid : 0;
}

bool StartSuite(Suite& s) {
  s.dir = fs::canonical(testing::MakeTempDir("bake-bench")).string();
  s.images = s.dir + "/images";
  s.repo = s.dir + "/repo";
  fs::create_directories(s.images);
  fs::create_directories(s.repo);
  fs::create_directories(s.dir + "/work");
  const std::string packer_dir =
      fs::weakly_canonical(testing::BinDir() + "/../share/rosco/packer")
          .string();
  if (!fs::is_directory(packer_dir)) {
    fprintf(stderr, "%s: rosco's packer templates are not installed\n",
            packer_dir.c_str());
    return false;
  }
  // packer's own wall time, from just before exec to just after exit (the
  // two `date` calls, ~1 ms each, count as packer time).
  s.packer_runs = s.dir + "/packer-runs.log";
  const std::string wrapper = s.dir + "/packer";
  if (access(GENNAKER_PACKER_BINARY, X_OK) != 0) {
    fprintf(stderr, "%s: packer is not installed\n", GENNAKER_PACKER_BINARY);
    return false;
  }
  std::ofstream(wrapper) << "#!/bin/sh\nstart=$(date +%s%N)\n'"
                         << GENNAKER_PACKER_BINARY
                         << "' \"$@\"\nrc=$?\n"
                            "echo \"$start $(date +%s%N) $rc $*\" >> '"
                         << s.packer_runs << "'\nexit $rc\n";
  fs::permissions(wrapper, fs::perms::owner_all);

  auto redis = testing::TestRedis::Start();
  if (!redis.ok()) return false;
  s.redis = std::move(*redis);
  const int cd_port = *process::FreePort();
  std::ofstream(s.dir + "/clouddriver.yml") << absl::StrCat(
      "server: {host: 127.0.0.1, grpcPort: ", cd_port,
      ", adminPort: ", *process::FreePort(), "}\nredis: {url: '",
      s.redis->Url(), "'}\nstateDir: '", s.dir,
      "'\nlocalAccounts: [{name: local, imageStoreDir: '", s.images, "'}]\n");
  const int rosco_port = *process::FreePort();
  std::ofstream(s.dir + "/rosco.yml") << absl::StrCat(
      "server: {host: 127.0.0.1, grpcPort: ", rosco_port,
      ", adminPort: ", *process::FreePort(), "}\nredis: {url: '",
      s.redis->Url(), "'}\npackerConfigDir: '", packer_dir,
      "'\npackerBinary: '", wrapper, "'\nworkDir: '", s.dir,
      "/work'\nimageStoreDir: '", s.images, "'\npackageRepositoryDir: '",
      s.repo, "'\n");
  s.clouddriver =
      StartBinary("clouddriver", s.dir + "/clouddriver.yml", s.dir, "warn");
  // info: its event=rosco_bake_finished lines carry its own timings.
  s.rosco = StartBinary("rosco", s.dir + "/rosco.yml", s.dir, "info");
  if (s.clouddriver == 0 || !WaitServing(cd_port) || s.rosco == 0 ||
      !WaitServing(rosco_port)) {
    return false;
  }
  s.cd = cv1::ClouddriverService::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", cd_port)));
  s.rosco_stub = rv1::RoscoService::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", rosco_port)));
  return true;
}

// The recorded `packer build` runs: wall ms each, in order.
std::vector<double> PackerBuildMs(const Suite& s) {
  std::vector<double> out;
  std::ifstream in(s.packer_runs);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    int64_t a = 0, b = 0;
    if (f.size() > 3 && f[3] == "build" && absl::SimpleAtoi(f[0], &a) &&
        absl::SimpleAtoi(f[1], &b)) {
      out.push_back((b - a) / 1e6);
    }
  }
  return out;
}

// rosco's own account of each finished bake (event=rosco_bake_finished):
// {packer_ms, total_ms} in order, a cross-check of the wrapper's numbers.
std::vector<std::pair<int64_t, int64_t>> RoscoLoggedMs(const Suite& s) {
  std::vector<std::pair<int64_t, int64_t>> out;
  std::ifstream in(s.dir + "/rosco.log");
  auto field = [](const std::string& line, const std::string& key) {
    size_t at = line.find(" " + key + "=");
    int64_t v = -1;
    if (at == std::string::npos) return v;
    at += key.size() + 2;
    (void)absl::SimpleAtoi(line.substr(at, line.find(' ', at) - at), &v);
    return v;
  };
  for (std::string line; std::getline(in, line);) {
    if (line.find("event=rosco_bake_finished") == std::string::npos) continue;
    out.emplace_back(field(line, "packer_ms"), field(line, "total_ms"));
  }
  return out;
}

struct BakeRun {
  bool ok = false;
  bool reused = false;
  double total_ms = 0;
  std::string image_id;
};

// One bake of hello=`version`, CreateBake -> COMPLETED.
BakeRun Bake(Suite& s, const std::string& version, bool rebake) {
  BakeRun run;
  rv1::CreateBakeRequest req;
  req.set_region("localhost");
  req.set_rebake(rebake);
  rv1::BakeRequest* b = req.mutable_bake_request();
  b->set_user("bench");
  b->set_package_names("hello=" + version);
  b->set_cloud_provider_type(rv1::CLOUD_PROVIDER_TYPE_LOCAL);
  b->set_base_os("local");
  b->set_base_label("release");
  b->mutable_extended_attributes()->set_json(
      Json({{"command",
             "usr/bin/gennaker-demo --port {{port}} --version " + version}})
          .dump());
  const absl::Time start = absl::Now();
  rv1::CreateBakeResponse created;
  {
    grpc::ClientContext ctx;
    grpc::Status st = s.rosco_stub->CreateBake(&ctx, req, &created);
    if (!st.ok()) {
      fprintf(stderr, "CreateBake: %s\n", st.error_message().c_str());
      return run;
    }
  }
  run.reused = created.reused();
  rv1::BakeStatus status = created.status();
  while (status.state() == rv1::BAKE_STATE_RUNNING ||
         status.state() == rv1::BAKE_STATE_UNSPECIFIED) {
    if (absl::Now() - start > absl::Minutes(5)) {
      fprintf(stderr, "bake %s did not complete in 5 minutes\n",
              status.id().c_str());
      return run;
    }
    absl::SleepFor(absl::Milliseconds(2));
    rv1::GetBakeStatusRequest get;
    get.set_region("localhost");
    get.set_status_id(created.status().id());
    rv1::GetBakeStatusResponse got;
    grpc::ClientContext ctx;
    if (s.rosco_stub->GetBakeStatus(&ctx, get, &got).ok()) {
      status = got.status();
    }
  }
  run.total_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (status.result() != rv1::BAKE_RESULT_SUCCESS) {
    fprintf(stderr, "bake %s failed: %s (rosco.log in %s)\n",
            status.id().c_str(), status.failure_message().c_str(),
            s.dir.c_str());
    return run;
  }
  rv1::GetBakeRequest get;
  get.set_region("localhost");
  get.set_bake_id(status.resource_id());
  rv1::GetBakeResponse bake;
  grpc::ClientContext ctx;
  if (!s.rosco_stub->GetBake(&ctx, get, &bake).ok()) return run;
  run.image_id = bake.bake().artifact().reference();
  run.ok = absl::StartsWith(run.image_id, "sha256:");
  if (!run.ok) {
    fprintf(stderr, "bake %s: artifact reference '%s' is not sha256:...\n",
            status.id().c_str(), run.image_id.c_str());
  }
  return run;
}

std::string Submit(Suite& s, const std::string& op, const Json& d) {
  cv1::SubmitOperationsRequest req;
  cv1::Operation* o = req.add_operations();
  o->set_name(op);
  o->set_account("local");
  o->mutable_description()->set_json(d.dump());
  cv1::SubmitOperationsResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = s.cd->SubmitOperations(&ctx, req, &resp);
  if (!st.ok()) fprintf(stderr, "submit: %s\n", st.error_message().c_str());
  return resp.task_id();
}

// Waits for the task; false when it failed or did not end in 2 minutes.
bool WaitTask(Suite& s, const std::string& id, std::string* created = nullptr) {
  absl::Time deadline = absl::Now() + absl::Minutes(2);
  while (absl::Now() < deadline) {
    cv1::GetOperationTaskRequest req;
    req.set_task_id(id);
    cv1::GetOperationTaskResponse resp;
    grpc::ClientContext ctx;
    if (s.cd->GetOperationTask(&ctx, req, &resp).ok() &&
        resp.task().state() != cv1::TASK_STATE_STARTED) {
      if (created != nullptr) {
        Json results =
            Json::parse(resp.task().result_objects().json(), nullptr, false);
        if (results.is_array() && !results.empty() &&
            results[0].contains("serverGroupNameByRegion")) {
          *created = results[0]["serverGroupNameByRegion"]["localhost"];
        }
      }
      if (resp.task().state() != cv1::TASK_STATE_COMPLETED) {
        fprintf(stderr, "task %s: %s\n", id.c_str(),
                resp.task().DebugString().c_str());
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
  if (!s.cd->GetServerGroup(&ctx, req, &resp).ok()) return -1;
  return resp.server_group().instance_counts().up();
}

// createServerGroup -> `instances` Up; ms, or -1.
double Deploy(Suite& s, const Json& how, int instances) {
  Json d = {
      {"application", "bake"},
      {"stack", how.contains("imageId") ? "image" : "command"},
      {"capacity",
       {{"min", instances}, {"max", instances}, {"desired", instances}}},
      {"healthCheck",
       {{"path", "/health"}, {"intervalMs", 50}, {"healthyThreshold", 1}}}};
  d.update(how);
  const absl::Time start = absl::Now();
  std::string name;
  if (!WaitTask(s, Submit(s, "createServerGroup", d), &name) || name.empty()) {
    return -1;
  }
  while (UpCount(s, name) < instances) {
    if (absl::Now() - start > absl::Minutes(2)) {
      fprintf(stderr, "%s did not reach %d Up in 2 minutes\n", name.c_str(),
              instances);
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (!WaitTask(s,
                Submit(s, "destroyServerGroup", {{"serverGroupName", name}}))) {
    return -1;
  }
  return ms;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int Main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress as it happens
  int rounds = 5, instances = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--rounds") (void)absl::SimpleAtoi(argv[i + 1], &rounds);
    if (f == "--instances") (void)absl::SimpleAtoi(argv[i + 1], &instances);
  }
  Suite s;
  if (!StartSuite(s)) {
    s.keep_dir = true;
    fprintf(stderr, "could not start redis/rosco/clouddriver; logs in %s\n",
            s.dir.c_str());
    return 1;
  }
  const std::string demo = testing::BinDir() + "/gennaker-demo";
  for (int i = 0; i < rounds; ++i) {
    auto deb = testing::BuildHelloDeb(absl::StrCat("1.0.", i), demo, s.repo);
    if (!deb.ok()) {
      fprintf(stderr, "%s\n", std::string(deb.status().message()).c_str());
      return 1;
    }
  }

  // 1. Bakes.
  printf(
      "| bake | total (ms) | packer (ms) | rosco overhead (ms) | rosco's log: "
      "packer / total (ms) | image |\n|---|---|---|---|---|---|\n");
  // rosco's clock: packer_ms is spawn -> reaped (includes the wrapper's
  // shell), so total - that is rosco's overhead with nothing of packer's.
  std::vector<double> totals, packers, overheads, rosco_packers, rosco_totals;
  std::string first_image;
  for (int i = 0; i < rounds; ++i) {
    const std::string version = absl::StrCat("1.0.", i);
    BakeRun run = Bake(s, version, false);
    std::vector<double> builds = PackerBuildMs(s);
    if (!run.ok || run.reused || builds.size() != static_cast<size_t>(i + 1)) {
      fprintf(stderr, "bake %s: ok=%d reused=%d packer builds=%zu\n",
              version.c_str(), run.ok, run.reused, builds.size());
      s.keep_dir = true;
      return 1;
    }
    if (i == 0) first_image = run.image_id;
    const double packer = builds.back();
    totals.push_back(run.total_ms);
    packers.push_back(packer);
    overheads.push_back(run.total_ms - packer);
    std::vector<std::pair<int64_t, int64_t>> logged = RoscoLoggedMs(s);
    const std::pair<int64_t, int64_t> own =
        logged.empty() ? std::pair<int64_t, int64_t>{-1, -1} : logged.back();
    rosco_packers.push_back(static_cast<double>(own.first));
    rosco_totals.push_back(static_cast<double>(own.second));
    printf("| hello=%s | %.0f | %.0f | %.0f | %lld / %lld | %s |\n",
           version.c_str(), run.total_ms, packer, run.total_ms - packer,
           static_cast<long long>(own.first),
           static_cast<long long>(own.second),
           run.image_id.substr(0, 19).c_str());
  }
  printf(
      "| **median of %d** | **%.0f** | **%.0f** | **%.0f** | **%.0f / %.0f** "
      "| |\n",
      rounds, Median(totals), Median(packers), Median(overheads),
      Median(rosco_packers), Median(rosco_totals));
  // The same request again: the bake key matches, no packer.
  const size_t builds_before = PackerBuildMs(s).size();
  BakeRun again = Bake(s, "1.0.0", false);
  printf(
      "| hello=1.0.0 again (reused=%s, packer runs %zu) | %.1f | 0 | %.1f "
      "| | %s |\n",
      again.reused ? "true" : "false", PackerBuildMs(s).size() - builds_before,
      again.total_ms, again.total_ms, again.image_id.substr(0, 19).c_str());
  BakeRun rebake = Bake(s, "1.0.0", true);
  std::vector<double> builds = PackerBuildMs(s);
  const double rebake_packer =
      builds.size() > builds_before ? builds.back() : 0.0;
  std::vector<std::pair<int64_t, int64_t>> logged = RoscoLoggedMs(s);
  printf(
      "| hello=1.0.0 rebake (same content, packer runs %zu) | %.0f | %.0f "
      "| %.0f | %lld / %lld | %s |\n",
      builds.size() - builds_before, rebake.total_ms, rebake_packer,
      rebake.total_ms - rebake_packer,
      static_cast<long long>(logged.empty() ? -1 : logged.back().first),
      static_cast<long long>(logged.empty() ? -1 : logged.back().second),
      rebake.image_id.substr(0, 19).c_str());
  // packer's fixed cost: the same null builder with nothing to provision.
  std::ofstream(s.dir + "/empty.json")
      << R"({"builders": [{"type": "null", "communicator": "none"}]})";
  std::vector<double> empty;
  for (int i = 0; i < rounds; ++i) {
    process::SpawnOptions o;
    o.argv = {GENNAKER_PACKER_BINARY, "build", "-color=false",
              "-machine-readable", s.dir + "/empty.json"};
    o.log_file = s.dir + "/empty.log";
    const absl::Time start = absl::Now();
    auto code = process::Run(o);
    if (!code.ok() || *code != 0) {
      fprintf(stderr, "packer build of an empty template failed; see %s\n",
              o.log_file.c_str());
      s.keep_dir = true;
      return 1;
    }
    empty.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  printf(
      "| packer alone: null builder, no provisioner (median of %d) | | "
      "%.0f | | | |\n",
      rounds, Median(empty));

  // 2. Deploys: baked image against raw command, alternating. The third
  // column runs the image's own (stripped) binary as a raw command: what
  // differs from the first is only the image handling in clouddriver.
  const std::string image_bin =
      absl::StrCat(s.images, "/images/", first_image.substr(7),
                   "/rootfs/usr/bin/gennaker-demo");
  printf(
      "\n| round | deploy imageId -> %d Up (ms) | deploy command -> %d Up "
      "(ms) | command = the image's binary -> %d Up (ms) |\n"
      "|---|---|---|---|\n",
      instances, instances, instances);
  std::vector<double> by_image, by_command, by_image_bin;
  for (int r = 0; r < rounds; ++r) {
    const double image = Deploy(s, {{"imageId", first_image}}, instances);
    const double command = Deploy(
        s, {{"command", {demo, "--port", "{{port}}", "--version", "1.0.0"}}},
        instances);
    const double image_bin_ms = Deploy(
        s,
        {{"stack", "imagebin"},
         {"command", {image_bin, "--port", "{{port}}", "--version", "1.0.0"}}},
        instances);
    if (image < 0 || command < 0 || image_bin_ms < 0) {
      s.keep_dir = true;
      fprintf(stderr, "deploy failed; logs in %s\n", s.dir.c_str());
      return 1;
    }
    by_image.push_back(image);
    by_command.push_back(command);
    by_image_bin.push_back(image_bin_ms);
    printf("| %d | %.0f | %.0f | %.0f |\n", r + 1, image, command,
           image_bin_ms);
  }
  printf("| **median** | **%.0f** | **%.0f** | **%.0f** |\n", Median(by_image),
         Median(by_command), Median(by_image_bin));
  return 0;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
