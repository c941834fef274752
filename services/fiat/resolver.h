// Fiat's permission model and its one pure computation: which applications,
// accounts, build services and service accounts a user with some roles may
// use, given a snapshot of every resource (Spinnaker's
// DefaultPermissionsResolver and resource providers).
//
// Rules (see /work/shared/reference/fiat-echo-igor-front50.md §1):
//   - a resource with no role on any authorization is unrestricted: everyone
//     gets all four authorizations on it;
//   - otherwise a user gets each authorization whose roles meet the user's;
//   - applications: CREATE is stripped; a restricted application naming no
//     EXECUTE role copies the roles of `execute_fallback` (READ by default);
//   - accounts: WRITE does not imply READ; the legacy
//     requiredGroupMembership becomes READ+WRITE unless permissions are set;
//   - service accounts: usable when the user holds all of its memberOf roles
//     (any one with role_or_mode); one with no memberOf is usable by admins
//     only;
//   - admins (any admin role) get everything, with all four authorizations;
//   - with allow_access_to_unknown_applications, applications the user may
//     not use are listed with no authorizations: only applications fiat does
//     not know at all pass as "unknown".
// Names of users and roles are lower-cased; "anonymous" is the synthetic
// unrestricted user, who has no roles.
#ifndef GENNAKER_SERVICES_FIAT_RESOLVER_H_
#define GENNAKER_SERVICES_FIAT_RESOLVER_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gennaker/fiat/v1/fiat.pb.h"

namespace gennaker::fiat {

inline constexpr char kUnrestrictedUser[] = "__unrestricted_user__";

// Roles per authorization, each lower-case.
struct Permissions {
  std::set<std::string> read, write, execute, create;
  // Whether any authorization names a role.
  bool Restricted() const;
  bool operator==(const Permissions&) const = default;
};

struct Resource {
  std::string name;
  Permissions permissions;
  bool operator==(const Resource&) const = default;
};

struct ServiceAccount {
  std::string name;                    // lower-case
  std::vector<std::string> member_of;  // lower-case
  bool operator==(const ServiceAccount&) const = default;
};

// Every resource fiat knows, as last loaded.
struct Snapshot {
  std::vector<Resource> applications;  // raw: CREATE and fallback not applied
  std::vector<Resource> accounts;      // legacy groups already folded in
  std::vector<Resource> build_services;
  std::vector<ServiceAccount> service_accounts;
  // When the content last changed (epoch ms); permission sets resolved
  // before it are stale.
  int64_t changed_at_ms = 0;
  // Whether every part has loaded at least once. Until then (an owner was
  // down at start) stored sets are not re-resolved against it.
  bool complete = false;

  bool SameContent(const Snapshot& other) const;
  bool HasApplication(absl::string_view name) const;  // ignoring case
  const ServiceAccount* FindServiceAccount(absl::string_view name) const;
};

struct ResolveOptions {
  std::set<std::string> admin_roles;  // lower-case
  v1::Authorization execute_fallback = v1::AUTHORIZATION_READ;
  bool allow_access_to_unknown_applications = false;
  bool role_or_mode = false;
};

// Lower-case, trimmed role name.
std::string NormalizeRole(absl::string_view role);
// Roles normalized, empty ones dropped, sorted, unique.
std::set<std::string> NormalizeRoles(const std::vector<std::string>& roles);
// Lower-case, trimmed user id; "anonymous" (any case) is kUnrestrictedUser.
std::string NormalizeUserId(absl::string_view user);

// An application's effective permissions: CREATE stripped, EXECUTE fallback.
Permissions ApplicationPermissions(const Permissions& declared,
                                   v1::Authorization execute_fallback);
// An account's permissions with the legacy requiredGroupMembership folded in.
Permissions AccountPermissions(const Permissions& declared,
                               const std::vector<std::string>& legacy_groups);

// `provider` roles first (they win on a name clash), then `external` as
// EXTERNAL; sorted by name.
std::vector<v1::RoleView> MergeRoles(const std::vector<v1::RoleView>& provider,
                                     const std::vector<std::string>& external);

// The permission set of user `id` holding `roles`.
v1::UserPermission Resolve(const std::string& id,
                           const std::vector<v1::RoleView>& roles,
                           const Snapshot& snapshot,
                           const ResolveOptions& options, int64_t now_ms);

}  // namespace gennaker::fiat

#endif  // GENNAKER_SERVICES_FIAT_RESOLVER_H_
