#include "common/http/outbound.h"

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "common/http/http.h"
#include "common/http/http_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gennaker::http {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::HasSubstr;

// A real server on loopback: /ok, /big (2,000 bytes), /slow (2 s),
// /redirect?to=URL (302, GET and POST).
class OutboundTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router r;
    r.Add("GET", "/ok",
          [](const Request&) { return Json(200, R"({"ok":1})"); });
    r.Add("POST", "/ok",
          [](const Request& q) { return Json(200, "posted:" + q.body); });
    r.Add("GET", "/big",
          [](const Request&) { return Json(200, std::string(2000, 'x')); });
    r.Add("GET", "/slow", [](const Request&) {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      return Json(200, "{}");
    });
    auto redirect = [](const Request& q) {
      Response resp = Json(302, "{}");
      resp.headers.emplace_back("Location", q.Query("to"));
      return resp;
    };
    // The credential headers the request came with.
    r.Add("GET", "/echo", [](const Request& q) {
      return Json(200, "auth=" + q.Header("authorization") +
                           ";proxy=" + q.Header("proxy-authorization") +
                           ";cookie=" + q.Header("cookie") +
                           ";other=" + q.Header("x-other"));
    });
    r.Add("GET", "/redirect", redirect);
    r.Add("POST", "/redirect", redirect);
    auto server = Server::Start({}, std::move(r));
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  std::unique_ptr<OutboundClient> Client(OutboundPolicy p) {
    auto c = OutboundClient::Create(std::move(p));
    EXPECT_THAT(c, IsOk());
    return c.ok() ? *std::move(c) : nullptr;
  }

  static ClientRequest Get(std::string url) {
    ClientRequest r;
    r.url = std::move(url);
    return r;
  }

  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(OutboundTest, OnlyHttpAndHttpsSchemes) {
  auto c = Client(DefaultOutboundPolicy());
  for (const char* url :
       {"file:///etc/shadow", "dict://127.0.0.1:6379/info",
        "gopher://127.0.0.1:6379/_INFO", "ftp://x.example/"}) {
    EXPECT_THAT(c->Fetch(Get(url)),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         HasSubstr("is not allowed")))
        << url;
  }
}

TEST_F(OutboundTest, LoopbackLinkLocalAndSuitePortsRefusedByDefault) {
  auto c = Client(DefaultOutboundPolicy());
  EXPECT_THAT(c->Fetch(Get(base_ + "/ok")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("loopback addresses are not allowed")));
  const std::string port = std::to_string(server_->port());
  for (std::string url :
       {"http://localhost:" + port + "/ok", "http://[::1]:" + port + "/ok",
        "http://0.0.0.0:" + port + "/ok", "http://127.1:" + port + "/ok",
        "http://0x7f000001:" + port + "/ok",
        "http://[::ffff:127.0.0.1]:" + port + "/ok"}) {
    EXPECT_THAT(c->Fetch(Get(url)),
                StatusIs(absl::StatusCode::kPermissionDenied))
        << url;
  }
  EXPECT_THAT(
      c->Fetch(Get("http://169.254.169.254/latest/meta-data/")),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("metadata")));
  EXPECT_THAT(c->CheckUrl("http://ci.example:6379/"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("port 6379 belongs to the suite")));
  EXPECT_THAT(c->CheckUrl("https://ci.example/job"), IsOk());
}

TEST_F(OutboundTest, OperatorAllowListOpensOnePrefix) {
  OutboundPolicy p = DefaultOutboundPolicy();
  p.allowed_url_prefixes = {base_ + "/ok"};
  auto c = Client(p);
  absl::StatusOr<ClientResponse> r = c->Fetch(Get(base_ + "/ok"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"ok":1})");
  EXPECT_THAT(c->Fetch(Get(base_ + "/big")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(OutboundTest, RedirectsAreCheckedAgainAtEveryHop) {
  OutboundPolicy p = DefaultOutboundPolicy();
  p.allowed_url_prefixes = {base_ + "/redirect"};
  auto c = Client(p);
  // The trusted URL redirects to a loopback URL that is not trusted.
  EXPECT_THAT(
      c->Fetch(Get(base_ + "/redirect?to=" + base_ + "/ok")),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("loopback")));
  EXPECT_THAT(c->Fetch(Get(base_ + "/redirect?to=file:///etc/passwd")),
              StatusIs(absl::StatusCode::kPermissionDenied));

  // Trusted hops are followed; a 302 turns a POST into a GET.
  p.allowed_url_prefixes = {base_};
  c = Client(p);
  ClientRequest post = Get(base_ + "/redirect?to=/ok");
  post.method = "POST";
  post.body = "b";
  absl::StatusOr<ClientResponse> r = c->Fetch(post);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, R"({"ok":1})");

  p.max_redirects = 1;
  c = Client(p);
  EXPECT_THAT(
      c->Fetch(Get(base_ + "/redirect?to=/redirect%3Fto%3D/ok")),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("redirects")));
}

