// gate's echo routes (webhooks, notification metadata and callbacks, cron
// validation) through gate's whole REST router, against a fake EchoService
// served by an in-process gRPC server on a loopback port.
#include "services/gate/gate_webhooks.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_backend.h"
#include "services/gate/gate_rest.h"
#include "services/kayenta/rest/fake_kayenta.h"

namespace gennaker::gate {
namespace {

namespace ev1 = echo::v1;
using kayenta::TestRequest;
using nlohmann::json;

class FakeEcho final : public ev1::EchoService::Service {
 public:
  FakeEcho() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeEcho() override { server_->Shutdown(); }

  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::Status ReceiveWebhook(grpc::ServerContext*,
                              const ev1::ReceiveWebhookRequest* req,
                              ev1::ReceiveWebhookResponse* resp) override {
    absl::MutexLock l(&mu_);
    last_webhook_ = *req;
    ++calls_;
    if (req->payload().json().size() > 64) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "webhook body over 64 bytes");
    }
    for (const auto& h : req->headers()) {
      if (h.name() == "x-hub-signature-256" && h.values(0) != "sha256=good") {
        return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                            "signature does not match");
      }
    }
    if (req->payload().json() == "not json") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "webhook body is not valid JSON");
    }
    // A GitHub ping is accepted and dropped.
    resp->set_event_processed(req->payload().json().find("hook_id") ==
                              std::string::npos);
    resp->set_event_id("event-" + std::to_string(calls_));
    return grpc::Status::OK;
  }

  grpc::Status ListNotificationTypes(
      grpc::ServerContext*, const ev1::ListNotificationTypesRequest*,
      ev1::ListNotificationTypesResponse* resp) override {
    resp->add_types(ev1::NOTIFICATION_TYPE_SLACK);
    resp->add_types(ev1::NOTIFICATION_TYPE_EMAIL);
    resp->add_types(ev1::NOTIFICATION_TYPE_GITHUB_STATUS);
    return grpc::Status::OK;
  }

  grpc::Status HandleNotificationCallback(
      grpc::ServerContext*, const ev1::HandleNotificationCallbackRequest* req,
      ev1::HandleNotificationCallbackResponse* resp) override {
    if (req->source() != "slack") {
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          "no callbacks for " + req->source());
    }
    resp->set_http_status(200);
    resp->set_body(R"({"text":"ok"})");
    return grpc::Status::OK;
  }

  grpc::Status ValidateCronExpression(
      grpc::ServerContext*, const ev1::ValidateCronExpressionRequest* req,
      ev1::ValidateCronExpressionResponse* resp) override {
    if (req->expression() == "0 0 10 * * ?") {
      resp->set_valid(true);
      resp->set_message("Cron expression is valid");
      resp->add_next_fire_at_ms(1764698400000);  // 2025-12-02T18:00:00Z
      resp->set_time_zone("America/Los_Angeles");
      return grpc::Status::OK;
    }
    if (req->expression() == "garbage") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "Illegal characters for this position: 'GAR'");
    }
    resp->set_valid(false);
    resp->set_message("Unexpected end of expression.");
    return grpc::Status::OK;
  }

  ev1::ReceiveWebhookRequest last_webhook() {
    absl::MutexLock l(&mu_);
    return last_webhook_;
  }
  int calls() {
    absl::MutexLock l(&mu_);
    return calls_;
  }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex mu_;
  ev1::ReceiveWebhookRequest last_webhook_;
  int calls_ = 0;
};

std::shared_ptr<const Backends> MakeBackends(const std::string& echo_address) {
  v1::GateDependencies deps;
  for (common::v1::EndpointConfig* e :
       {deps.mutable_front50(), deps.mutable_orca(),
        deps.mutable_clouddriver()}) {
    e->set_address("127.0.0.1:1");
    e->set_deadline_ms(1000);
  }
  deps.mutable_echo()->set_address(echo_address);
  deps.mutable_echo()->set_deadline_ms(10000);
  return std::make_shared<const Backends>(ConnectBackends(deps));
}

RestOptions Options() {
  RestOptions o;
  o.version = "test";
  o.cors_allowed_origins = "https://deck\\.example";
  return o;
}

class GateWebhooksTest : public ::testing::Test {
 protected:
  GateWebhooksTest()
      : router_(MakeRestRouter(MakeBackends(fake_.Address()), Options())) {}

  http::Response Send(http::Request r) { return router_.Dispatch(r); }

