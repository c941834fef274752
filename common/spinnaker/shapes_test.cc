#include "common/spinnaker/shapes.h"

#include "gtest/gtest.h"

namespace gennaker::spinnaker {
namespace {

namespace cd = clouddriver::v1;

cd::ServerGroup Group() {
  cd::ServerGroup g;
  g.set_name("app-prod-v002");
  g.set_account("local");
  g.set_region("localhost");
  g.set_cloud_provider("local");
  g.mutable_moniker()->set_app("app");
  g.mutable_moniker()->set_cluster("app-prod");
  g.mutable_moniker()->set_stack("prod");
  g.mutable_moniker()->set_sequence(2);
  g.set_disabled(true);
  g.mutable_capacity()->set_desired(1);
  cd::Instance* i = g.add_instances();
  i->set_id("i-1");
  i->set_health_state(cd::HEALTH_STATE_UP);
  cd::Health* h = i->add_health();
  h->set_type("Local");
  h->set_state(cd::HEALTH_STATE_UP);
  return g;
}

TEST(ShapesTest, ServerGroupListAndDetailViews) {
  Json list = ServerGroupJson(Group(), ServerGroupView::kList);
  EXPECT_EQ(list["isDisabled"], true);
  EXPECT_FALSE(list.contains("disabled"));
  EXPECT_EQ(list["cluster"], "app-prod");
  EXPECT_EQ(list["application"], "app");
  EXPECT_EQ(list["moniker"]["sequence"], 2);
  EXPECT_EQ(list["instances"][0]["id"], "i-1");
  EXPECT_EQ(list["instances"][0]["healthState"], "Up");
  EXPECT_EQ(list["instances"][0]["health"][0]["state"], "Up");

  Json detail = ServerGroupJson(Group(), ServerGroupView::kDetail);
  EXPECT_EQ(detail["disabled"], true);
  EXPECT_FALSE(detail.contains("isDisabled"));
  // A full instance inherits its group's keys.
  EXPECT_EQ(detail["instances"][0]["name"], "i-1");
  EXPECT_EQ(detail["instances"][0]["serverGroup"], "app-prod-v002");
  EXPECT_EQ(detail["instances"][0]["account"], "local");
}

TEST(ShapesTest, RenderingWinsOverTypedFields) {
  cd::ServerGroup g = Group();
  g.mutable_json()->set_json(R"({"name":"as-sent","launchConfig":{}})");
  EXPECT_EQ(RenderedTextOr(g.json(), [] { return Json("built"); }),
            R"({"name":"as-sent","launchConfig":{}})");
  EXPECT_EQ(RenderedOr(g.json(), [] { return Json("built"); })["name"],
            "as-sent");
  cd::ServerGroup bare = Group();
  EXPECT_EQ(RenderedOr(bare.json(), [] { return Json("built"); }), "built");
}

TEST(ShapesTest, HealthNamesRoundTrip) {
  for (cd::HealthState s :
       {cd::HEALTH_STATE_UP, cd::HEALTH_STATE_DOWN, cd::HEALTH_STATE_STARTING,
        cd::HEALTH_STATE_OUT_OF_SERVICE, cd::HEALTH_STATE_FAILED,
        cd::HEALTH_STATE_SUCCEEDED, cd::HEALTH_STATE_DRAINING}) {
    EXPECT_EQ(HealthStateFromName(HealthStateName(s)), s);
  }
  EXPECT_EQ(HealthStateFromName("Weird"), cd::HEALTH_STATE_UNKNOWN);
}

TEST(ShapesTest, TargetsRoundTripThroughTheProto) {
  for (Target t : {Target::kCurrent, Target::kPrevious, Target::kOldest,
                   Target::kLargest}) {
    EXPECT_EQ(TargetFromProto(TargetToProto(t)), t);
  }
  EXPECT_FALSE(TargetFromProto(cd::SERVER_GROUP_TARGET_UNSPECIFIED));
}

TEST(ShapesTest, MonikerFromParsedName) {
  Json m = MonikerJson(ParseName("app-prod-canary-v010"));
  EXPECT_EQ(m, Json({{"app", "app"},
                     {"cluster", "app-prod-canary"},
                     {"stack", "prod"},
                     {"detail", "canary"},
                     {"sequence", 10}}));
}

TEST(ShapesTest, AccountFillsWhatTheRenderingLacks) {
  cd::Account a;
  a.set_name("prod");
  a.set_cloud_provider("local");
  a.mutable_json()->set_json(R"({"name":"prod","environment":"production"})");
  a.set_environment("ignored");
  a.add_regions("localhost");
  Json j = AccountJson(a);
  EXPECT_EQ(j["environment"], "production");
  EXPECT_EQ(j["cloudProvider"], "local");
  EXPECT_EQ(j["regions"][0]["name"], "localhost");
}

}  // namespace
}  // namespace gennaker::spinnaker
