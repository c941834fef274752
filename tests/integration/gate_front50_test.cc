// gate's REST API over real HTTP against a real front50 (its gRPC service on a
// real PostgreSQL), the way spin and Deck call it: every endpoint of the
// front50 issue, the round trip of every real pipeline in shared/pipelines, and
// the error cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/grpc_server.h"
#include "common/http/http.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/pg/migrations.h"
#include "common/testing/test_stores.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/front50/front50_core.h"
#include "services/front50/front50_grpc.h"
#include "services/front50/store/pg_object_store.h"
#include "tests/support/front50_server.h"
#include "tests/support/gate_fixture.h"

namespace gennaker {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace f50 = front50::v1;

class GateFront50Test : public testing::GateRestTest {
 protected:
  static void SetUpTestSuite() {
    // orca and clouddriver as stand-ins: every RPC UNIMPLEMENTED.
    orca_service_ = new orca::v1::OrcaService::Service();
    clouddriver_service_ = new clouddriver::v1::ClouddriverService::Service();
    auto f50 =
        testing::Front50Server::Start({orca_service_, clouddriver_service_});
    ASSERT_TRUE(f50.ok()) << f50.status();
    front50_ = f50->release();
    core_ = front50_->core();
    testing::GateRestOptions gate;
    gate.front50 = front50_->address();
    gate.orca = gate.front50;
    gate.clouddriver = gate.front50;
    gate.rest.version = "9.9.9";
    gate.rest.cors_allowed_origins = R"(https?://deck\.local(:[0-9]+)?)";
    gate.http.threads = 4;
    gate.http.max_body_bytes = 4 << 20;
    StartGate(gate);
  }

  static void TearDownTestSuite() {
    StopGate();
    delete front50_;
    delete orca_service_;
    delete clouddriver_service_;
  }

  static Json JsonOf(const http::ClientResponse& r) {
    EXPECT_THAT(
        r.headers.count("content-type") ? r.headers.at("content-type") : "",
        HasSubstr("application/json"));
    return Json::parse(r.body, nullptr, false);
  }

  static void CreateApp(const std::string& name) {
    testing::CreateApplication(core_, name);
  }

  static void ExpectError(const http::ClientResponse& r, int status,
                          const std::string& text) {
    EXPECT_EQ(r.status, status) << r.body;
    Json j = Json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["status"], status);
    EXPECT_TRUE(j["timestamp"].is_number());
    EXPECT_FALSE(j["error"].get<std::string>().empty());
    EXPECT_THAT(j["message"].get<std::string>(), HasSubstr(text));
    EXPECT_FALSE(j["path"].get<std::string>().empty());
  }

  static size_t PipelineCount(const std::string& app) {
    return JsonOf(Call("GET", "/applications/" + app + "/pipelineConfigs"))
        .size();
  }

