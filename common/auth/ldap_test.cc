#include "common/auth/ldap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/process/process.h"
#include "common/testing/ldap_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace gennaker::auth {
namespace {

using ::gennaker::common::v1::LdapConfig;
using ::gennaker::testing::IsOk;
using ::gennaker::testing::LdapServerOptions;
using ::gennaker::testing::StatusIs;
using ::gennaker::testing::TestLdapServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(EscapeLdapFilterValueTest, EscapesRfc4515Specials) {
  EXPECT_EQ(EscapeLdapFilterValue("alice"), "alice");
  EXPECT_EQ(EscapeLdapFilterValue("*"), "\\2a");
  EXPECT_EQ(EscapeLdapFilterValue("a)(uid=*"), "a\\29\\28uid=\\2a");
  EXPECT_EQ(EscapeLdapFilterValue(std::string("*()\\\0", 5)),
            "\\2a\\28\\29\\5c\\00");
  // Characters special in DNs only pass through.
  EXPECT_EQ(EscapeLdapFilterValue("uid=a,ou=b+c"), "uid=a,ou=b+c");
  EXPECT_EQ(EscapeLdapFilterValue(""), "");
  EXPECT_EQ(EscapeLdapFilterValue("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(EscapeLdapDnValueTest, EscapesRfc4514Specials) {
  EXPECT_EQ(EscapeLdapDnValue("alice"), "alice");
  EXPECT_EQ(EscapeLdapDnValue(",+\"\\<>;="), "\\,\\+\\\"\\\\\\<\\>\\;\\=");
  EXPECT_EQ(EscapeLdapDnValue("smith, j"), "smith\\, j");
  // '#' only at the start; spaces only at either end.
  EXPECT_EQ(EscapeLdapDnValue("#1"), "\\#1");
  EXPECT_EQ(EscapeLdapDnValue("a#1"), "a#1");
  EXPECT_EQ(EscapeLdapDnValue(" a b "), "\\ a b\\ ");
  EXPECT_EQ(EscapeLdapDnValue(" "), "\\ ");
  EXPECT_EQ(EscapeLdapDnValue(std::string("a\0b", 3)), "a\\00b");
  // Filter specials are plain in a DN.
  EXPECT_EQ(EscapeLdapDnValue("*()"), "*()");
  EXPECT_EQ(EscapeLdapDnValue(""), "");
}

// The log lines written while it lives.
class CapturedLog {
 public:
  CapturedLog()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)),
        level_(spdlog::default_logger()->level()) {
    spdlog::default_logger()->sinks().push_back(sink_);
    spdlog::default_logger()->set_level(spdlog::level::info);
  }
  ~CapturedLog() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    spdlog::default_logger()->set_level(level_);
  }
  std::string Text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::level::level_enum level_;
};

LdapConfig BaseConfig(const std::string& url) {
  LdapConfig c;
  c.set_url(url);
  c.set_user_dn_pattern("uid={0},ou=users");
  return c;
}

