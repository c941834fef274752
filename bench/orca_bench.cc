// Load driver for orca's engine on a durable PostgreSQL (fsync on,
// synchronous commit): executions per second of a 3-stage pipeline, the time
// from a message's delivery time to its handler starting (p50/p99), and, on
// the same server, pgbench's simple-update TPS for the ratio.
//
//   orca_bench [--executions 2000] [--workers 4] [--rate 100] [--seconds 10]
//              [--stage wait|evaluateVariables] [--pgbench-seconds 10]
//
// The engine, stores, workers and LISTEN wake-up are the ones the orca binary
// runs; executions are submitted the way its StartPipeline RPC stores them.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/pg/listener.h"
#include "common/pg/migrations.h"
#include "common/pg/pg.h"
#include "common/process/local_stores.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/pg_store.h"
#include "services/orca/engine/worker.h"
#include "services/orca/launcher.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {
std::vector<pg::Migration> Migrations();
}

namespace gennaker {
namespace {

using orca::Json;

struct Samples {
  absl::Mutex mu;
  std::vector<int64_t> us;
  void Add(int64_t v) {
    absl::MutexLock l(&mu);
    us.push_back(v);
  }
  std::vector<int64_t> Take() {
    absl::MutexLock l(&mu);
    std::vector<int64_t> out;
    out.swap(us);
    return out;
  }
};

double Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return static_cast<double>(v[i]);
}

Json Pipeline(const std::string& stage) {
  Json stages = Json::array();
  for (int i = 1; i <= 3; ++i) {
    Json s = {{"refId", std::to_string(i)}, {"type", stage}};
    if (i > 1) s["requisiteStageRefIds"] = {std::to_string(i - 1)};
    if (stage == "wait") {
      s["waitTime"] = 0;
    } else {
      s["variables"] = Json::array(
          {{{"key", absl::StrCat("v", i)}, {"value", "${execution.id}"}}});
    }
    stages.push_back(s);
  }
  return {{"application", "bench"},
          {"name", "three-stages"},
          {"id", "bench-config"},
          {"stages", stages}};
}

int64_t Unfinished(pg::Pool& pool) {
  auto c = pool.Acquire();
  if (!c.ok()) return -1;
  auto r = (*c)->Exec(
      "SELECT count(*) FROM orca.executions WHERE status IN ('NOT_STARTED', "
      "'RUNNING')");
  return r.ok() ? r->GetInt(0, 0) : -1;
}

void Submit(orca::PgStore& store, const Json& config, const orca::Clock& clock,
            std::atomic<int>* errors) {
  orca::LaunchOptions o;
  o.now_ms = clock.NowMs();
  o.user = "bench";
  auto exec = orca::BuildPipelineExecution(config, Json::object(), o);
  if (!exec.ok() ||
      !store.Create(*exec, "", {orca::StartMessage(*exec)}).ok()) {
    ++*errors;
  }
}

// pgbench -N (simple update) on the same server; returns TPS or -1.
double PgBench(int port, const std::string& dir, int seconds) {
  auto bin_dir = process::PostgresBinDir();
  if (!bin_dir.ok()) return -1;
  std::string bin = *bin_dir + "/pgbench";
  std::string log = dir + "/pgbench.log";
  auto run = [&](std::vector<std::string> args) {
    process::SpawnOptions o;
    o.argv = {bin,  "-h",      "127.0.0.1", "-p", std::to_string(port),
              "-U", "postgres"};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.log_file = log;
    if (geteuid() == 0) o.run_as = "postgres";
    return process::Run(o);
  };
  if (!process::EnsureDatabase(port, "pgbench").ok()) return -1;
  auto init = run({"-i", "-q", "-s", "10", "pgbench"});
  if (!init.ok() || *init != 0) return -1;
  auto bench = run(
      {"-N", "-c", "8", "-j", "2", "-T", std::to_string(seconds), "pgbench"});
  if (!bench.ok() || *bench != 0) return -1;
  std::ifstream in(log);
  std::string line;
  double tps = -1;
  while (std::getline(in, line)) {
    if (line.rfind("tps = ", 0) == 0) {
      std::istringstream s(line.substr(6));
      s >> tps;
    }
  }
  return tps;
}

int Main(int argc, char** argv) {
  int executions = 2000, workers = 4, rate = 100, seconds = 10,
      pgbench_seconds = 10;
  std::string stage = "wait";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--executions") (void)absl::SimpleAtoi(argv[i + 1], &executions);
    if (f == "--workers") (void)absl::SimpleAtoi(argv[i + 1], &workers);
    if (f == "--rate") (void)absl::SimpleAtoi(argv[i + 1], &rate);
    if (f == "--seconds") (void)absl::SimpleAtoi(argv[i + 1], &seconds);
    if (f == "--pgbench-seconds") {
      (void)absl::SimpleAtoi(argv[i + 1], &pgbench_seconds);
    }
    if (f == "--stage") stage = argv[i + 1];
  }
  // Stopped, and its directory removed, on every way out of Main.
  auto server = testing::TestPostgres::Start("orca-bench", /*durable=*/true);
  if (!server.ok() ||
      !process::EnsureDatabase((*server)->port(), "gennaker").ok()) {
    fprintf(stderr, "cannot start PostgreSQL: %s\n",
            std::string(server.status().message()).c_str());
    return 1;
  }
  const std::string dir = (*server)->dir();
  fprintf(stderr, "started a durable PostgreSQL in %s\n", dir.c_str());
  std::string dsn = (*server)->Dsn("gennaker");
  pg::PoolOptions po;
  po.dsn = dsn;
  po.size = workers + 6;
  auto pool = pg::Pool::Create(po);
  if (!pool.ok() ||
      !pg::ApplyMigrations(**pool, "orca", orca::Migrations()).ok()) {
    fprintf(stderr, "cannot prepare the database\n");
    return 1;
  }
  orca::SystemClock clock;
  orca::Registry registry;
  orca::RegisterBuiltinStages(&registry, {});
  orca::PgStore store(pool->get(), &clock);
  Samples samples;
  std::atomic<int64_t> claims{0};
  orca::EngineOptions eo;
  eo.observer = [&](const std::string&, int64_t us) {
    samples.Add(us);
    ++claims;
  };
  orca::Engine engine(&store, &registry, &clock, nullptr, eo);
  orca::WorkerOptions wo;
  wo.threads = workers;
  orca::Worker worker(&engine, &store, &clock, wo);
  auto listener = std::make_unique<pg::Listener>(
      dsn, orca::kQueueChannel, [&](const std::string&) { worker.Wake(); },
      [&] { worker.Wake(); });
  worker.Start();
  Json config = Pipeline(stage);
  std::atomic<int> errors{0};

