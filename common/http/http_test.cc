#include "common/http/http.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/metrics/metrics.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "nlohmann/json.hpp"

namespace gennaker::http {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::Not;

Request Req(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

ClientRequest Call(std::string method, std::string url, std::string body = "") {
  ClientRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = std::move(body);
  return r;
}

using ::testing::HasSubstr;

Router TestRouter() {
  Router r;
  r.Add("GET", "/applications/{app}/pipelineConfigs/{name}",
        [](const Request& req) {
          nlohmann::json j = {{"app", req.params.at("app")},
                              {"name", req.params.at("name")}};
          return Json(200, j.dump());
        });
  r.Add("POST", "/echo", [](const Request& req) {
    nlohmann::json j = {{"body", req.body},
                        {"q", req.Query("q")},
                        {"ct", req.Header("content-type")}};
    return Json(201, j.dump());
  });
  r.Add("GET", "/files/**",
        [](const Request& req) { return Json(200, req.params.at("**")); });
  return r;
}

TEST(RouterTest, DecodesPathParametersPerSegment) {
  Router r = TestRouter();
  Request req = Req("GET", "/applications/my%20app/pipelineConfigs/a%2Fb");
  Response resp = r.Dispatch(req);
  EXPECT_EQ(resp.status, 200);
  auto j = nlohmann::json::parse(resp.body);
  EXPECT_EQ(j["app"], "my app");
  EXPECT_EQ(j["name"], "a/b");
}

TEST(RouterTest, UnknownPathIs404AndWrongMethodIs405WithSpinnakerErrorBody) {
  Router r = TestRouter();
  Request missing = Req("GET", "/nope");
  Response resp = r.Dispatch(missing);
  EXPECT_EQ(resp.status, 404);
  auto j = nlohmann::json::parse(resp.body);
  EXPECT_EQ(j["status"], 404);
  EXPECT_EQ(j["error"], "Not Found");
  EXPECT_EQ(j["path"], "/nope");
  EXPECT_TRUE(j["timestamp"].is_number_integer());
  EXPECT_THAT(j["message"].get<std::string>(), HasSubstr("/nope"));
  Request wrong = Req("DELETE", "/echo");
  EXPECT_EQ(r.Dispatch(wrong).status, 405);
}

TEST(RouterTest, InvalidUtf8PathIsABadRequestNotACrash) {
  Router r = TestRouter();
  Request bad = Req("GET", "/applications/%FF%FE/pipelineConfigs/x");
  Response resp = r.Dispatch(bad);
  EXPECT_EQ(resp.status, 400);
  EXPECT_THAT(resp.body, HasSubstr("not valid UTF-8"));
  Request raw = Req("GET", "/\xff");
  EXPECT_EQ(r.Dispatch(raw).status, 400);
  Request ok = Req("GET", "/applications/caf%C3%A9/pipelineConfigs/%E2%82%AC");
  EXPECT_EQ(r.Dispatch(ok).status, 200);
  // Error bodies never throw on what the client sent.
  EXPECT_THAT(Error(404, "x", "/\xff\xfe").body, HasSubstr("\"status\":404"));
}

TEST(RouterTest, NulInAPathSegmentIsRefusedNotTruncated) {
  Router r = TestRouter();
  Request bad = Req("GET", "/applications/a%00b/pipelineConfigs/x");
  Response resp = r.Dispatch(bad);
  EXPECT_EQ(resp.status, 400);
  EXPECT_THAT(resp.body, HasSubstr("NUL"));
}

TEST(PercentTest, EncodeDecodeRoundTrip) {
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("a+b%zz"), "a+b%zz");
  EXPECT_EQ(PercentEncode("my app/1"), "my%20app%2F1");
  EXPECT_EQ(PercentDecode(PercentEncode("x y/z?&=")), "x y/z?&=");
}

TEST(HttpServerTest, ServesOverRealHttpWithBodyLimitAndMetrics) {
  Metrics metrics("test");
  ServerOptions o;
  o.max_body_bytes = 1024;
  o.metrics = &metrics;
  auto server = Server::Start(o, TestRouter());
  ASSERT_THAT(server, IsOk());
  std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());

  auto get =
      Fetch(Call("GET", base + "/applications/app%201/pipelineConfigs/deploy"));
  ASSERT_THAT(get, IsOk());
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->headers["content-type"], "application/json");
  EXPECT_EQ(nlohmann::json::parse(get->body)["app"], "app 1");

  ClientRequest post =
      Call("POST", base + "/echo?q=hello%20world", R"({"a":1})");
  post.headers = {{"Content-Type", "application/json"}};
  auto echoed = Fetch(post);
  ASSERT_THAT(echoed, IsOk());
  EXPECT_EQ(echoed->status, 201);
  auto j = nlohmann::json::parse(echoed->body);
  EXPECT_EQ(j["body"], R"({"a":1})");
  EXPECT_EQ(j["q"], "hello world");
  EXPECT_EQ(j["ct"], "application/json");

  post.body = std::string(4096, 'x');
  auto big = Fetch(post);
  ASSERT_THAT(big, IsOk());
  EXPECT_EQ(big->status, 413);
  EXPECT_THAT(nlohmann::json::parse(big->body)["message"].get<std::string>(),
              HasSubstr("exceeds the limit of 1024 bytes"));

  EXPECT_THAT(
      metrics.Render(),
      HasSubstr(
          "method=\"GET "
          "/applications/{app}/pipelineConfigs/{name}\",code=\"200\"} 1"));
  (*server)->Stop();
  auto refused = Fetch(Call("GET", base + "/echo"));
  EXPECT_THAT(refused, Not(IsOk()));
}

// Raw bytes that are not UTF-8 in the request line: a 400, and the server keeps
// serving.
TEST(HtmlEscapeTest, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(HtmlEscape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
  EXPECT_EQ(HtmlEscape("plain text"), "plain text");
}

TEST(HttpServerTest, SurvivesRawNonUtf8RequestLine) {
  auto server = Server::Start({}, TestRouter());
  ASSERT_THAT(server, IsOk());
  int fd = ::gennaker::testing::ConnectLoopback((*server)->port());
  ASSERT_GE(fd, 0);
  const char request[] =
      "GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_GT(write(fd, request, sizeof(request) - 1), 0);
  char buf[512] = {};
  ASSERT_GT(read(fd, buf, sizeof(buf) - 1), 0);
  close(fd);
  EXPECT_THAT(std::string(buf), HasSubstr("400"));
  auto after = Fetch(Call(
      "GET",
      "http://127.0.0.1:" + std::to_string((*server)->port()) + "/files/a"));
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->status, 200);
}

TEST(HttpServerTest, PortInUseIsAClearError) {
  auto first = Server::Start({}, TestRouter());
  ASSERT_THAT(first, IsOk());
  ServerOptions o;
  o.port = (*first)->port();
  auto second = Server::Start(o, TestRouter());
  EXPECT_THAT(second,
              StatusIs(Not(absl::StatusCode::kOk), HasSubstr("cannot listen")));
}

}  // namespace
}  // namespace gennaker::http
