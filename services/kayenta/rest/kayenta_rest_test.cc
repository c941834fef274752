// Kayenta's REST routes against FakeKayenta (a test fake of the gRPC service
// served on a loopback port): JSON shapes, statuses and bad input for each
// endpoint.
#include "services/kayenta/rest/kayenta_rest.h"

#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "nlohmann/json.hpp"
#include "services/kayenta/rest/fake_kayenta.h"

namespace gennaker::kayenta {
namespace {

using Json = nlohmann::json;

constexpr char kConfig[] = R"({
  "name": "cpu-canary", "applications": ["app"], "configVersion": "1",
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "metrics": [{"name": "cpu", "scopeName": "default", "groups": ["system"],
               "query": {"type": "prometheus", "metricName": "cpu"}}],
  "classifier": {"groupWeights": {"system": 100}}})";

constexpr char kExecutionRequest[] = R"({
  "scopes": {"default": {
    "controlScope": {"scope": "app-baseline", "location": "us-east-1",
                     "start": "2025-01-01T00:00:00Z",
                     "end": "2025-01-01T01:00:00.500Z", "step": 60,
                     "extendedScopeParams": {"namespace": "prod", "n": 3}},
    "experimentScope": {"scope": "app-canary", "location": "us-east-1",
                        "start": "2025-01-01T00:00:00+01:00",
                        "end": "2025-01-01T02:00:00+01:00", "step": "30"}}},
  "thresholds": {"pass": 75, "marginal": 50.5},
  "metadata": [{"name": "build", "value": "42", "hidden": false}],
  "siteLocal": {"team": "x"}})";

class KayentaRestTest : public ::testing::Test {
 protected:
  KayentaRestTest() {
    AddKayentaRestRoutes(router_, fake_.Stub(), std::chrono::seconds(10));
  }

  http::Response Call(const std::string& method, const std::string& target,
                      const std::string& body = "") {
    http::Request r = TestRequest(method, target, body);
    return router_.Dispatch(r);
  }

