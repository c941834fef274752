#include "services/echo/triggers/trigger_rules.h"

#include <openssl/sha.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "re2/re2.h"

namespace gennaker::echo::internal {
namespace {

constexpr size_t kMaxPatternBytes = 4096;
constexpr size_t kMaxConstraints = 100;
// Nodes a JSON path may visit in one evaluation.
constexpr size_t kPathBudget = 10000;

// Java's String.valueOf of a Jackson-read value: what Spinnaker matches
// payload constraints against.
void JavaText(const Json& v, std::string& out, int depth = 0) {
  if (depth > 50) return;
  if (v.is_string()) {
    out += v.get_ref<const std::string&>();
  } else if (v.is_null()) {
    out += "null";
  } else if (v.is_object()) {
    out += '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first) out += ", ";
      first = false;
      out += it.key();
      out += '=';
      JavaText(it.value(), out, depth + 1);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const Json& e : v) {
      if (!first) out += ", ";
      first = false;
      JavaText(e, out, depth + 1);
    }
    out += ']';
  } else {
    out += spinnaker::Dump(v);
  }
}

std::string JavaText(const Json& v) {
  std::string out;
  JavaText(v, out);
  return out;
}

constexpr size_t kMaxWarnings = 10000;

// Logs a problem with a pipeline's config once per index build (`cache`
// null: always). Config text is user input: escaped so that a newline in it
// cannot forge log lines.
void WarnOnce(RegexCache* cache, const std::string& key,
              const std::string& message) {
  if (cache != nullptr) {
    if (cache->warned.size() >= kMaxWarnings) return;
    if (!cache->warned.insert(key).second) return;
  }
  SPDLOG_WARN("{}", message);
}

std::string LogText(absl::string_view s) { return absl::CHexEscape(s); }

bool ParsePath(std::string_view path, std::vector<PathStep>* steps) {
  if (path.empty()) return false;
  if (path[0] != '$') {
    // Jayway reads "a.b" as "$.a.b" (and "[0]" as "$[0]").
    return ParsePath(
        std::string(path[0] == '[' ? "$" : "$.") + std::string(path), steps);
  }
  size_t i = 1;
  auto name_end = [&](size_t from) {
    size_t j = from;
    while (j < path.size() && path[j] != '.' && path[j] != '[') ++j;
    return j;
  };
  while (i < path.size()) {
    if (path.compare(i, 2, "..") == 0) {
      i += 2;
      if (i < path.size() && path[i] == '[') {
        // "..['a']": a deep scan for that name.
        size_t close = path.find(']', i);
        if (close == std::string_view::npos || close < i + 3) return false;
        std::string_view inner = path.substr(i + 1, close - i - 1);
        if ((inner.front() != '\'' && inner.front() != '"') ||
            inner.back() != inner.front()) {
          return false;
        }
        steps->push_back(
            {PathStep::kDeep, std::string(inner.substr(1, inner.size() - 2))});
        i = close + 1;
        continue;
      }
      size_t j = name_end(i);
      if (j == i) return false;
      steps->push_back({PathStep::kDeep, std::string(path.substr(i, j - i))});
      i = j;
    } else if (path[i] == '.') {
      ++i;
      size_t j = name_end(i);
      if (j == i) return false;
      std::string_view name = path.substr(i, j - i);
      if (name == "*") {
        steps->push_back({PathStep::kWildcard, ""});
      } else {
        steps->push_back({PathStep::kChild, std::string(name)});
      }
      i = j;
    } else if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string_view::npos) return false;
      std::string_view inner = path.substr(i + 1, close - i - 1);
      if (inner.empty()) return false;
      if (inner == "*") {
        steps->push_back({PathStep::kWildcard, ""});
      } else if (inner.front() == '\'' || inner.front() == '"') {
        if (inner.size() < 2 || inner.back() != inner.front()) return false;
        steps->push_back(
            {PathStep::kChild, std::string(inner.substr(1, inner.size() - 2))});
      } else {
        int64_t n = 0;
        size_t k = 0;
        bool neg = false;
        if (inner[0] == '-') {
          neg = true;
          k = 1;
        }
        if (k == inner.size() || inner.size() > 12) return false;
        for (; k < inner.size(); ++k) {
          if (!absl::ascii_isdigit(static_cast<unsigned char>(inner[k]))) {
            return false;  // filters, slices and unions are not supported
          }
          n = n * 10 + (inner[k] - '0');
        }
        steps->push_back({PathStep::kIndex, "", neg ? -n : n});
      }
      i = close + 1;
    } else {
      return false;
    }
  }
  return true;
}

