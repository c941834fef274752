#include "services/clouddriver/local/load_balancer.h"

#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>
#include <unordered_map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace gennaker::clouddriver::local {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr auto kTargetsCache = std::chrono::milliseconds(250);
// Idle instance connections kept per loop and port (more are closed).
constexpr size_t kMaxIdlePerPort = 1024;
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Removes the headers that describe one hop, not the message (RFC 9110
// 7.6.1), those the Connection header names, and the framing headers this
// proxy rewrites.
template <bool kIsRequest>
void StripHopByHop(http::message<kIsRequest, http::string_body>& m) {
  beast::string_view connection = m[http::field::connection];
  if (!connection.empty()) {
    std::vector<std::string> named;
    for (beast::string_view token : http::token_list(connection)) {
      if (!beast::iequals(token, "close") &&
          !beast::iequals(token, "keep-alive")) {
        named.emplace_back(token);
      }
    }
    for (const std::string& n : named) m.erase(n);
  }
  for (http::field f :
       {http::field::connection, http::field::keep_alive,
        http::field::proxy_connection, http::field::transfer_encoding,
        http::field::te, http::field::trailer, http::field::upgrade,
        http::field::host, http::field::content_length, http::field::expect}) {
    m.erase(f);
  }
}

std::string JsonMessage(int status, const std::string& message) {
  return absl::StrCat(R"({"status":)", status, R"(,"message":")", message,
                      "\"}");
}

// A Beast parse error (not a clean or premature end of stream).
bool Malformed(const beast::error_code& ec) {
  static const beast::error_category& http_category =
      beast::error_code(http::error::end_of_stream).category();
  return ec.category() == http_category && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

struct Upstream {
  Upstream(asio::io_context& io, int port) : sock(io), port(port) {}
  tcp::socket sock;
  beast::flat_buffer buf;
  int port;
};

class Session;

}  // namespace

// One event loop: its thread, sessions, idle instance connections and cached
// target list. Everything but `io` is touched only on the loop's thread.
struct LoadBalancerLoop {
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  std::optional<asio::steady_timer> ticker;
  std::thread thread;
  Session* sessions = nullptr;  // intrusive list, for the deadline sweep
  std::shared_ptr<const std::vector<Target>> targets =
      std::make_shared<const std::vector<Target>>();
  Clock::time_point targets_at{};
  uint64_t targets_generation = ~uint64_t{0};
  std::unordered_map<int, std::vector<std::unique_ptr<Upstream>>> idle;
};

class LoadBalancerCore {
 public:
  explicit LoadBalancerCore(LoadBalancer* lb) : lb_(lb) {}
  const LoadBalancerOptions& options() const { return lb_->options_; }
  LoadBalancer& lb() { return *lb_; }
  uint64_t NextIndex() {
    return lb_->next_.fetch_add(1, std::memory_order_relaxed);
  }
  bool Allowed(const std::string& peer) { return lb_->Allowed(peer); }
  void Released() { lb_->active_.fetch_sub(1, std::memory_order_relaxed); }

  // The loop's target list, asked again when the owner reported a change
  // (TargetsChanged) or after kTargetsCache: asking takes the provider's
  // locks, too costly on every request.
  std::shared_ptr<const std::vector<Target>> Targets(LoadBalancerLoop& loop,
                                                     Clock::time_point now) {
    const uint64_t generation =
        lb_->generation_.load(std::memory_order_acquire);
    if (generation != loop.targets_generation ||
        now - loop.targets_at >= kTargetsCache) {
      loop.targets =
          std::make_shared<const std::vector<Target>>(lb_->targets_());
      loop.targets_at = now;
      loop.targets_generation = generation;
      // Idle connections to instances no longer listed are not reused.
      for (auto it = loop.idle.begin(); it != loop.idle.end();) {
        bool listed = false;
        for (const Target& t : *loop.targets) listed |= t.port == it->first;
        it = listed ? std::next(it) : loop.idle.erase(it);
      }
    }
    return loop.targets;
  }

