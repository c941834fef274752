// The clouddriver stages run by the engine (memory store, manual clock)
// against an in-memory clouddriver: deploys with each strategy, rollback on
// failure, server-group and cluster stages and their selection rules, the
// clusterSize precondition, idempotent submissions on redelivery, and
// #deployedServerGroups.
#include <map>

#include "gtest/gtest.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/engine_test_util.h"
#include "services/orca/engine/memory_store.h"
#include "services/orca/launcher.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/fake_clouddriver.h"

namespace gennaker::orca {
namespace {

using testing::ManualClock;

// A store whose commit fails (like a crash before it) for the first run of
// the task named `crash_task` (with `crash_after_submit`, the first run that
// submitted to clouddriver): the message is delivered again.
class CrashingStore : public MemoryStore {
 public:
  using MemoryStore::MemoryStore;
  absl::StatusOr<std::unique_ptr<Work>> Claim(int64_t now_ms) override {
    absl::StatusOr<std::unique_ptr<Work>> w = MemoryStore::Claim(now_ms);
    if (!w.ok() || *w == nullptr) return w;
    return std::unique_ptr<Work>(new CrashingWork(this, std::move(*w)));
  }
  std::string crash_task;
  bool crash_after_submit = false;
  int crashes = 0;

 private:
  class CrashingWork : public Work {
   public:
    CrashingWork(CrashingStore* s, std::unique_ptr<Work> inner)
        : store_(s), inner_(std::move(inner)) {}
    const Message& message() const override { return inner_->message(); }
    int64_t deliver_at_ms() const override { return inner_->deliver_at_ms(); }
    Json& execution() override { return inner_->execution(); }
    absl::StatusOr<std::string> CreateExecution(
        const Json& e, const std::string& c,
        const std::vector<Outgoing>& m) override {
      return inner_->CreateExecution(e, c, m);
    }
    absl::StatusOr<int> LockConfigCountRunning(const std::string& c) override {
      return inner_->LockConfigCountRunning(c);
    }
    absl::StatusOr<std::vector<std::string>> Waiting(
        const std::string& c) override {
      return inner_->Waiting(c);
    }
    absl::StatusOr<Json> Read(const std::string& id) override {
      return inner_->Read(id);
    }
    absl::Status DeadLetterClaimed(const std::string& error) override {
      return inner_->DeadLetterClaimed(error);
    }
    absl::Status Commit(const std::vector<Outgoing>& messages) override {
      const Message& m = inner_->message();
      if (m.kind == kind::kRunTask && store_->crashes == 0 &&
          !store_->crash_task.empty()) {
        const Json* stage = FindStage(inner_->execution(), m.stage_id);
        if (stage != nullptr) {
          for (const Json& t : (*stage)["tasks"]) {
            const Json& ctx = (*stage)["context"];
            bool submitted = ctx.contains("kato.last.task.id") &&
                             ctx["kato.last.task.id"].is_object();
            if (String(t, "id") == m.task_id &&
                String(t, "name") == store_->crash_task &&
                (submitted || !store_->crash_after_submit)) {
              ++store_->crashes;
              inner_.reset();  // rolled back: nothing of this run is saved
              return absl::UnavailableError("crashed before the commit");
            }
          }
        }
      }
      return inner_->Commit(messages);
    }

   private:
    CrashingStore* store_;
    std::unique_ptr<Work> inner_;
  };
};

Json Cap(int min, int max, int desired) {
  return {{"min", min}, {"max", max}, {"desired", desired}};
}

Json Cluster(const std::string& strategy, Json extra = Json::object()) {
  Json c = {{"application", "demo"},
            {"stack", "prod"},
            {"credentials", "local"},
            {"cloudProvider", "local"},
            {"availabilityZones", {{"localhost", {"localhost"}}}},
            {"capacity", Cap(2, 2, 2)},
            {"command", {"srv", "v2"}},
            {"strategy", strategy}};
  for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = *it;
  return c;
}

Json Deploy(Json cluster, const std::string& ref = "1") {
  return {{"refId", ref},
          {"type", "deploy"},
          {"name", "Deploy"},
          {"clusters", Json::array({std::move(cluster)})}};
}

// Where cluster stages act.
Json Where(Json extra = Json::object()) {
  Json c = {{"credentials", "local"},
            {"cluster", "demo-prod"},
            {"cloudProvider", "local"},
            {"regions", {"localhost"}}};
  for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = *it;
  return c;
}

Json StageOf(const std::string& type, Json context,
             const std::string& ref = "1", std::vector<std::string> req = {}) {
  context["type"] = type;
  context["refId"] = ref;
  context["name"] = type + " " + ref;
  context["requisiteStageRefIds"] = req;
  return context;
}

class CloudStagesTest : public ::testing::Test {
 protected:
  CloudStagesTest() : store_(&clock_) {
    StageDeps deps;
    deps.clouddriver = &cd_;
    RegisterBuiltinStages(&registry_, deps);
    engine_ = std::make_unique<Engine>(&store_, &registry_, &clock_, nullptr);
  }

  std::string Start(Json stages) {
    LaunchOptions o;
    o.now_ms = clock_.NowMs();
    o.user = "alice";
    auto exec = BuildPipelineExecution(
        {{"application", "demo"}, {"name", "p"}, {"stages", stages}},
        Json::object(), o);
    EXPECT_TRUE(exec.ok()) << exec.status();
    auto id = store_.Create(*exec, "", {StartMessage(*exec)});
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }

  void Run(int64_t horizon_ms = 600000) {
    testing::RunUntilSettled(engine_.get(), &store_, &clock_, horizon_ms,
                             20000);
  }

