// Structured logging for every service: spdlog, one line per event, text or
// JSON lines. Each line carries the service name and the current call's request
// id and user (common/log/call_context.h). Secrets must never be passed to the
// logger: callers log redacted values (see RedactSecrets).
#ifndef GENNAKER_COMMON_LOG_LOGGING_H_
#define GENNAKER_COMMON_LOG_LOGGING_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace gennaker {

struct LoggingOptions {
  std::string service;          // e.g. "orca"
  std::string level = "info";   // trace, debug, info, warn, error
  std::string format = "text";  // text or json
};

// Configures spdlog's default logger (stderr). Returns InvalidArgument on a bad
// level/format.
absl::Status InitLogging(const LoggingOptions& options);

// Replaces passwords in DSNs ("password=...") and URLs
// ("scheme://user:pass@host") by "***".
std::string RedactSecrets(absl::string_view text);

}  // namespace gennaker

#endif  // GENNAKER_COMMON_LOG_LOGGING_H_