TEST_F(OutboundTest, CredentialsDoNotFollowARedirectToAnotherOrigin) {
  // A second real server: another port on the same host is another origin.
  Router r;
  r.Add("GET", "/echo", [](const Request& q) {
    return Json(200, "auth=" + q.Header("authorization") +
                         ";proxy=" + q.Header("proxy-authorization") +
                         ";cookie=" + q.Header("cookie") +
                         ";other=" + q.Header("x-other"));
  });
  r.Add("GET", "/redirect", [](const Request& q) {
    Response resp = Json(302, "{}");
    resp.headers.emplace_back("Location", q.Query("to"));
    return resp;
  });
  auto other = Server::Start({}, std::move(r));
  ASSERT_THAT(other, IsOk());
  const std::string other_base =
      "http://127.0.0.1:" + std::to_string((*other)->port());
  OutboundPolicy p = DefaultOutboundPolicy();
  p.allowed_url_prefixes = {base_, other_base};
  auto c = Client(p);
  auto with_credentials = [](std::string url) {
    ClientRequest q = Get(std::move(url));
    q.headers = {{"Authorization", "Basic c2VjcmV0"},
                 {"proxy-authorization", "Basic cHJveHk="},
                 {"COOKIE", "session=s"},
                 {"X-Other", "kept"}};
    return q;
  };

  // Cross-origin: the credentials are dropped, other headers kept.
  absl::StatusOr<ClientResponse> resp = c->Fetch(
      with_credentials(base_ + "/redirect?to=" + other_base + "/echo"));
  ASSERT_THAT(resp, IsOk());
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, "auth=;proxy=;cookie=;other=kept");

  // Same origin (relative and absolute Location): they are kept.
  for (const std::string& to : {std::string("/echo"), base_ + "/echo"}) {
    resp = c->Fetch(with_credentials(base_ + "/redirect?to=" + to));
    ASSERT_THAT(resp, IsOk());
    EXPECT_EQ(resp->body,
              "auth=Basic c2VjcmV0;proxy=Basic cHJveHk=;cookie=session=s;"
              "other=kept")
        << to;
  }

  // Once dropped they stay dropped, even if a later hop comes back.
  resp = c->Fetch(with_credentials(base_ + "/redirect?to=" + other_base +
                                   "/redirect%3Fto%3D" + base_ + "/echo"));
  ASSERT_THAT(resp, IsOk());
  EXPECT_EQ(resp->body, "auth=;proxy=;cookie=;other=kept");
}

