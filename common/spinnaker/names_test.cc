#include "common/spinnaker/names.h"

#include "gtest/gtest.h"

namespace gennaker::spinnaker {
namespace {

TEST(NamingTest, ParsesFriggaNames) {
  Names n = ParseName("foo-prod-bar-baz-v012");
  EXPECT_EQ(n.app, "foo");
  EXPECT_EQ(n.stack, "prod");
  EXPECT_EQ(n.detail, "bar-baz");
  EXPECT_EQ(n.cluster, "foo-prod-bar-baz");
  EXPECT_EQ(n.push, "v012");
  ASSERT_TRUE(n.sequence.has_value());
  EXPECT_EQ(*n.sequence, 12);

  n = ParseName("foo--bar");
  EXPECT_EQ(n.app, "foo");
  EXPECT_EQ(n.stack, "");
  EXPECT_EQ(n.detail, "bar");
  EXPECT_FALSE(n.sequence.has_value());

  n = ParseName("foo-v003");
  EXPECT_EQ(n.app, "foo");
  EXPECT_EQ(n.cluster, "foo");
  EXPECT_EQ(*n.sequence, 3);

  n = ParseName("app.name_1-stack");
  EXPECT_EQ(n.app, "app.name_1");
  EXPECT_EQ(n.stack, "stack");

  // v + 7 digits is not a push token: it is part of the stack.
  n = ParseName("foo-v1234567");
  EXPECT_FALSE(n.sequence.has_value());
  EXPECT_EQ(n.stack, "v1234567");
}

TEST(NamingTest, UnparsableNamesHaveEmptyFields) {
  Names n = ParseName("foo~bar-prod");  // ~ is not allowed in the app
  EXPECT_EQ(n.app, "");
  EXPECT_EQ(n.cluster, "");
  n = ParseName("");
  EXPECT_EQ(n.app, "");
  n = ParseName("-v001");
  EXPECT_EQ(n.app, "");
  n = ParseName("foo bar-v001");  // the push token alone is not kept
  EXPECT_FALSE(n.sequence.has_value());
  EXPECT_EQ(n.push, "");
}

TEST(NamingTest, BuildsClusterAndServerGroupNames) {
  EXPECT_EQ(*ClusterName("app", "", ""), "app");
  EXPECT_EQ(*ClusterName("app", "prod", ""), "app-prod");
  EXPECT_EQ(*ClusterName("app", "prod", "canary-a"), "app-prod-canary-a");
  EXPECT_EQ(*ClusterName("app", "", "canary"), "app--canary");
  EXPECT_FALSE(ClusterName("", "prod", "").ok());
  EXPECT_FALSE(ClusterName("my-app", "", "").ok());
  EXPECT_FALSE(ClusterName("app", "pr-od", "").ok());
  EXPECT_FALSE(ClusterName("app", "prod", "a b").ok());
  EXPECT_FALSE(ClusterName("app", "v001", "").ok());
  EXPECT_FALSE(ClusterName("app", "prod", "x-v0042").ok());
  EXPECT_EQ(*ServerGroupName("app-prod", 7), "app-prod-v007");
  EXPECT_EQ(*ServerGroupName("app", 999), "app-v999");
  EXPECT_FALSE(ServerGroupName("app", 1000).ok());
  EXPECT_FALSE(ServerGroupName("app", -1).ok());
  // Round trip.
  Names n = ParseName(*ServerGroupName(*ClusterName("a", "b", "c-d"), 42));
  EXPECT_EQ(n.detail, "c-d");
  EXPECT_EQ(*n.sequence, 42);
}

TEST(NamingTest, NextSequenceFollowsTheNewestAndWraps) {
  EXPECT_EQ(*NextSequence({}), 0);
  // The newest by creation time, not the highest sequence.
  EXPECT_EQ(*NextSequence({{"a-v005", 5, 100}, {"a-v002", 2, 200}}), 3);
  EXPECT_EQ(*NextSequence({{"a-v999", 999, 100}}), 0);
  // Taken sequences are skipped.
  EXPECT_EQ(*NextSequence({{"a-v001", 1, 100}, {"a-v002", 2, 50}}), 3);
  std::vector<Slot> all;
  for (int i = 0; i < 1000; ++i) all.push_back({"", i, i});
  EXPECT_TRUE(absl::IsFailedPrecondition(NextSequence(all).status()));
  all.erase(all.begin() + 500);
  EXPECT_EQ(*NextSequence(all), 500);
}

}  // namespace
}  // namespace gennaker::spinnaker

namespace gennaker::spinnaker {
namespace {

TEST(NamingTest, LenientHelpersForNamesFromStageContexts) {
  EXPECT_EQ(FormatClusterName("app", "", ""), "app");
  EXPECT_EQ(FormatClusterName("app", "prod", ""), "app-prod");
  EXPECT_EQ(FormatClusterName("app", "", "canary"), "app--canary");
  EXPECT_EQ(FormatClusterName("app", "prod", "canary"), "app-prod-canary");
  EXPECT_EQ(ClusterOfServerGroup("app-prod-v003"), "app-prod");
  EXPECT_EQ(ClusterOfServerGroup("app-prod-v1234567"), "app-prod");
  EXPECT_EQ(ClusterOfServerGroup("app-prod-v03"), "app-prod-v03");
  EXPECT_EQ(ClusterOfServerGroup("app-prod"), "app-prod");
  EXPECT_EQ(ClusterOfServerGroup("w!rd-v001"), "w!rd");
  EXPECT_EQ(AppOfName("app-prod-v003"), "app");
  EXPECT_EQ(AppOfName("app"), "app");
}

TEST(ValidApplicationNameTest, SpinnakersRule) {
  for (const char* ok : {"a", "app", "My-App_2.0", "9lives"}) {
    EXPECT_TRUE(ValidApplicationName(ok)) << ok;
  }
  EXPECT_TRUE(
      ValidApplicationName(std::string(kMaxApplicationNameLength, 'a')));
  EXPECT_FALSE(
      ValidApplicationName(std::string(kMaxApplicationNameLength + 1, 'a')));
  EXPECT_FALSE(ValidApplicationName(std::string(10000, 'a')));
  for (const char* bad : {"", "-app", ".app", "_app", "my app", "a/b", "a%00b",
                          "caf\xc3\xa9", "invalid!name"}) {
    EXPECT_FALSE(ValidApplicationName(bad)) << bad;
  }
  EXPECT_FALSE(ValidApplicationName(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace gennaker::spinnaker
