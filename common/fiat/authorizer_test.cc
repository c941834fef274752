#include "common/fiat/authorizer.h"

#include <gmock/gmock.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/testing/status_matchers.h"

namespace gennaker::fiat {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::ResourceView View(const std::string& name,
                      std::vector<v1::Authorization> authorizations) {
  v1::ResourceView view;
  view.set_name(name);
  for (v1::Authorization a : authorizations) view.add_authorizations(a);
  return view;
}

// bob: READ+WRITE on app "Shop", READ on "catalog"; WRITE (no READ) on account
// prod; READ on jenkins; service account deploy-bot; role devs.
v1::UserPermission Bob() {
  v1::UserPermission p;
  p.set_name("bob");
  *p.add_applications() =
      View("Shop", {v1::AUTHORIZATION_READ, v1::AUTHORIZATION_WRITE});
  *p.add_applications() = View("catalog", {v1::AUTHORIZATION_READ});
  *p.add_accounts() = View("prod", {v1::AUTHORIZATION_WRITE});
  *p.add_build_services() = View("jenkins", {v1::AUTHORIZATION_READ});
  p.add_service_accounts()->set_name("deploy-bot");
  v1::RoleView* role = p.add_roles();
  role->set_name("devs");
  role->set_source(v1::ROLE_SOURCE_FILE);
  return p;
}

v1::UserPermission Unrestricted() {
  v1::UserPermission p;
  p.set_name("__unrestricted_user__");
  *p.add_applications() =
      View("public", {v1::AUTHORIZATION_READ, v1::AUTHORIZATION_WRITE,
                      v1::AUTHORIZATION_EXECUTE});
  return p;
}

// A map of users; counts calls; can be made to fail.
class FakeSource : public PermissionSource {
 public:
  struct State {
    std::map<std::string, v1::UserPermission> users;
    std::vector<std::string> asked;
    absl::Status error = absl::OkStatus();
    // What fiat itself grants on applications the cached sets do not list
    // (created after they were resolved), by user; and who asked.
    std::map<std::string, std::vector<std::string>> unlisted_grants;
    std::vector<std::string> rechecked;
  };
  explicit FakeSource(State* state) : state_(state) {}

  absl::StatusOr<v1::UserPermission> Get(const std::string& user) override {
    state_->asked.push_back(user);
    if (!state_->error.ok()) return state_->error;
    auto it = state_->users.find(user);
    if (it == state_->users.end()) {
      return absl::NotFoundError("user " + user + " not found");
    }
    return it->second;
  }

  absl::StatusOr<bool> CheckUnlisted(const std::string& user, v1::ResourceType,
                                     absl::string_view name,
                                     v1::Authorization) override {
    state_->rechecked.push_back(absl::StrCat(user, ":", name));
    if (!state_->error.ok()) return state_->error;
    for (const std::string& app : state_->unlisted_grants[user]) {
      if (app == name) return true;
    }
    return false;
  }

 private:
  State* state_;
};

class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizerTest() {
    state_.users["bob"] = Bob();
    state_.users["anonymous"] = Unrestricted();
  }

  std::unique_ptr<Authorizer> Make(int ttl_seconds = 0, int max_entries = 0) {
    common::v1::AuthorizationConfig config;
    config.set_enabled(true);
    config.set_cache_ttl_seconds(ttl_seconds);
    config.set_cache_max_entries(max_entries);
    return std::make_unique<Authorizer>(std::make_unique<FakeSource>(&state_),
                                        config, [this] { return now_; });
  }

  void Advance(std::chrono::seconds seconds) { now_ += seconds; }

  FakeSource::State state_;
  std::chrono::steady_clock::time_point now_{};
};

TEST(AllowsTest, AdminMayDoEverythingButCreate) {
  v1::UserPermission admin;
  admin.set_admin(true);
  EXPECT_TRUE(Allows(admin, v1::RESOURCE_TYPE_APPLICATION, "any",
                     v1::AUTHORIZATION_WRITE));
  EXPECT_TRUE(
      Allows(admin, v1::RESOURCE_TYPE_ACCOUNT, "any", v1::AUTHORIZATION_READ));
  EXPECT_TRUE(Allows(admin, v1::RESOURCE_TYPE_SERVICE_ACCOUNT, "any",
                     v1::AUTHORIZATION_UNSPECIFIED));
  EXPECT_TRUE(
      Allows(admin, v1::RESOURCE_TYPE_ROLE, "any", v1::AUTHORIZATION_READ));
  EXPECT_FALSE(Allows(admin, v1::RESOURCE_TYPE_APPLICATION, "any",
                      v1::AUTHORIZATION_CREATE));
}

