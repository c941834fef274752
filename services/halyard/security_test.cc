// halyard's `security` section: what authn and authz render into gate, fiat,
// orca and clouddriver, how they are validated and redacted, and
// `hash-password`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth/password.h"
#include "common/config/config_loader.h"
#include "common/service/defaults.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gennaker/clouddriver/v1/config.pb.h"
#include "gennaker/fiat/v1/config.pb.h"
#include "gennaker/gate/v1/config.pb.h"
#include "gennaker/orca/v1/config.pb.h"
#include "services/halyard/cli.h"
#include "services/halyard/halconfig.h"
#include "services/halyard/render.h"

namespace gennaker::halyard {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("halsec");
    users_file_ = dir_ + "/users.yml";
    auto hash = auth::HashPassword("alice-secret", 4);
    ASSERT_THAT(hash, IsOk());
    std::ofstream(users_file_) << "users:\n"
                               << "  - username: alice\n"
                               << "    passwordHash: \"" << *hash << "\"\n"
                               << "    roles: [team-a, admins]\n";
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  // The default halconfig with `yaml` merged in.
  v1::Halconfig Parse(const std::string& yaml) {
    auto c = ParseHalconfig(yaml, "test");
    EXPECT_THAT(c, IsOk());
    return c.ok() ? *c : v1::Halconfig();
  }

  // Renders `c` and loads `service`'s YAML into `out` over its defaults.
  void Render(const v1::Halconfig& c, absl::string_view service,
              google::protobuf::Message* out) {
    auto rendered = RenderServiceConfigs(
        c, {"host=127.0.0.1 port=1 dbname=g", "redis://h:2"}, "/hal/config");
    ASSERT_THAT(rendered, IsOk());
    ApplyServiceDefaults(service, out);
    const std::string& yaml = rendered->at(std::string(service));
    ASSERT_THAT(config::MergeYaml(yaml, std::string(service), out), IsOk())
        << yaml;
    EXPECT_THAT(config::ValidateCommonBlocks(*out), IsOk()) << service;
  }

  // "key: message" of every problem.
  std::vector<std::string> Problems(const v1::Halconfig& c) {
    std::vector<std::string> out;
    for (const auto& p : Validate(c)) {
      out.push_back(absl::StrCat(p.key(), ": ", p.message()));
    }
    return out;
  }

  std::string SecureYaml() const {
    return absl::StrCat(R"(
security:
  authn:
    enabled: true
    usersFile: )",
                        users_file_, R"(
    ldap:
      url: ldap://ldap.example.com:389/dc=example,dc=com
      managerDn: cn=admin,dc=example,dc=com
      managerPassword: ldap-manager-secret
      userDnPattern: uid={0},ou=users
      groupSearchBase: ou=groups
    sessionIdleTimeoutSeconds: 1800
    trustedUserHeaderSources: [10.0.0.0/8, "::1"]
  authz:
    enabled: true
    rolesProvider: file
    adminRoles: [" Admins "]
)");
  }

  std::string dir_, users_file_;
};

TEST_F(SecurityTest, AuthnAndAuthzRenderIntoGateFiatOrcaClouddriver) {
  v1::Halconfig c = Parse(SecureYaml());
  ASSERT_THAT(Problems(c), IsEmpty());

  gate::v1::GateConfig gate;
  Render(c, "gate", &gate);
  EXPECT_TRUE(gate.security().enabled());
  EXPECT_EQ(gate.security().users_file(), users_file_);
  EXPECT_EQ(gate.security().ldap().url(),
            "ldap://ldap.example.com:389/dc=example,dc=com");
  EXPECT_EQ(gate.security().ldap().manager_dn(), "cn=admin,dc=example,dc=com");
  EXPECT_EQ(gate.security().ldap().manager_password(), "ldap-manager-secret");
  EXPECT_EQ(gate.security().ldap().user_dn_pattern(), "uid={0},ou=users");
  EXPECT_EQ(gate.security().session_idle_timeout_seconds(), 1800);
  EXPECT_THAT(gate.security().trusted_user_header_sources(),
              ElementsAre("10.0.0.0/8", "::1"));
  EXPECT_TRUE(gate.authorization().enabled());
  EXPECT_EQ(gate.services().fiat().address(), "127.0.0.1:7003");

  orca::v1::OrcaConfig orca;
  Render(c, "orca", &orca);
  EXPECT_TRUE(orca.authorization().enabled());
  EXPECT_EQ(orca.services().fiat().address(), "127.0.0.1:7003");

  clouddriver::v1::ClouddriverConfig cd;
  Render(c, "clouddriver", &cd);
  EXPECT_TRUE(cd.authorization().enabled());
  EXPECT_EQ(cd.fiat().address(), "127.0.0.1:7003");

  fiat::v1::FiatConfig fiat;
  Render(c, "fiat", &fiat);
  EXPECT_EQ(fiat.roles().provider(), "file");
  // The file provider reads authn's users file when no roles file is set.
  EXPECT_EQ(fiat.roles().file_path(), users_file_);
  EXPECT_THAT(fiat.admin_roles(), ElementsAre("admins"));
  EXPECT_EQ(fiat.server().grpc_port(), 7003);
  EXPECT_EQ(fiat.http_port(), 7004);
}