TEST_F(OutboundTest, AnswerSizeAndTimeAreCapped) {
  OutboundPolicy p = DefaultOutboundPolicy();
  p.allow_loopback = true;
  p.rejected_ports.clear();
  p.max_response_bytes = 1000;
  p.timeout_ms = 300;
  auto c = Client(p);
  EXPECT_THAT(c->Fetch(Get(base_ + "/big")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("larger than 1000 bytes")));
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(c->Fetch(Get(base_ + "/slow")),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_THAT(c->Fetch(Get(base_ + "/ok")), IsOk());

  // The suite's ports stay refused even with loopback allowed.
  p.rejected_ports = {server_->port()};
  c = Client(p);
  EXPECT_THAT(c->Fetch(Get(base_ + "/ok")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("belongs to the suite")));
}

// A name that passes the name checks but resolves to this machine (pinned
// the way DNS would answer it).
ClientRequest Pinned(const std::string& url, int port) {
  ClientRequest r;
  r.url = url;
  r.resolve = {"inside.example:" + std::to_string(port) + ":127.0.0.1"};
  return r;
}

TEST_F(OutboundTest, ConnectTimeCheckCatchesNamesThatResolveInside) {
  auto c = Client(DefaultOutboundPolicy());
  const std::string url =
      "http://inside.example:" + std::to_string(server_->port()) + "/ok";
  EXPECT_THAT(c->CheckUrl(url), IsOk());
  EXPECT_THAT(
      c->Fetch(Pinned(url, server_->port())),
      StatusIs(absl::StatusCode::kPermissionDenied,
               HasSubstr("refused: loopback addresses are not allowed")));
}

TEST_F(OutboundTest, TrustedPrefixesMatchSchemeHostPortAndWholePathSegments) {
  OutboundPolicy p = DefaultOutboundPolicy();
  const std::string port = std::to_string(server_->port());
  // No trailing slash: a naive text prefix would also match the URLs below.
  p.allowed_url_prefixes = {"http://127.0.0.1:" + port + "/o"};
  auto c = Client(p);
  // A user name makes the real host 127.0.0.1 (what follows '@'), not the
  // text before it: never trusted.
  EXPECT_THAT(
      c->Fetch(Get("http://127.0.0.1:" + port + "@127.0.0.1:" + port + "/ok")),
      StatusIs(absl::StatusCode::kPermissionDenied));
  // Another port that starts with the same digits.
  EXPECT_THAT(c->CheckUrl("http://127.0.0.1:" + port + "1/o"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // "/ok" is not under "/o" (whole segments only).
  EXPECT_THAT(c->Fetch(Get(base_ + "/ok")),
              StatusIs(absl::StatusCode::kPermissionDenied));
  p.allowed_url_prefixes = {base_ + "/ok"};
  c = Client(p);
  ASSERT_THAT(c->Fetch(Get(base_ + "/ok")), IsOk());
  ASSERT_THAT(c->Fetch(Get(base_ + "/ok?x=1")), IsOk());
  // A user name in a prefix is refused at start.
  p.allowed_url_prefixes = {"http://u@127.0.0.1:" + port + "/"};
  EXPECT_THAT(OutboundClient::Create(p),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(OutboundTest, NoProxyFromTheEnvironmentAndNoSharedConnections) {
  OutboundPolicy p = DefaultOutboundPolicy();
  // A name (not a literal address) so that only the connect-time check can
  // refuse the untrusted URL below.
  const std::string named =
      "http://inside.example:" + std::to_string(server_->port());
  p.allowed_url_prefixes = {named + "/ok"};
  auto c = Client(p);
  // A proxy from the environment would be what the address check sees; an
  // unreachable one would fail every call. Outbound calls ignore it.
  setenv("http_proxy", "http://192.0.2.1:9", 1);
  absl::StatusOr<ClientResponse> r =
      c->Fetch(Pinned(named + "/ok", server_->port()));
  unsetenv("http_proxy");
  ASSERT_THAT(r, IsOk());
  // A connection opened for the trusted URL is not reused by an untrusted
  // URL on the same host and port: that one is still refused.
  EXPECT_THAT(
      c->Fetch(Get(base_ + "/big")),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("loopback")));
}

TEST(OutboundPolicyTest, BadPolicyIsRefusedAtStart) {
  OutboundPolicy p;
  p.rejected_cidrs = {"10.0.0.0/33"};
  EXPECT_THAT(OutboundClient::Create(p),
              StatusIs(absl::StatusCode::kInvalidArgument));
  p.rejected_cidrs = {};
  p.allowed_hostnames_regex = "(";
  EXPECT_THAT(OutboundClient::Create(p),
              StatusIs(absl::StatusCode::kInvalidArgument));
  p.allowed_hostnames_regex = "";
  p.allowed_schemes = {"file"};
  EXPECT_THAT(OutboundClient::Create(p),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(OutboundPolicyTest, HostRegexAndRejectedCidrs) {
  OutboundPolicy p = DefaultOutboundPolicy();
  p.allowed_hostnames_regex = R"(.*\.example\.com)";
  p.rejected_cidrs = {"10.0.0.0/8", "fd00::/8"};
  auto c = OutboundClient::Create(p);
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT((*c)->CheckUrl("https://ci.example.com/x"), IsOk());
  EXPECT_THAT((*c)->CheckUrl("https://evil.test/x"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("host is not allowed")));
  p.allowed_hostnames_regex = "";
  c = OutboundClient::Create(p);
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT((*c)->CheckUrl("http://10.1.2.3/"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("rejected range")));
  EXPECT_THAT((*c)->CheckUrl("http://[fd12::1]/"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT((*c)->CheckUrl("http://11.1.2.3/"), IsOk());
}

}  // namespace
}  // namespace gennaker::http
