#include "common/http/http_server.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"

namespace gennaker::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
// A concrete executor type (not asio's type-erased any_io_executor, which
// costs a few percent of a request in copies and dispatch).
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

namespace {

constexpr size_t kMaxHeaderBytes = 64 << 10;
// The first read of a request: enough for most request heads. The buffer is
// released while a connection waits idle, so 10,000 idle connections hold no
// buffers.
constexpr size_t kFirstReadBytes = 2048;
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);
constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr int64_t kLingerMs = 2000;
// Beast 1.74 stores a field's name and value in at most 65,535 bytes.
constexpr size_t kMaxFieldBytes = 60000;
constexpr auto kSweepInterval = std::chrono::milliseconds(250);
constexpr size_t kLingerBytes = 4 << 20;

// Keeps the query string out of the path and decodes the query into `out`
// (Spring's binding: '+' is a space in the query).
void SplitTarget(absl::string_view target, Request* out) {
  size_t q = target.find('?');
  out->path = std::string(target.substr(0, q));
  if (q == absl::string_view::npos) return;
  for (absl::string_view pair :
       absl::StrSplit(target.substr(q + 1), '&', absl::SkipEmpty())) {
    size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) {
      out->query.emplace(PercentDecode(pair, true), "");
    } else {
      out->query.emplace(PercentDecode(pair.substr(0, eq), true),
                         PercentDecode(pair.substr(eq + 1), true));
    }
  }
}

// A complete canned reply for refusals written before any parsing state
// exists (the connection cap).
std::string CannedReply(int status, absl::string_view message) {
  std::string body =
      absl::StrCat(R"({"status":)", status, R"(,"error":")",
                   ReasonPhrase(status), R"(","message":")", message, "\"}");
  return absl::StrCat("HTTP/1.1 ", status, " ", ReasonPhrase(status),
                      "\r\nContent-Type: application/json\r\nContent-Length: ",
                      body.size(), "\r\nConnection: close\r\n\r\n", body);
}

}  // namespace

int64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? int64_t{1} << 20
                                         : static_cast<int64_t>(limit.rlim_cur);
}

