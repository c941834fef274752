// Echo on a real PostgreSQL (schema from the migrations): the store's
// claims, idempotency and retention; an accepted event delivered by a new
// instance after the first was destroyed; two instances on one database
// delivering each event once and firing each cron slot once; and LISTEN /
// NOTIFY waking another instance's workers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "common/pg/listener.h"
#include "common/pg/migrations.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "services/echo/echo_core.h"
#include "services/echo/echo_test_fakes.h"
#include "services/echo/store/pg_echo_store.h"

namespace gennaker::echo {

std::vector<pg::Migration> Migrations();

namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::IsOkAndHolds;
using testing::CronPipeline;
using testing::FakeFront50;
using testing::FakeOrca;
using testing::WebhookPipeline;

constexpr int64_t kT0 = 1767571200000;

class EchoPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = ::gennaker::testing::SharedPostgres();
    ASSERT_THAT(pg, IsOk());
    auto dsn = (*pg)->CreateDatabase("echo");
    ASSERT_THAT(dsn, IsOk());
    dsn_ = *dsn;
    pool_ = NewPool();
    ASSERT_NE(pool_, nullptr);
    ASSERT_THAT(pg::ApplyMigrations(*pool_, "echo", Migrations()), IsOk());
    store_ = std::make_unique<PgEchoStore>(pool_.get());
  }

  std::unique_ptr<pg::Pool> NewPool() {
    pg::PoolOptions o;
    o.dsn = dsn_;
    o.size = 6;
    auto pool = pg::Pool::Create(o);
    EXPECT_THAT(pool, IsOk());
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  std::unique_ptr<EchoCore> MakeCore(EchoStore* store, Clock* clock,
                                     CoreOptions o) {
    o.time_zone = "UTC";
    auto core = EchoCore::Create(store, &orca_, &front50_, nullptr, {}, clock,
                                 std::move(o));
    EXPECT_THAT(core, IsOk());
    return core.ok() ? *std::move(core) : nullptr;
  }

  static CoreOptions Sync() {
    CoreOptions o;
    o.worker_threads = 0;
    o.background = false;
    return o;
  }

  static EventRow Row(const std::string& id, const std::string& key,
                      int64_t at) {
    EventRow r;
    r.id = id;
    r.idempotency_key = key;
    r.type = "manual";
    r.source = "test";
    r.application = "app";
    r.created_ms = r.accepted_ms = r.next_attempt_ms = at;
    r.body = R"({"details": {"type": "manual"}})";
    return r;
  }

  IncomingWebhook Hook() {
    IncomingWebhook w;
    w.type = "webhook";
    w.source = "src";
    w.raw_body = "{}";
    return w;
  }

  std::string dsn_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgEchoStore> store_;
  FakeOrca orca_;
  FakeFront50 front50_;
};

