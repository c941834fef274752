// Internal to echo_triggers (not a public contract): the reusable matching
// rules TriggerIndex is built from. Pure, no I/O; thread-safe once built.
//   - Pattern: a regex from a pipeline config (RE2, Java's syntax minus
//     backreferences and lookaround), compiled once; a pattern without
//     metacharacters is compared as text; one that does not compile never
//     matches (logged once per RegexCache).
//   - Constraint / ParseConstraints / ConstraintsPass: a trigger's
//     payloadConstraints, top-level keys or a Jayway JsonPath subset ($,
//     .name, ['name'], [n], [*], .*, ..name), evaluated with a node budget.
//   - ExpectedArtifact / ArtifactMatches: an expected artifact's
//     matchArtifact (each non-empty field equal or fully matching).
//   - Small JSON helpers that never throw (Member, ObjectMember, Absent...).
// Config text is user input: everything is bounded (pattern bytes,
// constraints, artifacts, path evaluation) and never throws.
#ifndef GENNAKER_SERVICES_ECHO_TRIGGERS_TRIGGER_RULES_H_
#define GENNAKER_SERVICES_ECHO_TRIGGERS_TRIGGER_RULES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/spinnaker/json.h"
#include "re2/re2.h"

namespace gennaker::echo::internal {

using spinnaker::Json;

constexpr size_t kMaxArtifacts = 1000;

const Json* Member(const Json& j, std::string_view key);
// The member when it is an object, else null.
const Json* ObjectMember(const Json& j, std::string_view key);
const Json& EmptyObject();
std::string Lower(std::string s);
// True when the member is absent or null (an optional field left out).
bool Absent(const Json& j, std::string_view key);
// Whether an optional member, when present, has the right JSON type.
bool OptionalString(const Json& j, std::string_view key);
// jenkins, travis, concourse, gitlab-ci, wercker.
bool IsBuildType(std::string_view type);

// State kept while an index is built: compiled regexes by pattern (most
// pipelines share their branch and tag patterns) and the problems already
// logged (the same bad regex in many pipelines must not flood the log). It
// lives in the index being built, never in a process-wide static.
struct RegexCache {
  std::unordered_map<std::string, std::shared_ptr<const RE2>> compiled;
  std::unordered_set<std::string> warned;
};

// A regex from a pipeline config, compiled once. One that does not compile
// never matches; a pattern without metacharacters is compared as text.
class Pattern {
 public:
  Pattern() = default;
  Pattern(const std::string& text, const std::string& where,
          RegexCache* cache = nullptr);

  bool FullMatch(absl::string_view s) const {
    if (literal_) return s == text_;
    return re_ != nullptr &&
           RE2::FullMatch(std::string_view(s.data(), s.size()), *re_);
  }
  // Java's Matcher.find: a match anywhere.
  bool Find(absl::string_view s) const {
    if (literal_) return absl::StrContains(s, text_);
    return re_ != nullptr &&
           RE2::PartialMatch(std::string_view(s.data(), s.size()), *re_);
  }
  const std::string& text() const { return text_; }

 private:
  void Compile(const std::string& text, const std::string& where,
               RegexCache* cache);

  std::string text_;
  bool literal_ = true;
  std::shared_ptr<const RE2> re_;
};

// --- a subset of Jayway JsonPath: $, .name, ['name'], [n], [*], .*, ..name

struct PathStep {
  enum Kind { kChild, kIndex, kWildcard, kDeep } kind;
  std::string name;  // kChild, kDeep ("*" for any)
  int64_t index = 0;
};

// One payloadConstraints entry.
struct Constraint {
  std::string key;
  bool has_value = false;
  Pattern pattern;
  bool path_valid = false;
  std::vector<PathStep> path;
};

// Reads trigger.payloadConstraints into `out`; *has says whether there was
// one. False when it is not an object or has too many entries. `cache` may be
// null (no shared compilation, every problem logged).
bool ParseConstraints(const Json& trigger, const std::string& where,
                      RegexCache* cache, std::vector<Constraint>* out,
                      bool* has);

// Spinnaker's ArtifactMatcher.isJsonPathConstraintInPayload (json_paths) or
// isConstraintInPayload (top-level keys only).
bool ConstraintsPass(const std::vector<Constraint>& constraints,
                     const Json& payload, bool json_paths);

// An expected artifact's matchArtifact, compiled.
struct ExpectedArtifact {
  struct Field {
    std::string name;
    Pattern pattern;
  };
  std::vector<Field> fields;  // the non-empty ones
};

bool ArtifactMatches(const ExpectedArtifact& e, const Json& artifact);

// The first `digits` hex digits of the SHA-256 of `text`.
std::string Sha256Hex(absl::string_view text, size_t digits);

// An execution status as a pipeline trigger's status list names it.
std::string ExecutionStatusName(const std::string& status);

// The artifact objects of a JSON array (bounded), appended to `out`.
void AppendArtifacts(const Json* list, Json& out);

}  // namespace gennaker::echo::internal

#endif  // GENNAKER_SERVICES_ECHO_TRIGGERS_TRIGGER_RULES_H_
