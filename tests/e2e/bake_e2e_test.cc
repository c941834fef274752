// Bake once, deploy the same immutable image, end to end with real processes:
// PostgreSQL, Redis, front50, clouddriver (local provider with an image
// store), rosco running the real Debian packer, orca and gate.
//
//   .deb packages "hello" 1.0.0 / 2.0.0 (gennaker-demo inside) in rosco's
//   package repository
//     -> pipeline saved through gate: bake hello=${parameters.version} for the
//        local provider, then a red/black deploy with no command and no image
//        (orca takes the upstream baked image)
//     -> run 1.0.0: the server group runs image sha256:... from the image
//        store (cwd = rootfs, GENNAKER_IMAGE_ID), the load balancer serves
//        1.0.0;
//     -> run 2.0.0: red/black, 2.0.0 served, v000 disabled;
//     -> run 2.0.0 again: rosco reuses the bake (same status, same image),
//        packer does not run again;
//     -> run 2.0.0 with trigger.rebake: a new bake, packer runs again;
//     -> a pipeline with an expected embedded/base64 artifact: a .deb passed
//        in the trigger is baked and deployed; without it the trigger is
//        refused with 400.
// packer is run through a wrapper script that records each `packer build`,
// so "packer did (not) run" is observed, not inferred.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gennaker/rosco/v1/rosco.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "openssl/evp.h"
#include "tests/support/deb_package.h"
#include "tests/support/rest_call.h"
#include "tests/support/suite_process.h"

namespace gennaker {
namespace {

using Json = nlohmann::json;
using Service = testing::SuiteProcess;
namespace rv1 = rosco::v1;
namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

// A stage's value from its context, else its outputs (where orca keeps
// what a stage produced).
Json StageValue(const Json& stage, const std::string& key) {
  for (const char* where : {"context", "outputs"}) {
    if (stage.contains(where) && stage[where].is_object() &&
        stage[where].contains(key)) {
      return stage[where][key];
    }
  }
  return Json();
}

// `j` dumped with embedded artifacts' base64 references (a whole .deb)
// shortened, for failure messages.
std::string WithoutPayloads(Json j) {
  std::function<void(Json&)> walk = [&](Json& v) {
    if (v.is_object()) {
      if (v.value("type", "") == "embedded/base64" && v.contains("reference") &&
          v["reference"].is_string()) {
        v["reference"] = absl::StrCat(
            "<", v["reference"].get<std::string>().size(), " base64 chars>");
      }
    }
    if (v.is_object() || v.is_array()) {
      for (Json& x : v) walk(x);
    }
  };
  walk(j);
  return j.dump(1);
}

bool IsTopLevel(const Json& stage) {
  return !stage.contains("parentStageId") || stage["parentStageId"].is_null();
}

// The first stage of `type` (top-level only when `top`).
Json FindStage(const Json& execution, const std::string& type, bool top) {
  if (!execution.contains("stages")) return Json();
  for (const Json& s : execution["stages"]) {
    if (s.value("type", "") == type && (!top || IsTopLevel(s))) return s;
  }
  return Json();
}

class BakeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::SharedPostgres();
    ASSERT_TRUE(pg.ok()) << pg.status();
    std::map<std::string, std::string> dsn;
    for (const char* db : {"front50", "orca"}) {
      auto d = (*pg)->CreateDatabase(absl::StrCat("bake_", db));
      ASSERT_TRUE(d.ok()) << d.status();
      dsn[db] = *d;
    }
    auto redis = testing::TestRedis::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    dir_ = fs::canonical(testing::MakeTempDir("bake-e2e")).string();
    state_ = dir_ + "/local/local";
    images_ = dir_ + "/images";
    repo_ = dir_ + "/repo";
    for (const std::string& d : {images_, repo_, dir_ + "/rosco-work"}) {
      fs::create_directories(d);
    }
    const std::string packer_dir =
        fs::weakly_canonical(testing::BinDir() + "/../share/rosco/packer")
            .string();
    ASSERT_TRUE(fs::is_directory(packer_dir))
        << packer_dir << ": rosco's packer templates are not installed";