void CollectDeep(const Json& node, const std::string& name,
                 std::vector<const Json*>& out, size_t& budget) {
  if (budget == 0) return;
  --budget;
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (name == "*" || it.key() == name) out.push_back(&it.value());
      CollectDeep(it.value(), name, out, budget);
    }
  } else if (node.is_array()) {
    for (const Json& e : node) {
      if (name == "*") out.push_back(&e);
      CollectDeep(e, name, out, budget);
    }
  }
}

std::vector<const Json*> EvaluatePath(const Json& root,
                                      const std::vector<PathStep>& steps) {
  std::vector<const Json*> current{&root};
  size_t budget = kPathBudget;
  for (const PathStep& step : steps) {
    std::vector<const Json*> next;
    for (const Json* node : current) {
      if (budget == 0) break;
      --budget;
      switch (step.kind) {
        case PathStep::kChild:
          if (const Json* m = Member(*node, step.name); m != nullptr) {
            next.push_back(m);
          }
          break;
        case PathStep::kIndex:
          if (node->is_array()) {
            int64_t n = step.index < 0
                            ? static_cast<int64_t>(node->size()) + step.index
                            : step.index;
            if (n >= 0 && n < static_cast<int64_t>(node->size())) {
              next.push_back(&(*node)[static_cast<size_t>(n)]);
            }
          }
          break;
        case PathStep::kWildcard:
          if (node->is_object() || node->is_array()) {
            for (const Json& e : *node) next.push_back(&e);
          }
          break;
        case PathStep::kDeep:
          CollectDeep(*node, step.name, next, budget);
          break;
      }
    }
    current = std::move(next);
    if (current.empty()) break;
  }
  return current;
}

bool FieldMatches(const ExpectedArtifact::Field& f, const Json& artifact) {
  const Json* v = Member(artifact, f.name);
  if (v == nullptr || !v->is_string()) return false;
  const std::string& other = v->get_ref<const std::string&>();
  if (other == f.pattern.text() || f.pattern.FullMatch(other)) return true;
  if (f.name == "type") {
    return (f.pattern.text() == "embedded/base64" &&
            other == "remote/base64") ||
           (f.pattern.text() == "remote/base64" && other == "embedded/base64");
  }
  return false;
}

}  // namespace

const Json* Member(const Json& j, std::string_view key) {
  return spinnaker::internal::Member(j, key);
}

const Json* ObjectMember(const Json& j, std::string_view key) {
  const Json* m = Member(j, key);
  return m != nullptr && m->is_object() ? m : nullptr;
}

const Json& EmptyObject() {
  static const Json* empty = new Json(Json::object());
  return *empty;
}

std::string Lower(std::string s) {
  absl::AsciiStrToLower(&s);
  return s;
}

// True when the member is absent or null (an optional field left out).
bool Absent(const Json& j, std::string_view key) {
  const Json* m = Member(j, key);
  return m == nullptr || m->is_null();
}

// Whether an optional member, when present, has the right JSON type.
bool OptionalString(const Json& j, std::string_view key) {
  return Absent(j, key) || Member(j, key)->is_string();
}

bool IsBuildType(std::string_view type) {
  return type == "jenkins" || type == "travis" || type == "concourse" ||
         type == "gitlab-ci" || type == "wercker";
}

