// Unit tests of notification matching and rendering (no I/O).
#include "services/echo/notify/notify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "services/echo/notify/config_rules.h"
#include "services/echo/notify/notify_internal.h"

namespace gennaker::echo {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kBase[] = "https://deck.example.com";
const std::vector<std::string> kAll = {"slack", "email", "sms", "webhook"};

Json PipelineEvent(const std::string& status, Json notifications) {
  return Json{{"details",
               {{"source", "orca"},
                {"type", "orca:pipeline:" + status},
                {"application", "myapp"}}},
              {"content",
               {{"executionId", "01EXEC"},
                {"execution",
                 {{"id", "01EXEC"},
                  {"type", "PIPELINE"},
                  {"application", "myapp"},
                  {"name", "deploy"},
                  {"status", status == "failed" ? "TERMINAL" : "SUCCEEDED"},
                  {"notifications", std::move(notifications)}}}}}};
}

Json StageEvent(const std::string& status, Json context,
                const std::string& stage_type = "deploy") {
  Json execution = {{"id", "01EXEC"},
                    {"application", "myapp"},
                    {"name", "deploy"},
                    {"status", "RUNNING"},
                    {"stages", Json::array({{{"id", "S1"},
                                             {"refId", "3"},
                                             {"type", stage_type},
                                             {"name", "Approve"}}})}};
  return Json{{"details",
               {{"source", "orca"},
                {"type", "orca:stage:" + status},
                {"application", "myapp"}}},
              {"content",
               {{"executionId", "01EXEC"},
                {"stageId", "S1"},
                {"name", "Approve"},
                {"isSynthetic", false},
                {"canceled", false},
                {"context", std::move(context)},
                {"execution", std::move(execution)}}}};
}

Json Entry(const std::string& type, const std::string& address,
           std::vector<std::string> when) {
  return Json{{"type", type},
              {"address", address},
              {"level", "pipeline"},
              {"when", when}};
}

const std::string kLink =
    "https://deck.example.com/#/applications/myapp/executions/details/01EXEC";

TEST(NotificationsForEvent, PipelineCompleteSlack) {
  Json n = Entry("slack", "#ops", {"pipeline.complete"});
  n["message"] = {{"pipeline.complete", {{"text", "Ship it"}}}};
  auto out = NotificationsForEvent(PipelineEvent("complete", Json::array({n})),
                                   Json(), kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  const NotificationMessage& m = out[0];
  EXPECT_EQ(m.type, "slack");
  EXPECT_EQ(m.address, "#ops");
  EXPECT_EQ(m.subject, "Pipeline complete for MYAPP");
  EXPECT_EQ(m.body, "Myapp's <" + kLink +
                        "|deploy> pipeline has completed successfully\n\n"
                        "Ship it");
  EXPECT_EQ(m.link, kLink);
  EXPECT_EQ(m.status, "complete");
  EXPECT_EQ(m.when, "pipeline.complete");
  EXPECT_EQ(m.application, "myapp");
  EXPECT_EQ(m.execution_id, "01EXEC");
  EXPECT_EQ(m.payload["type"], "slack");
  EXPECT_EQ(m.payload["when"], "pipeline.complete");
  EXPECT_EQ(m.payload["executionId"], "01EXEC");
  EXPECT_EQ(m.payload["event"]["details"]["type"], "orca:pipeline:complete");
}

TEST(NotificationsForEvent, PipelineFailedEmail) {
  Json n =
      Entry("email", "dev@example.com ops@example.com", {"pipeline.failed"});
  n["cc"] = "lead@example.com;boss@example.com";
  n["message"] = {{"pipeline.failed", {{"text", "Look at the logs"}}}};
  auto out = NotificationsForEvent(PipelineEvent("failed", Json::array({n})),
                                   Json(), kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].subject, "myapp's deploy pipeline has failed");
  EXPECT_EQ(out[0].address, "dev@example.com ops@example.com");
  EXPECT_THAT(out[0].cc, ElementsAre("lead@example.com", "boss@example.com"));
  EXPECT_EQ(out[0].body,
            "myapp's deploy pipeline has failed.\n\nLook at the logs\n\n"
            "To see more details, please visit:\n" +
                kLink);
  EXPECT_EQ(out[0].status, "failed");
}

TEST(NotificationsForEvent, PipelineStartingSmsWithBuildInfo) {
  Json event = PipelineEvent(
      "starting",
      Json::array({Entry("sms", "+15551234567", {"pipeline.starting"})}));
  event["content"]["execution"]["trigger"] = {
      {"type", "jenkins"},
      {"buildInfo", {{"url", "http://ci/job/1/"}, {"number", 42}}}};
  auto out = NotificationsForEvent(event, Json(), kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].body,
            "Myapp's deploy build #42 pipeline is starting " + kLink);
  EXPECT_EQ(out[0].status, "starting");
}

