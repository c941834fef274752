// gate's authentication over real HTTP: the REST router on a loopback port
// with a memory session store, a users file in a temporary directory and an
// injected clock; backends point nowhere (only routes that call none are
// used).
#include "services/gate/gate_auth.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth/ldap.h"
#include "common/auth/password.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/testing/test_stores.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_backend.h"
#include "services/gate/gate_rest.h"
#include "services/gate/gate_server.h"
#include "spdlog/sinks/ostream_sink.h"

namespace gennaker::gate {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

constexpr char kAlicePassword[] = "alice-Secret-42";
constexpr char kBobPassword[] = "bob-Secret-43";
// A protected route that calls no backend.
constexpr char kProtected[] = "/jobs/preconfigured";

// Everything spdlog writes while it lives.
class CapturedLog {
 public:
  CapturedLog()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)),
        level_(spdlog::default_logger()->level()) {
    sink_->set_pattern("%v");
    spdlog::default_logger()->sinks().push_back(sink_);
    spdlog::default_logger()->set_level(spdlog::level::trace);
  }
  ~CapturedLog() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    spdlog::default_logger()->set_level(level_);
  }
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::level::level_enum level_;
};

std::string Basic(const std::string& user, const std::string& password) {
  return absl::StrCat("Basic ", absl::Base64Escape(user + ":" + password));
}

class GateAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("gate-auth");
    users_file_ = dir_ + "/users.yaml";
    auto alice = auth::HashPassword(kAlicePassword, 4);
    auto bob = auth::HashPassword(kBobPassword, 4);
    ASSERT_TRUE(alice.ok() && bob.ok());
    alice_hash_ = *alice;
    bob_hash_ = *bob;
    WriteUsers(true);
    config_.set_enabled(true);
    config_.set_users_file(users_file_);
    config_.set_session_idle_timeout_seconds(3600);
    config_.set_session_absolute_timeout_seconds(7200);
    config_.set_session_cookie_name("SESSION");
    config_.set_login_failures_before_delay(3);
    config_.set_login_max_delay_seconds(30);
    config_.set_credential_cache_seconds(300);
  }

  void TearDown() override {
    if (server_) server_->Stop();
    testing::RemoveTree(dir_);
  }

  void WriteUsers(bool with_alice) {
    std::ofstream out(users_file_, std::ios::trunc);
    out << "users:\n";
    if (with_alice) {
      out << "  - username: alice\n    passwordHash: \"" << alice_hash_
          << "\"\n    roles: [Dev, ops]\n    email: alice@example.com\n"
          << "    firstName: Alice\n    lastName: Liddell\n";
    }
    out << "  - username: bob\n    passwordHash: \"" << bob_hash_
        << "\"\n    roles: [qa]\n";
  }

  // Starts gate's router with security per config_ (or off when `security`
  // is false).
  void Start(bool security = true) {
    std::shared_ptr<Authenticator> authenticator;
    if (security) {
      std::unique_ptr<SessionStore> store =
          MakeMemorySessionStore([this] { return Now(); });
      store_ = store.get();
      auto a = Authenticator::Create(
          config_, std::move(store),
          [this](const Identity& id) {
            ++fiat_logins_;
            last_login_roles_ = id.roles;
            fiat_login_users_.push_back(id.username);
            return absl::OkStatus();
          },
          [this](const std::string& user) { fiat_logouts_.push_back(user); },
          [this] { return Now(); });
      ASSERT_TRUE(a.ok()) << a.status();
      authenticator = std::move(*a);
    }
    v1::GateDependencies services;
    for (auto* e : {services.mutable_front50(), services.mutable_orca(),
                    services.mutable_clouddriver()}) {
      e->set_address("127.0.0.1:1");
      e->set_deadline_ms(1000);
    }
    auto backends = std::make_shared<const Backends>(ConnectBackends(services));
    RestOptions rest;
    rest.version = "1.2.3";
    rest.cors_allowed_origins = kDefaultCorsAllowedOrigins;
    rest.authenticator = authenticator;
    auto server = http::Server::Start({}, MakeRestRouter(backends, rest));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  system_clock::time_point Now() const {
    return system_clock::time_point(seconds(now_s_.load()));
  }
  void Advance(int s) { now_s_ += s; }

  http::ClientResponse Call(
      const std::string& method, const std::string& path,
      std::vector<std::pair<std::string, std::string>> headers = {},
      const std::string& body = "") {
    http::ClientRequest req;
    req.method = method;
    req.url = absl::StrCat("http://127.0.0.1:", server_->port(), path);
    req.headers = std::move(headers);
    req.body = body;
    auto resp = http::Fetch(req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : http::ClientResponse{};
  }

  http::ClientResponse Get(const std::string& path,
                           const std::string& authorization = "",
                           const std::string& cookie = "") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!authorization.empty())
      headers.emplace_back("Authorization", authorization);
    if (!cookie.empty()) headers.emplace_back("Cookie", cookie);
    return Call("GET", path, headers);
  }

  http::ClientResponse FormLogin(const std::string& user,
                                 const std::string& password,
                                 const std::string& query = "") {
    return Call("POST", "/login" + query,
                {{"Content-Type", "application/x-www-form-urlencoded"}},
                absl::StrCat("username=", http::PercentEncode(user),
                             "&password=", http::PercentEncode(password)));
  }

  // "SESSION=<value>" from a login's Set-Cookie.
  static std::string SessionCookie(const http::ClientResponse& resp) {
    auto it = resp.headers.find("set-cookie");
    if (it == resp.headers.end()) return "";
    return it->second.substr(0, it->second.find(';'));
  }

  static nlohmann::json JsonOf(const http::ClientResponse& resp) {
    return nlohmann::json::parse(resp.body, nullptr, false);
  }

  std::string dir_, users_file_, alice_hash_, bob_hash_;
  v1::GateSecurityConfig config_;
  std::atomic<int64_t> now_s_{1'800'000'000};
  std::atomic<int> fiat_logins_{0};
  std::vector<std::string> last_login_roles_;
  std::vector<std::string> fiat_login_users_;
  std::vector<std::string> fiat_logouts_;
  SessionStore* store_ = nullptr;  // owned by the authenticator
  std::unique_ptr<http::Server> server_;
};

