// gate's whole REST router as Deck meets it, against mocked backends: CORS
// headers on every answer (errors and unknown routes included), 404 for
// unknown routes and 405 for known paths with another method, the start-up
// and feature-probe routes Deck calls, and the project dashboard, template
// versions, server-groups-by-id and expression routes, with authorization off
// and on (a caller denied one application and one account).
#include "services/gate/gate_rest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/fiat/authorizer.h"
#include "common/http/http.h"
#include "gennaker/clouddriver/v1/clouddriver_mock.grpc.pb.h"
#include "gennaker/front50/v1/front50_mock.grpc.pb.h"
#include "gennaker/orca/v1/orca_mock.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::ElementsAre;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::SetArgPointee;
using Json = nlohmann::ordered_json;
namespace cd = clouddriver::v1;
namespace f50 = front50::v1;
namespace ov1 = orca::v1;

constexpr char kDeck[] = "http://localhost:9000";

// front50's change stream as a mock serves it: it ends at once (gate's list
// cache then asks front50 on every read).
class EndedStream : public grpc::ClientReaderInterface<f50::ChangeEvent> {
 public:
  grpc::Status Finish() override { return grpc::Status::OK; }
  bool NextMessageSize(uint32_t* size) override {
    *size = 0;
    return false;
  }
  bool Read(f50::ChangeEvent*) override { return false; }
  void WaitForInitialMetadata() override {}
};

class RestRouterTest : public ::testing::Test {
 protected:
  // Authorization is off unless a fixture says otherwise.
  virtual std::shared_ptr<fiat::Authorizer> MakeAuthorizer() {
    return fiat::Authorizer::Disabled();
  }

  void SetUp() override {
    front50_ = std::make_shared<NiceMock<f50::MockFront50ServiceStub>>();
    orca_ = std::make_shared<NiceMock<ov1::MockOrcaServiceStub>>();
    clouddriver_ = std::make_shared<NiceMock<cd::MockClouddriverServiceStub>>();
    ON_CALL(*front50_, WatchChangesRaw(_, _)).WillByDefault([](auto, auto) {
      return new EndedStream();
    });
    auto backends = std::make_shared<Backends>();
    backends->front50 = {front50_, std::chrono::seconds(5)};
    backends->orca = {orca_, std::chrono::seconds(5)};
    backends->clouddriver = {clouddriver_, std::chrono::seconds(5)};
    backends->authorizer = MakeAuthorizer();
    RestOptions options;
    options.version = "test";
    options.cors_allowed_origins =
        R"(https?://(localhost|127\.0\.0\.1)(:\d+)?)";
    router_ = std::make_unique<http::Router>(MakeRestRouter(backends, options));
  }

  // `target` is "path?query"; Deck's Origin unless `origin` says otherwise.
  http::Response Call(const std::string& method, const std::string& target,
                      const std::string& origin = kDeck) {
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
    if (!origin.empty()) r.headers["origin"] = origin;
    r.headers["x-requested-with"] = "XMLHttpRequest";
    return router_->Dispatch(r);
  }

  static std::string Header(const http::Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  static Json Body(const http::Response& r) {
    return Json::parse(r.shared_body ? *r.shared_body : r.body, nullptr, false);
  }

  // Deck's origin is echoed with credentials.
  static void ExpectCors(const http::Response& r) {
    EXPECT_EQ(Header(r, "Access-Control-Allow-Origin"), kDeck) << r.status;
    EXPECT_EQ(Header(r, "Access-Control-Allow-Credentials"), "true");
  }

  std::shared_ptr<NiceMock<f50::MockFront50ServiceStub>> front50_;
  std::shared_ptr<NiceMock<ov1::MockOrcaServiceStub>> orca_;
  std::shared_ptr<NiceMock<cd::MockClouddriverServiceStub>> clouddriver_;
  std::unique_ptr<http::Router> router_;
};

TEST_F(RestRouterTest, UnknownRoutesAre404WithCorsHeaders) {
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    http::Response r = Call(method, "/no/such/route");
    EXPECT_EQ(r.status, 404) << method;
    ExpectCors(r);
    EXPECT_EQ(Body(r)["status"], 404);
    EXPECT_EQ(Body(r)["path"], "/no/such/route");
  }
  // A capability gate does not know is unknown, not another method's route.
  http::Response r = Call("GET", "/capabilities/somethingElse");
  EXPECT_EQ(r.status, 404);
  ExpectCors(r);
  // Another origin gets no CORS headers, even on errors.
  r = Call("GET", "/no/such/route", "http://evil.example");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Header(r, "Access-Control-Allow-Origin"), "");
}

