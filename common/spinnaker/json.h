// JSON as Spinnaker's services read it: one parse of outside text with limits,
// and one dialect of field access.
//
// Parsing: ParseJson refuses text that is not JSON, nests objects/arrays
// deeper than the limit (nlohmann's parser and dump() recurse once per level,
// so a body of brackets would overflow a thread's stack), or is larger than
// the limit. Errors are INVALID_ARGUMENT naming `what` was parsed.
//
// Field access follows the leniency of Spring/Jackson, which is what
// Spinnaker's JSON (pipelines, stage contexts, descriptions) is written for:
//   String  strings only (a number is not a name);
//   Int     integers, floats truncated toward zero, and strings of decimal
//           digits ("42"), as Jackson coerces scalars into an int field;
//           values outside int64's range give the fallback;
//   Double  any number, or a string that parses as one;
//   Bool    true/false and the strings "true"/"false" in any case.
// A member that is absent, null or of another type gives the fallback: one
// stored object with `"disabled": 3` must not break every read touching it,
// and nlohmann's value(key, default) would throw there.
//
// The accessors are templates so that nlohmann::json and ordered_json both
// work; Json below is the type the services use. Keys are std::string_view
// (what nlohmann looks members up by); texts are absl::string_view.
#ifndef GENNAKER_COMMON_SPINNAKER_JSON_H_
#define GENNAKER_COMMON_SPINNAKER_JSON_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace gennaker::spinnaker {

using Json = nlohmann::ordered_json;

// Deepest nesting accepted from outside; real pipelines nest a dozen levels.
inline constexpr int kMaxJsonDepth = 100;
// Largest text parsed unless the caller says otherwise.
inline constexpr size_t kMaxJsonBytes = size_t{64} << 20;

struct JsonLimits {
  int max_depth = kMaxJsonDepth;
  size_t max_bytes = kMaxJsonBytes;
};

// For JSON a service stored itself (rows, cache entries, state files): deep
// enough that nothing it accepted once becomes unreadable, no size cap.
inline constexpr JsonLimits kStoredJsonLimits{1000, SIZE_MAX};

// `text` parsed. INVALID_ARGUMENT ("<what> is not valid JSON: ...", "<what>
// nests deeper than 100 levels", "<what> is larger than N bytes").
absl::StatusOr<Json> ParseJson(absl::string_view text,
                               absl::string_view what = "JSON",
                               const JsonLimits& limits = {});

// As ParseJson, but the value must be an object ("<what> must be a JSON
// object"); empty text is an empty object.
absl::StatusOr<Json> ParseJsonObject(absl::string_view text,
                                     absl::string_view what = "JSON",
                                     const JsonLimits& limits = {});

// False when `text` nests objects/arrays deeper than `max_depth` (a scan of
// the raw text that skips strings; it does not validate the JSON).
bool WithinNesting(absl::string_view text, int max_depth = kMaxJsonDepth);

// Compact JSON text; invalid UTF-8 in strings (they come from clients) is
// replaced by U+FFFD instead of throwing.
template <typename J>
std::string Dump(const J& j) {
  return j.dump(-1, ' ', false, J::error_handler_t::replace);
}

namespace internal {
bool IntFromString(const std::string& s, int64_t* out);
bool DoubleFromString(const std::string& s, double* out);
bool BoolFromString(const std::string& s, bool* out);

// The member `key` of an object, or nullptr.
template <typename J>
const J* Member(const J& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}
}  // namespace internal

template <typename J>
std::string String(const J& j, std::string_view key,
                   const std::string& fallback = "") {
  const J* m = internal::Member(j, key);
  return m != nullptr && m->is_string() ? m->template get<std::string>()
                                        : fallback;
}

template <typename J>
int64_t Int(const J& j, std::string_view key, int64_t fallback = 0) {
  const J* m = internal::Member(j, key);
  if (m == nullptr) return fallback;
  if (m->is_number_unsigned() && m->template get<uint64_t>() > INT64_MAX) {
    return fallback;
  }
  if (m->is_number_integer()) return m->template get<int64_t>();
  if (m->is_number_float()) {
    // Out of int64's range (or NaN) the conversion is undefined: fall back.
    const double d = m->template get<double>();
    if (!(d >= -0x1p63 && d < 0x1p63)) return fallback;
    return static_cast<int64_t>(d);
  }
  int64_t v;
  if (m->is_string() &&
      internal::IntFromString(m->template get_ref<const std::string&>(), &v)) {
    return v;
  }
  return fallback;
}

template <typename J>
double Double(const J& j, std::string_view key, double fallback = 0) {
  const J* m = internal::Member(j, key);
  if (m == nullptr) return fallback;
  if (m->is_number()) return m->template get<double>();
  double v;
  if (m->is_string() && internal::DoubleFromString(
                            m->template get_ref<const std::string&>(), &v)) {
    return v;
  }
  return fallback;
}

template <typename J>
bool Bool(const J& j, std::string_view key, bool fallback = false) {
  const J* m = internal::Member(j, key);
  if (m == nullptr) return fallback;
  if (m->is_boolean()) return m->template get<bool>();
  bool v;
  if (m->is_string() &&
      internal::BoolFromString(m->template get_ref<const std::string&>(), &v)) {
    return v;
  }
  return fallback;
}

// The first of `keys` holding a non-empty string, else "".
template <typename J>
std::string FirstString(const J& j,
                        std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) {
    std::string v = String(j, k);
    if (!v.empty()) return v;
  }
  return "";
}

// A copy of the object member `key`, or an empty object.
template <typename J>
J Object(const J& j, std::string_view key) {
  const J* m = internal::Member(j, key);
  return m != nullptr && m->is_object() ? *m : J::object();
}

// A copy of the array member `key`, or an empty array.
template <typename J>
J Array(const J& j, std::string_view key) {
  const J* m = internal::Member(j, key);
  return m != nullptr && m->is_array() ? *m : J::array();
}

// The string elements of the array member `key` (others skipped).
template <typename J>
std::vector<std::string> Strings(const J& j, std::string_view key) {
  std::vector<std::string> out;
  const J* m = internal::Member(j, key);
  if (m == nullptr || !m->is_array()) return out;
  for (const J& v : *m) {
    if (v.is_string()) out.push_back(v.template get<std::string>());
  }
  return out;
}

}  // namespace gennaker::spinnaker

#endif  // GENNAKER_COMMON_SPINNAKER_JSON_H_
