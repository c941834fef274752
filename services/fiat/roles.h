// Where a user's roles come from (Spinnaker's auth.group-membership): the
// users file, an LDAP directory's groups, or nothing but the roles gate pushes
// at login ("external"). Roles are lower-case; a user the provider does not
// know has none. Providers are thread-safe.
#ifndef GENNAKER_SERVICES_FIAT_ROLES_H_
#define GENNAKER_SERVICES_FIAT_ROLES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gennaker/fiat/v1/fiat.pb.h"

namespace gennaker::auth {
class LdapDirectory;
class UsersFile;
}  // namespace gennaker::auth

namespace gennaker::fiat {

class UserRolesProvider {
 public:
  virtual ~UserRolesProvider() = default;
  // The roles of `user` (lower-case id); UNAVAILABLE when the source cannot
  // answer (the caller keeps what it had).
  virtual absl::StatusOr<std::vector<v1::RoleView>> Roles(
      const std::string& user) = 0;
};

// Roles of the users file (source FILE), re-read when the file changes.
std::unique_ptr<UserRolesProvider> NewFileRolesProvider(
    std::unique_ptr<auth::UsersFile> file);
// Groups of the user in the directory (source LDAP).
std::unique_ptr<UserRolesProvider> NewLdapRolesProvider(
    std::unique_ptr<auth::LdapDirectory> directory);
// No roles of its own: only those pushed at login count.
std::unique_ptr<UserRolesProvider> NewExternalRolesProvider();

}  // namespace gennaker::fiat

#endif  // GENNAKER_SERVICES_FIAT_ROLES_H_
