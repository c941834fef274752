#include "common/config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/service/defaults.h"
#include "common/service/service_main.h"
#include "common/testing/status_matchers.h"
#include "gennaker/halyard/v1/halconfig.pb.h"
#include "gennaker/orca/v1/config.pb.h"

namespace gennaker::config {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::IsOkAndHolds;
using ::gennaker::testing::StatusIs;
using ::testing::_;
using ::testing::HasSubstr;

orca::v1::OrcaConfig Defaults() {
  orca::v1::OrcaConfig c;
  ApplyServiceDefaults("orca", &c);
  return c;
}

TEST(ConfigLoaderTest, MergesSnakeAndCamelCaseKeys) {
  orca::v1::OrcaConfig c = Defaults();
  ASSERT_THAT(MergeYaml(R"(
server:
  grpcPort: 9000
  admin_port: 9001
postgres:
  dsn: "host=db dbname=orca"
services:
  front50: {address: "front50:8080", deadlineMs: 2500}
)",
                        "test.yml", &c),
              IsOk());
  EXPECT_EQ(c.server().grpc_port(), 9000);
  EXPECT_EQ(c.server().admin_port(), 9001);
  EXPECT_EQ(c.server().host(), "127.0.0.1");  // default kept
  EXPECT_EQ(c.postgres().dsn(), "host=db dbname=orca");
  EXPECT_EQ(c.services().front50().address(), "front50:8080");
  EXPECT_EQ(c.services().front50().deadline_ms(), 2500);
  EXPECT_THAT(ValidateCommonBlocks(c), IsOk());
}

TEST(ConfigLoaderTest, UnknownKeyNamesTheDottedPath) {
  orca::v1::OrcaConfig c = Defaults();
  absl::Status s = MergeYaml("server:\n  grpcPortt: 1\n", "orca.yml", &c);
  EXPECT_THAT(s,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("orca.yml: server.grpcPortt: unknown key")));
}

TEST(ConfigLoaderTest, WrongTypeNamesKeyAndValue) {
  orca::v1::OrcaConfig c = Defaults();
  absl::Status s = MergeYaml("server:\n  grpcPort: lots\n", "orca.yml", &c);
  EXPECT_THAT(
      s, StatusIs(
             _, HasSubstr("server.grpcPort: expected an integer, got 'lots'")));
  s = MergeYaml("server: 12\n", "orca.yml", &c);
  EXPECT_THAT(s, StatusIs(_, HasSubstr("server: expected a mapping")));
}

TEST(ConfigLoaderTest, InvalidYamlIsAnError) {
  orca::v1::OrcaConfig c = Defaults();
  absl::Status s = MergeYaml("server: [unclosed\n", "bad.yml", &c);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("bad.yml: invalid YAML")));
}

TEST(ConfigLoaderTest, EnvironmentOverridesYaml) {
  orca::v1::OrcaConfig c = Defaults();
  ASSERT_THAT(MergeYaml("server: {grpcPort: 9000}\n", "x", &c), IsOk());
  ASSERT_THAT(ApplyEnvOverrides({{"GENNAKER__SERVER__GRPC_PORT", "9100"},
                                 {"GENNAKER__POSTGRES__DSN", "host=env"},
                                 {"UNRELATED", "1"}},
                                &c),
              IsOk());
  EXPECT_EQ(c.server().grpc_port(), 9100);
  EXPECT_EQ(c.postgres().dsn(), "host=env");
  absl::Status s = ApplyEnvOverrides({{"GENNAKER__SERVER__NOPE", "1"}}, &c);
  EXPECT_THAT(
      s,
      StatusIs(
          _,
          HasSubstr(
              "environment GENNAKER__SERVER__NOPE: SERVER.NOPE: unknown key")));
}

