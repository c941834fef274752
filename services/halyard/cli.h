// The `halyard` command line: config editing, local deploy (apply / restart /
// status / clean; `deck`, the UI gate serves, counts as a service there),
// Kubernetes deploy when deploymentEnvironment.type is KUBERNETES (apply /
// diff / rollback / render / status, with kubectl: kubernetes_deployer.h), the
// daemon (`serve`), a health probe and `hash-password` (a bcrypt hash for
// security.authn.usersFile). Works on the files directly; no daemon is needed.
#ifndef GENNAKER_SERVICES_HALYARD_CLI_H_
#define GENNAKER_SERVICES_HALYARD_CLI_H_

#include <istream>
#include <string>

#include "absl/status/statusor.h"

namespace gennaker::halyard {

// What `halyard hash-password` prints: the bcrypt hash (common/auth/password.h,
// `cost`) of the first line of `in`, its "\n" or "\r\n" dropped.
// INVALID_ARGUMENT for no input or an unusable password (empty, over 72
// bytes); the password is never part of a message.
absl::StatusOr<std::string> HashPasswordFrom(std::istream& in, int cost);

// Runs the command in argv; returns the process exit code (0 ok, 1 failed, 2
// bad usage or invalid config).
int RunCli(int argc, char** argv);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_CLI_H_
