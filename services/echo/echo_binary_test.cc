// The real echo binary against a real PostgreSQL, a real front50 (in-process,
// its own database) and a fake orca sharing front50's gRPC server: a webhook
// starts the pipeline saved in front50 (picked up through front50's change
// stream, the run-as user forwarded as x-spinnaker-user), a cron trigger
// fires, an orca event's webhook notification reaches an in-test receiver
// after a retry, and start-up refuses an invalid time zone.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/spinnaker/json.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gennaker/echo/v1/echo.grpc.pb.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/echo/echo_test_fakes.h"
#include "tests/support/front50_server.h"

namespace gennaker::echo {
namespace {

using ::gennaker::testing::IsOk;
using spinnaker::Json;

// orca's StartPipeline only, de-duplicating by idempotency key.
class FakeOrcaService : public orca::v1::OrcaService::Service {
 public:
  struct Call {
    orca::v1::StartPipelineRequest request;
    std::string user;
    absl::Time at;
    std::string id;  // the execution id this fake gave it
  };
  grpc::Status StartPipeline(grpc::ServerContext* ctx,
                             const orca::v1::StartPipelineRequest* req,
                             orca::v1::StartPipelineResponse* resp) override {
    absl::MutexLock l(&mu_);
    std::string user;
    auto it = ctx->client_metadata().find("x-spinnaker-user");
    if (it != ctx->client_metadata().end()) {
      user = std::string(it->second.data(), it->second.size());
    }
    std::string& id = by_key_[req->idempotency_key()];
    if (id.empty()) {
      id = absl::StrCat("01EXEC", calls_.size());
      calls_.push_back(Call{*req, user, absl::Now(), id});
    } else {
      resp->set_deduplicated(true);
    }
    resp->mutable_execution()->set_id(id);
    resp->mutable_execution()->set_application(req->application());
    return grpc::Status::OK;
  }
  std::vector<Call> calls() {
    absl::MutexLock l(&mu_);
    return calls_;
  }
  // The calls whose pipeline is `pipeline_id`, waiting up to `timeout` for
  // at least `n`.
  std::vector<Call> WaitFor(const std::string& pipeline_id, size_t n,
                            absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    std::vector<Call> out;
    do {
      out.clear();
      for (Call& c : calls()) {
        if (c.request.pipeline_config_id() == pipeline_id) out.push_back(c);
      }
      if (out.size() >= n) break;
      absl::SleepFor(absl::Milliseconds(20));
    } while (absl::Now() < deadline);
    return out;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> by_key_;
  std::vector<Call> calls_;
};

class EchoBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::gennaker::testing::MakeTempDir("echo-bin");
    auto f50 = ::gennaker::testing::Front50Server::Start({&orca_});
    ASSERT_THAT(f50, IsOk());
    front50_ = std::move(*f50);
    front50_stub_ =
        front50::v1::Front50Service::NewStub(MakeChannel(front50_->address()));
    auto pg = ::gennaker::testing::SharedPostgres();
    ASSERT_THAT(pg, IsOk());
    auto dsn = (*pg)->CreateDatabase("echo_bin");
    ASSERT_THAT(dsn, IsOk());
    dsn_ = *dsn;
    grpc_port_ = *process::FreePort();
    admin_port_ = *process::FreePort();
  }

  void TearDown() override {
    if (pid_ > 0) (void)process::Terminate(pid_, absl::Seconds(5));
    front50_.reset();
    ::gennaker::testing::RemoveTree(dir_);
  }

  std::string WriteConfig(const std::string& extra) {
    const std::string path = absl::StrCat(dir_, "/echo-", ++configs_, ".yml");
    std::ofstream(path) << absl::StrCat(
        "server: {host: 127.0.0.1, grpcPort: ", grpc_port_,
        ", adminPort: ", admin_port_, ", shutdownGraceSeconds: 2}\n",
        "logging: {level: info, format: text}\n", "postgres: {dsn: '", dsn_,
        "'}\n", "services:\n", "  orca: {address: '", front50_->address(),
        "'}\n", "  front50: {address: '", front50_->address(), "'}\n",
        "  igor: {address: '127.0.0.1:1'}\n",
        // Only the change stream can load a pipeline saved later in time.
        "events: {pipelinePollMs: 600000}\n",
        "notifications: {webhookEnabled: true, spinnakerBaseUrl: "
        "'http://deck'}\n",
        "outbound: {allowLoopback: true}\n", extra);
    return path;
  }