TEST_F(SecurityTest, RolesFileAndLdapProviderSources) {
  const std::string roles = dir_ + "/roles.yml";
  std::ofstream(roles) << "users:\n  - username: bob\n    roles: [devs]\n";
  v1::Halconfig c = Parse(SecureYaml());
  c.mutable_security()->mutable_authz()->set_roles_file(roles);
  fiat::v1::FiatConfig fiat;
  Render(c, "fiat", &fiat);
  EXPECT_EQ(fiat.roles().file_path(), roles);

  // ldap: authn's directory unless authz names its own.
  c.mutable_security()->mutable_authz()->set_roles_provider("ldap");
  fiat.Clear();
  Render(c, "fiat", &fiat);
  EXPECT_EQ(fiat.roles().provider(), "ldap");
  EXPECT_EQ(fiat.roles().ldap().url(),
            "ldap://ldap.example.com:389/dc=example,dc=com");
  EXPECT_EQ(fiat.roles().ldap().group_search_base(), "ou=groups");
  EXPECT_EQ(fiat.roles().file_path(), "");
  c.mutable_security()->mutable_authz()->mutable_ldap()->set_url(
      "ldaps://groups.example.com");
  fiat.Clear();
  Render(c, "fiat", &fiat);
  EXPECT_EQ(fiat.roles().ldap().url(), "ldaps://groups.example.com");
  EXPECT_EQ(fiat.roles().ldap().group_search_base(), "");
}

TEST_F(SecurityTest, OffByDefault) {
  v1::Halconfig c = DefaultHalconfig();
  gate::v1::GateConfig gate;
  Render(c, "gate", &gate);
  EXPECT_FALSE(gate.security().enabled());
  EXPECT_FALSE(gate.authorization().enabled());
  // The address is there either way (gate needs it only with authz).
  EXPECT_EQ(gate.services().fiat().address(), "127.0.0.1:7003");
  orca::v1::OrcaConfig orca;
  Render(c, "orca", &orca);
  EXPECT_FALSE(orca.authorization().enabled());
  fiat::v1::FiatConfig fiat;
  Render(c, "fiat", &fiat);
  EXPECT_THAT(fiat.admin_roles(), IsEmpty());
  EXPECT_EQ(fiat.http_port(), 7004);

  // authn alone: gate logs users in, nothing is enforced.
  c = Parse(SecureYaml());
  c.mutable_security()->mutable_authz()->set_enabled(false);
  gate.Clear();
  Render(c, "gate", &gate);
  EXPECT_TRUE(gate.security().enabled());
  EXPECT_FALSE(gate.authorization().enabled());
  clouddriver::v1::ClouddriverConfig cd;
  Render(c, "clouddriver", &cd);
  EXPECT_FALSE(cd.authorization().enabled());
}