TEST_F(RestRouterTest, KnownPathsWithAnotherMethodAre405WithCorsHeaders) {
  http::Response r = Call("DELETE", "/health");
  EXPECT_EQ(r.status, 405);
  ExpectCors(r);
  r = Call("POST", "/capabilities/quietPeriod");
  EXPECT_EQ(r.status, 405);
  ExpectCors(r);
  // The preflight of any path.
  r = Call("OPTIONS", "/capabilities/quietPeriod");
  EXPECT_EQ(r.status, 200);
  ExpectCors(r);
  EXPECT_THAT(Header(r, "Access-Control-Allow-Headers"),
              ::testing::HasSubstr("X-RateLimit-App"));
}

TEST_F(RestRouterTest, ErrorsOfRoutesCarryCorsHeaders) {
  // 400: an invalid application name.
  http::Response r = Call("GET", "/applications/-bad-/pipelines");
  EXPECT_EQ(r.status, 400);
  ExpectCors(r);
  // 400: a malformed query parameter.
  r = Call("GET", "/serverGroups?ids=only-account");
  EXPECT_EQ(r.status, 400);
  ExpectCors(r);
  // 404 and 503 from a backend.
  EXPECT_CALL(*orca_, GetExecution(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such")))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")));
  r = Call("GET", "/pipelines/E1");
  EXPECT_EQ(r.status, 404);
  ExpectCors(r);
  r = Call("GET", "/pipelines/E1");
  EXPECT_EQ(r.status, 503);
  ExpectCors(r);
  // 403: a write from an origin CORS does not allow.
  r = Call("POST", "/tasks", "http://evil.example");
  EXPECT_EQ(r.status, 403);
}

TEST_F(RestRouterTest, DecksStartUpAndFeatureProbesAnswer) {
  http::Response r = Call("GET", "/capabilities/quietPeriod");
  ASSERT_EQ(r.status, 200);
  ExpectCors(r);
  EXPECT_EQ(Body(r), Json::parse(R"({"enabled":false,"startTime":-1,)"
                                 R"("endTime":-1,"inQuietPeriod":false})"));
  for (const char* path :
       {"/capabilities/deploymentMonitors", "/artifacts/credentials",
        "/pubsub/subscriptions", "/functions", "/applications/app/functions",
        "/pipelineTemplates?scope=global", "/jobs/preconfigured",
        "/webhooks/preconfigured", "/plugins/deck/plugin-manifest.json",
        "/applications/app/serverGroupManagers"}) {
    r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(Body(r), Json::array()) << path;
    ExpectCors(r);
  }
  // Security off: Deck's user is anonymous.
  r = Call("GET", "/auth/user");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r)["username"], "anonymous");
}

