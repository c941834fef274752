#include "services/rosco/bake_key.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gennaker::rosco {
namespace {

v1::BakeRequest Request(const std::string& packages) {
  v1::BakeRequest r;
  r.set_package_names(packages);
  r.set_base_os("local");
  return r;
}

TEST(ParsePackages, AptDebAndPlainForms) {
  std::vector<PackageRef> p =
      ParsePackages("hello=1.2.3  nflx-djangobase_0.1-h12.170cdbd_all\tcurl");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].name, "hello");
  EXPECT_EQ(p[0].version, "1.2.3");
  EXPECT_EQ(p[1].name, "nflx-djangobase");
  EXPECT_EQ(p[1].version, "0.1-h12.170cdbd");
  EXPECT_EQ(p[1].arch, "all");
  EXPECT_EQ(p[2].name, "curl");
  EXPECT_EQ(p[2].version, "");
  EXPECT_EQ(p[2].entry, "curl");
}

TEST(BakeKey, LocalKeyHasNonEmptyPartsAndPackages) {
  v1::BakeRequest r = Request("hello=1.0.0 world");
  EXPECT_EQ(BakeKey(r, v1::CLOUD_PROVIDER_TYPE_LOCAL, "localhost", ""),
            "bake:local:local:hello=1.0.0|world");
  r.set_ami_name("app");
  r.set_template_file_name("custom.json");
  // base_label, extended attributes and build info are not in the key.
  r.set_base_label("candidate");
  r.set_build_info_url("http://ci/1");
  r.mutable_extended_attributes()->set_json(R"({"a":"b"})");
  EXPECT_EQ(BakeKey(r, v1::CLOUD_PROVIDER_TYPE_LOCAL, "localhost", ""),
            "bake:local:local:app:custom.json:hello=1.0.0|world");
}

TEST(BakeKey, EmptyPackagesStayAndArtifactsAreAppended) {
  v1::BakeRequest r = Request("");
  common::v1::Artifact* a = r.add_package_artifacts();
  a->set_reference("http://repo/a.deb");
  r.add_package_artifacts()->set_reference("http://repo/b.deb");
  EXPECT_EQ(BakeKey(r, v1::CLOUD_PROVIDER_TYPE_LOCAL, "localhost", ""),
            "bake:local:local::http://repo/a.deb|http://repo/b.deb");
}

TEST(BakeKey, EmbeddedArtifactIsKeyedByTheDigestOfItsPayload) {
  v1::BakeRequest r = Request("");
  common::v1::Artifact* a = r.add_package_artifacts();
  a->set_type("embedded/base64");
  a->set_name("app_1.0_all.deb");
  a->set_reference(std::string(1 << 20, 'A'));  // 1 MiB of base64
  r.add_package_artifacts()->set_reference("http://repo/b.deb");
  const std::string key =
      BakeKey(r, v1::CLOUD_PROVIDER_TYPE_LOCAL, "localhost", "");
  // sha256 of 1 MiB of 'A' (sha256sum).
  EXPECT_EQ(key,
            "bake:local:local::embedded/base64@sha256:"
            "4e29ad18ab9f42d7c233500771a39d7c852b200baf328fd00fbbe3fecea1eb56"
            "|http://repo/b.deb")
      << key;
  // Another payload, another key.
  a->set_reference(std::string(1 << 20, 'B'));
  EXPECT_NE(BakeKey(r, v1::CLOUD_PROVIDER_TYPE_LOCAL, "localhost", ""), key);
}

