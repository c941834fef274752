#include "services/kayenta/judge/judge.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/kayenta/judge/classifier.h"
#include "services/kayenta/judge/statistics.h"

namespace gennaker::kayenta {
namespace {

using judge::Classification;
using judge::MetricAnalysisConfig;

// One metric of the config, as the judge reads it.
struct MetricConfig {
  std::string name;
  std::vector<std::string> groups;
  MetricAnalysisConfig analysis;
};

absl::Status Invalid(const std::string& what) {
  return absl::InvalidArgumentError(what);
}

// Member `key` of `obj` or nullptr when absent or null (a null member means
// "not set", as a Java map lookup would).
const Json* Get(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::Status ReadBool(const Json& obj, const char* key,
                      const std::string& where, bool* out) {
  const Json* v = Get(obj, key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_boolean()) {
    return Invalid(absl::StrCat(where, ".", key, " must be a boolean"));
  }
  *out = v->get<bool>();
  return absl::OkStatus();
}

absl::Status ReadNumber(const Json& obj, const char* key,
                        const std::string& where, double* out) {
  const Json* v = Get(obj, key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_number()) {
    return Invalid(absl::StrCat(where, ".", key, " must be a number"));
  }
  *out = v->get<double>();
  return absl::OkStatus();
}

absl::Status ReadString(const Json& obj, const char* key,
                        const std::string& where, std::string* out) {
  const Json* v = Get(obj, key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) {
    return Invalid(absl::StrCat(where, ".", key, " must be a string"));
  }
  *out = v->get<std::string>();
  return absl::OkStatus();
}

absl::Status ReadObject(const Json& obj, const char* key,
                        const std::string& where, const Json** out) {
  const Json* v = Get(obj, key);
  *out = nullptr;
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_object()) {
    return Invalid(absl::StrCat(where, ".", key, " must be an object"));
  }
  *out = v;
  return absl::OkStatus();
}

// analysisConfigurations.canary with the judge's defaults.
absl::StatusOr<MetricAnalysisConfig> ParseAnalysis(const Json& metric,
                                                   const std::string& where) {
  MetricAnalysisConfig a;
  const Json* configs = nullptr;
  GENNAKER_RETURN_IF_ERROR(
      ReadObject(metric, "analysisConfigurations", where, &configs));
  if (configs == nullptr) return a;
  const std::string cwhere = absl::StrCat(where, ".analysisConfigurations");
  const Json* canary = nullptr;
  GENNAKER_RETURN_IF_ERROR(ReadObject(*configs, "canary", cwhere, &canary));
  if (canary == nullptr) return a;
  const std::string w = absl::StrCat(cwhere, ".canary");

  std::string direction = "either";
  GENNAKER_RETURN_IF_ERROR(ReadString(*canary, "direction", w, &direction));
  // Unknown directions behave as "either".
  a.direction = direction == "increase"   ? judge::Direction::kIncrease
                : direction == "decrease" ? judge::Direction::kDecrease
                                          : judge::Direction::kEither;
  std::string nan_strategy = "none";
  GENNAKER_RETURN_IF_ERROR(
      ReadString(*canary, "nanStrategy", w, &nan_strategy));
  // Only "replace" replaces; anything else removes.
  a.nan_strategy = nan_strategy == "replace" ? judge::NanStrategy::kReplace
                                             : judge::NanStrategy::kRemove;
  GENNAKER_RETURN_IF_ERROR(ReadBool(*canary, "critical", w, &a.critical));
  GENNAKER_RETURN_IF_ERROR(
      ReadBool(*canary, "mustHaveData", w, &a.must_have_data));
  GENNAKER_RETURN_IF_ERROR(ReadBool(*canary, "muted", w, &a.muted));

  const Json* effect = nullptr;
  GENNAKER_RETURN_IF_ERROR(ReadObject(*canary, "effectSize", w, &effect));
  if (effect != nullptr) {
    const std::string ew = absl::StrCat(w, ".effectSize");
    std::string measure = "meanRatio";
    GENNAKER_RETURN_IF_ERROR(ReadString(*effect, "measure", ew, &measure));
    a.measure = measure == "cles" ? judge::EffectMeasure::kCles
                                  : judge::EffectMeasure::kMeanRatio;
    const double d = a.measure == judge::EffectMeasure::kCles ? 0.5 : 1.0;
    a.allowed_increase = a.allowed_decrease = d;
    a.critical_increase = a.critical_decrease = d;
    GENNAKER_RETURN_IF_ERROR(
        ReadNumber(*effect, "allowedIncrease", ew, &a.allowed_increase));
    GENNAKER_RETURN_IF_ERROR(
        ReadNumber(*effect, "allowedDecrease", ew, &a.allowed_decrease));
    GENNAKER_RETURN_IF_ERROR(
        ReadNumber(*effect, "criticalIncrease", ew, &a.critical_increase));
    GENNAKER_RETURN_IF_ERROR(
        ReadNumber(*effect, "criticalDecrease", ew, &a.critical_decrease));
  }

  const Json* outliers = nullptr;
  GENNAKER_RETURN_IF_ERROR(ReadObject(*canary, "outliers", w, &outliers));
  if (outliers != nullptr) {
    const std::string ow = absl::StrCat(w, ".outliers");
    std::string strategy = "none";
    GENNAKER_RETURN_IF_ERROR(ReadString(*outliers, "strategy", ow, &strategy));
    a.remove_outliers = strategy == "remove";
    GENNAKER_RETURN_IF_ERROR(
        ReadNumber(*outliers, "outlierFactor", ow, &a.outlier_factor));
    if (a.remove_outliers &&
        !(a.outlier_factor > 0 && std::isfinite(a.outlier_factor))) {
      return Invalid(
          absl::StrCat(ow, ".outlierFactor must be a positive number, got ",
                       a.outlier_factor));
    }
  }
  return a;
}

absl::StatusOr<std::vector<MetricConfig>> ParseMetrics(const Json& config) {
  if (!config.is_object()) return Invalid("canary config must be an object");
  const Json* metrics = Get(config, "metrics");
  if (metrics == nullptr || !metrics->is_array()) {
    return Invalid("canary config must have a metrics array");
  }
  std::vector<MetricConfig> out;
  out.reserve(metrics->size());
  for (size_t i = 0; i < metrics->size(); ++i) {
    const Json& m = (*metrics)[i];
    const std::string where = absl::StrCat("metrics[", i, "]");
    if (!m.is_object())
      return Invalid(absl::StrCat(where, " must be an object"));
    MetricConfig mc;
    const Json* name = Get(m, "name");
    if (name == nullptr || !name->is_string()) {
      return Invalid(absl::StrCat(where, ".name must be a string"));
    }
    mc.name = name->get<std::string>();
    if (const Json* groups = Get(m, "groups"); groups != nullptr) {
      if (!groups->is_array()) {
        return Invalid(absl::StrCat(where, ".groups must be an array"));
      }
      for (const Json& g : *groups) {
        if (!g.is_string()) {
          return Invalid(absl::StrCat(where, ".groups must hold strings"));
        }
        mc.groups.push_back(g.get<std::string>());
      }
    }
    GENNAKER_ASSIGN_OR_RETURN(mc.analysis, ParseAnalysis(m, where));
    out.push_back(std::move(mc));
  }
  return out;
}

absl::StatusOr<std::map<std::string, double>> ParseGroupWeights(
    const Json& config) {
  std::map<std::string, double> weights;
  const Json* classifier = nullptr;
  GENNAKER_RETURN_IF_ERROR(
      ReadObject(config, "classifier", "canary config", &classifier));
  if (classifier == nullptr) return weights;
  const Json* gw = nullptr;
  GENNAKER_RETURN_IF_ERROR(
      ReadObject(*classifier, "groupWeights", "classifier", &gw));
  if (gw == nullptr) return weights;
  for (auto it = gw->begin(); it != gw->end(); ++it) {
    if (!it->is_number() || !std::isfinite(it->get<double>())) {
      return Invalid(absl::StrCat("classifier.groupWeights.", it.key(),
                                  " must be a number"));
    }
    if (!(it->get<double>() >= 0 && it->get<double>() <= kMaxGroupWeight)) {
      return Invalid(absl::StrCat("classifier.groupWeights.", it.key(),
                                  " must be between 0 and ", kMaxGroupWeight));
    }
    weights[it.key()] = it->get<double>();
  }
  return weights;
}

// Largest series judged per side (a year of one point a minute is ~525k).
constexpr size_t kMaxPointsPerSide = size_t{1} << 22;

// One side's values: numbers, null (missing, as NaN) or the strings Jackson
// writes for non-finite doubles.
absl::StatusOr<std::vector<double>> ParseSeries(const Json& values,
                                                const char* side,
                                                const std::string& where) {
  const Json* v = Get(values, side);
  if (v == nullptr || !v->is_array()) {
    return Invalid(absl::StrCat(where, ".values.", side, " must be an array"));
  }
  if (v->size() > kMaxPointsPerSide) {
    return Invalid(absl::StrCat(where, ".values.", side, " has ", v->size(),
                                " points; at most ", kMaxPointsPerSide,
                                " are judged"));
  }
  std::vector<double> out;
  out.reserve(v->size());
  for (const Json& x : *v) {
    if (x.is_number()) {
      out.push_back(x.get<double>());
    } else if (x.is_null()) {
      out.push_back(std::numeric_limits<double>::quiet_NaN());
    } else if (x.is_string()) {
      const std::string& s = x.get_ref<const std::string&>();
      if (s == "NaN") {
        out.push_back(std::numeric_limits<double>::quiet_NaN());
      } else if (s == "Infinity" || s == "+Inf" || s == "+Infinity") {
        out.push_back(std::numeric_limits<double>::infinity());
      } else if (s == "-Infinity" || s == "-Inf") {
        out.push_back(-std::numeric_limits<double>::infinity());
      } else {
        return Invalid(absl::StrCat(where, ".values.", side,
                                    " holds a string that is not a number: \"",
                                    s.substr(0, 40), "\""));
      }
    } else {
      return Invalid(absl::StrCat(where, ".values.", side,
                                  " must hold numbers (or null/\"NaN\")"));
    }
  }
  return out;
}

// Jackson writes non-finite doubles as quoted strings.
Json Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

Json StatsJson(const judge::SummaryStats& s) {
  Json j = Json::object();
  j["min"] = Number(s.min);
  j["max"] = Number(s.max);
  j["mean"] = Number(s.mean);
  j["std"] = Number(s.std);
  j["count"] = s.count;
  return j;
}

}  // namespace

absl::Status ValidateJudgeConfig(const Json& config) {
  if (!config.is_object()) return Invalid("canary config must be an object");
  const Json* metrics = Get(config, "metrics");
  if (metrics != nullptr) {
    GENNAKER_RETURN_IF_ERROR(ParseMetrics(config).status());
  }
  return ParseGroupWeights(config).status();
}

absl::StatusOr<Json> JudgeCanary(const Json& config, const Json& pairs,
                                 const Thresholds& thresholds) {
  GENNAKER_ASSIGN_OR_RETURN(const std::vector<MetricConfig> metrics,
                            ParseMetrics(config));
  GENNAKER_ASSIGN_OR_RETURN(const auto weights, ParseGroupWeights(config));
  if (!pairs.is_array()) {
    return Invalid("metric set pairs must be a JSON array");
  }

  Json results = Json::array();
  std::vector<judge::ScoredResult> scored;
  scored.reserve(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Json& pair = pairs[i];
    const std::string where = absl::StrCat("metric set pair [", i, "]");
    if (!pair.is_object())
      return Invalid(absl::StrCat(where, " must be an object"));
    const Json* name = Get(pair, "name");
    if (name == nullptr || !name->is_string()) {
      return Invalid(absl::StrCat(where, ".name must be a string"));
    }
    const std::string metric_name = name->get<std::string>();
    const MetricConfig* mc = nullptr;
    for (const MetricConfig& m : metrics) {
      if (m.name == metric_name) {
        mc = &m;
        break;
      }
    }
    if (mc == nullptr) {
      return Invalid(
          absl::StrCat("Could not find metric config for ", metric_name));
    }
    const Json* values = nullptr;
    GENNAKER_RETURN_IF_ERROR(ReadObject(pair, "values", where, &values));
    if (values == nullptr) {
      return Invalid(absl::StrCat(where, ".values must be an object"));
    }
    GENNAKER_ASSIGN_OR_RETURN(const std::vector<double> raw_e,
                              ParseSeries(*values, "experiment", where));
    GENNAKER_ASSIGN_OR_RETURN(const std::vector<double> raw_c,
                              ParseSeries(*values, "control", where));
    const Json* tags = nullptr;
    GENNAKER_RETURN_IF_ERROR(ReadObject(pair, "tags", where, &tags));
    const Json* id = Get(pair, "id");
    if (id != nullptr && !id->is_string()) {
      return Invalid(absl::StrCat(where, ".id must be a string"));
    }

    const std::vector<double> e = judge::Preprocess(raw_e, mc->analysis);
    const std::vector<double> c = judge::Preprocess(raw_c, mc->analysis);
    absl::StatusOr<judge::MetricClassification> cls =
        judge::ClassifyMetric(metric_name, e, c, mc->analysis);

    Json r = Json::object();
    r["name"] = metric_name;
    if (id != nullptr) r["id"] = *id;
    r["tags"] = tags != nullptr ? *tags : Json::object();
    judge::ScoredResult s;
    if (cls.ok()) {
      s.classification = cls->classification;
      s.critical = cls->critical;
      if (cls->reason.has_value()) s.reason = *cls->reason;
      r["classification"] = judge::ClassificationName(cls->classification);
      if (cls->reason.has_value()) r["classificationReason"] = *cls->reason;
    } else {
      // A failing statistical test is a per-metric Error, not a failed
      // judgment.
      s.classification = Classification::kError;
      s.reason = "Metric Classification Failed";
      r["classification"] = "Error";
      r["classificationReason"] = s.reason;
    }
    r["groups"] = mc->groups;
    r["experimentMetadata"] = {{"stats", StatsJson(judge::Summarize(e))}};
    r["controlMetadata"] = {{"stats", StatsJson(judge::Summarize(c))}};
    if (cls.ok()) r["resultMetadata"] = {{"ratio", Number(cls->deviation)}};
    r["critical"] = s.critical;
    r["muted"] = mc->analysis.muted;
    s.groups = mc->groups;
    s.muted = mc->analysis.muted;
    scored.push_back(std::move(s));
    results.push_back(std::move(r));
  }

  const judge::ScoreSummary summary = judge::ScoreResults(scored, weights);
  Json group_scores = Json::array();
  for (const judge::GroupScore& g : summary.groups) {
    Json gj = Json::object();
    gj["name"] = g.name;
    gj["score"] = Number(g.score);
    gj["classification"] = "";
    gj["classificationReason"] = "";
    group_scores.push_back(std::move(gj));
  }
  Json score = Json::object();
  score["score"] = Number(summary.score);
  score["classification"] =
      judge::ClassifyScore(summary.score, thresholds.pass, thresholds.marginal);
  score["classificationReason"] = summary.reason;

  Json out = Json::object();
  out["judgeName"] = kNetflixAcaJudge;
  out["results"] = std::move(results);
  out["groupScores"] = std::move(group_scores);
  out["score"] = std::move(score);
  return out;
}

}  // namespace gennaker::kayenta
