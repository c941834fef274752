#include "services/echo/echo_grpc.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "services/echo/echo_core.h"

namespace gennaker::echo {
namespace {

using spinnaker::Dump;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

absl::StatusOr<Json> ObjectOf(const common::v1::JsonObject& o,
                              absl::string_view what) {
  return spinnaker::ParseJsonObject(o.json(), what);
}

Json ArtifactJson(const common::v1::Artifact& a) {
  Json j{{"type", a.type()},         {"customKind", a.custom_kind()},
         {"name", a.name()},         {"version", a.version()},
         {"location", a.location()}, {"reference", a.reference()}};
  if (!a.metadata().json().empty()) {
    auto m = spinnaker::ParseJson(a.metadata().json(), "artifact metadata");
    if (m.ok()) j["metadata"] = *std::move(m);
  }
  if (!a.artifact_account().empty()) {
    j["artifactAccount"] = a.artifact_account();
  }
  if (!a.provenance().empty()) j["provenance"] = a.provenance();
  if (!a.uuid().empty()) j["uuid"] = a.uuid();
  return j;
}

common::v1::Artifact ArtifactProto(const Json& j) {
  common::v1::Artifact a;
  a.set_type(spinnaker::String(j, "type"));
  a.set_custom_kind(spinnaker::Bool(j, "customKind"));
  a.set_name(spinnaker::String(j, "name"));
  a.set_version(spinnaker::String(j, "version"));
  a.set_location(spinnaker::String(j, "location"));
  a.set_reference(spinnaker::String(j, "reference"));
  const Json* m = spinnaker::internal::Member(j, "metadata");
  if (m != nullptr && !m->is_null()) a.mutable_metadata()->set_json(Dump(*m));
  a.set_artifact_account(spinnaker::String(j, "artifactAccount"));
  a.set_provenance(spinnaker::String(j, "provenance"));
  a.set_uuid(spinnaker::String(j, "uuid"));
  return a;
}

v1::EventState StateProto(EventState s) {
  switch (s) {
    case EventState::kAccepted:
      return v1::EVENT_STATE_ACCEPTED;
    case EventState::kDelivered:
      return v1::EVENT_STATE_DELIVERED;
    case EventState::kFailed:
      return v1::EVENT_STATE_FAILED;
    case EventState::kIgnored:
      return v1::EVENT_STATE_IGNORED;
  }
  return v1::EVENT_STATE_UNSPECIFIED;
}

v1::NotificationType TypeProto(const std::string& t) {
  if (t == "slack") return v1::NOTIFICATION_TYPE_SLACK;
  if (t == "email") return v1::NOTIFICATION_TYPE_EMAIL;
  if (t == "sms") return v1::NOTIFICATION_TYPE_SMS;
  if (t == "webhook") return v1::NOTIFICATION_TYPE_WEBHOOK;
  if (t == "githubStatus") return v1::NOTIFICATION_TYPE_GITHUB_STATUS;
  if (t == "googlechat") return v1::NOTIFICATION_TYPE_GOOGLE_CHAT;
  if (t == "microsoftteams") return v1::NOTIFICATION_TYPE_MICROSOFT_TEAMS;
  if (t == "pagerDuty") return v1::NOTIFICATION_TYPE_PAGER_DUTY;
  if (t == "jira") return v1::NOTIFICATION_TYPE_JIRA;
  if (t == "cdevents") return v1::NOTIFICATION_TYPE_CDEVENTS;
  return v1::NOTIFICATION_TYPE_UNSPECIFIED;
}

// Page size and offset of a request (the token is the offset).
absl::StatusOr<std::pair<int, int64_t>> Paging(
    const common::v1::PageRequest& page) {
  int size = page.page_size() <= 0 ? kDefaultPageSize
                                   : std::min(page.page_size(), kMaxPageSize);
  int64_t offset = 0;
  if (!page.page_token().empty() &&
      (!absl::SimpleAtoi(page.page_token(), &offset) || offset < 0)) {
    return absl::InvalidArgumentError("page_token is not valid");
  }
  return std::make_pair(size, offset);
}

// Headers that carry a secret (GitLab's webhook token is the secret itself)
// are kept for delivery but never listed.
void RedactHeaders(Json& event) {
  auto details = event.find("details");
  if (details == event.end() || !details->is_object()) return;
  auto headers = details->find("requestHeaders");
  if (headers == details->end() || !headers->is_object()) return;
  for (auto& [name, value] : headers->items()) {
    const std::string lower = absl::AsciiStrToLower(name);
    if (lower == "x-gitlab-token" || lower == "authorization" ||
        lower == "proxy-authorization" || lower == "cookie") {
      value = Json::array({"<redacted>"});
    }
  }
}

v1::EventRecord RecordProto(const EventRow& row) {
  v1::EventRecord r;
  auto body = spinnaker::ParseJson(row.body, "stored event",
                                   spinnaker::kStoredJsonLimits);
  if (body.ok() && body->is_object()) {
    RedactHeaders(*body);
    *r.mutable_event() = EventProtoFromJson(*body);
  }
  r.mutable_event()->set_event_id(row.id);
  r.set_accepted_at_ms(row.accepted_ms);
  r.set_state(StateProto(row.state));
  r.set_error(row.error);
  auto executions = spinnaker::ParseJson(row.executions, "executions",
                                         spinnaker::kStoredJsonLimits);
  if (executions.ok() && executions->is_array()) {
    for (const Json& e : *executions) {
      common::v1::ExecutionRef* ref = r.add_triggered_executions();
      ref->set_id(spinnaker::String(e, "id"));
      ref->set_application(spinnaker::String(e, "application"));
      ref->set_type(common::v1::PIPELINE);
    }
  }
  return r;
}

class EchoGrpcService : public v1::EchoService::Service {
 public:
  explicit EchoGrpcService(EchoCore* core) : core_(core) {}