TEST(ConfigLoaderTest, ValidationNamesKeyAndReason) {
  orca::v1::OrcaConfig c = Defaults();
  c.mutable_server()->set_grpc_port(70000);
  EXPECT_THAT(ValidateCommonBlocks(c),
              StatusIs(_, HasSubstr("server.grpcPort: must be in 1..65535")));
  c = Defaults();
  c.mutable_logging()->set_level("loud");
  EXPECT_THAT(ValidateCommonBlocks(c), StatusIs(_, HasSubstr("logging.level")));
  c = Defaults();
  c.mutable_postgres()->clear_dsn();
  EXPECT_THAT(ValidateCommonBlocks(c),
              StatusIs(_, HasSubstr("postgres.dsn: is required")));
  c = Defaults();
  c.mutable_services()->mutable_echo()->set_address("no-port");
  EXPECT_THAT(
      ValidateCommonBlocks(c),
      StatusIs(_, HasSubstr("services.echo.address: must be host:port")));
}

TEST(ConfigLoaderTest, RulesDeclaredInTheProtosAreChecked) {
  orca::v1::OrcaConfig c = Defaults();
  EXPECT_THAT(RuleViolations(c), ::testing::IsEmpty());
  c.mutable_server()->set_http_threads(0);
  c.mutable_server()->set_shutdown_grace_seconds(-1);
  c.mutable_postgres()->set_pool_size(300);
  c.mutable_postgres()->set_connect_timeout_seconds(0);
  c.mutable_logging()->set_format("xml");
  c.mutable_services()->mutable_front50()->set_max_message_bytes(10);
  EXPECT_THAT(
      RuleViolations(c),
      ::testing::UnorderedElementsAre(
          "server.httpThreads: must be in 1..256",
          "server.shutdownGraceSeconds: must not be negative",
          "postgres.poolSize: must be in 1..256",
          "postgres.connectTimeoutSeconds: must be at least 1",
          "logging.format: must be text or json",
          "services.front50.maxMessageBytes: must be in 65536..1073741824"));
  EXPECT_THAT(ValidateCommonBlocks(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must")));
  // Shared defaults satisfy every rule (64 MiB messages everywhere).
  EXPECT_EQ(Defaults().server().max_message_bytes(), 64 << 20);
  EXPECT_EQ(Defaults().services().clouddriver().max_message_bytes(), 64 << 20);
}

TEST(ConfigLoaderTest, EnumsBySuffixAndYamlRoundTrip) {
  halyard::v1::Halconfig h;
  ASSERT_THAT(
      MergeYaml("storage: {mode: external, postgres: {dsn: 'x'}}\nname: n\n",
                "h", &h),
      IsOk());
  EXPECT_EQ(h.storage().mode(), halyard::v1::STORAGE_MODE_EXTERNAL);
  absl::Status bad = MergeYaml("storage: {mode: cloudy}\n", "h", &h);
  EXPECT_THAT(
      bad,
      StatusIs(
          _, HasSubstr(
                 "one of STORAGE_MODE_LOCAL_MANAGED, STORAGE_MODE_EXTERNAL")));
  halyard::v1::Halconfig back;
  ASSERT_THAT(MergeYaml(ToYaml(h), "roundtrip", &back), IsOk());
  EXPECT_EQ(back.SerializeAsString(), h.SerializeAsString());
}

TEST(ConfigLoaderTest, GetAndSetByDottedKey) {
  halyard::v1::Halconfig h;
  ASSERT_THAT(SetField(&h, "services.orca.grpcPort", "9083"), IsOk());
  EXPECT_EQ(h.services().orca().grpc_port(), 9083);
  EXPECT_THAT(GetField(h, "services.orca.grpcPort"), IsOkAndHolds("9083"));
  EXPECT_THAT(GetField(h, "services.orca"),
              IsOkAndHolds(HasSubstr("grpcPort: 9083")));
  EXPECT_THAT(SetField(&h, "services.orca", "1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SetField(&h, "services.orca.grpcPort.x", "1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ConfigLoaderTest, LoadServiceConfigAppliesDefaultsThenFile) {
  orca::v1::OrcaConfig c;
  ASSERT_THAT(LoadServiceConfig("orca", "", &c), IsOk());
  EXPECT_EQ(c.server().grpc_port(), 8083);
  EXPECT_EQ(c.server().admin_port(), 18083);
  EXPECT_EQ(c.services().clouddriver().address(), "127.0.0.1:7002");
  orca::v1::OrcaConfig missing;
  EXPECT_THAT(LoadServiceConfig("orca", "/nonexistent.yml", &missing),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace gennaker::config