  // One call with headers of the caller's choosing (Content-Type, Origin,
  // X-Request-Id), to `base` (this suite's gate when empty).
  static http::ClientResponse Send(
      const std::string& method, const std::string& path,
      const std::string& body,
      std::vector<std::pair<std::string, std::string>> headers,
      const std::string& base = "") {
    http::ClientRequest r;
    r.method = method;
    r.url = (base.empty() ? base_ : base) + path;
    r.body = body;
    r.headers = std::move(headers);
    r.timeout_ms = 30000;
    auto resp = http::Fetch(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : http::ClientResponse{};
  }

  // A pipeline of `app` named `name` whose JSON is about `bytes` long.
  static std::string PaddedPipeline(const std::string& app,
                                    const std::string& name, size_t bytes) {
    Json p = {{"application", app},
              {"name", name},
              {"stages", Json::array()},
              {"triggers", Json::array()},
              {"description", ""}};
    const size_t base = p.dump().size();
    p["description"] = std::string(bytes > base ? bytes - base : 0, 'x');
    return p.dump();
  }

  // A second gate on this suite's front50 whose channel to it carries at
  // most `max_message_bytes`.
  static std::unique_ptr<testing::GateRestServer> GateWithFront50Limit(
      int max_message_bytes) {
    testing::GateRestOptions gate;
    gate.front50 = front50_->address();
    gate.orca = gate.front50;
    gate.clouddriver = gate.front50;
    gate.front50_max_message_bytes = max_message_bytes;
    gate.http.max_body_bytes = 4 << 20;
    auto started = testing::GateRestServer::Start(gate);
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? std::move(*started) : nullptr;
  }

  static inline testing::Front50Server* front50_;
  static inline front50::Front50Core* core_;
  static inline grpc::Service* orca_service_;
  static inline grpc::Service* clouddriver_service_;
};

TEST_F(GateFront50Test, BootEndpointsDeckAndSpinCall) {
  auto v = Call("GET", "/version");
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(JsonOf(v)["version"], "9.9.9");
  EXPECT_EQ(JsonOf(Call("GET", "/auth/user"))["username"], "anonymous");
  EXPECT_EQ(JsonOf(Call("GET", "/credentials")), Json::array());
  EXPECT_EQ(JsonOf(Call("GET", "/credentials?expand=true")), Json::array());
  EXPECT_EQ(JsonOf(Call("GET", "/plugins/deck/plugin-manifest.json")),
            Json::array());
  http::ClientRequest preflight;
  preflight.method = "OPTIONS";
  preflight.url = base_ + "/applications";
  preflight.headers = {{"Origin", "http://deck.local"}};
  auto p = http::Fetch(preflight);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->status, 200);
  EXPECT_EQ(p->headers["access-control-allow-origin"], "http://deck.local");
  EXPECT_EQ(p->headers["access-control-allow-credentials"], "true");
  preflight.headers = {{"Origin", "http://evil.example"}};
  auto refused = http::Fetch(preflight);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->headers.count("access-control-allow-origin"), 0u);
}

TEST_F(GateFront50Test, Applications) {
  CreateApp("Shop");
  auto list = JsonOf(Call("GET", "/applications"));
  bool found = false;
  for (const auto& a : list) found |= a["name"] == "shop";
  EXPECT_TRUE(found) << list.dump();
  auto app = Call("GET", "/applications/SHOP?expand=false");
  EXPECT_EQ(app.status, 200);
  Json j = JsonOf(app);
  EXPECT_EQ(j["name"], "shop");
  EXPECT_EQ(j["attributes"]["email"], "dev@example.com");
  EXPECT_TRUE(j["clusters"].is_object());
  ExpectError(Call("GET", "/applications/nosuchapp"), 404, "nosuchapp");
}

TEST_F(GateFront50Test, TasksGoToOrca) {
  Json task = {
      {"job",
       Json::array({{{"type", "createApplication"},
                     {"application", {{"name", "x"}, {"email", "e"}}}}})},
      {"application", "x"},
      {"description", "Create Application: x"}};
  // orca's task engine is not built yet: gate routes the job there and relays
  // its answer.
  ExpectError(Call("POST", "/tasks", task.dump()), 501, "StartOrchestration");
  ExpectError(Call("POST", "/applications/x/tasks", task.dump()), 501,
              "StartOrchestration");
  ExpectError(Call("POST", "/tasks", "{not json"), 400, "not valid JSON");
  ExpectError(Call("POST", "/tasks", R"({"application":"x"})"), 400, "'job'");
}

TEST_F(GateFront50Test, EveryRealPipelineRoundTrips) {
  std::string dir =
      std::string(std::getenv("GENNAKER_SOURCE_DIR")) + "/../shared/pipelines";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename() == "SOURCES.md") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    Json submitted = Json::parse(text.str(), nullptr, false);
    ASSERT_TRUE(submitted.is_object()) << entry.path();
    // Each file under an application of its own (two files share a name in one
    // app).
    std::string app = absl::StrCat("roundtrip", count++);
    CreateApp(app);
    submitted["application"] = app;
    if (!submitted.contains("name"))
      submitted["name"] = entry.path().stem().string();
    std::string name = submitted["name"];
    auto saved = Call("POST", "/pipelines", submitted.dump());
    ASSERT_EQ(saved.status, 200) << entry.path() << ": " << saved.body;

    auto got =
        Call("GET", absl::StrCat("/applications/", app, "/pipelineConfigs/",
                                 http::PercentEncode(name)));
    ASSERT_EQ(got.status, 200) << got.body;
    Json back = JsonOf(got);
    // Fields the server sets.
    EXPECT_FALSE(back["id"].get<std::string>().empty());
    EXPECT_EQ(back["lastModifiedBy"], "anonymous");
    EXPECT_TRUE(back["updateTs"].is_string());
    for (const char* f :
         {"updateTs", "lastModifiedBy", "lastModified", "index"}) {
      back.erase(f);
      submitted.erase(f);
    }
    if (!submitted.contains("id")) back.erase("id");
    EXPECT_EQ(back, submitted) << entry.path() << "\n"
                               << Json::diff(submitted, back).dump(2);
    EXPECT_EQ(PipelineCount(app), 1u);
  }
  EXPECT_EQ(count, 17);
}