  // The answer's JSON, asserting the status first.
  Json Expect(int status, const std::string& method, const std::string& target,
              const std::string& body = "") {
    http::Response resp = Call(method, target, body);
    EXPECT_EQ(resp.status, status)
        << method << " " << target << ": " << resp.body;
    if (resp.body.empty()) return Json();
    Json j = Json::parse(resp.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << resp.body;
    return j;
  }

  // Asserts Spinnaker's error body.
  void ExpectError(int status, const std::string& method,
                   const std::string& target, const std::string& body = "",
                   const std::string& message_part = "") {
    Json j = Expect(status, method, target, body);
    EXPECT_EQ(j["status"], status);
    EXPECT_TRUE(j["timestamp"].is_number_integer()) << j;
    EXPECT_TRUE(j["error"].is_string()) << j;
    EXPECT_EQ(j["path"], target.substr(0, target.find('?')));
    if (!message_part.empty()) {
      EXPECT_NE(j["message"].get<std::string>().find(message_part),
                std::string::npos)
          << j;
    }
  }

  std::string CreateConfig(const std::string& body = kConfig) {
    Json j = Expect(200, "POST", "/canaryConfig", body);
    return j.value("canaryConfigId", "");
  }

  FakeKayenta fake_;
  http::Router router_;
};

TEST_F(KayentaRestTest, CanaryConfigCrud) {
  const std::string id = CreateConfig();
  ASSERT_FALSE(id.empty());
  Json other = Json::parse(kConfig);
  other["name"] = "other";
  other["applications"] = {"other-app"};
  CreateConfig(other.dump());

  Json all = Expect(200, "GET", "/canaryConfig");
  ASSERT_EQ(all.size(), 2u);
  Json mine = Expect(200, "GET", "/canaryConfig?application=app");
  ASSERT_EQ(mine.size(), 1u);
  // Kayenta's summary shape, no config body.
  EXPECT_EQ(mine[0]["id"], id);
  EXPECT_EQ(mine[0]["name"], "cpu-canary");
  EXPECT_EQ(mine[0]["applications"], Json({"app"}));
  EXPECT_TRUE(mine[0]["updatedTimestamp"].is_number_integer());
  EXPECT_EQ(mine[0]["updatedTimestampIso"].get<std::string>().back(), 'Z');
  EXPECT_FALSE(mine[0].contains("metrics"));
  // Repeated and comma-separated application parameters both filter.
  EXPECT_EQ(
      Expect(200, "GET", "/canaryConfig?application=app&application=x").size(),
      1u);
  EXPECT_EQ(
      Expect(200, "GET", "/canaryConfig?application=app,other-app").size(), 2u);

  Json got = Expect(200, "GET", "/canaryConfig/" + id);
  EXPECT_EQ(got["name"], "cpu-canary");
  EXPECT_EQ(got["metrics"][0]["name"], "cpu");

  Json changed = got;
  changed["description"] = "updated";
  Json put = Expect(200, "PUT", "/canaryConfig/" + id, changed.dump());
  EXPECT_EQ(put, Json({{"canaryConfigId", id}}));
  EXPECT_EQ(Expect(200, "GET", "/canaryConfig/" + id)["description"],
            "updated");

  http::Response del = Call("DELETE", "/canaryConfig/" + id);
  EXPECT_EQ(del.status, 204);
  EXPECT_TRUE(del.body.empty());
  ExpectError(404, "GET", "/canaryConfig/" + id, "", "No canary config");
}

TEST_F(KayentaRestTest, CanaryConfigBadInput) {
  // Malformed bodies never reach kayenta.
  ExpectError(400, "POST", "/canaryConfig", "{\"name\": ", "not valid JSON");
  ExpectError(400, "POST", "/canaryConfig", "[1, 2]", "JSON object");
  ExpectError(400, "POST", "/canaryConfig", "", "required");
  ExpectError(400, "PUT", "/canaryConfig/x", "nope");
  EXPECT_EQ(fake_.calls(), 0);
  // kayenta's own refusals keep their status.
  ExpectError(400, "POST", "/canaryConfig", R"({"applications": ["a"]})",
              "must specify a name");
  Json with_id = Json::parse(kConfig);
  with_id["id"] = "fixed";
  CreateConfig(with_id.dump());
  ExpectError(409, "POST", "/canaryConfig", with_id.dump(), "already exists");
  ExpectError(404, "PUT", "/canaryConfig/missing", kConfig);
}

TEST_F(KayentaRestTest, StartCanaryMapsTheExecutionRequest) {
  const std::string config_id = CreateConfig();
  Json started = Expect(200, "POST",
                        "/canary/" + config_id +
                            "?application=app&parentPipelineExecutionId=p1"
                            "&metricsAccountName=prom"
                            "&configurationAccountName=store",
                        kExecutionRequest);
  ASSERT_TRUE(started["canaryExecutionId"].is_string()) << started;

  v1::StartCanaryRequest req = fake_.last_start();
  EXPECT_EQ(req.canary_config_id(), config_id);
  EXPECT_EQ(req.application(), "app");
  EXPECT_EQ(req.parent_pipeline_execution_id(), "p1");
  EXPECT_EQ(req.metrics_account(), "prom");
  EXPECT_EQ(req.configuration_account(), "store");
  ASSERT_EQ(req.scopes().count("default"), 1u);
  const v1::CanaryScope& control = req.scopes().at("default").control_scope();
  EXPECT_EQ(control.scope(), "app-baseline");
  EXPECT_EQ(control.location(), "us-east-1");
  EXPECT_EQ(control.start_ms(), 1735689600000);
  EXPECT_EQ(control.end_ms(), 1735689600000 + 3600000 + 500);
  EXPECT_EQ(control.step_seconds(), 60);
  EXPECT_EQ(control.extended_scope_params().at("namespace"), "prod");
  EXPECT_EQ(control.extended_scope_params().at("n"), "3");
  const v1::CanaryScope& experiment =
      req.scopes().at("default").experiment_scope();
  EXPECT_EQ(experiment.start_ms(), 1735689600000 - 3600000);  // +01:00
  EXPECT_EQ(experiment.end_ms(), 1735689600000 + 3600000);
  EXPECT_EQ(experiment.step_seconds(), 30);
  EXPECT_DOUBLE_EQ(req.thresholds().pass(), 75);
  EXPECT_DOUBLE_EQ(req.thresholds().marginal(), 50.5);
  EXPECT_EQ(req.idempotency_key(), "");
  http::Request keyed =
      TestRequest("POST", "/canary/" + config_id, kExecutionRequest);
  keyed.headers["idempotency-key"] = "retry-1";
  EXPECT_EQ(router_.Dispatch(keyed).status, 200);
  EXPECT_EQ(fake_.last_start().idempotency_key(), "retry-1");
  // Everything else travels in the execution request JSON.
  Json rest = Json::parse(req.execution_request().json());
  EXPECT_EQ(rest["metadata"][0]["value"], "42");
  EXPECT_EQ(rest["siteLocal"]["team"], "x");
}

TEST_F(KayentaRestTest, StartCanaryBadInput) {
  const std::string id = CreateConfig();
  const int calls = fake_.calls();
  Json bad = Json::parse(kExecutionRequest);
  bad["scopes"]["default"]["controlScope"]["start"] = "yesterday";
  ExpectError(400, "POST", "/canary/" + id, bad.dump(),
              "scopes.default.controlScope.start must be an ISO-8601");
  // Epoch seconds whose milliseconds overflow int64 (llround was undefined).
  bad = Json::parse(kExecutionRequest);
  bad["scopes"]["default"]["controlScope"]["start"] = 1e300;
  ExpectError(400, "POST", "/canary/" + id, bad.dump(),
              "scopes.default.controlScope.start must be an ISO-8601");
  bad = Json::parse(kExecutionRequest);
  bad["scopes"]["default"]["controlScope"]["end"] = "10000-01-01T00:00:00Z";
  ExpectError(400, "POST", "/canary/" + id, bad.dump(), "0001..9999");
  bad = Json::parse(kExecutionRequest);
  bad["thresholds"]["pass"] = "high";
  ExpectError(400, "POST", "/canary/" + id, bad.dump(), "thresholds.pass");
  bad = Json::parse(kExecutionRequest);
  bad["scopes"] = Json::array();
  ExpectError(400, "POST", "/canary/" + id, bad.dump(), "scopes");
  bad = Json::parse(kExecutionRequest);
  bad["scopes"]["default"]["experimentScope"]["step"] = "often";
  ExpectError(400, "POST", "/canary/" + id, bad.dump(), "step");
  ExpectError(400, "POST", "/canary/" + id, "{oops");
  ExpectError(400, "POST", "/canary", R"({"executionRequest": {}})",
              "canaryConfig");
  ExpectError(400, "POST", "/canary", R"({"canaryConfig": {}})",
              "executionRequest");
  EXPECT_EQ(fake_.calls(), calls);
  // kayenta's refusals.
  bad = Json::parse(kExecutionRequest);
  bad.erase("thresholds");
  ExpectError(400, "POST", "/canary/" + id, bad.dump(),
              "must contain thresholds");
  ExpectError(404, "POST", "/canary/nope", kExecutionRequest);
}

TEST_F(KayentaRestTest, AdhocCanaryAndExecutionStatus) {
  Json body = {{"canaryConfig", Json::parse(kConfig)},
               {"executionRequest", Json::parse(kExecutionRequest)}};
  Json started = Expect(200, "POST", "/canary", body.dump());
  const std::string id = started["canaryExecutionId"];
  v1::StartCanaryRequest req = fake_.last_start();
  ASSERT_TRUE(req.has_canary_config());
  EXPECT_EQ(Json::parse(req.canary_config().json())["name"], "cpu-canary");
  EXPECT_EQ(req.application(), "");  // kayenta makes it "ad-hoc"

  Json running = Expect(200, "GET", "/canary/" + id);
  EXPECT_EQ(running["status"], "running");
  EXPECT_EQ(running["complete"], false);
  EXPECT_EQ(running["application"], "ad-hoc");
  EXPECT_EQ(running["canaryExecutionRequest"]["thresholds"]["pass"], 75);
  EXPECT_EQ(running["stageStatus"]["judge"], "not_started");
  EXPECT_TRUE(running["startTimeMillis"].is_number_integer());
  EXPECT_TRUE(running["startTimeIso"].is_string());
  EXPECT_FALSE(running.contains("result"));

  fake_.Finish(id, 87.5);
  Json done = Expect(200, "GET", "/canary/" + id);
  EXPECT_EQ(done["status"], "succeeded");
  EXPECT_EQ(done["complete"], true);
  EXPECT_EQ(done["result"]["judgeResult"]["score"]["score"], 87.5);
  EXPECT_EQ(done["result"]["canaryDuration"], "PT1H");
  EXPECT_TRUE(done["endTimeIso"].is_string());

  ExpectError(404, "GET", "/canary/missing", "", "No canary execution");
}

TEST_F(KayentaRestTest, ListExecutionsPagesAndFilters) {
  const std::string config_id = CreateConfig();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Expect(200, "POST",
                         "/canary/" + config_id + "?application=app",
                         kExecutionRequest)["canaryExecutionId"]);
  }
  fake_.Finish(ids[0], 90);
  Json page1 = Expect(200, "GET", "/canary/executions?application=app&limit=2");
  ASSERT_EQ(page1.size(), 2u);
  EXPECT_EQ(page1[0]["pipelineId"], ids[2]);  // newest first
  Json page2 =
      Expect(200, "GET", "/canary/executions?application=app&limit=2&page=2");
  ASSERT_EQ(page2.size(), 1u);
  EXPECT_EQ(page2[0]["pipelineId"], ids[0]);
  EXPECT_EQ(
      Expect(200, "GET", "/canary/executions?application=app&limit=2&page=3")
          .size(),
      0u);
  Json done = Expect(200, "GET",
                     "/canary/executions?application=app&statuses=SUCCEEDED");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["status"], "succeeded");
  EXPECT_EQ(Expect(200, "GET",
                   "/canary/executions?application=app&statuses=running,"
                   "succeeded")
                .size(),
            3u);
  // No application: Kayenta's "ad-hoc".
  EXPECT_EQ(Expect(200, "GET", "/canary/executions").size(), 0u);

  // A limit above the service's largest page is clamped to it, so page N
  // still starts at record (N-1) * limit.
  Expect(200, "GET", "/canary/executions?application=app&limit=5000");
  EXPECT_EQ(fake_.last_list().page().page_size(), 1000);

  const int calls = fake_.calls();
  ExpectError(400, "GET", "/canary/executions?statuses=done", "", "done");
  ExpectError(400, "GET", "/canary/executions?limit=0", "", "limit");
  ExpectError(400, "GET", "/canary/executions?page=x", "", "page");
  EXPECT_EQ(fake_.calls(), calls);
}