TEST_F(RestRouterTest, TemplateVersionsAreGroupedById) {
  f50::ListPipelineTemplatesRequest req;
  f50::ListPipelineTemplatesResponse resp;
  for (const auto& [id, tag, digest] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"deploy", "latest", "d1"},
           {"deploy", "v1", "d0"},
           {"bake", "", ""}}) {
    f50::PipelineTemplate* t = resp.add_templates();
    t->set_id(id);
    t->set_tag(tag);
    t->set_digest(digest);
    t->mutable_body()->set_json(
        Json{{"id", id}, {"schema", "v2"}, {"metadata", {{"name", id}}}}
            .dump());
  }
  EXPECT_CALL(*front50_, ListPipelineTemplates(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)));
  // Not taken as the template "versions".
  http::Response r = Call("GET", "/v2/pipelineTemplates/versions?scopes=app");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(req.scopes(), ElementsAre("app"));
  Json body = Body(r);
  ASSERT_EQ(body["deploy"].size(), 2u);
  EXPECT_EQ(body["deploy"][0]["tag"], "latest");
  EXPECT_EQ(body["deploy"][0]["digest"], "d1");
  EXPECT_EQ(body["deploy"][1]["tag"], "v1");
  EXPECT_EQ(body["deploy"][1]["schema"], "v2");
  ASSERT_EQ(body["bake"].size(), 1u);
  EXPECT_FALSE(body["bake"][0].contains("tag"));
}

f50::GetProjectResponse Project(const Json& config) {
  f50::GetProjectResponse resp;
  resp.mutable_project()->set_name("proj");
  resp.mutable_project()->mutable_body()->set_json(
      Json{{"name", "proj"}, {"config", config}}.dump());
  return resp;
}

ov1::Execution ExecutionOf(const std::string& id, int64_t build_time,
                           const std::string& app = "app") {
  ov1::Execution e;
  e.set_id(id);
  e.set_application(app);
  e.set_build_time_ms(build_time);
  e.mutable_json()->set_json(
      Json{{"id", id}, {"buildTime", build_time}}.dump());
  return e;
}

TEST_F(RestRouterTest, ProjectPipelinesAreTheNewestOfItsConfigs) {
  f50::GetProjectRequest get;
  EXPECT_CALL(*front50_, GetProject(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&get),
                      SetArgPointee<2>(Project(Json::parse(R"({
        "applications": ["app"],
        "pipelineConfigs": [{"application": "app", "pipelineConfigId": "p1"},
                            {"application": "app", "pipelineConfigId": "p2"}]
      })"))),
                      Return(grpc::Status::OK)));
  ov1::ListExecutionsRequest list;
  ov1::ListExecutionsResponse executions;
  *executions.add_executions() = ExecutionOf("E1", 100);
  *executions.add_executions() = ExecutionOf("E3", 300);
  *executions.add_executions() = ExecutionOf("E2", 200);
  EXPECT_CALL(*orca_, ListExecutions(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&list), SetArgPointee<2>(executions),
                      Return(grpc::Status::OK)));
  http::Response r = Call("GET", "/projects/proj/pipelines?limit=1");
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectCors(r);
  EXPECT_EQ(get.id_or_name(), "proj");
  EXPECT_THAT(list.pipeline_config_ids(), ElementsAre("p1", "p2"));
  EXPECT_EQ(list.limit(), 1);
  EXPECT_EQ(list.type(), common::v1::PIPELINE);
  std::vector<std::string> ids;
  for (const Json& e : Body(r)) ids.push_back(e["id"]);
  EXPECT_THAT(ids, ElementsAre("E3", "E2", "E1"));
}

TEST_F(RestRouterTest, ProjectWithoutPipelinesListsNoneAndUnknownIs404) {
  EXPECT_CALL(*front50_, GetProject(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(Project(Json::object())),
                      Return(grpc::Status::OK)))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "no")));
  EXPECT_CALL(*orca_, ListExecutions(_, _, _)).Times(0);
  http::Response r = Call("GET", "/projects/proj/pipelines");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), Json::array());
  r = Call("GET", "/projects/nope/pipelines");
  EXPECT_EQ(r.status, 404);
  ExpectCors(r);
}

