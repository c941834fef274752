#include "common/testing/status_matchers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gennaker::testing {
namespace {

using ::testing::AnyOf;
using ::testing::DescribeMatcher;
using ::testing::ElementsAre;
using ::testing::Gt;
using ::testing::HasSubstr;
using ::testing::Matcher;
using ::testing::Not;

absl::StatusOr<int> Value(int v) { return v; }
absl::StatusOr<int> Missing() { return absl::NotFoundError("no such thing"); }

std::string Explain(const Matcher<const absl::StatusOr<int>&>& m,
                    const absl::StatusOr<int>& actual) {
  ::testing::StringMatchResultListener listener;
  m.MatchAndExplain(actual, &listener);
  return listener.str();
}

TEST(StatusMatchersTest, IsOkMatchesOkStatusesAndStatusOrsWithValues) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(Value(1), IsOk());
  EXPECT_THAT(absl::InternalError("x"), Not(IsOk()));
  EXPECT_THAT(Missing(), Not(IsOk()));
}

TEST(StatusMatchersTest, StatusIsChecksTheCode) {
  EXPECT_THAT(Missing(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(absl::AbortedError("x"), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(Value(1), StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(Missing(), Not(StatusIs(absl::StatusCode::kInternal)));
  EXPECT_THAT(Missing(), StatusIs(AnyOf(absl::StatusCode::kInternal,
                                        absl::StatusCode::kNotFound)));
}

TEST(StatusMatchersTest, StatusIsChecksTheMessageExactlyOrByMatcher) {
  EXPECT_THAT(Missing(),
              StatusIs(absl::StatusCode::kNotFound, "no such thing"));
  EXPECT_THAT(Missing(), Not(StatusIs(absl::StatusCode::kNotFound, "no such")));
  EXPECT_THAT(Missing(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("such")));
  EXPECT_THAT(absl::InvalidArgumentError("bad name"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  EXPECT_THAT(Missing(),
              Not(StatusIs(absl::StatusCode::kInternal, HasSubstr("such"))));
}

TEST(StatusMatchersTest, IsOkAndHoldsMatchesTheValue) {
  EXPECT_THAT(Value(3), IsOkAndHolds(3));
  EXPECT_THAT(Value(3), IsOkAndHolds(Gt(2)));
  EXPECT_THAT(Value(3), Not(IsOkAndHolds(4)));
  EXPECT_THAT(Missing(), Not(IsOkAndHolds(3)));
  absl::StatusOr<std::vector<std::string>> names =
      std::vector<std::string>{"a", "b"};
  EXPECT_THAT(names, IsOkAndHolds(ElementsAre("a", "b")));
  absl::StatusOr<std::string> text = std::string("hello");
  EXPECT_THAT(text, IsOkAndHolds("hello"));
}

TEST(StatusMatchersTest, FailuresDescribeAndExplainThemselves) {
  Matcher<const absl::Status&> ok = IsOk();
  EXPECT_EQ(DescribeMatcher<const absl::Status&>(ok), "is OK");
  EXPECT_THAT(Explain(IsOk(), Missing()), HasSubstr("no such thing"));
  EXPECT_THAT(Explain(StatusIs(absl::StatusCode::kInternal), Missing()),
              HasSubstr("NOT_FOUND"));
  EXPECT_THAT(Explain(IsOkAndHolds(4), Value(3)), HasSubstr("holds 3"));
  EXPECT_THAT(DescribeMatcher<const absl::StatusOr<int>&>(
                  StatusIs(absl::StatusCode::kNotFound, HasSubstr("x"))),
              HasSubstr("status code"));
}

}  // namespace
}  // namespace gennaker::testing
