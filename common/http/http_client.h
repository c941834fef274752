// A blocking HTTP client on libcurl, for calls to the outside world (webhooks,
// CI servers, metric stores) and for tests. Thread-safe: each call uses its own
// handle.
#ifndef GENNAKER_COMMON_HTTP_HTTP_CLIENT_H_
#define GENNAKER_COMMON_HTTP_HTTP_CLIENT_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace gennaker::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int timeout_ms = 10000;
};

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// Performs the request. Transport failures (refused, timeout) are UNAVAILABLE
// or DEADLINE_EXCEEDED; any HTTP status, including 4xx/5xx, is a successful
// result.
absl::StatusOr<ClientResponse> Fetch(const ClientRequest& request);

}  // namespace gennaker::http

#endif  // GENNAKER_COMMON_HTTP_HTTP_CLIENT_H_
