// The users file gate authenticates against and fiat's file role provider
// reads (Spinnaker's fiat file format, plus login fields):
//
//   users:
//     - username: alice
//       passwordHash: "$2b$10$..."   # optional: without it, no password login
//       roles: [team-a, deployers]
//       email: alice@example.com      # optional, also firstName, lastName
//
// Usernames are unique ignoring case and are matched ignoring case; roles are
// trimmed and lower-cased, empty ones dropped. UsersFile re-reads the file
// when its modification time or size changes, so an operator's edit applies
// without a restart; a file that became invalid or unreadable keeps the last
// good copy, while a deleted file means no users at all (fail closed); each
// distinct error is logged once. "anonymous" and "__unrestricted_user__" (any
// case) are reserved: fiat gives the unrestricted user's roles to everyone.
#ifndef GENNAKER_COMMON_AUTH_USERS_FILE_H_
#define GENNAKER_COMMON_AUTH_USERS_FILE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gennaker::auth {

struct FileUser {
  std::string username;       // as written in the file
  std::string password_hash;  // "" when the user cannot log in by password
  std::string email, first_name, last_name;
  std::vector<std::string> roles;  // lower-case, sorted, unique
};

// Whether `username` (trimmed, any case) is "anonymous" or
// "__unrestricted_user__": names no one may log in as.
bool IsReservedUsername(absl::string_view username);

// Parses a users file's text. INVALID_ARGUMENT naming the entry for: not YAML,
// no `users` list, an entry without username, a reserved or duplicate
// username, a passwordHash IsSupportedHash refuses, roles that are not a list
// of strings.
absl::StatusOr<std::vector<FileUser>> ParseUsersFile(absl::string_view yaml);

// A users file on disk, thread-safe.
class UsersFile {
 public:
  // Reads `path` once; an unreadable or invalid file fails here (fail fast at
  // start-up).
  static absl::StatusOr<std::unique_ptr<UsersFile>> Open(std::string path);
  virtual ~UsersFile() = default;

  // The user named `username` (case-insensitive), after re-reading the file
  // if it changed; nullopt when absent or the file is gone.
  virtual std::optional<FileUser> Find(absl::string_view username) = 0;

  // Every user, after re-reading the file if it changed.
  virtual std::vector<FileUser> All() = 0;
};

}  // namespace gennaker::auth

#endif  // GENNAKER_COMMON_AUTH_USERS_FILE_H_
