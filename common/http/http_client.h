// A blocking HTTP client on libcurl, for calls to the outside world (webhooks,
// CI servers, metric stores) and for tests. Thread-safe: each call uses its own
// handle.
#ifndef GENNAKER_COMMON_HTTP_HTTP_CLIENT_H_
#define GENNAKER_COMMON_HTTP_HTTP_CLIENT_H_

#include <sys/socket.h>

#include <cstdint>
#include <functional>
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
  // An answer larger than this many bytes fails the call with
  // FAILED_PRECONDITION; 0: no limit.
  int64_t max_response_bytes = 0;
  // Schemes the call may use, as curl names them ("http,https"); empty: any
  // curl knows.
  std::string protocols;
  // Asked before each connection with the address it goes to: an empty
  // answer lets it through, else the call fails with PERMISSION_DENIED and
  // that reason.
  std::function<std::string(const sockaddr* address, socklen_t length)>
      address_filter;
  // Connect straight to the URL's host (no http_proxy / https_proxy from the
  // environment, whose address the filter would check instead) on a
  // connection of its own, neither reused from nor left for another call (a
  // reused connection skips the address filter).
  bool isolated = false;
  // Names pinned to addresses instead of asking DNS, as curl's --resolve
  // ("host:port:address").
  std::vector<std::string> resolve;
};

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// Performs the request; redirects are not followed. Transport failures
// (refused, timeout) are UNAVAILABLE or DEADLINE_EXCEEDED; any HTTP status,
// including 3xx/4xx/5xx, is a successful result. For URLs users supply, use
// OutboundClient (outbound.h), which applies the suite's outbound policy.
absl::StatusOr<ClientResponse> Fetch(const ClientRequest& request);

}  // namespace gennaker::http

#endif  // GENNAKER_COMMON_HTTP_HTTP_CLIENT_H_