TEST_F(GateFront50Test, PipelineLifecycleHistoryAndStaleCheck) {
  CreateApp("life");
  Json p = {
      {"application", "life"},
      {"name", "Deploy to prod"},
      {"stages",
       Json::array({{{"refId", "1"}, {"type", "wait"}, {"waitTime", 5}}})}};
  ASSERT_EQ(Call("POST", "/pipelines", p.dump()).status, 200);
  auto got =
      Call("GET", "/applications/life/pipelineConfigs/Deploy%20to%20prod");
  ASSERT_EQ(got.status, 200);
  Json stored = JsonOf(got);
  std::string id = stored["id"];
  EXPECT_EQ(
      JsonOf(Call("GET", "/applications/life/pipelineConfigs"))[0]["index"], 0);

  // spin pipeline save: the body carries the id; staleCheck with the current
  // lastModified.
  stored["stages"][0]["waitTime"] = 10;
  ASSERT_EQ(Call("POST", "/pipelines?staleCheck=true", stored.dump()).status,
            200);
  // The same (now old) lastModified again: 409, nothing changed.
  stored["stages"][0]["waitTime"] = 99;
  ExpectError(Call("POST", "/pipelines?staleCheck=true", stored.dump()), 409,
              "stale");
  Json now = JsonOf(
      Call("GET", "/applications/life/pipelineConfigs/deploy%20to%20prod"));
  EXPECT_EQ(now["stages"][0]["waitTime"], 10);

  auto history =
      JsonOf(Call("GET", "/pipelineConfigs/" + id + "/history?limit=20"));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["stages"][0]["waitTime"], 10);
  EXPECT_EQ(history[1]["stages"][0]["waitTime"], 5);

  // PUT /pipelines/{id} (rename) returns the updated config.
  now["name"] = "Deploy to production";
  auto put = Call("PUT", "/pipelines/" + id, now.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(JsonOf(put)["name"], "Deploy to production");
  ExpectError(Call("PUT", "/pipelines/other-id", now.dump()), 400,
              "must match");

  bool listed = false;
  for (const auto& c : JsonOf(Call("GET", "/pipelineConfigs")))
    listed |= c["id"] == id;
  EXPECT_TRUE(listed);

  // Deck's reorder: a second pipeline moved in front of the first.
  ASSERT_EQ(
      Call("POST", "/pipelines", R"({"application":"life","name":"Zeta"})")
          .status,
      200);
  std::string zeta =
      JsonOf(Call("GET", "/applications/life/pipelineConfigs/Zeta"))["id"];
  Json order = {{"application", "life"},
                {"idsToIndices", {{zeta, 0}, {id, 1}}}};
  ASSERT_EQ(Call("POST", "/actions/pipelines/reorder", order.dump()).status,
            200);
  auto ordered = JsonOf(Call("GET", "/applications/life/pipelineConfigs"));
  ASSERT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered[0]["name"], "Zeta");
  EXPECT_EQ(ordered[1]["index"], 1);
  ExpectError(
      Call("POST", "/actions/pipelines/reorder", R"({"application":"life"})"),
      400, "idsToIndices");
  ASSERT_EQ(Call("DELETE", "/pipelines/life/Zeta").status, 200);

  ASSERT_EQ(Call("DELETE", "/pipelines/life/Deploy%20to%20production").status,
            200);
  ExpectError(
      Call("GET",
           "/applications/life/pipelineConfigs/Deploy%20to%20production"),
      404, "not found");
  EXPECT_EQ(PipelineCount("life"), 0u);
  ExpectError(Call("DELETE", "/pipelines/life/Deploy%20to%20production"), 404,
              "not found");
}