TEST(AllowsTest, ApplicationsCompareNamesIgnoringCase) {
  v1::UserPermission bob = Bob();
  EXPECT_TRUE(Allows(bob, v1::RESOURCE_TYPE_APPLICATION, "shop",
                     v1::AUTHORIZATION_WRITE));
  EXPECT_TRUE(Allows(bob, v1::RESOURCE_TYPE_APPLICATION, "SHOP",
                     v1::AUTHORIZATION_READ));
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_APPLICATION, "shop",
                      v1::AUTHORIZATION_EXECUTE));
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_APPLICATION, "catalog",
                      v1::AUTHORIZATION_WRITE));
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_APPLICATION, "shop",
                      v1::AUTHORIZATION_CREATE));
}

TEST(AllowsTest, UnknownApplicationsOnlyWhenTheViewAllowsThem) {
  v1::UserPermission bob = Bob();
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_APPLICATION, "unknown",
                      v1::AUTHORIZATION_READ));
  bob.set_allow_access_to_unknown_applications(true);
  EXPECT_TRUE(Allows(bob, v1::RESOURCE_TYPE_APPLICATION, "unknown",
                     v1::AUTHORIZATION_WRITE));
  // A listed application still needs the authorization.
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_APPLICATION, "catalog",
                      v1::AUTHORIZATION_WRITE));
}

TEST(AllowsTest, AccountWriteDoesNotImplyRead) {
  v1::UserPermission bob = Bob();
  EXPECT_TRUE(
      Allows(bob, v1::RESOURCE_TYPE_ACCOUNT, "PROD", v1::AUTHORIZATION_WRITE));
  EXPECT_FALSE(
      Allows(bob, v1::RESOURCE_TYPE_ACCOUNT, "prod", v1::AUTHORIZATION_READ));
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_ACCOUNT, "staging",
                      v1::AUTHORIZATION_WRITE));
  // Unknown accounts are never allowed, whatever the application flag says.
  bob.set_allow_access_to_unknown_applications(true);
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_ACCOUNT, "staging",
                      v1::AUTHORIZATION_WRITE));
}

TEST(AllowsTest, BuildServicesLikeAccounts) {
  v1::UserPermission bob = Bob();
  EXPECT_TRUE(Allows(bob, v1::RESOURCE_TYPE_BUILD_SERVICE, "Jenkins",
                     v1::AUTHORIZATION_READ));
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_BUILD_SERVICE, "jenkins",
                      v1::AUTHORIZATION_WRITE));
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_BUILD_SERVICE, "travis",
                      v1::AUTHORIZATION_READ));
}

TEST(AllowsTest, ServiceAccountsAndRolesAreMembership) {
  v1::UserPermission bob = Bob();
  EXPECT_TRUE(Allows(bob, v1::RESOURCE_TYPE_SERVICE_ACCOUNT, "Deploy-Bot",
                     v1::AUTHORIZATION_UNSPECIFIED));
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_SERVICE_ACCOUNT, "other-bot",
                      v1::AUTHORIZATION_READ));
  EXPECT_TRUE(
      Allows(bob, v1::RESOURCE_TYPE_ROLE, "DEVS", v1::AUTHORIZATION_READ));
  EXPECT_FALSE(
      Allows(bob, v1::RESOURCE_TYPE_ROLE, "admins", v1::AUTHORIZATION_READ));
  EXPECT_FALSE(Allows(bob, v1::RESOURCE_TYPE_UNSPECIFIED, "shop",
                      v1::AUTHORIZATION_READ));
}

TEST(NamesTest, SpinnakerNames) {
  EXPECT_EQ(ResourceTypeName(v1::RESOURCE_TYPE_APPLICATION), "application");
  EXPECT_EQ(ResourceTypeName(v1::RESOURCE_TYPE_SERVICE_ACCOUNT),
            "service_account");
  EXPECT_EQ(ResourceTypeName(v1::RESOURCE_TYPE_BUILD_SERVICE), "build_service");
  EXPECT_EQ(AuthorizationName(v1::AUTHORIZATION_READ), "READ");
  EXPECT_EQ(AuthorizationName(v1::AUTHORIZATION_EXECUTE), "EXECUTE");
}

