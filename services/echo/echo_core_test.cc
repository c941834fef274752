// EchoCore on the in-memory store with fake orca and front50: intake
// (idempotency, webhook validation and signatures), delivery (matching,
// retries, FAILED, waiting for the first pipeline load, takeover by a new
// instance), the cron scheduler on a manual clock, and notifications sent to
// an in-test HTTP receiver.
#include "services/echo/echo_core.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "common/http/outbound.h"
#include "common/testing/status_matchers.h"
#include "services/echo/echo_test_fakes.h"
#include "services/echo/store/in_memory_echo_store.h"

namespace gennaker::echo {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using testing::CronPipeline;
using testing::FakeFront50;
using testing::FakeOrca;
using testing::HookReceiver;
using testing::WebhookPipeline;

// 2026-01-05T00:00:00Z, a Monday.
constexpr int64_t kT0 = 1767571200000;

std::string HmacSha1Hex(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &len);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(out), len));
}

class EchoCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http::OutboundPolicy policy = http::DefaultOutboundPolicy();
    policy.allow_loopback = true;
    policy.rejected_ports.clear();
    auto outbound = http::OutboundClient::Create(policy);
    ASSERT_THAT(outbound, IsOk());
    outbound_ = *std::move(outbound);
  }

  std::unique_ptr<EchoCore> MakeCore(CoreOptions o = {},
                                     bool with_webhook_sender = false) {
    o.time_zone = "UTC";
    o.retry_base_ms = 1000;
    std::vector<std::unique_ptr<NotificationSender>> senders;
    if (with_webhook_sender) {
      v1::NotificationsConfig n;
      n.set_webhook_enabled(true);
      auto s = BuildSenders(n, outbound_.get());
      EXPECT_THAT(s, IsOk());
      if (s.ok()) senders = *std::move(s);
    }
    auto core = EchoCore::Create(&store_, &orca_, &front50_, nullptr,
                                 std::move(senders), &clock_, o);
    EXPECT_THAT(core, IsOk());
    return core.ok() ? *std::move(core) : nullptr;
  }

  static CoreOptions Sync() {
    CoreOptions o;
    o.worker_threads = 0;
    o.background = false;
    return o;
  }

  IncomingWebhook Hook(const std::string& body) {
    IncomingWebhook w;
    w.type = "webhook";
    w.source = "src";
    w.raw_body = body;
    return w;
  }

  EventRow Event(const std::string& id) {
    auto e = store_.GetEvent(id);
    EXPECT_THAT(e, IsOk());
    return e.ok() ? *e : EventRow{};
  }

  ManualClock clock_{kT0};
  InMemoryEchoStore store_;
  FakeOrca orca_;
  FakeFront50 front50_;
  std::unique_ptr<http::OutboundClient> outbound_;
};