namespace {
class Session;
}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, Router router)
      : options_(std::move(options)),
        router_(std::move(router)),
        loops_(static_cast<size_t>(std::max(1, options_.threads))) {
    listener_.emplace(listen_loop_->io);
  }

  absl::Status Listen();
  void Run();
  void Stop();
  Response Handle(Request& request) const;

  const ServerOptions& options() const { return options_; }
  int port() const { return port_; }
  int max_connections() const { return max_connections_; }
  int open_connections() const { return open_.load(std::memory_order_relaxed); }
  // Requests between their complete header and their reply's last byte.
  void RequestBegins() { busy_.fetch_add(1, std::memory_order_relaxed); }
  void RequestEnds() { busy_.fetch_sub(1, std::memory_order_relaxed); }
  // Open connections, for the deadline sweep. A session leaves before it
  // closes its socket, so the sweep never touches a reused descriptor.
  void Register(Session* session);
  void Unregister(Session* session);

 private:
  void RunLoop(asio::io_context& io);
  void Accept();
  void OnAccept(beast::error_code ec, Socket socket);
  void Sweep();

  // One io_context per thread: a connection lives on one loop, so its
  // handlers never hop threads and the loops share no scheduler lock or
  // wake-ups (measured: a shared io_context run by 2 threads costs ~25 % more
  // CPU per request than one thread).
  struct Loop {
    Loop() : io(1), work(io.get_executor()) {}
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work;
  };
  // The listener's I/O objects, on a loop of their own: a handler that
  // blocks a connection loop must not stop new connections from being
  // accepted (or shed) and deadlines from being swept. They die before it.
  struct Listener {
    explicit Listener(asio::io_context& io)
        : acceptor(io), backoff(io), sweep(io) {}
    tcp::acceptor acceptor;
    asio::steady_timer backoff;
    asio::steady_timer sweep;
  };

  ServerOptions options_;
  Router router_;
  std::unique_ptr<Loop> listen_loop_ = std::make_unique<Loop>();
  std::vector<Loop> loops_;
  std::optional<Listener> listener_;
  size_t next_loop_ = 0;  // round-robin for new connections (listen loop)
  std::vector<std::thread> threads_;
  std::atomic<int> open_{0};
  std::atomic<int> busy_{0};
  absl::Mutex sessions_mu_;
  absl::flat_hash_set<Session*> sessions_ ABSL_GUARDED_BY(sessions_mu_);
  int max_connections_ = 0;
  int port_ = 0;
  bool stopped_ = false;
};

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One client connection. At most one operation is outstanding at a time, so
// its handlers never run concurrently (no strand needed). Timeouts are a
// deadline the server's sweep enforces by shutting the socket down, which
// fails the pending operation: no timer per operation.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl* server, Socket socket)
      : server_(server), socket_(std::move(socket)) {
    beast::error_code ec;
    tcp::endpoint peer = socket_.remote_endpoint(ec);
    if (!ec) remote_address_ = peer.address().to_string();
    socket_.set_option(tcp::no_delay(true), ec);
    // Counted and swept from the moment it is accepted, even while its loop
    // is busy with a blocking handler and has not started it yet.
    ExpireIn(server_->options().idle_timeout_seconds);
    server_->Register(this);
    registered_ = true;
  }
  ~Session() {
    if (registered_) server_->Unregister(this);
    if (busy_) server_->RequestEnds();
  }

  Socket::executor_type executor() { return socket_.get_executor(); }

  void Start() { WaitForRequest(); }

  // Called by the sweep with the server's session lock held.
  void ShutDownIfExpired(int64_t now_ms) {
    int64_t deadline = deadline_ms_.load(std::memory_order_relaxed);
    if (deadline == 0 || now_ms < deadline) return;
    // Only if the loop did not move the deadline (or enter a handler) since.
    if (deadline_ms_.compare_exchange_strong(deadline, 0,
                                             std::memory_order_relaxed)) {
      ::shutdown(socket_.native_handle(), SHUT_RDWR);
    }
  }
  // Called by Stop with the server's session lock held.
  void ShutDown() { ::shutdown(socket_.native_handle(), SHUT_RDWR); }

 private:
  void ExpireIn(int seconds) {
    deadline_ms_.store(NowMs() + int64_t{seconds} * 1000,
                       std::memory_order_relaxed);
  }

  // Waits (up to the idle timeout) for the first bytes of the next request,
  // unless pipelined bytes are already buffered.
  void WaitForRequest() {
    if (buffer_.size() > 0) return ReadHeader();
    buffer_.shrink_to_fit();  // idle connections hold no buffer
    ExpireIn(server_->options().idle_timeout_seconds);
    socket_.async_read_some(
        buffer_.prepare(kFirstReadBytes),
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) return self->Close();
          self->buffer_.commit(n);
          self->ReadHeader();
        });
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    const int64_t limit = server_->options().max_body_bytes;
    parser_->body_limit(static_cast<uint64_t>(std::max<int64_t>(0, limit)));
    ExpireIn(server_->options().header_timeout_seconds);
    bhttp::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          self->OnHeader(ec);
        });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      return Refuse(431, absl::StrCat("Request header block exceeds ",
                                      kMaxHeaderBytes, " bytes"));
    }
    if (ec == bhttp::error::body_limit) {
      // A Content-Length above the limit is caught with the header.
      return Refuse(413,
                    absl::StrCat("Request body exceeds the limit of ",
                                 server_->options().max_body_bytes, " bytes"));
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted || ec == asio::error::shut_down ||
        ec == asio::error::broken_pipe) {
      return Close();
    }
    if (ec) {
      return Refuse(400, absl::StrCat("Malformed request: ", ec.message()));
    }
    if (parser_->is_done()) return Dispatch();
    ExpireIn(server_->options().idle_timeout_seconds);
    const auto& header = parser_->get();
    auto expect = header.find(bhttp::field::expect);
    if (expect != header.end() && buffer_.size() == 0 &&
        header.version() >= 11 &&
        absl::EqualsIgnoreCase(
            absl::string_view(expect->value().data(), expect->value().size()),
            "100-continue")) {
      static constexpr absl::string_view kContinue =
          "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(
          socket_, asio::buffer(kContinue.data(), kContinue.size()),
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (ec) return self->Close();
            self->ReadBody();
          });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec == bhttp::error::body_limit) {
            return self->Refuse(
                413, absl::StrCat("Request body exceeds the limit of ",
                                  self->server_->options().max_body_bytes,
                                  " bytes"));
          }
          if (ec) return self->Close();
          self->Dispatch();
        });
  }

  void Dispatch() {
    deadline_ms_.store(0, std::memory_order_relaxed);  // handlers: no limit
    // Stop() waits for requests from here to their reply's last byte.
    server_->RequestBegins();
    busy_ = true;
    bhttp::request<bhttp::string_body>& in = parser_->get();
    Request request;
    request.method = std::string(in.method_string());
    SplitTarget(absl::string_view(in.target().data(), in.target().size()),
                &request);
    for (const auto& field : in) {
      request.headers[absl::AsciiStrToLower(absl::string_view(
          field.name_string().data(), field.name_string().size()))] =
          std::string(field.value());
    }
    request.body = std::move(in.body());
    request.remote_address = remote_address_;
    keep_alive_ = in.keep_alive();
    version_ = in.version();
    head_ = in.method() == bhttp::verb::head;
    parser_.reset();
    Response response;
    try {
      response = server_->Handle(request);
    } catch (...) {
      response = Json(500, R"({"status":500,"error":"Internal Server Error"})");
    }
    Write(std::move(response));
  }

  // A header a handler set may go out only if it cannot split the reply (CR,
  // LF or NUL in it, or a name that is not a token) and fits Beast's field
  // size (a longer one would throw out of the event loop). Otherwise it is
  // dropped and logged (without its value: it may carry what a client sent).
  static bool SafeHeader(absl::string_view name, absl::string_view value) {
    bool ok = !name.empty() && name.size() + value.size() < kMaxFieldBytes;
    for (char c : name) {
      ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  absl::string_view("!#$%&'*+-.^_`|~").find(c) !=
                      absl::string_view::npos);
    }
    for (char c : value) ok = ok && c != '\r' && c != '\n' && c != '\0';
    if (!ok) {
      SPDLOG_ERROR(
          "event=http_bad_response_header name_bytes={} value_bytes={} "
          "dropped=true",
          name.size(), value.size());
    }
    return ok;
  }

  // Answers with an error and closes (the rest of the request is not read).
  void Refuse(int status, const std::string& message) {
    keep_alive_ = false;
    linger_ = true;
    version_ = 11;
    head_ = false;
    std::string path;
    if (parser_.has_value()) {
      auto target = parser_->get().target();
      path = std::string(target.substr(0, target.find('?')));
    }
    parser_.reset();
    Write(Error(status, message, path));
  }

  void Write(Response response) {
    response_ = std::move(response);
    const std::string& body =
        response_.shared_body ? *response_.shared_body : response_.body;
    out_.emplace();
    auto& out = *out_;
    out.version(version_);
    out.result(static_cast<unsigned>(response_.status));
    const bool bodiless = response_.status == 204 || response_.status == 304 ||
                          response_.status < 200;
    if ((!body.empty() || response_.status != 204) &&
        SafeHeader("content-type", response_.content_type)) {
      out.set(bhttp::field::content_type, response_.content_type);
    }
    for (const auto& [k, v] : response_.headers) {
      if (SafeHeader(k, v)) out.insert(k, v);
    }
    out.keep_alive(keep_alive_);
    if (!bodiless) {
      // HEAD: the length a GET would get, and no body.
      out.content_length(body.size());
      if (!head_) {
        out.body() =
            bhttp::span_body<const char>::value_type(body.data(), body.size());
      }
    }
    ExpireIn(server_->options().idle_timeout_seconds);
    bhttp::async_write(
        socket_, out,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          self->out_.reset();
          self->response_ = Response();
          if (self->busy_) {
            self->busy_ = false;
            self->server_->RequestEnds();
          }
          if (!ec && self->linger_) return self->Linger();
          if (ec || !self->keep_alive_) return self->Close();
          self->WaitForRequest();
        });
  }

  // After a refusal the client may still be sending the request: closing
  // with unread bytes would reset the connection and could destroy the
  // reply before the client reads it. Read and drop what comes (bounded),
  // then close.
  void Linger() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    buffer_.clear();
    buffer_.shrink_to_fit();
    deadline_ms_.store(NowMs() + kLingerMs, std::memory_order_relaxed);
    DrainSome(kLingerBytes);
  }

  void DrainSome(size_t left) {
    if (left == 0) return Close();
    socket_.async_read_some(
        buffer_.prepare(std::min<size_t>(left, 16384)),
        [self = shared_from_this(), left](beast::error_code ec, size_t n) {
          if (ec) return self->Close();
          self->buffer_.clear();
          self->DrainSome(left - std::min(left, n));
        });
  }

  void Close() {
    if (registered_) {
      server_->Unregister(this);
      registered_ = false;
    }
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  Server::Impl* server_;
  Socket socket_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::span_body<const char>>> out_;
  Response response_;  // owns the bytes `out_` points into while writing
  std::string remote_address_;
  std::atomic<int64_t> deadline_ms_{0};  // steady ms; 0: none
  bool registered_ = false;
  bool keep_alive_ = false;
  bool busy_ = false;    // counted in the server's requests in flight
  bool linger_ = false;  // the request was refused before it was read
  bool head_ = false;
  unsigned version_ = 11;
};

}  // namespace

