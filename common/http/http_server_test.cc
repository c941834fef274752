// The event-loop HTTP server over real loopback sockets: keep-alive and
// pipelining, 100-continue, HEAD, limits, timeouts, the connection cap and a
// graceful stop.
#include "common/http/http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"

namespace gennaker::http {
namespace {

using ::gennaker::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using ::gennaker::testing::ConnectLoopback;

void Send(int fd, const std::string& data) {
  ASSERT_EQ(send(fd, data.data(), data.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(data.size()));
}

// Reads until `done(text)` holds, the peer closes, or `timeout_ms` passes.
// `closed` tells whether the peer closed.
std::string ReadUntil(int fd, int timeout_ms,
                      const std::function<bool(const std::string&)>& done,
                      bool* closed = nullptr) {
  std::string text;
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  if (closed != nullptr) *closed = false;
  while (!done(text)) {
    int left =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                             deadline - std::chrono::steady_clock::now())
                             .count());
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (closed != nullptr) *closed = true;
      break;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

auto Contains(std::string needle, int times = 1) {
  return [needle, times](const std::string& text) {
    int found = 0;
    for (size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1)) {
      ++found;
    }
    return found >= times;
  };
}

bool Never(const std::string&) { return false; }

Router EchoRouter(std::atomic<int>* slow_calls = nullptr) {
  Router r;
  r.Add("GET", "/hello", [](const Request& req) {
    return Json(200, absl::StrCat(R"({"q":")", req.Query("q"), "\"}"));
  });
  r.Add("POST", "/echo",
        [](const Request& req) { return Json(200, req.body); });
  r.Add("GET", "/big", [](const Request&) {
    return SharedJson(
        200, std::make_shared<const std::string>(std::string(200000, 'x')));
  });
  r.Add("GET", "/slow", [slow_calls](const Request&) {
    if (slow_calls != nullptr) ++*slow_calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return Json(200, R"({"slow":true})");
  });
  return r;
}

TEST(HttpServerLoopTest, KeepAliveAndPipelinedRequestsOnOneConnection) {
  auto server = Server::Start({}, EchoRouter());
  ASSERT_THAT(server, IsOk());
  int fd = ConnectLoopback((*server)->port());
  ASSERT_GE(fd, 0);
  // Two requests in one write, then a third on the same connection.
  Send(fd,
       "GET /hello?q=a+b HTTP/1.1\r\nHost: x\r\n\r\n"
       "GET /hello?q=c%26d HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string two = ReadUntil(fd, 2000, Contains("HTTP/1.1 200", 2));
  EXPECT_THAT(two, HasSubstr(R"({"q":"a b"})"));
  EXPECT_THAT(two, HasSubstr(R"({"q":"c&d"})"));
  Send(fd, "GET /hello?q=3 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(ReadUntil(fd, 2000, Contains(R"({"q":"3"})")),
              HasSubstr("Content-Length: 9"));
  close(fd);
}

TEST(HttpServerLoopTest, ExpectContinueHeadAndChunkedBodies) {
  auto server = Server::Start({}, EchoRouter());
  ASSERT_THAT(server, IsOk());
  int fd = ConnectLoopback((*server)->port());
  ASSERT_GE(fd, 0);
  Send(fd,
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n"
       "Expect: 100-continue\r\n\r\n");
  EXPECT_THAT(ReadUntil(fd, 2000, Contains("\r\n\r\n")),
              StartsWith("HTTP/1.1 100 Continue\r\n\r\n"));
  Send(fd, R"({"a":1})");
  EXPECT_THAT(ReadUntil(fd, 2000, Contains(R"({"a":1})")),
              StartsWith("HTTP/1.1 200 OK"));
  // Chunked request body.
  Send(fd,
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n");
  EXPECT_THAT(ReadUntil(fd, 2000, Contains("[1,2]")), HasSubstr("200 OK"));
  // HEAD: the length a GET would get, and no body.
  Send(fd, "HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string head = ReadUntil(fd, 2000, Contains("\r\n\r\n"));
  EXPECT_THAT(head, HasSubstr("Content-Length: 200000"));
  Send(fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  bool closed = false;
  std::string after = ReadUntil(fd, 2000, Never, &closed);
  EXPECT_TRUE(closed);
  // The HEAD reply carried no body: the next bytes are the GET's reply.
  EXPECT_THAT(after, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(after, HasSubstr(R"({"q":""})"));
  close(fd);
}

TEST(HttpServerLoopTest, OversizedHeadersAndBodiesAreRefusedWithJson) {
  ServerOptions o;
  o.max_body_bytes = 100;
  auto server = Server::Start(o, EchoRouter());
  ASSERT_THAT(server, IsOk());
  int fd = ConnectLoopback((*server)->port());
  ASSERT_GE(fd, 0);
  Send(fd, absl::StrCat("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ",
                        std::string(70000, 'a'), "\r\n\r\n"));
  bool closed = false;
  std::string reply = ReadUntil(fd, 3000, Never, &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 431"));
  EXPECT_THAT(reply, HasSubstr("application/json"));
  EXPECT_THAT(reply, HasSubstr(R"("error":"Request Header Fields Too Large")"));
  close(fd);
  // A chunked body over the limit (no Content-Length to check up front).
  fd = ConnectLoopback((*server)->port());
  ASSERT_GE(fd, 0);
  Send(fd, absl::StrCat(
               "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
               "\r\n\r\n80\r\n",
               std::string(128, 'b'), "\r\n0\r\n\r\n"));
  reply = ReadUntil(fd, 3000, Never, &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 413"));
  EXPECT_THAT(reply, HasSubstr("exceeds the limit of 100 bytes"));
  close(fd);
}

TEST(HttpServerLoopTest, IdleAndSlowHeaderConnectionsAreClosed) {
  ServerOptions o;
  o.idle_timeout_seconds = 1;
  o.header_timeout_seconds = 1;
  auto server = Server::Start(o, EchoRouter());
  ASSERT_THAT(server, IsOk());
  int idle = ConnectLoopback((*server)->port());
  int slow = ConnectLoopback((*server)->port());
  ASSERT_GE(idle, 0);
  ASSERT_GE(slow, 0);
  auto start = std::chrono::steady_clock::now();
  // The slow client starts a request and never finishes its header.
  Send(slow, "GET /hello HTTP/1.1\r\nHo");
  bool closed = false;
  ReadUntil(slow, 5000, Never, &closed);
  EXPECT_TRUE(closed);
  ReadUntil(idle, 5000, Never, &closed);
  EXPECT_TRUE(closed);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::milliseconds(3000));
  close(idle);
  close(slow);
  // Closed connections are no longer counted.
  for (int i = 0; i < 100 && (*server)->open_connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ((*server)->open_connections(), 0);
}

TEST(HttpServerLoopTest, CapShedsNewConnectionsAndKeepsEstablishedOnes) {
  ServerOptions o;
  o.max_connections = 3;
  auto server = Server::Start(o, EchoRouter());
  ASSERT_THAT(server, IsOk());
  EXPECT_EQ((*server)->max_connections(), 3);
  int held[3];
  for (int& fd : held) {
    fd = ConnectLoopback((*server)->port());
    ASSERT_GE(fd, 0);
  }
  for (int i = 0; i < 100 && (*server)->open_connections() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  int extra = ConnectLoopback((*server)->port());
  ASSERT_GE(extra, 0);
  bool closed = false;
  std::string shed = ReadUntil(extra, 2000, Never, &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(shed, StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(shed, HasSubstr("too many open connections"));
  close(extra);
  // Every established connection still works.
  for (int fd : held) {
    Send(fd, "GET /hello?q=ok HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(ReadUntil(fd, 2000, Contains(R"({"q":"ok"})")),
                StartsWith("HTTP/1.1 200 OK"));
  }
  close(held[0]);
  // A freed slot is usable again.
  int next = -1;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if ((*server)->open_connections() < 3) break;
  }
  next = ConnectLoopback((*server)->port());
  ASSERT_GE(next, 0);
  Send(next, "GET /hello?q=again HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(ReadUntil(next, 2000, Contains(R"({"q":"again"})")),
              StartsWith("HTTP/1.1 200 OK"));
  close(next);
  close(held[1]);
  close(held[2]);
}

TEST(HttpServerLoopTest, ABlockingHandlerDoesNotStopTheOthers) {
  std::atomic<int> slow_calls{0};
  ServerOptions o;
  o.threads = 2;
  auto server = Server::Start(o, EchoRouter(&slow_calls));
  ASSERT_THAT(server, IsOk());
  int slow = ConnectLoopback((*server)->port());
  ASSERT_GE(slow, 0);
  Send(slow, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 100 && slow_calls == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto start = std::chrono::steady_clock::now();
  ClientRequest call;
  call.url =
      absl::StrCat("http://127.0.0.1:", (*server)->port(), "/hello?q=fast");
  auto fast = Fetch(call);
  ASSERT_THAT(fast, IsOk());
  EXPECT_EQ(fast->body, R"({"q":"fast"})");
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(250));
  EXPECT_THAT(ReadUntil(slow, 2000, Contains(R"({"slow":true})")),
              StartsWith("HTTP/1.1 200 OK"));
  close(slow);
}

TEST(HttpServerLoopTest, StopLetsARequestInFlightFinish) {
  std::atomic<int> slow_calls{0};
  auto server = Server::Start({}, EchoRouter(&slow_calls));
  ASSERT_THAT(server, IsOk());
  const int port = (*server)->port();
  int fd = ConnectLoopback(port);
  ASSERT_GE(fd, 0);
  Send(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 100 && slow_calls == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  (*server)->Stop();
  EXPECT_THAT(ReadUntil(fd, 2000, Contains(R"({"slow":true})")),
              StartsWith("HTTP/1.1 200 OK"));
  close(fd);
  EXPECT_EQ(ConnectLoopback(port), -1);  // no longer listening
  (*server)->Stop();                     // idempotent
}

TEST(HttpServerLoopTest, UnsafeOrHugeResponseHeadersAreDroppedNotSent) {
  Router r;
  r.Add("GET", "/split", [](const Request& req) {
    Response resp = Json(302, "{}");
    resp.headers.push_back({"Location", req.Query("to")});  // decoded CR LF
    resp.headers.push_back({"X-Ok", "fine"});
    return resp;
  });
  r.Add("GET", "/huge", [](const Request&) {
    Response resp = Json(200, R"({"ok":true})");
    resp.headers.push_back({"X-Huge", std::string(70000, 'a')});
    resp.headers.push_back({"Bad Name", "x"});
    return resp;
  });
  auto server = Server::Start({}, std::move(r));
  ASSERT_THAT(server, IsOk());
  int fd = ConnectLoopback((*server)->port());
  ASSERT_GE(fd, 0);
  Send(fd,
       "GET /split?to=/x%0D%0ASet-Cookie:%20SESSION=evil HTTP/1.1\r\n"
       "Host: x\r\n\r\n");
  std::string split = ReadUntil(fd, 2000, Contains("{}"));
  EXPECT_THAT(split, StartsWith("HTTP/1.1 302"));
  EXPECT_THAT(split, HasSubstr("X-Ok: fine"));
  EXPECT_THAT(split, Not(HasSubstr("Set-Cookie")));
  EXPECT_THAT(split, Not(HasSubstr("Location")));
  // A header Beast cannot hold used to throw out of the loop and end the
  // process; now it is dropped and the same connection keeps working.
  Send(fd, "GET /huge HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string huge = ReadUntil(fd, 2000, Contains(R"({"ok":true})"));
  EXPECT_THAT(huge, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(huge, Not(HasSubstr("X-Huge")));
  EXPECT_THAT(huge, Not(HasSubstr("Bad Name")));
  close(fd);
}

TEST(HttpServerLoopTest, BadOptionsAreRefused) {
  ServerOptions o;
  o.threads = 0;
  EXPECT_THAT(Server::Start(o, EchoRouter()), Not(IsOk()));
  o = ServerOptions();
  o.host = "not-an-ip";
  EXPECT_THAT(Server::Start(o, EchoRouter()), Not(IsOk()));
}

TEST(RaiseOpenFileLimitTest, RaisesTheSoftLimitToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  int64_t now = RaiseOpenFileLimit();
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, after.rlim_max);
  EXPECT_GE(now, static_cast<int64_t>(before.rlim_cur));
  // The default cap follows the limit.
  auto server = Server::Start({}, EchoRouter());
  ASSERT_THAT(server, IsOk());
  EXPECT_EQ((*server)->max_connections(),
            std::min<int64_t>(now * 3 / 4, 100000));
}

}  // namespace
}  // namespace gennaker::http
