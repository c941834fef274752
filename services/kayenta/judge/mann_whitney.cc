#include "services/kayenta/judge/mann_whitney.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/kayenta/judge/statistics.h"

namespace gennaker::kayenta::judge {
namespace {

constexpr double kEps = 2.220446049250313e-16;

// Zero within one ulp, as the reference solver compares.
bool IsZero(double v) {
  return std::fabs(v) <= std::numeric_limits<double>::denorm_min();
}

double Sign(double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); }

bool AllFinite(const std::vector<double>& v) {
  for (double d : v) {
    if (!std::isfinite(d)) return false;
  }
  return true;
}

}  // namespace

double BrentZeroin(double a, double b, double fa, double fb,
                   const std::function<double(double)>& f, double tol,
                   int max_iter) {
  if (IsZero(fa)) return a;
  if (IsZero(fb)) return b;
  double c = a;
  double fc = fa;
  for (int iter = 0; iter <= max_iter; ++iter) {
    const double prev_step = b - a;
    if (std::fabs(fc) < std::fabs(fb)) {
      // Keep b the best approximation.
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const double tol_act = 2 * kEps * std::fabs(b) + tol / 2;
    double new_step = (c - b) / 2;
    if (std::fabs(new_step) <= tol_act || IsZero(fb)) return b;

    if (std::fabs(prev_step) >= tol_act && std::fabs(fa) > std::fabs(fb)) {
      double p;
      double q;
      const double cb = c - b;
      if (a == c) {
        // Two distinct points: secant.
        const double t1 = fb / fa;
        p = cb * t1;
        q = 1.0 - t1;
      } else {
        // Inverse quadratic interpolation.
        q = fa / fc;
        const double t1 = fb / fc;
        const double t2 = fb / fa;
        p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0));
        q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0);
      }
      if (p > 0) {
        q = -q;
      } else {
        p = -p;
      }
      if (p < (0.75 * cb * q - std::fabs(tol_act * q) / 2) &&
          p < std::fabs(prev_step * q / 2)) {
        new_step = p / q;
      }
    }
    if (std::fabs(new_step) < tol_act) {
      new_step = new_step > 0 ? tol_act : -tol_act;
    }
    a = b;
    fa = fb;
    b += new_step;
    fb = f(b);
    if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0)) {
      c = a;
      fc = fa;
    }
  }
  return b;
}

WilcoxonDiff::WilcoxonDiff(std::vector<double> x, std::vector<double> y)
    : x_(std::move(x)), y_(std::move(y)) {
  if (!std::is_sorted(x_.begin(), x_.end())) std::sort(x_.begin(), x_.end());
  if (!std::is_sorted(y_.begin(), y_.end())) std::sort(y_.begin(), y_.end());
  // Tie groups within y do not depend on the shift.
  for (size_t i = 0; i < y_.size();) {
    size_t k = i + 1;
    while (k < y_.size() && y_[k] == y_[i]) ++k;
    const double t = static_cast<double>(k - i);
    y_ties_ += t * t * t - t;
    i = k;
  }
}

