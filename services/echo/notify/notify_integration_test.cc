// Senders against real receivers: an in-process HTTP server playing Slack,
// Twilio and a webhook target, and a real SMTP server (aiosmtpd).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/http/http.h"
#include "common/http/http_server.h"
#include "common/http/outbound.h"
#include "common/process/process.h"
#include "common/testing/smtp_server.h"
#include "common/testing/status_matchers.h"
#include "services/echo/notify/notify.h"

namespace gennaker::echo {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    out[http::PercentDecode(kv[0], true)] =
        kv.size() > 1 ? http::PercentDecode(kv[1], true) : "";
  }
  return out;
}

// An HTTP server that records requests and answers per path.
class Receiver {
 public:
  struct Seen {
    std::string method;
    std::string path;
    std::map<std::string, std::string> headers;
    std::string body;
  };

  Receiver() {
    http::Router router;
    auto handler = [this](const http::Request& r) {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back({r.method, r.path, r.headers, r.body});
      return Answer(r);
    };
    router.Add("POST", "/**", handler);
    auto server = http::Server::Start({}, std::move(router));
    EXPECT_THAT(server, IsOk());
    if (server.ok()) server_ = *std::move(server);
  }

  std::string Url() const {
    return absl::StrCat("http://127.0.0.1:", server_->port());
  }

  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  // Slack's, Twilio's and a webhook target's answers, chosen by what the
  // request asks for.
  static http::Response Answer(const http::Request& r) {
    if (r.path == "/api/chat.postMessage") {
      const std::string channel = ParseForm(r.body)["channel"];
      if (channel == "#missing") {
        return http::Json(200, R"({"ok":false,"error":"channel_not_found"})");
      }
      if (channel == "#busy") {
        return http::Json(200, R"({"ok":false,"error":"ratelimited"})");
      }
      return http::Json(200, R"({"ok":true,"channel":"C1","ts":"1.2"})");
    }
    if (absl::StartsWith(r.path, "/services/")) {
      if (absl::StrContains(r.body, "#gone")) {
        http::Response resp;
        resp.status = 404;
        resp.content_type = "text/plain";
        resp.body = "channel_not_found";
        return resp;
      }
      http::Response resp;
      resp.content_type = "text/plain";
      resp.body = "ok";
      return resp;
    }
    if (absl::StartsWith(r.path, "/2010-04-01/Accounts/")) {
      const std::string to = ParseForm(r.body)["To"];
      if (to == "+1000") {
        return http::Json(
            400,
            R"({"code":21211,"message":"The 'To' number +1000 is not a valid phone number.","status":400})");
      }
      if (to == "+1500") return http::Json(503, R"({"message":"down"})");
      return http::Json(201, R"({"sid":"SM1","status":"queued"})");
    }
    if (r.path == "/hook") return http::Json(200, "{}");
    if (r.path == "/broken") return http::Json(500, R"({"error":"boom"})");
    return http::Json(404, "{}");
  }

  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  std::unique_ptr<http::Server> server_;
};

std::unique_ptr<NotificationSender> OnlySender(
    const v1::NotificationsConfig& config,
    const http::OutboundClient* outbound = nullptr) {
  auto senders = BuildSenders(config, outbound);
  EXPECT_THAT(senders, IsOk());
  if (!senders.ok() || senders->size() != 1) return nullptr;
  return std::move((*senders)[0]);
}

NotificationMessage Message(const std::string& type,
                            const std::string& address) {
  NotificationMessage m;
  m.type = type;
  m.address = address;
  m.subject = "Pipeline complete for MYAPP";
  m.body = "Myapp's deploy pipeline has completed successfully";
  m.status = "complete";
  m.when = "pipeline.complete";
  m.application = "myapp";
  m.execution_id = "01EXEC";
  m.link = "https://deck/#/applications/myapp/executions/details/01EXEC";
  m.payload = {{"type", type}, {"body", m.body}, {"executionId", "01EXEC"}};
  return m;
}

