#include "services/halyard/halconfig.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/spinnaker/names.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "services/halyard/halconfig_test_data.h"

namespace gennaker::halyard {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;

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

TEST(HalconfigTest, OutboundPolicyIsValidatedBeforeItIsSaved) {
  v1::Halconfig c = DefaultHalconfig();
  auto* outbound = c.mutable_services()->mutable_orca()->mutable_outbound();
  outbound->add_allowed_url_prefixes("http://127.0.0.1:9090/");
  EXPECT_EQ(Problems(c), "");
  outbound->add_allowed_schemes("ftp");
  EXPECT_THAT(Problems(c), HasSubstr("services.orca.outbound: allowedSchemes: "
                                     "only http and https may be allowed"));
  outbound->clear_allowed_schemes();
  outbound->add_rejected_cidrs("10.0.0.0/33");
  EXPECT_THAT(Problems(c), HasSubstr("rejectedCidrs: '10.0.0.0/33' is not a "
                                     "CIDR"));
  outbound->clear_rejected_cidrs();
  outbound->set_max_redirects(50);
  EXPECT_THAT(Problems(c),
              HasSubstr("services.orca.outbound.maxRedirects: must be in "
                        "0..20"));
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
  ASSERT_THAT(SaveHalconfig(path, c), IsOk());
  std::string before = ReadFile(path);
  auto loaded = LoadHalconfig(path);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->SerializeAsString(), c.SerializeAsString());

  c.mutable_services()->mutable_orca()->set_grpc_port(
      7002);  // clashes with clouddriver
  absl::Status s = SaveHalconfig(path, c);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(ReadFile(path), before);
  testing::RemoveTree(dir);
}

TEST(HalconfigTest, LoadReportsUnknownKeysAndMissingFile) {
  std::string dir = testing::MakeTempDir("halconfig");
  std::ofstream(dir + "/config")
      << "name: x\nservices:\n  orca:\n    grpcPrt: 1\n";
  auto loaded = LoadHalconfig(dir + "/config");
  EXPECT_THAT(loaded,
              StatusIs(_, HasSubstr("services.orca.grpcPrt: unknown key")));
  EXPECT_THAT(LoadHalconfig(dir + "/missing"),
              StatusIs(absl::StatusCode::kNotFound));
  testing::RemoveTree(dir);
}

