// gate's authorization: the route policy table (every route gate registers
// has one), AuthorizeRoute against a fiat Authorizer over a map of permission
// sets, the runAsUser rule, allowed accounts, and the per-user filtering of
// lists over real HTTP, with orca, front50, clouddriver, igor and fiat faked
// by an in-process gRPC server.
#include "services/gate/gate_authz.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fiat/authorizer.h"
#include "common/grpc/channel.h"
#include "common/grpc/grpc_server.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/json.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_applications.h"
#include "services/gate/gate_builds.h"
#include "services/gate/gate_canary.h"
#include "services/gate/gate_executions.h"
#include "services/gate/gate_grpc.h"
#include "services/gate/gate_infrastructure.h"
#include "services/gate/gate_rest.h"
#include "services/gate/gate_webhooks.h"

namespace gennaker::gate {
namespace {

using JsonT = nlohmann::json;
namespace fv1 = fiat::v1;
namespace cd = clouddriver::v1;
namespace f50 = front50::v1;
namespace ov1 = orca::v1;
namespace iv1 = igor::v1;

template <typename Message>
Message Proto(const std::string& text) {
  Message m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

// --- permission sets ---

class MapPermissionSource : public fiat::PermissionSource {
 public:
  explicit MapPermissionSource(std::map<std::string, fv1::UserPermission> users,
                               std::shared_ptr<bool> down)
      : users_(std::move(users)), down_(std::move(down)) {}

  absl::StatusOr<fv1::UserPermission> Get(const std::string& user) override {
    if (*down_) return absl::UnavailableError("fiat is down");
    auto it = users_.find(user);
    if (it == users_.end()) return absl::NotFoundError("unknown user");
    return it->second;
  }

 private:
  std::map<std::string, fv1::UserPermission> users_;
  std::shared_ptr<bool> down_;
};

std::map<std::string, fv1::UserPermission> Users() {
  std::map<std::string, fv1::UserPermission> users;
  auto add = [&users](const std::string& name, const std::string& text) {
    users[name] = Proto<fv1::UserPermission>(
        absl::StrCat("name: '", name, "' ", text,
                     // Unrestricted resources everyone gets.
                     " applications { name: 'public' authorizations: "
                     "[AUTHORIZATION_READ, AUTHORIZATION_WRITE, "
                     "AUTHORIZATION_EXECUTE] }"));
  };
  add("anonymous", "");
  add("reader", R"pb(
    applications {
      name: "shop"
      authorizations: [ AUTHORIZATION_READ ]
    }
    accounts {
      name: "dev"
      authorizations: [ AUTHORIZATION_READ ]
    }
    build_services {
      name: "ci"
      authorizations: [ AUTHORIZATION_READ ]
    }
  )pb");
  add("writer", R"pb(
    applications {
      name: "shop"
      authorizations: [ AUTHORIZATION_READ, AUTHORIZATION_WRITE ]
    }
    accounts {
      name: "dev"
      authorizations: [ AUTHORIZATION_READ, AUTHORIZATION_WRITE ]
    }
    accounts {
      name: "prod"
      authorizations: [ AUTHORIZATION_WRITE ]
    }
    service_accounts { name: "bot@sa" }
    service_accounts { name: "weak@sa" }
  )pb");
  add("runner", R"pb(
    applications {
      name: "shop"
      authorizations: [ AUTHORIZATION_READ, AUTHORIZATION_EXECUTE ]
    }
  )pb");
  add("admin", R"pb(
    admin: true
    accounts {
      name: "dev"
      authorizations: [ AUTHORIZATION_READ ]
    }
    accounts {
      name: "prod"
      authorizations: [ AUTHORIZATION_READ ]
    }
  )pb");
  add("bot@sa", R"pb(
    applications {
      name: "shop"
      authorizations: [ AUTHORIZATION_EXECUTE ]
    }
  )pb");
  add("weak@sa", R"pb(
    applications {
      name: "shop"
      authorizations: [ AUTHORIZATION_READ ]
    }
  )pb");
  return users;
}

std::shared_ptr<fiat::Authorizer> EnabledAuthorizer(
    std::shared_ptr<bool> down) {
  common::v1::AuthorizationConfig config;
  config.set_enabled(true);
  config.set_cache_ttl_seconds(1);
  return std::make_shared<fiat::Authorizer>(
      std::make_unique<MapPermissionSource>(Users(), std::move(down)), config);
}

// --- fake backends ---

class FakeOrca final : public ov1::OrcaService::Service {
 public:
  grpc::Status GetExecution(grpc::ServerContext*,
                            const ov1::GetExecutionRequest* req,
                            ov1::GetExecutionResponse* resp) override {
    static const std::map<std::string, std::string> kApps = {
        {"e-shop", "shop"}, {"e-secret", "secret"}};
    auto it = kApps.find(req->id());
    if (it == kApps.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such execution");
    }
    resp->mutable_execution()->set_id(req->id());
    resp->mutable_execution()->set_application(it->second);
    resp->mutable_execution()->mutable_json()->set_json(absl::StrCat(
        R"({"id":")", req->id(), R"(","application":")", it->second, R"("})"));
    return grpc::Status::OK;
  }

  grpc::Status ListExecutions(grpc::ServerContext*,
                              const ov1::ListExecutionsRequest*,
                              ov1::ListExecutionsResponse* resp) override {
    for (const char* app : {"shop", "secret", "public"}) {
      ov1::Execution* e = resp->add_executions();
      e->set_id(absl::StrCat("e-", app));
      e->set_application(app);
      e->mutable_json()->set_json(absl::StrCat(
          R"({"id":"e-)", app, R"(","application":")", app, R"("})"));
    }
    return grpc::Status::OK;
  }
};

class FakeFront50 final : public f50::Front50Service::Service {
 public:
  grpc::Status GetApplication(grpc::ServerContext*,
                              const f50::GetApplicationRequest* req,
                              f50::GetApplicationResponse* resp) override {
    if (req->name() != "shop") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such application");
    }
    resp->mutable_application()->set_name("shop");
    return grpc::Status::OK;
  }

  grpc::Status ListApplications(grpc::ServerContext*,
                                const f50::ListApplicationsRequest*,
                                f50::ListApplicationsResponse* resp) override {
    for (const char* app : {"public", "secret", "shop"}) {
      f50::Application* a = resp->add_applications();
      a->set_name(app);
      a->mutable_attributes()->set_json(
          absl::StrCat(R"({"name":")", app, R"("})"));
    }
    return grpc::Status::OK;
  }
};

class FakeClouddriver final : public cd::ClouddriverService::Service {
 public:
  grpc::Status ListAccounts(grpc::ServerContext*,
                            const cd::ListAccountsRequest*,
                            cd::ListAccountsResponse* resp) override {
    for (const char* name : {"dev", "prod", "secret"}) {
      cd::Account* a = resp->add_accounts();
      a->set_name(name);
      a->set_cloud_provider("kubernetes");
    }
    return grpc::Status::OK;
  }