TEST(DisabledTest, AllowsEverythingWithoutASource) {
  std::shared_ptr<Authorizer> authorizer = Authorizer::Disabled();
  EXPECT_FALSE(authorizer->enabled());
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "x",
                                v1::AUTHORIZATION_WRITE),
              IsOk());
  auto filtered = authorizer->Filter("bob", v1::RESOURCE_TYPE_ACCOUNT,
                                     {"a", "b"}, v1::AUTHORIZATION_WRITE);
  ASSERT_THAT(filtered, IsOk());
  EXPECT_THAT(*filtered, ElementsAre("a", "b"));
  auto permission = authorizer->Permission("bob");
  ASSERT_THAT(permission, IsOk());
  EXPECT_EQ((*permission)->name(), "bob");
  EXPECT_TRUE((*permission)->admin());
  authorizer->Invalidate("bob");
  // Each call is its own instance (no singleton).
  EXPECT_NE(Authorizer::Disabled().get(), authorizer.get());
}

TEST_F(AuthorizerTest, ChecksAgainstTheUsersSet) {
  auto authorizer = Make();
  EXPECT_TRUE(authorizer->enabled());
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "shop",
                                v1::AUTHORIZATION_WRITE),
              IsOk());
  EXPECT_THAT(
      authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "catalog",
                        v1::AUTHORIZATION_WRITE),
      StatusIs(absl::StatusCode::kPermissionDenied,
               "Access denied to application 'catalog': user 'bob' lacks "
               "WRITE"));
  EXPECT_THAT(
      authorizer->Check("bob", v1::RESOURCE_TYPE_SERVICE_ACCOUNT, "other-bot",
                        v1::AUTHORIZATION_UNSPECIFIED),
      StatusIs(absl::StatusCode::kPermissionDenied,
               HasSubstr("is not a member of service account 'other-bot'")));
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_ROLE, "admins",
                                v1::AUTHORIZATION_UNSPECIFIED),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("does not hold role 'admins'")));
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_BUILD_SERVICE,
                                "jenkins", v1::AUTHORIZATION_WRITE),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "Access denied to build service 'jenkins': user 'bob' "
                       "lacks WRITE"));
  // One fetch served all five checks.
  EXPECT_THAT(state_.asked, ElementsAre("bob"));
}

// An application created after bob's set was cached: fiat is asked about it
// directly, and a grant drops the cached set so lists see it too. Listed
// applications the user lacks an authorization on are not asked again.
TEST_F(AuthorizerTest, UnlistedApplicationsAreAskedOfFiat) {
  auto authorizer = Make();
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "newapp",
                                v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(state_.rechecked, ElementsAre("bob:newapp"));
  state_.unlisted_grants["bob"] = {"newapp"};
  state_.users["bob"].add_applications()->CopyFrom(
      View("newapp", {v1::AUTHORIZATION_READ}));
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "newapp",
                                v1::AUTHORIZATION_READ),
              IsOk());
  auto listed = authorizer->Filter("bob", v1::RESOURCE_TYPE_APPLICATION,
                                   {"newapp"}, v1::AUTHORIZATION_READ);
  ASSERT_THAT(listed, IsOk());
  EXPECT_THAT(*listed, ElementsAre("newapp"));
  EXPECT_THAT(state_.asked, ElementsAre("bob", "bob"));
  // Listed but lacking WRITE: denied from the cache alone.
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "newapp",
                                v1::AUTHORIZATION_WRITE),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(state_.rechecked.size(), 2u);
  // fiat down while asking: closed, as UNAVAILABLE.
  state_.error = absl::UnavailableError("down");
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "other",
                                v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(AuthorizerTest, UsersAreAskedLowerCased) {
  auto authorizer = Make();
  EXPECT_THAT(authorizer->Check("BoB", v1::RESOURCE_TYPE_APPLICATION, "shop",
                                v1::AUTHORIZATION_READ),
              IsOk());
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "shop",
                                v1::AUTHORIZATION_READ),
              IsOk());
  // Surrounding spaces do not make another user (or another cache entry).
  EXPECT_THAT(authorizer->Check(" bob ", v1::RESOURCE_TYPE_APPLICATION, "shop",
                                v1::AUTHORIZATION_READ),
              IsOk());
  EXPECT_THAT(state_.asked, ElementsAre("bob"));
}