void Server::Impl::Register(Session* session) {
  open_.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&sessions_mu_);
  sessions_.insert(session);
}

void Server::Impl::Unregister(Session* session) {
  open_.fetch_sub(1, std::memory_order_relaxed);
  absl::MutexLock lock(&sessions_mu_);
  sessions_.erase(session);
}

void Server::Impl::Sweep() {
  listener_->sweep.expires_after(kSweepInterval);
  listener_->sweep.async_wait([this](beast::error_code ec) {
    if (ec) return;
    const int64_t now = NowMs();
    {
      absl::MutexLock lock(&sessions_mu_);
      for (Session* s : sessions_) s->ShutDownIfExpired(now);
    }
    Sweep();
  });
}

absl::Status Server::Impl::Listen() {
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address_v4(options_.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP host must be an IPv4 address, got '", options_.host, "'"));
  }
  tcp::endpoint endpoint(address, static_cast<uint16_t>(options_.port));
  listener_->acceptor.open(endpoint.protocol(), ec);
  if (!ec)
    listener_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) listener_->acceptor.bind(endpoint, ec);
  if (!ec)
    listener_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", options_.host, ":",
                     options_.port, " (", ec.message(), ")"));
  }
  port_ = listener_->acceptor.local_endpoint().port();
  max_connections_ = options_.max_connections;
  if (max_connections_ <= 0) {
    rlimit limit{};
    int64_t files =
        getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
            ? static_cast<int64_t>(limit.rlim_cur)
            : 1024;
    max_connections_ =
        static_cast<int>(std::clamp<int64_t>(files * 3 / 4, 16, 100000));
  }
  return absl::OkStatus();
}