  grpc::Status GetAccount(grpc::ServerContext*,
                          const cd::GetAccountRequest* req,
                          cd::GetAccountResponse* resp) override {
    resp->mutable_account()->set_name(req->name());
    resp->mutable_account()->set_cloud_provider("kubernetes");
    return grpc::Status::OK;
  }

  grpc::Status Search(grpc::ServerContext*, const cd::SearchRequest*,
                      cd::SearchResponse* resp) override {
    for (const char* app : {"shop", "secret"}) {
      cd::SearchResult* hit = resp->add_results();
      hit->set_type("serverGroups");
      hit->set_application(app);
      hit->set_name(absl::StrCat(app, "-v001"));
      hit->set_cloud_provider("kubernetes");
    }
    resp->set_total_matches(2);
    return grpc::Status::OK;
  }
};

class FakeIgor final : public iv1::IgorService::Service {
 public:
  grpc::Status ListMasters(grpc::ServerContext*, const iv1::ListMastersRequest*,
                           iv1::ListMastersResponse* resp) override {
    resp->add_masters()->set_name("ci");
    resp->add_masters()->set_name("other");
    return grpc::Status::OK;
  }

  grpc::Status ListJobs(grpc::ServerContext*, const iv1::ListJobsRequest*,
                        iv1::ListJobsResponse* resp) override {
    resp->add_jobs("build");
    return grpc::Status::OK;
  }
};

class FakeFiat final : public fv1::FiatService::Service {
 public:
  grpc::Status AuthorizeCreate(grpc::ServerContext*,
                               const fv1::AuthorizeCreateRequest* req,
                               fv1::AuthorizeCreateResponse* resp) override {
    resp->set_allowed(req->user() == "creator" &&
                      req->resource_name() == "fresh");
    return grpc::Status::OK;
  }
};

// --- the suite ---

class GateAuthzTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    orca_ = new FakeOrca();
    front50_ = new FakeFront50();
    clouddriver_ = new FakeClouddriver();
    igor_ = new FakeIgor();
    fiat_ = new FakeFiat();
    auto server =
        GrpcServer::Start({}, {orca_, front50_, clouddriver_, igor_, fiat_});
    ASSERT_TRUE(server.ok()) << server.status();
    grpc_ = server->release();
    const std::string address = absl::StrCat("127.0.0.1:", grpc_->port());
    v1::GateDependencies deps;
    for (common::v1::EndpointConfig* e :
         {deps.mutable_front50(), deps.mutable_orca(),
          deps.mutable_clouddriver(), deps.mutable_igor(), deps.mutable_fiat(),
          deps.mutable_kayenta(), deps.mutable_echo()}) {
      e->set_address(address);
      e->set_deadline_ms(10000);
    }
    down_ = new std::shared_ptr<bool>(std::make_shared<bool>(false));
    Backends enabled = ConnectBackends(deps);
    enabled.authorizer = EnabledAuthorizer(*down_);
    enabled_ = new std::shared_ptr<const Backends>(
        std::make_shared<const Backends>(std::move(enabled)));
    disabled_ = new std::shared_ptr<const Backends>(
        std::make_shared<const Backends>(ConnectBackends(deps)));
    http_enabled_ = StartHttp(*enabled_).release();
    http_disabled_ = StartHttp(*disabled_).release();
  }

  static void TearDownTestSuite() {
    http_enabled_->Stop();
    http_disabled_->Stop();
    delete http_enabled_;
    delete http_disabled_;
    delete enabled_;
    delete disabled_;
    delete down_;
    grpc_->Shutdown(std::chrono::milliseconds(100));
    delete grpc_;
    delete orca_;
    delete front50_;
    delete clouddriver_;
    delete igor_;
    delete fiat_;
  }

