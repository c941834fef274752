// The halconfig: defaults, loading, validation and atomic saving of the
// operator's YAML (proto gennaker.halyard.v1.Halconfig). Invalid files are
// never written: every edit is validated first, then written to a temporary
// file and renamed over the old one.
#ifndef GENNAKER_SERVICES_HALYARD_HALCONFIG_H_
#define GENNAKER_SERVICES_HALYARD_HALCONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gennaker/halyard/v1/halconfig.pb.h"
#include "gennaker/halyard/v1/halyard.pb.h"

namespace gennaker::halyard {

// ~/.hal/config
std::string DefaultHalconfigPath();

// A complete default config: local managed storage, Spinnaker's default ports.
v1::Halconfig DefaultHalconfig();

// The settings of `service` ("orca", ...) inside `config`.
const v1::ServiceSettings& Settings(const v1::Halconfig& config,
                                    absl::string_view service);
bool Enabled(const v1::Halconfig& config, absl::string_view service);

// Defaults merged with the YAML at `path`. NotFound when the file does not
// exist.
absl::StatusOr<v1::Halconfig> LoadHalconfig(const std::string& path);

// Everything wrong with `config`, each with its dotted key (empty when valid).
std::vector<v1::ValidationProblem> Validate(const v1::Halconfig& config);

// Validate() as one status listing every problem.
absl::Status ValidateStatus(const v1::Halconfig& config);

// Validates, then writes `config` to `path` atomically (creating parent
// directories).
absl::Status SaveHalconfig(const std::string& path,
                           const v1::Halconfig& config);

// Expands a leading "~/" to $HOME.
std::string ExpandHome(const std::string& path);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_HALCONFIG_H_
