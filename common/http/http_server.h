// An HTTP/1.1 server on an event loop (Boost.Asio + Boost.Beast): the one
// HTTP listener of the project (gate's REST API and UI, every service's admin
// endpoints, test fakes). Chosen over libmicrohttpd by measurement
// (bench/README.md, `http_server_bench`).
//
// Contract:
// - `threads` event loops, a thread each, serve the connections (each
//   connection stays on one loop, assigned round-robin); handlers run on
//   them, so a handler that blocks (a backend call) delays the other
//   connections of its loop, not the others. A separate thread accepts,
//   sheds and enforces deadlines, so it never waits for a handler. Handlers
//   must be thread-safe.
// - Keep-alive, pipelining, chunked request bodies and `Expect:
//   100-continue` are handled here. Bodies above `max_body_bytes` get 413
//   and header blocks above 64 KiB 431, without reaching the handler;
//   malformed requests get 400; each with a JSON body and the connection
//   closed.
// - A connection that sends nothing for `idle_timeout_seconds` is closed;
//   once a request has begun, its header must arrive within
//   `header_timeout_seconds` and its body within `idle_timeout_seconds`, and
//   a reply must be taken by the client within `idle_timeout_seconds`.
// - At most `max_connections` connections are open: further ones get 503 and
//   are closed at once; established connections are never shed. When the
//   process runs out of descriptors, accepting pauses briefly and resumes.
#ifndef GENNAKER_COMMON_HTTP_HTTP_SERVER_H_
#define GENNAKER_COMMON_HTTP_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/http/http.h"

namespace gennaker {
class Metrics;
}

namespace gennaker::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  int threads = 2;
  int64_t max_body_bytes = 4 << 20;
  int idle_timeout_seconds = 60;
  int header_timeout_seconds = 10;
  // 0: three quarters of the process's open-file limit (see
  // RaiseOpenFileLimit), at most 100,000.
  int max_connections = 0;
  Metrics* metrics = nullptr;  // optional
};

// Raises the process's soft open-file limit to its hard limit (a server
// holding 10,000 connections needs more than the usual 1,024) and returns
// the soft limit now in force. Call once at start-up.
int64_t RaiseOpenFileLimit();

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, Router router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // The connection cap in force (options.max_connections or the default).
  int max_connections() const;
  // Connections open now.
  int open_connections() const;
  // Stops accepting, closes every connection and joins the threads (a
  // handler running finishes first). Idempotent.
  void Stop();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gennaker::http

#endif  // GENNAKER_COMMON_HTTP_HTTP_SERVER_H_