TEST(LdapDirectoryCreateTest, RefusesBadConfig) {
  struct Case {
    LdapConfig config;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back({BaseConfig(""), "ldap.url"});
  cases.push_back({BaseConfig("http://h:80/dc=x"), "ldap.url"});
  cases.push_back({BaseConfig("not a url"), "ldap.url"});
  {
    LdapConfig c = BaseConfig("ldap://h:389");
    c.clear_user_dn_pattern();
    cases.push_back({c, "ldap.user_dn_pattern or ldap.user_search_filter"});
  }
  {
    LdapConfig c = BaseConfig("ldaps://h:636");
    c.set_start_tls(true);
    cases.push_back({c, "ldap.start_tls"});
  }
  {
    LdapConfig c = BaseConfig("ldap://h:389");
    c.set_ca_cert_file("/nonexistent/ca.pem");
    cases.push_back({c, "ldap.ca_cert_file"});
  }
  {
    LdapConfig c = BaseConfig("ldap://h:389");
    c.set_manager_dn("cn=admin,dc=x");
    cases.push_back({c, "ldap.manager_password"});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.config.ShortDebugString());
    EXPECT_THAT(
        LdapDirectory::Create(c.config),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
  EXPECT_THAT(LdapDirectory::Create(BaseConfig("ldap://h")), IsOk());
  EXPECT_THAT(LdapDirectory::Create(BaseConfig("ldaps://h:1636/dc=x,dc=y")),
              IsOk());
}

TEST(UserIdForLogsTest, ShortSha256Prefix) {
  // FIPS 180-2 test vectors: SHA-256("abc") = ba7816bf..., SHA-256("") =
  // e3b0c442..., and a two-block message.
  EXPECT_EQ(UserIdForLogs("abc"), "sha256:ba7816bf");
  EXPECT_EQ(UserIdForLogs(""), "sha256:e3b0c442");
  EXPECT_EQ(
      UserIdForLogs("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "sha256:248d6a61");
  EXPECT_EQ(UserIdForLogs(std::string(1000, 'a')), "sha256:41edece4");
  EXPECT_NE(UserIdForLogs("alice"), UserIdForLogs("Alice"));
}

TEST(LdapDirectoryCreateTest, WarnsOnceAboutCleartextBindsToRemoteHosts) {
  {
    CapturedLog log;
    LdapConfig c = BaseConfig("ldap://ldap.example.com:389/dc=x");
    c.set_manager_dn("cn=admin,dc=x");
    c.set_manager_password("manager-Secret-1");
    ASSERT_THAT(LdapDirectory::Create(c), IsOk());
    const std::string text = log.Text();
    EXPECT_THAT(text, HasSubstr("ldap ldap://ldap.example.com:389"));
    EXPECT_THAT(text, HasSubstr("clear text"));
    EXPECT_THAT(text, Not(HasSubstr("manager-Secret-1")));
    size_t n = 0;
    for (size_t pos = text.find("clear text"); pos != std::string::npos;
         pos = text.find("clear text", pos + 1)) {
      ++n;
    }
    EXPECT_EQ(n, 1u) << text;
  }
  // TLS, or this machine: no warning.
  std::vector<LdapConfig> quiet = {BaseConfig("ldaps://ldap.example.com"),
                                   BaseConfig("ldap://localhost:389"),
                                   BaseConfig("ldap://127.0.0.2:389"),
                                   BaseConfig("ldap://[::1]:389")};
  LdapConfig start_tls = BaseConfig("ldap://ldap.example.com");
  start_tls.set_start_tls(true);
  quiet.push_back(start_tls);
  for (const LdapConfig& c : quiet) {
    SCOPED_TRACE(c.url());
    CapturedLog log;
    ASSERT_THAT(LdapDirectory::Create(c), IsOk());
    EXPECT_THAT(log.Text(), Not(HasSubstr("clear text")));
  }
}

constexpr char kSuffix[] = "dc=example,dc=com";
constexpr char kAlicePassword[] = "alice-Pa55word";
constexpr char kBobPassword[] = "bob-Pa55word";
constexpr char kSmithPassword[] = "smith-Pa55word";

constexpr char kLdif[] = R"(dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=users,dc=example,dc=com
objectClass: organizationalUnit
ou: users

dn: ou=groups,dc=example,dc=com
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=users,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
givenName: Alice
sn: Liddell
mail: alice@example.com
userPassword: alice-Pa55word

dn: uid=bob,ou=users,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Builder
mail: shared@example.com
userPassword: bob-Pa55word

dn: uid=bob2,ou=users,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob2
cn: Bob Two
sn: Two
mail: shared@example.com
userPassword: bob-Pa55word

dn: uid=smith\, j,ou=users,dc=example,dc=com
objectClass: inetOrgPerson
uid: smith, j
cn: J Smith
sn: Smith
userPassword: smith-Pa55word

dn: cn=Developers,ou=groups,dc=example,dc=com
objectClass: groupOfUniqueNames
cn: Developers
uniqueMember: uid=alice,ou=users,dc=example,dc=com
uniqueMember: uid=bob,ou=users,dc=example,dc=com

dn: cn=Admins,ou=groups,dc=example,dc=com
objectClass: groupOfUniqueNames
cn: Admins
uniqueMember: uid=alice,ou=users,dc=example,dc=com

dn: cn=Smiths,ou=groups,dc=example,dc=com
objectClass: groupOfUniqueNames
cn: Smiths
uniqueMember: uid=smith\, j,ou=users,dc=example,dc=com

dn: cn=Legacy,ou=groups,dc=example,dc=com
objectClass: posixGroup
cn: Legacy
gidNumber: 5000
memberUid: alice
)";

// How often `needle` occurs in slapd's -d stats log so far.
int CountInLog(const TestLdapServer& server, const std::string& needle) {
  std::ifstream in(server.dir() + "/slapd.log");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// No secret of the test ever reaches a status message.
void ExpectNoSecrets(const absl::Status& status) {
  for (const char* secret : {kAlicePassword, kBobPassword, kSmithPassword,
                             "admin-secret", "wrong-password"}) {
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(secret)))
        << status;
  }
}

class LdapDirectoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<TestLdapServer>> server =
        TestLdapServer::Start(
            LdapServerOptions{.suffix = kSuffix, .ldif = kLdif, .tls = true});
    ASSERT_THAT(server, IsOk());
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }

  // The root DN rides on the URL, as in Spinnaker.
  static LdapConfig PatternConfig() {
    LdapConfig c;
    c.set_url(absl::StrCat(server_->url(), "/", kSuffix));
    c.set_user_dn_pattern("uid={0},ou=users");
    c.set_group_search_base("ou=groups");
    c.set_manager_dn(server_->admin_dn());
    c.set_manager_password(server_->admin_password());
    return c;
  }

  static LdapConfig SearchConfig() {
    LdapConfig c = PatternConfig();
    c.clear_user_dn_pattern();
    c.set_user_search_base("ou=users");
    c.set_user_search_filter("(uid={0})");
    return c;
  }

  static std::unique_ptr<LdapDirectory> Directory(const LdapConfig& config) {
    absl::StatusOr<std::unique_ptr<LdapDirectory>> dir =
        LdapDirectory::Create(config);
    EXPECT_THAT(dir, IsOk());
    return dir.ok() ? *std::move(dir) : nullptr;
  }

  static void ExpectAlice(const absl::StatusOr<LdapUser>& user) {
    ASSERT_THAT(user, IsOk());
    EXPECT_EQ(user->id, "alice");
    EXPECT_EQ(user->dn, "uid=alice,ou=users,dc=example,dc=com");
    EXPECT_EQ(user->email, "alice@example.com");
    EXPECT_EQ(user->first_name, "Alice");
    EXPECT_EQ(user->last_name, "Liddell");
    EXPECT_THAT(user->groups, ElementsAre("admins", "developers"));
  }

  static void ExpectBadCredentials(const absl::StatusOr<LdapUser>& user) {
    EXPECT_THAT(
        user, StatusIs(absl::StatusCode::kUnauthenticated, "bad credentials"));
    ExpectNoSecrets(user.status());
  }

  static TestLdapServer* server_;
};

