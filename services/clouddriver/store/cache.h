// clouddriver's cache: the index of what every account holds (server groups
// with their instances, load balancers, security groups), as Spinnaker JSON,
// keyed by account, kind and application. It is rebuildable from the
// providers at any time (caches can be dropped), so every implementation may
// lose it. Implementations: Redis (production, redis_cache.h) and in memory
// (unit tests, in_memory_cache.h); both are thread-safe. The CachingAgent
// (caching_agent.h) keeps it fresh.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_STORE_CACHE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_STORE_CACHE_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/clouddriver/provider.h"

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

// A snapshot filed the way every Cache files it: kind -> application -> name
// -> item. Every kind is present, even when empty (so that stale items are
// dropped); items without a name are skipped; an item's application is its
// "application" member, else the one its name parses to.
using FiledItems =
    std::map<std::string, std::map<std::string, std::map<std::string, Json>>>;
FiledItems FileSnapshot(const Json& snapshot);

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_STORE_CACHE_H_
