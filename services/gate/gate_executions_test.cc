// gate's execution REST API: the task view, ULIDs, status names and the
// routes against a mocked orca.
#include "services/gate/gate_executions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_split.h"
#include "common/fiat/authorizer.h"
#include "common/ids/ids.h"
#include "common/log/call_context.h"
#include "common/spinnaker/json.h"
#include "gennaker/orca/v1/orca_mock.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace gennaker::gate {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::SetArgPointee;
using ::testing::StrictMock;
using Json = nlohmann::ordered_json;
namespace ov1 = orca::v1;

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// --- ToTaskView ---

Json Orchestration() {
  return Json::parse(R"({
    "type": "ORCHESTRATION",
    "id": "01HTASK",
    "application": "myapp",
    "name": "ignored when there is a description",
    "description": "Create Application: myapp",
    "status": "SUCCEEDED",
    "buildTime": 100,
    "startTime": null,
    "stages": [
      {"id": "s1", "type": "createApplication",
       "context": {"application": {"name": "myapp"}, "account": "",
                   "notes": null, "dryRun": false, "list": [1], "gone": "x"},
       "tasks": [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]},
      {"id": "s2", "type": "wait",
       "context": {"account": "prod", "notes": "n", "list": [], "extra": {},
                   "gone": null}},
      {"id": "s3", "type": "other",
       "context": {"account": "", "extra": {"k": 1}, "empty": null},
       "tasks": [{"id": "3", "name": "c"}]},
      {"id": "s4", "type": "last", "context": {"empty": ""}}
    ]
  })");
}

TEST(ToTaskViewTest, MergesContextsAsVariables) {
  Json view = ToTaskView(Orchestration());
  Json expected = Json::parse(R"([
    {"key": "application", "value": {"name": "myapp"}},
    {"key": "account", "value": "prod"},
    {"key": "notes", "value": "n"},
    {"key": "dryRun", "value": false},
    {"key": "list", "value": [1]},
    {"key": "gone", "value": "x"},
    {"key": "extra", "value": {"k": 1}},
    {"key": "empty", "value": ""}
  ])");
  EXPECT_EQ(view["variables"], expected) << view["variables"].dump();
}

TEST(ToTaskViewTest, FlattensTasksIntoSteps) {
  Json view = ToTaskView(Orchestration());
  ASSERT_TRUE(view["steps"].is_array());
  std::vector<std::string> ids;
  for (const Json& step : view["steps"]) ids.push_back(step["id"]);
  EXPECT_THAT(ids, ElementsAre("1", "2", "3"));
  EXPECT_EQ(view["steps"][2], Json::parse(R"({"id": "3", "name": "c"})"));
}

TEST(ToTaskViewTest, TopLevelFieldsAndOmittedNulls) {
  Json execution = Orchestration();
  Json view = ToTaskView(execution);
  EXPECT_EQ(view["id"], "01HTASK");
  EXPECT_EQ(view["name"], "Create Application: myapp");
  EXPECT_EQ(view["application"], "myapp");
  EXPECT_EQ(view["status"], "SUCCEEDED");
  EXPECT_EQ(view["buildTime"], 100);
  EXPECT_FALSE(view.contains("startTime"));  // null
  EXPECT_FALSE(view.contains("endTime"));    // absent
  EXPECT_EQ(view["execution"], execution);
  std::vector<std::string> keys;
  for (const auto& item : view.items()) keys.push_back(item.key());
  EXPECT_THAT(keys,
              ElementsAre("id", "name", "application", "status", "variables",
                          "steps", "buildTime", "execution"));
}

TEST(ToTaskViewTest, NameFallsBackToTheExecutionName) {
  Json execution = Json::parse(R"({"id": "x", "name": "n", "endTime": 5})");
  Json view = ToTaskView(execution);
  EXPECT_EQ(view["name"], "n");
  EXPECT_EQ(view["endTime"], 5);
  EXPECT_EQ(view["variables"], Json::array());
  EXPECT_EQ(view["steps"], Json::array());
}

TEST(ToTaskViewTest, NonObjectGivesAnEmptyView) {
  Json view = ToTaskView(Json::array());
  EXPECT_EQ(view["variables"], Json::array());
  EXPECT_EQ(view["steps"], Json::array());
  EXPECT_EQ(view["execution"], Json::object());
  EXPECT_FALSE(view.contains("id"));
}

