// The one policy for HTTP calls a service makes to URLs its users supply:
// webhook stages, the expression functions #fromUrl / #jsonFromUrl /
// #propertiesFromUrl, and later notifications, CI servers and metric stores.
// Such a URL must not reach what the suite keeps private (its own gRPC and
// admin ports, PostgreSQL, Redis, the cloud's metadata service, files), so:
//   - schemes: http and https only (no file://, dict://, gopher://, ...);
//   - hosts: optionally limited by a regular expression;
//   - addresses: loopback (127.0.0.0/8, ::1, 0.0.0.0) and link-local
//     (169.254.0.0/16 with the metadata service, fe80::/10) are refused unless
//     the operator allows them, plus any CIDR the operator lists; the check is
//     made on the address actually connected to, after DNS, so a name that
//     resolves to 127.0.0.1 is refused too;
//   - ports: the suite's own ports are refused;
//   - redirects are followed by hand (at most max_redirects), each hop checked
//     again from the start; once a hop changes scheme, host or port, the
//     Authorization, Proxy-Authorization and Cookie headers are dropped for
//     it and every later hop (as curl and browsers do), so credentials for
//     one server never reach the one it redirects to;
//   - the answer is capped (max_response_bytes) and the whole call has a
//     deadline (timeout_ms), so one slow or huge target cannot hold a worker.
// URLs under one of allowed_url_prefixes (same scheme, host and port, path
// below the prefix's, no user name) skip the host, address and port checks
// (not the scheme, size and time limits): that is how an operator lets a
// pipeline call, say, a Prometheus on loopback. Calls never go through a
// proxy from the environment and never share connections, so the address
// check always sees where a request really goes.
// A refused call is PERMISSION_DENIED naming the URL and the reason; an answer
// over the cap is FAILED_PRECONDITION; transport failures are as http::Fetch's.
#ifndef GENNAKER_COMMON_HTTP_OUTBOUND_H_
#define GENNAKER_COMMON_HTTP_OUTBOUND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http/http_client.h"

namespace gennaker::http {

struct OutboundPolicy {
  std::vector<std::string> allowed_schemes = {"http", "https"};
  // RE2 the whole host must match; empty: any host.
  std::string allowed_hostnames_regex;
  bool allow_loopback = false;
  bool allow_link_local = false;
  // More addresses to refuse, as CIDRs ("10.0.0.0/8", "fd00::/8").
  std::vector<std::string> rejected_cidrs;
  // Ports refused on any host (the suite's own, by default: see
  // SuitePorts()).
  std::vector<int> rejected_ports;
  // URL prefixes the operator trusts ("http://127.0.0.1:9090/").
  std::vector<std::string> allowed_url_prefixes;
  int64_t max_response_bytes = int64_t{10} << 20;
  int timeout_ms = 10000;
  int max_redirects = 5;
};

// The default gRPC, admin and REST ports of the ten services and the ports
// of the stores halyard manages or that run by default (PostgreSQL, Redis).
std::vector<int> SuitePorts();

// The default policy: SuitePorts() refused, everything else as above.
OutboundPolicy DefaultOutboundPolicy();

class OutboundClient {
 public:
  // INVALID_ARGUMENT when the regex or a CIDR does not parse.
  static absl::StatusOr<std::unique_ptr<OutboundClient>> Create(
      OutboundPolicy policy);
  ~OutboundClient();

  // The request under the policy. request.timeout_ms is capped by the
  // policy's.
  absl::StatusOr<ClientResponse> Fetch(ClientRequest request) const;

  // Whether `url` passes the scheme, host, literal-address and port checks
  // (the connected address is checked again during Fetch).
  absl::Status CheckUrl(const std::string& url) const;

  const OutboundPolicy& policy() const { return policy_; }

 private:
  struct Compiled;
  OutboundClient(OutboundPolicy policy, std::unique_ptr<Compiled> compiled);
  bool Trusted(const std::string& url) const;

  OutboundPolicy policy_;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace gennaker::http

#endif  // GENNAKER_COMMON_HTTP_OUTBOUND_H_