TEST_F(SecurityTest, FiatHttpPortIsKnownToThePortChecks) {
  v1::Halconfig c = DefaultHalconfig();
  EXPECT_EQ(ServiceHttpPort(c, "fiat"), 7004);
  EXPECT_EQ(ServiceHttpPort(c, "kayenta"), 8091);
  EXPECT_EQ(ServiceHttpPort(c, "orca"), 0);
  c.mutable_services()->mutable_fiat()->set_grpc_port(7100);
  EXPECT_EQ(ServiceHttpPort(c, "fiat"), 7101);
  c.mutable_services()->mutable_fiat()->set_http_port(7003);
  EXPECT_EQ(ServiceHttpPort(c, "fiat"), 7003);
  fiat::v1::FiatConfig fiat;
  Render(c, "fiat", &fiat);
  EXPECT_EQ(fiat.http_port(), 7003);

  // A clash with another listener is named.
  c = DefaultHalconfig();
  c.mutable_services()->mutable_fiat()->set_http_port(8084);
  EXPECT_THAT(Problems(c), Contains(HasSubstr("port 8084 is also used by "
                                              "services.fiat.httpPort")));
  c = DefaultHalconfig();
  c.mutable_services()->mutable_front50()->set_grpc_port(7004);
  EXPECT_THAT(Problems(c), Contains("services.front50.grpcPort: port 7004 is "
                                    "also used by services.fiat.httpPort"));

  // Outbound calls of the services never reach fiat's REST port.
  c = DefaultHalconfig();
  orca::v1::OrcaConfig orca;
  Render(c, "orca", &orca);
  EXPECT_THAT(orca.outbound().rejected_ports(), Contains(7004));
}

TEST_F(SecurityTest, ValidationNamesTheKey) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_security()->mutable_authn()->set_enabled(true);
  EXPECT_THAT(Problems(c),
              ElementsAre(HasSubstr("security.authn.enabled: needs "
                                    "security.authn.usersFile or "
                                    "security.authn.ldap.url")));

  c.mutable_security()->mutable_authn()->set_users_file(dir_ + "/missing.yml");
  EXPECT_THAT(Problems(c),
              ElementsAre(HasSubstr("security.authn.usersFile: " + dir_ +
                                    "/missing.yml does not exist")));

  c.mutable_security()->mutable_authn()->set_users_file("users.yml");
  EXPECT_THAT(Problems(c),
              ElementsAre("security.authn.usersFile: must be an absolute "
                          "path (or start with ~/)"));

  const std::string bad = dir_ + "/bad.yml";
  std::ofstream(bad) << "users:\n  - username: x\n    passwordHash: plain\n";
  c.mutable_security()->mutable_authn()->set_users_file(bad);
  EXPECT_THAT(
      Problems(c),
      ElementsAre(HasSubstr("security.authn.usersFile: " + bad + ": ")));

  c = DefaultHalconfig();
  auto* authn = c.mutable_security()->mutable_authn();
  authn->set_enabled(true);
  authn->mutable_ldap()->set_url("http://ldap.example.com");
  authn->mutable_ldap()->set_manager_password("pw");
  authn->add_trusted_user_header_sources("10.0.0.0/33");
  authn->add_trusted_user_header_sources("proxy.example.com");
  authn->set_session_idle_timeout_seconds(-1);
  const std::vector<std::string> problems = Problems(c);
  EXPECT_THAT(problems, Contains(HasSubstr("security.authn.ldap.url: must be "
                                           "an ldap:// or ldaps:// URL")));
  EXPECT_THAT(problems, Contains("security.authn.ldap.managerDn: is required "
                                 "when managerPassword is set"));
  EXPECT_THAT(problems,
              Contains(HasSubstr("security.authn.trustedUserHeaderSources[0]: "
                                 "must be an IP address or a CIDR block")));
  EXPECT_THAT(
      problems,
      Contains(HasSubstr("security.authn.trustedUserHeaderSources[1]")));
  EXPECT_THAT(problems,
              Contains(HasSubstr("security.authn.sessionIdleTimeoutSeconds")));
  // The manager password is never echoed.
  for (const std::string& p : problems) EXPECT_THAT(p, Not(HasSubstr("pw")));
}

