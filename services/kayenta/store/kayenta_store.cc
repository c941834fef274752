#include "services/kayenta/store/kayenta_store.h"

#include <algorithm>

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

absl::Status DuplicateConfigName(absl::string_view name) {
  return absl::AlreadyExistsError(absl::StrCat(
      "Canary config with name '", name,
      "' already exists in the scope of one of the applications."));
}

}  // namespace gennaker::kayenta
