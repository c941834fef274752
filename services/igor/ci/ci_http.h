// What the CI clients share: one HTTP call through the outbound policy with
// CI-flavoured errors (UNAVAILABLE naming the master when it is down), and
// the mapping of an unexpected HTTP status to a status code.
#ifndef GENNAKER_SERVICES_IGOR_CI_CI_HTTP_H_
#define GENNAKER_SERVICES_IGOR_CI_CI_HTTP_H_

#include <cstdint>
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

// --- Did a failed trigger reach the CI server? ---
// A BuildService's TriggerBuild failure is taken as AMBIGUOUS (the server
// may have queued the build: a POST that timed out or was reset after it
// was sent, an answer without a queue id) unless it carries this mark,
// which says the request provably never queued anything: it failed before
// the POST was sent (bad job name, no CSRF crumb, connection refused,
// refused by the outbound policy) or the server refused it with a 4xx.
// IgorCore lets a retry with the same idempotency key queue again only
// after a marked failure (a Status payload, so that the contract of
// BuildService keeps its signature).
absl::Status NotQueued(absl::Status status);
bool IsNotQueued(const absl::Status& status);
// A transport failure of a POST (from CiFetch): marked NotQueued when no
// connection was made (refused, name not resolved); timeouts, resets and
// the rest stay ambiguous.
absl::Status PostTransportError(absl::Status status);

// --- Times from CI answers (hostile values must not overflow) ---
// Largest duration kept: 1000 years. Sums and differences with a sane epoch
// instant (spinnaker::SaneEpochMs) stay far from int64's limits.
inline constexpr int64_t kMaxCiDurationMs = int64_t{1000} * 366 * 86400000;
// `ms` when it lies within spinnaker::SaneEpochMs, else 0 (unknown).
int64_t SaneTimestampMs(int64_t ms);
// `ms` clamped to [0, kMaxCiDurationMs].
int64_t SaneDurationMs(int64_t ms);
// `seconds` * 1000, clamped to [0, kMaxCiDurationMs] (never overflows).
int64_t SecondsToDurationMs(int64_t seconds);

}  // namespace gennaker::igor::internal

#endif  // GENNAKER_SERVICES_IGOR_CI_CI_HTTP_H_
