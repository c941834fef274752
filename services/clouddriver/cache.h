// clouddriver's cache: the index of what every account holds (server groups
// with their instances, load balancers, security groups), as Spinnaker JSON,
// keyed by account, kind and application. It is rebuildable from the
// providers at any time (ARCHITECTURE: caches can be dropped). RedisCache is
// the production store; MemoryCache serves unit tests. CachingAgent keeps it
// fresh: right after every operation, when a provider reports a change, and
// on a fixed interval.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_CACHE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_CACHE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/clouddriver/provider.h"

namespace gennaker::redis {
class Client;
}

namespace gennaker::clouddriver {

// Kinds of cached items (Snapshot's keys).
inline constexpr char kServerGroups[] = "serverGroups";
inline constexpr char kLoadBalancers[] = "loadBalancers";
inline constexpr char kSecurityGroups[] = "securityGroups";

class Cache {
 public:
  virtual ~Cache() = default;
  // Replaces everything cached for `account` with `snapshot`
  // (Provider::Snapshot's shape). Items are filed under their "name" and the
  // application their name parses to.
  virtual absl::Status Replace(const std::string& account,
                               const Json& snapshot) = 0;
  // Items of `kind` in `account` of `application` ("" = every application).
  virtual absl::StatusOr<std::vector<Json>> List(
      const std::string& account, const std::string& kind,
      const std::string& application) = 0;
  // One item by name; nullopt when absent.
  virtual absl::StatusOr<std::optional<Json>> Get(const std::string& account,
                                                  const std::string& kind,
                                                  const std::string& name) = 0;
  // Applications with at least one item of `kind` in `account`.
  virtual absl::StatusOr<std::set<std::string>> Applications(
      const std::string& account, const std::string& kind) = 0;
};

class MemoryCache : public Cache {
 public:
  absl::Status Replace(const std::string& account,
                       const Json& snapshot) override;
  absl::StatusOr<std::vector<Json>> List(
      const std::string& account, const std::string& kind,
      const std::string& application) override;
  absl::StatusOr<std::optional<Json>> Get(const std::string& account,
                                          const std::string& kind,
                                          const std::string& name) override;
  absl::StatusOr<std::set<std::string>> Applications(
      const std::string& account, const std::string& kind) override;

 private:
  absl::Mutex mu_;
  // account -> kind -> app -> name -> item
  std::map<
      std::string,
      std::map<std::string, std::map<std::string, std::map<std::string, Json>>>>
      items_ ABSL_GUARDED_BY(mu_);
};

// Redis layout (prefix "gennaker:cd:"): hash <account>:<kind>:<app> maps
// name -> JSON and is replaced atomically (one Lua script per hash), with a
// version counter <hash>:v bumped on each replacement; set
// <account>:<kind>:apps lists the applications.
class RedisCache : public Cache {
 public:
  explicit RedisCache(redis::Client* redis) : redis_(redis) {}
  absl::Status Replace(const std::string& account,
                       const Json& snapshot) override;
  absl::StatusOr<std::vector<Json>> List(
      const std::string& account, const std::string& kind,
      const std::string& application) override;
  absl::StatusOr<std::optional<Json>> Get(const std::string& account,
                                          const std::string& kind,
                                          const std::string& name) override;
  absl::StatusOr<std::set<std::string>> Applications(
      const std::string& account, const std::string& kind) override;

 private:
  redis::Client* redis_;
  absl::Mutex mu_;
  // What this replica last wrote per hash, to skip unchanged writes.
  std::map<std::string, size_t> written_ ABSL_GUARDED_BY(mu_);
  // Parsed hashes by version (each Replace bumps it), so a read of an
  // unchanged application parses nothing.
  struct Memo {
    std::string version;
    std::shared_ptr<const std::vector<Json>> items;
  };
  std::map<std::string, Memo> memo_ ABSL_GUARDED_BY(mu_);
};

// Refreshes the cache from the providers: RefreshNow on demand (after an
// operation), soon after MarkDirty (provider change listener), and every
// `interval_ms` for every account.
class CachingAgent {
 public:
  CachingAgent(Cache* cache, std::vector<Provider*> providers,
               int64_t interval_ms);
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
  absl::Mutex mu_;
  std::set<std::string> dirty_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t refreshes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex refresh_mu_;  // one refresh of the cache at a time
  std::thread thread_;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_CACHE_H_
