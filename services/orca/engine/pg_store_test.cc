// PgStore against a real PostgreSQL: claims exclude each other, pushes to
// unknown executions are dropped, correlation ids de-duplicate concurrent
// starts, and retention deletes only finished executions.
#include "services/orca/engine/pg_store.h"

#include <map>
#include <thread>

#include "common/pg/migrations.h"
#include "common/testing/test_stores.h"
#include "gtest/gtest.h"
#include "services/orca/engine/engine.h"
#include "services/orca/launcher.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {
std::vector<pg::Migration> Migrations();
namespace {

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::SharedPostgres();
    ASSERT_TRUE(pg.ok()) << pg.status();
    auto dsn = (*pg)->CreateDatabase("orca");
    ASSERT_TRUE(dsn.ok());
    pg::PoolOptions o;
    o.dsn = *dsn;
    o.size = 6;
    auto pool = pg::Pool::Create(o);
    ASSERT_TRUE(pool.ok());
    pool_ = std::move(*pool);
    ASSERT_TRUE(pg::ApplyMigrations(*pool_, "orca", Migrations()).ok());
    store_ = std::make_unique<PgStore>(pool_.get(), &clock_);
  }

  Json Execution(const std::string& config_id = "cfg") {
    LaunchOptions o;
    o.now_ms = clock_.NowMs();
    auto e = BuildPipelineExecution(
        {{"application", "app"},
         {"id", config_id},
         {"stages", {{{"refId", "1"}, {"type", "wait"}}}}},
        Json::object(), o);
    EXPECT_TRUE(e.ok());
    return *e;
  }

  SystemClock clock_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgStore> store_;
};

// A message whose handling kills orca used to be handled again after every
// restart (the rollback took back its attempt count), stopping all
// pipelines for good. Handlings are now counted before they start.
TEST_F(PgStoreTest, AMessageThatKeepsKillingItsHandlerIsDeadLettered) {
  Json a = Execution("a");
  ASSERT_TRUE(store_->Create(a, "", {StartMessage(a)}).ok());
  // A handler that fails cleanly (Retry) is not a crash.
  {
    auto w = store_->Claim(clock_.NowMs());
    ASSERT_TRUE(w.ok() && *w != nullptr);
    EXPECT_EQ((*w)->crashes(), 0);
    Message m = (*w)->message();
    w->reset();
    ASSERT_TRUE(store_->Retry(m, clock_.NowMs(), 0).ok());
  }
  // Dropping a claim without commit or Retry is what a crash leaves.
  for (int i = 0; i < 3; ++i) {
    auto w = store_->Claim(clock_.NowMs());
    ASSERT_TRUE(w.ok() && *w != nullptr);
    EXPECT_EQ((*w)->crashes(), i);
  }
  LaunchOptions launch;
  launch.now_ms = clock_.NowMs();
  auto built = BuildPipelineExecution(
      {{"application", "app"},
       {"id", "b"},
       {"stages", {{{"refId", "1"}, {"type", "wait"}, {"waitTime", 0}}}}},
      Json::object(), launch);
  ASSERT_TRUE(built.ok());
  Json b = *built;
  ASSERT_TRUE(store_->Create(b, "", {StartMessage(b)}).ok());

  Registry registry;
  RegisterBuiltinStages(&registry, StageDeps{});
  EngineOptions options;
  options.max_crashes = 3;
  Engine engine(store_.get(), &registry, &clock_, nullptr, options);
  for (int i = 0; i < 20; ++i) {
    auto more = engine.ProcessOne();
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
  }
  auto ea = store_->Get(String(a, "id"));
  ASSERT_TRUE(ea.ok());
  EXPECT_EQ(String(*ea, "status"), "TERMINAL");
  EXPECT_EQ(String((*ea)[kPrivateKey], "internalError"),
            "orca crashed 3 times handling startExecution of this execution; "
            "dead-lettered");
  // Only that execution failed: the other one ran.
  auto eb = store_->Get(String(b, "id"));
  ASSERT_TRUE(eb.ok());
  EXPECT_EQ(String(*eb, "status"), "SUCCEEDED");
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  auto dead = (*c)->Exec(
      "SELECT count(*) FROM orca.dead_letters WHERE execution_id = $1",
      {String(a, "id")});
  ASSERT_TRUE(dead.ok());
  EXPECT_EQ(dead->GetInt(0, 0), 1);
}

