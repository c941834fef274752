#include "services/orca/stages/deploy_strategies.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace gennaker::orca {

namespace {

// The cluster coordinates every cluster-wide stage needs.
Json Location(const Json& ctx) {
  Json out = Json::object();
  for (const char* k :
       {"cluster", "moniker", "credentials", "account", "cloudProvider",
        "region", "regions", "zones", "interestingHealthProviderNames"}) {
    if (ctx.contains(k) && !ctx[k].is_null()) out[k] = ctx[k];
  }
  if (!out.contains("credentials") && out.contains("account")) {
    out["credentials"] = out["account"];
  }
  return out;
}

SyntheticStage Stage(const std::string& type, const std::string& name,
                     Json context) {
  SyntheticStage s;
  s.type = type;
  s.name = name;
  s.context = std::move(context);
  return s;
}

SyntheticStage WaitStage(const std::string& name, int64_t seconds) {
  return Stage("wait", name, {{"waitTime", seconds}});
}

int64_t Seconds(const Json& ctx, const char* key) { return Int(ctx, key, 0); }

}  // namespace

std::string StrategyName(const Json& context) {
  std::string s = absl::AsciiStrToLower(String(context, "strategy"));
  for (const char* known :
       {"redblack", "rollingredblack", "highlander", "custom", "none"}) {
    if (s == known) return s == "none" ? "" : s;
  }
  return "";
}

Json StrategyContextChanges(const Json& context) {
  Json out = Json::object();
  if (StrategyName(context) == "rollingredblack") {
    out["savedCapacity"] =
        context.contains("capacity") ? context["capacity"] : Json::object();
    out["capacity"] = {{"min", 0}, {"max", 0}, {"desired", 0}};
    out["useSourceCapacity"] = false;
  }
  return out;
}