TEST_F(EchoPgTest, StoreClaimsAndIdempotency) {
  auto a = store_->InsertEvent(Row("e1", "k1", 10));
  ASSERT_THAT(a, IsOk());
  EXPECT_FALSE(a->duplicate);
  auto dup = store_->InsertEvent(Row("e-other", "k1", 11));
  ASSERT_THAT(dup, IsOk());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->id, "e1");
  ASSERT_THAT(store_->InsertEvent(Row("e2", "", 20)), IsOk());
  ASSERT_THAT(store_->InsertEvent(Row("e3", "", 30)), IsOk());

  // Leases are timed by the database's clock: A's last 1.5 s.
  auto claimed = store_->ClaimEvents("A", 100, 1500, 2);
  ASSERT_THAT(claimed, IsOk());
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].id, "e1");
  EXPECT_EQ((*claimed)[0].attempts, 1);
  auto other = store_->ClaimEvents("B", 100, 1000, 10);
  ASSERT_THAT(other, IsOk());
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].id, "e3");
  // Only the holder finishes it.
  EXPECT_THAT(
      store_->FinishEvent("e1", "B", EventState::kDelivered, "[]", "", 101),
      IsOkAndHolds(false));
  EXPECT_THAT(store_->FinishEvent("e1", "A", EventState::kDelivered,
                                  R"([{"id": "x"}])", "", 101),
              IsOkAndHolds(true));
  EXPECT_THAT(
      store_->FinishEvent("e3", "B", EventState::kIgnored, "[]", "", 101),
      IsOkAndHolds(true));
  // e2's claim expires 1.5 s after A took it: then B takes it over.
  EXPECT_THAT(store_->ClaimEvents("B", 1100, 1000, 10),
              IsOkAndHolds(::testing::IsEmpty()));
  absl::StatusOr<std::vector<EventRow>> taken;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(50));
    taken = store_->ClaimEvents("B", 1100, 1000, 10);
    ASSERT_THAT(taken, IsOk());
  } while (taken->empty() && absl::Now() < deadline);
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].id, "e2");
  EXPECT_EQ((*taken)[0].attempts, 2);
  EXPECT_THAT(store_->RetryEvent("e2", "A", 5000, "x", 1100),
              IsOkAndHolds(false));
  EXPECT_THAT(store_->RetryEvent("e2", "B", 5000, "boom", 1100),
              IsOkAndHolds(true));
  auto e2 = store_->GetEvent("e2");
  ASSERT_THAT(e2, IsOk());
  EXPECT_EQ(e2->error, "boom");
  EXPECT_EQ(e2->next_attempt_ms, 5000);

  EventQuery q;
  q.limit = 10;
  auto listed = store_->ListEvents(q);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].id, "e3");
  EXPECT_EQ((*listed)[2].id, "e1");
  EXPECT_EQ((*listed)[2].state, EventState::kDelivered);
  EXPECT_EQ((*listed)[2].executions, R"([{"id": "x"}])");

  // Cron slots: claimed once.
  EXPECT_THAT(store_->ClaimCronSlot({"t", "p", 60000}, "A", Row("c1", "ck", 1)),
              IsOkAndHolds(true));
  EXPECT_THAT(
      store_->ClaimCronSlot({"t", "p", 60000}, "B", Row("c2", "ck2", 1)),
      IsOkAndHolds(false));
  EXPECT_THAT(store_->GetEvent("c2"),
              ::gennaker::testing::StatusIs(absl::StatusCode::kNotFound));

  // Notifications.
  NotificationRow n;
  n.id = "n1";
  n.group_id = "g1";
  n.idempotency_key = "nk#0";
  n.type = "webhook";
  n.message = "{}";
  auto ins = store_->InsertNotifications({n});
  ASSERT_THAT(ins, IsOk());
  EXPECT_FALSE(ins->duplicate);
  n.id = "n2";
  n.group_id = "g2";
  ins = store_->InsertNotifications({n});
  ASSERT_THAT(ins, IsOk());
  EXPECT_TRUE(ins->duplicate);
  EXPECT_EQ(ins->id, "g1");
  auto nc = store_->ClaimNotifications("A", 0, 1000, 10);
  EXPECT_THAT(store_->ClaimNotifications("B", 0, 1000, 10),
              IsOkAndHolds(::testing::IsEmpty()));
  ASSERT_THAT(nc, IsOk());
  ASSERT_EQ(nc->size(), 1u);
  EXPECT_THAT(
      store_->FinishNotification("n1", "A", NotificationState::kSent, "", 5),
      IsOkAndHolds(true));

  // Retention: finished events before the cut are deleted.
  EXPECT_THAT(store_->DeleteFinishedBefore(1000), IsOkAndHolds(2));
  EXPECT_THAT(store_->GetEvent("e1"),
              ::gennaker::testing::StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetEvent("e2"), IsOk());
}

TEST_F(EchoPgTest, AcceptedEventSurvivesTheInstance) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  ManualClock clock(kT0);
  std::string id;
  {
    auto pool = NewPool();
    PgEchoStore store(pool.get());
    auto first = MakeCore(&store, &clock, Sync());
    auto r = first->ReceiveWebhook(Hook(), "delivery-1");
    ASSERT_THAT(r, IsOk());
    id = r->event_id;
  }  // the instance and its connections are gone before delivery
  auto second = MakeCore(store_.get(), &clock, Sync());
  ASSERT_THAT(second->RefreshPipelines(), IsOk());
  EXPECT_EQ(second->DeliverPending(), 1);
  auto e = store_->GetEvent(id);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->state, EventState::kDelivered);
  EXPECT_THAT(e->executions, ::testing::HasSubstr("exec-1"));
  ASSERT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(orca_.starts()[0].pipeline_id, "p1");
}

