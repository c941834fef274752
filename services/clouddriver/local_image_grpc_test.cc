// Local images through clouddriver's gRPC API, with real parts: images baked
// into a store by rosco's own local-image.sh (the writer of the image store
// format; run here without packer), a real clouddriver process on a real
// Redis whose local account reads that store, and real instances.
//   - FindImages: the store's named images, newest first, by name fragment
//     (case-insensitive) and tags; another cloud provider finds nothing.
//   - createServerGroup by imageName: the instances run the image's entry
//     command in its read-only rootfs with GENNAKER_IMAGE_ID /
//     GENNAKER_IMAGE_DIR; the server group's `image`, `buildInfo` (in the
//     JSON gate serves, list and detail) and the proto's `image` say what
//     runs.
//   - an unknown or malformed image: SubmitOperations answers
//     INVALID_ARGUMENT with a clear message; no task, no server group.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/redis/redis.h"
#include "common/testing/test_stores.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace gennaker::clouddriver {
namespace {

using Json = nlohmann::json;
namespace cv1 = clouddriver::v1;

std::string SourceDir() {
  const char* s = std::getenv("GENNAKER_SOURCE_DIR");
  return s != nullptr ? s : GENNAKER_SOURCE_DIR_FALLBACK;
}

void Write(const std::string& path, const std::string& text,
           bool executable = false) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  { std::ofstream(path) << text; }
  if (executable) chmod(path.c_str(), 0755);
}

// The exit code of `argv` (a program on PATH, with `env`), its output in
// `log`.
int RunTool(std::vector<std::string> argv,
            std::vector<std::pair<std::string, std::string>> env,
            const std::string& log) {
  process::SpawnOptions o;
  o.argv = {"/usr/bin/env"};  // Spawn does not search PATH; env does
  o.argv.insert(o.argv.end(), argv.begin(), argv.end());
  o.env = std::move(env);
  o.log_file = log;
  o.new_session = false;
  absl::StatusOr<int> rc = process::Run(o);
  EXPECT_TRUE(rc.ok()) << rc.status();
  return rc.ok() ? *rc : -1;
}

class LocalImageGrpcTest : public ::testing::Test {
 protected:
  // One store, one clouddriver for the suite (they take seconds to make).
  static void SetUpTestSuite() {
    auto redis = testing::TestRedis::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    dir_ = std::filesystem::canonical(testing::MakeTempDir("local-image-grpc"))
               .string();
    store_ = dir_ + "/images";
    state_ = dir_ + "/state";
    for (const char* version : {"1.0.0", "2.0.0"}) {
      ASSERT_NO_FATAL_FAILURE(Package(version));
    }
    ids_["1.0.0"] = Bake("1.0.0");
    absl::SleepFor(absl::Milliseconds(5));  // createdAt orders the names
    ids_["2.0.0"] = Bake("2.0.0");
    ASSERT_FALSE(HasFailure());
    ASSERT_NE(ids_["1.0.0"], ids_["2.0.0"]);
    ASSERT_NO_FATAL_FAILURE(Start());
    ready_ = true;
  }

  void SetUp() override { ASSERT_TRUE(ready_) << "the suite's setup failed"; }

  static void TearDownTestSuite() {
    stub_.reset();
    if (pid_ > 0) (void)process::Terminate(pid_, absl::Seconds(5));
    for (pid_t p : process::ProcessesWithEnv(
             absl::StrCat("GENNAKER_LOCAL_STATE_DIR=", state_))) {
      killpg(p, SIGKILL);
    }
    // The image store's rootfs dirs are read-only.
    (void)RunTool({"chmod", "-R", "u+w", dir_}, {}, "");
    testing::RemoveTree(dir_);
    redis_.reset();
  }