TEST(NotificationsForEvent, WhenAndEnabledTypesFilter) {
  Json list =
      Json::array({Entry("slack", "#ops", {"pipeline.failed"}),
                   Entry("email", "a@example.com", {"pipeline.complete"}),
                   Entry("slack", "#win", {"pipeline.complete"})});
  auto out = NotificationsForEvent(PipelineEvent("complete", list), Json(),
                                   {"slack"}, kBase);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].address, "#win");
  EXPECT_THAT(
      NotificationsForEvent(PipelineEvent("complete", list), Json(), {}, kBase),
      IsEmpty());
}

TEST(NotificationsForEvent, StageLevelNeedsSendNotifications) {
  Json context = {
      {"sendNotifications", true},
      {"notifications",
       Json::array({Entry("email", "a@example.com", {"stage.failed"}),
                    Entry("slack", "#ops", {"stage.complete"})})}};
  auto out =
      NotificationsForEvent(StageEvent("failed", context), Json(), kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].subject,
            "Stage Approve for myapp's deploy pipeline has failed");
  EXPECT_EQ(out[0].when, "stage.failed");
  EXPECT_EQ(out[0].link, kLink);

  auto slack = NotificationsForEvent(StageEvent("complete", context), Json(),
                                     kAll, kBase);
  ASSERT_THAT(slack, SizeIs(1));
  EXPECT_EQ(slack[0].subject, "Stage complete for MYAPP");
  EXPECT_EQ(slack[0].body, "Stage Approve for Myapp's <" + kLink +
                               "|deploy> pipeline has completed successfully");

  context["sendNotifications"] = false;
  EXPECT_THAT(
      NotificationsForEvent(StageEvent("failed", context), Json(), kAll, kBase),
      IsEmpty());
}

TEST(NotificationsForEvent, SyntheticStageSendsNothing) {
  Json context = {{"sendNotifications", true},
                  {"notifications",
                   Json::array({Entry("slack", "#ops", {"stage.complete"})})}};
  Json event = StageEvent("complete", context);
  event["content"]["isSynthetic"] = true;
  EXPECT_THAT(NotificationsForEvent(event, Json(), kAll, kBase), IsEmpty());

  Json event2 = StageEvent("complete", context);
  event2["content"].erase("isSynthetic");
  event2["content"]["context"]["stageDetails"] = {{"isSynthetic", true}};
  EXPECT_THAT(NotificationsForEvent(event2, Json(), kAll, kBase), IsEmpty());
}

TEST(NotificationsForEvent, CanceledSendsNothing) {
  Json list = Json::array({Entry("slack", "#ops", {"pipeline.failed"})});
  Json event = PipelineEvent("failed", list);
  EXPECT_THAT(NotificationsForEvent(event, Json(), kAll, kBase), SizeIs(1));
  event["content"]["execution"]["canceled"] = true;
  EXPECT_THAT(NotificationsForEvent(event, Json(), kAll, kBase), IsEmpty());
  Json event2 = PipelineEvent("failed", list);
  event2["content"]["execution"]["status"] = "CANCELED";
  EXPECT_THAT(NotificationsForEvent(event2, Json(), kAll, kBase), IsEmpty());

  Json context = {{"sendNotifications", true},
                  {"notifications",
                   Json::array({Entry("slack", "#ops", {"stage.failed"})})}};
  Json stage = StageEvent("failed", context);
  stage["content"]["canceled"] = true;
  EXPECT_THAT(NotificationsForEvent(stage, Json(), kAll, kBase), IsEmpty());
}

