// gate's one reading of a REST request, shared by every route so that a
// parameter or body means the same on each: query booleans as Spring converts
// them, positive integers, comma-separated lists, and JSON object bodies. A
// malformed value is INVALID_ARGUMENT (HTTP 400) naming what was wrong.
#ifndef GENNAKER_SERVICES_GATE_REQUEST_H_
#define GENNAKER_SERVICES_GATE_REQUEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http.h"
#include "common/spinnaker/json.h"

namespace gennaker::gate {

// The boolean parameter `name`: true/false, yes/no, on/off or 1/0, in any
// case, surrounding spaces ignored; absent or empty is `fallback`; anything
// else INVALID_ARGUMENT "query parameter 'name' must be true or false".
absl::StatusOr<bool> QueryBool(const http::Request& r, const std::string& name,
                               bool fallback);

// The positive integer parameter `name`; absent or empty is `fallback`;
// anything else INVALID_ARGUMENT "query parameter 'name' must be a positive
// integer".
absl::StatusOr<int> QueryPositiveInt(const http::Request& r,
                                     const std::string& name, int fallback);

// The comma-separated values of every `name` parameter, in order, each
// trimmed, empty ones dropped.
std::vector<std::string> QueryList(const http::Request& r,
                                   const std::string& name);

// `text` (a request body, or the trigger a gRPC caller sent, named `what`)
// parsed as a JSON object. Empty or white space is {} when `empty_is_object`,
// else "<what> is required"; JSON nested deeper than
// spinnaker::kMaxJsonDepth is refused before parsing; then "<what> is not
// valid JSON" or "<what> must be a JSON object".
absl::StatusOr<spinnaker::Json> ParseJsonObjectBody(absl::string_view text,
                                                    absl::string_view what,
                                                    bool empty_is_object);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_REQUEST_H_