TEST_F(GateAuthTest, SecurityOffEveryoneIsAnonymousAsBefore) {
  Start(/*security=*/false);
  auto user = Get("/auth/user");
  EXPECT_EQ(user.status, 200);
  EXPECT_EQ(JsonOf(user)["username"], "anonymous");
  EXPECT_TRUE(JsonOf(user)["email"].is_null());
  EXPECT_EQ(Get(kProtected).status, 200);
  // A client's user header changes nothing.
  auto spoofed = Call("GET", "/auth/user", {{"X-SPINNAKER-USER", "admin"}});
  EXPECT_EQ(JsonOf(spoofed)["username"], "anonymous");
  EXPECT_EQ(FormLogin("alice", "whatever").status, 200);
}

TEST_F(GateAuthTest, OpenRoutesNeedNoLoginOthersAnswer401) {
  Start();
  EXPECT_EQ(Get("/health").status, 200);
  EXPECT_EQ(Get("/version").status, 200);
  auto user = Get("/auth/user");
  EXPECT_EQ(user.status, 200);
  EXPECT_EQ(user.body, "{}");
  auto page = Get("/login");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(absl::StrContains(page.body, "<form method=\"post\""));
  EXPECT_EQ(Get("/auth/loggedOut").status, 200);

  auto denied = Get(kProtected);
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(JsonOf(denied)["message"],
            "Full authentication is required to access this resource");
  EXPECT_EQ(denied.headers["www-authenticate"], R"(Basic realm="Spinnaker")");
  // Deck's XHRs get no basic-auth dialog.
  auto xhr = Call("GET", kProtected, {{"X-Requested-With", "XMLHttpRequest"}});
  EXPECT_EQ(xhr.status, 401);
  EXPECT_EQ(xhr.headers.count("www-authenticate"), 0u);
}

TEST_F(GateAuthTest, BasicCredentialsOnEveryRequest) {
  Start();
  auto ok = Get(kProtected, Basic("alice", kAlicePassword));
  EXPECT_EQ(ok.status, 200) << ok.body;
  // Usernames match ignoring case; the identity is the file's spelling.
  auto user = Get("/auth/user", Basic("ALICE", kAlicePassword));
  auto j = JsonOf(user);
  EXPECT_EQ(j["username"], "alice");
  EXPECT_EQ(j["email"], "alice@example.com");
  EXPECT_EQ(j["firstName"], "Alice");
  EXPECT_EQ(j["roles"], nlohmann::json({"dev", "ops"}));
  EXPECT_EQ(j["authorities"][0]["authority"], "dev");
  EXPECT_EQ(j["enabled"], true);

  auto bad = Get(kProtected, Basic("alice", "wrong"));
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(JsonOf(bad)["message"], "Bad credentials");
  EXPECT_EQ(Get(kProtected, Basic("nobody", "x")).status, 401);
  EXPECT_EQ(Get(kProtected, "Basic !!!notbase64").status, 401);
  EXPECT_EQ(fiat_logins_, 2);  // alice, then ALICE: each verified once
  EXPECT_EQ(last_login_roles_, (std::vector<std::string>{"dev", "ops"}));
}

