#include "services/kayenta/judge/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace gennaker::kayenta::judge {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

double PercentileSorted(const std::vector<double>& sorted, double p) {
  const size_t n = sorted.size();
  if (n == 0) return kNaN;
  if (n == 1) return sorted[0];
  // 1-based position 1 + (n-1)*p/100, interpolated between neighbours.
  const double pos = p == 0 ? 0 : 1 + (static_cast<double>(n) - 1) * p / 100;
  if (pos < 1) return sorted.front();
  if (pos >= static_cast<double>(n)) return sorted.back();
  const double floor_pos = std::floor(pos);
  const size_t i = static_cast<size_t>(floor_pos);
  const double lower = sorted[i - 1];
  const double upper = sorted[i];
  return lower + (pos - floor_pos) * (upper - lower);
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return PercentileSorted(values, p);
}

double Mean(const std::vector<double>& values) {
  if (values.empty()) return kNaN;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

namespace {
// Sample variance with the two-pass (corrected) algorithm.
double SampleVariance(const std::vector<double>& values, double mean) {
  const size_t n = values.size();
  if (n < 2) return 0;
  double sq = 0;
  double comp = 0;
  for (double v : values) {
    const double d = v - mean;
    sq += d * d;
    comp += d;
  }
  const double nd = static_cast<double>(n);
  return (sq - comp * comp / nd) / (nd - 1);
}
}  // namespace

SummaryStats Summarize(const std::vector<double>& values) {
  SummaryStats s;
  if (values.empty()) return s;
  s.count = static_cast<int64_t>(values.size());
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  s.mean = Mean(values);
  s.std = values.size() == 1 ? 0 : std::sqrt(SampleVariance(values, s.mean));
  return s;
}

double MeanRatio(const std::vector<double>& control,
                 const std::vector<double>& experiment) {
  const double c = Mean(control);
  const double e = Mean(experiment);
  if (c == 0 || e == 0) return kNaN;
  return e / c;
}

std::vector<double> AverageRanks(const std::vector<double>& values) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(n);
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && values[order[j]] == values[order[i]]) ++j;
    // Positions i..j-1 (0-based) share the mean of ranks i+1..j.
    const double rank =
        (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k) ranks[order[k]] = rank;
    i = j;
  }
  return ranks;
}

double Cles(const std::vector<double>& control,
            const std::vector<double>& experiment) {
  const double m = static_cast<double>(experiment.size());
  const double n = static_cast<double>(control.size());
  std::vector<double> all(experiment);
  all.insert(all.end(), control.begin(), control.end());
  const std::vector<double> ranks = AverageRanks(all);
  double r1 = 0;
  for (size_t i = 0; i < experiment.size(); ++i) r1 += ranks[i];
  return (2 * r1 - m * (m + 1)) / (2 * n * m);
}

double CohenD(const std::vector<double>& control,
              const std::vector<double>& experiment) {
  const double n1 = static_cast<double>(experiment.size());
  const double n2 = static_cast<double>(control.size());
  const double m1 = Mean(experiment);
  const double m2 = Mean(control);
  const double v1 = SampleVariance(experiment, m1);
  const double v2 = SampleVariance(control, m2);
  const double pooled =
      std::sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2));
  return (m1 - m2) / pooled;
}

double NormalQuantile(double p) {
  if (std::isnan(p) || p < 0 || p > 1) return kNaN;
  if (p == 0) return -std::numeric_limits<double>::infinity();
  if (p == 1) return std::numeric_limits<double>::infinity();
  const double q = p - 0.5;
  if (std::fabs(q) <= 0.425) {
    const double r = 0.180625 - q * q;
    return q *
           (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r +
                 67265.770927008700853) *
                    r +
                45921.953931549871457) *
                   r +
               13731.693765509461125) *
                  r +
              1971.5909503065514427) *
                 r +
             133.14166789178437745) *
                r +
            3.387132872796366608) /
           (((((((r * 5226.495278852545925 + 28729.085735721942674) * r +
                 39307.89580009271061) *
                    r +
                21213.794301586595867) *
                   r +
               5394.1960214247511077) *
                  r +
              687.1870074920579083) *
                 r +
             42.313330701600911252) *
                r +
            1.0);
  }
  double r = q < 0 ? p : 1 - p;
  r = std::sqrt(-std::log(r));
  double val;
  if (r <= 5.0) {
    r -= 1.6;
    val = (((((((r * 7.7454501427834140764e-4 + .0227238449892691845833) * r +
                .24178072517745061177) *
                   r +
               1.27045825245236838258) *
                  r +
              3.64784832476320460504) *
                 r +
             5.7694972214606914055) *
                r +
            4.6303378461565452959) *
               r +
           1.42343711074968357734) /
          (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r +
                .0151986665636164571966) *
                   r +
               .14810397642748007459) *
                  r +
              .68976733498510000455) *
                 r +
             1.6763848301838038494) *
                r +
            2.05319162663775882187) *
               r +
           1.0);
  } else {
    r -= 5.0;
    val =
        (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r +
              .0012426609473880784386) *
                 r +
             .026532189526576123093) *
                r +
            .29656057182850489123) *
               r +
           1.7848265399172913358) *
              r +
          5.4637849111641143699) *
             r +
         6.6579046435011037772) /
        (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r +
              1.8463183175100546818e-5) *
                 r +
             7.868691311456132591e-4) *
                r +
            .0148753612908506148525) *
               r +
           .13692988092273580531) *
              r +
          .59983220655588793769) *
             r +
         1.0);
  }
  return q < 0 ? -val : val;
}

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

std::vector<double> RemoveNans(const std::vector<double>& values) {
  std::vector<double> out;
  out.reserve(values.size());
  for (double v : values) {
    if (!std::isnan(v)) out.push_back(v);
  }
  return out;
}

std::vector<double> ReplaceNans(const std::vector<double>& values) {
  std::vector<double> out(values);
  for (double& v : out) {
    if (std::isnan(v)) v = 0.0;
  }
  return out;
}

Fences IqrFences(const std::vector<double>& values, double factor) {
  if (values.empty()) return {kNaN, kNaN};
  std::vector<double> sorted(values);
  std::sort(sorted.begin(), sorted.end());
  const double q25 = PercentileSorted(sorted, 25);
  const double q75 = PercentileSorted(sorted, 75);
  const double iqr = q75 - q25;
  const double lo = q25 - factor * iqr;
  const double hi = q75 + factor * iqr;
  // Reduced sensitivity: never flag points inside the 1st..99th percentile.
  return {std::min(PercentileSorted(sorted, 1), lo),
          std::max(PercentileSorted(sorted, 99), hi)};
}

std::vector<double> RemoveOutliersIqr(const std::vector<double>& values,
                                      double factor) {
  const Fences f = IqrFences(values, factor);
  std::vector<double> out;
  out.reserve(values.size());
  for (double v : values) {
    if (!(v > f.upper || v < f.lower)) out.push_back(v);
  }
  return out;
}

int64_t CountDistinct(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return std::unique(values.begin(), values.end()) - values.begin();
}

}  // namespace gennaker::kayenta::judge