  grpc::Status PostEvent(grpc::ServerContext*, const v1::PostEventRequest* req,
                         v1::PostEventResponse* resp) override {
    absl::StatusOr<Json> event = EventJsonFromProto(req->event());
    if (!event.ok()) return ToGrpcStatus(event.status());
    absl::StatusOr<InsertResult> r =
        core_->PostEvent(*std::move(event), req->idempotency_key());
    if (!r.ok()) return ToGrpcStatus(r.status());
    resp->set_event_id(r->id);
    resp->set_duplicate(r->duplicate);
    return grpc::Status::OK;
  }

  grpc::Status ListRecentEvents(grpc::ServerContext*,
                                const v1::ListRecentEventsRequest* req,
                                v1::ListRecentEventsResponse* resp) override {
    auto paging = Paging(req->page());
    if (!paging.ok()) return ToGrpcStatus(paging.status());
    EventQuery q;
    q.type = req->type();
    q.source = req->source();
    q.application = req->application();
    q.since_ms = req->since_ms();
    q.limit = paging->first + 1;
    q.offset = paging->second;
    absl::StatusOr<std::vector<EventRow>> rows = core_->ListEvents(q);
    if (!rows.ok()) return ToGrpcStatus(rows.status());
    const bool more = static_cast<int>(rows->size()) > paging->first;
    if (more) rows->resize(paging->first);
    for (const EventRow& row : *rows) *resp->add_events() = RecordProto(row);
    if (more) {
      resp->mutable_page()->set_next_page_token(
          std::to_string(paging->second + paging->first));
    }
    return grpc::Status::OK;
  }

  grpc::Status ReceiveWebhook(grpc::ServerContext*,
                              const v1::ReceiveWebhookRequest* req,
                              v1::ReceiveWebhookResponse* resp) override {
    IncomingWebhook w;
    w.type = req->type();
    w.source = req->source();
    w.raw_body = req->payload().json();
    for (const v1::HttpHeader& h : req->headers()) {
      for (const std::string& v : h.values())
        w.headers.emplace_back(h.name(), v);
    }
    absl::StatusOr<WebhookResult> r =
        core_->ReceiveWebhook(w, req->idempotency_key());
    if (!r.ok()) return ToGrpcStatus(r.status());
    resp->set_event_processed(r->processed);
    resp->set_event_id(r->event_id);
    return grpc::Status::OK;
  }

  grpc::Status SendNotification(grpc::ServerContext*,
                                const v1::SendNotificationRequest* req,
                                v1::SendNotificationResponse* resp) override {
    absl::StatusOr<InsertResult> r =
        core_->SendNotification(req->notification(), req->idempotency_key());
    if (!r.ok()) return ToGrpcStatus(r.status());
    resp->set_notification_id(r->id);
    resp->set_duplicate(r->duplicate);
    return grpc::Status::OK;
  }

  grpc::Status ListNotificationTypes(
      grpc::ServerContext*, const v1::ListNotificationTypesRequest*,
      v1::ListNotificationTypesResponse* resp) override {
    for (const std::string& t : core_->NotificationTypes()) {
      v1::NotificationType type = TypeProto(t);
      if (type != v1::NOTIFICATION_TYPE_UNSPECIFIED) resp->add_types(type);
    }
    return grpc::Status::OK;
  }

  grpc::Status HandleNotificationCallback(
      grpc::ServerContext*, const v1::HandleNotificationCallbackRequest*,
      v1::HandleNotificationCallbackResponse*) override {
    return grpc::Status(
        grpc::StatusCode::UNIMPLEMENTED,
        "interactive notification callbacks (Slack buttons) are not "
        "supported by this echo");
  }

