// The gRPC adapter over a core on the in-memory store: event conversion,
// ListRecentEvents paging (newest first), webhook answers, the scheduler
// RPCs and the UNIMPLEMENTED callback.
#include "services/echo/echo_grpc.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/testing/status_matchers.h"
#include "services/echo/echo_core.h"
#include "services/echo/echo_server.h"
#include "services/echo/echo_test_fakes.h"
#include "services/echo/store/in_memory_echo_store.h"

namespace gennaker::echo {
namespace {

using ::gennaker::testing::IsOk;

class EchoGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    front50_.SetPipelines({testing::CronPipeline("c1", "t1", "0 0 * * * ?"),
                           testing::WebhookPipeline("p1", "src")});
    CoreOptions o;
    o.worker_threads = 0;
    o.background = false;
    o.time_zone = "UTC";
    auto core =
        EchoCore::Create(&store_, &orca_, &front50_, nullptr, {}, &clock_, o);
    ASSERT_THAT(core, IsOk());
    core_ = *std::move(core);
    service_ = NewEchoGrpcService(core_.get());
  }

  grpc::ServerContext ctx_;
  ManualClock clock_{1767571200000};
  InMemoryEchoStore store_;
  testing::FakeOrca orca_;
  testing::FakeFront50 front50_;
  std::unique_ptr<EchoCore> core_;
  std::unique_ptr<v1::EchoService::Service> service_;
};