  void TearDown() override { **down_ = false; }

  // The route groups gate registers (those of gate_rest.cc itself excepted),
  // each route guarded as gate's REST layer does: the caller (header
  // x-test-user) installed, then the route's policy applied.
  static std::unique_ptr<http::Server> StartHttp(
      std::shared_ptr<const Backends> backends) {
    http::Router router;
    AddRoute add = [&router, backends](absl::string_view method,
                                       absl::string_view pattern,
                                       http::Handler h) {
      std::optional<RoutePolicy> policy = PolicyFor(method, pattern);
      ASSERT_TRUE(policy.has_value()) << method << " " << pattern;
      router.Add(
          method, pattern,
          [backends, policy = *policy, h = std::move(h)](const Request& r) {
            CallContext context;
            context.user = r.Header("x-test-user");
            ScopedCallContext scope(context);
            absl::Status allowed = AuthorizeRoute(
                policy, *backends, spinnaker::UserOrAnonymous(context.user), r);
            if (!allowed.ok()) return ErrorResponse(allowed, r);
            return h(r);
          });
    };
    AddApplicationRoutes(backends, add);
    AddInfrastructureRoutes(backends, add);
    AddExecutionRoutes(backends, add);
    AddBuildRoutes(backends, add);
    auto server = http::Server::Start({}, std::move(router));
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  // GET `path` as `user` from the gate with authorization on (or off).
  static http::ClientResponse Get(const std::string& path,
                                  const std::string& user,
                                  bool authorization = true) {
    http::ClientRequest r;
    r.url = absl::StrCat(
        "http://127.0.0.1:",
        (authorization ? http_enabled_ : http_disabled_)->port(), path);
    if (!user.empty()) r.headers = {{"x-test-user", user}};
    absl::StatusOr<http::ClientResponse> resp = http::Fetch(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : http::ClientResponse{};
  }

  static JsonT GetJson(const std::string& path, const std::string& user,
                       bool authorization = true) {
    http::ClientResponse r = Get(path, user, authorization);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return JsonT::parse(r.body, nullptr, false);
  }

  // AuthorizeRoute of `method` `pattern` for `user` on a request with
  // `params` and `body`.
  static absl::Status Authorize(const std::string& method,
                                const std::string& pattern,
                                const std::string& user,
                                std::map<std::string, std::string> params = {},
                                const std::string& body = "",
                                bool authorization = true) {
    std::optional<RoutePolicy> policy = PolicyFor(method, pattern);
    EXPECT_TRUE(policy.has_value()) << method << " " << pattern;
    if (!policy.has_value()) return absl::InternalError("no policy");
    Request r;
    r.method = method;
    r.path = pattern;
    r.params = std::move(params);
    r.body = body;
    return AuthorizeRoute(*policy, authorization ? **enabled_ : **disabled_,
                          user, r);
  }

  static fiat::Authorizer& Authz() { return *(*enabled_)->authorizer; }

  static inline FakeOrca* orca_ = nullptr;
  static inline FakeFront50* front50_ = nullptr;
  static inline FakeClouddriver* clouddriver_ = nullptr;
  static inline FakeIgor* igor_ = nullptr;
  static inline FakeFiat* fiat_ = nullptr;
  static inline GrpcServer* grpc_ = nullptr;
  static inline std::shared_ptr<bool>* down_ = nullptr;
  static inline std::shared_ptr<const Backends>* enabled_ = nullptr;
  static inline std::shared_ptr<const Backends>* disabled_ = nullptr;
  static inline http::Server* http_enabled_ = nullptr;
  static inline http::Server* http_disabled_ = nullptr;
};

// --- the table ---

// The routes gate_rest.cc registers itself, and the authentication routes.
const std::vector<std::pair<std::string, std::string>> kRestRoutes = {
    {"GET", "/health"},
    {"GET", "/version"},
    {"GET", "/auth/user"},
    {"GET", "/plugins/deck/plugin-manifest.json"},
    {"GET", "/jobs/preconfigured"},
    {"GET", "/webhooks/preconfigured"},
    {"GET", "/applications/{app}/pipelineConfigs"},
    {"GET", "/applications/{app}/pipelineConfigs/{name}"},
    {"POST", "/pipelines"},
    {"PUT", "/pipelines/{id}"},
    {"DELETE", "/pipelines/{app}/{name}"},
    {"POST", "/actions/pipelines/reorder"},
    {"POST", "/actions/strategies/reorder"},
    {"GET", "/pipelineConfigs"},
    {"GET", "/pipelineConfigs/{id}/history"},
    {"GET", "/applications/{app}/strategyConfigs"},
    {"POST", "/strategies"},
    {"DELETE", "/strategies/{app}/{name}"},
    {"GET", "/strategyConfigs"},
    {"GET", "/projects"},
    {"GET", "/projects/{id}"},
    {"POST", "/projects"},
    {"PUT", "/projects/{id}"},
    {"DELETE", "/projects/{id}"},
    {"GET", "/v2/pipelineTemplates"},
    {"GET", "/v2/pipelineTemplates/{id}"},
    {"POST", "/v2/pipelineTemplates/create"},
    {"POST", "/v2/pipelineTemplates/update/{id}"},
    {"DELETE", "/v2/pipelineTemplates/{id}"},
    {"GET", "/notifications/application/{app}"},
    {"POST", "/notifications/application/{app}"},
    {"POST", "/login"},
    {"GET", "/login"},
    {"GET", "/auth/redirect"},
    {"GET", "/auth/logout"},
    {"POST", "/auth/logout"},
    {"GET", "/auth/loggedOut"},
};

TEST_F(GateAuthzTest, EveryRouteGateRegistersHasAPolicy) {
  std::vector<std::pair<std::string, std::string>> routes = kRestRoutes;
  AddRoute record = [&routes](absl::string_view method,
                              absl::string_view pattern, http::Handler) {
    routes.emplace_back(std::string(method), std::string(pattern));
  };
  for (const auto& backends : {*enabled_, *disabled_}) {
    AddApplicationRoutes(backends, record);
    AddInfrastructureRoutes(backends, record);
    AddExecutionRoutes(backends, record);
    AddBuildRoutes(backends, record);
    AddCanaryRoutes(backends, record);
    AddWebhookRoutes(backends, record);
  }
  EXPECT_GT(routes.size(), 100u);
  for (const auto& [method, pattern] : routes) {
    EXPECT_TRUE(PolicyFor(method, pattern).has_value())
        << method << " " << pattern;
  }
  // gate's whole router builds (it refuses a route without a policy).
  http::Router router = MakeRestRouter(*enabled_, RestOptions{});
  (void)router;
}

TEST_F(GateAuthzTest, TableFollowsSpinnakersRules) {
  using Kind = RoutePolicy::Kind;
  EXPECT_FALSE(PolicyFor("GET", "/no/such/route").has_value());
  EXPECT_FALSE(PolicyFor("DELETE", "/health").has_value());
  for (const auto& [method, pattern] :
       std::vector<std::pair<std::string, std::string>>{
           {"GET", "/health"},
           {"GET", "/version"},
           {"GET", "/auth/user"},
           {"POST", "/webhooks/{type}/{source}"},
           {"POST", "/webhooks/{type}"},
           {"POST", "/notifications/callbacks/{source}"},
           {"POST", "/login"},
           {"GET", "/auth/loggedOut"}}) {
    EXPECT_EQ(PolicyFor(method, pattern)->kind, Kind::kOpen) << pattern;
  }
  EXPECT_EQ(PolicyFor("GET", "/applications")->kind, Kind::kAuthenticated);
  EXPECT_EQ(PolicyFor("GET", "/credentials")->kind, Kind::kAuthenticated);

  RoutePolicy read = *PolicyFor("GET", "/applications/{app}/pipelines");
  EXPECT_EQ(read.kind, Kind::kApplication);
  EXPECT_EQ(read.authorization, fv1::AUTHORIZATION_READ);
  EXPECT_EQ(read.app_param, "app");

  RoutePolicy save = *PolicyFor("POST", "/pipelines");
  EXPECT_EQ(save.authorization, fv1::AUTHORIZATION_WRITE);
  EXPECT_EQ(save.app_body_field, "application");
  EXPECT_TRUE(save.check_run_as_users);
  EXPECT_TRUE(PolicyFor("PUT", "/pipelines/{id}")->check_run_as_users);

  EXPECT_EQ(PolicyFor("POST", "/pipelines/{app}/{name}")->authorization,
            fv1::AUTHORIZATION_EXECUTE);
  EXPECT_EQ(PolicyFor("POST", "/pipelines/v2/{app}/{name}")->authorization,
            fv1::AUTHORIZATION_EXECUTE);
  RoutePolicy judge = *PolicyFor("PATCH", "/pipelines/{id}/stages/{stageId}");
  EXPECT_EQ(judge.authorization, fv1::AUTHORIZATION_EXECUTE);
  EXPECT_TRUE(static_cast<bool>(judge.app_resolver));
  EXPECT_EQ(PolicyFor("DELETE", "/pipelines/{id}")->authorization,
            fv1::AUTHORIZATION_WRITE);
  EXPECT_TRUE(PolicyFor("POST", "/tasks")->check_task_jobs);
  EXPECT_EQ(
      PolicyFor("POST", "/notifications/application/{app}")->authorization,
      fv1::AUTHORIZATION_WRITE);
  EXPECT_EQ(PolicyFor("GET", "/instances/{account}/{region}/{instanceId}")
                ->account_param,
            "account");
}

// --- AuthorizeRoute ---

TEST_F(GateAuthzTest, DisabledAllowsEverything) {
  EXPECT_TRUE(Authorize("GET", "/applications/{app}", "nobody",
                        {{"app", "secret"}}, "", false)
                  .ok());
  // No body, no backend call: nothing is looked at.
  EXPECT_TRUE(Authorize("POST", "/pipelines", "nobody", {}, "", false).ok());
  EXPECT_TRUE(Authorize("GET", "/pipelines/{id}", "nobody", {{"id", "missing"}},
                        "", false)
                  .ok());
}

TEST_F(GateAuthzTest, ApplicationFromThePath) {
  EXPECT_TRUE(
      Authorize("GET", "/applications/{app}", "reader", {{"app", "shop"}})
          .ok());
  EXPECT_TRUE(
      Authorize("GET", "/applications/{app}", "reader", {{"app", "SHOP"}})
          .ok());
  absl::Status denied =
      Authorize("GET", "/applications/{app}", "bob", {{"app", "shop"}});
  EXPECT_TRUE(absl::IsPermissionDenied(denied)) << denied;
  EXPECT_EQ(denied.message(),
            "Access denied to application 'shop': user 'bob' lacks READ");
  EXPECT_TRUE(
      Authorize("GET", "/applications/{app}", "bob", {{"app", "public"}}).ok());
  EXPECT_TRUE(
      Authorize("GET", "/applications/{app}", "admin", {{"app", "secret"}})
          .ok());

  absl::Status write = Authorize("DELETE", "/pipelines/{app}/{name}", "reader",
                                 {{"app", "shop"}, {"name", "p"}});
  EXPECT_EQ(write.message(),
            "Access denied to application 'shop': user 'reader' lacks WRITE");
  EXPECT_TRUE(Authorize("DELETE", "/pipelines/{app}/{name}", "writer",
                        {{"app", "shop"}, {"name", "p"}})
                  .ok());

  absl::Status execute = Authorize("POST", "/pipelines/{app}/{name}", "writer",
                                   {{"app", "shop"}, {"name", "p"}});
  EXPECT_EQ(execute.message(),
            "Access denied to application 'shop': user 'writer' lacks "
            "EXECUTE");
  EXPECT_TRUE(Authorize("POST", "/pipelines/v2/{app}/{name}", "runner",
                        {{"app", "shop"}, {"name", "p"}})
                  .ok());
}

TEST_F(GateAuthzTest, ApplicationFromTheBody) {
  EXPECT_TRUE(Authorize("POST", "/pipelines", "writer", {},
                        R"({"application":"shop","name":"p"})")
                  .ok());
  absl::Status denied = Authorize("POST", "/pipelines", "reader", {},
                                  R"({"application":"shop","name":"p"})");
  EXPECT_TRUE(absl::IsPermissionDenied(denied)) << denied;
  EXPECT_NE(denied.message().find("lacks WRITE"), std::string::npos);
  absl::Status missing =
      Authorize("POST", "/pipelines", "writer", {}, R"({"name":"p"})");
  EXPECT_TRUE(absl::IsInvalidArgument(missing)) << missing;
  EXPECT_NE(missing.message().find("'application'"), std::string::npos);
  EXPECT_TRUE(absl::IsInvalidArgument(
      Authorize("POST", "/pipelines", "writer", {}, "not json")));
  EXPECT_TRUE(Authorize("POST", "/actions/pipelines/reorder", "writer", {},
                        R"({"application":"shop","idsToIndices":{}})")
                  .ok());
}

TEST_F(GateAuthzTest, ApplicationOfAnExecution) {
  EXPECT_TRUE(
      Authorize("GET", "/pipelines/{id}", "reader", {{"id", "e-shop"}}).ok());
  absl::Status denied =
      Authorize("GET", "/pipelines/{id}", "reader", {{"id", "e-secret"}});
  EXPECT_EQ(denied.message(),
            "Access denied to application 'secret': user 'reader' lacks "
            "READ");
  EXPECT_TRUE(absl::IsNotFound(
      Authorize("GET", "/tasks/{id}", "reader", {{"id", "nope"}})));
  // Cancel, judgment, restart: EXECUTE on the execution's application.
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize(
      "PUT", "/pipelines/{id}/cancel", "reader", {{"id", "e-shop"}})));
  EXPECT_TRUE(Authorize("PATCH", "/pipelines/{id}/stages/{stageId}", "runner",
                        {{"id", "e-shop"}, {"stageId", "s1"}})
                  .ok());
  // spin's placeholder segment does not count; the execution's app does.
  EXPECT_TRUE(absl::IsPermissionDenied(
      Authorize("PUT", "/applications/{app}/pipelines/{id}/cancel", "runner",
                {{"app", "shop"}, {"id", "e-secret"}})));
  EXPECT_TRUE(absl::IsPermissionDenied(
      Authorize("DELETE", "/pipelines/{id}", "runner", {{"id", "e-shop"}})));
  EXPECT_TRUE(
      Authorize("DELETE", "/pipelines/{id}", "writer", {{"id", "e-shop"}})
          .ok());
}