cd::ServerGroup Group(const std::string& account, const std::string& region,
                      const std::string& name, const std::string& stack,
                      int64_t created, bool disabled, int up, int down) {
  cd::ServerGroup g;
  g.set_account(account);
  g.set_region(region);
  g.set_name(name);
  g.mutable_moniker()->set_stack(stack);
  g.set_created_time_ms(created);
  g.set_disabled(disabled);
  g.mutable_instance_counts()->set_total(up + down);
  g.mutable_instance_counts()->set_up(up);
  g.mutable_instance_counts()->set_down(down);
  return g;
}

TEST_F(RestRouterTest, ProjectClustersSumTheMatchingServerGroups) {
  EXPECT_CALL(*front50_, GetProject(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(Project(Json::parse(R"({
        "applications": ["app", "other"],
        "clusters": [{"account": "local", "stack": "web", "detail": ""},
                     {"account": "local", "stack": "*", "detail": "",
                      "applications": ["other"]}]
      })"))),
                      Return(grpc::Status::OK)));
  cd::ListServerGroupsResponse app_groups;
  *app_groups.add_server_groups() =
      Group("local", "r1", "app-web-v000", "web", 100, true, 2, 0);
  *app_groups.add_server_groups() =
      Group("local", "r1", "app-web-v001", "web", 200, false, 2, 1);
  *app_groups.add_server_groups() =
      Group("local", "r2", "app-web-v000", "web", 150, false, 1, 0);
  *app_groups.add_server_groups() =
      Group("other-account", "r1", "app-web-v000", "web", 900, false, 5, 0);
  *app_groups.add_server_groups() =
      Group("local", "r1", "app-api-v000", "api", 900, false, 5, 0);
  cd::ListServerGroupsResponse other_groups;
  *other_groups.add_server_groups() =
      Group("local", "r1", "other-x-v000", "x", 50, false, 3, 0);
  std::vector<std::string> asked;
  EXPECT_CALL(*clouddriver_, ListServerGroups(_, _, _))
      .WillRepeatedly([&](auto, const cd::ListServerGroupsRequest& req,
                          cd::ListServerGroupsResponse* resp) {
        asked.push_back(req.application());
        *resp = req.application() == "app" ? app_groups : other_groups;
        return grpc::Status::OK;
      });
  http::Response r = Call("GET", "/projects/proj/clusters");
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectCors(r);
  // Each application's server groups are read once.
  EXPECT_THAT(asked, ElementsAre("app", "other"));
  Json body = Body(r);
  ASSERT_EQ(body.size(), 2u);
  const Json& web = body[0];
  EXPECT_EQ(web["account"], "local");
  EXPECT_EQ(web["stack"], "web");
  // "other" has no web server group in the account: left out.
  ASSERT_EQ(web["applications"].size(), 1u);
  const Json& app = web["applications"][0];
  EXPECT_EQ(app["application"], "app");
  EXPECT_EQ(app["lastPush"], 200);
  ASSERT_EQ(app["clusters"].size(), 2u);
  EXPECT_EQ(app["clusters"][0]["region"], "r1");
  EXPECT_EQ(app["clusters"][0]["lastPush"], 200);
  // The disabled v000 does not count.
  EXPECT_EQ(app["clusters"][0]["instanceCounts"]["total"], 3);
  EXPECT_EQ(app["clusters"][0]["instanceCounts"]["up"], 2);
  EXPECT_EQ(app["clusters"][0]["instanceCounts"]["down"], 1);
  EXPECT_EQ(app["clusters"][0]["builds"], Json::array());
  EXPECT_EQ(app["clusters"][1]["region"], "r2");
  EXPECT_EQ(web["instanceCounts"]["total"], 4);
  EXPECT_EQ(web["instanceCounts"]["up"], 3);
  // The wildcard stack, for the cluster's own application list.
  const Json& any = body[1];
  ASSERT_EQ(any["applications"].size(), 1u);
  EXPECT_EQ(any["applications"][0]["application"], "other");
  EXPECT_EQ(any["instanceCounts"]["up"], 3);
}

TEST_F(RestRouterTest, ServerGroupsByIdsAskClouddriverForThoseRefs) {
  cd::ListServerGroupsRequest req;
  cd::ListServerGroupsResponse resp;
  *resp.add_server_groups() =
      Group("local", "r1", "app-web-v001", "web", 200, false, 2, 0);
  EXPECT_CALL(*clouddriver_, ListServerGroups(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)));
  // Deck repeats the parameter, one id each.
  http::Response r = Call("GET",
                          "/serverGroups?ids=local:r1:app-web-v001"
                          "&ids=local:r2:app-web-v000");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(req.refs_size(), 2);
  EXPECT_EQ(req.refs(0).account(), "local");
  EXPECT_EQ(req.refs(0).region(), "r1");
  EXPECT_EQ(req.refs(0).name(), "app-web-v001");
  EXPECT_EQ(req.refs(1).region(), "r2");
  EXPECT_TRUE(req.application().empty());
  Json body = Body(r);
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0]["name"], "app-web-v001");
  EXPECT_EQ(body[0]["instanceCounts"]["up"], 2);
  // No ids: nothing to ask.
  r = Call("GET", "/serverGroups");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), Json::array());
}

