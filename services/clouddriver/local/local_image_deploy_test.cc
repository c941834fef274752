// LocalProvider deploying baked images from a hand-made image store: by name
// and by id, the image's command run in its rootfs with the image's env, a
// description command that wins, the server group's image/buildInfo and
// Prometheus version, refusals (unknown image, no store, no command, an id
// and a name that disagree), the store's listing, and a restart that runs the
// same pinned content even after the name moved on.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/testing/test_stores.h"
#include "gtest/gtest.h"
#include "services/clouddriver/local/local_provider.h"

namespace gennaker::clouddriver::local {
namespace {

const std::string kHexA(64, 'a');
const std::string kHexB(64, 'b');
const std::string kHexC(64, 'c');
constexpr char kName[] = "hello-1.0.0-all-20261202220000-local";

void Write(const std::string& path, const std::string& text,
           bool executable = false) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  { std::ofstream(path) << text; }
  if (executable) chmod(path.c_str(), 0755);
}

// An image whose usr/bin/app serves gennaker-demo with the version read from
// the image's own etc/hello/version (a relative path: the cwd must be the
// rootfs) followed by "@" and GENNAKER_IMAGE_ID; it refuses to start unless
// GENNAKER_IMAGE_DIR is its cwd. usr/bin/other serves "other@<id>".
void MakeImage(const std::string& store, const std::string& hex,
               const std::string& version, const Json& command) {
  const std::string root = store + "/images/" + hex + "/rootfs";
  const std::string demo = testing::BinDir() + "/gennaker-demo";
  Write(root + "/etc/hello/version", version);
  Write(root + "/usr/bin/app",
        absl::StrCat("#!/bin/sh\n"
                     "[ \"$GENNAKER_IMAGE_DIR\" = \"$(pwd)\" ] || exit 3\n"
                     "exec ",
                     demo,
                     " --port \"$2\" --version "
                     "\"$(cat etc/hello/version)@$GENNAKER_IMAGE_ID\"\n"),
        true);
  Write(root + "/usr/bin/other",
        absl::StrCat("#!/bin/sh\nexec ", demo,
                     " --port \"$2\" --version \"other@$GENNAKER_IMAGE_ID\"\n"),
        true);
  Write(store + "/images/" + hex + "/manifest.json",
        Json{{"schemaVersion", 1},
             {"imageId", "sha256:" + hex},
             {"packages", Json::array()},
             {"command", command},
             {"createdAt", 1000}}
            .dump());
}

void NameImage(const std::string& store, const std::string& name,
               const std::string& hex, const std::string& version,
               int64_t created) {
  Json tags = {{"appversion", "hello-" + version},
               {"version", version},
               {"package", "hello"},
               {"build_number", "7"},
               {"job", "hello-build"},
               {"build_host", "http://jenkins.local/"},
               {"build_info_url", "http://jenkins.local/job/hello-build/7/"},
               {"commit_hash", "0badc0de"}};
  Write(store + "/names/" + name + ".json", Json{{"imageName", name},
                                                 {"imageId", "sha256:" + hex},
                                                 {"createdAt", created},
                                                 {"baseOs", "bookworm"},
                                                 {"tags", tags},
                                                 {"buildInfo", tags}}
                                                .dump());
}

Json DeployOf(Json image) {
  Json d = {
      {"application", "hello"},
      {"stack", "test"},
      {"capacity", {{"min", 1}, {"max", 1}, {"desired", 1}}},
      {"healthCheck",
       {{"path", "/health"}, {"intervalMs", 100}, {"healthyThreshold", 1}}}};
  d.update(image);
  return d;
}

// The version the group's first instance answers, once it is Up ("" if it
// never is).
std::string VersionOf(LocalProvider& p, const std::string& sg) {
  for (int i = 0; i < 500; ++i) {
    auto j = p.ServerGroup(sg);
    if (j.ok() && (*j)["instanceCounts"]["up"] == 1) {
      http::ClientRequest r;
      r.url = absl::StrCat(
          "http://127.0.0.1:", (*j)["instances"][0]["port"].get<int>(), "/");
      auto resp = http::Fetch(r);
      if (resp.ok() && resp->status == 200) {
        return Json::parse(resp->body)["version"].get<std::string>();
      }
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return "";
}

class LocalImageDeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::MakeTempDir("local-images");
    state_ = testing::MakeTempDir("local-image-state");
    MakeImage(store_, kHexA, "1.0.0", {"usr/bin/app", "--port", "{{port}}"});
    NameImage(store_, kName, kHexA, "1.0.0", 2000);
  }
  void TearDown() override {
    testing::RemoveTree(store_);
    testing::RemoveTree(state_);
  }
  std::string store_, state_;
};

TEST_F(LocalImageDeployTest, DeploysByNameAndByIdInTheRootfs) {
  LocalProvider p("local", state_, store_);
  auto by_name = p.CreateServerGroup(DeployOf({{"imageName", kName}}));
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ(VersionOf(p, *by_name), "1.0.0@sha256:" + kHexA);

  Json g = *p.ServerGroup(*by_name);
  EXPECT_EQ(g["image"],
            (Json{{"imageId", "sha256:" + kHexA}, {"name", kName}}));
  EXPECT_EQ(g["imageId"], "sha256:" + kHexA);
  EXPECT_EQ(g["launchConfig"]["imageId"], "sha256:" + kHexA);
  EXPECT_EQ(g["launchConfig"]["imageName"], kName);
  EXPECT_EQ(g["launchConfig"]["command"],
            (Json{"usr/bin/app", "--port", "{{port}}"}));
  EXPECT_EQ(g["buildInfo"],
            Json::parse(R"({"package_name":"hello","version":"1.0.0",
              "commit":"0badc0de",
              "buildInfoUrl":"http://jenkins.local/job/hello-build/7/",
              "jenkins":{"name":"hello-build","number":"7",
                         "host":"http://jenkins.local/"}})"));
  Json targets = p.PrometheusTargets();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0]["labels"]["version"], "1.0.0");

  // By id (the "image" alias works the same); the name comes from the store.
  auto by_id = p.CreateServerGroup(DeployOf({{"imageId", "sha256:" + kHexA}}));
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  EXPECT_EQ(*by_id, "hello-test-v001");
  EXPECT_EQ(VersionOf(p, *by_id), "1.0.0@sha256:" + kHexA);
  EXPECT_EQ((*p.ServerGroup(*by_id))["image"]["name"], kName);

  // An imageId that is a name (what the cloud calls an image) works too.
  auto id_is_name = p.CreateServerGroup(DeployOf({{"imageId", kName}}));
  ASSERT_TRUE(id_is_name.ok()) << id_is_name.status();
  EXPECT_EQ((*p.ServerGroup(*id_is_name))["imageId"], "sha256:" + kHexA);

  // The description's command wins over the image's, still in the rootfs.
  auto other = p.CreateServerGroup(
      DeployOf({{"image", kName},
                {"command", {"usr/bin/other", "--port", "{{port}}"}}}));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(VersionOf(p, *other), "other@sha256:" + kHexA);

  // A clone naming another image replaces the source's image.
  MakeImage(store_, kHexB, "2.0.0", {"usr/bin/app", "--port", "{{port}}"});
  NameImage(store_, "hello-2.0.0", kHexB, "2.0.0", 3000);
  auto clone = p.Operate(
      "cloneServerGroup",
      {{"source", {{"asgName", *by_id}}}, {"imageId", "sha256:" + kHexB}}, "",
      nullptr);
  ASSERT_TRUE(clone.ok()) << clone.status();
  const std::string cloned = (*clone)["deployedNames"][0].get<std::string>();
  EXPECT_EQ(VersionOf(p, cloned), "2.0.0@sha256:" + kHexB);
  EXPECT_EQ((*p.ServerGroup(cloned))["image"]["name"], "hello-2.0.0");

  // The name moves on to other content: a clone naming no image still runs
  // its source's content.
  NameImage(store_, kName, kHexB, "2.0.0", 4000);
  auto same = p.Operate("cloneServerGroup",
                        {{"source", {{"asgName", *by_name}}}}, "", nullptr);
  ASSERT_TRUE(same.ok()) << same.status();
  const std::string same_name = (*same)["deployedNames"][0].get<std::string>();
  EXPECT_EQ(VersionOf(p, same_name), "1.0.0@sha256:" + kHexA);
  EXPECT_EQ((*p.ServerGroup(same_name))["imageId"], "sha256:" + kHexA);
}