TestLdapServer* LdapDirectoryTest::server_ = nullptr;

TEST_F(LdapDirectoryTest, DnPatternBindReturnsUserAndGroups) {
  auto dir = Directory(PatternConfig());
  ASSERT_NE(dir, nullptr);
  ExpectAlice(dir->Authenticate("alice", kAlicePassword));
  absl::StatusOr<LdapUser> bob = dir->Authenticate("bob", kBobPassword);
  ASSERT_THAT(bob, IsOk());
  EXPECT_EQ(bob->email, "shared@example.com");
  EXPECT_EQ(bob->first_name, "");
  EXPECT_THAT(bob->groups, ElementsAre("developers"));
}

TEST_F(LdapDirectoryTest, SearchThenBindReturnsUserAndGroups) {
  auto dir = Directory(SearchConfig());
  ASSERT_NE(dir, nullptr);
  ExpectAlice(dir->Authenticate("alice", kAlicePassword));
}

TEST_F(LdapDirectoryTest, RootDnInUrlIsOptional) {
  LdapConfig c = PatternConfig();
  c.set_url(server_->url());
  c.set_user_dn_pattern(absl::StrCat("uid={0},ou=users,", kSuffix));
  c.set_group_search_base(absl::StrCat("ou=groups,", kSuffix));
  auto dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  ExpectAlice(dir->Authenticate("alice", kAlicePassword));
}