// gate serves cached lists while front50's change stream is up; a write through
// another path (another gate replica, here front50 directly) must still show
// within moments.
TEST_F(GateFront50Test, CachedListsSeeWritesFromOtherReplicas) {
  CreateApp("cached");
  ASSERT_EQ(
      Call("POST", "/pipelines", R"({"application":"cached","name":"one"})")
          .status,
      200);
  EXPECT_EQ(PipelineCount("cached"), 1u);  // read through this gate: cached now
  EXPECT_EQ(PipelineCount("cached"), 1u);
  ASSERT_TRUE(core_
                  ->SavePipeline(front50::Kind::kPipeline,
                                 R"({"application":"cached","name":"two"})", {},
                                 "other")
                  .ok());
  size_t seen = 0;
  for (int i = 0; i < 100 && seen != 2; ++i) {
    seen = PipelineCount("cached");
    if (seen != 2) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(seen, 2u);
}

// A saved object whose fields have unexpected JSON types must not break reads
// of it, of its application, or of all pipelines.
TEST_F(GateFront50Test, OddlyTypedFieldsDoNotBreakReads) {
  CreateApp("odd");
  ASSERT_EQ(
      Call(
          "POST", "/pipelines",
          R"({"application":"odd","name":"x","disabled":"false","index":"7","type":5,)"
          R"("triggers":[{"type":"pipeline","pipeline":123,"enabled":"yes"}]})")
          .status,
      200);
  EXPECT_EQ(PipelineCount("odd"), 1u);
  EXPECT_EQ(Call("GET", "/applications/odd/pipelineConfigs/x").status, 200);
  EXPECT_EQ(Call("GET", "/pipelineConfigs").status, 200);
  EXPECT_EQ(Call("DELETE", "/pipelines/odd/x").status, 200);
  ASSERT_EQ(Call("POST", "/projects", R"({"name":"numbered","id":5})").status,
            200);
  EXPECT_EQ(Call("GET", "/projects").status, 200);
  // An application named "global" has its own notifications, apart from the
  // global ones.
  CreateApp("global");
  ASSERT_EQ(Call("POST", "/notifications/application/global",
                 R"({"email":[{"address":"a"}]})")
                .status,
            200);
  EXPECT_EQ(
      JsonOf(Call("GET",
                  "/notifications/application/global"))["email"][0]["address"],
      "a");
  f50::GetNotificationsRequest req;
  req.set_level(f50::NOTIFICATION_LEVEL_GLOBAL);
  f50::GetNotificationsResponse resp;
  grpc::ClientContext ctx;
  auto stub = f50::Front50Service::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", front50_->port())));
  ASSERT_TRUE(stub->GetNotifications(&ctx, req, &resp).ok());
  EXPECT_EQ(Json::parse(resp.notifications().body().json()).count("email"), 0u);
}

// What echo and the UI's search use over gRPC: trigger filters and attribute
// search.
TEST_F(GateFront50Test, Front50FiltersPipelinesByTriggerAndAppsByAttribute) {
  CreateApp("filters");
  ASSERT_EQ(
      Call("POST", "/pipelines",
           R"({"application":"filters","name":"cron","triggers":[)"
           R"({"type":"cron","enabled":true,"cronExpression":"0 0 * * * ?"}]})")
          .status,
      200);
  ASSERT_EQ(Call("POST", "/pipelines",
                 R"({"application":"filters","name":"off","triggers":[)"
                 R"({"type":"cron","enabled":false}]})")
                .status,
            200);
  auto stub = f50::Front50Service::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", front50_->port())));
  f50::ListAllPipelinesRequest req;
  req.set_enabled_triggers_only(true);
  req.add_trigger_types("cron");
  f50::ListAllPipelinesResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub->ListAllPipelines(&ctx, req, &resp).ok());
  std::vector<std::string> names;
  for (const auto& p : resp.pipelines()) names.push_back(p.name());
  EXPECT_THAT(names, ::testing::Contains("cron"));
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("off")));
  EXPECT_GT(resp.as_of_ms(), 0);

  f50::ListApplicationsRequest apps;
  (*apps.mutable_attribute_filters())["name"] = "FILTER";
  f50::ListApplicationsResponse found;
  grpc::ClientContext actx;
  ASSERT_TRUE(stub->ListApplications(&actx, apps, &found).ok());
  ASSERT_EQ(found.applications_size(), 1);
  EXPECT_EQ(found.applications(0).name(), "filters");
}