TEST_F(RestRouterTest, ExpressionsAreEvaluatedByOrcaInSpinnakersShape) {
  ov1::GetExecutionResponse found;
  found.mutable_execution()->set_application("app");
  EXPECT_CALL(*orca_, GetExecution(_, _, _))
      .WillRepeatedly(DoAll(SetArgPointee<2>(found), Return(grpc::Status::OK)));
  ov1::EvaluateExpressionRequest asked;
  ov1::EvaluateExpressionResponse ok, failed;
  ok.mutable_result()->set_json(R"({"env":"prod"})");
  failed.mutable_result()->set_json(R"("${nope.x}")");
  ov1::ExpressionDiagnostic* d = failed.add_diagnostics();
  d->set_expression("nope.x");
  d->set_level("ERROR");
  d->set_description("nope not found");
  d->set_exception_type("SpelEvaluationException");
  d->set_timestamp_ms(7);
  EXPECT_CALL(*orca_, EvaluateExpression(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&asked), SetArgPointee<2>(ok),
                      Return(grpc::Status::OK)))
      .WillOnce(DoAll(SetArgPointee<2>(failed), Return(grpc::Status::OK)));
  http::Response r = Call(
      "GET", "/pipelines/E1/S1/evaluateExpression?expression=%24%7Btrigger%7D");
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectCors(r);
  EXPECT_EQ(asked.execution_id(), "E1");
  EXPECT_EQ(asked.stage_id(), "S1");
  EXPECT_EQ(asked.expression(), "${trigger}");
  EXPECT_EQ(Body(r), Json::parse(R"({"result":{"env":"prod"}})"));
  r = Call("GET",
           "/pipelines/E1/evaluateExpression?expression=%24%7Bnope.x%7D");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), Json::parse(R"({"result":"${nope.x}","detail":{"nope.x":[
      {"description":"nope not found","exceptionType":"SpelEvaluationException",
       "level":"ERROR","timestamp":7}]}})"));
  // No expression: nothing to evaluate.
  EXPECT_EQ(Call("GET", "/pipelines/E1/evaluateExpression").status, 400);
}

// --- authorization on ---

// fiat's permission sets as a map (the caller here is anonymous: no
// authentication is configured).
class MapPermissionSource : public fiat::PermissionSource {
 public:
  explicit MapPermissionSource(
      std::map<std::string, fiat::v1::UserPermission> users)
      : users_(std::move(users)) {}

  absl::StatusOr<fiat::v1::UserPermission> Get(
      const std::string& user) override {
    auto it = users_.find(user);
    if (it == users_.end()) return absl::NotFoundError("unknown user");
    return it->second;
  }

