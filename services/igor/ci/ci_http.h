// What the CI clients share: one HTTP call through the outbound policy with
// CI-flavoured errors (UNAVAILABLE naming the master when it is down), and
// the mapping of an unexpected HTTP status to a status code.
#ifndef GENNAKER_SERVICES_IGOR_CI_CI_HTTP_H_
#define GENNAKER_SERVICES_IGOR_CI_CI_HTTP_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/http/http_client.h"
#include "common/spinnaker/json.h"

namespace gennaker::http {
class OutboundClient;
}

namespace gennaker::igor::internal {

// Per-call deadline of CI calls (the policy's timeout caps it).
inline constexpr int kCiTimeoutMs = 20000;

// Runs `request`; a transport failure becomes UNAVAILABLE (or
// DEADLINE_EXCEEDED) "<kind> master '<name>' (<url>) is unreachable: ...".
absl::StatusOr<http::ClientResponse> CiFetch(
    const http::OutboundClient* outbound, const std::string& kind,
    const std::string& master, http::ClientRequest request);

// An error for an HTTP answer that is not what the call expects: 404
// NOT_FOUND `what` not found, 401/403 PERMISSION_DENIED, 5xx UNAVAILABLE,
// else FAILED_PRECONDITION; the message names the master and status.
absl::Status HttpError(const std::string& kind, const std::string& master,
                       const std::string& what,
                       const http::ClientResponse& response);

// The body parsed as JSON; INTERNAL naming `what` when it does not parse.
absl::StatusOr<spinnaker::Json> ParseBody(const http::ClientResponse& response,
                                          const std::string& what);

// `base` with exactly one trailing slash.
std::string WithSlash(std::string base);

}  // namespace gennaker::igor::internal

#endif  // GENNAKER_SERVICES_IGOR_CI_CI_HTTP_H_
