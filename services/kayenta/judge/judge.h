// The NetflixACAJudge-v1.0 canary judgment (docs/spinnaker/kayenta-judge.md):
// per metric, NaN handling and outlier removal,
// a Mann-Whitney U test with its confidence interval, effect sizes and a
// classification (Pass, High, Low, Nodata, NodataFailMetric, Error); then
// group scores, the weighted summary score and its classification by the
// thresholds. Pure and deterministic: the same input gives the same output.
#ifndef GENNAKER_SERVICES_KAYENTA_JUDGE_JUDGE_H_
#define GENNAKER_SERVICES_KAYENTA_JUDGE_JUDGE_H_

#include "absl/status/statusor.h"
#include "common/spinnaker/json.h"

namespace gennaker::kayenta {

using spinnaker::Json;

inline constexpr char kNetflixAcaJudge[] = "NetflixACAJudge-v1.0";

// Score thresholds of a run (0-100).
struct Thresholds {
  double pass = 0;
  double marginal = 0;
};

// Judges `pairs` (a MetricSetPair list, Kayenta's JSON) by `config` (a
// CanaryConfig JSON). Returns Kayenta's CanaryJudgeResult JSON; an error
// (INVALID_ARGUMENT, with Kayenta's message) for input the judge refuses.
absl::StatusOr<Json> JudgeCanary(const Json& config, const Json& pairs,
                                 const Thresholds& thresholds);

// The judge's reading of `config` alone (metric analysis configurations and
// classifier group weights), without judging: OK when JudgeCanary would
// accept the config, else the INVALID_ARGUMENT JudgeCanary would give. A
// config without metrics is left to the caller's rules.
absl::Status ValidateJudgeConfig(const Json& config);

// Largest group weight: weights are summed, and a bound keeps the sum finite.
inline constexpr double kMaxGroupWeight = 1e6;

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_JUDGE_JUDGE_H_
