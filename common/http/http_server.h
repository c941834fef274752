// An HTTP/1.1 server on libmicrohttpd (epoll, internal thread pool): the one
// HTTP listener of the project (gate's REST API and every service's admin
// endpoints). Request bodies above `max_body_bytes` get 413 without reaching
// the handler. Handlers run on the pool threads and must be thread-safe.
#ifndef GENNAKER_COMMON_HTTP_HTTP_SERVER_H_
#define GENNAKER_COMMON_HTTP_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/http/http.h"

struct MHD_Daemon;

namespace gennaker {
class Metrics;
}

namespace gennaker::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  int threads = 2;
  int64_t max_body_bytes = 4 << 20;
  int connection_timeout_seconds = 60;
  Metrics* metrics = nullptr;  // optional
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, Router router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const { return port_; }
  // Stops accepting connections and joins the threads. Idempotent.
  void Stop();

  // Internal: called by the libmicrohttpd callbacks.
  struct Connection;
  Response Handle(Request& request) const;
  const ServerOptions& options() const { return options_; }

 private:
  Server(ServerOptions options, Router router)
      : options_(std::move(options)), router_(std::move(router)) {}
  ServerOptions options_;
  Router router_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace gennaker::http

#endif  // GENNAKER_COMMON_HTTP_HTTP_SERVER_H_
