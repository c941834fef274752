// Which HTTP server library for gate and the admin listeners: the same cached
// reply served by libmicrohttpd in its three threading modes, by the Beast
// server in common/http (the one the services use), and by nginx, side by side
// in one run.
//
//   http_server_bench [--seconds 8] [--connections 32,200] [--bytes 100000]
//                     [--idle 10000] [--rounds 1]
//
// Each server runs in its own process (this binary re-executed with
// --serve MODE --port P), serving `--bytes` of JSON from memory at
// GET /cached through a Router (as gate's cached list is). Per server:
// `wrk -t2 -c<C> --latency` for each C, then `--idle` idle connections are
// opened and kept while wrk runs again at the last C; the table shows
// throughput, p50/p99 and errors, and whether new requests were still
// answered. Everything shares the machine's 2 cores with wrk.
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/nginx.h"
#include "bench/wrk.h"
#include "common/http/http.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/log/call_context.h"
#include "common/metrics/metrics.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"

namespace gennaker {
namespace {

constexpr char kPath[] = "/cached";

std::shared_ptr<const std::string> Body(int64_t bytes) {
  // A JSON array of equal strings, `bytes` long.
  std::string body = "[";
  while (static_cast<int64_t>(body.size()) + 40 < bytes) {
    absl::StrAppend(&body, body.size() > 1 ? "," : "",
                    "\"0123456789abcdef0123456789abcdef\"");
  }
  body += "]";
  return std::make_shared<const std::string>(std::move(body));
}

http::Router CachedRouter(std::shared_ptr<const std::string> body) {
  http::Router r;
  r.Add("GET", kPath,
        [body](const http::Request&) { return http::SharedJson(200, body); });
  return r;
}

// --- libmicrohttpd, as gate used it before (and its other modes) ---------

// The libmicrohttpd adapter the services used before (common/http at commit
// 32a2d41), kept here as the baseline: headers and query collected into the
// Request, then what Server::Handle does (call context, router, metrics).
struct MhdContext {
  const http::Router* router;
  Metrics* metrics;
};

struct MhdConnection {
  http::Request request;
};

size_t MhdKeepEscaped(void*, struct MHD_Connection*, char* s) {
  return strlen(s);
}

MHD_Result MhdHeader(void* cls, enum MHD_ValueKind, const char* key,
                     const char* value) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(cls);
  (*headers)[absl::AsciiStrToLower(key)] = value ? value : "";
  return MHD_YES;
}

MHD_Result MhdArg(void* cls, enum MHD_ValueKind, const char* key,
                  const char* value) {
  auto* query = static_cast<std::multimap<std::string, std::string>*>(cls);
  query->emplace(http::PercentDecode(key, true),
                 value ? http::PercentDecode(value, true) : "");
  return MHD_YES;
}

struct MhdBody {
  std::shared_ptr<const std::string> shared;
  std::string owned;
};

void MhdFreeBody(void* cls) { delete static_cast<MhdBody*>(cls); }

http::Response HandleAsServerDid(const MhdContext& ctx,
                                 http::Request& request) {
  auto start = std::chrono::steady_clock::now();
  CallContext call;
  call.request_id = request.Header("x-request-id");
  if (call.request_id.empty()) call.request_id = NewRequestId();
  ScopedCallContext scope(std::move(call));
  std::string pattern;
  http::Response response = ctx.router->Dispatch(request, &pattern);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  ctx.metrics->RecordRequest("http", absl::StrCat(request.method, " ", pattern),
                             absl::StrCat(response.status), seconds);
  return response;
}

MHD_Result MhdRequest(void* cls, MHD_Connection* connection, const char* url,
                      const char* method, const char*, const char* upload,
                      size_t* upload_size, void** con_cls) {
  auto* ctx = static_cast<MhdContext*>(cls);
  auto* conn = static_cast<MhdConnection*>(*con_cls);
  if (conn == nullptr) {
    conn = new MhdConnection();
    conn->request.method = method;
    conn->request.path = url;
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &MhdHeader,
                              &conn->request.headers);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &MhdArg,
                              &conn->request.query);
    *con_cls = conn;
    return MHD_YES;
  }
  if (*upload_size > 0) {
    conn->request.body.append(upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  http::Response r = HandleAsServerDid(*ctx, conn->request);
  auto* holder = new MhdBody{std::move(r.shared_body), std::move(r.body)};
  const std::string& body = holder->shared ? *holder->shared : holder->owned;
  MHD_Response* resp = MHD_create_response_from_buffer_with_free_callback_cls(
      body.size(), const_cast<char*>(body.data()), &MhdFreeBody, holder);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          r.content_type.c_str());
  MHD_Result ret = MHD_queue_response(connection, r.status, resp);
  MHD_destroy_response(resp);
  return ret;
}

