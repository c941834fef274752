// PgKayentaStore against a real PostgreSQL (schema from the migrations), and
// a restart of the core on it: unfinished runs are resumed.
#include "services/kayenta/store/pg_kayenta_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/time/clock.h"
#include "common/pg/migrations.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "services/kayenta/fake_metrics_source.h"
#include "services/kayenta/kayenta_core.h"

namespace gennaker::kayenta {

std::vector<pg::Migration> Migrations();

namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;

class PgKayentaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = ::gennaker::testing::SharedPostgres();
    ASSERT_THAT(pg, IsOk());
    auto dsn = (*pg)->CreateDatabase("kayenta");
    ASSERT_THAT(dsn, IsOk());
    pg::PoolOptions o;
    o.dsn = *dsn;
    o.size = 4;
    auto pool = pg::Pool::Create(o);
    ASSERT_THAT(pool, IsOk());
    pool_ = std::move(*pool);
    ASSERT_THAT(pg::ApplyMigrations(*pool_, "kayenta", Migrations()), IsOk());
    store_ = std::make_unique<PgKayentaStore>(pool_.get());
  }

  static Record ConfigRecord(std::string id, std::string name,
                             std::vector<std::string> apps, int64_t at) {
    Record r;
    r.id = std::move(id);
    r.name = std::move(name);
    r.applications = std::move(apps);
    r.body = "{}";
    r.created_ms = r.updated_ms = at;
    return r;
  }

  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgKayentaStore> store_;
};

