#include "services/kayenta/judge/classifier.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/kayenta/judge/mann_whitney_test_data.h"

namespace gennaker::kayenta::judge {
namespace {

using testdata::kAround10A;
using testdata::kAround10B;
using testdata::kAround20A;
using testdata::kAround20B;

// The reference classifier tests run at tolerance 0.10, confidence 0.95.
MetricClassification Classify(const std::vector<double>& e,
                              const std::vector<double>& c,
                              const MetricAnalysisConfig& config = {}) {
  auto r = ClassifyMetric("m", e, c, config, 0.10, 0.95);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : MetricClassification{};
}

MetricAnalysisConfig Direction(judge::Direction d) {
  MetricAnalysisConfig c;
  c.direction = d;
  return c;
}

MetricAnalysisConfig Allowed(double decrease, double increase) {
  MetricAnalysisConfig c;
  c.allowed_decrease = decrease;
  c.allowed_increase = increase;
  return c;
}

TEST(ClassifierTest, SampleSetsPassHighLow) {
  EXPECT_EQ(Classify(kAround10A, kAround10B).classification,
            Classification::kPass);
  EXPECT_EQ(Classify(kAround20A, kAround10B).classification,
            Classification::kHigh);
  EXPECT_EQ(Classify(kAround10A, kAround20B).classification,
            Classification::kLow);
}

TEST(ClassifierTest, Directions) {
  const auto inc = Direction(judge::Direction::kIncrease);
  const auto dec = Direction(judge::Direction::kDecrease);
  EXPECT_EQ(Classify(kAround10A, kAround20B, inc).classification,
            Classification::kPass);
  EXPECT_EQ(Classify(kAround20A, kAround10B, dec).classification,
            Classification::kPass);
  EXPECT_EQ(Classify(kAround20A, kAround10B, inc).classification,
            Classification::kHigh);
  EXPECT_EQ(Classify(kAround10A, kAround20B, dec).classification,
            Classification::kLow);
  const auto high = Classify(kAround20A, kAround10B);
  EXPECT_EQ(high.reason, "m was classified as High");
  EXPECT_FALSE(high.critical);
}

TEST(ClassifierTest, OneDistinctValueOverallPasses) {
  auto r = Classify({1, 1, 1}, {1, 1}, Direction(judge::Direction::kDecrease));
  EXPECT_EQ(r.classification, Classification::kPass);
  EXPECT_EQ(r.deviation, 1.0);
}

TEST(ClassifierTest, IdenticalDataPasses) {
  auto r = Classify({1, 2, 3, 4, 5}, {5, 4, 3, 2, 1});
  EXPECT_EQ(r.classification, Classification::kPass);
  EXPECT_EQ(r.reason, "The Canary and Baseline data are identical");
  EXPECT_EQ(r.deviation, 1.0);
}

TEST(ClassifierTest, SmallDifferencesPass) {
  EXPECT_EQ(Classify({0, 1, 1, 1, 1}, {1, 1, 1, 1, 1}).classification,
            Classification::kPass);
  EXPECT_EQ(Classify({1, 1, 1, 1, 10}, {1, 1, 1, 1, 1}).classification,
            Classification::kPass);
}

TEST(ClassifierTest, MissingData) {
  MetricAnalysisConfig critical;
  critical.critical = true;
  auto r = Classify({}, {1, 2, 3});
  EXPECT_EQ(r.classification, Classification::kNodata);
  EXPECT_EQ(r.reason, "Missing data for m");
  EXPECT_EQ(r.deviation, 1.0);
  EXPECT_FALSE(r.critical);
  r = Classify({}, {1, 2, 3}, critical);
  EXPECT_EQ(r.classification, Classification::kNodata);
  EXPECT_TRUE(r.critical);

  MetricAnalysisConfig must;
  must.must_have_data = true;
  r = Classify({1, 2}, {}, must);
  EXPECT_EQ(r.classification, Classification::kNodataFailMetric);
  EXPECT_FALSE(r.critical);
  must.critical = true;  // critical wins over mustHaveData
  r = Classify({1, 2}, {}, must);
  EXPECT_EQ(r.classification, Classification::kNodata);
  EXPECT_TRUE(r.critical);

  MetricAnalysisConfig replace;
  replace.nan_strategy = NanStrategy::kReplace;
  r = Classify({}, {1, 2, 3}, replace);
  EXPECT_EQ(r.classification, Classification::kPass);
  EXPECT_FALSE(r.reason.has_value());

  r = Classify({}, {});
  EXPECT_TRUE(r.reason.has_value() && !r.reason->empty());
}

TEST(ClassifierTest, ConstantSidesUseNoiseAndAreDeterministic) {
  const std::vector<double> tens(5, 10.0);
  const std::vector<double> ones(5, 1.0);
  const std::vector<double> zeros(5, 0.0);
  auto a = Classify(tens, ones);
  auto b = Classify(tens, ones);
  EXPECT_EQ(a.classification, Classification::kHigh);
  EXPECT_EQ(a.deviation, b.deviation);
  EXPECT_NEAR(a.deviation, 10.0, 1e-3);
  EXPECT_EQ(Classify(tens, zeros).classification, Classification::kHigh);
  auto low = Classify(zeros, {54.9, 54.5, 55.1, 55.6, 57.4}, Allowed(0.8, 1.2));
  EXPECT_EQ(low.classification, Classification::kLow);
  EXPECT_TRUE(std::isnan(low.deviation));
  auto zero = Classify(zeros, zeros, Allowed(0.8, 1.2));
  EXPECT_EQ(zero.classification, Classification::kPass);
  EXPECT_EQ(zero.deviation, 1.0);
}

TEST(ClassifierTest, CriticalWithZeroBaseline) {
  MetricAnalysisConfig c;
  c.critical = true;
  c.nan_strategy = NanStrategy::kReplace;
  c.critical_decrease = 0.8;
  c.critical_increase = 1.2;
  auto r = Classify({0.1, 0.2, 0.15, 0.3, 0.25, 0.12, 0.22, 0.18, 0.3, 0.11},
                    std::vector<double>(10, 0.0), c);
  EXPECT_EQ(r.classification, Classification::kHigh);
  EXPECT_TRUE(r.critical);  // NaN effect passes every gate
  EXPECT_EQ(r.reason, "The metric m was classified as High (Critical)");
}

TEST(ClassifierTest, CriticalLow) {
  MetricAnalysisConfig c;
  c.critical = true;
  c.critical_decrease = 1.2;
  c.critical_increase = 1.0;
  auto r = Classify({2, 2, 2, 2, 3}, {10, 20.2, 10.1, 20.5, 30}, c);
  EXPECT_EQ(r.classification, Classification::kLow);
  EXPECT_TRUE(r.critical);
  EXPECT_EQ(r.reason, "The metric m was classified as Low (Critical)");
}

TEST(ClassifierTest, EffectSizeGates) {
  const std::vector<double> e = {20, 22, 21, 25, 30};
  const std::vector<double> c = {1, 2.2, 1.1, 2.5, 3};
  MetricAnalysisConfig gated = Allowed(1, 13);
  gated.critical = true;
  gated.critical_decrease = 1;
  gated.critical_increase = 15;
  auto r = Classify(e, c, gated);
  EXPECT_EQ(r.classification, Classification::kPass);  // ratio 12.04 < 13
  EXPECT_FALSE(r.critical);
  EXPECT_NEAR(r.deviation, 23.6 / 1.96, 1e-9);

  MetricAnalysisConfig critical;
  critical.critical = true;
  r = Classify(e, c, critical);
  EXPECT_EQ(r.classification, Classification::kHigh);
  EXPECT_TRUE(r.critical);

  r = Classify(e, c, Allowed(0.8, 1.2));
  EXPECT_EQ(r.classification, Classification::kHigh);
  EXPECT_FALSE(r.critical);

  // High but below the critical increase: a plain, non-critical High.
  MetricAnalysisConfig soft = critical;
  soft.critical_increase = 100;
  r = Classify(e, c, soft);
  EXPECT_EQ(r.classification, Classification::kHigh);
  EXPECT_FALSE(r.critical);
  EXPECT_EQ(r.reason, "m was classified as High");

  EXPECT_EQ(Classify({10, 12.2, 10.1, 12.5, 23}, {20, 22, 21, 25, 30},
                     Allowed(0.5, 1.0))
                .classification,
            Classification::kPass);
}

TEST(ClassifierTest, ClesMeasure) {
  MetricAnalysisConfig c;
  c.measure = EffectMeasure::kCles;
  c.allowed_increase = 0.5;
  c.allowed_decrease = 0.5;
  EXPECT_EQ(Classify(kAround20A, kAround10B, c).classification,
            Classification::kHigh);
  c.allowed_increase = 1.01;  // CLES is at most 1: never High
  EXPECT_EQ(Classify(kAround20A, kAround10B, c).classification,
            Classification::kPass);
}

TEST(ClassifierTest, NanLeftInIsAnError) {
  auto r = ClassifyMetric("m", {1, std::nan(""), 3}, {1, 2, 3}, {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ClassifierTest, Preprocess) {
  const double nan = std::nan("");
  MetricAnalysisConfig c;
  EXPECT_EQ(Preprocess({1, nan, 2}, c), (std::vector<double>{1, 2}));
  c.nan_strategy = NanStrategy::kReplace;
  EXPECT_EQ(Preprocess({1, nan, 2}, c), (std::vector<double>{1, 0, 2}));
  c.remove_outliers = true;
  EXPECT_EQ(Preprocess({21, 23, 24, 25, 50, 29, 23, 21}, c),
            (std::vector<double>{21, 23, 24, 25, 29, 23, 21}));
}

ScoredResult R(Classification c, std::vector<std::string> groups,
               bool critical = false, bool muted = false,
               std::string reason = "") {
  ScoredResult r;
  r.classification = c;
  r.groups = std::move(groups);
  r.critical = critical;
  r.muted = muted;
  r.reason = std::move(reason);
  return r;
}

TEST(ScorerTest, GroupScores) {
  using C = Classification;
  EXPECT_EQ(ScoreResults({R(C::kPass, {"g"})}, {}).score, 100);
  EXPECT_EQ(ScoreResults({R(C::kHigh, {"g"})}, {}).score, 0);
  EXPECT_EQ(ScoreResults({R(C::kPass, {"g"}), R(C::kHigh, {"g"})}, {}).score,
            50);
  EXPECT_EQ(ScoreResults({R(C::kPass, {"group-1"}), R(C::kHigh, {"group-1"}),
                          R(C::kHigh, {"group-2"})},
                         {{"group-1", 50}, {"group-2", 50}})
                .score,
            25);
  EXPECT_EQ(
      ScoreResults({R(C::kLow, {"g"}), R(C::kPass, {"g"}, true)}, {}).score,
      50);
  EXPECT_EQ(ScoreResults(
                {R(C::kPass, {"g"}), R(C::kHigh, {"g"}), R(C::kLow, {"g"})}, {})
                .score,
            33.33);
  EXPECT_EQ(ScoreResults({R(C::kPass, {"group-1"}), R(C::kPass, {"group-1"}),
                          R(C::kHigh, {"group-2"})},
                         {{"group-1", 75}, {"group-2", 25}})
                .score,
            75);
  EXPECT_EQ(ScoreResults({R(C::kNodata, {"g"})}, {}).score, 0);
}

TEST(ScorerTest, CriticalFailureZeroesTheScore) {
  using C = Classification;
  ScoreSummary s =
      ScoreResults({R(C::kPass, {"g"}),
                    R(C::kNodata, {"g"}, true, false, "Missing data for x")},
                   {});
  EXPECT_EQ(s.score, 0);
  EXPECT_EQ(s.reason, "Canary Failed: Missing data for x");
  // A muted critical failure does not count.
  s = ScoreResults({R(C::kPass, {"g"}), R(C::kHigh, {"g"}, true, true, "x")},
                   {});
  EXPECT_EQ(s.score, 100);
  EXPECT_EQ(s.reason, "");
}

TEST(ScorerTest, MutedAndNodata) {
  using C = Classification;
  ScoreSummary s =
      ScoreResults({R(C::kPass, {"g"}), R(C::kHigh, {"g"}, false, true)}, {});
  EXPECT_EQ(s.score, 100);
  s = ScoreResults({R(C::kPass, {"g"}), R(C::kNodata, {"g"})}, {});
  EXPECT_EQ(s.score, 0);
  EXPECT_EQ(s.reason, "Canary Failed: 50% or more metrics returned NODATA");
  // Nodata below half is left out of its group; NodataFailMetric counts.
  s = ScoreResults(
      {R(C::kPass, {"g"}), R(C::kPass, {"g"}), R(C::kNodata, {"g"})}, {});
  EXPECT_EQ(s.score, 100);
  s = ScoreResults({R(C::kPass, {"g"}), R(C::kNodataFailMetric, {"g"})}, {});
  EXPECT_EQ(s.score, 50);
  // A group with only Nodata/Error scores 0 but adds its full weight.
  s = ScoreResults(
      {R(C::kPass, {"a"}), R(C::kPass, {"a"}), R(C::kError, {"b"})},
      {{"a", 60}, {"b", 40}});
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_EQ(s.groups[1].name, "b");
  EXPECT_TRUE(s.groups[1].no_data);
  EXPECT_EQ(s.groups[1].score, 0);
  EXPECT_EQ(s.score, 100);
  // No results: 0, no reason.
  s = ScoreResults({}, {});
  EXPECT_EQ(s.score, 0);
  EXPECT_EQ(s.reason, "");
}

TEST(ScorerTest, Weights) {
  using C = Classification;
  // Weights of absent groups are lost.
  EXPECT_EQ(ScoreResults({R(C::kPass, {"a"})}, {{"a", 50}, {"b", 50}}).score,
            50);
  // Unweighted groups share what is left of 100.
  ScoreSummary s =
      ScoreResults({R(C::kPass, {"a"}), R(C::kPass, {"b"}), R(C::kHigh, {"c"})},
                   {{"a", 40}});
  EXPECT_EQ(s.score, 70);  // 40 + 30 + 0
  // Equal thirds round half-up to 2 decimals.
  s = ScoreResults({R(C::kPass, {"a"}), R(C::kHigh, {"b"}), R(C::kHigh, {"c"})},
                   {});
  EXPECT_EQ(s.score, 33.33);
  // A metric in two groups counts in both.
  s = ScoreResults({R(C::kPass, {"a", "b"}), R(C::kHigh, {"b"})},
                   {{"a", 50}, {"b", 50}});
  EXPECT_EQ(s.score, 75);
}

TEST(ScorerTest, RoundHalfUp) {
  EXPECT_EQ(RoundHalfUp(0.125, 2), 0.13);
  EXPECT_EQ(RoundHalfUp(2.675, 2), 2.68);  // decimal, not binary, half-up
  EXPECT_EQ(RoundHalfUp(-1.005, 2), -1.01);
  EXPECT_EQ(RoundHalfUp(99.995, 2), 100.0);
  EXPECT_EQ(RoundHalfUp(66.66666666666667, 2), 66.67);
  EXPECT_EQ(RoundHalfUp(1e-7, 2), 0.0);
  EXPECT_EQ(RoundHalfUp(100, 2), 100.0);
  EXPECT_TRUE(std::isnan(RoundHalfUp(std::nan(""), 2)));
}

TEST(ScorerTest, ClassifyScore) {
  EXPECT_STREQ(ClassifyScore(75, 75, 50), "Pass");
  EXPECT_STREQ(ClassifyScore(74.99, 75, 50), "Marginal");
  EXPECT_STREQ(ClassifyScore(50, 75, 50), "Marginal");
  EXPECT_STREQ(ClassifyScore(49.99, 75, 50), "Fail");
}

TEST(ScorerTest, ClassifyScoreFailsOnNaN) {
  const double nan = std::nan("");
  EXPECT_STREQ(ClassifyScore(nan, 75, 50), "Fail");
  EXPECT_STREQ(ClassifyScore(80, nan, 50), "Fail");
  EXPECT_STREQ(ClassifyScore(80, 75, nan), "Fail");
}

}  // namespace
}  // namespace gennaker::kayenta::judge
