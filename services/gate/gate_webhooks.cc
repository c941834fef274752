#include "services/gate/gate_webhooks.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/gate/request.h"

namespace gennaker::gate {
namespace {

namespace ev1 = echo::v1;

// What each route tells an operator it needs echo for.
constexpr char kWebhooks[] = "webhooks";
constexpr char kCallbacks[] = "notification callbacks";

// Headers echo never needs and gate must not pass on: credentials of the
// caller, not of the webhook.
bool Forwarded(const std::string& name) {
  return name != "authorization" && name != "cookie" &&
         name != "proxy-authorization";
}

template <typename Req>
void CopyHeaders(const Request& r, Req* req) {
  for (const auto& [name, value] : r.headers) {
    if (!Forwarded(name)) continue;
    ev1::HttpHeader* h = req->add_headers();
    h->set_name(name);
    h->add_values(value);
  }
}

// {type} and {source} as echo reads them: short and printable.
bool ValidSegment(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Response ReceiveWebhook(const Echo& echo, const Request& r) {
  if (echo.stub == nullptr) return NotConfigured("echo", kWebhooks, r);
  const std::string& type = r.params.at("type");
  auto source = r.params.find("source");
  if (!ValidSegment(type) ||
      (source != r.params.end() && !ValidSegment(source->second))) {
    return http::Error(
        400, "webhook type and source must be 1 to 256 printable characters",
        r.path);
  }
  ev1::ReceiveWebhookRequest req;
  req.set_type(type);
  if (source != r.params.end()) req.set_source(source->second);
  // Verbatim: signatures (X-Hub-Signature-256) are over these bytes.
  req.mutable_payload()->set_json(r.body);
  CopyHeaders(r, &req);
  req.set_idempotency_key(WebhookIdempotencyKey(r));
  ev1::ReceiveWebhookResponse resp;
  grpc::Status s = echo.stub->ReceiveWebhook(echo.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  Json out = Json::object();
  out["eventProcessed"] = resp.event_processed();
  out["eventId"] = resp.event_id();
  return http::Json(200, spinnaker::Dump(out));
}

// Spinnaker's names of the notification types (Deck's keys).
const char* TypeName(ev1::NotificationType type) {
  switch (type) {
    case ev1::NOTIFICATION_TYPE_SLACK:
      return "slack";
    case ev1::NOTIFICATION_TYPE_EMAIL:
      return "email";
    case ev1::NOTIFICATION_TYPE_SMS:
      return "sms";
    case ev1::NOTIFICATION_TYPE_WEBHOOK:
      return "webhook";
    case ev1::NOTIFICATION_TYPE_GITHUB_STATUS:
      return "githubStatus";
    case ev1::NOTIFICATION_TYPE_GOOGLE_CHAT:
      return "googlechat";
    case ev1::NOTIFICATION_TYPE_MICROSOFT_TEAMS:
      return "microsoftteams";
    case ev1::NOTIFICATION_TYPE_PAGER_DUTY:
      return "pagerDuty";
    case ev1::NOTIFICATION_TYPE_JIRA:
      return "jira";
    case ev1::NOTIFICATION_TYPE_CDEVENTS:
      return "cdevents";
    default:
      return nullptr;
  }
}

Response NotificationMetadata(const Echo& echo, const Request& r) {
  // Deck asks on every load: no echo means no channel, not an error.
  if (echo.stub == nullptr) return http::Json(200, "[]");
  ev1::ListNotificationTypesResponse resp;
  grpc::Status s =
      echo.stub->ListNotificationTypes(echo.Context().get(), {}, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  Json out = Json::array();
  for (int t : resp.types()) {
    const char* name = TypeName(static_cast<ev1::NotificationType>(t));
    if (name == nullptr) continue;
    // CUSTOM: Deck's own editor, never a generated extension form.
    out.push_back(Json{{"notificationType", name},
                       {"uiType", "CUSTOM"},
                       {"parameters", Json::array()}});
  }
  return http::Json(200, spinnaker::Dump(out));
}

Response NotificationCallback(const Echo& echo, const Request& r) {
  if (echo.stub == nullptr) return NotConfigured("echo", kCallbacks, r);
  const std::string& source = r.params.at("source");
  if (!ValidSegment(source)) {
    return http::Error(
        400, "callback source must be 1 to 256 printable characters", r.path);
  }
  ev1::HandleNotificationCallbackRequest req;
  req.set_source(source);
  req.set_raw_body(r.body);
  CopyHeaders(r, &req);
  req.set_idempotency_key(WebhookIdempotencyKey(r));
  ev1::HandleNotificationCallbackResponse resp;
  grpc::Status s =
      echo.stub->HandleNotificationCallback(echo.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  int status = resp.http_status() == 0 ? 200 : resp.http_status();
  if (status < 200 || status > 599) {
    return http::Error(
        502, absl::StrCat("echo answered an invalid HTTP status ", status),
        r.path);
  }
  Response out;
  out.status = status;
  absl::string_view body = absl::StripLeadingAsciiWhitespace(resp.body());
  out.content_type =
      !body.empty() && (body.front() == '{' || body.front() == '[')
          ? "application/json"
          : "text/plain";
  out.body = resp.body();
  return out;
}

std::string Invalid(const std::string& message) {
  return spinnaker::Dump(Json{{"valid", false}, {"message", message}});
}

// "next run <time> (<zone>)" from echo's preview; the zone's own name when
// absl knows it, else UTC.
std::string NextRun(const ev1::ValidateCronExpressionResponse& resp) {
  if (resp.next_fire_at_ms().empty()) return "it never fires again";
  absl::TimeZone zone = absl::UTCTimeZone();
  std::string zone_name = "UTC";
  if (!resp.time_zone().empty() &&
      absl::LoadTimeZone(resp.time_zone(), &zone)) {
    zone_name = resp.time_zone();
  }
  return absl::StrCat(
      "next run ",
      absl::FormatTime("%Y-%m-%d %H:%M:%S",
                       absl::FromUnixMillis(resp.next_fire_at_ms(0)), zone),
      " (", zone_name, ")");
}

Response ValidateCron(const Echo& echo, const Request& r) {
  auto it = r.query.find("expression");
  if (it == r.query.end()) {
    return http::Error(
        400,
        "Required request parameter 'expression' for method parameter type "
        "String is not present",
        r.path);
  }
  if (echo.stub == nullptr) {
    return http::Json(
        200, Invalid("No echo service available: set services.echo.address "
                     "in gate's configuration to validate cron expressions"));
  }
  ev1::ValidateCronExpressionRequest req;
  req.set_expression(it->second);
  req.set_preview_count(1);
  ev1::ValidateCronExpressionResponse resp;
  grpc::Status s =
      echo.stub->ValidateCronExpression(echo.Context().get(), req, &resp);
  // Gate turns echo's 400 into an answer, not an error.
  if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return http::Json(200, Invalid(s.error_message()));
  }
  if (!s.ok()) return ErrorResponse(s, r);
  if (!resp.valid()) {
    return http::Json(200,
                      Invalid(resp.message().empty() ? "Invalid cron expression"
                                                     : resp.message()));
  }
  std::string message =
      resp.message().empty() ? "Cron expression is valid" : resp.message();
  return http::Json(
      200, spinnaker::Dump(Json{
               {"valid", true},
               {"description", absl::StrCat(message, "; ", NextRun(resp))}}));
}

}  // namespace

std::string WebhookIdempotencyKey(const http::Request& request) {
  for (const char* header :
       {"x-github-delivery", "x-gitlab-event-uuid", "x-request-uuid"}) {
    std::string value = request.Header(header);
    if (value.empty() || value.size() > 128) continue;
    bool printable = true;
    for (unsigned char c : value) printable &= c > 0x20 && c < 0x7f;
    if (printable) return absl::StrCat(header, ":", value);
  }
  return "";
}

void AddWebhookRoutes(std::shared_ptr<const Backends> backends,
                      const AddRoute& add) {
  const Echo& echo = backends->echo;
  RouteAdder<Echo> route(add, std::shared_ptr<const Echo>(backends, &echo));
  route("POST", "/webhooks/{type}/{source}", ReceiveWebhook);
  route("POST", "/webhooks/{type}", ReceiveWebhook);
  route("GET", "/notifications/metadata", NotificationMetadata);
  route("POST", "/notifications/callbacks/{source}", NotificationCallback);
  route("GET", "/cron/validate", ValidateCron);
}

}  // namespace gennaker::gate
