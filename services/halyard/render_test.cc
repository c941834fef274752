#include "services/halyard/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "common/config/config_loader.h"
#include "common/service/defaults.h"
#include "common/service/service_main.h"
#include "common/testing/status_matchers.h"
#include "gennaker/clouddriver/v1/config.pb.h"
#include "gennaker/gate/v1/config.pb.h"
#include "gennaker/halyard/v1/config.pb.h"
#include "gennaker/orca/v1/config.pb.h"
#include "services/halyard/halconfig.h"

namespace gennaker::halyard {
namespace {

using ::gennaker::testing::IsOk;

TEST(RenderTest, EveryRenderedConfigLoadsAndValidatesInItsService) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_services()->mutable_orca()->set_grpc_port(9183);
  c.mutable_services()->mutable_front50()->set_log_level("debug");
  c.mutable_services()->mutable_gate()->set_cors_allowed_origins(
      "https://deck\\.example");
  auto rendered = RenderServiceConfigs(
      c, {"host=127.0.0.1 port=1 dbname=g", "redis://h:2"}, "/etc/hal/config");
  ASSERT_THAT(rendered, IsOk());
  ASSERT_EQ(rendered->size(), kServiceNames.size());
  for (const auto& [name, yaml] : *rendered) {
    auto message = NewServiceConfig(name);
    ApplyServiceDefaults(name, message.get());
    ASSERT_THAT(config::MergeYaml(yaml, name, message.get()), IsOk())
        << name << ":\n"
        << yaml;
    EXPECT_THAT(config::ValidateCommonBlocks(*message), IsOk()) << name;
  }
  orca::v1::OrcaConfig orca;
  ApplyServiceDefaults("orca", &orca);
  ASSERT_THAT(config::MergeYaml(rendered->at("orca"), "orca", &orca), IsOk());
  EXPECT_EQ(orca.server().grpc_port(), 9183);
  EXPECT_EQ(orca.postgres().dsn(), "host=127.0.0.1 port=1 dbname=g");
  EXPECT_EQ(orca.services().clouddriver().address(), "127.0.0.1:7002");

  gate::v1::GateConfig gate;
  ApplyServiceDefaults("gate", &gate);
  ASSERT_THAT(config::MergeYaml(rendered->at("gate"), "gate", &gate), IsOk());
  EXPECT_EQ(gate.services().orca().address(), "127.0.0.1:9183");
  EXPECT_EQ(gate.redis().url(), "redis://h:2");
  EXPECT_EQ(gate.http_port(), 8084);
  EXPECT_EQ(gate.cors_allowed_origins(), "https://deck\\.example");

  // The local provider gets one account by default, and its state under
  // the deployment's data directory.
  clouddriver::v1::ClouddriverConfig cd;
  ApplyServiceDefaults("clouddriver", &cd);
  ASSERT_THAT(
      config::MergeYaml(rendered->at("clouddriver"), "clouddriver", &cd),
      IsOk())
      << rendered->at("clouddriver");
  ASSERT_EQ(cd.local_accounts_size(), 1);
  EXPECT_EQ(cd.local_accounts(0).name(), "local");
  EXPECT_EQ(cd.state_dir(), c.state_dir() + "/data/clouddriver");

  v1::HalyardConfig daemon;
  ASSERT_THAT(config::MergeYaml(rendered->at("halyard"), "halyard", &daemon),
              IsOk());
  EXPECT_EQ(daemon.halconfig_path(), "/etc/hal/config");
  EXPECT_THAT(rendered->at("front50"),
              ::testing::HasSubstr("level: \"debug\""));
}

TEST(RenderTest, LocalAccountsComeFromTheHalconfig) {
  v1::Halconfig c = DefaultHalconfig();
  ASSERT_THAT(config::MergeYaml("providers:\n  local:\n    accounts:\n"
                                "      - {name: staging, environment: test}\n"
                                "      - {name: prod, readRoles: [ops]}\n",
                                "hal", &c),
              IsOk());
  auto rendered = RenderServiceConfigs(c, {"dsn", "redis://h:2"}, "p");
  ASSERT_THAT(rendered, IsOk());
  clouddriver::v1::ClouddriverConfig cd;
  ASSERT_THAT(
      config::MergeYaml(rendered->at("clouddriver"), "clouddriver", &cd),
      IsOk());
  ASSERT_EQ(cd.local_accounts_size(), 2);
  EXPECT_EQ(cd.local_accounts(1).name(), "prod");
  EXPECT_EQ(cd.local_accounts(1).read_roles(0), "ops");
  c.mutable_providers()->mutable_local()->set_enabled(false);
  rendered = RenderServiceConfigs(c, {"dsn", "redis://h:2"}, "p");
  ASSERT_THAT(rendered, IsOk());
  cd.Clear();
  ASSERT_THAT(
      config::MergeYaml(rendered->at("clouddriver"), "clouddriver", &cd),
      IsOk());
  EXPECT_EQ(cd.local_accounts_size(), 0);
}

TEST(RenderTest, DisabledServicesAreNotRendered) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_services()->mutable_kayenta()->set_enabled(false);
  auto rendered = RenderServiceConfigs(c, {"dsn", "redis://h:1"}, "p");
  ASSERT_THAT(rendered, IsOk());
  EXPECT_EQ(rendered->count("kayenta"), 0u);
  EXPECT_EQ(rendered->size(), kServiceNames.size() - 1);
}