TEST_F(PgKayentaStoreTest, ConfigsNamesAndStaleChecks) {
  EXPECT_THAT(store_->Insert(Kind::kConfig, ConfigRecord("c1", "n", {"a"}, 1)),
              ::gennaker::testing::IsOkAndHolds("c1"));
  // An id conflict and a name conflict are told apart by the status payload.
  absl::Status id_taken =
      store_->Insert(Kind::kConfig, ConfigRecord("c1", "m", {"b"}, 1)).status();
  EXPECT_THAT(id_taken, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_FALSE(IsDuplicateConfigName(id_taken));
  absl::Status name_taken =
      store_->Insert(Kind::kConfig, ConfigRecord("c2", "n", {"b", "a"}, 2))
          .status();
  EXPECT_THAT(name_taken, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_TRUE(IsDuplicateConfigName(name_taken)) << name_taken;
  EXPECT_THAT(store_->Insert(Kind::kConfig, ConfigRecord("c3", "n", {"b"}, 3)),
              IsOk());
  Record key = ConfigRecord("c4", "k", {"z"}, 4);
  key.idempotency_key = "idem";
  EXPECT_THAT(store_->Insert(Kind::kConfig, key),
              ::gennaker::testing::IsOkAndHolds("c4"));
  key.id = "c5";
  EXPECT_THAT(store_->Insert(Kind::kConfig, key),
              ::gennaker::testing::IsOkAndHolds("c4"));

  auto got = store_->Get(Kind::kConfig, "c1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->applications, std::vector<std::string>{"a"});
  EXPECT_EQ(got->version, 1);

  Record upd = *got;
  upd.name = "n";
  upd.applications = {"b"};  // would collide with c3
  upd.updated_ms = 10;
  EXPECT_THAT(store_->Update(Kind::kConfig, upd, {}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  upd.applications = {"a", "q"};
  UpdateOptions stale;
  stale.expected_updated_ms = 999;
  EXPECT_THAT(store_->Update(Kind::kConfig, upd, stale),
              StatusIs(absl::StatusCode::kAborted));
  UpdateOptions fresh;
  fresh.expected_updated_ms = 1;
  auto u = store_->Update(Kind::kConfig, upd, fresh);
  ASSERT_THAT(u, IsOk());
  EXPECT_EQ(u->version, 2);
  EXPECT_EQ(u->updated_ms, 10);
  UpdateOptions old_version;
  old_version.expected_version = 1;
  EXPECT_THAT(store_->Update(Kind::kConfig, upd, old_version),
              StatusIs(absl::StatusCode::kAborted));

  ListQuery q;
  q.applications = {"q"};
  auto list = store_->List(Kind::kConfig, q);
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, "c1");
  EXPECT_THAT(store_->Delete(Kind::kConfig, "c1"),
              ::gennaker::testing::IsOkAndHolds(true));
  EXPECT_THAT(store_->Delete(Kind::kConfig, "c1"),
              ::gennaker::testing::IsOkAndHolds(false));
  EXPECT_THAT(store_->Get(Kind::kConfig, "c1"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PgKayentaStoreTest, ExecutionsListNewestFirstByStatus) {
  for (int i = 0; i < 5; ++i) {
    Record r;
    r.id = absl::StrCat("e", i);
    r.application = i < 4 ? "app" : "other";
    r.status = i % 2 == 0 ? "succeeded" : "running";
    r.body = "{}";
    r.created_ms = r.updated_ms = 100 + i;
    ASSERT_THAT(store_->Insert(Kind::kExecution, r), IsOk());
  }
  ListQuery q;
  q.application = "app";
  q.statuses = {"succeeded"};
  auto list = store_->List(Kind::kExecution, q);
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "e2");
  EXPECT_EQ((*list)[1].id, "e0");
  q.statuses.clear();
  q.limit = 2;
  q.offset = 1;
  q.with_body = false;
  list = store_->List(Kind::kExecution, q);
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "e2");
  EXPECT_EQ((*list)[1].id, "e1");
  EXPECT_TRUE((*list)[0].body.empty());
}

std::unique_ptr<KayentaCore> NewCore(KayentaStore* store, Clock* clock,
                                     int threads) {
  auto src = std::make_unique<testing::FakeSource>();
  src->Set("baseline", testing::Series(10));
  src->Set("canary", testing::Series(10));
  std::vector<std::unique_ptr<MetricsSource>> sources;
  sources.push_back(std::move(src));
  CoreOptions o;
  o.worker_threads = threads;
  o.tick = threads > 0 ? absl::Milliseconds(50) : absl::ZeroDuration();
  return std::make_unique<KayentaCore>(store, std::move(sources), clock, o);
}

TEST_F(PgKayentaStoreTest, RestartResumesUnfinishedRuns) {
  testing::ManualClock clock;
  std::string queued, running;
  {
    // The first process accepts two runs and "dies" before finishing them:
    // one never started, the other was marked running.
    auto core = NewCore(store_.get(), &clock, 0);
    RunSource src;
    src.inline_config = testing::Config();
    auto a = core->StartCanary(src, testing::Request());
    auto b = core->StartCanary(src, testing::Request());
    ASSERT_THAT(a, IsOk());
    ASSERT_THAT(b, IsOk());
    queued = *a;
    running = *b;
    auto rec = store_->Get(Kind::kExecution, running);
    ASSERT_THAT(rec, IsOk());
    rec->status = "running";
    ASSERT_THAT(store_->Update(Kind::kExecution, *rec, {}), IsOk());
  }
  // A new process on a new pool: Start() resumes both.
  pg::PoolOptions o;
  auto core = NewCore(store_.get(), &clock, 2);
  ASSERT_THAT(core->Start(), IsOk());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  bool done = false;
  while (!done && absl::Now() < deadline) {
    auto x = store_->Get(Kind::kExecution, queued);
    auto y = store_->Get(Kind::kExecution, running);
    done = x.ok() && y.ok() && x->status == "succeeded" &&
           y->status == "succeeded";
    if (!done) absl::SleepFor(absl::Milliseconds(50));
  }
  core->Stop();
  EXPECT_TRUE(done);
  auto y = store_->Get(Kind::kExecution, running);
  ASSERT_THAT(y, IsOk());
  auto body = spinnaker::ParseJson(y->body);
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ((*body)["stageStatus"]["judge"], "succeeded");
  EXPECT_TRUE(body->contains("metricSetPairListId"));
}

}  // namespace
}  // namespace gennaker::kayenta