// --- ULID, UUID, status names, triggers ---

bool IsCrockford(const std::string& s) {
  return s.find_first_not_of(kCrockford) == std::string::npos;
}

TEST(UlidTest, ShapeAndTimePrefix) {
  std::string id = UlidAt(1469918176385);
  ASSERT_EQ(id.size(), 26u);
  EXPECT_TRUE(IsCrockford(id)) << id;
  // The ULID spec's example time.
  EXPECT_EQ(id.substr(0, 10), "01ARYZ6S41");
  EXPECT_EQ(UlidAt(0).substr(0, 10), "0000000000");
  std::string now = NewUlid();
  ASSERT_EQ(now.size(), 26u);
  EXPECT_TRUE(IsCrockford(now)) << now;
  EXPECT_LE(now[0], '7');  // 48-bit time: the first character is at most 7
}

TEST(UlidTest, LaterTimesSortAfter) {
  int64_t t = 1700000000000;
  for (int i = 0; i < 200; ++i) {
    std::string a = UlidAt(t + i);
    std::string b = UlidAt(t + i + 1);
    EXPECT_LT(a, b) << "at " << t + i;
  }
  EXPECT_LT(UlidAt(t), UlidAt(t + 86400000));
}

TEST(UlidTest, NewUlidIsStrictlyIncreasing) {
  std::string previous = NewUlid();
  std::set<std::string> seen = {previous};
  for (int i = 0; i < 5000; ++i) {
    std::string next = NewUlid();
    ASSERT_LT(previous, next);
    seen.insert(next);
    previous = next;
  }
  EXPECT_EQ(seen.size(), 5001u);
}

TEST(UuidTest, VersionFourShape) {
  for (int i = 0; i < 50; ++i) {
    std::string id = NewUuid();
    ASSERT_EQ(id.size(), 36u) << id;
    std::vector<std::string> parts = absl::StrSplit(id, '-');
    ASSERT_EQ(parts.size(), 5u);
    EXPECT_EQ(parts[0].size(), 8u);
    EXPECT_EQ(parts[4].size(), 12u);
    EXPECT_EQ(id[14], '4');
    EXPECT_THAT(std::string("89ab"), HasSubstr(std::string(1, id[19])));
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos);
  }
  EXPECT_NE(NewUuid(), NewUuid());
}

