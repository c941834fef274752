#include "services/halyard/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/config/config_loader.h"
#include "common/http/outbound.h"
#include "common/http/outbound_config.h"
#include "common/service/defaults.h"
#include "common/service/service_main.h"
#include "common/testing/status_matchers.h"
#include "gennaker/clouddriver/v1/config.pb.h"
#include "gennaker/echo/v1/config.pb.h"
#include "gennaker/gate/v1/config.pb.h"
#include "gennaker/halyard/v1/config.pb.h"
#include "gennaker/igor/v1/config.pb.h"
#include "gennaker/kayenta/v1/config.pb.h"
#include "gennaker/orca/v1/config.pb.h"
#include "gennaker/rosco/v1/config.pb.h"
#include "services/halyard/halconfig.h"
#include "services/halyard/halconfig_test_data.h"

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

TEST(RenderTest, RoscoGetsTheBakeryAndClouddriverItsImageStore) {
  auto parsed = ParseHalconfig(
      "binDir: /opt/g/bin\nstateDir: /srv/hal\n"
      "bakery:\n  maxConcurrentBakes: 3\n  bakeTimeoutSeconds: 900\n"
      "  providers:\n    - cloudProviderType: local\n"
      "      templateFile: local.json\n"
      "      baseImages:\n"
      "        - {id: bookworm, shortDescription: v12, packageType: deb}\n",
      "hal");
  ASSERT_THAT(parsed, IsOk());
  auto rendered = RenderServiceConfigs(*parsed, {"dsn", "redis://h:2"}, "p");
  ASSERT_THAT(rendered, IsOk());
  rosco::v1::RoscoConfig rosco;
  ApplyServiceDefaults("rosco", &rosco);
  ASSERT_THAT(config::MergeYaml(rendered->at("rosco"), "rosco", &rosco), IsOk())
      << rendered->at("rosco");
  // packerConfigDir is required by rosco: always rendered.
  EXPECT_THAT(config::ValidateCommonBlocks(rosco), IsOk());
  EXPECT_EQ(rosco.packer_config_dir(), "/opt/g/share/rosco/packer");
  EXPECT_EQ(rosco.packer_binary(), "packer");
  EXPECT_EQ(rosco.image_store_dir(), "/srv/hal/data/images");
  EXPECT_EQ(rosco.package_repository_dir(), "/srv/hal/data/packages");
  EXPECT_EQ(rosco.work_dir(), "/srv/hal/data/rosco/work");
  EXPECT_EQ(rosco.max_concurrent_bakes(), 3);
  EXPECT_EQ(rosco.bake_timeout_seconds(), 900);
  ASSERT_EQ(rosco.providers_size(), 1);
  EXPECT_EQ(rosco.providers(0).cloud_provider_type(),
            rosco::v1::CLOUD_PROVIDER_TYPE_LOCAL);
  ASSERT_EQ(rosco.providers(0).base_images_size(), 1);
  EXPECT_EQ(rosco.providers(0).base_images(0).package_type(),
            rosco::v1::PACKAGE_TYPE_DEB);
  EXPECT_EQ(rosco.redis().url(), "redis://h:2");
  EXPECT_EQ(rosco.services().clouddriver().address(), "127.0.0.1:7002");

  orca::v1::OrcaConfig orca;
  ASSERT_THAT(config::MergeYaml(rendered->at("orca"), "orca", &orca), IsOk());
  EXPECT_EQ(orca.services().rosco().address(), "127.0.0.1:8087");
  gate::v1::GateConfig gate;
  ASSERT_THAT(config::MergeYaml(rendered->at("gate"), "gate", &gate), IsOk());
  EXPECT_EQ(gate.services().rosco().address(), "127.0.0.1:8087");
  clouddriver::v1::ClouddriverConfig cd;
  ASSERT_THAT(
      config::MergeYaml(rendered->at("clouddriver"), "clouddriver", &cd),
      IsOk());
  ASSERT_EQ(cd.local_accounts_size(), 1);
  EXPECT_EQ(cd.local_accounts(0).image_store_dir(), "/srv/hal/data/images");

  // Without rosco: nothing reaches it, and clouddriver still reads the store.
  parsed->mutable_services()->mutable_rosco()->set_enabled(false);
  rendered = RenderServiceConfigs(*parsed, {"dsn", "redis://h:2"}, "p");
  ASSERT_THAT(rendered, IsOk());
  EXPECT_EQ(rendered->count("rosco"), 0u);
  orca.Clear();
  ASSERT_THAT(config::MergeYaml(rendered->at("orca"), "orca", &orca), IsOk());
  EXPECT_EQ(orca.services().rosco().address(), "");
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

kayenta::v1::KayentaConfig RenderedKayenta(
    const std::map<std::string, std::string>& rendered) {
  kayenta::v1::KayentaConfig k;
  ApplyServiceDefaults("kayenta", &k);
  EXPECT_THAT(config::MergeYaml(rendered.at("kayenta"), "kayenta", &k), IsOk())
      << rendered.at("kayenta");
  return k;
}

clouddriver::v1::ClouddriverConfig RenderedClouddriver(
    const std::map<std::string, std::string>& rendered) {
  clouddriver::v1::ClouddriverConfig cd;
  ApplyServiceDefaults("clouddriver", &cd);
  EXPECT_THAT(config::MergeYaml(rendered.at("clouddriver"), "clouddriver", &cd),
              IsOk());
  return cd;
}

// A default deployment is canary-ready: kayenta reads the managed Prometheus
// on loopback (trusted by its outbound policy, refused by everyone else's),
// and each local account publishes its instances in a file_sd file under its
// state directory.
TEST(RenderTest, KayentaReadsTheManagedPrometheus) {
  v1::Halconfig c = DefaultHalconfig();
  c.set_state_dir("/srv/hal");
  ASSERT_THAT(config::MergeYaml("providers:\n  local:\n    accounts:\n"
                                "      - {name: staging}\n"
                                "      - {name: prod, stateDir: /srv/prod}\n",
                                "hal", &c),
              IsOk());
  auto rendered = RenderServiceConfigs(c, {"dsn", "redis://h:2"}, "p");
  ASSERT_THAT(rendered, IsOk());
  kayenta::v1::KayentaConfig k = RenderedKayenta(*rendered);
  EXPECT_THAT(config::ValidateCommonBlocks(k), IsOk());
  ASSERT_EQ(k.prometheus_size(), 1);
  EXPECT_EQ(k.prometheus(0).name(), "prometheus");
  EXPECT_EQ(k.prometheus(0).base_url(), "http://127.0.0.1:9090");
  EXPECT_EQ(k.prometheus(0).password(), "");
  ASSERT_EQ(k.outbound().allowed_url_prefixes_size(), 1);
  EXPECT_EQ(k.outbound().allowed_url_prefixes(0), "http://127.0.0.1:9090/");
  // Kayenta's policy is valid (the deployer test fetches through it); orca's
  // refuses the server's port.
  EXPECT_THAT(http::OutboundClient::Create(
                  http::OutboundPolicyFromConfig(k.outbound())),
              IsOk());
  orca::v1::OrcaConfig orca;
  ApplyServiceDefaults("orca", &orca);
  ASSERT_THAT(config::MergeYaml(rendered->at("orca"), "orca", &orca), IsOk());
  EXPECT_THAT(orca.outbound().rejected_ports(), ::testing::Contains(9090));

  clouddriver::v1::ClouddriverConfig cd = RenderedClouddriver(*rendered);
  ASSERT_EQ(cd.local_accounts_size(), 2);
  EXPECT_EQ(cd.local_accounts(0).prometheus_file_sd_path(),
            "/srv/hal/data/clouddriver/local/staging/prometheus-targets.json");
  EXPECT_EQ(cd.local_accounts(1).prometheus_file_sd_path(),
            "/srv/prod/prometheus-targets.json");
}

// 9090 taken by a service of the deployment: the managed server moves to the
// next free port, and kayenta follows it.
TEST(RenderTest, ManagedPrometheusAvoidsTheDeploymentsPorts) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_services()->mutable_echo()->set_grpc_port(9090);
  c.mutable_services()->mutable_echo()->set_admin_port(9091);
  EXPECT_EQ(Validate(c).size(), 0u);
  EXPECT_EQ(ManagedPrometheusPort(c), 9092);
  auto rendered = RenderServiceConfigs(c, {"dsn", "redis://h:2"}, "p");
  ASSERT_THAT(rendered, IsOk());
  kayenta::v1::KayentaConfig k = RenderedKayenta(*rendered);
  ASSERT_EQ(k.prometheus_size(), 1);
  EXPECT_EQ(k.prometheus(0).base_url(), "http://127.0.0.1:9092");
  EXPECT_EQ(k.outbound().allowed_url_prefixes(0), "http://127.0.0.1:9092/");
  // An explicit port is kept.
  c.mutable_canary()->mutable_prometheus()->set_port(19999);
  rendered = RenderServiceConfigs(c, {"dsn", "redis://h:2"}, "p");
  ASSERT_THAT(rendered, IsOk());
  EXPECT_EQ(RenderedKayenta(*rendered).prometheus(0).base_url(),
            "http://127.0.0.1:19999");
}

