#include "services/gate/list_cache.h"

#include <algorithm>

#include "absl/time/time.h"

namespace gennaker::gate {

namespace f50 = front50::v1;

ListCache::ListCache(f50::Front50Service::StubInterface* stub)
    : stub_(stub), thread_([this] { Run(); }) {}

ListCache::~ListCache() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (watch_ != nullptr) watch_->TryCancel();
  }
  thread_.join();
}

void ListCache::Run() {
  int backoff_ms = 100;
  while (true) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      watch_ = ctx.get();
    }
    auto reader = stub_->WatchChanges(ctx.get(), f50::WatchChangesRequest());
    f50::ChangeEvent event;
    while (reader->Read(&event)) {
      backoff_ms = 100;
      absl::MutexLock lock(&mu_);
      ++generation_;
      if (event.application() == "*") {
        entries_.clear();
        watching_ = true;
      } else {
        int kind = event.type() == f50::OBJECT_TYPE_STRATEGY
                       ? f50::PIPELINE_KIND_STRATEGY
                       : f50::PIPELINE_KIND_PIPELINE;
        entries_.erase({kind, event.application()});
      }
    }
    (void)reader->Finish();
    {
      absl::MutexLock lock(&mu_);
      watch_ = nullptr;
      watching_ = false;
      ++generation_;
      entries_.clear();
      if (stop_) return;
      auto stopped = [this]()
                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      mu_.AwaitWithTimeout(absl::Condition(&stopped),
                           absl::Milliseconds(backoff_ms));
    }
    backoff_ms = std::min(backoff_ms * 2, 5000);
  }
}

}  // namespace gennaker::gate
