// LoadBalancer edge cases against small real HTTP servers on loopback: the
// connection cap, idle and header timeouts, request deadlines, draining, a
// POST never sent twice on a reused connection, Expect: 100-continue with a
// chunked body, and destruction with a request in flight.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/testing/test_stores.h"
#include "gtest/gtest.h"
#include "services/clouddriver/local/load_balancer.h"

namespace gennaker::clouddriver::local {
namespace {

using ::gennaker::testing::ConnectLoopback;

void SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Reads one HTTP message (head + Content-Length body) from `fd`; empty on
// EOF, error or after `timeout_ms`. `buffer` keeps bytes past the message.
std::string ReadMessage(int fd, std::string* buffer, int timeout_ms = 5000) {
  const absl::Time deadline = absl::Now() + absl::Milliseconds(timeout_ms);
  while (true) {
    size_t end = buffer->find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t length = 0;
      std::string lower = buffer->substr(0, end);
      for (char& c : lower) c = static_cast<char>(std::tolower(c));
      size_t at = lower.find("content-length:");
      if (at != std::string::npos) {
        (void)absl::SimpleAtoi(
            lower.substr(at + 15, lower.find("\r\n", at) - at - 15), &length);
      }
      if (absl::StartsWith(lower, "http/1.1 1")) length = 0;  // interim
      if (buffer->size() >= end + 4 + length) {
        std::string m = buffer->substr(0, end + 4 + length);
        buffer->erase(0, end + 4 + length);
        return m;
      }
    }
    int left =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left <= 0) return "";
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) return "";
    char chunk[4096];
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return "";
    buffer->append(chunk, static_cast<size_t>(n));
  }
}

// True when the peer closes `fd` within `timeout_ms` (reads EOF or reset).
bool ClosedWithin(int fd, int timeout_ms) {
  const absl::Time deadline = absl::Now() + absl::Milliseconds(timeout_ms);
  while (absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    int left =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (poll(&p, 1, std::max(left, 1)) <= 0) continue;
    char c[256];
    if (recv(fd, c, sizeof(c), 0) <= 0) return true;
  }
  return false;
}

// Reads up to the end of a header block (a HEAD reply has nothing after it).
std::string ReadHead(int fd) {
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    char chunk[512];
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    head.append(chunk, static_cast<size_t>(n));
  }
  return head;
}

int Status(const std::string& response) {
  int status = 0;
  if (response.size() < 12) return 0;
  (void)absl::SimpleAtoi(response.substr(9, 3), &status);
  return status;
}

// A tiny HTTP/1.1 backend: a thread per connection that reads requests and
// lets `handle` answer each one (write to the fd, or return false to close).
class Backend {
 public:
  using Handler = std::function<bool(int fd, const std::string& request)>;
  explicit Backend(Handler handle) : handle_(std::move(handle)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listen_fd_, 64);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        int c = accept(listen_fd_, nullptr, nullptr);
        if (c < 0) return;
        absl::MutexLock l(&mu_);
        fds_.push_back(c);
        threads_.emplace_back([this, c] { Serve(c); });
      }
    });
  }
  ~Backend() {
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    close(listen_fd_);
    {
      absl::MutexLock l(&mu_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
    for (int fd : fds_) close(fd);
  }
  int port() const { return port_; }
  int requests() const { return requests_.load(); }
  int connections() {
    absl::MutexLock l(&mu_);
    return static_cast<int>(fds_.size());
  }

  static void Answer(int fd, int status, const std::string& body) {
    SendAll(fd, absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Length: ",
                             body.size(), "\r\n\r\n", body));
  }

 private:
  void Serve(int fd) {
    std::string buffer;
    while (true) {
      std::string request = ReadMessage(fd, &buffer, 10000);
      if (request.empty()) return;
      ++requests_;
      if (!handle_(fd, request)) {
        shutdown(fd, SHUT_RDWR);
        return;
      }
    }
  }

  Handler handle_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
};

