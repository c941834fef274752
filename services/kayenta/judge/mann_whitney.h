// The two-sample Mann-Whitney U (Wilcoxon rank-sum) test with a
// Hodges-Lehmann-type confidence interval for the location shift, computed
// as R's wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE)
// does: normal approximation with continuity correction and tie-corrected
// variance; interval ends and estimate are roots of the standardized
// statistic as a function of the shift, found by Brent's method (R's zeroin,
// tolerance 1e-4) on [min(x) - max(y), max(x) - min(y)].
//
// Contract: x is the experiment, y the control; the estimate is the shift
// x - y. Inputs must be non-empty and finite; otherwise, or when every
// observation is tied (zero variance), the result is INVALID_ARGUMENT.
// Each evaluation of the statistic is linear in nx + ny (the samples are
// sorted once), so the test is O((nx + ny) log(nx + ny) + k (nx + ny)) for k
// solver iterations. Interval ends are not reordered: with heavy ties the
// "lower" end can exceed the "upper" one, as in the reference.
#ifndef GENNAKER_SERVICES_KAYENTA_JUDGE_MANN_WHITNEY_H_
#define GENNAKER_SERVICES_KAYENTA_JUDGE_MANN_WHITNEY_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"

namespace gennaker::kayenta::judge {

struct MannWhitneyResult {
  double lower = 0;     // confidence interval, first end
  double upper = 0;     // confidence interval, second end
  double estimate = 0;  // location shift x - y
  double p_value = 1;   // two-sided, at shift 0
};

// Brent's root finder (R's zeroin with precomputed f(a), f(b)): returns a
// point of [a, b] within `tol` of a root of `f`, a or b when f is 0 there,
// and the current best point after `max_iter` iterations.
double BrentZeroin(double a, double b, double fa, double fb,
                   const std::function<double(double)>& f, double tol = 1e-4,
                   int max_iter = 1000);

// The standardized, continuity-corrected rank statistic of x - d against y,
// minus zq. Samples are kept sorted so that each call is linear.
class WilcoxonDiff {
 public:
  // Both non-empty and finite (checked by MannWhitney); sorted here unless
  // they already are.
  WilcoxonDiff(std::vector<double> x, std::vector<double> y);

  // INVALID_ARGUMENT when all observations of (x - d, y) are tied.
  absl::StatusOr<double> operator()(double d, double zq) const;

  double MinX() const { return x_.front(); }
  double MaxX() const { return x_.back(); }
  double MinY() const { return y_.front(); }
  double MaxY() const { return y_.back(); }

 private:
  std::vector<double> x_;  // ascending
  std::vector<double> y_;  // ascending
  double y_ties_ = 0;      // sum of t^3 - t over groups of equal y
};

// The test and interval at confidence `conf_level` (0 < conf_level < 1).
absl::StatusOr<MannWhitneyResult> MannWhitney(const std::vector<double>& x,
                                              const std::vector<double>& y,
                                              double conf_level);

}  // namespace gennaker::kayenta::judge

#endif  // GENNAKER_SERVICES_KAYENTA_JUDGE_MANN_WHITNEY_H_
