// Google Benchmark of the NetflixACAJudge-v1.0 judge (services/kayenta/judge):
// JudgeCanary on 100 metrics x 1,000 points per side (target: < 50 ms), and
// its parts (one Mann-Whitney test at 1,000 x 1,000, the JSON parse of the
// pair list) for context. Inputs are generated from a fixed seed: a third of
// the metrics shifted up, a sixth shifted down, the rest unchanged, some with
// NaN gaps and outlier removal, so every classification path is timed.
//   build/bin/kayenta_judge_bench [--benchmark_repetitions=N]
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "common/spinnaker/json.h"
#include "services/kayenta/judge/judge.h"
#include "services/kayenta/judge/mann_whitney.h"

namespace gennaker::kayenta {
namespace {

struct Input {
  Json config;
  Json pairs;
};

std::vector<double> Series(std::mt19937_64& rng, int n, double mean,
                           double sd) {
  std::normal_distribution<double> d(mean, sd);
  std::vector<double> v(n);
  for (double& x : v) x = d(rng);
  return v;
}

Input MakeInput(int metrics, int points) {
  std::mt19937_64 rng(42);
  Input in;
  Json metric_configs = Json::array();
  in.pairs = Json::array();
  for (int i = 0; i < metrics; ++i) {
    const std::string name = absl::StrCat("metric-", i);
    Json canary = {{"direction", "either"},
                   {"effectSize",
                    {{"measure", i % 4 == 0 ? "cles" : "meanRatio"},
                     {"allowedIncrease", 1.05},
                     {"allowedDecrease", 0.95}}}};
    if (i % 3 == 0) {
      canary["outliers"] = {{"strategy", "remove"}, {"outlierFactor", 3.0}};
    }
    if (i % 10 == 0) canary["nanStrategy"] = "replace";
    metric_configs.push_back(
        {{"name", name},
         {"groups", {absl::StrCat("group-", i % 5)}},
         {"analysisConfigurations", {{"canary", canary}}}});
    const double base = 100 + i;
    const double shift = i % 3 == 0 ? 0.2 : (i % 6 == 1 ? -0.2 : 0.0);
    Json control = Series(rng, points, base, base * 0.1);
    Json experiment = Series(rng, points, base * (1 + shift), base * 0.1);
    if (i % 7 == 0) {
      for (int k = 0; k < points; k += 50) experiment[k] = nullptr;
    }
    in.pairs.push_back(
        {{"name", name},
         {"id", absl::StrCat("pair-", i)},
         {"tags", {{"instance", "i-1"}}},
         {"values", {{"control", control}, {"experiment", experiment}}}});
  }
  in.config = {{"name", "bench"},
               {"applications", {"bench"}},
               {"judge", {{"name", kNetflixAcaJudge}}},
               {"metrics", metric_configs},
               {"classifier",
                {{"groupWeights",
                  {{"group-0", 20},
                   {"group-1", 20},
                   {"group-2", 20},
                   {"group-3", 20},
                   {"group-4", 20}}}}}};
  return in;
}

void BM_JudgeCanary(benchmark::State& state) {
  const Input in = MakeInput(static_cast<int>(state.range(0)),
                             static_cast<int>(state.range(1)));
  for (auto _ : state) {
    auto r = JudgeCanary(in.config, in.pairs, Thresholds{75, 50});
    if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_JudgeCanary)
    ->Args({100, 1000})
    ->Args({10, 1000})
    ->Args({100, 100})
    ->Unit(benchmark::kMillisecond);

void BM_MannWhitney(benchmark::State& state) {
  std::mt19937_64 rng(7);
  const int n = static_cast<int>(state.range(0));
  const auto x = Series(rng, n, 101, 10);
  const auto y = Series(rng, n, 100, 10);
  for (auto _ : state) {
    auto r = judge::MannWhitney(x, y, 0.98);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MannWhitney)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

// Parsing the pair list text (what the service does before judging).
void BM_ParsePairs(benchmark::State& state) {
  const std::string text = MakeInput(100, 1000).pairs.dump();
  for (auto _ : state) {
    auto j = spinnaker::ParseJson(text, "pairs");
    benchmark::DoNotOptimize(j);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParsePairs)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace gennaker::kayenta

BENCHMARK_MAIN();
