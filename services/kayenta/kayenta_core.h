// Kayenta's domain logic, below the RPC boundary: canary config CRUD with
// Kayenta's validation, canary runs (fetch control and experiment of every
// metric, mix, judge) carried out by a pool of runner threads, standalone
// analyses (a timed series of runs, section 5.2 of the Kayenta notes) driven
// by a scheduler thread, direct judging of stored pair lists, and the account
// and judge listings.
//
// Records keep Spinnaker's JSON: an execution's body is its
// CanaryExecutionStatusResponse, an analysis's its
// CanaryAnalysisExecutionStatusResponse. Runs are durable: Start() resumes
// every NOT_STARTED/RUNNING run and analysis found in the store (a run starts
// over; fetching is idempotent). A cancel is written to the store; the runner
// notices at its next write (optimistic versions) and stops.
//
// Time comes from a Clock so that tests drive analyses without sleeping.
//
// Client-controlled numbers are bounded where they enter (INVALID_ARGUMENT
// otherwise), so no arithmetic on them overflows: instants within years
// 0001..9999, start <= end, steps of 1..86400 s, minute fields (lifetime,
// beginAfterMins, lookbackMins, controlOffsetInMinutes) up to 1e7, at most
// 1000 runs per standalone analysis, thresholds both present and finite.
// Configs are refused at save when the judge would refuse them at run time.
//
// One replica per database: the runner assumes it is the only kayenta
// process using its store. Runs and analyses carry no owner lease, so two
// replicas would both resume and advance the same unfinished work (each
// write is optimistic, so the store stays consistent, but fetches and runs
// would be duplicated). Run one kayenta per database until leases exist.
#ifndef GENNAKER_SERVICES_KAYENTA_KAYENTA_CORE_H_
#define GENNAKER_SERVICES_KAYENTA_KAYENTA_CORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/spinnaker/json.h"
#include "services/kayenta/judge/judge.h"
#include "services/kayenta/metrics/metrics_source.h"
#include "services/kayenta/store/kayenta_store.h"

namespace gennaker::kayenta {

using spinnaker::Json;

// Wall-clock time in epoch ms; tests substitute a manual clock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() = 0;
};

// absl::Now().
Clock* SystemClock();

struct CoreOptions {
  // Runner threads; 0 starts none (tests call RunQueued()).
  int worker_threads = 2;
  // Period of the scheduler (analyses, stray runs); zero starts no scheduler
  // thread (tests call Tick()).
  absl::Duration tick = absl::Seconds(1);
};

// One account of ListCredentials.
struct AccountInfo {
  std::string name;
  std::string type;
  std::vector<std::string> supported_types;
};

// Where a run's or analysis's config comes from, and who asks.
struct RunSource {
  std::string canary_config_id;       // stored config, or
  std::optional<Json> inline_config;  // an ad-hoc config
  std::string application;            // "" = "ad-hoc"
  std::string parent_pipeline_execution_id;
  std::string metrics_account;
  std::string configuration_account;
  std::string user;  // analyses
  std::string idempotency_key;
};

inline constexpr char kPostgresAccount[] = "postgres";

// "Canary config must specify a name." etc., and whatever the judge refuses
// (ValidateJudgeConfig); OK for a valid CanaryConfig.
absl::Status ValidateCanaryConfig(const Json& config);

// Epoch ms as ISO-8601 ("2025-01-01T00:00:00Z", millis when non-zero).
std::string IsoOfMs(int64_t ms);
// ISO-8601 text (or an integer number of epoch ms) as epoch ms, within years
// 0001..9999; INVALID_ARGUMENT otherwise.
absl::StatusOr<int64_t> MsOfIso(const Json& value);
// A duration as Java prints it ("PT1H30M", "PT0S").
std::string IsoDuration(int64_t ms);

class KayentaCore {
 public:
  KayentaCore(KayentaStore* store,
              std::vector<std::unique_ptr<MetricsSource>> sources, Clock* clock,
              CoreOptions options);
  ~KayentaCore();

  // Resumes unfinished runs and analyses and starts the threads.
  absl::Status Start();
  // Stops the threads (idempotent); unfinished work stays in the store.
  void Stop();

  // Canary configs.
  absl::StatusOr<std::vector<Record>> ListConfigs(
      const std::vector<std::string>& applications);
  absl::StatusOr<Record> GetConfig(const std::string& id);
  absl::StatusOr<std::string> CreateConfig(Json config,
                                           const std::string& idempotency_key);
  absl::StatusOr<std::string> UpdateConfig(const std::string& id, Json config,
                                           int64_t expected_updated_ms);
  absl::StatusOr<bool> DeleteConfig(const std::string& id);

  // Canary runs. `request` is the CanaryExecutionRequest JSON (scopes with
  // ISO times, thresholds, metadata, siteLocal).
  absl::StatusOr<std::string> StartCanary(const RunSource& source,
                                          const Json& request);
  absl::StatusOr<Record> GetExecution(const std::string& id);
  absl::StatusOr<std::vector<Record>> ListExecutions(
      const std::string& application, const std::vector<std::string>& statuses,
      int limit, int64_t offset);
  absl::StatusOr<bool> CancelCanary(const std::string& id);

  // Standalone analyses. `request` is the CanaryAnalysisExecutionRequest JSON.
  absl::StatusOr<std::string> StartCanaryAnalysis(const RunSource& source,
                                                  const Json& request);
  absl::StatusOr<Record> GetAnalysis(const std::string& id);
  absl::StatusOr<bool> CancelCanaryAnalysis(const std::string& id);

  // Judging and pair lists.
  absl::StatusOr<Json> Judge(const std::string& config_id,
                             const std::string& pair_list_id,
                             const std::optional<Thresholds>& thresholds);
  absl::StatusOr<std::string> CreatePairList(const Json& list,
                                             const std::string& key);
  absl::StatusOr<Record> GetPairList(const std::string& id);
  absl::StatusOr<std::vector<Record>> ListPairLists(int limit, int64_t offset);
  absl::StatusOr<bool> DeletePairList(const std::string& id);

  std::vector<AccountInfo> Accounts() const;
  absl::StatusOr<std::vector<std::string>> MetricDescriptors(
      const std::string& account, const std::string& filter);

  // Runs queued runs in the calling thread until none is left (tests).
  void RunQueued();
  // One scheduler pass: advances every unfinished analysis and re-queues
  // unfinished runs no runner holds.
  void Tick();

 private:
  absl::StatusOr<MetricsSource*> Source(const std::string& account) const;
  absl::StatusOr<Json> ResolveConfig(const RunSource& source,
                                     std::string* config_id);
  void Enqueue(const std::string& id);
  void WorkerLoop();
  void SchedulerLoop();
  void RunExecution(const std::string& id);
  void AdvanceAnalysis(const std::string& id);

  KayentaStore* store_;
  std::vector<std::unique_ptr<MetricsSource>> sources_;
  Clock* clock_;
  CoreOptions options_;

  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  // Queued or running in this process.
  std::set<std::string> held_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_KAYENTA_CORE_H_