  json Expect(int status, http::Request r) {
    const std::string what = r.method + " " + r.path;
    http::Response resp = router_.Dispatch(r);
    EXPECT_EQ(resp.status, status) << what << ": " << resp.body;
    if (resp.body.empty()) return json();
    json j = json::parse(resp.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << resp.body;
    return j;
  }

  FakeEcho fake_;
  http::Router router_;
};

TEST_F(GateWebhooksTest, GithubPushIsForwardedVerbatimWithHeaders) {
  const std::string body = R"({"ref":"refs/heads/main", "after":"abc"})";
  http::Request r = TestRequest("POST", "/webhooks/git/github", body);
  r.headers["x-github-event"] = "push";
  r.headers["x-github-delivery"] = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
  r.headers["authorization"] = "Bearer secret-of-the-caller";
  r.headers["cookie"] = "SESSION=abc";
  json out = Expect(200, r);
  EXPECT_EQ(out, json({{"eventProcessed", true}, {"eventId", "event-1"}}));

  ev1::ReceiveWebhookRequest got = fake_.last_webhook();
  EXPECT_EQ(got.type(), "git");
  EXPECT_EQ(got.source(), "github");
  EXPECT_EQ(got.payload().json(), body);  // byte for byte
  EXPECT_EQ(got.idempotency_key(),
            "x-github-delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958");
  bool event_header = false;
  for (const auto& h : got.headers()) {
    EXPECT_NE(h.name(), "authorization");
    EXPECT_NE(h.name(), "cookie");
    if (h.name() == "x-github-event") {
      event_header = true;
      EXPECT_EQ(h.values(0), "push");
    }
  }
  EXPECT_TRUE(event_header);
}

TEST_F(GateWebhooksTest, TypeOnlyRouteAndPingAndDeliveryKeys) {
  json out = Expect(
      200, TestRequest("POST", "/webhooks/webhook", R"({"source":"ci"})"));
  EXPECT_EQ(out["eventProcessed"], true);
  EXPECT_EQ(fake_.last_webhook().type(), "webhook");
  EXPECT_EQ(fake_.last_webhook().source(), "");
  EXPECT_EQ(fake_.last_webhook().idempotency_key(), "");

  out = Expect(200,
               TestRequest("POST", "/webhooks/git/github", R"({"hook_id":1})"));
  EXPECT_EQ(out["eventProcessed"], false);

  http::Request gitlab = TestRequest("POST", "/webhooks/git/gitlab", "{}");
  gitlab.headers["x-gitlab-event-uuid"] = "u-1";
  Expect(200, gitlab);
  EXPECT_EQ(fake_.last_webhook().idempotency_key(), "x-gitlab-event-uuid:u-1");

  http::Request bitbucket =
      TestRequest("POST", "/webhooks/git/bitbucket", "{}");
  bitbucket.headers["x-request-uuid"] = "b-2";
  Expect(200, bitbucket);
  EXPECT_EQ(fake_.last_webhook().idempotency_key(), "x-request-uuid:b-2");

  // A value that cannot be a key is not one.
  http::Request odd = TestRequest("POST", "/webhooks/git/github", "{}");
  odd.headers["x-github-delivery"] = "has space";
  EXPECT_EQ(WebhookIdempotencyKey(odd), "");
}

TEST_F(GateWebhooksTest, EchoErrorsMapToGateStatuses) {
  http::Request bad_sig = TestRequest("POST", "/webhooks/git/github", "{}");
  bad_sig.headers["x-hub-signature-256"] = "sha256=bad";
  json err = Expect(401, bad_sig);
  EXPECT_EQ(err["status"], 401);
  EXPECT_EQ(err["path"], "/webhooks/git/github");

  Expect(400, TestRequest("POST", "/webhooks/git/github", "not json"));
  json big =
      Expect(413, TestRequest("POST", "/webhooks/git/github",
                              "{\"x\":\"" + std::string(100, 'a') + "\"}"));
  EXPECT_EQ(big["status"], 413);
}

TEST_F(GateWebhooksTest, CrossSiteWriteRulesApplyToWebhooks) {
  // GitHub: application/json, no Origin: passes (tested above). A browser
  // form from a foreign site is refused before echo sees it.
  const int calls = fake_.calls();
  http::Request foreign = TestRequest("POST", "/webhooks/git/github", "{}");
  foreign.headers["origin"] = "https://evil.example";
  Expect(403, foreign);
  http::Request form =
      TestRequest("POST", "/webhooks/git/github", "payload=%7B%7D");
  form.headers["content-type"] = "application/x-www-form-urlencoded";
  Expect(415, form);
  EXPECT_EQ(fake_.calls(), calls);
}

TEST_F(GateWebhooksTest, NotificationMetadataAndCallbacks) {
  json types = Expect(200, TestRequest("GET", "/notifications/metadata", ""));
  ASSERT_EQ(types.size(), 3u);
  EXPECT_EQ(types[0], json({{"notificationType", "slack"},
                            {"uiType", "CUSTOM"},
                            {"parameters", json::array()}}));
  EXPECT_EQ(types[1]["notificationType"], "email");
  EXPECT_EQ(types[2]["notificationType"], "githubStatus");

  http::Response ok =
      Send(TestRequest("POST", "/notifications/callbacks/slack", "{}"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.content_type, "application/json");
  EXPECT_EQ(ok.body, R"({"text":"ok"})");
  Expect(501, TestRequest("POST", "/notifications/callbacks/teams", "{}"));
}

TEST_F(GateWebhooksTest, CronValidationInGatesShape) {
  json ok = Expect(
      200, TestRequest("GET", "/cron/validate?expression=0+0+10+*+*+%3F", ""));
  EXPECT_EQ(ok["valid"], true);
  EXPECT_EQ(ok["description"],
            "Cron expression is valid; next run 2025-12-02 10:00:00 "
            "(America/Los_Angeles)");
  json bad =
      Expect(200, TestRequest("GET", "/cron/validate?expression=garbage", ""));
  EXPECT_EQ(bad,
            json({{"valid", false},
                  {"message", "Illegal characters for this position: 'GAR'"}}));
  json invalid =
      Expect(200, TestRequest("GET", "/cron/validate?expression=0+0", ""));
  EXPECT_EQ(invalid["valid"], false);
  EXPECT_EQ(invalid["message"], "Unexpected end of expression.");
  Expect(400, TestRequest("GET", "/cron/validate", ""));
}

// A delivery as GitHub sends it, over real HTTP to gate's listener: JSON
// without Origin passes gate's write rules; the form-encoded setting is 415.
TEST_F(GateWebhooksTest, GithubDeliveryOverHttp) {
  auto server = http::Server::Start(
      {}, MakeRestRouter(MakeBackends(fake_.Address()), Options()));
  ASSERT_TRUE(server.ok()) << server.status();
  http::ClientRequest req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string((*server)->port()) +
            "/webhooks/git/github";
  req.body = R"({"ref":"refs/heads/main"})";
  req.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "GitHub-Hookshot/abc"},
                 {"X-GitHub-Event", "push"},
                 {"X-GitHub-Delivery", "d-42"},
                 {"X-Hub-Signature-256", "sha256=good"}};
  absl::StatusOr<http::ClientResponse> resp = http::Fetch(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200) << resp->body;
  EXPECT_EQ(json::parse(resp->body)["eventProcessed"], true);
  EXPECT_EQ(fake_.last_webhook().idempotency_key(), "x-github-delivery:d-42");
  EXPECT_EQ(fake_.last_webhook().payload().json(), req.body);