TEST(HalconfigTest, ParseMergesYamlOverTheDefaults) {
  auto parsed = ParseHalconfig("name: x\nlogLevel: debug\n", "yaml");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->name(), "x");
  EXPECT_EQ(parsed->log_level(), "debug");
  EXPECT_EQ(parsed->services().orca().grpc_port(),
            DefaultHalconfig().services().orca().grpc_port());
  EXPECT_THAT(ParseHalconfig("nmae: x\n", "yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("yaml: nmae: unknown key")));
}

TEST(HalconfigTest, EffectiveConfigMakesImpliedDefaultsExplicit) {
  v1::Halconfig c = DefaultHalconfig();
  c.set_log_level("warn");
  c.mutable_services()->mutable_orca()->set_log_level("debug");
  c.set_bin_dir("~/bin");
  v1::Halconfig e = EffectiveHalconfig(c);
  EXPECT_EQ(e.services().orca().log_level(), "debug");
  EXPECT_EQ(e.services().gate().log_level(), "warn");
  EXPECT_TRUE(e.providers().local().enabled());
  ASSERT_EQ(e.providers().local().accounts_size(), 1);
  EXPECT_EQ(e.providers().local().accounts(0).name(), "local");
  EXPECT_EQ(e.providers().local().accounts(0).environment(), "test");
  EXPECT_EQ(e.bin_dir(), ExpandHome("~/bin"));
  EXPECT_EQ(EffectiveHalconfig(e).SerializeAsString(), e.SerializeAsString());
  // What the operator wrote stays as written.
  EXPECT_EQ(c.services().gate().log_level(), "");
  EXPECT_FALSE(c.providers().local().has_enabled());

  c.clear_bin_dir();
  c.mutable_providers()->mutable_local()->set_enabled(false);
  e = EffectiveHalconfig(c);
  EXPECT_FALSE(e.bin_dir().empty());
  EXPECT_EQ(e.providers().local().accounts_size(), 0);
}

TEST(HalconfigTest, CanaryPrometheusIsManagedUnlessTheOperatorNamesOne) {
  v1::Halconfig c = DefaultHalconfig();
  EXPECT_TRUE(ManagedPrometheus(c));
  EXPECT_EQ(ManagedPrometheusPort(c), kDefaultPrometheusPort);
  EXPECT_EQ(PrometheusBaseUrl(c), "http://127.0.0.1:9090");
  v1::Halconfig e = EffectiveHalconfig(c);
  EXPECT_EQ(e.canary().prometheus().account_name(), "prometheus");
  EXPECT_EQ(e.canary().prometheus().port(), 9090);
  EXPECT_EQ(e.canary().prometheus().scrape_interval(), "5s");
  ASSERT_EQ(e.providers().local().accounts_size(), 1);
  EXPECT_EQ(
      e.providers().local().accounts(0).prometheus_file_sd_path(),
      c.state_dir() + "/data/clouddriver/local/local/prometheus-targets.json");
  EXPECT_EQ(EffectiveHalconfig(e).SerializeAsString(), e.SerializeAsString());
  EXPECT_FALSE(c.has_canary());  // the file keeps inheriting

  // Spinnaker-like keys name the operator's server.
  auto parsed = ParseHalconfig(
      "canary:\n  prometheus:\n    baseUrl: http://prom.example:9090\n"
      "    username: k\n    password: hunter2\n",
      "yaml");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_FALSE(ManagedPrometheus(*parsed));
  EXPECT_EQ(PrometheusBaseUrl(*parsed), "http://prom.example:9090");
  EXPECT_EQ(Problems(*parsed), "");

  // kayenta disabled: nothing managed.
  c.mutable_services()->mutable_kayenta()->set_enabled(false);
  EXPECT_FALSE(ManagedPrometheus(c));
}

TEST(HalconfigTest, CanaryPrometheusSettingsAreValidated) {
  v1::Halconfig c = DefaultHalconfig();
  // The managed server's port clashes like any other.
  c.mutable_canary()->mutable_prometheus()->set_port(8083);
  c.mutable_canary()->mutable_prometheus()->set_scrape_interval("soon");
  c.mutable_canary()->mutable_prometheus()->set_password("p");
  c.mutable_canary()->mutable_prometheus()->set_account_name("no spaces");
  std::string p = Problems(c);
  EXPECT_THAT(p, HasSubstr("canary.prometheus.port: port 8083 is also used by "
                           "services.orca.grpcPort"));
  EXPECT_THAT(p, HasSubstr("canary.prometheus.scrapeInterval:"));
  EXPECT_THAT(p, HasSubstr("canary.prometheus.password: username and password "
                           "are for the server named by"));
  EXPECT_THAT(p, HasSubstr("canary.prometheus.accountName:"));
  c.mutable_canary()->mutable_prometheus()->set_port(70000);
  EXPECT_THAT(Problems(c),
              HasSubstr("canary.prometheus.port: must be a port in 1..65535"));

  // An external server: its port is not the deployment's; its URL is checked.
  v1::Halconfig x = DefaultHalconfig();
  x.mutable_canary()->mutable_prometheus()->set_port(8083);
  for (const char* bad : {"ftp://prom:21", "http://user:pw@prom:9090",
                          "http://prom:9090/?q=1", "prom:9090", "http://"}) {
    x.mutable_canary()->mutable_prometheus()->set_base_url(bad);
    EXPECT_THAT(Problems(x), HasSubstr("canary.prometheus.baseUrl: must be"))
        << bad;
  }
  x.mutable_canary()->mutable_prometheus()->set_base_url(
      "https://prom.example/prometheus/");
  EXPECT_EQ(Problems(x), "");
  // Disabled kayenta needs no port.
  c = DefaultHalconfig();
  c.mutable_canary()->mutable_prometheus()->set_port(8083);
  c.mutable_services()->mutable_kayenta()->set_enabled(false);
  EXPECT_EQ(Problems(c), "");
}

TEST(HalconfigTest, RedactedConfigHidesThePrometheusPassword) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_canary()->mutable_prometheus()->set_base_url(
      "http://prom.example:9090");
  c.mutable_canary()->mutable_prometheus()->set_username("kayenta");
  c.mutable_canary()->mutable_prometheus()->set_password("hunter2");
  v1::Halconfig shown = RedactedHalconfig(c);
  EXPECT_EQ(shown.canary().prometheus().password(), "***");
  EXPECT_EQ(shown.canary().prometheus().username(), "kayenta");
  EXPECT_EQ(shown.canary().prometheus().base_url(), "http://prom.example:9090");
  EXPECT_THAT(shown.DebugString(), Not(HasSubstr("hunter2")));
  EXPECT_EQ(c.canary().prometheus().password(), "hunter2");
  // Nothing to hide: nothing added.
  EXPECT_FALSE(RedactedHalconfig(DefaultHalconfig()).has_canary());
}

