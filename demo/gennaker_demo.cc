// gennaker-demo: a small HTTP service to deploy, load-balance and canary.
//
//   gennaker-demo --port 8080 [--version v2] [--host 127.0.0.1]
//                 [--fail-rate 0.0] [--latency-ms 0] [--unhealthy]
//
//   GET  /          {"version":"v2","port":8080}, or 500 for --fail-rate of
//                   the requests, after --latency-ms
//   GET  /health    {"status":"UP"} (503 while unhealthy)
//   GET  /metrics   Prometheus: requests by status code and a latency
//                   histogram (gennaker_requests_total /
//                   gennaker_request_duration_seconds, method "/")
//   POST /admin/fail?rate=R, /admin/slow?ms=N, /admin/unhealthy,
//        /admin/healthy, /admin/reset   change the behaviour at run time
//
// SIGTERM/SIGINT stop it after in-flight requests finish.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_server.h"
#include "common/metrics/metrics.h"

namespace gennaker::demo {
namespace {

struct Behaviour {
  std::atomic<double> fail_rate{0};
  std::atomic<int> latency_ms{0};
  std::atomic<bool> healthy{true};
};

http::Response Json(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

int Main(int argc, char** argv) {
  int port = 0;
  std::string version = "v1", host = "127.0.0.1";
  Behaviour b;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    auto value = [&]() -> std::string {
      return i + 1 < argc ? argv[++i] : std::string();
    };
    if (f == "--port") {
      if (!absl::SimpleAtoi(value(), &port)) port = -1;
    } else if (f == "--version") {
      version = value();
    } else if (f == "--host") {
      host = value();
    } else if (f == "--fail-rate") {
      double v = 0;
      if (!absl::SimpleAtod(value(), &v) || v < 0 || v > 1) {
        fprintf(stderr, "--fail-rate must be within 0..1\n");
        return 2;
      }
      b.fail_rate = v;
    } else if (f == "--latency-ms") {
      int v = 0;
      if (!absl::SimpleAtoi(value(), &v) || v < 0) {
        fprintf(stderr, "--latency-ms must be a non-negative integer\n");
        return 2;
      }
      b.latency_ms = v;
    } else if (f == "--unhealthy") {
      b.healthy = false;
    } else {
      fprintf(stderr,
              "usage: gennaker-demo --port N [--version V] [--host H] "
              "[--fail-rate R] [--latency-ms N] [--unhealthy]\n");
      return 2;
    }
  }
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "--port must be within 1..65535\n");
    return 2;
  }
  Metrics metrics("gennaker-demo");
  http::Router router;
  router.Add("GET", "/", [&](const http::Request&) {
    absl::Time start = absl::Now();
    if (int ms = b.latency_ms.load(); ms > 0) {
      absl::SleepFor(absl::Milliseconds(ms));
    }
    thread_local std::mt19937 rng{std::random_device{}()};
    bool fail =
        std::uniform_real_distribution<double>(0, 1)(rng) < b.fail_rate.load();
    http::Response r =
        fail ? Json(500,
                    absl::StrCat(R"({"error":"injected failure","version":")",
                                 version, "\"}"))
             : Json(200, absl::StrCat(R"({"version":")", version,
                                      R"(","port":)", port, "}"));
    metrics.RecordRequest("http", "/", std::to_string(r.status),
                          absl::ToDoubleSeconds(absl::Now() - start));
    return r;
  });
  router.Add("GET", "/health", [&](const http::Request&) {
    return b.healthy ? Json(200, R"({"status":"UP"})")
                     : Json(503, R"({"status":"DOWN"})");
  });
  router.Add("GET", "/metrics", [&](const http::Request&) {
    http::Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics.Render();
    return r;
  });
  router.Add("POST", "/admin/fail", [&](const http::Request& r) {
    double v = 1;
    if (!r.Query("rate").empty() &&
        (!absl::SimpleAtod(r.Query("rate"), &v) || v < 0 || v > 1)) {
      return Json(400, R"({"message":"rate must be within 0..1"})");
    }
    b.fail_rate = v;
    return Json(200, absl::StrCat(R"({"failRate":)", v, "}"));
  });
  router.Add("POST", "/admin/slow", [&](const http::Request& r) {
    int v = 0;
    if (!absl::SimpleAtoi(r.Query("ms"), &v) || v < 0 || v > 60000) {
      return Json(400, R"({"message":"ms must be within 0..60000"})");
    }
    b.latency_ms = v;
    return Json(200, absl::StrCat(R"({"latencyMs":)", v, "}"));
  });
  router.Add("POST", "/admin/unhealthy", [&](const http::Request&) {
    b.healthy = false;
    return Json(200, R"({"healthy":false})");
  });
  router.Add("POST", "/admin/healthy", [&](const http::Request&) {
    b.healthy = true;
    return Json(200, R"({"healthy":true})");
  });
  router.Add("POST", "/admin/reset", [&](const http::Request&) {
    b.fail_rate = 0;
    b.latency_ms = 0;
    b.healthy = true;
    return Json(200, R"({"reset":true})");
  });
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before server threads
  http::ServerOptions o;
  o.host = host;
  o.port = port;
  o.threads = 4;
  auto server = http::Server::Start(o, std::move(router));
  if (!server.ok()) {
    fprintf(stderr, "gennaker-demo: cannot listen on %s:%d: %s\n", host.c_str(),
            port, std::string(server.status().message()).c_str());
    return 1;
  }
  fprintf(stderr, "gennaker-demo %s listening on %s:%d\n", version.c_str(),
          host.c_str(), port);
  int sig = 0;
  sigwait(&signals, &sig);
  server->reset();  // finishes requests in flight
  return 0;
}

}  // namespace
}  // namespace gennaker::demo

int main(int argc, char** argv) { return gennaker::demo::Main(argc, argv); }
