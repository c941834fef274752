// The gRPC server every service runs: listens on the configured address, serves
// the standard health protocol (grpc.health.v1) and reflection (so grpcurl
// works), installs the shared interceptors, and shuts down gracefully with a
// deadline.
#ifndef GENNAKER_COMMON_GRPC_GRPC_SERVER_H_
#define GENNAKER_COMMON_GRPC_GRPC_SERVER_H_

#include <grpcpp/server.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gennaker {

class Metrics;

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  Metrics* metrics = nullptr;
  std::string unimplemented_area;  // named in UNIMPLEMENTED replies
  // Largest message received or sent (server.maxMessageBytes); 0: gRPC's
  // default (4 MiB received).
  int max_message_bytes = 0;
  // Health at start: SERVING, or NOT_SERVING until SetServing(true) (a
  // service whose other listeners start after the gRPC server).
  bool serving_at_start = true;
};

class GrpcServer {
 public:
  // Starts serving `services` (not owned; must outlive the server). Health
  // starts as options.serving_at_start says.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options,
      const std::vector<grpc::Service*>& services);
  ~GrpcServer();

  int port() const { return port_; }
  // Sets the health status of the server ("") and of every registered service.
  void SetServing(bool serving);
  bool serving() const { return serving_; }
  // Stops accepting calls; in-flight calls get until `grace` to finish, then
  // are cancelled.
  void Shutdown(std::chrono::milliseconds grace);
  // Blocks until Shutdown has completed.
  void Wait();

 private:
  GrpcServer() = default;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<bool> serving_{false};  // read by the admin listener's threads
};

}  // namespace gennaker

#endif  // GENNAKER_COMMON_GRPC_GRPC_SERVER_H_
