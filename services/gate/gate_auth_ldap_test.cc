// gate's authenticator against a real OpenLDAP (slapd): LDAP users bind with
// their password and get their groups as roles; a users-file user is checked
// against the file first; a directory that cannot be reached is UNAVAILABLE,
// never a login.
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/auth/password.h"
#include "common/testing/ldap_server.h"
#include "common/testing/test_stores.h"
#include "services/gate/gate_auth.h"

namespace gennaker::gate {
namespace {

constexpr char kSuffix[] = "dc=example,dc=com";
constexpr char kAdminPassword[] = "ldap-admin-Pw-7q";
constexpr char kAlicePassword[] = "alice-Ldap-Pw-1";
constexpr char kDeployerPassword[] = "deployer-File-Pw-2";
constexpr char kAnonymousPassword[] = "anonymous-Ldap-Pw-3";

std::string Entries() {
  return absl::StrCat(
      "dn: ", kSuffix,
      "\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n"
      "o: Example\ndc: example\n\n",
      "dn: ou=users,", kSuffix,
      "\nobjectClass: organizationalUnit\nou: users\n\n", "dn: ou=groups,",
      kSuffix, "\nobjectClass: organizationalUnit\nou: groups\n\n",
      "dn: uid=alice,ou=users,", kSuffix,
      "\nobjectClass: inetOrgPerson\nuid: alice\ncn: Alice Example\n"
      "givenName: Alice\nsn: Example\nmail: alice@example.com\nuserPassword: ",
      kAlicePassword, "\n\n", "dn: cn=Team-A,ou=groups,", kSuffix,
      "\nobjectClass: groupOfUniqueNames\ncn: Team-A\nuniqueMember: "
      "uid=alice,ou=users,",
      kSuffix, "\n\n",
      // A directory user fiat would take for its unrestricted user.
      "dn: uid=anonymous,ou=users,", kSuffix,
      "\nobjectClass: inetOrgPerson\nuid: anonymous\ncn: Anonymous\n"
      "sn: Anonymous\nuserPassword: ",
      kAnonymousPassword, "\n\n", "dn: cn=Admins,ou=groups,", kSuffix,
      "\nobjectClass: groupOfUniqueNames\ncn: Admins\nuniqueMember: "
      "uid=anonymous,ou=users,",
      kSuffix, "\n\n");
}

http::Request WithBasic(const std::string& user, const std::string& password) {
  http::Request r;
  r.method = "GET";
  r.path = "/applications";
  r.remote_address = "127.0.0.1";
  r.headers["authorization"] =
      "Basic " + absl::Base64Escape(user + ":" + password);
  return r;
}

class GateAuthLdapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ldap =
        testing::TestLdapServer::Start({.suffix = kSuffix,
                                        .ldif = Entries(),
                                        .admin_password = kAdminPassword});
    ASSERT_TRUE(ldap.ok()) << ldap.status();
    ldap_ = ldap->release();
  }
  static void TearDownTestSuite() {
    delete ldap_;
    ldap_ = nullptr;
  }

  void SetUp() override {
    dir_ = testing::MakeTempDir("gate-auth-ldap");
    auto hash = auth::HashPassword(kDeployerPassword, 4);
    ASSERT_TRUE(hash.ok());
    std::ofstream(dir_ + "/users.yaml")
        << "users:\n  - username: deployer\n    passwordHash: \"" << *hash
        << "\"\n    roles: [team-b]\n  - username: alice\n    roles: [extra]\n";
    config_.set_enabled(true);
    config_.set_users_file(dir_ + "/users.yaml");
    auto* ldap = config_.mutable_ldap();
    ldap->set_url(absl::StrCat(ldap_->url(), "/", kSuffix));
    ldap->set_manager_dn(ldap_->admin_dn());
    ldap->set_manager_password(kAdminPassword);
    ldap->set_user_search_base("ou=users");
    ldap->set_user_search_filter("(uid={0})");
    ldap->set_group_search_base("ou=groups");
    ldap->set_timeout_seconds(2);
    config_.set_session_idle_timeout_seconds(3600);
    config_.set_session_absolute_timeout_seconds(7200);
    config_.set_login_failures_before_delay(5);
    config_.set_login_max_delay_seconds(30);
    config_.set_credential_cache_seconds(300);
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  std::unique_ptr<Authenticator> Make() {
    auto a = Authenticator::Create(
        config_, MakeMemorySessionStore(),
        [this](const Identity& id) {
          logins_.push_back(id);
          return absl::OkStatus();
        },
        nullptr);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? std::move(*a) : nullptr;
  }

  static inline testing::TestLdapServer* ldap_ = nullptr;
  std::string dir_;
  v1::GateSecurityConfig config_;
  std::vector<Identity> logins_;
};

TEST_F(GateAuthLdapTest, LdapUsersBindAndTheirGroupsAreRoles) {
  auto auth = Make();
  ASSERT_NE(auth, nullptr);
  auto alice = auth->Authenticate(WithBasic("alice", kAlicePassword));
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->identity.username, "alice");
  EXPECT_EQ(alice->identity.email, "alice@example.com");
  EXPECT_EQ(alice->identity.first_name, "Alice");
  EXPECT_EQ(alice->identity.roles, std::vector<std::string>{"team-a"});
  ASSERT_EQ(logins_.size(), 1u);
  EXPECT_EQ(logins_[0].roles, std::vector<std::string>{"team-a"});

