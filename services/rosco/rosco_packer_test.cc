// rosco with the real /usr/bin/packer, a real Redis and real .deb packages
// (dpkg-deb): a local bake into a temp image store, its reuse by bake key
// (packer not run again: observed through a wrapper that records each run),
// a rebake, the docker and aws-ebs templates checked with `packer validate`
// (they cannot run here), a packer run killed at the bake timeout, and the
// rosco binary killed mid-bake and started again (the bake is resumed and
// succeeds; no packer is left behind), with its gRPC API.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/process/process.h"
#include "common/redis/redis.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gennaker/rosco/v1/rosco.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/rosco/bake_store.h"
#include "services/rosco/packer_runner.h"
#include "services/rosco/rosco_core.h"
#include "tests/support/deb_package.h"

namespace gennaker::rosco {
namespace {

namespace fs = std::filesystem;
using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kPacker[] = "/usr/bin/packer";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class RoscoPackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kPacker, X_OK), 0)
        << kPacker << " is missing: this test runs the real packer";
    auto redis = gennaker::testing::TestRedis::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    auto options = redis::ParseUrl(redis_->Url());
    ASSERT_TRUE(options.ok()) << options.status();
    auto client = redis::Client::Connect(*options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    // The binary's own layout (prefix "rosco"): the restart test reads it.
    store_ = NewRedisBakeStore(client_.get());

    dir_ =
        fs::canonical(gennaker::testing::MakeTempDir("rosco-packer")).string();
    repo_ = dir_ + "/repo";
    images_ = dir_ + "/images";
    fs::create_directories(repo_);
    fs::create_directories(images_);
    // A tiny .deb: an executable and its version file.
    const std::string src = dir_ + "/hello.sh";
    std::ofstream(src) << "#!/bin/sh\necho hello 1.0.0\n";
    fs::permissions(src, fs::perms::owner_all | fs::perms::group_read |
                             fs::perms::others_read);
    gennaker::testing::DebPackage deb;
    deb.name = "hello";
    deb.version = "1.0.0";
    deb.files = {{"usr/bin/hello", src}};
    auto built = gennaker::testing::BuildDeb(deb, repo_);
    ASSERT_TRUE(built.ok()) << built.status();
    deb_ = *built;

    // packer through a wrapper that records each run, then is packer.
    runs_ = dir_ + "/packer-runs.log";
    wrapper_ = WriteScript("packer-wrapper",
                           absl::StrCat("echo \"$*\" >> '", runs_, "'\nexec ",
                                        kPacker, " \"$@\"\n"));
  }

  void TearDown() override {
    if (rosco_pid_ > 0) (void)process::Terminate(rosco_pid_, absl::Seconds(5));
    core_.reset();
    store_.reset();
    client_.reset();
    redis_.reset();
    if (!dir_.empty()) {
      // The image store is read-only on purpose.
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(dir_, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add,
                        ec);
      }
      gennaker::testing::RemoveTree(dir_);
    }
  }

  std::string WriteScript(const std::string& name, const std::string& body) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }

  int PackerBuilds() {
    int n = 0;
    for (absl::string_view line :
         absl::StrSplit(ReadFile(runs_), '\n', absl::SkipEmpty())) {
      if (absl::StartsWith(line, "build ")) ++n;
    }
    return n;
  }

  CoreOptions Options() {
    CoreOptions o;
    o.packer_config_dir = ROSCO_BUILD_PACKER_DIR;
    o.packer_binary = wrapper_;
    o.work_dir = dir_ + "/work";
    o.image_store_dir = images_;
    o.package_repository_dir = repo_;
    o.max_concurrent_bakes = 2;
    o.bake_timeout_seconds = 120;
    o.instance_name = "rosco-it";
    return o;
  }

  RoscoCore* StartCore(CoreOptions o) {
    core_ =
        std::make_unique<RoscoCore>(std::move(o), store_.get(), runner_.get());
    EXPECT_THAT(core_->Start(), IsOk());
    return core_.get();
  }

  static v1::CreateBakeRequest Local(const std::string& packages) {
    v1::CreateBakeRequest r;
    auto* br = r.mutable_bake_request();
    br->set_package_names(packages);
    br->set_cloud_provider_type(v1::CLOUD_PROVIDER_TYPE_LOCAL);
    br->set_base_os("local");
    br->set_base_label("release");
    br->set_build_number("7");
    br->set_job("hello-build");
    br->set_commit_hash("0123456789abcdef");
    br->mutable_extended_attributes()->set_json(
        R"({"command": "usr/bin/hello --port {{port}}"})");
    return r;
  }

  v1::BakeStatus WaitDone(const std::string& id,
                          absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    v1::BakeStatus s;
    while (absl::Now() < deadline) {
      auto r = core_->GetBakeStatus(id);
      EXPECT_THAT(r, IsOk());
      if (!r.ok()) return s;
      s = *r;
      if (s.state() != v1::BAKE_STATE_RUNNING) return s;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "bake " << id << " still RUNNING";
    return s;
  }

  std::unique_ptr<gennaker::testing::TestRedis> redis_;
  std::unique_ptr<redis::Client> client_;
  std::unique_ptr<BakeStore> store_;
  std::unique_ptr<PackerRunner> runner_ = NewProcessPackerRunner();
  std::unique_ptr<RoscoCore> core_;
  std::string dir_, repo_, images_, deb_, runs_, wrapper_;
  pid_t rosco_pid_ = 0;
};

