// Per-metric classification and canary scoring of the NetflixACAJudge-v1.0
// judge (docs/spinnaker/kayenta-judge.md): preprocessing of each side,
// the Mann-Whitney classifier with effect-size and critical gates, the
// weighted group scorer and the threshold classification.
//
// Contract: pure and deterministic (the degenerate constant-vs-constant case
// adds Gaussian noise from a fixed-seed generator, so the same input always
// gives the same output). No JSON here; judge.cc maps JSON to these types.
#ifndef GENNAKER_SERVICES_KAYENTA_JUDGE_CLASSIFIER_H_
#define GENNAKER_SERVICES_KAYENTA_JUDGE_CLASSIFIER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gennaker::kayenta::judge {

// Fixed by the judge (its configuration properties are not read).
inline constexpr double kTolerance = 0.25;
inline constexpr double kConfLevel = 0.98;

enum class Direction { kIncrease, kDecrease, kEither };
enum class NanStrategy { kRemove, kReplace };
enum class EffectMeasure { kMeanRatio, kCles };
enum class Classification {
  kPass,
  kHigh,
  kLow,
  kNodata,
  kNodataFailMetric,
  kError
};

// "Pass", "High", ... as Kayenta spells them.
const char* ClassificationName(Classification c);

// analysisConfigurations.canary of one metric, defaults applied.
struct MetricAnalysisConfig {
  Direction direction = Direction::kEither;
  NanStrategy nan_strategy = NanStrategy::kRemove;
  bool critical = false;
  bool must_have_data = false;
  bool muted = false;
  EffectMeasure measure = EffectMeasure::kMeanRatio;
  double allowed_increase = 1.0;
  double allowed_decrease = 1.0;
  double critical_increase = 1.0;
  double critical_decrease = 1.0;
  bool remove_outliers = false;
  double outlier_factor = 3.0;
};

// NaN handling then (optionally) IQR outlier removal, for one side.
std::vector<double> Preprocess(const std::vector<double>& values,
                               const MetricAnalysisConfig& config);

struct MetricClassification {
  Classification classification = Classification::kPass;
  std::optional<std::string> reason;
  double deviation = 1.0;  // reported as resultMetadata.ratio
  bool critical = false;
};

// Classifies preprocessed experiment `e` against control `c`. Errors
// (INVALID_ARGUMENT) come from the statistical test; the judge reports them
// as classification Error.
absl::StatusOr<MetricClassification> ClassifyMetric(
    const std::string& name, const std::vector<double>& e,
    const std::vector<double>& c, const MetricAnalysisConfig& config,
    double tolerance = kTolerance, double conf_level = kConfLevel);

// What the scorer needs of one result.
struct ScoredResult {
  Classification classification = Classification::kPass;
  std::string reason;  // classificationReason, "" when none
  std::vector<std::string> groups;
  bool critical = false;
  bool muted = false;
};

struct GroupScore {
  std::string name;
  double score = 0;
  bool no_data = false;
};

struct ScoreSummary {
  std::vector<GroupScore> groups;  // sorted by name
  double score = 0;                // rounded half-up to 2 decimals
  std::string reason;              // "" when none
};

ScoreSummary ScoreResults(const std::vector<ScoredResult>& results,
                          const std::map<std::string, double>& group_weights);

// "Pass" when score >= pass, "Marginal" when score >= marginal, else "Fail"
// (also when any of them is NaN).
const char* ClassifyScore(double score, double pass, double marginal);

// Half-up rounding to `places` decimals of the shortest decimal form of `x`
// (what BigDecimal of Double.toString does). NaN and infinities unchanged.
double RoundHalfUp(double x, int places);

}  // namespace gennaker::kayenta::judge

#endif  // GENNAKER_SERVICES_KAYENTA_JUDGE_CLASSIFIER_H_
