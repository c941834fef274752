// The Prometheus metrics source: Kayenta's PromQL building, the range query
// over HTTP and the answer mapped into MetricSets.
//
// Query building (BuildPrometheusQuery) follows Kayenta's rules: a custom
// filter (inline template or a named template of the canary config, with
// ${...} variables) or, failing that, the resource type decides the label
// filter; "PromQL:" makes the expanded filter the whole query. One addition:
// a query with neither a custom filter nor a resource type (Kayenta refuses
// it) filters on the account's scope and location labels, which default to
// "server_group" and "location", the labels clouddriver's local provider
// publishes in its Prometheus file_sd targets.
//
// The source reads <base_url>/api/v1/query_range through the outbound
// policy, with basic auth when a user name is set (the password is never
// logged), retrying transport failures and 5xx answers `attempts` times in
// all. A source that cannot be reached is UNAVAILABLE (or DEADLINE_EXCEEDED);
// a refused query or an unreadable answer is INVALID_ARGUMENT; messages name
// the account and the metric. Metric names are cached for 60 s. A source is
// thread-safe. docs/spinnaker/kayenta-prometheus.md has the details.
#ifndef GENNAKER_SERVICES_KAYENTA_METRICS_PROMETHEUS_H_
#define GENNAKER_SERVICES_KAYENTA_METRICS_PROMETHEUS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/http/outbound.h"
#include "gennaker/kayenta/v1/config.pb.h"
#include "services/kayenta/metrics/metrics_source.h"

namespace gennaker::kayenta {

inline constexpr char kDefaultScopeLabel[] = "server_group";
inline constexpr char kDefaultLocationLabel[] = "location";

// The PromQL of `metric` (a CanaryMetricConfig whose query has type
// "prometheus") of canary config `config` over `scope`. INVALID_ARGUMENT for
// a missing metricName or template, an undefined ${variable}, the deprecated
// customFilter, a resource type without its location or one not supported.
absl::StatusOr<std::string> BuildPrometheusQuery(
    const Json& config, const Json& metric, const ScopeQuery& scope,
    const std::string& scope_label = kDefaultScopeLabel,
    const std::string& location_label = kDefaultLocationLabel);

// The MetricSet list of a query_range answer `body` (already parsed) for the
// metric named `metric_name`; `query` goes into each set's attributes. Values
// sit on the query's step grid: a point missing inside a series is NaN. No
// series at all gives one placeholder set without tags or values spanning the
// scope. INVALID_ARGUMENT when the answer is not a successful matrix.
absl::StatusOr<Json> PrometheusResponseToMetricSets(
    const Json& body, const std::string& metric_name, const std::string& query,
    const ScopeQuery& scope);

// A source for `account` (defaults filled in for empty labels). Calls go
// through an OutboundClient built from `policy`; `attempts` (at least 1) is
// how often a failed call is tried. INVALID_ARGUMENT for a bad base URL or
// policy.
absl::StatusOr<std::unique_ptr<MetricsSource>> NewPrometheusSource(
    const v1::PrometheusAccount& account, http::OutboundPolicy policy,
    int attempts);

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_METRICS_PROMETHEUS_H_
