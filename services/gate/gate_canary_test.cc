// gate's /v2 canary routes through gate's whole REST router, against
// FakeKayenta (a test fake of kayenta's gRPC service on a loopback port).
#include "services/gate/gate_canary.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "nlohmann/json.hpp"
#include "services/gate/gate_backend.h"
#include "services/gate/gate_rest.h"
#include "services/kayenta/rest/fake_kayenta.h"

namespace gennaker::gate {
namespace {

using kayenta::TestRequest;
using nlohmann::json;

// Backends whose other services are unreachable (the canary routes never
// call them); kayenta at `kayenta_address` when not empty.
std::shared_ptr<const Backends> MakeBackends(
    const std::string& kayenta_address) {
  v1::GateDependencies deps;
  for (common::v1::EndpointConfig* e :
       {deps.mutable_front50(), deps.mutable_orca(),
        deps.mutable_clouddriver()}) {
    e->set_address("127.0.0.1:1");
    e->set_deadline_ms(1000);
  }
  deps.mutable_kayenta()->set_address(kayenta_address);
  deps.mutable_kayenta()->set_deadline_ms(10000);
  return std::make_shared<const Backends>(ConnectBackends(deps));
}

constexpr char kConfig[] = R"({
  "name": "cpu-canary", "applications": ["app"],
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "metrics": [{"name": "cpu", "scopeName": "default",
               "query": {"type": "prometheus", "metricName": "cpu"}}],
  "classifier": {"groupWeights": {"system": 100}}})";

constexpr char kExecutionRequest[] = R"({
  "scopes": {"default": {
    "controlScope": {"scope": "b", "start": "2025-01-01T00:00:00Z",
                     "end": "2025-01-01T01:00:00Z", "step": 60},
    "experimentScope": {"scope": "c", "start": "2025-01-01T00:00:00Z",
                        "end": "2025-01-01T01:00:00Z", "step": 60}}},
  "thresholds": {"pass": 75, "marginal": 50}})";

class GateCanaryTest : public ::testing::Test {
 protected:
  GateCanaryTest()
      : router_(MakeRestRouter(MakeBackends(fake_.Address()), Options())) {}

  static RestOptions Options() {
    RestOptions o;
    o.version = "test";
    o.cors_allowed_origins = "https://deck\\.example";
    return o;
  }

  json Expect(int status, const std::string& method, const std::string& target,
              const std::string& body = "") {
    http::Request r = TestRequest(method, target, body);
    http::Response resp = router_.Dispatch(r);
    EXPECT_EQ(resp.status, status)
        << method << " " << target << ": " << resp.body;
    if (resp.body.empty()) return json();
    json j = json::parse(resp.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << resp.body;
    return j;
  }

  kayenta::FakeKayenta fake_;
  http::Router router_;
};

TEST_F(GateCanaryTest, CanaryConfigRoutesAsDeckUsesThem) {
  json created = Expect(200, "POST", "/v2/canaryConfig", kConfig);
  const std::string id = created["canaryConfigId"];
  ASSERT_FALSE(id.empty());

  json summaries = Expect(200, "GET", "/v2/canaryConfig?application=app");
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0]["id"], id);
  EXPECT_EQ(summaries[0]["name"], "cpu-canary");
  EXPECT_TRUE(summaries[0]["updatedTimestampIso"].is_string());
  EXPECT_EQ(Expect(200, "GET", "/v2/canaryConfig?application=none").size(), 0u);

  json config = Expect(200, "GET", "/v2/canaryConfig/" + id);
  EXPECT_EQ(config["metrics"][0]["name"], "cpu");
  config["description"] = "edited in Deck";
  EXPECT_EQ(Expect(200, "PUT", "/v2/canaryConfig/" + id, config.dump()),
            json({{"canaryConfigId", id}}));
  EXPECT_EQ(Expect(200, "GET", "/v2/canaryConfig/" + id)["description"],
            "edited in Deck");

  // Gate answers its DELETE with an empty 200.
  Expect(200, "DELETE", "/v2/canaryConfig/" + id);
  json missing = Expect(404, "GET", "/v2/canaryConfig/" + id);
  EXPECT_EQ(missing["status"], 404);
  EXPECT_EQ(missing["path"], "/v2/canaryConfig/" + id);

  const int calls = fake_.calls();
  json bad = Expect(400, "POST", "/v2/canaryConfig", "{\"name\":");
  EXPECT_EQ(bad["status"], 400);
  EXPECT_EQ(fake_.calls(), calls);  // nothing sent
}