TEST_F(GateAuthzTest, AccountsInThePath) {
  std::map<std::string, std::string> params = {
      {"app", "shop"}, {"account", "dev"}, {"cluster", "c"}};
  EXPECT_TRUE(Authorize("GET", "/applications/{app}/clusters/{account}",
                        "reader", params)
                  .ok());
  params["account"] = "prod";
  absl::Status denied = Authorize(
      "GET", "/applications/{app}/clusters/{account}", "reader", params);
  EXPECT_EQ(denied.message(),
            "Access denied to account 'prod': user 'reader' lacks READ");
  // WRITE on an account does not give READ.
  EXPECT_TRUE(absl::IsPermissionDenied(
      Authorize("GET", "/instances/{account}/{region}/{instanceId}", "writer",
                {{"account", "prod"}, {"region", "r"}, {"instanceId", "i"}})));
}

TEST_F(GateAuthzTest, Tasks) {
  // An ordinary job: EXECUTE on the task's application.
  const std::string resize =
      R"({"application":"shop","job":[{"type":"resizeServerGroup"}]})";
  EXPECT_TRUE(Authorize("POST", "/tasks", "runner", {}, resize).ok());
  EXPECT_EQ(Authorize("POST", "/tasks", "writer", {}, resize).message(),
            "Access denied to application 'shop': user 'writer' lacks "
            "EXECUTE");
  // The path's application wins.
  EXPECT_TRUE(absl::IsPermissionDenied(
      Authorize("POST", "/applications/{app}/tasks", "runner",
                {{"app", "secret"}}, resize)));
  // Application jobs: WRITE, or CREATE (fiat) for an unknown application.
  EXPECT_TRUE(Authorize("POST", "/tasks", "writer", {},
                        R"({"application":"shop","job":[{"type":
                            "updateApplication","application":{"name":
                            "shop"}}]})")
                  .ok());
  EXPECT_TRUE(absl::IsPermissionDenied(
      Authorize("POST", "/tasks", "runner", {},
                R"({"application":"shop","job":[{"type":
                    "deleteApplication","application":{"name":"shop"}}]})")));
  const std::string create_shop =
      R"({"application":"shop","job":[{"type":"createApplication",
          "application":{"name":"shop","email":"a@b"}}]})";
  EXPECT_TRUE(Authorize("POST", "/tasks", "writer", {}, create_shop).ok());
  EXPECT_TRUE(absl::IsPermissionDenied(
      Authorize("POST", "/tasks", "reader", {}, create_shop)));
  const std::string create_fresh =
      R"({"application":"fresh","job":[{"type":"createApplication",
          "application":{"name":"fresh","email":"a@b"}}]})";
  EXPECT_TRUE(Authorize("POST", "/tasks", "creator", {}, create_fresh).ok());
  absl::Status refused =
      Authorize("POST", "/tasks", "writer", {}, create_fresh);
  EXPECT_EQ(refused.message(),
            "Access denied to application 'fresh': user 'writer' may not "
            "create applications");
  // A job naming an account needs WRITE on it.
  const std::string deploy = R"({"application":"public","job":[{"type":
      "deployManifest","account":"prod"}]})";
  EXPECT_TRUE(Authorize("POST", "/tasks", "writer", {}, deploy).ok());
  EXPECT_EQ(Authorize("POST", "/tasks", "reader", {}, deploy).message(),
            "Access denied to account 'prod': user 'reader' lacks WRITE");
  EXPECT_TRUE(absl::IsPermissionDenied(
      Authorize("POST", "/tasks", "reader", {},
                R"({"application":"public","job":[{"type":"x",
                    "credentials":"dev"}]})")));
  // No application anywhere: a clear error.
  EXPECT_TRUE(absl::IsInvalidArgument(
      Authorize("POST", "/tasks", "runner", {}, R"({"job":[{"type":"x"}]})")));
}