  Json Get(const std::string& id) { return testing::GetExecution(&store_, id); }

  // The nth stage of that type (synthetic ones included), or null.
  static Json Stage(const Json& e, const std::string& type, int nth = 0) {
    for (const Json& s : e["stages"]) {
      if (String(s, "type") == type && nth-- == 0) return s;
    }
    return nullptr;
  }
  static int Count(const Json& e, const std::string& type) {
    int n = 0;
    for (const Json& s : e["stages"]) n += String(s, "type") == type;
    return n;
  }
  static std::string Error(const Json& stage) {
    const Json& c = stage["context"];
    if (!c.contains("exception")) return "";
    return String(c["exception"]["details"], "error");
  }

  // Names of the executed operations with that op name, in order.
  std::vector<std::string> Ops(const std::string& op) {
    std::vector<std::string> out;
    for (const Json& o : cd_.executed) {
      if (String(o, "name") == op) {
        out.push_back(String(o["description"], "serverGroupName"));
      }
    }
    return out;
  }
  std::vector<std::string> GroupNames() {
    std::vector<std::string> out;
    for (const auto& [name, g] : cd_.groups) out.push_back(name);
    return out;
  }
  const Json& G(const std::string& name) { return cd_.groups.at(name); }
  bool IsDisabledOf(const std::string& name) {
    return Bool(G(name), "isDisabled");
  }

