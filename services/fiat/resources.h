// The resources fiat protects, loaded from the services that own them:
// applications and their permissions and service accounts from front50,
// accounts from clouddriver, CI masters (build services) from igor. The
// ResourceCache keeps the last snapshot; a part that fails to load keeps its
// previous value (and the failure is logged), so an outage of one service
// never empties what fiat grants.
#ifndef GENNAKER_SERVICES_FIAT_RESOURCES_H_
#define GENNAKER_SERVICES_FIAT_RESOURCES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gennaker/common/v1/config.pb.h"
#include "services/fiat/resolver.h"

namespace gennaker::fiat {

// One loader per resource kind; thread-safe.
class ResourceSource {
 public:
  virtual ~ResourceSource() = default;
  virtual absl::StatusOr<std::vector<Resource>> Applications() = 0;
  virtual absl::StatusOr<std::vector<Resource>> Accounts() = 0;
  virtual absl::StatusOr<std::vector<Resource>> BuildServices() = 0;
  virtual absl::StatusOr<std::vector<ServiceAccount>> ServiceAccounts() = 0;
};

// Over gRPC: front50 (ListApplications + ListApplicationPermissions,
// ListServiceAccounts), clouddriver (ListAccounts expanded) and igor
// (ListMasters unfiltered). An endpoint with an empty address contributes
// nothing.
std::unique_ptr<ResourceSource> NewGrpcResourceSource(
    const common::v1::EndpointConfig& front50,
    const common::v1::EndpointConfig& clouddriver,
    const common::v1::EndpointConfig& igor);

// In memory, for tests: set the parts, or make one fail.
class FakeResourceSource final : public ResourceSource {
 public:
  void Set(Snapshot snapshot);
  void AddApplication(Resource app);
  void SetServiceAccounts(std::vector<ServiceAccount> accounts);
  void Fail(bool fail);
  // Only the applications fail (front50 down, clouddriver up).
  void FailApplications(bool fail);
  int loads() const;

  absl::StatusOr<std::vector<Resource>> Applications() override;
  absl::StatusOr<std::vector<Resource>> Accounts() override;
  absl::StatusOr<std::vector<Resource>> BuildServices() override;
  absl::StatusOr<std::vector<ServiceAccount>> ServiceAccounts() override;

 private:
  mutable absl::Mutex mu_;
  Snapshot snapshot_ ABSL_GUARDED_BY(mu_);
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
  bool fail_applications_ ABSL_GUARDED_BY(mu_) = false;
  int loads_ ABSL_GUARDED_BY(mu_) = 0;
};

// The current snapshot, refreshed on demand (the server refreshes every
// resourceRefreshSeconds). Thread-safe; refreshes are serialized.
class ResourceCache {
 public:
  ResourceCache(ResourceSource* source, std::function<int64_t()> now_ms);

  // Loads every part; a failed part keeps its last value. OK when every part
  // loaded, else the first failure.
  absl::Status Refresh();
  // Reloads the applications only (an unknown one was asked for), unless
  // another on-demand one started less than `min_interval_ms` ago (then OK).
  // The periodic refreshes do not count: a name created after the last one must
  // be found at once. Waits at most kOnDemandWait behind a running refresh,
  // then gives up (OK): callers are requests, not the background loop.
  absl::Status RefreshOnDemand(int64_t min_interval_ms)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // The current snapshot (never null).
  std::shared_ptr<const Snapshot> Get() const;
  // Puts one service account into the snapshot at once (front50 told fiat
  // about it), ahead of the next refresh.
  void UpsertServiceAccount(ServiceAccount account);

 private:
  static constexpr absl::Duration kOnDemandWait = absl::Milliseconds(200);

  absl::Status Load(bool applications_only)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(refresh_mu_);
  void Publish(Snapshot next);

  ResourceSource* const source_;
  int loaded_parts_ ABSL_GUARDED_BY(refresh_mu_) = 0;  // bit per part
  const std::function<int64_t()> now_ms_;
  absl::Mutex refresh_mu_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  int64_t last_on_demand_ms_ ABSL_GUARDED_BY(mu_) = INT64_MIN / 2;
};

}  // namespace gennaker::fiat

#endif  // GENNAKER_SERVICES_FIAT_RESOURCES_H_
