#include "services/echo/echo_core.h"

#include <openssl/sha.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace gennaker::echo {
namespace {

using spinnaker::Dump;

class RealClock : public Clock {
 public:
  int64_t NowMs() override { return absl::ToUnixMillis(absl::Now()); }
};

// Largest event body stored (the gRPC limit is larger; events are small).
constexpr size_t kMaxEventBytes = size_t{16} << 20;
constexpr size_t kMaxIdLength = 200;
// Longer idempotency keys are refused; keys between kMaxIdLength and this are
// replaced by their SHA-256 (igor builds keys from unbounded parts).
constexpr size_t kMaxIdempotencyKeyBytes = 4096;
constexpr int kMaxListEvents = 1000;
// One at a time: a send can take seconds, and a row claimed but not yet sent
// when its claim expires would be sent again by another instance.
constexpr int kNotificationBatch = 1;
constexpr char kAnonymousTrigger[] = "[anonymous]";

bool IsBuildTriggerType(const std::string& type) {
  const std::string t = absl::AsciiStrToLower(type);
  return t == "jenkins" || t == "travis" || t == "concourse" ||
         t == "gitlab-ci" || t == "wercker";
}

std::string Pad(size_t i) { return absl::StrFormat("%04d", i); }

// Errors a later attempt may not see: the callee was down, overloaded or
// failed inside.
bool IsTransient(const absl::Status& s) {
  return IsRetryable(s) || s.code() == absl::StatusCode::kInternal;
}

// Webhook types that name echo's, orca's or igor's own events: a webhook
// (anyone gate lets in) must not forge them.
bool IsReservedWebhookType(const std::string& type) {
  const std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(type));
  return absl::StartsWith(t, "orca:") || absl::StartsWith(t, "echo:") ||
         t == "build" || t == "docker" || t == "manual";
}

}  // namespace

absl::StatusOr<std::string> NormalizeIdempotencyKey(const std::string& key) {
  if (key.size() <= kMaxIdLength) return key;
  if (key.size() > kMaxIdempotencyKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "idempotency_key is longer than ", kMaxIdempotencyKeyBytes, " bytes"));
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(),
         digest);
  return absl::StrCat(
      "sha256:", absl::BytesToHexString(absl::string_view(
                     reinterpret_cast<const char*>(digest), sizeof(digest))));
}

namespace {}  // namespace

Clock* SystemClock() {
  static RealClock* clock = new RealClock();
  return clock;
}

void ManualClock::Set(int64_t now_ms) {
  now_.store(now_ms);
  // call_mu_ is held across the calls so that RemoveListener (a core being
  // destroyed) waits for them instead of freeing what they use.
  absl::MutexLock calls(&call_mu_);
  std::vector<std::function<void()>> fns;
  {
    absl::MutexLock l(&mu_);
    for (auto& [id, fn] : listeners_) fns.push_back(fn);
  }
  for (auto& fn : fns) fn();
}

int ManualClock::AddListener(std::function<void()> fn) {
  absl::MutexLock l(&mu_);
  const int id = next_id_++;
  listeners_[id] = std::move(fn);
  return id;
}

void ManualClock::RemoveListener(int id) {
  {
    absl::MutexLock l(&mu_);
    listeners_.erase(id);
  }
  // Waits for a Set that copied the listener before it was erased.
  absl::MutexLock calls(&call_mu_);
}

Json NotificationMessageJson(const NotificationMessage& m) {
  return Json{{"type", m.type},
              {"address", m.address},
              {"cc", m.cc},
              {"subject", m.subject},
              {"body", m.body},
              {"link", m.link},
              {"status", m.status},
              {"when", m.when},
              {"application", m.application},
              {"executionId", m.execution_id},
              {"payload", m.payload}};
}