// The operator's own Prometheus: kayenta gets its URL and credentials, the
// operator's outbound settings are kept beside the trusted prefix.
TEST(RenderTest, KayentaReadsAnExternalPrometheus) {
  v1::Halconfig c = DefaultHalconfig();
  ASSERT_THAT(config::MergeYaml(
                  "canary:\n  prometheus:\n"
                  "    baseUrl: https://prom.example:9443/prom/\n"
                  "    username: kayenta\n    password: hunter2\n"
                  "    accountName: prod-metrics\n"
                  "services:\n  kayenta:\n    outbound:\n"
                  "      allowedUrlPrefixes: [\"http://10.0.0.5:9090/\"]\n",
                  "hal", &c),
              IsOk());
  EXPECT_FALSE(ManagedPrometheus(c));
  EXPECT_EQ(Validate(c).size(), 0u);
  auto rendered = RenderServiceConfigs(c, {"dsn", "redis://h:2"}, "p");
  ASSERT_THAT(rendered, IsOk());
  kayenta::v1::KayentaConfig k = RenderedKayenta(*rendered);
  EXPECT_THAT(config::ValidateCommonBlocks(k), IsOk());
  ASSERT_EQ(k.prometheus_size(), 1);
  EXPECT_EQ(k.prometheus(0).name(), "prod-metrics");
  EXPECT_EQ(k.prometheus(0).base_url(), "https://prom.example:9443/prom");
  EXPECT_EQ(k.prometheus(0).username(), "kayenta");
  EXPECT_EQ(k.prometheus(0).password(), "hunter2");
  EXPECT_THAT(k.outbound().allowed_url_prefixes(),
              ::testing::ElementsAre("http://10.0.0.5:9090/",
                                     "https://prom.example:9443/prom/"));
}