absl::StatusOr<std::vector<SyntheticStage>> StrategyAfterStages(
    const Json& ctx, const std::string& source) {
  std::vector<SyntheticStage> out;
  const std::string strategy = StrategyName(ctx);
  const Json where = Location(ctx);
  auto with = [&where](Json extra) {
    Json c = where;
    for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = *it;
    return c;
  };
  if (strategy == "highlander") {
    out.push_back(Stage("shrinkCluster", "shrinkCluster",
                        with({{"shrinkToSize", 1},
                              {"allowDeleteActive", true},
                              {"retainLargerOverNewer", false}})));
    return out;
  }
  if (strategy == "redblack") {
    if (source.empty()) return out;  // a new cluster: nothing to replace
    int64_t keep = Int(ctx, "maxRemainingAsgs", 0);
    if (keep > 0) {
      out.push_back(
          Stage("shrinkCluster", "shrinkCluster",
                with({{"shrinkToSize", keep},
                      {"allowDeleteActive", Bool(ctx, "allowDeleteActive")},
                      {"retainLargerOverNewer", false}})));
    }
    int64_t delay = Seconds(ctx, "delayBeforeCleanup");
    if (delay == 0) delay = Seconds(ctx, "delayBeforeDisableSec");
    if (delay > 0) out.push_back(WaitStage("Wait Before Disable", delay));
    out.push_back(Stage("disableCluster", "disableCluster",
                        with({{"remainingEnabledServerGroups", 1},
                              {"preferLargerOverNewer", false}})));
    if (Bool(ctx, "scaleDown")) {
      int64_t wait = Seconds(ctx, "delayBeforeScaleDownSec");
      if (wait > 0) out.push_back(WaitStage("Wait Before Scale Down", wait));
      out.push_back(Stage(
          "scaleDownCluster", "scaleDownCluster",
          with({{"remainingFullSizeServerGroups", 1},
                {"allowScaleDownActive", Bool(ctx, "allowScaleDownActive")},
                {"preferLargerOverNewer", false}})));
    }
    return out;
  }
  if (strategy == "rollingredblack") {
    std::vector<int> steps;
    const Json& tp = ctx.contains("targetPercentages")
                         ? ctx["targetPercentages"]
                         : Json::array();
    if (!tp.is_array()) {
      return absl::InvalidArgumentError("targetPercentages must be a list");
    }
    for (const Json& p : tp) {
      if (!p.is_number_integer() || p.get<int>() < 1 || p.get<int>() > 100) {
        return absl::InvalidArgumentError(
            "targetPercentages must hold integers within 1..100");
      }
      if (!steps.empty() && p.get<int>() <= steps.back()) {
        return absl::InvalidArgumentError(
            "targetPercentages must be increasing");
      }
      steps.push_back(p.get<int>());
    }
    if (steps.empty() || steps.back() != 100) steps.push_back(100);
    out.push_back(Stage("determineTargetServerGroup",
                        "Determine Deployed Server Group",
                        with({{"target", "current_asg_dynamic"}})));
    if (!source.empty()) {
      out.push_back(Stage(
          "pinServerGroup", "Pin " + source,
          with({{"serverGroupName", source}, {"pinMinimumCapacity", true}})));
    }
    // determineSourceServerGroup moved the wanted capacity to savedCapacity
    // and made "capacity" 0/0/0 (the new group starts empty).
    const Json saved =
        ctx.contains("savedCapacity") && ctx["savedCapacity"].is_object()
            ? ctx["savedCapacity"]
        : ctx.contains("capacity") ? ctx["capacity"]
                                   : Json::object();
    int64_t delay = Seconds(ctx, "delayBeforeCleanup");
    for (int p : steps) {
      Json resize = with({{"scalePct", p},
                          {"target", "current_asg_dynamic"},
                          {"pinCapacity", p < 100},
                          {"unpinMinimumCapacity", p == 100}});
      if (!source.empty()) {
        resize["action"] = "scale_to_server_group";
        resize["source"] = {{"serverGroupName", source}};
      } else {
        resize["action"] = "scale_exact";
        resize["capacity"] = saved;
      }
      out.push_back(Stage("resizeServerGroup",
                          absl::StrCat("Grow to ", p, "% of Desired Size"),
                          std::move(resize)));
      if (delay > 0) out.push_back(WaitStage("Wait Before Cleanup", delay));
      if (ctx.contains("pipelineBeforeCleanup") &&
          ctx["pipelineBeforeCleanup"].is_object() &&
          !String(ctx["pipelineBeforeCleanup"], "pipelineId").empty()) {
        const Json& v = ctx["pipelineBeforeCleanup"];
        Json params = spinnaker::Object(v, "pipelineParameters");
        params["sourceServerGroup"] = source;
        params["percentageComplete"] = p;
        out.push_back(Stage("pipeline", "Run Validation Pipeline",
                            {{"application", String(v, "application")},
                             {"pipeline", String(v, "pipelineId")},
                             {"pipelineParameters", params}}));
      }
      if (!source.empty()) {
        out.push_back(Stage(
            "disableServerGroup",
            absl::StrCat("Disable ", p, "% of Traffic on ", source),
            with({{"serverGroupName", source}, {"desiredPercentage", p}})));
      }
    }
    if (!source.empty() && Bool(ctx, "scaleDown")) {
      int64_t wait = Seconds(ctx, "delayBeforeScaleDownSec");
      if (wait > 0) out.push_back(WaitStage("Wait Before Scale Down", wait));
      out.push_back(Stage("scaleDownCluster", "scaleDownCluster",
                          with({{"remainingFullSizeServerGroups", 1},
                                {"allowScaleDownActive", false},
                                {"preferLargerOverNewer", false}})));
    } else if (!source.empty()) {
      out.push_back(Stage(
          "pinServerGroup", "Unpin " + source,
          with({{"serverGroupName", source}, {"unpinMinimumCapacity", true}})));
    }
    return out;
  }
  if (strategy == "custom") {
    Json params = spinnaker::Object(ctx, "pipelineParameters");
    for (const char* k : {"application", "credentials", "cluster", "moniker",
                          "region", "cloudProvider"}) {
      if (ctx.contains(k)) params[k] = ctx[k];
    }
    params["strategy"] = true;
    out.push_back(
        Stage("pipeline", "pipeline",
              {{"application", String(ctx, "application")},
               {"pipelineApplication", String(ctx, "strategyApplication")},
               {"pipeline", String(ctx, "strategyPipeline")},
               {"pipelineParameters", params}}));
    return out;
  }
  return out;  // none
}

std::vector<SyntheticStage> RollbackStages(const Json& ctx,
                                           const std::string& created,
                                           bool failed_while_launching) {
  std::vector<SyntheticStage> out;
  const Json& rollback =
      ctx.contains("rollback") ? ctx["rollback"] : Json::object();
  if (!Bool(rollback, "onFailure") || created.empty()) return out;
  const std::string strategy = StrategyName(ctx);
  Json details = {{"rollbackServerGroupName", created},
                  {"onlyEnabledServerGroups", true}};
  if (strategy == "redblack") {
    if (!failed_while_launching) return out;
    details["disableOnly"] = true;
  } else if (strategy == "rollingredblack") {
    details["enableAndDisableOnly"] = true;
  } else {
    return out;
  }
  Json c = Location(ctx);
  c["serverGroup"] = created;
  c["additionalRollbackContext"] = details;
  c["stageTimeoutMs"] = 30 * 60 * 1000;
  out.push_back(Stage("rollbackCluster", "Rollback " + created, c));
  if (Bool(rollback, "destroyLatest")) {
    Json d = Location(ctx);
    d["serverGroupName"] = created;
    d["stageTimeoutMs"] = 5 * 60 * 1000;
    out.push_back(Stage("destroyServerGroup", "Destroy " + created, d));
  }
  return out;
}

}  // namespace gennaker::orca
