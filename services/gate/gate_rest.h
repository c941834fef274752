// gate's REST/JSON API, compatible with Spinnaker's Gate for the requests the
// spin CLI and Deck make (see shared/reference/gate-api.md): JSON with
// Content-Type application/json, Spinnaker's error body {timestamp, status,
// error, message, path}, the exact statuses spin checks, percent-decoded path
// segments and CORS for Deck. Handlers call front50, orca and clouddriver over
// gRPC; the caller's identity travels in the call context.
#ifndef GENNAKER_SERVICES_GATE_GATE_REST_H_
#define GENNAKER_SERVICES_GATE_GATE_REST_H_

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>
#include <string>

#include "common/http/http.h"

namespace gennaker::gate {

struct RestBackends {
  std::shared_ptr<grpc::Channel> front50;
  std::shared_ptr<grpc::Channel> orca;
  std::shared_ptr<grpc::Channel> clouddriver;
  std::chrono::milliseconds deadline{10000};
  // Per-call deadline of orca calls.
  std::chrono::milliseconds orca_deadline{10000};
  // Per-call deadline of clouddriver calls.
  std::chrono::milliseconds clouddriver_deadline{10000};
  std::string version;
  // Origins (RE2, full match) that get CORS headers with credentials; others
  // get none.
  std::string cors_allowed_origins;
};

// All REST routes. The backends must outlive the router.
http::Router MakeRestRouter(const RestBackends& backends);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_REST_H_