  grpc::Status ListScheduledTriggers(
      grpc::ServerContext*, const v1::ListScheduledTriggersRequest* req,
      v1::ListScheduledTriggersResponse* resp) override {
    auto paging = Paging(req->page());
    if (!paging.ok()) return ToGrpcStatus(paging.status());
    std::vector<ScheduledTriggerInfo> all;
    for (ScheduledTriggerInfo& t : core_->ScheduledTriggers()) {
      if (!req->application().empty() && t.application != req->application()) {
        continue;
      }
      if (!req->pipeline_id().empty() && t.pipeline_id != req->pipeline_id()) {
        continue;
      }
      all.push_back(std::move(t));
    }
    const int64_t begin =
        std::min<int64_t>(paging->second, static_cast<int64_t>(all.size()));
    const int64_t end = std::min<int64_t>(begin + paging->first,
                                          static_cast<int64_t>(all.size()));
    for (int64_t i = begin; i < end; ++i) {
      const ScheduledTriggerInfo& t = all[i];
      v1::ScheduledTrigger* p = resp->add_triggers();
      p->set_trigger_id(t.trigger_id);
      p->set_pipeline_id(t.pipeline_id);
      p->set_pipeline_name(t.pipeline_name);
      p->set_application(t.application);
      p->set_cron_expression(t.cron_expression);
      p->set_effective_expression(t.effective_expression);
      p->set_time_zone(t.time_zone);
      p->set_run_as_user(t.run_as_user);
      p->mutable_parameters()->set_json(Dump(t.parameters));
      p->set_next_fire_at_ms(t.next_fire_ms);
      p->set_previous_fire_at_ms(t.previous_fire_ms);
    }
    resp->mutable_page()->set_total_size(static_cast<int64_t>(all.size()));
    if (end < static_cast<int64_t>(all.size())) {
      resp->mutable_page()->set_next_page_token(std::to_string(end));
    }
    return grpc::Status::OK;
  }

  grpc::Status SyncScheduledTriggers(
      grpc::ServerContext*, const v1::SyncScheduledTriggersRequest*,
      v1::SyncScheduledTriggersResponse* resp) override {
    absl::StatusOr<SyncCounts> r = core_->RefreshPipelines();
    if (!r.ok()) return ToGrpcStatus(r.status());
    resp->set_added(r->added);
    resp->set_updated(r->updated);
    resp->set_removed(r->removed);
    return grpc::Status::OK;
  }

  grpc::Status ValidateCronExpression(
      grpc::ServerContext*, const v1::ValidateCronExpressionRequest* req,
      v1::ValidateCronExpressionResponse* resp) override {
    CronValidation v = core_->ValidateCron(req->expression(), req->trigger_id(),
                                           req->preview_count());
    resp->set_valid(v.valid);
    resp->set_message(v.message);
    for (int64_t t : v.next_fire_ms) resp->add_next_fire_at_ms(t);
    resp->set_time_zone(v.time_zone);
    return grpc::Status::OK;
  }

 private:
  EchoCore* core_;
};

}  // namespace

absl::StatusOr<Json> EventJsonFromProto(const v1::Event& e) {
  absl::StatusOr<Json> details = ObjectOf(e.details(), "event details");
  if (!details.ok()) return details.status();
  if (!e.type().empty()) (*details)["type"] = e.type();
  if (!e.source().empty()) (*details)["source"] = e.source();
  if (!e.application().empty()) (*details)["application"] = e.application();
  if (e.created_at_ms() > 0) {
    (*details)["created"] = std::to_string(e.created_at_ms());
  }
  absl::StatusOr<Json> content = ObjectOf(e.content(), "event content");
  if (!content.ok()) return content.status();
  if (e.artifacts_size() > 0 && !content->contains("artifacts")) {
    Json artifacts = Json::array();
    for (const common::v1::Artifact& a : e.artifacts()) {
      artifacts.push_back(ArtifactJson(a));
    }
    (*content)["artifacts"] = std::move(artifacts);
  }
  Json event = Json::object();
  if (!e.event_id().empty()) event["eventId"] = e.event_id();
  event["details"] = *std::move(details);
  event["content"] = *std::move(content);
  if (!e.payload().json().empty()) {
    absl::StatusOr<Json> payload = ObjectOf(e.payload(), "event payload");
    if (!payload.ok()) return payload.status();
    event["payload"] = *std::move(payload);
  }
  if (!e.raw_content().empty()) event["rawContent"] = e.raw_content();
  return event;
}

v1::Event EventProtoFromJson(const Json& j) {
  v1::Event e;
  const Json details = spinnaker::Object(j, "details");
  e.set_event_id(spinnaker::String(j, "eventId"));
  e.set_type(spinnaker::String(details, "type"));
  e.set_source(spinnaker::String(details, "source"));
  e.set_application(spinnaker::String(details, "application"));
  e.set_created_at_ms(spinnaker::Int(details, "created"));
  e.mutable_details()->set_json(Dump(details));
  const Json content = spinnaker::Object(j, "content");
  e.mutable_content()->set_json(Dump(content));
  const Json* payload = spinnaker::internal::Member(j, "payload");
  if (payload != nullptr && payload->is_object()) {
    e.mutable_payload()->set_json(Dump(*payload));
  }
  e.set_raw_content(spinnaker::String(j, "rawContent"));
  for (const Json& a : spinnaker::Array(content, "artifacts")) {
    if (a.is_object()) *e.add_artifacts() = ArtifactProto(a);
  }
  return e;
}

std::unique_ptr<v1::EchoService::Service> NewEchoGrpcService(EchoCore* core) {
  return std::make_unique<EchoGrpcService>(core);
}

}  // namespace gennaker::echo