TEST_F(GateFront50Test, BadInputGetsA4xxAndStoresNothing) {
  CreateApp("strict");
  ASSERT_EQ(
      Call("POST", "/pipelines", R"({"application":"strict","name":"Only"})")
          .status,
      200);
  ExpectError(Call("POST", "/pipelines", "{\"application\": "), 400,
              "not valid JSON");
  ExpectError(Call("POST", "/pipelines", "[1,2]"), 400,
              "must be a JSON object");
  ExpectError(Call("POST", "/pipelines", ""), 400, "body is required");
  ExpectError(Call("POST", "/pipelines", R"({"name":"x"})"), 400,
              "application is required");
  ExpectError(Call("POST", "/pipelines", R"({"application":"strict"})"), 400,
              "name is required");
  ExpectError(
      Call("POST", "/pipelines", R"({"application":"ghost","name":"x"})"), 400,
      "'ghost' does not exist");
  ExpectError(
      Call("POST", "/pipelines", R"({"application":"bad name!","name":"x"})"),
      400, "does not exist");
  ExpectError(
      Call("POST", "/pipelines", R"({"application":"strict","name":"ONLY"})"),
      400, "already exists");
  std::string huge = R"({"application":"strict","name":"huge","pad":")" +
                     std::string(5 << 20, 'x') + "\"}";
  ExpectError(Call("POST", "/pipelines", huge), 413, "exceeds the limit");
  EXPECT_EQ(PipelineCount("strict"), 1u);
  ExpectError(Call("GET", "/applications/strict/pipelineConfigs/nope"), 404,
              "not found");
  ExpectError(Call("PATCH", "/pipelines"), 405, "not supported");
}

TEST_F(GateFront50Test, StrategiesProjectsTemplatesNotifications) {
  CreateApp("misc");
  ASSERT_EQ(Call("POST", "/strategies", R"({"application":"misc","name":"rb"})")
                .status,
            200);
  auto strategies = JsonOf(Call("GET", "/applications/misc/strategyConfigs"));
  ASSERT_EQ(strategies.size(), 1u);
  EXPECT_EQ(strategies[0]["name"], "rb");
  EXPECT_EQ(PipelineCount("misc"), 0u);  // strategies are not pipelines

  Json project = {{"name", "Platform"},
                  {"email", "p@example.com"},
                  {"config", {{"applications", Json::array({"misc"})}}}};
  auto saved = Call("POST", "/projects", project.dump());
  ASSERT_EQ(saved.status, 200) << saved.body;
  EXPECT_FALSE(JsonOf(saved)["id"].get<std::string>().empty());
  EXPECT_EQ(JsonOf(Call("GET", "/projects/platform"))["email"],
            "p@example.com");
  bool listed = false;
  for (const auto& p : JsonOf(Call("GET", "/projects")))
    listed |= p["name"] == "Platform";
  EXPECT_TRUE(listed);
  ExpectError(Call("POST", "/projects", R"({"name":"PLATFORM"})"), 400,
              "already exists");
  ASSERT_EQ(Call("DELETE", "/projects/Platform").status, 200);
  ExpectError(Call("GET", "/projects/Platform"), 404, "not found");

  Json tpl = {{"id", "double-wait"},
              {"schema", "v2"},
              {"metadata",
               {{"name", "Double wait"}, {"scopes", Json::array({"global"})}}}};
  ASSERT_EQ(Call("POST", "/v2/pipelineTemplates/create", tpl.dump()).status,
            200);
  ExpectError(Call("POST", "/v2/pipelineTemplates/create", tpl.dump()), 409,
              "already exists");
  EXPECT_EQ(JsonOf(Call("GET", "/v2/pipelineTemplates/double-wait"))["schema"],
            "v2");
  EXPECT_EQ(JsonOf(Call("GET", "/v2/pipelineTemplates?scopes=")).size(), 1u);
  EXPECT_EQ(JsonOf(Call("GET", "/v2/pipelineTemplates?scopes=global")).size(),
            1u);
  EXPECT_EQ(JsonOf(Call("GET", "/v2/pipelineTemplates?scopes=app")).size(), 0u);
  tpl["metadata"]["name"] = "Two waits";
  ASSERT_EQ(Call("POST", "/v2/pipelineTemplates/update/double-wait", tpl.dump())
                .status,
            200);
  EXPECT_EQ(
      JsonOf(
          Call("GET", "/v2/pipelineTemplates/double-wait"))["metadata"]["name"],
      "Two waits");
  EXPECT_EQ(Call("DELETE", "/v2/pipelineTemplates/double-wait").status, 202);
  ExpectError(Call("GET", "/v2/pipelineTemplates/double-wait"), 404,
              "not found");
  ExpectError(Call("POST", "/v2/pipelineTemplates/create", R"({"id":"x"})"),
              400, "schema");
  // An update without schema is refused too (not stored unchecked).
  ExpectError(Call("POST", "/v2/pipelineTemplates/update/x", R"({"id":"x"})"),
              400, "schema");
  ExpectError(Call("GET", "/v2/pipelineTemplates/x"), 404, "not found");

  EXPECT_EQ(
      JsonOf(Call("GET", "/notifications/application/misc"))["application"],
      "misc");
  Json n = {
      {"slack", Json::array({{{"type", "slack"},
                              {"address", "#deploys"},
                              {"when", Json::array({"pipeline.failed"})}}})}};
  ASSERT_EQ(Call("POST", "/notifications/application/misc", n.dump()).status,
            200);
  EXPECT_EQ(
      JsonOf(Call("GET",
                  "/notifications/application/misc"))["slack"][0]["address"],
      "#deploys");
}

