#include "services/orca/engine/events.h"

#include "absl/strings/str_cat.h"

namespace gennaker::orca {

Json ExecutionEvent::Content() const {
  Json out = content.is_object() ? content : Json::object();
  out["execution"] = execution != nullptr ? *execution : Json::object();
  return out;
}

std::string ExecutionEvent::IdempotencyKey() const {
  std::string key = absl::StrCat(execution_id, ":", type, ":", stage_id);
  if (run > 0) absl::StrAppend(&key, ":", run);
  return key;
}

}  // namespace gennaker::orca
