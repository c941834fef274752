// Fiat's operations, shared by the gRPC and REST adapters: log users in and
// out, answer permission questions, and keep stored permission sets current
// (syncs, resource refreshes). Depends only on interfaces: the role provider,
// the resource cache and the permissions repository (constructor injection).
//
// Behaviour worth knowing:
//   - user ids are lower-cased; "anonymous" is the unrestricted user, whose
//     set is stored at start and after each resource refresh;
//   - every read first looks at the repository; when it holds nobody at all
//     the answer is UNAVAILABLE (callers fail open/closed as they choose);
//   - a stored set older than the last change of the resources is re-resolved
//     from its stored roles on read (no provider call, not written back, so
//     a racing logout is never undone), so a new application is visible
//     without waiting for a sync; a stored service account is read with the
//     snapshot's current memberOf;
//   - until every resource part has loaded, sets are resolved with
//     allow_access_to_unknown_applications off (fail closed); Authorize on an
//     application the snapshot does not know reloads the applications (at most
//     once a second);
//   - a service account is a user whose roles are its memberOf: asked for and
//     not yet stored, it is resolved on the fly.
#ifndef GENNAKER_SERVICES_FIAT_FIAT_CORE_H_
#define GENNAKER_SERVICES_FIAT_FIAT_CORE_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gennaker/fiat/v1/fiat.pb.h"
#include "services/fiat/repository.h"
#include "services/fiat/resolver.h"
#include "services/fiat/resources.h"
#include "services/fiat/roles.h"

namespace gennaker::fiat {

inline constexpr int kMaxExpandedServiceAccounts = 25;
inline constexpr int kDefaultListPageSize = 500;
inline constexpr int64_t kUnknownApplicationRefreshMs = 1000;

struct CoreOptions {
  ResolveOptions resolve;
  bool restrict_application_creation = false;
  bool get_all_enabled = false;
  // Epoch milliseconds; wall clock when unset.
  std::function<int64_t()> now_ms;
};

class FiatCore {
 public:
  FiatCore(UserRolesProvider* provider, ResourceCache* resources,
           PermissionsRepository* repository, CoreOptions options);

  // Resolves the user's roles (provider + `external_roles` as EXTERNAL) and
  // stores the set. Pushed roles the provider did not return are remembered
  // for syncs; those it did return are not, so removing one at the source
  // revokes it at the next sync. With the "external" provider every pushed
  // role is remembered until the next login replaces them.
  // INVALID_ARGUMENT for "anonymous"/the unrestricted user.
  absl::StatusOr<v1::UserPermission> LoginUser(
      const std::string& user, const std::vector<std::string>& external_roles);
  // Removes the stored set; false when there was none. INVALID_ARGUMENT for
  // "anonymous"/the unrestricted user.
  absl::StatusOr<bool> LogoutUser(const std::string& user);
  // The user's set, lists limited to `types` (empty: all); with `expand`,
  // each service account's own set (up to 25). NOT_FOUND for an unknown user.
  absl::StatusOr<v1::UserPermission> GetUserPermission(
      const std::string& user, bool expand = false,
      const std::set<v1::ResourceType>& types = {});
  absl::StatusOr<v1::AuthorizeResponse> Authorize(
      const std::string& user, v1::ResourceType type, const std::string& name,
      v1::Authorization authorization);
  // `resource_json`: the application as JSON (validated only). With
  // restrictApplicationCreation only admins may create: CREATE roles in the
  // caller's own body are never trusted.
  absl::StatusOr<v1::AuthorizeCreateResponse> AuthorizeCreate(
      const std::string& user, v1::ResourceType type, const std::string& name,
      const std::string& resource_json);
  absl::StatusOr<std::vector<v1::RoleView>> ListUserRoles(
      const std::string& user);
  // FAILED_PRECONDITION unless getAllEnabled. `page_token` is an offset.
  absl::StatusOr<v1::ListUserPermissionsResponse> ListUserPermissions(
      int page_size, const std::string& page_token);
  // Re-resolves everyone (or holders of `roles`), the unrestricted user and
  // the service accounts; UNAVAILABLE when nobody could be.
  absl::StatusOr<int64_t> SyncRoles(const std::vector<std::string>& roles);
  // Takes the new memberOf of a service account, re-resolves it and the
  // users holding its roles.
  absl::StatusOr<int64_t> SyncServiceAccount(
      const std::string& name, const std::vector<std::string>& member_of);

  // Background work. Reloads resources (a failed part keeps its last value)
  // and stores the unrestricted user.
  absl::Status RefreshResources();
  // Runs SyncRoles({}) when this replica wins lock "sync" for
  // `interval_ms`; false when another replica holds it.
  absl::StatusOr<bool> ScheduledSync(const std::string& owner,
                                     int64_t interval_ms);

  const CoreOptions& options() const { return options_; }

 private:
  // The stored (or on-the-fly service account) set of normalized `id`;
  // NOT_FOUND / UNAVAILABLE as the RPCs answer.
  absl::StatusOr<v1::UserPermission> Lookup(const std::string& id);
  // Resolves `id` with provider roles + `external` and stores it, with the
  // external roles the provider did not return (remembered for syncs). For a
  // `service_account` a provider failure leaves its memberOf roles only. With
  // `only_if_stored`, NOT_FOUND (nothing written) when the id is not stored.
  absl::StatusOr<v1::UserPermission> ResolveAndStore(
      const std::string& id, const std::vector<std::string>& external,
      bool service_account = false, bool only_if_stored = false);
  // Re-resolves a stored id for a sync, never re-creating it: a service
  // account with the snapshot's memberOf (deleted when front50 no longer
  // lists it, NOT_FOUND); NOT_FOUND when it was logged out meanwhile.
  absl::StatusOr<v1::UserPermission> Resync(const std::string& id,
                                            const StoredUser& stored,
                                            const Snapshot& snapshot);
  // options_.resolve, failing closed on unknown applications while
  // `snapshot` is incomplete.
  ResolveOptions ResolveOptionsFor(const Snapshot& snapshot) const;
  absl::StatusOr<std::string> UserId(const std::string& user) const;

  UserRolesProvider* const provider_;
  ResourceCache* const resources_;
  PermissionsRepository* const repository_;
  const CoreOptions options_;
};

// Spinnaker's ResourceType.parse: case-insensitive, after the last ':' and
// without one trailing 's' ("applications" -> APPLICATION);
// RESOURCE_TYPE_UNSPECIFIED when unknown.
v1::ResourceType ParseResourceType(absl::string_view text);
// "read" / "READ" -> AUTHORIZATION_READ; UNSPECIFIED when unknown.
v1::Authorization ParseAuthorization(absl::string_view text);

}  // namespace gennaker::fiat

#endif  // GENNAKER_SERVICES_FIAT_FIAT_CORE_H_