  void StartEcho(const std::string& extra = "") {
    const std::string config = WriteConfig(extra);
    process::SpawnOptions o;
    o.argv = {::gennaker::testing::BinDir() + "/echo", "--config", config};
    o.log_file = config + ".log";
    o.die_with_parent = true;
    log_ = o.log_file;
    auto pid = process::Spawn(o);
    ASSERT_THAT(pid, IsOk());
    pid_ = *pid;
    const std::string address = absl::StrCat("127.0.0.1:", grpc_port_);
    for (int i = 0; i < 200; ++i) {
      auto serving = CheckServing(address, std::chrono::milliseconds(200));
      if (serving.ok() && *serving) {
        stub_ = v1::EchoService::NewStub(MakeChannel(address));
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "echo did not become SERVING; see " << o.log_file;
  }

  void SavePipeline(const Json& pipeline) {
    grpc::ClientContext ctx;
    front50::v1::SavePipelineRequest req;
    req.set_kind(front50::v1::PIPELINE_KIND_PIPELINE);
    req.mutable_config()->set_json(pipeline.dump());
    front50::v1::SavePipelineResponse resp;
    grpc::Status s = front50_stub_->SavePipeline(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void CreateApplication(const std::string& name) {
    grpc::ClientContext ctx;
    front50::v1::CreateApplicationRequest req;
    req.mutable_application()->set_name(name);
    req.mutable_application()->set_email("owner@example.com");
    req.mutable_application()->mutable_attributes()->set_json(
        Json{{"name", name}, {"email", "owner@example.com"}}.dump());
    front50::v1::CreateApplicationResponse resp;
    grpc::Status s = front50_stub_->CreateApplication(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  std::string dir_, dsn_, log_;
  int grpc_port_ = 0, admin_port_ = 0, configs_ = 0;
  pid_t pid_ = 0;
  FakeOrcaService orca_;
  std::unique_ptr<::gennaker::testing::Front50Server> front50_;
  std::unique_ptr<front50::v1::Front50Service::Stub> front50_stub_;
  std::unique_ptr<v1::EchoService::Stub> stub_;
};

TEST_F(EchoBinaryTest, WebhookCronAndNotifications) {
  CreateApplication("app");
  StartEcho();
  ASSERT_NE(stub_, nullptr);

  // Saved after echo loaded the (empty) pipeline list.
  SavePipeline(Json{{"application", "app"},
                    {"name", "hooked"},
                    {"id", "p-hook"},
                    {"stages", Json::array()},
                    {"triggers",
                     {{{"type", "webhook"},
                       {"source", "bin"},
                       {"enabled", true},
                       {"runAsUser", "svc@example.com"}}}}});
  SavePipeline(Json{{"application", "app"},
                    {"name", "cron"},
                    {"id", "p-cron"},
                    {"stages", Json::array()},
                    {"triggers",
                     {{{"type", "cron"},
                       {"id", "t-cron"},
                       {"cronExpression", "* * * * * ?"},
                       {"enabled", true}}}}});

  // The change stream reloads the pipelines, both saves in one reload or the
  // cron one after the hook one: a webhook sent before that matches nothing
  // (echo matches against the pipelines it has), so wait for the cron trigger.
  bool loaded = false;
  for (int i = 0; i < 200 && !loaded; ++i) {
    grpc::ClientContext ctx;
    v1::ListScheduledTriggersRequest req;
    req.set_pipeline_id("p-cron");
    v1::ListScheduledTriggersResponse resp;
    loaded = stub_->ListScheduledTriggers(&ctx, req, &resp).ok() &&
             resp.triggers_size() > 0;
    if (!loaded) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(loaded) << "echo did not load the saved pipelines; see " << log_;
  std::string event_id;
  {
    grpc::ClientContext ctx;
    v1::ReceiveWebhookRequest req;
    req.set_type("webhook");
    req.set_source("bin");
    req.mutable_payload()->set_json(R"({"parameters": {"v": "1"}})");
    req.set_idempotency_key("delivery-1");
    v1::ReceiveWebhookResponse resp;
    grpc::Status s = stub_->ReceiveWebhook(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(resp.event_processed());
    event_id = resp.event_id();
  }
  auto hooked = orca_.WaitFor("p-hook", 1, absl::Seconds(20));
  ASSERT_EQ(hooked.size(), 1u) << "see " << log_;
  EXPECT_EQ(hooked[0].request.application(), "app");
  EXPECT_EQ(hooked[0].request.origin(), "echo");
  EXPECT_EQ(hooked[0].user, "svc@example.com");
  auto trigger = spinnaker::ParseJson(hooked[0].request.trigger().json());
  ASSERT_THAT(trigger, IsOk());
  EXPECT_EQ(spinnaker::String(*trigger, "type"), "webhook");
  EXPECT_EQ(spinnaker::String(spinnaker::Object(*trigger, "parameters"), "v"),
            "1");

  // The event is DELIVERED with its execution.
  bool delivered = false;
  for (int i = 0; i < 100 && !delivered; ++i) {
    grpc::ClientContext ctx;
    v1::ListRecentEventsRequest req;
    req.set_type("webhook");
    v1::ListRecentEventsResponse resp;
    ASSERT_TRUE(stub_->ListRecentEvents(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.events_size(), 1);
    EXPECT_EQ(resp.events(0).event().event_id(), event_id);
    delivered = resp.events(0).state() == v1::EVENT_STATE_DELIVERED;
    if (delivered) {
      ASSERT_EQ(resp.events(0).triggered_executions_size(), 1);
      // The cron trigger may fire first and take the fake's first id.
      EXPECT_EQ(resp.events(0).triggered_executions(0).id(), hooked[0].id);
    } else {
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  EXPECT_TRUE(delivered);

  // The cron trigger fires every second, each slot once.
  auto cron = orca_.WaitFor("p-cron", 2, absl::Seconds(10));
  ASSERT_GE(cron.size(), 2u);
  EXPECT_NE(cron[0].request.idempotency_key(),
            cron[1].request.idempotency_key());
  EXPECT_THAT(cron[0].request.idempotency_key(),
              ::testing::StartsWith("cron:p-cron:t-cron:"));
  {
    grpc::ClientContext ctx;
    v1::ListScheduledTriggersRequest req;
    v1::ListScheduledTriggersResponse resp;
    ASSERT_TRUE(stub_->ListScheduledTriggers(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.triggers_size(), 1);
    EXPECT_EQ(resp.triggers(0).time_zone(), "America/Los_Angeles");
    EXPECT_GT(resp.triggers(0).previous_fire_at_ms(), 0);
  }

  // An orca event's webhook notification, retried after a 500.
  testing::HookReceiver receiver({500});
  Json execution{{"id", "01EXEC0"},
                 {"type", "PIPELINE"},
                 {"name", "hooked"},
                 {"application", "app"},
                 {"status", "SUCCEEDED"},
                 {"notifications",
                  {{{"type", "webhook"},
                    {"address", receiver.url()},
                    {"level", "pipeline"},
                    {"when", {"pipeline.complete"}}}}}};
  {
    grpc::ClientContext ctx;
    v1::PostEventRequest req;
    req.mutable_event()->set_type("orca:pipeline:complete");
    req.mutable_event()->set_source("orca");
    req.mutable_event()->set_application("app");
    req.mutable_event()->mutable_content()->set_json(
        Json{{"execution", execution}}.dump());
    req.set_idempotency_key("orca-complete-01EXEC0");
    v1::PostEventResponse resp;
    grpc::Status s = stub_->PostEvent(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (receiver.bodies().size() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(receiver.bodies().size(), 2u) << "see " << log_;
  EXPECT_THAT(receiver.bodies()[1], ::testing::HasSubstr("01EXEC0"));

  {
    grpc::ClientContext ctx;
    v1::ListNotificationTypesResponse resp;
    ASSERT_TRUE(stub_->ListNotificationTypes(&ctx, {}, &resp).ok());
    ASSERT_EQ(resp.types_size(), 1);
    EXPECT_EQ(resp.types(0), v1::NOTIFICATION_TYPE_WEBHOOK);
  }
  {
    // Health pings PostgreSQL; the pipeline gauges are exported.
    http::ClientRequest req;
    req.url = absl::StrCat("http://127.0.0.1:", admin_port_, "/metrics");
    auto metrics = http::Fetch(req);
    ASSERT_THAT(metrics, IsOk());
    EXPECT_THAT(metrics->body, ::testing::HasSubstr("echo_pipelines_indexed"));
    req.url = absl::StrCat("http://127.0.0.1:", admin_port_, "/health");
    auto health = http::Fetch(req);
    ASSERT_THAT(health, IsOk());
    EXPECT_EQ(health->status, 200) << health->body;
  }
  {
    grpc::ClientContext ctx;
    v1::HandleNotificationCallbackResponse resp;
    EXPECT_EQ(stub_->HandleNotificationCallback(&ctx, {}, &resp).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
}

// Event-to-pipeline-start latency at 100 webhooks a second (loopback, one
// PostgreSQL): a sanity bound, and the numbers in the test log.
TEST_F(EchoBinaryTest, WebhookToStartLatency) {
  CreateApplication("app");
  SavePipeline(
      Json{{"application", "app"},
           {"name", "hooked"},
           {"id", "p-lat"},
           {"stages", Json::array()},
           {"triggers",
            {{{"type", "webhook"}, {"source", "lat"}, {"enabled", true}}}}});
  StartEcho();
  ASSERT_NE(stub_, nullptr);
  constexpr int kEvents = 200;
  std::map<std::string, absl::Time> sent;
  const absl::Time begin = absl::Now();
  for (int i = 0; i < kEvents; ++i) {
    const absl::Duration ahead =
        begin + absl::Milliseconds(10) * i - absl::Now();
    if (ahead > absl::ZeroDuration()) absl::SleepFor(ahead);
    grpc::ClientContext ctx;
    v1::ReceiveWebhookRequest req;
    req.set_type("webhook");
    req.set_source("lat");
    const std::string seq = std::to_string(i);
    req.mutable_payload()->set_json(
        Json{{"parameters", {{"seq", seq}}}}.dump());
    v1::ReceiveWebhookResponse resp;
    const absl::Time at = absl::Now();
    ASSERT_TRUE(stub_->ReceiveWebhook(&ctx, req, &resp).ok());
    sent[seq] = at;
  }
  auto calls = orca_.WaitFor("p-lat", kEvents, absl::Seconds(30));
  ASSERT_EQ(calls.size(), static_cast<size_t>(kEvents)) << "see " << log_;
  std::vector<double> ms;
  for (const auto& c : calls) {
    auto trigger = spinnaker::ParseJson(c.request.trigger().json());
    ASSERT_THAT(trigger, IsOk());
    const std::string seq =
        spinnaker::String(spinnaker::Object(*trigger, "parameters"), "seq");
    ASSERT_EQ(sent.count(seq), 1u) << seq;
    ms.push_back(absl::ToDoubleMilliseconds(c.at - sent[seq]));
  }
  std::sort(ms.begin(), ms.end());
  const double p50 = ms[ms.size() / 2];
  const double p99 = ms[ms.size() * 99 / 100];
  std::printf(
      "webhook->orca start latency at 100/s: p50 %.1f ms, p99 %.1f "
      "ms, max %.1f ms\n",
      p50, p99, ms.back());
  EXPECT_LT(p50, 500);
}

TEST_F(EchoBinaryTest, RefusesAnInvalidTimeZone) {
  const std::string config = WriteConfig("scheduler: {timeZone: Mars/Base}\n");
  process::SpawnOptions o;
  o.argv = {::gennaker::testing::BinDir() + "/echo", "--config", config};
  o.log_file = config + ".log";
  o.new_session = false;
  auto code = process::Run(o);
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
  std::ifstream in(o.log_file);
  std::string log((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  EXPECT_THAT(log, ::testing::HasSubstr("Mars/Base"));
}

}  // namespace
}  // namespace gennaker::echo
