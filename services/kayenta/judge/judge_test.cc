#include "services/kayenta/judge/judge.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/kayenta/judge/mann_whitney_test_data.h"

namespace gennaker::kayenta {
namespace {

using judge::testdata::kAround10A;
using judge::testdata::kAround10B;
using judge::testdata::kAround20A;

Json Metric(const std::string& name, const std::vector<std::string>& groups,
            Json canary = Json::object()) {
  Json m = {{"name", name},
            {"query", {{"type", "prometheus"}, {"metricName", name}}},
            {"groups", groups},
            {"scopeName", "default"}};
  if (!canary.empty()) m["analysisConfigurations"] = {{"canary", canary}};
  return m;
}

Json Config(Json metrics, Json weights = Json::object()) {
  return {{"name", "cfg"},
          {"applications", {"app"}},
          {"judge", {{"name", kNetflixAcaJudge}}},
          {"metrics", std::move(metrics)},
          {"classifier", {{"groupWeights", std::move(weights)}}}};
}

Json Pair(const std::string& name, Json experiment, Json control,
          Json tags = Json::object()) {
  return {{"name", name},
          {"id", "id-" + name},
          {"tags", std::move(tags)},
          {"values",
           {{"control", std::move(control)},
            {"experiment", std::move(experiment)}}}};
}

const Thresholds kThresholds{75, 50};

TEST(JudgeTest, ResultShape) {
  const Json config =
      Config(Json::array({Metric("cpu", {"system"})}), {{"system", 100}});
  const Json pairs =
      Json::array({Pair("cpu", kAround10A, kAround10B, {{"instance", "a"}})});
  auto r = JudgeCanary(config, pairs, kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  const Json& j = *r;
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"judgeName", "results",
                                            "groupScores", "score"}));
  EXPECT_EQ(j["judgeName"], "NetflixACAJudge-v1.0");
  ASSERT_EQ(j["results"].size(), 1u);
  const Json& res = j["results"][0];
  keys.clear();
  for (auto it = res.begin(); it != res.end(); ++it) keys.push_back(it.key());
  // Pass from the test has no reason: the key is left out.
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "name", "id", "tags", "classification", "groups",
                      "experimentMetadata", "controlMetadata", "resultMetadata",
                      "critical", "muted"}));
  EXPECT_EQ(res["name"], "cpu");
  EXPECT_EQ(res["id"], "id-cpu");
  EXPECT_EQ(res["tags"], Json({{"instance", "a"}}));
  EXPECT_EQ(res["classification"], "Pass");
  EXPECT_EQ(res["groups"], Json({"system"}));
  EXPECT_EQ(res["experimentMetadata"]["stats"]["count"], 30);
  EXPECT_EQ(res["controlMetadata"]["stats"]["count"], 30);
  EXPECT_NEAR(res["experimentMetadata"]["stats"]["min"].get<double>(),
              4.9234856699531662, 1e-12);
  EXPECT_TRUE(res["resultMetadata"]["ratio"].is_number());
  EXPECT_EQ(res["critical"], false);
  EXPECT_EQ(res["muted"], false);
  EXPECT_EQ(j["groupScores"], Json::array({{{"name", "system"},
                                            {"score", 100.0},
                                            {"classification", ""},
                                            {"classificationReason", ""}}}));
  EXPECT_EQ(j["score"], Json({{"score", 100.0},
                              {"classification", "Pass"},
                              {"classificationReason", ""}}));
}