  // repo/hello-<version>.tar.gz: usr/bin/hello serves gennaker-demo with the
  // version read from the package's own file by a relative path (so the cwd
  // must be the rootfs) and the image id; it refuses to start elsewhere.
  static void Package(const std::string& version) {
    const std::string src = dir_ + "/src-" + version;
    Write(src + "/usr/share/hello/version", version);
    Write(
        src + "/usr/bin/hello",
        absl::StrCat("#!/bin/sh\n"
                     "[ \"$GENNAKER_IMAGE_DIR\" = \"$(pwd)\" ] || exit 3\n"
                     "exec ",
                     testing::BinDir(),
                     "/gennaker-demo --port \"$1\" --version "
                     "\"$(cat usr/share/hello/version)@$GENNAKER_IMAGE_ID\"\n"),
        true);
    std::filesystem::create_directories(dir_ + "/repo");
    ASSERT_EQ(RunTool({"tar", "-czf",
                       absl::StrCat(dir_, "/repo/hello-", version, ".tar.gz"),
                       "-C", src, "usr"},
                      {}, dir_ + "/tar.log"),
              0);
  }

  static std::string NameOf(const std::string& version) {
    return absl::StrCat("hello-", version, "-all-20261203000000-bookworm");
  }

  // Bakes hello=<version> as rosco's local template does; the image id.
  static std::string Bake(const std::string& version) {
    Json tags = {{"appversion", "hello-" + version},
                 {"package", "hello"},
                 {"version", version},
                 {"build_number", "12"},
                 {"job", "hello-build"},
                 {"build_host", "http://jenkins.test/"},
                 {"commit_hash", "c0ffee"}};
    const std::string log = dir_ + "/bake-" + version + ".log";
    int rc = RunTool(
        {"/bin/sh", SourceDir() + "/services/rosco/packer/local-image.sh"},
        {{"ROSCO_PACKAGES", "hello=" + version},
         {"ROSCO_PACKAGE_REPO", dir_ + "/repo"},
         {"ROSCO_IMAGE_STORE", store_},
         {"ROSCO_IMAGE_NAME", NameOf(version)},
         {"ROSCO_COMMAND_B64",
          absl::Base64Escape(Json{"usr/bin/hello", "{{port}}"}.dump())},
         {"ROSCO_BASE_OS", "bookworm"},
         {"ROSCO_TAGS_B64", absl::Base64Escape(tags.dump())},
         {"ROSCO_BUILD_INFO_B64", absl::Base64Escape(tags.dump())}},
        log);
    std::ifstream in(log);
    std::string out((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
    EXPECT_EQ(rc, 0) << out;
    const size_t at = out.find("Image: sha256:");
    EXPECT_NE(at, std::string::npos) << out;
    if (at == std::string::npos) return "";
    return out.substr(at + 7, 71);
  }

  static void Start() {
    const int grpc_port = *process::FreePort();
    const std::string config = dir_ + "/clouddriver.yml";
    std::ofstream(config) << absl::StrCat(
        "server: {host: 127.0.0.1, grpcPort: ", grpc_port,
        ", adminPort: ", *process::FreePort(),
        ", shutdownGraceSeconds: 2}\n"
        "logging: {level: info, format: text}\n"
        "redis: {url: '",
        redis_->Url(), "'}\nstateDir: '", dir_,
        "'\nlocalAccounts: [{name: test, stateDir: '", state_,
        "', imageStoreDir: '", store_, "'}]\ncacheIntervalSeconds: 1\n");
    process::SpawnOptions o;
    o.argv = {testing::BinDir() + "/clouddriver", "--config", config};
    o.log_file = dir_ + "/clouddriver.log";
    o.die_with_parent = true;
    auto pid = process::Spawn(o);
    ASSERT_TRUE(pid.ok()) << pid.status();
    pid_ = *pid;
    const std::string address = absl::StrCat("127.0.0.1:", grpc_port);
    for (int i = 0; i < 200; ++i) {
      auto serving = CheckServing(address, std::chrono::milliseconds(200));
      if (serving.ok() && *serving) {
        stub_ = cv1::ClouddriverService::NewStub(MakeChannel(address));
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "clouddriver did not become SERVING; see " << o.log_file;
  }

  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return c;
  }

  std::vector<cv1::Image> Find(const std::string& provider,
                               const std::string& query,
                               std::map<std::string, std::string> tags = {}) {
    cv1::FindImagesRequest req;
    req.set_cloud_provider(provider);
    req.set_query(query);
    for (const auto& [k, v] : tags) (*req.mutable_tags())[k] = v;
    cv1::FindImagesResponse resp;
    grpc::Status s = stub_->FindImages(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.images().begin(), resp.images().end()};
  }

  grpc::Status Submit(const Json& d, const std::string& key,
                      cv1::SubmitOperationsResponse* resp) {
    cv1::SubmitOperationsRequest req;
    req.set_cloud_provider("local");
    req.set_idempotency_key(key);
    req.set_application("hello");
    cv1::Operation* o = req.add_operations();
    o->set_name("createServerGroup");
    o->set_account("test");
    o->mutable_description()->set_json(d.dump());
    return stub_->SubmitOperations(Ctx().get(), req, resp);
  }

  cv1::OperationTask WaitTask(const std::string& id) {
    for (int i = 0; i < 600; ++i) {
      cv1::GetOperationTaskRequest req;
      req.set_task_id(id);
      cv1::GetOperationTaskResponse resp;
      grpc::Status s = stub_->GetOperationTask(Ctx().get(), req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (resp.task().state() != cv1::TASK_STATE_STARTED) return resp.task();
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "task " << id << " did not finish";
    return {};
  }

  // The server group as GetServerGroup answers it, once `n` instances are
  // Up; the proto in `proto`.
  Json WaitUp(const std::string& name, int n, cv1::ServerGroup* proto) {
    Json g;
    for (int i = 0; i < 400; ++i) {
      cv1::GetServerGroupRequest req;
      req.mutable_ref()->set_account("test");
      req.mutable_ref()->set_region("localhost");
      req.mutable_ref()->set_name(name);
      cv1::GetServerGroupResponse resp;
      if (stub_->GetServerGroup(Ctx().get(), req, &resp).ok()) {
        *proto = resp.server_group();
        g = Json::parse(resp.server_group().json().json());
        if (g["instanceCounts"]["up"] == n) return g;
      }
      absl::SleepFor(absl::Milliseconds(25));
    }
    ADD_FAILURE() << name << " never had " << n << " instances up: " << g;
    return g;
  }

  std::vector<Json> ListedGroups() {
    cv1::ListServerGroupsRequest req;
    req.set_application("hello");
    cv1::ListServerGroupsResponse resp;
    grpc::Status s = stub_->ListServerGroups(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<Json> out;
    for (const auto& g : resp.server_groups()) {
      out.push_back(Json::parse(g.json().json()));
    }
    return out;
  }

  static inline std::unique_ptr<testing::TestRedis> redis_;
  static inline std::string dir_, store_, state_;
  static inline std::map<std::string, std::string> ids_;  // version -> id
  static inline pid_t pid_ = 0;
  static inline std::unique_ptr<cv1::ClouddriverService::Stub> stub_;
  static inline bool ready_ = false;
};

Json Deploy(Json image) {
  Json d = {
      {"application", "hello"},
      {"credentials", "test"},
      {"capacity", {{"min", 2}, {"max", 2}, {"desired", 2}}},
      {"healthCheck",
       {{"path", "/health"}, {"intervalMs", 100}, {"healthyThreshold", 1}}}};
  d.update(image);
  return d;
}

TEST_F(LocalImageGrpcTest, FindsTheStoresImagesNewestFirst) {
  std::vector<cv1::Image> all = Find("local", "HELLO");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].image_name(), NameOf("2.0.0"));
  EXPECT_EQ(all[0].image_id(), ids_["2.0.0"]);
  EXPECT_EQ(all[1].image_name(), NameOf("1.0.0"));
  EXPECT_GT(all[0].created_at_ms(), all[1].created_at_ms());
  EXPECT_EQ(all[1].accounts(0), "test");
  EXPECT_EQ(all[1].regions(0), "localhost");
  EXPECT_EQ(all[1].tags().at("appversion"), "hello-1.0.0");
  Json j = Json::parse(all[1].json().json());
  EXPECT_EQ(j["amis"]["localhost"][0], ids_["1.0.0"]);
  EXPECT_EQ(j["imageName"], NameOf("1.0.0"));

  std::vector<cv1::Image> one = Find("local", "1.0.0");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].image_id(), ids_["1.0.0"]);
  std::vector<cv1::Image> tagged =
      Find("", "*", {{"appversion", "hello-2.0.0"}});
  ASSERT_EQ(tagged.size(), 1u);
  EXPECT_EQ(tagged[0].image_name(), NameOf("2.0.0"));
  EXPECT_TRUE(Find("local", "nothing-like-it").empty());
  EXPECT_TRUE(Find("aws", "hello").empty());  // no such provider here
}

TEST_F(LocalImageGrpcTest, DeploysTheImageAndShowsWhatRuns) {
  // rosco left the content read-only.
  struct stat st;
  ASSERT_EQ(stat(absl::StrCat(store_, "/images/", ids_["1.0.0"].substr(7),
                              "/rootfs/usr/bin")
                     .c_str(),
                 &st),
            0);
  EXPECT_EQ(st.st_mode & 0222, 0u);

  cv1::SubmitOperationsResponse resp;
  grpc::Status s =
      Submit(Deploy({{"imageName", NameOf("1.0.0")}}), "deploy-1", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  cv1::OperationTask t = WaitTask(resp.task_id());
  ASSERT_EQ(t.state(), cv1::TASK_STATE_COMPLETED) << t.json().json();
  EXPECT_EQ(Json::parse(t.result_objects().json())[0]["deployedNames"][0],
            "hello-v000");

  cv1::ServerGroup proto;
  Json g = WaitUp("hello-v000", 2, &proto);
  EXPECT_EQ(proto.image(), ids_["1.0.0"]);
  EXPECT_EQ(g["image"],
            (Json{{"imageId", ids_["1.0.0"]}, {"name", NameOf("1.0.0")}}));
  EXPECT_EQ(g["buildInfo"]["package_name"], "hello");
  EXPECT_EQ(g["buildInfo"]["version"], "1.0.0");
  EXPECT_EQ(g["buildInfo"]["commit"], "c0ffee");
  EXPECT_EQ(g["buildInfo"]["jenkins"]["number"], "12");
  EXPECT_EQ(g["launchConfig"]["imageName"], NameOf("1.0.0"));
  // Each instance runs the image's command in its rootfs, with its id.
  ASSERT_EQ(g["instances"].size(), 2u);
  for (const Json& i : g["instances"]) {
    http::ClientRequest r;
    r.url = absl::StrCat("http://127.0.0.1:", i["port"].get<int>(), "/");
    auto answer = http::Fetch(r);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(Json::parse(answer->body)["version"],
              absl::StrCat("1.0.0@", ids_["1.0.0"]));
  }
  // The list view (gate's /applications/{app}/serverGroups) says it too.
  std::vector<Json> listed = ListedGroups();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["buildInfo"]["version"], "1.0.0");
  EXPECT_EQ(listed[0]["image"]["imageId"], ids_["1.0.0"]);
}

TEST_F(LocalImageGrpcTest, UnknownOrBadImagesAreRefusedAndNothingRuns) {
  const std::string tag = absl::StrCat("GENNAKER_LOCAL_STATE_DIR=", state_);
  const size_t groups = ListedGroups().size();
  const size_t processes = process::ProcessesWithEnv(tag).size();
  cv1::SubmitOperationsResponse resp;
  const std::string unknown = "sha256:" + std::string(64, '0');
  grpc::Status s = Submit(Deploy({{"imageId", unknown}}), "bad-1", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            absl::StrCat("createServerGroup: image '", unknown,
                         "' not found in the image store of account 'test'"));
  s = Submit(Deploy({{"imageName", "hello-9.9.9"}}), "bad-2", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "'hello-9.9.9' not found"))
      << s.error_message();
  s = Submit(Deploy({{"image", "../../etc/passwd"}}), "bad-3", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "neither an image id"))
      << s.error_message();
  // An id and a name of different images.
  s = Submit(
      Deploy({{"imageName", NameOf("1.0.0")}, {"imageId", ids_["2.0.0"]}}),
      "bad-4", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  absl::SleepFor(absl::Milliseconds(1200));  // a cache cycle
  EXPECT_EQ(ListedGroups().size(), groups);
  EXPECT_EQ(process::ProcessesWithEnv(tag).size(), processes);
}

}  // namespace
}  // namespace gennaker::clouddriver
