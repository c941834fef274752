// gate's one reading of a REST request, shared by every route so that a
// parameter or body means the same on each: query booleans as Spring converts
// them, positive integers, comma-separated lists, and JSON object bodies. A
// malformed value is INVALID_ARGUMENT (HTTP 400) naming what was wrong.
#ifndef GENNAKER_SERVICES_GATE_REQUEST_H_
#define GENNAKER_SERVICES_GATE_REQUEST_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http.h"
#include "common/spinnaker/json.h"

namespace gennaker::gate {

// Typed query parameters, read as every HTTP listener reads them.
using http::QueryBool;
using http::QueryPositiveInt;

// `text` (a request body, or the trigger a gRPC caller sent, named `what`)
// parsed as a JSON object. Empty or white space is {} when `empty_is_object`,
// else "<what> is required"; JSON nested deeper than
// spinnaker::kMaxJsonDepth is refused before parsing; then "<what> is not
// valid JSON" or "<what> must be a JSON object".
absl::StatusOr<spinnaker::Json> ParseJsonObjectBody(absl::string_view text,
                                                    absl::string_view what,
                                                    bool empty_is_object);

// Whether `content_type` (a Content-Type header value) names JSON:
// application/json or any */*+json type, parameters such as charset ignored,
// in any case.
bool IsJsonContentType(absl::string_view content_type);

// Whether `origin` ("https://host[:port]") names the host the request was
// sent to (its Host, or X-Forwarded-Host behind a proxy): a browser sends
// Origin on same-origin writes too, so Deck served beside gate under one host
// needs no allow-list entry.
bool SameOrigin(const http::Request& r, const std::string& origin);

// Why a state-changing request (POST, PUT, PATCH, DELETE) is refused as a
// possible cross-site write, or OK: an Origin header that is not SameOrigin
// and that `origin_allowed` refuses is PERMISSION_DENIED "origin not allowed"
// (requests without Origin,
// from spin or curl, pass); a non-empty body that is not labelled JSON (or
// not labelled at all) is FAILED_PRECONDITION naming the type (gate answers
// 415), as browsers send such bodies cross-site without asking first. An
// empty body passes whatever its label. Other methods are always OK.
absl::Status CheckWrite(
    const http::Request& r,
    const std::function<bool(const std::string&)>& origin_allowed);

// The longest value gate forwards as gRPC metadata (request id, user).
inline constexpr size_t kMaxRequestIdLength = 128;
inline constexpr size_t kMaxForwardedValueLength = 1024;

// `id` when it can travel as a request id (1 to 128 characters of
// [A-Za-z0-9._:-]), else a fresh id: a client's value never becomes a gRPC
// metadata error.
std::string ForwardableRequestId(const std::string& id);

// `value` when it can travel as gRPC metadata (at most
// kMaxForwardedValueLength printable ASCII characters), else "".
std::string ForwardableValue(const std::string& value);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_REQUEST_H_
