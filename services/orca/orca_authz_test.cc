// Authorization in orca, with fiat replaced by a map of permission sets:
// starts need EXECUTE on the application (nothing stored otherwise), an
// execution's tasks act as its authentication.user (what clouddriver sees as
// x-spinnaker-user; a trigger's runAsUser only through the caller), deploys
// need WRITE on the target account (TERMINAL, no clouddriver call; retried
// while fiat is unavailable), manual judgments need one of the stage's
// required roles; with authorization disabled nothing changes.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/fiat/authorizer.h"
#include "common/log/call_context.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/orca/clouddriver_client.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/engine_test_util.h"
#include "services/orca/engine/memory_store.h"
#include "services/orca/front50_client.h"
#include "services/orca/orca_api.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/fake_clouddriver.h"

namespace gennaker::orca {
namespace {

namespace fv1 = ::gennaker::fiat::v1;
using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::HasSubstr;
using Users = std::vector<std::string>;

// fiat's permission sets by user; can be made unavailable.
struct FiatState {
  std::map<std::string, fv1::UserPermission> users;
  absl::Status error = absl::OkStatus();
};

class MapSource : public fiat::PermissionSource {
 public:
  explicit MapSource(FiatState* state) : state_(state) {}
  absl::StatusOr<fv1::UserPermission> Get(const std::string& user) override {
    if (!state_->error.ok()) return state_->error;
    auto it = state_->users.find(user);
    if (it == state_->users.end()) {
      return absl::NotFoundError("unknown user " + user);
    }
    return it->second;
  }

 private:
  FiatState* state_;
};

fv1::UserPermission User(const std::string& name, Users execute_apps,
                         Users write_accounts, Users roles,
                         bool admin = false) {
  fv1::UserPermission p;
  p.set_name(name);
  p.set_admin(admin);
  for (const std::string& a : execute_apps) {
    fv1::ResourceView* v = p.add_applications();
    v->set_name(a);
    v->add_authorizations(fv1::AUTHORIZATION_READ);
    v->add_authorizations(fv1::AUTHORIZATION_EXECUTE);
  }
  for (const std::string& a : write_accounts) {
    fv1::ResourceView* v = p.add_accounts();
    v->set_name(a);
    v->add_authorizations(fv1::AUTHORIZATION_WRITE);
  }
  for (const std::string& r : roles) p.add_roles()->set_name(r);
  return p;
}

Json Deploy(const std::string& account, const std::string& ref = "1",
            std::vector<std::string> req = {}) {
  return {{"refId", ref},
          {"type", "deploy"},
          {"name", "Deploy"},
          {"requisiteStageRefIds", req},
          {"clusters",
           Json::array({{{"application", "demo"},
                         {"stack", "prod"},
                         {"credentials", account},
                         {"cloudProvider", "local"},
                         {"availabilityZones", {{"localhost", {"localhost"}}}},
                         {"capacity", {{"min", 1}, {"max", 1}, {"desired", 1}}},
                         {"command", {"srv", "v2"}},
                         {"strategy", "none"}}})}};
}

Json Judgment(Json extra = Json::object(), const std::string& ref = "1") {
  Json s = {{"refId", ref},
            {"type", "manualJudgment"},
            {"name", "judge"},
            {"requisiteStageRefIds", Json::array()}};
  for (auto it = extra.begin(); it != extra.end(); ++it) s[it.key()] = *it;
  return s;
}

// Which applications front50 has (all the API asks of it here).
class AppsFront50 : public Front50 {
 public:
  absl::StatusOr<Json> PipelineById(const std::string& id) override {
    auto it = pipelines.find(id);
    if (it == pipelines.end()) return absl::NotFoundError("no pipeline " + id);
    return it->second;
  }
  absl::StatusOr<Json> PipelineByName(const std::string&,
                                      const std::string&) override {
    return absl::NotFoundError("no pipelines");
  }
  absl::StatusOr<bool> ApplicationExists(const std::string& name) override {
    return apps.count(name) > 0;
  }
  absl::Status UpsertApplication(const Json&) override {
    return absl::OkStatus();
  }
  absl::Status PutApplicationPermissions(const std::string&,
                                         const Json&) override {
    return absl::OkStatus();
  }
  absl::Status UpdateApplication(const Json&) override {
    return absl::OkStatus();
  }
  absl::Status DeleteApplication(const std::string& name) override {
    deleted.push_back(name);
    return absl::OkStatus();
  }
  absl::Status UpsertProject(const Json&) override { return absl::OkStatus(); }
  absl::Status DeleteProject(const std::string&) override {
    return absl::OkStatus();
  }
  std::set<std::string> apps = {"demo", "other"};
  std::map<std::string, Json> pipelines;
  std::vector<std::string> deleted;
};

class OrcaAuthzTest : public ::testing::Test {
 protected:
  OrcaAuthzTest() : store_(&clock_) {
    fiat_.users["svc"] = User("svc", {"demo"}, {"local"}, {"deployers"});
    fiat_.users["bob"] = User("bob", {"demo"}, {}, {"team-b"});
    fiat_.users["alice"] = User("alice", {"demo"}, {}, {"team-a"});
    fiat_.users["root"] = User("root", {}, {}, {}, /*admin=*/true);
    // What anyone fiat does not know may do: nothing restricted.
    fiat_.users["anonymous"] = User("anonymous", {}, {}, {});
  }

