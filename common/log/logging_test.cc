#include "common/log/logging.h"

#include <gtest/gtest.h>

#include "common/log/call_context.h"
#include "common/testing/status_matchers.h"

namespace gennaker {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;

TEST(LoggingTest, RedactsPasswordsInDsnsAndUrls) {
  EXPECT_EQ(RedactSecrets("host=db password=hunter2 dbname=x"),
            "host=db password=*** dbname=x");
  EXPECT_EQ(RedactSecrets("host=db password='a b' user=u"),
            "host=db password=*** user=u");
  EXPECT_EQ(RedactSecrets("redis://:s3cret@host:6379/0"),
            "redis://:***@host:6379/0");
  EXPECT_EQ(RedactSecrets("postgres://user:pw@h/db"),
            "postgres://user:***@h/db");
  EXPECT_EQ(RedactSecrets("nothing secret"), "nothing secret");
}

TEST(LoggingTest, RejectsUnknownLevelAndFormat) {
  EXPECT_THAT(InitLogging({"t", "loud", "text"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(InitLogging({"t", "info", "xml"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(InitLogging({"t", "info", "json"}), IsOk());
  EXPECT_THAT(InitLogging({"t", "debug", "text"}), IsOk());
}

TEST(CallContextTest, ScopedContextNestsAndRestores) {
  EXPECT_EQ(CurrentCallContext().user, "");
  {
    ScopedCallContext outer({"r1", "alice", ""});
    EXPECT_EQ(CurrentCallContext().user, "alice");
    {
      ScopedCallContext inner({"r2", "bob", ""});
      EXPECT_EQ(CurrentCallContext().request_id, "r2");
    }
    EXPECT_EQ(CurrentCallContext().request_id, "r1");
  }
  EXPECT_EQ(CurrentCallContext().user, "");
  std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace gennaker