Pattern::Pattern(const std::string& text, const std::string& where,
                 RegexCache* cache)
    : text_(text) {
  literal_ = text.find_first_of("\\^$.|?*+()[]{}") == std::string::npos;
  if (literal_) return;
  if (cache != nullptr) {
    auto it = cache->compiled.find(text);
    if (it != cache->compiled.end()) {
      re_ = it->second;
      if (re_ == nullptr) {
        WarnOnce(cache, where + text,
                 absl::StrCat("event=trigger_regex_invalid where=",
                              LogText(where), " pattern=\"", LogText(text),
                              "\": the trigger never matches"));
      }
      return;
    }
  }
  Compile(text, where, cache);
  if (cache != nullptr) cache->compiled[text] = re_;
}

void Pattern::Compile(const std::string& text, const std::string& where,
                      RegexCache* cache) {
  if (text.size() > kMaxPatternBytes) {
    WarnOnce(cache, where + text.substr(0, 64),
             absl::StrCat("event=trigger_regex_invalid where=", LogText(where),
                          " reason=\"longer than ", kMaxPatternBytes,
                          " bytes\": the trigger never matches"));
    return;
  }
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<RE2>(text, options);
  if (!re->ok()) {
    WarnOnce(
        cache, where + text,
        absl::StrCat("event=trigger_regex_invalid where=", LogText(where),
                     " pattern=\"", LogText(text), "\" error=\"",
                     LogText(re->error()), "\": the trigger never matches"));
    return;
  }
  re_ = std::move(re);
}

bool ParseConstraints(const Json& trigger, const std::string& where,
                      RegexCache* cache, std::vector<Constraint>* out,
                      bool* has) {
  const Json* pc = Member(trigger, "payloadConstraints");
  *has = false;
  if (pc == nullptr || pc->is_null()) return true;
  if (!pc->is_object()) return false;
  *has = true;
  if (pc->size() > kMaxConstraints) return false;
  for (auto it = pc->begin(); it != pc->end(); ++it) {
    Constraint c;
    c.key = it.key();
    if (!it.value().is_null()) {
      c.has_value = true;
      c.pattern = Pattern(JavaText(it.value()), where, cache);
    }
    c.path_valid = ParsePath(c.key, &c.path);
    out->push_back(std::move(c));
  }
  return true;
}

// Spinnaker's ArtifactMatcher.isJsonPathConstraintInPayload (json_paths) or
// isConstraintInPayload (top-level keys only).
bool ConstraintsPass(const std::vector<Constraint>& constraints,
                     const Json& payload, bool json_paths) {
  for (const Constraint& c : constraints) {
    const Json* v = Member(payload, c.key);
    if (v != nullptr && !v->is_null()) {
      if (c.has_value && !c.pattern.Find(JavaText(*v))) return false;
      continue;
    }
    if (!json_paths || !c.path_valid) return false;
    bool any = false;
    for (const Json* hit : EvaluatePath(payload, c.path)) {
      if (hit->is_null() || hit->is_object() || hit->is_array()) continue;
      if (!c.has_value || c.pattern.Find(JavaText(*hit))) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

bool ArtifactMatches(const ExpectedArtifact& e, const Json& artifact) {
  for (const auto& f : e.fields) {
    if (!FieldMatches(f, artifact)) return false;
  }
  return true;
}

std::string Sha256Hex(absl::string_view text, size_t digits) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < sizeof(md) && out.size() < digits; ++i) {
    out.push_back(kDigits[md[i] >> 4]);
    out.push_back(kDigits[md[i] & 0xf]);
  }
  return out;
}

std::string ExecutionStatusName(const std::string& status) {
  if (status == "SUCCEEDED") return "successful";
  if (status == "CANCELED") return "canceled";
  if (status == "SUSPENDED") return "suspended";
  return "failed";
}

// The artifact objects of a JSON array (bounded), appended to `out`.
void AppendArtifacts(const Json* list, Json& out) {
  if (list == nullptr || !list->is_array()) return;
  for (const Json& a : *list) {
    if (out.size() >= kMaxArtifacts) return;
    if (a.is_object()) out.push_back(a);
  }
}

}  // namespace gennaker::echo::internal