TEST_F(GateAuthzTest, FiatDownFailsClosed) {
  **down_ = true;
  absl::Status s =
      Authorize("GET", "/applications/{app}", "nobody-cached", {{"app", "x"}});
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(Get("/applications", "nobody-cached").status, 503);
}

// --- runAsUser ---

TEST_F(GateAuthzTest, RunAsUsers) {
  auto pipeline = [](const std::string& run_as) {
    Json p = Json::object();
    p["application"] = "shop";
    p["triggers"] = Json::array(
        {Json{{"type", "cron"}}, Json{{"type", "git"}, {"runAsUser", run_as}}});
    return p;
  };
  EXPECT_TRUE(CheckRunAsUsers(Authz(), "writer", pipeline("bot@sa")).ok());
  EXPECT_TRUE(CheckRunAsUsers(Authz(), "writer", pipeline("  bot@sa ")).ok());
  EXPECT_TRUE(CheckRunAsUsers(Authz(), "reader", pipeline("  ")).ok());
  absl::Status member = CheckRunAsUsers(Authz(), "reader", pipeline("bot@sa"));
  EXPECT_TRUE(absl::IsPermissionDenied(member)) << member;
  EXPECT_NE(member.message().find("runAsUser 'bot@sa'"), std::string::npos)
      << member;
  EXPECT_NE(member.message().find("'reader'"), std::string::npos) << member;
  absl::Status execute =
      CheckRunAsUsers(Authz(), "writer", pipeline("weak@sa"));
  EXPECT_EQ(execute.message(),
            "Access denied to application 'shop': the trigger's runAsUser "
            "'weak@sa' lacks EXECUTE");
  // Admins may use any service account (which still needs EXECUTE).
  EXPECT_TRUE(CheckRunAsUsers(Authz(), "admin", pipeline("bot@sa")).ok());
  EXPECT_TRUE(CheckRunAsUsers(*fiat::Authorizer::Disabled(), "reader",
                              pipeline("bot@sa"))
                  .ok());
  // Through the route: POST /pipelines checks the body's triggers.
  Json body = pipeline("bot@sa");
  EXPECT_TRUE(
      Authorize("POST", "/pipelines", "writer", {}, spinnaker::Dump(body))
          .ok());
  body = pipeline("weak@sa");
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize("PUT", "/pipelines/{id}",
                                                 "writer", {{"id", "1"}},
                                                 spinnaker::Dump(body))));
}