  // Wires the stages and the API; with `enabled`, through an Authorizer
  // asking `fiat_` (as orca_server.cc does).
  void Build(bool enabled) {
    if (enabled) {
      common::v1::AuthorizationConfig config;
      config.set_enabled(true);
      authorizer_ = std::make_shared<fiat::Authorizer>(
          std::make_unique<MapSource>(&fiat_), config);
      checked_ = WithAccountChecks(&cd_, authorizer_);
    } else {
      authorizer_ = fiat::Authorizer::Disabled();
    }
    StageDeps deps;
    deps.front50 = &front50_;
    deps.authorizer = authorizer_.get();
    deps.clouddriver = enabled ? checked_.get() : &cd_;
    RegisterBuiltinStages(&registry_, deps);
    engine_ = std::make_unique<Engine>(&store_, &registry_, &clock_, nullptr);
    api_ = std::make_unique<OrcaApi>(engine_.get(), &store_, &front50_, &clock_,
                                     authorizer_);
  }

  absl::StatusOr<Started> Start(Json stages, const std::string& caller,
                                Json trigger = Json::object()) {
    PipelineStart start;
    start.source = PipelineSource::kConfig;
    start.config_json =
        Json({{"application", "demo"}, {"name", "p"}, {"stages", stages}})
            .dump();
    start.trigger_json = trigger.dump();
    return api_->StartPipeline(start, caller);
  }

  void Run(int64_t horizon_ms = 600000) {
    testing::RunUntilSettled(engine_.get(), &store_, &clock_, horizon_ms,
                             20000);
  }
  Json Get(const std::string& id) { return testing::GetExecution(&store_, id); }

  static Json Stage(const Json& e, const std::string& type) {
    for (const Json& s : e["stages"]) {
      if (String(s, "type") == type) return s;
    }
    return nullptr;
  }
  static std::string Error(const Json& stage) {
    const Json& c = stage["context"];
    if (!c.contains("exception")) return "";
    return String(c["exception"]["details"], "error");
  }
  size_t Stored() {
    ExecutionQuery q;
    q.application = "demo";
    auto list = store_.List(q);
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? list->size() : 0;
  }
  absl::StatusOr<Json> Judge(const std::string& id, const std::string& judge,
                             const std::string& decision = "continue") {
    StageUpdate u;
    u.judgment_status = decision;
    return api_->UpdateStage(id, String(Stage(Get(id), "manualJudgment"), "id"),
                             u, judge, judge);
  }

