// Wiring of the kayenta service: the one place where its config becomes
// running parts (PostgreSQL pool and migrations, store, metrics sources,
// core with its runner and scheduler threads, gRPC adapter, and Kayenta's
// REST API on http_port through an in-process gRPC channel).
#ifndef GENNAKER_SERVICES_KAYENTA_KAYENTA_SERVER_H_
#define GENNAKER_SERVICES_KAYENTA_KAYENTA_SERVER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/kayenta/v1/config.pb.h"
#include "services/kayenta/metrics/metrics_source.h"

namespace gennaker::kayenta {

inline constexpr char kUnimplementedArea[] = "kayenta";
inline constexpr int kDefaultWorkerThreads = 2;
inline constexpr int kDefaultFetchAttempts = 3;
inline constexpr int kDefaultFetchTimeoutMs = 30000;

// Kayenta's own defaults (runner); http_port stays 0 (off) unless set.
void ApplyKayentaDefaults(v1::KayentaConfig* config);

// Checks what the shared validation cannot know: distinct account names,
// usable Prometheus URLs, an http_port apart from the other listeners.
absl::Status ValidateConfig(const v1::KayentaConfig& config);

// The metrics sources of `config`, in order (the first is the default).
absl::StatusOr<std::vector<std::unique_ptr<MetricsSource>>> BuildSources(
    const v1::KayentaConfig& config);

// Connects to postgres and builds the service. Fails when the store is
// unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildKayenta(
    const v1::KayentaConfig& config, Metrics* metrics);

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_KAYENTA_SERVER_H_