TEST_F(GateAuthzTest, AllowedAccountsAreTheWritableOnes) {
  EXPECT_EQ(AllowedAccounts(Authz(), "writer"),
            (std::vector<std::string>{"dev", "prod"}));
  EXPECT_TRUE(AllowedAccounts(Authz(), "reader").empty());
  EXPECT_EQ(AllowedAccounts(Authz(), "admin"),
            (std::vector<std::string>{"dev", "prod"}));
  EXPECT_TRUE(AllowedAccounts(*fiat::Authorizer::Disabled(), "x").empty());
}

// --- lists filtered per caller, over HTTP ---

std::vector<std::string> Names(const JsonT& list) {
  std::vector<std::string> out;
  for (const JsonT& item : list) out.push_back(item.value("name", ""));
  return out;
}

TEST_F(GateAuthzTest, ApplicationsListedAreTheReadableOnes) {
  EXPECT_EQ(Names(GetJson("/applications", "reader")),
            (std::vector<std::string>{"public", "shop"}));
  EXPECT_EQ(Names(GetJson("/applications", "")),
            (std::vector<std::string>{"public"}));
  EXPECT_EQ(Names(GetJson("/applications", "admin")),
            (std::vector<std::string>{"public", "secret", "shop"}));
  EXPECT_EQ(Names(GetJson("/applications", "reader", false)),
            (std::vector<std::string>{"public", "secret", "shop"}));
  // One application: the route's READ.
  http::ClientResponse denied = Get("/applications/secret", "reader");
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_NE(denied.body.find("Access denied to application 'secret'"),
            std::string::npos)
      << denied.body;
}