TEST_F(EchoCoreTest, PostEventIsIdempotent) {
  auto core = MakeCore(Sync());
  Json event{{"details", {{"type", "manual"}, {"source", "test"}}},
             {"content", Json::object()}};
  auto first = core->PostEvent(event, "key-1");
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->duplicate);
  auto second = core->PostEvent(event, "key-1");
  ASSERT_THAT(second, IsOk());
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->id, first->id);
  auto listed = core->ListEvents({});
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].state, EventState::kAccepted);
  // created is the accept time, as Spinnaker's string.
  EXPECT_EQ((*listed)[0].created_ms, kT0);
  EXPECT_THAT((*listed)[0].body,
              ::testing::HasSubstr(absl::StrCat("\"created\":\"", kT0)));

  // A producer's retry with the event's own id is the same event.
  Json with_id = event;
  with_id["eventId"] = "ev-1";
  auto own = core->PostEvent(with_id, "");
  ASSERT_THAT(own, IsOk());
  EXPECT_EQ(own->id, "ev-1");
  auto own_again = core->PostEvent(with_id, "");
  ASSERT_THAT(own_again, IsOk());
  EXPECT_TRUE(own_again->duplicate);

  EXPECT_THAT(core->PostEvent(Json{{"details", Json::object()}}, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(EchoCoreTest, WebhookEventStartsMatchingPipelineOnce) {
  front50_.SetPipelines(
      {WebhookPipeline("p1", "src"), WebhookPipeline("p2", "other")});
  auto core = MakeCore(Sync());
  auto r = core->ReceiveWebhook(Hook(R"({"parameters": {"a": "1"}})"), "");
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->processed);
  // Delivery waits for the first pipeline load.
  EXPECT_EQ(core->DeliverPending(), 0);
  EXPECT_EQ(Event(r->event_id).state, EventState::kAccepted);

  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  ASSERT_EQ(orca_.starts().size(), 1u);
  const std::vector<PipelineStart> starts = orca_.starts();
  const PipelineStart& s = starts[0];
  EXPECT_EQ(s.pipeline_id, "p1");
  EXPECT_EQ(s.application, "app");
  EXPECT_FALSE(s.idempotency_key.empty());
  EXPECT_EQ(spinnaker::String(s.trigger, "type"), "webhook");
  EXPECT_EQ(s.run_as_user, "");
  EventRow e = Event(r->event_id);
  EXPECT_EQ(e.state, EventState::kDelivered);
  EXPECT_THAT(e.executions, ::testing::HasSubstr("exec-1"));
  // Nothing left to deliver.
  EXPECT_EQ(core->DeliverPending(), 0);
  EXPECT_EQ(orca_.calls(), 1);
}

TEST_F(EchoCoreTest, RunAsUserIsForwarded) {
  Json p = WebhookPipeline("p1", "src");
  p["triggers"][0]["runAsUser"] = "svc@example.com";
  front50_.SetPipelines({p});
  auto core = MakeCore(Sync());
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  ASSERT_THAT(core->ReceiveWebhook(Hook("{}"), ""), IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  ASSERT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(orca_.starts()[0].run_as_user, "svc@example.com");
}

TEST_F(EchoCoreTest, RetriesWithBackoffThenFails) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  CoreOptions o = Sync();
  o.max_attempts = 3;
  auto core = MakeCore(o);
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  orca_.Fail(absl::UnavailableError("orca is down"));
  auto r = core->ReceiveWebhook(Hook("{}"), "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  EventRow e = Event(r->event_id);
  EXPECT_EQ(e.state, EventState::kAccepted);
  EXPECT_EQ(e.next_attempt_ms, kT0 + 1000);
  EXPECT_THAT(e.error, ::testing::HasSubstr("orca is down"));
  // Not due before the backoff.
  EXPECT_EQ(core->DeliverPending(), 0);
  clock_.Advance(1000);
  EXPECT_EQ(core->DeliverPending(), 1);
  EXPECT_EQ(Event(r->event_id).next_attempt_ms, kT0 + 1000 + 2000);
  clock_.Advance(2000);
  EXPECT_EQ(core->DeliverPending(), 1);
  e = Event(r->event_id);
  EXPECT_EQ(e.state, EventState::kFailed);
  EXPECT_EQ(e.attempts, 3);
  EXPECT_THAT(e.error, ::testing::HasSubstr("orca is down"));
  EXPECT_EQ(orca_.calls(), 3);
}

TEST_F(EchoCoreTest, NewInstanceDeliversWhatAnotherAccepted) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  std::string id;
  {
    auto first = MakeCore(Sync());
    auto r = first->ReceiveWebhook(Hook("{}"), "");
    ASSERT_THAT(r, IsOk());
    id = r->event_id;
  }  // destroyed before delivering
  auto second = MakeCore(Sync());
  ASSERT_THAT(second->RefreshPipelines(), IsOk());
  EXPECT_EQ(second->DeliverPending(), 1);
  EXPECT_EQ(Event(id).state, EventState::kDelivered);
  EXPECT_EQ(orca_.starts().size(), 1u);
}

TEST_F(EchoCoreTest, ExpiredClaimIsTakenOver) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  CoreOptions o = Sync();
  o.claim_seconds = 30;
  auto core = MakeCore(o);
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  auto r = core->ReceiveWebhook(Hook("{}"), "");
  ASSERT_THAT(r, IsOk());
  // A dead instance claimed it and never finished.
  auto claimed = store_.ClaimEvents("dead", kT0, 30000, 10);
  ASSERT_THAT(claimed, IsOk());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(core->DeliverPending(), 0);
  clock_.Advance(30000);
  EXPECT_EQ(core->DeliverPending(), 1);
  EXPECT_EQ(Event(r->event_id).state, EventState::kDelivered);
}

