// Each deployment strategy's plan of synthetic stages.
#include "services/orca/stages/deploy_strategies.h"

#include "gtest/gtest.h"

namespace gennaker::orca {
namespace {

std::vector<std::string> Types(const std::vector<SyntheticStage>& stages) {
  std::vector<std::string> out;
  for (const SyntheticStage& s : stages) out.push_back(s.type);
  return out;
}

Json Base(const std::string& strategy) {
  return {{"strategy", strategy},
          {"cluster", "demo-prod"},
          {"account", "local"},
          {"region", "localhost"},
          {"capacity", {{"min", 3}, {"max", 3}, {"desired", 3}}}};
}

TEST(DeployStrategiesTest, NoneAndUnknownAddNothing) {
  EXPECT_TRUE(StrategyAfterStages(Base(""), "demo-prod-v000")->empty());
  EXPECT_TRUE(StrategyAfterStages(Base("bogus"), "demo-prod-v000")->empty());
  EXPECT_EQ(StrategyName(Base("RedBlack")), "redblack");
  EXPECT_EQ(StrategyName(Base("none")), "");
}

TEST(DeployStrategiesTest, HighlanderShrinksToTheNewGroup) {
  auto plan = StrategyAfterStages(Base("highlander"), "demo-prod-v000");
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(Types(*plan), std::vector<std::string>({"shrinkCluster"}));
  const Json& c = (*plan)[0].context;
  EXPECT_EQ(c["shrinkToSize"], 1);
  EXPECT_EQ(c["allowDeleteActive"], true);
  EXPECT_EQ(c["cluster"], "demo-prod");
  EXPECT_EQ(c["credentials"], "local");
}

TEST(DeployStrategiesTest, RedBlackFullPlan) {
  Json ctx = Base("redblack");
  ctx["maxRemainingAsgs"] = 2;
  ctx["delayBeforeDisableSec"] = 30;
  ctx["scaleDown"] = true;
  ctx["delayBeforeScaleDownSec"] = 60;
  auto plan = StrategyAfterStages(ctx, "demo-prod-v003");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Types(*plan),
            std::vector<std::string>({"shrinkCluster", "wait", "disableCluster",
                                      "wait", "scaleDownCluster"}));
  EXPECT_EQ((*plan)[0].context["shrinkToSize"], 2);
  EXPECT_EQ((*plan)[0].context["allowDeleteActive"], false);
  EXPECT_EQ((*plan)[1].name, "Wait Before Disable");
  EXPECT_EQ((*plan)[1].context["waitTime"], 30);
  EXPECT_EQ((*plan)[2].context["remainingEnabledServerGroups"], 1);
  EXPECT_EQ((*plan)[3].name, "Wait Before Scale Down");
  EXPECT_EQ((*plan)[4].context["remainingFullSizeServerGroups"], 1);
  // Minimal: only disable.
  auto minimal = StrategyAfterStages(Base("redblack"), "demo-prod-v003");
  EXPECT_EQ(Types(*minimal), std::vector<std::string>({"disableCluster"}));
  // A new cluster has nothing to replace.
  EXPECT_TRUE(StrategyAfterStages(ctx, "")->empty());
}

TEST(DeployStrategiesTest, RollingRedBlackGrowsInSteps) {
  Json ctx = Base("rollingredblack");
  ctx["targetPercentages"] = {25, 50};
  ctx["scaleDown"] = true;
  Json changes = StrategyContextChanges(ctx);
  EXPECT_EQ(changes["capacity"]["desired"], 0);
  EXPECT_EQ(changes["savedCapacity"]["desired"], 3);
  auto plan = StrategyAfterStages(ctx, "demo-prod-v001");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(
      Types(*plan),
      std::vector<std::string>(
          {"determineTargetServerGroup", "pinServerGroup", "resizeServerGroup",
           "disableServerGroup", "resizeServerGroup", "disableServerGroup",
           "resizeServerGroup", "disableServerGroup", "scaleDownCluster"}));
  EXPECT_EQ((*plan)[2].name, "Grow to 25% of Desired Size");
  EXPECT_EQ((*plan)[2].context["pinCapacity"], true);
  EXPECT_EQ((*plan)[6].name, "Grow to 100% of Desired Size");  // appended
  EXPECT_EQ((*plan)[6].context["unpinMinimumCapacity"], true);
  EXPECT_EQ((*plan)[7].context["desiredPercentage"], 100);
  // Without a source: exact sizes from the saved capacity, nothing disabled.
  auto fresh = StrategyAfterStages(ctx, "");
  EXPECT_EQ(Types(*fresh),
            std::vector<std::string>({"determineTargetServerGroup",
                                      "resizeServerGroup", "resizeServerGroup",
                                      "resizeServerGroup"}));
  EXPECT_EQ((*fresh)[1].context["action"], "scale_exact");
  // Bad percentages are refused.
  ctx["targetPercentages"] = {50, 25};
  EXPECT_FALSE(StrategyAfterStages(ctx, "x").ok());
  ctx["targetPercentages"] = {0};
  EXPECT_FALSE(StrategyAfterStages(ctx, "x").ok());
  ctx["targetPercentages"] = "50";
  EXPECT_FALSE(StrategyAfterStages(ctx, "x").ok());
}

TEST(DeployStrategiesTest, CustomRunsTheStrategyPipeline) {
  Json ctx = Base("custom");
  ctx["application"] = "demo";
  ctx["strategyApplication"] = "ops";
  ctx["strategyPipeline"] = "abc-123";
  ctx["pipelineParameters"] = {{"extra", "x"}};
  auto plan = StrategyAfterStages(ctx, "demo-prod-v001");
  ASSERT_EQ(Types(*plan), std::vector<std::string>({"pipeline"}));
  const Json& c = (*plan)[0].context;
  EXPECT_EQ(c["pipeline"], "abc-123");
  EXPECT_EQ(c["pipelineApplication"], "ops");
  EXPECT_EQ(c["pipelineParameters"]["strategy"], true);
  EXPECT_EQ(c["pipelineParameters"]["cluster"], "demo-prod");
  EXPECT_EQ(c["pipelineParameters"]["extra"], "x");
}

TEST(DeployStrategiesTest, RollbackOnFailure) {
  Json ctx = Base("redblack");
  ctx["rollback"] = {{"onFailure", true}, {"destroyLatest", true}};
  // Red/black rolls back only when the launch itself failed.
  EXPECT_TRUE(RollbackStages(ctx, "demo-prod-v004", false).empty());
  auto rb = RollbackStages(ctx, "demo-prod-v004", true);
  ASSERT_EQ(Types(rb), std::vector<std::string>(
                           {"rollbackCluster", "destroyServerGroup"}));
  EXPECT_EQ(rb[0].context["additionalRollbackContext"]["disableOnly"], true);
  EXPECT_EQ(rb[0].context["stageTimeoutMs"], 1800000);
  Json rolling = Base("rollingredblack");
  rolling["rollback"] = {{"onFailure", true}};
  auto rr = RollbackStages(rolling, "demo-prod-v004", false);
  ASSERT_EQ(Types(rr), std::vector<std::string>({"rollbackCluster"}));
  EXPECT_EQ(rr[0].context["additionalRollbackContext"]["enableAndDisableOnly"],
            true);
  EXPECT_TRUE(RollbackStages(ctx, "", true).empty());  // nothing was created
  EXPECT_TRUE(RollbackStages(Base("redblack"), "x", true).empty());
}

}  // namespace
}  // namespace gennaker::orca
