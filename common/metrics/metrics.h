// Prometheus metrics for a service: request counters and latency histograms
// labelled by method and status, rendered in the text exposition format for GET
// /metrics. A Metrics object is created once per process by the service's
// wiring and injected; all methods are thread-safe.
#ifndef GENNAKER_COMMON_METRICS_METRICS_H_
#define GENNAKER_COMMON_METRICS_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace gennaker {

class Metrics {
 public:
  explicit Metrics(std::string service);

  // Records one finished request: `kind` is "grpc" or "http", `method` the full
  // gRPC method or HTTP route, `code` the status (gRPC code name or HTTP
  // status).
  void RecordRequest(absl::string_view kind, absl::string_view method,
                     absl::string_view code, double seconds);

  // Sets a gauge (e.g. pool sizes, queue depth).
  void SetGauge(absl::string_view name, double value);

  // Prometheus text format (version 0.0.4).
  std::string Render() const;

 private:
  static constexpr std::array<double, 12> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
  struct Series {
    uint64_t count = 0;
    double sum = 0;
    std::array<uint64_t, kBuckets.size()> buckets{};
  };
  // (kind, method) -> code -> series.
  using Key = std::pair<std::string, std::string>;

  const std::string service_;
  const int64_t start_unix_seconds_;
  mutable absl::Mutex mu_;
  std::map<Key, std::map<std::string, Series>> requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, double> gauges_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker

#endif  // GENNAKER_COMMON_METRICS_METRICS_H_