TEST(BakeKey, LocalEntryCommandIsInTheKey) {
  v1::BakeRequest r = Request("hello=1.0.0");
  r.mutable_extended_attributes()->set_json(
      R"({"command": "usr/bin/hello --port {{port}}", "x": 1})");
  const std::string key =
      BakeKey(r, v1::CLOUD_PROVIDER_TYPE_LOCAL, "localhost", "");
  EXPECT_TRUE(absl::StartsWith(key,
                               "bake:local:local:hello=1.0.0:command@"
                               "sha256:"))
      << key;
  EXPECT_EQ(key.size(), std::string("bake:local:local:hello=1.0.0:command@"
                                    "sha256:")
                                .size() +
                            64);
  r.mutable_extended_attributes()->set_json(
      R"({"command": "usr/bin/hello --verbose"})");
  EXPECT_NE(BakeKey(r, v1::CLOUD_PROVIDER_TYPE_LOCAL, "localhost", ""), key);
  // A JSON array command is keyed too; other providers do not key on it.
  r.mutable_extended_attributes()->set_json(R"({"command": ["a", "b"]})");
  EXPECT_TRUE(absl::StrContains(
      BakeKey(r, v1::CLOUD_PROVIDER_TYPE_LOCAL, "localhost", ""), "command@"));
  r.set_base_os("jammy");
  EXPECT_EQ(BakeKey(r, v1::CLOUD_PROVIDER_TYPE_DOCKER, "global", ""),
            "bake:docker:jammy:hello=1.0.0");
}

TEST(BakeKey, AwsAddsRegionVmTypeAndNetworking) {
  v1::BakeRequest r = Request("kato");
  r.set_base_os("trusty");
  EXPECT_EQ(BakeKey(r, v1::CLOUD_PROVIDER_TYPE_AWS, "us-east-1", "hvm"),
            "bake:aws:trusty:kato:us-east-1:hvm:enhancedNWDisabled");
  r.set_enhanced_networking(true);
  EXPECT_EQ(BakeKey(r, v1::CLOUD_PROVIDER_TYPE_AWS, "us-west-2", "pv"),
            "bake:aws:trusty:kato:us-west-2:pv:enhancedNWEnabled");
}

TEST(ImageName, LocalUsesVersionArchTimestampAndBaseOs) {
  v1::BakeRequest r = Request("hello");
  PackageRef first{"hello", "hello", "1.0.0", ""};
  // 2026-12-02 22:00:00 UTC
  EXPECT_EQ(ImageName(r, v1::CLOUD_PROVIDER_TYPE_LOCAL, first, 1796248800000),
            "hello-1.0.0-all-20261202220000-local");
  r.set_ami_name("app");
  r.set_ami_suffix("v7");
  EXPECT_EQ(ImageName(r, v1::CLOUD_PROVIDER_TYPE_LOCAL, first, 0),
            "app-1.0.0-all-v7-local");
}

TEST(ImageName, AwsUsesEpochMillisAndDockerTheOrganization) {
  v1::BakeRequest r = Request("kato");
  r.set_base_os("trusty");
  PackageRef first{"kato", "kato", "", ""};
  EXPECT_EQ(ImageName(r, v1::CLOUD_PROVIDER_TYPE_AWS, first, 1234),
            "kato-all-1234-trusty");
  r.set_organization("acme");
  EXPECT_EQ(ImageName(r, v1::CLOUD_PROVIDER_TYPE_DOCKER, first, 1234),
            "acme/kato");
}

TEST(AppVersion, WithAndWithoutBuild) {
  v1::BakeRequest r;
  PackageRef first{"hello", "hello", "1.0.0", ""};
  EXPECT_EQ(AppVersion(first, r), "hello-1.0.0");
  r.set_build_number("42");
  r.set_commit_hash("170cdbd1234");
  r.set_job("hello-build");
  EXPECT_EQ(AppVersion(first, r), "hello-1.0.0-h42.170cdbd/hello-build/42");
}

TEST(CompareVersions, OrdersLikeSortV) {
  EXPECT_LT(CompareVersions("1.2.9", "1.2.10"), 0);
  EXPECT_GT(CompareVersions("2.0", "1.99"), 0);
  EXPECT_EQ(CompareVersions("1.0.0", "1.0.0"), 0);
  EXPECT_LT(CompareVersions("1.0", "1.0.1"), 0);
}

TEST(IsSafeName, RejectsPathsAndQuotes) {
  EXPECT_TRUE(IsSafeName("hello-1.0.0-all-x-local"));
  EXPECT_FALSE(IsSafeName("../x"));
  EXPECT_FALSE(IsSafeName("a/b"));
  EXPECT_FALSE(IsSafeName("a\"b"));
  EXPECT_FALSE(IsSafeName(".hidden"));
  EXPECT_FALSE(IsSafeName(""));
}

}  // namespace
}  // namespace gennaker::rosco
