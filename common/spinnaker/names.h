// Spinnaker's resource naming (Frigga and Moniker): clusters are
// app[-stack[-detail]], server groups <cluster>-vNNN. Parsing never fails (an
// unparsable name has empty fields, as Frigga's parseName); building
// validates. NextSequence resolves the next server-group sequence the way
// clouddriver does: one after the newest (by creation time), wrapping at
// 1000, skipping sequences in use.
#ifndef GENNAKER_COMMON_SPINNAKER_NAMES_H_
#define GENNAKER_COMMON_SPINNAKER_NAMES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gennaker::spinnaker {

// Moniker fields of a name; empty strings where Frigga yields null.
struct Names {
  std::string app;
  std::string stack;
  std::string detail;
  std::string cluster;
  std::string push;             // "v012", or empty
  std::optional<int> sequence;  // 12, or none
};

Names ParseName(absl::string_view name);

// The longest application name Spinnaker accepts (Deck's longest provider
// limit).
inline constexpr size_t kMaxApplicationNameLength = 250;

// Spinnaker's application name rule (front50's default validation pattern
// [A-Za-z0-9][A-Za-z0-9_.-]{0,249}): 1 to 250 letters, digits, '_', '.' or
// '-', starting with a letter or digit.
bool ValidApplicationName(absl::string_view name);

// A Docker registry repository name ("library/nginx"): path components of
// [a-z0-9] separated by '.', '_', "__" or dashes, at most 255 characters (the
// Registry API's grammar, which also keeps a name from escaping the URL path
// it is put in). igor polls only such names and halyard accepts only them.
bool ValidDockerRepository(absl::string_view name);

// app, app-stack, app-stack-detail or app--detail. INVALID_ARGUMENT when app
// is empty or a field has characters Frigga does not allow there, or stack or
// detail holds a push token (v + 3-6 digits) as a segment.
absl::StatusOr<std::string> ClusterName(absl::string_view app,
                                        absl::string_view stack,
                                        absl::string_view detail);

// app[-stack[-detail]] without validation (app--detail when only the detail
// is set): for names read back from stage contexts, which are not ours to
// refuse.
std::string FormatClusterName(absl::string_view app, absl::string_view stack,
                              absl::string_view detail);

// "app-stack-v003" -> "app-stack": the name without a trailing "-v" and three
// or more digits; a name without one is a cluster name already. Lenient
// where ParseName is strict: it accepts any characters before the version.
std::string ClusterOfServerGroup(absl::string_view name);

// The application part (before the first '-') of a cluster or server group
// name.
std::string AppOfName(absl::string_view name);

// <cluster>-vNNN; INVALID_ARGUMENT outside 0..999.
absl::StatusOr<std::string> ServerGroupName(absl::string_view cluster,
                                            int sequence);

// A server group already in the cluster.
struct Slot {
  std::string name;
  int sequence = 0;
  int64_t created_ms = 0;
};

// The sequence for the next server group of a cluster holding `taken`.
// FAILED_PRECONDITION when all 1000 are in use.
absl::StatusOr<int> NextSequence(const std::vector<Slot>& taken);

}  // namespace gennaker::spinnaker

#endif  // GENNAKER_COMMON_SPINNAKER_NAMES_H_
