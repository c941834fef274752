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
  // http::Request::QueryList, as gate's list parameters read it.
  EXPECT_THAT(WithQuery({{"ids", "a, b,,"}, {"ids", " c"}}).QueryList("ids"),
              ElementsAre("a", "b", "c"));
  EXPECT_TRUE(WithQuery({}).QueryList("ids").empty());
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

TEST(IsJsonContentTypeTest, JsonAndPlusJsonOnly) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON; charset=UTF-8"));
  EXPECT_TRUE(IsJsonContentType("application/vnd.spinnaker+json"));
  EXPECT_FALSE(IsJsonContentType(""));
  EXPECT_FALSE(IsJsonContentType("text/plain"));
  EXPECT_FALSE(IsJsonContentType("application/x-www-form-urlencoded"));
  EXPECT_FALSE(IsJsonContentType("multipart/form-data; boundary=x"));
  EXPECT_FALSE(IsJsonContentType("text/plain; x=application/json"));
  EXPECT_FALSE(IsJsonContentType("/+json"));
}

TEST(CheckWriteTest, RefusesForeignOriginsAndBodiesThatAreNotJson) {
  auto deck = [](const std::string& o) { return o == "http://deck.local"; };
  auto request = [](std::string method, std::string origin, std::string type,
                    std::string body) {
    http::Request r;
    r.method = std::move(method);
    if (!origin.empty()) r.headers["origin"] = origin;
    if (!type.empty()) r.headers["content-type"] = type;
    r.body = std::move(body);
    return r;
  };
  // spin and curl send no Origin; Deck sends its own with JSON.
  EXPECT_TRUE(
      CheckWrite(request("POST", "", "application/json", "{}"), deck).ok());
  EXPECT_TRUE(CheckWrite(request("PUT", "http://deck.local",
                                 "application/json;charset=utf-8", "{}"),
                         deck)
                  .ok());
  // A route without a body needs no Content-Type.
  EXPECT_TRUE(CheckWrite(request("DELETE", "", "", ""), deck).ok());
  EXPECT_EQ(CheckWrite(request("POST", "http://evil.example",
                               "application/json", "{}"),
                       deck)
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckWrite(request("POST", "", "text/plain", "{}"), deck).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      CheckWrite(
          request("POST", "", "application/x-www-form-urlencoded", "a=b"), deck)
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckWrite(request("PATCH", "", "", "{}"), deck).code(),
            absl::StatusCode::kFailedPrecondition);
  // Nothing to misread in an empty body, whatever its label.
  EXPECT_TRUE(CheckWrite(request("POST", "", "text/plain", ""), deck).ok());
  EXPECT_EQ(
      CheckWrite(request("POST", "http://evil.example", "", ""), deck).code(),
      absl::StatusCode::kPermissionDenied);
  // Reads are never refused here.
  EXPECT_TRUE(
      CheckWrite(request("GET", "http://evil.example", "text/plain", ""), deck)
          .ok());
}

TEST(CheckWriteTest, SameOriginWritesPassWithoutAnAllowListEntry) {
  auto none = [](const std::string&) { return false; };
  http::Request r;
  r.method = "POST";
  r.headers["content-type"] = "application/json";
  r.body = "{}";
  r.headers["origin"] = "https://Spinnaker.example.com";
  r.headers["host"] = "spinnaker.example.com";
  EXPECT_TRUE(CheckWrite(r, none).ok());
  // Behind a proxy that rewrites Host.
  r.headers["host"] = "gate:8084";
  r.headers["x-forwarded-host"] = "spinnaker.example.com, proxy.internal";
  EXPECT_TRUE(CheckWrite(r, none).ok());
  // Another site's page posting to this host is still refused.
  r.headers["origin"] = "https://evil.example";
  EXPECT_EQ(CheckWrite(r, none).code(), absl::StatusCode::kPermissionDenied);
  r.headers.erase("x-forwarded-host");
  r.headers["origin"] = "https://spinnaker.example.com.evil.example";
  EXPECT_EQ(CheckWrite(r, none).code(), absl::StatusCode::kPermissionDenied);
}

TEST(ForwardableRequestIdTest, KeepsSaneIdsAndReplacesTheRest) {
  EXPECT_EQ(ForwardableRequestId("abc-123_x.y:z"), "abc-123_x.y:z");
  const std::string longest(kMaxRequestIdLength, 'a');
  EXPECT_EQ(ForwardableRequestId(longest), longest);
  for (const std::string& bad :
       {std::string(kMaxRequestIdLength + 1, 'a'), std::string(10000, 'x'),
        std::string("a b"), std::string("a\xc3\xa9"), std::string("a/b"),
        std::string("")}) {
    std::string id = ForwardableRequestId(bad);
    EXPECT_NE(id, bad);
    EXPECT_FALSE(id.empty());
    EXPECT_EQ(ForwardableRequestId(id), id);  // the fresh id is forwardable
  }
}

TEST(ForwardableValueTest, CapsLengthAndRefusesNonPrintables) {
  EXPECT_EQ(ForwardableValue("alice@example.com"), "alice@example.com");
  EXPECT_EQ(ForwardableValue(std::string(kMaxForwardedValueLength + 1, 'a')),
            "");
  EXPECT_EQ(ForwardableValue("a\nb"), "");
}

}  // namespace
}  // namespace gennaker::gate