TEST(HalconfigTest, CiAndNotificationSectionsParseAndValidate) {
  absl::StatusOr<v1::Halconfig> c =
      ParseHalconfig(kSampleCiHalconfigYaml, "test");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(Problems(*c), "");
  ASSERT_EQ(c->ci().jenkins_size(), 1);
  EXPECT_EQ(c->ci().jenkins(0).password(), "jenkins-api-token");
  EXPECT_TRUE(c->ci().jenkins(0).csrf());
  EXPECT_EQ(c->ci().docker_registries(0).repositories_size(), 2);
  EXPECT_TRUE(c->ci().docker_registries(0).track_digests());
  EXPECT_EQ(c->ci().git(0).branches(0), "main");
  EXPECT_EQ(c->ci().polling().interval_seconds(), 30);
  EXPECT_EQ(TravisMasterName(c->ci().travis(0)), "travis-oss");
  EXPECT_EQ(c->notifications().email().smtp_port(), 2525);
  EXPECT_EQ(c->triggers().git_shared_secret(), "git-shared-secret");
}

// What halyard accepts, echo accepts at start: the same predicates.
TEST(HalconfigTest, NotificationRulesMatchEchos) {
  auto email_config = [] {
    v1::Halconfig c = DefaultHalconfig();
    v1::HalEmail* e = c.mutable_notifications()->mutable_email();
    e->set_enabled(true);
    e->set_from("spinnaker@example.com");
    e->set_smtp_host("mail.example.com");
    return c;
  };
  EXPECT_EQ(Problems(email_config()), "");
  for (const char* from : {"a@b_c", "a@b,c", "a b@c", ".a@b", "a@-b"}) {
    v1::Halconfig c = email_config();
    c.mutable_notifications()->mutable_email()->set_from(from);
    EXPECT_THAT(Problems(c),
                HasSubstr("notifications.email.from: must be an email"))
        << from;
  }
  for (const char* host :
       {"mail/x", "user@mail", "mail x", "mail?x", "mail#x"}) {
    v1::Halconfig c = email_config();
    c.mutable_notifications()->mutable_email()->set_smtp_host(host);
    EXPECT_THAT(Problems(c),
                HasSubstr("notifications.email.smtpHost: must be a host name"))
        << host;
  }
  {
    v1::Halconfig c = email_config();
    c.mutable_notifications()->mutable_email()->set_username("mailer");
    c.mutable_notifications()->mutable_email()->set_password("pw");
    EXPECT_THAT(Problems(c),
                HasSubstr("notifications.email.starttls: a username needs "
                          "starttls (credentials would travel in clear)"));
    c.mutable_notifications()->mutable_email()->set_starttls(true);
    EXPECT_EQ(Problems(c), "");
  }
  for (const char* token : {"xoxb 1", "xoxb?1", "xoxb#1", "xoxb\n1"}) {
    v1::Halconfig c = DefaultHalconfig();
    c.mutable_notifications()->mutable_slack()->set_enabled(true);
    c.mutable_notifications()->mutable_slack()->set_token(token);
    EXPECT_THAT(Problems(c),
                HasSubstr("notifications.slack.token: holds characters"))
        << token;
  }
  v1::Halconfig ok = DefaultHalconfig();
  ok.mutable_notifications()->mutable_slack()->set_enabled(true);
  ok.mutable_notifications()->mutable_slack()->set_token("xoxb-1-abc/def");
  EXPECT_EQ(Problems(ok), "");
}