TEST_F(GateCanaryTest, CanaryRunsAndMetadata) {
  const std::string config_id =
      Expect(200, "POST", "/v2/canaryConfig", kConfig)["canaryConfigId"];

  json creds = Expect(200, "GET", "/v2/canaries/credentials");
  ASSERT_EQ(creds.size(), 2u);
  EXPECT_EQ(creds[0]["type"], "prometheus");
  EXPECT_EQ(creds[0]["supportedTypes"], json({"METRICS_STORE"}));
  json judges = Expect(200, "GET", "/v2/canaries/judges");
  EXPECT_EQ(judges[0]["name"], "NetflixACAJudge-v1.0");
  EXPECT_EQ(judges[0]["visible"], true);
  json descriptors =
      Expect(200, "GET", "/v2/canaries/metadata/metricsService?filter=http");
  EXPECT_EQ(descriptors, json::parse(R"([{"name":"http_requests_total"}])"));

  json started = Expect(200, "POST",
                        "/v2/canaries/canary/" + config_id +
                            "?application=app&metricsAccountName=prom",
                        kExecutionRequest);
  const std::string exec_id = started["canaryExecutionId"];
  EXPECT_EQ(fake_.last_start().scopes().at("default").control_scope().end_ms(),
            1735693200000);
  json adhoc = {{"canaryConfig", json::parse(kConfig)},
                {"executionRequest", json::parse(kExecutionRequest)}};
  EXPECT_TRUE(Expect(200, "POST", "/v2/canaries/canary?application=app",
                     adhoc.dump())["canaryExecutionId"]
                  .is_string());

  fake_.Finish(exec_id, 92.0);
  json result = Expect(200, "GET", "/v2/canaries/canary/" + exec_id);
  EXPECT_EQ(result["status"], "succeeded");
  EXPECT_EQ(result["complete"], true);
  EXPECT_EQ(result["result"]["judgeResult"]["score"]["score"], 92.0);
  // The deprecated form with the config id.
  EXPECT_EQ(
      Expect(200, "GET",
             "/v2/canaries/canary/" + config_id + "/" + exec_id)["status"],
      "succeeded");

  json executions =
      Expect(200, "GET", "/v2/canaries/app/executions?limit=10&page=1");
  EXPECT_EQ(executions.size(), 2u);
  json succeeded = Expect(
      200, "GET", "/v2/canaries/app/executions?limit=10&statuses=SUCCEEDED");
  ASSERT_EQ(succeeded.size(), 1u);
  EXPECT_EQ(succeeded[0]["pipelineId"], exec_id);
  Expect(400, "GET", "/v2/canaries/app/executions?limit=-1");

  // Bad input is refused before kayenta is called.
  const int calls = fake_.calls();
  json bad = json::parse(kExecutionRequest);
  bad["scopes"]["default"]["controlScope"]["end"] = "soon";
  Expect(400, "POST", "/v2/canaries/canary/" + config_id, bad.dump());
  Expect(400, "POST", "/v2/canaries/canary", R"({"canaryConfig": {}})");
  EXPECT_EQ(fake_.calls(), calls);
  Expect(404, "GET", "/v2/canaries/canary/nope");
}

TEST_F(GateCanaryTest, MetricSetPairList) {
  kayenta::v1::CreateMetricSetPairListRequest req;
  req.mutable_json()->set_json(
      R"({"pairs": [{"id": "p1", "name": "cpu", "values": {"control": [1]}}]})");
  kayenta::v1::CreateMetricSetPairListResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(fake_.Stub()->CreateMetricSetPairList(&ctx, req, &resp).ok());
  json pairs = Expect(
      200, "GET",
      "/v2/canaries/metricSetPairList/" + resp.metric_set_pair_list_id());
  ASSERT_TRUE(pairs.is_array());
  EXPECT_EQ(pairs[0]["name"], "cpu");
  Expect(404, "GET", "/v2/canaries/metricSetPairList/nope");
}

TEST(GateCanaryWithoutKayentaTest, EveryRouteAnswers503) {
  http::Router router = MakeRestRouter(MakeBackends(""), RestOptions{});
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v2/canaryConfig"},
           {"POST", "/v2/canaryConfig"},
           {"GET", "/v2/canaries/judges"},
           {"GET", "/v2/canaries/credentials"},
           {"GET", "/v2/canaries/canary/x"},
           {"GET", "/v2/canaries/app/executions"}}) {
    http::Request r =
        TestRequest(method, path, method == "POST" ? kConfig : "");
    http::Response resp = router.Dispatch(r);
    EXPECT_EQ(resp.status, 503) << path;
    json j = json::parse(resp.body);
    EXPECT_NE(j["message"].get<std::string>().find("services.kayenta"),
              std::string::npos)
        << j;
    EXPECT_EQ(j["path"], path);
  }
}

}  // namespace
}  // namespace gennaker::gate