void MhdCompleted(void*, MHD_Connection*, void** con_cls,
                  enum MHD_RequestTerminationCode) {
  delete static_cast<MhdConnection*>(*con_cls);
  *con_cls = nullptr;
}

int ServeMhd(const std::string& mode, int port, const http::Router& router) {
  Metrics metrics("bench");
  MhdContext ctx{&router, &metrics};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  unsigned int flags = 0;
  unsigned int pool = 0;
  if (mode == "mhd-epoll-pool2") {
    flags = MHD_USE_EPOLL_INTERNAL_THREAD;
    pool = 2;
  } else if (mode == "mhd-epoll-1") {
    flags = MHD_USE_EPOLL_INTERNAL_THREAD;
  } else if (mode == "mhd-thread-per-connection") {
    flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
            MHD_USE_POLL;
  } else {
    fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  MHD_Daemon* d =
      pool > 0
          ? MHD_start_daemon(
                flags, static_cast<uint16_t>(port), nullptr, nullptr,
                &MhdRequest, &ctx, MHD_OPTION_SOCK_ADDR, &addr,
                MHD_OPTION_THREAD_POOL_SIZE, pool, MHD_OPTION_UNESCAPE_CALLBACK,
                &MhdKeepEscaped, nullptr, MHD_OPTION_NOTIFY_COMPLETED,
                &MhdCompleted, nullptr, MHD_OPTION_CONNECTION_LIMIT, 15000u,
                MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END)
          : MHD_start_daemon(
                flags, static_cast<uint16_t>(port), nullptr, nullptr,
                &MhdRequest, &ctx, MHD_OPTION_SOCK_ADDR, &addr,
                MHD_OPTION_UNESCAPE_CALLBACK, &MhdKeepEscaped, nullptr,
                MHD_OPTION_NOTIFY_COMPLETED, &MhdCompleted, nullptr,
                MHD_OPTION_CONNECTION_LIMIT, 15000u,
                MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
  if (d == nullptr) {
    fprintf(stderr, "libmicrohttpd did not start (%s)\n", mode.c_str());
    return 1;
  }
  pause();
  MHD_stop_daemon(d);
  return 0;
}

int Serve(const std::string& mode, int port, int64_t bytes) {
  http::RaiseOpenFileLimit();
  http::Router router = CachedRouter(Body(bytes));
  if (absl::StartsWith(mode, "mhd-")) return ServeMhd(mode, port, router);
  int threads = 0;
  if (!absl::StartsWith(mode, "beast-") ||
      !absl::SimpleAtoi(mode.substr(6), &threads)) {
    fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  Metrics metrics("bench");
  http::ServerOptions o;
  o.port = port;
  o.threads = threads;
  o.metrics = &metrics;  // as every service has it
  auto server = http::Server::Start(o, std::move(router));
  if (!server.ok()) {
    fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  pause();
  return 0;
}

// --- the driver ------------------------------------------------------------

// Opens `n` idle client connections (RST on close: no TIME_WAIT pile-up).
std::vector<int> OpenIdle(int port, int n) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd);
      break;
    }
    fds.push_back(fd);
  }
  return fds;
}