// igor's docker repository grammar, exactly.
TEST(HalconfigTest, DockerRepositoriesAsIgorAcceptsThem) {
  for (const char* good :
       {"my--repo", "a__b", "library/nginx", "a-.b", "a.b_c__d/e-f", "a"}) {
    EXPECT_TRUE(spinnaker::ValidDockerRepository(good)) << good;
  }
  for (const char* bad : {"", "Bad", "a___b", "a..b", "-a", "a-", "a//b", "/a",
                          "a/", "a_.b", "a._b", "a b", "a:b"}) {
    EXPECT_FALSE(spinnaker::ValidDockerRepository(bad)) << bad;
  }
  EXPECT_FALSE(spinnaker::ValidDockerRepository(std::string(256, 'a')));
  EXPECT_TRUE(spinnaker::ValidDockerRepository(std::string(255, 'a')));

  v1::Halconfig c = DefaultHalconfig();
  auto* r = c.mutable_ci()->add_docker_registries();
  r->set_name("local");
  r->set_address("http://127.0.0.1:5000");
  r->add_repositories("my--repo");
  r->add_repositories("a__b");
  c.mutable_ci()->set_allow_loopback(true);
  EXPECT_THAT(Problems(c), Not(HasSubstr("repositories")));
}

TEST(HalconfigTest, CiAndNotificationProblemsNameTheirKeys) {
  v1::Halconfig c = DefaultHalconfig();
  v1::HalCi* ci = c.mutable_ci();
  auto* j = ci->add_jenkins();
  j->set_name("main");
  j->set_address("ftp://jenkins");
  j->set_password("token-without-user");
  auto* dup = ci->add_jenkins();
  dup->set_name("travis-x");
  dup->set_address("http://jenkins2:8080/");
  auto* t = ci->add_travis();
  t->set_name("travis-x");
  t->set_address("https://api.travis-ci.com/");
  auto* t2 = ci->add_travis();
  t2->set_name("x");  // served as travis-x too
  t2->add_repositories("not-a-repo");
  auto* r = ci->add_docker_registries();
  r->set_address("http://user:pass@registry:5000");
  r->add_repositories("Bad Repo");
  auto* g = ci->add_git();
  g->set_source("svn");
  g->set_url("not a url");
  ci->mutable_polling()->set_interval_seconds(-1);
  v1::HalNotifications* n = c.mutable_notifications();
  n->mutable_slack()->set_enabled(true);
  n->mutable_email()->set_enabled(true);
  n->mutable_email()->set_from("nobody");
  n->mutable_twilio()->set_enabled(true);
  n->set_spinnaker_base_url("localhost:9000");
  const std::string p = Problems(c);
  for (const char* want : {
           "ci.jenkins[0].address: must be an http:// or https:// URL",
           "ci.jenkins[0].username: is required when a password is set",
           "ci.jenkins[1].name: must not start with 'travis-'",
           "ci.travis[1].name: master name 'travis-x' is also used by "
           "ci.travis[0].name",
           "ci.travis[1].address: is required",
           "ci.travis[1].repositories[0]: must be owner/name",
           "ci.dockerRegistries[0].name: is required",
           "ci.dockerRegistries[0].address: must be an http:// or https:// "
           "URL with no user name",
           "ci.dockerRegistries[0].repositories[0]: must be a docker "
           "repository name",
           "ci.git[0].source: must be github, gitlab, bitbucket or stash",
           "ci.git[0].project: is required",
           "ci.git[0].slug: is required",
           "ci.git[0].url: must be an http(s)://",
           "ci.polling.intervalSeconds: must be in 1..86400",
           "notifications.slack.token: is required when slack is enabled",
           "notifications.email.from: must be an email address",
           "notifications.email.smtpHost: is required when email is enabled",
           "notifications.twilio.account: is required",
           "notifications.twilio.token: is required",
           "notifications.twilio.from: is required",
           "notifications.spinnakerBaseUrl: must be an http:// or https://",
       }) {
    EXPECT_THAT(p, HasSubstr(want));
  }
  c.set_timezone("Mars/Olympus_Mons");
  EXPECT_THAT(Problems(c), HasSubstr("timezone: must be an IANA time zone"));
  c.mutable_services()->mutable_orca()->set_enabled(false);
  EXPECT_THAT(Problems(c), HasSubstr("services.echo.enabled: echo needs orca "
                                     "and front50"));
  c.mutable_services()->mutable_igor()->set_enabled(false);
  c.mutable_services()->mutable_echo()->set_enabled(false);
  EXPECT_THAT(Problems(c),
              HasSubstr("ci: lists CI masters, registries or repositories but "
                        "services.igor.enabled is false"));
  EXPECT_THAT(Problems(c), HasSubstr("notifications: enables a channel but "
                                     "services.echo.enabled is false"));
  // And nothing invalid is ever written.
  EXPECT_THAT(SaveHalconfig(::testing::TempDir() + "/ci-invalid", c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ci.git[0].source")));
}

TEST(HalconfigTest, RedactedConfigHidesCiAndNotificationSecrets) {
  absl::StatusOr<v1::Halconfig> c =
      ParseHalconfig(kSampleCiHalconfigYaml, "test");
  ASSERT_THAT(c, IsOk());
  v1::Halconfig r = RedactedHalconfig(*c);
  EXPECT_EQ(r.ci().jenkins(0).password(), "***");
  EXPECT_EQ(r.ci().travis(0).token(), "***");
  EXPECT_EQ(r.ci().docker_registries(0).password(), "***");
  EXPECT_EQ(r.ci().git(0).url(), "https://***@github.com/acme/api.git");
  EXPECT_EQ(r.notifications().slack().token(), "***");
  EXPECT_EQ(r.notifications().email().password(), "***");
  EXPECT_EQ(r.notifications().twilio().token(), "***");
  EXPECT_EQ(r.triggers().git_shared_secret(), "***");
  // What is not secret is shown as is.
  EXPECT_EQ(r.ci().jenkins(0).username(), "spinnaker");
  EXPECT_EQ(r.notifications().email().smtp_host(), "127.0.0.1");
  // No secret survives anywhere in the printed form.
  const std::string printed = r.DebugString();
  for (const char* secret :
       {"jenkins-api-token", "travis-token", "registry-password", "ghp_token",
        "xoxb-slack-token", "smtp-password", "twilio-token",
        "git-shared-secret"}) {
    EXPECT_THAT(printed, Not(HasSubstr(secret))) << secret;
  }
  // An empty section stays absent.
  EXPECT_FALSE(RedactedHalconfig(DefaultHalconfig()).has_ci());
  EXPECT_FALSE(RedactedHalconfig(DefaultHalconfig()).has_notifications());
  EXPECT_FALSE(RedactedHalconfig(DefaultHalconfig()).has_triggers());
}

TEST(HalconfigTest, TheUiIsOnByDefaultWithItsBundleBesideTheBinaries) {
  v1::Halconfig c = DefaultHalconfig();
  EXPECT_TRUE(UiEnabled(c));
  EXPECT_EQ(c.ui().port(), kDefaultUiPort);
  c.set_bin_dir("/opt/gennaker/bin/");
  v1::Halconfig e = EffectiveHalconfig(c);
  EXPECT_TRUE(e.ui().has_enabled());
  EXPECT_TRUE(e.ui().enabled());
  EXPECT_EQ(e.ui().bundle_dir(), "/opt/gennaker/ui/deck");
  // Applying it twice changes nothing.
  EXPECT_EQ(EffectiveHalconfig(e).SerializeAsString(), e.SerializeAsString());
  // An explicit directory is kept ("~/" expanded).
  c.mutable_ui()->set_bundle_dir("~/deck");
  EXPECT_EQ(EffectiveHalconfig(c).ui().bundle_dir(), ExpandHome("~/deck"));
  // Without binDir: next to the running program (build/bin -> build/ui/deck).
  c.clear_bin_dir();
  c.mutable_ui()->clear_bundle_dir();
  const std::string bin = EffectiveHalconfig(c).bin_dir();
  EXPECT_EQ(UiBundleDir(c),
            (std::filesystem::path(bin).parent_path() / "ui" / "deck")
                .lexically_normal()
                .string());

  absl::StatusOr<v1::Halconfig> parsed = ParseHalconfig(
      "ui: {enabled: false, port: 9100, gateUrl: 'http://h:1', bundleDir: "
      "/srv/deck}\n",
      "test");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_FALSE(UiEnabled(*parsed));
  EXPECT_EQ(parsed->ui().port(), 9100);
  EXPECT_EQ(parsed->ui().gate_url(), "http://h:1");
  EXPECT_EQ(parsed->ui().bundle_dir(), "/srv/deck");
}

TEST(HalconfigTest, TheUiPortMustBeFreeAndItsGateUrlAUrl) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_ui()->set_port(8084);
  EXPECT_THAT(Problems(c), HasSubstr("ui.port: port 8084 is also used by "
                                     "services.gate.httpPort"));
  c.mutable_ui()->set_port(0);
  EXPECT_THAT(Problems(c), HasSubstr("ui.port: must be a port in 1..65535"));
  c.mutable_ui()->set_port(9000);
  c.mutable_ui()->set_gate_url("gate:8084");
  EXPECT_THAT(Problems(c), HasSubstr("ui.gateUrl: must be an http://"));
  c.mutable_ui()->set_gate_url("https://gate.example.com");
  EXPECT_EQ(Problems(c), "");
  // Off: its settings are not checked, and its port is free for others.
  c.mutable_ui()->set_enabled(false);
  c.mutable_ui()->set_port(8084);
  c.mutable_ui()->set_gate_url("bad");
  EXPECT_EQ(Problems(c), "");
  c.mutable_services()->mutable_orca()->set_admin_port(9000);
  EXPECT_EQ(Problems(c), "");
}

TEST(HalconfigTest, ApplyNeedsABuiltUiBundle) {
  const std::string dir = testing::MakeTempDir("hal-ui");
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_ui()->set_bundle_dir(dir + "/deck");
  absl::Status s = CheckUiBundle(c);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("ui.bundleDir: " + dir + "/deck")));
  EXPECT_THAT(std::string(s.message()), HasSubstr("scripts/build-ui.sh"));
  // Saving the config does not need it: only apply does.
  EXPECT_EQ(Problems(c), "");
  std::filesystem::create_directories(dir + "/deck");
  EXPECT_THAT(CheckUiBundle(c), Not(IsOk()));
  std::ofstream(dir + "/deck/index.html") << "<!doctype html>";
  EXPECT_THAT(CheckUiBundle(c), IsOk());
  c.mutable_ui()->set_bundle_dir(dir + "/none");
  c.mutable_ui()->set_enabled(false);
  EXPECT_THAT(CheckUiBundle(c), IsOk());
  testing::RemoveTree(dir);
}

