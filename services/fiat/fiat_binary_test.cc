// The real fiat binary on a real Redis, with in-process fake front50 and
// clouddriver gRPC servers and the file role provider: a login resolves the
// file's roles, the REST API serves Spinnaker's view, an application created
// in front50 a moment ago is authorized at once, and a config naming an
// unreadable users file is refused at start.
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/spinnaker/json.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gennaker/fiat/v1/fiat.grpc.pb.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gennaker::fiat {
namespace {

using ::gennaker::testing::IsOk;
using ::testing::HasSubstr;

class FakeFront50 final : public front50::v1::Front50Service::Service {
 public:
  void AddApplication(const std::string& name,
                      const std::vector<std::string>& roles) {
    absl::MutexLock l(&mu_);
    apps_.push_back(name);
    if (!roles.empty()) {
      front50::v1::ApplicationPermission p;
      p.set_application(name);
      for (const auto& r : roles) {
        p.add_read_roles(r);
        p.add_write_roles(r);
      }
      perms_.push_back(p);
    }
  }
  grpc::Status ListApplications(
      grpc::ServerContext*, const front50::v1::ListApplicationsRequest*,
      front50::v1::ListApplicationsResponse* resp) override {
    absl::MutexLock l(&mu_);
    for (const auto& a : apps_) resp->add_applications()->set_name(a);
    return grpc::Status::OK;
  }
  grpc::Status ListApplicationPermissions(
      grpc::ServerContext*,
      const front50::v1::ListApplicationPermissionsRequest*,
      front50::v1::ListApplicationPermissionsResponse* resp) override {
    absl::MutexLock l(&mu_);
    for (const auto& p : perms_) *resp->add_permissions() = p;
    return grpc::Status::OK;
  }
  grpc::Status ListServiceAccounts(
      grpc::ServerContext*, const front50::v1::ListServiceAccountsRequest*,
      front50::v1::ListServiceAccountsResponse* resp) override {
    auto* sa = resp->add_service_accounts();
    sa->set_name("deploy-bot");
    sa->add_member_of("devs");
    return grpc::Status::OK;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> apps_ ABSL_GUARDED_BY(mu_);
  std::vector<front50::v1::ApplicationPermission> perms_ ABSL_GUARDED_BY(mu_);
};

class FakeClouddriver final
    : public clouddriver::v1::ClouddriverService::Service {
 public:
  grpc::Status ListAccounts(
      grpc::ServerContext*, const clouddriver::v1::ListAccountsRequest*,
      clouddriver::v1::ListAccountsResponse* resp) override {
    auto* prod = resp->add_accounts();
    prod->set_name("prod");
    prod->mutable_permissions()->add_read("ops");
    prod->mutable_permissions()->add_write("ops");
    auto* legacy = resp->add_accounts();
    legacy->set_name("staging");
    legacy->add_required_group_membership("devs");
    return grpc::Status::OK;
  }
};

class FiatBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::gennaker::testing::MakeTempDir("fiat-bin");
    auto redis = ::gennaker::testing::TestRedis::Start();
    ASSERT_THAT(redis, IsOk());
    redis_ = *std::move(redis);
    front50_.AddApplication("open", {});
    front50_.AddApplication("team", {"devs"});
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                       &deps_port_);
    b.RegisterService(&front50_);
    b.RegisterService(&clouddriver_);
    deps_ = b.BuildAndStart();
    ASSERT_NE(deps_, nullptr);
    grpc_port_ = *process::FreePort();
    admin_port_ = *process::FreePort();
    http_port_ = *process::FreePort();
    users_ = dir_ + "/users.yml";
    std::ofstream(users_) << "users:\n"
                             "  - username: alice\n"
                             "    roles: [devs]\n"
                             "  - username: root\n"
                             "    roles: [admins]\n";
  }

  void TearDown() override {
    if (pid_ > 0) (void)process::Terminate(pid_, absl::Seconds(5));
    if (deps_) deps_->Shutdown();
    redis_.reset();
    ::gennaker::testing::RemoveTree(dir_);
  }

  std::string WriteConfig(const std::string& roles) {
    const std::string path = absl::StrCat(dir_, "/fiat-", ++configs_, ".yml");
    const std::string deps = absl::StrCat("127.0.0.1:", deps_port_);
    std::ofstream(path) << absl::StrCat(
        "server: {host: 127.0.0.1, grpcPort: ", grpc_port_,
        ", adminPort: ", admin_port_, ", shutdownGraceSeconds: 2}\n",
        "logging: {level: info, format: text}\n",
        "redis: {url: 'redis://127.0.0.1:", redis_->port(), "'}\n",
        "services: {front50: {address: '", deps, "'}, clouddriver: {address: '",
        deps, "'}, igor: {address: ''}}\n", "httpPort: ", http_port_, "\n",
        "roles: ", roles, "\n", "adminRoles: [admins]\n");
    return path;
  }

  void StartFiat() {
    const std::string config =
        WriteConfig(absl::StrCat("{provider: file, filePath: '", users_, "'}"));
    process::SpawnOptions o;
    o.argv = {::gennaker::testing::BinDir() + "/fiat", "--config", config};
    o.log_file = config + ".log";
    o.die_with_parent = true;
    auto pid = process::Spawn(o);
    ASSERT_THAT(pid, IsOk());
    pid_ = *pid;
    const std::string address = absl::StrCat("127.0.0.1:", grpc_port_);
    for (int i = 0; i < 200; ++i) {
      auto serving = CheckServing(address, std::chrono::milliseconds(200));
      if (serving.ok() && *serving) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    // gRPC reports SERVING before the REST listener is up.
    for (int i = 0; i < 200; ++i) {
      http::ClientRequest health;
      health.url = absl::StrCat("http://127.0.0.1:", http_port_, "/health");
      health.timeout_ms = 500;
      auto r = http::Fetch(health);
      if (r.ok() && r->status == 200) {
        stub_ = v1::FiatService::NewStub(MakeChannel(address));
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "fiat did not become SERVING; see " << o.log_file;
  }

  http::ClientResponse Rest(const std::string& method, const std::string& path,
                            const std::string& body = "") {
    http::ClientRequest r;
    r.method = method;
    r.url = absl::StrCat("http://127.0.0.1:", http_port_, path);
    r.body = body;
    if (!body.empty()) r.headers = {{"Content-Type", "application/json"}};
    auto resp = http::Fetch(r);
    EXPECT_THAT(resp, IsOk());
    return resp.ok() ? *resp : http::ClientResponse{};
  }

  std::string dir_, users_;
  int configs_ = 0;
  std::unique_ptr<::gennaker::testing::TestRedis> redis_;
  FakeFront50 front50_;
  FakeClouddriver clouddriver_;
  int deps_port_ = 0;
  std::unique_ptr<grpc::Server> deps_;
  int grpc_port_ = 0, admin_port_ = 0, http_port_ = 0;
  pid_t pid_ = 0;
  std::unique_ptr<v1::FiatService::Stub> stub_;
};

TEST_F(FiatBinaryTest, LoginViewsAndNewApplicationAtOnce) {
  StartFiat();
  ASSERT_NE(stub_, nullptr);
  {
    grpc::ClientContext ctx;
    v1::LoginUserRequest req;
    req.set_user("Alice");
    v1::LoginUserResponse resp;
    grpc::Status st = stub_->LoginUser(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(resp.permission().roles_size(), 1);
    EXPECT_EQ(resp.permission().roles(0).name(), "devs");
    EXPECT_EQ(resp.permission().roles(0).source(), v1::ROLE_SOURCE_FILE);
  }
  auto r = Rest("GET", "/authorize/alice");
  ASSERT_EQ(r.status, 200) << r.body;
  auto view = spinnaker::ParseJson(r.body);
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ((*view)["name"], "alice");
  EXPECT_EQ((*view)["applications"].size(), 2u);
  ASSERT_EQ((*view)["accounts"].size(), 1u);  // staging via legacy groups
  EXPECT_EQ((*view)["accounts"][0]["name"], "staging");
  EXPECT_EQ((*view)["serviceAccounts"][0]["name"], "deploy-bot");
  EXPECT_EQ(Rest("GET", "/authorize/alice/account/prod/READ").status, 404);
  EXPECT_EQ(Rest("GET", "/authorize/anonymous/application/open/READ").status,
            200);
  EXPECT_EQ(Rest("GET", "/health").status, 200);

  // Created in front50 a moment ago: visible without waiting for a refresh.
  front50_.AddApplication("brand-new", {"devs"});
  {
    grpc::ClientContext ctx;
    v1::AuthorizeRequest req;
    req.set_user("alice");
    req.set_resource_type(v1::RESOURCE_TYPE_APPLICATION);
    req.set_resource_name("brand-new");
    req.set_authorization(v1::AUTHORIZATION_WRITE);
    v1::AuthorizeResponse resp;
    ASSERT_TRUE(stub_->Authorize(&ctx, req, &resp).ok());
    EXPECT_TRUE(resp.allowed());
    EXPECT_EQ(resp.reason(), v1::DECISION_REASON_GRANTED);
  }
  {
    // The service account resolves as a user (orca's runAsUser check).
    grpc::ClientContext ctx;
    v1::GetUserPermissionRequest req;
    req.set_user("deploy-bot");
    v1::GetUserPermissionResponse resp;
    ASSERT_TRUE(stub_->GetUserPermission(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.permission().roles(0).name(), "devs");
  }
  {
    grpc::ClientContext ctx;
    v1::GetUserPermissionRequest req;
    v1::GetUserPermissionResponse resp;
    EXPECT_EQ(stub_->GetUserPermission(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(FiatBinaryTest, UnreadableUsersFileIsRefusedAtStart) {
  const std::string config = WriteConfig(
      absl::StrCat("{provider: file, filePath: '", dir_, "/missing.yml'}"));
  process::SpawnOptions o;
  o.argv = {::gennaker::testing::BinDir() + "/fiat", "--config", config};
  o.log_file = config + ".log";
  auto code = process::Run(o);
  ASSERT_THAT(code, IsOk());
  EXPECT_NE(*code, 0);
  std::ifstream in(o.log_file);
  const std::string log((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
  EXPECT_THAT(log, HasSubstr("filePath"));
}

}  // namespace
}  // namespace gennaker::fiat