TEST(NotificationsForEvent, TasksAndOrchestrations) {
  Json list = Json::array({Entry("slack", "#ops", {"orchestration.complete"})});
  Json event = PipelineEvent("complete", list);
  event["details"]["type"] = "orca:orchestration:complete";
  event["content"]["execution"]["description"] = "Resize";
  event["content"]["execution"].erase("name");
  auto out = NotificationsForEvent(event, Json(), kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].link,
            "https://deck.example.com/#/applications/myapp/tasks/01EXEC");
  EXPECT_THAT(out[0].body, HasSubstr("|Resize>"));

  Json task = event;
  task["details"]["type"] = "orca:task:complete";
  task["content"]["standalone"] = false;
  EXPECT_THAT(NotificationsForEvent(task, Json(), kAll, kBase), IsEmpty());
}

TEST(NotificationsForEvent, ManualJudgmentAwaiting) {
  Json context = {
      {"instructions", "Check the canary"},
      {"notifications",
       Json::array(
           {Entry("slack", "#approvals", {"manualJudgment"}),
            Entry("email", "a@example.com", {"manualJudgmentContinue"})})}};
  auto out = NotificationsForEvent(
      StageEvent("starting", context, "manualJudgment"), Json(), kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  const NotificationMessage& m = out[0];
  EXPECT_EQ(m.address, "#approvals");
  EXPECT_EQ(m.when, "manualJudgment");
  EXPECT_EQ(m.status, "starting");
  EXPECT_EQ(m.subject,
            "Stage Approve for myapp's deploy pipeline is awaiting manual "
            "judgment");
  EXPECT_EQ(m.link, kLink + "?refId=3");
  EXPECT_EQ(m.body,
            "Stage Approve for myapp's deploy pipeline is awaiting manual "
            "judgment.\n\n*Instructions:*\nCheck the canary\n\n"
            "For more details, please visit:\n" +
                kLink + "?refId=3");
}

TEST(NotificationsForEvent, ManualJudgmentEmptyWhenMatchesAwaiting) {
  Json context = {
      {"notifications",
       Json::array({{{"type", "email"}, {"address", "a@example.com"}}})}};
  auto out = NotificationsForEvent(
      StageEvent("starting", context, "manualJudgment"), Json(), kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].when, "manualJudgment");
}

TEST(NotificationsForEvent, ManualJudgmentContinue) {
  Json n = Entry("slack", "#approvals", {"manualJudgmentContinue"});
  n["message"] = {{"manualJudgmentContinue", {{"text", "Rolling on"}}}};
  Json context = {{"sendNotifications", true},
                  {"judgmentStatus", "continue"},
                  {"judgmentInput", "yes"},
                  {"lastModifiedBy", "alice"},
                  {"notifications", Json::array({n})}};
  auto out = NotificationsForEvent(
      StageEvent("complete", context, "manualJudgment"), Json(), kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].when, "manualJudgmentContinue");
  EXPECT_EQ(out[0].status, "complete");
  EXPECT_EQ(out[0].subject,
            "Stage Approve for myapp's deploy pipeline was judged to continue "
            "by alice");
  EXPECT_THAT(out[0].body,
              AllOf(HasSubstr("was judged to continue by alice.\n\nRolling on"),
                    HasSubstr("Judgment 'yes' was selected."),
                    HasSubstr(kLink + "?refId=3")));

  // Continue/stop notifications need sendNotifications.
  context["sendNotifications"] = false;
  EXPECT_THAT(
      NotificationsForEvent(StageEvent("complete", context, "manualJudgment"),
                            Json(), kAll, kBase),
      IsEmpty());
}

TEST(NotificationsForEvent, ManualJudgmentStop) {
  Json context = {
      {"sendNotifications", true},
      {"judgmentStatus", "stop"},
      {"lastModifiedBy", "bob"},
      {"notifications",
       Json::array({Entry("email", "a@example.com",
                          {"manualJudgmentStop", "manualJudgment"})})}};
  auto out = NotificationsForEvent(
      StageEvent("failed", context, "manualJudgment"), Json(), kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].when, "manualJudgmentStop");
  EXPECT_EQ(out[0].status, "failed");
  EXPECT_EQ(out[0].subject,
            "Stage Approve for myapp's deploy pipeline was judged to stop");
  EXPECT_THAT(out[0].body, HasSubstr("was judged to stop by bob."));
}

