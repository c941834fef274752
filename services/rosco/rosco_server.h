// Wiring of rosco: the one place where its config becomes running parts: the
// Redis bake store, the packer runner, the core (which resumes or fails the
// bakes an earlier run left incomplete before it serves) and its gRPC adapter.
#ifndef GENNAKER_SERVICES_ROSCO_ROSCO_SERVER_H_
#define GENNAKER_SERVICES_ROSCO_ROSCO_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/rosco/v1/config.pb.h"

namespace gennaker::rosco {

inline constexpr char kUnimplementedArea[] = "rosco";
inline constexpr int kDefaultMaxConcurrentBakes = 2;
inline constexpr int kDefaultBakeTimeoutSeconds = 1800;

// <directory of the running binary>/../share/rosco/packer: where the build
// copies services/rosco/packer (build/share/rosco/packer).
std::string DefaultPackerConfigDir();

// rosco's own defaults: packer dir next to the binary, packer from PATH,
// 2 concurrent bakes, 30 min timeout, local provider; the instance name is
// left empty: OptionsFromConfig makes it "<hostname>:<grpc port>" once the
// file has set the port.
void ApplyRoscoDefaults(v1::RoscoConfig* config);

// What the shared validation cannot know: the packer dir exists, provider
// entries are unique and have a template, template names are plain.
absl::Status ValidateConfig(const v1::RoscoConfig& config);

// Connects to Redis, builds the core and recovers its incomplete bakes.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildRosco(
    const v1::RoscoConfig& config, Metrics* metrics);

}  // namespace gennaker::rosco

#endif  // GENNAKER_SERVICES_ROSCO_ROSCO_SERVER_H_
