// LeaseStore on Redis: one key per account ("gennaker:cdlease:<account>",
// value "<id> <address>", PX ttl), claimed by a Lua script so that the check
// and the write are one step.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_STORE_REDIS_LEASE_STORE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_STORE_REDIS_LEASE_STORE_H_

#include "services/clouddriver/store/lease_store.h"

namespace gennaker::redis {
class Client;
}

namespace gennaker::clouddriver {

class RedisLeaseStore : public LeaseStore {
 public:
  explicit RedisLeaseStore(redis::Client* redis) : redis_(redis) {}
  absl::StatusOr<LeaseHolder> Claim(const std::string& account,
                                    const LeaseHolder& self,
                                    int64_t ttl_ms) override;

 private:
  redis::Client* redis_;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_STORE_REDIS_LEASE_STORE_H_