TEST(NotificationsForEvent, ManualJudgmentStateIgnoredForOtherStages) {
  Json context = {{"notifications",
                   Json::array({Entry("slack", "#a", {"manualJudgment"})})}};
  EXPECT_THAT(NotificationsForEvent(StageEvent("starting", context, "wait"),
                                    Json(), kAll, kBase),
              IsEmpty());
}

TEST(NotificationsForEvent, ApplicationNotificationsMerged) {
  Json pipeline = Json::array({Entry("slack", "#ops", {"pipeline.complete"})});
  Json app = {
      {"application", "myapp"},
      {"lastModified", 1},
      {"slack",
       Json::array({{{"address", "#ops"},
                     {"level", "application"},
                     {"when", {"pipeline.complete", "pipeline.failed"}}},
                    {{"address", "#other"}, {"when", {"pipeline.starting"}}}})},
      {"email",
       Json::array(
           {{{"address", "a@example.com"}, {"when", {"pipeline.failed"}}},
            {{"address", "t@example.com"}, {"when", {"task.complete"}}},
            "garbage"})}};
  auto failed = NotificationsForEvent(PipelineEvent("failed", pipeline), app,
                                      kAll, kBase);
  ASSERT_THAT(failed, SizeIs(2));
  EXPECT_EQ(failed[0].type, "slack");
  EXPECT_EQ(failed[0].address, "#ops");
  EXPECT_EQ(failed[1].type, "email");
  EXPECT_EQ(failed[1].address, "a@example.com");

  // The pipeline's entry overrides the application's pipeline.complete: one
  // message, not two.
  auto complete = NotificationsForEvent(PipelineEvent("complete", pipeline),
                                        app, kAll, kBase);
  ASSERT_THAT(complete, SizeIs(1));
  EXPECT_EQ(complete[0].address, "#ops");

  auto starting = NotificationsForEvent(PipelineEvent("starting", pipeline),
                                        app, kAll, kBase);
  ASSERT_THAT(starting, SizeIs(1));
  EXPECT_EQ(starting[0].address, "#other");

  // Only pipeline events take application notifications.
  Json orchestration = PipelineEvent("failed", Json::array());
  orchestration["details"]["type"] = "orca:orchestration:failed";
  EXPECT_THAT(NotificationsForEvent(orchestration, app, kAll, kBase),
              IsEmpty());
}

TEST(NotificationsForEvent, ApplicationEntryFullyOverriddenIsDropped) {
  Json pipeline = Json::array(
      {Entry("slack", "#ops", {"pipeline.complete", "pipeline.failed"})});
  Json app = {{"slack", Json::array({{{"address", "#ops"},
                                      {"when", {"pipeline.failed"}}}})}};
  auto out = NotificationsForEvent(PipelineEvent("failed", pipeline), app, kAll,
                                   kBase);
  EXPECT_THAT(out, SizeIs(1));
}

TEST(NotificationsForEvent, CustomMessageSubstituted) {
  Json n = Entry("slack", "#ops", {"pipeline.complete"});
  n["customMessage"] = "Run {{executionId}} done: {{link}}";
  Json w =
      Entry("webhook", "https://hooks.example.com/x", {"pipeline.complete"});
  w["customMessage"] = "id={{executionId}}";
  Json e = Entry("email", "a@example.com", {"pipeline.complete"});
  e["customSubject"] = "Done!";
  e["customBody"] = "See {{link}}";
  auto out = NotificationsForEvent(
      PipelineEvent("complete", Json::array({n, w, e})), Json(), kAll, kBase);
  ASSERT_THAT(out, SizeIs(3));
  EXPECT_EQ(out[0].body, "Run 01EXEC done: " + kLink);
  EXPECT_EQ(out[1].body, "id=01EXEC");
  EXPECT_EQ(out[1].payload["body"], "id=01EXEC");
  EXPECT_EQ(out[2].subject, "Done!");
  EXPECT_EQ(out[2].body, "See " + kLink);
}

TEST(NotificationsForEvent, StageContextCustomMessage) {
  Json context = {{"sendNotifications", true},
                  {"customMessage", "Stage of {{executionId}}"},
                  {"notifications",
                   Json::array({Entry("slack", "#ops", {"stage.starting"})})}};
  auto out = NotificationsForEvent(StageEvent("starting", context), Json(),
                                   kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].body, "Stage of 01EXEC");
}