TEST_F(GateAuthzTest, CredentialsListedAreTheReadableOnes) {
  JsonT writer = GetJson("/credentials", "writer");
  ASSERT_EQ(Names(writer), (std::vector<std::string>{"dev"})) << writer;
  EXPECT_EQ(writer[0]["authorized"], true);
  JsonT reader = GetJson("/credentials", "reader");
  ASSERT_EQ(Names(reader), (std::vector<std::string>{"dev"})) << reader;
  EXPECT_EQ(reader[0]["authorized"], false);
  JsonT admin = GetJson("/credentials", "admin");
  EXPECT_EQ(Names(admin), (std::vector<std::string>{"dev", "prod", "secret"}));
  JsonT off = GetJson("/credentials", "reader", false);
  EXPECT_EQ(Names(off), (std::vector<std::string>{"dev", "prod", "secret"}));
  EXPECT_EQ(off[2]["authorized"], true);

  EXPECT_EQ(GetJson("/credentials/dev", "reader")["authorized"], false);
  http::ClientResponse denied = Get("/credentials/prod", "writer");
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_NE(denied.body.find(
                "Access denied to account 'prod': user 'writer' lacks READ"),
            std::string::npos)
      << denied.body;
}

TEST_F(GateAuthzTest, SearchDropsUnreadableApplications) {
  JsonT out = GetJson("/search?q=v001", "reader");
  ASSERT_EQ(out.size(), 1u) << out;
  ASSERT_EQ(out[0]["results"].size(), 1u) << out;
  EXPECT_EQ(out[0]["results"][0]["application"], "shop");
  EXPECT_EQ(out[0]["totalMatches"], 1);
  EXPECT_EQ(GetJson("/search?q=v001", "reader", false)[0]["results"].size(),
            2u);
}

TEST_F(GateAuthzTest, ExecutionsAcrossApplicationsAreFiltered) {
  JsonT out = GetJson("/executions?executionIds=a,b,c", "reader");
  std::set<std::string> apps;
  for (const JsonT& e : out) apps.insert(e.value("application", ""));
  EXPECT_EQ(apps, (std::set<std::string>{"shop", "public"})) << out;
  EXPECT_EQ(GetJson("/executions?executionIds=a,b,c", "reader", false).size(),
            3u);
  EXPECT_EQ(Get("/pipelines/e-secret", "reader").status, 403);
  EXPECT_EQ(Get("/pipelines/e-shop", "reader").status, 200);
}

TEST_F(GateAuthzTest, BuildMastersAreFiltered) {
  EXPECT_EQ(GetJson("/v2/builds", "reader"), JsonT::parse(R"(["ci"])"));
  EXPECT_EQ(GetJson("/v3/builds", "writer"), JsonT::parse("[]"));
  EXPECT_EQ(GetJson("/v2/builds", "admin"), JsonT::parse(R"(["ci","other"])"));
  EXPECT_EQ(GetJson("/v2/builds", "reader", false),
            JsonT::parse(R"(["ci","other"])"));
  EXPECT_EQ(GetJson("/v2/builds/ci/jobs", "reader"),
            JsonT::parse(R"(["build"])"));
  http::ClientResponse denied = Get("/v2/builds/other/jobs", "reader");
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_NE(denied.body.find("build service 'other'"), std::string::npos)
      << denied.body;
}

// --- the gRPC API ---