  // 1. Throughput: a burst of executions from 4 submitters.
  fprintf(stderr, "throughput: %d executions of 3 %s stages, %d workers ...\n",
          executions, stage.c_str(), workers);
  absl::Time start = absl::Now();
  std::vector<std::thread> submitters;
  std::atomic<int> next{0};
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&] {
      while (next++ < executions) Submit(store, config, clock, &errors);
    });
  }
  for (auto& t : submitters) t.join();
  double submit_s = absl::ToDoubleSeconds(absl::Now() - start);
  int64_t left = 0;
  while ((left = Unfinished(**pool)) != 0) {
    if (absl::Now() - start > absl::Minutes(10)) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  double total_s = absl::ToDoubleSeconds(absl::Now() - start);
  double per_s = executions / total_s;
  std::vector<int64_t> burst = samples.Take();
  fprintf(stderr, "  %d executions in %.2f s (submitted in %.2f s): %.0f/s\n",
          executions, total_s, submit_s, per_s);

  // 2. Latency at a steady rate below saturation.
  fprintf(stderr, "latency: %d executions/s for %d s ...\n", rate, seconds);
  absl::Time t0 = absl::Now();
  for (int i = 0; i < rate * seconds; ++i) {
    absl::Time due = t0 + absl::Seconds(1) * i / rate;
    absl::SleepFor(due - absl::Now());
    Submit(store, config, clock, &errors);
  }
  while (Unfinished(**pool) > 0) absl::SleepFor(absl::Milliseconds(20));
  std::vector<int64_t> steady = samples.Take();
  // End to end: buildTime -> endTime of the steady-rate executions.
  std::vector<int64_t> e2e;
  {
    auto c = (*pool)->Acquire();
    auto r = (*c)->Exec(
        "SELECT (body::jsonb->>'endTime')::bigint - build_time FROM "
        "orca.executions ORDER BY build_time DESC LIMIT $1",
        {std::to_string(rate * seconds)});
    if (r.ok()) {
      for (int i = 0; i < r->rows(); ++i) e2e.push_back(r->GetInt(i, 0) * 1000);
    }
  }
  worker.Stop();
  listener.reset();

  fprintf(stderr, "pgbench -N -c 8 -j 2 -T %d on the same server ...\n",
          pgbench_seconds);
  double tps = PgBench((*server)->port(), dir, pgbench_seconds);

  printf("\n| measure | value |\n|---|---|\n");
  printf("| executions/s (burst of %d, 3 %s stages, %d workers) | %.0f |\n",
         executions, stage.c_str(), workers, per_s);
  printf("| queue claims during the burst | %zu (%.1f per execution) |\n",
         burst.size(), static_cast<double>(burst.size()) / executions);
  printf(
      "| enqueue -> handler at %d exec/s: p50 / p99 / max (ms) | %.2f / "
      "%.2f / %.2f |\n",
      rate, Percentile(steady, 0.5) / 1000, Percentile(steady, 0.99) / 1000,
      Percentile(steady, 1.0) / 1000);
  printf(
      "| execution start -> end at %d exec/s: p50 / p99 (ms) | %.0f / %.0f "
      "|\n",
      rate, Percentile(e2e, 0.5) / 1000, Percentile(e2e, 0.99) / 1000);
  printf("| pgbench -N TPS (8 clients) | %.0f |\n", tps);
  if (tps > 0) {
    printf("| executions/s per pgbench TPS | %.3f |\n", per_s / tps);
  }
  printf("| submit errors | %d |\n", errors.load());
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