  ManualClock clock_;
  CrashingStore store_;
  FakeCloudDriver cd_;
  Registry registry_;
  std::unique_ptr<Engine> engine_;
};

using Names = std::vector<std::string>;

TEST_F(CloudStagesTest, DeployWithoutStrategyCreatesAndWaitsForUpInstances) {
  cd_.polls_to_complete = 2;
  std::string id = Start({Deploy(Cluster("none"))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v000"}));
  EXPECT_EQ(G("demo-prod-v000")["instances"].size(), 2u);
  Json create = Stage(e, "createServerGroup");
  EXPECT_EQ(String(create, "name"), "Deploy in localhost");
  const Json& c = create["context"];
  EXPECT_EQ(c["deploy.server.groups"],
            Json({{"localhost", {"demo-prod-v000"}}}));
  EXPECT_EQ(c["deploy.account.name"], "local");
  EXPECT_EQ(c["serverGroupName"], "demo-prod-v000");
  EXPECT_EQ(c["cluster"], "demo-prod");
  EXPECT_FALSE(c.contains("source"));  // a new cluster
  std::string task = String(c["kato.last.task.id"], "id");
  EXPECT_FALSE(task.empty());
  ASSERT_EQ(c["kato.tasks"].size(), 1u);
  EXPECT_EQ(c["kato.tasks"][0]["id"], task);
  EXPECT_EQ(c["kato.tasks"][0]["status"]["completed"], true);
  // The description is the cluster's settings, not orca's bookkeeping.
  const Json& d = cd_.executed.at(0)["description"];
  EXPECT_EQ(cd_.executed.at(0)["name"], "createServerGroup");
  EXPECT_EQ(d["command"], Json({"srv", "v2"}));
  EXPECT_EQ(d["credentials"], "local");
  EXPECT_EQ(d["region"], "localhost");
  EXPECT_FALSE(d.contains("strategy"));
  EXPECT_FALSE(d.contains("kato.tasks"));
  // The deploy stage gathers what its clusters made.
  EXPECT_EQ(Stage(e, "deploy")["outputs"]["deploy.server.groups"],
            Json({{"localhost", {"demo-prod-v000"}}}));
  EXPECT_EQ(Count(e, "disableCluster"), 0);
}

TEST_F(CloudStagesTest, WaitForUpInstancesIgnoresAStaleEmptyRead) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 3, 2));
  // A clone without capacity: it takes the source's size.
  Json cluster =
      Cluster("none", {{"type", "cloneServerGroup"},
                       {"source", {{"serverGroupName", "demo-prod-v000"}}}});
  cluster.erase("capacity");
  std::string id = Start({Deploy(cluster)});
  // Stop once the clone exists: its next reads answer desired 0, no
  // instances (a cache that has not caught up).
  for (int i = 0; i < 200 && cd_.groups.size() < 2; ++i) {
    auto r = engine_->ProcessOne();
    ASSERT_TRUE(r.ok());
  }
  ASSERT_EQ(GroupNames(), Names({"demo-prod-v000", "demo-prod-v001"}));
  cd_.stale_reads["demo-prod-v001"] = 2;
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(cd_.stale_reads["demo-prod-v001"], 0);  // polled past them
  EXPECT_EQ(G("demo-prod-v001")["instances"].size(), 2u);
}

TEST_F(CloudStagesTest, TaskOrphanedByAClouddriverRestartIsResumed) {
  cd_.orphan_next_tasks = 1;
  std::string id = Start({Deploy(Cluster("none"))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(cd_.resumes, 1);
  EXPECT_EQ(cd_.submit_calls, 1);  // resumed, not submitted again
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v000"}));
  EXPECT_EQ(Stage(e, "createServerGroup")["context"]["kato.task.resumeCount"],
            1);
}

TEST_F(CloudStagesTest, HighlanderDisablesThenDestroysEveryOlderGroup) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 1, Cap(2, 2, 2));
  cd_.AddGroup("demo-other", 0, Cap(1, 1, 1));  // another cluster
  std::string id = Start({Deploy(Cluster("highlander"))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(GroupNames(), Names({"demo-other-v000", "demo-prod-v002"}));
  EXPECT_EQ(Ops("disableServerGroup"), Names({"demo-prod-v001"}));
  EXPECT_EQ(Ops("destroyServerGroup"),
            Names({"demo-prod-v001", "demo-prod-v000"}));
  EXPECT_FALSE(IsDisabledOf("demo-prod-v002"));
  // shrinkCluster runs disableCluster first (allowDeleteActive).
  Json shrink = Stage(e, "shrinkCluster");
  Json disable = Stage(e, "disableCluster");
  EXPECT_EQ(disable["parentStageId"], shrink["id"]);
  EXPECT_EQ(String(disable, "status"), "SUCCEEDED");
}

TEST_F(CloudStagesTest, RedBlackDisablesScalesDownAndKeepsMaxRemaining) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 1, Cap(2, 2, 2));
  std::string id = Start({Deploy(
      Cluster("redblack", {{"scaleDown", true}, {"maxRemainingAsgs", 2}}))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  Json create = Stage(e, "createServerGroup");
  EXPECT_EQ(create["context"]["source"]["serverGroupName"], "demo-prod-v001");
  // v000 destroyed (only 2 remain), v001 out of traffic and scaled to 0.
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v001", "demo-prod-v002"}));
  EXPECT_TRUE(IsDisabledOf("demo-prod-v001"));
  EXPECT_EQ(G("demo-prod-v001")["capacity"], Cap(0, 0, 0));
  EXPECT_TRUE(G("demo-prod-v001")["instances"].empty());
  EXPECT_FALSE(IsDisabledOf("demo-prod-v002"));
  EXPECT_EQ(G("demo-prod-v002")["instances"].size(), 2u);
  // Order: shrink, disable, scale down; the new group is never touched.
  std::vector<std::string> order;
  for (const Json& s : e["stages"]) {
    if (String(s, "parentStageId") == String(create, "id")) {
      order.push_back(String(s, "type"));
    }
  }
  EXPECT_EQ(order,
            Names({"shrinkCluster", "disableCluster", "scaleDownCluster"}));
  EXPECT_EQ(Ops("destroyServerGroup"), Names({"demo-prod-v000"}));
  EXPECT_EQ(Ops("disableServerGroup"), Names({"demo-prod-v001"}));
  EXPECT_EQ(Ops("resizeServerGroup"), Names({"demo-prod-v001"}));
}

TEST_F(CloudStagesTest, RollingRedBlackGrowsInStepsThenDisablesTheSource) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 4, 2));
  std::string id = Start(
      {Deploy(Cluster("rollingredblack", {{"capacity", Cap(1, 4, 2)},
                                          {"targetPercentages", {50}}}))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  // Created empty, then grown to 50% (pinned), then 100%.
  const Json& created = cd_.executed.at(0);
  EXPECT_EQ(created["name"], "createServerGroup");
  EXPECT_EQ(created["description"]["capacity"], Cap(0, 0, 0));
  std::vector<Json> resizes;
  for (const Json& o : cd_.executed) {
    if (String(o, "name") == "resizeServerGroup") resizes.push_back(o);
  }
  ASSERT_EQ(resizes.size(), 4u);
  EXPECT_EQ(resizes[0]["description"]["serverGroupName"], "demo-prod-v000");
  EXPECT_EQ(resizes[0]["description"]["capacity"], Cap(2, 4, 2));  // pin
  EXPECT_EQ(resizes[1]["description"]["serverGroupName"], "demo-prod-v001");
  EXPECT_EQ(resizes[1]["description"]["capacity"], Cap(1, 1, 1));  // 50%
  EXPECT_EQ(resizes[2]["description"]["capacity"], Cap(1, 4, 2));  // 100%
  EXPECT_EQ(resizes[3]["description"]["serverGroupName"], "demo-prod-v000");
  EXPECT_EQ(resizes[3]["description"]["capacity"], Cap(1, 4, 2));  // unpin
  // The local provider disables whole groups: only at 100%.
  EXPECT_EQ(Ops("disableServerGroup"), Names({"demo-prod-v000"}));
  EXPECT_TRUE(IsDisabledOf("demo-prod-v000"));
  EXPECT_EQ(G("demo-prod-v001")["capacity"], Cap(1, 4, 2));
  EXPECT_EQ(G("demo-prod-v001")["instances"].size(), 2u);
  Json partial = Stage(e, "disableServerGroup", 0);
  EXPECT_TRUE(partial["context"].contains("partialDisableSkipped"));
}

TEST_F(CloudStagesTest, RollingRedBlackIntoANewClusterGrowsToTheSavedSize) {
  std::string id = Start(
      {Deploy(Cluster("rollingredblack", {{"capacity", Cap(2, 2, 2)},
                                          {"targetPercentages", {50}}}))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v000"}));
  EXPECT_EQ(G("demo-prod-v000")["capacity"], Cap(2, 2, 2));
  EXPECT_EQ(G("demo-prod-v000")["instances"].size(), 2u);
  std::vector<Json> resizes;
  for (const Json& o : cd_.executed) {
    if (String(o, "name") == "resizeServerGroup") resizes.push_back(o);
  }
  ASSERT_EQ(resizes.size(), 2u);
  EXPECT_EQ(resizes[0]["description"]["capacity"], Cap(1, 1, 1));  // 50%
  EXPECT_EQ(resizes[1]["description"]["capacity"], Cap(2, 2, 2));
}

TEST_F(CloudStagesTest, SourceIsNewestEnabledElseNewestDisabledOrLargest) {
  cd_.AddGroup("demo-prod", 0, Cap(3, 3, 3), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 1, Cap(1, 1, 1), /*enabled=*/false);
  // Only disabled groups: the newest of them.
  std::string id = Start({Deploy(Cluster("none"))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(
      Stage(e, "createServerGroup")["context"]["source"]["serverGroupName"],
      "demo-prod-v001");
  // An enabled group is preferred to a newer disabled one.
  cd_.groups.at("demo-prod-v002")["isDisabled"] = true;
  cd_.groups.at("demo-prod-v000")["isDisabled"] = false;
  id = Start({Deploy(Cluster("none"))});
  Run();
  e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(
      Stage(e, "createServerGroup")["context"]["source"]["serverGroupName"],
      "demo-prod-v000");
  // useSourceCapacity: the largest, whose capacity the new group takes.
  cd_.groups.at("demo-prod-v000")["isDisabled"] = true;
  cd_.groups.at("demo-prod-v003")["isDisabled"] = true;
  cd_.SetCapacity(cd_.groups.at("demo-prod-v001"), Cap(4, 4, 4), true);
  id = Start({Deploy(Cluster("none", {{"useSourceCapacity", true}}))});
  Run();
  e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(
      Stage(e, "createServerGroup")["context"]["source"]["serverGroupName"],
      "demo-prod-v001");
  EXPECT_EQ(G("demo-prod-v004")["capacity"], Cap(4, 4, 4));
}

TEST_F(CloudStagesTest, InstancesNeverHealthyRollBackAndTheStageFails) {
  cd_.AddGroup("demo-prod", 0, Cap(2, 2, 2));
  cd_.instances_healthy = false;
  std::string id = Start(
      {Deploy(Cluster("redblack", {{"rollback", {{"onFailure", true}}},
                                   {"waitForUpInstancesTimeoutMs", 60000}}))});
  Run(3600000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  Json create = Stage(e, "createServerGroup");
  EXPECT_EQ(String(create, "status"), "TERMINAL");
  EXPECT_EQ(String(Stage(e, "deploy"), "status"), "TERMINAL");
  EXPECT_NE(Error(create).find("demo-prod-v001 did not reach 2 healthy"),
            std::string::npos)
      << Error(create);
  EXPECT_NE(Error(create).find("2 Down"), std::string::npos);
  // The rollback ran after the failure, as an after-stage of the deploy.
  Json rollback = Stage(e, "rollbackCluster");
  ASSERT_TRUE(rollback.is_object());
  EXPECT_EQ(rollback["parentStageId"], create["id"]);
  EXPECT_EQ(String(rollback, "status"), "SUCCEEDED") << rollback.dump(1);
  EXPECT_EQ(rollback["context"]["additionalRollbackContext"]["disableOnly"],
            true);
  EXPECT_EQ(String(Stage(e, "rollbackServerGroup"), "status"), "SUCCEEDED");
  EXPECT_TRUE(IsDisabledOf("demo-prod-v001"));
  EXPECT_FALSE(IsDisabledOf("demo-prod-v000"));
  // The strategy's own clean-up never ran.
  EXPECT_EQ(Count(e, "disableCluster"), 0);
  EXPECT_EQ(Ops("disableServerGroup"), Names({"demo-prod-v001"}));
}

TEST_F(CloudStagesTest, RollbackServerGroupRestoresAScaledDownSource) {
  cd_.AddGroup("demo-prod", 0, Cap(0, 0, 0), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 1, Cap(2, 3, 2));
  std::string id = Start(
      {StageOf("rollbackServerGroup",
               Where({{"rollbackType", "EXPLICIT"},
                      {"rollbackContext",
                       {{"rollbackServerGroupName", "demo-prod-v001"}}}}))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(G("demo-prod-v000")["capacity"], Cap(2, 3, 2));
  EXPECT_EQ(G("demo-prod-v000")["instances"].size(), 2u);
  EXPECT_FALSE(IsDisabledOf("demo-prod-v000"));
  EXPECT_TRUE(IsDisabledOf("demo-prod-v001"));
  // Resize, enable, then disable.
  std::vector<std::string> order;
  for (const Json& o : cd_.executed) order.push_back(String(o, "name"));
  EXPECT_EQ(order, Names({"resizeServerGroup", "enableServerGroup",
                          "disableServerGroup"}));
}

TEST_F(CloudStagesTest, RollbackClusterDisableOnlyLeavesCapacities) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 1, Cap(3, 3, 3));
  std::string id = Start({StageOf(
      "rollbackCluster",
      Where({{"serverGroup", "demo-prod-v001"},
             {"additionalRollbackContext", {{"disableOnly", true}}}}))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(Stage(e, "rollbackCluster")["context"]["rollbackContexts"]
                                       ["localhost"]["restoreServerGroupName"],
            "demo-prod-v000");
  EXPECT_FALSE(IsDisabledOf("demo-prod-v000"));  // made sure it is enabled
  EXPECT_EQ(G("demo-prod-v000")["capacity"], Cap(1, 1, 1));  // not resized
  EXPECT_TRUE(IsDisabledOf("demo-prod-v001"));
  EXPECT_TRUE(Ops("resizeServerGroup").empty());
}

TEST_F(CloudStagesTest, ResizeActions) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1));
  cd_.AddGroup("demo-prod", 1, Cap(1, 5, 2));
  std::string id =
      Start({StageOf("resizeServerGroup",
                     Where({{"serverGroupName", "demo-prod-v001"},
                            {"action", "scale_exact"},
                            {"capacity", {{"desired", 4}}}}),
                     "1"),
             StageOf("resizeServerGroup",
                     Where({{"target", "current_asg_dynamic"},
                            {"action", "scale_up"},
                            {"scalePct", 50}}),
                     "2", {"1"}),
             StageOf("resizeServerGroup",
                     Where({{"target", "current_asg_dynamic"},
                            {"action", "scale_down"},
                            {"scaleNum", 5}}),
                     "3", {"2"}),
             StageOf("resizeServerGroup",
                     Where({{"target", "ancestor_asg_dynamic"},
                            {"action", "scale_to_server_group"},
                            {"source", {{"serverGroupName", "demo-prod-v001"}}},
                            {"scalePct", 200}}),
                     "4", {"3"})});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  ASSERT_EQ(cd_.executed.size(), 4u);
  EXPECT_EQ(cd_.executed[0]["description"]["capacity"], Cap(1, 5, 4));
  EXPECT_EQ(cd_.executed[1]["description"]["capacity"], Cap(1, 6, 6));
  EXPECT_EQ(cd_.executed[2]["description"]["capacity"], Cap(1, 6, 1));
  EXPECT_EQ(Ops("resizeServerGroup"),
            Names({"demo-prod-v001", "demo-prod-v001", "demo-prod-v001",
                   "demo-prod-v000"}));
  EXPECT_EQ(cd_.executed[3]["description"]["capacity"], Cap(2, 12, 2));
  EXPECT_EQ(G("demo-prod-v000")["instances"].size(), 2u);
  EXPECT_EQ(Stage(e, "resizeServerGroup", 3)["context"]["capacity"],
            Cap(2, 12, 2));
}

TEST_F(CloudStagesTest, ResizeWaitsForCapacityAndFailsClearlyOnTimeout) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1));
  cd_.instances_healthy = false;
  std::string id = Start({StageOf(
      "resizeServerGroup", Where({{"serverGroupName", "demo-prod-v000"},
                                  {"action", "scale_exact"},
                                  {"capacity", Cap(3, 3, 3)},
                                  {"waitForCapacityMatchTimeoutMs", 30000}}))});
  Run();
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_NE(Error(Stage(e, "resizeServerGroup"))
                .find("demo-prod-v000 did not reach 3 healthy"),
            std::string::npos);
}

TEST_F(CloudStagesTest, ScaleDownClusterKeepsActiveAndNewest) {
  cd_.AddGroup("demo-prod", 0, Cap(2, 2, 2), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 1, Cap(3, 3, 3), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 2, Cap(1, 1, 1));
  cd_.AddGroup("demo-prod", 3, Cap(1, 1, 1));
  cd_.AddGroup("demo-prod", 4, Cap(0, 0, 0), /*enabled=*/false);
  std::string id = Start({StageOf(
      "scaleDownCluster", Where({{"remainingFullSizeServerGroups", 1}}))});
  Run();
  ASSERT_EQ(String(Get(id), "status"), "SUCCEEDED");
  // v003 kept (newest active), v002 active (not allowed), v004 empty.
  EXPECT_EQ(Ops("resizeServerGroup"),
            Names({"demo-prod-v001", "demo-prod-v000"}));
  EXPECT_TRUE(G("demo-prod-v000")["instances"].empty());
  EXPECT_EQ(G("demo-prod-v002")["instances"].size(), 1u);

  cd_.executed.clear();
  std::string again = Start(
      {StageOf("scaleDownCluster", Where({{"allowScaleDownActive", true}}))});
  Run();
  ASSERT_EQ(String(Get(again), "status"), "SUCCEEDED");
  EXPECT_EQ(Ops("resizeServerGroup"), Names({"demo-prod-v002"}));
  EXPECT_EQ(G("demo-prod-v003")["instances"].size(), 1u);
}

TEST_F(CloudStagesTest, ShrinkClusterOrdersByAgeOrSize) {
  cd_.AddGroup("demo-prod", 0, Cap(3, 3, 3), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 1, Cap(1, 1, 1), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 2, Cap(1, 1, 1));
  std::string id = Start(
      {StageOf("shrinkCluster",
               Where({{"shrinkToSize", 2}, {"retainLargerOverNewer", true}}))});
  Run();
  ASSERT_EQ(String(Get(id), "status"), "SUCCEEDED");
  // Largest first: v000 (3) and v002 stay; v001 goes.
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v000", "demo-prod-v002"}));
  EXPECT_EQ(Count(Get(id), "disableCluster"), 0);  // no allowDeleteActive

  std::string again = Start({StageOf("shrinkCluster", Where())});
  Run();
  Json e = Get(again);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED");
  // Newest first, size 1: v002 is kept, the disabled v000 goes.
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v002"}));
  EXPECT_EQ(Stage(e, "shrinkCluster")["context"]["deploy.server.groups"],
            Json({{"localhost", {"demo-prod-v000"}}}));
}

TEST_F(CloudStagesTest, RedBlackShrinkCountsEnabledGroupsFirst) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1));
  cd_.AddGroup("demo-prod", 1, Cap(1, 1, 1), /*enabled=*/false);
  std::string id =
      Start({Deploy(Cluster("redblack", {{"maxRemainingAsgs", 2}}))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  // v002 (new) and the enabled v000 fill the two places: v001 goes.
  EXPECT_EQ(Ops("destroyServerGroup"), Names({"demo-prod-v001"}));
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v000", "demo-prod-v002"}));
  EXPECT_TRUE(IsDisabledOf("demo-prod-v000"));
}

TEST_F(CloudStagesTest, ShrinkClusterNeverDeletesActiveWithoutPermission) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1));
  cd_.AddGroup("demo-prod", 1, Cap(1, 1, 1));
  std::string id = Start({StageOf("shrinkCluster", Where())});
  Run();
  ASSERT_EQ(String(Get(id), "status"), "SUCCEEDED");
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v000", "demo-prod-v001"}));
  EXPECT_TRUE(cd_.executed.empty());
  EXPECT_TRUE(Stage(Get(id), "shrinkCluster")["context"]["kato.last.task.id"]
                  .is_null());
}

