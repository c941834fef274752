// ImageStore over hand-made stores: a complete named image, an image still
// being written (no manifest), bad ids and names, names files that lie, and
// Spinnaker's buildInfo of an image.
#include "services/clouddriver/local/image_store.h"

#include <filesystem>
#include <fstream>

#include "common/testing/test_stores.h"
#include "gtest/gtest.h"

namespace gennaker::clouddriver::local {
namespace {

using Json = nlohmann::ordered_json;

const std::string kHexA(64, 'a');
const std::string kHexB(64, 'b');

void Write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// An image dir with a rootfs; with a manifest unless `complete` is false.
void MakeImage(const std::string& store, const std::string& hex,
               const Json& command, int64_t created, bool complete = true) {
  const std::string dir = store + "/images/" + hex;
  std::filesystem::create_directories(dir + "/rootfs/usr/bin");
  if (!complete) return;
  Write(dir + "/manifest.json", Json{{"schemaVersion", 1},
                                     {"imageId", "sha256:" + hex},
                                     {"packages",
                                      {{{"name", "hello"},
                                        {"version", "1.0.0"},
                                        {"file", "hello_1.0.0_all.deb"},
                                        {"sha256", std::string(64, 'c')}}}},
                                     {"command", command},
                                     {"createdAt", created}}
                                    .dump());
}

void NameImage(const std::string& store, const std::string& name,
               const std::string& hex, int64_t created,
               const Json& tags = Json::object()) {
  Json build_info = tags;
  Write(store + "/names/" + name + ".json", Json{{"imageName", name},
                                                 {"imageId", "sha256:" + hex},
                                                 {"createdAt", created},
                                                 {"baseOs", "bookworm"},
                                                 {"tags", tags},
                                                 {"buildInfo", build_info}}
                                                .dump());
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("image-store"); }
  void TearDown() override { testing::RemoveTree(dir_); }
  std::string dir_;
};

TEST_F(ImageStoreTest, ResolvesByIdAndByName) {
  MakeImage(dir_, kHexA, {"usr/bin/hello", "--port", "{{port}}"}, 1000);
  NameImage(dir_, "hello-1.0.0-all-20261202220000-local", kHexA, 2000,
            {{"appversion", "hello-1.0.0"},
             {"version", "1.0.0"},
             {"package", "hello"},
             {"build_number", "42"},
             {"job", "hello-build"},
             {"build_host", "http://jenkins/"},
             {"build_info_url", "http://jenkins/job/hello-build/42/"},
             {"commit_hash", "abc123"}});
  ImageStore store(dir_ + "/");
  absl::StatusOr<LocalImage> by_name =
      store.Resolve("hello-1.0.0-all-20261202220000-local");
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ(by_name->id, "sha256:" + kHexA);
  EXPECT_EQ(by_name->rootfs, dir_ + "/images/" + kHexA + "/rootfs");
  EXPECT_EQ(by_name->command,
            (std::vector<std::string>{"usr/bin/hello", "--port", "{{port}}"}));
  EXPECT_EQ(by_name->created_ms, 2000);
  EXPECT_EQ(by_name->base_os, "bookworm");
  EXPECT_EQ(by_name->tags.at("appversion"), "hello-1.0.0");
  EXPECT_EQ(by_name->packages[0]["name"], "hello");

  // By id, the name that points at it labels it.
  absl::StatusOr<LocalImage> by_id = store.Resolve("sha256:" + kHexA);
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  EXPECT_EQ(by_id->name, "hello-1.0.0-all-20261202220000-local");

  EXPECT_EQ(ServerGroupBuildInfo(*by_name),
            Json::parse(R"({"package_name":"hello","version":"1.0.0",
              "commit":"abc123",
              "buildInfoUrl":"http://jenkins/job/hello-build/42/",
              "jenkins":{"name":"hello-build","number":"42",
                         "host":"http://jenkins/"}})"));
}

TEST_F(ImageStoreTest, AnUnnamedImageResolvesByIdOnly) {
  MakeImage(dir_, kHexA, Json::array(), 1000);
  ImageStore store(dir_);
  absl::StatusOr<LocalImage> image = store.Resolve("sha256:" + kHexA);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->name, "");
  EXPECT_TRUE(image->command.empty());
  EXPECT_EQ(image->created_ms, 1000);
  EXPECT_EQ(ServerGroupBuildInfo(*image), Json::object());
  EXPECT_TRUE(store.List().empty());
}

