// Keeps clouddriver's cache fresh from the providers: right after every
// operation (RefreshNow), soon after a provider reports a change (MarkDirty,
// wired as each provider's change listener) and every `interval_ms` for every
// account. One refresh of the cache runs at a time. With a `serves` predicate
// only the accounts it accepts are cached (the others are another replica's:
// account_ownership.h); RefreshNow of another's account does nothing.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_CACHING_AGENT_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_CACHING_AGENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/clouddriver/provider.h"
#include "services/clouddriver/store/cache.h"

namespace gennaker::clouddriver {

class CachingAgent {
 public:
  CachingAgent(Cache* cache, std::vector<Provider*> providers,
               int64_t interval_ms,
               std::function<bool(const std::string&)> serves = nullptr);
  ~CachingAgent();  // Stop()
  void Start();
  void Stop();
  absl::Status RefreshNow(const std::string& account);
  void MarkDirty(const std::string& account);
  // Refreshes done so far (for tests and metrics).
  int64_t refreshes();

 private:
  void Loop();

  Cache* cache_;
  std::map<std::string, Provider*> providers_;
  const int64_t interval_ms_;
  const std::function<bool(const std::string&)> serves_;
  absl::Mutex mu_;
  std::set<std::string> dirty_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t refreshes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex refresh_mu_;  // one refresh of the cache at a time
  std::thread thread_;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_CACHING_AGENT_H_
