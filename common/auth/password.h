// Password hashes through Debian's libxcrypt (crypt(3)): new hashes are bcrypt
// ("$2b$<cost>$..."); verification accepts any hash libxcrypt knows (bcrypt,
// yescrypt "$y$", sha512crypt "$6$"). The comparison takes the same time
// whatever the input, and no function here logs or returns the password.
#ifndef GENNAKER_COMMON_AUTH_PASSWORD_H_
#define GENNAKER_COMMON_AUTH_PASSWORD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gennaker::auth {

// bcrypt's work factor for new hashes (2^10 rounds, ~60 ms here).
inline constexpr int kDefaultBcryptCost = 10;

// A new bcrypt hash of `password` with a random salt. INVALID_ARGUMENT for an
// empty password, one over 72 bytes (bcrypt ignores the rest) or a cost
// outside 4..31; INTERNAL when libxcrypt fails.
absl::StatusOr<std::string> HashPassword(absl::string_view password,
                                         int cost = kDefaultBcryptCost);

// Whether `password` matches `hash`. False (never an error) for a malformed or
// unsupported hash, and for an empty password.
bool VerifyPassword(absl::string_view password, absl::string_view hash);

// Whether `hash` looks like a hash VerifyPassword can check (a known crypt
// prefix and libxcrypt accepts it as a setting); for config validation.
bool IsSupportedHash(absl::string_view hash);

}  // namespace gennaker::auth

#endif  // GENNAKER_COMMON_AUTH_PASSWORD_H_
