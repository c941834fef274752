#include "services/front50/store/object_store.h"

namespace gennaker::front50 {

absl::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kApplication:
      return "application";
    case Kind::kApplicationPermission:
      return "application_permission";
    case Kind::kPipeline:
      return "pipeline";
    case Kind::kStrategy:
      return "strategy";
    case Kind::kPipelineTemplate:
      return "pipeline_template";
    case Kind::kProject:
      return "project";
    case Kind::kNotification:
      return "notification";
    case Kind::kServiceAccount:
      return "service_account";
  }
  return "unknown";
}

}  // namespace gennaker::front50
