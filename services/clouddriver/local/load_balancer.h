// The `local` provider's load balancer: an HTTP reverse proxy on its listener
// port that sends each request to the next backend, round-robin, among the
// backends `targets` returns at that moment (the Up instances of the enabled
// server groups attached to it). Taking a server group out of the list
// drains it: requests already forwarded finish; new ones go elsewhere. A
// request whose backend cannot be reached is tried on the next backend
// (connection failures only, so a request is never processed twice by
// design). With no backend: 503 with a JSON message.
//
// Ingress rules (a security group) are enforced here: when `allowed_cidrs` is
// non-empty, clients outside every CIDR get 403.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOAD_BALANCER_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOAD_BALANCER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http/http_server.h"

namespace gennaker::clouddriver::local {

struct Target {
  std::string server_group;
  std::string instance_id;
  int port = 0;
};

struct LoadBalancerOptions {
  std::string name;
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  int threads = 8;
  int request_timeout_ms = 30000;
  std::vector<std::string> allowed_cidrs;  // IPv4 "a.b.c.d/n"; empty: all
};

// True when `ip` (dotted IPv4) is inside `cidr`; INVALID_ARGUMENT for a
// malformed CIDR.
absl::StatusOr<bool> InCidr(const std::string& ip, const std::string& cidr);

class LoadBalancer {
 public:
  using Targets = std::function<std::vector<Target>()>;
  static absl::StatusOr<std::unique_ptr<LoadBalancer>> Start(
      LoadBalancerOptions options, Targets targets);
  int port() const { return server_->port(); }

 private:
  LoadBalancer(LoadBalancerOptions options, Targets targets)
      : options_(std::move(options)), targets_(std::move(targets)) {}
  http::Response Proxy(const http::Request& request);

  LoadBalancerOptions options_;
  Targets targets_;
  std::atomic<uint64_t> next_{0};
  std::unique_ptr<http::Server> server_;
};

}  // namespace gennaker::clouddriver::local

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOAD_BALANCER_H_