void Server::Impl::Run() {
  Accept();
  Sweep();
  threads_.emplace_back([this] { RunLoop(listen_loop_->io); });
  for (Loop& loop : loops_) {
    threads_.emplace_back([this, &loop] { RunLoop(loop.io); });
  }
}

void Server::Impl::RunLoop(asio::io_context& io) {
  // Nothing thrown by one connection's handler may end the process (or the
  // loop, and with it every other connection of the loop).
  while (true) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      SPDLOG_ERROR("event=http_loop_exception port={} error=\"{}\"", port_,
                   e.what());
    } catch (...) {
      SPDLOG_ERROR("event=http_loop_exception port={}", port_);
    }
  }
}

void Server::Impl::Accept() {
  // The new socket belongs to the next loop; this handler runs on the
  // listen loop.
  Loop& loop = loops_[next_loop_++ % loops_.size()];
  listener_->acceptor.async_accept(loop.io.get_executor(),
                                   [this](beast::error_code ec, Socket socket) {
                                     OnAccept(ec, std::move(socket));
                                   });
}

void Server::Impl::OnAccept(beast::error_code ec, Socket socket) {
  if (ec == asio::error::operation_aborted || !listener_->acceptor.is_open()) {
    return;
  }
  if (ec) {
    if (ec == asio::error::no_descriptors ||
        ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
      // Out of descriptors: established connections keep theirs; try again
      // shortly instead of spinning.
      SPDLOG_WARN("event=http_accept_paused port={} error=\"{}\" open={}",
                  port_, ec.message(), open_connections());
      listener_->backoff.expires_after(kAcceptBackoff);
      listener_->backoff.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    return Accept();
  }
  if (open_.load(std::memory_order_relaxed) >= max_connections_) {
    // Shed the new connection, never an established one: one non-blocking
    // write of a canned 503, then close.
    static const std::string kFull =
        CannedReply(503, "the server has too many open connections");
    (void)::send(socket.native_handle(), kFull.data(), kFull.size(),
                 MSG_NOSIGNAL | MSG_DONTWAIT);
    beast::error_code ignored;
    socket.close(ignored);
    return Accept();
  }
  auto session = std::make_shared<Session>(this, std::move(socket));
  asio::post(session->executor(), [session] { session->Start(); });
  Accept();
}

void Server::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::post(listen_loop_->io, [this] {
    beast::error_code ec;
    listener_->acceptor.close(ec);
    listener_->backoff.cancel();
    listener_->sweep.cancel();
  });
  // Requests in flight get their replies (bounded: a stuck handler does not
  // hold the shutdown forever).
  const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
  while (busy_.load(std::memory_order_relaxed) > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  {
    // Connections still open (idle ones, or a stuck handler's) end now.
    absl::MutexLock lock(&sessions_mu_);
    for (Session* s : sessions_) s->ShutDown();
  }
  listen_loop_->io.stop();
  for (Loop& loop : loops_) loop.io.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  listener_.reset();
  // The listen loop holds the cancelled accept (whose socket belongs to a
  // connection loop): it goes before the connection loops.
  listen_loop_.reset();
  // Destroys every pending operation, and with them the sessions and their
  // sockets.
  loops_.clear();
}

Response Server::Impl::Handle(Request& request) const {
  auto start = std::chrono::steady_clock::now();
  CallContext ctx;
  ctx.request_id = request.Header("x-request-id");
  if (ctx.request_id.empty()) ctx.request_id = NewRequestId();
  ScopedCallContext scope(std::move(ctx));
  std::string pattern;
  Response response;
  try {
    response = router_.Dispatch(request, &pattern);
  } catch (const std::exception& e) {
    SPDLOG_ERROR("http {} {} failed: {}", request.method, request.path,
                 e.what());
    response = Error(500, "internal error", request.path);
  }
  if (options_.metrics != nullptr) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    options_.metrics->RecordRequest("http",
                                    absl::StrCat(request.method, " ", pattern),
                                    absl::StrCat(response.status), seconds);
  }
  return response;
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, Router router) {
  if (options.threads < 1 || options.idle_timeout_seconds < 1 ||
      options.header_timeout_seconds < 1 || options.max_connections < 0) {
    return absl::InvalidArgumentError(
        "HTTP server: threads, idle_timeout_seconds and "
        "header_timeout_seconds must be positive, max_connections >= 0");
  }
  auto impl = std::make_unique<Impl>(options, std::move(router));
  absl::Status listening = impl->Listen();
  if (!listening.ok()) return listening;
  impl->Run();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

int Server::port() const { return impl_->port(); }
int Server::max_connections() const { return impl_->max_connections(); }
int Server::open_connections() const { return impl_->open_connections(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace gennaker::http
