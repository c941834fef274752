#include "services/clouddriver/local/load_balancer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace gennaker::clouddriver::local {

namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr int64_t kTargetsCacheMs = 250;

// Headers that describe one hop, not the message (RFC 9110 7.6.1), plus the
// framing headers this proxy rewrites.
bool HopByHop(const std::string& name) {
  return name == "connection" || name == "keep-alive" ||
         name == "proxy-connection" || name == "transfer-encoding" ||
         name == "te" || name == "trailer" || name == "upgrade" ||
         name == "host" || name == "content-length" || name == "expect";
}

void SetTimeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// A socket with its unread bytes.
struct Stream {
  int fd = -1;
  std::string buffer;
  bool timed_out = false;
  bool eof = false;         // the peer closed cleanly
  bool too_big = false;     // a header block over kMaxHeaderBytes
  int64_t deadline_ms = 0;  // 0: none; bounds a whole message, not one read

  // Reads more; false on EOF, error or timeout.
  bool Fill() {
    char chunk[16384];
    while (true) {
      if (deadline_ms > 0 && absl::ToUnixMillis(absl::Now()) > deadline_ms) {
        timed_out = true;
        return false;
      }
      ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) timed_out = true;
      if (n == 0) eof = true;
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }
  // The header block (through the blank line), or nullopt.
  std::optional<std::string> Head() {
    while (true) {
      size_t end = buffer.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = buffer.substr(0, end + 4);
        buffer.erase(0, end + 4);
        return head;
      }
      if (buffer.size() > kMaxHeaderBytes) {
        too_big = true;
        return std::nullopt;
      }
      if (!Fill()) return std::nullopt;
    }
  }
  bool Read(size_t n, std::string* out) {
    while (buffer.size() < n) {
      if (!Fill()) return false;
    }
    out->append(buffer, 0, n);
    buffer.erase(0, n);
    return true;
  }
  bool Line(std::string* out) {
    while (true) {
      size_t end = buffer.find("\r\n");
      if (end != std::string::npos) {
        *out = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        return true;
      }
      if (buffer.size() > kMaxHeaderBytes || !Fill()) return false;
    }
  }
};

struct Message {
  std::string first_line;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

bool ParseHead(const std::string& head, Message* m) {
  std::vector<absl::string_view> lines = absl::StrSplit(
      absl::string_view(head).substr(0, head.size() - 4), "\r\n");
  if (lines.empty()) return false;
  m->first_line = std::string(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) return false;
    m->headers.push_back(
        {absl::AsciiStrToLower(
             absl::StripAsciiWhitespace(lines[i].substr(0, colon))),
         std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)))});
  }
  return true;
}

// Reads a body framed by Content-Length or chunked encoding (decoded);
// `until_close` when neither is given (responses only).
bool ReadBody(Stream& s, const Message& m, bool until_close, std::string* body,
              int64_t max_bytes) {
  if (absl::AsciiStrToLower(m.Header("transfer-encoding")).find("chunked") !=
      std::string::npos) {
    while (true) {
      std::string line;
      if (!s.Line(&line)) return false;
      size_t size = 0;
      std::string hex(
          absl::StripAsciiWhitespace(line.substr(0, line.find(';'))));
      if (hex.empty() || hex.size() > 15 || !absl::SimpleHexAtoi(hex, &size)) {
        return false;
      }
      if (static_cast<int64_t>(body->size() + size) > max_bytes) return false;
      if (size == 0) {
        while (s.Line(&line) && !line.empty()) {
        }  // trailers
        return true;
      }
      if (!s.Read(size, body)) return false;
      std::string crlf;
      if (!s.Read(2, &crlf)) return false;
    }
  }
  std::string cl = m.Header("content-length");
  if (!cl.empty()) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(cl, &n) || n < 0 || n > max_bytes) return false;
    return s.Read(static_cast<size_t>(n), body);
  }
  if (!until_close) return true;
  while (s.Fill()) {
    if (static_cast<int64_t>(s.buffer.size()) > max_bytes) return false;
  }
  body->append(s.buffer);
  s.buffer.clear();
  return s.eof;  // a reset or timeout is a cut-off body, not a complete one
}

std::string Reply(int status, const std::string& reason,
                  const std::string& json, bool close) {
  return absl::StrCat(
      "HTTP/1.1 ", status, " ", reason,
      "\r\nContent-Type: application/json\r\nContent-Length: ", json.size(),
      close ? "\r\nConnection: close" : "", "\r\n\r\n", json);
}

std::string JsonMessage(int status, const std::string& message) {
  return absl::StrCat(R"({"status":)", status, R"(,"message":")", message,
                      "\"}");
}

int Connect(int port, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  SetTimeout(fd, timeout_ms);
  return fd;
}

}  // namespace

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
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(lb->options_.port));
  if (inet_pton(AF_INET, lb->options_.host.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("bad listen address '", lb->options_.host, "'"));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 1024) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat(
        "load balancer ", lb->options_.name, ": cannot listen on ",
        lb->options_.host, ":", lb->options_.port, ": ", strerror(errno)));
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  lb->listen_fd_ = fd;
  lb->port_ = ntohs(addr.sin_port);
  LoadBalancer* self = lb.get();
  lb->acceptor_ = std::thread([self] { self->Accept(); });
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

