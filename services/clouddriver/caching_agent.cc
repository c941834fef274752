#include "services/clouddriver/caching_agent.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace gennaker::clouddriver {

CachingAgent::CachingAgent(Cache* cache, std::vector<Provider*> providers,
                           int64_t interval_ms,
                           std::function<bool(const std::string&)> serves)
    : cache_(cache), interval_ms_(interval_ms), serves_(std::move(serves)) {
  for (Provider* p : providers) providers_[p->account()] = p;
}

CachingAgent::~CachingAgent() { Stop(); }

void CachingAgent::Start() {
  for (auto& [account, p] : providers_) {
    p->SetChangeListener([this, a = account] { MarkDirty(a); });
  }
  thread_ = std::thread([this] { Loop(); });
}

void CachingAgent::Stop() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  for (auto& [account, p] : providers_) p->SetChangeListener(nullptr);
}

absl::Status CachingAgent::RefreshNow(const std::string& account) {
  auto it = providers_.find(account);
  if (it == providers_.end()) {
    return absl::NotFoundError(absl::StrCat("no account ", account));
  }
  // Another replica's account: its cache entries are that replica's to write.
  if (serves_ && !serves_(account)) return absl::OkStatus();
  absl::MutexLock serial(&refresh_mu_);
  Json snapshot = it->second->Snapshot();
  // Asked again after the wait for refresh_mu_ and the snapshot: the lease
  // may have moved meanwhile (Serves keeps a margin for the writes).
  if (serves_ && !serves_(account)) return absl::OkStatus();
  absl::Status s = cache_->Replace(account, snapshot);
  absl::MutexLock l(&mu_);
  ++refreshes_;
  return s;
}

void CachingAgent::MarkDirty(const std::string& account) {
  absl::MutexLock l(&mu_);
  dirty_.insert(account);
}

int64_t CachingAgent::refreshes() {
  absl::MutexLock l(&mu_);
  return refreshes_;
}

void CachingAgent::Loop() {
  int64_t next_full = 0;
  while (true) {
    std::set<std::string> todo;
    {
      absl::MutexLock l(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !dirty_.empty();
      };
      int64_t now = absl::ToUnixMillis(absl::Now());
      mu_.AwaitWithTimeout(absl::Condition(&wake),
                           absl::Milliseconds(std::max<int64_t>(
                               1, std::min<int64_t>(next_full - now, 1000))));
      if (stop_) return;
      todo.swap(dirty_);
    }
    int64_t now = absl::ToUnixMillis(absl::Now());
    if (now >= next_full) {
      for (const auto& [account, p] : providers_) todo.insert(account);
      next_full = now + interval_ms_;
    }
    for (const std::string& account : todo) {
      if (absl::Status s = RefreshNow(account); !s.ok()) {
        // Retried by the next full refresh (not at once: a store outage
        // would otherwise mean a snapshot and a warning every 50 ms).
        SPDLOG_WARN("event=cache_refresh_failed account={} error={}", account,
                    s);
      }
    }
    // Health changes come in bursts: coalesce them.
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace gennaker::clouddriver
