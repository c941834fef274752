// Against a real PostgreSQL server started by the test
// (common/testing/test_stores.h).
#include "common/pg/pg.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "common/pg/migrations.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"

namespace gennaker::pg {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<Pool> NewPool(int size = 2) {
  auto pg = testing::SharedPostgres();
  EXPECT_THAT(pg, IsOk());
  auto dsn = (*pg)->CreateDatabase("pool");
  EXPECT_THAT(dsn, IsOk());
  PoolOptions o;
  o.dsn = *dsn;
  o.size = size;
  auto pool = Pool::Create(o);
  EXPECT_THAT(pool, IsOk());
  return std::move(*pool);
}

std::vector<Migration> TestMigrations() {
  return {{1, "001_create.sql",
           "CREATE SCHEMA t; CREATE TABLE t.items (id int PRIMARY KEY);"},
          {2, "002_seed.sql", "INSERT INTO t.items VALUES (1), (2);"}};
}

TEST(PgTest, ExecWithParametersAndNulls) {
  auto pool = NewPool();
  auto lease = pool->Acquire();
  ASSERT_THAT(lease, IsOk());
  auto r = (*lease)->Exec("SELECT $1::int + 1, $2::text IS NULL",
                          {"41", std::nullopt});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->GetInt(0, 0), 42);
  EXPECT_EQ(r->Get(0, 1), "t");
}

TEST(PgTest, TransactionRollsBackOnErrorAndMapsUniqueViolation) {
  auto pool = NewPool();
  absl::Status created = pool->Transact([](Connection& c) {
    return c.ExecScript("CREATE TABLE kv (k text PRIMARY KEY, v text)");
  });
  ASSERT_THAT(created, IsOk());
  absl::Status s = pool->Transact([](Connection& c) -> absl::Status {
    auto a = c.Exec("INSERT INTO kv VALUES ('a', '1')");
    if (!a.ok()) return a.status();
    return c.Exec("INSERT INTO kv VALUES ('a', '2')").status();
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAlreadyExists));
  auto lease = pool->Acquire();
  auto count = (*lease)->Exec("SELECT count(*) FROM kv");
  ASSERT_THAT(count, IsOk());
  EXPECT_EQ(count->GetInt(0, 0), 0);  // the first insert was rolled back too
}

TEST(PgTest, MigrationsApplyOnceAndAreIdempotent) {
  auto pool = NewPool();
  auto first = ApplyMigrations(*pool, "svc", TestMigrations());
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(*first, 2);
  auto second = ApplyMigrations(*pool, "svc", TestMigrations());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(*second, 0);
  auto lease = pool->Acquire();
  auto rows = (*lease)->Exec("SELECT count(*) FROM t.items");
  EXPECT_EQ(rows->GetInt(0, 0), 2);  // the seed ran once
  // A new migration is applied alone.
  auto more = TestMigrations();
  more.push_back({3, "003_more.sql", "INSERT INTO t.items VALUES (3);"});
  EXPECT_EQ(*ApplyMigrations(*pool, "svc", more), 1);
}

TEST(PgTest, ConcurrentReplicasApplyMigrationsExactlyOnce) {
  auto pg = testing::SharedPostgres();
  auto dsn = (*pg)->CreateDatabase("race");
  ASSERT_THAT(dsn, IsOk());
  std::vector<std::thread> threads;
  std::atomic<int> applied{0}, failed{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      PoolOptions o;
      o.dsn = *dsn;
      o.size = 1;
      auto pool = Pool::Create(o);
      auto n = pool.ok() ? ApplyMigrations(**pool, "svc", TestMigrations())
                         : absl::StatusOr<int>(pool.status());
      n.ok() ? applied += *n : ++failed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(applied, 2);
}

TEST(PgTest, FailedMigrationLeavesNothingBehind) {
  auto pool = NewPool();
  std::vector<Migration> broken = {
      {1, "001_ok.sql", "CREATE TABLE good (id int);"},
      {2, "002_bad.sql",
       "CREATE TABLE bad (id int); SELECT no_such_function();"}};
  auto result = ApplyMigrations(*pool, "broken", broken);
  ASSERT_THAT(result, Not(IsOk()));
  EXPECT_THAT(result, StatusIs(_, HasSubstr("broken/002_bad.sql")));
  auto lease = pool->Acquire();
  auto tables = (*lease)->Exec(
      "SELECT count(*) FROM information_schema.tables WHERE table_name IN "
      "('good', 'bad')");
  EXPECT_EQ(tables->GetInt(0, 0), 0);
  EXPECT_THAT(ApplyMigrations(*pool, "x", {{2, "b", ""}, {1, "a", ""}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PgTest, UnreachableServerFailsFastWithoutLeakingThePassword) {
  PoolOptions o;
  o.dsn = "host=127.0.0.1 port=1 dbname=x user=u password=topsecret";
  o.connect_timeout_seconds = 2;
  auto pool = Pool::Create(o);
  ASSERT_THAT(pool, Not(IsOk()));
  EXPECT_THAT(pool, StatusIs(absl::StatusCode::kUnavailable,
                             Not(HasSubstr("topsecret"))));
}

}  // namespace
}  // namespace gennaker::pg