  FiatState fiat_;
  testing::ManualClock clock_;
  AppsFront50 front50_;
  MemoryStore store_;
  FakeCloudDriver cd_;
  Registry registry_;
  std::shared_ptr<fiat::Authorizer> authorizer_;
  std::unique_ptr<CloudDriver> checked_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<OrcaApi> api_;
};

TEST_F(OrcaAuthzTest, StartWithoutExecuteIsRefusedAndNothingIsStored) {
  Build(true);
  // carol is unknown to fiat: she may do what anonymous may (nothing here).
  EXPECT_THAT(Start({Deploy("local")}, "carol"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "Access denied to application 'demo': user 'carol' "
                       "lacks EXECUTE"));
  EXPECT_THAT(Start({Deploy("local")}, ""),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("user 'anonymous' lacks EXECUTE")));
  OrchestrationStart task;
  task.application = "demo";
  task.description = "resize";
  task.jobs_json = R"([{"type": "wait", "waitTime": 1}])";
  EXPECT_THAT(api_->StartOrchestration(task, "carol"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("lacks EXECUTE")));
  EXPECT_EQ(Stored(), 0u);
  EXPECT_EQ(store_.QueueSize(), 0);
  // With EXECUTE it starts.
  EXPECT_THAT(api_->StartOrchestration(task, "bob"), IsOk());
  EXPECT_EQ(Stored(), 1u);
}

// Application jobs: creating an application front50 does not have needs no
// permission on it (gate asked fiat's AuthorizeCreate); an upsert over an
// existing one, an update or a delete needs WRITE, which EXECUTE is not.
TEST_F(OrcaAuthzTest, ApplicationJobsNeedWriteUnlessTheyCreate) {
  Build(true);
  auto task = [](const std::string& app, const std::string& type) {
    OrchestrationStart t;
    t.application = app;
    t.description = type;
    t.jobs_json =
        Json::array({{{"type", type}, {"application", {{"name", app}}}}})
            .dump();
    return t;
  };
  EXPECT_THAT(
      api_->StartOrchestration(task("newapp", "createApplication"), "bob"),
      IsOk());
  for (const char* type :
       {"createApplication", "updateApplication", "deleteApplication"}) {
    SCOPED_TRACE(type);
    EXPECT_THAT(api_->StartOrchestration(task("demo", type), "bob"),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         "Access denied to application 'demo': user 'bob' "
                         "lacks WRITE"));
  }
  EXPECT_EQ(Stored(), 0u);  // of demo: nothing of the refused ones
  fv1::ResourceView* demo = fiat_.users["bob"].mutable_applications(0);
  demo->add_authorizations(fv1::AUTHORIZATION_WRITE);
  authorizer_->Invalidate("bob");
  EXPECT_THAT(
      api_->StartOrchestration(task("demo", "updateApplication"), "bob"),
      IsOk());
}

