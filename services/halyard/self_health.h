// `halyard health` without an address, as a container's health check: finds
// the Gennaker service the container runs (its PID 1, or another pid), the
// config it was started with (--config FILE plus its GENNAKER__ environment,
// over the service's defaults) and so the gRPC port to ask.
#ifndef GENNAKER_SERVICES_HALYARD_SELF_HEALTH_H_
#define GENNAKER_SERVICES_HALYARD_SELF_HEALTH_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace gennaker::halyard {

// A process as /proc shows it.
struct ProcessView {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;  // its working directory; empty when unknown
};

// Reads /proc/<pid>/cmdline, /proc/<pid>/environ and /proc/<pid>/cwd.
absl::StatusOr<ProcessView> ReadProcessView(int pid);

// "127.0.0.1:<grpc port>" of the service `process` runs: its program's base
// name is one of the ten services (halyard: only as `halyard serve`, its
// config from --config or --daemon-config); a relative config path is taken
// from the process's working directory. INVALID_ARGUMENT when it is no
// service; the loader's error when its config cannot be read. A container
// whose PID 1 is an init process (`docker run --init`) needs an address.
absl::StatusOr<std::string> ServiceHealthAddress(const ProcessView& process);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_SELF_HEALTH_H_
