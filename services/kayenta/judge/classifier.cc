#include "services/kayenta/judge/classifier.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/kayenta/judge/mann_whitney.h"
#include "services/kayenta/judge/statistics.h"

namespace gennaker::kayenta::judge {
namespace {

// Seed of the noise generator: fixed so that judgments are reproducible.
constexpr uint64_t kNoiseSeed = 0x6b6179656e7461;

// Adds N(0, (1e-5 * v)^2) noise to a side whose values are all v, which
// breaks the total tie that would leave the rank test without variance.
std::vector<double> AddNoise(const std::vector<double>& values,
                             std::mt19937_64& rng) {
  std::vector<double> out(values);
  const double sd = 1e-5 * std::fabs(values.front());
  if (sd == 0) return out;
  std::normal_distribution<double> noise(0.0, sd);
  for (double& v : out) v += noise(rng);
  return out;
}

bool AllowsIncrease(Direction d) {
  return d == Direction::kIncrease || d == Direction::kEither;
}
bool AllowsDecrease(Direction d) {
  return d == Direction::kDecrease || d == Direction::kEither;
}

}  // namespace

const char* ClassificationName(Classification c) {
  switch (c) {
    case Classification::kPass:
      return "Pass";
    case Classification::kHigh:
      return "High";
    case Classification::kLow:
      return "Low";
    case Classification::kNodata:
      return "Nodata";
    case Classification::kNodataFailMetric:
      return "NodataFailMetric";
    case Classification::kError:
      return "Error";
  }
  return "Error";
}

std::vector<double> Preprocess(const std::vector<double>& values,
                               const MetricAnalysisConfig& config) {
  std::vector<double> out = config.nan_strategy == NanStrategy::kReplace
                                ? ReplaceNans(values)
                                : RemoveNans(values);
  if (config.remove_outliers)
    out = RemoveOutliersIqr(out, config.outlier_factor);
  return out;
}

absl::StatusOr<MetricClassification> ClassifyMetric(
    const std::string& name, const std::vector<double>& e,
    const std::vector<double>& c, const MetricAnalysisConfig& config,
    double tolerance, double conf_level) {
  MetricClassification out;
  // 1. Missing data.
  if (e.empty() || c.empty()) {
    if (config.nan_strategy == NanStrategy::kReplace) return out;  // Pass
    out.reason = absl::StrCat("Missing data for ", name);
    if (config.must_have_data && !config.critical) {
      out.classification = Classification::kNodataFailMetric;
    } else {
      out.classification = Classification::kNodata;
      out.critical = config.critical;
    }
    return out;
  }
  // NaN must be removed or replaced first (Preprocess); refusing it here
  // also keeps the sorts below well defined.
  for (const std::vector<double>* side : {&e, &c}) {
    for (double v : *side) {
      if (std::isnan(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric ", name, " still has NaN values"));
      }
    }
  }
  // 2. Identical samples.
  std::vector<double> se(e);
  std::vector<double> sc(c);
  std::sort(se.begin(), se.end());
  std::sort(sc.begin(), sc.end());
  if (se == sc) {
    out.reason = "The Canary and Baseline data are identical";
    return out;
  }
  // 3. One value overall.
  if (se.front() == se.back() && sc.front() == sc.back() &&
      se.front() == sc.front()) {
    return out;
  }

  // 4. Test plus effect size.
  std::vector<double> ex(e);
  std::vector<double> cx(c);
  const bool noised = se.front() == se.back() && sc.front() == sc.back();
  if (noised) {
    std::mt19937_64 rng(kNoiseSeed);
    ex = AddNoise(e, rng);
    cx = AddNoise(c, rng);
  }
  // The test does not depend on the order of values: hand it the sorted
  // copies so that it does not sort again.
  GENNAKER_ASSIGN_OR_RETURN(const MannWhitneyResult mw,
                            noised ? MannWhitney(ex, cx, conf_level)
                                   : MannWhitney(se, sc, conf_level));
  const double cv = tolerance * std::fabs(mw.estimate);
  const double lower_bound = -cv;
  const double upper_bound = cv;
  out.deviation = MeanRatio(cx, ex);
  const double effect =
      config.measure == EffectMeasure::kCles ? Cles(cx, ex) : out.deviation;
  const bool effect_nan = std::isnan(effect);

  if (AllowsIncrease(config.direction) && mw.lower > upper_bound &&
      (effect_nan || effect >= config.allowed_increase)) {
    out.classification = Classification::kHigh;
  } else if (AllowsDecrease(config.direction) && mw.upper < lower_bound &&
             (effect_nan || effect <= config.allowed_decrease)) {
    out.classification = Classification::kLow;
  } else {
    return out;  // Pass, no reason
  }

  // 5. Critical gate: a critical metric fails the canary only when the
  // effect also passes the critical threshold.
  const bool high = out.classification == Classification::kHigh;
  const char* label = high ? "High" : "Low";
  const bool critical_effect =
      effect_nan || (high ? effect >= config.critical_increase
                          : effect <= config.critical_decrease);
  if (config.critical && critical_effect) {
    out.critical = true;
    out.reason = absl::StrCat("The metric ", name, " was classified as ", label,
                              " (Critical)");
  } else {
    out.reason = absl::StrCat(name, " was classified as ", label);
  }
  return out;
}

ScoreSummary ScoreResults(const std::vector<ScoredResult>& results,
                          const std::map<std::string, double>& group_weights) {
  ScoreSummary out;
  std::vector<const ScoredResult*> scored;
  for (const ScoredResult& r : results) {
    if (!r.muted) scored.push_back(&r);
  }

  struct Counts {
    int64_t pass = 0;
    int64_t total = 0;
  };
  std::map<std::string, Counts> groups;
  for (const ScoredResult* r : scored) {
    for (const std::string& g : r->groups) {
      Counts& counts = groups[g];
      switch (r->classification) {
        case Classification::kPass:
          ++counts.pass;
          ++counts.total;
          break;
        case Classification::kHigh:
        case Classification::kLow:
        case Classification::kNodataFailMetric:
          ++counts.total;
          break;
        case Classification::kNodata:
        case Classification::kError:
          break;
      }
    }
  }
  for (const auto& [name, counts] : groups) {
    GroupScore gs;
    gs.name = name;
    if (counts.total == 0) {
      gs.no_data = true;
      gs.score = 0.0;
    } else {
      gs.score = 100.0 * static_cast<double>(counts.pass) /
                 static_cast<double>(counts.total);
    }
    out.groups.push_back(std::move(gs));
  }

  for (const ScoredResult* r : scored) {
    if (r->critical && r->classification != Classification::kPass) {
      out.score = 0.0;
      out.reason = absl::StrCat("Canary Failed: ", r->reason);
      return out;
    }
  }
  int64_t nodata = 0;
  for (const ScoredResult* r : scored) {
    if (r->classification == Classification::kNodata) ++nodata;
  }
  // With no results the ratio is 0/0 (NaN) and does not trigger.
  const double nodata_pct =
      static_cast<double>(nodata) / static_cast<double>(scored.size()) * 100;
  if (nodata_pct >= 50) {
    out.score = 0.0;
    out.reason = "Canary Failed: 50% or more metrics returned NODATA";
    return out;
  }

  // Weights are not normalised: configured weights of absent groups still
  // count in W, and unweighted present groups share what is left of 100.
  double configured = 0;
  for (const auto& [g, w] : group_weights) configured += w;
  int64_t unweighted = 0;
  for (const GroupScore& gs : out.groups) {
    if (!group_weights.contains(gs.name)) ++unweighted;
  }
  const double fallback =
      unweighted > 0 ? (100 - configured) / static_cast<double>(unweighted) : 0;
  double sum = 0;
  for (const GroupScore& gs : out.groups) {
    auto it = group_weights.find(gs.name);
    const double weight = it != group_weights.end() ? it->second : fallback;
    sum += (gs.no_data ? 100.0 : gs.score) * weight / 100;
  }
  out.score = RoundHalfUp(sum, 2);
  return out;
}

const char* ClassifyScore(double score, double pass, double marginal) {
  // NaN anywhere is a Fail: every comparison with NaN is false.
  if (std::isnan(score) || std::isnan(pass) || std::isnan(marginal)) {
    return "Fail";
  }
  if (score >= pass) return "Pass";
  if (score >= marginal) return "Marginal";
  return "Fail";
}

double RoundHalfUp(double x, int places) {
  if (!std::isfinite(x)) return x;
  char buf[512];
  auto res = std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::fixed);
  if (res.ec != std::errc()) return x;
  std::string s(buf, res.ptr);
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.erase(0, 1);
  }
  const size_t dot = s.find('.');
  if (dot == std::string::npos) return x;
  const std::string int_part = s.substr(0, dot);
  const std::string frac = s.substr(dot + 1);
  if (frac.size() <= static_cast<size_t>(places)) return x;
  std::string digits = int_part + frac.substr(0, places);
  if (frac[places] >= '5') {
    // Add one unit in the last kept place, carrying to the left.
    int i = static_cast<int>(digits.size()) - 1;
    while (i >= 0) {
      if (digits[i] == '9') {
        digits[i] = '0';
        --i;
      } else {
        ++digits[i];
        break;
      }
    }
    if (i < 0) digits.insert(digits.begin(), '1');
  }
  const size_t int_len = digits.size() - static_cast<size_t>(places);
  std::string text = (negative ? "-" : "") + digits.substr(0, int_len) +
                     (places > 0 ? "." + digits.substr(int_len) : "");
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace gennaker::kayenta::judge