 private:
  std::map<std::string, fiat::v1::UserPermission> users_;
};

// The caller may READ the application "app" and the account "local"; the
// application "secret" and the account "prod" are not in its set (and
// unknown applications are not allowed), so both are denied.
class RestRouterAuthzTest : public RestRouterTest {
 protected:
  std::shared_ptr<fiat::Authorizer> MakeAuthorizer() override {
    fiat::v1::UserPermission anonymous;
    anonymous.set_name("anonymous");
    fiat::v1::ResourceView* app = anonymous.add_applications();
    app->set_name("app");
    app->add_authorizations(fiat::v1::AUTHORIZATION_READ);
    fiat::v1::ResourceView* local = anonymous.add_accounts();
    local->set_name("local");
    local->add_authorizations(fiat::v1::AUTHORIZATION_READ);
    common::v1::AuthorizationConfig config;
    config.set_enabled(true);
    return std::make_shared<fiat::Authorizer>(
        std::make_unique<MapPermissionSource>(
            std::map<std::string, fiat::v1::UserPermission>{
                {"anonymous", anonymous}}),
        config);
  }
};

TEST_F(RestRouterAuthzTest, ServerGroupsByIdsLeaveOutDeniedAccountsAndApps) {
  cd::ListServerGroupsRequest req;
  cd::ListServerGroupsResponse resp;
  *resp.add_server_groups() =
      Group("local", "r1", "app-web-v001", "web", 200, false, 2, 0);
  // The moniker names the application...
  cd::ServerGroup by_moniker =
      Group("local", "r1", "secret-web-v000", "web", 100, false, 1, 0);
  by_moniker.mutable_moniker()->set_app("secret");
  *resp.add_server_groups() = by_moniker;
  // ... else the name does (Frigga).
  *resp.add_server_groups() =
      Group("local", "r1", "secret-api-v003", "api", 100, false, 1, 0);
  // An account the caller may not READ, even when clouddriver answers it.
  *resp.add_server_groups() =
      Group("prod", "r1", "app-web-v002", "web", 100, false, 1, 0);
  EXPECT_CALL(*clouddriver_, ListServerGroups(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&req), SetArgPointee<2>(resp),
                      Return(grpc::Status::OK)));
  http::Response r = Call("GET",
                          "/serverGroups?ids=local:r1:app-web-v001"
                          "&ids=prod:r1:app-web-v002"
                          "&ids=local:r1:secret-web-v000"
                          "&ids=local:r1:secret-api-v003");
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectCors(r);
  // The denied account's id is not even asked for.
  std::vector<std::string> asked;
  for (const auto& ref : req.refs()) {
    asked.push_back(ref.account() + ":" + ref.name());
  }
  EXPECT_THAT(asked, ElementsAre("local:app-web-v001", "local:secret-web-v000",
                                 "local:secret-api-v003"));
  std::vector<std::string> names;
  for (const Json& g : Body(r)) names.push_back(g["name"]);
  EXPECT_THAT(names, ElementsAre("app-web-v001"));
}

