// gate's session stores, the Redis one against a real redis-server and the
// memory one, held to the same contract.
#include <gtest/gtest.h>

#include <thread>

#include "common/redis/redis.h"
#include "common/testing/test_stores.h"
#include "services/gate/gate_auth.h"

namespace gennaker::gate {
namespace {

using std::chrono::seconds;

class SessionStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    auto redis = testing::TestRedis::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_server_ = redis->release();
    auto options = redis::ParseUrl(redis_server_->Url());
    ASSERT_TRUE(options.ok());
    auto client = redis::Client::Connect(*options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = client->release();
  }
  static void TearDownTestSuite() {
    delete client_;
    delete redis_server_;
  }

  void SetUp() override {
    store_ =
        GetParam() ? MakeRedisSessionStore(client_) : MakeMemorySessionStore();
    // Each test its own keys.
    prefix_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  std::string Key(const std::string& k) const { return prefix_ + ":" + k; }

  static inline testing::TestRedis* redis_server_ = nullptr;
  static inline redis::Client* client_ = nullptr;
  std::unique_ptr<SessionStore> store_;
  std::string prefix_;
};

TEST_P(SessionStoreTest, PutGetDelete) {
  auto missing = store_->Get(Key("s"));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(
      store_->Put(Key("s"), R"({"username":"alice"})", seconds(60)).ok());
  auto got = store_->Get(Key("s"));
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, R"({"username":"alice"})");
  ASSERT_TRUE(store_->Delete(Key("s")).ok());
  EXPECT_FALSE(store_->Get(Key("s"))->has_value());
}

TEST_P(SessionStoreTest, EntriesExpireAndTouchRenews) {
  ASSERT_TRUE(store_->Put(Key("a"), "x", seconds(1)).ok());
  ASSERT_TRUE(store_->Put(Key("b"), "y", seconds(1)).ok());
  ASSERT_TRUE(store_->Touch(Key("b"), seconds(60)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_FALSE(store_->Get(Key("a"))->has_value());
  EXPECT_TRUE(store_->Get(Key("b"))->has_value());
  // Touching what is gone creates nothing.
  ASSERT_TRUE(store_->Touch(Key("a"), seconds(60)).ok());
  EXPECT_FALSE(store_->Get(Key("a"))->has_value());
}

TEST_P(SessionStoreTest, CountersCountAndReportTheirTtl) {
  auto none = store_->Counter(Key("c"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->first, 0);
  EXPECT_EQ(*store_->Increment(Key("c"), seconds(100)), 1);
  EXPECT_EQ(*store_->Increment(Key("c"), seconds(100)), 2);
  auto two = store_->Counter(Key("c"));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->first, 2);
  EXPECT_GT(two->second.count(), 90);
  EXPECT_LE(two->second.count(), 100);
  // A value put as "1" reads as a counter too (the delay markers).
  ASSERT_TRUE(store_->Put(Key("block"), "1", seconds(5)).ok());
  EXPECT_EQ(store_->Counter(Key("block"))->first, 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, SessionStoreTest,
                         ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Redis" : "Memory";
                         });

TEST(RedisSessionStoreTest, AStoppedRedisIsUnavailableWithoutTheKey) {
  auto server = testing::TestRedis::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto options = redis::ParseUrl((*server)->Url());
  ASSERT_TRUE(options.ok());
  options->timeout_ms = 500;
  auto client = redis::Client::Connect(*options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto store = MakeRedisSessionStore(client->get());
  server->reset();  // stops redis-server
  const std::string key = "gate:session:0123456789abcdef";
  auto got = store->Get(key);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(got.status().message().find("0123456789abcdef"), std::string::npos)
      << got.status();
  EXPECT_EQ(store->Increment(key, seconds(5)).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace gennaker::gate
