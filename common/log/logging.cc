#include "common/log/logging.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "re2/re2.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace gennaker {
namespace {

void Append(spdlog::memory_buf_t& dest, absl::string_view s) {
  dest.append(s.data(), s.data() + s.size());
}

void AppendJsonEscaped(absl::string_view in, spdlog::memory_buf_t& dest) {
  for (char c : in) {
    switch (c) {
      case '"':
        Append(dest, "\\\"");
        break;
      case '\\':
        Append(dest, "\\\\");
        break;
      case '\n':
        Append(dest, "\\n");
        break;
      case '\r':
        Append(dest, "\\r");
        break;
      case '\t':
        Append(dest, "\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          snprintf(buf, sizeof(buf), "\\u%04x", c);
          Append(dest, buf);
        } else {
          dest.push_back(c);
        }
    }
  }
}

// %q: request id and user of the current call, as " rid=... user=..." (text
// format).
class TextContextFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const CallContext& ctx = CurrentCallContext();
    if (!ctx.request_id.empty()) {
      Append(dest, " rid=");
      Append(dest, ctx.request_id);
    }
    if (!ctx.user.empty()) {
      Append(dest, " user=");
      Append(dest, ctx.user);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextContextFlag>();
  }
};

// %Q: the same as JSON members (leading comma), %J: the message JSON-escaped.
class JsonContextFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const CallContext& ctx = CurrentCallContext();
    if (!ctx.request_id.empty()) {
      Append(dest, ",\"request_id\":\"");
      AppendJsonEscaped(ctx.request_id, dest);
      dest.push_back('"');
    }
    if (!ctx.user.empty()) {
      Append(dest, ",\"user\":\"");
      AppendJsonEscaped(ctx.user, dest);
      dest.push_back('"');
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonContextFlag>();
  }
};

class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    AppendJsonEscaped(absl::string_view(msg.payload.data(), msg.payload.size()),
                      dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

absl::Status InitLogging(const LoggingOptions& options) {
  spdlog::level::level_enum level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    return absl::InvalidArgumentError(
        absl::StrCat("logging.level: unknown level '", options.level,
                     "' (trace, debug, info, warn, error)"));
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>(
      spdlog::pattern_time_type::utc);
  if (options.format == "json") {
    formatter->add_flag<JsonContextFlag>('Q');
    formatter->add_flag<JsonMessageFlag>('J');
    formatter->set_pattern(absl::StrCat(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","service":")",
        options.service, R"(","thread":%t%Q,"msg":"%J"})"));
  } else if (options.format == "text" || options.format.empty()) {
    formatter->add_flag<TextContextFlag>('q');
    formatter->set_pattern(absl::StrCat("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ ",
                                        options.service, " [%t]%q %v"));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "logging.format: unknown format '", options.format, "' (text, json)"));
  }
  auto logger = std::make_shared<spdlog::logger>(
      options.service, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

std::string RedactSecrets(absl::string_view text) {
  std::string out(text);
  static const LazyRE2 kDsnPassword = {R"((password\s*=\s*)('[^']*'|\S+))"};
  static const LazyRE2 kUrlPassword = {R"((://[^:/@\s]*:)[^@\s]*@)"};
  RE2::GlobalReplace(&out, *kDsnPassword, "\\1***");
  RE2::GlobalReplace(&out, *kUrlPassword, "\\1***@");
  return out;
}

}  // namespace gennaker
