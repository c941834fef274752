// gate's canary API for Deck's canary module (Spinnaker Gate compatible):
// /v2/canaryConfig (list, read, create, update, delete) and /v2/canaries
// (credentials, metadata/metricsService, judges, canary runs, an
// application's executions, metric set pair lists), all calling kayenta over
// gRPC.
//
// Contract:
// - The mapping of requests and answers is kayenta's own REST mapping
//   (services/kayenta/rest), registered under gate's paths, so gate and
//   Kayenta's REST API answer the same shapes; it depends only on the kayenta
//   proto, not on kayenta's internals.
// - Without a kayenta backend (services.kayenta.address empty) every canary
//   route answers 503 with a message naming the missing setting.
// - Errors: gate's error body with the HTTP status of the gRPC code.
#ifndef GENNAKER_SERVICES_GATE_GATE_CANARY_H_
#define GENNAKER_SERVICES_GATE_GATE_CANARY_H_

#include <memory>

#include "services/gate/gate_backend.h"

namespace gennaker::gate {

// Registers the canary routes; handlers call `backends->kayenta`.
void AddCanaryRoutes(std::shared_ptr<const Backends> backends,
                     const AddRoute& add);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_CANARY_H_