TEST_F(AuthorizerTest, EmptyAndAnonymousAreTheAnonymousUser) {
  auto authorizer = Make();
  for (const std::string user : {"", "anonymous", "Anonymous", "ANONYMOUS"}) {
    auto permission = authorizer->Permission(user);
    ASSERT_THAT(permission, IsOk());
    EXPECT_EQ((*permission)->name(), "__unrestricted_user__");
  }
  EXPECT_THAT(state_.asked, ElementsAre("anonymous"));
  EXPECT_THAT(authorizer->Check("", v1::RESOURCE_TYPE_APPLICATION, "shop",
                                v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "Access denied to application 'shop': user "
                       "'anonymous' lacks READ"));
  EXPECT_THAT(authorizer->Check("", v1::RESOURCE_TYPE_APPLICATION, "public",
                                v1::AUTHORIZATION_EXECUTE),
              IsOk());
}

TEST_F(AuthorizerTest, UnknownUserGetsTheUnrestrictedSetCached) {
  auto authorizer = Make();
  auto permission = authorizer->Permission("carol");
  ASSERT_THAT(permission, IsOk());
  EXPECT_EQ((*permission)->name(), "__unrestricted_user__");
  EXPECT_THAT(authorizer->Check("carol", v1::RESOURCE_TYPE_APPLICATION,
                                "public", v1::AUTHORIZATION_WRITE),
              IsOk());
  EXPECT_THAT(
      authorizer->Check("carol", v1::RESOURCE_TYPE_APPLICATION, "shop",
                        v1::AUTHORIZATION_READ),
      StatusIs(absl::StatusCode::kPermissionDenied,
               "Access denied to application 'shop': user 'carol' lacks READ"));
  // Asked once for carol, once for anonymous; then cached for carol.
  EXPECT_THAT(state_.asked, ElementsAre("carol", "anonymous"));
}

TEST_F(AuthorizerTest, NoUnrestrictedUserEitherDeniesEverything) {
  state_.users.erase("anonymous");
  auto authorizer = Make();
  auto permission = authorizer->Permission("carol");
  ASSERT_THAT(permission, IsOk());
  EXPECT_FALSE((*permission)->admin());
  EXPECT_THAT(authorizer->Check("carol", v1::RESOURCE_TYPE_APPLICATION,
                                "public", v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(AuthorizerTest, FailsClosedAndDoesNotCacheErrors) {
  auto authorizer = Make();
  state_.error = absl::UnavailableError("connection refused");
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "shop",
                                v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kUnavailable,
                       "authorization service unavailable: connection "
                       "refused"));
  state_.error = absl::DeadlineExceededError("deadline exceeded");
  EXPECT_THAT(authorizer->Permission("bob"),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("authorization service unavailable")));
  state_.error = absl::InternalError("boom");
  EXPECT_THAT(authorizer->Filter("bob", v1::RESOURCE_TYPE_APPLICATION, {"shop"},
                                 v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kUnavailable));
  // fiat is back: the error was not remembered.
  state_.error = absl::OkStatus();
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "shop",
                                v1::AUTHORIZATION_READ),
              IsOk());
  EXPECT_EQ(state_.asked.size(), 4u);
}

TEST(FallbackTest, UnknownUserFallbackFailsClosedToo) {
  // carol is unknown and asking for anonymous fails: UNAVAILABLE, not allow.
  class FailSecond : public PermissionSource {
   public:
    absl::StatusOr<v1::UserPermission> Get(const std::string& user) override {
      if (user == "anonymous") return absl::UnavailableError("down");
      return absl::NotFoundError("unknown");
    }
  };
  common::v1::AuthorizationConfig config;
  config.set_enabled(true);
  Authorizer failing(std::make_unique<FailSecond>(), config);
  EXPECT_THAT(failing.Check("carol", v1::RESOURCE_TYPE_APPLICATION, "public",
                            v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kUnavailable,
                       "authorization service unavailable: down"));
}

