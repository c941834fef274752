#include "services/igor/ci/ci_http.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http/outbound.h"
#include "common/spinnaker/time.h"

namespace gennaker::igor::internal {

absl::StatusOr<http::ClientResponse> CiFetch(
    const http::OutboundClient* outbound, const std::string& kind,
    const std::string& master, http::ClientRequest request) {
  if (request.timeout_ms <= 0) request.timeout_ms = kCiTimeoutMs;
  const std::string url = request.url;
  absl::StatusOr<http::ClientResponse> resp =
      outbound->Fetch(std::move(request));
  if (resp.ok()) return resp;
  const absl::Status& s = resp.status();
  // Strip the query: it may carry build parameters.
  const std::string shown = url.substr(0, url.find('?'));
  if (s.code() == absl::StatusCode::kUnavailable ||
      s.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::Status(s.code(),
                        absl::StrCat(kind, " master '", master, "' (", shown,
                                     ") is unreachable: ", s.message()));
  }
  return absl::Status(
      s.code(), absl::StrCat(kind, " master '", master, "': ", s.message()));
}

absl::Status HttpError(const std::string& kind, const std::string& master,
                       const std::string& what,
                       const http::ClientResponse& response) {
  const int st = response.status;
  if (st == 404) {
    return absl::NotFoundError(
        absl::StrCat(what, " not found on ", kind, " master '", master, "'"));
  }
  // A short excerpt of the body helps (Jenkins says why it refused).
  std::string body = response.body.substr(0, 200);
  std::replace(body.begin(), body.end(), '\n', ' ');
  const std::string msg =
      absl::StrCat(kind, " master '", master, "' answered HTTP ", st, " for ",
                   what, body.empty() ? "" : ": ", body);
  if (st == 401 || st == 403) return absl::PermissionDeniedError(msg);
  if (st >= 500) return absl::UnavailableError(msg);
  return absl::FailedPreconditionError(msg);
}

absl::StatusOr<spinnaker::Json> ParseBody(const http::ClientResponse& response,
                                          const std::string& what) {
  absl::StatusOr<spinnaker::Json> j = spinnaker::ParseJson(response.body, what);
  if (!j.ok()) return absl::InternalError(j.status().message());
  return j;
}

std::string WithSlash(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/";
}

namespace {
constexpr char kNotQueuedPayload[] = "type.gennaker.dev/igor.TriggerNotQueued";
}  // namespace

absl::Status NotQueued(absl::Status status) {
  if (!status.ok()) status.SetPayload(kNotQueuedPayload, absl::Cord("1"));
  return status;
}

bool IsNotQueued(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kNotQueuedPayload).has_value();
}

absl::Status PostTransportError(absl::Status status) {
  // Only a connection that never existed is certain. (Refusals by the
  // outbound policy may come from a redirect hop after the POST reached the
  // server; the GET of the job config before the POST catches those.)
  if (status.code() != absl::StatusCode::kUnavailable) return status;
  // http::Fetch reports curl's error text; these fail before the connection
  // exists (curl says "Couldn't" or "Could not").
  const std::string m = absl::AsciiStrToLower(status.message());
  for (const char* what : {"couldn't connect", "could not connect",
                           "couldn't resolve", "could not resolve"}) {
    if (absl::StrContains(m, what)) return NotQueued(std::move(status));
  }
  return status;
}

int64_t SaneTimestampMs(int64_t ms) {
  return spinnaker::SaneEpochMs(ms) ? ms : 0;
}

int64_t SaneDurationMs(int64_t ms) {
  return std::clamp<int64_t>(ms, 0, kMaxCiDurationMs);
}

int64_t SecondsToDurationMs(int64_t seconds) {
  if (seconds <= 0) return 0;
  if (seconds > kMaxCiDurationMs / 1000) return kMaxCiDurationMs;
  return seconds * 1000;
}

}  // namespace gennaker::igor::internal