absl::StatusOr<double> WilcoxonDiff::operator()(double d, double zq) const {
  const size_t nx = x_.size();
  const size_t ny = y_.size();
  const double* x = x_.data();
  const double* y = y_.data();
  // With average ranks, the rank sum of x is nx(nx+1)/2 + U, where U counts
  // the (x - d, y) pairs with x - d > y plus half the tied pairs; every term
  // is a multiple of 1/2, so this is exactly the rank-sum value. One pass
  // over the groups of equal x - d (x sorted, and subtracting a constant keeps
  // the order) with a pointer into the sorted y.
  uint64_t less = 0;   // pairs with y < x - d
  uint64_t equal = 0;  // pairs with y == x - d
  double ties = y_ties_;
  size_t j = 0;
  for (size_t i = 0; i < nx;) {
    const double v = x[i] - d;
    size_t k = i + 1;
    while (k < nx && x[k] - d == v) ++k;
    while (j < ny && y[j] < v) ++j;
    size_t je = j;
    while (je < ny && y[je] == v) ++je;
    const double tx = static_cast<double>(k - i);
    const double ty = static_cast<double>(je - j);
    less += (k - i) * j;
    equal += (k - i) * (je - j);
    // The group of t = tx + ty equal values replaces y's own group of ty.
    const double t = tx + ty;
    ties += (t * t * t - t) - (ty * ty * ty - ty);
    j = je;
    i = k;
  }
  const double nxd = static_cast<double>(nx);
  const double nyd = static_cast<double>(ny);
  const double u = static_cast<double>(less) + static_cast<double>(equal) / 2;
  const double dz = u - nxd * nyd / 2;
  const double correction = Sign(dz) * 0.5;
  const double sigma =
      std::sqrt((nxd * nyd / 12) *
                ((nxd + nyd + 1) - ties / ((nxd + nyd) * (nxd + nyd - 1))));
  if (sigma == 0 || std::isnan(sigma)) {
    return absl::InvalidArgumentError(
        "cannot compute confidence interval when all observations are tied");
  }
  return (dz - correction) / sigma - zq;
}

absl::StatusOr<MannWhitneyResult> MannWhitney(const std::vector<double>& x,
                                              const std::vector<double>& y,
                                              double conf_level) {
  if (x.empty() || y.empty()) {
    return absl::InvalidArgumentError(
        "Mann-Whitney needs at least one value in each sample");
  }
  if (!AllFinite(x) || !AllFinite(y)) {
    return absl::InvalidArgumentError(
        "Mann-Whitney needs finite values (no NaN or infinity)");
  }
  if (!(conf_level > 0 && conf_level < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("confidence level must be in (0, 1), got ", conf_level));
  }
  const WilcoxonDiff wdiff(x, y);
  const double mu_min = wdiff.MinX() - wdiff.MaxY();
  const double mu_max = wdiff.MaxX() - wdiff.MinY();
  if (!std::isfinite(mu_min) || !std::isfinite(mu_max)) {
    return absl::InvalidArgumentError(
        "Mann-Whitney sample range overflows a double");
  }

  // The statistic at every point the solver asks for; the first error (all
  // tied) is remembered and returned instead of a result.
  absl::Status error;
  auto f_for = [&](double zq) {
    return [&, zq](double d) {
      absl::StatusOr<double> v = wdiff(d, zq);
      if (!v.ok()) {
        if (error.ok()) error = v.status();
        return 0.0;
      }
      return *v;
    };
  };

  const double alpha = 1 - conf_level;
  const double z = NormalQuantile(alpha / 2);  // negative

  auto find_root = [&](double zq) -> absl::StatusOr<double> {
    GENNAKER_ASSIGN_OR_RETURN(const double f_lower, wdiff(mu_min, zq));
    if (f_lower <= 0) return mu_min;
    GENNAKER_ASSIGN_OR_RETURN(const double f_upper, wdiff(mu_max, zq));
    if (f_upper >= 0) return mu_max;
    return BrentZeroin(mu_min, mu_max, f_lower, f_upper, f_for(zq));
  };

  MannWhitneyResult result;
  GENNAKER_ASSIGN_OR_RETURN(result.lower, find_root(-z));
  GENNAKER_ASSIGN_OR_RETURN(result.upper, find_root(z));
  GENNAKER_ASSIGN_OR_RETURN(const double f0_lower, wdiff(mu_min, 0));
  GENNAKER_ASSIGN_OR_RETURN(const double f0_upper, wdiff(mu_max, 0));
  result.estimate = BrentZeroin(mu_min, mu_max, f0_lower, f0_upper, f_for(0));
  GENNAKER_RETURN_IF_ERROR(error);

  GENNAKER_ASSIGN_OR_RETURN(const double z0, wdiff(0, 0));
  result.p_value = std::min(1.0, 2 * NormalCdf(-std::fabs(z0)));
  return result;
}

}  // namespace gennaker::kayenta::judge
