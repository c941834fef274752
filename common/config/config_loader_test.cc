#include "common/config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/service/defaults.h"
#include "common/service/service_main.h"
#include "gennaker/halyard/v1/halconfig.pb.h"
#include "gennaker/orca/v1/config.pb.h"

namespace gennaker::config {
namespace {

using ::testing::HasSubstr;

orca::v1::OrcaConfig Defaults() {
  orca::v1::OrcaConfig c;
  ApplyServiceDefaults("orca", &c);
  return c;
}

TEST(ConfigLoaderTest, MergesSnakeAndCamelCaseKeys) {
  orca::v1::OrcaConfig c = Defaults();
  ASSERT_TRUE(MergeYaml(R"(
server:
  grpcPort: 9000
  admin_port: 9001
postgres:
  dsn: "host=db dbname=orca"
services:
  front50: {address: "front50:8080", deadlineMs: 2500}
)",
                        "test.yml", &c)
                  .ok());
  EXPECT_EQ(c.server().grpc_port(), 9000);
  EXPECT_EQ(c.server().admin_port(), 9001);
  EXPECT_EQ(c.server().host(), "127.0.0.1");  // default kept
  EXPECT_EQ(c.postgres().dsn(), "host=db dbname=orca");
  EXPECT_EQ(c.services().front50().address(), "front50:8080");
  EXPECT_EQ(c.services().front50().deadline_ms(), 2500);
  EXPECT_TRUE(ValidateCommonBlocks(c).ok());
}

TEST(ConfigLoaderTest, UnknownKeyNamesTheDottedPath) {
  orca::v1::OrcaConfig c = Defaults();
  absl::Status s = MergeYaml("server:\n  grpcPortt: 1\n", "orca.yml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("orca.yml: server.grpcPortt: unknown key"));
}

TEST(ConfigLoaderTest, WrongTypeNamesKeyAndValue) {
  orca::v1::OrcaConfig c = Defaults();
  absl::Status s = MergeYaml("server:\n  grpcPort: lots\n", "orca.yml", &c);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("server.grpcPort: expected an integer, got 'lots'"));
  s = MergeYaml("server: 12\n", "orca.yml", &c);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("server: expected a mapping"));
}

TEST(ConfigLoaderTest, InvalidYamlIsAnError) {
  orca::v1::OrcaConfig c = Defaults();
  absl::Status s = MergeYaml("server: [unclosed\n", "bad.yml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()), HasSubstr("bad.yml: invalid YAML"));
}

TEST(ConfigLoaderTest, EnvironmentOverridesYaml) {
  orca::v1::OrcaConfig c = Defaults();
  ASSERT_TRUE(MergeYaml("server: {grpcPort: 9000}\n", "x", &c).ok());
  ASSERT_TRUE(ApplyEnvOverrides({{"GENNAKER__SERVER__GRPC_PORT", "9100"},
                                 {"GENNAKER__POSTGRES__DSN", "host=env"},
                                 {"UNRELATED", "1"}},
                                &c)
                  .ok());
  EXPECT_EQ(c.server().grpc_port(), 9100);
  EXPECT_EQ(c.postgres().dsn(), "host=env");
  absl::Status s = ApplyEnvOverrides({{"GENNAKER__SERVER__NOPE", "1"}}, &c);
  EXPECT_THAT(
      std::string(s.message()),
      HasSubstr(
          "environment GENNAKER__SERVER__NOPE: SERVER.NOPE: unknown key"));
}

TEST(ConfigLoaderTest, ValidationNamesKeyAndReason) {
  orca::v1::OrcaConfig c = Defaults();
  c.mutable_server()->set_grpc_port(70000);
  EXPECT_THAT(std::string(ValidateCommonBlocks(c).message()),
              HasSubstr("server.grpcPort: must be in 1..65535"));
  c = Defaults();
  c.mutable_logging()->set_level("loud");
  EXPECT_THAT(std::string(ValidateCommonBlocks(c).message()),
              HasSubstr("logging.level"));
  c = Defaults();
  c.mutable_postgres()->clear_dsn();
  EXPECT_THAT(std::string(ValidateCommonBlocks(c).message()),
              HasSubstr("postgres.dsn: is required"));
  c = Defaults();
  c.mutable_services()->mutable_echo()->set_address("no-port");
  EXPECT_THAT(std::string(ValidateCommonBlocks(c).message()),
              HasSubstr("services.echo.address: must be host:port"));
}

TEST(ConfigLoaderTest, EnumsBySuffixAndYamlRoundTrip) {
  halyard::v1::Halconfig h;
  ASSERT_TRUE(
      MergeYaml("storage: {mode: external, postgres: {dsn: 'x'}}\nname: n\n",
                "h", &h)
          .ok());
  EXPECT_EQ(h.storage().mode(), halyard::v1::STORAGE_MODE_EXTERNAL);
  absl::Status bad = MergeYaml("storage: {mode: cloudy}\n", "h", &h);
  EXPECT_THAT(
      std::string(bad.message()),
      HasSubstr("one of STORAGE_MODE_LOCAL_MANAGED, STORAGE_MODE_EXTERNAL"));
  halyard::v1::Halconfig back;
  ASSERT_TRUE(MergeYaml(ToYaml(h), "roundtrip", &back).ok());
  EXPECT_EQ(back.SerializeAsString(), h.SerializeAsString());
}

TEST(ConfigLoaderTest, GetAndSetByDottedKey) {
  halyard::v1::Halconfig h;
  ASSERT_TRUE(SetField(&h, "services.orca.grpcPort", "9083").ok());
  EXPECT_EQ(h.services().orca().grpc_port(), 9083);
  EXPECT_EQ(*GetField(h, "services.orca.grpcPort"), "9083");
  EXPECT_THAT(*GetField(h, "services.orca"), HasSubstr("grpcPort: 9083"));
  EXPECT_TRUE(absl::IsInvalidArgument(SetField(&h, "services.orca", "1")));
  EXPECT_TRUE(
      absl::IsInvalidArgument(SetField(&h, "services.orca.grpcPort.x", "1")));
}

TEST(ConfigLoaderTest, LoadServiceConfigAppliesDefaultsThenFile) {
  orca::v1::OrcaConfig c;
  ASSERT_TRUE(LoadServiceConfig("orca", "", &c).ok());
  EXPECT_EQ(c.server().grpc_port(), 8083);
  EXPECT_EQ(c.server().admin_port(), 18083);
  EXPECT_EQ(c.services().clouddriver().address(), "127.0.0.1:7002");
  orca::v1::OrcaConfig missing;
  EXPECT_TRUE(absl::IsNotFound(
      LoadServiceConfig("orca", "/nonexistent.yml", &missing)));
}

}  // namespace
}  // namespace gennaker::config