TEST(JudgeTest, WeightedGroupsAndThresholds) {
  const Json config =
      Config(Json::array({Metric("cpu", {"system"}), Metric("lat", {"app"}),
                          Metric("err", {"app"})}),
             {{"system", 60}, {"app", 40}});
  const Json pairs = Json::array({Pair("cpu", kAround10A, kAround10B),
                                  Pair("lat", kAround20A, kAround10B),
                                  Pair("err", kAround10A, kAround10B)});
  auto r = JudgeCanary(config, pairs, kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["results"][1]["classification"], "High");
  EXPECT_EQ((*r)["results"][1]["classificationReason"],
            "lat was classified as High");
  EXPECT_EQ((*r)["score"]["score"], 80.0);  // 60 + 40 * 1/2
  EXPECT_EQ((*r)["score"]["classification"], "Pass");
  auto m = JudgeCanary(config, pairs, Thresholds{90, 80});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)["score"]["classification"], "Marginal");
  auto f = JudgeCanary(config, pairs, Thresholds{95, 90});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)["score"]["classification"], "Fail");
  // Group scores are listed by name.
  EXPECT_EQ((*r)["groupScores"][0]["name"], "app");
  EXPECT_EQ((*r)["groupScores"][0]["score"], 50.0);
  EXPECT_EQ((*r)["groupScores"][1]["name"], "system");
}

TEST(JudgeTest, CriticalFailureMakesScoreZero) {
  const Json config = Config(Json::array(
      {Metric("cpu", {"g"}), Metric("lat", {"g"}, {{"critical", true}})}));
  const Json pairs = Json::array({Pair("cpu", kAround10A, kAround10B),
                                  Pair("lat", kAround20A, kAround10B)});
  auto r = JudgeCanary(config, pairs, kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["results"][1]["critical"], true);
  EXPECT_EQ((*r)["score"]["score"], 0.0);
  EXPECT_EQ((*r)["score"]["classification"], "Fail");
  EXPECT_EQ((*r)["score"]["classificationReason"],
            "Canary Failed: The metric lat was classified as High (Critical)");
}

TEST(JudgeTest, MutedMetricIsListedButNotScored) {
  const Json config = Config(Json::array(
      {Metric("cpu", {"g"}), Metric("lat", {"g"}, {{"muted", true}})}));
  const Json pairs = Json::array({Pair("cpu", kAround10A, kAround10B),
                                  Pair("lat", kAround20A, kAround10B)});
  auto r = JudgeCanary(config, pairs, kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["results"].size(), 2u);
  EXPECT_EQ((*r)["results"][1]["classification"], "High");
  EXPECT_EQ((*r)["results"][1]["muted"], true);
  EXPECT_EQ((*r)["score"]["score"], 100.0);
}