  // An idle connection to `port`, or null. `check` drops connections the
  // instance closed meanwhile (one poll each), before a request that must
  // not be sent twice.
  std::unique_ptr<Upstream> TakeIdle(LoadBalancerLoop& loop, int port,
                                     bool check) {
    auto it = loop.idle.find(port);
    if (it == loop.idle.end()) return nullptr;
    while (!it->second.empty()) {
      std::unique_ptr<Upstream> up = std::move(it->second.back());
      it->second.pop_back();
      if (check) {
        pollfd p{up->sock.native_handle(), POLLIN, 0};
        if (poll(&p, 1, 0) != 0) continue;  // EOF or junk: closed
      }
      return up;
    }
    return nullptr;
  }
  void PutIdle(LoadBalancerLoop& loop, std::unique_ptr<Upstream> up) {
    std::vector<std::unique_ptr<Upstream>>& v = loop.idle[up->port];
    if (v.size() < kMaxIdlePerPort) v.push_back(std::move(up));
  }

  absl::Status Listen();
  void Run();
  void Stop();

 private:
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket, size_t loop);
  void Tick(LoadBalancerLoop& loop);
  void CloseAll(LoadBalancerLoop& loop);

  LoadBalancer* lb_;
  std::vector<std::unique_ptr<LoadBalancerLoop>> loops_;
  std::optional<tcp::acceptor> acceptor_;  // on loops_[0]
  std::optional<asio::steady_timer> backoff_;
  size_t next_loop_ = 0;
  Clock::duration tick_{};
};

namespace {

// A client connection refused by the connection cap: it gets a 503, then its
// input is drained for a moment so that closing does not reset the
// connection before the client has read the answer.
class Rejected : public std::enable_shared_from_this<Rejected> {
 public:
  explicit Rejected(tcp::socket s)
      : sock_(std::move(s)), timer_(sock_.get_executor()) {}
  void Start() {
    reply_ = absl::StrCat(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
        "application/json\r\nContent-Length: ",
        JsonMessage(503, "too many connections").size(),
        "\r\nConnection: close\r\n\r\n",
        JsonMessage(503, "too many connections"));
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      self->sock_.close(ignored);
    });
    asio::async_write(
        sock_, asio::buffer(reply_),
        [self = shared_from_this()](beast::error_code ec, size_t) {
          beast::error_code ignored;
          if (ec) {
            self->timer_.cancel();
            return;
          }
          self->sock_.shutdown(tcp::socket::shutdown_send, ignored);
          self->Drain();
        });
  }

 private:
  void Drain() {
    sock_.async_read_some(
        asio::buffer(scratch_),
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec) {
            self->timer_.cancel();
            return;
          }
          self->Drain();
        });
  }
  tcp::socket sock_;
  asio::steady_timer timer_;
  std::string reply_;
  char scratch_[512];
};