    // The real packer is required (CMake found it; it must still be
    // there): no bake is faked or skipped.
    ASSERT_EQ(access(GENNAKER_PACKER_BINARY, X_OK), 0)
        << GENNAKER_PACKER_BINARY
        << ": packer is not installed; this test runs the real packer";

    // packer through a wrapper that records each run (start/end ns, exit
    // code, arguments) and then behaves exactly as packer.
    packer_runs_ = dir_ + "/packer-runs.log";
    const std::string wrapper = dir_ + "/packer";
    std::ofstream(wrapper) << "#!/bin/sh\nstart=$(date +%s%N)\n'"
                           << GENNAKER_PACKER_BINARY
                           << "' \"$@\"\nrc=$?\n"
                              "echo \"$start $(date +%s%N) $rc $*\" >> '"
                           << packer_runs_ << "'\nexit $rc\n";
    fs::permissions(wrapper, fs::perms::owner_all);

    for (Service* s : {&front50_, &clouddriver_, &rosco_, &orca_, &gate_}) {
      s->grpc_port = *process::FreePort();
    }
    gate_http_ = *process::FreePort();
    auto common = [&](const Service& s) {
      return absl::StrCat("server: {host: 127.0.0.1, grpcPort: ", s.grpc_port,
                          ", adminPort: ", *process::FreePort(),
                          ", shutdownGraceSeconds: 2}\n"
                          "logging: {level: info, format: text}\n");
    };
    auto address = [](const Service& s) {
      return absl::StrCat("{address: '127.0.0.1:", s.grpc_port, "'}");
    };
    auto configure = [&](Service& s, const std::string& name,
                         const std::string& rest) {
      s.name = name;
      s.config = dir_ + "/" + name + ".yml";
      std::ofstream(s.config) << common(s) << rest;
    };
    configure(front50_, "front50",
              absl::StrCat("postgres: {dsn: '", dsn["front50"], "'}\n"));
    configure(
        clouddriver_, "clouddriver",
        absl::StrCat("redis: {url: '", redis_->Url(), "'}\nstateDir: '", dir_,
                     "'\nlocalAccounts: [{name: local, environment: "
                     "test, imageStoreDir: '",
                     images_,
                     "'}]\ncacheIntervalSeconds: 1\n"
                     "taskOwnerTtlSeconds: 2\n"));
    configure(
        rosco_, "rosco",
        absl::StrCat("redis: {url: '", redis_->Url(), "'}\npackerConfigDir: '",
                     packer_dir, "'\npackerBinary: '", wrapper, "'\nworkDir: '",
                     dir_, "/rosco-work'\nimageStoreDir: '", images_,
                     "'\npackageRepositoryDir: '", repo_,
                     "'\nmaxConcurrentBakes: 2\n"
                     "bakeTimeoutSeconds: 300\n"));
    configure(orca_, "orca",
              absl::StrCat("postgres: {dsn: '", dsn["orca"],
                           "'}\nservices: {front50: ", address(front50_),
                           ", clouddriver: ", address(clouddriver_),
                           ", rosco: ", address(rosco_),
                           "}\nengine: {workerThreads: 4, safetyPollMs: 200}\n"
                           "outbound: {allowLoopback: true}\n"));
    configure(gate_, "gate",
              absl::StrCat("redis: {url: '", redis_->Url(),
                           "'}\nhttpPort: ", gate_http_,
                           "\nservices: {front50: ", address(front50_),
                           ", orca: ", address(orca_),
                           ", clouddriver: ", address(clouddriver_),
                           ", rosco: ", address(rosco_), "}\n"));
    for (Service* s : {&front50_, &clouddriver_, &rosco_, &orca_, &gate_}) {
      absl::Status started = testing::StartSuiteProcess(*s, dir_);
      ASSERT_TRUE(started.ok()) << started;
    }
    gate_url_ = absl::StrCat("http://127.0.0.1:", gate_http_);
    rosco_stub_ = rv1::RoscoService::NewStub(
        MakeChannel(absl::StrCat("127.0.0.1:", rosco_.grpc_port)));
  }