TEST_F(KayentaRestTest, MetadataJudgesCredentials) {
  Json all = Expect(200, "GET", "/metadata/metricsService");
  EXPECT_EQ(all.size(), 3u);
  Json cpu =
      Expect(200, "GET",
             "/metadata/metricsService?metricsAccountName=prom&filter=CPU");
  EXPECT_EQ(cpu,
            Json::parse(R"([{"name":"container_cpu_usage_seconds_total"}])"));
  ExpectError(404, "GET", "/metadata/metricsService?metricsAccountName=nope");

  Json judges = Expect(200, "GET", "/judges");
  ASSERT_EQ(judges.size(), 2u);
  EXPECT_EQ(judges[0],
            Json({{"name", "NetflixACAJudge-v1.0"}, {"visible", true}}));
  EXPECT_EQ(judges[1]["visible"], false);

  Json creds = Expect(200, "GET", "/credentials");
  ASSERT_EQ(creds.size(), 2u);
  EXPECT_EQ(creds[0]["name"], "prom");
  EXPECT_EQ(creds[0]["type"], "prometheus");
  EXPECT_EQ(creds[1]["supportedTypes"],
            Json({"OBJECT_STORE", "CONFIGURATION_STORE"}));

  Json services = Expect(200, "GET", "/metricsServices");
  EXPECT_EQ(services, Json::parse(R"([{"name":"prom","type":"prometheus"}])"));
}