TEST_F(OrcaAuthzTest, FiatDownRefusesStartsAsUnavailable) {
  Build(true);
  fiat_.error = absl::UnavailableError("connection refused");
  EXPECT_THAT(Start({Deploy("local")}, "svc"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(Stored(), 0u);
}

TEST_F(OrcaAuthzTest, TasksRunAsTheExecutionUserAndClouddriverSeesIt) {
  Build(true);
  // Echo starts a triggered pipeline as the trigger's runAsUser.
  auto started =
      Start({Deploy("local")}, "svc", {{"type", "cron"}, {"runAsUser", "svc"}});
  ASSERT_THAT(started, IsOk());
  Json e = Get(started->id);
  EXPECT_EQ(e["authentication"]["user"], "svc");
  // The test thread has no user of its own: the engine installs the
  // execution's for its tasks, and restores the thread's afterwards.
  ASSERT_EQ(CurrentCallContext().user, "");
  Run();
  e = Get(started->id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  ASSERT_FALSE(cd_.submit_users.empty());
  for (const std::string& u : cd_.submit_users) EXPECT_EQ(u, "svc");
  EXPECT_EQ(CurrentCallContext().user, "");
}

TEST_F(OrcaAuthzTest, ARunAsUserOfAnotherCallerIsNotTaken) {
  Build(true);
  // Gate starting a pipeline for bob whose trigger names a service account:
  // the execution is bob's, and bob may not deploy to "local".
  auto started = Start({Deploy("local")}, "bob",
                       {{"type", "manual"}, {"runAsUser", "svc"}});
  ASSERT_THAT(started, IsOk());
  EXPECT_EQ(Get(started->id)["authentication"]["user"], "bob");
  Run();
  Json e = Get(started->id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_EQ(Error(Stage(e, "createServerGroup")),
            "Access denied to account 'local': user 'bob' lacks WRITE");
  EXPECT_EQ(cd_.submit_calls, 0);
}

TEST_F(OrcaAuthzTest, DeployToAnAccountWithoutWriteFailsWithoutCallingIt) {
  Build(true);
  auto started = Start({Deploy("prod")}, "svc");
  ASSERT_THAT(started, IsOk());
  Run();
  Json e = Get(started->id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  Json create = Stage(e, "createServerGroup");
  EXPECT_EQ(String(create, "status"), "TERMINAL");
  EXPECT_EQ(Error(create),
            "Access denied to account 'prod': user 'svc' lacks WRITE");
  EXPECT_EQ(cd_.submit_calls, 0);
  EXPECT_TRUE(cd_.groups.empty());
}

TEST_F(OrcaAuthzTest, DeployWaitsWhileFiatIsUnavailable) {
  Build(true);
  auto started = Start({Deploy("local")}, "svc");
  ASSERT_THAT(started, IsOk());
  authorizer_->Invalidate("svc");  // the start's answer is cached
  fiat_.error = absl::UnavailableError("connection refused");
  Run(20000);
  Json e = Get(started->id);
  EXPECT_EQ(String(e, "status"), "RUNNING");
  Json create = Stage(e, "createServerGroup");
  EXPECT_EQ(String(create, "status"), "RUNNING");
  EXPECT_THAT(String(create["context"], "lastClouddriverError"),
              HasSubstr("authorization service unavailable"));
  EXPECT_EQ(cd_.submit_calls, 0);
  // fiat is back: the deploy goes on.
  fiat_.error = absl::OkStatus();
  Run();
  e = Get(started->id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(cd_.submit_users.front(), "svc");
}

TEST_F(OrcaAuthzTest, JudgmentNeedsOneOfTheRequiredRoles) {
  Build(true);
  auto started =
      Start({Judgment({{"requiredJudgmentRoles", {"Team-A", "ops"}}}),
             Deploy("local", "2", {"1"})},
            "svc");
  ASSERT_THAT(started, IsOk());
  Run(60000);
  ASSERT_EQ(String(Stage(Get(started->id), "manualJudgment"), "status"),
            "RUNNING");
  EXPECT_THAT(Judge(started->id, "bob"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "user 'bob' holds none of the roles required to "
                       "judge this stage: [team-a, ops]"));
  // Also when the decision comes as a context patch.
  StageUpdate patch;
  patch.context_patch_json = R"({"judgmentStatus": "stop"})";
  EXPECT_THAT(
      api_->UpdateStage(started->id,
                        String(Stage(Get(started->id), "manualJudgment"), "id"),
                        patch, "bob", "bob"),
      StatusIs(absl::StatusCode::kPermissionDenied));
  Json judgment = Stage(Get(started->id), "manualJudgment");
  EXPECT_FALSE(judgment["context"].contains("judgmentStatus"));
  EXPECT_FALSE(judgment["context"].contains("lastModifiedBy"));
  // alice holds team-a (roles compare ignoring case).
  ASSERT_THAT(Judge(started->id, "alice"), IsOk());
  Run();
  Json e = Get(started->id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(Stage(e, "manualJudgment")["context"]["lastModifiedBy"], "alice");
  // The deploy after the judgment still ran as the execution's user.
  ASSERT_FALSE(cd_.submit_users.empty());
  for (const std::string& u : cd_.submit_users) EXPECT_EQ(u, "svc");
}

TEST_F(OrcaAuthzTest, AdminsJudgeAndDecksSelectedStageRolesCount) {
  Build(true);
  auto started = Start({Judgment({{"selectedStageRoles", {"team-a"}}})}, "svc");
  ASSERT_THAT(started, IsOk());
  Run(60000);
  EXPECT_THAT(
      Judge(started->id, "bob"),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("[team-a]")));
  ASSERT_THAT(Judge(started->id, "root", "stop"), IsOk());
  Run();
  EXPECT_EQ(String(Get(started->id), "status"), "TERMINAL");
}

TEST_F(OrcaAuthzTest, JudgmentWithoutRequiredRolesIsOpen) {
  Build(true);
  auto started =
      Start({Judgment({{"requiredJudgmentRoles", Json::array()}})}, "svc");
  ASSERT_THAT(started, IsOk());
  Run(60000);
  ASSERT_THAT(Judge(started->id, "bob"), IsOk());
  Run();
  EXPECT_EQ(String(Get(started->id), "status"), "SUCCEEDED");
}

Json AppStage(const std::string& type, const Json& application,
              const std::string& ref = "1") {
  return {{"refId", ref},
          {"type", type},
          {"name", type},
          {"requisiteStageRefIds", Json::array()},
          {"application", application}};
}

// A task's jobs are checked against the application each job acts on, not
// only the task's own.
TEST_F(OrcaAuthzTest, OrchestrationJobsAreCheckedOnTheirOwnApplication) {
  Build(true);
  OrchestrationStart t;
  t.application = "demo";  // bob may execute demo
  t.description = "sneaky";
  for (const Json& app : {Json("other"), Json({{"name", "other"}})}) {
    SCOPED_TRACE(app.dump());
    t.jobs_json =
        Json::array({{{"type", "deleteApplication"}, {"application", app}}})
            .dump();
    EXPECT_THAT(api_->StartOrchestration(t, "bob"),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         "Access denied to application 'other': user 'bob' "
                         "lacks WRITE"));
  }
  t.jobs_json = Json::array({{{"type", "upsertApplication"},
                              {"application", {{"name", "other"}}}}})
                    .dump();
  EXPECT_THAT(api_->StartOrchestration(t, "bob"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("'other': user 'bob' lacks WRITE")));
  EXPECT_EQ(Stored(), 0u);
  // Creating an application front50 does not have is gate's to authorize.
  t.jobs_json = Json::array({{{"type", "createApplication"},
                              {"application", {{"name", "brandnew"}}}}})
                    .dump();
  EXPECT_THAT(api_->StartOrchestration(t, "bob"), IsOk());
}

// Inside a pipeline the application stages are checked by the tasks, as the
// execution's user, on the application they act on.
TEST_F(OrcaAuthzTest, ApplicationStagesInAPipelineNeedWriteOnTheirTarget) {
  Build(true);
  auto started = Start({AppStage("deleteApplication", "other")}, "bob");
  ASSERT_THAT(started, IsOk());
  Run();
  Json e = Get(started->id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_EQ(Error(Stage(e, "deleteApplication")),
            "Access denied to application 'other': user 'bob' lacks WRITE");
  EXPECT_TRUE(front50_.deleted.empty());
  for (const char* type :
       {"upsertApplication", "createApplication", "updateApplication"}) {
    SCOPED_TRACE(type);
    started = Start({AppStage(type, {{"name", "other"}})}, "bob");
    ASSERT_THAT(started, IsOk());
    Run();
    e = Get(started->id);
    EXPECT_EQ(String(e, "status"), "TERMINAL");
    EXPECT_EQ(Error(Stage(e, type)),
              "Access denied to application 'other': user 'bob' lacks WRITE");
  }
  // A missing application may be created.
  started = Start({AppStage("createApplication", {{"name", "fresh"}})}, "bob");
  ASSERT_THAT(started, IsOk());
  Run();
  EXPECT_EQ(String(Get(started->id), "status"), "SUCCEEDED");
  // While fiat cannot answer, the task waits.
  started = Start({AppStage("deleteApplication", "other")}, "svc");
  ASSERT_THAT(started, IsOk());
  fiat_.error = absl::UnavailableError("connection refused");
  authorizer_->Invalidate("svc");
  Run(20000);
  EXPECT_EQ(String(Get(started->id), "status"), "RUNNING");
  EXPECT_TRUE(front50_.deleted.empty());
  // With WRITE it acts.
  fiat_.error = absl::OkStatus();
  fiat_.users["svc"].add_applications()->set_name("other");
  fiat_.users["svc"].mutable_applications(1)->add_authorizations(
      fv1::AUTHORIZATION_WRITE);
  authorizer_->Invalidate("svc");
  Run();
  EXPECT_EQ(String(Get(started->id), "status"), "SUCCEEDED");
  EXPECT_EQ(front50_.deleted, Users{"other"});
}

TEST_F(OrcaAuthzTest, JudgmentRolesCannotBePatchedAway) {
  Build(true);
  auto started = Start({Judgment({{"requiredJudgmentRoles", {"team-a"}},
                                  {"selectedStageRoles", {"team-a"}}})},
                       "svc");
  ASSERT_THAT(started, IsOk());
  Run(60000);
  const std::string stage_id =
      String(Stage(Get(started->id), "manualJudgment"), "id");
  for (const char* patch :
       {R"({"requiredJudgmentRoles": []})", R"({"selectedStageRoles": ""})"}) {
    SCOPED_TRACE(patch);
    StageUpdate u;
    u.context_patch_json = patch;
    EXPECT_THAT(api_->UpdateStage(started->id, stage_id, u, "root", "root"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("may not change")));
  }
  // Any other update of the judgment needs a judge too.
  StageUpdate input;
  input.context_patch_json = R"({"judgmentInput": "yes"})";
  EXPECT_THAT(
      api_->UpdateStage(started->id, stage_id, input, "bob", "bob"),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("[team-a]")));
  Json judgment = Stage(Get(started->id), "manualJudgment");
  EXPECT_EQ(judgment["context"]["requiredJudgmentRoles"], Json({"team-a"}));
  EXPECT_FALSE(judgment["context"].contains("judgmentInput"));
  EXPECT_THAT(Judge(started->id, "bob"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Judge(started->id, "alice"), IsOk());
}

TEST_F(OrcaAuthzTest, ChildPipelineNeedsExecuteOnItsApplication) {
  Build(true);
  front50_.pipelines["secret-p"] = {
      {"id", "secret-p"},
      {"application", "other"},
      {"name", "secret"},
      {"stages", Json::array({{{"refId", "1"},
                               {"type", "wait"},
                               {"name", "w"},
                               {"waitTime", 1}}})}};
  front50_.pipelines["demo-p"] = front50_.pipelines["secret-p"];
  front50_.pipelines["demo-p"]["id"] = "demo-p";
  front50_.pipelines["demo-p"]["application"] = "demo";
  Json child = {{"refId", "1"},
                {"type", "pipeline"},
                {"name", "child"},
                {"requisiteStageRefIds", Json::array()},
                {"application", "other"},
                {"pipeline", "secret-p"},
                {"waitForCompletion", false}};
  auto started = Start({child}, "bob");
  ASSERT_THAT(started, IsOk());
  Run();
  Json e = Get(started->id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_EQ(Error(Stage(e, "pipeline")),
            "Could not start the child pipeline: Access denied to "
            "application 'other': user 'bob' lacks EXECUTE");
  ExecutionQuery q;
  q.application = "other";
  EXPECT_TRUE(store_.List(q)->empty());
  // A child bob may execute starts.
  child["pipeline"] = "demo-p";
  started = Start({child}, "bob");
  ASSERT_THAT(started, IsOk());
  Run();
  EXPECT_EQ(String(Get(started->id), "status"), "SUCCEEDED");
}

// Controlling an execution needs EXECUTE on its application (deleting it
// WRITE) for the caller, and a stage update may only carry the judgment and
// skip keys.
TEST_F(OrcaAuthzTest, ControlCallsNeedExecuteAndPatchesAreLimited) {
  Build(true);
  auto started = Start({Judgment(), Deploy("local", "2", {"1"})}, "svc");
  ASSERT_THAT(started, IsOk());
  Run(60000);
  const std::string id = started->id;
  const std::string stage_id = String(Stage(Get(id), "manualJudgment"), "id");
  {
    ScopedCallContext as_carol({"", "carol", ""});
    const auto denied = StatusIs(absl::StatusCode::kPermissionDenied,
                                 "Access denied to application 'demo': user "
                                 "'carol' lacks EXECUTE");
    EXPECT_THAT(api_->Pause(id, "carol"), denied);
    EXPECT_THAT(api_->Resume(id, "carol", false), denied);
    EXPECT_THAT(api_->RestartStage(id, stage_id, "carol", ""), denied);
    EXPECT_THAT(api_->Cancel(id, "carol", "no"), denied);
    // The user a request names is recorded, never trusted.
    EXPECT_THAT(api_->Cancel(id, "svc", "no"), denied);
    StageUpdate skip;
    skip.skip_remaining_wait = true;
    EXPECT_THAT(api_->UpdateStage(id, stage_id, skip, "carol", "carol"),
                denied);
  }
  EXPECT_EQ(String(Get(id), "status"), "RUNNING");
  // A patch may not rewrite what a stage acts on.
  StageUpdate rewrite;
  rewrite.context_patch_json = R"({"judgmentStatus": "continue",
                                   "clusters": []})";
  EXPECT_THAT(
      api_->UpdateStage(id, stage_id, rewrite, "svc", "svc"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'clusters'")));
  {
    ScopedCallContext as_bob({"", "bob", ""});
    ASSERT_THAT(api_->Cancel(id, "bob", "stop"), IsOk());
    Run();
    ASSERT_EQ(String(Get(id), "status"), "CANCELED");
    // Deleting needs WRITE, which bob's EXECUTE is not.
    EXPECT_THAT(api_->Delete(id, ""),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         HasSubstr("lacks WRITE")));
  }
  ScopedCallContext as_root({"", "root", ""});
  EXPECT_THAT(api_->Delete(id, ""), IsOk());
}

TEST_F(OrcaAuthzTest, DisabledChecksNothing) {
  Build(false);
  // Nobody fiat would know, a deploy to an account no one may write, a
  // judgment with roles nobody holds: all as before.
  auto started = Start({Judgment({{"requiredJudgmentRoles", {"nobody"}}}),
                        Deploy("prod", "2", {"1"})},
                       "carol");
  ASSERT_THAT(started, IsOk());
  Run(60000);
  // Any patch, by anyone.
  StageUpdate patch;
  patch.context_patch_json = R"({"note": "x"})";
  EXPECT_THAT(
      api_->UpdateStage(started->id,
                        String(Stage(Get(started->id), "manualJudgment"), "id"),
                        patch, "erin", "erin"),
      IsOk());
  ASSERT_THAT(Judge(started->id, "dave"), IsOk());
  Run();
  Json e = Get(started->id);
  EXPECT_EQ(String(e, "status"), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(Stage(e, "manualJudgment")["context"]["lastModifiedBy"], "dave");
  ASSERT_FALSE(cd_.submit_users.empty());
  EXPECT_EQ(cd_.submit_users.front(), "carol");
}

}  // namespace
}  // namespace gennaker::orca
