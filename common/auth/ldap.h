// An LDAP directory through OpenLDAP's libldap: gate binds users against it
// (search then bind, or a DN pattern then bind) and fiat reads their groups.
// Every call opens its own connection (ldap:// with optional StartTLS, or
// ldaps://), so the class is thread-safe; nothing is cached. Values put into
// filters are escaped (RFC 4515) and into DNs escaped (RFC 4514), so a user id
// cannot change a query. Passwords never reach logs or error messages, nor do
// user ids of failed logins (UserIdForLogs). Create warns when passwords would
// cross the network in clear text (ldap:// without StartTLS to another host).
#ifndef GENNAKER_COMMON_AUTH_LDAP_H_
#define GENNAKER_COMMON_AUTH_LDAP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gennaker/common/v1/config.pb.h"

namespace gennaker::auth {

struct LdapUser {
  std::string id;                            // the user id as given at login
  std::string dn;                            // the full DN the user bound as
  std::string email, first_name, last_name;  // mail, givenName, sn
  std::vector<std::string> groups;  // group_role_attribute values, lower-case
};

class LdapDirectory {
 public:
  // Checks `config` (url scheme ldap/ldaps, a user DN pattern or search
  // filter, StartTLS only with ldap://, the CA file readable) without
  // connecting: INVALID_ARGUMENT naming the key.
  static absl::StatusOr<std::unique_ptr<LdapDirectory>> Create(
      const common::v1::LdapConfig& config);
  virtual ~LdapDirectory() = default;

  // Finds the user's DN and binds as it with `password`, then reads the
  // user's attributes and groups. UNAUTHENTICATED "bad credentials" for an
  // unknown user, a wrong or empty password (never an anonymous bind) alike;
  // UNAVAILABLE when the directory cannot be reached or TLS fails.
  virtual absl::StatusOr<LdapUser> Authenticate(
      const std::string& user, const std::string& password) const = 0;

  // The user's groups (lower-case), found with the manager's bind; an empty
  // list when group_search_base is empty or no DN is found for the user.
  // UNAVAILABLE when the directory cannot be reached.
  virtual absl::StatusOr<std::vector<std::string>> Groups(
      const std::string& user) const = 0;
};

// "sha256:" and the first 8 hex digits of SHA-256(user): how failure logs name
// a login's user id, which may be a password typed into the wrong field. The
// same id always gives the same text, so failures can still be correlated.
std::string UserIdForLogs(absl::string_view user);

// RFC 4515 escaping of a value placed in a search filter.
std::string EscapeLdapFilterValue(absl::string_view value);
// RFC 4514 escaping of a value placed in a DN.
std::string EscapeLdapDnValue(absl::string_view value);

}  // namespace gennaker::auth

#endif  // GENNAKER_COMMON_AUTH_LDAP_H_