TEST_F(RestRouterAuthzTest, ProjectClustersLeaveOutDeniedAccountsAndApps) {
  EXPECT_CALL(*front50_, GetProject(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(Project(Json::parse(R"({
        "applications": ["app", "secret"],
        "clusters": [{"account": "prod", "stack": "web", "detail": ""},
                     {"account": "local", "stack": "web", "detail": ""}]
      })"))),
                      Return(grpc::Status::OK)));
  cd::ListServerGroupsResponse app_groups;
  *app_groups.add_server_groups() =
      Group("local", "r1", "app-web-v001", "web", 200, false, 2, 1);
  *app_groups.add_server_groups() =
      Group("prod", "r1", "app-web-v004", "web", 900, false, 7, 0);
  cd::ListServerGroupsResponse secret_groups;
  *secret_groups.add_server_groups() =
      Group("local", "r1", "secret-web-v000", "web", 300, false, 4, 0);
  std::vector<std::string> asked;
  EXPECT_CALL(*clouddriver_, ListServerGroups(_, _, _))
      .WillRepeatedly([&](auto, const cd::ListServerGroupsRequest& req,
                          cd::ListServerGroupsResponse* resp) {
        asked.push_back(req.application());
        *resp = req.application() == "app" ? app_groups : secret_groups;
        return grpc::Status::OK;
      });
  http::Response r = Call("GET", "/projects/proj/clusters");
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectCors(r);
  // The denied application's server groups are not read.
  EXPECT_THAT(asked, ElementsAre("app"));
  Json body = Body(r);
  // The prod cluster is left out whole.
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0]["account"], "local");
  ASSERT_EQ(body[0]["applications"].size(), 1u);
  EXPECT_EQ(body[0]["applications"][0]["application"], "app");
  // Only the allowed application's server groups count.
  EXPECT_EQ(body[0]["instanceCounts"]["total"], 3);
  EXPECT_EQ(body[0]["instanceCounts"]["up"], 2);
}

TEST_F(RestRouterAuthzTest, ProjectPipelinesLeaveOutDeniedApps) {
  EXPECT_CALL(*front50_, GetProject(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(Project(Json::parse(R"({
        "applications": ["app", "secret"],
        "pipelineConfigs": [
          {"application": "app", "pipelineConfigId": "p1"},
          {"application": "secret", "pipelineConfigId": "p2"}]
      })"))),
                      Return(grpc::Status::OK)));
  ov1::ListExecutionsResponse executions;
  *executions.add_executions() = ExecutionOf("E1", 100, "app");
  *executions.add_executions() = ExecutionOf("E2", 300, "secret");
  *executions.add_executions() = ExecutionOf("E3", 200, "app");
  EXPECT_CALL(*orca_, ListExecutions(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(executions), Return(grpc::Status::OK)));
  http::Response r = Call("GET", "/projects/proj/pipelines");
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectCors(r);
  std::vector<std::string> ids;
  for (const Json& e : Body(r)) ids.push_back(e["id"]);
  EXPECT_THAT(ids, ElementsAre("E3", "E1"));
}

TEST_F(RestRouterAuthzTest, ExpressionsOfDeniedAppsExecutionsAre403) {
  ov1::GetExecutionResponse secret, app;
  secret.mutable_execution()->set_application("secret");
  app.mutable_execution()->set_application("app");
  EXPECT_CALL(*orca_, GetExecution(_, _, _))
      .WillRepeatedly([&](auto, const ov1::GetExecutionRequest& req,
                          ov1::GetExecutionResponse* resp) {
        *resp = req.id() == "E9" ? secret : app;
        return grpc::Status::OK;
      });
  ov1::EvaluateExpressionRequest asked;
  ov1::EvaluateExpressionResponse ok;
  ok.mutable_result()->set_json(R"("prod")");
  // Only the allowed execution reaches orca's evaluation.
  EXPECT_CALL(*orca_, EvaluateExpression(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&asked), SetArgPointee<2>(ok),
                      Return(grpc::Status::OK)));
  for (const char* path :
       {"/pipelines/E9/evaluateExpression?expression=%24%7Btrigger%7D",
        "/pipelines/E9/S1/evaluateExpression?expression=%24%7Btrigger%7D"}) {
    http::Response r = Call("GET", path);
    EXPECT_EQ(r.status, 403) << path << " " << r.body;
    ExpectCors(r);
    EXPECT_EQ(Body(r)["status"], 403) << path;
  }
  http::Response r =
      Call("GET", "/pipelines/E1/evaluateExpression?expression=%24%7Benv%7D");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(asked.execution_id(), "E1");
  EXPECT_EQ(Body(r), Json::parse(R"({"result":"prod"})"));
}

}  // namespace
}  // namespace gennaker::gate