TEST_F(KayentaRestTest, MetricSetPairListsAndJudge) {
  const std::string pairs =
      R"([{"id": "p1", "name": "cpu", "tags": {},
           "values": {"control": [1, 2], "experiment": [2, 3]}},
          {"id": "p2", "name": "mem", "values": {}}])";
  Json created =
      Expect(200, "POST", "/metricSetPairList?accountName=store", pairs);
  const std::string id = created["metricSetPairListId"];
  ASSERT_FALSE(id.empty());
  ExpectError(400, "POST", "/metricSetPairList", R"({"pairs": []})", "array");
  ExpectError(400, "POST", "/metricSetPairList", "[", "not valid JSON");

  Json list = Expect(200, "GET", "/metricSetPairList");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_TRUE(list[0]["updatedTimestampIso"].is_string());

  Json got = Expect(200, "GET", "/metricSetPairList/" + id);
  ASSERT_TRUE(got.is_array());
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["values"]["experiment"], Json({2, 3}));
  Json pair = Expect(200, "GET", "/metricSetPairList/" + id + "/p2");
  EXPECT_EQ(pair["name"], "mem");
  ExpectError(404, "GET", "/metricSetPairList/" + id + "/p9", "", "p9");

  // POST /judges/judge judges the stored list with the stored config.
  const std::string config_id = CreateConfig();
  Json judged = Expect(200, "POST",
                       "/judges/judge?canaryConfigId=" + config_id +
                           "&metricSetPairListId=" + id);
  EXPECT_EQ(judged["score"]["classification"], "Pass");
  EXPECT_EQ(judged["pass"], 95.0);  // Kayenta's defaults
  EXPECT_EQ(judged["marginal"], 75.0);
  judged = Expect(200, "POST",
                  "/judges/judge?canaryConfigId=" + config_id +
                      "&metricSetPairListId=" + id +
                      "&passThreshold=80&marginalThreshold=60.5");
  EXPECT_EQ(judged["pass"], 80.0);
  EXPECT_EQ(judged["marginal"], 60.5);
  ExpectError(400, "POST", "/judges/judge?canaryConfigId=" + config_id, "",
              "metricSetPairListId");
  ExpectError(400, "POST",
              "/judges/judge?canaryConfigId=c&metricSetPairListId=l"
              "&passThreshold=lots",
              "", "passThreshold");
  ExpectError(404, "POST",
              "/judges/judge?canaryConfigId=nope&metricSetPairListId=" + id);

  http::Response del = Call("DELETE", "/metricSetPairList/" + id);
  EXPECT_EQ(del.status, 204);
  ExpectError(404, "GET", "/metricSetPairList/" + id);
}