TEST(JudgeTest, NanStrategies) {
  const Json nan_series = Json::array({nullptr, "NaN", nullptr});
  Json config = Config(Json::array(
      {Metric("a", {"g"}), Metric("b", {"g"}, {{"nanStrategy", "replace"}}),
       Metric("c", {"g"}, {{"mustHaveData", true}})}));
  const Json pairs = Json::array({Pair("a", nan_series, kAround10B),
                                  Pair("b", nan_series, nan_series),
                                  Pair("c", kAround10A, Json::array())});
  auto r = JudgeCanary(config, pairs, kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  const Json& res = (*r)["results"];
  EXPECT_EQ(res[0]["classification"], "Nodata");
  EXPECT_EQ(res[0]["classificationReason"], "Missing data for a");
  EXPECT_EQ(res[0]["experimentMetadata"]["stats"], Json({{"min", 0.0},
                                                         {"max", 0.0},
                                                         {"mean", 0.0},
                                                         {"std", 0.0},
                                                         {"count", 0}}));
  EXPECT_EQ(res[0]["resultMetadata"]["ratio"], 1.0);
  // Replaced NaNs are zeros on both sides: identical data.
  EXPECT_EQ(res[1]["classification"], "Pass");
  EXPECT_EQ(res[1]["experimentMetadata"]["stats"]["count"], 3);
  EXPECT_EQ(res[2]["classification"], "NodataFailMetric");
  // 1 of 3 Nodata (< 50%); the group counts b (Pass) and c (failure).
  EXPECT_EQ((*r)["score"]["score"], 50.0);
}

TEST(JudgeTest, MostlyNodataFails) {
  const Json config =
      Config(Json::array({Metric("a", {"g"}), Metric("b", {"g"})}));
  const Json pairs = Json::array({Pair("a", Json::array(), kAround10B),
                                  Pair("b", kAround10A, kAround10B)});
  auto r = JudgeCanary(config, pairs, kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["score"]["score"], 0.0);
  EXPECT_EQ((*r)["score"]["classificationReason"],
            "Canary Failed: 50% or more metrics returned NODATA");
}

TEST(JudgeTest, NanRatioIsWrittenAsString) {
  const Json config = Config(Json::array({Metric("a", {"g"})}));
  const Json pairs =
      Json::array({Pair("a", {0, 0, 0, 0, 0}, {54.9, 54.5, 55.1, 55.6, 57.4})});
  auto r = JudgeCanary(config, pairs, kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["results"][0]["classification"], "Low");
  EXPECT_EQ((*r)["results"][0]["resultMetadata"]["ratio"], "NaN");
}

TEST(JudgeTest, InfiniteValuesGiveError) {
  const Json config =
      Config(Json::array({Metric("a", {"g"}), Metric("b", {"g"})}));
  const Json pairs = Json::array({Pair("a", {1, 2, "Infinity"}, {1, 2, 3}),
                                  Pair("b", kAround10A, kAround10B)});
  auto r = JudgeCanary(config, pairs, kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  const Json& a = (*r)["results"][0];
  EXPECT_EQ(a["classification"], "Error");
  EXPECT_EQ(a["classificationReason"], "Metric Classification Failed");
  EXPECT_FALSE(a.contains("resultMetadata"));
  EXPECT_EQ(a["experimentMetadata"]["stats"]["max"], "Infinity");
  EXPECT_EQ((*r)["score"]["score"], 100.0);  // Error is left out of the group
}

TEST(JudgeTest, OneMetricManyPairs) {
  const Json config = Config(Json::array({Metric("a", {"g"})}));
  const Json pairs =
      Json::array({Pair("a", kAround10A, kAround10B, {{"i", "1"}}),
                   Pair("a", kAround20A, kAround10B, {{"i", "2"}})});
  auto r = JudgeCanary(config, pairs, kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["results"].size(), 2u);
  EXPECT_EQ((*r)["score"]["score"], 50.0);
}

TEST(JudgeTest, DeterministicIncludingTheNoisePath) {
  const Json config = Config(Json::array({Metric("a", {"g"})}));
  const Json pairs =
      Json::array({Pair("a", {10, 10, 10, 10, 10}, {1, 1, 1, 1, 1})});
  auto a = JudgeCanary(config, pairs, kThresholds);
  auto b = JudgeCanary(config, pairs, kThresholds);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)["results"][0]["classification"], "High");
  EXPECT_EQ(a->dump(), b->dump());
}

TEST(JudgeTest, EmptyPairListScoresZero) {
  auto r = JudgeCanary(Config(Json::array({Metric("a", {"g"})})), Json::array(),
                       kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["results"], Json::array());
  EXPECT_EQ((*r)["score"]["score"], 0.0);
  EXPECT_EQ((*r)["score"]["classification"], "Fail");
}