TEST(ParseExecutionStatusTest, NamesMapToTheEnum) {
  EXPECT_EQ(*ParseExecutionStatus("RUNNING"), ov1::EXECUTION_STATUS_RUNNING);
  EXPECT_EQ(*ParseExecutionStatus("terminal"), ov1::EXECUTION_STATUS_TERMINAL);
  EXPECT_EQ(*ParseExecutionStatus(" FAILED_CONTINUE "),
            ov1::EXECUTION_STATUS_FAILED_CONTINUE);
  EXPECT_EQ(*ParseExecutionStatus("BUFFERED"), ov1::EXECUTION_STATUS_BUFFERED);
  EXPECT_EQ(*ParseExecutionStatus("NOT_STARTED"),
            ov1::EXECUTION_STATUS_NOT_STARTED);
  for (const char* bad :
       {"", "BOGUS", "UNSPECIFIED", "EXECUTION_STATUS_RUNNING", "RUN NING"}) {
    auto status = ParseExecutionStatus(bad);
    ASSERT_FALSE(status.ok()) << bad;
    EXPECT_EQ(status.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(PrepareTriggerTest, FillsUserAndType) {
  auto empty = PrepareTrigger("", "alice");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, Json::parse(R"({"user":"alice","type":"manual"})"));
  auto given = PrepareTrigger(R"({"type":"git","user":"bob","x":1})", "alice");
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(*given, Json::parse(R"({"type":"git","user":"bob","x":1})"));
  auto null_user = PrepareTrigger(R"({"user":null})", "alice");
  ASSERT_TRUE(null_user.ok());
  EXPECT_EQ((*null_user)["user"], "alice");
  // Deck's "[anonymous]" names nobody: the caller is the trigger's user
  // (Deck then shows one name, not "[anonymous] (anonymous)").
  auto placeholder = PrepareTrigger(R"({"user":"[anonymous]"})", "anonymous");
  ASSERT_TRUE(placeholder.ok());
  EXPECT_EQ((*placeholder)["user"], "anonymous");
  auto logged_in = PrepareTrigger(R"({"user":"[anonymous]"})", "alice");
  ASSERT_TRUE(logged_in.ok());
  EXPECT_EQ((*logged_in)["user"], "alice");
  EXPECT_FALSE(PrepareTrigger("[1]", "alice").ok());
  EXPECT_FALSE(PrepareTrigger("{bad", "alice").ok());
}

// --- routes, against a mocked orca ---

ov1::Execution ExecutionWith(const std::string& id, int64_t build_time) {
  ov1::Execution e;
  e.set_id(id);
  e.set_build_time_ms(build_time);
  e.mutable_json()->set_json(R"({"id":")" + id + R"("})");
  return e;
}

class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    orca_ = std::make_shared<StrictMock<ov1::MockOrcaServiceStub>>();
    auto backends = std::make_shared<Backends>();
    backends->orca = {orca_, std::chrono::seconds(5)};
    backends->authorizer = fiat::Authorizer::Disabled();
    AddExecutionRoutes(
        backends, [this](absl::string_view method, absl::string_view pattern,
                         http::Handler h) {
          router_.Add(method, pattern, std::move(h));
        });
  }

  // `target` is "path?query"; the query is decoded like the server does.
  http::Response Call(const std::string& method, const std::string& target,
                      const std::string& body = "") {
    http::Request r;
    r.method = method;
    std::vector<std::string> parts =
        absl::StrSplit(target, absl::MaxSplits('?', 1));
    r.path = parts[0];
    if (parts.size() > 1) {
      for (absl::string_view kv : absl::StrSplit(parts[1], '&')) {
        std::vector<std::string> p =
            absl::StrSplit(kv, absl::MaxSplits('=', 1));
        r.query.emplace(http::PercentDecode(p[0], true),
                        p.size() > 1 ? http::PercentDecode(p[1], true) : "");
      }
    }
    r.body = body;
    ScopedCallContext scope(CallContext{"", "alice", ""});
    return router_.Dispatch(r);
  }

  static Json Body(const http::Response& r) {
    return Json::parse(r.body, nullptr, false);
  }

  std::shared_ptr<StrictMock<ov1::MockOrcaServiceStub>> orca_;
  http::Router router_;
};

TEST_F(RoutesTest, TriggerTriesTheNameThenTheConfigId) {
  ov1::StartPipelineRequest by_name, by_id;
  ov1::StartPipelineResponse started;
  started.mutable_execution()->set_id("01EXEC");
  EXPECT_CALL(*orca_, StartPipeline(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&by_name),
                      Return(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                          "no pipeline named My Pipe"))))
      .WillOnce(DoAll(SaveArg<1>(&by_id), SetArgPointee<2>(started),
                      Return(grpc::Status::OK)));
  auto r =
      Call("POST", "/pipelines/app/My%20Pipe", R"({"parameters":{"a":"1"}})");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(Body(r), Json::parse(R"({"ref":"/pipelines/01EXEC"})"));
  EXPECT_EQ(by_name.application(), "app");
  EXPECT_EQ(by_name.pipeline_name(), "My Pipe");
  EXPECT_EQ(by_id.pipeline_config_id(), "My Pipe");
  EXPECT_TRUE(by_name.execution_id().empty());
  EXPECT_EQ(Json::parse(by_id.trigger().json()),
            Json::parse(R"({"parameters":{"a":"1"},"user":"alice",)"
                        R"("type":"manual"})"));
}

TEST_F(RoutesTest, TriggerV2ChoosesTheExecutionIdAndEventId) {
  ov1::StartPipelineRequest req;
  EXPECT_CALL(*orca_, StartPipeline(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), Return(grpc::Status::OK)));
  auto r = Call("POST", "/pipelines/v2/app/deploy", "");
  EXPECT_EQ(r.status, 202);
  Json body = Body(r);
  ASSERT_EQ(req.execution_id().size(), 26u);
  EXPECT_TRUE(IsCrockford(req.execution_id()));
  EXPECT_EQ(body["ref"], "/pipelines/" + req.execution_id());
  ASSERT_TRUE(body["eventId"].is_string());
  EXPECT_EQ(body["eventId"].get<std::string>().size(), 36u);
  Json trigger = Json::parse(req.trigger().json());
  EXPECT_EQ(trigger["eventId"], body["eventId"]);
  EXPECT_EQ(trigger["user"], "alice");
  EXPECT_EQ(trigger["type"], "manual");
  EXPECT_EQ(req.pipeline_name(), "deploy");
}