TEST_F(EchoGrpcTest, PostAndListEventsNewestFirst) {
  for (int i = 0; i < 3; ++i) {
    v1::PostEventRequest req;
    req.mutable_event()->set_type("manual");
    req.mutable_event()->set_source("test");
    req.mutable_event()->set_application(i == 2 ? "other" : "app");
    req.mutable_event()->mutable_content()->set_json(
        absl::StrCat(R"({"n": )", i, "}"));
    req.mutable_event()->add_artifacts()->set_name("img");
    v1::PostEventResponse resp;
    ASSERT_TRUE(service_->PostEvent(&ctx_, &req, &resp).ok());
    EXPECT_FALSE(resp.event_id().empty());
    clock_.Advance(1);
  }
  v1::ListRecentEventsRequest req;
  req.mutable_page()->set_page_size(2);
  v1::ListRecentEventsResponse resp;
  ASSERT_TRUE(service_->ListRecentEvents(&ctx_, &req, &resp).ok());
  ASSERT_EQ(resp.events_size(), 2);
  EXPECT_EQ(resp.events(0).event().application(), "other");
  EXPECT_EQ(resp.events(0).state(), v1::EVENT_STATE_ACCEPTED);
  ASSERT_EQ(resp.events(0).event().artifacts_size(), 1);
  EXPECT_EQ(resp.events(0).event().artifacts(0).name(), "img");
  EXPECT_THAT(resp.events(0).event().content().json(),
              ::testing::HasSubstr("\"n\":2"));
  ASSERT_FALSE(resp.page().next_page_token().empty());
  req.mutable_page()->set_page_token(resp.page().next_page_token());
  v1::ListRecentEventsResponse next;
  ASSERT_TRUE(service_->ListRecentEvents(&ctx_, &req, &next).ok());
  ASSERT_EQ(next.events_size(), 1);
  EXPECT_TRUE(next.page().next_page_token().empty());

  v1::ListRecentEventsRequest filtered;
  filtered.set_application("app");
  v1::ListRecentEventsResponse only;
  ASSERT_TRUE(service_->ListRecentEvents(&ctx_, &filtered, &only).ok());
  EXPECT_EQ(only.events_size(), 2);

  v1::PostEventRequest bad;
  bad.mutable_event()->set_type("manual");
  bad.mutable_event()->mutable_content()->set_json("[1,");
  v1::PostEventResponse bad_resp;
  EXPECT_EQ(service_->PostEvent(&ctx_, &bad, &bad_resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(EchoGrpcTest, WebhookAndSchedulerRpcs) {
  v1::SyncScheduledTriggersResponse sync;
  ASSERT_TRUE(service_->SyncScheduledTriggers(&ctx_, nullptr, &sync).ok());
  EXPECT_EQ(sync.added(), 1);

  v1::ReceiveWebhookRequest hook;
  hook.set_type("webhook");
  hook.set_source("src");
  hook.mutable_payload()->set_json("{}");
  hook.set_idempotency_key("d-1");
  v1::ReceiveWebhookResponse hook_resp;
  ASSERT_TRUE(service_->ReceiveWebhook(&ctx_, &hook, &hook_resp).ok());
  EXPECT_TRUE(hook_resp.event_processed());
  v1::ReceiveWebhookResponse again;
  ASSERT_TRUE(service_->ReceiveWebhook(&ctx_, &hook, &again).ok());
  EXPECT_EQ(again.event_id(), hook_resp.event_id());
  {
    // Secret-bearing headers are not stored (credentials) or not listed.
    clock_.Advance(1);
    v1::ReceiveWebhookRequest secret = hook;
    secret.set_idempotency_key("d-2");
    v1::HttpHeader* token = secret.add_headers();
    token->set_name("X-Gitlab-Token");
    token->add_values("gl-secret");
    v1::HttpHeader* auth = secret.add_headers();
    auth->set_name("Authorization");
    auth->add_values("Bearer tok");
    v1::ReceiveWebhookResponse resp;
    ASSERT_TRUE(service_->ReceiveWebhook(&ctx_, &secret, &resp).ok());
    auto stored = store_.GetEvent(resp.event_id());
    ASSERT_THAT(stored, IsOk());
    EXPECT_THAT(stored->body, ::testing::Not(::testing::HasSubstr("Bearer")));
    v1::ListRecentEventsRequest list;
    v1::ListRecentEventsResponse listed;
    ASSERT_TRUE(service_->ListRecentEvents(&ctx_, &list, &listed).ok());
    ASSERT_GE(listed.events_size(), 1);
    EXPECT_EQ(listed.events(0).event().event_id(), resp.event_id());
    EXPECT_THAT(listed.events(0).event().details().json(),
                ::testing::Not(::testing::HasSubstr("gl-secret")));
  }
  hook.mutable_payload()->set_json("nope");
  EXPECT_EQ(service_->ReceiveWebhook(&ctx_, &hook, &again).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListScheduledTriggersRequest list;
  v1::ListScheduledTriggersResponse triggers;
  ASSERT_TRUE(service_->ListScheduledTriggers(&ctx_, &list, &triggers).ok());
  ASSERT_EQ(triggers.triggers_size(), 1);
  EXPECT_EQ(triggers.triggers(0).trigger_id(), "t1");
  EXPECT_EQ(triggers.triggers(0).pipeline_id(), "c1");
  EXPECT_EQ(triggers.triggers(0).time_zone(), "UTC");
  EXPECT_EQ(triggers.triggers(0).next_fire_at_ms(), 1767571200000 + 3600000);

  v1::ValidateCronExpressionRequest cron;
  cron.set_expression("0 0 12 * * ?");
  cron.set_preview_count(2);
  v1::ValidateCronExpressionResponse valid;
  ASSERT_TRUE(service_->ValidateCronExpression(&ctx_, &cron, &valid).ok());
  EXPECT_TRUE(valid.valid());
  EXPECT_EQ(valid.message(), "Cron expression is valid");
  EXPECT_EQ(valid.next_fire_at_ms_size(), 2);

  v1::HandleNotificationCallbackResponse cb;
  EXPECT_EQ(
      service_->HandleNotificationCallback(&ctx_, nullptr, &cb).error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
  v1::ListNotificationTypesResponse types;
  ASSERT_TRUE(service_->ListNotificationTypes(&ctx_, nullptr, &types).ok());
  EXPECT_EQ(types.types_size(), 0);
}

TEST(EchoConfigTest, DefaultsAndValidation) {
  v1::EchoConfig config;
  ApplyEchoDefaults(&config);
  EXPECT_EQ(config.events().worker_threads(), 2);
  EXPECT_EQ(config.events().claim_seconds(), 60);
  EXPECT_EQ(config.scheduler().time_zone(), "America/Los_Angeles");
  EXPECT_EQ(config.scheduler().misfire_threshold_ms(), 60000);
  config.mutable_services()->mutable_orca()->set_address("127.0.0.1:8083");
  config.mutable_services()->mutable_front50()->set_address("127.0.0.1:8080");
  EXPECT_THAT(ValidateConfig(config), IsOk());

  v1::EchoConfig bad_zone = config;
  bad_zone.mutable_scheduler()->set_time_zone("Nowhere/Town");
  EXPECT_THAT(ValidateConfig(bad_zone),
              ::gennaker::testing::StatusIs(
                  absl::StatusCode::kInvalidArgument,
                  ::testing::HasSubstr("scheduler.timeZone")));

  v1::EchoConfig bad_email = config;
  bad_email.mutable_notifications()->mutable_email()->set_enabled(true);
  EXPECT_THAT(ValidateConfig(bad_email),
              ::gennaker::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                            ::testing::HasSubstr("email")));
}

}  // namespace
}  // namespace gennaker::echo