TEST(JudgeTest, LargeSeries) {
  std::vector<double> e(200000), c(200000);
  for (size_t i = 0; i < e.size(); ++i) {
    e[i] = static_cast<double>(i % 977);
    c[i] = static_cast<double>((i * 7) % 983);
  }
  auto r = JudgeCanary(Config(Json::array({Metric("a", {"g"})})),
                       Json::array({Pair("a", e, c)}), kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  const Json& res = (*r)["results"][0];
  EXPECT_EQ(res["experimentMetadata"]["stats"]["count"], 200000);
  // With 200k points even this small shift (means 488 vs 491) is detected.
  EXPECT_EQ(res["classification"], "Low");
}

// Each malformed input is refused with INVALID_ARGUMENT and a message
// naming the problem.
struct BadInput {
  std::string label;
  Json config;
  Json pairs;
  std::string message;
};

TEST(JudgeTest, MalformedInput) {
  const Json ok_config = Config(Json::array({Metric("a", {"g"})}));
  const Json ok_pairs = Json::array({Pair("a", {1, 2}, {3, 4})});
  auto with_canary = [](Json canary) {
    return Config(Json::array({Metric("a", {"g"}, std::move(canary))}));
  };
  std::vector<BadInput> cases = {
      {"config array", Json::array(), ok_pairs, "must be an object"},
      {"no metrics", Json::object(), ok_pairs, "metrics array"},
      {"metric not object", Config(Json::array({1})), ok_pairs,
       "metrics[0] must be an object"},
      {"metric without name", Config(Json::array({Json::object()})), ok_pairs,
       "metrics[0].name"},
      {"groups not array",
       Config(Json::array({{{"name", "a"}, {"groups", "g"}}})), ok_pairs,
       "groups must be an array"},
      {"critical as string", with_canary({{"critical", "true"}}), ok_pairs,
       "critical must be a boolean"},
      {"direction not string", with_canary({{"direction", 3}}), ok_pairs,
       "direction must be a string"},
      {"allowedIncrease string",
       with_canary({{"effectSize", {{"allowedIncrease", "x"}}}}), ok_pairs,
       "allowedIncrease must be a number"},
      {"outlierFactor zero",
       with_canary(
           {{"outliers", {{"strategy", "remove"}, {"outlierFactor", 0}}}}),
       ok_pairs, "outlierFactor must be a positive number"},
      {"canary not object",
       Config(Json::array(
           {{{"name", "a"}, {"analysisConfigurations", {{"canary", 1}}}}})),
       ok_pairs, "canary must be an object"},
      {"weights not numbers",
       Config(Json::array({Metric("a", {"g"})}), {{"g", "50"}}), ok_pairs,
       "groupWeights.g must be a number"},
      {"negative weight",
       Config(Json::array({Metric("a", {"g"})}), {{"g", -1}}), ok_pairs,
       "groupWeights.g must be between 0 and"},
      {"huge weight", Config(Json::array({Metric("a", {"g"})}), {{"g", 1e300}}),
       ok_pairs, "groupWeights.g must be between 0 and"},
      {"pairs object", ok_config, Json::object(), "must be a JSON array"},
      {"pair not object", ok_config, Json::array({"x"}), "must be an object"},
      {"pair without name", ok_config, Json::array({Json::object()}),
       ".name must be a string"},
      {"unknown metric", ok_config, Json::array({Pair("zzz", {1}, {2})}),
       "Could not find metric config for zzz"},
      {"no values", ok_config, Json::array({{{"name", "a"}}}),
       "values must be an object"},
      {"control not array", ok_config,
       Json::array({{{"name", "a"},
                     {"values", {{"control", 1}, {"experiment", {1}}}}}}),
       "values.control must be an array"},
      {"string value", ok_config, Json::array({Pair("a", {1, "abc"}, {1})}),
       "not a number"},
      {"bool value", ok_config, Json::array({Pair("a", {1, true}, {1})}),
       "must hold numbers"},
      {"nested value", ok_config,
       Json::array({Pair("a", Json::array({Json::array({1})}), {1})}),
       "must hold numbers"},
      {"id not string", ok_config,
       Json::array({{{"name", "a"},
                     {"id", 5},
                     {"values", {{"control", {1}}, {"experiment", {1}}}}}}),
       ".id must be a string"},
      {"tags not object", ok_config,
       Json::array({Pair("a", {1}, {2}, Json::array())}),
       "tags must be an object"},
  };
  for (const BadInput& c : cases) {
    auto r = JudgeCanary(c.config, c.pairs, kThresholds);
    ASSERT_FALSE(r.ok()) << c.label;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.label;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.label << ": " << r.status().message();
  }
}

// A random JSON value of any type (nesting bounded by `depth`).
Json RandomJson(std::mt19937_64& rng, int depth) {
  std::uniform_int_distribution<int> kind(0, depth > 0 ? 7 : 5);
  switch (kind(rng)) {
    case 0:
      return nullptr;
    case 1:
      return std::uniform_int_distribution<int>(0, 1)(rng) == 1;
    case 2:
      return std::uniform_int_distribution<int64_t>(-5, 5)(rng);
    case 3:
      return std::normal_distribution<double>(0, 1e6)(rng);
    case 4: {
      static const char* kStrings[] = {"",        "NaN",  "Infinity", "remove",
                                       "replace", "cles", "true",     "a"};
      return kStrings[std::uniform_int_distribution<int>(0, 7)(rng)];
    }
    case 5:
      return 1e308;
    case 6: {
      Json a = Json::array();
      const int n = std::uniform_int_distribution<int>(0, 6)(rng);
      for (int i = 0; i < n; ++i) a.push_back(RandomJson(rng, depth - 1));
      return a;
    }
    default: {
      static const char* kKeys[] = {
          "name",       "values",  "control",
          "experiment", "groups",  "canary",
          "critical",   "metrics", "analysisConfigurations"};
      Json o = Json::object();
      const int n = std::uniform_int_distribution<int>(0, 4)(rng);
      for (int i = 0; i < n; ++i) {
        o[kKeys[std::uniform_int_distribution<int>(0, 8)(rng)]] =
            RandomJson(rng, depth - 1);
      }
      return o;
    }
  }
}

TEST(JudgeTest, ArbitraryJsonNeverCrashes) {
  std::mt19937_64 rng(99);
  const Json good_config = Config(Json::array({Metric("a", {"g"})}));
  for (int trial = 0; trial < 3000; ++trial) {
    Json config = trial % 2 == 0 ? good_config : RandomJson(rng, 4);
    Json pairs = Json::array();
    const int n = std::uniform_int_distribution<int>(0, 3)(rng);
    for (int i = 0; i < n; ++i) {
      Json pair = Pair("a", RandomJson(rng, 2), RandomJson(rng, 2));
      if (trial % 3 == 0) pair["values"] = RandomJson(rng, 3);
      pairs.push_back(std::move(pair));
    }
    if (trial % 5 == 0) pairs = RandomJson(rng, 4);
    auto r = JudgeCanary(config, pairs, kThresholds);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
          << r.status();
    } else {
      EXPECT_TRUE((*r)["score"]["score"].is_number()) << r->dump();
    }
  }
}

