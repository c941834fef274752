// Kayenta's REST/JSON API, and gate's /v2 canary routes, as thin mappings onto
// the kayenta gRPC API (gennaker.kayenta.v1.KayentaService).
//
// Contract:
// - One route table serves both APIs: AddKayentaRestRoutes registers
//   Kayenta's own paths (/canary, /canaryConfig, /judges, /metricSetPairList,
//   /credentials, /metricsServices, /metadata/metricsService,
//   /standalone_canary_analysis) for standalone users, orca and Spinnaker's
//   gate; AddGateCanaryRoutes registers the subset gate exposes to Deck under
//   /v2/canaryConfig and /v2/canaries with gate's paths and answers.
// - Request JSON becomes the typed request (CanaryExecutionRequest scopes with
//   ISO-8601 start/end as epoch ms, step in seconds, thresholds,
//   extendedScopeParams); the whole request JSON also travels in
//   execution_request so nothing a client sent is lost. Answers are the stored
//   Spinnaker JSON the messages carry (`json`/`config`/`result` fields), with
//   Kayenta's shapes built from the typed fields where a list leaves it out.
// - Failed calls answer {timestamp, status, error, message, path} with the
//   HTTP status of the gRPC code (INVALID_ARGUMENT 400, NOT_FOUND 404,
//   ALREADY_EXISTS/ABORTED 409, RESOURCE_EXHAUSTED 413, UNAVAILABLE 503,
//   DEADLINE_EXCEEDED 504). Malformed bodies or parameters are 400 before any
//   call.
// - Differences between the two tables are Spinnaker's: Kayenta answers
//   DELETE /canaryConfig/{id} with 204, gate with an empty 200; gate lists an
//   application's runs at /v2/canaries/{application}/executions, Kayenta at
//   /canary/executions?application=. A DELETE of a missing config or list
//   succeeds (kayenta's deletes are idempotent).
// - Instants in requests are ISO-8601 strings with an offset, or numbers of
//   epoch seconds (as Jackson reads a number into an Instant), within years
//   0001..9999 (else 400); answers use
//   ISO-8601 UTC (`...Iso`) and epoch ms (`...Millis`, `...Timestamp`).
// - Execution lists page `limit` records at a time; a limit above 1000 is
//   clamped to 1000 (the service's largest page).
// - An Idempotency-Key header on a POST that creates something (config, run,
//   analysis, pair list) becomes the request's idempotency_key.
// - Every call carries `deadline`. Handlers are thread-safe; the stub is kept
//   alive by the routes.
#ifndef GENNAKER_SERVICES_KAYENTA_REST_KAYENTA_REST_H_
#define GENNAKER_SERVICES_KAYENTA_REST_KAYENTA_REST_H_

#include <chrono>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/http/http.h"
#include "gennaker/kayenta/v1/kayenta.grpc.pb.h"

namespace gennaker::kayenta {

using KayentaStub = v1::KayentaService::StubInterface;

// Registers one route (gate wraps handlers with its CORS/identity guard).
using AddRouteFn = std::function<void(
    absl::string_view method, absl::string_view pattern, http::Handler)>;

// Kayenta's own REST API on `router`, calling `kayenta` with `deadline` per
// call. The kayenta binary passes a stub over a channel to its own gRPC
// listener, so REST and gRPC callers meet the same validation and storage.
void AddKayentaRestRoutes(http::Router& router,
                          std::shared_ptr<KayentaStub> kayenta,
                          std::chrono::milliseconds deadline);

// The same through an adder (for callers that wrap handlers).
void AddKayentaRestRoutes(const AddRouteFn& add,
                          std::shared_ptr<KayentaStub> kayenta,
                          std::chrono::milliseconds deadline);

// Gate's canary routes (/v2/canaryConfig..., /v2/canaries/...). A null
// `kayenta` (gate configured without services.kayenta) answers every route
// 503 "kayenta is not configured ...".
void AddGateCanaryRoutes(const AddRouteFn& add,
                         std::shared_ptr<KayentaStub> kayenta,
                         std::chrono::milliseconds deadline);

// The HTTP error answer to a failed call (see the contract above).
http::Response KayentaErrorResponse(const absl::Status& status,
                                    const http::Request& request);

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_REST_KAYENTA_REST_H_
