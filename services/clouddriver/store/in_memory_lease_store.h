// A LeaseStore held in memory with a settable clock, for unit tests.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_STORE_IN_MEMORY_LEASE_STORE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_STORE_IN_MEMORY_LEASE_STORE_H_

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "services/clouddriver/store/lease_store.h"

namespace gennaker::clouddriver {

class InMemoryLeaseStore : public LeaseStore {
 public:
  absl::StatusOr<LeaseHolder> Claim(const std::string& account,
                                    const LeaseHolder& self,
                                    int64_t ttl_ms) override;
  // Moves the store's clock (ms) forward, lapsing leases.
  void Advance(int64_t ms);
  // Every Claim fails with UNAVAILABLE while set.
  void SetUnavailable(bool unavailable);

 private:
  struct Lease {
    LeaseHolder holder;
    int64_t expires_ms = 0;
  };
  absl::Mutex mu_;
  int64_t now_ms_ ABSL_GUARDED_BY(mu_) = 0;
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, Lease> leases_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_STORE_IN_MEMORY_LEASE_STORE_H_