TEST(SlackSender, BotTokenPostsChatPostMessage) {
  Receiver slack;
  v1::NotificationsConfig c;
  c.mutable_slack()->set_enabled(true);
  c.mutable_slack()->set_token("xoxb-secret-token");
  c.mutable_slack()->set_base_url(slack.Url());
  auto sender = OnlySender(c);
  ASSERT_NE(sender, nullptr);
  EXPECT_EQ(sender->type(), "slack");

  NotificationMessage m = Message("slack", "#ops");
  m.status = "failed";
  ASSERT_THAT(sender->Send(m), IsOk());
  auto seen = slack.seen();
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].path, "/api/chat.postMessage");
  EXPECT_EQ(seen[0].headers["authorization"], "Bearer xoxb-secret-token");
  EXPECT_THAT(seen[0].headers["content-type"],
              HasSubstr("application/x-www-form-urlencoded"));
  auto form = ParseForm(seen[0].body);
  EXPECT_EQ(form["token"], "xoxb-secret-token");
  EXPECT_EQ(form["channel"], "#ops");
  EXPECT_EQ(form["as_user"], "true");
  EXPECT_EQ(form["link_names"], "1");
  Json attachments = Json::parse(form["attachments"]);
  ASSERT_TRUE(attachments.is_array());
  ASSERT_EQ(attachments.size(), 1u);
  EXPECT_EQ(attachments[0]["title"], "Pipeline complete for MYAPP");
  EXPECT_EQ(attachments[0]["text"], m.body);
  EXPECT_EQ(attachments[0]["color"], "#B82525");
}

TEST(SlackSender, OkFalseIsAFailure) {
  Receiver slack;
  v1::NotificationsConfig c;
  c.mutable_slack()->set_enabled(true);
  c.mutable_slack()->set_token("xoxb-secret-token");
  c.mutable_slack()->set_base_url(slack.Url());
  auto sender = OnlySender(c);
  ASSERT_NE(sender, nullptr);

  absl::Status missing = sender->Send(Message("slack", "#missing"));
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kFailedPrecondition,
                                AllOf(HasSubstr("#missing"),
                                      HasSubstr("channel_not_found"),
                                      Not(HasSubstr("xoxb")))));
  EXPECT_FALSE(IsRetryable(missing));

  absl::Status busy = sender->Send(Message("slack", "#busy"));
  EXPECT_THAT(
      busy, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("ratelimited")));
  EXPECT_TRUE(IsRetryable(busy));
}

TEST(SlackSender, IncomingWebhook) {
  Receiver hooks;
  v1::NotificationsConfig c;
  c.mutable_slack()->set_enabled(true);
  c.mutable_slack()->set_token("T000/B000/XXXXSECRET");
  c.mutable_slack()->set_webhook_base_url(hooks.Url());
  auto sender = OnlySender(c);
  ASSERT_NE(sender, nullptr);

  ASSERT_THAT(sender->Send(Message("slack", "#deploys")), IsOk());
  auto seen = hooks.seen();
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].path, "/services/T000/B000/XXXXSECRET");
  EXPECT_THAT(seen[0].headers["content-type"], HasSubstr("application/json"));
  Json body = Json::parse(seen[0].body);
  EXPECT_EQ(body["channel"], "#deploys");
  ASSERT_EQ(body["attachments"].size(), 1u);
  EXPECT_EQ(body["attachments"][0]["color"], "#769D3E");
  EXPECT_EQ(body["attachments"][0]["title"], "Pipeline complete for MYAPP");

  absl::Status gone = sender->Send(Message("slack", "#gone"));
  EXPECT_THAT(gone, StatusIs(absl::StatusCode::kFailedPrecondition,
                             AllOf(HasSubstr("#gone"), HasSubstr("404"),
                                   Not(HasSubstr("XXXXSECRET")))));
}

TEST(SlackSender, RefusedIsRetryableAndHidesToken) {
  auto port = process::FreePort();
  ASSERT_THAT(port, IsOk());
  v1::NotificationsConfig c;
  c.mutable_slack()->set_enabled(true);
  c.mutable_slack()->set_token("T000/B000/XXXXSECRET");
  c.mutable_slack()->set_webhook_base_url(
      absl::StrCat("http://127.0.0.1:", *port));
  auto sender = OnlySender(c);
  ASSERT_NE(sender, nullptr);
  absl::Status st = sender->Send(Message("slack", "#ops"));
  EXPECT_THAT(st,
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("#ops"), Not(HasSubstr("XXXXSECRET")))));
  EXPECT_TRUE(IsRetryable(st));
}