NotificationMessage NotificationMessageFromJson(const Json& j) {
  NotificationMessage m;
  m.type = spinnaker::String(j, "type");
  m.address = spinnaker::String(j, "address");
  m.cc = spinnaker::Strings(j, "cc");
  m.subject = spinnaker::String(j, "subject");
  m.body = spinnaker::String(j, "body");
  m.link = spinnaker::String(j, "link");
  m.status = spinnaker::String(j, "status");
  m.when = spinnaker::String(j, "when");
  m.application = spinnaker::String(j, "application");
  m.execution_id = spinnaker::String(j, "executionId");
  m.payload = spinnaker::Object(j, "payload");
  return m;
}

absl::StatusOr<std::unique_ptr<EchoCore>> EchoCore::Create(
    EchoStore* store, OrcaClient* orca, Front50Client* front50,
    BuildInfoSource* igor,
    std::vector<std::unique_ptr<NotificationSender>> senders, Clock* clock,
    CoreOptions options) {
  GENNAKER_ASSIGN_OR_RETURN(absl::TimeZone zone, LoadZone(options.time_zone));
  if (options.instance_id.empty()) options.instance_id = NewUuid();
  return std::unique_ptr<EchoCore>(new EchoCore(store, orca, front50, igor,
                                                std::move(senders), clock,
                                                std::move(options), zone));
}

EchoCore::EchoCore(EchoStore* store, OrcaClient* orca, Front50Client* front50,
                   BuildInfoSource* igor,
                   std::vector<std::unique_ptr<NotificationSender>> senders,
                   Clock* clock, CoreOptions options, absl::TimeZone zone)
    : store_(store),
      orca_(orca),
      front50_(front50),
      igor_(igor),
      senders_(std::move(senders)),
      clock_(clock),
      options_(std::move(options)),
      zone_(zone) {
  clock_listener_ = clock_->AddListener([this] {
    absl::MutexLock l(&mu_);
    ++wake_seq_;
    ++sched_seq_;
  });
}

EchoCore::~EchoCore() {
  Stop();
  clock_->RemoveListener(clock_listener_);
}

void EchoCore::Start() {
  {
    absl::MutexLock l(&mu_);
    if (started_) return;
    started_ = true;
    stopping_ = false;
  }
  for (int i = 0; i < options_.worker_threads; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
  if (!options_.background) return;
  threads_.emplace_back([this] { NotificationLoop(); });
  if (front50_ != nullptr) threads_.emplace_back([this] { RefreshLoop(); });
  if (options_.scheduler_enabled) {
    threads_.emplace_back([this] { SchedulerLoop(); });
  }
}

void EchoCore::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  absl::MutexLock l(&mu_);
  started_ = false;
}

void EchoCore::Wake() {
  absl::MutexLock l(&mu_);
  ++wake_seq_;
}

std::shared_ptr<const TriggerIndex> EchoCore::Index() {
  absl::MutexLock l(&index_mu_);
  return index_;
}

bool EchoCore::index_ready() { return Index() != nullptr; }

int64_t EchoCore::Backoff(int attempt) const {
  const int shift = std::clamp(attempt - 1, 0, 20);
  return std::min(options_.retry_max_ms, options_.retry_base_ms << shift);
}

// ---- intake ----