// One client connection: reads a request (Beast parser), forwards it to an
// instance over a pooled connection, writes the answer back; repeats while
// the client keeps the connection alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(LoadBalancerCore* core, LoadBalancerLoop* loop, tcp::socket s,
          std::string peer)
      : core_(core),
        loop_(loop),
        client_(std::move(s)),
        peer_(std::move(peer)),
        idle_timeout_(
            std::chrono::milliseconds(core->options().idle_timeout_ms)),
        request_timeout_(
            std::chrono::milliseconds(core->options().request_timeout_ms)) {
    next_ = loop_->sessions;
    if (next_ != nullptr) next_->prev_ = this;
    loop_->sessions = this;
  }
  ~Session() {
    if (prev_ != nullptr) prev_->next_ = next_;
    if (next_ != nullptr) next_->prev_ = prev_;
    if (loop_->sessions == this) loop_->sessions = next_;
    core_->Released();
  }
  Session* next() const { return next_; }

  void Start() {
    beast::error_code ignored;
    client_.set_option(tcp::no_delay(true), ignored);
    ReadRequest();
  }

  // Called by the loop's sweep: acts on a passed deadline.
  void Expire(Clock::time_point now) {
    if (phase_ == Phase::kDone || now < deadline_) return;
    beast::error_code ignored;
    if (phase_ == Phase::kUpstream) {
      timed_out_ = true;  // the handler answers 504
      if (up_ != nullptr) up_->sock.close(ignored);
    } else {
      Close();  // a client too slow to send a request or read the answer
    }
  }
  void Close() {
    phase_ = Phase::kDone;
    beast::error_code ignored;
    client_.close(ignored);
    if (up_ != nullptr) up_->sock.close(ignored);
  }

 private:
  enum class Phase { kReading, kUpstream, kWriting, kDone };

  void SetDeadline(Phase phase, Clock::duration timeout) {
    phase_ = phase;
    deadline_ =
        timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
  }

  void ReadRequest() {
    // A whole request must arrive within the idle timeout.
    SetDeadline(Phase::kReading, idle_timeout_);
    req_.emplace();
    req_->header_limit(kMaxHeaderBytes);
    req_->body_limit(static_cast<uint64_t>(core_->options().max_body_bytes));
    http::async_read_header(
        client_, in_, *req_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          self->OnHeader(ec);
        });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnRequest(ec);
    if (req_->is_done()) return OnRequest(ec);
    if (beast::iequals(req_->get()[http::field::expect], "100-continue")) {
      asio::async_write(
          client_, asio::buffer(kContinue, sizeof(kContinue) - 1),
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (ec) return self->Close();
            self->ReadBody();
          });
      return;
    }
    ReadBody();
  }
  void ReadBody() {
    http::async_read(client_, in_, *req_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRequest(ec);
                     });
  }

  void OnRequest(beast::error_code ec) {
    if (phase_ == Phase::kDone) return;
    if (ec) {
      keep_alive_ = false;
      if (ec == http::error::body_limit) {
        return Reply(413, "request body too large");
      }
      if (Malformed(ec)) return Reply(400, "malformed request");
      return Close();  // closed, reset or timed out
    }
    Request& req = req_->get();
    keep_alive_ = req.keep_alive();
    http10_ = req.version() == 10;
    head_ = req.method() == http::verb::head;
    const http::verb m = req.method();
    idempotent_ = m == http::verb::get || m == http::verb::head ||
                  m == http::verb::options || m == http::verb::put ||
                  m == http::verb::delete_;
    // Checked per request: a rule change applies to open connections too.
    if (!core_->Allowed(peer_)) {
      return Reply(403, absl::StrCat("client ", peer_,
                                     " is not allowed by the firewall"));
    }
    StripHopByHop(req);
    beast::string_view xff = req["x-forwarded-for"];
    if (xff.empty()) {
      req.set("x-forwarded-for", peer_);
    } else {
      req.set(
          "x-forwarded-for",
          absl::StrCat(absl::string_view(xff.data(), xff.size()), ", ", peer_));
    }
    req.version(11);
    req.content_length(req.body().size());
    const Clock::time_point now = Clock::now();
    phase_ = Phase::kUpstream;
    deadline_ = request_timeout_.count() > 0 ? now + request_timeout_
                                             : Clock::time_point::max();
    targets_ = core_->Targets(*loop_, now);
    start_ = core_->NextIndex();
    attempt_ = 0;
    stale_retries_ = 0;
    fresh_ = false;
    timed_out_ = false;
    TryTarget();
  }

  void TryTarget() {
    const std::vector<Target>& ts = *targets_;
    if (timed_out_) {
      return Reply(504, "the instance did not answer in time");
    }
    if (attempt_ >= ts.size()) {
      if (ts.empty()) {
        return Reply(503, absl::StrCat("load balancer ", core_->options().name,
                                       " has no healthy instances"));
      }
      return Reply(502, "no instance could be reached");
    }
    const int port = ts[(start_ + attempt_) % ts.size()].port;
    reused_ = false;
    if (!fresh_) {
      up_ = core_->TakeIdle(*loop_, port, !idempotent_);
      reused_ = up_ != nullptr;
    }
    fresh_ = false;
    if (up_ != nullptr) return Send();
    up_ = std::make_unique<Upstream>(*loop_->io, port);
    up_->sock.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(),
                                          static_cast<uint16_t>(port)),
                            [self = shared_from_this()](beast::error_code ec) {
                              self->OnConnect(ec);
                            });
  }

  void OnConnect(beast::error_code ec) {
    if (phase_ == Phase::kDone) return;
    if (ec) {
      up_.reset();
      if (timed_out_) return TryTarget();
      // Refused: nothing was sent, the next instance may take it.
      ++attempt_;
      return TryTarget();
    }
    beast::error_code ignored;
    up_->sock.set_option(tcp::no_delay(true), ignored);
    Send();
  }

  void Send() {
    Request& req = req_->get();
    char host[32];
    int n = std::snprintf(host, sizeof(host), "127.0.0.1:%d", up_->port);
    req.set(http::field::host, beast::string_view(host, n));
    res_.reset();
    req_writer_.emplace(req);
    http::async_write(
        up_->sock, *req_writer_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec) return self->UpstreamFailed(ec);
          self->ReadResponse();
        });
  }

  void ReadResponse() {
    res_.emplace();
    res_->header_limit(kMaxHeaderBytes);
    res_->body_limit(static_cast<uint64_t>(core_->options().max_body_bytes));
    if (head_) res_->skip(true);
    http::async_read(up_->sock, up_->buf, *res_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnResponse(ec);
                     });
  }

  void OnResponse(beast::error_code ec) {
    if (phase_ == Phase::kDone) return;
    if (ec) return UpstreamFailed(ec);
    Response& res = res_->get();
    const int status = res.result_int();
    // Interim 1xx answers (100 Continue) precede the real one.
    if (status / 100 == 1 && status != 101) return ReadResponse();
    const bool upstream_alive = res_->keep_alive() && !res_->need_eof();
    // Bytes past the response (a misbehaving instance) would be read as the
    // next request's response, possibly another client's: not pooled then.
    if (upstream_alive && !timed_out_ && up_->buf.size() == 0) {
      core_->PutIdle(*loop_, std::move(up_));
    }
    up_.reset();
    std::string head_length;
    if (head_) head_length = std::string(res[http::field::content_length]);
    StripHopByHop(res);
    res.version(11);
    if (head_) {
      // The length of the body a GET would get, as the instance said.
      if (!head_length.empty()) {
        res.set(http::field::content_length, head_length);
      }
    } else if (status != 204 && status != 304) {
      res.content_length(res.body().size());
    }
    Write(res);
  }

  void UpstreamFailed(beast::error_code ec) {
    if (phase_ == Phase::kDone) return;
    const bool answered = res_.has_value() && res_->is_header_done();
    beast::error_code ignored;
    if (up_ != nullptr) up_->sock.close(ignored);
    up_.reset();
    if (timed_out_) {
      return Reply(504, "the instance did not answer in time");
    }
    if (answered) return Reply(502, "the instance's reply was cut off");
    if (Malformed(ec)) return Reply(502, "the instance sent a malformed reply");
    if (reused_ && idempotent_ && stale_retries_ < 2 * targets_->size()) {
      // A stale kept-alive connection: once more on a fresh one.
      ++stale_retries_;
      fresh_ = true;
      return TryTarget();
    }
    // The request may have been processed: never send it twice.
    Reply(502, "the instance closed the connection");
  }

  void Reply(int status, const std::string& message) {
    reply_ = Response();
    reply_.result(static_cast<unsigned>(status));
    reply_.version(11);
    reply_.set(http::field::content_type, "application/json");
    reply_.body() = JsonMessage(status, message);
    reply_.prepare_payload();
    // HEAD: the length only; a body would be read as the next response.
    if (head_) reply_.body().clear();
    Write(reply_);
  }

  void Write(Response& res) {
    if (!keep_alive_) {
      res.set(http::field::connection, "close");
    } else if (http10_) {
      res.set(http::field::connection, "keep-alive");
    }
    // The client has the idle timeout to take the answer.
    SetDeadline(Phase::kWriting, idle_timeout_);
    res_writer_.emplace(res);
    http::async_write(
        client_, *res_writer_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          self->OnWritten(ec);
        });
  }

  void OnWritten(beast::error_code ec) {
    if (phase_ == Phase::kDone) return;
    if (ec || !keep_alive_) {
      beast::error_code ignored;
      client_.shutdown(tcp::socket::shutdown_send, ignored);
      return Close();
    }
    ReadRequest();
  }

  LoadBalancerCore* core_;
  LoadBalancerLoop* loop_;
  Session* prev_ = nullptr;
  Session* next_ = nullptr;
  tcp::socket client_;
  beast::flat_buffer in_;
  std::string peer_;
  const Clock::duration idle_timeout_;
  const Clock::duration request_timeout_;
  Phase phase_ = Phase::kReading;
  Clock::time_point deadline_ = Clock::time_point::max();
  std::optional<http::request_parser<http::string_body>> req_;
  std::optional<http::response_parser<http::string_body>> res_;
  std::optional<http::request_serializer<http::string_body>> req_writer_;
  std::optional<http::response_serializer<http::string_body>> res_writer_;
  Response reply_;
  std::unique_ptr<Upstream> up_;
  std::shared_ptr<const std::vector<Target>> targets_;
  uint64_t start_ = 0;
  size_t attempt_ = 0;
  size_t stale_retries_ = 0;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool head_ = false;
  bool idempotent_ = true;
  bool reused_ = false;
  bool fresh_ = false;
  bool timed_out_ = false;
};

}  // namespace

