#include "common/spinnaker/targets.h"

#include "common/spinnaker/identity.h"
#include "common/spinnaker/status.h"
#include "gtest/gtest.h"

namespace gennaker::spinnaker {
namespace {

TEST(TargetTest, ParsesEveryNameTheClientsUse) {
  struct Case {
    const char* name;
    Target want;
  } cases[] = {
      {"current_asg_dynamic", Target::kCurrent},
      {"current_asg", Target::kCurrent},
      {"CURRENT", Target::kCurrent},
      {" newest ", Target::kCurrent},
      {"ancestor_asg_dynamic", Target::kPrevious},
      {"ancestor_asg", Target::kPrevious},
      {"previous", Target::kPrevious},
      {"oldest_asg_dynamic", Target::kOldest},
      {"oldest", Target::kOldest},
      {"largest_asg_dynamic", Target::kLargest},
      {"LARGEST", Target::kLargest},
  };
  for (const Case& c : cases) {
    std::optional<Target> t = ParseTarget(c.name);
    ASSERT_TRUE(t.has_value()) << c.name;
    EXPECT_EQ(*t, c.want) << c.name;
  }
  for (const char* bad : {"", "current_asg_dynamic_asg", "biggest", "asg"}) {
    EXPECT_FALSE(ParseTarget(bad).has_value()) << bad;
  }
}

TEST(TargetTest, CanonicalNamesRoundTrip) {
  for (Target t : {Target::kCurrent, Target::kPrevious, Target::kOldest,
                   Target::kLargest}) {
    EXPECT_EQ(ParseTarget(TargetName(t)), t);
  }
}

TEST(IdentityTest, EmptyUserIsAnonymous) {
  EXPECT_EQ(UserOrAnonymous(""), "anonymous");
  EXPECT_EQ(UserOrAnonymous("alice"), "alice");
}

TEST(StatusTest, Classifies) {
  EXPECT_TRUE(IsKnownStatus(status::kBuffered));
  EXPECT_FALSE(IsKnownStatus("DONE"));
  EXPECT_TRUE(IsComplete(status::kSkipped));
  EXPECT_FALSE(IsComplete(status::kRunning));
  EXPECT_TRUE(IsHalt(status::kCanceled));
  EXPECT_FALSE(IsHalt(status::kFailedContinue));
  EXPECT_TRUE(AllowsDownstream(status::kFailedContinue));
  EXPECT_FALSE(AllowsDownstream(status::kTerminal));
}

}  // namespace
}  // namespace gennaker::spinnaker