absl::StatusOr<InsertResult> EchoCore::StoreEvent(Json event,
                                                  const std::string& raw_key,
                                                  EventState state) {
  GENNAKER_ASSIGN_OR_RETURN(const std::string key,
                            NormalizeIdempotencyKey(raw_key));
  const int64_t now = clock_->NowMs();
  std::string id = spinnaker::String(event, "eventId");
  if (id.empty()) {
    id = NewUuid();
    event["eventId"] = id;
  }
  if (id.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("eventId is longer than ", kMaxIdLength, " characters"));
  }
  Json& details = event["details"];
  if (!details.is_object()) details = Json::object();
  int64_t created = spinnaker::Int(details, "created");
  if (created <= 0) {
    created = now;
    details["created"] = std::to_string(now);
  }
  EventRow row;
  row.type = spinnaker::String(details, "type");
  // Cron fires are stored by the scheduler only: an event of that type
  // names the pipeline and user to start, so none may come from outside.
  if (row.type == kCronEventType) {
    return absl::InvalidArgumentError(
        absl::StrCat("event type '", kCronEventType, "' is reserved"));
  }
  row.id = id;
  row.idempotency_key = key;
  row.source = spinnaker::String(details, "source");
  row.application = spinnaker::String(details, "application");
  row.created_ms = created;
  row.accepted_ms = now;
  row.state = state;
  row.next_attempt_ms = now;
  row.body = Dump(event);
  if (row.body.size() > kMaxEventBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("event is ", row.body.size(),
                     " bytes, larger than the limit of ", kMaxEventBytes));
  }
  absl::StatusOr<InsertResult> inserted = store_->InsertEvent(row);
  if (inserted.status().code() == absl::StatusCode::kAlreadyExists) {
    // A producer retrying with the event's own id: the same event.
    inserted = InsertResult{row.id, true};
  }
  GENNAKER_ASSIGN_OR_RETURN(InsertResult r, std::move(inserted));
  if (!r.duplicate) {
    SPDLOG_INFO(
        "event=echo_event_accepted event_id={} type={} source={} "
        "application={} state={}",
        r.id, row.type, row.source, row.application, EventStateName(state));
    if (state == EventState::kAccepted) Wake();
  }
  return r;
}

absl::StatusOr<InsertResult> EchoCore::PostEvent(
    Json event, const std::string& idempotency_key) {
  if (!event.is_object()) {
    return absl::InvalidArgumentError("event must be a JSON object");
  }
  const Json details = spinnaker::Object(event, "details");
  if (spinnaker::String(details, "type").empty()) {
    return absl::InvalidArgumentError("event details.type is required");
  }
  return StoreEvent(std::move(event), idempotency_key, EventState::kAccepted);
}

absl::StatusOr<WebhookResult> EchoCore::ReceiveWebhook(
    const IncomingWebhook& webhook, const std::string& idempotency_key) {
  if (static_cast<int64_t>(webhook.raw_body.size()) >
      options_.max_webhook_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "webhook body is ", webhook.raw_body.size(),
        " bytes, larger than the limit of ", options_.max_webhook_bytes));
  }
  // Internal event types would start pipelines as users named in a forged
  // body and send notifications to addresses in it.
  if (IsReservedWebhookType(webhook.type)) {
    SPDLOG_WARN("event=echo_webhook_refused type={} reason=reserved_type",
                webhook.type);
    return absl::InvalidArgumentError(absl::StrCat(
        "webhook type '", webhook.type,
        "' is reserved for internal events; use git, webhook, cdevents or "
        "another name"));
  }
  // Credentials of the caller are never stored with the event.
  IncomingWebhook clean = webhook;
  clean.headers.clear();
  for (const auto& [name, value] : webhook.headers) {
    if (absl::EqualsIgnoreCase(name, "authorization") ||
        absl::EqualsIgnoreCase(name, "proxy-authorization") ||
        absl::EqualsIgnoreCase(name, "cookie")) {
      continue;
    }
    clean.headers.emplace_back(name, value);
  }
  GENNAKER_ASSIGN_OR_RETURN(WebhookEvent built, BuildWebhookEvent(clean));
  WebhookResult out;
  if (!built.processed) {
    GENNAKER_ASSIGN_OR_RETURN(
        InsertResult r, StoreEvent(std::move(built.event), idempotency_key,
                                   EventState::kIgnored));
    out.processed = false;
    out.event_id = r.id;
    out.duplicate = r.duplicate;
    return out;
  }
  const Json details = spinnaker::Object(built.event, "details");
  if (IsReservedWebhookType(spinnaker::String(details, "type"))) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook type '", spinnaker::String(details, "type"),
                     "' is reserved for internal events"));
  }
  if (absl::EqualsIgnoreCase(spinnaker::String(details, "type"), "git")) {
    std::shared_ptr<const TriggerIndex> index = Index();
    std::unique_ptr<TriggerIndex> empty;
    if (index == nullptr) {
      // Before the first load only the shared secret is known.
      empty = std::make_unique<TriggerIndex>(
          std::vector<Json>{}, MatchOptions{options_.git_shared_secret});
    }
    const TriggerIndex& idx = index != nullptr ? *index : *empty;
    std::vector<std::string> secrets;
    const bool required = idx.GitSecretsFor(built.event, &secrets);
    // A signed delivery must be signed with one of the candidates' secrets,
    // even when a trigger without a secret could take an unsigned push: a
    // forged signature is refused, not stored.
    const bool signed_delivery =
        CheckGitSignature(built.event, "") == SignatureCheck::kUnexpected;
    if (required || (signed_delivery && !secrets.empty())) {
      bool valid = false;
      for (const std::string& s : secrets) {
        if (CheckGitSignature(built.event, s) == SignatureCheck::kValid) {
          valid = true;
          break;
        }
      }
      if (!valid) {
        SPDLOG_WARN(
            "event=echo_webhook_refused type={} source={} "
            "reason=signature",
            webhook.type, spinnaker::String(details, "source"));
        return absl::UnauthenticatedError("webhook signature does not match");
      }
    }
  }
  GENNAKER_ASSIGN_OR_RETURN(InsertResult r,
                            StoreEvent(std::move(built.event), idempotency_key,
                                       EventState::kAccepted));
  out.event_id = r.id;
  out.duplicate = r.duplicate;
  return out;
}

