// The webhook stage under the outbound policy, against a real HTTP server on
// loopback: refused unless the operator allow-lists its URL prefix.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/http/http_server.h"
#include "common/http/outbound.h"
#include "gtest/gtest.h"
#include "services/orca/engine/engine_test_util.h"
#include "services/orca/launcher.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {
namespace {

class WebhookStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http::Router router;
    router.Add("POST", "/hook", [](const http::Request&) {
      return http::Json(200, R"({"ok": true})");
    });
    // The status is polled at the call's URL (statusUrlResolution getMethod).
    router.Add("GET", "/hook", [](const http::Request&) {
      return http::Json(200, R"({"state": "SUCCEEDED"})");
    });
    auto server = http::Server::Start(http::ServerOptions{}, std::move(router));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    base_ = absl::StrCat("http://127.0.0.1:", server_->port());
  }

  // Runs a one-stage webhook pipeline under `policy`; returns the stage.
  Json RunWebhook(http::OutboundPolicy policy, Json stage) {
    auto client = http::OutboundClient::Create(std::move(policy));
    EXPECT_TRUE(client.ok());
    StageDeps deps;
    deps.outbound = client->get();
    Registry registry;
    RegisterBuiltinStages(&registry, deps);
    testing::ManualClock clock;
    MemoryStore store(&clock);
    Engine engine(&store, &registry, &clock, nullptr);
    stage["refId"] = "1";
    stage["type"] = "webhook";
    stage["name"] = "hook";
    LaunchOptions o;
    o.now_ms = clock.NowMs();
    auto exec = BuildPipelineExecution(
        {{"application", "app"}, {"stages", {stage}}}, Json::object(), o);
    EXPECT_TRUE(exec.ok());
    auto id = store.Create(*exec, "", {StartMessage(*exec)});
    EXPECT_TRUE(id.ok());
    testing::RunUntilSettled(&engine, &store, &clock, 600000, 100);
    Json e = testing::GetExecution(&store, *id);
    return e["stages"][0];
  }

  std::unique_ptr<http::Server> server_;
  std::string base_;
};

TEST_F(WebhookStageTest, ALoopbackUrlIsRefusedUnlessAllowListed) {
  Json stage = {{"url", base_ + "/hook"},
                {"method", "POST"},
                {"payload", {{"a", 1}}},
                {"waitForCompletion", true},
                {"statusUrlResolution", "getMethod"},
                {"statusJsonPath", "$.state"},
                {"successStatuses", "SUCCEEDED"}};
  Json refused = RunWebhook(http::DefaultOutboundPolicy(), stage);
  EXPECT_EQ(String(refused, "status"), "TERMINAL");
  std::string error =
      Dump(refused["context"]["exception"]["details"]["errors"]);
  EXPECT_NE(error.find("loopback addresses are not allowed"), std::string::npos)
      << error;

  http::OutboundPolicy allowed = http::DefaultOutboundPolicy();
  allowed.allowed_url_prefixes = {base_ + "/"};
  Json ok = RunWebhook(allowed, stage);
  EXPECT_EQ(String(ok, "status"), "SUCCEEDED") << Dump(ok);
  EXPECT_EQ(ok["context"]["webhook"]["body"]["ok"], true);
}

TEST_F(WebhookStageTest, OtherSchemesAndSuitePortsAreRefused) {
  http::OutboundPolicy loopback = http::DefaultOutboundPolicy();
  loopback.allow_loopback = true;
  for (const std::string& url :
       {std::string("file:///etc/passwd"), std::string("gopher://127.0.0.1/"),
        absl::StrCat("http://127.0.0.1:", http::SuitePorts()[0], "/")}) {
    Json s = RunWebhook(loopback, {{"url", url}, {"method", "GET"}});
    EXPECT_EQ(String(s, "status"), "TERMINAL") << url;
    EXPECT_NE(Dump(s["context"]["exception"]).find("refused"),
              std::string::npos)
        << url << ": " << Dump(s["context"]);
  }
}

}  // namespace
}  // namespace gennaker::orca