TEST_F(AuthorizerTest, EntriesExpireAfterTheTtl) {
  auto authorizer = Make();  // default 20 s
  ASSERT_THAT(authorizer->Permission("bob"), IsOk());
  Advance(std::chrono::seconds(19));
  ASSERT_THAT(authorizer->Permission("bob"), IsOk());
  EXPECT_EQ(state_.asked.size(), 1u);
  // fiat's answer changes; seen once the entry is 20 s old.
  state_.users["bob"].clear_applications();
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "shop",
                                v1::AUTHORIZATION_READ),
              IsOk());
  Advance(std::chrono::seconds(1));
  EXPECT_THAT(authorizer->Check("bob", v1::RESOURCE_TYPE_APPLICATION, "shop",
                                v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(state_.asked.size(), 2u);
}

TEST_F(AuthorizerTest, ConfiguredTtl) {
  auto authorizer = Make(/*ttl_seconds=*/60);
  ASSERT_THAT(authorizer->Permission("bob"), IsOk());
  Advance(std::chrono::seconds(59));
  ASSERT_THAT(authorizer->Permission("bob"), IsOk());
  EXPECT_EQ(state_.asked.size(), 1u);
  Advance(std::chrono::seconds(1));
  ASSERT_THAT(authorizer->Permission("bob"), IsOk());
  EXPECT_EQ(state_.asked.size(), 2u);
}

TEST_F(AuthorizerTest, InvalidateDropsTheUser) {
  auto authorizer = Make();
  ASSERT_THAT(authorizer->Permission("bob"), IsOk());
  ASSERT_THAT(authorizer->Permission("anonymous"), IsOk());
  state_.users["bob"].set_admin(true);
  authorizer->Invalidate("BOB");
  auto permission = authorizer->Permission("bob");
  ASSERT_THAT(permission, IsOk());
  EXPECT_TRUE((*permission)->admin());
  ASSERT_THAT(authorizer->Permission("anonymous"), IsOk());
  // anonymous stayed cached.
  EXPECT_THAT(state_.asked, ElementsAre("bob", "anonymous", "bob"));
}

TEST_F(AuthorizerTest, EvictsTheOldestWhenFull) {
  for (const char* user : {"u1", "u2", "u3"}) {
    v1::UserPermission p;
    p.set_name(user);
    state_.users[user] = p;
  }
  auto authorizer = Make(/*ttl_seconds=*/0, /*max_entries=*/2);
  ASSERT_THAT(authorizer->Permission("u2"), IsOk());
  Advance(std::chrono::seconds(1));
  ASSERT_THAT(authorizer->Permission("u1"), IsOk());
  Advance(std::chrono::seconds(1));
  ASSERT_THAT(authorizer->Permission("u3"), IsOk());  // evicts u2
  state_.asked.clear();
  ASSERT_THAT(authorizer->Permission("u1"), IsOk());
  ASSERT_THAT(authorizer->Permission("u3"), IsOk());
  EXPECT_THAT(state_.asked, IsEmpty());
  ASSERT_THAT(authorizer->Permission("u2"), IsOk());  // evicts u1
  EXPECT_THAT(state_.asked, ElementsAre("u2"));
  ASSERT_THAT(authorizer->Permission("u1"), IsOk());
  EXPECT_THAT(state_.asked, ElementsAre("u2", "u1"));
}

TEST_F(AuthorizerTest, FilterKeepsAllowedNamesInOrder) {
  auto authorizer = Make();
  auto apps = authorizer->Filter("bob", v1::RESOURCE_TYPE_APPLICATION,
                                 {"catalog", "unknown", "SHOP", "public"},
                                 v1::AUTHORIZATION_READ);
  ASSERT_THAT(apps, IsOk());
  EXPECT_THAT(*apps, ElementsAre("catalog", "SHOP"));
  auto accounts =
      authorizer->Filter("bob", v1::RESOURCE_TYPE_ACCOUNT, {"staging", "prod"},
                         v1::AUTHORIZATION_WRITE);
  ASSERT_THAT(accounts, IsOk());
  EXPECT_THAT(*accounts, ElementsAre("prod"));
  auto none = authorizer->Filter("bob", v1::RESOURCE_TYPE_ACCOUNT, {"prod"},
                                 v1::AUTHORIZATION_READ);
  ASSERT_THAT(none, IsOk());
  EXPECT_THAT(*none, IsEmpty());
}

TEST_F(AuthorizerTest, AdminSetAllowsAllButCreate) {
  state_.users["root"].set_name("root");
  state_.users["root"].set_admin(true);
  auto authorizer = Make();
  EXPECT_THAT(authorizer->Check("root", v1::RESOURCE_TYPE_APPLICATION,
                                "anything", v1::AUTHORIZATION_EXECUTE),
              IsOk());
  EXPECT_THAT(
      authorizer->Check("root", v1::RESOURCE_TYPE_APPLICATION, "anything",
                        v1::AUTHORIZATION_CREATE),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("lacks CREATE")));
}

