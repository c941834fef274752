// Soak driver: N idle or slow client connections held open against gate, and
// normal load beside them; then the same against nginx serving the same
// bytes, in the same run (issue 18: gate keeps up while 10,000 idle or slow
// connections are open).
//
//   soak_bench [--idle 1000,5000,10000] [--seconds 10] [--connections 32]
//              [--slow-fraction 0.1] [--gate PATH]
//
// Starts a throwaway PostgreSQL and Redis, the real front50 and gate (2 HTTP
// threads; --gate runs another gate binary) with application "bench" holding
// 100 pipelines, and nginx (bench/nginx.h) serving gate's reply to GET
// /applications/bench/pipelineConfigs. Then raises its own RLIMIT_NOFILE soft
// limit to the hard limit (after starting the servers, so they keep the
// limit they were given), and for each N, on gate then on nginx:
//   1. opens N connections (non-blocking connect, epoll; at most 20 s);
//   2. a fraction of them is slow (slowloris): sends a request header one
//      byte a second, never finishing it; the rest send nothing;
//   3. runs `wrk -t2 -c<C> -d<S>s --latency` on the route while they are
//      held, and fetches gate's admin /health a few times meanwhile;
//   4. counts the held connections the server has not closed, closes them
//      all with RST (SO_LINGER 0: no TIME_WAIT on the ~28k ephemeral ports),
//      and checks that a plain GET answers within 1 s (else how long until
//      it does, up to 30 s).
// Every call has a time-out; one table at the end. The start-up is
// bench/gate_suite.h's.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/gate_suite.h"
#include "bench/wrk.h"
#include "common/testing/test_stores.h"

namespace gennaker {
namespace {

using bench::Get;
using bench::kSuiteRoute;
using bench::StopRequested;

// The request a slow client dribbles out, one byte a second; it never ends
// the header.
constexpr char kSlowHeader[] =
    "GET /applications/bench/pipelineConfigs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    "X-Slow: ";

// N held client connections to one port. A thread watches them (epoll) for
// the server closing them and feeds the slow ones.
class Holder {
 public:
  explicit Holder(int port) : port_(port) {}
  ~Holder() { CloseAll(); }

