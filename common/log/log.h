// The logging header every source file includes: spdlog's macros (SPDLOG_INFO,
// ...) plus formatting of absl types, since Debian's abseil has its own
// absl::string_view that fmt does not know. Configure the output with
// InitLogging (common/log/logging.h).
#ifndef GENNAKER_COMMON_LOG_LOG_H_
#define GENNAKER_COMMON_LOG_LOG_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

// Without spdlog's compile definitions (from linking gennaker_log) a file
// would use header-only spdlog with a registry of its own: its lines would
// bypass InitLogging's logger (and its JSON format).
#ifndef SPDLOG_COMPILED_LIB
#error "common/log/log.h needs the gennaker_log target in the library's DEPS"
#endif
#include "spdlog/spdlog.h"

template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename Context>
  auto format(absl::string_view s, Context& ctx) const {
    return fmt::formatter<fmt::string_view>::format(
        fmt::string_view(s.data(), s.size()), ctx);
  }
};

template <>
struct fmt::formatter<absl::Status> : fmt::formatter<fmt::string_view> {
  template <typename Context>
  auto format(const absl::Status& s, Context& ctx) const {
    std::string text = s.ToString();
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(text),
                                                    ctx);
  }
};

#endif  // GENNAKER_COMMON_LOG_LOG_H_