TEST_F(LdapDirectoryTest, DnValuesAreEscaped) {
  auto dir = Directory(PatternConfig());
  ASSERT_NE(dir, nullptr);
  absl::StatusOr<LdapUser> smith =
      dir->Authenticate("smith, j", kSmithPassword);
  ASSERT_THAT(smith, IsOk());
  EXPECT_EQ(smith->dn, "uid=smith\\, j,ou=users,dc=example,dc=com");
  // The DN's backslash is itself escaped in the group filter.
  EXPECT_THAT(smith->groups, ElementsAre("smiths"));

  auto search = Directory(SearchConfig());
  ASSERT_NE(search, nullptr);
  absl::StatusOr<LdapUser> found =
      search->Authenticate("smith, j", kSmithPassword);
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(found->groups, ElementsAre("smiths"));
}

TEST_F(LdapDirectoryTest, WrongPasswordAndUnknownUserLookAlike) {
  for (const LdapConfig& config : {PatternConfig(), SearchConfig()}) {
    auto dir = Directory(config);
    ASSERT_NE(dir, nullptr);
    ExpectBadCredentials(dir->Authenticate("alice", "wrong-password"));
    ExpectBadCredentials(dir->Authenticate("alice", kBobPassword));
    ExpectBadCredentials(dir->Authenticate("nobody", "wrong-password"));
    ExpectBadCredentials(dir->Authenticate("", kAlicePassword));
  }
}

TEST_F(LdapDirectoryTest, RefusedBindLogsAFingerprintNotTheUserId) {
  // A password typed into the user field must not reach the logs.
  const std::string typed = "Typed-Pa55word-In-User";
  for (const LdapConfig& config : {PatternConfig(), SearchConfig()}) {
    CapturedLog log;
    auto dir = Directory(config);
    ASSERT_NE(dir, nullptr);
    ExpectBadCredentials(dir->Authenticate(typed, "x-password"));
    ExpectBadCredentials(dir->Authenticate("alice", "wrong-password"));
    const std::string text = log.Text();
    EXPECT_THAT(text, Not(HasSubstr(typed)));
    EXPECT_THAT(text, Not(HasSubstr("uid=alice")));
    EXPECT_THAT(text, Not(HasSubstr("x-password")));
    EXPECT_THAT(text, Not(HasSubstr("wrong-password")));
    // The refused bind of alice is logged by its fingerprint.
    EXPECT_THAT(text,
                HasSubstr(absl::StrCat("bind as user ", UserIdForLogs("alice"),
                                       " refused")));
  }
}

TEST_F(LdapDirectoryTest, EmptyPasswordIsRefusedBeforeAnyBind) {
  const int connections_before = CountInLog(*server_, "ACCEPT from");
  for (const LdapConfig& config : {PatternConfig(), SearchConfig()}) {
    auto dir = Directory(config);
    ASSERT_NE(dir, nullptr);
    ExpectBadCredentials(dir->Authenticate("alice", ""));
  }
  // Not even a connection: an empty simple bind would be anonymous.
  EXPECT_EQ(CountInLog(*server_, "ACCEPT from"), connections_before);
}

