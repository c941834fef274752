// gate's service-account routes over real HTTP: the caller's usable accounts
// (with and without the application filter), admin create/list/delete, the
// admin rule, bad bodies, and the routes with authorization off through gate's
// own REST router; front50 and fiat are fakes served by an in-process gRPC
// server, fiat's permission sets a map.
#include "services/gate/gate_service_accounts.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/fiat/authorizer.h"
#include "common/grpc/grpc_server.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_authz.h"
#include "services/gate/gate_rest.h"

namespace gennaker::gate {
namespace {

using JsonT = nlohmann::json;
namespace fv1 = fiat::v1;
namespace f50 = front50::v1;

// --- permission sets ---

class SetsSource : public fiat::PermissionSource {
 public:
  absl::StatusOr<fv1::UserPermission> Get(const std::string& user) override {
    static const std::map<std::string, std::string> kSets = {
        {"anonymous", ""},
        {"carol",
         "admin: true service_accounts { name: 'run-bot' } "
         "service_accounts { name: 'deploy-bot' } "
         "service_accounts { name: 'read-bot' }"},
        {"dave",
         "service_accounts { name: 'run-bot' } "
         "service_accounts { name: 'read-bot' } "
         "service_accounts { name: 'run-bot' }"},
        {"run-bot",
         "applications { name: 'shop' authorizations: "
         "[AUTHORIZATION_READ, AUTHORIZATION_EXECUTE] }"},
        {"read-bot",
         "applications { name: 'shop' authorizations: [AUTHORIZATION_READ] "
         "}"},
    };
    auto it = kSets.find(user);
    if (it == kSets.end()) return absl::NotFoundError("unknown user");
    fv1::UserPermission p;
    if (!google::protobuf::TextFormat::ParseFromString(it->second, &p)) {
      return absl::InternalError("bad test set");
    }
    p.set_name(user);
    return p;
  }
};

// --- fake backends ---

class FakeFront50 final : public f50::Front50Service::Service {
 public:
  grpc::Status ListServiceAccounts(
      grpc::ServerContext*, const f50::ListServiceAccountsRequest*,
      f50::ListServiceAccountsResponse* resp) override {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, account] : accounts_) {
      *resp->add_service_accounts() = account;
    }
    return grpc::Status::OK;
  }

  grpc::Status SaveServiceAccount(
      grpc::ServerContext*, const f50::SaveServiceAccountRequest* req,
      f50::SaveServiceAccountResponse* resp) override {
    absl::MutexLock lock(&mu_);
    const f50::ServiceAccount& a = req->service_account();
    if (a.name().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no name");
    }
    f50::ServiceAccount stored;
    stored.set_name(a.name());
    *stored.mutable_member_of() = a.member_of();
    *stored.mutable_body() = a.body();
    accounts_[a.name()] = stored;
    *resp->mutable_service_account() = stored;
    return grpc::Status::OK;
  }

  grpc::Status DeleteObject(grpc::ServerContext*,
                            const f50::DeleteObjectRequest* req,
                            f50::DeleteObjectResponse* resp) override {
    absl::MutexLock lock(&mu_);
    if (req->type() != f50::OBJECT_TYPE_SERVICE_ACCOUNT) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "wrong type");
    }
    if (accounts_.erase(req->key()) == 0) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such account");
    }
    resp->set_deleted(true);
    return grpc::Status::OK;
  }

  void Reset(
      std::vector<std::pair<std::string, std::vector<std::string>>> accounts) {
    absl::MutexLock lock(&mu_);
    accounts_.clear();
    for (auto& [name, roles] : accounts) {
      f50::ServiceAccount& a = accounts_[name];
      a.set_name(name);
      for (auto& r : roles) a.add_member_of(r);
    }
  }

  std::map<std::string, f50::ServiceAccount> Accounts() {
    absl::MutexLock lock(&mu_);
    return accounts_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, f50::ServiceAccount> accounts_ ABSL_GUARDED_BY(mu_);
};

