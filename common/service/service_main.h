// The main() of every service binary, so that all ten start, log, serve and
// stop the same way. A service provides its config defaults, its own validation
// and a Build function (the one place where its parts are wired); this runs:
//   flags (--config FILE, --check-config, --version) -> load + validate config
//   (exit 2 with the key and reason on error) -> logging -> Build (a store
//   that is UNAVAILABLE is retried with backoff for up to 120 s, then exit 1;
//   any other error exits 1 at once) -> gRPC server with health and reflection
//   -> admin HTTP (/health, /livez, /metrics) -> wait for SIGTERM/SIGINT ->
//   NOT_SERVING, graceful shutdown within server.shutdownGraceSeconds.
#ifndef GENNAKER_COMMON_SERVICE_SERVICE_MAIN_H_
#define GENNAKER_COMMON_SERVICE_SERVICE_MAIN_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gennaker/common/v1/config.pb.h"

namespace grpc {
class Service;
}

namespace gennaker {

class Metrics;

// A built service: what it serves over gRPC, plus optional extra listeners.
class ServiceInstance {
 public:
  virtual ~ServiceInstance() = default;
  // Services to register (owned by the instance).
  virtual std::vector<grpc::Service*> GrpcServices() = 0;
  // Starts extra listeners (e.g. gate's REST API) once gRPC serves.
  virtual absl::Status StartExtra() { return absl::OkStatus(); }
  // Stops extra listeners and background work; called before gRPC shuts down.
  virtual void Stop() {}
  // Checks the service's dependencies (store pings); while it fails the service
  // reports NOT_SERVING. Called every few seconds from a background thread.
  virtual absl::Status CheckDependencies() { return absl::OkStatus(); }
};

// Type-erased description of a service; use ServiceMain<Config> below.
struct ServiceSpec {
  std::string name;
  std::string
      unimplemented_area;  // "see issue: ..." text for UNIMPLEMENTED replies
  // The service's own defaults, applied after the shared blocks' (may be
  // empty).
  std::function<void(google::protobuf::Message*)> defaults;
  std::function<absl::Status(const google::protobuf::Message&)> validate;
  std::function<absl::StatusOr<std::unique_ptr<ServiceInstance>>(
      const google::protobuf::Message&, Metrics*)>
      build;
  std::function<const common::v1::ServerConfig&(
      const google::protobuf::Message&)>
      server;
  std::function<const common::v1::LoggingConfig&(
      const google::protobuf::Message&)>
      logging;
};

int RunServiceMain(int argc, char** argv, const ServiceSpec& spec,
                   google::protobuf::Message* config);

// Loads defaults (the shared blocks', then the service's own `defaults` when
// given) + file + environment for `name` into `config` and validates the
// shared blocks (used by ServiceMain and by tests).
absl::Status LoadServiceConfig(
    const std::string& name, const std::string& path,
    google::protobuf::Message* config,
    const std::function<void(google::protobuf::Message*)>& defaults = nullptr);

// Applies the shared defaults for `name`, then the service's own `defaults`
// (when given: each service owns the keys only it has), and runs the service.
template <typename Config>
int ServiceMain(int argc, char** argv, std::string name,
                std::string unimplemented_area,
                std::function<absl::Status(const Config&)> validate,
                std::function<absl::StatusOr<std::unique_ptr<ServiceInstance>>(
                    const Config&, Metrics*)>
                    build,
                std::function<void(Config*)> defaults = nullptr) {
  Config config;
  ServiceSpec spec;
  spec.name = std::move(name);
  spec.unimplemented_area = std::move(unimplemented_area);
  if (defaults) {
    spec.defaults = [defaults](google::protobuf::Message* m) {
      defaults(static_cast<Config*>(m));
    };
  }
  spec.validate = [validate](const google::protobuf::Message& m) {
    return validate ? validate(static_cast<const Config&>(m))
                    : absl::OkStatus();
  };
  spec.build = [build](const google::protobuf::Message& m, Metrics* metrics) {
    return build(static_cast<const Config&>(m), metrics);
  };
  spec.server = [](const google::protobuf::Message& m)
      -> const common::v1::ServerConfig& {
    return static_cast<const Config&>(m).server();
  };
  spec.logging = [](const google::protobuf::Message& m)
      -> const common::v1::LoggingConfig& {
    return static_cast<const Config&>(m).logging();
  };
  return RunServiceMain(argc, argv, spec, &config);
}

}  // namespace gennaker

#endif  // GENNAKER_COMMON_SERVICE_SERVICE_MAIN_H_