// Without kayenta nobody reads the targets: no file_sd files.
TEST(RenderTest, NoFileSdFilesWithoutKayenta) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_services()->mutable_kayenta()->set_enabled(false);
  EXPECT_FALSE(ManagedPrometheus(c));
  auto rendered = RenderServiceConfigs(c, {"dsn", "redis://h:2"}, "p");
  ASSERT_THAT(rendered, IsOk());
  clouddriver::v1::ClouddriverConfig cd = RenderedClouddriver(*rendered);
  ASSERT_EQ(cd.local_accounts_size(), 1);
  EXPECT_EQ(cd.local_accounts(0).prometheus_file_sd_path(), "");
}

// The rendered config of `service`, loaded over its defaults as the service
// loads it, and valid.
template <typename Config>
Config Load(const std::map<std::string, std::string>& rendered,
            const std::string& service) {
  Config config;
  ApplyServiceDefaults(service, &config);
  EXPECT_THAT(config::MergeYaml(rendered.at(service), service, &config), IsOk())
      << rendered.at(service);
  EXPECT_THAT(config::ValidateCommonBlocks(config), IsOk()) << service;
  return config;
}

TEST(RenderTest, CiAndNotificationsReachIgorAndEcho) {
  absl::StatusOr<v1::Halconfig> c =
      ParseHalconfig(kSampleCiHalconfigYaml, "test");
  ASSERT_THAT(c, IsOk());
  auto rendered = RenderServiceConfigs(*c, {"dbname=g", "redis://h:2"}, "/h");
  ASSERT_THAT(rendered, IsOk());

  auto igor = Load<igor::v1::IgorConfig>(*rendered, "igor");
  ASSERT_EQ(igor.jenkins_size(), 1);
  EXPECT_EQ(igor.jenkins(0).name(), "jenkins-main");
  EXPECT_EQ(igor.jenkins(0).address(), "http://127.0.0.1:8180/");
  EXPECT_EQ(igor.jenkins(0).username(), "spinnaker");
  EXPECT_EQ(igor.jenkins(0).password(), "jenkins-api-token");
  EXPECT_TRUE(igor.jenkins(0).csrf());
  ASSERT_EQ(igor.travis_size(), 1);
  EXPECT_EQ(igor.travis(0).name(), "travis-oss");
  EXPECT_EQ(igor.travis(0).token(), "travis-token");
  EXPECT_EQ(igor.travis(0).repositories(0), "acme/api");
  ASSERT_EQ(igor.docker_registries_size(), 1);
  EXPECT_EQ(igor.docker_registries(0).name(), "local-registry");
  EXPECT_EQ(igor.docker_registries(0).password(), "registry-password");
  EXPECT_EQ(igor.docker_registries(0).repositories_size(), 2);
  EXPECT_TRUE(igor.docker_registries(0).track_digests());
  ASSERT_EQ(igor.git_size(), 1);
  EXPECT_EQ(igor.git(0).slug(), "api");
  EXPECT_EQ(igor.git(0).branches(0), "main");
  EXPECT_EQ(igor.polling().interval_seconds(), 30);
  EXPECT_TRUE(igor.outbound().allow_loopback());
  EXPECT_EQ(igor.services().echo().address(), "127.0.0.1:8089");

  auto echo = Load<echo::v1::EchoConfig>(*rendered, "echo");
  const echo::v1::NotificationsConfig& n = echo.notifications();
  EXPECT_TRUE(n.slack().enabled());
  EXPECT_EQ(n.slack().token(), "xoxb-slack-token");
  EXPECT_EQ(n.slack().bot_name(), "spinnakerbot");
  EXPECT_TRUE(n.email().enabled());
  EXPECT_EQ(n.email().from(), "spinnaker@example.com");
  EXPECT_EQ(n.email().smtp_host(), "127.0.0.1");
  EXPECT_EQ(n.email().smtp_port(), 2525);
  EXPECT_EQ(n.email().password(), "smtp-password");
  EXPECT_TRUE(n.twilio().enabled());
  EXPECT_EQ(n.twilio().account(), "AC123");
  EXPECT_EQ(n.twilio().from(), "+15550100");
  EXPECT_TRUE(n.webhook_enabled());
  EXPECT_EQ(n.spinnaker_base_url(), "http://localhost:9000");
  EXPECT_EQ(echo.events().git_shared_secret(), "git-shared-secret");
  EXPECT_EQ(echo.scheduler().time_zone(), "Europe/Paris");
  EXPECT_TRUE(echo.outbound().allow_loopback());
  EXPECT_EQ(echo.services().orca().address(), "127.0.0.1:8083");
  EXPECT_EQ(echo.services().front50().address(), "127.0.0.1:8080");
  EXPECT_EQ(echo.services().igor().address(), "127.0.0.1:8088");

  // gate and orca reach echo and igor.
  auto gate = Load<gate::v1::GateConfig>(*rendered, "gate");
  EXPECT_EQ(gate.services().echo().address(), "127.0.0.1:8089");
  EXPECT_EQ(gate.services().igor().address(), "127.0.0.1:8088");
  auto orca = Load<orca::v1::OrcaConfig>(*rendered, "orca");
  EXPECT_EQ(orca.services().echo().address(), "127.0.0.1:8089");
  EXPECT_EQ(orca.services().igor().address(), "127.0.0.1:8088");
}