TEST_F(GateAuthTest, FormLoginSetsASessionCookieTheNextRequestUses) {
  Start();
  auto login = FormLogin("alice", kAlicePassword);
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(JsonOf(login)["username"], "alice");
  const std::string set_cookie = login.headers["set-cookie"];
  EXPECT_TRUE(absl::StartsWith(set_cookie, "SESSION=")) << set_cookie;
  EXPECT_TRUE(absl::StrContains(set_cookie, "; Path=/"));
  EXPECT_TRUE(absl::StrContains(set_cookie, "HttpOnly"));
  EXPECT_TRUE(absl::StrContains(set_cookie, "SameSite=Lax"));
  EXPECT_FALSE(absl::StrContains(set_cookie, "Secure"));
  const std::string cookie = SessionCookie(login);
  EXPECT_GE(cookie.size(), 8u + 43u);  // 32 bytes, base64url

  EXPECT_EQ(Get(kProtected, "", cookie).status, 200);
  EXPECT_EQ(JsonOf(Get("/auth/user", "", "other=1; " + cookie))["username"],
            "alice");
  EXPECT_EQ(Get(kProtected, "", "SESSION=forged").status, 401);
  // Logging in again replaces the session.
  auto relogin = Call("POST", "/login",
                      {{"Content-Type", "application/x-www-form-urlencoded"},
                       {"Cookie", cookie}},
                      absl::StrCat("username=alice&password=",
                                   http::PercentEncode(kAlicePassword)));
  ASSERT_EQ(relogin.status, 200);
  EXPECT_EQ(Get(kProtected, "", cookie).status, 401);
  EXPECT_EQ(Get(kProtected, "", SessionCookie(relogin)).status, 200);

  // JSON login, and a relative redirect after it.
  auto json = Call(
      "POST", "/login?redirect=/applications",
      {{"Content-Type", "application/json"}},
      absl::StrCat(R"({"username":"bob","password":")", kBobPassword, R"("})"));
  EXPECT_EQ(json.status, 302);
  EXPECT_EQ(json.headers["location"], "/applications");
  EXPECT_NE(SessionCookie(json), cookie);
  // Never off-site.
  auto offsite = FormLogin("bob", kBobPassword, "?redirect=//evil.example");
  EXPECT_EQ(offsite.status, 200);

  EXPECT_EQ(FormLogin("alice", "wrong").status, 401);
  EXPECT_EQ(FormLogin("", "").status, 401);
}

TEST_F(GateAuthTest, SecureCookieWhenConfigured) {
  config_.set_secure_cookie(true);
  config_.set_session_cookie_name("GATE_SID");
  Start();
  auto login = FormLogin("alice", kAlicePassword);
  EXPECT_TRUE(absl::StartsWith(login.headers["set-cookie"], "GATE_SID="));
  EXPECT_TRUE(absl::EndsWith(login.headers["set-cookie"], "; Secure"));
  EXPECT_EQ(Get(kProtected, "", SessionCookie(login)).status, 200);
}

TEST_F(GateAuthTest, SessionsEndAfterTheIdleTimeout) {
  config_.set_session_absolute_timeout_seconds(100000);
  Start();
  const std::string cookie = SessionCookie(FormLogin("alice", kAlicePassword));
  Advance(3000);
  EXPECT_EQ(Get(kProtected, "", cookie).status, 200);  // renews the TTL
  Advance(3000);  // past the first hour: alive because it was renewed
  EXPECT_EQ(Get(kProtected, "", cookie).status, 200);
  Advance(30);  // inside the minute: no renewal needed
  EXPECT_EQ(Get(kProtected, "", cookie).status, 200);
  Advance(3601);
  EXPECT_EQ(Get(kProtected, "", cookie).status, 401);
}

