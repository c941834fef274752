// Notifications (Spinnaker's echo-notifications): which notifications an
// orca event asks for, their text, and the channels that send them.
//
// Sources of notifications for an orca event (details.type
// "orca:<pipeline|orchestration|stage|task>:<status>", status usually
// starting, complete or failed; see triggers/events.h for the shapes):
//   - pipeline level (pipeline and orchestration events):
//     content.execution.notifications[] ({type, address, cc?, level,
//     when[], message{<when>: {text}}, customMessage?, customSubject?,
//     customBody?}); for pipeline events also the application's
//     notification set from front50 (orca's addApplicationNotifications:
//     entries of {email:[...], slack:[...], ...} with a `when` value
//     starting with "pipeline", the key being the type; a pipeline entry
//     with the same type and the same address (or publisherName) overrides
//     it, the application entry keeping only the `when` values the pipeline
//     entry lacks, and dropped when none is left);
//   - stage level (stage events): context.sendNotifications true and
//     context.notifications[] whose `when` holds "stage.<status>";
//   - manual judgment (stage events of a stage whose type is
//     "manualJudgment": content.stageType, context.stageDetails.type, or the
//     type of execution.stages[id == content.stageId]): its
//     context.notifications[] whose `when` holds the judgment state or is
//     empty/absent (Spinnaker's deprecated scheme): "manualJudgment"
//     (awaiting judgment) on stage starting, "manualJudgmentContinue" /
//     "manualJudgmentStop" on stage complete/failed with
//     context.judgmentStatus continue / stop, the last two only with
//     sendNotifications (as orca's WaitForManualJudgmentTask). Spinnaker's
//     orca sends these itself through POST /notifications (templateGroup =
//     the state); Gennaker's orca only emits stage events, and echo derives
//     them here (no repeats every notifyEveryMs).
// An entry matches when its `type` equals the channel and `when` (a list,
// or a string containing the key) holds the key. Task events count only for
// standalone tasks (content.standalone); canceled stage/task events
// (content.canceled), canceled executions (execution.status CANCELED or
// execution.canceled) and synthetic stages (content.isSynthetic or
// context.stageDetails.isSynthetic) send nothing (Spinnaker's
// AbstractEventNotificationAgent).
//
// Texts follow Spinnaker's agents ("<app>'s <pipeline> pipeline has
// completed successfully" / "is starting" / "has failed"; stages "Stage
// <name> for <app>'s <pipeline> pipeline ..."; orchestrations and tasks
// "<app>'s <executionId> task ..."; " build #N" when the trigger has
// buildInfo):
//   slack    subject = attachment title "Pipeline complete for MYAPP"; body
//            mrkdwn "<App>'s <link|name> pipeline has ...", then "\n\n" +
//            message.<when>.text; `customMessage` (entry, else stage
//            context) replaces the body ({{executionId}}, {{link}}
//            substituted);
//   email    subject as above (lower-case app), `customSubject` overrides;
//            body text: the summary, message.<when>.text and the link;
//            `customBody` replaces it ({{executionId}}, {{link}}); the
//            sender sends it as HTML;
//   sms      "<App>'s <name> pipeline has ... <link>" (no custom texts);
//   webhook  as email's text, `customMessage` replacing the body.
// Manual judgment texts follow echo's templates: "Stage <name> for <app>'s
// <pipeline> pipeline is awaiting manual judgment" (+ instructions), "...
// was judged to continue by <user>" / "... was judged to stop by <user>"
// (+ message.<state>.text and "Judgment '<input>' was selected.").
// The link is <baseUrl>/#/applications/<app>/executions/details/<id>
// (orchestrations and tasks: .../tasks/<id>; manual judgment: ?refId=
// <stage refId> appended); empty when there is no base URL.
#ifndef GENNAKER_SERVICES_ECHO_NOTIFY_NOTIFY_H_
#define GENNAKER_SERVICES_ECHO_NOTIFY_NOTIFY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spinnaker/json.h"
#include "gennaker/echo/v1/config.pb.h"
#include "gennaker/echo/v1/echo.pb.h"

namespace gennaker::http {
class OutboundClient;
}