// orca down: retried past max_attempts (transient errors do not count) until
// the time budget is spent, then FAILED.
TEST_F(EchoPgTest, TransientErrorsRetryUntilTheBudget) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  ManualClock clock(kT0);
  CoreOptions o = Sync();
  o.max_attempts = 2;
  o.retry_base_ms = 500;
  o.transient_retry_ms = 2000;
  auto core = MakeCore(store_.get(), &clock, o);
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  orca_.Fail(absl::UnavailableError("orca unreachable"));
  auto r = core->ReceiveWebhook(Hook(), "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  auto e = store_->GetEvent(r->event_id);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->state, EventState::kAccepted);
  EXPECT_EQ(e->next_attempt_ms, kT0 + 500);
  EXPECT_EQ(core->DeliverPending(), 0);
  // Attempts at +500 and +1500 retry (more than max_attempts); the one at
  // +3500 is past the budget.
  for (int64_t at : {500, 1500}) {
    clock.Set(kT0 + at);
    EXPECT_EQ(core->DeliverPending(), 1);
    e = store_->GetEvent(r->event_id);
    ASSERT_THAT(e, IsOk());
    EXPECT_EQ(e->state, EventState::kAccepted) << at;
  }
  EXPECT_EQ(e->next_attempt_ms, kT0 + 3500);
  clock.Set(kT0 + 3500);
  EXPECT_EQ(core->DeliverPending(), 1);
  e = store_->GetEvent(r->event_id);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->state, EventState::kFailed);
  EXPECT_EQ(e->attempts, 4);
  EXPECT_THAT(e->error, ::testing::HasSubstr("orca unreachable"));
  EXPECT_EQ(orca_.calls(), 4);
}

// A worker whose claim expired (same instance, another claim token) cannot
// end or release the claim that took the event over.
TEST_F(EchoPgTest, StaleFinisherCannotClobberANewerClaim) {
  ASSERT_THAT(store_->InsertEvent(Row("e1", "", 10)), IsOk());
  auto first = store_->ClaimEvents("inst/1", 100, 200, 1);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->size(), 1u);
  absl::StatusOr<std::vector<EventRow>> second;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(20));
    second = store_->ClaimEvents("inst/2", 100, 60000, 1);
    ASSERT_THAT(second, IsOk());
  } while (second->empty() && absl::Now() < deadline);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_THAT(store_->FinishEvent("e1", "inst/1", EventState::kFailed, "[]",
                                  "stale", 101),
              IsOkAndHolds(false));
  EXPECT_THAT(store_->RetryEvent("e1", "inst/1", 100, "stale", 101),
              IsOkAndHolds(false));
  // The newer claim still holds: nobody else can claim the event.
  EXPECT_THAT(store_->ClaimEvents("inst/3", 100, 1000, 1),
              IsOkAndHolds(::testing::IsEmpty()));
  EXPECT_THAT(store_->FinishEvent("e1", "inst/2", EventState::kDelivered, "[]",
                                  "", 102),
              IsOkAndHolds(true));
  auto e = store_->GetEvent("e1");
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->state, EventState::kDelivered);
  EXPECT_EQ(e->error, "");

  // Notifications: the same fence.
  NotificationRow n;
  n.id = "n1";
  n.group_id = "g1";
  n.type = "webhook";
  n.message = "{}";
  ASSERT_THAT(store_->InsertNotifications({n}), IsOk());
  ASSERT_THAT(store_->ClaimNotifications("inst/1", 0, 200, 1), IsOk());
  absl::StatusOr<std::vector<NotificationRow>> nc;
  do {
    absl::SleepFor(absl::Milliseconds(20));
    nc = store_->ClaimNotifications("inst/2", 0, 60000, 1);
    ASSERT_THAT(nc, IsOk());
  } while (nc->empty() && absl::Now() < deadline);
  ASSERT_EQ(nc->size(), 1u);
  EXPECT_THAT(store_->FinishNotification("n1", "inst/1",
                                         NotificationState::kFailed, "x", 5),
              IsOkAndHolds(false));
  EXPECT_THAT(store_->FinishNotification("n1", "inst/2",
                                         NotificationState::kSent, "", 5),
              IsOkAndHolds(true));
}

