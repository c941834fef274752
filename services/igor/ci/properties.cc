#include "services/igor/ci/properties.h"

#include <cstdint>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/igor/ci/build_service.h"
#include "yaml-cpp/yaml.h"

namespace gennaker::igor {

using spinnaker::Json;

namespace {

constexpr int kMaxDepth = 100;
constexpr int64_t kMaxYamlNodes = 200000;
// Bytes of scalars and keys the result may hold. yaml-cpp shares an
// anchored node among its aliases, and each visit copies it: a 4 MiB file of
// one big anchored scalar and many aliases would expand to hundreds of GiB.
constexpr int64_t kMaxYamlOutputBytes = int64_t{8} << 20;

struct YamlBudget {
  int64_t nodes = kMaxYamlNodes;
  int64_t bytes = kMaxYamlOutputBytes;

  absl::Status Charge(size_t n) {
    bytes -= static_cast<int64_t>(n);
    if (bytes < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expands to more than ", kMaxYamlOutputBytes >> 20,
          " MiB of keys and values (aliases repeat what they refer to)"));
    }
    return absl::OkStatus();
  }
};

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Java's unescaping of a key or value.
std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\' || i + 1 >= s.size()) {
      out.push_back(c);
      continue;
    }
    c = s[++i];
    switch (c) {
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'u': {
        uint32_t cp = 0;
        if (i + 4 < s.size()) {
          std::string hex(s.substr(i + 1, 4));
          if (hex.size() == 4 && absl::SimpleHexAtoi(hex, &cp)) {
            AppendUtf8(cp, &out);
            i += 4;
            break;
          }
        }
        out.push_back('u');
        break;
      }
      default:
        out.push_back(c);
    }
  }
  return out;
}

bool EndsWithContinuation(absl::string_view line) {
  size_t n = 0;
  for (size_t i = line.size(); i > 0 && line[i - 1] == '\\'; --i) ++n;
  return n % 2 == 1;
}

absl::StatusOr<Json> YamlToJson(const YAML::Node& n, int depth,
                                YamlBudget* budget) {
  if (--budget->nodes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("expands to more than ", kMaxYamlNodes,
                     " values (aliases repeat what they refer to)"));
  }
  if (depth > kMaxDepth) {
    return absl::InvalidArgumentError("nests deeper than 100 levels");
  }
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Json(nullptr);
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const YAML::Node& e : n) {
        absl::StatusOr<Json> v = YamlToJson(e, depth + 1, budget);
        if (!v.ok()) return v;
        a.push_back(*std::move(v));
      }
      return a;
    }
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) {
        const std::string& key = kv.first.Scalar();
        if (absl::Status st = budget->Charge(key.size()); !st.ok()) return st;
        absl::StatusOr<Json> v = YamlToJson(kv.second, depth + 1, budget);
        if (!v.ok()) return v;
        o[key] = *std::move(v);
      }
      return o;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (absl::Status st = budget->Charge(s.size()); !st.ok()) return st;
      // A quoted scalar stays a string.
      if (n.Tag() == "!") return Json(s);
      const std::string lower = absl::AsciiStrToLower(s);
      if (lower == "true") return Json(true);
      if (lower == "false") return Json(false);
      if (lower == "null" || s == "~") return Json(nullptr);
      int64_t i;
      if (absl::SimpleAtoi(s, &i)) return Json(i);
      double d;
      if (!s.empty() &&
          (absl::ascii_isdigit(s[0]) || s[0] == '-' || s[0] == '+' ||
           s[0] == '.') &&
          absl::SimpleAtod(s, &d)) {
        return Json(d);
      }
      return Json(s);
    }
  }
  return Json(nullptr);
}

}  // namespace

Json ParseJavaProperties(const std::string& content) {
  Json out = Json::object();
  std::vector<absl::string_view> lines = absl::StrSplit(content, '\n');
  for (size_t li = 0; li < lines.size(); ++li) {
    absl::string_view raw = lines[li];
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    raw = absl::StripLeadingAsciiWhitespace(raw);
    if (raw.empty() || raw[0] == '#' || raw[0] == '!') continue;
    std::string logical;
    while (true) {
      if (EndsWithContinuation(raw) && li + 1 < lines.size()) {
        raw.remove_suffix(1);
        absl::StrAppend(&logical, raw);
        raw = lines[++li];
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
        raw = absl::StripLeadingAsciiWhitespace(raw);
        continue;
      }
      if (EndsWithContinuation(raw)) raw.remove_suffix(1);
      absl::StrAppend(&logical, raw);
      break;
    }
    // The key ends at the first unescaped '=', ':' or whitespace.
    size_t k = 0;
    while (k < logical.size()) {
      const char c = logical[k];
      if (c == '\\') {
        k += 2;
        continue;
      }
      if (c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f') break;
      ++k;
    }
    k = std::min(k, logical.size());
    size_t v = k;
    while (v < logical.size() &&
           (logical[v] == ' ' || logical[v] == '\t' || logical[v] == '\f')) {
      ++v;
    }
    if (v < logical.size() && (logical[v] == '=' || logical[v] == ':')) {
      ++v;
      while (v < logical.size() &&
             (logical[v] == ' ' || logical[v] == '\t' || logical[v] == '\f')) {
        ++v;
      }
    }
    out[Unescape(absl::string_view(logical).substr(0, k))] =
        Unescape(absl::string_view(logical).substr(v));
  }
  return out;
}

absl::StatusOr<Json> ParseBuildProperties(const std::string& file_name,
                                          const std::string& content) {
  if (static_cast<int64_t>(content.size()) > kMaxArtifactBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("property file '", file_name, "' is larger than ",
                     kMaxArtifactBytes, " bytes"));
  }
  const std::string lower = absl::AsciiStrToLower(file_name);
  if (absl::EndsWith(lower, ".yml") || absl::EndsWith(lower, ".yaml")) {
    if (!spinnaker::WithinNesting(content, kMaxDepth)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "property file '", file_name, "' nests deeper than 100 levels"));
    }
    YAML::Node root;
    try {
      root = YAML::Load(content);
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(
          "property file '", file_name, "' is not valid YAML: ", e.what()));
    }
    if (root.IsNull()) return Json::object();
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat("property file '", file_name, "' is not a YAML map"));
    }
    YamlBudget budget;
    absl::StatusOr<Json> j = YamlToJson(root, 0, &budget);
    if (!j.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "property file '", file_name, "' ", j.status().message()));
    }
    return j;
  }
  if (absl::EndsWith(lower, ".json")) {
    absl::StatusOr<Json> j = spinnaker::ParseJson(
        content, absl::StrCat("property file '", file_name, "'"));
    if (!j.ok()) return j.status();
    if (!j->is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("property file '", file_name, "' is not a JSON object"));
    }
    return j;
  }
  return ParseJavaProperties(content);
}

}  // namespace gennaker::igor
