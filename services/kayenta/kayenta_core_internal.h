// Pieces shared by kayenta's core source files (kayenta_core.cc: configs,
// runs, judge and pair lists; kayenta_analysis.cc: standalone analyses).
// Not part of the core's interface.
#ifndef GENNAKER_SERVICES_KAYENTA_KAYENTA_CORE_INTERNAL_H_
#define GENNAKER_SERVICES_KAYENTA_KAYENTA_CORE_INTERNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/kayenta/kayenta_core.h"

namespace gennaker::kayenta::core_internal {

// Kayenta's status names (lower case in its JSON).
inline constexpr char kNotStarted[] = "not_started";
inline constexpr char kRunning[] = "running";
inline constexpr char kSucceeded[] = "succeeded";
inline constexpr char kTerminal[] = "terminal";
inline constexpr char kCanceled[] = "canceled";

// Bounds of client-controlled numbers, so that no arithmetic on them can
// overflow: minute counts (1e7 minutes is about 19 years), steps in seconds
// (one point a day at most), and the runs of one standalone analysis.
inline constexpr int64_t kMaxMinutes = 10'000'000;
inline constexpr int64_t kMaxStepSeconds = 86400;
inline constexpr int64_t kMaxAnalysisRuns = 1000;

bool IsComplete(absl::string_view status);
// A stored body; one that does not parse is INTERNAL.
absl::StatusOr<Json> ParseBody(const Record& r);
// Java's Double.toString for the scores in messages ("100.0", "62.5").
std::string FormatScore(double score);
// <prefix>TimeMillis and <prefix>TimeIso.
void SetTimes(Json& j, absl::string_view prefix, int64_t ms);
// Kayenta's exception object for a failed step.
Json Exception(absl::string_view operation, const absl::Status& status,
               int64_t now_ms);
// The request's thresholds: both present and finite.
absl::StatusOr<Thresholds> ThresholdsOf(const Json& request);
absl::Status CheckThresholds(const Thresholds& t);
// One side of a CanaryScopePair as a query window.
absl::StatusOr<ScopeQuery> ScopeQueryOf(const Json& side);
// end - start when every scope has the same duration, else null.
Json CanaryDuration(const Json& request);
// The stage ids of a run with `metrics` metrics, in order.
std::vector<std::string> StageIds(size_t metrics);
// Stores a new run or analysis (status document `st`, NOT_STARTED) with the
// accounts it uses; the id stored first under the same key otherwise.
absl::StatusOr<std::string> InsertNew(KayentaStore* store, Kind kind,
                                      const std::string& id,
                                      const std::string& metrics_account,
                                      const std::string& idempotency_key,
                                      int64_t now, Json& st);

}  // namespace gennaker::kayenta::core_internal

#endif  // GENNAKER_SERVICES_KAYENTA_KAYENTA_CORE_INTERNAL_H_