std::vector<std::string> EchoCore::NotificationTypes() const {
  std::vector<std::string> out;
  for (const auto& s : senders_) out.push_back(s->type());
  return out;
}

absl::StatusOr<InsertResult> EchoCore::SendNotification(
    const v1::Notification& notification, const std::string& raw_key) {
  GENNAKER_ASSIGN_OR_RETURN(const std::string idempotency_key,
                            NormalizeIdempotencyKey(raw_key));
  GENNAKER_ASSIGN_OR_RETURN(
      std::vector<NotificationMessage> messages,
      DirectNotification(notification, options_.spinnaker_base_url));
  const std::vector<std::string> types = NotificationTypes();
  for (const NotificationMessage& m : messages) {
    if (std::find(types.begin(), types.end(), m.type) == types.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("notification type '", m.type, "' is not enabled"));
    }
  }
  if (messages.empty()) {
    return absl::InvalidArgumentError("notification has no recipient");
  }
  const std::string group = NewUuid();
  const int64_t now = clock_->NowMs();
  std::vector<NotificationRow> rows;
  for (size_t i = 0; i < messages.size(); ++i) {
    NotificationRow row;
    row.id = absl::StrCat(group, ":", Pad(i));
    row.group_id = group;
    if (!idempotency_key.empty()) {
      row.idempotency_key = absl::StrCat(idempotency_key, "#", i);
    }
    row.type = messages[i].type;
    row.message = Dump(NotificationMessageJson(messages[i]));
    row.created_ms = row.updated_ms = row.next_attempt_ms = now;
    rows.push_back(std::move(row));
  }
  GENNAKER_ASSIGN_OR_RETURN(InsertResult r, store_->InsertNotifications(rows));
  if (!r.duplicate) {
    SPDLOG_INFO("event=echo_notification_enqueued id={} count={} source=direct",
                r.id, rows.size());
    Wake();
  }
  return r;
}

absl::StatusOr<std::vector<EventRow>> EchoCore::ListEvents(
    const EventQuery& query) {
  EventQuery q = query;
  if (q.limit <= 0 || q.limit > kMaxListEvents) {
    q.limit = q.limit <= 0 ? 100 : kMaxListEvents;
  }
  if (q.since_ms <= 0) {
    q.since_ms =
        clock_->NowMs() - int64_t{options_.retention_days} * 24 * 3600 * 1000;
  }
  return store_->ListEvents(q);
}

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
