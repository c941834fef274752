// The Redis permissions repository and the sync lock against a real Redis,
// and two FiatCores (two replicas) sharing it.
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/redis/redis.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/fiat/fiat_core.h"
#include "services/fiat/fiat_test_util.h"
#include "services/fiat/repository.h"

namespace gennaker::fiat {
namespace {

using ::gennaker::fiat::testing::Harness;
using ::gennaker::fiat::testing::Res;
using ::gennaker::testing::IsOk;
using ::gennaker::testing::IsOkAndHolds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::UserPermission Perm(const std::string& name,
                        const std::vector<std::string>& roles) {
  v1::UserPermission p;
  p.set_name(name);
  for (const std::string& r : roles) {
    v1::RoleView* v = p.add_roles();
    v->set_name(r);
    v->set_source(v1::ROLE_SOURCE_LDAP);
  }
  v1::ResourceView* app = p.add_applications();
  app->set_name("app");
  app->add_authorizations(v1::AUTHORIZATION_READ);
  p.set_resolved_at_ms(7);
  return p;
}

class RedisRepositoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = ::gennaker::testing::TestRedis::Start();
    ASSERT_THAT(r, IsOk());
    server_ = r->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    redis::Options o;
    o.port = server_->port();
    auto client = redis::Client::Connect(o);
    ASSERT_THAT(client, IsOk());
    redis_ = *std::move(client);
    prefix_ = absl::StrCat(
        "fiat-",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    repo_ = NewRedisPermissionsRepository(redis_.get(), prefix_, 60);
  }

  static ::gennaker::testing::TestRedis* server_;
  std::unique_ptr<redis::Client> redis_;
  std::string prefix_;
  std::unique_ptr<PermissionsRepository> repo_;
};

::gennaker::testing::TestRedis* RedisRepositoryTest::server_ = nullptr;

TEST_F(RedisRepositoryTest, ConditionalStoreNeverRecreatesAndMarksAccounts) {
  StoredUser bob{Perm("bob", {"ops"}), {"ops"}};
  // Logged out (never stored): a sync's conditional write does nothing.
  EXPECT_THAT(repo_->Store(bob, true), IsOkAndHolds(false));
  EXPECT_THAT(repo_->IsEmpty(), IsOkAndHolds(true));
  EXPECT_THAT(repo_->UsersWithRoles({"ops"}), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(repo_->Store(bob, false), IsOkAndHolds(true));
  EXPECT_THAT(repo_->Store(bob, true), IsOkAndHolds(true));
  StoredUser bot{Perm("bot", {"devs"}), {"devs"}, true};
  ASSERT_THAT(repo_->Store(bot, false), IsOkAndHolds(true));
  auto got = repo_->Get("bot");
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE((*got)->service_account);
  EXPECT_THAT((*got)->external_roles, ElementsAre("devs"));
  got = repo_->Get("bob");
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_FALSE((*got)->service_account);
  EXPECT_THAT((*got)->external_roles, ElementsAre("ops"));
}

TEST_F(RedisRepositoryTest, PutGetDeleteKeepTheRoleIndexExact) {
  EXPECT_THAT(repo_->IsEmpty(), IsOkAndHolds(true));
  ASSERT_THAT(repo_->Put(Perm("alice", {"devs", "ops"}), {"ops"}), IsOk());
  ASSERT_THAT(repo_->Put(Perm("bob", {"ops"}), {}), IsOk());
  EXPECT_THAT(repo_->IsEmpty(), IsOkAndHolds(false));
  auto got = repo_->Get("alice");
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->permission.SerializeAsString(),
            Perm("alice", {"devs", "ops"}).SerializeAsString());
  EXPECT_THAT((*got)->external_roles, ElementsAre("ops"));
  EXPECT_THAT(repo_->ListUsers(), IsOkAndHolds(ElementsAre("alice", "bob")));
  EXPECT_THAT(repo_->UsersWithRoles({"devs"}),
              IsOkAndHolds(ElementsAre("alice")));
  EXPECT_THAT(repo_->UsersWithRoles({"ops", "devs"}),
              IsOkAndHolds(ElementsAre("alice", "bob")));
  // Re-login without "devs": the index follows.
  ASSERT_THAT(repo_->Put(Perm("alice", {"ops"}), {}), IsOk());
  EXPECT_THAT(repo_->UsersWithRoles({"devs"}), IsOkAndHolds(IsEmpty()));
  got = repo_->Get("alice");
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT((*got)->external_roles, IsEmpty());

  EXPECT_THAT(repo_->Delete("alice"), IsOkAndHolds(true));
  EXPECT_THAT(repo_->Delete("alice"), IsOkAndHolds(false));
  auto gone = repo_->Get("alice");
  ASSERT_THAT(gone, IsOk());
  EXPECT_FALSE(gone->has_value());
  EXPECT_THAT(repo_->UsersWithRoles({"ops"}), IsOkAndHolds(ElementsAre("bob")));
  EXPECT_THAT(repo_->ListUsers(), IsOkAndHolds(ElementsAre("bob")));
  // Keys live under the prefix, with the TTL.
  auto ttl = redis_->Command({"TTL", prefix_ + ":user:bob"});
  ASSERT_THAT(ttl, IsOk());
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 60);
}