  // Opens up to `n` connections, `slow_fraction` of them slow; waits at most
  // `wait` for the handshakes. Returns how many connected.
  int Open(int n, double slow_fraction, absl::Duration wait) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int pending = 0;
    for (int i = 0; i < n; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        error_ = absl::StrCat("socket() failed after ", i,
                              " connections: ", strerror(errno));
        break;
      }
      // Closing sends RST: no TIME_WAIT left on the ephemeral ports.
      linger l{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      Conn c;
      c.fd = fd;
      c.slow = i < static_cast<int>(n * slow_fraction);
      const int index = static_cast<int>(conns_.size());
      conns_.push_back(c);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        conns_[index].state = kConnected;
      } else if (errno == EINPROGRESS) {
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.u32 = index;
        epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
        ++pending;
      } else {
        conns_[index].state = kFailed;
        if (error_.empty()) error_ = absl::StrCat("connect: ", strerror(errno));
      }
    }
    const absl::Time end = absl::Now() + wait;
    std::vector<epoll_event> events(1024);
    while (pending > 0 && absl::Now() < end) {
      int got = epoll_wait(epoll_, events.data(), events.size(), 100);
      for (int e = 0; e < got; ++e) {
        Conn& c = conns_[events[e].data.u32];
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        c.state = err == 0 ? kConnected : kFailed;
        if (err != 0 && error_.empty()) {
          error_ = absl::StrCat("connect: ", strerror(err));
        }
        epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
        --pending;
      }
    }
    // From now on: watch the connected ones for the server closing them.
    int connected = 0;
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.state == kPending) {
        epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
        if (error_.empty()) error_ = "some connects did not finish in time";
      }
      if (c.state != kConnected) continue;
      ++connected;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u32 = i;
      epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
    }
    watcher_ = std::thread([this] { Watch(); });
    return connected;
  }

  // Connected ones the server has not closed (nor reset).
  int StillOpen() {
    std::lock_guard<std::mutex> lock(mu_);
    int open = 0;
    for (const Conn& c : conns_) open += c.state == kConnected;
    return open;
  }
  const std::string& error() const { return error_; }

  void CloseAll() {
    stop_ = true;
    if (watcher_.joinable()) watcher_.join();
    for (Conn& c : conns_) {
      if (c.fd >= 0) close(c.fd);
      c.fd = -1;
    }
    conns_.clear();
    if (epoll_ >= 0) close(epoll_);
    epoll_ = -1;
  }

 private:
  enum State { kPending, kConnected, kFailed, kClosedByServer };
  struct Conn {
    int fd = -1;
    bool slow = false;
    size_t sent = 0;  // bytes of the slow header sent
    State state = kPending;
  };

  void Watch() {
    std::vector<epoll_event> events(1024);
    absl::Time next_drip = absl::Now();
    char buf[4096];
    while (!stop_.load()) {
      int got = epoll_wait(epoll_, events.data(), events.size(), 100);
      std::lock_guard<std::mutex> lock(mu_);
      for (int e = 0; e < got; ++e) {
        Conn& c = conns_[events[e].data.u32];
        if (c.state != kConnected) continue;
        // Drain what the server sent (e.g. a 408); EOF or error: closed.
        while (true) {
          ssize_t r = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
          if (r > 0) continue;
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          c.state = kClosedByServer;
          epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
          break;
        }
      }
      if (absl::Now() < next_drip) continue;
      next_drip = absl::Now() + absl::Seconds(1);
      for (Conn& c : conns_) {
        if (!c.slow || c.state != kConnected) continue;
        // After the fixed part, one more byte of the never-ending header.
        const char byte =
            c.sent < sizeof(kSlowHeader) - 1 ? kSlowHeader[c.sent] : 'a';
        ssize_t w = send(c.fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w == 1) {
          ++c.sent;
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
          c.state = kClosedByServer;
          epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
        }
      }
    }
  }

  const int port_;
  int epoll_ = -1;
  std::vector<Conn> conns_;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::thread watcher_;
  std::string error_;
};

struct Row {
  int n = 0;
  std::string target;
  int opened = 0;
  int still_open = 0;
  std::string open_error;
  bench::WrkResult wrk;
  std::string admin;        // "k/m" of gate's admin /health answered, or "-"
  std::string after;        // the plain GET after closing them
  int64_t wrk_seconds = 0;  // wall time of wrk

  // req/s, and what went wrong when nothing was answered.
  std::string Rps() const {
    if (!wrk.ok && wrk_seconds >= 25) {
      return absl::StrFormat("%.0f (FAILED: wrk hung, killed after %d s)",
                             wrk.rps, wrk_seconds);
    }
    if (!wrk.ok) return absl::StrFormat("%.0f (FAILED: wrk failed)", wrk.rps);
    if (wrk.rps <= 0) return "0 (FAILED: no answer)";
    return absl::StrFormat("%.0f", wrk.rps);
  }
};

// "Max open files" soft limit of `pid`, from /proc.
std::string OpenFilesLimit(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/limits"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::vector<std::string> words =
        absl::StrSplit(line.substr(14), ' ', absl::SkipEmpty());
    if (!words.empty()) return words[0];
  }
  return "?";
}

// The plain GET after the held connections closed: "ok 3 ms" within 1 s,
// else how long until one answered (each try 1 s, up to 30 s).
std::string AnswersAfter(const std::string& url) {
  const absl::Time start = absl::Now();
  auto first = Get(url, 1000);
  if (first.ok() && first->status == 200) {
    return absl::StrCat("ok in ",
                        absl::ToInt64Milliseconds(absl::Now() - start), " ms");
  }
  const std::string why = first.ok() ? absl::StrCat("HTTP ", first->status)
                                     : std::string("no answer in 1 s");
  while (absl::Now() - start < absl::Seconds(30) && !StopRequested()) {
    absl::SleepFor(absl::Milliseconds(500));
    auto again = Get(url, 1000);
    if (again.ok() && again->status == 200) {
      return absl::StrCat("FAILED (", why, "); answered after ",
                          absl::ToInt64Seconds(absl::Now() - start), " s");
    }
  }
  return absl::StrCat("FAILED (", why, "); still not answering after 30 s");
}

