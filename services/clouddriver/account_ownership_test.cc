// Unit tests of account ownership among clouddriver replicas: one holder per
// account, takeover after the holder's lease lapses, a restarted replica
// reclaiming its own accounts, a lease store outage, and the caching agent
// writing only the accounts its replica serves.
#include "services/clouddriver/account_ownership.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "services/clouddriver/caching_agent.h"
#include "services/clouddriver/store/in_memory_cache.h"
#include "services/clouddriver/store/in_memory_lease_store.h"

namespace gennaker::clouddriver {
namespace {

using ::gennaker::testing::IsOk;

constexpr int64_t kTtl = 3000;

class AccountOwnershipTest : public ::testing::Test {
 protected:
  // A replica holding `account` under `id`, reached at `address`, on the
  // shared store and clock.
  std::unique_ptr<AccountOwnership> Replica(const std::string& id,
                                            const std::string& address,
                                            std::vector<std::string>* gained) {
    AccountOwnership::Options o;
    o.address = address;
    o.ttl_ms = kTtl;
    o.now_ms = [this] { return now_.load(); };
    auto r = std::make_unique<AccountOwnership>(
        &store_, std::map<std::string, std::string>{{"prod", id}}, o);
    r->SetGainedListener(
        [gained](const std::string& account) { gained->push_back(account); });
    return r;
  }
  void Advance(int64_t ms) {
    now_ += ms;
    store_.Advance(ms);
  }