TEST_F(CloudStagesTest, DisableClusterKeepsNewestOrLargest) {
  cd_.AddGroup("demo-prod", 0, Cap(3, 3, 3));
  cd_.AddGroup("demo-prod", 1, Cap(1, 1, 1));
  cd_.AddGroup("demo-prod", 2, Cap(1, 1, 1));
  std::string id = Start(
      {StageOf("disableCluster", Where({{"remainingEnabledServerGroups", 1},
                                        {"preferLargerOverNewer", true}}))});
  Run();
  ASSERT_EQ(String(Get(id), "status"), "SUCCEEDED");
  EXPECT_FALSE(IsDisabledOf("demo-prod-v000"));
  EXPECT_TRUE(IsDisabledOf("demo-prod-v001"));
  EXPECT_TRUE(IsDisabledOf("demo-prod-v002"));

  for (auto& [n, g] : cd_.groups) g["isDisabled"] = false;
  std::string again = Start({StageOf("disableCluster", Where())});
  Run();
  ASSERT_EQ(String(Get(again), "status"), "SUCCEEDED");
  EXPECT_TRUE(IsDisabledOf("demo-prod-v000"));
  EXPECT_TRUE(IsDisabledOf("demo-prod-v001"));
  EXPECT_FALSE(IsDisabledOf("demo-prod-v002"));
}