TEST_F(LocalImageDeployTest, BadImagesAreRefused) {
  LocalProvider p("local", state_, store_);
  auto unknown =
      p.CreateServerGroup(DeployOf({{"imageId", "sha256:" + kHexC}}));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(unknown.status().message(),
            absl::StrCat("image 'sha256:", kHexC,
                         "' not found in the image store of account 'local'"));
  auto unknown_name = p.CreateServerGroup(DeployOf({{"image", "nope-1.0"}}));
  EXPECT_EQ(unknown_name.status().message(),
            "image 'nope-1.0' not found in the image store of account 'local'");
  for (const std::string& bad :
       {std::string("sha256:xyz"), std::string("../../etc"),
        std::string("a/b")}) {
    EXPECT_EQ(p.CreateServerGroup(DeployOf({{"image", bad}})).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  // An id and a name of different content.
  MakeImage(store_, kHexB, "2.0.0", {"usr/bin/app"});
  auto mismatch = p.CreateServerGroup(
      DeployOf({{"imageName", kName}, {"imageId", "sha256:" + kHexB}}));
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  // An image without a command needs the description's.
  MakeImage(store_, kHexC, "3.0.0", Json::array());
  auto no_command =
      p.CreateServerGroup(DeployOf({{"imageId", "sha256:" + kHexC}}));
  EXPECT_EQ(no_command.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_command.status().message().find("has no command"),
            std::string::npos);
  // A program the image does not have.
  auto missing = p.CreateServerGroup(DeployOf(
      {{"imageId", "sha256:" + kHexC}, {"command", {"usr/bin/missing"}}}));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  auto escape = p.CreateServerGroup(DeployOf(
      {{"imageId", "sha256:" + kHexC}, {"command", {"../../../bin/sh"}}}));
  EXPECT_EQ(escape.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(p.ServerGroups("hello").empty());

  // The same refusals at submission (Validate), before anything runs; a raw
  // command and a good image pass.
  EXPECT_EQ(p.Validate("createServerGroup",
                       DeployOf({{"imageId", "sha256:" + kHexB + "0"}}))
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      p.Validate("cloneServerGroup", {{"source", {{"asgName", "hello-v000"}}},
                                      {"imageName", "nope-1.0"}})
          .message(),
      "image 'nope-1.0' not found in the image store of account 'local'");
  EXPECT_EQ(p.Validate("createServerGroup",
                       DeployOf({{"imageId", "sha256:" + kHexC}}))
                .code(),
            absl::StatusCode::kInvalidArgument);  // no command
  EXPECT_TRUE(
      p.Validate("createServerGroup", DeployOf({{"imageName", kName}})).ok());
  EXPECT_TRUE(p.Validate("createServerGroup",
                         DeployOf({{"command", {"/no/such/program"}}}))
                  .ok());
  EXPECT_TRUE(
      p.Validate("resizeServerGroup", {{"imageId", "sha256:xyz"}}).ok());

  // An account without a store deploys raw commands only.
  const std::string plain_dir = testing::MakeTempDir("local-plain");
  {
    LocalProvider plain("plain", plain_dir);
    auto no_store = plain.CreateServerGroup(DeployOf({{"image", kName}}));
    EXPECT_EQ(no_store.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(no_store.status().message().find("no image store"),
              std::string::npos);
    EXPECT_TRUE(plain.Images().empty());
  }
  testing::RemoveTree(plain_dir);
}

TEST_F(LocalImageDeployTest, ListsTheStoresNamedImages) {
  MakeImage(store_, kHexB, "2.0.0", {"usr/bin/app"});
  NameImage(store_, "hello-2.0.0", kHexB, "2.0.0", 3000);
  // Still being written: no manifest yet.
  std::filesystem::create_directories(store_ + "/images/" + kHexC + "/rootfs");
  NameImage(store_, "hello-3.0.0", kHexC, "3.0.0", 4000);
  LocalProvider p("local", state_, store_);
  std::vector<ProviderImage> images = p.Images();
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0].image_name, "hello-2.0.0");
  EXPECT_EQ(images[0].image_id, "sha256:" + kHexB);
  EXPECT_EQ(images[0].region, kRegion);
  EXPECT_EQ(images[0].created_ms, 3000);
  EXPECT_EQ(images[0].tags.at("appversion"), "hello-2.0.0");
  EXPECT_EQ(images[1].image_name, kName);
}

TEST_F(LocalImageDeployTest, ARestartRunsThePinnedImageAgain) {
  std::string sg;
  {
    auto p = LocalProvider::Open("local", state_, store_);
    ASSERT_TRUE(p.ok()) << p.status();
    auto created = (*p)->CreateServerGroup(DeployOf({{"imageName", kName}}));
    ASSERT_TRUE(created.ok()) << created.status();
    sg = *created;
    EXPECT_EQ(VersionOf(**p, sg), "1.0.0@sha256:" + kHexA);
  }
  // The name now points at other content: the group still runs its own.
  MakeImage(store_, kHexB, "2.0.0", {"usr/bin/app", "--port", "{{port}}"});
  NameImage(store_, kName, kHexB, "2.0.0", 5000);
  {
    auto p = LocalProvider::Open("local", state_, store_);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(VersionOf(**p, sg), "1.0.0@sha256:" + kHexA);
    Json g = *(*p)->ServerGroup(sg);
    EXPECT_EQ(g["imageId"], "sha256:" + kHexA);
    EXPECT_EQ(g["launchConfig"]["imageId"], "sha256:" + kHexA);
  }
  // With the name back on its content, a restart labels it again.
  NameImage(store_, kName, kHexA, "1.0.0", 2000);
  {
    auto p = LocalProvider::Open("local", state_, store_);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(VersionOf(**p, sg), "1.0.0@sha256:" + kHexA);
    Json g = *(*p)->ServerGroup(sg);
    EXPECT_EQ(g["image"]["name"], kName);
    EXPECT_EQ(g["buildInfo"]["version"], "1.0.0");
  }
}

}  // namespace
}  // namespace gennaker::clouddriver::local
