#include "services/kayenta/store/kayenta_store.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace gennaker::kayenta {

absl::string_view KindLabel(Kind kind) {
  switch (kind) {
    case Kind::kConfig:
      return "canary config";
    case Kind::kExecution:
      return "canary execution";
    case Kind::kAnalysis:
      return "canary analysis";
    case Kind::kPairList:
      return "metric set pair list";
  }
  return "record";
}

bool SharesApplication(const std::vector<std::string>& a,
                       const std::vector<std::string>& b) {
  for (const std::string& x : a) {
    if (std::find(b.begin(), b.end(), x) != b.end()) return true;
  }
  return false;
}

namespace {
// The payload that tells a name conflict from an id conflict (both are
// ALREADY_EXISTS; a message test would mistake an id holding "name").
constexpr char kConflictPayload[] = "gennaker.kayenta/conflict";
}  // namespace

absl::Status DuplicateConfigName(absl::string_view name) {
  absl::Status s = absl::AlreadyExistsError(absl::StrCat(
      "Canary config with name '", name,
      "' already exists in the scope of one of the applications."));
  s.SetPayload(kConflictPayload, absl::Cord("name"));
  return s;
}

bool IsDuplicateConfigName(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAlreadyExists) return false;
  const auto p = status.GetPayload(kConflictPayload);
  return p.has_value() && *p == "name";
}

}  // namespace gennaker::kayenta
