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

#include <atomic>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
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
using testing::FakeIgor;
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
    auto core = EchoCore::Create(&store_, &orca_, &front50_, igor_,
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
  BuildInfoSource* igor_ = nullptr;
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

// orca down for longer than max_attempts * backoff (a rolling restart): the
// event is retried with backoff capped at retry_max_ms and delivered once
// orca is back; transient failures do not count toward max_attempts.
TEST_F(EchoCoreTest, TransientErrorsRetryPastMaxAttempts) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  CoreOptions o = Sync();
  o.max_attempts = 3;
  o.retry_max_ms = 8000;
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
  // Ten more attempts over minutes (backoff 1, 2, 4, then capped at 8 s).
  for (int i = 0; i < 10; ++i) {
    clock_.Set(Event(r->event_id).next_attempt_ms);
    EXPECT_EQ(core->DeliverPending(), 1);
    EXPECT_EQ(Event(r->event_id).state, EventState::kAccepted) << i;
  }
  e = Event(r->event_id);
  EXPECT_EQ(e.attempts, 11);
  EXPECT_EQ(e.next_attempt_ms - clock_.NowMs(), 8000);
  orca_.Fail(absl::OkStatus());
  clock_.Set(e.next_attempt_ms);
  EXPECT_EQ(core->DeliverPending(), 1);
  e = Event(r->event_id);
  EXPECT_EQ(e.state, EventState::kDelivered);
  EXPECT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(orca_.calls(), 12);
}

TEST_F(EchoCoreTest, TransientErrorsFailAfterTheTimeBudget) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  CoreOptions o = Sync();
  o.transient_retry_ms = 120000;
  auto core = MakeCore(o);
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  orca_.Fail(absl::DeadlineExceededError("orca timed out"));
  auto r = core->ReceiveWebhook(Hook("{}"), "");
  ASSERT_THAT(r, IsOk());
  int deliveries = 0;
  while (Event(r->event_id).state == EventState::kAccepted &&
         deliveries < 100) {
    clock_.Set(std::max(clock_.NowMs(), Event(r->event_id).next_attempt_ms));
    deliveries += core->DeliverPending();
  }
  EventRow e = Event(r->event_id);
  EXPECT_EQ(e.state, EventState::kFailed);
  EXPECT_GE(clock_.NowMs() - kT0, 120000);
  EXPECT_LT(clock_.NowMs() - kT0, 120000 + 60000);
  EXPECT_THAT(e.error, ::testing::HasSubstr("orca timed out"));
}