TEST_F(EchoCoreTest, WebhookRefusals) {
  CoreOptions o = Sync();
  o.max_webhook_bytes = 64;
  auto core = MakeCore(o);
  EXPECT_THAT(core->ReceiveWebhook(Hook("not json"), ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(core->ReceiveWebhook(Hook(std::string(100, ' ') + "{}"), ""),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // The scheduler's own event type cannot come from outside.
  IncomingWebhook cron = Hook(R"({"pipelineId": "p1", "runAsUser": "root"})");
  cron.type = kCronEventType;
  EXPECT_THAT(core->ReceiveWebhook(cron, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      core->PostEvent(Json{{"details", {{"type", kCronEventType}}}}, ""),
      StatusIs(absl::StatusCode::kInvalidArgument));
  auto listed = core->ListEvents({});
  ASSERT_THAT(listed, IsOk());
  EXPECT_TRUE(listed->empty());
}

TEST_F(EchoCoreTest, GitSignatureIsChecked) {
  Json p{{"id", "g1"},
         {"application", "app"},
         {"name", "git"},
         {"triggers",
          {{{"type", "git"},
            {"source", "github"},
            {"project", "org"},
            {"slug", "repo"},
            {"branch", "main"},
            {"secret", "s3cret"},
            {"enabled", true}}}}};
  front50_.SetPipelines({p});
  auto core = MakeCore(Sync());
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  const std::string body =
      R"({"ref": "refs/heads/main", "after": "abc123", "repository": )"
      R"({"name": "repo", "owner": {"name": "org"}}})";
  IncomingWebhook w;
  w.type = "git";
  w.source = "github";
  w.raw_body = body;
  w.headers = {{"X-GitHub-Event", "push"},
               {"X-Hub-Signature", "sha1=" + HmacSha1Hex("wrong", body)}};
  EXPECT_THAT(core->ReceiveWebhook(w, ""),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       "webhook signature does not match"));
  w.headers.pop_back();  // unsigned while a secret is set
  EXPECT_THAT(core->ReceiveWebhook(w, ""),
              StatusIs(absl::StatusCode::kUnauthenticated));
  auto listed = core->ListEvents({});
  ASSERT_THAT(listed, IsOk());
  EXPECT_TRUE(listed->empty());

  w.headers.push_back(
      {"X-Hub-Signature", "sha1=" + HmacSha1Hex("s3cret", body)});
  auto r = core->ReceiveWebhook(w, "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  ASSERT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(orca_.starts()[0].pipeline_id, "g1");
  EXPECT_EQ(spinnaker::String(orca_.starts()[0].trigger, "hash"), "abc123");
}

// One trigger on the repository needs a secret and one does not: an
// unsigned push is taken (by the second), a forged signature is refused.
TEST_F(EchoCoreTest, MixedSecretsTakeUnsignedButRefuseForged) {
  auto git = [](const std::string& id, const std::string& secret) {
    Json t{{"type", "git"},  {"source", "github"}, {"project", "org"},
           {"slug", "repo"}, {"branch", "main"},   {"enabled", true}};
    if (!secret.empty()) t["secret"] = secret;
    return Json{{"id", id},
                {"application", "app"},
                {"name", id},
                {"triggers", Json::array({t})}};
  };
  front50_.SetPipelines({git("signed", "s3cret"), git("open", "")});
  auto core = MakeCore(Sync());
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  const std::string body =
      R"({"ref": "refs/heads/main", "after": "abc123", "repository": )"
      R"({"name": "repo", "owner": {"name": "org"}}})";
  IncomingWebhook w;
  w.type = "git";
  w.source = "github";
  w.raw_body = body;
  w.headers = {{"X-GitHub-Event", "push"},
               {"X-Hub-Signature", "sha1=" + HmacSha1Hex("wrong", body)}};
  EXPECT_THAT(core->ReceiveWebhook(w, ""),
              StatusIs(absl::StatusCode::kUnauthenticated));
  w.headers.pop_back();
  ASSERT_THAT(core->ReceiveWebhook(w, ""), IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  ASSERT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(orca_.starts()[0].pipeline_id, "open");
}

TEST_F(EchoCoreTest, PingIsStoredIgnored) {
  auto core = MakeCore(Sync());
  IncomingWebhook w;
  w.type = "git";
  w.source = "github";
  w.raw_body = R"({"hook_id": 1, "zen": "hi"})";
  w.headers = {{"X-GitHub-Event", "ping"}};
  auto r = core->ReceiveWebhook(w, "");
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->processed);
  EXPECT_EQ(Event(r->event_id).state, EventState::kIgnored);
}

TEST_F(EchoCoreTest, CronFiresAtTheSlotAndDropsMissedSlots) {
  front50_.SetPipelines({CronPipeline("c1", "t1", "0 * * * * ?")});
  CoreOptions o = Sync();
  o.misfire_threshold_ms = 10000;
  auto core = MakeCore(o);
  auto counts = core->RefreshPipelines();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->added, 1);
  std::vector<ScheduledTriggerInfo> sched = core->ScheduledTriggers();
  ASSERT_EQ(sched.size(), 1u);
  EXPECT_EQ(sched[0].next_fire_ms, kT0 + 60000);
  EXPECT_EQ(sched[0].time_zone, "UTC");

  clock_.Advance(59999);
  core->RunScheduler();
  EXPECT_EQ(core->DeliverPending(), 0);
  clock_.Advance(1);
  core->RunScheduler();
  EXPECT_EQ(core->DeliverPending(), 1);
  ASSERT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(orca_.starts()[0].idempotency_key,
            absl::StrCat("cron:c1:t1:", kT0 + 60000));
  EXPECT_EQ(spinnaker::String(orca_.starts()[0].trigger, "type"), "cron");
  EXPECT_EQ(core->ScheduledTriggers()[0].previous_fire_ms, kT0 + 60000);
  // The same slot again fires nothing.
  core->RunScheduler();
  EXPECT_EQ(core->DeliverPending(), 0);

  // An hour of downtime: the missed slots are not replayed.
  clock_.Advance(3600000 + 30000);
  core->RunScheduler();
  EXPECT_EQ(core->DeliverPending(), 0);
  EXPECT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(core->ScheduledTriggers()[0].next_fire_ms,
            kT0 + 60000 + 3600000 + 60000);

  // Sync counts.
  front50_.SetPipelines({CronPipeline("c1", "t1", "0 0 * * * ?"),
                         CronPipeline("c2", "t2", "0 0 * * * ?")});
  counts = core->RefreshPipelines();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->added, 1);
  EXPECT_EQ(counts->updated, 1);
  EXPECT_EQ(counts->removed, 0);
  front50_.SetPipelines({});
  counts = core->RefreshPipelines();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->removed, 2);
}

TEST_F(EchoCoreTest, AdvancingTheClockWakesTheScheduler) {
  front50_.SetPipelines({CronPipeline("c1", "t1", "0 * * * * ?")});
  CoreOptions o;
  o.worker_threads = 1;
  o.background = true;
  o.pipeline_poll_ms = 3600000;
  o.poll = absl::Seconds(30);  // only the clock's wake-up can be in time
  auto core = MakeCore(o);
  core->Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (core->ScheduledTriggers().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(core->ScheduledTriggers().size(), 1u);
  clock_.Advance(60000);
  EXPECT_TRUE(orca_.WaitForStarts(1, absl::Seconds(5)));
  core->Stop();
}

TEST_F(EchoCoreTest, OrcaEventNotificationsAreSentAndRetried) {
  HookReceiver receiver({500});
  auto core = MakeCore(Sync(), /*with_webhook_sender=*/true);
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  EXPECT_EQ(core->NotificationTypes(), std::vector<std::string>{"webhook"});
  Json event{{"details",
              {{"type", "orca:pipeline:complete"},
               {"source", "orca"},
               {"application", "app"}}},
             {"content",
              {{"execution",
                {{"id", "E1"},
                 {"type", "PIPELINE"},
                 {"name", "deploy"},
                 {"application", "app"},
                 {"status", "SUCCEEDED"},
                 {"notifications",
                  {{{"type", "webhook"},
                    {"address", receiver.url()},
                    {"level", "pipeline"},
                    {"when", {"pipeline.complete"}}}}}}}}}};
  auto r = core->PostEvent(event, "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  EXPECT_EQ(Event(r->id).state, EventState::kDelivered);
  auto rows = store_.ListNotifications(r->id);
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 1u);
  // First send gets a 500: retried after the backoff.
  EXPECT_EQ(core->SendPendingNotifications(), 1);
  EXPECT_EQ(receiver.bodies().size(), 1u);
  rows = store_.ListNotifications(r->id);
  EXPECT_EQ((*rows)[0].state, NotificationState::kPending);
  EXPECT_EQ(core->SendPendingNotifications(), 0);
  clock_.Advance(1000);
  EXPECT_EQ(core->SendPendingNotifications(), 1);
  ASSERT_EQ(receiver.bodies().size(), 2u);
  rows = store_.ListNotifications(r->id);
  EXPECT_EQ((*rows)[0].state, NotificationState::kSent);
  EXPECT_THAT(receiver.bodies()[1], ::testing::HasSubstr("E1"));
  // Redelivering the event enqueues nothing new.
  EXPECT_EQ(core->DeliverPending(), 0);
}

TEST_F(EchoCoreTest, DirectNotificationIsIdempotent) {
  HookReceiver receiver({});
  auto core = MakeCore(Sync(), /*with_webhook_sender=*/true);
  v1::Notification n;
  n.set_type(v1::NOTIFICATION_TYPE_WEBHOOK);
  n.add_to(receiver.url());
  n.mutable_additional_context()->set_json(
      R"({"subject": "hello", "body": "world"})");
  auto first = core->SendNotification(n, "k");
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->duplicate);
  auto again = core->SendNotification(n, "k");
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(core->SendPendingNotifications(), 1);
  EXPECT_EQ(receiver.bodies().size(), 1u);
  // A type this echo has not enabled.
  v1::Notification slack;
  slack.set_type(v1::NOTIFICATION_TYPE_SLACK);
  slack.add_to("#chan");
  slack.mutable_additional_context()->set_json(R"({"body": "hi"})");
  EXPECT_THAT(core->SendNotification(slack, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(EchoCoreTest, ValidateCron) {
  auto core = MakeCore(Sync());
  CronValidation ok = core->ValidateCron("0 0 12 * * ?", "", 3);
  EXPECT_TRUE(ok.valid);
  EXPECT_EQ(ok.message, "Cron expression is valid");
  ASSERT_EQ(ok.next_fire_ms.size(), 3u);
  EXPECT_EQ(ok.next_fire_ms[0], kT0 + 12 * 3600000);
  CronValidation bad = core->ValidateCron("0 0 25 * * ?", "", 1);
  EXPECT_FALSE(bad.valid);
  EXPECT_THAT(bad.message, ::testing::HasSubstr("25"));
}

TEST_F(EchoCoreTest, InvalidTimeZoneIsRefused) {
  CoreOptions o = Sync();
  o.time_zone = "Mars/Olympus";
  EXPECT_THAT(
      EchoCore::Create(&store_, &orca_, &front50_, nullptr, {}, &clock_, o),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(EchoCoreTest, BackgroundWorkersDeliverPromptly) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  CoreOptions o;
  o.worker_threads = 2;
  o.background = true;
  o.poll = absl::Seconds(30);  // only Wake() can be in time
  auto threaded = MakeCore(o);
  threaded->Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!threaded->index_ready() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(threaded->ReceiveWebhook(Hook("{}"), ""), IsOk());
  }
  EXPECT_TRUE(orca_.WaitForStarts(20, absl::Seconds(5)));
  threaded->Stop();
  EXPECT_EQ(orca_.calls(), 20);
}

}  // namespace
}  // namespace gennaker::echo