TEST(TwilioSender, PostsFormWithBasicAuth) {
  Receiver twilio;
  v1::NotificationsConfig c;
  c.mutable_twilio()->set_enabled(true);
  c.mutable_twilio()->set_account("AC123");
  c.mutable_twilio()->set_token("twilio-secret");
  c.mutable_twilio()->set_from("+15550001111");
  c.mutable_twilio()->set_base_url(twilio.Url());
  auto sender = OnlySender(c);
  ASSERT_NE(sender, nullptr);
  EXPECT_EQ(sender->type(), "sms");

  ASSERT_THAT(sender->Send(Message("sms", "+15552223333")), IsOk());
  auto seen = twilio.seen();
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].path, "/2010-04-01/Accounts/AC123/Messages.json");
  EXPECT_EQ(seen[0].headers["authorization"],
            "Basic " + absl::Base64Escape("AC123:twilio-secret"));
  auto form = ParseForm(seen[0].body);
  EXPECT_EQ(form["From"], "+15550001111");
  EXPECT_EQ(form["To"], "+15552223333");
  EXPECT_EQ(form["Body"], "Myapp's deploy pipeline has completed successfully");

  absl::Status bad = sender->Send(Message("sms", "+1000"));
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kFailedPrecondition,
                            AllOf(HasSubstr("+1000"), HasSubstr("21211"),
                                  Not(HasSubstr("twilio-secret")))));
  EXPECT_FALSE(IsRetryable(bad));
  absl::Status down = sender->Send(Message("sms", "+1500"));
  EXPECT_THAT(down, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(IsRetryable(down));
}

TEST(WebhookSender, PostsPayloadThroughOutbound) {
  Receiver target;
  http::OutboundPolicy policy = http::DefaultOutboundPolicy();
  policy.allow_loopback = true;
  auto outbound = http::OutboundClient::Create(policy);
  ASSERT_THAT(outbound, IsOk());
  v1::NotificationsConfig c;
  c.set_webhook_enabled(true);
  auto sender = OnlySender(c, outbound->get());
  ASSERT_NE(sender, nullptr);
  EXPECT_EQ(sender->type(), "webhook");

  // A real event rendered, then posted.
  Json event = {
      {"details",
       {{"type", "orca:pipeline:complete"}, {"application", "myapp"}}},
      {"content",
       {{"execution",
         {{"id", "01EXEC"},
          {"name", "deploy"},
          {"notifications",
           Json::array({{{"type", "webhook"},
                         {"address", target.Url() + "/hook"},
                         {"when", {"pipeline.complete"}}}})}}}}}};
  auto messages =
      NotificationsForEvent(event, Json(), {"webhook"}, "https://deck");
  ASSERT_THAT(messages, SizeIs(1));
  ASSERT_THAT(sender->Send(messages[0]), IsOk());
  auto seen = target.seen();
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].path, "/hook");
  Json body = Json::parse(seen[0].body);
  EXPECT_EQ(body["type"], "webhook");
  EXPECT_EQ(body["when"], "pipeline.complete");
  EXPECT_EQ(body["status"], "complete");
  EXPECT_EQ(body["executionId"], "01EXEC");
  EXPECT_EQ(body["subject"],
            "myapp's deploy pipeline has completed successfully");
  EXPECT_EQ(body["event"]["details"]["type"], "orca:pipeline:complete");

  absl::Status broken =
      sender->Send(Message("webhook", target.Url() + "/broken?secret=abc"));
  EXPECT_THAT(broken, StatusIs(absl::StatusCode::kUnavailable,
                               AllOf(HasSubstr("/broken"), HasSubstr("500"),
                                     Not(HasSubstr("secret=abc")))));
  EXPECT_TRUE(IsRetryable(broken));
}

