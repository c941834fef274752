// Dynamic server-group targets: the names pipelines, Deck and clouddriver's
// target routes use to pick a server group of a cluster without naming it.
//   kCurrent   the newest (current, newest, current_asg_dynamic, current_asg)
//   kPrevious  the one before it (previous, ancestor, ancestor_asg_dynamic,
//              ancestor_asg)
//   kOldest    the oldest (oldest, oldest_asg_dynamic)
//   kLargest   the one with most instances (largest, largest_asg_dynamic)
// Parsing ignores case and surrounding white space; callers word their own
// error for a name that is none of these (gate answers 404, orca fails the
// stage).
#ifndef GENNAKER_COMMON_SPINNAKER_TARGETS_H_
#define GENNAKER_COMMON_SPINNAKER_TARGETS_H_

#include <optional>

#include "absl/strings/string_view.h"

namespace gennaker::spinnaker {

enum class Target { kCurrent, kPrevious, kOldest, kLargest };

std::optional<Target> ParseTarget(absl::string_view name);

// The canonical name: "current_asg_dynamic", "ancestor_asg_dynamic", ...
absl::string_view TargetName(Target target);

}  // namespace gennaker::spinnaker

#endif  // GENNAKER_COMMON_SPINNAKER_TARGETS_H_