TEST(NotificationsForEvent, MalformedEntriesSkipped) {
  Json list =
      Json::array({42, Json{{"type", "slack"}},
                   Json{{"type", "slack"}, {"address", "#x"}, {"when", 5}},
                   Json{{"address", "#y"}, {"when", {"pipeline.complete"}}},
                   Json{{"type", "slack"},
                        {"address", "#ok"},
                        {"when", "pipeline.complete"}}});
  auto out = NotificationsForEvent(PipelineEvent("complete", list), Json(),
                                   kAll, kBase);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].address, "#ok");

  EXPECT_THAT(NotificationsForEvent(PipelineEvent("complete", Json{{"a", 1}}),
                                    Json::array({1, 2}), kAll, kBase),
              IsEmpty());
  EXPECT_THAT(NotificationsForEvent(Json("text"), "x", kAll, kBase), IsEmpty());
  Json bad_content = PipelineEvent("complete", list);
  bad_content["content"] = "nope";
  EXPECT_THAT(NotificationsForEvent(bad_content, Json(), kAll, kBase),
              IsEmpty());
}

TEST(NotificationsForEvent, OtherEventsIgnored) {
  Json list = Json::array({Entry("slack", "#ops", {"pipeline.complete"})});
  Json event = PipelineEvent("complete", list);
  event["details"]["type"] = "build";
  EXPECT_THAT(NotificationsForEvent(event, Json(), kAll, kBase), IsEmpty());
  event["details"]["type"] = "orca:pipeline";
  EXPECT_THAT(NotificationsForEvent(event, Json(), kAll, kBase), IsEmpty());
  event["details"]["type"] = "orca:unknown:complete";
  EXPECT_THAT(NotificationsForEvent(event, Json(), kAll, kBase), IsEmpty());
}

TEST(NotificationsForEvent, NoBaseUrlNoLink) {
  Json list = Json::array({Entry("slack", "#ops", {"pipeline.complete"})});
  auto out =
      NotificationsForEvent(PipelineEvent("complete", list), Json(), kAll, "");
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].link, "");
  EXPECT_EQ(out[0].body, "Myapp's deploy pipeline has completed successfully");
}

v1::Notification Judgment(v1::NotificationType type, const std::string& group) {
  v1::Notification n;
  n.set_type(type);
  n.add_to("#approvals");
  n.add_to("#ops");
  n.set_template_group(group);
  n.set_severity(v1::NOTIFICATION_SEVERITY_HIGH);
  n.mutable_source()->set_application("myapp");
  n.mutable_source()->set_execution_id("01EXEC");
  n.mutable_source()->set_execution_type(common::v1::PIPELINE);
  n.mutable_additional_context()->set_json(
      R"({"stageName":"Approve","stageId":"3","instructions":"Look",)"
      R"("execution":{"name":"deploy"},"judgedBy":"alice",)"
      R"("judgmentInput":"yes"})");
  return n;
}

TEST(DirectNotification, ManualJudgmentPerRecipient) {
  auto out = DirectNotification(
      Judgment(v1::NOTIFICATION_TYPE_SLACK, "manualJudgment"), kBase);
  ASSERT_THAT(out, IsOk());
  ASSERT_THAT(*out, SizeIs(2));
  EXPECT_EQ((*out)[0].address, "#approvals");
  EXPECT_EQ((*out)[1].address, "#ops");
  EXPECT_EQ((*out)[0].subject,
            "Stage Approve for myapp's deploy pipeline is awaiting manual "
            "judgment");
  EXPECT_EQ((*out)[0].link, kLink + "?refId=3");
  EXPECT_EQ((*out)[0].payload["notification"]["severity"], "HIGH");
  EXPECT_EQ((*out)[0].payload["notification"]["templateGroup"],
            "manualJudgment");

  auto cont = DirectNotification(
      Judgment(v1::NOTIFICATION_TYPE_SLACK, "manualJudgmentContinue"), kBase);
  ASSERT_THAT(cont, IsOk());
  EXPECT_EQ((*cont)[0].subject,
            "Stage Approve for myapp's deploy pipeline was judged to continue "
            "by alice");
  EXPECT_THAT((*cont)[0].body, HasSubstr("Judgment 'yes' was selected."));
  EXPECT_EQ((*cont)[0].status, "complete");
}