// Five 1 MB pipelines are more than gRPC's default 4 MiB message: the
// application's list and the global list still answer, with all of them.
TEST_F(GateFront50Test, ListsAnswerWhateverTheyHold) {
  CreateApp("biglists");
  for (int i = 0; i < 5; ++i) {
    auto r = Call("POST", "/pipelines",
                  PaddedPipeline("biglists", absl::StrCat("big", i), 1 << 20));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  auto list = Call("GET", "/applications/biglists/pipelineConfigs");
  ASSERT_EQ(list.status, 200) << list.body.substr(0, 300);
  EXPECT_EQ(JsonOf(list).size(), 5u);
  auto all = Call("GET", "/pipelineConfigs");
  ASSERT_EQ(all.status, 200) << all.body.substr(0, 300);
  size_t mine = 0;
  for (const auto& p : JsonOf(all)) mine += p["application"] == "biglists";
  EXPECT_EQ(mine, 5u);
  // Other tests list everything through gates with smaller limits.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Call("DELETE", absl::StrCat("/pipelines/biglists/big", i)).status,
              200);
  }
}

// Pages are sized to what gate's channel can receive: with a 1 MiB message
// limit, five 300 KB pipelines still list whole, through several pages.
TEST_F(GateFront50Test, ListsArePagedToTheMessageLimit) {
  CreateApp("paged");
  for (int i = 0; i < 5; ++i) {
    auto r = Call("POST", "/pipelines",
                  PaddedPipeline("paged", absl::StrCat("p", i), 300 << 10));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  auto small = GateWithFront50Limit(1 << 20);
  ASSERT_NE(small, nullptr);
  auto list = small->Call("GET", "/applications/paged/pipelineConfigs");
  ASSERT_EQ(list.status, 200) << list.body.substr(0, 300);
  Json pipelines = JsonOf(list);
  ASSERT_EQ(pipelines.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(pipelines[i]["name"], absl::StrCat("p", i));
  }
  auto all = small->Call("GET", "/pipelineConfigs");
  ASSERT_EQ(all.status, 200) << all.body.substr(0, 300);
  size_t mine = 0;
  for (const auto& p : JsonOf(all)) mine += p["application"] == "paged";
  EXPECT_EQ(mine, 5u);
}

// A body just under gate's 4 MiB limit is stored and answered 200, and reads
// back whole.
TEST_F(GateFront50Test, ABodyUnderTheLimitIsStoredAndAnswered200) {
  CreateApp("fourmib");
  const std::string body =
      PaddedPipeline("fourmib", "large", (4 << 20) - (4 << 10));
  auto saved = Call("POST", "/pipelines", body);
  ASSERT_EQ(saved.status, 200) << saved.body;
  auto read = Call("GET", "/applications/fourmib/pipelineConfigs/large");
  ASSERT_EQ(read.status, 200) << read.body.substr(0, 300);
  EXPECT_EQ(JsonOf(read)["description"].get<std::string>().size(),
            Json::parse(body)["description"].get<std::string>().size());
  EXPECT_EQ(PipelineCount("fourmib"), 1u);
  EXPECT_EQ(Call("DELETE", "/pipelines/fourmib/large").status, 200);
}

// A message over a gRPC size limit is 413 with Spinnaker's JSON error (not
// 429, which clients retry), and nothing is stored.
TEST_F(GateFront50Test, AMessageOverTheSizeLimitIs413) {
  CreateApp("toolarge");
  auto small = GateWithFront50Limit(1 << 20);
  ASSERT_NE(small, nullptr);
  auto r = small->Call("POST", "/pipelines",
                       PaddedPipeline("toolarge", "big", 2 << 20));
  ExpectError(r, 413, "too large");
  EXPECT_EQ(PipelineCount("toolarge"), 0u);
}

// Cross-site writes: only JSON bodies, and an Origin must be one CORS allows.
TEST_F(GateFront50Test, CrossSiteWritesAreRefusedAndStoreNothing) {
  CreateApp("csrf");
  const std::string pipeline = R"({"application":"csrf","name":"p"})";
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=x"}) {
    auto r = Send("POST", "/pipelines", pipeline, {{"Content-Type", type}});
    ExpectError(r, 415, "application/json");
  }
  ExpectError(Send("POST", "/pipelines", pipeline,
                   {{"Content-Type", "application/json"},
                    {"Origin", "http://evil.example"}}),
              403, "origin not allowed");
  ExpectError(Send("DELETE", "/pipelines/csrf/p", "",
                   {{"Origin", "http://evil.example"}}),
              403, "origin not allowed");
  EXPECT_EQ(PipelineCount("csrf"), 0u);
  // Deck: JSON from its own (allowed) origin.
  auto deck = Send("POST", "/pipelines", pipeline,
                   {{"Content-Type", "application/json;charset=UTF-8"},
                    {"Origin", "http://deck.local"}});
  EXPECT_EQ(deck.status, 200) << deck.body;
  EXPECT_EQ(deck.headers["access-control-allow-origin"], "http://deck.local");
  // spin and curl send no Origin.
  EXPECT_EQ(Send("POST", "/pipelines", R"({"application":"csrf","name":"q"})",
                 {{"Content-Type", "application/json"}})
                .status,
            200);
  EXPECT_EQ(PipelineCount("csrf"), 2u);
}