TEST(WebhookSender, OutboundPolicyRefusesLoopback) {
  Receiver target;
  auto outbound = http::OutboundClient::Create(http::DefaultOutboundPolicy());
  ASSERT_THAT(outbound, IsOk());
  v1::NotificationsConfig c;
  c.set_webhook_enabled(true);
  auto sender = OnlySender(c, outbound->get());
  ASSERT_NE(sender, nullptr);
  absl::Status st = sender->Send(Message("webhook", target.Url() + "/hook"));
  EXPECT_THAT(st, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_FALSE(IsRetryable(st));
  EXPECT_THAT(target.seen(), SizeIs(0));
  EXPECT_THAT(sender->Send(Message("webhook", "file:///etc/passwd")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

class EmailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto smtp = gennaker::testing::TestSmtpServer::Start();
    ASSERT_THAT(smtp, IsOk());
    smtp_ = *std::move(smtp);
  }

  v1::NotificationsConfig Config(int port) const {
    v1::NotificationsConfig c;
    c.mutable_email()->set_enabled(true);
    c.mutable_email()->set_from("spinnaker@example.com");
    c.mutable_email()->set_smtp_host("127.0.0.1");
    c.mutable_email()->set_smtp_port(port);
    return c;
  }

  std::unique_ptr<gennaker::testing::TestSmtpServer> smtp_;
};

TEST_F(EmailTest, SendsPipelineNotification) {
  auto sender = OnlySender(Config(smtp_->port()));
  ASSERT_NE(sender, nullptr);
  EXPECT_EQ(sender->type(), "email");

  Json event = {
      {"details", {{"type", "orca:pipeline:failed"}, {"application", "myapp"}}},
      {"content",
       {{"execution",
         {{"id", "01EXEC"},
          {"name", "deploy"},
          {"status", "TERMINAL"},
          {"notifications",
           Json::array({{{"type", "email"},
                         {"address", "dev@example.com, ops@example.com"},
                         {"cc", "lead@example.com"},
                         {"when", {"pipeline.failed"}},
                         {"message",
                          {{"pipeline.failed",
                            {{"text", "Rollback <now> & check"}}}}}}})}}}}}};
  auto messages = NotificationsForEvent(event, Json(), {"email"},
                                        "https://deck.example.com");
  ASSERT_THAT(messages, SizeIs(1));
  ASSERT_THAT(sender->Send(messages[0]), IsOk());

  auto mails = smtp_->WaitForMessages(1, absl::Seconds(15));
  ASSERT_THAT(mails, IsOk());
  ASSERT_THAT(*mails, SizeIs(1));
  const auto& mail = (*mails)[0];
  EXPECT_EQ(mail.Header("To"), "dev@example.com, ops@example.com");
  EXPECT_EQ(mail.Header("Cc"), "lead@example.com");
  EXPECT_EQ(mail.Header("From"), "spinnaker@example.com");
  EXPECT_EQ(mail.Header("Subject"), "myapp's deploy pipeline has failed");
  EXPECT_EQ(mail.Header("MIME-Version"), "1.0");
  EXPECT_EQ(mail.Header("Content-Type"), "text/html; charset=UTF-8");
  EXPECT_THAT(mail.Header("Message-ID"), HasSubstr("@example.com>"));
  EXPECT_FALSE(mail.Header("Date").empty());
  EXPECT_EQ(mail.envelope_from, "spinnaker@example.com");
  EXPECT_THAT(mail.envelope_recipients,
              UnorderedElementsAre("dev@example.com", "ops@example.com",
                                   "lead@example.com"));
  EXPECT_THAT(mail.body,
              AllOf(HasSubstr("myapp&#39;s deploy pipeline has failed."),
                    HasSubstr("Rollback &lt;now&gt; &amp; check"),
                    HasSubstr("<a href=\"https://deck.example.com/#/"
                              "applications/myapp/executions/details/"
                              "01EXEC\">")));
}

TEST_F(EmailTest, HeaderInjectionIsNeutralized) {
  auto sender = OnlySender(Config(smtp_->port()));
  ASSERT_NE(sender, nullptr);
  NotificationMessage m = Message("email", "dev@example.com");
  m.subject = "Deploy\r\nBcc: evil@example.com";
  ASSERT_THAT(sender->Send(m), IsOk());
  auto mails = smtp_->WaitForMessages(1, absl::Seconds(15));
  ASSERT_THAT(mails, IsOk());
  const auto& mail = (*mails)[0];
  EXPECT_EQ(mail.Header("Bcc"), "");
  EXPECT_EQ(mail.Header("Subject"), "Deploy  Bcc: evil@example.com");
  EXPECT_THAT(mail.envelope_recipients, ElementsAre("dev@example.com"));

  // An address carrying a header is refused before any connection.
  EXPECT_THAT(
      sender->Send(Message("email", "dev@example.com\r\nBcc:evil@example.com")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("not a valid email address")));
  EXPECT_THAT(sender->Send(Message("email", " ; ")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(EmailTest, DirectNotificationDelivered) {
  auto sender = OnlySender(Config(smtp_->port()));
  ASSERT_NE(sender, nullptr);
  v1::Notification n;
  n.set_type(v1::NOTIFICATION_TYPE_EMAIL);
  n.add_to("approver@example.com");
  n.set_template_group("manualJudgment");
  n.mutable_source()->set_application("myapp");
  n.mutable_source()->set_execution_id("01EXEC");
  n.mutable_additional_context()->set_json(
      R"({"stageName":"Approve","stageId":"2","instructions":"Check it",)"
      R"("execution":{"name":"deploy"}})");
  auto messages = DirectNotification(n, "https://deck.example.com");
  ASSERT_THAT(messages, IsOk());
  ASSERT_THAT(*messages, SizeIs(1));
  ASSERT_THAT(sender->Send((*messages)[0]), IsOk());
  auto mails = smtp_->WaitForMessages(1, absl::Seconds(15));
  ASSERT_THAT(mails, IsOk());
  EXPECT_EQ((*mails)[0].Header("To"), "approver@example.com");
  EXPECT_EQ((*mails)[0].Header("Subject"),
            "Stage Approve for myapp's deploy pipeline is awaiting manual "
            "judgment");
  EXPECT_THAT((*mails)[0].body, HasSubstr("Check it"));
}

TEST_F(EmailTest, StartTlsRequiredButNotOffered) {
  v1::NotificationsConfig c = Config(smtp_->port());
  c.mutable_email()->set_starttls(true);
  auto sender = OnlySender(c);
  ASSERT_NE(sender, nullptr);
  absl::Status st = sender->Send(Message("email", "dev@example.com"));
  EXPECT_THAT(st, StatusIs(absl::StatusCode::kFailedPrecondition,
                           HasSubstr("dev@example.com")));
  EXPECT_FALSE(IsRetryable(st));
  EXPECT_THAT(smtp_->Messages(), SizeIs(0));
}

TEST(EmailSender, RefusedConnectionIsRetryable) {
  auto port = process::FreePort();
  ASSERT_THAT(port, IsOk());
  v1::NotificationsConfig c;
  c.mutable_email()->set_enabled(true);
  c.mutable_email()->set_from("spinnaker@example.com");
  c.mutable_email()->set_smtp_host("127.0.0.1");
  c.mutable_email()->set_smtp_port(*port);
  c.mutable_email()->set_username("mailer");
  c.mutable_email()->set_password("hunter2-secret");
  c.mutable_email()->set_starttls(true);
  auto sender = OnlySender(c);
  ASSERT_NE(sender, nullptr);
  absl::Status st = sender->Send(Message("email", "dev@example.com"));
  EXPECT_THAT(st, StatusIs(absl::StatusCode::kUnavailable,
                           AllOf(HasSubstr("dev@example.com"),
                                 Not(HasSubstr("hunter2")))));
  EXPECT_TRUE(IsRetryable(st));
}

TEST(TestSmtpServer, StopsAndCleansUp) {
  std::string dir;
  pid_t pid = 0;
  {
    auto smtp = gennaker::testing::TestSmtpServer::Start();
    ASSERT_THAT(smtp, IsOk());
    dir = (*smtp)->dir();
    pid = (*smtp)->pid();
    EXPECT_TRUE(gennaker::process::IsAlive(pid));
    EXPECT_THAT((*smtp)->Messages(), SizeIs(0));
    EXPECT_THAT((*smtp)->WaitForMessages(1, absl::Milliseconds(100)),
                StatusIs(absl::StatusCode::kDeadlineExceeded));
  }
  // The server is gone (not just its port, which another process may take)
  // and so is its directory.
  EXPECT_FALSE(gennaker::process::IsAlive(pid));
  EXPECT_NE(access(dir.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace gennaker::echo
