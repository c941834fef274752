// The `local` provider's load balancer: an HTTP/1.1 reverse proxy on its
// listener port that sends each request to the next backend, round-robin,
// among the backends `targets` returns (the Up instances of the enabled
// server groups attached to it). It runs on one or two event loops
// (Boost.Asio, HTTP framing by Boost.Beast) with keep-alive on both sides: a
// pool of idle instance connections per loop and backend port.
//
// Taking a server group out of the list drains it: requests already
// forwarded finish; new ones go elsewhere. A request whose backend cannot be
// reached is tried on the next backend only when nothing can have reached it
// (connection refused, or a stale kept-alive connection for an idempotent
// method), so a request is never processed twice by design. With no backend:
// 503 with a JSON message; a backend that does not answer within
// request_timeout_ms: 504; a client that does not send a whole request within
// idle_timeout_ms is disconnected. Past max_connections, new connections get
// 503 and are closed; established ones are untouched.
//
// Ingress rules (a security group) are enforced here, per request: when
// `allowed_cidrs` is non-empty, clients outside every CIDR get 403.
//
// Thread-safety: every public method may be called from any thread; the
// destructor closes every connection and joins the loops (it does not wait
// for requests in flight).
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOAD_BALANCER_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOAD_BALANCER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

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
  int request_timeout_ms = 30000;
  int idle_timeout_ms = 60000;  // to receive a whole request
  int max_connections = 512;    // more are refused with 503
  int64_t max_body_bytes = 16 << 20;
  std::vector<std::string> allowed_cidrs;  // IPv4 "a.b.c.d/n"; empty: all
  int threads = 1;  // event loops (1 or 2), see bench/README.md
};

// True when `ip` (dotted IPv4) is inside `cidr`; INVALID_ARGUMENT for a
// malformed CIDR.
absl::StatusOr<bool> InCidr(const std::string& ip, const std::string& cidr);

class LoadBalancerCore;  // the event loops (load_balancer.cc)

class LoadBalancer {
 public:
  using Targets = std::function<std::vector<Target>()>;
  static absl::StatusOr<std::unique_ptr<LoadBalancer>> Start(
      LoadBalancerOptions options, Targets targets);
  ~LoadBalancer();  // closes the listener and every connection
  int port() const { return port_; }
  // Replaces the firewall's allowed CIDRs (empty: all); INVALID_ARGUMENT for
  // a malformed CIDR, leaving the old ones in force.
  absl::Status SetAllowedCidrs(std::vector<std::string> cidrs);
  // Tells the proxy that `targets` may answer differently now (a group was
  // enabled, disabled, resized or an instance changed health); each loop
  // otherwise reuses its last answer for up to 250 ms.
  void TargetsChanged() { generation_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  friend class LoadBalancerCore;
  LoadBalancer(LoadBalancerOptions options, Targets targets);
  // True when the firewall lets `peer` (dotted IPv4) in.
  bool Allowed(const std::string& peer);

  LoadBalancerOptions options_;
  Targets targets_;
  std::atomic<uint64_t> next_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> firewalled_{false};  // allowed_cidrs_ is not empty
  std::atomic<int> active_{0};           // client connections served
  int port_ = 0;
  absl::Mutex mu_;
  std::vector<std::string> allowed_cidrs_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<LoadBalancerCore> core_;
};

}  // namespace gennaker::clouddriver::local

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOAD_BALANCER_H_
