// Parsing of a property file a build archived (GetBuildProperties), as
// Spinnaker's igor does: YAML when the name ends .yml/.yaml, JSON when it
// ends .json, Java .properties otherwise. The result is a JSON object; YAML
// and JSON values keep their types, .properties values are strings.
// Outside text: bounded in size (kMaxArtifactBytes), depth (100) and, for
// YAML, in what it expands to (aliases repeat the node they refer to): at
// most 200000 values and 8 MiB of keys and scalars, else INVALID_ARGUMENT.
// Anchors and aliases are accepted within those bounds.
#ifndef GENNAKER_SERVICES_IGOR_CI_PROPERTIES_H_
#define GENNAKER_SERVICES_IGOR_CI_PROPERTIES_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/spinnaker/json.h"

namespace gennaker::igor {

// INVALID_ARGUMENT naming `file_name` when the text does not parse or is not
// a map/object.
absl::StatusOr<spinnaker::Json> ParseBuildProperties(
    const std::string& file_name, const std::string& content);

// Java .properties text (comments, continuation lines, ':'/'='/space
// separators, \uXXXX escapes).
spinnaker::Json ParseJavaProperties(const std::string& content);

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_CI_PROPERTIES_H_
