// FiatCore on the in-memory repository and the fake resource source: logins,
// lookups, Authorize reasons, creation checks, syncs, the "new application
// visible at once" refresh and the sync lock.
#include "services/fiat/fiat_core.h"

#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/fiat/fiat_test_util.h"

namespace gennaker::fiat {
namespace {

using ::gennaker::fiat::testing::Harness;
using ::gennaker::fiat::testing::Res;
using ::gennaker::testing::IsOk;
using ::gennaker::testing::IsOkAndHolds;
using ::gennaker::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Names(
    const google::protobuf::RepeatedPtrField<v1::ResourceView>& views) {
  std::vector<std::string> out;
  for (const auto& v : views) out.push_back(v.name());
  return out;
}

std::vector<std::string> RoleNames(const v1::UserPermission& p) {
  std::vector<std::string> out;
  for (const auto& r : p.roles()) out.push_back(r.name());
  return out;
}

std::vector<std::string> ServiceAccounts(const v1::UserPermission& p) {
  std::vector<std::string> out;
  for (const auto& s : p.service_accounts()) out.push_back(s.name());
  return out;
}

Snapshot Basic() {
  Snapshot s;
  s.applications = {Res("open"), Res("team", {"devs"}, {"devs"})};
  s.accounts = {Res("test"), Res("prod", {"ops"}, {"ops"})};
  s.service_accounts = {{"svc-a", {"devs"}}, {"svc-ops", {"ops"}}};
  return s;
}

class FiatCoreTest : public ::testing::Test {
 protected:
  explicit FiatCoreTest(CoreOptions options = {}) : h_(options) {
    h_.source.Set(Basic());
  }
  Harness h_;
};

TEST_F(FiatCoreTest, EmptyRepositoryIsUnavailableThenUnknownUserNotFound) {
  EXPECT_THAT(h_.core->GetUserPermission("alice"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(h_.core->Authorize("alice", v1::RESOURCE_TYPE_APPLICATION, "open",
                                 v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  EXPECT_THAT(h_.core->GetUserPermission("alice"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("alice")));
  auto d = h_.core->Authorize("alice", v1::RESOURCE_TYPE_APPLICATION, "open",
                              v1::AUTHORIZATION_READ);
  ASSERT_THAT(d, IsOk());
  EXPECT_FALSE(d->allowed());
  EXPECT_EQ(d->reason(), v1::DECISION_REASON_USER_UNKNOWN);
  // Anonymous is the unrestricted user, stored by the refresh.
  auto anon = h_.core->GetUserPermission("Anonymous");
  ASSERT_THAT(anon, IsOk());
  EXPECT_EQ(anon->name(), kUnrestrictedUser);
  EXPECT_THAT(Names(anon->applications()), ElementsAre("open"));
}

TEST_F(FiatCoreTest, LoginMergesProviderAndExternalRolesAndRemembersThem) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("alice", {"devs"});
  auto p = h_.core->LoginUser("Alice", {"Ops", " "});
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->name(), "alice");
  EXPECT_THAT(RoleNames(*p), ElementsAre("devs", "ops"));
  EXPECT_THAT(Names(p->applications()), ElementsAre("open", "team"));
  EXPECT_THAT(Names(p->accounts()), ElementsAre("prod", "test"));
  EXPECT_THAT(ServiceAccounts(*p), ElementsAre("svc-a", "svc-ops"));
  auto roles = h_.core->ListUserRoles("ALICE");
  ASSERT_THAT(roles, IsOk());
  ASSERT_EQ(roles->size(), 2u);
  EXPECT_EQ((*roles)[0].source(), v1::ROLE_SOURCE_FILE);
  EXPECT_EQ((*roles)[1].source(), v1::ROLE_SOURCE_EXTERNAL);

  // A sync asks the provider again but keeps the external roles.
  h_.provider.Set("alice", {});
  h_.Advance(10);
  auto count = h_.core->SyncRoles({});
  ASSERT_THAT(count, IsOk());
  EXPECT_EQ(*count, 4);  // svc-a, svc-ops, the unrestricted user, alice
  auto after = h_.core->GetUserPermission("alice");
  ASSERT_THAT(after, IsOk());
  EXPECT_THAT(RoleNames(*after), ElementsAre("ops"));
  EXPECT_THAT(Names(after->applications()), ElementsAre("open"));

  EXPECT_THAT(h_.core->LogoutUser("alice"), IsOkAndHolds(true));
  EXPECT_THAT(h_.core->LogoutUser("alice"), IsOkAndHolds(false));
  EXPECT_THAT(h_.core->GetUserPermission("alice"),
              StatusIs(absl::StatusCode::kNotFound));
  // The unrestricted user is never logged out.
  EXPECT_THAT(h_.core->LogoutUser("anonymous"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(FiatCoreTest, BadInputIsRejected) {
  EXPECT_THAT(h_.core->LoginUser(" ", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(h_.core->Authorize("a", v1::RESOURCE_TYPE_UNSPECIFIED, "x",
                                 v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(h_.core->Authorize("a", static_cast<v1::ResourceType>(99), "x",
                                 v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(h_.core->Authorize("a", v1::RESOURCE_TYPE_APPLICATION, "x",
                                 v1::AUTHORIZATION_CREATE),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(h_.core->Authorize("a", v1::RESOURCE_TYPE_APPLICATION, "",
                                 v1::AUTHORIZATION_READ),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      h_.core->AuthorizeCreate("a", v1::RESOURCE_TYPE_ACCOUNT, "x", "{}"),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(h_.core->SyncServiceAccount("", {"a"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Nothing was stored by any of it.
  EXPECT_THAT(h_.repository->IsEmpty(), IsOkAndHolds(true));
}

TEST_F(FiatCoreTest, AuthorizeReasons) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("dev", {"devs"});
  ASSERT_THAT(h_.core->LoginUser("dev", {}), IsOk());
  auto check = [&](v1::ResourceType t, const std::string& name,
                   v1::Authorization a) {
    auto d = h_.core->Authorize("dev", t, name, a);
    EXPECT_THAT(d, IsOk());
    return d.ok() ? *d : v1::AuthorizeResponse();
  };
  auto d =
      check(v1::RESOURCE_TYPE_APPLICATION, "TEAM", v1::AUTHORIZATION_WRITE);
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.reason(), v1::DECISION_REASON_GRANTED);
  d = check(v1::RESOURCE_TYPE_ACCOUNT, "prod", v1::AUTHORIZATION_READ);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason(), v1::DECISION_REASON_NOT_GRANTED);
  d = check(v1::RESOURCE_TYPE_SERVICE_ACCOUNT, "svc-a",
            v1::AUTHORIZATION_UNSPECIFIED);
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.reason(), v1::DECISION_REASON_SERVICE_ACCOUNT_MEMBER);
  d = check(v1::RESOURCE_TYPE_ROLE, "devs", v1::AUTHORIZATION_UNSPECIFIED);
  EXPECT_TRUE(d.allowed());
  d = check(v1::RESOURCE_TYPE_APPLICATION, "nope", v1::AUTHORIZATION_READ);
  EXPECT_FALSE(d.allowed());
}

class AdminCoreTest : public FiatCoreTest {
 protected:
  static CoreOptions Options() {
    CoreOptions o;
    o.resolve.admin_roles = {"admins"};
    o.resolve.allow_access_to_unknown_applications = true;
    return o;
  }
  AdminCoreTest() : FiatCoreTest(Options()) {}
};

TEST_F(AdminCoreTest, AdminAndUnknownApplicationReasons) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("root", {"admins"});
  ASSERT_THAT(h_.core->LoginUser("root", {}), IsOk());
  auto d = h_.core->Authorize("root", v1::RESOURCE_TYPE_ACCOUNT, "prod",
                              v1::AUTHORIZATION_WRITE);
  ASSERT_THAT(d, IsOk());
  EXPECT_TRUE(d->allowed());
  EXPECT_EQ(d->reason(), v1::DECISION_REASON_ADMIN);
  ASSERT_THAT(h_.core->LoginUser("bob", {}), IsOk());
  d = h_.core->Authorize("bob", v1::RESOURCE_TYPE_APPLICATION, "elsewhere",
                         v1::AUTHORIZATION_EXECUTE);
  ASSERT_THAT(d, IsOk());
  EXPECT_TRUE(d->allowed());
  EXPECT_EQ(d->reason(), v1::DECISION_REASON_UNKNOWN_APPLICATION_ALLOWED);
  d = h_.core->Authorize("bob", v1::RESOURCE_TYPE_APPLICATION, "team",
                         v1::AUTHORIZATION_READ);
  ASSERT_THAT(d, IsOk());
  EXPECT_FALSE(d->allowed());
}

TEST_F(FiatCoreTest,
       NewApplicationIsVisibleAtOnceRefreshingAtMostOncePerSecond) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("dev", {"devs"});
  ASSERT_THAT(h_.core->LoginUser("dev", {}), IsOk());
  // Right after a periodic refresh: that one does not throttle.
  h_.Advance(1);
  h_.source.AddApplication(Res("fresh", {"devs"}, {"devs"}));
  const int loads = h_.source.loads();
  auto d = h_.core->Authorize("dev", v1::RESOURCE_TYPE_APPLICATION, "fresh",
                              v1::AUTHORIZATION_WRITE);
  ASSERT_THAT(d, IsOk());
  EXPECT_TRUE(d->allowed());
  EXPECT_EQ(h_.source.loads(), loads + 1);
  // The whole view has it too, without a login.
  auto p = h_.core->GetUserPermission("dev");
  ASSERT_THAT(p, IsOk());
  EXPECT_THAT(Names(p->applications()), ElementsAre("fresh", "open", "team"));
  // Unknown names do not hammer front50: one load per second at most.
  h_.Advance(10);
  for (int i = 0; i < 3; ++i) {
    (void)h_.core->Authorize("dev", v1::RESOURCE_TYPE_APPLICATION, "ghost",
                             v1::AUTHORIZATION_READ);
  }
  EXPECT_EQ(h_.source.loads(), loads + 1);
  h_.Advance(1000);
  (void)h_.core->Authorize("dev", v1::RESOURCE_TYPE_APPLICATION, "ghost",
                           v1::AUTHORIZATION_READ);
  EXPECT_EQ(h_.source.loads(), loads + 2);
}

TEST_F(FiatCoreTest, StoredSetsFollowResourceChangesWithoutLogin) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("dev", {"devs"});
  ASSERT_THAT(h_.core->LoginUser("dev", {}), IsOk());
  h_.Advance(1000);
  Snapshot s = Basic();
  s.applications.push_back(Res("later", {"devs"}));
  h_.source.Set(s);
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  // The provider no longer answers: the stored roles are used.
  h_.provider.Fail(true);
  auto p = h_.core->GetUserPermission("dev");
  ASSERT_THAT(p, IsOk());
  EXPECT_THAT(Names(p->applications()), ElementsAre("later", "open", "team"));
  EXPECT_EQ(p->resolved_at_ms(), h_.now.load());
}

TEST_F(FiatCoreTest, FailedRefreshKeepsTheLastSnapshot) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.source.Fail(true);
  EXPECT_THAT(h_.core->RefreshResources(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(h_.resources->Get()->applications.size(), 2u);
  auto anon = h_.core->GetUserPermission("anonymous");
  ASSERT_THAT(anon, IsOk());
  EXPECT_THAT(Names(anon->applications()), ElementsAre("open"));
}

TEST_F(FiatCoreTest, RestartWithOwnersDownKeepsStoredSets) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("dev", {"devs"});
  ASSERT_THAT(h_.core->LoginUser("dev", {}), IsOk());
  // A second process on the same store whose applications never loaded.
  h_.Advance(1000);
  FakeResourceSource down;
  down.Set(Basic());
  down.FailApplications(true);  // the rest loads: not all parts yet
  auto clock = [this] { return h_.now.load(); };
  ResourceCache cache(&down, clock);
  CoreOptions o;
  o.now_ms = clock;
  FiatCore restarted(&h_.provider, &cache, h_.repository.get(), o);
  EXPECT_THAT(restarted.RefreshResources(),
              StatusIs(absl::StatusCode::kUnavailable));
  auto p = restarted.GetUserPermission("dev");
  ASSERT_THAT(p, IsOk());
  EXPECT_THAT(Names(p->applications()), ElementsAre("open", "team"));
  // No sync against nothing, and the lock stays free for a replica that can.
  EXPECT_THAT(restarted.ScheduledSync("r2", 60000),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(h_.core->ScheduledSync("r1", 60000), IsOkAndHolds(true));
}

TEST_F(FiatCoreTest, ServiceAccountIsResolvedOnTheFlyFromMemberOf) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  auto p = h_.core->GetUserPermission("SVC-A");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->name(), "svc-a");
  ASSERT_EQ(p->roles_size(), 1);
  EXPECT_EQ(p->roles(0).name(), "devs");
  EXPECT_EQ(p->roles(0).source(), v1::ROLE_SOURCE_EXTERNAL);
  auto d = h_.core->Authorize("svc-a", v1::RESOURCE_TYPE_APPLICATION, "team",
                              v1::AUTHORIZATION_EXECUTE);
  ASSERT_THAT(d, IsOk());
  EXPECT_TRUE(d->allowed());
  // Stored now.
  EXPECT_THAT(h_.repository->ListUsers(),
              IsOkAndHolds(ElementsAre("__unrestricted_user__", "svc-a")));
}

TEST_F(FiatCoreTest, SyncByRolesAndServiceAccountSync) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("dev", {"devs"});
  h_.provider.Set("op", {"ops"});
  ASSERT_THAT(h_.core->LoginUser("dev", {}), IsOk());
  ASSERT_THAT(h_.core->LoginUser("op", {}), IsOk());
  // dev, svc-a (memberOf devs) and the unrestricted user.
  EXPECT_THAT(h_.core->SyncRoles({"DEVS"}), IsOkAndHolds(3));

  // front50 saved a new service account for ops.
  auto count = h_.core->SyncServiceAccount("deploy-bot", {"ops"});
  ASSERT_THAT(count, IsOk());
  EXPECT_EQ(*count, 2);  // the account and "op"
  auto op = h_.core->GetUserPermission("op");
  ASSERT_THAT(op, IsOk());
  EXPECT_THAT(ServiceAccounts(*op), ElementsAre("deploy-bot", "svc-ops"));
  auto bot = h_.core->GetUserPermission("deploy-bot");
  ASSERT_THAT(bot, IsOk());
  EXPECT_THAT(RoleNames(*bot), ElementsAre("ops"));
  EXPECT_THAT(h_.core->SyncServiceAccount("ghost", {}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FiatCoreTest, GetUserPermissionFiltersAndExpands) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("dev", {"devs"});
  ASSERT_THAT(h_.core->LoginUser("dev", {}), IsOk());
  auto p = h_.core->GetUserPermission("dev", true,
                                      {v1::RESOURCE_TYPE_SERVICE_ACCOUNT});
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->applications_size(), 0);
  EXPECT_EQ(p->roles_size(), 0);
  ASSERT_EQ(p->service_accounts_size(), 1);
  EXPECT_EQ(p->service_accounts(0).expanded().name(), "svc-a");
  EXPECT_THAT(Names(p->service_accounts(0).expanded().applications()),
              ElementsAre("open", "team"));
}

TEST_F(FiatCoreTest, CreateIsAllowedWhenNotRestricted) {
  auto d = h_.core->AuthorizeCreate("anyone", v1::RESOURCE_TYPE_APPLICATION,
                                    "new", R"({"name":"new"})");
  ASSERT_THAT(d, IsOk());
  EXPECT_TRUE(d->allowed());
}

class RestrictedCreateTest : public FiatCoreTest {
 protected:
  static CoreOptions Options() {
    CoreOptions o;
    o.restrict_application_creation = true;
    o.resolve.admin_roles = {"admins"};
    return o;
  }
  RestrictedCreateTest() : FiatCoreTest(Options()) {}
};

TEST_F(RestrictedCreateTest, OnlyAdminsMayCreate) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("dev", {"devs"});
  h_.provider.Set("root", {"admins"});
  ASSERT_THAT(h_.core->LoginUser("dev", {}), IsOk());
  ASSERT_THAT(h_.core->LoginUser("root", {}), IsOk());
  auto ask = [&](const std::string& user, const std::string& json) {
    auto d = h_.core->AuthorizeCreate(user, v1::RESOURCE_TYPE_APPLICATION, "n",
                                      json);
    EXPECT_THAT(d, IsOk());
    return d.ok() ? *d : v1::AuthorizeCreateResponse();
  };
  const std::string with_create =
      R"({"name":"n","permissions":{"READ":["devs"],"CREATE":["DEVS"]}})";
  const std::string without =
      R"({"name":"n","permissions":{"READ":["devs"],"CREATE":["ops"]}})";
  // CREATE in the caller's own body is never trusted: only admins create.
  auto d = ask("dev", with_create);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason(), v1::DECISION_REASON_NOT_GRANTED);
  d = ask("dev", without);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason(), v1::DECISION_REASON_NOT_GRANTED);
  d = ask("root", without);
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.reason(), v1::DECISION_REASON_ADMIN);
  EXPECT_FALSE(ask("dev", R"({"name":"n"})").allowed());  // no roles at all
  d = ask("stranger", with_create);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason(), v1::DECISION_REASON_USER_UNKNOWN);
  EXPECT_THAT(h_.core->AuthorizeCreate("dev", v1::RESOURCE_TYPE_APPLICATION,
                                       "n", "[1,"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(FiatCoreTest, ListUserPermissionsNeedsGetAllEnabled) {
  EXPECT_THAT(h_.core->ListUserPermissions(0, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

class GetAllTest : public FiatCoreTest {
 protected:
  static CoreOptions Options() {
    CoreOptions o;
    o.get_all_enabled = true;
    return o;
  }
  GetAllTest() : FiatCoreTest(Options()) {}
};

TEST_F(GetAllTest, PagesThroughEveryUser) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  ASSERT_THAT(h_.core->LoginUser("a", {}), IsOk());
  ASSERT_THAT(h_.core->LoginUser("b", {}), IsOk());
  auto page = h_.core->ListUserPermissions(2, "");
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->permissions_size(), 2);
  EXPECT_EQ(page->permissions(0).name(), "__unrestricted_user__");
  EXPECT_EQ(page->permissions(1).name(), "a");
  EXPECT_EQ(page->page().next_page_token(), "2");
  page = h_.core->ListUserPermissions(2, page->page().next_page_token());
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->permissions_size(), 1);
  EXPECT_EQ(page->permissions(0).name(), "b");
  EXPECT_EQ(page->page().next_page_token(), "");
  EXPECT_THAT(h_.core->ListUserPermissions(2, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(FiatCoreTest, ScheduledSyncRunsOncePerIntervalAcrossReplicas) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  EXPECT_THAT(h_.core->ScheduledSync("replica-1", 60000), IsOkAndHolds(true));
  EXPECT_THAT(h_.core->ScheduledSync("replica-2", 60000), IsOkAndHolds(false));
  h_.Advance(60001);
  EXPECT_THAT(h_.core->ScheduledSync("replica-2", 60000), IsOkAndHolds(true));
}

// Delegates to the in-memory repository; `after_get` runs once, right after
// the next Get of `hooked_id` (a logout racing with a read or a sync).
class HookedRepository final : public PermissionsRepository {
 public:
  explicit HookedRepository(PermissionsRepository* inner) : inner_(inner) {}
  void HookNextGet(std::string id, std::function<void()> after_get) {
    hooked_id_ = std::move(id);
    after_get_ = std::move(after_get);
  }
  absl::StatusOr<bool> Store(const StoredUser& user,
                             bool only_if_stored) override {
    return inner_->Store(user, only_if_stored);
  }
  absl::StatusOr<std::optional<StoredUser>> Get(
      const std::string& id) override {
    auto got = inner_->Get(id);
    if (id == hooked_id_ && after_get_) {
      auto hook = std::move(after_get_);
      after_get_ = nullptr;
      hook();
    }
    return got;
  }
  absl::StatusOr<bool> Delete(const std::string& id) override {
    return inner_->Delete(id);
  }
  absl::StatusOr<std::vector<std::string>> ListUsers() override {
    return inner_->ListUsers();
  }
  absl::StatusOr<std::vector<std::string>> UsersWithRoles(
      const std::vector<std::string>& roles) override {
    return inner_->UsersWithRoles(roles);
  }
  absl::StatusOr<bool> IsEmpty() override { return inner_->IsEmpty(); }
  absl::StatusOr<bool> TryLock(const std::string& name,
                               const std::string& owner,
                               int64_t ttl_ms) override {
    return inner_->TryLock(name, owner, ttl_ms);
  }

 private:
  PermissionsRepository* const inner_;
  std::string hooked_id_;
  std::function<void()> after_get_;
};

TEST_F(AdminCoreTest, ReservedIdsCannotLogInOrOut) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  for (const char* id : {"anonymous", " AnonYmous ", "__unrestricted_user__",
                         "__UNRESTRICTED_USER__"}) {
    EXPECT_THAT(h_.core->LoginUser(id, {"admins"}),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << id;
    EXPECT_THAT(h_.core->LogoutUser(id),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << id;
  }
  // Nothing leaked into everyone's baseline.
  auto anon = h_.core->GetUserPermission("anonymous");
  ASSERT_THAT(anon, IsOk());
  EXPECT_FALSE(anon->admin());
  EXPECT_EQ(anon->roles_size(), 0);
  ASSERT_THAT(h_.core->LoginUser("bob", {}), IsOk());
  auto d = h_.core->Authorize("bob", v1::RESOURCE_TYPE_ACCOUNT, "prod",
                              v1::AUTHORIZATION_WRITE);
  ASSERT_THAT(d, IsOk());
  EXPECT_FALSE(d->allowed());
}

TEST_F(FiatCoreTest, RolesRemovedAtTheSourceAreRevokedAtTheNextSync) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  // gate pushes what the provider also returns (devs) plus its own (ops).
  h_.provider.Set("alice", {"devs"});
  ASSERT_THAT(h_.core->LoginUser("alice", {"devs", "ops"}), IsOk());
  auto stored = h_.repository->Get("alice");
  ASSERT_THAT(stored, IsOk());
  ASSERT_TRUE(stored->has_value());
  EXPECT_THAT((*stored)->external_roles, ElementsAre("ops"));
  h_.provider.Set("alice", {});  // removed from devs in the directory
  h_.Advance(10);
  ASSERT_THAT(h_.core->SyncRoles({}), IsOk());
  auto after = h_.core->GetUserPermission("alice");
  ASSERT_THAT(after, IsOk());
  EXPECT_THAT(RoleNames(*after), ElementsAre("ops"));
  EXPECT_THAT(Names(after->applications()), ElementsAre("open"));
}

TEST_F(FiatCoreTest, ReadsAndSyncsNeverUndoALogout) {
  HookedRepository repo(h_.repository.get());
  FiatCore core(&h_.provider, h_.resources.get(), &repo, h_.core->options());
  ASSERT_THAT(core.RefreshResources(), IsOk());
  ASSERT_THAT(core.LoginUser("alice", {}), IsOk());
  ASSERT_THAT(core.LoginUser("bob", {}), IsOk());
  // Resources change: alice's stored set is stale and re-resolved on read.
  h_.Advance(10);
  h_.source.AddApplication(Res("fresh"));
  ASSERT_THAT(h_.resources->Refresh(), IsOk());
  repo.HookNextGet("alice",
                   [&] { ASSERT_THAT(core.LogoutUser("alice"), IsOk()); });
  auto read = core.GetUserPermission("alice");
  ASSERT_THAT(read, IsOk());
  EXPECT_THAT(Names(read->applications()), ElementsAre("fresh", "open"));
  EXPECT_THAT(core.GetUserPermission("alice"),
              StatusIs(absl::StatusCode::kNotFound));
  // A sync reads bob, bob logs out, the sync must not store him again.
  repo.HookNextGet("bob", [&] { ASSERT_THAT(core.LogoutUser("bob"), IsOk()); });
  ASSERT_THAT(core.SyncRoles({}), IsOk());
  EXPECT_THAT(core.GetUserPermission("bob"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AdminCoreTest, IncompleteResourcesNeverLetRestrictedAppsPassAsUnknown) {
  h_.source.FailApplications(true);  // front50 down since the start
  EXPECT_THAT(h_.core->RefreshResources(), Not(IsOk()));
  ASSERT_THAT(h_.core->LoginUser("bob", {}), IsOk());
  for (const char* user : {"bob", "anonymous"}) {
    auto p = h_.core->GetUserPermission(user);
    ASSERT_THAT(p, IsOk());
    EXPECT_FALSE(p->allow_access_to_unknown_applications()) << user;
    auto d = h_.core->Authorize(user, v1::RESOURCE_TYPE_APPLICATION, "team",
                                v1::AUTHORIZATION_READ);
    ASSERT_THAT(d, IsOk());
    EXPECT_FALSE(d->allowed()) << user;
  }
  h_.source.FailApplications(false);
  h_.Advance(10);
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  auto d = h_.core->Authorize("bob", v1::RESOURCE_TYPE_APPLICATION, "team",
                              v1::AUTHORIZATION_READ);
  ASSERT_THAT(d, IsOk());
  EXPECT_FALSE(d->allowed());
  d = h_.core->Authorize("bob", v1::RESOURCE_TYPE_APPLICATION, "elsewhere",
                         v1::AUTHORIZATION_READ);
  ASSERT_THAT(d, IsOk());
  EXPECT_TRUE(d->allowed());
}

TEST_F(FiatCoreTest, ServiceAccountsFollowFront50MemberOfAndDeletion) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  auto sa = h_.core->GetUserPermission("svc-a");
  ASSERT_THAT(sa, IsOk());
  EXPECT_THAT(RoleNames(*sa), ElementsAre("devs"));
  // front50 moves it from devs to ops.
  h_.source.SetServiceAccounts({{"svc-a", {"ops"}}, {"svc-ops", {"ops"}}});
  h_.Advance(10);
  ASSERT_THAT(h_.resources->Refresh(), IsOk());
  sa = h_.core->GetUserPermission("svc-a");
  ASSERT_THAT(sa, IsOk());
  EXPECT_THAT(RoleNames(*sa), ElementsAre("ops"));
  EXPECT_THAT(Names(sa->accounts()), ElementsAre("prod", "test"));
  // front50 deletes it: unusable at once, and dropped by the next sync.
  h_.source.SetServiceAccounts({{"svc-ops", {"ops"}}});
  h_.Advance(10);
  ASSERT_THAT(h_.core->SyncRoles({}), IsOk());
  EXPECT_THAT(h_.core->GetUserPermission("svc-a"),
              StatusIs(absl::StatusCode::kNotFound));
  auto stored = h_.repository->Get("svc-a");
  ASSERT_THAT(stored, IsOk());
  EXPECT_FALSE(stored->has_value());
  auto ids = h_.repository->ListUsers();
  ASSERT_THAT(ids, IsOk());
  EXPECT_THAT(*ids, ElementsAre("__unrestricted_user__", "svc-ops"));
}

// Its Accounts() blocks until released: a slow periodic refresh.
class SlowSource final : public ResourceSource {
 public:
  absl::StatusOr<std::vector<Resource>> Applications() override {
    return std::vector<Resource>{Res("open")};
  }
  absl::StatusOr<std::vector<Resource>> Accounts() override {
    entered.Notify();
    release.WaitForNotification();
    return std::vector<Resource>{};
  }
  absl::StatusOr<std::vector<Resource>> BuildServices() override {
    return std::vector<Resource>{};
  }
  absl::StatusOr<std::vector<ServiceAccount>> ServiceAccounts() override {
    return std::vector<ServiceAccount>{};
  }
  absl::Notification entered, release;
};

TEST(ResourceCacheTest, OnDemandReloadDoesNotWaitForASlowRefresh) {
  SlowSource source;
  ResourceCache cache(&source, [] { return int64_t{1}; });
  std::thread refresh([&] { (void)cache.Refresh(); });
  source.entered.WaitForNotification();
  const absl::Time start = absl::Now();
  EXPECT_THAT(cache.RefreshOnDemand(0), IsOk());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  source.release.Notify();
  refresh.join();
  EXPECT_TRUE(cache.Get()->complete);
  // Idle: the on-demand reload runs.
  EXPECT_THAT(cache.RefreshOnDemand(0), IsOk());
}

TEST(ParseTest, ResourceTypesAndAuthorizations) {
  EXPECT_EQ(ParseResourceType("applications"), v1::RESOURCE_TYPE_APPLICATION);
  EXPECT_EQ(ParseResourceType("APPLICATION"), v1::RESOURCE_TYPE_APPLICATION);
  EXPECT_EQ(ParseResourceType("spinnaker:fiat:x:accounts"),
            v1::RESOURCE_TYPE_ACCOUNT);
  EXPECT_EQ(ParseResourceType("service_account"),
            v1::RESOURCE_TYPE_SERVICE_ACCOUNT);
  EXPECT_EQ(ParseResourceType("pipeline"), v1::RESOURCE_TYPE_UNSPECIFIED);
  EXPECT_EQ(ParseAuthorization("execute"), v1::AUTHORIZATION_EXECUTE);
  EXPECT_EQ(ParseAuthorization("admin"), v1::AUTHORIZATION_UNSPECIFIED);
}

}  // namespace
}  // namespace gennaker::fiat