TEST(RenderTest, OutboundPolicyReachesTheServiceThatCallsOut) {
  v1::Halconfig c = DefaultHalconfig();
  auto* outbound = c.mutable_services()->mutable_orca()->mutable_outbound();
  outbound->add_allowed_url_prefixes("http://127.0.0.1:9090/");
  outbound->set_timeout_ms(2000);
  auto rendered = RenderServiceConfigs(c, {"dsn", "redis://h:1"}, "p");
  ASSERT_THAT(rendered, IsOk());
  orca::v1::OrcaConfig orca;
  ApplyServiceDefaults("orca", &orca);
  ASSERT_THAT(config::MergeYaml(rendered->at("orca"), "orca", &orca), IsOk());
  ASSERT_EQ(orca.outbound().allowed_url_prefixes_size(), 1);
  EXPECT_EQ(orca.outbound().allowed_url_prefixes(0), "http://127.0.0.1:9090/");
  EXPECT_EQ(orca.outbound().timeout_ms(), 2000);
}

// Orca's outbound policy refuses the deployment's own ports, not only the
// suite's defaults: every service's ports, gate's HTTP port and the stores'.
TEST(RenderTest, OutboundPolicyRefusesTheDeploymentsOwnPorts) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_services()->mutable_front50()->set_grpc_port(19280);
  c.mutable_services()->mutable_clouddriver()->set_admin_port(19281);
  c.mutable_services()->mutable_gate()->set_http_port(19282);
  c.mutable_services()->mutable_orca()->mutable_outbound()->add_rejected_ports(
      19290);
  c.mutable_services()->mutable_kayenta()->set_grpc_port(19283);
  c.mutable_services()->mutable_kayenta()->set_enabled(false);
  auto rendered = RenderServiceConfigs(
      c,
      {"host=127.0.0.1 port=19284 dbname=g user=u password=p",
       "redis://:pw@127.0.0.1:19285"},
      "p");
  ASSERT_THAT(rendered, IsOk());
  orca::v1::OrcaConfig orca;
  ApplyServiceDefaults("orca", &orca);
  ASSERT_THAT(config::MergeYaml(rendered->at("orca"), "orca", &orca), IsOk())
      << rendered->at("orca");
  EXPECT_THAT(config::ValidateCommonBlocks(orca), IsOk());
  const auto& ports = orca.outbound().rejected_ports();
  using ::testing::Contains;
  using ::testing::Not;
  EXPECT_THAT(ports, Contains(19290));  // the operator's own entry is kept
  EXPECT_THAT(ports, Contains(19280));
  EXPECT_THAT(ports, Contains(19281));
  EXPECT_THAT(ports, Contains(19282));
  EXPECT_THAT(ports, Contains(19284));
  EXPECT_THAT(ports, Contains(19285));
  EXPECT_THAT(ports, Contains(orca.server().grpc_port()));
  EXPECT_THAT(ports, Contains(c.storage().postgres().port()));
  EXPECT_THAT(ports, Contains(c.storage().redis().port()));
  EXPECT_THAT(ports, Not(Contains(19283)));  // kayenta is not deployed
  // Each port once.
  std::set<int> unique(ports.begin(), ports.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(ports.size()));

  // External stores: their ports, read from the DSN (URI form too) and URL.
  c.mutable_storage()->set_mode(v1::STORAGE_MODE_EXTERNAL);
  c.mutable_storage()->mutable_postgres()->set_dsn(
      "postgresql://u:p@db.example:19286/g");
  c.mutable_storage()->mutable_redis()->set_url("redis://cache.example:19287");
  rendered = RenderServiceConfigs(
      c, {"postgresql://u:p@db.example:19286/g", "redis://cache.example:19287"},
      "p");
  ASSERT_THAT(rendered, IsOk());
  orca.Clear();
  ApplyServiceDefaults("orca", &orca);
  ASSERT_THAT(config::MergeYaml(rendered->at("orca"), "orca", &orca), IsOk());
  EXPECT_THAT(orca.outbound().rejected_ports(), Contains(19286));
  EXPECT_THAT(orca.outbound().rejected_ports(), Contains(19287));
  EXPECT_THAT(orca.outbound().rejected_ports(),
              Not(Contains(c.storage().postgres().port())));
}

}  // namespace
}  // namespace gennaker::halyard