TEST(RenderTest, LoopbackStaysClosedUnlessTheOperatorOpensIt) {
  auto rendered = RenderServiceConfigs(DefaultHalconfig(),
                                       {"dbname=g", "redis://h:2"}, "/h");
  ASSERT_THAT(rendered, IsOk());
  auto igor = Load<igor::v1::IgorConfig>(*rendered, "igor");
  EXPECT_FALSE(igor.outbound().allow_loopback());
  EXPECT_EQ(igor.jenkins_size(), 0);
  auto echo = Load<echo::v1::EchoConfig>(*rendered, "echo");
  EXPECT_FALSE(echo.outbound().allow_loopback());
  EXPECT_FALSE(echo.notifications().slack().enabled());
  // The halconfig's default time zone (Spinnaker's) reaches the scheduler.
  EXPECT_EQ(echo.scheduler().time_zone(), "America/Los_Angeles");
  // The deployment's own ports stay refused even with loopback open.
  absl::StatusOr<v1::Halconfig> c =
      ParseHalconfig(kSampleCiHalconfigYaml, "test");
  ASSERT_THAT(c, IsOk());
  auto open = RenderServiceConfigs(*c, {"dbname=g", "redis://h:2"}, "/h");
  ASSERT_THAT(open, IsOk());
  auto open_igor = Load<igor::v1::IgorConfig>(*open, "igor");
  const auto& ports = open_igor.outbound().rejected_ports();
  EXPECT_NE(std::find(ports.begin(), ports.end(), 8084), ports.end());
  EXPECT_NE(std::find(ports.begin(), ports.end(), 8083), ports.end());
}

