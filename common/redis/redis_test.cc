// Against a real redis-server started by the test.
#include "common/redis/redis.h"

#include <gtest/gtest.h>

#include "common/process/process.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"

namespace gennaker::redis {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::Not;

TEST(RedisUrlTest, ParsesHostPortPasswordAndDb) {
  auto o = ParseUrl("redis://:pw@cache.local:6380/2");
  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->host, "cache.local");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->password, "pw");
  EXPECT_EQ(o->db, 2);
  EXPECT_EQ(ParseUrl("redis://h")->port, 6379);
  EXPECT_THAT(ParseUrl("http://h:1"), Not(IsOk()));
  EXPECT_THAT(ParseUrl("redis://h:notaport"), Not(IsOk()));
}

TEST(RedisTest, CommandsAndErrorReplies) {
  auto server = testing::TestRedis::Start();
  ASSERT_THAT(server, IsOk());
  Options o;
  o.port = (*server)->port();
  auto client = Client::Connect(o);
  ASSERT_THAT(client, IsOk());
  ASSERT_THAT((*client)->Command({"SET", "k", std::string("v\0w", 3)}), IsOk());
  auto got = (*client)->Command({"GET", "k"});
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->str, std::string("v\0w", 3));
  EXPECT_EQ((*client)->Command({"INCR", "n"})->integer, 1);
  ASSERT_THAT((*client)->Command({"RPUSH", "l", "a", "b"}), IsOk());
  EXPECT_EQ((*client)->Command({"LRANGE", "l", "0", "-1"})->elements.size(),
            2u);
  EXPECT_EQ((*client)->Command({"GET", "missing"})->type, Reply::Type::kNil);
  EXPECT_THAT((*client)->Command({"NOSUCHCMD"}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(RedisTest, ReconnectsAfterTheServerRestarts) {
  auto server = testing::TestRedis::Start();
  ASSERT_THAT(server, IsOk());
  Options o;
  o.port = (*server)->port();
  o.pool_size = 2;
  auto client = Client::Connect(o);
  ASSERT_THAT(client, IsOk());
  ASSERT_THAT((*client)->Command({"SET", "before", "1"}), IsOk());
  (*server)->Stop();
  EXPECT_THAT((*client)->Command({"PING"}),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT((*server)->Restart(), IsOk());
  // The pooled connection is stale; the client replaces it without failing the
  // call.
  auto after = (*client)->Command({"SET", "after", "2"});
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ((*client)->Command({"GET", "after"})->str, "2");
}

TEST(RedisTest, UnreachableServerIsUnavailable) {
  auto port = process::FreePort();
  Options o;
  o.port = *port;
  o.timeout_ms = 500;
  EXPECT_THAT(Client::Connect(o), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace gennaker::redis
