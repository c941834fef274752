// Which clouddriver replica serves each account. The local provider's cloud is
// the replica itself (its state dir and its processes), so when several
// replicas share one Redis each account is served by exactly one of them: the
// holder of the account's lease (store/lease_store.h). The holder caches the
// account and runs its operations; the other replicas forward those
// operations to the holder's address. The holder renews every ttl/3; when it
// stops renewing (it died, or stopped) the lease lapses after ttl and another
// replica takes the account over at its next claim. A stopping replica keeps
// its leases: its cloud is restored from its state dir when it comes back,
// and its holder id, kept in that dir, reclaims the accounts at once. A lease
// counts as held until ttl - ttl/10 after the claim began (a margin for
// clock drift against Redis's expiry). Thread-safe.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_ACCOUNT_OWNERSHIP_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_ACCOUNT_OWNERSHIP_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/clouddriver/store/lease_store.h"

namespace gennaker::clouddriver {

// The holder id kept in `dir` (created, with a fresh id, on first use).
absl::StatusOr<std::string> LoadOrCreateHolderId(const std::string& dir);

class AccountOwnership {
 public:
  struct Options {
    std::string address;  // where the other replicas reach this one
    int64_t ttl_ms = 15000;
    // Milliseconds of a monotonic clock (default: steady_clock; tests move
    // it by hand).
    std::function<int64_t()> now_ms;
  };
  // `holder_ids`: account -> this replica's holder id for it.
  AccountOwnership(LeaseStore* store,
                   std::map<std::string, std::string> holder_ids,
                   Options options);
  ~AccountOwnership();  // Stop()

  // Called with each account this replica has just come to serve (not
  // under a lock): it caches the account then.
  void SetGainedListener(std::function<void(const std::string&)> listener);
  // Claims or renews every account's lease once. A failed claim is logged;
  // the account counts as served by no one known until a claim succeeds.
  void ClaimAll();
  // ClaimAll every ttl/3 on a thread.
  void Start();
  // Ends the thread; this replica serves nothing from then on. The leases
  // are left to lapse (see above).
  void Stop();

  // True while this replica holds `account`'s lease (renewed within ttl).
  bool Serves(const std::string& account) const;
  // Where `account`'s operations run: "" here, else the holder's address.
  // UNAVAILABLE when no replica is known to serve it now; NOT_FOUND for an
  // account this replica does not have.
  absl::StatusOr<std::string> Route(const std::string& account) const;
  const std::string& address() const { return options_.address; }

 private:
  struct State {
    std::string id;  // this replica's holder id for the account
    LeaseHolder holder;
    int64_t valid_until_ms = 0;  // the holder is counted on until then
  };
  int64_t Now() const;

  LeaseStore* store_;
  const Options options_;
  mutable absl::Mutex mu_;
  std::map<std::string, State> accounts_ ABSL_GUARDED_BY(mu_);
  std::function<void(const std::string&)> gained_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex claim_mu_;  // one ClaimAll at a time
  std::thread thread_;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_ACCOUNT_OWNERSHIP_H_
