#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids/ids.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/echo/echo_core.h"
#include "services/echo/echo_core_internal.h"

namespace gennaker::echo {
namespace {

using internal::Pad;
using spinnaker::Dump;

// One at a time: a send can take seconds, and a row claimed but not yet sent
// when its claim expires would be sent again by another instance.
constexpr int kNotificationBatch = 1;
constexpr char kAnonymousTrigger[] = "[anonymous]";

bool IsBuildTriggerType(const std::string& type) {
  const std::string t = absl::AsciiStrToLower(type);
  return t == "jenkins" || t == "travis" || t == "concourse" ||
         t == "gitlab-ci" || t == "wercker";
}

// Errors a later attempt may not see: the callee was down, overloaded or
// failed inside.
bool IsTransient(const absl::Status& s) {
  return IsRetryable(s) || s.code() == absl::StatusCode::kInternal;
}

}  // namespace

// ---- delivery ----

EchoCore::Delivery EchoCore::Deliver(const EventRow& row) {
  Delivery out;
  absl::StatusOr<Json> parsed = spinnaker::ParseJson(
      row.body, "stored event", spinnaker::kStoredJsonLimits);
  if (!parsed.ok()) {
    out.fatal = parsed.status();
    return out;
  }
  const Json& event = *parsed;
  // Records a failed step: transient ones retry the event, others are kept
  // in its error and do not stop the remaining matches.
  auto fail = [&](const std::string& pipeline, const absl::Status& s) {
    if (IsTransient(s)) {
      if (out.transient.ok()) out.transient = s;
      SPDLOG_WARN(
          "event=echo_trigger_failed event_id={} pipeline={} retry=true "
          "error=\"{}\"",
          row.id, pipeline, s.ToString());
    } else {
      out.errors.push_back(
          absl::StrCat("pipeline ", pipeline, ": ", s.ToString()));
      SPDLOG_ERROR(
          "event=echo_trigger_failed event_id={} pipeline={} retry=false "
          "error=\"{}\"",
          row.id, pipeline, s.ToString());
    }
  };
  auto start = [&](PipelineStart s) {
    const std::string pipeline = s.pipeline_id;
    if (orca_ == nullptr) {
      fail(pipeline, absl::FailedPreconditionError("orca is not configured"));
      return;
    }
    absl::StatusOr<StartedExecution> e = orca_->StartPipeline(std::move(s));
    if (!e.ok()) {
      fail(pipeline, e.status());
      return;
    }
    SPDLOG_INFO(
        "event=echo_trigger_started event_id={} pipeline={} "
        "execution={} application={}",
        row.id, pipeline, e->id, e->application);
    out.executions.push_back(
        Json{{"id", e->id}, {"application", e->application}});
  };
  if (row.type == kCronEventType) {
    const Json content = spinnaker::Object(event, "content");
    PipelineStart s;
    s.pipeline_id = spinnaker::String(content, "pipelineId");
    s.application = spinnaker::String(content, "application");
    s.trigger = spinnaker::Object(content, "trigger");
    s.idempotency_key = spinnaker::String(content, "idempotencyKey");
    s.run_as_user = spinnaker::String(content, "runAsUser");
    start(std::move(s));
    return out;
  }
  std::shared_ptr<const TriggerIndex> index = Index();
  if (index == nullptr) {
    out.transient =
        absl::UnavailableError("pipeline configs are not loaded yet");
    return out;
  }
  for (TriggerMatch& m : index->Match(event)) {
    const std::string pipeline = spinnaker::String(m.pipeline, "id");
    Json trigger = std::move(m.trigger);
    if (igor_ != nullptr) {
      absl::Status enriched = EnrichBuildTrigger(trigger, *igor_);
      if (enriched.code() == absl::StatusCode::kFailedPrecondition) {
        // The build's properties do not satisfy this trigger: not a match.
        SPDLOG_INFO(
            "event=echo_trigger_skipped event_id={} pipeline={} "
            "reason=\"{}\"",
            row.id, pipeline, enriched.message());
        continue;
      }
      if (!enriched.ok()) {
        fail(pipeline, enriched);
        continue;
      }
    } else if (IsBuildTriggerType(spinnaker::String(trigger, "type"))) {
      SPDLOG_WARN(
          "event=echo_build_info_missing event_id={} pipeline={} "
          "reason=igor_not_configured",
          row.id, pipeline);
    }
    PipelineStart s;
    s.pipeline_id = pipeline;
    s.application = spinnaker::String(m.pipeline, "application");
    s.run_as_user = spinnaker::String(trigger, "runAsUser");
    if (s.run_as_user.empty()) {
      s.run_as_user = spinnaker::String(trigger, "user");
      if (s.run_as_user == kAnonymousTrigger) s.run_as_user.clear();
    }
    s.trigger = std::move(trigger);
    s.idempotency_key = m.key;
    start(std::move(s));
  }
  if (absl::StartsWith(row.type, "orca:")) {
    // Whatever the triggers did; a re-enqueue on a retry skips the rows
    // already stored (ids are "<event>:n<i>").
    absl::Status n = EnqueueNotifications(row.id, event);
    if (!n.ok()) {
      if (IsTransient(n)) {
        if (out.transient.ok()) out.transient = n;
      } else {
        out.errors.push_back(absl::StrCat("notifications: ", n.ToString()));
      }
      SPDLOG_WARN(
          "event=echo_notification_enqueue_failed event_id={} error=\"{}\"",
          row.id, n.ToString());
    }
  }
  return out;
}

absl::Status EchoCore::EnqueueNotifications(const std::string& event_id,
                                            const Json& event) {
  const std::vector<std::string> types = NotificationTypes();
  if (types.empty()) return absl::OkStatus();
  std::string app =
      spinnaker::String(spinnaker::Object(event, "details"), "application");
  if (app.empty()) {
    app = spinnaker::String(
        spinnaker::Object(spinnaker::Object(event, "content"), "execution"),
        "application");
  }
  Json app_notifications;
  if (front50_ != nullptr && !app.empty()) {
    absl::StatusOr<Json> n = front50_->ApplicationNotifications(app);
    if (n.ok()) {
      app_notifications = *std::move(n);
    } else {
      // Pipeline-level notifications still go out.
      SPDLOG_WARN(
          "event=echo_app_notifications_unavailable event_id={} "
          "application={} error=\"{}\"",
          event_id, app, n.status().message());
    }
  }
  std::vector<NotificationMessage> messages = NotificationsForEvent(
      event, app_notifications, types, options_.spinnaker_base_url);
  if (messages.empty()) return absl::OkStatus();
  const int64_t now = clock_->NowMs();
  std::vector<NotificationRow> rows;
  for (size_t i = 0; i < messages.size(); ++i) {
    NotificationRow row;
    row.id = absl::StrCat(event_id, ":n", Pad(i));
    row.group_id = event_id;
    row.type = messages[i].type;
    row.message = Dump(NotificationMessageJson(messages[i]));
    row.created_ms = row.updated_ms = row.next_attempt_ms = now;
    rows.push_back(std::move(row));
  }
  GENNAKER_RETURN_IF_ERROR(store_->InsertNotifications(rows).status());
  SPDLOG_INFO("event=echo_notification_enqueued id={} count={} source=event",
              event_id, rows.size());
  Wake();
  return absl::OkStatus();
}

std::string EchoCore::ClaimToken() const {
  return absl::StrCat(options_.instance_id, "/", NewUuid());
}

void EchoCore::DeliverOne(const EventRow& row, const std::string& token) {
  ScopedCallContext context(CallContext{NewRequestId(), "", ""});
  Delivery d = Deliver(row);
  const int64_t now = clock_->NowMs();
  const std::string executions = Dump(d.executions);
  std::string error = absl::StrJoin(d.errors, "; ");
  absl::StatusOr<bool> w;
  auto fail = [&](const std::string& why) {
    w = store_->FinishEvent(row.id, token, EventState::kFailed, executions, why,
                            now);
    SPDLOG_ERROR(
        "event=echo_event_failed event_id={} type={} attempts={} "
        "error=\"{}\"",
        row.id, row.type, row.attempts, why);
  };
  auto retry = [&](const std::string& why) {
    const int64_t next = now + Backoff(row.attempts);
    w = store_->RetryEvent(row.id, token, next, why, now);
    SPDLOG_WARN(
        "event=echo_event_retry event_id={} type={} attempt={} "
        "next_attempt_ms={} error=\"{}\"",
        row.id, row.type, row.attempts, next, why);
  };
  if (!d.fatal.ok()) {
    // The event itself is unusable: retried a few times, then FAILED.
    const std::string why(d.fatal.ToString());
    if (row.attempts >= options_.max_attempts) {
      fail(why);
    } else {
      retry(why);
    }
  } else if (!d.transient.ok()) {
    // orca or igor is down: retried (orca's idempotency keys make the starts
    // that succeeded safe to repeat) until the time budget is spent; such
    // attempts do not count toward max_attempts.
    std::string why(d.transient.ToString());
    if (!error.empty()) absl::StrAppend(&why, "; ", error);
    if (now - row.accepted_ms >= options_.transient_retry_ms) {
      fail(why);
    } else {
      retry(why);
    }
  } else if (!d.errors.empty() && d.executions.empty()) {
    // Every start failed for good (a retry would fail the same way).
    fail(error);
  } else {
    // Matches that failed for good are recorded in the error; the others
    // started.
    w = store_->FinishEvent(row.id, token, EventState::kDelivered, executions,
                            error, now);
    SPDLOG_INFO(
        "event=echo_event_delivered event_id={} type={} "
        "executions={} errors={} attempt={}",
        row.id, row.type, d.executions.size(), d.errors.size(), row.attempts);
  }
  if (!w.ok()) {
    SPDLOG_ERROR("event=echo_event_write_failed event_id={} error=\"{}\"",
                 row.id, w.status().ToString());
  } else if (!*w) {
    // Another worker's newer claim holds the event: its outcome stands.
    SPDLOG_WARN("event=echo_event_claim_lost event_id={}", row.id);
  }
}

int EchoCore::DeliverPending() {
  if (!index_ready()) return 0;
  int n = 0;
  while (true) {
    const std::string token = ClaimToken();
    absl::StatusOr<std::vector<EventRow>> claimed = store_->ClaimEvents(
        token, clock_->NowMs(), int64_t{options_.claim_seconds} * 1000, 1);
    if (!claimed.ok() || claimed->empty()) return n;
    for (const EventRow& row : *claimed) DeliverOne(row, token);
    n += claimed->size();
  }
}

void EchoCore::WorkerLoop() {
  while (true) {
    int64_t seq;
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
      seq = wake_seq_;
    }
    bool worked = false;
    if (index_ready()) {
      const std::string token = ClaimToken();
      absl::StatusOr<std::vector<EventRow>> claimed = store_->ClaimEvents(
          token, clock_->NowMs(), int64_t{options_.claim_seconds} * 1000, 1);
      if (!claimed.ok()) {
        SPDLOG_WARN("event=echo_claim_failed error=\"{}\"",
                    claimed.status().ToString());
      } else {
        for (const EventRow& row : *claimed) DeliverOne(row, token);
        worked = !claimed->empty();
      }
    }
    if (worked) continue;
    absl::MutexLock l(&mu_);
    auto cond = [this, seq]() {
      mu_.AssertHeld();
      return stopping_ || wake_seq_ != seq;
    };
    mu_.AwaitWithTimeout(absl::Condition(&cond), options_.poll);
  }
}

