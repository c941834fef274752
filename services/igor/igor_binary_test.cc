// The real igor binary on a real Redis, with FakeJenkins (protocol-faithful
// fake: Jenkins cannot run here) as its master and an in-process fake echo
// gRPC server: a build triggered over gRPC is followed to its result and
// properties, the build monitor sends echo one "build" event for it (and none
// for the history igor found at start), and a bad config is refused at start.
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/process/process.h"
#include "common/redis/redis.h"
#include "common/spinnaker/json.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gennaker/echo/v1/echo.grpc.pb.h"
#include "gennaker/igor/v1/igor.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_jenkins.h"

namespace gennaker::igor {
namespace {

using ::gennaker::testing::FakeJenkins;
using ::gennaker::testing::IsOk;
using spinnaker::Json;
using ::testing::HasSubstr;

// echo's PostEvent, recording what arrives.
class FakeEcho final : public echo::v1::EchoService::Service {
 public:
  grpc::Status PostEvent(grpc::ServerContext*,
                         const echo::v1::PostEventRequest* req,
                         echo::v1::PostEventResponse* resp) override {
    absl::MutexLock l(&mu_);
    posts_.push_back(*req);
    resp->set_event_id(absl::StrCat("e", posts_.size()));
    return grpc::Status::OK;
  }
  std::vector<echo::v1::PostEventRequest> posts() const {
    absl::MutexLock l(&mu_);
    return posts_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<echo::v1::PostEventRequest> posts_;
};

class IgorBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::gennaker::testing::MakeTempDir("igor-bin");
    auto redis = ::gennaker::testing::TestRedis::Start();
    ASSERT_THAT(redis, IsOk());
    redis_ = *std::move(redis);
    FakeJenkins::Options jo;
    jo.username = "igor";
    jo.token = "tok";
    jo.csrf = true;
    auto jenkins = FakeJenkins::Start(jo);
    ASSERT_THAT(jenkins, IsOk());
    jenkins_ = *std::move(jenkins);
    FakeJenkins::BuildScript script = FakeJenkins::BuildScript::Runs(200);
    script.artifacts = {{"build.properties", "GIT_SHA=${GIT_SHA}\n"}};
    jenkins_->AddJob("app", {FakeJenkins::Param::String("GIT_SHA", "HEAD")},
                     script);
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                       &echo_port_);
    b.RegisterService(&echo_);
    echo_server_ = b.BuildAndStart();
    ASSERT_NE(echo_server_, nullptr);
    grpc_port_ = *process::FreePort();
    admin_port_ = *process::FreePort();
  }

  void TearDown() override {
    if (pid_ > 0) (void)process::Terminate(pid_, absl::Seconds(5));
    if (echo_server_) echo_server_->Shutdown();
    jenkins_.reset();
    redis_.reset();
    ::gennaker::testing::RemoveTree(dir_);
  }

  std::string WriteConfig(const std::string& masters) {
    const std::string path = absl::StrCat(dir_, "/igor-", ++configs_, ".yml");
    std::ofstream(path) << absl::StrCat(
        "server: {host: 127.0.0.1, grpcPort: ", grpc_port_,
        ", adminPort: ", admin_port_, ", shutdownGraceSeconds: 2}\n",
        "logging: {level: info, format: text}\n",
        "redis: {url: 'redis://127.0.0.1:", redis_->port(), "'}\n",
        "services: {echo: {address: '127.0.0.1:", echo_port_, "'}}\n",
        "jenkins: ", masters, "\n", "polling: {intervalSeconds: 1}\n",
        "outbound: {allowedUrlPrefixes: ['", jenkins_->url(), "']}\n");
    return path;
  }