TEST(DirectNotification, EmailOneMessageWithCc) {
  v1::Notification n =
      Judgment(v1::NOTIFICATION_TYPE_EMAIL, "manualJudgmentStop");
  n.clear_to();
  n.add_to("a@example.com");
  n.add_to("b@example.com");
  n.add_cc("c@example.com, d@example.com");
  auto out = DirectNotification(n, kBase);
  ASSERT_THAT(out, IsOk());
  ASSERT_THAT(*out, SizeIs(1));
  EXPECT_EQ((*out)[0].address, "a@example.com, b@example.com");
  EXPECT_THAT((*out)[0].cc, ElementsAre("c@example.com", "d@example.com"));
  EXPECT_EQ((*out)[0].subject,
            "Stage Approve for myapp's deploy pipeline was judged to stop");
}

TEST(DirectNotification, AdditionalContextBody) {
  v1::Notification n;
  n.set_type(v1::NOTIFICATION_TYPE_WEBHOOK);
  n.add_to("https://hooks.example.com/a");
  n.mutable_additional_context()->set_json(
      R"({"subject":"Hello","body":"World"})");
  auto out = DirectNotification(n, kBase);
  ASSERT_THAT(out, IsOk());
  ASSERT_THAT(*out, SizeIs(1));
  EXPECT_EQ((*out)[0].subject, "Hello");
  EXPECT_EQ((*out)[0].body, "World");
  EXPECT_EQ((*out)[0].payload["body"], "World");
}