TEST_F(LdapDirectoryTest, InjectionDoesNotMatch) {
  for (const LdapConfig& config : {PatternConfig(), SearchConfig()}) {
    auto dir = Directory(config);
    ASSERT_NE(dir, nullptr);
    for (const char* user : {"*", "a*", "alice)(uid=*", "*)(uid=alice",
                             "alice)(|(uid=*", "alice,ou=users", "uid=alice"}) {
      SCOPED_TRACE(user);
      ExpectBadCredentials(dir->Authenticate(user, kAlicePassword));
      absl::StatusOr<std::vector<std::string>> groups = dir->Groups(user);
      ASSERT_THAT(groups, IsOk());
      EXPECT_THAT(*groups, IsEmpty());
    }
  }
}

TEST_F(LdapDirectoryTest, SeveralEntriesFoundIsBadCredentials) {
  LdapConfig c = SearchConfig();
  c.set_user_search_filter("(mail={0})");
  auto dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  ExpectBadCredentials(dir->Authenticate("shared@example.com", kBobPassword));
  absl::StatusOr<LdapUser> alice =
      dir->Authenticate("alice@example.com", kAlicePassword);
  ASSERT_THAT(alice, IsOk());
  EXPECT_EQ(alice->id, "alice@example.com");
  EXPECT_EQ(alice->dn, "uid=alice,ou=users,dc=example,dc=com");
}

TEST_F(LdapDirectoryTest, GroupsUseTheManagerBind) {
  for (const LdapConfig& config : {PatternConfig(), SearchConfig()}) {
    auto dir = Directory(config);
    ASSERT_NE(dir, nullptr);
    EXPECT_THAT(dir->Groups("alice"), ::gennaker::testing::IsOkAndHolds(
                                          ElementsAre("admins", "developers")));
    EXPECT_THAT(dir->Groups("bob"),
                ::gennaker::testing::IsOkAndHolds(ElementsAre("developers")));
    EXPECT_THAT(dir->Groups("nobody"),
                ::gennaker::testing::IsOkAndHolds(IsEmpty()));
  }
  // A wrong manager password: unavailable, and the password is not quoted.
  LdapConfig bad = SearchConfig();
  bad.set_manager_password("wrong-password");
  auto dir = Directory(bad);
  ASSERT_NE(dir, nullptr);
  absl::StatusOr<std::vector<std::string>> groups = dir->Groups("alice");
  EXPECT_THAT(groups, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("manager bind")));
  ExpectNoSecrets(groups.status());
  absl::StatusOr<LdapUser> user = dir->Authenticate("alice", kAlicePassword);
  EXPECT_THAT(user, StatusIs(absl::StatusCode::kUnavailable));
  ExpectNoSecrets(user.status());
}

TEST_F(LdapDirectoryTest, GroupsAnonymouslyWithoutManager) {
  LdapConfig c = PatternConfig();
  c.clear_manager_dn();
  c.clear_manager_password();
  auto dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  ExpectAlice(dir->Authenticate("alice", kAlicePassword));
  EXPECT_THAT(dir->Groups("bob"),
              ::gennaker::testing::IsOkAndHolds(ElementsAre("developers")));
}

TEST_F(LdapDirectoryTest, GroupFilterWithUserIdAndOtherAttribute) {
  LdapConfig c = PatternConfig();
  c.set_group_search_filter("(memberUid={1})");
  auto dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  EXPECT_THAT(dir->Groups("alice"),
              ::gennaker::testing::IsOkAndHolds(ElementsAre("legacy")));
  c.set_group_search_filter("(uniqueMember={0})");
  c.set_group_role_attribute("objectClass");
  dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  EXPECT_THAT(dir->Groups("bob"), ::gennaker::testing::IsOkAndHolds(
                                      ElementsAre("groupofuniquenames")));
}

TEST_F(LdapDirectoryTest, NoGroupSearchBaseMeansNoGroups) {
  LdapConfig c = PatternConfig();
  c.clear_group_search_base();
  auto dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  absl::StatusOr<LdapUser> alice = dir->Authenticate("alice", kAlicePassword);
  ASSERT_THAT(alice, IsOk());
  EXPECT_THAT(alice->groups, IsEmpty());
  EXPECT_THAT(dir->Groups("alice"),
              ::gennaker::testing::IsOkAndHolds(IsEmpty()));
}