TEST_F(GateAuthTest, SessionsEndAfterTheAbsoluteTimeoutEvenWhenUsed) {
  Start();
  const std::string cookie = SessionCookie(FormLogin("alice", kAlicePassword));
  for (int i = 0; i < 4; ++i) {
    Advance(1790);
    EXPECT_EQ(Get(kProtected, "", cookie).status, 200) << i;
  }
  Advance(100);  // 7260 s after the login
  EXPECT_EQ(Get(kProtected, "", cookie).status, 401);
}

TEST_F(GateAuthTest, LogoutEndsTheSession) {
  Start();
  const std::string cookie = SessionCookie(FormLogin("alice", kAlicePassword));
  auto out = Get("/auth/logout", "", cookie);
  EXPECT_EQ(out.status, 302);
  EXPECT_EQ(out.headers["location"], "/auth/loggedOut");
  EXPECT_TRUE(absl::StrContains(out.headers["set-cookie"], "SESSION=;"));
  EXPECT_TRUE(absl::StrContains(out.headers["set-cookie"], "Max-Age=0"));
  EXPECT_EQ(fiat_logouts_, std::vector<std::string>{"alice"});
  EXPECT_EQ(Get(kProtected, "", cookie).status, 401);
  EXPECT_EQ(Get("/auth/user", "", cookie).body, "{}");
  // POST works too (no body).
  const std::string again = SessionCookie(FormLogin("alice", kAlicePassword));
  EXPECT_EQ(Call("POST", "/auth/logout", {{"Cookie", again}}).status, 302);
  EXPECT_EQ(Get(kProtected, "", again).status, 401);
}

TEST_F(GateAuthTest, RepeatedFailuresAreDelayedAndASuccessResets) {
  Start();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Get(kProtected, Basic("alice", "wrong")).status, 401) << i;
  }
  // Refused before the password is checked, even the right one.
  auto throttled = Get(kProtected, Basic("alice", kAlicePassword));
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.headers["retry-after"], "1");
  EXPECT_TRUE(absl::StrContains(JsonOf(throttled)["message"].get<std::string>(),
                                "too many failed logins; retry in 1 s"));
  EXPECT_EQ(FormLogin("alice", kAlicePassword).status, 429);
  Advance(2);
  // The delay doubles per further failure.
  EXPECT_EQ(Get(kProtected, Basic("alice", "wrong")).status, 401);
  auto longer = FormLogin("alice", kAlicePassword);
  EXPECT_EQ(longer.status, 429);
  EXPECT_EQ(longer.headers["retry-after"], "2");
  Advance(3);
  EXPECT_EQ(Get(kProtected, Basic("alice", kAlicePassword)).status, 200);
  // The success reset alice's count; the address keeps its own.
  auto user = store_->Counter("gate:loginfail:user:alice");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->first, 0);
  auto address = store_->Counter("gate:loginfail:addr:127.0.0.1");
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(address->first, 4);
}

TEST_F(GateAuthTest, FailuresFromOneAddressAcrossUsersAreDelayed) {
  config_.set_login_failures_before_delay(2);
  Start();
  EXPECT_EQ(Get(kProtected, Basic("alice", "wrong")).status, 401);
  EXPECT_EQ(Get(kProtected, Basic("bob", "wrong")).status, 401);
  auto throttled = Get(kProtected, Basic("carol", "whatever"));
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.headers["retry-after"], "1");
}

TEST_F(GateAuthTest, ACachedCredentialIsNotVerifiedAgain) {
  Start();
  EXPECT_EQ(Get(kProtected, Basic("alice", kAlicePassword)).status, 200);
  EXPECT_EQ(fiat_logins_, 1);
  // alice leaves the users file: the remembered credential still passes, so
  // it was not checked against the file (nor hashed) again.
  WriteUsers(false);
  EXPECT_EQ(Get(kProtected, Basic("alice", kAlicePassword)).status, 200);
  EXPECT_EQ(fiat_logins_, 1);
  // A different password is no cache hit.
  EXPECT_EQ(Get(kProtected, Basic("alice", "wrong")).status, 401);
  Advance(301);
  EXPECT_EQ(Get(kProtected, Basic("alice", kAlicePassword)).status, 401);
}

TEST_F(GateAuthTest, NoCacheWhenItsTimeIsZero) {
  config_.set_credential_cache_seconds(0);
  Start();
  EXPECT_EQ(Get(kProtected, Basic("alice", kAlicePassword)).status, 200);
  WriteUsers(false);
  EXPECT_EQ(Get(kProtected, Basic("alice", kAlicePassword)).status, 401);
}