TEST_F(RoutesTest, TriggerErrors) {
  auto r = Call("POST", "/pipelines/app/p", "[1]");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["status"], 400);
  EXPECT_CALL(*orca_, StartPipeline(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "by name")))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "by id")))
      .WillOnce(Return(
          grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "disabled")));
  r = Call("POST", "/pipelines/app/p", "{}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["message"], "by name");
  r = Call("POST", "/pipelines/app/p", "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["message"], "disabled");
}

TEST_F(RoutesTest, DeeplyNestedBodiesAreRefusedBeforeParsing) {
  // 5000 levels would overflow a thread's stack when serialized.
  std::string body =
      "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  for (const char* path : {"/pipelines/app/p", "/tasks"}) {
    auto r = Call("POST", path, body);
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_THAT(Body(r)["message"].get<std::string>(), HasSubstr("nested"));
  }
  // Brackets inside strings do not count.
  EXPECT_TRUE(
      spinnaker::WithinNesting("{\"a\":\"" + std::string(500, '[') + "\"}"));
  EXPECT_FALSE(spinnaker::WithinNesting(std::string(101, '[')));
  EXPECT_TRUE(spinnaker::WithinNesting(std::string(100, '[')));
}

TEST_F(RoutesTest, ApplicationPipelinesAreOldestFirstAndExpandedByDefault) {
  ov1::ListExecutionsRequest req;
  ov1::ListExecutionsResponse resp;
  *resp.add_executions() = ExecutionWith("c", 300);
  *resp.add_executions() = ExecutionWith("b", 200);
  *resp.add_executions() = ExecutionWith("a", 100);
  EXPECT_CALL(*orca_, ListExecutions(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)));
  auto r = Call(
      "GET", "/applications/app/pipelines?statuses=RUNNING,terminal&expand=");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"([{"id":"a"},{"id":"b"},{"id":"c"}])");
  EXPECT_EQ(req.application(), "app");
  EXPECT_EQ(req.type(), common::v1::PIPELINE);
  EXPECT_EQ(req.limit(), 10);
  // Orca's default is expanded; Deck asks for expand=false explicitly.
  EXPECT_EQ(req.view(), ov1::EXECUTION_VIEW_FULL);
  EXPECT_THAT(req.statuses(), ElementsAre(ov1::EXECUTION_STATUS_RUNNING,
                                          ov1::EXECUTION_STATUS_TERMINAL));

  r = Call("GET", "/applications/app/pipelines?statuses=BOGUS");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(Body(r)["message"].get<std::string>(), HasSubstr("BOGUS"));
  r = Call("GET", "/applications/app/pipelines?limit=x");
  EXPECT_EQ(r.status, 400);
}

TEST_F(RoutesTest, ExecutionsAreNewestFirstAndNeedIds) {
  auto r = Call("GET", "/executions?statuses=&limit=5");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "[]");

  ov1::ListExecutionsRequest req;
  ov1::ListExecutionsResponse resp;
  *resp.add_executions() = ExecutionWith("a", 100);
  *resp.add_executions() = ExecutionWith("b", 200);
  EXPECT_CALL(*orca_, ListExecutions(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)));
  r = Call("GET", "/executions?pipelineConfigIds=p1,p2&statuses=&limit=3");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"([{"id":"b"},{"id":"a"}])");
  EXPECT_THAT(req.pipeline_config_ids(), ElementsAre("p1", "p2"));
  EXPECT_TRUE(req.statuses().empty());
  EXPECT_EQ(req.limit(), 3);
  EXPECT_EQ(req.view(), ov1::EXECUTION_VIEW_FULL);
}

TEST_F(RoutesTest, GetPipelinePassesTheJsonThrough) {
  ov1::GetExecutionRequest req;
  ov1::GetExecutionResponse resp;
  resp.mutable_execution()->mutable_json()->set_json(
      R"({"id":"E1","type":"PIPELINE","stages":[]})");
  EXPECT_CALL(*orca_, GetExecution(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "gone")));
  auto r = Call("GET", "/pipelines/E1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"id":"E1","type":"PIPELINE","stages":[]})");
  EXPECT_EQ(req.id(), "E1");
  EXPECT_EQ(Call("GET", "/pipelines/E2").status, 404);
}

