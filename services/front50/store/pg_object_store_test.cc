// PgObjectStore against a real PostgreSQL (started by the test, schema from the
// migrations).
#include "services/front50/store/pg_object_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/pg/migrations.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"

namespace gennaker::front50 {

std::vector<pg::Migration> Migrations();

namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::IsOkAndHolds;
using ::gennaker::testing::StatusIs;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Optional;

class PgObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::SharedPostgres();
    ASSERT_THAT(pg, IsOk());
    auto dsn = (*pg)->CreateDatabase("front50");
    ASSERT_THAT(dsn, IsOk());
    dsn_ = *dsn;
    pg::PoolOptions o;
    o.dsn = dsn_;
    o.size = 8;
    auto pool = pg::Pool::Create(o);
    ASSERT_THAT(pool, IsOk());
    pool_ = std::move(*pool);
    ASSERT_THAT(pg::ApplyMigrations(*pool_, "front50", Migrations()), IsOk());
    store_ = std::make_unique<PgObjectStore>(pool_.get(), dsn_);
  }

  static StoredObject Pipeline(std::string id, std::string name, int64_t at,
                               std::string body = "{}") {
    StoredObject o;
    o.kind = Kind::kPipeline;
    o.id = std::move(id);
    o.name = std::move(name);
    o.application = "app";
    o.body = std::move(body);
    o.updated_at_ms = at;
    o.updated_by = "alice";
    return o;
  }

  std::string dsn_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgObjectStore> store_;
};

TEST_F(PgObjectStoreTest, CrudKeepsBodyCreatedFieldsAndVersions) {
  auto first = store_->Put(
      Pipeline("p1", "Deploy", 100, R"({"a":1,"big":12345678901234567})"), {});
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(first->created_at_ms, 100);
  auto second = store_->Put(Pipeline("p1", "Deploy", 200, R"({"a":2})"), {});
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->version, 2);
  EXPECT_EQ(second->created_at_ms, 100);
  EXPECT_EQ(second->updated_at_ms, 200);
  auto got = store_->Get(Kind::kPipeline, "p1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->body, R"({"a":2})");
  auto by_name = store_->FindByName(Kind::kPipeline, "app", "DEPLOY");
  ASSERT_THAT(by_name, IsOkAndHolds(Optional(_)));
  EXPECT_EQ((*by_name)->id, "p1");
  EXPECT_EQ(store_->List(Kind::kPipeline, "app")->size(), 1u);
  EXPECT_EQ(store_->List(Kind::kPipeline, "other")->size(), 0u);
  EXPECT_THAT(store_->Get(Kind::kStrategy, "p1"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PgObjectStoreTest, HistoryListsEveryVersionNewestFirst) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_THAT(store_->Put(Pipeline("p", "P", i * 10,
                                     "{\"v\":" + std::to_string(i) + "}"),
                            {}),
                IsOk());
  }
  auto history = store_->History(Kind::kPipeline, "p", 10);
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].body, R"({"v":3})");
  EXPECT_EQ((*history)[2].body, R"({"v":1})");
  EXPECT_EQ(store_->History(Kind::kPipeline, "p", 2)->size(), 2u);
  auto v1 = store_->Version(Kind::kPipeline, "p", 1);
  ASSERT_THAT(v1, IsOk());
  EXPECT_EQ(v1->body, R"({"v":1})");
  EXPECT_THAT(store_->Version(Kind::kPipeline, "p", 9),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PgObjectStoreTest, StaleWriteIsRefusedAndChangesNothing) {
  ASSERT_THAT(store_->Put(Pipeline("p", "P", 100, R"({"v":1})"), {}), IsOk());
  PutOptions stale;
  stale.expected_updated_at_ms = 99;
  auto refused = store_->Put(Pipeline("p", "P", 150, R"({"v":2})"), stale);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kAborted,
                                HasSubstr("stored lastModified is 100")));
  EXPECT_EQ(store_->Get(Kind::kPipeline, "p")->body, R"({"v":1})");
  EXPECT_EQ(store_->History(Kind::kPipeline, "p", 10)->size(), 1u);
  PutOptions fresh;
  fresh.expected_updated_at_ms = 100;
  EXPECT_THAT(store_->Put(Pipeline("p", "P", 150, R"({"v":2})"), fresh),
              IsOk());
}