LoadBalancer::~LoadBalancer() {
  stop_ = true;
  if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  absl::MutexLock l(&mu_);
  for (int fd : clients_) shutdown(fd, SHUT_RDWR);
  auto done = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return active_ == 0; };
  mu_.Await(absl::Condition(&done));
}

void LoadBalancer::Accept() {
  while (!stop_) {
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                     SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (stop_) return;
      absl::SleepFor(absl::Milliseconds(10));  // e.g. EMFILE: back off
      continue;
    }
    char ip[INET_ADDRSTRLEN] = {0};
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
    {
      absl::MutexLock l(&mu_);
      if (active_ >= options_.max_connections) {
        // Refuse rather than run out of threads or descriptors.
        SetTimeout(fd, 100);
        SendAll(fd, Reply(503, "Service Unavailable",
                          JsonMessage(503, "too many connections"), true));
        close(fd);
        continue;
      }
      clients_.push_back(fd);
      ++active_;
    }
    try {
      std::thread([this, fd, p = std::string(ip)] { Serve(fd, p); }).detach();
    } catch (const std::system_error&) {
      absl::MutexLock l(&mu_);
      clients_.erase(std::remove(clients_.begin(), clients_.end(), fd),
                     clients_.end());
      --active_;
      close(fd);
    }
  }
}