TEST_F(CloudStagesTest, ServerGroupStagesEnableDisableAndDestroy) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 1, Cap(1, 1, 1));
  std::string id =
      Start({StageOf("enableServerGroup",
                     Where({{"serverGroupName", "demo-prod-v000"}}), "1"),
             StageOf("disableServerGroup",
                     Where({{"target", "current_asg_dynamic"}}), "2", {"1"}),
             StageOf("destroyServerGroup",
                     Where({{"target", "oldest_asg_dynamic"}}), "3", {"2"}),
             StageOf("determineTargetServerGroup",
                     Where({{"target", "current_asg_dynamic"}}), "4", {"3"})});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v001"}));
  EXPECT_TRUE(IsDisabledOf("demo-prod-v001"));
  EXPECT_EQ(Ops("enableServerGroup"), Names({"demo-prod-v000"}));
  // Destroy disables first (its before-stage), then destroys.
  EXPECT_EQ(Ops("disableServerGroup"),
            Names({"demo-prod-v001", "demo-prod-v000"}));
  EXPECT_EQ(Ops("destroyServerGroup"), Names({"demo-prod-v000"}));
  EXPECT_EQ(
      Stage(e, "determineTargetServerGroup")["context"]["targetReferences"][0]
                                            ["serverGroupName"],
      "demo-prod-v001");
}