// Connections of `fds` the server has not closed.
int StillOpen(const std::vector<int>& fds) {
  int open = 0;
  for (int fd : fds) {
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++open;
  }
  return open;
}

// CPU seconds (user + system) used so far by `pid` and its live children
// (nginx's workers), from /proc.
double CpuSeconds(pid_t pid) {
  double ticks = 0;
  auto add = [&ticks](pid_t p, pid_t want_parent) {
    std::ifstream in(absl::StrCat("/proc/", p, "/stat"));
    std::string stat((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    size_t close = stat.rfind(')');
    if (close == std::string::npos) return;
    std::vector<std::string> f =
        absl::StrSplit(stat.substr(close + 2), ' ');  // f[0] is field 3
    if (f.size() < 13) return;
    long long parent = 0, utime = 0, stime = 0;
    (void)absl::SimpleAtoi(f[1], &parent);
    if (want_parent != 0 && parent != want_parent) return;
    (void)absl::SimpleAtoi(f[11], &utime);
    (void)absl::SimpleAtoi(f[12], &stime);
    ticks += static_cast<double>(utime + stime);
  };
  add(pid, 0);
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t child = 0;
    if (absl::SimpleAtoi(entry.path().filename().string(), &child)) {
      add(child, pid);
    }
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

bool Answers(int port) {
  http::ClientRequest r;
  r.url = absl::StrCat("http://127.0.0.1:", port, kPath);
  r.timeout_ms = 2000;
  auto resp = http::Fetch(r);
  return resp.ok() && resp->status == 200;
}

struct Row {
  std::string server;
  std::string load;
  bench::WrkResult wrk;
  std::string note;
  double cpu_us_per_request = -1;  // the server's CPU time per request
};

// wrk against `url` while measuring the server's CPU time.
Row Measure(const std::string& server, const std::string& load, pid_t pid,
            const std::string& url, int connections, int seconds,
            const std::string& log) {
  const double before = CpuSeconds(pid);
  Row row{server, load, bench::RunWrk(url, connections, seconds, log), ""};
  const double used = CpuSeconds(pid) - before;
  const double requests = row.wrk.rps * seconds;
  if (requests > 0) row.cpu_us_per_request = used * 1e6 / requests;
  return row;
}

std::string Ms(double ms) {
  return ms < 0 ? "-" : absl::StrFormat("%.2f ms", ms);
}

int Main(int argc, char** argv) {
  int seconds = 8, rounds = 1, idle = 10000;
  int64_t bytes = 100000;
  std::vector<int> connections = {32, 200};
  std::string serve;
  int serve_port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "--seconds") (void)absl::SimpleAtoi(v, &seconds);
    if (f == "--rounds") (void)absl::SimpleAtoi(v, &rounds);
    if (f == "--idle") (void)absl::SimpleAtoi(v, &idle);
    if (f == "--bytes") (void)absl::SimpleAtoi(v, &bytes);
    if (f == "--serve") serve = v;
    if (f == "--port") (void)absl::SimpleAtoi(v, &serve_port);
    if (f == "--connections") {
      connections.clear();
      for (absl::string_view c : absl::StrSplit(v, ',')) {
        int n = 0;
        if (absl::SimpleAtoi(c, &n) && n > 0) connections.push_back(n);
      }
    }
  }
  if (!serve.empty()) return Serve(serve, serve_port, bytes);
  if (connections.empty()) {
    fprintf(stderr, "--connections needs a list like 32,200\n");
    return 2;
  }
  const int64_t files = http::RaiseOpenFileLimit();
  fprintf(stderr, "open-file limit %lld; %d idle connections asked\n",
          static_cast<long long>(files), idle);
  std::string dir = testing::MakeTempDir("http-server-bench");
  absl::Cleanup remove_dir = [&dir] { testing::RemoveTree(dir); };
  std::shared_ptr<const std::string> body = Body(bytes);
  auto nginx = bench::Nginx::Start({{kPath, *body}});
  if (!nginx.ok()) {
    fprintf(stderr, "%s\n", std::string(nginx.status().message()).c_str());
    return 1;
  }
  const std::vector<std::string> servers = {"mhd-epoll-pool2",
                                            "mhd-epoll-1",
                                            "mhd-thread-per-connection",
                                            "beast-1",
                                            "beast-2",
                                            "beast-8",
                                            "nginx"};
  std::vector<Row> rows;
  for (int round = 1; round <= rounds; ++round) {
    for (const std::string& name : servers) {
      pid_t pid = 0;
      int port = (*nginx)->port();
      const pid_t measured = name == "nginx" ? (*nginx)->pid() : 0;
      if (name != "nginx") {
        auto free_port = process::FreePort();
        if (!free_port.ok()) return 1;
        port = *free_port;
        process::SpawnOptions o;
        o.argv = {"/proc/self/exe",   "--serve",          name,
                  "--port",           absl::StrCat(port), "--bytes",
                  absl::StrCat(bytes)};
        o.log_file = absl::StrCat(dir, "/", name, ".log");
        o.die_with_parent = true;
        auto spawned = process::Spawn(o);
        if (!spawned.ok()) return 1;
        pid = *spawned;
        for (int i = 0; i < 100 && !Answers(port); ++i) {
          absl::SleepFor(absl::Milliseconds(20));
        }
      }
      absl::Cleanup stop = [pid] {
        if (pid > 0) (void)process::Terminate(pid, absl::Seconds(3));
      };
      const std::string url = absl::StrCat("http://127.0.0.1:", port, kPath);
      for (int c : connections) {
        fprintf(stderr, "round %d: %s, wrk -c%d ...\n", round, name.c_str(), c);
        rows.push_back(Measure(name, absl::StrCat(c, " connections"),
                               measured > 0 ? measured : pid, url, c, seconds,
                               absl::StrCat(dir, "/wrk.txt")));
      }
      if (idle > 0) {
        fprintf(stderr, "round %d: %s, %d idle connections + wrk -c%d ...\n",
                round, name.c_str(), idle, connections.back());
        std::vector<int> fds = OpenIdle(port, idle);
        absl::SleepFor(absl::Milliseconds(500));
        const bool answers = Answers(port);
        Row row =
            Measure(name,
                    absl::StrCat(fds.size(), " idle + ", connections.back(),
                                 " connections"),
                    measured > 0 ? measured : pid, url, connections.back(),
                    seconds, absl::StrCat(dir, "/wrk.txt"));
        row.note = absl::StrCat("new request ", answers ? "answered" : "FAILED",
                                "; idle still open ", StillOpen(fds));
        for (int fd : fds) close(fd);
        absl::SleepFor(absl::Milliseconds(500));
        absl::StrAppend(&row.note, "; after closing them ",
                        Answers(port) ? "answers" : "DOES NOT ANSWER");
        rows.push_back(std::move(row));
      }
    }
  }
  printf(
      "\n%lld-byte reply, wrk -t2 -d%ds, 2 cores shared by wrk and the "
      "server\n\n",
      static_cast<long long>(body->size()), seconds);
  printf(
      "| server | load | req/s | server CPU per request | p50 | p99 | "
      "non-2xx | socket errors | notes |\n"
      "|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    printf("| %s | %s | %.0f | %.1f us | %s | %s | %lld | %lld | %s |\n",
           r.server.c_str(), r.load.c_str(), r.wrk.rps, r.cpu_us_per_request,
           Ms(r.wrk.p50_ms).c_str(), Ms(r.wrk.p99_ms).c_str(),
           static_cast<long long>(r.wrk.non_2xx),
           static_cast<long long>(r.wrk.socket_errors()), r.note.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  return gennaker::Main(argc, argv);
}