TEST_F(LdapDirectoryTest, StartTlsWithTheFixtureCa) {
  LdapConfig c = SearchConfig();
  c.set_start_tls(true);
  c.set_ca_cert_file(server_->ca_cert_file());
  auto dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  ExpectAlice(dir->Authenticate("alice", kAlicePassword));
  ExpectBadCredentials(dir->Authenticate("alice", "wrong-password"));

  // The system's CAs do not know the fixture's: the handshake fails, and
  // nothing is sent in clear text instead.
  const int binds_before = CountInLog(*server_, "BIND dn=");
  c.clear_ca_cert_file();
  dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  absl::StatusOr<LdapUser> untrusted =
      dir->Authenticate("alice", kAlicePassword);
  EXPECT_THAT(untrusted,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("StartTLS")));
  ExpectNoSecrets(untrusted.status());
  EXPECT_EQ(CountInLog(*server_, "BIND dn="), binds_before);
}

TEST_F(LdapDirectoryTest, LdapsWithTheFixtureCa) {
  LdapConfig c = PatternConfig();
  c.set_url(absl::StrCat(server_->ldaps_url(), "/", kSuffix));
  c.set_ca_cert_file(server_->ca_cert_file());
  auto dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  ExpectAlice(dir->Authenticate("alice", kAlicePassword));
  EXPECT_THAT(dir->Groups("bob"),
              ::gennaker::testing::IsOkAndHolds(ElementsAre("developers")));

  c.clear_ca_cert_file();
  dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  absl::StatusOr<LdapUser> untrusted =
      dir->Authenticate("alice", kAlicePassword);
  EXPECT_THAT(untrusted, StatusIs(absl::StatusCode::kUnavailable));
  ExpectNoSecrets(untrusted.status());
}

TEST_F(LdapDirectoryTest, UnreachableServerIsUnavailable) {
  absl::StatusOr<int> port = process::FreePort();
  ASSERT_THAT(port, IsOk());
  for (const char* scheme : {"ldap", "ldaps"}) {
    LdapConfig c = SearchConfig();
    c.set_url(absl::StrCat(scheme, "://127.0.0.1:", *port, "/", kSuffix));
    auto dir = Directory(c);
    ASSERT_NE(dir, nullptr);
    absl::StatusOr<LdapUser> user = dir->Authenticate("alice", kAlicePassword);
    EXPECT_THAT(user, StatusIs(absl::StatusCode::kUnavailable));
    ExpectNoSecrets(user.status());
    absl::StatusOr<std::vector<std::string>> groups = dir->Groups("alice");
    EXPECT_THAT(groups, StatusIs(absl::StatusCode::kUnavailable));
    ExpectNoSecrets(groups.status());
    // The pattern path binds as the user first.
    c.set_user_dn_pattern("uid={0},ou=users");
    c.clear_user_search_filter();
    dir = Directory(c);
    ASSERT_NE(dir, nullptr);
    user = dir->Authenticate("alice", kAlicePassword);
    EXPECT_THAT(user, StatusIs(absl::StatusCode::kUnavailable));
    ExpectNoSecrets(user.status());
  }
}

TEST_F(LdapDirectoryTest, SilentServerTimesOut) {
  // A socket that listens but never answers: connect succeeds (backlog),
  // the bind then waits for the timeout.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  LdapConfig c = PatternConfig();
  c.set_url(absl::StrCat("ldap://127.0.0.1:", ntohs(addr.sin_port)));
  c.set_timeout_seconds(1);
  auto dir = Directory(c);
  ASSERT_NE(dir, nullptr);
  const absl::Time start = absl::Now();
  absl::StatusOr<LdapUser> user = dir->Authenticate("alice", kAlicePassword);
  const absl::Duration took = absl::Now() - start;
  close(fd);
  EXPECT_THAT(user, StatusIs(absl::StatusCode::kUnavailable));
  ExpectNoSecrets(user.status());
  EXPECT_LT(took, absl::Seconds(4));
}

}  // namespace
}  // namespace gennaker::auth
