// A Cache held in memory, with the same filing as the Redis one, for unit
// tests.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_STORE_IN_MEMORY_CACHE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_STORE_IN_MEMORY_CACHE_H_

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "services/clouddriver/store/cache.h"

namespace gennaker::clouddriver {

class InMemoryCache : public Cache {
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
  // The filed items of one kind in `account`, or nullptr.
  const std::map<std::string, std::map<std::string, Json>>* FiledKind(
      const std::string& account, const std::string& kind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  // account -> kind -> app -> name -> item
  std::map<std::string, FiledItems> items_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_STORE_IN_MEMORY_CACHE_H_