// Unknown routes are 404 and known paths with another method 405, both with
// CORS headers for an allowed origin, like every error.
TEST_F(GateFront50Test, UnknownRoutesAre404AndErrorsCarryCors) {
  const std::vector<std::pair<std::string, std::string>> deck = {
      {"Origin", "http://deck.local"}};
  auto missing = Send("GET", "/no/such/route", "", deck);
  ExpectError(missing, 404, "No handler found");
  EXPECT_EQ(missing.headers["access-control-allow-origin"],
            "http://deck.local");
  ExpectError(Send("POST", "/no/such/route", "{}",
                   {{"Content-Type", "application/json"}}),
              404, "No handler found");
  auto wrong = Send("PATCH", "/pipelines", "", deck);
  ExpectError(wrong, 405, "not supported");
  EXPECT_EQ(wrong.headers["access-control-allow-origin"], "http://deck.local");
  auto not_found =
      Send("GET", "/applications/nosuchapp/pipelineConfigs/x", "", deck);
  EXPECT_EQ(not_found.status, 404);
  EXPECT_EQ(not_found.headers["access-control-allow-origin"],
            "http://deck.local");
}

// What a client sends in a path or a header never becomes a gRPC error.
TEST_F(GateFront50Test, HostileNamesAndHeadersAreRefusedOrReplaced) {
  CreateApp("headers");
  // A NUL would truncate the name: refused, not answered for "a".
  CreateApp("a");
  auto nul = Call("GET", "/applications/a%00b/pipelineConfigs");
  EXPECT_EQ(nul.status, 400) << nul.body;
  EXPECT_THAT(nul.body, HasSubstr("NUL"));
  // Spinnaker's application name rule, before any call.
  const std::string long_name(10000, 'a');
  ExpectError(Call("GET", "/applications/" + long_name + "/pipelineConfigs"),
              400, "invalid application name");
  ExpectError(Call("GET", "/applications/" + long_name), 400,
              "invalid application name");
  ExpectError(Call("GET", "/applications/bad%20name/pipelineConfigs"), 400,
              "invalid application name");
  // A request id gRPC could not carry is replaced, not forwarded.
  for (const std::string& id : {std::string(20000, 'r'), std::string(129, 'r'),
                                std::string("bad id with spaces")}) {
    auto r = Send("GET", "/applications/headers/pipelineConfigs", "",
                  {{"X-Request-Id", id}});
    EXPECT_EQ(r.status, 200) << r.body;
  }
  auto ok = Send("GET", "/applications/headers/pipelineConfigs", "",
                 {{"X-Request-Id", "deck-1234.5:6"}});
  EXPECT_EQ(ok.status, 200) << ok.body;
}

