#include "common/spinnaker/json.h"

#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gennaker::spinnaker {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParseJsonTest, ParsesValidText) {
  absl::StatusOr<Json> j = ParseJson(R"({"a":[1,2,{"b":"c"}]})", "body");
  ASSERT_THAT(j, IsOk());
  EXPECT_EQ((*j)["a"][2]["b"], "c");
}

TEST(ParseJsonTest, RefusesGarbageWithTheNameOfWhatWasParsed) {
  EXPECT_THAT(ParseJson("{nope", "the pipeline"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the pipeline is not valid JSON")));
}

TEST(ParseJsonTest, RefusesDeepNestingBeforeParsing) {
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  EXPECT_THAT(ParseJson(deep, "body"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nests deeper than 100 levels")));
  std::string ok(kMaxJsonDepth, '[');
  ok += std::string(kMaxJsonDepth, ']');
  EXPECT_THAT(ParseJson(ok, "body"), IsOk());
}

TEST(ParseJsonTest, BracketsInsideStringsDoNotCount) {
  std::string s = "\"" + std::string(500, '[') + "\\\"\"";
  EXPECT_THAT(ParseJson(s, "body"), IsOk());
}

TEST(ParseJsonTest, RefusesTooLargeText) {
  JsonLimits limits;
  limits.max_bytes = 8;
  EXPECT_THAT(ParseJson(R"({"a":"123456"})", "body", limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("larger than 8 bytes")));
}

TEST(ParseJsonObjectTest, EmptyIsAnEmptyObjectAndArraysAreRefused) {
  absl::StatusOr<Json> empty = ParseJsonObject("  ", "description");
  ASSERT_THAT(empty, IsOk());
  EXPECT_TRUE(empty->is_object());
  EXPECT_TRUE(empty->empty());
  EXPECT_THAT(ParseJsonObject("[1]", "description"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("description must be a JSON object")));
}

TEST(FieldTest, StringTakesStringsOnly) {
  Json j = {{"s", "x"}, {"n", 3}, {"b", true}};
  EXPECT_EQ(String(j, "s"), "x");
  EXPECT_EQ(String(j, "n", "fb"), "fb");
  EXPECT_EQ(String(j, "missing", "fb"), "fb");
  EXPECT_EQ(String(Json::array(), "s", "fb"), "fb");
}

TEST(FieldTest, IntIsLenientAsJackson) {
  Json j = {{"i", 42},     {"f", 3.9},    {"s", "17"},
            {"neg", "-1"}, {"word", "x"}, {"huge", "99999999999999999999"},
            {"b", true}};
  EXPECT_EQ(Int(j, "i"), 42);
  EXPECT_EQ(Int(j, "f"), 3);
  EXPECT_EQ(Int(j, "s"), 17);
  EXPECT_EQ(Int(j, "neg", 5), 5);
  EXPECT_EQ(Int(j, "word", 5), 5);
  EXPECT_EQ(Int(j, "huge", 5), 5);
  EXPECT_EQ(Int(j, "b", 5), 5);
  EXPECT_EQ(Int(j, "missing", 7), 7);
}

TEST(FieldTest, IntOutsideInt64GivesTheFallback) {
  Json j = Json::parse(
      R"({"huge":1e30,"tiny":-1e30,"u":18446744073709551615,"ok":9.0e18})");
  EXPECT_EQ(Int(j, "huge", 7), 7);
  EXPECT_EQ(Int(j, "tiny", 7), 7);
  EXPECT_EQ(Int(j, "u", 7), 7);
  EXPECT_EQ(Int(j, "ok", 7), int64_t{9000000000000000000});
}

TEST(FieldTest, DoubleAndBool) {
  Json j = {{"d", 0.5},     {"ds", "2.25"}, {"t", "TRUE"},
            {"f", "false"}, {"b", false},   {"other", "yes"}};
  EXPECT_DOUBLE_EQ(Double(j, "d"), 0.5);
  EXPECT_DOUBLE_EQ(Double(j, "ds"), 2.25);
  EXPECT_DOUBLE_EQ(Double(j, "t", 1.5), 1.5);
  EXPECT_TRUE(Bool(j, "t"));
  EXPECT_FALSE(Bool(j, "f", true));
  EXPECT_FALSE(Bool(j, "b", true));
  EXPECT_TRUE(Bool(j, "other", true));
  EXPECT_FALSE(Bool(j, "missing"));
}

TEST(FieldTest, FirstStringObjectArrayStrings) {
  Json j = {{"credentials", ""},
            {"account", "prod"},
            {"o", {{"k", 1}}},
            {"a", {"x", 1, "y"}}};
  EXPECT_EQ(FirstString(j, {"credentials", "account"}), "prod");
  EXPECT_EQ(FirstString(j, {"none"}), "");
  EXPECT_EQ(Object(j, "o")["k"], 1);
  EXPECT_TRUE(Object(j, "a").empty());
  EXPECT_EQ(Array(j, "a").size(), 3u);
  EXPECT_EQ(Strings(j, "a"), (std::vector<std::string>{"x", "y"}));
}

TEST(FieldTest, WorksWithUnorderedJson) {
  nlohmann::json j = {{"n", "8"}};
  EXPECT_EQ(Int(j, "n"), 8);
}

TEST(DumpTest, ReplacesInvalidUtf8) {
  Json j = std::string("a\xff");
  EXPECT_EQ(Dump(j), "\"a\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace gennaker::spinnaker
