#include "services/echo/echo_core.h"

#include <openssl/sha.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/echo/echo_core_internal.h"

namespace gennaker::echo {
namespace {

using internal::Pad;
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

}  // namespace gennaker::echo
