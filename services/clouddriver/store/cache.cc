#include "services/clouddriver/store/cache.h"

#include "common/spinnaker/json.h"
#include "common/spinnaker/names.h"

namespace gennaker::clouddriver {

namespace {

std::string AppOf(const Json& item) {
  std::string app = spinnaker::String(item, "application");
  return app.empty() ? spinnaker::ParseName(spinnaker::String(item, "name")).app
                     : app;
}

}  // namespace

FiledItems FileSnapshot(const Json& snapshot) {
  FiledItems out;
  for (const char* kind : {kServerGroups, kLoadBalancers, kSecurityGroups}) {
    out[kind];  // present even when empty: stale items are dropped
    if (!snapshot.contains(kind) || !snapshot[kind].is_array()) continue;
    for (const Json& item : snapshot[kind]) {
      std::string name = spinnaker::String(item, "name");
      if (name.empty()) continue;
      out[kind][AppOf(item)][name] = item;
    }
  }
  return out;
}

}  // namespace gennaker::clouddriver