LoadBalancer::Targets To(const std::vector<int>& ports) {
  return [ports] {
    std::vector<Target> out;
    for (int p : ports) out.push_back({"g", absl::StrCat("i", p), p});
    return out;
  };
}

std::string Get(const std::string& path = "/") {
  return absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(LoadBalancerEdgeTest, CapShedsNewConnectionsNotEstablishedOnes) {
  Backend ok([](int fd, const std::string&) {
    Backend::Answer(fd, 200, "ok");
    return true;
  });
  LoadBalancerOptions o;
  o.name = "capped";
  o.max_connections = 2;
  auto lb = LoadBalancer::Start(o, To({ok.port()}));
  ASSERT_TRUE(lb.ok());
  int a = ConnectLoopback((*lb)->port()), b = ConnectLoopback((*lb)->port());
  std::string ba, bb;
  SendAll(a, Get());
  EXPECT_EQ(Status(ReadMessage(a, &ba)), 200);
  SendAll(b, Get());
  EXPECT_EQ(Status(ReadMessage(b, &bb)), 200);
  int c = ConnectLoopback((*lb)->port());
  std::string bc;
  SendAll(c, Get());
  std::string shed = ReadMessage(c, &bc);
  EXPECT_EQ(Status(shed), 503) << shed;
  EXPECT_NE(shed.find("too many connections"), std::string::npos);
  EXPECT_TRUE(ClosedWithin(c, 2000));
  close(c);
  // The established connections keep working.
  for (int i = 0; i < 3; ++i) {
    SendAll(a, Get());
    EXPECT_EQ(Status(ReadMessage(a, &ba)), 200);
    SendAll(b, Get());
    EXPECT_EQ(Status(ReadMessage(b, &bb)), 200);
  }
  // A closed one frees its slot.
  close(a);
  std::string bd;
  int d = -1;
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    if (d >= 0) close(d);
    absl::SleepFor(absl::Milliseconds(20));
    d = ConnectLoopback((*lb)->port());
    bd.clear();
    SendAll(d, Get());
    status = Status(ReadMessage(d, &bd));
  }
  EXPECT_EQ(status, 200);
  close(d);
  close(b);
}

TEST(LoadBalancerEdgeTest, SilentAndSlowClientsAreDisconnected) {
  Backend ok([](int fd, const std::string&) {
    Backend::Answer(fd, 200, "ok");
    return true;
  });
  LoadBalancerOptions o;
  o.name = "impatient";
  o.idle_timeout_ms = 300;
  auto lb = LoadBalancer::Start(o, To({ok.port()}));
  ASSERT_TRUE(lb.ok());
  // Silent: never sends a byte.
  absl::Time start = absl::Now();
  int silent = ConnectLoopback((*lb)->port());
  EXPECT_TRUE(ClosedWithin(silent, 3000));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  close(silent);
  // Slow: one header byte every 50 ms, never a whole request in time.
  int slow = ConnectLoopback((*lb)->port());
  start = absl::Now();
  const std::string request = Get() + std::string(200, ' ');
  bool closed = false;
  for (char ch : request) {
    if (send(slow, &ch, 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    pollfd p{slow, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed || ClosedWithin(slow, 1000));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  close(slow);
  // A client that answers in time keeps working on the same connection
  // across several idle gaps shorter than the timeout.
  int fine = ConnectLoopback((*lb)->port());
  std::string buffer;
  for (int i = 0; i < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(150));
    SendAll(fine, Get());
    EXPECT_EQ(Status(ReadMessage(fine, &buffer)), 200);
  }
  close(fine);
}

TEST(LoadBalancerEdgeTest, SlowInstanceGets504AtTheDeadline) {
  Backend slow([](int fd, const std::string&) {
    absl::SleepFor(absl::Milliseconds(1500));
    Backend::Answer(fd, 200, "late");
    return true;
  });
  LoadBalancerOptions o;
  o.name = "deadline";
  o.request_timeout_ms = 300;
  auto lb = LoadBalancer::Start(o, To({slow.port()}));
  ASSERT_TRUE(lb.ok());
  int c = ConnectLoopback((*lb)->port());
  std::string buffer;
  absl::Time start = absl::Now();
  SendAll(c, Get());
  std::string r = ReadMessage(c, &buffer);
  EXPECT_EQ(Status(r), 504) << r;
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1200));
  EXPECT_NE(r.find("did not answer in time"), std::string::npos);
  close(c);
}

