// End to end through gate's REST API the way spin and Deck drive executions:
// real gate routes, real orca (engine, workers, PostgreSQL queue), real
// front50, real HTTP for webhooks. Save, execute, poll, judge, succeed;
// cancel; pause/resume; restart; child pipelines; webhooks; ad-hoc tasks;
// bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/grpc_server.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/service/service_main.h"
#include "common/testing/test_stores.h"
#include "gennaker/orca/v1/config.pb.h"
#include "nlohmann/json.hpp"
#include "services/front50/front50_core.h"
#include "services/orca/orca_server.h"
#include "tests/support/counting_server.h"
#include "tests/support/front50_server.h"
#include "tests/support/gate_fixture.h"

namespace gennaker {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

class GateOrcaTest : public testing::GateRestTest {
 protected:
  static void SetUpTestSuite() {
    auto f50 = testing::Front50Server::Start();
    ASSERT_TRUE(f50.ok()) << f50.status();
    front50_ = f50->release();
    core_ = front50_->core();
    std::string f50_address = front50_->address();
    const std::string dsn = front50_->dsn();

    orca::v1::OrcaConfig config;
    orca::ApplyOrcaDefaults(&config);
    config.mutable_postgres()->set_dsn(dsn);
    config.mutable_postgres()->set_pool_size(4);
    config.mutable_postgres()->set_connect_timeout_seconds(5);
    config.mutable_services()->mutable_front50()->set_address(f50_address);
    config.mutable_engine()->set_worker_threads(2);
    config.mutable_engine()->set_safety_poll_ms(500);
    // The webhook receiver (hooks_) runs on loopback, which the outbound
    // policy refuses unless the operator allows it.
    config.mutable_outbound()->set_allow_loopback(true);
    ASSERT_TRUE(orca::ValidateConfig(config).ok());
    auto built = orca::BuildOrca(config, nullptr);
    ASSERT_TRUE(built.ok()) << built.status();
    orca_ = built->release();
    GrpcServerOptions g;
    g.unimplemented_area = "not built yet";
    auto server = GrpcServer::Start(g, orca_->GrpcServices());
    ASSERT_TRUE(server.ok());
    orca_grpc_ = server->release();
    ASSERT_TRUE(orca_->StartExtra().ok());

    testing::GateRestOptions gate;
    gate.front50 = f50_address;
    gate.orca = absl::StrCat("127.0.0.1:", orca_grpc_->port());
    gate.clouddriver = f50_address;
    gate.rest.version = "9.9.9";
    gate.http.threads = 4;
    StartGate(gate);
    hooks_ = testing::CountingServer::Start(2).release();
    ASSERT_NE(hooks_, nullptr);
  }

  static void TearDownTestSuite() {
    StopGate();
    orca_->Stop();
    delete orca_grpc_;
    delete orca_;
    delete front50_;
    delete hooks_;
  }

  static Json JsonOf(const http::ClientResponse& r) {
    Json j = Json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.status << " " << r.body;
    return j;
  }

  static void CreateApp(const std::string& name) {
    testing::CreateApplication(core_, name);
  }