// ---- notifications ----

void EchoCore::SendOne(const NotificationRow& row, const std::string& owner) {
  const int64_t now = clock_->NowMs();
  absl::StatusOr<Json> parsed = spinnaker::ParseJson(
      row.message, "stored notification", spinnaker::kStoredJsonLimits);
  NotificationSender* sender = nullptr;
  for (const auto& s : senders_) {
    if (s->type() == row.type) sender = s.get();
  }
  absl::Status s;
  if (!parsed.ok()) {
    s = parsed.status();
  } else if (sender == nullptr) {
    s = absl::FailedPreconditionError(
        absl::StrCat("notification type '", row.type, "' is not enabled"));
  } else {
    s = sender->Send(NotificationMessageFromJson(*parsed));
  }
  absl::StatusOr<bool> w;
  if (s.ok()) {
    w = store_->FinishNotification(row.id, owner, NotificationState::kSent, "",
                                   now);
    SPDLOG_INFO("event=echo_notification_sent id={} type={} attempt={}", row.id,
                row.type, row.attempts);
  } else {
    const bool retry =
        IsRetryable(s) && row.attempts < options_.notification_max_attempts;
    SPDLOG_WARN(
        "event=echo_notification_failed id={} type={} attempt={} "
        "retry={} error=\"{}\"",
        row.id, row.type, row.attempts, retry, s.ToString());
    if (retry) {
      w = store_->RetryNotification(row.id, owner, now + Backoff(row.attempts),
                                    std::string(s.ToString()), now);
    } else {
      w = store_->FinishNotification(row.id, owner, NotificationState::kFailed,
                                     std::string(s.ToString()), now);
    }
  }
  if (!w.ok()) {
    SPDLOG_ERROR("event=echo_notification_write_failed id={} error=\"{}\"",
                 row.id, w.status().ToString());
  } else if (!*w) {
    SPDLOG_WARN("event=echo_notification_claim_lost id={}", row.id);
  }
}

int EchoCore::SendPendingNotifications() {
  int n = 0;
  while (true) {
    const std::string token = ClaimToken();
    absl::StatusOr<std::vector<NotificationRow>> claimed =
        store_->ClaimNotifications(token, clock_->NowMs(),
                                   int64_t{options_.claim_seconds} * 1000,
                                   kNotificationBatch);
    if (!claimed.ok() || claimed->empty()) return n;
    for (const NotificationRow& row : *claimed) SendOne(row, token);
    n += claimed->size();
  }
}

void EchoCore::NotificationLoop() {
  while (true) {
    int64_t seq;
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
      seq = wake_seq_;
    }
    if (SendPendingNotifications() > 0) continue;
    absl::MutexLock l(&mu_);
    auto cond = [this, seq]() {
      mu_.AssertHeld();
      return stopping_ || wake_seq_ != seq;
    };
    mu_.AwaitWithTimeout(absl::Condition(&cond), options_.poll);
  }
}

}  // namespace gennaker::echo
