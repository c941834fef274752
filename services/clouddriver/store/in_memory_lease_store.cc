#include "services/clouddriver/store/in_memory_lease_store.h"

namespace gennaker::clouddriver {

absl::StatusOr<LeaseHolder> InMemoryLeaseStore::Claim(
    const std::string& account, const LeaseHolder& self, int64_t ttl_ms) {
  absl::MutexLock l(&mu_);
  if (unavailable_) return absl::UnavailableError("lease store unavailable");
  auto it = leases_.find(account);
  if (it != leases_.end() && it->second.expires_ms > now_ms_ &&
      it->second.holder.id != self.id) {
    return it->second.holder;
  }
  leases_[account] = Lease{self, now_ms_ + ttl_ms};
  return self;
}

void InMemoryLeaseStore::Advance(int64_t ms) {
  absl::MutexLock l(&mu_);
  now_ms_ += ms;
}

void InMemoryLeaseStore::SetUnavailable(bool unavailable) {
  absl::MutexLock l(&mu_);
  unavailable_ = unavailable;
}

}  // namespace gennaker::clouddriver