absl::Status LoadBalancerCore::Listen() {
  const LoadBalancerOptions& o = options();
  const int threads = std::clamp(o.threads, 1, 2);
  for (int i = 0; i < threads; ++i)
    loops_.push_back(std::make_unique<LoadBalancerLoop>());
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(o.host, ec);
  if (ec || !address.is_v4()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad listen address '", o.host, "'"));
  }
  tcp::endpoint endpoint(address, static_cast<uint16_t>(o.port));
  acceptor_.emplace(*loops_[0]->io);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(1024, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("load balancer ", o.name, ": cannot listen on ", o.host,
                     ":", o.port, ": ", ec.message()));
  }
  lb_->port_ = acceptor_->local_endpoint().port();
  // Deadlines are enforced by a sweep per loop rather than a timer per
  // request (no timer syscalls on the request path).
  int shortest = std::max(
      1, std::min(o.idle_timeout_ms > 0 ? o.idle_timeout_ms : 60000,
                  o.request_timeout_ms > 0 ? o.request_timeout_ms : 60000));
  tick_ = std::chrono::milliseconds(std::clamp(shortest / 8, 5, 100));
  return absl::OkStatus();
}

void LoadBalancerCore::Run() {
  Accept();
  for (auto& loop : loops_) {
    LoadBalancerLoop* l = loop.get();
    l->ticker.emplace(*l->io);
    Tick(*l);
    l->thread = std::thread([l] { l->io->run(); });
  }
}