Row Soak(int n, const std::string& target, int port, const std::string& url,
         int admin_port, int seconds, int connections, double slow_fraction,
         const std::string& dir) {
  Row row;
  row.n = n;
  row.target = target;
  fprintf(stderr, "N=%d %s: opening connections\n", n, target.c_str());
  Holder holder(port);
  row.opened = holder.Open(n, slow_fraction, absl::Seconds(20));
  row.open_error = holder.error();
  fprintf(stderr, "N=%d %s: %d connected%s%s; wrk -t2 -c%d -d%ds\n", n,
          target.c_str(), row.opened, row.open_error.empty() ? "" : ": ",
          row.open_error.c_str(), connections, seconds);
  // gate's admin listener, meanwhile: every 2 s, 1 s each.
  std::atomic<bool> wrk_done{false};
  int admin_ok = 0, admin_tries = 0;
  std::thread admin;
  if (admin_port > 0) {
    admin = std::thread([&] {
      while (!wrk_done.load()) {
        ++admin_tries;
        auto r =
            Get(absl::StrCat("http://127.0.0.1:", admin_port, "/health"), 1000);
        if (r.ok() && r->status == 200) ++admin_ok;
        for (int i = 0; i < 20 && !wrk_done.load(); ++i) {
          absl::SleepFor(absl::Milliseconds(100));
        }
      }
    });
  }
  const absl::Time wrk_start = absl::Now();
  row.wrk = bench::RunWrk(url, connections, seconds,
                          absl::StrCat(dir, "/wrk-", target, "-", n, ".txt"),
                          seconds + 30);
  row.wrk_seconds = absl::ToInt64Seconds(absl::Now() - wrk_start);
  wrk_done = true;
  if (admin.joinable()) admin.join();
  row.admin = admin_port > 0 ? absl::StrCat(admin_ok, "/", admin_tries) : "-";
  row.still_open = holder.StillOpen();
  holder.CloseAll();
  row.after = AnswersAfter(url);
  fprintf(stderr, "N=%d %s: %.0f req/s, still open %d, after: %s\n", n,
          target.c_str(), row.wrk.rps, row.still_open, row.after.c_str());
  if (!row.wrk.ok) fprintf(stderr, "%s\n", row.wrk.text.c_str());
  return row;
}

std::string Ms(double ms) {
  return ms < 0 ? std::string("-") : absl::StrFormat("%.2f", ms);
}

