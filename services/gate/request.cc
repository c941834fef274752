#include "services/gate/request.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gennaker::gate {

absl::StatusOr<bool> QueryBool(const http::Request& r, const std::string& name,
                               bool fallback) {
  std::string v =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(r.Query(name)));
  if (v.empty()) return fallback;
  if (v == "true" || v == "on" || v == "yes" || v == "1") return true;
  if (v == "false" || v == "off" || v == "no" || v == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("query parameter '", name, "' must be true or false"));
}

absl::StatusOr<int> QueryPositiveInt(const http::Request& r,
                                     const std::string& name, int fallback) {
  absl::string_view v = absl::StripAsciiWhitespace(r.Query(name));
  if (v.empty()) return fallback;
  int n;
  if (!absl::SimpleAtoi(v, &n) || n < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query parameter '", name, "' must be a positive integer"));
  }
  return n;
}

std::vector<std::string> QueryList(const http::Request& r,
                                   const std::string& name) {
  std::vector<std::string> out;
  auto [begin, end] = r.query.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    for (absl::string_view v : absl::StrSplit(it->second, ',')) {
      v = absl::StripAsciiWhitespace(v);
      if (!v.empty()) out.emplace_back(v);
    }
  }
  return out;
}

absl::StatusOr<spinnaker::Json> ParseJsonObjectBody(absl::string_view text,
                                                    absl::string_view what,
                                                    bool empty_is_object) {
  if (absl::StripAsciiWhitespace(text).empty()) {
    if (empty_is_object) return spinnaker::Json::object();
    return absl::InvalidArgumentError(absl::StrCat(what, " is required"));
  }
  // Gate's wording of the depth limit, which its clients see.
  if (!spinnaker::WithinNesting(text)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JSON nested deeper than ", spinnaker::kMaxJsonDepth, " levels"));
  }
  return spinnaker::ParseJsonObject(text, what);
}

}  // namespace gennaker::gate