void LoadBalancerCore::Tick(LoadBalancerLoop& loop) {
  const Clock::time_point now = Clock::now();
  for (Session* s = loop.sessions; s != nullptr; s = s->next()) s->Expire(now);
  loop.ticker->expires_after(tick_);
  loop.ticker->async_wait([this, &loop](beast::error_code ec) {
    if (!ec) Tick(loop);
  });
}

void LoadBalancerCore::Accept() {
  const size_t target = next_loop_++ % loops_.size();
  acceptor_->async_accept(
      *loops_[target]->io,
      [this, target](beast::error_code ec, tcp::socket socket) {
        OnAccept(ec, std::move(socket), target);
      });
}

void LoadBalancerCore::OnAccept(beast::error_code ec, tcp::socket socket,
                                size_t target) {
  if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
  if (ec) {
    // E.g. EMFILE: back off instead of spinning.
    SPDLOG_WARN("event=lb_accept_failed name={} error={}", options().name,
                ec.message());
    backoff_.emplace(*loops_[0]->io);
    backoff_->expires_after(std::chrono::milliseconds(10));
    backoff_->async_wait([this](beast::error_code e) {
      if (!e) Accept();
    });
    return;
  }
  LoadBalancerLoop* loop = loops_[target].get();
  if (lb_->active_.load(std::memory_order_relaxed) >=
      options().max_connections) {
    // Shed the new connection, never an established one.
    auto r = std::make_shared<Rejected>(std::move(socket));
    asio::post(*loop->io, [r] { r->Start(); });
  } else {
    lb_->active_.fetch_add(1, std::memory_order_relaxed);
    beast::error_code peer_ec;
    std::string peer =
        socket.remote_endpoint(peer_ec).address().to_v4().to_string();
    if (loop == loops_[0].get()) {
      std::make_shared<Session>(this, loop, std::move(socket), std::move(peer))
          ->Start();
    } else {
      asio::post(*loop->io, [this, loop, s = std::move(socket),
                             p = std::move(peer)]() mutable {
        std::make_shared<Session>(this, loop, std::move(s), std::move(p))
            ->Start();
      });
    }
  }
  Accept();
}