// The fire's idempotency key already stored (its slot row gone): the slot is
// not reported claimed and no second event is stored.
TEST_F(EchoPgTest, CronSlotWithStoredKeyIsNotClaimedAgain) {
  ASSERT_THAT(store_->InsertEvent(Row("old", "cron:p:t:60000", 1)), IsOk());
  EXPECT_THAT(store_->ClaimCronSlot({"t", "p", 60000}, "A",
                                    Row("new", "cron:p:t:60000", 2)),
              IsOkAndHolds(false));
  EXPECT_THAT(store_->GetEvent("new"),
              ::gennaker::testing::StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(EchoPgTest, TwoInstancesDeliverEachEventOnce) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  auto pool_b = NewPool();
  PgEchoStore store_b(pool_b.get());
  CoreOptions o;
  o.worker_threads = 3;
  o.background = false;
  o.poll = absl::Milliseconds(20);
  auto a = MakeCore(store_.get(), SystemClock(), o);
  auto b = MakeCore(&store_b, SystemClock(), o);
  ASSERT_THAT(a->RefreshPipelines(), IsOk());
  ASSERT_THAT(b->RefreshPipelines(), IsOk());
  a->Start();
  b->Start();
  constexpr int kEvents = 60;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_THAT((i % 2 == 0 ? a : b)->ReceiveWebhook(Hook(), ""), IsOk());
  }
  EXPECT_TRUE(orca_.WaitForStarts(kEvents, absl::Seconds(20)));
  // Every event DELIVERED, and orca asked once per event.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  int delivered = 0;
  while (absl::Now() < deadline) {
    EventQuery q;
    q.limit = 1000;
    auto all = store_->ListEvents(q);
    ASSERT_THAT(all, IsOk());
    delivered = 0;
    for (const EventRow& e : *all) {
      if (e.state == EventState::kDelivered) ++delivered;
      EXPECT_LE(e.attempts, 1) << e.id;
    }
    if (delivered == kEvents) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  a->Stop();
  b->Stop();
  EXPECT_EQ(delivered, kEvents);
  EXPECT_EQ(orca_.calls(), kEvents);
}

TEST_F(EchoPgTest, TwoInstancesFireEachCronSlotOnce) {
  front50_.SetPipelines({CronPipeline("c1", "t1", "0 * * * * ?")});
  ManualClock clock(kT0);
  auto pool_b = NewPool();
  PgEchoStore store_b(pool_b.get());
  auto a = MakeCore(store_.get(), &clock, Sync());
  auto b = MakeCore(&store_b, &clock, Sync());
  ASSERT_THAT(a->RefreshPipelines(), IsOk());
  ASSERT_THAT(b->RefreshPipelines(), IsOk());
  for (int minute = 1; minute <= 3; ++minute) {
    clock.Set(kT0 + minute * 60000);
    b->RunScheduler();
    a->RunScheduler();
    a->DeliverPending();
    b->DeliverPending();
  }
  ASSERT_EQ(orca_.starts().size(), 3u);
  EXPECT_EQ(orca_.calls(), 3);
  for (int minute = 1; minute <= 3; ++minute) {
    EXPECT_EQ(orca_.starts()[minute - 1].idempotency_key,
              absl::StrCat("cron:c1:t1:", kT0 + minute * 60000));
  }
}

TEST_F(EchoPgTest, NotifyWakesAnotherInstance) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  CoreOptions intake = Sync();
  auto a = MakeCore(store_.get(), SystemClock(), intake);
  auto pool_b = NewPool();
  PgEchoStore store_b(pool_b.get());
  CoreOptions o;
  o.worker_threads = 2;
  o.background = false;
  o.poll = absl::Seconds(60);  // only NOTIFY can be in time
  auto b = MakeCore(&store_b, SystemClock(), o);
  ASSERT_THAT(b->RefreshPipelines(), IsOk());
  EchoCore* bp = b.get();
  pg::Listener listener(
      dsn_, kWakeChannel, [bp](const std::string&) { bp->Wake(); },
      [bp] { bp->Wake(); });
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!listener.listening() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(listener.listening());
  b->Start();
  // Let b's workers go to sleep first.
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time sent = absl::Now();
  ASSERT_THAT(a->ReceiveWebhook(Hook(), ""), IsOk());
  EXPECT_TRUE(orca_.WaitForStarts(1, absl::Seconds(5)));
  EXPECT_LT(absl::Now() - sent, absl::Seconds(5));
  b->Stop();
}

}  // namespace
}  // namespace gennaker::echo