TEST(JudgeTest, UnknownOptionsUseDefaults) {
  // Unknown strings fall back (direction either, nanStrategy remove,
  // measure meanRatio, outliers keep); null members are "not set".
  const Json config = Config(Json::array({Metric(
      "a", {"g"},
      {{"direction", "sideways"},
       {"nanStrategy", "whatever"},
       {"critical", nullptr},
       {"effectSize", {{"measure", "bogus"}}},
       {"outliers", {{"strategy", "maybe"}, {"outlierFactor", -1}}}})}));
  auto r = JudgeCanary(config, Json::array({Pair("a", kAround20A, kAround10B)}),
                       kThresholds);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["results"][0]["classification"], "High");
}

TEST(JudgeTest, ValidateJudgeConfigRefusesWhatTheJudgeRefuses) {
  EXPECT_TRUE(ValidateJudgeConfig(
                  Config(Json::array({Metric("a", {"g"})}), {{"g", 100}}))
                  .ok());
  // No metrics: the caller's rules decide.
  EXPECT_TRUE(ValidateJudgeConfig({{"name", "x"}}).ok());
  absl::Status s = ValidateJudgeConfig(
      Config(Json::array({Metric("a", {"g"}, {{"critical", "true"}})})));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("critical must be a boolean"), std::string::npos)
      << s.message();
  EXPECT_FALSE(ValidateJudgeConfig(
                   Config(Json::array({Metric("a", {"g"})}), {{"g", "50"}}))
                   .ok());
  EXPECT_FALSE(ValidateJudgeConfig(Config(Json::array({Metric(
                                       "a", {"g"}, {{"effectSize", 1}})})))
                   .ok());
}

}  // namespace
}  // namespace gennaker::kayenta
