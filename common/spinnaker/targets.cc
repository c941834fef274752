#include "common/spinnaker/targets.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace gennaker::spinnaker {

std::optional<Target> ParseTarget(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
  // The longer suffix first, so "x_asg_dynamic" loses all of it.
  for (absl::string_view suffix : {"_asg_dynamic", "_asg"}) {
    if (absl::EndsWith(n, suffix)) {
      n.resize(n.size() - suffix.size());
      break;
    }
  }
  if (n == "current" || n == "newest") return Target::kCurrent;
  if (n == "previous" || n == "ancestor") return Target::kPrevious;
  if (n == "oldest") return Target::kOldest;
  if (n == "largest") return Target::kLargest;
  return std::nullopt;
}

absl::string_view TargetName(Target target) {
  switch (target) {
    case Target::kCurrent:
      return "current_asg_dynamic";
    case Target::kPrevious:
      return "ancestor_asg_dynamic";
    case Target::kOldest:
      return "oldest_asg_dynamic";
    case Target::kLargest:
      return "largest_asg_dynamic";
  }
  return "";
}

}  // namespace gennaker::spinnaker