TEST(RenderTest, TheUiBecomesGatesUiBlock) {
  v1::Halconfig c = DefaultHalconfig();
  c.set_name("prod");
  c.set_bin_dir("/opt/gennaker/bin");
  auto rendered = RenderServiceConfigs(c, {"dbname=g", "redis://h:2"}, "/h");
  ASSERT_THAT(rendered, IsOk());
  auto gate = Load<gate::v1::GateConfig>(*rendered, "gate");
  // Spinnaker's Deck port, the bundle beside the binaries, gate's own URL.
  EXPECT_EQ(gate.ui().port(), 9000);
  EXPECT_EQ(gate.ui().dir(), "/opt/gennaker/ui/deck");
  EXPECT_EQ(gate.ui().gate_url(), "");
  EXPECT_TRUE(gate.ui().canary_enabled());  // kayenta is on by default
  EXPECT_EQ(gate.ui().deployment_name(), "prod");
  // Nothing a service calls may reach the UI port either.
  auto orca = Load<orca::v1::OrcaConfig>(*rendered, "orca");
  const auto& ports = orca.outbound().rejected_ports();
  EXPECT_NE(std::find(ports.begin(), ports.end(), 9000), ports.end());

  ASSERT_THAT(config::MergeYaml("ui:\n  port: 9100\n"
                                "  gateUrl: http://deck.example.com:8084\n"
                                "  bundleDir: /srv/deck\n",
                                "hal", &c),
              IsOk());
  c.mutable_services()->mutable_kayenta()->set_enabled(false);
  rendered = RenderServiceConfigs(c, {"dbname=g", "redis://h:2"}, "/h");
  ASSERT_THAT(rendered, IsOk());
  gate = Load<gate::v1::GateConfig>(*rendered, "gate");
  EXPECT_EQ(gate.ui().port(), 9100);
  EXPECT_EQ(gate.ui().dir(), "/srv/deck");
  EXPECT_EQ(gate.ui().gate_url(), "http://deck.example.com:8084");
  EXPECT_FALSE(gate.ui().canary_enabled());

  // Off: gate gets no UI listener.
  c.mutable_ui()->set_enabled(false);
  rendered = RenderServiceConfigs(c, {"dbname=g", "redis://h:2"}, "/h");
  ASSERT_THAT(rendered, IsOk());
  gate = Load<gate::v1::GateConfig>(*rendered, "gate");
  EXPECT_EQ(gate.ui().port(), 0);
  EXPECT_FALSE(gate.has_ui());
}

}  // namespace
}  // namespace gennaker::halyard
