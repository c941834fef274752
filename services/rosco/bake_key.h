// Rosco's pure naming rules, as Spinnaker's rosco computes them (reference
// clouddriver-rosco-halyard.md 6.2 and 6.5): provider names, the package list
// of a request, the bake key that decides reuse, image names, and the
// appversion tag. No I/O; the clock comes in as an argument.
#ifndef GENNAKER_SERVICES_ROSCO_BAKE_KEY_H_
#define GENNAKER_SERVICES_ROSCO_BAKE_KEY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gennaker/rosco/v1/rosco.pb.h"

namespace gennaker::rosco {

// "aws", "docker", "local", ... ("" for UNSPECIFIED).
std::string ProviderName(v1::CloudProviderType type);

// One entry of the request's space-separated `package` list.
//   "name=version" (apt style)            -> name, version
//   "name_version_arch" (Spinnaker's deb) -> name, version, arch
//   "name"                                -> name
struct PackageRef {
  std::string entry;  // as written in the request
  std::string name;
  std::string version;
  std::string arch;
};
std::vector<PackageRef> ParsePackages(absl::string_view package_names);

// The bake key: "bake" then the non-empty values of provider, base_os,
// base_ami, ami_name, template_file_name, var_file_name, then the package
// entries joined with '|' (always present), then the package artifact
// references joined with '|' (when any; an embedded/base64 one as
// "embedded/base64@sha256:<hex of the payload>"), for local bakes with an
// extendedAttributes.command "command@sha256:<hex of it>", then for AWS
// "<region>:<vm_type>:enhancedNWEnabled|enhancedNWDisabled"; joined with ':'.
// `vm_type` is the request's or the provider default.
std::string BakeKey(const v1::BakeRequest& request,
                    v1::CloudProviderType provider, absl::string_view region,
                    absl::string_view vm_type);

// Image name of a bake (6.5). Local: ami_name or the first package name, its
// version, its arch or "all", ami_suffix or the time as yyyyMMddHHmmss,
// base_os; empties skipped, joined with '-'. Other providers: the same
// without the version, with an epoch-ms timestamp. Docker: [organization/]
// + (ami_name or first package name). `first` is the resolved first package
// (version filled in from the repository when the request had none).
std::string ImageName(const v1::BakeRequest& request,
                      v1::CloudProviderType provider, const PackageRef& first,
                      int64_t now_ms);

// Spinnaker's appversion tag: "<name>-<version>" and, with a CI build,
// "-h<build_number>.<commit_hash[:7]>/<job>/<build_number>".
std::string AppVersion(const PackageRef& first, const v1::BakeRequest& request);

// True for names that are safe as file names and JSON strings without
// escaping: [A-Za-z0-9._-]+, not starting with '.'.
bool IsSafeName(absl::string_view name);

// Compares two package versions as `sort -V` orders them (runs of digits by
// value, other runs by characters): <0, 0, >0.
int CompareVersions(absl::string_view a, absl::string_view b);

}  // namespace gennaker::rosco

#endif  // GENNAKER_SERVICES_ROSCO_BAKE_KEY_H_
