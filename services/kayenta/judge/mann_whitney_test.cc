#include "services/kayenta/judge/mann_whitney.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "services/kayenta/judge/mann_whitney_test_data.h"
#include "services/kayenta/judge/statistics.h"

namespace gennaker::kayenta::judge {
namespace {

using testdata::kIntermediateControl;
using testdata::kIntermediateExperiment;

constexpr double kE = 1e-6;  // the reference's assertion precision

TEST(MannWhitneyTest, SmallSeparatedSamples) {
  auto r = MannWhitney({10, 20, 30, 40}, {1, 2, 3, 4}, 0.95);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->lower, 6.0, kE);
  EXPECT_NEAR(r->upper, 39.0, kE);
  EXPECT_NEAR(r->estimate, 22.5, kE);
}

TEST(MannWhitneyTest, TiesOutWithR) {
  auto r =
      MannWhitney(testdata::kTieOutExperiment, testdata::kTieOutControl, 0.95);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->lower, -0.500002521696696, kE);
  EXPECT_NEAR(r->upper, -3.486287505871302E-5, kE);
  // R's estimate (-0.49994) is not asserted by the reference either: the
  // zero of the step function is found on a plateau's edge.
}

TEST(MannWhitneyTest, TiesOutWithRAgain) {
  auto r = MannWhitney(testdata::kTieOut2Experiment, testdata::kTieOut2Control,
                       0.98);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->lower, -0.4999173250549087, kE);
  EXPECT_NEAR(r->upper, -6.912685789769486E-6, kE);
}

TEST(MannWhitneyTest, IntermediateValues) {
  const auto& x = kIntermediateExperiment;
  const auto& y = kIntermediateControl;
  const WilcoxonDiff f(x, y);
  const double mu_min = f.MinX() - f.MaxY();
  const double mu_max = f.MaxX() - f.MinY();
  EXPECT_NEAR(mu_min, -3.124999999999986, kE);
  EXPECT_NEAR(mu_max, 5.555555555555557, kE);
  const double zq_lower = -NormalQuantile(0.025);
  const double zq_upper = NormalQuantile(0.025);
  EXPECT_NEAR(zq_lower, 1.9599639845400536, kE);
  EXPECT_NEAR(zq_upper, -1.9599639845400536, kE);
  EXPECT_NEAR(*f(mu_min, zq_lower), 17.090968923762254, kE);
  EXPECT_NEAR(*f(mu_max, zq_lower), -20.997687930433106, kE);
  EXPECT_NEAR(*f(mu_min, zq_upper), 21.01089689284236, kE);
  EXPECT_NEAR(*f(mu_max, zq_upper), -17.077759961353, kE);

  auto r = MannWhitney(x, y, 0.95);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->lower, 3.521755377702165E-5, kE);
  EXPECT_NEAR(r->upper, 2.02456461662334E-5, kE);
  EXPECT_NEAR(r->estimate, 2.6279243045155653E-5, kE);
  EXPECT_GT(r->lower, r->upper);  // not reordered
}

TEST(MannWhitneyTest, AllTiedIsAnError) {
  auto r = MannWhitney({1, 1, 1}, {1, 1}, 0.95);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MannWhitneyTest, RefusesEmptyAndNonFinite) {
  EXPECT_FALSE(MannWhitney({}, {1, 2}, 0.95).ok());
  EXPECT_FALSE(MannWhitney({1, 2}, {}, 0.95).ok());
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(MannWhitney({1, inf}, {1, 2}, 0.95).ok());
  EXPECT_FALSE(
      MannWhitney({1, std::numeric_limits<double>::quiet_NaN()}, {1, 2}, 0.95)
          .ok());
  EXPECT_FALSE(MannWhitney({1, 2}, {3, 4}, 1.5).ok());
}

TEST(MannWhitneyTest, PValue) {
  // R: wilcox.test(c(10,20,30,40), c(1,2,3,4), exact=FALSE, correct=TRUE)
  // gives W = 16, p = 0.02857 with continuity correction:
  // z = (8 - 0.5) / sqrt(16 * 9 / 12) = 2.16506, p = 0.030383.
  auto r = MannWhitney({10, 20, 30, 40}, {1, 2, 3, 4}, 0.95);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->p_value, 0.030383, 1e-6);
}