  req.headers[0].second = "application/x-www-form-urlencoded";
  req.body = "payload=%7B%7D";
  resp = http::Fetch(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 415) << resp->body;
  (*server)->Stop();
}

TEST(GateWebhooksNoEcho, RoutesNameTheMissingSetting) {
  http::Router router = MakeRestRouter(MakeBackends(""), Options());
  http::Request r = TestRequest("POST", "/webhooks/git/github", "{}");
  http::Response resp = router.Dispatch(r);
  EXPECT_EQ(resp.status, 503);
  EXPECT_NE(resp.body.find("services.echo.address"), std::string::npos)
      << resp.body;
  r = TestRequest("POST", "/notifications/callbacks/slack", "{}");
  EXPECT_EQ(router.Dispatch(r).status, 503);
  r = TestRequest("GET", "/notifications/metadata", "");
  resp = router.Dispatch(r);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "[]");
  r = TestRequest("GET", "/cron/validate?expression=x", "");
  resp = router.Dispatch(r);
  EXPECT_EQ(resp.status, 200);
  json j = json::parse(resp.body);
  EXPECT_EQ(j["valid"], false);
  EXPECT_NE(j["message"].get<std::string>().find("services.echo.address"),
            std::string::npos);
}

TEST(GateBodyLimits, EchoBodiesMustFitWhenEchoIsConfigured) {
  v1::GateDependencies deps;
  EXPECT_TRUE(CheckBodyFitsBackends(1 << 20, deps).ok());
  deps.mutable_echo()->set_address("127.0.0.1:8089");
  deps.mutable_echo()->set_max_message_bytes(1 << 20);
  absl::Status s = CheckBodyFitsBackends(1 << 20, deps);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("services.echo.maxMessageBytes"),
            std::string::npos)
      << s;
}

}  // namespace
}  // namespace gennaker::gate