TEST_F(ImageStoreTest, AnImageWithoutManifestIsIncomplete) {
  MakeImage(dir_, kHexA, {"usr/bin/hello"}, 1000, /*complete=*/false);
  NameImage(dir_, "hello-partial", kHexA, 2000);
  ImageStore store(dir_);
  EXPECT_EQ(store.Resolve("sha256:" + kHexA).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Resolve("hello-partial").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(store.List().empty());
  // Once the manifest lands, the same name is an image.
  MakeImage(dir_, kHexA, {"usr/bin/hello"}, 1000);
  ASSERT_EQ(store.List().size(), 1u);
  EXPECT_EQ(store.List()[0].name, "hello-partial");
}

TEST_F(ImageStoreTest, BadIdsAndNamesAreRefused) {
  ImageStore store(dir_);
  for (const std::string& bad :
       {std::string("sha256:") + std::string(63, 'a'),
        std::string("sha256:") + std::string(64, 'A'),
        std::string("sha256:") + std::string(64, 'g'),
        std::string("sha256:") + kHexA + "/..", std::string("../etc/passwd"),
        std::string("a/b"), std::string(".hidden"), std::string("a..b"),
        std::string(""), std::string("tab\there")}) {
    EXPECT_EQ(store.Resolve(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_TRUE(ImageStore::IsImageId("sha256:" + kHexB));
  EXPECT_TRUE(ImageStore::IsImageName("hello-1.0.0-all-20261202220000-local"));
  EXPECT_EQ(store.Resolve("no-such-image").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Resolve("sha256:" + kHexB).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ImageStoreTest, InconsistentFilesAreNotImages) {
  // A manifest of another id, a names file naming another name, a names file
  // with a bad id, and one that is not JSON.
  MakeImage(dir_, kHexA, {"x"}, 1000);
  Write(dir_ + "/images/" + kHexA + "/manifest.json",
        Json{{"schemaVersion", 1}, {"imageId", "sha256:" + kHexB}}.dump());
  MakeImage(dir_, kHexB, {"x"}, 1000);
  Write(dir_ + "/names/liar.json",
        Json{{"imageName", "other"}, {"imageId", "sha256:" + kHexB}}.dump());
  Write(dir_ + "/names/badid.json",
        Json{{"imageName", "badid"}, {"imageId", "sha256:xyz"}}.dump());
  Write(dir_ + "/names/garbage.json", "{not json");
  NameImage(dir_, "good", kHexB, 5);
  NameImage(dir_, "wrong-manifest", kHexA, 6);
  ImageStore store(dir_);
  EXPECT_EQ(store.Resolve("sha256:" + kHexA).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(store.Resolve("liar").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store.Resolve("badid").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(store.Resolve("garbage").status().code(),
            absl::StatusCode::kDataLoss);
  std::vector<LocalImage> listed = store.List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, "good");
}

TEST_F(ImageStoreTest, ListsNewestFirst) {
  MakeImage(dir_, kHexA, {"x"}, 1);
  MakeImage(dir_, kHexB, {"y"}, 2);
  NameImage(dir_, "hello-1", kHexA, 100);
  NameImage(dir_, "hello-2", kHexB, 300);
  NameImage(dir_, "hello-1-again", kHexA, 200);
  Write(dir_ + "/names/hello-3.json.tmp", "{}");  // a names file being written
  std::vector<LocalImage> listed = ImageStore(dir_).List();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].name, "hello-2");
  EXPECT_EQ(listed[1].name, "hello-1-again");
  EXPECT_EQ(listed[2].name, "hello-1");
  // By id, the newest name of the content.
  EXPECT_EQ(ImageStore(dir_).Resolve("sha256:" + kHexA)->name, "hello-1-again");
  EXPECT_TRUE(ImageStore(dir_ + "/missing").List().empty());
  // Relative store dirs become absolute: rootfs paths are used after a chdir.
  EXPECT_EQ(ImageStore("store/").dir(),
            (std::filesystem::current_path() / "store").string());
}

}  // namespace
}  // namespace gennaker::clouddriver::local
