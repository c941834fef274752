#include "common/spinnaker/names.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace gennaker::spinnaker {

namespace {

bool Basic(char c) { return absl::ascii_isalnum(c) || c == '.' || c == '_'; }
bool Extended(char c) { return Basic(c) || c == '~' || c == '^'; }
bool Hyphen(char c) { return Extended(c) || c == '-'; }

template <typename Pred>
bool All(absl::string_view s, Pred p) {
  return std::all_of(s.begin(), s.end(), p);
}

// "v" followed by 3 to 6 digits.
bool IsPush(absl::string_view s) {
  if (s.size() < 4 || s.size() > 7 || s[0] != 'v') return false;
  return All(s.substr(1), [](char c) { return absl::ascii_isdigit(c); });
}

bool HasPushSegment(absl::string_view s) {
  for (absl::string_view part : absl::StrSplit(s, '-')) {
    if (IsPush(part)) return true;
  }
  return false;
}

}  // namespace

Names ParseName(absl::string_view name) {
  Names n;
  absl::string_view cluster = name;
  size_t dash = name.rfind("-v");
  if (dash != absl::string_view::npos && dash > 0 &&
      IsPush(name.substr(dash + 1)) && All(name.substr(0, dash), Hyphen)) {
    n.push = std::string(name.substr(dash + 1));
    n.sequence = std::stoi(n.push.substr(1));
    cluster = name.substr(0, dash);
  }
  // app[-stack[-detail]]: app required (basic), stack basic (may be empty),
  // detail everything after the second hyphen (hyphen set).
  size_t first = cluster.find('-');
  absl::string_view app = cluster.substr(0, first);
  absl::string_view stack, detail;
  if (first != absl::string_view::npos) {
    absl::string_view rest = cluster.substr(first + 1);
    size_t second = rest.find('-');
    stack = rest.substr(0, second);
    if (second != absl::string_view::npos) detail = rest.substr(second + 1);
  }
  if (app.empty() || !All(app, Basic) || !All(stack, Basic) ||
      !All(detail, Hyphen)) {
    return Names();  // like Frigga: every field null
  }
  n.app = std::string(app);
  n.stack = std::string(stack);
  n.detail = std::string(detail);
  n.cluster = std::string(cluster);
  return n;
}

absl::StatusOr<std::string> ClusterName(absl::string_view app,
                                        absl::string_view stack,
                                        absl::string_view detail) {
  if (app.empty() || !All(app, Basic)) {
    return absl::InvalidArgumentError(
        absl::StrCat("application '", app,
                     "' must be letters, digits, '.' or '_' (and not empty)"));
  }
  if (!All(stack, Basic)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stack '", stack, "' may only hold letters, digits, '.' or '_'"));
  }
  if (!All(detail, Hyphen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "detail '", detail, "' may only hold letters, digits and . _ ~ ^ -"));
  }
  if (HasPushSegment(stack) || HasPushSegment(detail)) {
    return absl::InvalidArgumentError(
        "stack and detail may not contain a version like v001");
  }
  return FormatClusterName(app, stack, detail);
}

std::string FormatClusterName(absl::string_view app, absl::string_view stack,
                              absl::string_view detail) {
  if (stack.empty() && detail.empty()) return std::string(app);
  if (detail.empty()) return absl::StrCat(app, "-", stack);
  return absl::StrCat(app, "-", stack, "-", detail);
}

std::string ClusterOfServerGroup(absl::string_view name) {
  size_t dash = name.rfind("-v");
  if (dash == absl::string_view::npos || name.size() - dash < 5 ||
      !All(name.substr(dash + 2),
           [](char c) { return absl::ascii_isdigit(c); })) {
    return std::string(name);
  }
  return std::string(name.substr(0, dash));
}

std::string AppOfName(absl::string_view name) {
  return std::string(name.substr(0, name.find('-')));
}

absl::StatusOr<std::string> ServerGroupName(absl::string_view cluster,
                                            int sequence) {
  if (sequence < 0 || sequence > 999) {
    return absl::InvalidArgumentError(
        absl::StrCat("sequence ", sequence, " is outside 0..999"));
  }
  return absl::StrFormat("%s-v%03d", cluster, sequence);
}

absl::StatusOr<int> NextSequence(const std::vector<Slot>& taken) {
  if (taken.empty()) return 0;
  const Slot* latest = &taken[0];
  std::set<int> used;
  for (const Slot& s : taken) {
    used.insert(s.sequence);
    if (s.created_ms > latest->created_ms) latest = &s;
  }
  int start = (latest->sequence + 1) % 1000;
  for (int i = 0; i < 1000; ++i) {
    int candidate = (start + i) % 1000;
    if (!used.count(candidate)) return candidate;
  }
  return absl::FailedPreconditionError(
      "All server group names for this cluster are taken (000-999)");
}

bool ValidApplicationName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxApplicationNameLength ||
      !absl::ascii_isalnum(name.front())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

bool ValidDockerRepository(absl::string_view name) {
  auto lower_alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || name.size() > 255) return false;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || !lower_alnum(part.front()) ||
        !lower_alnum(part.back())) {
      return false;
    }
    for (size_t i = 0; i < part.size(); ++i) {
      const char c = part[i];
      if (lower_alnum(c) || c == '-') continue;
      if (c == '.' || c == '_') {
        // Never last (the last character is alphanumeric), so i + 1 is in
        // range; "__" likewise leaves i + 2 in range.
        const bool single = lower_alnum(part[i + 1]);
        const bool twin = c == '_' && part[i + 1] == '_' &&
                          i + 2 < part.size() && lower_alnum(part[i + 2]);
        if (!single && !twin) return false;
        continue;
      }
      return false;
    }
  }
  return true;
}

}  // namespace gennaker::spinnaker