TEST_F(RedisRepositoryTest, ExpiredSetsAreGone) {
  auto short_lived = NewRedisPermissionsRepository(redis_.get(), prefix_, 1);
  ASSERT_THAT(short_lived->Put(Perm("carol", {"devs"}), {}), IsOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto gone = short_lived->Get("carol");
  ASSERT_THAT(gone, IsOk());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(RedisRepositoryTest, LockIsExclusiveUntilItExpires) {
  EXPECT_THAT(repo_->TryLock("sync", "a", 300), IsOkAndHolds(true));
  EXPECT_THAT(repo_->TryLock("sync", "b", 300), IsOkAndHolds(false));
  EXPECT_THAT(repo_->TryLock("other", "b", 300), IsOkAndHolds(true));
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  EXPECT_THAT(repo_->TryLock("sync", "b", 300), IsOkAndHolds(true));
}

TEST_F(RedisRepositoryTest, TwoReplicasShareUsersAndOneSyncs) {
  auto clock = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  testing::FakeRolesProvider provider;
  FakeResourceSource source;
  Snapshot s;
  s.applications = {Res("open"), Res("team", {"devs"})};
  source.Set(s);
  ResourceCache cache_a(&source, clock), cache_b(&source, clock);
  CoreOptions o;
  o.now_ms = clock;
  FiatCore a(&provider, &cache_a, repo_.get(), o);
  FiatCore b(&provider, &cache_b, repo_.get(), o);
  ASSERT_THAT(a.RefreshResources(), IsOk());
  ASSERT_THAT(b.RefreshResources(), IsOk());
  ASSERT_THAT(a.LoginUser("dan", {"devs"}), IsOk());
  auto seen = b.GetUserPermission("dan");
  ASSERT_THAT(seen, IsOk());
  ASSERT_EQ(seen->applications_size(), 2);
  EXPECT_THAT(a.ScheduledSync("a", 5000), IsOkAndHolds(true));
  EXPECT_THAT(b.ScheduledSync("b", 5000), IsOkAndHolds(false));
  // The sync kept dan's external role.
  seen = b.GetUserPermission("dan");
  ASSERT_THAT(seen, IsOk());
  ASSERT_EQ(seen->roles_size(), 1);
  EXPECT_EQ(seen->roles(0).name(), "devs");
  // A flush empties the store: reads are UNAVAILABLE, not NOT_FOUND.
  ASSERT_THAT(redis_->Command({"FLUSHALL"}), IsOk());
  EXPECT_THAT(b.GetUserPermission("dan"),
              ::gennaker::testing::StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace gennaker::fiat