void LoadBalancerCore::CloseAll(LoadBalancerLoop& loop) {
  for (Session* s = loop.sessions; s != nullptr; s = s->next()) s->Close();
  loop.idle.clear();
  if (loop.ticker) loop.ticker->cancel();
}

void LoadBalancerCore::Stop() {
  for (size_t i = 0; i < loops_.size(); ++i) {
    LoadBalancerLoop* l = loops_[i].get();
    asio::post(*l->io, [this, l, i] {
      if (i == 0) {
        beast::error_code ignored;
        acceptor_->close(ignored);
        if (backoff_) backoff_->cancel();
      }
      CloseAll(*l);
      // Handlers not run yet are destroyed with the io_context below; the
      // sessions they hold go with them.
      l->io->stop();
    });
  }
  for (auto& l : loops_) {
    if (l->thread.joinable()) l->thread.join();
  }
  // The acceptor's pending accept may hold a socket of another loop: loop 0
  // goes first.
  acceptor_.reset();
  backoff_.reset();
  for (auto& l : loops_) {
    l->idle.clear();
    l->ticker.reset();
    l->io.reset();
  }
}

absl::StatusOr<bool> InCidr(const std::string& ip, const std::string& cidr) {
  size_t slash = cidr.find('/');
  std::string base = cidr.substr(0, slash);
  int bits = 32;
  if (slash != std::string::npos &&
      (!absl::SimpleAtoi(cidr.substr(slash + 1), &bits) || bits < 0 ||
       bits > 32)) {
    return absl::InvalidArgumentError(absl::StrCat("bad CIDR '", cidr, "'"));
  }
  in_addr net{}, addr{};
  if (inet_pton(AF_INET, base.c_str(), &net) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("bad CIDR '", cidr, "'"));
  }
  if (inet_pton(AF_INET, ip.c_str(), &addr) != 1) return false;
  uint32_t mask = bits == 0 ? 0 : htonl(~uint32_t{0} << (32 - bits));
  return (net.s_addr & mask) == (addr.s_addr & mask);
}

LoadBalancer::LoadBalancer(LoadBalancerOptions options, Targets targets)
    : options_(std::move(options)), targets_(std::move(targets)) {}

absl::StatusOr<std::unique_ptr<LoadBalancer>> LoadBalancer::Start(
    LoadBalancerOptions options, Targets targets) {
  for (const std::string& cidr : options.allowed_cidrs) {
    absl::StatusOr<bool> ok = InCidr("0.0.0.0", cidr);
    if (!ok.ok()) return ok.status();
  }
  std::unique_ptr<LoadBalancer> lb(
      new LoadBalancer(std::move(options), std::move(targets)));
  {
    absl::MutexLock l(&lb->mu_);
    lb->allowed_cidrs_ = lb->options_.allowed_cidrs;
    lb->firewalled_ = !lb->allowed_cidrs_.empty();
  }
  auto core = std::make_unique<LoadBalancerCore>(lb.get());
  absl::Status listening = core->Listen();
  if (!listening.ok()) return listening;
  lb->core_ = std::move(core);
  lb->core_->Run();
  return lb;
}

absl::Status LoadBalancer::SetAllowedCidrs(std::vector<std::string> cidrs) {
  for (const std::string& cidr : cidrs) {
    absl::StatusOr<bool> ok = InCidr("0.0.0.0", cidr);
    if (!ok.ok()) return ok.status();
  }
  absl::MutexLock l(&mu_);
  allowed_cidrs_ = std::move(cidrs);
  firewalled_.store(!allowed_cidrs_.empty(), std::memory_order_release);
  return absl::OkStatus();
}

bool LoadBalancer::Allowed(const std::string& peer) {
  if (!firewalled_.load(std::memory_order_acquire)) return true;
  absl::ReaderMutexLock l(&mu_);
  if (allowed_cidrs_.empty()) return true;
  for (const std::string& cidr : allowed_cidrs_) {
    absl::StatusOr<bool> in = InCidr(peer, cidr);
    if (in.ok() && *in) return true;
  }
  return false;
}

LoadBalancer::~LoadBalancer() {
  if (core_ != nullptr) core_->Stop();
}

}  // namespace gennaker::clouddriver::local
