// Expression functions about what deploy stages made, registered with the
// cloud stages (the engine knows nothing of server groups).
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {

namespace {

// Server groups made by the execution's succeeded createServerGroup /
// cloneServerGroup stages (of the deploy stages named or with the ids given,
// or all): [{account, capacity, parentStage, region, serverGroup, image?}].
absl::StatusOr<Json> DeployedServerGroups(const Json& execution,
                                          const std::vector<Json>& a) {
  const Json stages =
      execution.contains("stages") ? execution["stages"] : Json::array();
  std::set<std::string> wanted;
  for (const Json& x : a) {
    if (x.is_string()) wanted.insert(x.get<std::string>());
    if (x.is_array()) {
      for (const Json& y : x) {
        if (y.is_string()) wanted.insert(y.get<std::string>());
      }
    }
  }
  auto by_id = [&](const std::string& id) -> const Json* {
    for (const Json& s : stages) {
      if (String(s, "id") == id) return &s;
    }
    return nullptr;
  };
  Json out = Json::array();
  for (const Json& s : stages) {
    const std::string type = String(s, "type");
    if ((type != "createServerGroup" && type != "cloneServerGroup") ||
        String(s, "status") != status::kSucceeded) {
      continue;
    }
    const Json* parent = by_id(String(s, "parentStageId"));
    if (!wanted.empty() && !wanted.count(String(s, "name")) &&
        !wanted.count(String(s, "id")) &&
        (parent == nullptr || (!wanted.count(String(*parent, "name")) &&
                               !wanted.count(String(*parent, "id"))))) {
      continue;
    }
    const Json& ctx = s.contains("context") ? s["context"] : Json();
    if (!ctx.is_object() || !ctx.contains("deploy.server.groups") ||
        !ctx["deploy.server.groups"].is_object()) {
      continue;
    }
    std::string account = String(ctx, "deploy.account.name");
    if (account.empty()) account = String(ctx, "credentials");
    Json capacity = ctx.contains("savedCapacity") ? ctx["savedCapacity"]
                    : ctx.contains("capacity")    ? ctx["capacity"]
                                                  : Json::object();
    std::string image = String(ctx, "amiName");
    if (image.empty()) image = String(ctx, "image");
    if (image.empty() && ctx.contains("command") && ctx["command"].is_array()) {
      std::vector<std::string> argv;
      for (const Json& w : ctx["command"]) {
        argv.push_back(w.is_string() ? w.get<std::string>() : Dump(w));
      }
      image = absl::StrJoin(argv, " ");
    }
    const Json& groups = ctx["deploy.server.groups"];
    for (auto it = groups.begin(); it != groups.end(); ++it) {
      if (!it->is_array()) continue;
      for (const Json& name : *it) {
        Json one = {{"account", account},
                    {"capacity", capacity},
                    {"parentStage", parent != nullptr ? String(*parent, "id")
                                                      : String(s, "id")},
                    {"region", it.key()},
                    {"serverGroup", name}};
        if (!image.empty()) one["image"] = image;
        out.push_back(std::move(one));
      }
    }
  }
  return out;
}

}  // namespace

void RegisterDeployExpressions(Registry* registry) {
  registry->AddExpressionFunction("deployedServerGroups", DeployedServerGroups);
}

}  // namespace gennaker::orca