  void StartIgor() {
    const std::string config = WriteConfig(
        absl::StrCat("[{name: jenkins1, address: '", jenkins_->url(),
                     "', username: igor, password: tok, csrf: true}]"));
    process::SpawnOptions o;
    o.argv = {::gennaker::testing::BinDir() + "/igor", "--config", config};
    o.log_file = config + ".log";
    o.die_with_parent = true;
    log_ = o.log_file;
    auto pid = process::Spawn(o);
    ASSERT_THAT(pid, IsOk());
    pid_ = *pid;
    const std::string address = absl::StrCat("127.0.0.1:", grpc_port_);
    for (int i = 0; i < 200; ++i) {
      auto serving = CheckServing(address, std::chrono::milliseconds(200));
      if (serving.ok() && *serving) {
        stub_ = v1::IgorService::NewStub(MakeChannel(address));
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "igor did not become SERVING; see " << o.log_file;
  }

  std::string Log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  }

  std::vector<echo::v1::PostEventRequest> BuildPosts() const {
    std::vector<echo::v1::PostEventRequest> out;
    for (const auto& p : echo_.posts()) {
      if (p.event().type() == "build") out.push_back(p);
    }
    return out;
  }

  std::string dir_;
  std::string log_;
  int configs_ = 0;
  std::unique_ptr<::gennaker::testing::TestRedis> redis_;
  std::unique_ptr<FakeJenkins> jenkins_;
  FakeEcho echo_;
  int echo_port_ = 0;
  std::unique_ptr<grpc::Server> echo_server_;
  int grpc_port_ = 0;
  int admin_port_ = 0;
  pid_t pid_ = 0;
  std::unique_ptr<v1::IgorService::Stub> stub_;
};

TEST_F(IgorBinaryTest, TriggerFollowAndBuildEventToEcho) {
  // History before igor starts: never sent.
  const int64_t old = jenkins_->StartBuild("app");
  jenkins_->CompleteBuild("app", old);
  StartIgor();
  ASSERT_NE(stub_, nullptr);
  {
    grpc::ClientContext ctx;
    v1::ListMastersRequest req;
    v1::ListMastersResponse resp;
    ASSERT_TRUE(stub_->ListMasters(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.masters_size(), 1);
    EXPECT_EQ(resp.masters(0).name(), "jenkins1");
    EXPECT_EQ(resp.masters(0).type(), v1::BUILD_SERVICE_TYPE_JENKINS);
  }
  // Let the monitor's first poll record the cursors.
  for (int i = 0;
       i < 100 && Log().find("build_cursor_initialized") == std::string::npos;
       ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  v1::TriggerBuildRequest trig;
  trig.set_master("jenkins1");
  trig.set_job("app");
  (*trig.mutable_parameters())["GIT_SHA"] = "cafe42";
  trig.set_idempotency_key("exec-1:stage-1:1");
  std::string queue_id;
  for (int attempt = 0; attempt < 2; ++attempt) {
    grpc::ClientContext ctx;
    v1::TriggerBuildResponse resp;
    grpc::Status st = stub_->TriggerBuild(&ctx, trig, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.state(), v1::TRIGGER_BUILD_STATE_QUEUED);
    if (attempt == 0) queue_id = resp.queue_id();
    EXPECT_EQ(resp.queue_id(), queue_id);
  }
  EXPECT_EQ(jenkins_->CountRequests("POST", "buildWithParameters"), 1);

  int64_t number = 0;
  for (int i = 0; i < 200 && number == 0; ++i) {
    grpc::ClientContext ctx;
    v1::GetQueuedBuildRequest req;
    req.set_master("jenkins1");
    req.set_queue_id(queue_id);
    v1::GetQueuedBuildResponse resp;
    ASSERT_TRUE(stub_->GetQueuedBuild(&ctx, req, &resp).ok());
    if (resp.queued_build().has_build_number()) {
      number = resp.queued_build().build_number();
    } else {
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  ASSERT_EQ(number, old + 1);
  v1::Build build;
  for (int i = 0; i < 200; ++i) {
    grpc::ClientContext ctx;
    v1::GetBuildRequest req;
    req.mutable_build()->set_master("jenkins1");
    req.mutable_build()->set_job("app");
    req.mutable_build()->set_build_number(number);
    v1::GetBuildResponse resp;
    ASSERT_TRUE(stub_->GetBuild(&ctx, req, &resp).ok());
    build = resp.build();
    if (!build.building()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(build.result(), v1::BUILD_RESULT_SUCCESS);
  {
    grpc::ClientContext ctx;
    v1::GetBuildPropertiesRequest req;
    *req.mutable_build() = v1::BuildKey();
    req.mutable_build()->set_master("jenkins1");
    req.mutable_build()->set_job("app");
    req.mutable_build()->set_build_number(number);
    req.set_file_name("build.properties");
    v1::GetBuildPropertiesResponse resp;
    ASSERT_TRUE(stub_->GetBuildProperties(&ctx, req, &resp).ok());
    EXPECT_EQ(Json::parse(resp.properties().json())["GIT_SHA"], "cafe42");
  }
  {
    grpc::ClientContext ctx;
    v1::GetBuildRequest req;
    req.mutable_build()->set_master("nope");
    req.mutable_build()->set_job("app");
    req.mutable_build()->set_build_number(1);
    v1::GetBuildResponse resp;
    EXPECT_EQ(stub_->GetBuild(&ctx, req, &resp).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  // The monitor (1 s interval) reports the build to echo, once.
  const std::string key = absl::StrCat("build:jenkins1:app:", number);
  for (int i = 0; i < 200 && BuildPosts().empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(BuildPosts().size(), 1u) << Log();
  const echo::v1::PostEventRequest post = BuildPosts()[0];
  EXPECT_EQ(post.idempotency_key(), key);
  EXPECT_EQ(post.event().source(), "igor");
  const Json content = Json::parse(post.event().content().json());
  EXPECT_EQ(content["master"], "jenkins1");
  EXPECT_EQ(content["type"], "jenkins");
  EXPECT_EQ(content["project"]["name"], "app");
  EXPECT_EQ(content["project"]["lastBuild"]["number"], number);
  EXPECT_EQ(content["project"]["lastBuild"]["result"], "SUCCESS");
  // Two more poll cycles: nothing new.
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_EQ(BuildPosts().size(), 1u);

  // Jenkins goes down: polls fail and are logged; igor keeps serving.
  jenkins_->SetUnavailable(true);
  for (int i = 0; i < 100 && Log().find("503") == std::string::npos; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(Log(), HasSubstr("503"));
  EXPECT_TRUE(process::IsAlive(pid_));
  {
    grpc::ClientContext ctx;
    v1::ListJobsRequest req;
    req.set_master("jenkins1");
    v1::ListJobsResponse resp;
    EXPECT_EQ(stub_->ListJobs(&ctx, req, &resp).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(Log().find("tok'"), std::string::npos);
}

TEST_F(IgorBinaryTest, ListsDockerTagsTheMonitorRemembered) {
  // What the docker monitor writes (docker_monitor.h), under igor's prefix.
  redis::Options o;
  o.port = redis_->port();
  auto client = redis::Client::Connect(o);
  ASSERT_THAT(client, IsOk());
  ASSERT_THAT((*client)->Command({"HSET", "igor:dockerRegistry:v2:hub",
                                  "library/nginx:1.25",
                                  R"({"digest":"sha256:ab","seenAtMs":5})"}),
              IsOk());
  StartIgor();
  ASSERT_NE(stub_, nullptr);
  grpc::ClientContext ctx;
  v1::ListSeenDockerTagsRequest req;
  req.set_account("hub");
  v1::ListSeenDockerTagsResponse resp;
  grpc::Status st = stub_->ListSeenDockerTags(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.tags_size(), 1);
  EXPECT_EQ(resp.tags(0).repository(), "library/nginx");
  EXPECT_EQ(resp.tags(0).tag(), "1.25");
  EXPECT_EQ(resp.tags(0).digest(), "sha256:ab");
}

TEST_F(IgorBinaryTest, InvalidConfigFailsFast) {
  const std::string config = WriteConfig(
      absl::StrCat("[{name: ci, address: '", jenkins_->url(),
                   "'}, {name: ci, address: '", jenkins_->url(), "'}]"));
  process::SpawnOptions o;
  o.argv = {::gennaker::testing::BinDir() + "/igor", "--config", config,
            "--check-config"};
  o.log_file = config + ".log";
  auto code = process::Run(o);
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
  std::ifstream log(o.log_file);
  std::string text((std::istreambuf_iterator<char>(log)),
                   std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("defined twice"));

  const std::string bad = WriteConfig("[{name: ci, address: 'jenkins:8080'}]");
  o.argv = {::gennaker::testing::BinDir() + "/igor", "--config", bad,
            "--check-config"};
  o.log_file = bad + ".log";
  code = process::Run(o);
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
}

}  // namespace
}  // namespace gennaker::igor
