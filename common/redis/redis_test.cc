// Against a real redis-server started by the test.
#include "common/redis/redis.h"

#include <gtest/gtest.h>

#include "common/process/process.h"
#include "common/testing/test_stores.h"

namespace gennaker::redis {
namespace {

TEST(RedisUrlTest, ParsesHostPortPasswordAndDb) {
  auto o = ParseUrl("redis://:pw@cache.local:6380/2");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->host, "cache.local");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->password, "pw");
  EXPECT_EQ(o->db, 2);
  EXPECT_EQ(ParseUrl("redis://h")->port, 6379);
  EXPECT_FALSE(ParseUrl("http://h:1").ok());
  EXPECT_FALSE(ParseUrl("redis://h:notaport").ok());
}

TEST(RedisTest, CommandsAndErrorReplies) {
  auto server = testing::TestRedis::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  Options o;
  o.port = (*server)->port();
  auto client = Client::Connect(o);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Command({"SET", "k", std::string("v\0w", 3)}).ok());
  auto got = (*client)->Command({"GET", "k"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->str, std::string("v\0w", 3));
  EXPECT_EQ((*client)->Command({"INCR", "n"})->integer, 1);
  ASSERT_TRUE((*client)->Command({"RPUSH", "l", "a", "b"}).ok());
  EXPECT_EQ((*client)->Command({"LRANGE", "l", "0", "-1"})->elements.size(),
            2u);
  EXPECT_EQ((*client)->Command({"GET", "missing"})->type, Reply::Type::kNil);
  EXPECT_TRUE(
      absl::IsFailedPrecondition((*client)->Command({"NOSUCHCMD"}).status()));
}

TEST(RedisTest, ReconnectsAfterTheServerRestarts) {
  auto server = testing::TestRedis::Start();
  ASSERT_TRUE(server.ok());
  Options o;
  o.port = (*server)->port();
  o.pool_size = 2;
  auto client = Client::Connect(o);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Command({"SET", "before", "1"}).ok());
  (*server)->Stop();
  EXPECT_TRUE(absl::IsUnavailable((*client)->Command({"PING"}).status()));
  ASSERT_TRUE((*server)->Restart().ok());
  // The pooled connection is stale; the client replaces it without failing the
  // call.
  auto after = (*client)->Command({"SET", "after", "2"});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ((*client)->Command({"GET", "after"})->str, "2");
}

TEST(RedisTest, UnreachableServerIsUnavailable) {
  auto port = process::FreePort();
  Options o;
  o.port = *port;
  o.timeout_ms = 500;
  EXPECT_TRUE(absl::IsUnavailable(Client::Connect(o).status()));
}

}  // namespace
}  // namespace gennaker::redis
