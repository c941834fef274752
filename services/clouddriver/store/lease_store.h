// Leases that name which clouddriver replica serves an account, shared by the
// replicas of one suite. A lease is held by a holder id (stable across
// restarts of one replica) with the address the other replicas forward to,
// and lapses `ttl_ms` after its last claim. Implementations: Redis
// (production, redis_lease_store.h) and in memory (unit tests,
// in_memory_lease_store.h); both thread-safe.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_STORE_LEASE_STORE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_STORE_LEASE_STORE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace gennaker::clouddriver {

struct LeaseHolder {
  std::string id;       // no whitespace
  std::string address;  // host:port of its gRPC API
};

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  // Takes the lease of `account` for `self` when no one holds it, renews it
  // (and updates the address) when `self.id` holds it; returns the holder
  // after the attempt, `self` or the other one. Atomic.
  virtual absl::StatusOr<LeaseHolder> Claim(const std::string& account,
                                            const LeaseHolder& self,
                                            int64_t ttl_ms) = 0;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_STORE_LEASE_STORE_H_
