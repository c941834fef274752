// gate's echo routes (Spinnaker Gate compatible): incoming webhooks from
// GitHub, GitLab, Bitbucket, registries and custom senders, the notification
// metadata Deck loads, interactive notification callbacks, and the cron
// expression check of Deck's cron trigger editor.
//
// Contract:
// - POST /webhooks/{type}/{source} and POST /webhooks/{type} call
//   EchoService.ReceiveWebhook with the request body verbatim (echo checks
//   signatures against these bytes), the request headers (without
//   Authorization, Cookie and Proxy-Authorization) and, when the sender gave
//   one, its delivery id as the idempotency key ("x-github-delivery:<id>",
//   "x-gitlab-event-uuid:<id>", "x-request-uuid:<id>"), so a redelivery is
//   not a second event. The answer is {"eventProcessed": bool, "eventId": id}
//   (200). Like Spinnaker's Gate they need no login. gate's cross-site write
//   rule applies: JSON bodies (GitHub's application/json, GitLab, Bitbucket,
//   Docker Hub) pass; a form-encoded body (GitHub's "payload=" setting) is
//   415.
// - GET /notifications/metadata: echo's enabled notification types as
//   [{notificationType, uiType, parameters}], every built-in type with uiType
//   "CUSTOM" (Deck has its own editor for those and registers only "BASIC"
//   extension types); [] when gate has no echo.
// - POST /notifications/callbacks/{source}:
// EchoService.HandleNotificationCallback
//   with the raw body and headers; echo's http_status and body are the answer.
// - GET /cron/validate?expression=: 200 {"valid": true, "description": ...}
//   or 200 {"valid": false, "message": ...} as Gate's CronService answers
//   (an expression echo refuses is not an HTTP error); a missing expression
//   is 400.
// - Without an echo backend (services.echo.address empty) the webhook and
//   callback routes answer 503 naming the setting; the cron check answers
//   {"valid": false, "message": ...} naming it.
// - Errors: gate's error body; UNAUTHENTICATED (bad signature) 401,
//   INVALID_ARGUMENT 400, RESOURCE_EXHAUSTED (body over echo's limit) 413.
#ifndef GENNAKER_SERVICES_GATE_GATE_WEBHOOKS_H_
#define GENNAKER_SERVICES_GATE_GATE_WEBHOOKS_H_

#include <memory>
#include <string>

#include "services/gate/gate_backend.h"

namespace gennaker::gate {

// Registers the echo routes above; handlers call `backends->echo`.
void AddWebhookRoutes(std::shared_ptr<const Backends> backends,
                      const AddRoute& add);

// The idempotency key of a webhook delivery: "<header>:<value>" of the first
// of X-GitHub-Delivery, X-Gitlab-Event-UUID, X-Request-UUID the request has
// with a value of 1 to 128 printable ASCII characters; "" otherwise.
std::string WebhookIdempotencyKey(const http::Request& request);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_WEBHOOKS_H_