TEST(HalconfigTest, TheBakeryDefaultsBesideTheBinariesAndTheStateDir) {
  v1::Halconfig c = DefaultHalconfig();
  c.set_bin_dir("/opt/gennaker/bin");
  c.set_state_dir("/srv/hal");
  v1::Halconfig e = EffectiveHalconfig(c);
  // rosco's templates are where the build copies them (build/share/rosco/
  // packer beside build/bin).
  EXPECT_EQ(e.bakery().packer_config_dir(), "/opt/gennaker/share/rosco/packer");
  EXPECT_EQ(e.bakery().image_store_dir(), "/srv/hal/data/images");
  EXPECT_EQ(e.bakery().package_repository_dir(), "/srv/hal/data/packages");
  EXPECT_EQ(e.bakery().work_dir(), "/srv/hal/data/rosco/work");
  EXPECT_EQ(e.bakery().packer_binary(), "packer");
  // The local account deploys from the store rosco bakes into.
  ASSERT_EQ(e.providers().local().accounts_size(), 1);
  EXPECT_EQ(e.providers().local().accounts(0).image_store_dir(),
            "/srv/hal/data/images");
  EXPECT_EQ(EffectiveHalconfig(e).SerializeAsString(), e.SerializeAsString());
  EXPECT_FALSE(c.has_bakery());

  // The operator's settings win, "~/" expanded; an account may keep its own.
  auto parsed = ParseHalconfig(
      "binDir: /opt/bin\nstateDir: /srv/hal\n"
      "bakery:\n  packerConfigDir: ~/packer\n  imageStoreDir: /images\n"
      "  maxConcurrentBakes: 4\n  bakeTimeoutSeconds: 600\n"
      "providers:\n  local:\n    accounts:\n"
      "      - {name: a}\n      - {name: b, imageStoreDir: /other}\n",
      "hal");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(Problems(*parsed), "");
  e = EffectiveHalconfig(*parsed);
  EXPECT_EQ(e.bakery().packer_config_dir(), ExpandHome("~/packer"));
  EXPECT_EQ(e.bakery().image_store_dir(), "/images");
  EXPECT_EQ(e.bakery().max_concurrent_bakes(), 4);
  EXPECT_EQ(e.providers().local().accounts(0).image_store_dir(), "/images");
  EXPECT_EQ(e.providers().local().accounts(1).image_store_dir(), "/other");
}

