// The production Cache, in Redis. Layout (prefix "gennaker:cd:"): hash
// <account>:<kind>:app:<app> maps name -> JSON and is replaced atomically (one
// Lua script per hash), with a version token <hash>:v set anew on each
// replacement; set <account>:<kind>:apps lists the applications. Several
// replicas may share one Redis.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_STORE_REDIS_CACHE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_STORE_REDIS_CACHE_H_

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/clouddriver/store/cache.h"

namespace gennaker::redis {
class Client;
}

namespace gennaker::clouddriver {

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
  // Forgets what this replica wrote, so its next Replace writes everything:
  // for a replica that comes to serve an account another one may have
  // written meanwhile.
  void ForgetWrites();

 private:
  redis::Client* redis_;
  absl::Mutex mu_;
  // What this replica last wrote per hash, to skip unchanged writes.
  std::map<std::string, size_t> written_ ABSL_GUARDED_BY(mu_);
  // Parsed hashes by version (each Replace sets a new one), so a read of an
  // unchanged application parses nothing.
  struct Memo {
    std::string version;
    std::shared_ptr<const std::vector<Json>> items;
  };
  std::map<std::string, Memo> memo_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_STORE_REDIS_CACHE_H_
