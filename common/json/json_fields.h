// Type-checked reads of members of user-supplied JSON (nlohmann::json or
// ordered_json). nlohmann's value(key, default) throws when the member exists
// with another type, so one stored object with `"disabled": "false"` would
// break every read that touches it; these return the fallback instead.
#ifndef GENNAKER_COMMON_JSON_JSON_FIELDS_H_
#define GENNAKER_COMMON_JSON_JSON_FIELDS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace gennaker::json {

// Deepest nesting of objects and arrays accepted from outside. nlohmann's
// dump() recurses once per level, so a 2 MB body of brackets would overflow a
// thread's stack; real pipelines nest a dozen levels.
inline constexpr int kMaxNesting = 100;

// False when `text` nests objects/arrays deeper than `max_depth` (a scan of
// the raw text that skips strings; it does not validate the JSON).
inline bool WithinNesting(std::string_view text, int max_depth = kMaxNesting) {
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

// The string member `key`, or `fallback` when absent or not a string.
template <typename Json>
std::string String(const Json& j, const char* key,
                   const std::string& fallback = "") {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->template get<std::string>()
                                          : fallback;
}

// The boolean member `key`, or `fallback` when absent or not a boolean.
template <typename Json>
bool Bool(const Json& j, const char* key, bool fallback = false) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->template get<bool>()
                                           : fallback;
}

// The integer member `key`, or `fallback` when absent or not an integer.
template <typename Json>
int64_t Int(const Json& j, const char* key, int64_t fallback = 0) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->template get<int64_t>()
                                                  : fallback;
}

// Compact JSON text; invalid UTF-8 in strings is replaced (U+FFFD) instead of
// throwing, since strings may come from clients.
template <typename Json>
std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace gennaker::json

#endif  // GENNAKER_COMMON_JSON_JSON_FIELDS_H_
