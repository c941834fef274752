#include "common/service/service_main.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/config/config_loader.h"
#include "common/grpc/grpc_server.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/log/logging.h"
#include "common/metrics/metrics.h"
#include "common/service/defaults.h"
#include "common/service/health_watchdog.h"
#include "common/status/status_macros.h"
#include "common/version.h"

namespace gennaker {
namespace {

// How long a service waits at start-up for a store that does not answer yet.
constexpr std::chrono::seconds kStoreWaitAtStart{120};

void Usage(const std::string& name) {
  fprintf(stderr,
          "usage: %s [--config FILE] [--check-config] [--version]\n"
          "  --config FILE    YAML config (keys as in "
          "proto/gennaker/%s/v1/config.proto)\n"
          "  --check-config   validate the config and exit\n"
          "  --version        print the version and exit\n"
          "Environment: GENNAKER__SECTION__KEY=value overrides a config key.\n",
          name.c_str(), name.c_str());
}

http::Router AdminRouter(const GrpcServer* grpc, const Metrics* metrics,
                         const std::string& name) {
  http::Router router;
  router.Add("GET", "/health", [grpc, name](const http::Request&) {
    bool up = grpc->serving();
    return http::Json(
        up ? 200 : 503,
        absl::StrCat(R"({"status":")", up ? "UP" : "DOWN", R"(","service":")",
                     name, R"(","version":")", kVersion, "\"}"));
  });
  // Liveness: the process serves its admin listener, whatever its
  // dependencies say. /health answers 503 while the watchdog finds a store
  // unreachable; a kubelet probing it would restart every pod during a store
  // outage, which fixes nothing.
  router.Add("GET", "/livez", [](const http::Request&) {
    return http::Json(200, R"({"status":"UP"})");
  });
  router.Add("GET", "/metrics", [metrics](const http::Request&) {
    http::Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics->Render();
    return r;
  });
  return router;
}

}  // namespace

absl::Status LoadServiceConfig(
    const std::string& name, const std::string& path,
    google::protobuf::Message* config,
    const std::function<void(google::protobuf::Message*)>& defaults) {
  ApplyServiceDefaults(name, config);
  if (defaults) defaults(config);
  return config::Load(path, config);
}