// Who a call is: "Bearer <user>" in its authorization metadata.
class TokenAuthenticator : public Authenticator {
 public:
  bool enabled() const override { return true; }
  absl::StatusOr<AuthResult> Authenticate(const http::Request& r) override {
    AuthResult result;
    std::string token = r.Header("authorization");
    if (token.empty()) return result;
    if (token.rfind("Bearer ", 0) != 0) {
      return absl::UnauthenticatedError("bad credentials");
    }
    result.identity.username = token.substr(7);
    result.identity.email = result.identity.username + "@example.com";
    return result;
  }
  absl::StatusOr<AuthResult> Login(const http::Request&, const std::string&,
                                   const std::string&) override {
    return absl::UnimplementedError("no login");
  }
  std::vector<std::pair<std::string, std::string>> Logout(
      const http::Request&, const Identity&) override {
    return {};
  }
};

class GateGrpcAuthzTest : public GateAuthzTest {
 protected:
  void SetUp() override {
    service_ = std::make_unique<GateGrpcService>(
        "v-test", *enabled_, std::make_shared<TokenAuthenticator>());
    auto server = GrpcServer::Start({}, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::GateService::NewStub(
        MakeChannel(absl::StrCat("127.0.0.1:", server_->port())));
  }

  void TearDown() override {
    server_->Shutdown(std::chrono::milliseconds(100));
    GateAuthzTest::TearDown();
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& user) {
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    if (!user.empty()) ctx->AddMetadata("authorization", "Bearer " + user);
    // Never trusted: the identity comes from the credentials.
    ctx->AddMetadata("x-spinnaker-user", "admin");
    return ctx;
  }

  std::unique_ptr<GateGrpcService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<v1::GateService::Stub> stub_;
};

TEST_F(GateGrpcAuthzTest, CallsNeedAnIdentity) {
  v1::ListApplicationsResponse apps;
  grpc::Status s = stub_->ListApplications(As("").get(), {}, &apps);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << s.error_message();
  auto bad = As("");
  bad->AddMetadata("authorization", "Basic nope");
  EXPECT_EQ(stub_->ListApplications(bad.get(), {}, &apps).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // The version is open.
  v1::GetVersionResponse version;
  ASSERT_TRUE(stub_->GetVersion(As("").get(), {}, &version).ok());
  EXPECT_EQ(version.version(), "v-test");
}

TEST_F(GateGrpcAuthzTest, TheIdentityIsAuthorized) {
  v1::GetCurrentUserResponse me;
  ASSERT_TRUE(stub_->GetCurrentUser(As("writer").get(), {}, &me).ok());
  EXPECT_EQ(me.username(), "writer");
  EXPECT_EQ(me.email(), "writer@example.com");
  EXPECT_FALSE(me.admin());
  EXPECT_EQ(std::vector<std::string>(me.allowed_accounts().begin(),
                                     me.allowed_accounts().end()),
            (std::vector<std::string>{"dev", "prod"}));

  v1::ListApplicationsResponse apps;
  ASSERT_TRUE(stub_->ListApplications(As("reader").get(), {}, &apps).ok());
  std::vector<std::string> names;
  for (const auto& a : apps.applications())
    names.push_back(a.application().name());
  EXPECT_EQ(names, (std::vector<std::string>{"public", "shop"}));

  v1::GetApplicationRequest get;
  get.set_name("secret");
  v1::GetApplicationResponse app;
  grpc::Status denied = stub_->GetApplication(As("reader").get(), get, &app);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(),
            "Access denied to application 'secret': user 'reader' lacks READ");
  get.set_name("shop");
  EXPECT_TRUE(stub_->GetApplication(As("reader").get(), get, &app).ok());

  v1::GetExecutionRequest execution;
  execution.set_id("e-secret");
  v1::GetExecutionResponse found;
  EXPECT_EQ(
      stub_->GetExecution(As("reader").get(), execution, &found).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  execution.set_id("e-shop");
  EXPECT_TRUE(stub_->GetExecution(As("reader").get(), execution, &found).ok());

  v1::TriggerPipelineRequest trigger;
  trigger.set_application("shop");
  trigger.set_pipeline_name_or_id("deploy");
  v1::TriggerPipelineResponse started;
  grpc::Status refused =
      stub_->TriggerPipeline(As("reader").get(), trigger, &started);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message(),
            "Access denied to application 'shop': user 'reader' lacks "
            "EXECUTE");
}

TEST(RequestFromMetadataTest, CredentialsAndPeerAddress) {
  std::multimap<grpc::string_ref, grpc::string_ref> metadata = {
      {"authorization", "Basic eA=="},
      {"cookie", "SESSION=abc"},
      {"x-spinnaker-user", "bob"},
      {"x-other", "ignored"}};
  http::Request r = RequestFromMetadata(metadata, "ipv4:10.1.2.3:5555");
  EXPECT_EQ(r.Header("authorization"), "Basic eA==");
  EXPECT_EQ(r.Header("cookie"), "SESSION=abc");
  EXPECT_EQ(r.Header("x-spinnaker-user"), "bob");
  EXPECT_EQ(r.Header("x-other"), "");
  EXPECT_EQ(r.remote_address, "10.1.2.3");
  EXPECT_EQ(RequestFromMetadata({}, "ipv6:[::1]:80").remote_address, "::1");
  EXPECT_EQ(RequestFromMetadata({}, "ipv6:%5B::1%5D:80").remote_address, "::1");
  EXPECT_EQ(RequestFromMetadata({}, "unix:/tmp/s").remote_address, "");
}

}  // namespace
}  // namespace gennaker::gate
