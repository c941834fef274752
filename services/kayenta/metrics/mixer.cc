// MixMetricSets: Kayenta's mixer. Sets are matched by their tag map; a side
// that has only the no-data placeholder, or lacks a tag combination the
// other side has, gets a NaN series of its own expected length, and every
// side is padded with NaN up to (end - start) / step points.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids/ids.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/time.h"
#include "services/kayenta/metrics/metrics_source.h"

namespace gennaker::kayenta {
namespace {

using spinnaker::Int;
using spinnaker::Object;
using spinnaker::String;

using TagMap = std::map<std::string, std::string>;

// Most points a NaN template or padding may have (a week at 1 s steps is
// 604,800): bounds what a bogus window can allocate.
constexpr int64_t kMaxDataPoints = 1'000'000;

// Most points all pairs of one metric may hold together (control and
// experiment): many tag combinations each under kMaxDataPoints would still
// exhaust memory.
constexpr int64_t kMaxMetricPoints = 5'000'000;

TagMap Tags(const Json& set) {
  TagMap tags;
  const Json json_tags = Object(set, "tags");
  for (const auto& [k, v] : json_tags.items()) {
    tags[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return tags;
}

std::set<std::string> TagKeys(const std::vector<Json>& sets) {
  std::set<std::string> keys;
  for (const Json& s : sets) {
    for (const auto& [k, v] : Tags(s)) keys.insert(k);
  }
  return keys;
}

// A set's timing arithmetic on which cannot overflow: both instants within
// years 0001..9999 (or absent).
bool SaneTiming(const Json& set) {
  return spinnaker::SaneEpochMs(Int(set, "startTimeMillis")) &&
         spinnaker::SaneEpochMs(Int(set, "endTimeMillis"));
}

int64_t ExpectedDataPoints(const Json& set) {
  const int64_t step = Int(set, "stepMillis");
  if (step <= 0 || !SaneTiming(set)) return 0;
  const int64_t n =
      (Int(set, "endTimeMillis") - Int(set, "startTimeMillis")) / step;
  return n < 0 ? 0 : n;
}

// The values of a set, null (how NaN survives a JSON text) read as NaN and
// padded with NaN up to the set's expected number of points.
std::vector<double> PaddedValues(const Json& set) {
  std::vector<double> out;
  const Json* values = spinnaker::internal::Member(set, "values");
  if (values != nullptr && values->is_array()) {
    for (const Json& v : *values) {
      if (v.is_number()) {
        out.push_back(v.get<double>());
      } else if (v.is_string() && v.get<std::string>() == "Infinity") {
        out.push_back(std::numeric_limits<double>::infinity());
      } else if (v.is_string() && v.get<std::string>() == "-Infinity") {
        out.push_back(-std::numeric_limits<double>::infinity());
      } else {
        out.push_back(std::numeric_limits<double>::quiet_NaN());
      }
    }
  }
  const int64_t expected = ExpectedDataPoints(set);
  while (static_cast<int64_t>(out.size()) < expected) {
    out.push_back(std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

// A NaN series with `tags`, timed as `timing`.
Json Template(const Json& timing, const std::string& name, const TagMap& tags) {
  Json set = Json::object();
  set["name"] = name;
  Json t = Json::object();
  for (const auto& [k, v] : tags) t[k] = v;
  set["tags"] = std::move(t);
  for (const char* k : {"startTimeMillis", "startTimeIso", "endTimeMillis",
                        "endTimeIso", "stepMillis"}) {
    if (timing.contains(k)) set[k] = timing[k];
  }
  set["values"] = std::vector<double>(ExpectedDataPoints(timing),
                                      std::numeric_limits<double>::quiet_NaN());
  set["attributes"] = Object(timing, "attributes");
  return set;
}

Json Scope(const Json& set) {
  Json scope = Json::object();
  scope["startTimeIso"] = String(set, "startTimeIso");
  scope["startTimeMillis"] = Int(set, "startTimeMillis");
  scope["stepMillis"] = Int(set, "stepMillis");
  return scope;
}

// Sets of side `name`, keyed by tags; a side with only tag-less sets is a
// placeholder when the other side has tags.
absl::StatusOr<std::vector<Json>> SetsOf(const Json& list,
                                         const std::string& metric_name,
                                         const char* side) {
  if (!list.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric '", metric_name, "': the ", side,
                     " metric sets are not a list"));
  }
  std::vector<Json> out;
  for (const Json& s : list) {
    if (!s.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric '", metric_name, "': a ", side,
                       " metric set is not an object"));
    }
    const std::string name = String(s, "name");
    if (!name.empty() && !metric_name.empty() && name != metric_name) continue;
    out.push_back(s);
  }
  return out;
}

}  // namespace

absl::StatusOr<Json> MixMetricSets(const Json& metric, const Json& control,
                                   const Json& experiment) {
  const std::string name = String(metric, "name");
  auto control_sets = SetsOf(control, name, "control");
  if (!control_sets.ok()) return control_sets.status();
  auto experiment_sets = SetsOf(experiment, name, "experiment");
  if (!experiment_sets.ok()) return experiment_sets.status();

  for (const std::vector<Json>* side : {&*control_sets, &*experiment_sets}) {
    for (const Json& set : *side) {
      if (!SaneTiming(set)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "metric '", name,
            "': a metric set's start or end lies outside years 0001..9999"));
      }
      if (ExpectedDataPoints(set) > kMaxDataPoints) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric '", name, "': a metric set spans more than ",
                         kMaxDataPoints, " steps"));
      }
    }
  }

  const std::set<std::string> control_keys = TagKeys(*control_sets);
  const std::set<std::string> experiment_keys = TagKeys(*experiment_sets);
  if (!control_keys.empty() && !experiment_keys.empty() &&
      control_keys != experiment_keys) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metric '", name, "': control tag keys [",
        absl::StrJoin(control_keys, ","), "] differ from experiment tag keys [",
        absl::StrJoin(experiment_keys, ","), "]"));
  }

  // Tag map -> set, per side. A side with no keys while the other has some
  // holds only placeholders: they only give the timing of its templates.
  auto index = [](const std::vector<Json>& sets, bool placeholder) {
    std::map<TagMap, Json> out;
    if (placeholder) return out;
    for (const Json& s : sets) out.emplace(Tags(s), s);
    return out;
  };
  const bool control_placeholder =
      control_keys.empty() && !experiment_keys.empty();
  const bool experiment_placeholder =
      experiment_keys.empty() && !control_keys.empty();
  std::map<TagMap, Json> c = index(*control_sets, control_placeholder);
  std::map<TagMap, Json> e = index(*experiment_sets, experiment_placeholder);

  // Timing of a side's templates: its first set, else the other side's.
  auto timing = [](const std::vector<Json>& own,
                   const std::vector<Json>& other) {
    if (!own.empty()) return own.front();
    if (!other.empty()) return other.front();
    return Json(Json::object());
  };
  const Json control_timing = timing(*control_sets, *experiment_sets);
  const Json experiment_timing = timing(*experiment_sets, *control_sets);

  std::set<TagMap> all;
  for (const auto& [t, s] : c) all.insert(t);
  for (const auto& [t, s] : e) all.insert(t);

  Json pairs = Json::array();
  int64_t points = 0;
  for (const TagMap& tags : all) {
    auto ci = c.find(tags);
    auto ei = e.find(tags);
    const Json cs =
        ci != c.end() ? ci->second : Template(control_timing, name, tags);
    const Json es =
        ei != e.end() ? ei->second : Template(experiment_timing, name, tags);
    Json pair = Json::object();
    pair["name"] = name;
    pair["id"] = NewUuid();
    pair["tags"] = Object(cs, "tags");
    std::vector<double> control_values = PaddedValues(cs);
    std::vector<double> experiment_values = PaddedValues(es);
    points += static_cast<int64_t>(control_values.size()) +
              static_cast<int64_t>(experiment_values.size());
    if (points > kMaxMetricPoints) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric '", name, "': its ", all.size(),
          " metric set pairs hold more than ", kMaxMetricPoints,
          " data points; narrow the query (fewer series or a larger step)"));
    }
    pair["values"] = Json::object();
    pair["values"]["control"] = std::move(control_values);
    pair["values"]["experiment"] = std::move(experiment_values);
    pair["scopes"] = Json::object();
    pair["scopes"]["control"] = Scope(cs);
    pair["scopes"]["experiment"] = Scope(es);
    pair["attributes"] = Json::object();
    pair["attributes"]["control"] = Object(cs, "attributes");
    pair["attributes"]["experiment"] = Object(es, "attributes");
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

}  // namespace gennaker::kayenta
