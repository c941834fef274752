// Keeps a server's gRPC health in line with its dependencies: every `interval`
// it runs `check` (e.g. a PostgreSQL or Redis ping) and reports NOT_SERVING
// while it fails, SERVING again once it passes, logging each transition. Load
// balancers and halyard then route around a replica that lost its store instead
// of sending it calls that would fail.
#ifndef GENNAKER_COMMON_SERVICE_HEALTH_WATCHDOG_H_
#define GENNAKER_COMMON_SERVICE_HEALTH_WATCHDOG_H_

#include <chrono>
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace gennaker {

class GrpcServer;

class HealthWatchdog {
 public:
  HealthWatchdog(GrpcServer* server, std::function<absl::Status()> check,
                 std::chrono::milliseconds interval);
  ~HealthWatchdog();  // stops the thread
  HealthWatchdog(const HealthWatchdog&) = delete;
  HealthWatchdog& operator=(const HealthWatchdog&) = delete;

 private:
  void Run();
  GrpcServer* server_;
  std::function<absl::Status()> check_;
  std::chrono::milliseconds interval_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace gennaker

#endif  // GENNAKER_COMMON_SERVICE_HEALTH_WATCHDOG_H_