  auto wrong = auth->Authenticate(WithBasic("alice", "not-it"));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth->Authenticate(WithBasic("alice", "")).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth->Authenticate(WithBasic("mallory", "x")).status().code(),
            absl::StatusCode::kUnauthenticated);

  // The form login makes a session like a file user's.
  http::Request form;
  form.remote_address = "127.0.0.1";
  auto login = auth->Login(form, "alice", kAlicePassword);
  ASSERT_TRUE(login.ok()) << login.status();
  ASSERT_EQ(login->headers.size(), 1u);
}

TEST_F(GateAuthLdapTest, AnLdapUserNamedAnonymousCannotLogIn) {
  config_.set_login_failures_before_delay(0);  // every attempt is checked
  for (bool search : {true, false}) {
    SCOPED_TRACE(search ? "search then bind" : "DN pattern");
    if (!search) {
      config_.mutable_ldap()->clear_user_search_filter();
      config_.mutable_ldap()->set_user_dn_pattern("uid={0},ou=users");
    }
    auto auth = Make();
    ASSERT_NE(auth, nullptr);
    for (const char* user : {"anonymous", "Anonymous", " ANONYMOUS "}) {
      SCOPED_TRACE(user);
      auto r = auth->Authenticate(WithBasic(user, kAnonymousPassword));
      EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
      EXPECT_EQ(r.status().message(), "bad credentials");
      http::Request form;
      form.remote_address = "127.0.0.1";
      auto login = auth->Login(form, user, kAnonymousPassword);
      EXPECT_EQ(login.status().code(), absl::StatusCode::kUnauthenticated);
    }
    // Its roles never reach fiat.
    EXPECT_TRUE(logins_.empty());
  }
}

TEST_F(GateAuthLdapTest, LdapUsernamesAreTrimmedAndLowerCased) {
  auto auth = Make();
  ASSERT_NE(auth, nullptr);
  for (const char* user : {"alice", "Alice", "ALICE ", " alice"}) {
    SCOPED_TRACE(user);
    auto r = auth->Authenticate(WithBasic(user, kAlicePassword));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->identity.username, "alice");
    EXPECT_EQ(r->identity.roles, std::vector<std::string>{"team-a"});
  }
  http::Request form;
  form.remote_address = "127.0.0.1";
  auto login = auth->Login(form, " Alice ", kAlicePassword);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->identity.username, "alice");
  // fiat hears of one user, whatever was typed.
  ASSERT_EQ(logins_.size(), 5u);
  for (const Identity& id : logins_) EXPECT_EQ(id.username, "alice");
  // Only spaces: refused.
  EXPECT_EQ(
      auth->Authenticate(WithBasic("   ", kAlicePassword)).status().code(),
      absl::StatusCode::kUnauthenticated);
}

TEST_F(GateAuthLdapTest, UsersFileFirstThenLdap) {
  auto auth = Make();
  ASSERT_NE(auth, nullptr);
  auto deployer = auth->Authenticate(WithBasic("deployer", kDeployerPassword));
  ASSERT_TRUE(deployer.ok()) << deployer.status();
  EXPECT_EQ(deployer->identity.roles, std::vector<std::string>{"team-b"});
  // A file user without a hash logs in through LDAP.
  auto alice = auth->Authenticate(WithBasic("alice", kAlicePassword));
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->identity.roles, std::vector<std::string>{"team-a"});
}

TEST_F(GateAuthLdapTest, AnUnreachableDirectoryIsUnavailable) {
  config_.mutable_ldap()->set_url(absl::StrCat("ldap://127.0.0.1:1/", kSuffix));
  auto auth = Make();
  ASSERT_NE(auth, nullptr);
  auto r = auth->Authenticate(WithBasic("alice", kAlicePassword));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(r.status().message().find(kAlicePassword), std::string::npos);
  // The file's users still log in.
  EXPECT_TRUE(
      auth->Authenticate(WithBasic("deployer", kDeployerPassword)).ok());
}

}  // namespace
}  // namespace gennaker::gate
