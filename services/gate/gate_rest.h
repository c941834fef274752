// gate's REST/JSON API, compatible with Spinnaker's Gate for the requests the
// spin CLI and Deck make: JSON with
// Content-Type application/json, Spinnaker's error body {timestamp, status,
// error, message, path}, the exact statuses spin checks, percent-decoded path
// segments and CORS for Deck (on every answer, errors included). Writes (POST,
// PUT, PATCH, DELETE) take JSON bodies only (415) and are refused (403) from
// an Origin the CORS allow-list does not take; {app} must be a valid
// application name (400). Unknown routes are 404, known paths with another
// method 405. Every route has an authorization policy (gate_authz.h); with
// security on (RestOptions::authenticator) a route that is not open needs a
// login (401), and POST /login, GET /login, /auth/user, /auth/redirect and
// /auth/logout drive sessions (gate_auth.h). Handlers call front50, orca and
// clouddriver over gRPC; the caller's identity travels in the call context,
// with a request id that gRPC can carry (a client's unusable X-Request-Id is
// replaced).
#ifndef GENNAKER_SERVICES_GATE_GATE_REST_H_
#define GENNAKER_SERVICES_GATE_GATE_REST_H_

#include <memory>
#include <string>

#include "common/http/http.h"
#include "services/gate/gate_auth.h"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {

struct RestOptions {
  // Reported by GET /version.
  std::string version;
  // Origins (RE2, full match) that get CORS headers with credentials and may
  // write; others get no CORS headers and their writes are refused.
  std::string cors_allowed_origins;
  // Who the caller is; null or disabled: security off, everyone is
  // anonymous.
  std::shared_ptr<Authenticator> authenticator;
};

// All REST routes, calling `backends`, which the routes keep alive.
http::Router MakeRestRouter(std::shared_ptr<const Backends> backends,
                            const RestOptions& options);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_REST_H_