TEST_F(RoutesTest, CancelIgnoresTheApplicationSegment) {
  ov1::CancelExecutionRequest req;
  EXPECT_CALL(*orca_, CancelExecution(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), Return(grpc::Status::OK)));
  auto r = Call("PUT",
                "/applications/%7Bapplication%7D/pipelines/E1/cancel"
                "?reason=");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_NE(r.content_type, "application/json");
  EXPECT_EQ(req.id(), "E1");
  EXPECT_EQ(req.reason(), "");
  EXPECT_EQ(req.user(), "alice");
  EXPECT_FALSE(req.force());
}

TEST_F(RoutesTest, PatchStageNeedsAnObject) {
  EXPECT_EQ(Call("PATCH", "/pipelines/E1/stages/S1", "[]").status, 400);
  ov1::UpdateStageRequest req;
  ov1::UpdateStageResponse resp;
  resp.mutable_execution()->mutable_json()->set_json(R"({"id":"E1"})");
  EXPECT_CALL(*orca_, UpdateStage(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)));
  auto r = Call("PATCH", "/pipelines/E1/stages/S1",
                R"({"judgmentStatus":"continue"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"id":"E1"})");
  EXPECT_EQ(req.execution_id(), "E1");
  EXPECT_EQ(req.stage_id(), "S1");
  EXPECT_EQ(Json::parse(req.context_patch().json())["judgmentStatus"],
            "continue");
  EXPECT_EQ(req.user(), "alice");
}

TEST_F(RoutesTest, SubmitTaskFindsTheApplicationAndUser) {
  ov1::StartOrchestrationRequest req, forced;
  ov1::StartOrchestrationResponse resp;
  resp.mutable_execution()->set_id("T1");
  EXPECT_CALL(*orca_, StartOrchestration(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)))
      .WillOnce(DoAll(SaveArg<1>(&forced), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)))
      .WillOnce(DoAll(SaveArg<1>(&forced), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)));
  const std::string task =
      R"({"job":[{"type":"deleteApplication","application":{"name":"x"}}]})";
  auto r = Call("POST", "/tasks", task);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), Json::parse(R"({"ref":"/tasks/T1"})"));
  EXPECT_EQ(req.application(), "x");
  EXPECT_EQ(req.description(), "");
  EXPECT_EQ(Json::parse(req.jobs().json())[0]["user"], "alice");
  // Deck's taskExecutor sends "[anonymous]" when it knows no user.
  const std::string deck_task =
      R"({"job":[{"type":"t","application":"y","user":"[anonymous]"},)"
      R"({"type":"u","user":"carol"}]})";
  EXPECT_EQ(Call("POST", "/applications/forced/tasks", deck_task).status, 200);
  EXPECT_EQ(Json::parse(forced.jobs().json())[0]["user"], "alice");
  EXPECT_EQ(Json::parse(forced.jobs().json())[1]["user"], "carol");
  EXPECT_EQ(Call("POST", "/applications/forced/tasks", task).status, 200);
  EXPECT_EQ(forced.application(), "forced");

  EXPECT_EQ(Call("POST", "/tasks", R"({"job":[1]})").status, 400);
  EXPECT_EQ(Call("POST", "/tasks", R"({"job":[]})").status, 400);
  EXPECT_EQ(Call("POST", "/tasks", R"({"job":[{"type":"t"}]})").status, 400);
  EXPECT_EQ(Call("POST", "/tasks", "{not json").status, 400);
}

TEST_F(RoutesTest, GetTaskRendersTheTaskView) {
  ov1::GetExecutionRequest req;
  ov1::GetExecutionResponse resp;
  resp.mutable_execution()->mutable_json()->set_json(Orchestration().dump());
  EXPECT_CALL(*orca_, GetExecution(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)));
  auto r = Call("GET", "/tasks/01HTASK");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), ToTaskView(Orchestration()));
  EXPECT_EQ(req.type(), common::v1::ORCHESTRATION);
}

}  // namespace
}  // namespace gennaker::gate