TEST_F(KayentaRestTest, StandaloneCanaryAnalysis) {
  const std::string config_id = CreateConfig();
  const std::string request = R"({
    "scopes": [{"scopeName": "default", "controlScope": "app-baseline",
                "experimentScope": "app-canary", "step": 60,
                "startTimeIso": "2025-01-01T00:00:00Z"}],
    "thresholds": {"pass": 90, "marginal": 50},
    "lifetimeDurationMins": 60, "analysisIntervalMins": 15})";
  Json started =
      Expect(200, "POST",
             "/standalone_canary_analysis/" + config_id +
                 "?user=alice&application=app&metricsAccountName=prom",
             request);
  const std::string id = started["canaryAnalysisExecutionId"];
  ASSERT_FALSE(id.empty());
  v1::StartCanaryAnalysisRequest req = fake_.last_analysis_start();
  EXPECT_EQ(req.canary_config_id(), config_id);
  EXPECT_EQ(req.user(), "alice");
  EXPECT_EQ(req.application(), "app");
  EXPECT_EQ(req.metrics_account(), "prom");
  EXPECT_EQ(Json::parse(req.execution_request().json())["lifetimeDurationMins"],
            60);

  Json running = Expect(200, "GET", "/standalone_canary_analysis/" + id);
  EXPECT_EQ(running["status"], "running");
  EXPECT_EQ(running["executionStatus"], "RUNNING");
  EXPECT_EQ(running["complete"], false);
  EXPECT_EQ(running["user"], "alice");
  EXPECT_EQ(running["canaryAnalysisExecutionRequest"]["analysisIntervalMins"],
            15);
  EXPECT_EQ(running["canaryAnalysisExecutionResult"]["canaryScores"],
            Json({88.5}));
  EXPECT_EQ(running["canaryAnalysisExecutionResult"]["canaryExecutionResults"]
                   [0]["executionId"],
            "exec-run-1");

  EXPECT_EQ(Call("PUT", "/standalone_canary_analysis/" + id + "/cancel").status,
            200);
  Json canceled = Expect(200, "GET", "/standalone_canary_analysis/" + id);
  EXPECT_EQ(canceled["status"], "canceled");
  EXPECT_EQ(canceled["complete"], true);
  EXPECT_EQ(canceled["canaryAnalysisExecutionResult"]["didPassThresholds"],
            false);
  EXPECT_EQ(
      Call("POST", "/standalone_canary_analysis/" + id + "/cancel").status,
      200);

  // Ad hoc.
  Json adhoc = {{"canaryConfig", Json::parse(kConfig)},
                {"executionRequest", Json::parse(request)}};
  Json started2 =
      Expect(200, "POST", "/standalone_canary_analysis", adhoc.dump());
  EXPECT_TRUE(started2["canaryAnalysisExecutionId"].is_string());
  EXPECT_TRUE(fake_.last_analysis_start().has_canary_config());

  const int calls = fake_.calls();
  ExpectError(400, "POST", "/standalone_canary_analysis/" + config_id, "{,}");
  ExpectError(400, "POST", "/standalone_canary_analysis",
              R"({"canaryConfig": {}})", "executionRequest");
  ExpectError(400, "POST", "/standalone_canary_analysis/" + config_id,
              R"({"scopes": [], "thresholds": {"pass": "x"}})",
              "thresholds.pass");
  EXPECT_EQ(fake_.calls(), calls);
  ExpectError(400, "POST", "/standalone_canary_analysis/" + config_id, "{}",
              "scopes");
  ExpectError(404, "GET", "/standalone_canary_analysis/nope");
  ExpectError(404, "PUT", "/standalone_canary_analysis/nope/cancel");
}