TEST_F(PgObjectStoreTest, SoftDeleteAndRevival) {
  ASSERT_THAT(store_->Put(Pipeline("p", "P", 100), {}), IsOk());
  ASSERT_THAT(store_->Delete(Kind::kPipeline, "p", "bob", 200), IsOk());
  EXPECT_THAT(store_->Get(Kind::kPipeline, "p"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Delete(Kind::kPipeline, "p", "bob", 300),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_->List(Kind::kPipeline, "app")->size(), 0u);
  // The name is free again while deleted.
  ASSERT_THAT(store_->Put(Pipeline("q", "P", 250), {}), IsOk());
  ASSERT_THAT(store_->Delete(Kind::kPipeline, "q", "bob", 260), IsOk());
  // Saving over the deleted object brings it back, with its history intact.
  auto revived = store_->Put(Pipeline("p", "P", 300, R"({"back":true})"), {});
  ASSERT_THAT(revived, IsOk());
  EXPECT_FALSE(revived->deleted);
  EXPECT_EQ(revived->version, 3);
  EXPECT_EQ(store_->History(Kind::kPipeline, "p", 10)->size(), 3u);
  // Recover undoes a delete.
  ASSERT_THAT(store_->Delete(Kind::kPipeline, "p", "bob", 400), IsOk());
  auto recovered = store_->Recover(Kind::kPipeline, "p", "carol", 500);
  ASSERT_THAT(recovered, IsOk());
  EXPECT_EQ(recovered->body, R"({"back":true})");
  EXPECT_THAT(store_->Recover(Kind::kPipeline, "p", "carol", 600),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(PgObjectStoreTest, DuplicateNamesAreRejectedIgnoringCase) {
  ASSERT_THAT(store_->Put(Pipeline("p1", "Deploy Prod", 100), {}), IsOk());
  auto dup = store_->Put(Pipeline("p2", "deploy prod", 100), {});
  EXPECT_THAT(dup, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store_->Get(Kind::kPipeline, "p2"),
              StatusIs(absl::StatusCode::kNotFound));
  StoredObject other_app = Pipeline("p3", "Deploy Prod", 100);
  other_app.application = "other";
  EXPECT_THAT(store_->Put(other_app, {}), IsOk());
}

TEST_F(PgObjectStoreTest, EightConcurrentWritersLoseNoVersion) {
  constexpr int kWriters = 8, kWrites = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kWrites; ++i) {
        std::string body = "{\"writer\":" + std::to_string(w) +
                           ",\"i\":" + std::to_string(i) + "}";
        if (!store_->Put(Pipeline("shared", "Shared", 1000 + i, body), {}).ok())
          ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  auto current = store_->Get(Kind::kPipeline, "shared");
  ASSERT_THAT(current, IsOk());
  EXPECT_EQ(current->version, kWriters * kWrites);
  auto history = store_->History(Kind::kPipeline, "shared", 0);
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), static_cast<size_t>(kWriters * kWrites));
  std::set<std::string> bodies;
  std::set<int64_t> versions;
  for (const auto& h : *history) {
    bodies.insert(h.body);
    versions.insert(h.version);
  }
  EXPECT_EQ(bodies.size(),
            static_cast<size_t>(kWriters * kWrites));  // every write kept
  EXPECT_EQ(*versions.begin(), 1);
  EXPECT_EQ(*versions.rbegin(), kWriters * kWrites);
}

TEST_F(PgObjectStoreTest, ConcurrentCreatesOfOneKeyLetExactlyOneWin) {
  std::vector<std::thread> threads;
  std::atomic<int> created{0}, refused{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      StoredObject app;
      app.kind = Kind::kApplication;
      app.id = app.name = app.application = "race";
      app.body = "{\"by\":" + std::to_string(i) + "}";
      app.updated_at_ms = 1;
      app.updated_by = "u";
      PutOptions create;
      create.create_only = true;
      auto r = store_->Put(app, create);
      if (r.ok()) ++created;
      if (absl::IsAlreadyExists(r.status())) ++refused;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created, 1);
  EXPECT_EQ(refused, 7);
  EXPECT_EQ(store_->History(Kind::kApplication, "race", 0)->size(), 1u);
}

TEST_F(PgObjectStoreTest, ExpectedVersionRefusesChangedOrDeletedObjects) {
  auto v1 = store_->Put(Pipeline("p", "P", 100), {});
  ASSERT_THAT(v1, IsOk());
  PutOptions at_v1;
  at_v1.expected_version = v1->version;
  // Now version 2.
  ASSERT_THAT(store_->Put(Pipeline("p", "P", 200), at_v1), IsOk());
  EXPECT_THAT(store_->Put(Pipeline("p", "P", 300), at_v1),
              StatusIs(absl::StatusCode::kAborted));
  PutOptions at_v3;
  at_v3.expected_version = 3;
  // Version 3.
  ASSERT_THAT(store_->Delete(Kind::kPipeline, "p", "u", 400), IsOk());
  auto revived = store_->Put(Pipeline("p", "P", 500), at_v3);
  // A delete is not undone.
  EXPECT_THAT(revived, StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(store_->Get(Kind::kPipeline, "p"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PgObjectStoreTest, RecoverKeepsUpdatedAtForStaleChecks) {
  ASSERT_THAT(store_->Put(Pipeline("p", "P", 100), {}), IsOk());
  ASSERT_THAT(store_->Delete(Kind::kPipeline, "p", "u", 200), IsOk());
  auto back = store_->Recover(Kind::kPipeline, "p", "u", 300);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->updated_at_ms, 100);
  PutOptions fresh;
  fresh.expected_updated_at_ms = 100;
  EXPECT_THAT(store_->Put(Pipeline("p", "P", 400), fresh), IsOk());
}

TEST_F(PgObjectStoreTest, OtherReplicasHearOfChanges) {
  PgObjectStore replica(pool_.get(), dsn_);
  absl::Notification heard;
  std::string heard_app;
  std::atomic<bool> reset{false};
  replica.OnChange([&](Kind kind, const std::string& application) {
    // Once listening, the replica is told to drop everything ("*"), then hears
    // each change.
    if (application == "*") {
      reset = true;
      return;
    }
    if (kind == Kind::kPipeline && !heard.HasBeenNotified()) {
      heard_app = application;
      heard.Notify();
    }
  });
  // The listener connects in the background; keep writing until it hears one.
  for (int i = 0; i < 100 && !heard.HasBeenNotified(); ++i) {
    ASSERT_THAT(store_->Put(Pipeline("n", "N", i), {}), IsOk());
    heard.WaitForNotificationWithTimeout(absl::Milliseconds(50));
  }
  ASSERT_TRUE(heard.HasBeenNotified());
  EXPECT_EQ(heard_app, "app");
  EXPECT_TRUE(reset);
}

}  // namespace
}  // namespace gennaker::front50