int Main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  bench::StopOnSignals();  // before any thread starts

  std::vector<int> idle = {1000, 5000, 10000};
  int seconds = 10, connections = 32;
  double slow_fraction = 0.1;
  std::string gate_binary = testing::BinDir() + "/gate";
  const char* usage =
      "usage: soak_bench [--idle 1000,5000,10000] [--seconds 10] "
      "[--connections 32] [--slow-fraction 0.1] [--gate PATH]\n";
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    bool ok = i + 1 < argc;
    if (ok && flag == "--idle") {
      idle.clear();
      for (absl::string_view v : absl::StrSplit(argv[i + 1], ',')) {
        int n = 0;
        ok = ok && absl::SimpleAtoi(v, &n) && n >= 0;
        idle.push_back(n);
      }
    } else if (ok && flag == "--seconds") {
      ok = absl::SimpleAtoi(argv[i + 1], &seconds) && seconds > 0;
    } else if (ok && flag == "--connections") {
      ok = absl::SimpleAtoi(argv[i + 1], &connections) && connections > 0;
    } else if (ok && flag == "--slow-fraction") {
      ok = absl::SimpleAtod(argv[i + 1], &slow_fraction) &&
           slow_fraction >= 0 && slow_fraction <= 1;
    } else if (ok && flag == "--gate") {
      gate_binary = argv[i + 1];
    } else {
      ok = false;
    }
    if (!ok) {
      fprintf(stderr, "%s", usage);
      return 2;
    }
  }

  bench::GateSuite s;
  if (!bench::StartGateSuite(s, "soak-bench", gate_binary)) return 1;

  // Our own limit only, after the servers started: they keep theirs.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  const rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  const bool raised = setrlimit(RLIMIT_NOFILE, &lim) == 0;
  getrlimit(RLIMIT_NOFILE, &lim);
  printf(
      "soak_bench: RLIMIT_NOFILE soft %llu -> %llu (hard %llu)%s; gate's "
      "open-files limit %s, nginx master's %s (workers: "
      "worker_rlimit_nofile 30000)\n",
      static_cast<unsigned long long>(before),
      static_cast<unsigned long long>(lim.rlim_cur),
      static_cast<unsigned long long>(lim.rlim_max),
      raised ? "" : " (raising failed)", OpenFilesLimit(s.gate).c_str(),
      OpenFilesLimit(s.nginx->pid()).c_str());
  for (int n : idle) {
    if (static_cast<rlim_t>(n) + 200 > lim.rlim_cur) {
      printf(
          "N=%d cannot be fully opened: RLIMIT_NOFILE is %llu (this process "
          "holds N sockets plus ~100 other files)\n",
          n, static_cast<unsigned long long>(lim.rlim_cur));
    }
  }

  const std::string gate_url = s.GateUrl();
  std::vector<Row> rows;
  for (int n : idle) {
    if (StopRequested()) break;
    rows.push_back(Soak(n, "gate", s.gate_http, gate_url, s.gate_admin, seconds,
                        connections, slow_fraction, s.dir));
    if (StopRequested()) break;
    rows.push_back(Soak(n, "nginx", s.nginx->port(), s.nginx->Url(kSuiteRoute),
                        0, seconds, connections, slow_fraction, s.dir));
  }
  if (StopRequested()) {
    fprintf(stderr, "stopped by a signal; cleaning up\n");
    return 1;
  }

  double load[3] = {0, 0, 0};
  (void)getloadavg(load, 3);
  printf(
      "\nsoak: N held connections (%.0f %% slow: a header byte a second, the "
      "rest idle) + wrk -t2 -c%d -d%ds --latency on GET %s (%zu bytes); "
      "load average after the run %.2f %.2f %.2f\n\n",
      slow_fraction * 100, connections, seconds, kSuiteRoute, s.body.size(),
      load[0], load[1], load[2]);
  printf(
      "p50/p99 \"-\": no request was answered. still open: held connections "
      "the server had not closed when the load ended.\n\n");
  printf(
      "| N | target | opened | still open at end | req/s | p50 ms | p99 ms | "
      "non-2xx | socket errors c/r/w/t | gate admin /health | GET after "
      "closing |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    printf(
        "| %d | %s | %d%s | %d | %s | %s | %s | %lld | %lld/%lld/%lld/%lld "
        "| %s | %s |\n",
        r.n, r.target.c_str(), r.opened,
        r.open_error.empty() ? ""
                             : absl::StrCat(" (", r.open_error, ")").c_str(),
        r.still_open, r.Rps().c_str(),
        Ms(r.wrk.rps > 0 ? r.wrk.p50_ms : -1).c_str(),
        Ms(r.wrk.rps > 0 ? r.wrk.p99_ms : -1).c_str(),
        static_cast<long long>(r.wrk.non_2xx),
        static_cast<long long>(r.wrk.connect_errors),
        static_cast<long long>(r.wrk.read_errors),
        static_cast<long long>(r.wrk.write_errors),
        static_cast<long long>(r.wrk.timeout_errors), r.admin.c_str(),
        r.after.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