class FakeFiat final : public fv1::FiatService::Service {
 public:
  grpc::Status SyncServiceAccount(
      grpc::ServerContext*, const fv1::SyncServiceAccountRequest* req,
      fv1::SyncServiceAccountResponse* resp) override {
    absl::MutexLock lock(&mu_);
    std::string call = req->service_account();
    for (const auto& r : req->member_of()) absl::StrAppend(&call, " ", r);
    calls_.push_back(std::move(call));
    if (fail_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fiat down");
    resp->set_synced_count(1);
    return grpc::Status::OK;
  }

  grpc::Status SyncRoles(grpc::ServerContext*, const fv1::SyncRolesRequest*,
                         fv1::SyncRolesResponse* resp) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("SyncRoles");
    if (fail_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fiat down");
    resp->set_synced_count(3);
    return grpc::Status::OK;
  }

  void Reset(bool fail) {
    absl::MutexLock lock(&mu_);
    calls_.clear();
    fail_ = fail;
  }

  std::vector<std::string> Calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
};

// --- the suite ---

class GateServiceAccountsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    front50_ = new FakeFront50();
    fiat_ = new FakeFiat();
    auto server = GrpcServer::Start({}, {front50_, fiat_});
    ASSERT_TRUE(server.ok()) << server.status();
    grpc_ = server->release();
    const std::string address = absl::StrCat("127.0.0.1:", grpc_->port());
    v1::GateDependencies deps;
    for (common::v1::EndpointConfig* e :
         {deps.mutable_front50(), deps.mutable_orca(),
          deps.mutable_clouddriver(), deps.mutable_fiat()}) {
      e->set_address(address);
      e->set_deadline_ms(10000);
    }
    Backends enabled = ConnectBackends(deps);
    common::v1::AuthorizationConfig config;
    config.set_enabled(true);
    config.set_cache_ttl_seconds(60);
    enabled.authorizer = std::make_shared<fiat::Authorizer>(
        std::make_unique<SetsSource>(), config);
    auto enabled_backends =
        std::make_shared<const Backends>(std::move(enabled));
    auto disabled_backends =
        std::make_shared<const Backends>(ConnectBackends(deps));
    http_enabled_ = StartGuarded(enabled_backends).release();
    // Authorization off: gate's own router, as gate serves it (no security,
    // every caller anonymous).
    auto plain = http::Server::Start(
        {}, MakeRestRouter(disabled_backends, RestOptions{}));
    ASSERT_TRUE(plain.ok()) << plain.status();
    http_disabled_ = plain->release();
  }

  static void TearDownTestSuite() {
    http_enabled_->Stop();
    http_disabled_->Stop();
    delete http_enabled_;
    delete http_disabled_;
    grpc_->Shutdown(std::chrono::milliseconds(100));
    delete grpc_;
    delete front50_;
    delete fiat_;
  }

  void SetUp() override {
    front50_->Reset({{"deploy-bot", {"team-a"}},
                     {"read-bot", {"team-b"}},
                     {"run-bot", {"team-a", "team-b"}}});
    fiat_->Reset(false);
  }

  // The service-account routes, each guarded as gate's REST layer does: the
  // caller (header x-test-user) installed, then the route's policy applied.
  static std::unique_ptr<http::Server> StartGuarded(
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
    AddServiceAccountRoutes(backends, add);
    auto server = http::Server::Start({}, std::move(router));
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  static http::ClientResponse Call(const std::string& method,
                                   const std::string& path,
                                   const std::string& user,
                                   const std::string& body = "",
                                   bool authorization = true) {
    http::ClientRequest r;
    r.method = method;
    r.url = absl::StrCat(
        "http://127.0.0.1:",
        (authorization ? http_enabled_ : http_disabled_)->port(), path);
    if (!user.empty()) r.headers.emplace_back("x-test-user", user);
    if (!body.empty()) {
      r.headers.emplace_back("content-type", "application/json");
      r.body = body;
    }
    absl::StatusOr<http::ClientResponse> resp = http::Fetch(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : http::ClientResponse{};
  }

  static JsonT Body(const http::ClientResponse& r) {
    return JsonT::parse(r.body, nullptr, false);
  }

  static inline FakeFront50* front50_ = nullptr;
  static inline FakeFiat* fiat_ = nullptr;
  static inline GrpcServer* grpc_ = nullptr;
  static inline http::Server* http_enabled_ = nullptr;
  static inline http::Server* http_disabled_ = nullptr;
};

TEST_F(GateServiceAccountsTest, EveryRouteHasAPolicy) {
  std::vector<std::pair<std::string, std::string>> routes;
  AddRoute record = [&routes](absl::string_view method,
                              absl::string_view pattern, http::Handler) {
    routes.emplace_back(std::string(method), std::string(pattern));
  };
  AddServiceAccountRoutes(std::make_shared<const Backends>(), record);
  ASSERT_EQ(routes.size(), 4u);
  for (const auto& [method, pattern] : routes) {
    std::optional<RoutePolicy> policy = PolicyFor(method, pattern);
    ASSERT_TRUE(policy.has_value()) << method << " " << pattern;
    EXPECT_EQ(policy->kind, pattern == "/auth/user/serviceAccounts"
                                ? RoutePolicy::Kind::kAuthenticated
                                : RoutePolicy::Kind::kAdmin)
        << method << " " << pattern;
  }
}

TEST_F(GateServiceAccountsTest, UserListsTheAccountsTheyHold) {
  http::ClientResponse r = Call("GET", "/auth/user/serviceAccounts", "dave");
  ASSERT_EQ(r.status, 200) << r.body;
  // Sorted and distinct.
  EXPECT_EQ(Body(r), JsonT({"read-bot", "run-bot"}));
  r = Call("GET", "/auth/user/serviceAccounts", "carol");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), JsonT({"deploy-bot", "read-bot", "run-bot"}));
  r = Call("GET", "/auth/user/serviceAccounts", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), JsonT::array());
  // A user fiat does not know is the unrestricted user.
  r = Call("GET", "/auth/user/serviceAccounts", "stranger");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), JsonT::array());
}

