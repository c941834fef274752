// Credentials of a deployment's managed stores (and the salt of its
// Kubernetes config hashes). Generated at the first apply
// (random, from /dev/urandom) and kept in <stateDir>/secrets (mode 0700), one
// file per store readable by its owner only (0600); later applies read them
// back. Their values are never printed: anything shown to an operator goes
// through RedactSecrets.
#ifndef GENNAKER_SERVICES_HALYARD_SECRETS_H_
#define GENNAKER_SERVICES_HALYARD_SECRETS_H_

#include <string>

#include "absl/status/statusor.h"

namespace gennaker::halyard {

struct StoreSecrets {
  std::string postgres_password;
  std::string redis_password;
};

// <stateDir>/secrets/postgres.password
std::string PostgresPasswordPath(const std::string& state_dir);
// <stateDir>/secrets/redis.password
std::string RedisPasswordPath(const std::string& state_dir);

// The deployment's store passwords, generated and saved when missing. A file
// that is not a regular file of ours, or holds anything but a password, is an
// error (never silently replaced: the running stores use the old value). Loose
// permissions are tightened. A missing one is created without ever replacing
// a file: of concurrent callers, all get the password the first one saved.
absl::StatusOr<StoreSecrets> EnsureStoreSecrets(const std::string& state_dir);

// <stateDir>/secrets/kubernetes-hash.salt
std::string KubernetesHashSaltPath(const std::string& state_dir);

// The key of a Kubernetes deployment's config-hash annotations
// (KubernetesRenderOptions::hash_salt): generated at the first call and kept
// beside the store passwords, with the same rules (never replaced, 0600). The
// same salt across applies keeps unchanged services' hashes, so only what
// changed rolls.
absl::StatusOr<std::string> KubernetesHashSalt(const std::string& state_dir);

// `bytes` random bytes from /dev/urandom, as lowercase hex.
absl::StatusOr<std::string> RandomHex(int bytes);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_SECRETS_H_