// front50's pages: whole pipelines up to the caller's byte budget or count;
// a token of a list that changed since is refused, a forged one too.
TEST_F(GateFront50Test, Front50PagesListsAndRefusesStaleTokens) {
  CreateApp("pages");
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Call("POST", "/pipelines",
                   PaddedPipeline("pages", absl::StrCat("p", i), 40 << 10))
                  .status,
              200);
  }
  auto stub = f50::Front50Service::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", front50_->port())));
  f50::ListPipelinesRequest req;
  req.set_kind(f50::PIPELINE_KIND_PIPELINE);
  req.set_application("pages");
  req.mutable_page()->set_page_size(2);
  std::vector<std::string> names;
  std::string first_token;
  for (int page = 0; page < 10; ++page) {
    grpc::ClientContext ctx;
    f50::ListPipelinesResponse resp;
    ASSERT_TRUE(stub->ListPipelines(&ctx, req, &resp).ok());
    EXPECT_LE(resp.pipelines_size(), 2);
    for (const auto& p : resp.pipelines()) names.push_back(p.name());
    if (first_token.empty()) first_token = resp.page().next_page_token();
    if (resp.page().next_page_token().empty()) break;
    req.mutable_page()->set_page_token(resp.page().next_page_token());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4"}));
  // A byte budget of about two pipelines.
  f50::ListAllPipelinesRequest all;
  all.set_kind(f50::PIPELINE_KIND_PIPELINE);
  all.set_max_page_bytes(100 << 10);
  int pages = 0;
  size_t mine = 0;
  while (pages < 100) {
    grpc::ClientContext ctx;
    f50::ListAllPipelinesResponse resp;
    ASSERT_TRUE(stub->ListAllPipelines(&ctx, all, &resp).ok());
    ++pages;
    // Only a single pipeline larger than the budget makes a larger page.
    if (resp.pipelines_size() > 1) {
      EXPECT_LE(resp.ByteSizeLong(), size_t{100 << 10});
    }
    for (const auto& p : resp.pipelines()) mine += p.application() == "pages";
    if (resp.page().next_page_token().empty()) break;
    all.mutable_page()->set_page_token(resp.page().next_page_token());
  }
  EXPECT_EQ(mine, 5u);
  EXPECT_GE(pages, 3);
  // The list changes: the old token is refused, not served with a gap.
  ASSERT_EQ(Call("DELETE", "/pipelines/pages/p0").status, 200);
  req.mutable_page()->set_page_token(first_token);
  grpc::ClientContext stale_ctx;
  f50::ListPipelinesResponse stale;
  EXPECT_EQ(stub->ListPipelines(&stale_ctx, req, &stale).error_code(),
            grpc::StatusCode::ABORTED);
  req.mutable_page()->set_page_token("not-a-token");
  grpc::ClientContext forged_ctx;
  EXPECT_EQ(stub->ListPipelines(&forged_ctx, req, &stale).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // gate reads every page of what is left.
  EXPECT_EQ(PipelineCount("pages"), 4u);
}

}  // namespace
}  // namespace gennaker
