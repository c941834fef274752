// The halyard daemon (`halyard serve`): serves the halconfig, the deployment's
// status and the versions running over gennaker.halyard.v1.HalyardService. It
// reads the halconfig file on every call, so CLI edits are visible at once.
#ifndef GENNAKER_SERVICES_HALYARD_DAEMON_H_
#define GENNAKER_SERVICES_HALYARD_DAEMON_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/halyard/v1/config.pb.h"

namespace gennaker::halyard {

inline constexpr char kUnimplementedArea[] =
    "apply and rollback run from the halyard CLI; the daemon does not restart "
    "the suite";

absl::Status ValidateDaemonConfig(const v1::HalyardConfig& config);

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildDaemon(
    const v1::HalyardConfig& config, Metrics* metrics);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_DAEMON_H_
