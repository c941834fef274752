#include "services/kayenta/judge/statistics.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace gennaker::kayenta::judge {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(StatisticsTest, NormalQuantile) {
  EXPECT_NEAR(NormalQuantile(0.01), -2.326348, 1e-6);
  EXPECT_NEAR(NormalQuantile(0.025), -1.9599639845400536, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.975), 1.9599639845400536, 1e-12);
  EXPECT_EQ(NormalQuantile(0.5), 0.0);
  EXPECT_NEAR(NormalQuantile(1e-20), -9.262340089798408, 1e-9);
  EXPECT_NEAR(NormalCdf(NormalQuantile(0.3)), 0.3, 1e-14);
  EXPECT_TRUE(std::isnan(NormalQuantile(-1)));
}

TEST(StatisticsTest, PercentileR7) {
  const std::vector<double> halves = {0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5};
  EXPECT_NEAR(Percentile(halves, 5), 0.175, 1e-12);
  EXPECT_NEAR(Percentile(halves, 50), 1.75, 1e-12);
  EXPECT_NEAR(Percentile(halves, 100), 3.5, 1e-12);
  EXPECT_NEAR(Percentile({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 50), 4.5, 1e-12);
  EXPECT_NEAR(Percentile({95.1772, 95.1567, 95.1937, 95.1959, 95.1442, 95.0610,
                          95.1591, 95.1195, 95.1772, 95.0925, 95.1990, 95.1682},
                         90),
              95.19568, 1e-5);
  EXPECT_EQ(Percentile({4.0}, 100), 4.0);
  EXPECT_TRUE(std::isnan(Percentile({}, 50)));
}

TEST(StatisticsTest, SummaryStats) {
  SummaryStats one = Summarize({4});
  EXPECT_EQ(one.min, 4);
  EXPECT_EQ(one.max, 4);
  EXPECT_EQ(one.mean, 4);
  EXPECT_EQ(one.std, 0);
  EXPECT_EQ(one.count, 1);
  SummaryStats s = Summarize({1, 1, 1, 10, 10, 10});
  EXPECT_NEAR(s.mean, 5.5, 1e-12);
  EXPECT_NEAR(s.std, 4.9295, 1e-4);
  EXPECT_EQ(s.count, 6);
  SummaryStats empty = Summarize({});
  EXPECT_EQ(empty.min, 0);
  EXPECT_EQ(empty.max, 0);
  EXPECT_EQ(empty.mean, 0);
  EXPECT_EQ(empty.std, 0);
  EXPECT_EQ(empty.count, 0);
}

TEST(StatisticsTest, MeanRatio) {
  const std::vector<double> ones(5, 1.0);
  EXPECT_EQ(MeanRatio(ones, ones), 1.0);
  EXPECT_NEAR(MeanRatio(ones, std::vector<double>(5, 10.0)), 10.0, 1e-12);
  EXPECT_NEAR(
      MeanRatio(std::vector<double>(5, 100.0), std::vector<double>(5, 10.0)),
      0.1, 1e-12);
  EXPECT_TRUE(std::isnan(MeanRatio(std::vector<double>(5, 0.0), ones)));
  EXPECT_TRUE(std::isnan(MeanRatio(ones, std::vector<double>(5, 0.0))));
}

TEST(StatisticsTest, Cles) {
  const std::vector<double> a = {1, 2, 3, 4, 5};
  EXPECT_EQ(Cles(a, a), 0.5);
  EXPECT_EQ(Cles({10, 11, 12}, {1, 2, 3}), 0.0);  // experiment lower
  EXPECT_EQ(Cles({1, 2, 3}, {10, 11, 12}), 1.0);
  // P(E > C) + P(tie)/2 by counting pairs.
  const std::vector<double> c = {1, 2, 2, 3, 7};
  const std::vector<double> e = {2, 3, 4, 8};
  double wins = 0;
  for (double x : e) {
    for (double y : c) wins += x > y ? 1 : (x == y ? 0.5 : 0);
  }
  EXPECT_NEAR(Cles(c, e), wins / 20, 1e-12);
}

TEST(StatisticsTest, CohenD) {
  EXPECT_NEAR(CohenD({1, 1, 1, 2, 2, 2}, {5, 5, 5, 10, 10, 10}), 3.03821, 1e-5);
}

TEST(StatisticsTest, AverageRanks) {
  EXPECT_EQ(AverageRanks({10, 20, 10, 30, 20, 20}),
            (std::vector<double>{1.5, 4, 1.5, 6, 4, 4}));
}

TEST(StatisticsTest, NanTransforms) {
  EXPECT_EQ(RemoveNans({0, 1, kNaN, 1, 0}), (std::vector<double>{0, 1, 1, 0}));
  EXPECT_TRUE(RemoveNans({kNaN, kNaN}).empty());
  EXPECT_EQ(ReplaceNans({kNaN, 10.1, 20.2, 30.3, kNaN, 40.4}),
            (std::vector<double>{0, 10.1, 20.2, 30.3, 0, 40.4}));
}

TEST(StatisticsTest, IqrOutliers) {
  EXPECT_EQ(RemoveOutliersIqr({21, 23, 24, 25, 50, 29, 23, 21}, 3.0),
            (std::vector<double>{21, 23, 24, 25, 29, 23, 21}));
  EXPECT_EQ(RemoveOutliersIqr({21, 23, 24, 25, 50, 29, 23, 21}, 1.5),
            (std::vector<double>{21, 23, 24, 25, 29, 23, 21}));
  EXPECT_TRUE(RemoveOutliersIqr({}, 3.0).empty());
  // Reduced sensitivity: the 1st..99th percentile range is never cut.
  std::vector<double> flat(100, 1.0);
  flat[0] = 1.5;
  EXPECT_EQ(RemoveOutliersIqr(flat, 3.0).size(), 99u);
  const Fences f = IqrFences({1, 2, 3, 4, 5}, 1.0);
  EXPECT_NEAR(f.lower, 0.0, 1e-12);  // min(P1 = 1.04, 2 - 2)
  EXPECT_NEAR(f.upper, 6.0, 1e-12);  // max(P99 = 4.96, 4 + 2)
}

TEST(StatisticsTest, CountDistinct) {
  EXPECT_EQ(CountDistinct({}), 0);
  EXPECT_EQ(CountDistinct({3, 1, 3, 2, 1}), 3);
}

}  // namespace
}  // namespace gennaker::kayenta::judge
