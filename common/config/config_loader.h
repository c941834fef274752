// Loads a service's config message from YAML plus environment overrides, and
// writes messages back as YAML. Works on any protobuf message by reflection, so
// every service (and halyard's halconfig) uses the same rules:
//   - YAML keys are field names in snake_case or lowerCamelCase;
//   - an unknown key or a value of the wrong type is an error naming the dotted
//   key;
//   - `GENNAKER__A__B=value` in the environment sets field a.b
//   (case-insensitive), after YAML;
//   - enum values are written by name, with or without the enum's prefix.
// Fields not mentioned keep the value the message had on entry (the defaults).
#ifndef GENNAKER_COMMON_CONFIG_CONFIG_LOADER_H_
#define GENNAKER_COMMON_CONFIG_CONFIG_LOADER_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace google::protobuf {
class Message;
}

namespace gennaker::config {

inline constexpr char kEnvPrefix[] = "GENNAKER__";

// Merges YAML text into `message`. `origin` names the source in errors (e.g. a
// file path).
absl::Status MergeYaml(absl::string_view yaml, absl::string_view origin,
                       google::protobuf::Message* message);

// Reads `path` and merges it. A missing file is NotFound.
absl::Status MergeYamlFile(const std::string& path,
                           google::protobuf::Message* message);

// Applies every `GENNAKER__...` variable in `env` (name, value pairs) to
// `message`.
absl::Status ApplyEnvOverrides(
    const std::vector<std::pair<std::string, std::string>>& env,
    google::protobuf::Message* message);

// The process environment as name/value pairs.
std::vector<std::pair<std::string, std::string>> ProcessEnvironment();

// Sets the scalar (or repeated scalar, comma separated) at dotted `key` from
// text.
absl::Status SetField(google::protobuf::Message* message, absl::string_view key,
                      absl::string_view value);

// Reads the field at dotted `key` as YAML text (scalars plain, messages as a
// YAML block).
absl::StatusOr<std::string> GetField(const google::protobuf::Message& message,
                                     absl::string_view key);

// Serializes `message` as YAML with lowerCamelCase keys, omitting fields at
// their default.
std::string ToYaml(const google::protobuf::Message& message);

// Loads defaults <- YAML file (when `path` is non-empty) <- environment, then
// checks the shared blocks (server, logging, postgres, redis, endpoints)
// wherever they appear.
absl::Status Load(const std::string& path, google::protobuf::Message* message);

// Every (gennaker.common.v1.rules) of `message` and of the messages in it that
// its values break, as "path.field: why" (path prefixes each key; empty for
// the top level).
std::vector<std::string> RuleViolations(
    const google::protobuf::Message& message, const std::string& path = "");

// Checks every shared config block in `message`: the rules declared in the
// protos (ports in range, known log level/format, a DSN present where a store
// is configured, positive pool sizes), the Redis URL and endpoint formats, and
// distinct ports.
absl::Status ValidateCommonBlocks(const google::protobuf::Message& message);

}  // namespace gennaker::config

#endif  // GENNAKER_COMMON_CONFIG_CONFIG_LOADER_H_
