// The `local` provider's load balancer: an HTTP/1.1 reverse proxy on its
// listener port (a thread per client connection, keep-alive on both sides,
// plain sockets) that sends each request to the next backend, round-robin,
// among the
// backends `targets` returns at that moment (the Up instances of the enabled
// server groups attached to it). Taking a server group out of the list
// drains it: requests already forwarded finish; new ones go elsewhere. A
// request whose backend cannot be reached is tried on the next backend
// only when nothing can have reached it (connection refused, or a stale
// kept-alive connection for an idempotent method), so a request is never
// processed twice by design. With no backend: 503 with a JSON message.
//
// Ingress rules (a security group) are enforced here: when `allowed_cidrs` is
// non-empty, clients outside every CIDR get 403.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOAD_BALANCER_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOAD_BALANCER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
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
};

// True when `ip` (dotted IPv4) is inside `cidr`; INVALID_ARGUMENT for a
// malformed CIDR.
absl::StatusOr<bool> InCidr(const std::string& ip, const std::string& cidr);

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
  // enabled, disabled, resized or an instance changed health); connections
  // otherwise reuse their last answer for up to 250 ms.
  void TargetsChanged() { generation_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  LoadBalancer(LoadBalancerOptions options, Targets targets)
      : options_(std::move(options)), targets_(std::move(targets)) {}
  void Accept();
  // Serves one client connection (HTTP/1.1 keep-alive) until it closes.
  void Serve(int client, std::string peer);

  LoadBalancerOptions options_;
  Targets targets_;
  std::atomic<uint64_t> next_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> firewalled_{false};  // allowed_cidrs_ is not empty
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<int> clients_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> allowed_cidrs_ ABSL_GUARDED_BY(mu_);
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gennaker::clouddriver::local

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOAD_BALANCER_H_
