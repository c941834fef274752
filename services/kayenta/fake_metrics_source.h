// Test helpers of kayenta (tests only): a manual clock, a fake metrics
// source answering fixed series per scope name, and canary config and
// request builders.
#ifndef GENNAKER_SERVICES_KAYENTA_FAKE_METRICS_SOURCE_H_
#define GENNAKER_SERVICES_KAYENTA_FAKE_METRICS_SOURCE_H_

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/kayenta/kayenta_core.h"
#include "services/kayenta/metrics/metrics_source.h"

namespace gennaker::kayenta::testing {

class ManualClock : public Clock {
 public:
  int64_t NowMs() override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_{1'700'000'000'000};
};

// Answers every query with one series: the values registered for the
// scope's name (control/experiment sides differ by scope), or fails.
class FakeSource : public MetricsSource {
 public:
  const std::string& Name() const override { return name_; }
  const std::string& Type() const override { return type_; }
  absl::StatusOr<Json> Query(const Json&, const Json& metric,
                             const ScopeQuery& scope) override {
    absl::MutexLock lock(&mu_);
    queries_.push_back(scope);
    if (!fail_.ok()) return fail_;
    auto it = values_.find(scope.scope);
    Json values = it == values_.end() ? Json::array() : Json(it->second);
    return Json::array({Json{{"name", spinnaker::String(metric, "name")},
                             {"tags", Json::object()},
                             {"values", values},
                             {"startTimeMillis", scope.start_ms},
                             {"startTimeIso", IsoOfMs(scope.start_ms)},
                             {"endTimeMillis", scope.end_ms},
                             {"endTimeIso", IsoOfMs(scope.end_ms)},
                             {"stepMillis", scope.step_seconds * 1000},
                             {"attributes", {{"query", "q"}}}}});
  }
  absl::StatusOr<std::vector<std::string>> MetricNames(
      const std::string& filter) override {
    std::vector<std::string> out;
    for (std::string n : {"cpu_seconds", "http_requests", "memory_bytes"}) {
      if (filter.empty() || n.find(filter) != std::string::npos) {
        out.push_back(n);
      }
    }
    return out;
  }

  void Set(const std::string& scope, std::vector<double> v) {
    absl::MutexLock lock(&mu_);
    values_[scope] = std::move(v);
  }
  void Fail(absl::Status s) {
    absl::MutexLock lock(&mu_);
    fail_ = std::move(s);
  }
  std::vector<ScopeQuery> queries() {
    absl::MutexLock lock(&mu_);
    return queries_;
  }

 private:
  std::string name_ = "prom";
  std::string type_ = "prometheus";
  absl::Mutex mu_;
  std::map<std::string, std::vector<double>> values_;
  absl::Status fail_;
  std::vector<ScopeQuery> queries_;
};

inline Json Config(const std::string& name = "my-canary",
                   std::vector<std::string> apps = {"app"}) {
  return Json{{"name", name},
              {"applications", apps},
              {"judge",
               {{"name", "NetflixACAJudge-v1.0"},
                {"judgeConfigurations", Json::object()}}},
              {"metrics",
               Json::array({Json{
                   {"name", "cpu"},
                   {"scopeName", "default"},
                   {"groups", {"system"}},
                   {"query", {{"type", "prometheus"}, {"metricName", "cpu"}}},
                   {"analysisConfigurations",
                    {{"canary", {{"direction", "increase"}}}}}}})},
              {"classifier", {{"groupWeights", {{"system", 100}}}}}};
}

inline Json Request(int64_t start_ms = 1'699'999'000'000) {
  auto side = [&](const std::string& scope) {
    return Json{{"scope", scope},
                {"location", "local"},
                {"start", IsoOfMs(start_ms)},
                {"end", IsoOfMs(start_ms + 3600000)},
                {"step", 60}};
  };
  return Json{{"scopes",
               {{"default",
                 {{"controlScope", side("baseline")},
                  {"experimentScope", side("canary")}}}}},
              {"thresholds", {{"pass", 75}, {"marginal", 50}}}};
}

inline std::vector<double> Series(double base, int n = 30) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(base + (i % 5) * 0.1);
  return v;
}

}  // namespace gennaker::kayenta::testing

#endif  // GENNAKER_SERVICES_KAYENTA_FAKE_METRICS_SOURCE_H_
