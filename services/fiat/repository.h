// Where resolved permission sets live between requests (Spinnaker's
// PermissionsRepository): per user the UserPermission and the external roles
// gate pushed at login (so a sync keeps them), an index of users per role, and
// the lock that lets one replica run the periodic sync.
//
// A sync must not resurrect a user logged out meanwhile: it stores with
// `only_if_stored`, which the store checks atomically with the write.
//
// Redis layout under <prefix> (default "gennaker:fiat"):
//   <prefix>:users               set of user ids
//   <prefix>:user:<id>           UserPermission (binary proto), TTL
//   <prefix>:external:<id>       JSON array of external roles, or for a
//                                service account {"roles":[..],
//                                "service_account":true}, TTL
//   <prefix>:user-roles:<id>     set of the user's roles (index upkeep), TTL
//   <prefix>:roles:<role>        set of user ids holding the role
//   <prefix>:lock:<name>         lock owner, PX expiry
// Each Put and Delete is one Lua script, so a user's keys change atomically.
#ifndef GENNAKER_SERVICES_FIAT_REPOSITORY_H_
#define GENNAKER_SERVICES_FIAT_REPOSITORY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gennaker/fiat/v1/fiat.pb.h"

namespace gennaker::redis {
class Client;
}

namespace gennaker::fiat {

struct StoredUser {
  v1::UserPermission permission;
  std::vector<std::string> external_roles;
  // Resolved as a front50 service account (so a sync can drop it once
  // front50 no longer lists it).
  bool service_account = false;
};

class PermissionsRepository {
 public:
  virtual ~PermissionsRepository() = default;
  // Stores (replaces) the set of permission.name() and its external roles.
  absl::Status Put(const v1::UserPermission& permission,
                   const std::vector<std::string>& external_roles) {
    return Store(StoredUser{permission, external_roles}, false).status();
  }
  // Stores `user`; with `only_if_stored`, only when a set for the id is
  // stored right now (checked atomically): false when nothing was written.
  virtual absl::StatusOr<bool> Store(const StoredUser& user,
                                     bool only_if_stored) = 0;
  // nullopt when absent (or expired).
  virtual absl::StatusOr<std::optional<StoredUser>> Get(
      const std::string& id) = 0;
  // True when something was removed.
  virtual absl::StatusOr<bool> Delete(const std::string& id) = 0;
  // Stored ids, sorted (may name sets that expired since).
  virtual absl::StatusOr<std::vector<std::string>> ListUsers() = 0;
  // Ids of users holding any of `roles` (lower-case), sorted.
  virtual absl::StatusOr<std::vector<std::string>> UsersWithRoles(
      const std::vector<std::string>& roles) = 0;
  // True when no user at all is stored (e.g. after a flush).
  virtual absl::StatusOr<bool> IsEmpty() = 0;
  // Takes lock `name` for `ttl_ms` unless someone holds it; never released
  // early, so it also spaces runs out across replicas.
  virtual absl::StatusOr<bool> TryLock(const std::string& name,
                                       const std::string& owner,
                                       int64_t ttl_ms) = 0;
};

// On Redis (`client` outlives the repository); sets live `ttl_seconds`
// after their last Put.
std::unique_ptr<PermissionsRepository> NewRedisPermissionsRepository(
    redis::Client* client, std::string prefix, int64_t ttl_seconds);

// In memory (tests): no expiry of sets; locks expire on `now_ms`.
std::unique_ptr<PermissionsRepository> NewMemoryPermissionsRepository(
    std::function<int64_t()> now_ms);

}  // namespace gennaker::fiat

#endif  // GENNAKER_SERVICES_FIAT_REPOSITORY_H_
