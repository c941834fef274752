#include "common/service/health_watchdog.h"

#include "absl/time/time.h"
#include "common/grpc/grpc_server.h"
#include "common/log/log.h"
#include "common/log/logging.h"

namespace gennaker {

HealthWatchdog::HealthWatchdog(GrpcServer* server,
                               std::function<absl::Status()> check,
                               std::chrono::milliseconds interval)
    : server_(server),
      check_(std::move(check)),
      interval_(interval),
      thread_([this] { Run(); }) {}

HealthWatchdog::~HealthWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void HealthWatchdog::Run() {
  bool healthy = true;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopped = [this]()
                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopped),
                               absl::FromChrono(interval_))) {
        return;
      }
    }
    absl::Status status = check_();
    if (!status.ok() && healthy) {
      SPDLOG_WARN("dependency check failed, reporting NOT_SERVING: {}",
                  RedactSecrets(status.message()));
      server_->SetServing(false);
    } else if (status.ok() && !healthy) {
      SPDLOG_INFO("dependency check passes again, reporting SERVING");
      server_->SetServing(true);
    }
    healthy = status.ok();
  }
}

}  // namespace gennaker