TEST(BrentZeroinTest, FindsRootsAndEndpoints) {
  auto f = [](double x) { return x * x - 2; };
  EXPECT_NEAR(BrentZeroin(0, 2, f(0), f(2), f), std::sqrt(2.0), 1e-4);
  EXPECT_EQ(BrentZeroin(-2, 5, 0, 3, f), -2.0);  // f(a) == 0
  EXPECT_EQ(BrentZeroin(-2, 5, 1, 0, f), 5.0);   // f(b) == 0
}

// True when `d` is (within the solver tolerance) a zero of the standardized
// statistic of x - d against y, which is non-increasing in d.
bool IsRoot(const std::vector<double>& x, const std::vector<double>& y,
            double d) {
  const WilcoxonDiff f(x, y);
  return *f(d - 2e-4, 0) >= 0 && *f(d + 2e-4, 0) <= 0;
}

// Random samples for the property tests (fixed seed).
std::vector<double> Sample(std::mt19937_64& rng, int n, double mean,
                           double sd) {
  std::normal_distribution<double> d(mean, sd);
  std::vector<double> out(n);
  for (double& v : out) v = d(rng);
  return out;
}

TEST(MannWhitneyPropertyTest, SwappingSamplesMirrorsTheInterval) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 10; ++trial) {
    const auto x = Sample(rng, 40 + trial, 10 + trial * 0.3, 2);
    const auto y = Sample(rng, 35 + 2 * trial, 10, 2);
    auto xy = MannWhitney(x, y, 0.98);
    auto yx = MannWhitney(y, x, 0.98);
    ASSERT_TRUE(xy.ok() && yx.ok());
    // Roots are found to the solver's 1e-4 tolerance.
    EXPECT_NEAR(xy->lower, -yx->upper, 2e-4) << trial;
    EXPECT_NEAR(xy->upper, -yx->lower, 2e-4) << trial;
    // The statistic is a step function that is exactly 0 on a plateau: the
    // mirrored estimate must be a root of the same statistic.
    EXPECT_TRUE(IsRoot(x, y, -yx->estimate)) << trial;
    EXPECT_NEAR(xy->p_value, yx->p_value, 1e-12) << trial;
  }
}

TEST(MannWhitneyPropertyTest, ShiftingBothSamplesChangesNothing) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 10; ++trial) {
    // Values on a 1/8 grid and a dyadic shift keep the arithmetic exact.
    std::vector<double> x = Sample(rng, 50, 20, 4);
    std::vector<double> y = Sample(rng, 60, 19, 4);
    for (double& v : x) v = std::round(v * 8) / 8;
    for (double& v : y) v = std::round(v * 8) / 8;
    const double c = 1024.0 * (trial - 5);
    std::vector<double> xs(x), ys(y);
    for (double& v : xs) v += c;
    for (double& v : ys) v += c;
    auto a = MannWhitney(x, y, 0.98);
    auto b = MannWhitney(xs, ys, 0.98);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->p_value, b->p_value) << trial;
    EXPECT_NEAR(a->upper - a->lower, b->upper - b->lower, 2e-4) << trial;
    EXPECT_TRUE(IsRoot(x, y, b->estimate)) << trial;
  }
}

TEST(MannWhitneyPropertyTest, ShiftingTheExperimentShiftsTheEstimate) {
  std::mt19937_64 rng(13);
  for (int trial = 0; trial < 10; ++trial) {
    const auto x = Sample(rng, 45, 5, 1);
    const auto y = Sample(rng, 55, 5, 1);
    const double c = 0.75 * (trial + 1);
    std::vector<double> xs(x);
    for (double& v : xs) v += c;
    auto a = MannWhitney(x, y, 0.98);
    auto b = MannWhitney(xs, y, 0.98);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(IsRoot(x, y, b->estimate - c)) << trial;
    EXPECT_NEAR(b->lower, a->lower + c, 2e-4) << trial;
    EXPECT_NEAR(b->upper, a->upper + c, 2e-4) << trial;
    EXPECT_LE(b->p_value, a->p_value + 1e-12) << trial;
  }
}

TEST(MannWhitneyPropertyTest, IntervalContainsTheEstimate) {
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 20; ++trial) {
    const auto x = Sample(rng, 30, 3 * trial, 5);
    const auto y = Sample(rng, 30, 0, 5);
    auto r = MannWhitney(x, y, 0.98);
    ASSERT_TRUE(r.ok());
    EXPECT_LE(r->lower, r->estimate + 1e-4) << trial;
    EXPECT_GE(r->upper, r->estimate - 1e-4) << trial;
  }
}

}  // namespace
}  // namespace gennaker::kayenta::judge