TEST_F(SecurityTest, AuthzNeedsFiatAndARolesSource) {
  v1::Halconfig c = DefaultHalconfig();
  auto* authz = c.mutable_security()->mutable_authz();
  authz->set_enabled(true);
  EXPECT_THAT(Problems(c),
              ElementsAre("security.authz.rolesProvider: is required when "
                          "security.authz.enabled is true (file, ldap or "
                          "external)"));
  authz->set_roles_provider("github");
  EXPECT_THAT(Problems(c), Contains("security.authz.rolesProvider: must be "
                                    "file, ldap or external"));
  authz->set_roles_provider("file");
  EXPECT_THAT(Problems(c),
              ElementsAre(HasSubstr("security.authz.rolesFile: is required by "
                                    "the file roles provider")));
  authz->set_roles_provider("ldap");
  EXPECT_THAT(Problems(c),
              ElementsAre(HasSubstr("security.authz.ldap.url: is required by "
                                    "the ldap roles provider")));
  authz->set_roles_provider("external");
  EXPECT_THAT(Problems(c),
              ElementsAre(HasSubstr("security.authz.rolesProvider: external "
                                    "roles come from gate's logins")));
  authz->add_admin_roles(" ");
  EXPECT_THAT(Problems(c), Contains("security.authz.adminRoles[0]: must not "
                                    "be empty"));

  c = Parse(SecureYaml());
  c.mutable_services()->mutable_fiat()->set_enabled(false);
  EXPECT_THAT(Problems(c), Contains("security.authz.enabled: needs fiat, but "
                                    "services.fiat.enabled is false"));
  c = Parse(SecureYaml());
  c.mutable_security()->mutable_authz()->set_roles_file("/nonexistent/r.yml");
  EXPECT_THAT(Problems(c),
              ElementsAre(HasSubstr("security.authz.rolesFile: "
                                    "/nonexistent/r.yml does not exist")));
  // Saving refuses an invalid section.
  EXPECT_THAT(SaveHalconfig(dir_ + "/config", c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("security.authz.rolesFile")));
}

TEST_F(SecurityTest, HomeRelativePathsAreExpanded) {
  const char* home = std::getenv("HOME");
  ASSERT_NE(home, nullptr);
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_security()->mutable_authn()->set_users_file("~/users.yml");
  v1::Halconfig effective = EffectiveHalconfig(c);
  EXPECT_EQ(effective.security().authn().users_file(),
            absl::StrCat(home, "/users.yml"));
  EXPECT_EQ(EffectiveHalconfig(effective).security().authn().users_file(),
            effective.security().authn().users_file());
}

TEST_F(SecurityTest, LdapManagerPasswordsAreRedacted) {
  v1::Halconfig c = Parse(SecureYaml());
  c.mutable_security()->mutable_authz()->mutable_ldap()->set_url(
      "ldap://groups");
  c.mutable_security()->mutable_authz()->mutable_ldap()->set_manager_dn(
      "cn=fiat");
  c.mutable_security()->mutable_authz()->mutable_ldap()->set_manager_password(
      "fiat-manager-secret");
  const v1::Halconfig shown = RedactedHalconfig(c);
  EXPECT_EQ(shown.security().authn().ldap().manager_password(), "***");
  EXPECT_EQ(shown.security().authz().ldap().manager_password(), "***");
  const std::string yaml = config::ToYaml(shown);
  EXPECT_THAT(yaml, Not(HasSubstr("ldap-manager-secret")));
  EXPECT_THAT(yaml, Not(HasSubstr("fiat-manager-secret")));
  EXPECT_THAT(yaml, HasSubstr("cn=admin,dc=example,dc=com"));
  auto got = config::GetField(shown, "security.authn.ldap.managerPassword");
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(*got, HasSubstr("***"));
  // Nothing to hide: no empty section appears.
  EXPECT_FALSE(RedactedHalconfig(DefaultHalconfig()).has_security());
  v1::Halconfig no_ldap = DefaultHalconfig();
  no_ldap.mutable_security()->mutable_authz()->set_enabled(true);
  EXPECT_FALSE(RedactedHalconfig(no_ldap).security().has_authn());
  EXPECT_FALSE(RedactedHalconfig(no_ldap).security().authz().has_ldap());
}

TEST(HashPasswordTest, RoundTrip) {
  std::istringstream in("correct horse battery\r\n");
  auto hash = HashPasswordFrom(in, 4);
  ASSERT_THAT(hash, IsOk());
  EXPECT_TRUE(absl::StartsWith(*hash, "$2b$04$")) << *hash;
  EXPECT_TRUE(auth::VerifyPassword("correct horse battery", *hash));
  EXPECT_FALSE(auth::VerifyPassword("correct horse battery\r", *hash));
  EXPECT_FALSE(auth::VerifyPassword("wrong", *hash));

  std::istringstream only_first("first\nsecond\n");
  auto first = HashPasswordFrom(only_first, 4);
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(auth::VerifyPassword("first", *first));

  std::istringstream none("");
  EXPECT_THAT(HashPasswordFrom(none, 4),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no password on stdin")));
  std::istringstream empty("\n");
  EXPECT_THAT(HashPasswordFrom(empty, 4),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::istringstream low_cost("pw\n");
  EXPECT_THAT(HashPasswordFrom(low_cost, 2),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace gennaker::halyard
