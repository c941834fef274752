#include "services/orca/stages/server_group_facts.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gennaker::orca::cloud {

bool IsDisabled(const Json& sg) {
  return Bool(sg, "isDisabled") || Bool(sg, "disabled");
}

int64_t CreatedMs(const Json& sg) { return Int(sg, "createdTime"); }

int InstanceCount(const Json& sg) {
  if (sg.contains("instances") && sg["instances"].is_array()) {
    return static_cast<int>(sg["instances"].size());
  }
  if (sg.contains("instanceCounts")) {
    return static_cast<int>(Int(sg["instanceCounts"], "total"));
  }
  return 0;
}

Json CapacityOf(const Json& sg) {
  const Json c = spinnaker::Object(sg, "capacity");
  return {{"min", Int(c, "min")},
          {"max", Int(c, "max")},
          {"desired", Int(c, "desired")}};
}

bool Pinned(const Json& c) {
  if (!c.is_object() || !c.contains("desired")) return false;
  return Int(c, "min", -1) == Int(c, "desired") &&
         Int(c, "max", -1) == Int(c, "desired");
}

int HealthyCount(const Json& sg, const Json& ctx) {
  if (!sg.contains("instances") || !sg["instances"].is_array()) return 0;
  const Json& instances = sg["instances"];
  const Json interesting = ctx.contains("interestingHealthProviderNames")
                               ? ctx["interestingHealthProviderNames"]
                               : Json();
  if (interesting.is_array() && interesting.empty()) {
    return static_cast<int>(instances.size());
  }
  std::set<std::string> types;
  if (interesting.is_array()) {
    for (const Json& t : interesting) {
      if (t.is_string()) types.insert(t.get<std::string>());
    }
  }
  int healthy = 0;
  for (const Json& i : instances) {
    bool any = false, up = false, blocked = false;
    if (i.contains("health") && i["health"].is_array()) {
      for (const Json& h : i["health"]) {
        if (!types.empty() && !types.count(String(h, "type"))) continue;
        any = true;
        const std::string state = String(h, "state");
        if (state == "Up") up = true;
        bool platform = String(h, "healthClass") == "platform";
        if (state == "Down" ||
            (!platform && (state == "OutOfService" || state == "Starting" ||
                           state == "Draining"))) {
          blocked = true;
        }
      }
    }
    if (!any) up = String(i, "healthState") == "Up";
    if (up && !blocked) ++healthy;
  }
  return healthy;
}

std::string HealthSummary(const Json& sg) {
  std::map<std::string, int> by_state;
  if (sg.contains("instances") && sg["instances"].is_array()) {
    for (const Json& i : sg["instances"]) {
      std::string s = String(i, "healthState");
      ++by_state[s.empty() ? "Unknown" : s];
    }
  }
  if (by_state.empty()) return "no instances";
  std::vector<std::string> parts;
  for (const auto& [state, n] : by_state) {
    parts.push_back(absl::StrCat(n, " ", state));
  }
  return absl::StrJoin(parts, ", ");
}

int64_t TargetDesired(const Json& ctx, const Json& sg) {
  const Json cur = CapacityOf(sg);
  int64_t desired = Int(cur, "desired");
  const Json cfg = spinnaker::Object(ctx, "capacity");
  if (cfg.contains("desired") && (Pinned(cfg) || Pinned(cur))) {
    desired = Int(cfg, "desired");
  }
  const char* key = ctx.contains("targetHealthyDeployPercentage")
                        ? "targetHealthyDeployPercentage"
                    : ctx.contains("desiredPercentage") ? "desiredPercentage"
                                                        : nullptr;
  if (key != nullptr && ctx[key].is_number()) {
    double pct = ctx[key].get<double>();
    if (pct <= 0) return 0;
    if (desired > 0) {
      desired = std::max<int64_t>(
          1, std::llround(static_cast<double>(desired) * pct / 100));
    }
  }
  return desired;
}

}  // namespace gennaker::orca::cloud
