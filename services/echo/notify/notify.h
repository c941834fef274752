// Notifications (Spinnaker's echo-notifications): which notifications an
// orca event asks for, their text, and the channels that send them.
//
// Sources of notifications for an orca event (details.type
// "orca:<pipeline|orchestration|stage|task>:<starting|complete|failed>"):
//   - pipeline level: execution.notifications[] ({type, address, level,
//     when[], message{<when>: {text}}, customMessage?}), plus the
//     application's notification set from front50 (entries whose `when`
//     starts with "pipeline"; a pipeline entry with the same type and
//     address overrides, the application entry keeping only the `when`
//     values the pipeline entry lacks);
//   - stage level: stage context sendNotifications true and
//     context.notifications[] (when: stage.starting/complete/failed);
//   - manual judgment: a manualJudgment stage's notifications with when
//     "manualJudgment" (stage starting: awaiting judgment),
//     "manualJudgmentContinue" / "manualJudgmentStop" (stage complete with
//     judgmentStatus continue / stop).
// Task events count only for standalone tasks; canceled executions and
// synthetic stages send nothing (Spinnaker's AbstractEventNotificationAgent).
//
// Texts follow Spinnaker's: "<App>'s <pipeline> pipeline has completed
// successfully" / "is starting" / "has failed" (stages: "Stage <name> for
// <app>'s <pipeline> pipeline ..."), with `message.<when>.text` appended and
// `customMessage` replacing the body ({{executionId}} and {{link}}
// substituted). The link is <baseUrl>/#/applications/<app>/executions/
// details/<executionId> (tasks: .../tasks/<id>).
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
  std::string type;     // "slack", "email", "sms", "webhook", ...
  std::string address;  // channel, email addresses, phone number, URL
  std::vector<std::string> cc;  // email only
  std::string subject;
  std::string body;      // plain text (Slack mrkdwn, SMS, email text)
  std::string link;      // to the execution in Deck; may be empty
  std::string status;    // "starting", "complete", "failed" (colour, state)
  std::string when;      // e.g. "pipeline.complete", "manualJudgment"
  std::string application;
  std::string execution_id;
  // What a webhook notification POSTs: {type, when, status, application,
  // subject, body, link, executionId, event: {details, content}}.
  Json payload = Json::object();
};

// The notifications `event` asks for. `app_notifications` is front50's
// notification set body for the event's application ({email:[...],
// slack:[...], ...}; null when none). Only types in `enabled_types` are
// returned. Malformed entries are skipped (and logged), never an error.
std::vector<NotificationMessage> NotificationsForEvent(
    const Json& event, const Json& app_notifications,
    const std::vector<std::string>& enabled_types,
    const std::string& spinnaker_base_url);

// A direct notification (SendNotification) rendered per recipient:
// templateGroup selects the text ("manualJudgment", ... or additional
// context subject/body); INVALID_ARGUMENT when it names no recipient or an
// unsupported type.
absl::StatusOr<std::vector<NotificationMessage>> DirectNotification(
    const v1::Notification& notification,
    const std::string& spinnaker_base_url);

// One channel.
class NotificationSender {
 public:
  virtual ~NotificationSender() = default;
  // "slack", "email", "sms" or "webhook".
  virtual std::string type() const = 0;
  // Sends once. UNAVAILABLE / DEADLINE_EXCEEDED / a 5xx or 429 answer are
  // retryable (the caller retries with backoff); INVALID_ARGUMENT /
  // FAILED_PRECONDITION (a 4xx, a bad address) are not. Messages name the
  // channel and address, never a token or password.
  virtual absl::Status Send(const NotificationMessage& message) = 0;
};

// The senders `config` enables: Slack (chat.postMessage form POST with the
// bot token, or the incoming webhook JSON {attachments, channel} when the
// token has two or more '/' or force_use_incoming_webhook), email over SMTP
// (libcurl; STARTTLS when asked; AUTH when a user is set; HTML body),
// SMS (Twilio form POST /2010-04-01/Accounts/{account}/Messages.json with
// From/To/Body, basic auth account:token) and webhook (JSON POST of
// payload to the address). Slack's and Twilio's base URLs and the SMTP
// server are the operator's (called directly); webhook addresses come from
// pipelines and go through `outbound` (not owned; it must outlive the
// senders). INVALID_ARGUMENT for an enabled channel that
// lacks what it needs (e.g. email without smtp_host or from).
absl::StatusOr<std::vector<std::unique_ptr<NotificationSender>>> BuildSenders(
    const v1::NotificationsConfig& config, const http::OutboundClient* outbound);

// Whether a failed Send should be retried.
bool IsRetryable(const absl::Status& status);

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_NOTIFY_NOTIFY_H_