void LoadBalancer::Serve(int client, std::string peer) {
  int one = 1;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  SetTimeout(client, options_.idle_timeout_ms);
  Stream in;
  in.fd = client;
  std::map<int, Stream> upstream;  // keep-alive connections by port
  std::vector<Target> targets;
  int64_t targets_at_ms = -kTargetsCacheMs;
  uint64_t targets_generation = 0;
  while (!stop_) {
    // A whole request must arrive within the idle timeout (slow senders do
    // not hold a thread for longer).
    in.deadline_ms = absl::ToUnixMillis(absl::Now()) + options_.idle_timeout_ms;
    std::optional<std::string> head = in.Head();
    if (!head.has_value()) break;
    Message req;
    std::string body;
    if (!ParseHead(*head, &req) ||
        !ReadBody(in, req, false, &body, options_.max_body_bytes)) {
      SendAll(client, Reply(400, "Bad Request",
                            JsonMessage(400, "malformed request"), true));
      break;
    }
    std::vector<absl::string_view> first = absl::StrSplit(req.first_line, ' ');
    if (first.size() != 3) {
      SendAll(client, Reply(400, "Bad Request",
                            JsonMessage(400, "malformed request line"), true));
      break;
    }
    std::string method(first[0]);
    std::string connection = absl::AsciiStrToLower(req.Header("connection"));
    bool keep_alive = first[2] == "HTTP/1.1"
                          ? connection.find("close") == std::string::npos
                          : connection.find("keep-alive") != std::string::npos;
    // Checked per request: a rule change applies to open connections too.
    bool allowed = !firewalled_.load(std::memory_order_acquire);
    if (!allowed) {
      absl::ReaderMutexLock l(&mu_);
      allowed = allowed_cidrs_.empty();
      for (const std::string& cidr : allowed_cidrs_) {
        absl::StatusOr<bool> in = InCidr(peer, cidr);
        allowed = allowed || (in.ok() && *in);
      }
    }
    if (!allowed) {
      SendAll(client,
              Reply(403, "Forbidden",
                    JsonMessage(403, absl::StrCat("client ", peer,
                                                  " is not allowed by the "
                                                  "firewall")),
                    !keep_alive));
      if (!keep_alive) break;
      continue;
    }
    // The target list is cached per connection until the owner reports a
    // change (TargetsChanged) or kTargetsCacheMs pass: asking for it takes
    // the provider's locks, too costly on every request.
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    const uint64_t generation = generation_.load(std::memory_order_acquire);
    if (generation != targets_generation ||
        now_ms - targets_at_ms >= kTargetsCacheMs) {
      targets = targets_();
      targets_at_ms = now_ms;
      targets_generation = generation;
    }
    std::string out_head = absl::StrCat(method, " ", first[1], " HTTP/1.1\r\n");
    for (const auto& [k, v] : req.headers) {
      if (!HopByHop(k)) absl::StrAppend(&out_head, k, ": ", v, "\r\n");
    }
    absl::StrAppend(&out_head, "x-forwarded-for: ", peer,
                    "\r\ncontent-length: ", body.size(), "\r\n");
    std::string reply;
    bool answered = false;
    const bool idempotent = method == "GET" || method == "HEAD" ||
                            method == "OPTIONS" || method == "PUT" ||
                            method == "DELETE";
    auto fail = [&](int status, const char* reason, const char* message) {
      reply = Reply(status, reason, JsonMessage(status, message), !keep_alive);
      answered = true;
    };
    uint64_t start = next_++;
    for (size_t attempt = 0; attempt < targets.size() && !answered; ++attempt) {
      const Target& t = targets[(start + attempt) % targets.size()];
      Stream& up = upstream[t.port];
      // A kept-alive connection the instance closed meanwhile is readable
      // (EOF): replace it before sending a non-idempotent request on it (an
      // idempotent one is simply sent again on a fresh connection below).
      if (up.fd >= 0 && !idempotent) {
        pollfd p{up.fd, POLLIN, 0};
        if (poll(&p, 1, 0) != 0) {
          close(up.fd);
          up.fd = -1;
        }
      }
      bool reused = up.fd >= 0;
      if (!reused) {
        up = Stream();
        up.fd = Connect(t.port, options_.request_timeout_ms);
        if (up.fd < 0) continue;  // refused: nothing was sent, next instance
      }
      up.deadline_ms =
          absl::ToUnixMillis(absl::Now()) + options_.request_timeout_ms;
      up.timed_out = up.eof = up.too_big = false;
      std::string request =
          absl::StrCat(out_head, "host: 127.0.0.1:", t.port, "\r\n\r\n", body);
      bool sent = SendAll(up.fd, request);
      Message resp;
      int status = 0;
      std::optional<std::string> resp_head;
      if (sent) {
        // Interim 1xx answers (100 Continue) precede the real one.
        while ((resp_head = up.Head()).has_value()) {
          resp = Message();
          std::vector<absl::string_view> parts;
          if (!ParseHead(*resp_head, &resp) ||
              (parts = absl::StrSplit(resp.first_line, ' ')).size() < 2 ||
              !absl::SimpleAtoi(parts[1], &status)) {
            status = -1;
            break;
          }
          if (status / 100 != 1 || status == 101) break;
        }
      }
      if (!resp_head.has_value() || status < 0) {
        bool timed_out = up.timed_out, too_big = up.too_big;
        close(up.fd);
        up.fd = -1;
        if (timed_out) {
          fail(504, "Gateway Timeout", "the instance did not answer in time");
        } else if (too_big || status < 0) {
          fail(502, "Bad Gateway", "the instance sent a malformed reply");
        } else if (reused && idempotent) {
          --attempt;  // a stale connection: once more on a fresh one
          upstream.erase(t.port);
          if (attempt + 1 >= targets.size() * 2) break;
        } else {
          // The request may have been processed: never send it twice.
          fail(502, "Bad Gateway", "the instance closed the connection");
        }
        continue;
      }
      std::string te = absl::AsciiStrToLower(resp.Header("transfer-encoding"));
      bool chunked = te.find("chunked") != std::string::npos;
      bool no_body = method == "HEAD" || status == 204 || status == 304;
      bool framed = chunked || !resp.Header("content-length").empty();
      std::string resp_body;
      if (!no_body &&
          !ReadBody(up, resp, !framed, &resp_body, options_.max_body_bytes)) {
        close(up.fd);
        up.fd = -1;
        fail(502, "Bad Gateway", "the instance's reply was cut off");
        break;
      }
      std::string conn = absl::AsciiStrToLower(resp.Header("connection"));
      bool http10 = absl::StartsWith(resp.first_line, "HTTP/1.0");
      if (!framed || conn.find("close") != std::string::npos ||
          (http10 && conn.find("keep-alive") == std::string::npos)) {
        close(up.fd);
        up.fd = -1;
      }
      reply = resp.first_line + "\r\n";
      for (const auto& [k, v] : resp.headers) {
        if (!HopByHop(k)) absl::StrAppend(&reply, k, ": ", v, "\r\n");
      }
      if (method == "HEAD") {
        // The length of the body a GET would get, as the instance said.
        std::string cl = resp.Header("content-length");
        if (!cl.empty())
          absl::StrAppend(&reply, "content-length: ", cl, "\r\n");
      } else if (status != 204 && status != 304) {
        absl::StrAppend(&reply, "content-length: ", resp_body.size(), "\r\n");
      }
      absl::StrAppend(&reply, keep_alive ? "" : "connection: close\r\n",
                      "\r\n");
      if (!no_body) reply += resp_body;
      answered = true;
    }
    if (!answered) {
      reply = targets.empty()
                  ? Reply(503, "Service Unavailable",
                          JsonMessage(
                              503, absl::StrCat("load balancer ", options_.name,
                                                " has no healthy instances")),
                          !keep_alive)
                  : Reply(502, "Bad Gateway",
                          JsonMessage(502, "no instance could be reached"),
                          !keep_alive);
    }
    if (!SendAll(client, reply) || !keep_alive) break;
  }
  for (auto& [port, s] : upstream) {
    if (s.fd >= 0) close(s.fd);
  }
  absl::MutexLock l(&mu_);
  clients_.erase(std::remove(clients_.begin(), clients_.end(), client),
                 clients_.end());
  close(client);
  --active_;
}

}  // namespace gennaker::clouddriver::local