TEST_F(GateAuthTest, UserHeaderOnlyFromTrustedAddresses) {
  config_.add_trusted_user_header_sources("10.0.0.0/8");
  config_.add_trusted_user_header_sources("fd00::/8");
  Start();
  auto ignored = Call("GET", kProtected, {{"X-SPINNAKER-USER", "admin"}});
  EXPECT_EQ(ignored.status, 401);
  EXPECT_EQ(Call("GET", "/auth/user", {{"X-SPINNAKER-USER", "admin"}}).body,
            "{}");
}

TEST_F(GateAuthTest, UserHeaderFromATrustedProxyIsTheUser) {
  config_.add_trusted_user_header_sources("127.0.0.0/8");
  config_.add_trusted_user_header_sources("::1");
  Start();
  auto ok = Call("GET", "/auth/user", {{"X-SPINNAKER-USER", "carol"}});
  EXPECT_EQ(JsonOf(ok)["username"], "carol");
  EXPECT_EQ(Call("GET", kProtected, {{"X-SPINNAKER-USER", "carol"}}).status,
            200);
}

TEST_F(GateAuthTest, ReservedUserNamesAreRefusedEverywhere) {
  config_.add_trusted_user_header_sources("127.0.0.0/8");
  config_.add_trusted_user_header_sources("::1");
  config_.set_login_failures_before_delay(0);  // every attempt is checked
  Start();
  // fiat takes "anonymous" for its unrestricted user: whoever logged in as it
  // would hand their roles to everyone.
  for (const char* user : {"anonymous", "Anonymous", " ANONYMOUS ",
                           "__unrestricted_user__", "__Unrestricted_User__ "}) {
    SCOPED_TRACE(user);
    auto header = Call("GET", kProtected, {{"X-SPINNAKER-USER", user}});
    EXPECT_EQ(header.status, 401);
    EXPECT_EQ(JsonOf(header)["message"], "Bad credentials");
    // An open route answers, but to no one.
    EXPECT_EQ(Call("GET", "/auth/user", {{"X-SPINNAKER-USER", user}}).body,
              "{}");
    EXPECT_EQ(FormLogin(user, kAlicePassword).status, 401);
    EXPECT_EQ(Get(kProtected, Basic(user, kAlicePassword)).status, 401);
  }
  // A name that is only spaces is no name.
  EXPECT_EQ(Call("GET", kProtected, {{"X-SPINNAKER-USER", "   "}}).status, 401);
  EXPECT_EQ(fiat_logins_, 0);
  EXPECT_TRUE(fiat_login_users_.empty());
}

TEST_F(GateAuthTest, UsernamesAreTrimmedAndLowerCasedEverywhere) {
  {
    // The file's spelling does not matter either.
    std::ofstream out(users_file_, std::ios::trunc);
    out << "users:\n  - username: Alice\n    passwordHash: \"" << alice_hash_
        << "\"\n    roles: [dev]\n";
  }
  config_.set_credential_cache_seconds(0);
  config_.set_login_failures_before_delay(10);
  config_.add_trusted_user_header_sources("127.0.0.0/8");
  config_.add_trusted_user_header_sources("::1");
  Start();
  for (const char* user : {"alice", "Alice", "ALICE ", " alice"}) {
    SCOPED_TRACE(user);
    auto basic = Get("/auth/user", Basic(user, kAlicePassword));
    EXPECT_EQ(JsonOf(basic)["username"], "alice");
    const std::string cookie = SessionCookie(FormLogin(user, kAlicePassword));
    ASSERT_FALSE(cookie.empty());
    EXPECT_EQ(JsonOf(Get("/auth/user", "", cookie))["username"], "alice");
  }
  ASSERT_EQ(fiat_login_users_.size(), 8u);
  for (const std::string& u : fiat_login_users_) EXPECT_EQ(u, "alice");
  // The trusted header too.
  auto header = Call("GET", "/auth/user", {{"X-SPINNAKER-USER", " Carol "}});
  EXPECT_EQ(JsonOf(header)["username"], "carol");

  // Failures under any spelling count against one user.
  EXPECT_EQ(FormLogin("Alice", "wrong").status, 401);
  EXPECT_EQ(FormLogin(" alice", "wrong").status, 401);
  EXPECT_EQ(Get(kProtected, Basic("ALICE ", "wrong")).status, 401);
  auto count = store_->Counter("gate:loginfail:user:alice");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->first, 3);
}