// CI once saw "crashed 4 times" with three deaths: the message was dropped
// after its claim was released, and another worker claimed (and counted) it
// in between. It is now dead-lettered under the claim that gives up on it.
TEST_F(PgStoreTest, DeadLetteringUnderTheClaimLeavesNothingToClaim) {
  Json a = Execution("a");
  ASSERT_TRUE(store_->Create(a, "", {StartMessage(a)}).ok());
  auto w = store_->Claim(clock_.NowMs());
  ASSERT_TRUE(w.ok() && *w != nullptr);
  ASSERT_TRUE((*w)->DeadLetterClaimed("given up").ok());
  // Until the commit, the execution is held: nobody else claims its message.
  auto meanwhile = store_->Claim(clock_.NowMs());
  ASSERT_TRUE(meanwhile.ok());
  EXPECT_EQ(*meanwhile, nullptr);
  ASSERT_TRUE((*w)->Commit({}).ok());
  auto after = store_->Claim(clock_.NowMs());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, nullptr);
  EXPECT_EQ(*store_->QueueDepth(), 0);
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  auto dead = (*c)->Exec(
      "SELECT error, body FROM orca.dead_letters WHERE execution_id = $1",
      {String(a, "id")});
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->rows(), 1);
  EXPECT_EQ(std::string(dead->Get(0, 0)), "given up");
  EXPECT_NE(std::string(dead->Get(0, 1)).find("startExecution"),
            std::string::npos);
  // A claim that was not for a queued message (an API lock) refuses.
  auto locked = store_->Lock(String(a, "id"));
  ASSERT_TRUE(locked.ok());
  EXPECT_EQ((*locked)->DeadLetterClaimed("x").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(PgStoreTest, AClaimedExecutionIsNotClaimedTwice) {
  Json a = Execution(), b = Execution();
  ASSERT_TRUE(store_->Create(a, "", {StartMessage(a)}).ok());
  ASSERT_TRUE(store_->Create(b, "", {StartMessage(b)}).ok());
  // A second message for `a`: still only one holder of `a` at a time.
  Outgoing extra;
  extra.message = {kind::kCompleteExecution, String(a, "id"), "", ""};
  ASSERT_TRUE(store_->Push({extra}).ok());
  auto first = store_->Claim(clock_.NowMs());
  ASSERT_TRUE(first.ok() && *first != nullptr);
  auto second = store_->Claim(clock_.NowMs());
  ASSERT_TRUE(second.ok() && *second != nullptr);
  EXPECT_NE(String((*first)->execution(), "id"),
            String((*second)->execution(), "id"));
  auto third = store_->Claim(clock_.NowMs());
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, nullptr);  // the rest belongs to held executions
  // Releasing without commit (a crash) makes the message claimable again.
  std::string held = String((*first)->execution(), "id");
  first->reset();
  auto again = store_->Claim(clock_.NowMs());
  ASSERT_TRUE(again.ok() && *again != nullptr);
  EXPECT_EQ(String((*again)->execution(), "id"), held);
  // Commit acknowledges exactly the claimed message.
  ASSERT_TRUE((*again)->Commit({}).ok());
  ASSERT_TRUE((*second)->Commit({}).ok());
  EXPECT_EQ(*store_->QueueDepth(), 1);
}

TEST_F(PgStoreTest, PushesForUnknownExecutionsAreDropped) {
  Outgoing o;
  o.message = {kind::kRescheduleExecution, "nope", "", ""};
  ASSERT_TRUE(store_->Push({o}).ok());
  EXPECT_EQ(*store_->QueueDepth(), 0);
  auto next = store_->NextDelivery();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
}

TEST_F(PgStoreTest, ConcurrentStartsWithOneCorrelationIdMakeOneExecution) {
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Json e = Execution();
      auto id = store_->Create(e, "trigger-42", {StartMessage(e)});
      ids[i] = id.ok() ? *id : std::string(id.status().message());
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& id : ids) EXPECT_EQ(id, ids[0]);
  ExecutionQuery q;
  q.application = "app";
  EXPECT_EQ(store_->List(q)->size(), 1u);
  EXPECT_EQ(*store_->QueueDepth(), 1);
}

TEST_F(PgStoreTest, ListLimitsPerPipelineConfig) {
  for (int i = 0; i < 3; ++i) {
    for (const char* config : {"a", "b"}) {
      Json e = Execution(config);
      e["buildTime"] = 100 + i;
      ASSERT_TRUE(store_->Create(e, "", {}).ok());
    }
  }
  ExecutionQuery q;
  q.config_ids = {"a", "b"};
  q.limit = 2;
  q.limit_per_config = true;
  auto list = store_->List(q);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 4u);
  std::map<std::string, int> per_config;
  for (const Json& e : *list) {
    ++per_config[String(e, "pipelineConfigId")];
    EXPECT_GE(Int(e, "buildTime"), 101);  // the newest two of each
  }
  EXPECT_EQ(per_config["a"], 2);
  EXPECT_EQ(per_config["b"], 2);
  EXPECT_GE(Int((*list)[0], "buildTime"), Int((*list)[3], "buildTime"));
  q.limit_per_config = false;
  EXPECT_EQ(store_->List(q)->size(), 2u);
  // By application: still per pipeline config (Deck's app executions view).
  ExecutionQuery by_app;
  by_app.application = "app";
  by_app.type = "PIPELINE";
  by_app.limit = 1;
  by_app.limit_per_config = true;
  EXPECT_EQ(store_->List(by_app)->size(), 2u);
  by_app.limit_per_config = false;
  by_app.limit = 2;
  by_app.offset = 4;
  EXPECT_EQ(store_->List(by_app)->size(), 2u);
  by_app.offset = 6;
  EXPECT_TRUE(store_->List(by_app)->empty());
}

TEST_F(PgStoreTest, RetentionDeletesOnlyFinishedExecutions) {
  std::vector<std::string> done;
  for (int i = 0; i < 4; ++i) {
    Json e = Execution("keep-2");
    e["status"] = "SUCCEEDED";
    e["buildTime"] = 1000 + i;
    done.push_back(*store_->Create(e, "", {}));
  }
  Json running = Execution("keep-2");
  running["status"] = "RUNNING";
  running["buildTime"] = 1;
  ASSERT_TRUE(store_->Create(running, "", {StartMessage(running)}).ok());
  // Keep the newest two finished runs of the config; the running one stays.
  auto purged = store_->Purge(0, 2);
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 2);
  EXPECT_TRUE(absl::IsNotFound(store_->Get(done[0]).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Get(done[1]).status()));
  EXPECT_TRUE(store_->Get(done[3]).ok());
  EXPECT_TRUE(store_->Get(String(running, "id")).ok());
  // Age: everything finished before the cut-off goes.
  purged = store_->Purge(clock_.NowMs(), 0);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 2);
  EXPECT_TRUE(store_->Get(String(running, "id")).ok());
}

}  // namespace
}  // namespace gennaker::orca
