#include "services/gate/request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace gennaker::gate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

http::Request WithQuery(
    std::initializer_list<std::pair<std::string, std::string>> query) {
  http::Request r;
  for (const auto& [k, v] : query) r.query.emplace(k, v);
  return r;
}

TEST(QueryBoolTest, SpringsSpellingsInAnyCase) {
  for (const char* yes : {"true", "TRUE", " yes ", "On", "1"}) {
    absl::StatusOr<bool> v =
        QueryBool(WithQuery({{"expand", yes}}), "expand", false);
    ASSERT_TRUE(v.ok()) << yes;
    EXPECT_TRUE(*v) << yes;
  }
  for (const char* no : {"false", "No", "OFF", "0"}) {
    absl::StatusOr<bool> v =
        QueryBool(WithQuery({{"expand", no}}), "expand", true);
    ASSERT_TRUE(v.ok()) << no;
    EXPECT_FALSE(*v) << no;
  }
  EXPECT_TRUE(*QueryBool(WithQuery({}), "expand", true));
  EXPECT_FALSE(*QueryBool(WithQuery({{"expand", ""}}), "expand", false));
  absl::StatusOr<bool> bad =
      QueryBool(WithQuery({{"expand", "maybe"}}), "expand", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "query parameter 'expand' must be true or false");
}

TEST(QueryPositiveIntTest, PositiveOrFallback) {
  EXPECT_EQ(*QueryPositiveInt(WithQuery({{"limit", " 7 "}}), "limit", 3), 7);
  EXPECT_EQ(*QueryPositiveInt(WithQuery({}), "limit", 3), 3);
  for (const char* bad : {"0", "-1", "abc", "1.5"}) {
    absl::StatusOr<int> v =
        QueryPositiveInt(WithQuery({{"limit", bad}}), "limit", 3);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().message(),
              "query parameter 'limit' must be a positive integer");
  }
}

TEST(QueryListTest, EveryValueSplitAndTrimmed) {
  EXPECT_THAT(QueryList(WithQuery({{"ids", "a, b,,"}, {"ids", " c"}}), "ids"),
              ElementsAre("a", "b", "c"));
  EXPECT_TRUE(QueryList(WithQuery({}), "ids").empty());
}

TEST(ParseJsonObjectBodyTest, ObjectsOnly) {
  EXPECT_EQ(*ParseJsonObjectBody(R"({"a":1})", "request body", false),
            spinnaker::Json::parse(R"({"a":1})"));
  EXPECT_EQ(*ParseJsonObjectBody("  ", "trigger", true),
            spinnaker::Json::object());
  EXPECT_EQ(ParseJsonObjectBody(" ", "request body", false).status().message(),
            "request body is required");
  EXPECT_EQ(ParseJsonObjectBody("{x", "trigger", true).status().message(),
            "trigger is not valid JSON");
  EXPECT_EQ(ParseJsonObjectBody("[1]", "trigger", true).status().message(),
            "trigger must be a JSON object");
  EXPECT_THAT(std::string(ParseJsonObjectBody(std::string(101, '['),
                                              "request body", false)
                              .status()
                              .message()),
              HasSubstr("nested deeper than 100 levels"));
}

}  // namespace
}  // namespace gennaker::gate