TEST_F(CloudStagesTest, ClusterSizePrecondition) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1), /*enabled=*/false);
  cd_.AddGroup("demo-prod", 1, Cap(1, 1, 1));
  auto check = [](const std::string& cmp, int expected, bool only_enabled) {
    return StageOf(
        "checkPreconditions",
        {{"preconditions",
          Json::array({{{"type", "clusterSize"},
                        {"context",
                         {{"credentials", "local"},
                          {"cluster", "demo-prod"},
                          {"regions", {"localhost"}},
                          {"comparison", cmp},
                          {"expected", expected},
                          {"onlyEnabledServerGroups", only_enabled}}}}})}});
  };
  std::string ok = Start({check("==", 1, true)});
  Run();
  EXPECT_EQ(String(Get(ok), "status"), "SUCCEEDED");
  std::string ge = Start({check(">=", 2, false)});
  Run();
  EXPECT_EQ(String(Get(ge), "status"), "SUCCEEDED");
  std::string bad = Start({check("==", 2, true)});
  Run();
  Json e = Get(bad);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  Json pre = Stage(e, "checkPreconditions", 0);  // the synthetic check
  EXPECT_FALSE(String(pre, "parentStageId").empty());
  EXPECT_EQ(String(pre, "status"), "TERMINAL");
  EXPECT_NE(Error(pre).find("expected == 2 enabled server group(s) in "
                            "demo-prod (localhost) but found 1"),
            std::string::npos)
      << Error(pre);
}