TEST(DirectNotification, Errors) {
  v1::Notification n = Judgment(v1::NOTIFICATION_TYPE_SLACK, "manualJudgment");
  n.clear_to();
  n.add_to("  ");
  EXPECT_THAT(
      DirectNotification(n, kBase),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("recipient")));

  v1::Notification pd = Judgment(v1::NOTIFICATION_TYPE_PAGER_DUTY, "x");
  EXPECT_THAT(
      DirectNotification(pd, kBase),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not supported")));

  v1::Notification nobody =
      Judgment(v1::NOTIFICATION_TYPE_SLACK, "unknownGroup");
  EXPECT_THAT(DirectNotification(nobody, kBase),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("body")));

  v1::Notification bad =
      Judgment(v1::NOTIFICATION_TYPE_SLACK, "manualJudgment");
  bad.mutable_additional_context()->set_json("{not json");
  EXPECT_THAT(DirectNotification(bad, kBase),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- helpers of the senders ---

using namespace notify_internal;  // NOLINT: tests of the internals

TEST(NotifyInternal, SplitAndValidateAddresses) {
  EXPECT_THAT(SplitAddresses("a@x.com, b@y.org;c@z.io  d@w.net"),
              ElementsAre("a@x.com", "b@y.org", "c@z.io", "d@w.net"));
  EXPECT_TRUE(ValidEmailAddress("first.last+tag@mail.example.com"));
  EXPECT_FALSE(ValidEmailAddress("a@b.c\r\nBcc: x@y.z"));
  EXPECT_FALSE(ValidEmailAddress("<a@b.c>"));
  EXPECT_FALSE(ValidEmailAddress("no-at-sign"));
  EXPECT_FALSE(ValidEmailAddress("a@@b.c"));
  EXPECT_FALSE(ValidEmailAddress("@b.c"));
  EXPECT_FALSE(ValidEmailAddress("a@"));
  EXPECT_FALSE(ValidEmailAddress("a b@c.d"));
}

TEST(NotifyInternal, HeaderInjectionNeutralized) {
  EXPECT_EQ(SanitizeHeaderValue(" hi\r\nBcc: evil@x.com "),
            "hi  Bcc: evil@x.com");
  EmailParts p;
  p.from = "spinnaker@example.com";
  p.to = {"a@example.com"};
  p.subject = "Deploy\r\nBcc: evil@example.com\r\n\r\nfake body";
  p.html_body = "<p>hi</p>";
  p.date = absl::FromUnixSeconds(0);
  p.message_id = "id@example.com";
  const std::string mail = ComposeEmail(p);
  for (absl::string_view line : absl::StrSplit(mail, "\r\n")) {
    EXPECT_FALSE(absl::StartsWith(line, "Bcc:")) << line;
  }
  EXPECT_THAT(mail, HasSubstr("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
  EXPECT_THAT(mail, HasSubstr("From: spinnaker@example.com\r\n"));
  EXPECT_THAT(mail, HasSubstr("To: a@example.com\r\n"));
  EXPECT_THAT(mail, HasSubstr("Message-ID: <id@example.com>\r\n"));
  EXPECT_THAT(mail, HasSubstr("MIME-Version: 1.0\r\n"));
  EXPECT_THAT(mail, HasSubstr("Content-Type: text/html; charset=UTF-8\r\n"));
  EXPECT_THAT(mail, Not(HasSubstr("Cc:")));
  // The body is base64 after the blank line.
  const size_t split = mail.find("\r\n\r\n");
  ASSERT_NE(split, std::string::npos);
  std::string encoded =
      absl::StrReplaceAll(mail.substr(split + 4), {{"\r\n", ""}});
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape(encoded, &decoded));
  EXPECT_EQ(decoded, "<p>hi</p>");
}

TEST(NotifyInternal, EncodeHeaderText) {
  const std::string long_subject(
      "Stage Deploy to production for myapp's very long pipeline name has "
      "completed successfully after a long time");
  const std::string folded = EncodeHeaderText(long_subject);
  EXPECT_THAT(folded, HasSubstr("\r\n "));
  EXPECT_EQ(absl::StrReplaceAll(folded, {{"\r\n", ""}}), long_subject);

  const std::string encoded = EncodeHeaderText("Déploiement réussi ✓");
  EXPECT_TRUE(absl::StartsWith(encoded, "=?UTF-8?B?"));
  std::string decoded;
  for (absl::string_view word : absl::StrSplit(encoded, "\r\n ")) {
    ASSERT_TRUE(absl::ConsumePrefix(&word, "=?UTF-8?B?"));
    ASSERT_TRUE(absl::ConsumeSuffix(&word, "?="));
    std::string part;
    ASSERT_TRUE(absl::Base64Unescape(word, &part));
    decoded += part;
  }
  EXPECT_EQ(decoded, "Déploiement réussi ✓");
}

TEST(NotifyInternal, TextToHtml) {
  const std::string html =
      TextToHtml("<script>x</script> & more\nsee https://deck/#/a?b=1&c=2 now");
  EXPECT_THAT(html,
              HasSubstr("&lt;script&gt;x&lt;/script&gt; &amp; more<br/>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"https://deck/#/a?b=1&amp;c=2\">"));
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
}

TEST(NotifyInternal, RedactUrlAndTruncate) {
  EXPECT_EQ(RedactUrl("https://user:pw@h.example.com:8443/p/a?token=1#f"),
            "https://h.example.com:8443/p/a");
  EXPECT_EQ(RedactUrl("http://h"), "http://h");
  EXPECT_EQ(TruncateUtf8("héllo", 2), "h");
  EXPECT_EQ(TruncateUtf8("héllo", 3), "hé");
  EXPECT_EQ(TruncateUtf8("abc", 10), "abc");
}

TEST(NotifyInternal, StatusClassification) {
  EXPECT_THAT(HttpAnswerStatus(429, "slack channel #a", ""),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(
      HttpAnswerStatus(503, "x", "down"),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP 503: down")));
  EXPECT_THAT(HttpAnswerStatus(404, "x", ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(IsRetryable(HttpAnswerStatus(429, "x", "")));
  EXPECT_TRUE(IsRetryable(HttpAnswerStatus(502, "x", "")));
  EXPECT_FALSE(IsRetryable(HttpAnswerStatus(400, "x", "")));

  absl::Status missing =
      SlackErrorStatus("slack channel #a", "channel_not_found");
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("channel_not_found")));
  EXPECT_FALSE(IsRetryable(missing));
  EXPECT_TRUE(IsRetryable(SlackErrorStatus("slack channel #a", "ratelimited")));

  EXPECT_TRUE(IsRetryable(absl::UnavailableError("x")));
  EXPECT_TRUE(IsRetryable(absl::DeadlineExceededError("x")));
  EXPECT_FALSE(IsRetryable(absl::InvalidArgumentError("x")));
  EXPECT_FALSE(IsRetryable(absl::PermissionDeniedError("x")));
  EXPECT_FALSE(IsRetryable(absl::OkStatus()));
}

TEST(BuildSenders, Validation) {
  v1::NotificationsConfig c;
  c.mutable_slack()->set_enabled(true);
  EXPECT_THAT(BuildSenders(c, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("token")));
  c.mutable_slack()->set_token("xoxb-1");
  c.mutable_slack()->set_base_url("ftp://slack");
  EXPECT_THAT(
      BuildSenders(c, nullptr),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("base_url")));
  c.mutable_slack()->clear_base_url();

  c.mutable_email()->set_enabled(true);
  c.mutable_email()->set_from("spinnaker@example.com");
  EXPECT_THAT(
      BuildSenders(c, nullptr),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("smtp_host")));
  c.mutable_email()->set_smtp_host("mail.example.com");
  c.mutable_email()->set_from("not an address");
  EXPECT_THAT(BuildSenders(c, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from")));
  c.mutable_email()->set_from("spinnaker@example.com");

  c.mutable_twilio()->set_enabled(true);
  c.mutable_twilio()->set_account("AC1");
  EXPECT_THAT(
      BuildSenders(c, nullptr),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twilio")));
  c.mutable_twilio()->set_token("t");
  c.mutable_twilio()->set_from("+15550000000");

  c.set_webhook_enabled(true);
  EXPECT_THAT(
      BuildSenders(c, nullptr),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outbound")));
  c.set_webhook_enabled(false);

  auto senders = BuildSenders(c, nullptr);
  ASSERT_THAT(senders, IsOk());
  std::vector<std::string> types;
  for (const auto& s : *senders) types.push_back(s->type());
  EXPECT_THAT(types, ElementsAre("slack", "email", "sms"));

  auto none = BuildSenders(v1::NotificationsConfig(), nullptr);
  ASSERT_THAT(none, IsOk());
  EXPECT_THAT(*none, IsEmpty());
}

TEST(BuildSenders, SmtpUsernameNeedsStarttls) {
  v1::NotificationsConfig c;
  c.mutable_email()->set_enabled(true);
  c.mutable_email()->set_from("spinnaker@example.com");
  c.mutable_email()->set_smtp_host("mail.example.com");
  c.mutable_email()->set_username("mailer");
  c.mutable_email()->set_password("hunter2");
  EXPECT_THAT(BuildSenders(c, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("notifications.email: a username needs "
                                 "starttls (credentials would travel in "
                                 "clear)")));
  c.mutable_email()->set_starttls(true);
  EXPECT_THAT(BuildSenders(c, nullptr), IsOk());
  // No credentials: plain SMTP is allowed.
  c.mutable_email()->clear_username();
  c.mutable_email()->clear_password();
  c.mutable_email()->set_starttls(false);
  EXPECT_THAT(BuildSenders(c, nullptr), IsOk());
}

TEST(ConfigRules, EchoAndHalyardShareThem) {
  using config_rules::ValidEmailAddress;
  using config_rules::ValidSlackToken;
  using config_rules::ValidSmtpHost;
  EXPECT_TRUE(ValidEmailAddress("spinnaker@example.com"));
  EXPECT_FALSE(ValidEmailAddress("a@b_c"));
  EXPECT_FALSE(ValidEmailAddress("a@b,c"));
  EXPECT_TRUE(ValidSlackToken("xoxb-1-abc"));
  EXPECT_FALSE(ValidSlackToken("xoxb 1"));
  EXPECT_FALSE(ValidSlackToken("xoxb?x"));
  EXPECT_FALSE(ValidSlackToken("xoxb#x"));
  EXPECT_TRUE(ValidSmtpHost("mail.example.com"));
  EXPECT_FALSE(ValidSmtpHost("mail/x"));
  EXPECT_FALSE(ValidSmtpHost("user@mail"));
  EXPECT_TRUE(config_rules::SmtpCredentialsProtected("", false));
  EXPECT_FALSE(config_rules::SmtpCredentialsProtected("u", false));
  EXPECT_TRUE(config_rules::SmtpCredentialsProtected("u", true));
}

}  // namespace
}  // namespace gennaker::echo