// The store key of a session cookie's value, as gate computes it.
std::string SessionKeyOf(const std::string& value) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(value.data()), value.size(),
         digest);
  return absl::StrCat(
      "gate:session:",
      absl::BytesToHexString(absl::string_view(
          reinterpret_cast<const char*>(digest), sizeof(digest))));
}

TEST_F(GateAuthTest, StoredSessionsAreCanonicalAndNeverAnonymous) {
  Start();
  auto put = [&](const std::string& value, const std::string& user) {
    const std::string json =
        nlohmann::json({{"username", user},
                        {"roles", {"admins"}},
                        {"createdMs", Now().time_since_epoch() /
                                          std::chrono::milliseconds(1)}})
            .dump();
    ASSERT_TRUE(store_->Put(SessionKeyOf(value), json, seconds(600)).ok());
  };
  // Written before names were canonical.
  put("old-session-value", " Alice ");
  auto old = Get("/auth/user", "", "SESSION=old-session-value");
  EXPECT_EQ(JsonOf(old)["username"], "alice");
  // A session of fiat's unrestricted user is dropped, not honoured.
  put("anonymous-session-value", "Anonymous");
  EXPECT_EQ(Get(kProtected, "", "SESSION=anonymous-session-value").status, 401);
  auto gone = store_->Get(SessionKeyOf("anonymous-session-value"));
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(GateAuthTest, ADeletedUsersFileLetsNoOneIn) {
  config_.set_credential_cache_seconds(0);
  Start();
  EXPECT_EQ(Get(kProtected, Basic("alice", kAlicePassword)).status, 200);
  ASSERT_EQ(std::remove(users_file_.c_str()), 0);
  EXPECT_EQ(Get(kProtected, Basic("alice", kAlicePassword)).status, 401);
  EXPECT_EQ(FormLogin("bob", kBobPassword).status, 401);
  WriteUsers(true);
  EXPECT_EQ(Get(kProtected, Basic("alice", kAlicePassword)).status, 200);
}

TEST_F(GateAuthTest, FailedLoginsLogAHashOfTheUserName) {
  CapturedLog log;
  Start();
  // A password typed into the user field.
  const std::string typed = "Typed-Secret-77";
  EXPECT_EQ(FormLogin(typed, "whatever-1").status, 401);
  EXPECT_EQ(Get(kProtected, Basic(typed, "whatever-2")).status, 401);
  const std::string logged = log.text();
  EXPECT_FALSE(absl::StrContains(absl::AsciiStrToLower(logged),
                                 absl::AsciiStrToLower(typed)))
      << logged;
  EXPECT_TRUE(absl::StrContains(
      logged,
      absl::StrCat("failed login of ", auth::UserIdForLogs("typed-secret-77"))))
      << logged;
}

TEST_F(GateAuthTest, AuthRedirectSendsToLoginThenBack) {
  Start();
  auto to_login = Get("/auth/redirect?to=http%3A%2F%2Flocalhost%3A9000%2F");
  EXPECT_EQ(to_login.status, 302);
  EXPECT_EQ(to_login.headers["location"],
            "/login?redirect=%2Fauth%2Fredirect%3Fto%3Dhttp%253A%252F%252F"
            "localhost%253A9000%252F");
  const std::string cookie = SessionCookie(FormLogin("alice", kAlicePassword));
  auto back =
      Get("/auth/redirect?to=http%3A%2F%2Flocalhost%3A9000%2F", "", cookie);
  EXPECT_EQ(back.status, 302);
  EXPECT_EQ(back.headers["location"], "http://localhost:9000/");
  auto path = Get("/auth/redirect?to=/applications", "", cookie);
  EXPECT_EQ(path.headers["location"], "/applications");
  EXPECT_EQ(
      Get("/auth/redirect?to=https%3A%2F%2Fevil.example%2F", "", cookie).status,
      400);
  EXPECT_EQ(Get("/auth/redirect?to=//evil.example", "", cookie).status, 400);
}

TEST_F(GateAuthTest, NoPasswordOrCookieInLogsOrErrorBodies) {
  CapturedLog log;
  Start();
  std::string bodies;
  auto login = FormLogin("alice", kAlicePassword);
  const std::string cookie = SessionCookie(login);
  const std::string value = cookie.substr(cookie.find('=') + 1);
  bodies += Get(kProtected, "", cookie).body;
  bodies += FormLogin("alice", "wrong-Secret-99").body;
  bodies += Get(kProtected, Basic("alice", "wrong-Secret-98")).body;
  bodies += Get(kProtected, Basic("alice", "wrong-Secret-97")).body;
  bodies += Get(kProtected, Basic("alice", kAlicePassword)).body;  // 429
  bodies += Get("/auth/logout", "", cookie).body;
  bodies += Get(kProtected, "", cookie).body;
  const std::string logged = log.text();
  EXPECT_TRUE(absl::StrContains(logged, "alice")) << logged;
  for (const std::string& secret :
       {std::string(kAlicePassword), std::string("wrong-Secret-9"), value}) {
    EXPECT_FALSE(absl::StrContains(logged, secret)) << secret << "\n" << logged;
    EXPECT_FALSE(absl::StrContains(bodies, secret)) << secret << "\n" << bodies;
  }
}

TEST(AuthenticatorCreateTest, RefusesBadConfigNamingTheKey) {
  v1::GateSecurityConfig config;
  config.set_enabled(true);
  config.set_session_idle_timeout_seconds(60);
  auto none =
      Authenticator::Create(config, MakeMemorySessionStore(), nullptr, nullptr);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(none.status().message(), "usersFile"));

  config.set_users_file("/nonexistent/users.yaml");
  auto missing =
      Authenticator::Create(config, MakeMemorySessionStore(), nullptr, nullptr);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(missing.status().message(), "security.usersFile"));

  const std::string dir = testing::MakeTempDir("gate-auth-create");
  std::ofstream(dir + "/users.yaml") << "users: []\n";
  config.set_users_file(dir + "/users.yaml");
  for (const char* bad :
       {"300.1.1.1", "10.0.0.0/33", "::1/129", "host", "10.0.0.0/"}) {
    v1::GateSecurityConfig c = config;
    c.add_trusted_user_header_sources(bad);
    auto s =
        Authenticator::Create(c, MakeMemorySessionStore(), nullptr, nullptr);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(
        absl::StrContains(s.status().message(), "trustedUserHeaderSources[0]"))
        << s.status();
  }
  v1::GateSecurityConfig good = config;
  for (const char* ok : {"10.0.0.0/8", "192.168.1.7", "::1", "fd00::/8",
                         "::ffff:10.0.0.0/104"}) {
    good.add_trusted_user_header_sources(ok);
  }
  EXPECT_TRUE(
      Authenticator::Create(good, MakeMemorySessionStore(), nullptr, nullptr)
          .ok());

  v1::GateSecurityConfig off;
  auto disabled = Authenticator::Create(off, nullptr, nullptr, nullptr);
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE((*disabled)->enabled());
  testing::RemoveTree(dir);
}

