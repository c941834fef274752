// Where canary metrics come from: a metrics account answers one metric's
// query over one scope with Kayenta's MetricSet list, and knows its metric
// names. MixMetricSets pairs the control and experiment sets of a metric
// into MetricSetPairs, as Kayenta's mixer does.
#ifndef GENNAKER_SERVICES_KAYENTA_METRICS_METRICS_SOURCE_H_
#define GENNAKER_SERVICES_KAYENTA_METRICS_METRICS_SOURCE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spinnaker/json.h"

namespace gennaker::kayenta {

using spinnaker::Json;

// One side's query window (Kayenta's CanaryScope).
struct ScopeQuery {
  std::string scope;
  std::string location;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int64_t step_seconds = 60;
  std::map<std::string, std::string> extended_scope_params;
};

class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // The account's name (metricsAccountName) and type ("prometheus").
  virtual const std::string& Name() const = 0;
  virtual const std::string& Type() const = 0;
  // The MetricSet list (Kayenta's JSON array) of `metric` (a
  // CanaryMetricConfig of `config`) over `scope`. UNAVAILABLE or
  // DEADLINE_EXCEEDED when the source cannot be read (after its retries),
  // INVALID_ARGUMENT for a query it refuses or an answer it cannot read.
  virtual absl::StatusOr<Json> Query(const Json& config, const Json& metric,
                                     const ScopeQuery& scope) = 0;
  // Metric names the source knows, sorted; `filter` keeps those containing
  // it (case-insensitive); empty keeps all.
  virtual absl::StatusOr<std::vector<std::string>> MetricNames(
      const std::string& filter) = 0;
};

// MetricSetPairs (Kayenta's JSON array) of `metric` from the control and
// experiment MetricSet lists, matched by tags as Kayenta's mixer does.
absl::StatusOr<Json> MixMetricSets(const Json& metric, const Json& control,
                                   const Json& experiment);

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_METRICS_METRICS_SOURCE_H_