TEST_F(RoscoPackerTest, BakesALocalImageReusesItAndRebakes) {
  RoscoCore* core = StartCore(Options());
  auto first = core->CreateBake(Local("hello"), "alice");
  ASSERT_THAT(first, IsOk());
  // The entry command is part of a local image, so of its key.
  EXPECT_TRUE(absl::StartsWith(first->status().bake_key(),
                               "bake:local:local:hello=1.0.0:command@sha256:"))
      << first->status().bake_key();
  const v1::BakeStatus done = WaitDone(first->status().id());
  ASSERT_EQ(done.state(), v1::BAKE_STATE_COMPLETED);
  ASSERT_EQ(done.result(), v1::BAKE_RESULT_SUCCESS) << done.failure_message();
  EXPECT_EQ(PackerBuilds(), 1);
  auto bake = core->GetBake(done.resource_id());
  ASSERT_THAT(bake, IsOk());
  const std::string image_id = bake->artifact().reference();
  ASSERT_TRUE(absl::StartsWith(image_id, "sha256:")) << image_id;
  EXPECT_EQ(bake->artifact().type(), "local/image");
  EXPECT_TRUE(absl::StartsWith(bake->image_name(), "hello-1.0.0-all-"))
      << bake->image_name();
  EXPECT_TRUE(absl::EndsWith(bake->image_name(), "-local"));

  // The image store: content under images/<hex>, read-only, manifest last.
  const std::string hex = image_id.substr(7);
  const std::string image_dir = images_ + "/images/" + hex;
  auto manifest = nlohmann::json::parse(ReadFile(image_dir + "/manifest.json"),
                                        nullptr, false);
  ASSERT_TRUE(manifest.is_object()) << image_dir;
  EXPECT_EQ(manifest["imageId"], image_id);
  EXPECT_EQ(manifest["schemaVersion"], 1);
  ASSERT_EQ(manifest["packages"].size(), 1u);
  EXPECT_EQ(manifest["packages"][0]["name"], "hello");
  EXPECT_EQ(manifest["packages"][0]["version"], "1.0.0");
  EXPECT_EQ(manifest["packages"][0]["file"], "hello_1.0.0_all.deb");
  EXPECT_EQ(manifest["packages"][0]["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(manifest["command"],
            nlohmann::json::array({"usr/bin/hello", "--port", "{{port}}"}));
  EXPECT_TRUE(fs::is_regular_file(image_dir + "/rootfs/usr/bin/hello"));
  // Read-only (mode bits: the test may run as root, which access() ignores).
  for (const std::string& p :
       {image_dir + "/rootfs/usr/bin", image_dir + "/rootfs/usr/bin/hello"}) {
    EXPECT_EQ(fs::status(p).permissions() &
                  (fs::perms::owner_write | fs::perms::group_write |
                   fs::perms::others_write),
              fs::perms::none)
        << p << " must be read-only";
  }
  auto name = nlohmann::json::parse(
      ReadFile(images_ + "/names/" + bake->image_name() + ".json"), nullptr,
      false);
  ASSERT_TRUE(name.is_object());
  EXPECT_EQ(name["imageId"], image_id);
  EXPECT_EQ(name["baseOs"], "local");
  EXPECT_EQ(name["buildInfo"]["version"], "1.0.0");
  EXPECT_EQ(name["buildInfo"]["build_number"], "7");
  EXPECT_EQ(name["tags"]["appversion"], "hello-1.0.0-h7.0123456/hello-build/7");

  // Logs: packer's human-readable output, kept in Redis.
  v1::GetBakeLogsRequest logs_req;
  logs_req.set_image_id(image_id);
  auto logs = core->GetBakeLogs(logs_req);
  ASSERT_THAT(logs, IsOk());
  EXPECT_TRUE(logs->complete());
  EXPECT_THAT(logs->logs_content(), HasSubstr("Image: " + image_id));
  EXPECT_THAT(logs->logs_content(), HasSubstr("local-image: unpacked hello"));

  // A second identical bake: the same status, bake and image; no packer.
  auto second = core->CreateBake(Local("hello=1.0.0"), "bob");
  ASSERT_THAT(second, IsOk());
  EXPECT_TRUE(second->reused());
  EXPECT_EQ(second->status().id(), done.id());
  EXPECT_EQ(second->status().resource_id(), done.resource_id());
  EXPECT_EQ(PackerBuilds(), 1);

  // A rebake runs packer again: a new bake of the same content.
  v1::CreateBakeRequest rebake = Local("hello=1.0.0");
  rebake.set_rebake(true);
  auto third = core->CreateBake(rebake, "alice");
  ASSERT_THAT(third, IsOk());
  EXPECT_FALSE(third->reused());
  EXPECT_NE(third->status().id(), done.id());
  const v1::BakeStatus done3 = WaitDone(third->status().id());
  ASSERT_EQ(done3.result(), v1::BAKE_RESULT_SUCCESS) << done3.failure_message();
  EXPECT_EQ(PackerBuilds(), 2);
  EXPECT_NE(done3.resource_id(), done.resource_id());
  auto bake3 = core->GetBake(done3.resource_id());
  ASSERT_THAT(bake3, IsOk());
  // Content-addressed: the same packages and command are the same image.
  EXPECT_EQ(bake3->artifact().reference(), image_id);

  // A package that is not in the repository: refused, nothing runs.
  EXPECT_THAT(core->CreateBake(Local("hello=2.0.0"), "alice"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not in the package repository")));
  EXPECT_EQ(PackerBuilds(), 2);
}

TEST_F(RoscoPackerTest, PackageNamesItsOwnEntryCommand) {
  const std::string cmd = dir_ + "/command.json";
  std::ofstream(cmd) << R"(["usr/bin/greet","--port","{{port}}"])"
                     << "\n";
  const std::string bin = dir_ + "/greet.sh";
  std::ofstream(bin) << "#!/bin/sh\necho greet\n";
  fs::permissions(bin, fs::perms::owner_all);
  gennaker::testing::DebPackage deb;
  deb.name = "greet";
  deb.version = "0.1";
  deb.files = {{"usr/bin/greet", bin}, {"usr/share/greet/command.json", cmd}};
  ASSERT_TRUE(gennaker::testing::BuildDeb(deb, repo_).ok());
  RoscoCore* core = StartCore(Options());
  v1::CreateBakeRequest r = Local("greet");
  r.mutable_bake_request()->clear_extended_attributes();
  auto created = core->CreateBake(r, "alice");
  ASSERT_THAT(created, IsOk());
  const v1::BakeStatus done = WaitDone(created->status().id());
  ASSERT_EQ(done.result(), v1::BAKE_RESULT_SUCCESS) << done.failure_message();
  auto bake = core->GetBake(done.resource_id());
  ASSERT_THAT(bake, IsOk());
  auto manifest = nlohmann::json::parse(
      ReadFile(images_ + "/images/" + bake->artifact().reference().substr(7) +
               "/manifest.json"),
      nullptr, false);
  ASSERT_TRUE(manifest.is_object());
  EXPECT_EQ(manifest["command"],
            nlohmann::json::array({"usr/bin/greet", "--port", "{{port}}"}));
}

TEST_F(RoscoPackerTest, PackageCommandThatIsNoPlainJsonArrayFailsTheBake) {
  // It would add a key to manifest.json if spliced in as it is.
  const std::string cmd = dir_ + "/command.json";
  std::ofstream(cmd) << R"(["usr/bin/evil"],"imageId":"sha256:00")"
                     << "\n";
  const std::string bin = dir_ + "/evil.sh";
  std::ofstream(bin) << "#!/bin/sh\necho evil\n";
  fs::permissions(bin, fs::perms::owner_all);
  gennaker::testing::DebPackage deb;
  deb.name = "evil";
  deb.version = "0.1";
  deb.files = {{"usr/bin/evil", bin}, {"usr/share/evil/command.json", cmd}};
  ASSERT_TRUE(gennaker::testing::BuildDeb(deb, repo_).ok());
  RoscoCore* core = StartCore(Options());
  v1::CreateBakeRequest r = Local("evil");
  r.mutable_bake_request()->clear_extended_attributes();
  auto created = core->CreateBake(r, "alice");
  ASSERT_THAT(created, IsOk());
  const v1::BakeStatus done = WaitDone(created->status().id());
  EXPECT_EQ(done.result(), v1::BAKE_RESULT_FAILURE);
  EXPECT_THAT(done.failure_message(),
              HasSubstr("is not a one-line JSON array of strings"));
  // Nothing was stored in the image store.
  std::error_code ec;
  int images = 0;
  for (const auto& e : fs::directory_iterator(images_ + "/images", ec)) {
    if (e.path().filename().string()[0] != '.') ++images;
  }
  EXPECT_EQ(images, 0);
}

TEST_F(RoscoPackerTest, DockerAndAwsTemplatesPassPackerValidate) {
  CoreOptions o = Options();
  o.packer_binary = kPacker;
  RoscoCore core(o, store_.get(), runner_.get());
  v1::CreateBakeRequest docker;
  docker.mutable_bake_request()->set_cloud_provider_type(
      v1::CLOUD_PROVIDER_TYPE_DOCKER);
  docker.mutable_bake_request()->set_package_names("hello=1.0.0");
  v1::CreateBakeRequest aws;
  aws.set_region("us-east-1");
  aws.mutable_bake_request()->set_cloud_provider_type(
      v1::CLOUD_PROVIDER_TYPE_AWS);
  aws.mutable_bake_request()->set_package_names("hello");
  aws.mutable_bake_request()->set_base_os("jammy");
  for (v1::CreateBakeRequest* r : {&docker, &aws}) {
    auto recipe = core.Prepare(r, "", "");
    ASSERT_THAT(recipe, IsOk());
    // rosco's own command line with `validate` instead of `build`.
    std::vector<std::string> argv = {kPacker, "validate"};
    for (const auto& [k, v] : recipe->variables) {
      argv.push_back("-var");
      argv.push_back(absl::StrCat(k, "=", v));
    }
    argv.push_back(recipe->argv.back());
    process::SpawnOptions so;
    so.argv = argv;
    so.log_file = dir_ + "/validate-" + recipe->template_file + ".log";
    so.new_session = false;
    so.env = {{"CHECKPOINT_DISABLE", "1"}};
    auto rc = process::Run(so);
    ASSERT_THAT(rc, IsOk());
    EXPECT_EQ(*rc, 0) << absl::StrJoin(argv, " ") << "\n"
                      << ReadFile(so.log_file);
  }
  // validate does catch a broken command line.
  process::SpawnOptions bad;
  bad.argv = {kPacker, "validate", "-var", "aws_region=us-east-1",
              std::string(ROSCO_BUILD_PACKER_DIR) + "/aws-ebs.json"};
  bad.log_file = dir_ + "/validate-bad.log";
  bad.new_session = false;
  auto rc = process::Run(bad);
  ASSERT_THAT(rc, IsOk());
  EXPECT_NE(*rc, 0);
  EXPECT_THAT(ReadFile(bad.log_file), HasSubstr("aws_source_ami"));
}

TEST_F(RoscoPackerTest, PackerPastTheTimeoutIsKilledAndTheBakeFails) {
  CoreOptions o = Options();
  // A "packer" that hangs; its child sleep is in the same process group.
  o.packer_binary = WriteScript("hanging-packer", "sleep 60\n");
  o.bake_timeout_seconds = 1;
  RoscoCore* core = StartCore(o);
  const auto started = std::chrono::steady_clock::now();
  auto r = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(r, IsOk());
  const v1::BakeStatus s = WaitDone(r->status().id(), absl::Seconds(20));
  EXPECT_EQ(s.result(), v1::BAKE_RESULT_FAILURE);
  EXPECT_THAT(s.failure_message(), HasSubstr("bake_timeout_seconds (1 s)"));
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(10));
  EXPECT_THAT(process::ProcessesWithEnv(
                  absl::StrCat(kBakeEnvName, "=", r->status().id())),
              ::testing::IsEmpty());
}

// The rosco binary, over gRPC: killed (SIGKILL) while packer runs, started
// again, the bake is resumed and succeeds.
TEST_F(RoscoPackerTest, RoscoKilledMidBakeResumesTheBakeAfterRestart) {
  // A slow packer: the kill lands while it runs.
  const std::string slow = WriteScript(
      "slow-packer", absl::StrCat("echo \"$*\" >> '", runs_,
                                  "'\nsleep 3\nexec ", kPacker, " \"$@\"\n"));
  auto port = process::FreePort();
  ASSERT_TRUE(port.ok());
  auto admin = process::FreePort();
  ASSERT_TRUE(admin.ok());
  const std::string config = dir_ + "/rosco.yml";
  std::ofstream(config) << absl::StrCat(
      "server: {host: 127.0.0.1, grpcPort: ", *port, ", adminPort: ", *admin,
      ", shutdownGraceSeconds: 2}\n", "logging: {level: info, format: text}\n",
      "redis: {url: '", redis_->Url(), "'}\n",
      // packerConfigDir left to its default: <bin>/../share/rosco/packer.
      "packerBinary: '", slow, "'\n", "workDir: '", dir_, "/work'\n",
      "imageStoreDir: '", images_, "'\n", "packageRepositoryDir: '", repo_,
      "'\n", "maxConcurrentBakes: 1\nbakeTimeoutSeconds: 120\n");
  const std::string address = absl::StrCat("127.0.0.1:", *port);
  auto start = [&]() -> absl::Status {
    process::SpawnOptions so;
    so.argv = {ROSCO_BINARY, "--config", config};
    so.log_file = dir_ + "/rosco.log";
    so.die_with_parent = true;
    auto pid = process::Spawn(so);
    if (!pid.ok()) return pid.status();
    rosco_pid_ = *pid;
    for (int i = 0; i < 200; ++i) {
      auto serving = CheckServing(address, std::chrono::milliseconds(200));
      if (serving.ok() && *serving) return absl::OkStatus();
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::DeadlineExceededError("rosco did not become SERVING:\n" +
                                       ReadFile(so.log_file));
  };
  ASSERT_THAT(start(), IsOk());
  auto stub = v1::RoscoService::NewStub(MakeChannel(address));
  auto ctx = [] {
    auto c = MakeClientContext(std::chrono::milliseconds(10000));
    c->AddMetadata("x-spinnaker-user", "carol");
    return c;
  };

  // The API around the bake.
  {
    v1::GetBakeOptionsResponse opts;
    v1::GetBakeOptionsRequest req;
    req.set_cloud_provider_type(v1::CLOUD_PROVIDER_TYPE_LOCAL);
    ASSERT_TRUE(stub->GetBakeOptions(ctx().get(), req, &opts).ok());
    EXPECT_EQ(opts.options().base_images(0).id(), "local");
    req.set_cloud_provider_type(static_cast<v1::CloudProviderType>(77));
    EXPECT_EQ(stub->GetBakeOptions(ctx().get(), req, &opts).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    v1::CreateBakeRequest bad = Local("hello=1.0.0");
    bad.mutable_bake_request()->set_base_os("plan9");
    v1::CreateBakeResponse resp;
    grpc::Status s = stub->CreateBake(ctx().get(), bad, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("base_os 'plan9'"));
    v1::BakeManifestResponse manifest;
    EXPECT_EQ(
        stub->BakeManifest(ctx().get(), v1::BakeManifestRequest(), &manifest)
            .error_code(),
        grpc::StatusCode::UNIMPLEMENTED);
    v1::GetBakeStatusRequest missing;
    missing.set_status_id("nosuch");
    v1::GetBakeStatusResponse st;
    EXPECT_EQ(stub->GetBakeStatus(ctx().get(), missing, &st).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  v1::CreateBakeResponse created;
  ASSERT_TRUE(
      stub->CreateBake(ctx().get(), Local("hello=1.0.0"), &created).ok());
  const std::string id = created.status().id();
  // Wait until packer (the slow wrapper) runs, then kill rosco hard.
  for (int i = 0; i < 200 && PackerBuilds() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(25));
  }
  ASSERT_EQ(PackerBuilds(), 1);
  ASSERT_EQ(kill(rosco_pid_, SIGKILL), 0);
  for (int i = 0; i < 200 && process::IsAlive(rosco_pid_); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_FALSE(process::IsAlive(rosco_pid_));
  rosco_pid_ = 0;
  {
    auto rec = store_->GetRecord(id);
    ASSERT_THAT(rec, IsOk());
    ASSERT_TRUE(rec->has_value());
    EXPECT_EQ((*rec)->status.state(), v1::BAKE_STATE_RUNNING);
  }

  ASSERT_THAT(start(), IsOk());
  v1::GetBakeStatusRequest req;
  req.set_status_id(id);
  v1::GetBakeStatusResponse st;
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  while (absl::Now() < deadline) {
    ASSERT_TRUE(stub->GetBakeStatus(ctx().get(), req, &st).ok());
    if (st.status().state() != v1::BAKE_STATE_RUNNING) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(st.status().state(), v1::BAKE_STATE_COMPLETED);
  EXPECT_EQ(st.status().result(), v1::BAKE_RESULT_SUCCESS)
      << st.status().failure_message();
  EXPECT_EQ(PackerBuilds(), 2);
  v1::GetBakeRequest bake_req;
  bake_req.set_bake_id(st.status().resource_id());
  v1::GetBakeResponse bake;
  ASSERT_TRUE(stub->GetBake(ctx().get(), bake_req, &bake).ok());
  EXPECT_TRUE(absl::StartsWith(bake.bake().artifact().reference(), "sha256:"));
  v1::GetBakeLogsRequest logs_req;
  logs_req.set_status_id(id);
  v1::GetBakeLogsResponse logs;
  ASSERT_TRUE(stub->GetBakeLogs(ctx().get(), logs_req, &logs).ok());
  EXPECT_TRUE(logs.complete());
  EXPECT_THAT(logs.logs_content(),
              HasSubstr("rosco restarted during the bake"));
  EXPECT_THAT(logs.logs_content(), HasSubstr("(attempt 2)"));
  // The first run's packer (the wrapper's sleep, orphaned by the kill) was
  // found by its bake id and killed before the bake ran again.
  EXPECT_THAT(ReadFile(dir_ + "/rosco.log"),
              HasSubstr("leftover_processes_killed=1"));
  // The first run's packer did not outlive its rosco.
  EXPECT_THAT(process::ProcessesWithEnv(absl::StrCat(kBakeEnvName, "=", id)),
              ::testing::IsEmpty());
  // Reused over gRPC too.
  v1::CreateBakeResponse again;
  ASSERT_TRUE(stub->CreateBake(ctx().get(), Local("hello=1.0.0"), &again).ok());
  EXPECT_TRUE(again.reused());
  EXPECT_EQ(again.status().id(), id);
  EXPECT_EQ(PackerBuilds(), 2);
}

}  // namespace
}  // namespace gennaker::rosco