  InMemoryLeaseStore store_;
  std::atomic<int64_t> now_{1000};
};

TEST_F(AccountOwnershipTest, OneReplicaServesAndTheOtherRoutesToIt) {
  std::vector<std::string> gained_a, gained_b;
  auto a = Replica("A", "10.0.0.1:7002", &gained_a);
  auto b = Replica("B", "10.0.0.2:7002", &gained_b);
  a->ClaimAll();
  b->ClaimAll();
  EXPECT_TRUE(a->Serves("prod"));
  EXPECT_FALSE(b->Serves("prod"));
  EXPECT_EQ(*a->Route("prod"), "");
  EXPECT_EQ(*b->Route("prod"), "10.0.0.1:7002");
  EXPECT_EQ(gained_a, std::vector<std::string>{"prod"});
  EXPECT_TRUE(gained_b.empty());
  // Renewals keep it with A, without telling the listener again.
  for (int i = 0; i < 5; ++i) {
    Advance(kTtl / 3);
    a->ClaimAll();
    b->ClaimAll();
  }
  EXPECT_TRUE(a->Serves("prod"));
  EXPECT_FALSE(b->Serves("prod"));
  EXPECT_EQ(gained_a.size(), 1u);
  EXPECT_EQ(b->Route("ledger").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AccountOwnershipTest, ALapsedLeaseIsTakenOver) {
  std::vector<std::string> gained_a, gained_b;
  auto a = Replica("A", "a:7002", &gained_a);
  auto b = Replica("B", "b:7002", &gained_b);
  a->ClaimAll();
  b->ClaimAll();
  // A stops renewing (it died): it stops counting on the lease a tenth of
  // the ttl before Redis drops it, and nobody is known to serve the account
  // until B's next claim takes it.
  Advance(kTtl - kTtl / 10);
  EXPECT_FALSE(a->Serves("prod"));
  EXPECT_EQ(b->Route("prod").status().code(), absl::StatusCode::kUnavailable);
  b->ClaimAll();
  EXPECT_FALSE(b->Serves("prod"));  // still A's in the store
  Advance(kTtl / 10);
  b->ClaimAll();
  EXPECT_TRUE(b->Serves("prod"));
  EXPECT_EQ(gained_b, std::vector<std::string>{"prod"});
  // A comes back: B keeps the account, A routes to it.
  a->ClaimAll();
  EXPECT_FALSE(a->Serves("prod"));
  EXPECT_EQ(*a->Route("prod"), "b:7002");
}

TEST_F(AccountOwnershipTest, ARestartedReplicaReclaimsItsAccountsAtOnce) {
  const std::string dir = gennaker::testing::MakeTempDir("holder-id");
  auto id = LoadOrCreateHolderId(dir);
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(*LoadOrCreateHolderId(dir), *id);  // kept in the dir
  std::vector<std::string> gained, gained_again, gained_b;
  // The first run holds the account and dies without releasing it (a
  // SIGKILL): its lease is still valid when the replica comes back.
  auto killed = Replica(*id, "host:7002", &gained);
  killed->ClaimAll();
  auto b = Replica("B", "b:7002", &gained_b);
  auto restarted =
      Replica(*LoadOrCreateHolderId(dir), "host:7002", &gained_again);
  restarted->ClaimAll();
  b->ClaimAll();
  EXPECT_TRUE(restarted->Serves("prod"));
  EXPECT_FALSE(b->Serves("prod"));
  EXPECT_EQ(gained_again, std::vector<std::string>{"prod"});
  gennaker::testing::RemoveTree(dir);
}

TEST_F(AccountOwnershipTest, AStoppedReplicaKeepsItsLeaseForItsRestart) {
  std::vector<std::string> gained_a, gained_b, gained_again;
  auto a = Replica("A", "a:7002", &gained_a);
  auto b = Replica("B", "b:7002", &gained_b);
  a->ClaimAll();
  b->ClaimAll();
  a->Stop();
  EXPECT_FALSE(a->Serves("prod"));
  Advance(kTtl / 3);
  b->ClaimAll();  // the lease is still A's: its cloud comes back with it
  EXPECT_FALSE(b->Serves("prod"));
  auto restarted = Replica("A", "a:7002", &gained_again);
  restarted->ClaimAll();
  EXPECT_TRUE(restarted->Serves("prod"));
  EXPECT_EQ(gained_again, std::vector<std::string>{"prod"});
}

TEST_F(AccountOwnershipTest, AStoreOutageKeepsTheHolderUntilItsLeaseLapses) {
  std::vector<std::string> gained_a;
  auto a = Replica("A", "a:7002", &gained_a);
  a->ClaimAll();
  store_.SetUnavailable(true);
  Advance(kTtl / 3);
  a->ClaimAll();  // fails: logged
  EXPECT_TRUE(a->Serves("prod"));
  Advance(kTtl);
  a->ClaimAll();
  // Another replica may hold it by now: A neither serves nor routes.
  EXPECT_FALSE(a->Serves("prod"));
  EXPECT_EQ(a->Route("prod").status().code(), absl::StatusCode::kUnavailable);
  store_.SetUnavailable(false);
  a->ClaimAll();
  EXPECT_TRUE(a->Serves("prod"));
  EXPECT_EQ(gained_a.size(), 2u);  // gained again: cached in full again
}

TEST_F(AccountOwnershipTest, TheThreadRenews) {
  AccountOwnership::Options o;
  o.address = "a:7002";
  o.ttl_ms = 1500;           // real clock: renewed every 500 ms
  InMemoryLeaseStore store;  // its clock stands still: leases never lapse
  AccountOwnership a(&store, {{"prod", "A"}}, o);
  a.Start();
  for (int i = 0; i < 100 && !a.Serves("prod"); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(a.Serves("prod"));
  absl::SleepFor(absl::Milliseconds(2000));  // longer than the ttl
  EXPECT_TRUE(a.Serves("prod"));             // renewed meanwhile
  a.Stop();
  EXPECT_FALSE(a.Serves("prod"));
}

// A provider with one security group, for the caching agent.
class OneGroupProvider : public Provider {
 public:
  explicit OneGroupProvider(std::string account) : account_(account) {}
  const std::string& account() const override { return account_; }
  std::string cloud_provider() const override { return "local"; }
  std::vector<std::string> regions() const override { return {"localhost"}; }
  bool Supports(const std::string&) const override { return false; }
  absl::StatusOr<Json> Operate(
      const std::string&, const Json&, const std::string&,
      const std::function<void(const std::string&)>&) override {
    return absl::UnimplementedError("no operations");
  }
  Json Snapshot() override {
    return {
        {"securityGroups",
         {{{"name", absl::StrCat(account_, "-web")}, {"account", account_}}}}};
  }
  void SetChangeListener(std::function<void()>) override {}

 private:
  std::string account_;
};

TEST(CachingAgentOwnershipTest, OnlyServedAccountsAreWritten) {
  InMemoryCache cache;
  OneGroupProvider mine("mine"), theirs("theirs");
  CachingAgent agent(
      &cache, {&mine, &theirs}, 60000,
      [](const std::string& account) { return account == "mine"; });
  ASSERT_THAT(agent.RefreshNow("mine"), IsOk());
  ASSERT_THAT(agent.RefreshNow("theirs"), IsOk());  // not this replica's
  EXPECT_EQ(cache.List("mine", kSecurityGroups, "")->size(), 1u);
  EXPECT_TRUE(cache.List("theirs", kSecurityGroups, "")->empty());
  EXPECT_EQ(agent.refreshes(), 1);
}

}  // namespace
}  // namespace gennaker::clouddriver