// The instance answers one request on a connection, then reads the next one
// and closes without answering: the POST on the reused connection is not
// sent again (502), while a GET in the same situation is retried.
TEST(LoadBalancerEdgeTest, PostOnReusedConnectionIsNotResent) {
  std::atomic<int> posts{0}, gets{0};
  Backend flaky([&](int fd, const std::string& request) {
    if (absl::StartsWith(request, "POST")) {
      ++posts;
      return false;  // read it, then close: it may have been processed
    }
    ++gets;
    Backend::Answer(fd, 200, "ok");
    return true;
  });
  LoadBalancerOptions o;
  o.name = "never-twice";
  auto lb = LoadBalancer::Start(o, To({flaky.port(), flaky.port()}));
  ASSERT_TRUE(lb.ok());
  int c = ConnectLoopback((*lb)->port());
  std::string buffer;
  SendAll(c, Get());  // leaves a kept-alive instance connection in the pool
  ASSERT_EQ(Status(ReadMessage(c, &buffer)), 200);
  SendAll(c,
          "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
          "{\"order\":1}");
  std::string r = ReadMessage(c, &buffer);
  EXPECT_EQ(Status(r), 502) << r;
  EXPECT_EQ(posts.load(), 1);
  close(c);
}

TEST(LoadBalancerEdgeTest, DrainingFinishesInFlightAndSendsNewElsewhere) {
  std::atomic<int> old_served{0}, new_served{0};
  Backend old_one([&](int fd, const std::string&) {
    absl::SleepFor(absl::Milliseconds(600));
    Backend::Answer(fd, 200, "old");
    ++old_served;
    return true;
  });
  Backend new_one([&](int fd, const std::string&) {
    Backend::Answer(fd, 200, "new");
    ++new_served;
    return true;
  });
  absl::Mutex mu;
  std::vector<int> ports = {old_one.port()};
  LoadBalancerOptions o;
  o.name = "draining";
  auto lb = LoadBalancer::Start(o, [&] {
    absl::MutexLock l(&mu);
    return To(ports)();
  });
  ASSERT_TRUE(lb.ok());
  std::string in_flight;
  std::thread slow([&] {
    int c = ConnectLoopback((*lb)->port());
    std::string buffer;
    SendAll(c, Get());
    in_flight = ReadMessage(c, &buffer);
    close(c);
  });
  absl::SleepFor(absl::Milliseconds(200));  // forwarded to the old instance
  {
    absl::MutexLock l(&mu);
    ports = {new_one.port()};
  }
  (*lb)->TargetsChanged();
  int c = ConnectLoopback((*lb)->port());
  std::string buffer;
  for (int i = 0; i < 5; ++i) {
    SendAll(c, Get());
    std::string r = ReadMessage(c, &buffer);
    EXPECT_EQ(Status(r), 200);
    EXPECT_TRUE(absl::EndsWith(r, "new")) << r;
  }
  close(c);
  slow.join();
  EXPECT_EQ(Status(in_flight), 200);
  EXPECT_TRUE(absl::EndsWith(in_flight, "old")) << in_flight;
  EXPECT_EQ(old_served.load(), 1);
  EXPECT_EQ(new_served.load(), 5);
}