TEST(GateSecurityConfigTest, DefaultsAndValidation) {
  v1::GateConfig config;
  ApplyGateDefaults(&config);
  EXPECT_FALSE(config.security().enabled());
  EXPECT_EQ(config.security().session_idle_timeout_seconds(), 3600);
  EXPECT_EQ(config.security().session_absolute_timeout_seconds(), 43200);
  EXPECT_EQ(config.security().session_cookie_name(), "SESSION");
  EXPECT_EQ(config.security().login_failures_before_delay(), 5);
  EXPECT_EQ(config.security().login_max_delay_seconds(), 30);
  EXPECT_EQ(config.security().credential_cache_seconds(), 300);
  config.mutable_server()->set_grpc_port(8085);
  config.mutable_server()->set_admin_port(18085);
  EXPECT_TRUE(ValidateConfig(config).ok()) << ValidateConfig(config);

  v1::GateConfig secured = config;
  secured.mutable_security()->set_enabled(true);
  absl::Status s = ValidateConfig(secured);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "security.usersFile")) << s;
  secured.mutable_security()->set_users_file("/etc/gennaker/users.yaml");
  EXPECT_TRUE(ValidateConfig(secured).ok());

  v1::GateConfig authz = config;
  authz.mutable_authorization()->set_enabled(true);
  s = ValidateConfig(authz);
  EXPECT_TRUE(absl::StrContains(s.message(), "services.fiat.address")) << s;
  authz.mutable_services()->mutable_fiat()->set_address("127.0.0.1:7003");
  EXPECT_TRUE(ValidateConfig(authz).ok());
}

}  // namespace
}  // namespace gennaker::gate
