#include "common/spinnaker/json.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gennaker::spinnaker {

bool WithinNesting(absl::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

absl::StatusOr<Json> ParseJson(absl::string_view text, absl::string_view what,
                               const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is larger than ", limits.max_bytes, " bytes"));
  }
  if (!WithinNesting(text, limits.max_depth)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " nests deeper than ", limits.max_depth, " levels"));
  }
  Json j = Json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid JSON"));
  }
  return j;
}

absl::StatusOr<Json> ParseJsonObject(absl::string_view text,
                                     absl::string_view what,
                                     const JsonLimits& limits) {
  if (absl::StripAsciiWhitespace(text).empty()) return Json::object();
  absl::StatusOr<Json> j = ParseJson(text, what, limits);
  if (j.ok() && !j->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be a JSON object"));
  }
  return j;
}

namespace internal {

bool IntFromString(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(s, out);
}

bool DoubleFromString(const std::string& s, double* out) {
  return absl::SimpleAtod(s, out);
}

bool BoolFromString(const std::string& s, bool* out) {
  std::string v = absl::AsciiStrToLower(s);
  if (v == "true") {
    *out = true;
    return true;
  }
  if (v == "false") {
    *out = false;
    return true;
  }
  return false;
}

}  // namespace internal
}  // namespace gennaker::spinnaker
