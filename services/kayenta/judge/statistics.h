// Descriptive statistics, effect sizes and preprocessing transforms used by
// the NetflixACAJudge-v1.0 judge (docs/spinnaker/kayenta-judge.md).
//
// Contract: pure functions of their arguments; no allocation beyond the
// returned values; NaN and infinities are passed through arithmetic as IEEE
// says (callers remove or replace NaN first). Percentiles use the R-7
// estimator (R's quantile type 7), ranks give tied values their average rank.
#ifndef GENNAKER_SERVICES_KAYENTA_JUDGE_STATISTICS_H_
#define GENNAKER_SERVICES_KAYENTA_JUDGE_STATISTICS_H_

#include <cstdint>
#include <vector>

namespace gennaker::kayenta::judge {

// The R-7 percentile `p` (0 < p <= 100) of `sorted` (ascending, no NaN).
// Empty gives NaN, one element gives that element.
double PercentileSorted(const std::vector<double>& sorted, double p);
// As PercentileSorted on an unsorted copy of `values`.
double Percentile(std::vector<double> values, double p);

// {min, max, mean, std (sample, n-1), count}; all zero for an empty array
// and std 0 for one element.
struct SummaryStats {
  double min = 0;
  double max = 0;
  double mean = 0;
  double std = 0;
  int64_t count = 0;
};
SummaryStats Summarize(const std::vector<double>& values);

// Arithmetic mean; NaN for an empty array.
double Mean(const std::vector<double>& values);

// mean(experiment) / mean(control); NaN when either mean is 0.
double MeanRatio(const std::vector<double>& control,
                 const std::vector<double>& experiment);

// Common-language effect size: P(E > C) + P(E == C) / 2, computed from the
// rank sum of `experiment` in the ranked concatenation of both samples.
double Cles(const std::vector<double>& control,
            const std::vector<double>& experiment);

// Cohen's d with the pooled sample standard deviation (not used by the
// judge; kept as a reference statistic).
double CohenD(const std::vector<double>& control,
              const std::vector<double>& experiment);

// Average ranks (1-based) of `values`, ties sharing their mean rank.
std::vector<double> AverageRanks(const std::vector<double>& values);

// Standard normal quantile function (Wichura's AS 241, about 1e-16 relative
// accuracy) and distribution function.
double NormalQuantile(double p);
double NormalCdf(double z);

// Preprocessing.
std::vector<double> RemoveNans(const std::vector<double>& values);
std::vector<double> ReplaceNans(const std::vector<double>& values);

// The fences of the IQR detector with reduced sensitivity: [min(P1, q25 -
// f*iqr), max(P99, q75 + f*iqr)]. NaN fences for an empty array.
struct Fences {
  double lower;
  double upper;
};
Fences IqrFences(const std::vector<double>& values, double factor);
// `values` without the points strictly outside IqrFences (order kept).
std::vector<double> RemoveOutliersIqr(const std::vector<double>& values,
                                      double factor);

// Number of distinct values (exact equality).
int64_t CountDistinct(std::vector<double> values);

}  // namespace gennaker::kayenta::judge

#endif  // GENNAKER_SERVICES_KAYENTA_JUDGE_STATISTICS_H_