TEST_F(CloudStagesTest, LostSubmitAnswerIsRetriedWithTheSameKey) {
  cd_.lose_submit_answers = 1;
  std::string id = Start({Deploy(Cluster("none"))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(cd_.submit_calls, 2);
  EXPECT_EQ(cd_.task_by_key.size(), 1u);
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v000"}));
}

TEST_F(CloudStagesTest, CrashBeforeTheCommitRepeatsTheSameSubmission) {
  store_.crash_task = "createServerGroup";
  std::string id = Start({Deploy(Cluster("none"))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(store_.crashes, 1);
  EXPECT_EQ(cd_.submit_calls, 2);         // the call was made again...
  EXPECT_EQ(cd_.task_by_key.size(), 1u);  // ...with the same key
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v000"}));
  const std::string key = cd_.task_by_key.begin()->first;
  Json create = Stage(e, "createServerGroup");
  EXPECT_EQ(key, String(e, "id") + ":" + String(create, "id") + ":2");
}

TEST_F(CloudStagesTest, ClouddriverUnavailableForeverTimesOut) {
  cd_.unavailable = true;
  std::string id = Start({Deploy(Cluster("none"))});
  Run(3600000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  Json create = Stage(e, "createServerGroup");
  EXPECT_EQ(String(create, "status"), "TERMINAL");
  EXPECT_NE(Error(create).find("determineSourceServerGroup' timed out"),
            std::string::npos)
      << Error(create);
}

TEST_F(CloudStagesTest, WaitForUpInstancesTimesOutWhileReadsFail) {
  cd_.server_group_reads_unavailable = true;
  std::string id = Start(
      {Deploy(Cluster("none", {{"waitForUpInstancesTimeoutMs", 60000}}))});
  Run(3600000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_NE(Error(Stage(e, "createServerGroup"))
                .find("demo-prod-v000 could not be read within 60 s"),
            std::string::npos)
      << Error(Stage(e, "createServerGroup"));
}

TEST_F(CloudStagesTest, WaitForCapacityMatchTimesOutWhileReadsFail) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1));
  std::string id = Start({StageOf(
      "resizeServerGroup", Where({{"serverGroupName", "demo-prod-v000"},
                                  {"action", "scale_exact"},
                                  {"capacity", Cap(2, 2, 2)},
                                  {"waitForCapacityMatchTimeoutMs", 30000}}))});
  // The resize is submitted, then every read fails.
  for (int i = 0; i < 200 && Ops("resizeServerGroup").empty(); ++i) {
    auto r = engine_->ProcessOne();
    ASSERT_TRUE(r.ok());
    if (*r) continue;
    auto next = store_.NextDelivery();
    ASSERT_TRUE(next.ok() && next->has_value());
    clock_.now_ = std::max(clock_.now_, **next);
  }
  ASSERT_EQ(Ops("resizeServerGroup"), Names({"demo-prod-v000"}));
  cd_.server_group_reads_unavailable = true;
  Run(3600000);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_NE(Error(Stage(e, "resizeServerGroup"))
                .find("demo-prod-v000 could not be read within 30 s"),
            std::string::npos)
      << Error(Stage(e, "resizeServerGroup"));
}

TEST_F(CloudStagesTest, CrashAfterAResizeSubmitsWhatWasComputedFirst) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 5, 1));
  store_.crash_task = "resizeServerGroup";
  store_.crash_after_submit = true;
  std::string id = Start({StageOf("resizeServerGroup",
                                  Where({{"serverGroupName", "demo-prod-v000"},
                                         {"action", "scale_up"},
                                         {"scaleNum", 2}}))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(store_.crashes, 1);
  EXPECT_EQ(cd_.submit_calls, 2);         // submitted again after the crash...
  EXPECT_EQ(cd_.task_by_key.size(), 1u);  // ...with the same key
  EXPECT_EQ(G("demo-prod-v000")["capacity"], Cap(1, 5, 3));
  // Not recomputed from the grown group (which would ask for 5).
  EXPECT_EQ(Stage(e, "resizeServerGroup")["context"]["capacity"], Cap(1, 5, 3));
}

TEST_F(CloudStagesTest, RestartedStageSubmitsANewTask) {
  cd_.failing_ops = {"createServerGroup"};
  std::string id = Start({Deploy(Cluster("none"))});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_NE(Error(Stage(e, "createServerGroup")).find("out of ports"),
            std::string::npos);
  cd_.failing_ops.clear();
  ASSERT_TRUE(engine_
                  ->RestartStage(id, String(Stage(e, "deploy"), "id"), "alice",
                                 Json::object())
                  .ok());
  Run();
  EXPECT_EQ(String(Get(id), "status"), "SUCCEEDED");
  EXPECT_EQ(cd_.task_by_key.size(), 2u);
  EXPECT_EQ(GroupNames(), Names({"demo-prod-v000"}));
}

TEST_F(CloudStagesTest, DeployedServerGroupsInALaterExpression) {
  std::string id = Start(
      {Deploy(Cluster("none")),
       StageOf(
           "evaluateVariables",
           {{"variables",
             Json::array(
                 {{{"key", "sg"},
                   {"value", "${#deployedServerGroups()[0].serverGroup}"}},
                  {{"key", "where"},
                   {"value", "${#deployedServerGroups('Deploy')[0].region}"}},
                  {{"key", "size"},
                   {"value", "${#deployedServerGroups('nope').size()}"}},
                  {{"key", "all"},
                   {"value", "${#deployedServerGroups()[0]}"}}})}},
           "2", {"1"})});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  const Json out = Stage(e, "evaluateVariables")["outputs"];
  EXPECT_EQ(out["sg"], "demo-prod-v000");
  EXPECT_EQ(out["where"], "localhost");
  EXPECT_EQ(out["size"], 0);
  EXPECT_EQ(out["all"]["account"], "local");
  EXPECT_EQ(out["all"]["capacity"], Cap(2, 2, 2));
  EXPECT_EQ(out["all"]["parentStage"], Stage(e, "deploy")["id"]);
  EXPECT_EQ(out["all"]["image"], "srv v2");
}

TEST_F(CloudStagesTest, FindImageFeedsTheDeploy) {
  cd_.AddGroup("demo-prod", 0, Cap(1, 1, 1), true, true, {"srv", "old"});
  cd_.AddGroup("demo-prod", 1, Cap(1, 1, 1), true, true, {"srv", "new"});
  Json cluster = Cluster("none", {{"stack", "canary"}});
  cluster.erase("command");
  Json deploy = Deploy(cluster, "2");
  deploy["requisiteStageRefIds"] = {"1"};
  std::string id = Start({StageOf("findImageFromCluster",
                                  Where({{"selectionStrategy", "OLDEST"}})),
                          deploy});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  const Json d =
      Stage(e, "findImageFromCluster")["outputs"]["deploymentDetails"][0];
  EXPECT_EQ(d["image"], "srv old");
  EXPECT_EQ(d["serverGroupName"], "demo-prod-v000");
  EXPECT_EQ(G("demo-canary-v000")["launchConfig"]["command"],
            Json({"srv", "old"}));

  std::string fail = Start({StageOf("findImageFromCluster",
                                    Where({{"selectionStrategy", "FAIL"}}))});
  Run();
  EXPECT_EQ(String(Get(fail), "status"), "TERMINAL");
}

TEST_F(CloudStagesTest, TriggerArtifactBoundAtLaunchIsTheDeployedImage) {
  // The launcher binds the pipeline's expected artifact to the trigger's
  // image; the deploy names it by imageArtifactId.
  const Json image = {{"type", "local/image"},
                      {"name", "srv-2.0.0-all-1-local"},
                      {"reference", "sha256:2020"}};
  Json cluster = Cluster("none", {{"imageArtifactId", "srv-image"}});
  cluster.erase("command");
  LaunchOptions o;
  o.now_ms = clock_.NowMs();
  auto exec = BuildPipelineExecution(
      {{"application", "demo"},
       {"name", "p"},
       {"expectedArtifacts",
        Json::array({{{"id", "srv-image"},
                      {"displayName", "srv image"},
                      {"matchArtifact",
                       {{"type", "local/image"}, {"name", "srv-.*"}}}}})},
       {"stages", Json::array({Deploy(cluster)})}},
      {{"type", "manual"},
       {"expectedArtifactIds", {"srv-image"}},
       {"artifacts", Json::array({image})}},
      o);
  ASSERT_TRUE(exec.ok()) << exec.status();
  ASSERT_TRUE(store_.Create(*exec, "", {StartMessage(*exec)}).ok());
  Run();
  Json e = Get(String(*exec, "id"));
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(G("demo-prod-v000")["imageId"], "sha256:2020");
  EXPECT_EQ(G("demo-prod-v000")["image"]["name"], "srv-2.0.0-all-1-local");
  EXPECT_EQ(Stage(e, "createServerGroup")["context"]["imageArtifact"], image);
}

TEST_F(CloudStagesTest, InfrastructureOrchestrations) {
  cd_.AddGroup("demo-prod", 0, Cap(2, 2, 2));
  std::string instance = String(G("demo-prod-v000")["instances"][0], "id");
  LaunchOptions o;
  o.now_ms = clock_.NowMs();
  auto exec =
      BuildOrchestration("demo", "infra",
                         Json::array({{{"type", "upsertSecurityGroup"},
                                       {"name", "demo-sg"},
                                       {"credentials", "local"},
                                       {"inboundRules", Json::array()}},
                                      {{"type", "upsertLoadBalancer"},
                                       {"name", "demo-lb"},
                                       {"credentials", "local"},
                                       {"listeners", {{{"port", 8080}}}},
                                       {"securityGroups", {"demo-sg"}}},
                                      {{"type", "terminateInstances"},
                                       {"credentials", "local"},
                                       {"serverGroupName", "demo-prod-v000"},
                                       {"instanceIds", {instance}}},
                                      {{"type", "deleteLoadBalancer"},
                                       {"loadBalancerName", "demo-lb"},
                                       {"credentials", "local"}}}),
                         Json::object(), o);
  ASSERT_TRUE(exec.ok()) << exec.status();
  ASSERT_TRUE(store_.Create(*exec, "", {StartMessage(*exec)}).ok());
  Run();
  Json e = Get(String(*exec, "id"));
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_TRUE(cd_.security_groups.count("demo-sg"));
  EXPECT_TRUE(cd_.load_balancers.empty());  // upserted, then deleted
  EXPECT_EQ(G("demo-prod-v000")["instances"].size(), 1u);
  ASSERT_EQ(cd_.executed.size(), 4u);
  EXPECT_EQ(cd_.executed[1]["description"]["listeners"][0]["port"], 8080);
  EXPECT_EQ(cd_.executed[1]["account"], "local");

  auto missing = BuildOrchestration(
      "demo", "bad",
      Json::array(
          {{{"type", "deleteSecurityGroup"}, {"credentials", "local"}}}),
      Json::object(), o);
  ASSERT_TRUE(missing.ok());
  ASSERT_TRUE(store_.Create(*missing, "", {StartMessage(*missing)}).ok());
  Run();
  Json m = Get(String(*missing, "id"));
  EXPECT_EQ(String(m, "status"), "TERMINAL");
  EXPECT_EQ(Error(m["stages"][0]),
            "deleteSecurityGroup needs 'securityGroupName'");
}

TEST(CloudStagesWithoutClouddriverTest, FailWithAClearMessage) {
  ManualClock clock;
  MemoryStore store(&clock);
  Registry registry;
  RegisterBuiltinStages(&registry, StageDeps{});
  Engine engine(&store, &registry, &clock, nullptr);
  LaunchOptions o;
  o.now_ms = clock.NowMs();
  auto exec = BuildPipelineExecution(
      {{"application", "demo"}, {"stages", {Deploy(Cluster("none"))}}},
      Json::object(), o);
  ASSERT_TRUE(exec.ok());
  ASSERT_TRUE(store.Create(*exec, "", {StartMessage(*exec)}).ok());
  for (int i = 0; i < 100; ++i) {
    auto r = engine.ProcessOne();
    ASSERT_TRUE(r.ok());
    if (!*r) break;
  }
  auto e = store.Get(String(*exec, "id"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(String(*e, "status"), "TERMINAL");
  std::string error;
  for (const Json& s : (*e)["stages"]) {
    if (String(s, "type") == "createServerGroup") {
      error = String(s["context"]["exception"]["details"], "error");
    }
  }
  EXPECT_NE(error.find("clouddriver is not configured"), std::string::npos)
      << error;
}

}  // namespace
}  // namespace gennaker::orca
