// HTTP types and routing shared by every HTTP listener (gate's REST API, admin
// endpoints). Errors use Spinnaker Gate's body: {timestamp, status, error,
// message, path}.
#ifndef GENNAKER_COMMON_HTTP_HTTP_H_
#define GENNAKER_COMMON_HTTP_HTTP_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gennaker::http {

struct Request {
  std::string method;                             // "GET", "POST", ...
  std::string path;                               // raw (still percent-encoded)
  std::multimap<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> headers;     // names lower-cased
  std::map<std::string, std::string>
      params;  // decoded {name} segments of the route
  std::string body;
  std::string remote_address;  // the client's IP ("" when unknown)

  // First query value of `name`, or `fallback`.
  std::string Query(const std::string& name,
                    const std::string& fallback = "") const;
  // Header value (name lower-case) or "".
  std::string Header(const std::string& name) const;
  // The comma-separated values of every `name` parameter, in order, each
  // trimmed, empty ones dropped (Spring's binding of a list parameter).
  std::vector<std::string> QueryList(const std::string& name) const;
};

// `text` with &, <, >, " and ' as HTML entities (for text put into HTML
// pages gate and echo build).
std::string HtmlEscape(std::string_view text);

// The boolean parameter `name`: true/false, yes/no, on/off or 1/0, in any
// case, surrounding spaces ignored; absent or empty is `fallback`; anything
// else INVALID_ARGUMENT "query parameter 'name' must be true or false".
absl::StatusOr<bool> QueryBool(const Request& r, const std::string& name,
                               bool fallback);

// The positive integer parameter `name`; absent or empty is `fallback`;
// anything else INVALID_ARGUMENT "query parameter 'name' must be a positive
// integer".
absl::StatusOr<int> QueryPositiveInt(const Request& r, const std::string& name,
                                     int fallback);

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // When set, sent instead of `body` without copying (for large cached
  // responses).
  std::shared_ptr<const std::string> shared_body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using Handler = std::function<Response(const Request&)>;

// A JSON response.
Response Json(int status, std::string body);
// A JSON response whose body is shared, not copied.
Response SharedJson(int status, std::shared_ptr<const std::string> body);
// Spinnaker's error body for `status` with `message`, for the request at
// `path`.
Response Error(int status, absl::string_view message, absl::string_view path);
// The same from an absl::Status (code mapped with HttpStatusFromCode).
Response ErrorFromStatus(const absl::Status& status, absl::string_view path);
// Reason phrase of an HTTP status ("Not Found").
absl::string_view ReasonPhrase(int status);
// Percent-decodes `in`; with `plus_is_space`, '+' becomes ' ' (query strings).
std::string PercentDecode(absl::string_view in, bool plus_is_space = false);
// Percent-encodes everything but unreserved characters.
std::string PercentEncode(absl::string_view in);

// Routes "METHOD /a/{name}/b" patterns to handlers. {name} matches one path
// segment (percent-decoded); a trailing "/**" matches the rest. Unknown path:
// 404; known path with another method: 405. Not thread-safe while routes are
// added; Dispatch is const.
class Router {
 public:
  void Add(absl::string_view method, absl::string_view pattern,
           Handler handler);
  // Runs the matching handler. `matched_pattern`, when given, receives the
  // route's pattern (or "unmatched"), a low-cardinality label for metrics.
  Response Dispatch(Request& request,
                    std::string* matched_pattern = nullptr) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  const Route* Match(Request& request, bool* path_known) const;
  std::vector<Route> routes_;
};

}  // namespace gennaker::http

#endif  // GENNAKER_COMMON_HTTP_HTTP_H_