// A non-retryable error ends the event at once: FAILED, with the error.
TEST_F(EchoCoreTest, NonRetryableStartFailureIsNotRetried) {
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  auto core = MakeCore(Sync());
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  orca_.Fail(absl::PermissionDeniedError("no access to app"));
  auto r = core->ReceiveWebhook(Hook("{}"), "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  EventRow e = Event(r->event_id);
  EXPECT_EQ(e.state, EventState::kFailed);
  EXPECT_THAT(e.error, ::testing::HasSubstr("no access to app"));
  EXPECT_EQ(orca_.calls(), 1);
}

// One failing match does not stop the others.
TEST_F(EchoCoreTest, FailingMatchDoesNotStopTheOthers) {
  front50_.SetPipelines({WebhookPipeline("p1", "src"),
                         WebhookPipeline("p2", "src"),
                         WebhookPipeline("p3", "src")});
  auto core = MakeCore(Sync());
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  orca_.FailPipeline("p1", absl::PermissionDeniedError("p1 forbidden"));
  orca_.FailPipeline("p2", absl::UnavailableError("p2 shard down"));
  auto r = core->ReceiveWebhook(Hook("{}"), "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  ASSERT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(orca_.starts()[0].pipeline_id, "p3");
  // p2's transient failure retries the event; p1's is recorded.
  EventRow e = Event(r->event_id);
  EXPECT_EQ(e.state, EventState::kAccepted);
  EXPECT_THAT(e.error, ::testing::HasSubstr("p2 shard down"));
  EXPECT_THAT(e.error, ::testing::HasSubstr("p1 forbidden"));
  orca_.FailPipeline("p2", absl::OkStatus());
  clock_.Set(e.next_attempt_ms);
  EXPECT_EQ(core->DeliverPending(), 1);
  // p3 is not started twice (orca's idempotency key); p2 now starts.
  ASSERT_EQ(orca_.starts().size(), 2u);
  EXPECT_EQ(orca_.starts()[1].pipeline_id, "p2");
  e = Event(r->event_id);
  EXPECT_EQ(e.state, EventState::kDelivered);
  EXPECT_THAT(e.executions, ::testing::HasSubstr("exec-1"));
  EXPECT_THAT(e.executions, ::testing::HasSubstr("exec-2"));
  EXPECT_THAT(e.error, ::testing::HasSubstr("p1 forbidden"));
}

Json BuildPipeline(const std::string& id, const std::string& deploy) {
  return Json{{"id", id},
              {"application", "app"},
              {"name", "build-" + id},
              {"triggers",
               {{{"type", "jenkins"},
                 {"enabled", true},
                 {"master", "jenkins-main"},
                 {"job", "app/build"},
                 {"propertyFile", "build.properties"},
                 {"payloadConstraints", {{"DEPLOY", deploy}}}}}}};
}

Json BuildEvent() {
  return Json{{"details", {{"type", "build"}, {"source", "igor"}}},
              {"content",
               {{"master", "jenkins-main"},
                {"project",
                 {{"name", "app/build"},
                  {"lastBuild",
                   {{"building", false},
                    {"number", 128},
                    {"result", "SUCCESS"},
                    {"url", "https://jenkins.example/job/app/128/"}}}}}}}};
}

// The first matching pipeline's payloadConstraints reject the build: it is
// skipped, the second starts.
TEST_F(EchoCoreTest, UnmetBuildConstraintSkipsOnlyThatPipeline) {
  FakeIgor igor;
  igor.SetProperties(Json{{"DEPLOY", "true"}});
  igor_ = &igor;
  front50_.SetPipelines(
      {BuildPipeline("a-no", "^false$"), BuildPipeline("b-yes", "^true$")});
  auto core = MakeCore(Sync());
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  auto r = core->PostEvent(BuildEvent(), "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  ASSERT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(orca_.starts()[0].pipeline_id, "b-yes");
  EXPECT_EQ(orca_.starts()[0].trigger["properties"]["DEPLOY"], "true");
  EventRow e = Event(r->id);
  EXPECT_EQ(e.state, EventState::kDelivered);
  EXPECT_EQ(e.error, "");
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

// A webhook cannot forge orca's, echo's or igor's own events: a pipeline
// trigger would start as the user of a forged parent and the notifications
// in the body would be sent.
TEST_F(EchoCoreTest, ReservedWebhookTypesAreRefused) {
  HookReceiver receiver({});
  Json child{{"id", "child"},
             {"application", "app"},
             {"name", "child"},
             {"triggers",
              {{{"type", "pipeline"},
                {"application", "app"},
                {"pipeline", "parent"},
                {"status", {"successful"}},
                {"enabled", true}}}}};
  front50_.SetPipelines({child});
  auto core = MakeCore(Sync(), /*with_webhook_sender=*/true);
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  const Json forged{{"execution",
                     {{"id", "E1"},
                      {"type", "PIPELINE"},
                      {"application", "app"},
                      {"pipelineConfigId", "parent"},
                      {"status", "SUCCEEDED"},
                      {"authentication", {{"user", "admin@example.com"}}},
                      {"notifications",
                       {{{"type", "webhook"},
                         {"address", receiver.url()},
                         {"when", {"pipeline.complete"}}}}}}}};
  for (const char* type :
       {"orca:pipeline:complete", "ORCA:stage:failed", "echo:cron",
        "Echo:anything", "build", "Docker", "manual", " orca:x"}) {
    IncomingWebhook w = Hook(spinnaker::Dump(forged));
    w.type = type;
    w.source = "x";
    EXPECT_THAT(core->ReceiveWebhook(w, ""),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << type;
  }
  auto listed = core->ListEvents({});
  ASSERT_THAT(listed, IsOk());
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(core->DeliverPending(), 0);
  EXPECT_EQ(core->SendPendingNotifications(), 0);
  EXPECT_EQ(orca_.calls(), 0);
  EXPECT_TRUE(receiver.bodies().empty());
  // Plain words are webhooks.
  for (const char* type : {"webhook", "cdevents", "orcaish", "deploy"}) {
    IncomingWebhook w = Hook("{}");
    w.type = type;
    EXPECT_THAT(core->ReceiveWebhook(w, ""), IsOk()) << type;
  }
}

// An orca event whose pipeline trigger cannot start still sends its
// notifications, once.
TEST_F(EchoCoreTest, OrcaEventNotificationsDoNotDependOnTriggers) {
  HookReceiver receiver({});
  Json child{{"id", "child"},
             {"application", "app"},
             {"name", "child"},
             {"triggers",
              {{{"type", "pipeline"},
                {"application", "app"},
                {"pipeline", "parent"},
                {"status", {"successful"}},
                {"enabled", true}}}}};
  front50_.SetPipelines({child});
  auto core = MakeCore(Sync(), /*with_webhook_sender=*/true);
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  Json event{{"details",
              {{"type", "orca:pipeline:complete"},
               {"source", "orca"},
               {"application", "app"}}},
             {"content",
              {{"execution",
                {{"id", "E1"},
                 {"type", "PIPELINE"},
                 {"name", "parent"},
                 {"application", "app"},
                 {"pipelineConfigId", "parent"},
                 {"status", "SUCCEEDED"},
                 {"notifications",
                  {{{"type", "webhook"},
                    {"address", receiver.url()},
                    {"level", "pipeline"},
                    {"when", {"pipeline.complete"}}}}}}}}}};
  orca_.FailPipeline("child", absl::UnavailableError("orca restarting"));
  auto r = core->PostEvent(event, "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(core->DeliverPending(), 1);
  EXPECT_EQ(orca_.calls(), 1);
  EXPECT_EQ(Event(r->id).state, EventState::kAccepted);
  auto rows = store_.ListNotifications(r->id);
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(core->SendPendingNotifications(), 1);
  EXPECT_EQ(receiver.bodies().size(), 1u);
  // The retry starts the child; the notification is not enqueued again.
  orca_.FailPipeline("child", absl::OkStatus());
  clock_.Set(Event(r->id).next_attempt_ms);
  EXPECT_EQ(core->DeliverPending(), 1);
  EXPECT_EQ(Event(r->id).state, EventState::kDelivered);
  ASSERT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(orca_.starts()[0].pipeline_id, "child");
  rows = store_.ListNotifications(r->id);
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].state, NotificationState::kSent);
  EXPECT_EQ(core->SendPendingNotifications(), 0);
  EXPECT_EQ(receiver.bodies().size(), 1u);
}

TEST_F(EchoCoreTest, LongIdempotencyKeysAreHashed) {
  auto core = MakeCore(Sync());
  Json event{{"details", {{"type", "docker"}, {"source", "igor"}}},
             {"content", Json::object()}};
  const std::string long_key =
      "docker:registry:org/" + std::string(300, 'r') + ":sha256:abc";
  auto first = core->PostEvent(event, long_key);
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->duplicate);
  EventRow stored = Event(first->id);
  EXPECT_EQ(stored.idempotency_key.size(), 7u + 64u);
  EXPECT_TRUE(absl::StartsWith(stored.idempotency_key, "sha256:"));
  auto again = core->PostEvent(event, long_key);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->id, first->id);
  // Another long key is another event.
  auto other = core->PostEvent(event, long_key + "2");
  ASSERT_THAT(other, IsOk());
  EXPECT_FALSE(other->duplicate);
  // Short keys are kept as given; absurd ones are refused.
  ASSERT_THAT(NormalizeIdempotencyKey("k"), IsOk());
  EXPECT_EQ(*NormalizeIdempotencyKey("k"), "k");
  EXPECT_THAT(core->PostEvent(event, std::string(5000, 'k')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Direct notifications too.
  HookReceiver receiver({});
  auto notifier = MakeCore(Sync(), /*with_webhook_sender=*/true);
  v1::Notification n;
  n.set_type(v1::NOTIFICATION_TYPE_WEBHOOK);
  n.add_to(receiver.url());
  n.mutable_additional_context()->set_json(R"({"body": "x"})");
  auto sent = notifier->SendNotification(n, long_key);
  ASSERT_THAT(sent, IsOk());
  auto sent_again = notifier->SendNotification(n, long_key);
  ASSERT_THAT(sent_again, IsOk());
  EXPECT_TRUE(sent_again->duplicate);
}

// A store whose cron claims fail while `fail_claims` > 0, and which records
// the owners of event claims.
class FlakyStore : public InMemoryEchoStore {
 public:
  absl::StatusOr<bool> ClaimCronSlot(const CronSlot& slot,
                                     const std::string& owner,
                                     const EventRow& event) override {
    if (fail_claims > 0) {
      --fail_claims;
      return absl::UnavailableError("database restarting");
    }
    return InMemoryEchoStore::ClaimCronSlot(slot, owner, event);
  }
  absl::StatusOr<std::vector<EventRow>> ClaimEvents(const std::string& owner,
                                                    int64_t now_ms,
                                                    int64_t claim_ms,
                                                    int limit) override {
    auto r = InMemoryEchoStore::ClaimEvents(owner, now_ms, claim_ms, limit);
    if (r.ok() && !r->empty()) owners.push_back(owner);
    return r;
  }
  int fail_claims = 0;
  std::vector<std::string> owners;
};

TEST_F(EchoCoreTest, FailedCronClaimIsRetried) {
  FlakyStore store;
  store.fail_claims = 1;
  front50_.SetPipelines({CronPipeline("c1", "t1", "0 * * * * ?")});
  CoreOptions o = Sync();
  o.time_zone = "UTC";
  o.misfire_threshold_ms = 10000;
  auto created =
      EchoCore::Create(&store, &orca_, &front50_, nullptr, {}, &clock_, o);
  ASSERT_THAT(created, IsOk());
  auto core = *std::move(created);
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  clock_.Advance(60000);
  core->RunScheduler();  // the claim fails
  EXPECT_EQ(core->DeliverPending(), 0);
  clock_.Advance(1000);
  core->RunScheduler();  // retried
  EXPECT_EQ(core->DeliverPending(), 1);
  ASSERT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(orca_.starts()[0].idempotency_key,
            absl::StrCat("cron:c1:t1:", kT0 + 60000));
  core->RunScheduler();
  EXPECT_EQ(core->DeliverPending(), 0);

  // A slot whose claim keeps failing past the misfire threshold is dropped.
  store.fail_claims = 1000;
  clock_.Set(kT0 + 120000);
  core->RunScheduler();
  clock_.Advance(5000);
  core->RunScheduler();
  store.fail_claims = 0;
  clock_.Advance(6000);
  core->RunScheduler();
  EXPECT_EQ(core->DeliverPending(), 0);
  EXPECT_EQ(orca_.starts().size(), 1u);
  EXPECT_EQ(core->ScheduledTriggers()[0].next_fire_ms, kT0 + 180000);
}

TEST_F(EchoCoreTest, CronSlotWithStoredKeyIsNotClaimedAgain) {
  EventRow fire;
  fire.id = "old";
  fire.idempotency_key = "cron:p:t:60000";
  fire.type = kCronEventType;
  ASSERT_THAT(store_.InsertEvent(fire), IsOk());
  EventRow again = fire;
  again.id = "new";
  EXPECT_THAT(store_.ClaimCronSlot({"t", "p", 60000}, "A", again),
              ::gennaker::testing::IsOkAndHolds(false));
}

// Each claim has its own token: a worker whose claim expired cannot end the
// claim that took the event over, even in the same instance.
TEST_F(EchoCoreTest, ClaimsCarryTheirOwnToken) {
  FlakyStore store;
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  CoreOptions o = Sync();
  o.time_zone = "UTC";
  o.instance_id = "inst";
  auto created =
      EchoCore::Create(&store, &orca_, &front50_, nullptr, {}, &clock_, o);
  ASSERT_THAT(created, IsOk());
  auto core = *std::move(created);
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  ASSERT_THAT(core->ReceiveWebhook(Hook("{}"), ""), IsOk());
  ASSERT_THAT(core->ReceiveWebhook(Hook("{}"), ""), IsOk());
  EXPECT_EQ(core->DeliverPending(), 2);
  ASSERT_EQ(store.owners.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(store.owners[0], "inst/"));
  EXPECT_TRUE(absl::StartsWith(store.owners[1], "inst/"));
  EXPECT_NE(store.owners[0], store.owners[1]);

  // The store's fence: a stale claim's Finish and Retry write nothing.
  EventRow row;
  row.id = "e";
  row.type = "manual";
  row.accepted_ms = row.next_attempt_ms = kT0;
  ASSERT_THAT(store_.InsertEvent(row), IsOk());
  ASSERT_THAT(store_.ClaimEvents("inst/1", kT0, 1000, 1), IsOk());
  auto taken = store_.ClaimEvents("inst/2", kT0 + 1000, 1000, 1);
  ASSERT_THAT(taken, IsOk());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_THAT(store_.FinishEvent("e", "inst/1", EventState::kFailed, "[]",
                                 "stale", kT0 + 1001),
              ::gennaker::testing::IsOkAndHolds(false));
  EXPECT_THAT(store_.RetryEvent("e", "inst/1", kT0, "stale", kT0 + 1001),
              ::gennaker::testing::IsOkAndHolds(false));
  EXPECT_THAT(store_.FinishEvent("e", "inst/2", EventState::kDelivered, "[]",
                                 "", kT0 + 1002),
              ::gennaker::testing::IsOkAndHolds(true));
  EXPECT_EQ(Event("e").state, EventState::kDelivered);
}

// An orca whose calls wait until released one by one; the n-th call answers
// `answers[n]` (OK = started).
class GatedOrca : public OrcaClient {
 public:
  absl::StatusOr<StartedExecution> StartPipeline(
      const PipelineStart& start) override {
    absl::MutexLock l(&mu_);
    const int n = calls_++;
    auto released = [this, n]() {
      mu_.AssertHeld();
      return released_ > n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&released), absl::Seconds(10));
    if (n < static_cast<int>(answers.size()) && !answers[n].ok()) {
      return answers[n];
    }
    return StartedExecution{absl::StrCat("exec-", n), start.application};
  }
  bool WaitForCalls(int n) {
    absl::MutexLock l(&mu_);
    auto reached = [this, n]() {
      mu_.AssertHeld();
      return calls_ >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(10));
  }
  void Release() {
    absl::MutexLock l(&mu_);
    ++released_;
  }
  std::vector<absl::Status> answers;

 private:
  absl::Mutex mu_;
  int calls_ = 0;
  int released_ = 0;
};

// Two deliveries of one event in one instance (the first outlived its
// claim): the stale one's outcome must not release the newer claim.
TEST_F(EchoCoreTest, StaleDeliveryDoesNotReleaseTheNewerClaim) {
  GatedOrca orca;
  orca.answers = {absl::UnavailableError("slow and failed"), absl::OkStatus()};
  front50_.SetPipelines({WebhookPipeline("p1", "src")});
  CoreOptions o = Sync();
  o.time_zone = "UTC";
  o.claim_seconds = 30;
  auto created =
      EchoCore::Create(&store_, &orca, &front50_, nullptr, {}, &clock_, o);
  ASSERT_THAT(created, IsOk());
  auto core = *std::move(created);
  ASSERT_THAT(core->RefreshPipelines(), IsOk());
  auto r = core->ReceiveWebhook(Hook("{}"), "");
  ASSERT_THAT(r, IsOk());
  std::thread stale([&] { core->DeliverPending(); });
  ASSERT_TRUE(orca.WaitForCalls(1));
  clock_.Advance(30000);  // the first claim expired
  std::thread fresh([&] { core->DeliverPending(); });
  ASSERT_TRUE(orca.WaitForCalls(2));
  orca.Release();  // the stale delivery fails and would retry the event
  stale.join();
  // The newer claim still holds the event.
  EXPECT_THAT(store_.ClaimEvents("other", clock_.NowMs(), 30000, 1),
              ::gennaker::testing::IsOkAndHolds(::testing::IsEmpty()));
  EXPECT_EQ(Event(r->event_id).state, EventState::kAccepted);
  orca.Release();
  fresh.join();
  EventRow e = Event(r->event_id);
  EXPECT_EQ(e.state, EventState::kDelivered);
  EXPECT_THAT(e.executions, ::testing::HasSubstr("exec-1"));
}

// RemoveListener (a core's destructor) waits for a listener call in flight.
TEST(ManualClockTest, RemoveListenerWaitsForCallsInFlight) {
  ManualClock clock(0);
  absl::Mutex mu;
  bool entered = false, release = false, finished = false;
  const int id = clock.AddListener([&] {
    absl::MutexLock l(&mu);
    entered = true;
    mu.AwaitWithTimeout(absl::Condition(&release), absl::Seconds(10));
    finished = true;
  });
  std::thread setter([&] { clock.Advance(1); });
  {
    absl::MutexLock l(&mu);
    ASSERT_TRUE(
        mu.AwaitWithTimeout(absl::Condition(&entered), absl::Seconds(10)));
  }
  std::atomic<bool> removed{false};
  bool finished_when_removed = false;
  std::thread remover([&] {
    clock.RemoveListener(id);
    removed = true;
    absl::MutexLock l(&mu);
    finished_when_removed = finished;
  });
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(removed.load());
  {
    absl::MutexLock l(&mu);
    release = true;
  }
  setter.join();
  remover.join();
  EXPECT_TRUE(finished_when_removed);
  // Removed: later advances do not call it.
  {
    absl::MutexLock l(&mu);
    entered = false;
  }
  clock.Advance(1);
  absl::MutexLock l(&mu);
  EXPECT_FALSE(entered);
}

}  // namespace
}  // namespace gennaker::echo