TEST(HalconfigTest, BakeryProblemsNameTheirKeysAndNothingIsSaved) {
  const std::string dir = testing::MakeTempDir("hal-bakery");
  const std::string path = dir + "/config";
  ASSERT_THAT(SaveHalconfig(path, DefaultHalconfig()), IsOk());
  const std::string before = ReadFile(path);
  auto parsed = ParseHalconfig(
      "bakery:\n"
      "  packerConfigDir: relative/packer\n"
      "  imageStoreDir: images\n"
      "  packerBinary: bin/packer\n"
      "  maxConcurrentBakes: 65\n"
      "  bakeTimeoutSeconds: -1\n"
      "  defaultCloudProvider: gce\n"
      "  templatesNeedingRoot: [../aws-chroot.json]\n"
      "  providers:\n"
      "    - cloudProviderType: local\n"
      "      baseImages:\n"
      "        - {id: bookworm}\n"
      "        - {id: bookworm, templateFile: local.json}\n"
      "        - {id: 'bad id', templateFile: ../x.json, osType: beos}\n"
      "    - {cloudProviderType: local, templateFile: local.json}\n"
      "    - {templateFile: a/b.json, defaultVmType: xen}\n"
      "providers:\n  local:\n    accounts:\n"
      "      - {name: a, imageStoreDir: store}\n",
      "hal");
  ASSERT_THAT(parsed, IsOk());
  const std::string p = Problems(*parsed);
  EXPECT_THAT(p, HasSubstr("bakery.packerConfigDir: must be an absolute path"));
  EXPECT_THAT(p, HasSubstr("bakery.imageStoreDir: must be an absolute path"));
  EXPECT_THAT(p, HasSubstr("bakery.packerBinary: must be a name looked up in "
                           "PATH or an absolute path"));
  EXPECT_THAT(p, HasSubstr("bakery.maxConcurrentBakes: must be in 1..64"));
  EXPECT_THAT(p, HasSubstr("bakery.bakeTimeoutSeconds: must be in 1..86400"));
  EXPECT_THAT(p, HasSubstr("bakery.providers[0].baseImages[0].templateFile: "
                           "is required"));
  EXPECT_THAT(p, HasSubstr("bakery.providers[0].baseImages[1].id: base image "
                           "'bookworm' is listed twice"));
  EXPECT_THAT(p, HasSubstr("bakery.providers[0].baseImages[2].id: must be"));
  EXPECT_THAT(p, HasSubstr("bakery.providers[0].baseImages[2].templateFile: "
                           "must be a plain file name"));
  EXPECT_THAT(p, HasSubstr("bakery.providers[0].baseImages[2].osType: must be "
                           "linux or windows"));
  EXPECT_THAT(p, HasSubstr("bakery.providers[1].cloudProviderType: "
                           "'local' is configured twice"));
  EXPECT_THAT(p, HasSubstr("bakery.providers[2].cloudProviderType: is "
                           "required"));
  EXPECT_THAT(p, HasSubstr("bakery.providers[2].templateFile: must be a plain "
                           "file name"));
  EXPECT_THAT(p, HasSubstr("bakery.providers[2].defaultVmType: must be hvm or "
                           "pv"));
  EXPECT_THAT(p, HasSubstr("bakery.defaultCloudProvider: "
                           "'gce' is not one of "
                           "bakery.providers"));
  EXPECT_THAT(p, HasSubstr("bakery.templatesNeedingRoot[0]: must be a plain "
                           "file name"));
  EXPECT_THAT(p, HasSubstr("providers.local.accounts[0].imageStoreDir: must "
                           "be an absolute path"));
  // Invalid values change nothing.
  EXPECT_THAT(SaveHalconfig(path, *parsed),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bakery.maxConcurrentBakes")));
  EXPECT_EQ(ReadFile(path), before);
  // An unknown provider name is refused when the file is read.
  EXPECT_THAT(ParseHalconfig("bakery:\n  defaultCloudProvider: vax\n", "hal"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bakery.defaultCloudProvider")));
  testing::RemoveTree(dir);
}

TEST(HalconfigTest, ApplyNeedsRoscosPackerTemplates) {
  const std::string dir = testing::MakeTempDir("hal-packer");
  v1::Halconfig c = DefaultHalconfig();
  c.set_bin_dir(dir + "/bin");
  absl::Status s = CheckBakery(c);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("bakery.packerConfigDir: " + dir +
                                    "/share/rosco/packer is not a directory")));
  EXPECT_EQ(Problems(c), "");  // saving does not need a build
  std::filesystem::create_directories(dir + "/share/rosco/packer");
  EXPECT_THAT(CheckBakery(c), IsOk());
  // The templates the providers name must be in it.
  auto* local = c.mutable_bakery()->add_providers();
  local->set_cloud_provider_type(rosco::v1::CLOUD_PROVIDER_TYPE_LOCAL);
  local->set_template_file("local.json");
  local->add_base_images()->set_template_file("other.json");
  s = CheckBakery(c);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("bakery.providers[0].templateFile: "
                                    "local.json is not in " +
                                    dir + "/share/rosco/packer")));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("bakery.providers[0].baseImages[0].templateFile: "
                        "other.json is not in"));
  std::ofstream(dir + "/share/rosco/packer/local.json") << "{}";
  std::ofstream(dir + "/share/rosco/packer/other.json") << "{}";
  EXPECT_THAT(CheckBakery(c), IsOk());
  c.mutable_bakery()->set_packer_config_dir(dir + "/none");
  EXPECT_THAT(CheckBakery(c), Not(IsOk()));
  c.mutable_services()->mutable_rosco()->set_enabled(false);
  EXPECT_THAT(CheckBakery(c), IsOk());
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace gennaker::halyard
