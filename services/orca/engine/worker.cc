#include "services/orca/engine/worker.h"

#include <algorithm>

#include "common/log/call_context.h"
#include "common/log/log.h"

namespace gennaker::orca {

namespace {
constexpr int64_t kHeldPollMs = 20;
}  // namespace

Worker::Worker(Engine* engine, Store* store, const Clock* clock,
               WorkerOptions options)
    : engine_(engine),
      store_(store),
      clock_(clock),
      options_(std::move(options)) {}

Worker::~Worker() { Stop(); }

void Worker::Start() {
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
  threads_.emplace_back([this] { Maintain(); });
}

void Worker::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stop_ && threads_.empty()) return;
    stop_ = true;
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void Worker::Wake() {
  absl::MutexLock l(&mu_);
  ++generation_;
}

void Worker::Sleep(int64_t ms, uint64_t seen) {
  absl::MutexLock l(&mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || generation_ != seen;
  };
  mu_.AwaitWithTimeout(absl::Condition(&changed),
                       absl::Milliseconds(std::max<int64_t>(1, ms)));
}

bool Worker::Stopping(uint64_t* seen) {
  absl::MutexLock l(&mu_);
  *seen = generation_;
  return stop_;
}

void Worker::Loop() {
  uint64_t seen;
  while (!Stopping(&seen)) {
    absl::StatusOr<bool> handled = [this] {
      // A request id per message: one per thread would tie every later
      // execution's outgoing calls (and log lines) to the first one.
      ScopedCallContext ctx({NewRequestId(), "", ""});
      return engine_->ProcessOne();
    }();
    if (!handled.ok()) {
      SPDLOG_WARN("event=queue_error error={}", handled.status());
      Sleep(500, seen);
      continue;
    }
    if (*handled) continue;
    int64_t wait = options_.safety_poll_ms;
    absl::StatusOr<std::optional<int64_t>> next = store_->NextDelivery();
    if (next.ok() && next->has_value()) {
      wait = std::min(wait, **next - clock_->NowMs());
    }
    // Due messages we could not claim are held by other workers: their
    // commit NOTIFYs us, so do not spin on them.
    Sleep(std::max<int64_t>(wait, kHeldPollMs), seen);
  }
}

void Worker::Maintain() {
  ScopedCallContext ctx({NewRequestId(), "", ""});
  uint64_t seen;
  while (!Stopping(&seen)) {
    // Sleep in slices so that Wake() does not cut the interval short.
    int64_t until = clock_->NowMs() + options_.maintenance_interval_ms;
    while (clock_->NowMs() < until) {
      {
        absl::MutexLock l(&mu_);
        if (stop_) return;
      }
      absl::SleepFor(absl::Milliseconds(
          std::min<int64_t>(200, until - clock_->NowMs() + 1)));
    }
    (void)seen;
    if (options_.retention_days > 0 || options_.keep_per_pipeline > 0) {
      int64_t before =
          options_.retention_days > 0
              ? clock_->NowMs() - options_.retention_days * 24LL * 3600 * 1000
              : 0;
      absl::StatusOr<int> purged =
          store_->Purge(before, options_.keep_per_pipeline);
      if (!purged.ok()) {
        SPDLOG_WARN("event=retention_failed error={}", purged.status());
      } else if (*purged > 0) {
        SPDLOG_INFO("event=retention_purged executions={}", *purged);
      }
    }
    if (options_.stranded_configs) {
      absl::StatusOr<std::vector<std::string>> configs =
          options_.stranded_configs();
      if (configs.ok()) {
        for (const std::string& config : *configs) {
          ExecutionQuery q;
          q.config_ids = {config};
          q.statuses = {status::kNotStarted};
          q.limit = 1;
          absl::StatusOr<std::vector<Json>> waiting = store_->List(q);
          if (!waiting.ok() || waiting->empty()) continue;
          Outgoing o;
          o.message.kind = kind::kStartWaitingExecutions;
          o.message.execution_id = String((*waiting)[0], "id");
          o.message.extra = {{"pipelineConfigId", config},
                             {"purgeQueue", false}};
          (void)store_->Push({o});
        }
      }
    }
  }
}

}  // namespace gennaker::orca