  void TearDown() override {
    if (HasFailure()) {
      // The directory goes away: show what the services said.
      for (const Service* s : {&rosco_, &orca_, &clouddriver_}) {
        std::vector<std::string> lines =
            absl::StrSplit(ReadFile(dir_ + "/" + s->name + ".log"), '\n');
        std::printf("---- last lines of %s.log\n", s->name.c_str());
        for (size_t i = lines.size() > 40 ? lines.size() - 40 : 0;
             i < lines.size(); ++i) {
          std::printf("  %s\n", lines[i].c_str());
        }
      }
    }
    for (Service* s : {&gate_, &orca_, &rosco_, &clouddriver_, &front50_}) {
      if (s->pid > 0) (void)process::Terminate(s->pid, absl::Seconds(10));
    }
    for (pid_t p : process::ProcessesWithEnv(
             absl::StrCat("GENNAKER_LOCAL_STATE_DIR=", state_))) {
      killpg(p, SIGKILL);
    }
    // Baked rootfs trees are read-only: make them writable to remove them.
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add,
                        ec);
      }
    }
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    testing::RemoveTree(dir_);
  }

  http::ClientResponse Call(const std::string& method, const std::string& path,
                            const std::string& body = "") {
    return testing::RestCall(gate_url_, method, path, body);
  }

  Json Get(const std::string& path) {
    http::ClientResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return Json::parse(r.body, nullptr, false);
  }

  std::string RunTask(const Json& body) {
    http::ClientResponse r = Call("POST", "/tasks", body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    std::string ref = Json::parse(r.body, nullptr, false).value("ref", "");
    std::string id = ref.substr(ref.rfind('/') + 1);
    for (int i = 0; i < 600; ++i) {
      std::string st = Get("/tasks/" + id).value("status", "");
      if (st != "RUNNING" && st != "NOT_STARTED") return st;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return "TIMEOUT";
  }

  std::string CreateLoadBalancer(const std::string& name) {
    return RunTask({{"application", "demo"},
                    {"description", "Create Load Balancer: " + name},
                    {"job",
                     {{{"type", "upsertLoadBalancer"},
                       {"name", name},
                       {"credentials", "local"},
                       {"cloudProvider", "local"},
                       {"region", "localhost"},
                       {"listeners", {{{"port", 0}}}}}}}});
  }

  // Saves a pipeline as Deck does; its id.
  std::string Save(Json pipeline) {
    pipeline["application"] = "demo";
    http::ClientResponse r = Call("POST", "/pipelines", pipeline.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    Json saved = Get("/applications/demo/pipelineConfigs/" +
                     pipeline["name"].get<std::string>());
    return saved.value("id", "");
  }

  // Triggers a saved pipeline as spin and Deck do; the execution id, empty
  // when gate refused (its status in `status`).
  std::string Trigger(const std::string& name, const Json& trigger,
                      int* status = nullptr) {
    http::ClientResponse r =
        Call("POST", "/pipelines/demo/" + name, trigger.dump());
    if (status != nullptr) *status = r.status;
    if (r.status != 202 && r.status != 200) {
      last_refusal_ = r.body;
      return "";
    }
    std::string ref = Json::parse(r.body, nullptr, false).value("ref", "");
    return ref.substr(ref.rfind('/') + 1);
  }

  Json WaitFinished(const std::string& id, int seconds = 240) {
    Json e;
    for (int i = 0; i < seconds * 10; ++i) {
      e = Get("/pipelines/" + id);
      const std::string st = e.value("status", "");
      if (st != "RUNNING" && st != "NOT_STARTED" && !st.empty()) return e;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "execution " << id << " did not finish: " << e.dump(1);
    return e;
  }

  Json Run(const std::string& name, const Json& trigger) {
    int status = 0;
    const std::string id = Trigger(name, trigger, &status);
    EXPECT_FALSE(id.empty())
        << "trigger refused " << status << ": " << last_refusal_;
    if (id.empty()) return Json();
    return WaitFinished(id);
  }

  Json Group(const std::string& name) {
    return Get("/applications/demo/serverGroups/local/localhost/" + name);
  }

  // `packer build` runs recorded by the wrapper.
  int PackerBuilds() {
    int n = 0;
    std::istringstream in(ReadFile(packer_runs_));
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> f = absl::StrSplit(line, ' ');
      if (f.size() > 3 && f[3] == "build") ++n;
    }
    return n;
  }

  // What one request through `url` answers as "version" ("" on failure).
  static std::string VersionAt(const std::string& url) {
    http::ClientRequest r;
    r.url = url;
    auto resp = http::Fetch(r);
    if (!resp.ok() || resp->status != 200) return "";
    return Json::parse(resp->body, nullptr, false).value("version", "");
  }

  // The versions `n` requests through the load balancer got, once they all
  // agree (the load balancer may take a moment to drop disabled instances).
  std::map<std::string, int> Versions(int n) {
    std::map<std::string, int> seen;
    for (int attempt = 0; attempt < 50; ++attempt) {
      seen.clear();
      for (int i = 0; i < n; ++i) ++seen[VersionAt(lb_url_)];
      if (seen.size() == 1) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return seen;
  }

  // The bake's image id: the parent bake stage's deploymentDetails.
  static std::string BakedImageId(const Json& e) {
    Json details = StageValue(FindStage(e, "bake", true), "deploymentDetails");
    if (!details.is_array() || details.empty()) return "";
    return details[0].value("imageId", "");
  }

  // The rosco status id of the (single-region) bake.
  static std::string BakeStatusId(const Json& e) {
    for (const Json& s : e.value("stages", Json::array())) {
      if (s.value("type", "") != "bake" || IsTopLevel(s)) continue;
      Json status = StageValue(s, "status");
      if (status.is_object()) return status.value("id", "");
    }
    return "";
  }

  // Checks that every instance of server group `name` runs the baked image
  // `image_id`: process cwd is the image's read-only rootfs and the process
  // was told its image.
  void ExpectRunsImage(const std::string& name, const std::string& image_id) {
    Json g = Group(name);
    ASSERT_TRUE(g.contains("instances")) << g.dump(1);
    const std::string rootfs =
        absl::StrCat(images_, "/images/", image_id.substr(7), "/rootfs");
    for (const Json& in : g["instances"]) {
      const pid_t pid = in.value("pid", 0);
      ASSERT_GT(pid, 0) << in.dump();
      std::error_code ec;
      EXPECT_EQ(
          fs::read_symlink(absl::StrCat("/proc/", pid, "/cwd"), ec).string(),
          rootfs)
          << name << " instance " << pid;
      std::vector<std::string> env = absl::StrSplit(
          ReadFile(absl::StrCat("/proc/", pid, "/environ")), '\0');
      EXPECT_NE(
          std::find(env.begin(), env.end(), "GENNAKER_IMAGE_ID=" + image_id),
          env.end())
          << name << " instance " << pid << " has no GENNAKER_IMAGE_ID";
    }
  }

  // The store's manifest of `image_id`, with the package checked against
  // the .deb it was built from.
  void ExpectManifest(const std::string& image_id, const std::string& version,
                      const std::string& deb) {
    const std::string dir =
        absl::StrCat(images_, "/images/", image_id.substr(7));
    Json m = Json::parse(ReadFile(dir + "/manifest.json"), nullptr, false);
    ASSERT_TRUE(m.is_object()) << dir << "/manifest.json";
    EXPECT_EQ(m.value("imageId", ""), image_id);
    ASSERT_EQ(m["packages"].size(), 1u) << m.dump();
    EXPECT_EQ(m["packages"][0].value("name", ""), "hello");
    EXPECT_EQ(m["packages"][0].value("version", ""), version);
    EXPECT_EQ(m["packages"][0].value("sha256", ""), Sha256Hex(ReadFile(deb)));
    // Unpacked once, read-only. Mode bits, not access(W_OK): the test may
    // run as root, for whom access() ignores them.
    const std::string bin = dir + "/rootfs/usr/bin/gennaker-demo";
    EXPECT_TRUE(fs::exists(bin)) << bin;
    for (const std::string& path : {dir + "/rootfs/usr/bin", bin}) {
      struct stat st;
      ASSERT_EQ(stat(path.c_str(), &st), 0) << path;
      EXPECT_EQ(st.st_mode & 0222, 0u) << path << " in the image is writable";
    }
  }

  // One printed line per stage (children indented): what the lead copies
  // into the closing note.
  static void PrintRun(const std::string& title, const Json& e) {
    const int64_t start = e.value("startTime", int64_t{0});
    const int64_t end = e.value("endTime", int64_t{0});
    std::printf("%s: execution %s %s in %.2f s, imageId %s\n", title.c_str(),
                e.value("id", "").c_str(), e.value("status", "").c_str(),
                end > start && start > 0 ? (end - start) / 1000.0 : 0.0,
                BakedImageId(e).c_str());
    for (const Json& s : e.value("stages", Json::array())) {
      const int64_t s0 = s.value("startTime", int64_t{0});
      const int64_t s1 = s.value("endTime", int64_t{0});
      std::string extra;
      Json image = StageValue(s, "imageId");
      if (image.is_string()) extra = " imageId=" + image.get<std::string>();
      Json name = StageValue(s, "imageName");
      if (name.is_string()) extra += " imageName=" + name.get<std::string>();
      Json previously = StageValue(s, "previouslyBaked");
      if (!previously.is_null())
        extra += " previouslyBaked=" + previously.dump();
      std::printf("  %s%-28s %-22s %-10s %6.2f s%s\n",
                  IsTopLevel(s) ? "" : "  ", s.value("name", "").c_str(),
                  s.value("type", "").c_str(), s.value("status", "").c_str(),
                  s1 > s0 && s0 > 0 ? (s1 - s0) / 1000.0 : 0.0, extra.c_str());
    }
    std::fflush(stdout);
  }

  // The server group as gate shows it: what runs (printed with the run).
  void PrintGroup(const std::string& name) {
    Json g = Group(name);
    std::string answers;
    for (const Json& in : g.value("instances", Json::array())) {
      answers +=
          absl::StrCat(answers.empty() ? "" : ",",
                       VersionAt(absl::StrCat(
                           "http://127.0.0.1:", in.value("port", 0), "/")));
    }
    std::printf(
        "  server group %s: imageId %s, image.name %s, buildInfo %s, up %d, "
        "disabled %s, instances answer version %s\n",
        name.c_str(), g.value("imageId", "").c_str(),
        g.value("image", Json::object()).value("name", "").c_str(),
        g.value("buildInfo", Json::object()).dump().c_str(),
        g.value("instanceCounts", Json::object()).value("up", 0),
        g.value("isDisabled", false) ? "true" : "false", answers.c_str());
    std::fflush(stdout);
  }

  static Json Cluster(const std::string& stack, bool with_lb) {
    Json c = {
        {"application", "demo"},
        {"stack", stack},
        {"credentials", "local"},
        {"cloudProvider", "local"},
        {"availabilityZones", {{"localhost", {"localhost"}}}},
        {"capacity", {{"min", 2}, {"max", 2}, {"desired", 2}}},
        {"healthCheck",
         {{"path", "/health"}, {"intervalMs", 100}, {"healthyThreshold", 2}}},
        {"strategy", with_lb ? "redblack" : ""},
        {"scaleDown", false},
        {"maxRemainingAsgs", 3}};
    if (with_lb) c["loadBalancers"] = {"demo"};
    return c;
  }

  std::unique_ptr<testing::TestRedis> redis_;
  std::unique_ptr<rv1::RoscoService::Stub> rosco_stub_;
  std::string dir_, state_, images_, repo_, packer_runs_, gate_url_, lb_url_;
  std::string last_refusal_;
  Service front50_, clouddriver_, rosco_, orca_, gate_;
  int gate_http_ = 0;
};

TEST_F(BakeE2eTest, TriggerBakeDeployRedBlackReuseAndArtifacts) {
  const std::string demo = testing::BinDir() + "/gennaker-demo";
  auto deb1 = testing::BuildHelloDeb("1.0.0", demo, repo_);
  ASSERT_TRUE(deb1.ok()) << deb1.status();
  auto deb2 = testing::BuildHelloDeb("2.0.0", demo, repo_);
  ASSERT_TRUE(deb2.ok()) << deb2.status();
  // 3.0.0 is not in the repository: it only arrives as a trigger artifact.
  fs::create_directories(dir_ + "/ci");
  auto deb3 = testing::BuildHelloDeb("3.0.0", demo, dir_ + "/ci");
  ASSERT_TRUE(deb3.ok()) << deb3.status();

  ASSERT_EQ(RunTask({{"application", "demo"},
                     {"description", "Create Application: demo"},
                     {"job",
                      {{{"type", "createApplication"},
                        {"application",
                         {{"name", "demo"},
                          {"email", "bake@example.com"},
                          {"cloudProviders", "local"}}}}}}}),
            "SUCCEEDED");
  ASSERT_EQ(CreateLoadBalancer("demo"), "SUCCEEDED");
  Json lbs = Get("/applications/demo/loadBalancers");
  ASSERT_EQ(lbs.size(), 1u) << lbs.dump();
  lb_url_ = absl::StrCat(
      "http://127.0.0.1:", lbs[0]["listeners"][0]["port"].get<int>(), "/");

  // trigger(version) -> bake -> red/black deploy of the baked image.
  const std::string bake_deploy_id =
      Save({{"name", "bake-deploy"},
            {"limitConcurrent", true},
            {"parameterConfig",
             {{{"name", "version"},
               {"description", "hello package version"},
               {"required", true},
               {"default", "1.0.0"}}}},
            {"stages",
             {{{"refId", "1"},
               {"type", "bake"},
               {"name", "Bake hello"},
               {"cloudProviderType", "local"},
               {"package", "hello=${parameters.version}"},
               {"baseOs", "local"},
               {"baseLabel", "release"},
               {"user", "e2e"},
               {"extendedAttributes",
                {{"command",
                  "usr/bin/gennaker-demo --port {{port}} --version "
                  "${parameters.version}"}}}},
              {{"refId", "2"},
               {"requisiteStageRefIds", {"1"}},
               {"type", "deploy"},
               {"name", "Deploy hello"},
               {"clusters", {Cluster("prod", true)}}}}}});
  ASSERT_FALSE(bake_deploy_id.empty());

  // 1.0.0.
  Json e1 = Run("bake-deploy", {{"type", "manual"},
                                {"user", "e2e"},
                                {"parameters", {{"version", "1.0.0"}}}});
  PrintRun("run hello=1.0.0", e1);
  ASSERT_EQ(e1.value("status", ""), "SUCCEEDED") << e1.dump(1);
  const std::string image1 = BakedImageId(e1);
  ASSERT_TRUE(absl::StartsWith(image1, "sha256:")) << e1.dump(1);
  EXPECT_EQ(PackerBuilds(), 1);
  Json v000 = Group("demo-prod-v000");
  EXPECT_EQ(v000.value("imageId", ""), image1) << v000.dump(1);
  ASSERT_TRUE(v000.contains("image")) << v000.dump(1);
  EXPECT_EQ(v000["image"].value("imageId", ""), image1);
  EXPECT_TRUE(absl::StartsWith(v000["image"].value("name", ""), "hello-1.0.0"))
      << v000["image"].dump();
  ASSERT_TRUE(v000.contains("buildInfo")) << v000.dump(1);
  EXPECT_EQ(v000["buildInfo"].value("package_name", ""), "hello")
      << v000["buildInfo"].dump();
  EXPECT_EQ(v000["buildInfo"].value("version", ""), "1.0.0")
      << v000["buildInfo"].dump();
  EXPECT_EQ(v000["instanceCounts"].value("up", 0), 2) << v000.dump(1);
  ExpectManifest(image1, "1.0.0", *deb1);
  ExpectRunsImage("demo-prod-v000", image1);
  PrintGroup("demo-prod-v000");
  EXPECT_EQ(Versions(10), (std::map<std::string, int>{{"1.0.0", 10}}));

  // 2.0.0: red/black.
  Json e2 = Run("bake-deploy", {{"type", "manual"},
                                {"user", "e2e"},
                                {"parameters", {{"version", "2.0.0"}}}});
  PrintRun("run hello=2.0.0", e2);
  ASSERT_EQ(e2.value("status", ""), "SUCCEEDED") << e2.dump(1);
  const std::string image2 = BakedImageId(e2);
  ASSERT_TRUE(absl::StartsWith(image2, "sha256:")) << e2.dump(1);
  EXPECT_NE(image2, image1);
  EXPECT_EQ(PackerBuilds(), 2);
  Json v001 = Group("demo-prod-v001");
  EXPECT_EQ(v001.value("imageId", ""), image2) << v001.dump(1);
  EXPECT_EQ(v001.value("isDisabled", true), false);
  EXPECT_EQ(Group("demo-prod-v000").value("isDisabled", false), true);
  ExpectManifest(image2, "2.0.0", *deb2);
  ExpectRunsImage("demo-prod-v001", image2);
  PrintGroup("demo-prod-v001");
  EXPECT_EQ(Versions(10), (std::map<std::string, int>{{"2.0.0", 10}}));

  // 2.0.0 again: the bake is reused, packer does not run.
  Json e3 = Run("bake-deploy", {{"type", "manual"},
                                {"user", "e2e"},
                                {"parameters", {{"version", "2.0.0"}}}});
  PrintRun("run hello=2.0.0 again", e3);
  ASSERT_EQ(e3.value("status", ""), "SUCCEEDED") << e3.dump(1);
  EXPECT_EQ(BakedImageId(e3), image2);
  EXPECT_EQ(PackerBuilds(), 2) << ReadFile(packer_runs_);
  const std::string status2 = BakeStatusId(e2);
  const std::string status3 = BakeStatusId(e3);
  EXPECT_FALSE(status2.empty()) << "no rosco status in the bake stage";
  EXPECT_EQ(status3, status2) << "the second bake of 2.0.0 was not reused";
  if (!status3.empty()) {
    rv1::GetBakeLogsRequest req;
    req.set_region("localhost");
    req.set_status_id(status3);
    rv1::GetBakeLogsResponse logs;
    auto ctx = MakeClientContext(std::chrono::seconds(5));
    grpc::Status s = rosco_stub_->GetBakeLogs(ctx.get(), req, &logs);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(logs.status_id(), status2);
    EXPECT_TRUE(logs.complete());
    EXPECT_FALSE(logs.logs_content().empty());
  }
  Json v002 = Group("demo-prod-v002");
  EXPECT_EQ(v002.value("imageId", ""), image2) << v002.dump(1);
  EXPECT_EQ(Versions(10), (std::map<std::string, int>{{"2.0.0", 10}}));

  // 2.0.0 with rebake: a new bake (packer runs again) under the same key;
  // the image is content-addressed, so the same content gives the same id.
  Json e_rebake = Run("bake-deploy", {{"type", "manual"},
                                      {"user", "e2e"},
                                      {"rebake", true},
                                      {"parameters", {{"version", "2.0.0"}}}});
  PrintRun("run hello=2.0.0 rebake", e_rebake);
  ASSERT_EQ(e_rebake.value("status", ""), "SUCCEEDED") << e_rebake.dump(1);
  EXPECT_EQ(PackerBuilds(), 3) << ReadFile(packer_runs_);
  const std::string status_rebake = BakeStatusId(e_rebake);
  EXPECT_FALSE(status_rebake.empty());
  EXPECT_NE(status_rebake, status2) << "rebake reused the previous bake";
  const std::string image_rebake = BakedImageId(e_rebake);
  ASSERT_TRUE(absl::StartsWith(image_rebake, "sha256:")) << e_rebake.dump(1);
  ExpectManifest(image_rebake, "2.0.0", *deb2);
  Json v003 = Group("demo-prod-v003");
  EXPECT_EQ(v003.value("imageId", ""), image_rebake) << v003.dump(1);
  ExpectRunsImage("demo-prod-v003", image_rebake);
  PrintGroup("demo-prod-v003");
  EXPECT_EQ(Versions(10), (std::map<std::string, int>{{"2.0.0", 10}}));

  // Artifacts: a .deb from the trigger, matched by an expected artifact,
  // baked and deployed.
  Json art_cluster = Cluster("art", false);
  art_cluster.erase("strategy");
  ASSERT_FALSE(
      Save({{"name", "bake-artifact"},
            {"expectedArtifacts",
             {{{"id", "pkg"},
               {"displayName", "hello package"},
               {"matchArtifact",
                {{"type", "embedded/base64"}, {"name", "hello_3.0.0_all.deb"}}},
               {"useDefaultArtifact", false},
               {"usePriorArtifact", false}}}},
            {"stages",
             {{{"refId", "1"},
               {"type", "bake"},
               {"name", "Bake artifact"},
               {"cloudProviderType", "local"},
               {"package", ""},
               {"packageArtifactIds", {"pkg"}},
               {"baseOs", "local"},
               {"baseLabel", "release"},
               {"extendedAttributes",
                {{"command",
                  "usr/bin/gennaker-demo --port {{port}} --version 3.0.0"}}}},
              {{"refId", "2"},
               {"requisiteStageRefIds", {"1"}},
               {"type", "deploy"},
               {"name", "Deploy artifact"},
               {"clusters", {art_cluster}}}}}})
          .empty());
  // As echo and Deck send it: the trigger names the expected artifacts it
  // must bind (Spinnaker's trigger.expectedArtifactIds).
  int refused = 0;
  EXPECT_EQ(Trigger("bake-artifact",
                    {{"type", "manual"},
                     {"user", "e2e"},
                     {"expectedArtifactIds", {"pkg"}}},
                    &refused),
            "");
  EXPECT_EQ(refused, 400) << last_refusal_;
  std::printf("trigger without the expected artifact: %d %s\n", refused,
              last_refusal_.c_str());
  Json e4 = Run("bake-artifact",
                {{"type", "manual"},
                 {"user", "e2e"},
                 {"expectedArtifactIds", {"pkg"}},
                 {"artifacts",
                  {{{"type", "embedded/base64"},
                    {"name", "hello_3.0.0_all.deb"},
                    {"reference", absl::Base64Escape(ReadFile(*deb3))}}}}});
  PrintRun("run artifact hello_3.0.0_all.deb", e4);
  ASSERT_EQ(e4.value("status", ""), "SUCCEEDED") << WithoutPayloads(e4);
  Json resolved = e4.value("trigger", Json::object())
                      .value("resolvedExpectedArtifacts", Json::array());
  ASSERT_EQ(resolved.size(), 1u) << WithoutPayloads(e4["trigger"]);
  EXPECT_EQ(resolved[0]["boundArtifact"].value("name", ""),
            "hello_3.0.0_all.deb");
  const std::string image3 = BakedImageId(e4);
  ASSERT_TRUE(absl::StartsWith(image3, "sha256:")) << WithoutPayloads(e4);
  EXPECT_EQ(PackerBuilds(), 4);
  ExpectManifest(image3, "3.0.0", *deb3);
  Json art = Group("demo-art-v000");
  EXPECT_EQ(art.value("imageId", ""), image3) << art.dump(1);
  ExpectRunsImage("demo-art-v000", image3);
  PrintGroup("demo-art-v000");
  ASSERT_TRUE(art.contains("instances") && !art["instances"].empty())
      << art.dump(1);
  for (const Json& in : art["instances"]) {
    EXPECT_EQ(
        VersionAt(absl::StrCat("http://127.0.0.1:", in.value("port", 0), "/")),
        "3.0.0");
  }
  // The 2.0.0 deployment is untouched.
  EXPECT_EQ(Versions(5), (std::map<std::string, int>{{"2.0.0", 5}}));
}

}  // namespace
}  // namespace gennaker