TEST_F(GateServiceAccountsTest, ApplicationKeepsAccountsThatMayExecute) {
  http::ClientResponse r =
      Call("GET", "/auth/user/serviceAccounts?application=shop", "dave");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), JsonT({"run-bot"}));
  // deploy-bot has no permission set of its own (unknown to fiat).
  r = Call("GET", "/auth/user/serviceAccounts?application=shop", "carol");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), JsonT({"run-bot"}));
  r = Call("GET", "/auth/user/serviceAccounts?application=other", "dave");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), JsonT::array());
  r = Call("GET", "/auth/user/serviceAccounts?application=bad%20name", "dave");
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(GateServiceAccountsTest, AdminCreatesListsAndDeletes) {
  http::ClientResponse r =
      Call("POST", "/serviceAccounts", "carol",
           R"({"name":"ci-bot","memberOf":["Team-A","team-c","team-a"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r),
            JsonT({{"name", "ci-bot"}, {"memberOf", {"team-a", "team-c"}}}));
  auto stored = front50_->Accounts();
  ASSERT_EQ(stored.count("ci-bot"), 1u);
  EXPECT_EQ(stored["ci-bot"].member_of_size(), 2);
  EXPECT_EQ(JsonT::parse(stored["ci-bot"].body().json()),
            JsonT({{"name", "ci-bot"}, {"memberOf", {"team-a", "team-c"}}}));
  EXPECT_EQ(fiat_->Calls(), std::vector<std::string>{"ci-bot team-a team-c"});

  r = Call("GET", "/serviceAccounts", "carol");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r),
            JsonT::parse(R"([{"name":"ci-bot","memberOf":["team-a","team-c"]},
                             {"name":"deploy-bot","memberOf":["team-a"]},
                             {"name":"read-bot","memberOf":["team-b"]},
                             {"name":"run-bot","memberOf":["team-a","team-b"]}
                            ])"));

  // Saving again replaces it; no memberOf is an empty list.
  r = Call("POST", "/serviceAccounts", "carol", R"({"name":"ci-bot"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), JsonT({{"name", "ci-bot"}, {"memberOf", JsonT::array()}}));

  fiat_->Reset(false);
  r = Call("DELETE", "/serviceAccounts/ci-bot", "carol");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), JsonT({{"name", "ci-bot"}, {"deleted", true}}));
  EXPECT_EQ(front50_->Accounts().count("ci-bot"), 0u);
  EXPECT_EQ(fiat_->Calls(), std::vector<std::string>{"SyncRoles"});
  r = Call("DELETE", "/serviceAccounts/ci-bot", "carol");
  EXPECT_EQ(r.status, 404) << r.body;
}

TEST_F(GateServiceAccountsTest, FiatSyncFailureIsReportedButTheSaveStands) {
  fiat_->Reset(true);
  http::ClientResponse r = Call("POST", "/serviceAccounts", "carol",
                                R"({"name":"ci-bot","memberOf":["team-a"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  JsonT body = Body(r);
  EXPECT_EQ(body["name"], "ci-bot");
  ASSERT_TRUE(body.contains("fiatSyncError")) << r.body;
  EXPECT_NE(body["fiatSyncError"].get<std::string>().find("fiat down"),
            std::string::npos);
  EXPECT_EQ(front50_->Accounts().count("ci-bot"), 1u);

  r = Call("DELETE", "/serviceAccounts/ci-bot", "carol");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Body(r).contains("fiatSyncError")) << r.body;
  EXPECT_EQ(front50_->Accounts().count("ci-bot"), 0u);
}