// Many threads, a small cache and Invalidate racing: every answer is right.
TEST(ConcurrencyTest, ChecksStayCorrectUnderContention) {
  class CountingSource : public PermissionSource {
   public:
    absl::StatusOr<v1::UserPermission> Get(const std::string& user) override {
      calls.fetch_add(1);
      v1::UserPermission p;
      p.set_name(user);
      // Each user may read only the application named after them.
      *p.add_applications() = View(user, {v1::AUTHORIZATION_READ});
      return p;
    }
    std::atomic<int> calls{0};
  };
  auto source = std::make_unique<CountingSource>();
  CountingSource* counting = source.get();
  common::v1::AuthorizationConfig config;
  config.set_enabled(true);
  config.set_cache_max_entries(3);
  Authorizer authorizer(std::move(source), config);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const std::string user = "u" + std::to_string((t + i) % 6);
        const std::string other = "u" + std::to_string((t + i + 1) % 6);
        if (!authorizer
                 .Check(user, v1::RESOURCE_TYPE_APPLICATION, user,
                        v1::AUTHORIZATION_READ)
                 .ok() ||
            authorizer
                .Check(user, v1::RESOURCE_TYPE_APPLICATION, other,
                       v1::AUTHORIZATION_READ)
                .ok()) {
          wrong.fetch_add(1);
        }
        if (i % 50 == 0) authorizer.Invalidate(user);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(counting->calls.load(), 0);
}

// fiat's GetUserPermission served in-process on a loopback port.
class FakeFiat final : public v1::FiatService::Service {
 public:
  FakeFiat() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeFiat() override { server_->Shutdown(); }

  std::shared_ptr<v1::FiatService::StubInterface> Stub() const {
    return v1::FiatService::NewStub(
        MakeChannel("127.0.0.1:" + std::to_string(port_)));
  }

  grpc::Status GetUserPermission(
      grpc::ServerContext*, const v1::GetUserPermissionRequest* request,
      v1::GetUserPermissionResponse* response) override {
    if (request->user() == "slow") {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (request->user() == "bob") {
      *response->mutable_permission() = Bob();
      return grpc::Status::OK;
    }
    if (request->user() == "anonymous") {
      *response->mutable_permission() = Unrestricted();
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown user");
  }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST(GrpcPermissionSourceTest, FetchesAndMapsStatuses) {
  FakeFiat fiat;
  std::unique_ptr<PermissionSource> source =
      MakeGrpcPermissionSource(fiat.Stub(), std::chrono::milliseconds(2000));
  auto bob = source->Get("bob");
  ASSERT_THAT(bob, IsOk());
  EXPECT_EQ(bob->name(), "bob");
  EXPECT_EQ(bob->applications_size(), 2);
  EXPECT_THAT(source->Get("carol"),
              StatusIs(absl::StatusCode::kNotFound, "unknown user"));
}

TEST(GrpcPermissionSourceTest, AuthorizerOverGrpc) {
  FakeFiat fiat;
  common::v1::AuthorizationConfig config;
  config.set_enabled(true);
  Authorizer authorizer(
      MakeGrpcPermissionSource(fiat.Stub(), std::chrono::milliseconds(100)),
      config);
  EXPECT_THAT(authorizer.Check("bob", v1::RESOURCE_TYPE_APPLICATION, "shop",
                               v1::AUTHORIZATION_WRITE),
              IsOk());
  EXPECT_THAT(authorizer.Check("carol", v1::RESOURCE_TYPE_APPLICATION, "public",
                               v1::AUTHORIZATION_READ),
              IsOk());
  // The deadline passes: fail closed.
  EXPECT_THAT(authorizer.Check("slow", v1::RESOURCE_TYPE_APPLICATION, "public",
                               v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("authorization service unavailable")));
}

TEST(GrpcPermissionSourceTest, UnreachableFiatIsUnavailable) {
  // Nothing listens on port 1.
  common::v1::AuthorizationConfig config;
  config.set_enabled(true);
  Authorizer authorizer(
      MakeGrpcPermissionSource(
          v1::FiatService::NewStub(MakeChannel("127.0.0.1:1")),
          std::chrono::milliseconds(500)),
      config);
  EXPECT_THAT(authorizer.Check("bob", v1::RESOURCE_TYPE_APPLICATION, "shop",
                               v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("authorization service unavailable")));
}

}  // namespace
}  // namespace gennaker::fiat