int RunServiceMain(int argc, char** argv, const ServiceSpec& spec,
                   google::protobuf::Message* config) {
  auto start = std::chrono::steady_clock::now();
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(9);
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--version") {
      printf("%s %s\n", spec.name.c_str(), kVersion);
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      Usage(spec.name);
      return 0;
    } else {
      fprintf(stderr, "%s: unknown argument '%s'\n", spec.name.c_str(),
              arg.c_str());
      Usage(spec.name);
      return 2;
    }
  }
  absl::Status status =
      LoadServiceConfig(spec.name, config_path, config, spec.defaults);
  if (status.ok()) {
    // Every rule declared in the service's protos, now that its own defaults
    // are in.
    std::vector<std::string> violations = config::RuleViolations(*config);
    if (!violations.empty()) {
      status = absl::InvalidArgumentError(violations.front());
    }
  }
  if (status.ok()) status = spec.validate(*config);
  if (!status.ok()) {
    fprintf(stderr, "%s: invalid config: %s\n", spec.name.c_str(),
            std::string(status.message()).c_str());
    return 2;
  }
  if (check_only) {
    printf("%s: config OK\n", spec.name.c_str());
    return 0;
  }
  const auto& logging = spec.logging(*config);
  status = InitLogging({spec.name, logging.level(), logging.format()});
  if (!status.ok()) {
    fprintf(stderr, "%s: %s\n", spec.name.c_str(),
            std::string(status.message()).c_str());
    return 2;
  }
  // Signals are taken synchronously by this thread; block them before any
  // thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Every listener may hold thousands of connections: 1,024 descriptors
  // (the usual soft limit) would stop gate at ~1,000 idle clients.
  const int64_t open_files = http::RaiseOpenFileLimit();
  SPDLOG_INFO("event=open_file_limit soft={}", open_files);

  // A store that is not reachable yet (UNAVAILABLE) is waited for, with
  // backoff, for kStoreWaitAtStart: in a container or a pod the service often
  // starts before PostgreSQL or Redis listens. Anything else (bad config,
  // a failed migration) stops the service at once. SIGTERM ends the wait.
  std::optional<Metrics> metrics_holder;
  absl::StatusOr<std::unique_ptr<ServiceInstance>> instance;
  const auto wait_until = std::chrono::steady_clock::now() + kStoreWaitAtStart;
  auto backoff = std::chrono::milliseconds(250);
  for (int attempt = 1;; ++attempt) {
    metrics_holder.emplace(spec.name);  // fresh: nothing of a failed attempt
    instance = spec.build(*config, &*metrics_holder);
    if (instance.ok() || !absl::IsUnavailable(instance.status()) ||
        std::chrono::steady_clock::now() + backoff > wait_until) {
      break;
    }
    SPDLOG_WARN("event=waiting_for_store attempt={} retry_in_ms={} error={}",
                attempt, backoff.count(),
                RedactSecrets(instance.status().message()));
    instance = absl::UnknownError("not built");  // release before waiting
    const timespec pause{static_cast<time_t>(backoff.count() / 1000),
                         static_cast<long>(backoff.count() % 1000) * 1000000L};
    if (sigtimedwait(&signals, nullptr, &pause) > 0) {
      SPDLOG_INFO("stopped by a signal while waiting for a store");
      return 0;
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(4000));
  }
  if (!instance.ok()) {
    SPDLOG_CRITICAL("cannot start: {}",
                    RedactSecrets(instance.status().message()));
    return 1;
  }
  Metrics& metrics = *metrics_holder;
  const auto& server = spec.server(*config);
  GrpcServerOptions options;
  options.host = server.host();
  options.port = server.grpc_port();
  options.metrics = &metrics;
  options.unimplemented_area = spec.unimplemented_area;
  options.max_message_bytes = server.max_message_bytes();
  // SERVING once every listener is up: a readiness check (ours, halyard's,
  // Kubernetes') must not pass before StartExtra's REST APIs listen.
  options.serving_at_start = false;
  auto grpc = GrpcServer::Start(options, (*instance)->GrpcServices());
  if (!grpc.ok()) {
    SPDLOG_CRITICAL("cannot start: {}", grpc.status().message());
    return 1;
  }
  http::ServerOptions admin_options;
  admin_options.host = server.host();
  admin_options.port = server.admin_port();
  admin_options.threads = 1;
  auto admin = http::Server::Start(
      admin_options, AdminRouter(grpc->get(), &metrics, spec.name));
  if (!admin.ok()) {
    SPDLOG_CRITICAL("cannot start: {}", admin.status().message());
    return 1;
  }
  status = (*instance)->StartExtra();
  if (!status.ok()) {
    SPDLOG_CRITICAL("cannot start: {}", status.message());
    return 1;
  }
  (*grpc)->SetServing(true);
  std::optional<HealthWatchdog> watchdog;
  watchdog.emplace(
      grpc->get(), [&instance] { return (*instance)->CheckDependencies(); },
      std::chrono::seconds(2));
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  SPDLOG_INFO("{} {} serving: gRPC {}:{}, admin HTTP {}:{} (started in {} ms)",
              spec.name, kVersion, server.host(), (*grpc)->port(),
              server.host(), (*admin)->port(), elapsed.count());

  int sig = 0;
  sigwait(&signals, &sig);
  watchdog.reset();  // it must not report SERVING again while we shut down
  SPDLOG_INFO("received {}, shutting down (grace {} s)", strsignal(sig),
              server.shutdown_grace_seconds());
  (*grpc)->SetServing(false);
  (*instance)->Stop();
  (*grpc)->Shutdown(std::chrono::seconds(server.shutdown_grace_seconds()));
  (*grpc)->Wait();
  (*admin)->Stop();
  SPDLOG_INFO("stopped");
  return 0;
}

}  // namespace gennaker