TEST_F(KayentaRestTest, GrpcCodesBecomeHttpStatuses) {
  struct Case {
    grpc::StatusCode code;
    int http;
  };
  for (const Case& c : {Case{grpc::StatusCode::INVALID_ARGUMENT, 400},
                        Case{grpc::StatusCode::NOT_FOUND, 404},
                        Case{grpc::StatusCode::ALREADY_EXISTS, 409},
                        Case{grpc::StatusCode::ABORTED, 409},
                        Case{grpc::StatusCode::RESOURCE_EXHAUSTED, 413},
                        Case{grpc::StatusCode::UNAVAILABLE, 503},
                        Case{grpc::StatusCode::DEADLINE_EXCEEDED, 504},
                        Case{grpc::StatusCode::INTERNAL, 500}}) {
    fake_.FailAll(grpc::Status(c.code, "forced failure"));
    ExpectError(c.http, "GET", "/judges", "", "forced failure");
    ExpectError(c.http, "PUT", "/canaryConfig/x", kConfig, "forced failure");
  }
  fake_.FailAll(std::nullopt);
  EXPECT_EQ(Call("GET", "/judges").status, 200);
}

TEST_F(KayentaRestTest, UnreachableKayentaIs503AndSlowIs504) {
  http::Router router;
  // Nothing listens on port 1.
  AddKayentaRestRoutes(router,
                       v1::KayentaService::NewStub(grpc::CreateChannel(
                           "127.0.0.1:1", grpc::InsecureChannelCredentials())),
                       std::chrono::milliseconds(2000));
  http::Request r = TestRequest("GET", "/judges", "");
  http::Response resp = router.Dispatch(r);
  EXPECT_TRUE(resp.status == 503 || resp.status == 504) << resp.body;
}

TEST_F(KayentaRestTest, UnknownPathsAndMethods) {
  EXPECT_EQ(Call("GET", "/canaryConfigs").status, 404);
  EXPECT_EQ(Call("PATCH", "/canaryConfig/x", "{}").status, 405);
}

// What a standalone Kayenta user or script sees: the routes behind the HTTP
// server, over a real connection.
TEST(KayentaRestHttpTest, OverHttp) {
  FakeKayenta fake;
  http::Router router;
  AddKayentaRestRoutes(router, fake.Stub(), std::chrono::seconds(10));
  auto server = http::Server::Start(http::ServerOptions{}, std::move(router));
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string base = absl::StrCat("http://127.0.0.1:", (*server)->port());

  http::ClientRequest create;
  create.method = "POST";
  create.url = base + "/canaryConfig";
  create.headers = {{"Content-Type", "application/json"}};
  create.body = kConfig;
  absl::StatusOr<http::ClientResponse> created = http::Fetch(create);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->status, 200) << created->body;
  const std::string id =
      Json::parse(created->body)["canaryConfigId"].get<std::string>();

  http::ClientRequest list;
  list.url = base + "/canaryConfig?application=app";
  absl::StatusOr<http::ClientResponse> listed = http::Fetch(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->status, 200);
  EXPECT_NE(listed->headers["content-type"].find("application/json"),
            std::string::npos);
  EXPECT_EQ(Json::parse(listed->body)[0]["id"], id);

  http::ClientRequest del;
  del.method = "DELETE";
  del.url = base + "/canaryConfig/" + id;
  absl::StatusOr<http::ClientResponse> deleted = http::Fetch(del);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->status, 204);
  (*server)->Stop();
}

}  // namespace
}  // namespace gennaker::kayenta