namespace gennaker::echo {

using spinnaker::Json;

// One notification to one address, rendered and ready to send.
struct NotificationMessage {
  std::string type;             // "slack", "email", "sms", "webhook", ...
  std::string address;          // channel, email addresses, phone number, URL
  std::vector<std::string> cc;  // email only
  std::string subject;          // email subject; Slack attachment title
  std::string body;             // plain text (Slack mrkdwn, SMS, email text)
  std::string link;             // to the execution in Deck; may be empty
  std::string status;  // "starting", "complete", "failed" (colour, state)
  std::string when;    // e.g. "pipeline.complete", "manualJudgment"
  std::string application;
  std::string execution_id;
  // What a webhook notification POSTs: {type, when, status, application,
  // subject, body, link, executionId} plus, for events, event: {details,
  // content}, and for direct notifications, notification: {templateGroup,
  // severity, source, additionalContext}.
  Json payload = Json::object();
};

// The notifications `event` asks for. `app_notifications` is front50's
// notification set body for the event's application ({email:[...],
// slack:[...], ...}; null when none). Only types in `enabled_types` are
// returned. Malformed entries are skipped (and logged), never an error.
// Pure: no I/O.
std::vector<NotificationMessage> NotificationsForEvent(
    const Json& event, const Json& app_notifications,
    const std::vector<std::string>& enabled_types,
    const std::string& spinnaker_base_url);

// A direct notification (SendNotification) rendered: one message per
// recipient (email: one message to every recipient, with cc). templateGroup
// "manualJudgment", "manualJudgmentContinue" or "manualJudgmentStop" selects
// echo's texts (additionalContext: stageName, stageId (refId), execution,
// instructions, message, judgmentInput, judgedBy); an empty or other
// group takes additionalContext.subject / .body (Spinnaker's
// NotificationTemplateEngine without a template). INVALID_ARGUMENT when it
// names no recipient, has neither a known group nor a body, or its type is
// not one of slack, email, sms, webhook.
absl::StatusOr<std::vector<NotificationMessage>> DirectNotification(
    const v1::Notification& notification,
    const std::string& spinnaker_base_url);

// One channel. Thread-safe: Send may be called from several threads.
class NotificationSender {
 public:
  virtual ~NotificationSender() = default;
  // "slack", "email", "sms" or "webhook".
  virtual std::string type() const = 0;
  // Sends once (every call has a 10 s deadline). UNAVAILABLE (refused,
  // reset, a 5xx answer, an SMTP 4xx reply, Slack's ratelimited /
  // service_unavailable), DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED (a 429
  // answer) are retryable (the caller retries with backoff);
  // INVALID_ARGUMENT (a bad address), FAILED_PRECONDITION (another 4xx,
  // Slack's ok:false such as channel_not_found, an SMTP 5xx reply) and
  // PERMISSION_DENIED (refused by the outbound policy) are not. Messages
  // name the channel and the address (URLs without query or user info),
  // never a token or password.
  virtual absl::Status Send(const NotificationMessage& message) = 0;
};

// The senders `config` enables: Slack (chat.postMessage form POST to
// <base_url>/api/chat.postMessage with token, channel, attachments
// [{title, text, color, fallback}], as_user, link_names, and
// Authorization: Bearer; Slack's 200 {"ok":false,"error":...} is a
// failure; or the incoming webhook JSON {attachments, channel} to
// <webhook_base_url>/services/<token> when the token has two or more '/' or
// force_use_incoming_webhook), email over SMTP (libcurl; STARTTLS required
// when asked; AUTH when a user is set; an RFC 5322 text/html UTF-8 message,
// header values stripped of CR/LF; addresses split on space, comma and
// semicolon), SMS (Twilio form POST
// <base_url>/2010-04-01/Accounts/{account}/Messages.json with From/To/Body,
// basic auth account:token) and webhook (JSON POST of payload to the
// address). Slack's and Twilio's base URLs and the SMTP server are the
// operator's (called directly); webhook addresses come from pipelines and
// go through `outbound` (not owned; it must outlive the senders).
// INVALID_ARGUMENT for an enabled channel that lacks what it needs (e.g.
// email without smtp_host or from, webhook without `outbound`) or whose
// settings break config_rules.h (the rules halyard validates with), e.g. an
// email username without starttls (credentials would travel in clear).
absl::StatusOr<std::vector<std::unique_ptr<NotificationSender>>> BuildSenders(
    const v1::NotificationsConfig& config,
    const http::OutboundClient* outbound);

// Whether a failed Send should be retried: UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED and ABORTED.
bool IsRetryable(const absl::Status& status);

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_NOTIFY_NOTIFY_H_
