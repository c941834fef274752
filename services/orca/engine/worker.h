// Runs the engine: N threads that handle due messages, sleeping when nothing
// is due until woken (Wake(), called on every NOTIFY of the queue channel),
// until the next delivery time, or at the latest after the safety poll; plus a
// maintenance thread that applies the retention policy and restarts configs
// whose waiting executions lost their start message.
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_WORKER_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_WORKER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/orca/engine/engine.h"

namespace gennaker::orca {

struct WorkerOptions {
  int threads = 4;
  int64_t safety_poll_ms = 2000;
  int64_t maintenance_interval_ms = 60000;
  // Retention of finished executions: older than this many days (0: keep),
  // and beyond the newest `keep_per_pipeline` of each config (0: keep).
  int retention_days = 0;
  int keep_per_pipeline = 0;
  // Configs with waiting executions and none running (PgStore only).
  std::function<absl::StatusOr<std::vector<std::string>>()> stranded_configs;
};

class Worker {
 public:
  Worker(Engine* engine, Store* store, const Clock* clock,
         WorkerOptions options);
  ~Worker();  // Stop()
  void Start();
  // Finishes the messages in hand and joins the threads.
  void Stop();
  // New work may be due.
  void Wake();

 private:
  void Loop();
  void Maintain();
  // Sleeps up to `ms` or until Wake()/Stop() after generation `seen`.
  void Sleep(int64_t ms, uint64_t seen);
  // True once Stop() was called; else notes the current generation.
  bool Stopping(uint64_t* seen);

  Engine* engine_;
  Store* store_;
  const Clock* clock_;
  WorkerOptions options_;
  absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_WORKER_H_
