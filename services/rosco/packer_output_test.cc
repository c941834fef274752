#include "services/rosco/packer_output.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gennaker::rosco {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

std::string Testdata(const std::string& name) {
  const char* src = std::getenv("GENNAKER_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") + "/services/rosco/testdata/" +
                   name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

PackerOutput Feed(const std::string& text) {
  PackerOutput out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    out.Feed(line);
  }
  return out;
}

TEST(MachineLine, SplitsAndUnescapes) {
  MachineLine m;
  ASSERT_TRUE(ParseMachineLine(
      "1796247994,,ui,message,    null: hello%!(PACKER_COMMA) world", &m));
  EXPECT_EQ(m.type, "ui");
  EXPECT_THAT(m.data, ElementsAre("message", "    null: hello, world"));
  EXPECT_FALSE(ParseMachineLine("panic: runtime error", &m));
}

// Real output of packer 1.6.6 running local.json (testdata/local_*.txt).
TEST(PackerOutput, LocalSuccessFromRealPacker) {
  const std::string raw = Testdata("local_success.txt");
  ASSERT_FALSE(raw.empty());
  PackerOutput out = Feed(raw);
  EXPECT_THAT(out.text(), HasSubstr("==> null: Running local shell script"));
  EXPECT_THAT(out.text(), HasSubstr("local-image: unpacked hello 1.0.0"));
  // Human text: no machine fields, commas restored, separators unescaped.
  EXPECT_THAT(out.text(), Not(HasSubstr("artifact-count")));
  EXPECT_THAT(out.text(), Not(HasSubstr("\\n")));
  EXPECT_THAT(out.artifact_ids(), ElementsAre("Null"));
  PackerImage image = ExtractImage(v1::CLOUD_PROVIDER_TYPE_LOCAL, "localhost",
                                   out.text(), out.artifact_ids());
  EXPECT_EQ(image.image_id,
            "sha256:"
            "8115b90b12a022e4fd14ca6d62401a96b831a55f72e8ed1901b328c81c244720");
  EXPECT_EQ(image.image_name, "hello-1.0.0-all-20261202220000-local");
}

TEST(PackerOutput, LocalFailureHasNoImageAndKeepsTheCause) {
  PackerOutput out = Feed(Testdata("local_failure.txt"));
  EXPECT_THAT(out.text(),
              HasSubstr("package 'nosuch' is not in the repository /srv/repo"));
  EXPECT_THAT(out.text(), HasSubstr("Provisioning step had errors: Running the "
                                    "cleanup provisioner, if present..."));
  PackerImage image = ExtractImage(v1::CLOUD_PROVIDER_TYPE_LOCAL, "localhost",
                                   out.text(), out.artifact_ids());
  EXPECT_EQ(image.image_id, "");
  EXPECT_EQ(image.image_name, "");
}

// amazon-ebs and docker cannot run here: transcripts in packer's
// machine-readable format with the lines rosco's rules look for.
TEST(PackerOutput, AwsNameAmiAndPerRegionArtifacts) {
  PackerOutput out = Feed(Testdata("aws_ebs.txt"));
  PackerImage image = ExtractImage(v1::CLOUD_PROVIDER_TYPE_AWS, "us-east-1",
                                   out.text(), out.artifact_ids());
  EXPECT_EQ(image.image_name, "kato-all-1606950000000-trusty");
  EXPECT_EQ(image.image_id, "ami-0123456789abcdef0");
  EXPECT_THAT(image.regions,
              ElementsAre(Pair("us-east-1", "ami-0123456789abcdef0"),
                          Pair("us-west-2", "ami-0fedcba9876543210")));
  image = ExtractImage(v1::CLOUD_PROVIDER_TYPE_AWS, "us-west-2", out.text(),
                       out.artifact_ids());
  EXPECT_EQ(image.image_id, "ami-0fedcba9876543210");
}

TEST(PackerOutput, AwsUnencryptedAmiRuleAndArtifactIdsOnly) {
  PackerOutput out;
  out.Feed(
      "1,,ui,say,==> amazon-ebs: Creating unencrypted AMI "
      "app-all-5-bionic from instance i-0abc");
  out.Feed(
      "2,amazon-ebs,artifact,0,id,eu-west-1:ami-0aaa%!(PACKER_COMMA)eu-"
      "central-1:ami-0bbb");
  PackerImage image = ExtractImage(v1::CLOUD_PROVIDER_TYPE_AWS, "eu-west-1",
                                   out.text(), out.artifact_ids());
  EXPECT_EQ(image.image_name, "app-all-5-bionic");
  EXPECT_EQ(image.image_id, "ami-0aaa");
  EXPECT_THAT(image.regions, ElementsAre(Pair("eu-west-1", "ami-0aaa"),
                                         Pair("eu-central-1", "ami-0bbb")));
}

TEST(PackerOutput, DockerRepositoryRule) {
  PackerOutput out = Feed(Testdata("docker.txt"));
  PackerImage image = ExtractImage(v1::CLOUD_PROVIDER_TYPE_DOCKER, "global",
                                   out.text(), out.artifact_ids());
  EXPECT_EQ(image.image_name, "localhost:5000/acme/hello:170cdbd");
}

}  // namespace
}  // namespace gennaker::rosco
