#include "services/halyard/halconfig.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/testing/test_stores.h"

namespace gennaker::halyard {
namespace {

using ::testing::HasSubstr;

std::string Problems(const v1::Halconfig& c) {
  std::string out;
  for (const auto& p : Validate(c)) out += p.key() + ": " + p.message() + "\n";
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(HalconfigTest, DefaultIsValidWithSpinnakerPorts) {
  v1::Halconfig c = DefaultHalconfig();
  EXPECT_EQ(Problems(c), "");
  EXPECT_EQ(c.services().orca().grpc_port(), 8083);
  EXPECT_EQ(c.services().clouddriver().grpc_port(), 7002);
  EXPECT_EQ(c.services().gate().http_port(), 8084);
  EXPECT_EQ(c.services().halyard().grpc_port(), 8064);
  EXPECT_TRUE(Enabled(c, "kayenta"));
}

TEST(HalconfigTest, FindsPortClashesAndBadValues) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_services()->mutable_orca()->set_admin_port(8084);
  c.mutable_services()->mutable_echo()->set_grpc_port(0);
  c.set_name("Bad Name");
  c.set_log_format("xml");
  std::string p = Problems(c);
  EXPECT_THAT(p,
              HasSubstr("port 8084 is also used by services.orca.adminPort"));
  EXPECT_THAT(
      p,
      HasSubstr("services.echo.grpcPort: must be a port in 1..65535, got 0"));
  EXPECT_THAT(p, HasSubstr("name: must be lowercase"));
  EXPECT_THAT(p, HasSubstr("logFormat: must be text or json"));
}

TEST(HalconfigTest, ExternalStorageNeedsDsnAndUrl) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_storage()->set_mode(v1::STORAGE_MODE_EXTERNAL);
  std::string p = Problems(c);
  EXPECT_THAT(p, HasSubstr("storage.postgres.dsn: is required"));
  EXPECT_THAT(p, HasSubstr("storage.redis.url"));
  c.mutable_storage()->mutable_postgres()->set_dsn("host=db");
  c.mutable_storage()->mutable_redis()->set_url("redis://cache:6379");
  EXPECT_EQ(Problems(c), "");
}

TEST(HalconfigTest, DisabledServiceNeedsNoPortsButGateCannotBeDisabled) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_services()->mutable_kayenta()->set_enabled(false);
  c.mutable_services()->mutable_kayenta()->set_grpc_port(0);
  EXPECT_EQ(Problems(c), "");
  c.mutable_services()->mutable_gate()->set_enabled(false);
  EXPECT_THAT(Problems(c),
              HasSubstr("services.gate.enabled: cannot be disabled"));
}

TEST(HalconfigTest, SaveRefusesInvalidConfigAndKeepsTheOldFile) {
  std::string dir = testing::MakeTempDir("halconfig");
  std::string path = dir + "/nested/config";
  v1::Halconfig c = DefaultHalconfig();
  ASSERT_TRUE(SaveHalconfig(path, c).ok());
  std::string before = ReadFile(path);
  auto loaded = LoadHalconfig(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->SerializeAsString(), c.SerializeAsString());

  c.mutable_services()->mutable_orca()->set_grpc_port(
      7002);  // clashes with clouddriver
  absl::Status s = SaveHalconfig(path, c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(ReadFile(path), before);
  testing::RemoveTree(dir);
}

TEST(HalconfigTest, LoadReportsUnknownKeysAndMissingFile) {
  std::string dir = testing::MakeTempDir("halconfig");
  std::ofstream(dir + "/config")
      << "name: x\nservices:\n  orca:\n    grpcPrt: 1\n";
  auto loaded = LoadHalconfig(dir + "/config");
  EXPECT_THAT(std::string(loaded.status().message()),
              HasSubstr("services.orca.grpcPrt: unknown key"));
  EXPECT_TRUE(absl::IsNotFound(LoadHalconfig(dir + "/missing").status()));
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace gennaker::halyard