TEST(LoadBalancerEdgeTest, ExpectContinueChunkedBodyAndHead) {
  Backend echo([](int fd, const std::string& request) {
    size_t end = request.find("\r\n\r\n");
    std::string body = request.substr(end + 4);
    // Tells back what framing the instance saw.
    std::string lower = request.substr(0, end);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
    bool expect = lower.find("expect:") != std::string::npos;
    bool chunked = lower.find("transfer-encoding") != std::string::npos;
    bool xff = lower.find("x-forwarded-for: 127.0.0.1") != std::string::npos;
    if (absl::StartsWith(request, "HEAD")) {
      SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
      return true;
    }
    Backend::Answer(fd, 200,
                    absl::StrCat(body, expect ? " expect" : "",
                                 chunked ? " chunked" : "", xff ? " xff" : ""));
    return true;
  });
  LoadBalancerOptions o;
  o.name = "framing";
  auto lb = LoadBalancer::Start(o, To({echo.port()}));
  ASSERT_TRUE(lb.ok());
  int c = ConnectLoopback((*lb)->port());
  std::string buffer;
  SendAll(c,
          "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
          "Transfer-Encoding: chunked\r\n\r\n");
  std::string interim = ReadMessage(c, &buffer);
  EXPECT_EQ(Status(interim), 100) << interim;
  SendAll(c, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  std::string r = ReadMessage(c, &buffer);
  EXPECT_EQ(Status(r), 200) << r;
  EXPECT_TRUE(absl::EndsWith(r, "\r\n\r\nhello world xff")) << r;
  // HEAD: the instance's Content-Length, no body, connection still usable.
  SendAll(c, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string head = ReadHead(c);
  EXPECT_EQ(Status(head), 200) << head;
  EXPECT_NE(head.find("1234"), std::string::npos) << head;
  EXPECT_TRUE(absl::EndsWith(head, "\r\n\r\n")) << head;
  SendAll(c,
          "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
          "Connection: close\r\n\r\nhi");
  buffer.clear();
  r = ReadMessage(c, &buffer);
  EXPECT_EQ(Status(r), 200) << r;
  EXPECT_NE(r.find("onnection: close"), std::string::npos) << r;
  EXPECT_TRUE(ClosedWithin(c, 2000));
  close(c);
}

TEST(LoadBalancerEdgeTest, HeadAnsweredByTheProxyItselfCarriesNoBody) {
  LoadBalancerOptions o;
  o.name = "empty";
  auto lb = LoadBalancer::Start(o, To({}));  // no instance: the proxy's 503
  ASSERT_TRUE(lb.ok());
  int c = ConnectLoopback((*lb)->port());
  SendAll(c, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string head = ReadHead(c);
  EXPECT_EQ(Status(head), 503) << head;
  EXPECT_TRUE(absl::EndsWith(head, "\r\n\r\n")) << head;
  // The next reply on the connection starts right after that head.
  SendAll(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string buffer;
  std::string next = ReadMessage(c, &buffer);
  EXPECT_EQ(Status(next), 503) << next;
  EXPECT_NE(next.find("no healthy instances"), std::string::npos) << next;
  close(c);
}

TEST(LoadBalancerEdgeTest, DestructionWithARequestInFlightDoesNotHang) {
  std::atomic<bool> release{false};
  Backend stuck([&](int, const std::string&) {
    for (int i = 0; i < 500 && !release; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  });
  LoadBalancerOptions o;
  o.name = "doomed";
  o.threads = 2;
  auto lb = LoadBalancer::Start(o, To({stuck.port()}));
  ASSERT_TRUE(lb.ok());
  std::vector<int> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(ConnectLoopback((*lb)->port()));
    SendAll(clients.back(), Get());
  }
  int idle = ConnectLoopback((*lb)->port());  // and one idle connection
  for (int i = 0; i < 100 && stuck.requests() < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(stuck.requests(), 4);
  absl::Time start = absl::Now();
  lb->reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  for (int c : clients) {
    EXPECT_TRUE(ClosedWithin(c, 1000));
    close(c);
  }
  EXPECT_TRUE(ClosedWithin(idle, 1000));
  close(idle);
  release = true;
}

}  // namespace
}  // namespace gennaker::clouddriver::local