  static void SavePipeline(Json config) {
    auto r = Call("POST", "/pipelines", config.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }

  static std::string IdFromRef(const Json& j) {
    std::string ref = j["ref"];
    return ref.substr(ref.rfind('/') + 1);
  }

  // Polls GET path until `done(json)` or 20 s.
  static Json PollUntil(const std::string& path,
                        const std::function<bool(const Json&)>& done) {
    Json last;
    for (int i = 0; i < 400; ++i) {
      auto r = Call("GET", path);
      if (r.status == 200) {
        last = JsonOf(r);
        if (done(last)) return last;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "timed out polling " << path << ": " << last.dump();
    return last;
  }

  static Json StatusIs(const std::string& id, const std::string& status) {
    return PollUntil("/pipelines/" + id,
                     [&](const Json& j) { return j["status"] == status; });
  }

  static const Json& StageByRef(const Json& e, const std::string& ref) {
    for (const Json& s : e["stages"]) {
      if (s["refId"] == ref) return s;
    }
    static Json none;
    return none;
  }

  static bool HasNull(const Json& j) {
    if (j.is_null()) return true;
    if (j.is_structured()) {
      for (const Json& v : j) {
        if (HasNull(v)) return true;
      }
    }
    return false;
  }

  static inline testing::Front50Server* front50_;
  static inline front50::Front50Core* core_;
  static inline ServiceInstance* orca_;
  static inline GrpcServer* orca_grpc_;
  static inline testing::CountingServer* hooks_;
};

TEST_F(GateOrcaTest, SaveExecutePollJudgeSucceed) {
  CreateApp("judged");
  SavePipeline(
      {{"application", "judged"},
       {"name", "Deploy With Approval"},
       {"parameterConfig",
        Json::array({{{"name", "env"}, {"default", "staging"}}})},
       {"stages",
        Json::array({{{"refId", "1"}, {"type", "wait"}, {"waitTime", 0}},
                     {{"refId", "2"},
                      {"type", "manualJudgment"},
                      {"name", "Approve"},
                      {"instructions", "Ship ${parameters.env}?"},
                      {"judgmentInputs", Json::array({{{"value", "yes"}}})},
                      {"requisiteStageRefIds", {"1"}}},
                     {{"refId", "3"},
                      {"type", "evaluateVariables"},
                      {"variables",
                       Json::array({{{"key", "choice"},
                                     {"value", "${#judgment('Approve')}"}}})},
                      {"requisiteStageRefIds", {"2"}}}})}});
  // spin: POST /pipelines/{app}/{name} must answer 202 with a ref.
  auto started = Call("POST", "/pipelines/judged/Deploy%20With%20Approval",
                      R"({"type":"manual","parameters":{"env":"prod"}})");
  ASSERT_EQ(started.status, 202) << started.body;
  std::string id = IdFromRef(JsonOf(started));
  Json e = PollUntil("/pipelines/" + id, [](const Json& j) {
    return StageByRef(j, "2")["status"] == "RUNNING";
  });
  EXPECT_EQ(e["type"], "PIPELINE");
  EXPECT_EQ(e["application"], "judged");
  EXPECT_EQ(e["status"], "RUNNING");
  // gate has no authentication yet: every caller is "anonymous".
  EXPECT_EQ(e["trigger"]["user"], "anonymous");
  EXPECT_EQ(e["trigger"]["parameters"]["env"], "prod");
  EXPECT_EQ(StageByRef(e, "2")["context"]["instructions"], "Ship prod?");
  EXPECT_FALSE(HasNull(e)) << "null fields must be left out";
  EXPECT_FALSE(e.contains("_gennaker"));
  std::string stage_id = StageByRef(e, "2")["id"];

  // Deck: PATCH the judgment; the answer is the updated execution.
  auto judged = Call("PATCH", "/pipelines/" + id + "/stages/" + stage_id,
                     R"({"judgmentStatus":"continue","judgmentInput":"yes"})");
  ASSERT_EQ(judged.status, 200) << judged.body;
  EXPECT_EQ(JsonOf(judged)["id"], id);
  e = StatusIs(id, "SUCCEEDED");
  EXPECT_EQ(StageByRef(e, "2")["status"], "SUCCEEDED");
  EXPECT_EQ(StageByRef(e, "2")["lastModified"]["user"], "anonymous");
  EXPECT_EQ(StageByRef(e, "2")["context"]["lastModifiedBy"], "anonymous");
  EXPECT_EQ(StageByRef(e, "3")["outputs"]["choice"], "yes");
  EXPECT_TRUE(e["endTime"].is_number());

  // Lists: the app's executions (unexpanded) and by config id / execution id.
  auto list = JsonOf(
      Call("GET", "/applications/judged/pipelines?statuses=&expand=false"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_TRUE(list[0]["stages"][0]["tasks"].empty());
  std::string config_id = e["pipelineConfigId"];
  auto by_config =
      JsonOf(Call("GET", "/executions?pipelineConfigIds=" + config_id));
  ASSERT_EQ(by_config.size(), 1u);
  EXPECT_FALSE(by_config[0]["stages"][0]["tasks"].empty());
  auto by_id =
      JsonOf(Call("GET", "/executions?executionIds=" + id + "&limit=1"));
  ASSERT_EQ(by_id.size(), 1u);
  EXPECT_EQ(JsonOf(Call("GET", "/executions")), Json::array());
  auto running =
      JsonOf(Call("GET", "/applications/judged/pipelines?statuses=RUNNING"));
  EXPECT_TRUE(running.empty());
}

TEST_F(GateOrcaTest, DeckTriggerCancelAndDelete) {
  CreateApp("canceled");
  SavePipeline(
      {{"application", "canceled"},
       {"name", "long"},
       {"stages",
        Json::array({{{"refId", "1"}, {"type", "wait"}, {"waitTime", 600}}})}});
  auto started = Call("POST", "/pipelines/v2/canceled/long", "{}");
  ASSERT_EQ(started.status, 202) << started.body;
  Json ref = JsonOf(started);
  EXPECT_FALSE(ref["eventId"].get<std::string>().empty());
  std::string id = IdFromRef(ref);
  EXPECT_EQ(id.size(), 26u);
  StatusIs(id, "RUNNING");
  auto del = Call("DELETE", "/pipelines/" + id);
  EXPECT_EQ(del.status, 400) << "a running execution cannot be deleted";
  auto cancel = Call(
      "PUT", "/pipelines/" + id + "/cancel?reason=no%20longer%20needed", "");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  Json e = StatusIs(id, "CANCELED");
  EXPECT_EQ(e["canceledBy"], "anonymous");
  EXPECT_EQ(e["cancellationReason"], "no longer needed");
  EXPECT_EQ(e["stages"][0]["status"], "CANCELED");
  // spin's literal {application} path segment is accepted.
  EXPECT_EQ(Call("PUT", "/applications/%7Bapplication%7D/pipelines/" + id +
                            "/cancel?reason=")
                .status,
            200);
  EXPECT_EQ(Call("DELETE", "/pipelines/" + id).status, 200);
  EXPECT_EQ(Call("GET", "/pipelines/" + id).status, 404);
}

TEST_F(GateOrcaTest, PauseResumeAndRestart) {
  CreateApp("paused");
  SavePipeline({{"application", "paused"},
                {"name", "p"},
                {"stages", Json::array({{{"refId", "1"},
                                         {"type", "manualJudgment"},
                                         {"name", "gate"}}})}});
  auto started = Call("POST", "/pipelines/paused/p", "{}");
  ASSERT_EQ(started.status, 202);
  std::string id = IdFromRef(JsonOf(started));
  Json e = StatusIs(id, "RUNNING");
  std::string stage_id = e["stages"][0]["id"];
  ASSERT_EQ(Call("PUT", "/pipelines/" + id + "/pause").status, 200);
  e = StatusIs(id, "PAUSED");
  EXPECT_EQ(e["paused"]["pausedBy"], "anonymous");
  EXPECT_EQ(Call("PUT", "/pipelines/" + id + "/pause").status / 100, 4);
  ASSERT_EQ(Call("PUT", "/pipelines/" + id + "/resume").status, 200);
  StatusIs(id, "RUNNING");
  ASSERT_EQ(Call("PATCH", "/pipelines/" + id + "/stages/" + stage_id,
                 R"({"judgmentStatus":"stop"})")
                .status,
            200);
  e = StatusIs(id, "TERMINAL");
  auto restarted = Call(
      "PUT", "/pipelines/" + id + "/stages/" + stage_id + "/restart", "{}");
  ASSERT_EQ(restarted.status, 200) << restarted.body;
  e = PollUntil("/pipelines/" + id, [](const Json& j) {
    return j["status"] == "RUNNING" && j["stages"][0]["status"] == "RUNNING";
  });
  EXPECT_EQ(e["stages"][0]["context"]["restartDetails"]["restartedBy"],
            "anonymous");
  ASSERT_EQ(Call("PATCH", "/pipelines/" + id + "/stages/" + stage_id,
                 R"({"judgmentStatus":"continue"})")
                .status,
            200);
  StatusIs(id, "SUCCEEDED");
}

TEST_F(GateOrcaTest, ChildPipelineWithParameters) {
  CreateApp("family");
  SavePipeline(
      {{"application", "family"},
       {"name", "child"},
       {"parameterConfig",
        Json::array({{{"name", "who"}, {"required", true}},
                     {{"name", "size"}, {"default", "large"}}})},
       {"stages",
        Json::array(
            {{{"refId", "1"},
              {"type", "evaluateVariables"},
              {"variables",
               Json::array(
                   {{{"key", "greeting"},
                     {"value",
                      "hi ${parameters.who} (${parameters.size})"}}})}}})}});
  SavePipeline(
      {{"application", "family"},
       {"name", "parent"},
       {"stages",
        Json::array(
            {{{"refId", "1"},
              {"type", "pipeline"},
              {"application", "family"},
              {"pipeline", "${#pipelineId('child')}"},
              {"pipelineParameters", {{"who", "kid"}}}},
             {{"refId", "2"},
              {"type", "checkPreconditions"},
              {"requisiteStageRefIds", {"1"}},
              {"preconditions",
               Json::array({{{"type", "expression"},
                             {"context",
                              {{"expression",
                                "${greeting == 'hi kid (large)'}"}}}}})}}})}});
  auto started = Call("POST", "/pipelines/family/parent", "{}");
  ASSERT_EQ(started.status, 202);
  std::string id = IdFromRef(JsonOf(started));
  Json e = StatusIs(id, "SUCCEEDED");
  std::string child_id = StageByRef(e, "1")["context"]["executionId"];
  Json child = JsonOf(Call("GET", "/pipelines/" + child_id));
  EXPECT_EQ(child["status"], "SUCCEEDED");
  EXPECT_EQ(child["trigger"]["type"], "pipeline");
  EXPECT_EQ(child["trigger"]["parentExecution"]["id"], id);
  EXPECT_EQ(child["trigger"]["isPipeline"], true);
  EXPECT_EQ(StageByRef(e, "1")["outputs"]["greeting"], "hi kid (large)");
  EXPECT_EQ(StageByRef(e, "2")["status"], "SUCCEEDED");
}

TEST_F(GateOrcaTest, WebhookWaitsForCompletion) {
  CreateApp("hooks");
  SavePipeline(
      {{"application", "hooks"},
       {"name", "call"},
       {"stages",
        Json::array({{{"refId", "1"},
                      {"type", "webhook"},
                      {"url", hooks_->Url("/hook")},
                      {"method", "post"},
                      {"payload", {{"app", "${execution.application}"}}},
                      {"customHeaders", {{"X-Team", "core"}}},
                      {"waitForCompletion", true},
                      {"statusUrlResolution", "getMethod"},
                      {"statusEndpoint", hooks_->Url("/job/a")},
                      {"statusJsonPath", "$.status"},
                      {"progressJsonPath", "$.progress"},
                      {"successStatuses", "SUCCEEDED"},
                      {"terminalStatuses", "FAILED"}}})}});
  int before = hooks_->TotalCalls();
  auto started = Call("POST", "/pipelines/hooks/call", "{}");
  ASSERT_EQ(started.status, 202);
  std::string id = IdFromRef(JsonOf(started));
  Json e = PollUntil("/pipelines/" + id, [](const Json& j) {
    return j["status"] != "RUNNING" && j["status"] != "NOT_STARTED";
  });
  // getMethod polls the call's own URL, which only takes POST here: the
  // monitor fails with a clear message.
  EXPECT_EQ(e["status"], "TERMINAL") << e.dump();
  EXPECT_EQ(hooks_->TotalCalls(), before + 1);
  EXPECT_EQ(Json::parse(hooks_->LastBody())["app"], "hooks");
  EXPECT_EQ(hooks_->LastHeaders()["x-team"], "core");
  EXPECT_THAT(e["stages"][0]["context"]["exception"].dump(),
              HasSubstr("status endpoint answered 405"));

  // webhookResponse resolution with a polled job URL succeeds.
  SavePipeline(
      {{"application", "hooks"},
       {"name", "job"},
       {"stages", Json::array({{{"refId", "1"},
                                {"type", "webhook"},
                                {"url", hooks_->Url("/hook")},
                                {"waitForCompletion", true},
                                {"statusUrlResolution", "locationHeader"},
                                {"statusJsonPath", "$.status"},
                                {"successStatuses", "SUCCEEDED"}}})}});
  // No Location header: falls back to the call's URL, same as above; use the
  // monitor-only mode against the job endpoint instead.
  SavePipeline(
      {{"application", "hooks"},
       {"name", "monitor"},
       {"stages", Json::array({{{"refId", "1"},
                                {"type", "webhook"},
                                {"monitorOnly", true},
                                {"statusEndpoint", hooks_->Url("/job/b")},
                                {"statusJsonPath", "$.status"},
                                {"progressJsonPath", "$.progress"},
                                {"successStatuses", "SUCCEEDED"}}})}});
  auto m = Call("POST", "/pipelines/hooks/monitor", "{}");
  ASSERT_EQ(m.status, 202);
  e = StatusIs(IdFromRef(JsonOf(m)), "SUCCEEDED");
  EXPECT_EQ(e["stages"][0]["context"]["webhook"]["monitor"]["progressMessage"],
            "done");

  // #jsonFromUrl and #fromUrl read over real HTTP while a stage starts.
  SavePipeline(
      {{"application", "hooks"},
       {"name", "fetch"},
       {"stages",
        Json::array(
            {{{"refId", "1"},
              {"type", "evaluateVariables"},
              {"variables",
               Json::array(
                   {{{"key", "job"},
                     {"value", "${#jsonFromUrl('" + hooks_->Url("/job/z") +
                                   "').status}"}},
                    {{"key", "raw"},
                     {"value", "${#fromUrl('" + hooks_->Url("/job/z") +
                                   "').contains('RUNNING')}"}}})}}})}});
  auto f = Call("POST", "/pipelines/hooks/fetch", "{}");
  ASSERT_EQ(f.status, 202);
  e = StatusIs(IdFromRef(JsonOf(f)), "SUCCEEDED");
  EXPECT_EQ(e["stages"][0]["outputs"]["job"], "RUNNING");
  EXPECT_EQ(e["stages"][0]["outputs"]["raw"], true);

  // A reply that is not UTF-8 is stored (with replacement characters) and
  // fails the stage; orca keeps serving.
  SavePipeline({{"application", "hooks"},
                {"name", "latin1"},
                {"stages", Json::array({{{"refId", "1"},
                                         {"type", "webhook"},
                                         {"url", hooks_->Url("/latin1")}}})}});
  auto l = Call("POST", "/pipelines/hooks/latin1", "{}");
  ASSERT_EQ(l.status, 202);
  e = StatusIs(IdFromRef(JsonOf(l)), "TERMINAL");
  EXPECT_EQ(e["stages"][0]["context"]["webhook"]["statusCodeValue"], 400);

  // A 4xx fails the stage; failPipeline false lets the pipeline succeed.
  SavePipeline({{"application", "hooks"},
                {"name", "bad"},
                {"stages", Json::array({{{"refId", "1"},
                                         {"type", "webhook"},
                                         {"url", hooks_->Url("/fail/404")},
                                         {"failPipeline", false}}})}});
  auto b = Call("POST", "/pipelines/hooks/bad", "{}");
  ASSERT_EQ(b.status, 202);
  e = StatusIs(IdFromRef(JsonOf(b)), "SUCCEEDED");
  EXPECT_EQ(e["stages"][0]["status"], "STOPPED");
  EXPECT_EQ(e["stages"][0]["context"]["webhook"]["statusCodeValue"], 404);
}

TEST_F(GateOrcaTest, TasksCreateAndDeleteAnApplication) {
  // spin application save.
  Json task = {{"job", Json::array({{{"type", "createApplication"},
                                     {"application",
                                      {{"name", "fresh"},
                                       {"email", "fresh@example.com"},
                                       {"cloudProviders", "local"}}}}})},
               {"application", "fresh"},
               {"description", "Create Application: fresh"}};
  auto posted = Call("POST", "/tasks", task.dump());
  ASSERT_EQ(posted.status, 200) << posted.body;
  std::string id = IdFromRef(JsonOf(posted));
  Json t = PollUntil("/tasks/" + id,
                     [](const Json& j) { return j["status"] == "SUCCEEDED"; });
  EXPECT_EQ(t["name"], "Create Application: fresh");
  EXPECT_EQ(t["application"], "fresh");
  EXPECT_FALSE(t["steps"].empty());
  EXPECT_EQ(t["execution"]["type"], "ORCHESTRATION");
  auto app = Call("GET", "/applications/fresh");
  ASSERT_EQ(app.status, 200) << app.body;
  EXPECT_EQ(JsonOf(app)["attributes"]["email"], "fresh@example.com");
  // spin application delete.
  Json del = {{"job", Json::array({{{"type", "deleteApplication"},
                                    {"application", {{"name", "fresh"}}}}})},
              {"application", "fresh"},
              {"description", "Delete Application: fresh"}};
  auto d = Call("POST", "/tasks", del.dump());
  ASSERT_EQ(d.status, 200);
  PollUntil("/tasks/" + IdFromRef(JsonOf(d)),
            [](const Json& j) { return j["status"] == "SUCCEEDED"; });
  EXPECT_EQ(Call("GET", "/applications/fresh").status, 404);
  auto tasks = JsonOf(Call("GET", "/applications/fresh/tasks"));
  EXPECT_EQ(tasks.size(), 2u);
}

TEST_F(GateOrcaTest, SpinProjectSaveAndDelete) {
  Json save = {{"job", Json::array({{{"type", "upsertProject"},
                                     {"project",
                                      {{"name", "shop"},
                                       {"email", "shop@example.com"},
                                       {"config",
                                        {{"applications", Json::array()},
                                         {"clusters", Json::array()},
                                         {"pipelineConfigs", Json::array()}}}}},
                                     {"user", "shop@example.com"}}})},
               {"application", "spinnaker"},
               {"project", "shop"},
               {"description", "Create Project: shop"}};
  auto posted = Call("POST", "/tasks", save.dump());
  ASSERT_EQ(posted.status, 200) << posted.body;
  PollUntil("/tasks/" + IdFromRef(JsonOf(posted)),
            [](const Json& j) { return j["status"] == "SUCCEEDED"; });
  auto project = Call("GET", "/projects/shop");
  ASSERT_EQ(project.status, 200) << project.body;
  Json p = JsonOf(project);
  EXPECT_EQ(p["email"], "shop@example.com");
  Json del = {
      {"job", Json::array({{{"type", "deleteProject"}, {"project", p}}})},
      {"application", "spinnaker"},
      {"description", "Delete Project: shop"}};
  auto d = Call("POST", "/tasks", del.dump());
  ASSERT_EQ(d.status, 200) << d.body;
  PollUntil("/tasks/" + IdFromRef(JsonOf(d)),
            [](const Json& j) { return j["status"] == "SUCCEEDED"; });
  EXPECT_EQ(Call("GET", "/projects/shop").status, 404);
}

TEST_F(GateOrcaTest, AppTasksAndTaskCancel) {
  CreateApp("waiting");
  // Deck's deprecated form forces the application from the path.
  auto posted = Call("POST", "/applications/waiting/tasks",
                     R"({"job":[{"type":"wait","waitTime":600}],)"
                     R"("description":"Long wait"})");
  ASSERT_EQ(posted.status, 200) << posted.body;
  std::string id = IdFromRef(JsonOf(posted));
  Json t = PollUntil("/tasks/" + id,
                     [](const Json& j) { return j["status"] == "RUNNING"; });
  EXPECT_EQ(t["application"], "waiting");
  ASSERT_EQ(Call("PUT", "/tasks/" + id + "/cancel").status, 200);
  t = PollUntil("/tasks/" + id,
                [](const Json& j) { return j["status"] == "CANCELED"; });
  EXPECT_EQ(t["execution"]["canceled"], true);
  auto listed = JsonOf(Call("GET", "/applications/waiting/tasks"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], id);
  // Deck pages with limit and page: page 2 of 1 task is empty.
  EXPECT_EQ(
      JsonOf(Call("GET", "/applications/waiting/tasks?limit=1&page=1")).size(),
      1u);
  EXPECT_EQ(JsonOf(Call("GET", "/applications/waiting/tasks?limit=1&page=2")),
            Json::array());
  EXPECT_EQ(Call("GET", "/applications/waiting/tasks?page=0").status, 400);
}

TEST_F(GateOrcaTest, CancelDoesNotWaitForACallInFlight) {
  CreateApp("slowhook");
  SavePipeline(
      {{"application", "slowhook"},
       {"name", "slow"},
       {"stages", Json::array({{{"refId", "1"},
                                {"type", "webhook"},
                                {"url", hooks_->Url("/hook?delay_ms=1500")}},
                               {{"refId", "2"},
                                {"type", "wait"},
                                {"waitTime", 0},
                                {"requisiteStageRefIds", {"1"}}}})}});
  auto started = Call("POST", "/pipelines/slowhook/slow", "{}");
  ASSERT_EQ(started.status, 202);
  std::string id = IdFromRef(JsonOf(started));
  PollUntil("/pipelines/" + id, [](const Json& j) {
    return j["stages"][0]["status"] == "RUNNING";
  });
  absl::Time before = absl::Now();
  ASSERT_EQ(Call("PUT", "/pipelines/" + id + "/cancel?reason=stop").status,
            200);
  EXPECT_LT(absl::Now() - before, absl::Milliseconds(500));
  Json e = StatusIs(id, "CANCELED");
  EXPECT_EQ(e["cancellationReason"], "stop");
  EXPECT_EQ(e["stages"][1]["status"], "NOT_STARTED");
}

TEST_F(GateOrcaTest, BadInputGetsClearErrorsAndStoresNothing) {
  CreateApp("strict");
  SavePipeline({{"application", "strict"},
                {"name", "needs-env"},
                {"parameterConfig",
                 Json::array({{{"name", "env"}, {"required", true}}})},
                {"stages", Json::array({{{"refId", "1"}, {"type", "wait"}}})}});
  auto before = JsonOf(Call("GET", "/applications/strict/pipelines"));
  auto missing = Call("POST", "/pipelines/strict/needs-env", "{}");
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_THAT(missing.body, HasSubstr("env"));
  auto malformed = Call("POST", "/pipelines/strict/needs-env", "[1,2");
  EXPECT_EQ(malformed.status, 400);
  auto not_object = Call("POST", "/pipelines/strict/needs-env", "[]");
  EXPECT_EQ(not_object.status, 400);
  auto unknown = Call("POST", "/pipelines/strict/nope", "{}");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(Call("GET", "/pipelines/01ZZZZZZZZZZZZZZZZZZZZZZZZ").status, 404);
  EXPECT_EQ(Call("PUT", "/pipelines/01ZZZZZZZZZZZZZZZZZZZZZZZZ/cancel").status,
            404);
  auto bad_task = Call("POST", "/tasks", R"({"job":"x"})");
  EXPECT_EQ(bad_task.status, 400);
  EXPECT_EQ(JsonOf(Call("GET", "/applications/strict/pipelines")).size(),
            before.size());
  // An expression that does not parse is recorded on the stage, not a crash.
  SavePipeline({{"application", "strict"},
                {"name", "bad-expr"},
                {"stages", Json::array({{{"refId", "1"},
                                         {"type", "wait"},
                                         {"waitTime", 0},
                                         {"comments", "${1 +* 2}"}}})}});
  auto s = Call("POST", "/pipelines/strict/bad-expr", "{}");
  ASSERT_EQ(s.status, 202);
  Json e = StatusIs(IdFromRef(JsonOf(s)), "SUCCEEDED");
  EXPECT_EQ(e["stages"][0]["context"]["comments"], "${1 +* 2}");
  EXPECT_TRUE(
      e["stages"][0]["context"].contains("expressionEvaluationSummary"));
}

// A trigger from another site (a form or text/plain body, or JSON from a
// foreign Origin) is refused and starts nothing; spin's JSON still starts.
TEST_F(GateOrcaTest, CrossSiteTriggersAreRefusedAndStartNothing) {
  CreateApp("csrftrigger");
  SavePipeline(
      {{"application", "csrftrigger"},
       {"name", "p"},
       {"stages",
        Json::array({{{"refId", "1"}, {"type", "wait"}, {"waitTime", 0}}})}});
  auto send = [](const std::string& body,
                 std::vector<std::pair<std::string, std::string>> headers) {
    http::ClientRequest r;
    r.method = "POST";
    r.url = base_ + "/pipelines/csrftrigger/p";
    r.body = body;
    r.headers = std::move(headers);
    auto resp = http::Fetch(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : http::ClientResponse{};
  };
  auto executions = [] {
    return JsonOf(Call("GET", "/applications/csrftrigger/pipelines")).size();
  };
  EXPECT_EQ(send("{}", {{"Content-Type", "text/plain"}}).status, 415);
  EXPECT_EQ(send("a=b", {{"Content-Type", "application/x-www-form-urlencoded"}})
                .status,
            415);
  auto foreign = send("{}", {{"Content-Type", "application/json"},
                             {"Origin", "http://evil.example"}});
  EXPECT_EQ(foreign.status, 403);
  EXPECT_THAT(foreign.body, HasSubstr("origin not allowed"));
  EXPECT_EQ(executions(), 0u);
  auto spin = send("{}", {{"Content-Type", "application/json"}});
  ASSERT_EQ(spin.status, 202) << spin.body;
  StatusIs(IdFromRef(JsonOf(spin)), "SUCCEEDED");
  EXPECT_EQ(executions(), 1u);
}

// Artifacts as spin / Deck send them: the trigger's artifacts bind the
// pipeline's expected artifacts (the ids the trigger lists, and those with a
// default), the execution shows trigger.artifacts and
// trigger.resolvedExpectedArtifacts, stages read them with
// #triggerResolvedArtifact, and an expected artifact that binds nothing
// refuses the trigger with a 400 and starts nothing.
TEST_F(GateOrcaTest, TriggerArtifactsBindOrRefuse) {
  CreateApp("artifacts");
  const Json image = {{"type", "docker/image"},
                      {"name", "acme/app"},
                      {"version", "1.4"},
                      {"reference", "acme/app:1.4"}};
  SavePipeline(
      {{"application", "artifacts"},
       {"name", "deploy"},
       {"expectedArtifacts",
        {{{"id", "img"},
          {"displayName", "app image"},
          {"matchArtifact", {{"type", "docker/image"}, {"name", "acme/.*"}}},
          {"useDefaultArtifact", false},
          {"usePriorArtifact", false}},
         {{"id", "cfg"},
          {"displayName", "config"},
          {"matchArtifact",
           {{"type", "embedded/base64"}, {"name", "config\\.yml"}}},
          {"useDefaultArtifact", true},
          {"defaultArtifact",
           {{"type", "embedded/base64"},
            {"name", "config.yml"},
            {"reference", "ZGVmYXVsdA=="}}},
          {"usePriorArtifact", false}}}},
       {"stages",
        Json::array({{{"refId", "1"},
                      {"type", "evaluateVariables"},
                      {"variables",
                       {{{"key", "image"},
                         {"value",
                          "${#triggerResolvedArtifact('acme/app').reference}"}},
                        {{"key", "config"},
                         {"value",
                          "${#triggerResolvedArtifactByType("
                          "'embedded/base64').reference}"}}}}}})}});
  auto executions = [] {
    return JsonOf(Call("GET", "/applications/artifacts/pipelines")).size();
  };

  auto started = Call("POST", "/pipelines/artifacts/deploy",
                      Json({{"type", "manual"},
                            {"expectedArtifactIds", {"img"}},
                            {"artifacts", {image}}})
                          .dump());
  ASSERT_EQ(started.status, 202) << started.body;
  Json e = StatusIs(IdFromRef(JsonOf(started)), "SUCCEEDED");
  const Json& trigger = e["trigger"];
  ASSERT_EQ(trigger["resolvedExpectedArtifacts"].size(), 2u) << trigger.dump();
  EXPECT_EQ(trigger["resolvedExpectedArtifacts"][0]["id"], "img");
  EXPECT_EQ(trigger["resolvedExpectedArtifacts"][0]["boundArtifact"], image);
  EXPECT_EQ(trigger["resolvedExpectedArtifacts"][1]["boundArtifact"]["name"],
            "config.yml");
  // The received image, then the bound default.
  ASSERT_EQ(trigger["artifacts"].size(), 2u) << trigger.dump();
  EXPECT_EQ(trigger["artifacts"][0], image);
  const Json& outputs = StageByRef(e, "1")["outputs"];
  EXPECT_EQ(outputs["image"], "acme/app:1.4") << e.dump();
  EXPECT_EQ(outputs["config"], "ZGVmYXVsdA==");

  const size_t before = executions();
  auto refused = Call("POST", "/pipelines/artifacts/deploy",
                      Json({{"type", "manual"},
                            {"expectedArtifactIds", {"img"}},
                            {"artifacts",
                             {{{"type", "docker/image"},
                               {"name", "other/app"},
                               {"reference", "other/app:1"}}}}})
                          .dump());
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_THAT(refused.body,
              HasSubstr("Unmatched expected artifact 'app image' (id img)"));
  Json error = JsonOf(refused);
  EXPECT_TRUE(error.contains("error") && error.contains("message"))
      << refused.body;
  EXPECT_EQ(executions(), before);
}

}  // namespace
}  // namespace gennaker