TEST_F(GateServiceAccountsTest, NonAdminsAreRefused) {
  for (const char* user : {"dave", "", "stranger"}) {
    EXPECT_EQ(Call("GET", "/serviceAccounts", user).status, 403) << user;
    EXPECT_EQ(Call("POST", "/serviceAccounts", user,
                   R"({"name":"ci-bot","memberOf":["team-a"]})")
                  .status,
              403)
        << user;
    EXPECT_EQ(Call("DELETE", "/serviceAccounts/run-bot", user).status, 403)
        << user;
  }
  EXPECT_EQ(front50_->Accounts().size(), 3u);
  EXPECT_EQ(front50_->Accounts().count("ci-bot"), 0u);
  EXPECT_TRUE(fiat_->Calls().empty());
}

TEST_F(GateServiceAccountsTest, BadBodiesAre400AndStoreNothing) {
  const std::string long_name(256, 'a');
  for (const std::string& body :
       {std::string(R"([])"), std::string(R"({"memberOf":["team-a"]})"),
        std::string(R"({"name":""})"), std::string(R"({"name":42})"),
        std::string(R"({"name":"ci bot"})"),
        std::string("{\"name\":\"ci\\tbot\"}"),
        std::string("{\"name\":\"caf\xc3\xa9\"}"),
        absl::StrCat(R"({"name":")", long_name, R"("})"),
        std::string(R"({"name":"ci-bot","memberOf":"team-a"})"),
        std::string(R"({"name":"ci-bot","memberOf":["team-a",""]})"),
        std::string(R"({"name":"ci-bot","memberOf":["team-a",7]})"),
        std::string("{not json")}) {
    http::ClientResponse r = Call("POST", "/serviceAccounts", "carol", body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
  }
  EXPECT_EQ(front50_->Accounts().size(), 3u);
  EXPECT_TRUE(fiat_->Calls().empty());
  // The longest name passes.
  const std::string longest(255, 'a');
  http::ClientResponse r = Call("POST", "/serviceAccounts", "carol",
                                absl::StrCat(R"({"name":")", longest, R"("})"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(front50_->Accounts().count(longest), 1u);
}

TEST_F(GateServiceAccountsTest, AuthorizationOffServesEveryone) {
  // Every account front50 has; the application filter has nothing to ask.
  http::ClientResponse r =
      Call("GET", "/auth/user/serviceAccounts", "", "", false);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), JsonT({"deploy-bot", "read-bot", "run-bot"}));
  r = Call("GET", "/auth/user/serviceAccounts?application=shop", "", "", false);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), JsonT({"deploy-bot", "read-bot", "run-bot"}));

  r = Call("POST", "/serviceAccounts", "",
           R"({"name":"ci-bot","memberOf":["team-a"]})", false);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(fiat_->Calls(), std::vector<std::string>{"ci-bot team-a"});
  r = Call("GET", "/serviceAccounts", "", "", false);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r).size(), 4u);
  EXPECT_EQ(Body(r)[0], JsonT({{"name", "ci-bot"}, {"memberOf", {"team-a"}}}));
  r = Call("DELETE", "/serviceAccounts/ci-bot", "", "", false);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(front50_->Accounts().count("ci-bot"), 0u);

  // gate's write rules still hold: a body that is not JSON is refused.
  http::ClientRequest form;
  form.method = "POST";
  form.url = absl::StrCat("http://127.0.0.1:", http_disabled_->port(),
                          "/serviceAccounts");
  form.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  form.body = "name=ci-bot";
  absl::StatusOr<http::ClientResponse> refused = http::Fetch(form);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->status, 415);
  EXPECT_EQ(front50_->Accounts().count("ci-bot"), 0u);
}

TEST(ParseServiceAccountTest, NormalizesRoles) {
  absl::StatusOr<ServiceAccountInput> in = ParseServiceAccount(
      JsonT::parse(R"({"name":"a@b.c","memberOf":[" Ops ","ops","Dev"]})"));
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->name, "a@b.c");
  EXPECT_EQ(in->member_of, (std::vector<std::string>{"ops", "dev"}));
  in = ParseServiceAccount(JsonT::parse(R"({"name":"x","memberOf":null})"));
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_TRUE(in->member_of.empty());
  EXPECT_FALSE(ParseServiceAccount(JsonT::parse(R"({"name":"a b"})")).ok());
}

}  // namespace
}  // namespace gennaker::gate
