// gate's infrastructure routes over real HTTP (gate's REST router and server)
// against a fake clouddriver served by an in-process gRPC server: the
// Spinnaker JSON shapes, what reaches clouddriver, and the error statuses;
// and the application routes, which merge a fake front50's records with
// clouddriver's view.
#include "services/gate/gate_infrastructure.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/grpc/grpc_server.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_applications.h"
#include "services/gate/gate_rest.h"
#include "tests/support/gate_fixture.h"

namespace gennaker::gate {
namespace {

using Json = nlohmann::json;
namespace cd = clouddriver::v1;
namespace f50 = front50::v1;

// One RPC of the fake: the reply (or error) to give and what it was asked.
template <typename Request, typename Response>
struct FakeRpc {
  grpc::Status status;
  Response reply;
  Request last;
  int calls = 0;
};

// One RPC override of a fake: `Method` of service namespace `ns` answers from
// the FakeRpc member `rpc`.
#define GATE_FAKE_RPC(ns, Method, rpc)                       \
  grpc::Status Method(grpc::ServerContext* ctx,              \
                      const ns::Method##Request* req,        \
                      ns::Method##Response* resp) override { \
    return Serve(#Method, rpc, ctx, *req, resp);             \
  }

// clouddriver as the tests script it. Every member is guarded by `mu`.
class FakeClouddriver final : public cd::ClouddriverService::Service {
 public:
  std::mutex mu;
  std::string last_user;
  // Calls of every RPC.
  int calls = 0;
  // Errors by RPC name ("GetAccount"), answered before the FakeRpc's.
  std::map<std::string, grpc::Status> failures;
  FakeRpc<cd::ListAccountsRequest, cd::ListAccountsResponse> list_accounts;
  FakeRpc<cd::GetAccountRequest, cd::GetAccountResponse> get_account;
  FakeRpc<cd::ListClustersRequest, cd::ListClustersResponse> list_clusters;
  FakeRpc<cd::GetClusterRequest, cd::GetClusterResponse> get_cluster;
  FakeRpc<cd::ListServerGroupsRequest, cd::ListServerGroupsResponse>
      list_server_groups;
  FakeRpc<cd::GetServerGroupRequest, cd::GetServerGroupResponse>
      get_server_group;
  FakeRpc<cd::GetTargetServerGroupRequest, cd::GetTargetServerGroupResponse>
      get_target;
  FakeRpc<cd::ListLoadBalancersRequest, cd::ListLoadBalancersResponse>
      list_load_balancers;
  FakeRpc<cd::ListSecurityGroupsRequest, cd::ListSecurityGroupsResponse>
      list_security_groups;
  FakeRpc<cd::GetSecurityGroupRequest, cd::GetSecurityGroupResponse>
      get_security_group;
  FakeRpc<cd::GetInstanceRequest, cd::GetInstanceResponse> get_instance;
  FakeRpc<cd::SearchRequest, cd::SearchResponse> search;
  FakeRpc<cd::ListApplicationsRequest, cd::ListApplicationsResponse>
      list_applications;
  FakeRpc<cd::GetApplicationRequest, cd::GetApplicationResponse>
      get_application;

  void Reset() {
    std::lock_guard<std::mutex> lock(mu);
    last_user.clear();
    calls = 0;
    failures.clear();
    list_accounts = {};
    get_account = {};
    list_clusters = {};
    get_cluster = {};
    list_server_groups = {};
    get_server_group = {};
    get_target = {};
    list_load_balancers = {};
    list_security_groups = {};
    get_security_group = {};
    get_instance = {};
    search = {};
    list_applications = {};
    get_application = {};
  }

  GATE_FAKE_RPC(cd, ListAccounts, list_accounts)
  GATE_FAKE_RPC(cd, GetAccount, get_account)
  GATE_FAKE_RPC(cd, ListClusters, list_clusters)
  GATE_FAKE_RPC(cd, GetCluster, get_cluster)
  GATE_FAKE_RPC(cd, ListServerGroups, list_server_groups)
  GATE_FAKE_RPC(cd, GetServerGroup, get_server_group)
  GATE_FAKE_RPC(cd, GetTargetServerGroup, get_target)
  GATE_FAKE_RPC(cd, ListLoadBalancers, list_load_balancers)
  GATE_FAKE_RPC(cd, ListSecurityGroups, list_security_groups)
  GATE_FAKE_RPC(cd, GetSecurityGroup, get_security_group)
  GATE_FAKE_RPC(cd, GetInstance, get_instance)
  GATE_FAKE_RPC(cd, Search, search)
  GATE_FAKE_RPC(cd, ListApplications, list_applications)
  GATE_FAKE_RPC(cd, GetApplication, get_application)

 private:
  template <typename Request, typename Response>
  grpc::Status Serve(const char* method, FakeRpc<Request, Response>& rpc,
                     grpc::ServerContext* ctx, const Request& req,
                     Response* resp) {
    std::lock_guard<std::mutex> lock(mu);
    rpc.last = req;
    ++rpc.calls;
    ++calls;
    auto user = ctx->client_metadata().find("x-spinnaker-user");
    if (user != ctx->client_metadata().end())
      last_user = std::string(user->second.data(), user->second.size());
    if (auto failure = failures.find(method); failure != failures.end())
      return failure->second;
    if (!rpc.status.ok()) return rpc.status;
    *resp = rpc.reply;
    return grpc::Status::OK;
  }
};

// front50's application reads as the tests script them. Every member is
// guarded by `mu`.
class FakeFront50 final : public f50::Front50Service::Service {
 public:
  std::mutex mu;
  // Calls of every RPC.
  int calls = 0;
  FakeRpc<f50::ListApplicationsRequest, f50::ListApplicationsResponse>
      list_applications;
  FakeRpc<f50::GetApplicationRequest, f50::GetApplicationResponse>
      get_application;

  void Reset() {
    std::lock_guard<std::mutex> lock(mu);
    calls = 0;
    list_applications = {};
    get_application = {};
  }

  GATE_FAKE_RPC(f50, ListApplications, list_applications)
  GATE_FAKE_RPC(f50, GetApplication, get_application)

 private:
  template <typename Request, typename Response>
  grpc::Status Serve(const char*, FakeRpc<Request, Response>& rpc,
                     grpc::ServerContext*, const Request& req, Response* resp) {
    std::lock_guard<std::mutex> lock(mu);
    rpc.last = req;
    ++rpc.calls;
    ++calls;
    if (!rpc.status.ok()) return rpc.status;
    *resp = rpc.reply;
    return grpc::Status::OK;
  }
};

template <typename Message>
Message Proto(const std::string& text) {
  Message m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

class GateInfrastructureTest : public testing::GateRestTest {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeClouddriver();
    front50_ = new FakeFront50();
    auto grpc_server = GrpcServer::Start({}, {fake_, front50_});
    ASSERT_TRUE(grpc_server.ok()) << grpc_server.status();
    grpc_ = grpc_server->release();
    // clouddriver and front50 are fakes; orca answers UNIMPLEMENTED.
    testing::GateRestOptions gate;
    gate.clouddriver = absl::StrCat("127.0.0.1:", grpc_->port());
    gate.front50 = gate.clouddriver;
    gate.orca = gate.clouddriver;
    gate.clouddriver_deadline_ms = 5000;
    StartGate(gate);
  }

  static void TearDownTestSuite() {
    StopGate();
    grpc_->Shutdown(std::chrono::milliseconds(100));
    delete grpc_;
    delete fake_;
    delete front50_;
  }

  void SetUp() override {
    fake_->Reset();
    front50_->Reset();
  }

  // Runs `f` on the fake under its lock (to script replies or read requests).
  template <typename F>
  static auto Fake(F f) {
    std::lock_guard<std::mutex> lock(fake_->mu);
    return f(*fake_);
  }

  static http::ClientResponse Call(const std::string& path) {
    return GateRestTest::Call("GET", path);
  }

  // GET `path`, expecting `status` and a JSON body.
  static Json Get(const std::string& path, int status = 200) {
    http::ClientResponse r = Call(path);
    EXPECT_EQ(r.status, status) << path << ": " << r.body;
    EXPECT_NE(r.headers["content-type"].find("application/json"),
              std::string::npos)
        << path;
    Json j = Json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << path << ": " << r.body;
    return j;
  }

  // GET `path`, expecting gate's error body with `status`.
  static Json GetError(const std::string& path, int status) {
    Json j = Get(path, status);
    EXPECT_EQ(j["status"], status) << j.dump();
    EXPECT_TRUE(j["timestamp"].is_number_integer()) << j.dump();
    EXPECT_TRUE(j["error"].is_string()) << j.dump();
    EXPECT_TRUE(j["message"].is_string()) << j.dump();
    EXPECT_EQ(j["path"], path.substr(0, path.find('?'))) << j.dump();
    return j;
  }

  // Runs `f` on the fake front50 under its lock.
  template <typename F>
  static auto Front50(F f) {
    std::lock_guard<std::mutex> lock(front50_->mu);
    return f(*front50_);
  }

  // GET `path`, expecting `status`; the body as sent.
  static std::string Body(const std::string& path, int status = 200) {
    http::ClientResponse r = Call(path);
    EXPECT_EQ(r.status, status) << path << ": " << r.body;
    return r.body;
  }

  static inline FakeClouddriver* fake_ = nullptr;
  static inline FakeFront50* front50_ = nullptr;
  static inline GrpcServer* grpc_ = nullptr;
};

// --- credentials ---

TEST_F(GateInfrastructureTest, CredentialsKeepClouddriverJsonAndAddAuthorized) {
  Fake([](FakeClouddriver& f) {
    f.list_accounts.reply = Proto<cd::ListAccountsResponse>(R"pb(
      accounts {
        name: "k8s"
        cloud_provider: "kubernetes"
        environment: "ignored: json wins"
        json {
          json: '{"name":"k8s","type":"kubernetes","environment":"dev",'
                '"regions":[{"name":"default"}],"providerVersion":"v2"}'
        }
      }
      accounts {
        name: "local"
        cloud_provider: "local"
        account_type: "local"
        account_id: "42"
        environment: "test"
        primary_account: true
        regions: "here"
        permissions { read: "dev" write: "ops" }
        required_group_membership: "g"
      }
    )pb");
  });
  Json out = Get("/credentials?expand=true");
  EXPECT_EQ(out, Json::parse(R"([
    {"name": "k8s", "type": "kubernetes", "environment": "dev",
     "regions": [{"name": "default"}], "providerVersion": "v2",
     "cloudProvider": "kubernetes", "accountType": "", "accountId": "",
     "primaryAccount": false, "challengeDestructiveActions": false,
     "requiredGroupMembership": [], "authorized": true},
    {"name": "local", "type": "local", "cloudProvider": "local",
     "accountType": "local", "accountId": "42", "environment": "test",
     "primaryAccount": true, "challengeDestructiveActions": false,
     "regions": [{"name": "here"}],
     "permissions": {"READ": ["dev"], "WRITE": ["ops"]},
     "requiredGroupMembership": ["g"], "authorized": true}
  ])"))
      << out.dump();
  EXPECT_TRUE(
      Fake([](FakeClouddriver& f) { return f.list_accounts.last.expand(); }));
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.last_user; }), "anonymous");

  Get("/credentials");
  EXPECT_FALSE(
      Fake([](FakeClouddriver& f) { return f.list_accounts.last.expand(); }));
}

TEST_F(GateInfrastructureTest, OneCredentialAndUnknownAccount) {
  Fake([](FakeClouddriver& f) {
    f.get_account.reply = Proto<cd::GetAccountResponse>(R"pb(
      account { name: "prod" cloud_provider: "kubernetes" }
    )pb");
  });
  Json out = Get("/credentials/prod");
  EXPECT_EQ(out["name"], "prod");
  EXPECT_EQ(out["type"], "kubernetes");
  EXPECT_EQ(out["authorized"], true);
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.get_account.last.name(); }),
            "prod");
  // An unknown account: see kRouteCases.
}

// --- clusters ---

TEST_F(GateInfrastructureTest, ClusterNamesByAccount) {
  Fake([](FakeClouddriver& f) {
    f.list_clusters.reply = Proto<cd::ListClustersResponse>(R"pb(
      clusters { account: "prod" name: "app-web" }
      clusters { account: "test" name: "app" }
      clusters { account: "prod" name: "app" }
      clusters { account: "prod" name: "app-web" }
    )pb");
  });
  Json out = Get("/applications/app/clusters");
  EXPECT_EQ(out, Json::parse(R"({"prod": ["app", "app-web"],
                                 "test": ["app"]})"))
      << out.dump();
  auto req = Fake([](FakeClouddriver& f) { return f.list_clusters.last; });
  EXPECT_EQ(req.application(), "app");
  EXPECT_EQ(req.account(), "");
}

TEST_F(GateInfrastructureTest, AccountClustersAreSummaries) {
  Fake([](FakeClouddriver& f) {
    f.list_clusters.reply = Proto<cd::ListClustersResponse>(R"pb(
      clusters {
        account: "prod"
        name: "app-web"
        cloud_provider: "kubernetes"
        moniker { app: "app" cluster: "app-web" stack: "web" }
        server_group_names: "app-web-v001"
        server_group_names: "app-web-v002"
        load_balancer_names: "service app-web"
      }
    )pb");
  });
  Json out = Get("/applications/app/clusters/prod");
  EXPECT_EQ(out, Json::parse(R"([
    {"name": "app-web", "account": "prod",
     "moniker": {"app": "app", "cluster": "app-web", "stack": "web"},
     "loadBalancers": ["service app-web"],
     "serverGroups": ["app-web-v001", "app-web-v002"]}
  ])"))
      << out.dump();
  auto req = Fake([](FakeClouddriver& f) { return f.list_clusters.last; });
  EXPECT_EQ(req.application(), "app");
  EXPECT_EQ(req.account(), "prod");
  // An account without clusters: see kRouteCases.
}

constexpr char kTwoClusters[] = R"pb(
  clusters {
    account: "prod"
    name: "app-web"
    cloud_provider: "aws"
    json {
      json: '{"name":"app-web","type":"aws","accountName":"prod",'
            '"serverGroups":[{"name":"app-web-v001"},'
            '{"name":"app-web-v002"}],"loadBalancers":[]}'
    }
  }
  clusters {
    account: "prod"
    name: "app-web"
    cloud_provider: "kubernetes"
    moniker { app: "app" cluster: "app-web" }
    load_balancer_names: "service app-web"
    server_groups {
      account: "prod"
      region: "default"
      name: "replicaSet app-web-v003"
      cloud_provider: "kubernetes"
      moniker { app: "app" cluster: "app-web" sequence: 3 }
      created_time_ms: 1700000000000
      capacity { min: 1 max: 1 desired: 1 }
      instance_counts { total: 1 up: 1 }
      instances {
        id: "uid-1"
        human_readable_name: "pod app-web-v003-abc"
        zone: "default"
        health_state: HEALTH_STATE_UP
        health {
          type: "kubernetes/pod"
          state: HEALTH_STATE_UP
          health_class: "platform"
        }
      }
      load_balancers: "service app-web"
    }
  }
)pb";

TEST_F(GateInfrastructureTest, ClusterByNameIsTheFirstClusterLikeGate) {
  Fake([](FakeClouddriver& f) {
    f.get_cluster.reply = Proto<cd::GetClusterResponse>(kTwoClusters);
  });
  http::ClientResponse r = Call("/applications/app/clusters/prod/app-web");
  EXPECT_EQ(r.status, 200);
  // Passed through byte for byte.
  EXPECT_EQ(r.body, R"({"name":"app-web","type":"aws","accountName":"prod",)"
                    R"("serverGroups":[{"name":"app-web-v001"},)"
                    R"({"name":"app-web-v002"}],"loadBalancers":[]})");
  auto req = Fake([](FakeClouddriver& f) { return f.get_cluster.last; });
  EXPECT_EQ(req.application(), "app");
  EXPECT_EQ(req.account(), "prod");
  EXPECT_EQ(req.cluster(), "app-web");
  EXPECT_EQ(req.cloud_provider(), "");
  EXPECT_TRUE(req.expand());
  // An unknown cluster: see kRouteCases.
}

TEST_F(GateInfrastructureTest, ProviderClusterBuiltFromTypedFields) {
  Fake([](FakeClouddriver& f) {
    f.get_cluster.reply = Proto<cd::GetClusterResponse>(kTwoClusters);
  });
  Json out = Get("/applications/app/clusters/prod/app-web/kubernetes");
  EXPECT_EQ(out, Json::parse(R"({
    "name": "app-web", "type": "kubernetes", "accountName": "prod",
    "moniker": {"app": "app", "cluster": "app-web"},
    "serverGroups": [{
      "name": "replicaSet app-web-v003", "account": "prod",
      "region": "default", "cloudProvider": "kubernetes",
      "type": "kubernetes",
      "moniker": {"app": "app", "cluster": "app-web", "sequence": 3},
      "zones": [], "disabled": false, "createdTime": 1700000000000,
      "capacity": {"min": 1, "max": 1, "desired": 1},
      "instanceCounts": {"total": 1, "up": 1, "down": 0, "unknown": 0,
                         "outOfService": 0, "starting": 0},
      "instances": [{
        "name": "uid-1", "humanReadableName": "pod app-web-v003-abc",
        "account": "prod", "region": "default", "zone": "default",
        "cloudProvider": "kubernetes", "providerType": "kubernetes",
        "serverGroup": "replicaSet app-web-v003", "healthState": "Up",
        "health": [{"type": "kubernetes/pod", "state": "Up",
                    "healthClass": "platform"}]}],
      "loadBalancers": ["service app-web"], "securityGroups": [],
      "serverGroupManagers": []}],
    "loadBalancers": [{"name": "service app-web"}]
  })"))
      << out.dump();
  auto req = Fake([](FakeClouddriver& f) { return f.get_cluster.last; });
  EXPECT_EQ(req.cloud_provider(), "kubernetes");
  EXPECT_TRUE(req.expand());

  Get("/applications/app/clusters/prod/app-web/kubernetes?expand=false");
  EXPECT_FALSE(
      Fake([](FakeClouddriver& f) { return f.get_cluster.last.expand(); }));

  Json error = GetError("/applications/app/clusters/prod/app-web/gce", 404);
  EXPECT_EQ(error["message"],
            "No clusters found (application: app, account: prod, type: gce)");
}

TEST_F(GateInfrastructureTest, ClusterServerGroupsAndOneByName) {
  Fake([](FakeClouddriver& f) {
    f.get_cluster.reply = Proto<cd::GetClusterResponse>(kTwoClusters);
  });
  EXPECT_EQ(
      Get("/applications/app/clusters/prod/app-web/serverGroups"),
      Json::parse(R"([{"name":"app-web-v001"},{"name":"app-web-v002"}])"));
  EXPECT_EQ(
      Get("/applications/app/clusters/prod/app-web/serverGroups/app-web-v002"),
      Json::parse(R"([{"name":"app-web-v002"}])"));
  EXPECT_EQ(Get("/applications/app/clusters/prod/app-web/serverGroups/x"),
            Json::array());
  EXPECT_EQ(
      Fake([](FakeClouddriver& f) { return f.get_cluster.last.cluster(); }),
      "app-web");
}

// --- target server groups ---

TEST(ParseServerGroupTargetTest, SpinnakerNames) {
  struct Case {
    const char* name;
    cd::ServerGroupTarget target;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"current_asg_dynamic", cd::SERVER_GROUP_TARGET_CURRENT},
           {"current_asg", cd::SERVER_GROUP_TARGET_CURRENT},
           {"CURRENT", cd::SERVER_GROUP_TARGET_CURRENT},
           {"newest", cd::SERVER_GROUP_TARGET_CURRENT},
           {"ancestor_asg_dynamic", cd::SERVER_GROUP_TARGET_PREVIOUS},
           {"ancestor_asg", cd::SERVER_GROUP_TARGET_PREVIOUS},
           {"previous", cd::SERVER_GROUP_TARGET_PREVIOUS},
           {"oldest_asg_dynamic", cd::SERVER_GROUP_TARGET_OLDEST},
           {"oldest_asg", cd::SERVER_GROUP_TARGET_OLDEST},
           {"largest_asg_dynamic", cd::SERVER_GROUP_TARGET_LARGEST},
           {"Largest_ASG", cd::SERVER_GROUP_TARGET_LARGEST},
       }) {
    auto target = ParseServerGroupTarget(c.name);
    ASSERT_TRUE(target.ok()) << c.name;
    EXPECT_EQ(*target, c.target) << c.name;
  }
  for (const char* bad : {"", "fail", "biggest", "current_dynamic", "_asg"}) {
    auto target = ParseServerGroupTarget(bad);
    ASSERT_FALSE(target.ok()) << bad;
    EXPECT_EQ(target.status().code(), absl::StatusCode::kNotFound) << bad;
  }
}

TEST_F(GateInfrastructureTest, TargetServerGroup) {
  Fake([](FakeClouddriver& f) {
    f.get_target.reply = Proto<cd::GetTargetServerGroupResponse>(R"pb(
      server_group {
        name: "app-web-v002"
        json { json: '{"name":"app-web-v002","region":"us-east-1"}' }
      }
    )pb");
  });
  const std::string base =
      "/applications/app/clusters/prod/app-web/aws/us-east-1/serverGroups/"
      "target/";
  http::ClientResponse r = Call(base + "ancestor_asg_dynamic");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"name":"app-web-v002","region":"us-east-1"})");
  auto req = Fake([](FakeClouddriver& f) { return f.get_target.last; });
  EXPECT_EQ(req.application(), "app");
  EXPECT_EQ(req.account(), "prod");
  EXPECT_EQ(req.cluster(), "app-web");
  EXPECT_EQ(req.cloud_provider(), "aws");
  EXPECT_EQ(req.region(), "us-east-1");
  EXPECT_EQ(req.target(), cd::SERVER_GROUP_TARGET_PREVIOUS);
  EXPECT_FALSE(req.only_enabled());  // Spinnaker's defaults
  EXPECT_TRUE(req.validate_oldest());

  Get(base + "oldest_asg?onlyEnabled=true&validateOldest=false");
  req = Fake([](FakeClouddriver& f) { return f.get_target.last; });
  EXPECT_EQ(req.target(), cd::SERVER_GROUP_TARGET_OLDEST);
  EXPECT_TRUE(req.only_enabled());
  EXPECT_FALSE(req.validate_oldest());
  Get(base + "current_asg_dynamic");
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.get_target.last.target(); }),
            cd::SERVER_GROUP_TARGET_CURRENT);
  Get(base + "largest_asg_dynamic");
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.get_target.last.target(); }),
            cd::SERVER_GROUP_TARGET_LARGEST);
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.get_target.calls; }), 4);

  // Unknown target: no call (bad flags and clouddriver's NOT_FOUND: see
  // kRouteCases).
  Json error = GetError(base + "biggest", 404);
  EXPECT_EQ(error["message"], "Target not found (target: biggest)");
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.get_target.calls; }), 4);
}

// --- server groups ---

TEST_F(GateInfrastructureTest, ServerGroupListPassesJsonThroughElseBuilds) {
  Fake([](FakeClouddriver& f) {
    f.list_server_groups.reply = Proto<cd::ListServerGroupsResponse>(R"pb(
      server_groups {
        name: "a"
        json { json: '{"name":"a","isDisabled":true}' }
      }
      server_groups {
        account: "prod"
        region: "us-east-1"
        name: "app-web-v001"
        cloud_provider: "aws"
        moniker { app: "app" cluster: "app-web" stack: "web" sequence: 1 }
        zones: "us-east-1a"
        disabled: true
        created_time_ms: 5
        capacity { min: 1 max: 3 desired: 2 }
        instance_counts { total: 2 up: 1 down: 1 }
        instances {
          id: "i-1"
          zone: "us-east-1a"
          launch_time_ms: 7
          health_state: HEALTH_STATE_DOWN
        }
        security_groups: "sg-1"
      }
    )pb");
  });
  http::ClientResponse raw = Call("/applications/app/serverGroups");
  EXPECT_EQ(raw.body.rfind(R"([{"name":"a","isDisabled":true},)", 0), 0u)
      << raw.body;
  Json out = Json::parse(raw.body);
  EXPECT_EQ(out[1], Json::parse(R"({
    "name": "app-web-v001", "account": "prod", "region": "us-east-1",
    "cluster": "app-web", "application": "app", "cloudProvider": "aws",
    "type": "aws",
    "moniker": {"app": "app", "cluster": "app-web", "stack": "web",
                "sequence": 1},
    "zones": ["us-east-1a"], "isDisabled": true, "createdTime": 5,
    "capacity": {"min": 1, "max": 3, "desired": 2},
    "instanceCounts": {"total": 2, "up": 1, "down": 1, "unknown": 0,
                       "outOfService": 0, "starting": 0},
    "instances": [{"id": "i-1", "name": "i-1", "healthState": "Down",
                   "launchTime": 7, "availabilityZone": "us-east-1a",
                   "health": []}],
    "loadBalancers": [], "securityGroups": ["sg-1"],
    "serverGroupManagers": []
  })"))
      << out[1].dump();
  auto req = Fake([](FakeClouddriver& f) { return f.list_server_groups.last; });
  EXPECT_EQ(req.application(), "app");
  EXPECT_TRUE(req.clusters().empty());
  EXPECT_EQ(req.cloud_provider(), "");
  EXPECT_FALSE(req.expand());

  Get("/applications/app/serverGroups?expand=true&cloudProvider=aws"
      "&clusters=prod:app-web,test:app&clusters=prod:app-x");
  req = Fake([](FakeClouddriver& f) { return f.list_server_groups.last; });
  ASSERT_EQ(req.clusters_size(), 3);
  EXPECT_EQ(req.clusters(0), "prod:app-web");
  EXPECT_EQ(req.clusters(1), "test:app");
  EXPECT_EQ(req.clusters(2), "prod:app-x");
  EXPECT_EQ(req.cloud_provider(), "aws");
  EXPECT_TRUE(req.expand());
}

TEST_F(GateInfrastructureTest, ServerGroupDetails) {
  Fake([](FakeClouddriver& f) {
    f.get_server_group.reply = Proto<cd::GetServerGroupResponse>(R"pb(
      server_group {
        name: "app-v001"
        json { json: '{"name":"app-v001","launchConfig":{}}' }
      }
    )pb");
  });
  http::ClientResponse r =
      Call("/applications/app/serverGroups/prod/us-east-1/app-v001");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"name":"app-v001","launchConfig":{}})");
  auto req = Fake([](FakeClouddriver& f) { return f.get_server_group.last; });
  EXPECT_EQ(req.application(), "app");
  EXPECT_EQ(req.ref().account(), "prod");
  EXPECT_EQ(req.ref().region(), "us-east-1");
  EXPECT_EQ(req.ref().name(), "app-v001");
  EXPECT_TRUE(req.include_details());

  // Kubernetes names carry a space; the segment is percent-decoded.
  Get("/applications/app/serverGroups/prod/default/"
      "replicaSet%20app-v002?includeDetails=false");
  req = Fake([](FakeClouddriver& f) { return f.get_server_group.last; });
  EXPECT_EQ(req.ref().name(), "replicaSet app-v002");
  EXPECT_FALSE(req.include_details());
  // clouddriver's errors: see kRouteCases.
}

// --- load balancers ---

constexpr char kLoadBalancers[] = R"pb(
  load_balancers {
    account: "prod"
    region: "us-east-1"
    name: "app-lb"
    cloud_provider: "aws"
    json {
      json: '{"name":"app-lb","account":"prod","region":"us-east-1","listeners":[]}'
    }
  }
  load_balancers {
    account: "prod"
    region: "default"
    name: "service app"
    cloud_provider: "kubernetes"
    moniker { app: "app" cluster: "service app" }
    server_groups: "replicaSet app-v001"
  }
  load_balancers {
    account: "prod"
    region: "us-west-2"
    name: "app-lb"
    cloud_provider: "aws"
    json { json: '{"name":"app-lb","region":"us-west-2"}' }
  }
)pb";

TEST_F(GateInfrastructureTest, ApplicationLoadBalancers) {
  Fake([](FakeClouddriver& f) {
    f.list_load_balancers.reply =
        Proto<cd::ListLoadBalancersResponse>(kLoadBalancers);
  });
  Json out = Get("/applications/app/loadBalancers");
  EXPECT_EQ(out, Json::parse(R"([
    {"name":"app-lb","account":"prod","region":"us-east-1","listeners":[]},
    {"name": "service app", "account": "prod", "region": "default",
     "cloudProvider": "kubernetes", "type": "kubernetes",
     "moniker": {"app": "app", "cluster": "service app"},
     "serverGroups": [{"name": "replicaSet app-v001", "account": "prod",
                       "region": "default", "cloudProvider": "kubernetes"}]},
    {"name":"app-lb","region":"us-west-2"}
  ])"))
      << out.dump();
  auto req =
      Fake([](FakeClouddriver& f) { return f.list_load_balancers.last; });
  EXPECT_EQ(req.application(), "app");
  EXPECT_EQ(req.cloud_provider(), "");
}

TEST_F(GateInfrastructureTest, LoadBalancerSummariesByNameAccountRegion) {
  Fake([](FakeClouddriver& f) {
    f.list_load_balancers.reply =
        Proto<cd::ListLoadBalancersResponse>(kLoadBalancers);
  });
  Json out = Get("/loadBalancers?provider=aws");
  EXPECT_EQ(out[0], Json::parse(R"({
    "name": "app-lb",
    "accounts": [{"name": "prod", "regions": [
      {"name": "us-east-1", "loadBalancers": [
        {"name":"app-lb","account":"prod","region":"us-east-1","listeners":[]}]},
      {"name": "us-west-2", "loadBalancers": [
        {"name":"app-lb","region":"us-west-2"}]}]}]
  })"))
      << out.dump();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1]["name"], "service app");
  auto req =
      Fake([](FakeClouddriver& f) { return f.list_load_balancers.last; });
  EXPECT_EQ(req.cloud_provider(), "aws");
  EXPECT_EQ(req.application(), "");
}

TEST_F(GateInfrastructureTest, LoadBalancerDetailsAreAList) {
  Fake([](FakeClouddriver& f) {
    f.list_load_balancers.reply = Proto<cd::ListLoadBalancersResponse>(R"pb(
      load_balancers {
        name: "app-lb"
        json { json: '{"name":"app-lb","vpcId":"vpc-1"}' }
      }
    )pb");
  });
  http::ClientResponse r =
      Call("/loadBalancers/prod/us-east-1/app-lb?provider=aws");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"([{"name":"app-lb","vpcId":"vpc-1"}])");
  auto req =
      Fake([](FakeClouddriver& f) { return f.list_load_balancers.last; });
  EXPECT_EQ(req.account(), "prod");
  EXPECT_EQ(req.region(), "us-east-1");
  EXPECT_EQ(req.name(), "app-lb");
  EXPECT_EQ(req.cloud_provider(), "aws");
}

// --- security groups ---

TEST_F(GateInfrastructureTest, SecurityGroupsNestedByAccountProviderRegion) {
  Fake([](FakeClouddriver& f) {
    f.list_security_groups.reply = Proto<cd::ListSecurityGroupsResponse>(R"pb(
      security_groups {
        account: "prod"
        cloud_provider: "aws"
        region: "us-east-1"
        name: "web"
        id: "sg-2"
        vpc_id: "vpc-1"
      }
      security_groups {
        account: "prod"
        cloud_provider: "aws"
        region: "us-east-1"
        name: "Api"
        id: "sg-9"
      }
      security_groups {
        account: "prod"
        cloud_provider: "aws"
        region: "us-east-1"
        name: "api"
        id: "sg-1"
      }
      security_groups {
        account: "prod"
        cloud_provider: "kubernetes"
        region: "default"
        name: "networkpolicy x"
        id: "x"
        json {
          json: '{"name":"networkpolicy x","id":"x","namespace":"default"}'
        }
      }
      security_groups {
        account: "test"
        cloud_provider: "aws"
        region: "eu-west-1"
        name: "db"
        id: "sg-5"
      }
    )pb");
  });
  Json out = Get("/securityGroups");
  EXPECT_EQ(out, Json::parse(R"({
    "prod": {
      "aws": {"us-east-1": [{"name": "api", "id": "sg-1"},
                            {"name": "Api", "id": "sg-9"},
                            {"name": "web", "id": "sg-2", "vpcId": "vpc-1"}]},
      "kubernetes": {"default": [{"name": "networkpolicy x", "id": "x",
                                  "namespace": "default"}]}
    },
    "test": {"aws": {"eu-west-1": [{"name": "db", "id": "sg-5"}]}}
  })"))
      << out.dump();
  // "Api" and "api" tie on the name (case-insensitive): the id decides.
}

TEST_F(GateInfrastructureTest, SecurityGroupDetails) {
  Fake([](FakeClouddriver& f) {
    f.get_security_group.reply = Proto<cd::GetSecurityGroupResponse>(R"pb(
      security_group {
        id: "sg-1"
        name: "web"
        account: "prod"
        region: "us-east-1"
        cloud_provider: "aws"
        vpc_id: "vpc-1"
        application: "app"
        moniker { app: "app" cluster: "web" }
      }
    )pb");
  });
  Json out = Get("/securityGroups/prod/us-east-1/web?provider=aws&vpcId=vpc-1");
  EXPECT_EQ(out, Json::parse(R"({
    "type": "aws", "cloudProvider": "aws", "id": "sg-1", "name": "web",
    "moniker": {"app": "app", "cluster": "web"}, "application": "app",
    "accountName": "prod", "region": "us-east-1", "vpcId": "vpc-1",
    "inboundRules": [], "outboundRules": [],
    "summary": {"name": "web", "id": "sg-1"}
  })"))
      << out.dump();
  auto req = Fake([](FakeClouddriver& f) { return f.get_security_group.last; });
  EXPECT_EQ(req.account(), "prod");
  EXPECT_EQ(req.cloud_provider(), "aws");
  EXPECT_EQ(req.region(), "us-east-1");
  EXPECT_EQ(req.name_or_id(), "web");
  EXPECT_EQ(req.vpc_id(), "vpc-1");
  EXPECT_FALSE(req.by_id());

  // clouddriver's path: the provider is a segment; "*" is any VPC.
  Get("/securityGroups/prod/aws/us-east-1/sg-1?vpcId=*&getById=true");
  req = Fake([](FakeClouddriver& f) { return f.get_security_group.last; });
  EXPECT_EQ(req.cloud_provider(), "aws");
  EXPECT_EQ(req.name_or_id(), "sg-1");
  EXPECT_EQ(req.vpc_id(), "");
  EXPECT_TRUE(req.by_id());
  // An unknown group: see kRouteCases.
}

// --- instances ---

TEST_F(GateInfrastructureTest, InstancePassedThroughElseBuilt) {
  Fake([](FakeClouddriver& f) {
    f.get_instance.reply = Proto<cd::GetInstanceResponse>(R"pb(
      instance {
        id: "i-1"
        json { json: '{"name":"i-1","healthState":"Up"}' }
      }
    )pb");
  });
  http::ClientResponse r = Call("/instances/prod/us-east-1/i-1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"name":"i-1","healthState":"Up"})");
  auto req = Fake([](FakeClouddriver& f) { return f.get_instance.last; });
  EXPECT_EQ(req.account(), "prod");
  EXPECT_EQ(req.region(), "us-east-1");
  EXPECT_EQ(req.id(), "i-1");

  Fake([](FakeClouddriver& f) {
    f.get_instance.reply = Proto<cd::GetInstanceResponse>(R"pb(
      instance {
        id: "i-2"
        account: "prod"
        region: "us-east-1"
        zone: "us-east-1b"
        cloud_provider: "aws"
        server_group: "app-v001"
        health_state: HEALTH_STATE_OUT_OF_SERVICE
        launch_time_ms: 9
        health { type: "Discovery" state: HEALTH_STATE_OUT_OF_SERVICE }
      }
    )pb");
  });
  EXPECT_EQ(Get("/instances/prod/us-east-1/i-2"), Json::parse(R"({
    "name": "i-2", "humanReadableName": "i-2", "account": "prod",
    "region": "us-east-1", "zone": "us-east-1b", "cloudProvider": "aws",
    "providerType": "aws", "serverGroup": "app-v001",
    "healthState": "OutOfService",
    "health": [{"type": "Discovery", "state": "OutOfService"}],
    "launchTime": 9
  })"));
  // An unknown instance: see kRouteCases.
}

// --- search ---

TEST_F(GateInfrastructureTest, SearchResultSet) {
  Fake([](FakeClouddriver& f) {
    f.search.reply = Proto<cd::SearchResponse>(R"pb(
      total_matches: 12
      page_number: 2
      page_size: 5
      results {
        type: "serverGroups"
        cloud_provider: "kubernetes"
        json {
          json: '{"type":"serverGroups","serverGroup":"app-v001","account":"prod","provider":"kubernetes"}'
        }
      }
      results {
        type: "instances"
        cloud_provider: "kubernetes"
        account: "prod"
        region: "default"
        application: "app"
        name: "pod app-v001-x"
      }
    )pb");
  });
  Json out =
      Get("/search?q=app&type=serverGroups,instances&pageSize=5&page=2"
          "&account=prod&cacheBuster=&region=default&region=other");
  EXPECT_EQ(out, Json::parse(R"([{
    "totalMatches": 12, "pageNumber": 2, "pageSize": 5,
    "platform": "kubernetes", "query": "app",
    "results": [
      {"type":"serverGroups","serverGroup":"app-v001","account":"prod",
       "provider":"kubernetes"},
      {"type": "instances", "provider": "kubernetes", "account": "prod",
       "region": "default", "application": "app", "name": "pod app-v001-x"}
    ]
  }])"))
      << out.dump();
  auto req = Fake([](FakeClouddriver& f) { return f.search.last; });
  EXPECT_EQ(req.query(), "app");
  ASSERT_EQ(req.types_size(), 2);
  EXPECT_EQ(req.types(0), "serverGroups");
  EXPECT_EQ(req.types(1), "instances");
  EXPECT_EQ(req.platform(), "");
  EXPECT_EQ(req.page_size(), 5);
  EXPECT_EQ(req.page(), 2);
  // Other parameters are filters; empty ones are not given; the first value
  // of a repeated one wins.
  ASSERT_EQ(req.filters_size(), 2);
  EXPECT_EQ(req.filters().at("account"), "prod");
  EXPECT_EQ(req.filters().at("region"), "default");
}

TEST_F(GateInfrastructureTest, SearchDefaultsAndPlatform) {
  Fake([](FakeClouddriver& f) {
    f.search.reply = Proto<cd::SearchResponse>(R"pb(
      results { type: "clusters" cloud_provider: "aws" name: "a" }
      results { type: "clusters" cloud_provider: "kubernetes" name: "b" }
    )pb");
  });
  Json out = Get("/search?q=web");
  EXPECT_EQ(out[0]["pageNumber"], 1);
  EXPECT_EQ(out[0]["pageSize"], 10000);
  EXPECT_EQ(out[0]["totalMatches"], 0);
  // Results of several providers: Spinnaker's merged set says "aws".
  EXPECT_EQ(out[0]["platform"], "aws");
  auto req = Fake([](FakeClouddriver& f) { return f.search.last; });
  EXPECT_EQ(req.page_size(), 10000);
  EXPECT_EQ(req.page(), 1);
  EXPECT_TRUE(req.types().empty());
  EXPECT_TRUE(req.filters().empty());

  out = Get("/search?q=web&platform=gce");
  EXPECT_EQ(out[0]["platform"], "gce");
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.search.last.platform(); }),
            "gce");
}

TEST_F(GateInfrastructureTest, SearchShortQueriesWhenAllowed) {
  // Under 3 characters is [] without asking clouddriver (see kRouteCases)
  // unless allowShortQuery.
  Json out = Get("/search?q=&type=securityGroups&allowShortQuery=true");
  EXPECT_EQ(out[0]["query"], "");
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.search.calls; }), 1);
}

// --- applications: front50 merged with clouddriver ---

// front50's record of "shop" (stored lower-case; cloudProviders left empty
// and a stale accounts list, as front50 may hold them).
constexpr char kShopRecord[] = R"pb(
  application {
    name: "shop"
    email: "dev@example.com"
    attributes {
      json: '{"name":"shop","email":"dev@example.com","cloudProviders":"",'
            '"accounts":"stale","instancePort":80,'
            '"createTs":"1553171540150","trafficGuards":[]}'
    }
  }
)pb";

// clouddriver's view of "shop": deployed in prod (two clusters).
constexpr char kShopInfrastructure[] = R"pb(
  application {
    name: "shop"
    attributes {
      json: '{"name":"shop","cloudProviders":"kubernetes","instancePort":8080}'
    }
    clusters { account: "prod" name: "shop-web" cloud_provider: "kubernetes" }
    clusters { account: "prod" name: "shop" cloud_provider: "kubernetes" }
  }
)pb";

TEST(MergeApplicationAttributesTest, GatesRules) {
  using OJson = nlohmann::ordered_json;
  InfrastructureView cd;
  cd.name = "App";
  cd.attributes = OJson::parse(R"({"name": "App", "a": "cd", "b": "cd",
      "c": 7, "d": true, "e": ["cd"], "f": {"k": 1}, "g": "cd", "h": "",
      "i": 0, "j": null, "k": "new"})");
  cd.accounts = {"test", "prod"};
  OJson front50 = OJson::parse(R"({"name": "app", "a": "front50", "b": "",
      "c": 0, "d": false, "e": [], "f": {}, "g": null, "h": "front50",
      "i": 3, "j": "front50", "accounts": "stale"})");
  // front50's set values stay; its unset ones (null, false, 0, "", [], {})
  // take clouddriver's set ones; clouddriver's unset ones add nothing.
  EXPECT_EQ(MergeApplicationAttributes(front50, &cd, "app").dump(),
            OJson::parse(R"({"name": "app", "a": "front50", "b": "cd",
                "c": 7, "d": true, "e": ["cd"], "f": {"k": 1}, "g": "cd",
                "h": "front50", "i": 3, "j": "front50", "accounts": "prod,test",
                "k": "new"})")
                .dump());
  // Without clouddriver: front50's as is, with the name.
  EXPECT_EQ(MergeApplicationAttributes(front50, nullptr, "app"), front50);
  // No accounts from clouddriver: front50's stay.
  cd.accounts.clear();
  EXPECT_EQ(MergeApplicationAttributes(front50, &cd, "app")["accounts"],
            "stale");
  // Not an object: {} plus clouddriver's.
  EXPECT_EQ(MergeApplicationAttributes(OJson("junk"), nullptr, "app").dump(),
            R"({"name":"app"})");
}

TEST_F(GateInfrastructureTest, ApplicationMergesClouddriverAccounts) {
  Front50([](FakeFront50& f) {
    f.get_application.reply = Proto<f50::GetApplicationResponse>(kShopRecord);
  });
  Fake([](FakeClouddriver& f) {
    f.get_application.reply =
        Proto<cd::GetApplicationResponse>(kShopInfrastructure);
    f.get_application.reply.mutable_application()->add_clusters()->set_account(
        "test");
  });
  // Deck's call: attributes merged, no clusters.
  EXPECT_EQ(Body("/applications/SHOP?expand=false"),
            R"({"name":"shop","attributes":{"name":"shop",)"
            R"("email":"dev@example.com","cloudProviders":"kubernetes",)"
            R"("accounts":"prod,test","instancePort":80,)"
            R"("createTs":"1553171540150","trafficGuards":[]},)"
            R"("clusters":{}})");
  EXPECT_EQ(
      Front50([](FakeFront50& f) { return f.get_application.last.name(); }),
      "SHOP");
  // clouddriver is asked for the lower-cased name, as the caller.
  EXPECT_EQ(
      Fake([](FakeClouddriver& f) { return f.get_application.last.name(); }),
      "shop");
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.last_user; }), "anonymous");
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.list_clusters.calls; }), 0);
}

TEST_F(GateInfrastructureTest, ApplicationExpandedHasClustersByAccount) {
  Front50([](FakeFront50& f) {
    f.get_application.reply = Proto<f50::GetApplicationResponse>(kShopRecord);
  });
  Fake([](FakeClouddriver& f) {
    f.get_application.reply =
        Proto<cd::GetApplicationResponse>(kShopInfrastructure);
    f.list_clusters.reply = Proto<cd::ListClustersResponse>(R"pb(
      clusters {
        account: "prod"
        name: "shop-web"
        cloud_provider: "kubernetes"
        server_group_names: "shop-web-v002"
        server_group_names: "shop-web-v001"
        load_balancer_names: "shop-lb"
      }
      clusters { account: "test" name: "shop" cloud_provider: "local" }
      clusters {
        account: "prod"
        name: "shop"
        cloud_provider: "kubernetes"
        server_group_names: "shop-v000"
      }
    )pb");
  });
  const std::string expected =
      R"({"name":"shop","attributes":{"name":"shop",)"
      R"("email":"dev@example.com","cloudProviders":"kubernetes",)"
      R"("accounts":"prod,test","instancePort":80,)"
      R"("createTs":"1553171540150","trafficGuards":[]},)"
      R"("clusters":{"prod":[)"
      R"({"name":"shop","provider":"kubernetes","serverGroups":["shop-v000"],)"
      R"("loadBalancers":[]},)"
      R"({"name":"shop-web","provider":"kubernetes",)"
      R"("serverGroups":["shop-web-v002","shop-web-v001"],)"
      R"("loadBalancers":["shop-lb"]}],)"
      R"("test":[{"name":"shop","provider":"local","serverGroups":[],)"
      R"("loadBalancers":[]}]}})";
  // expand defaults to true, as in Gate.
  EXPECT_EQ(Body("/applications/shop"), expected);
  EXPECT_EQ(Body("/applications/shop?expand=true"), expected);
  auto req = Fake([](FakeClouddriver& f) { return f.list_clusters.last; });
  EXPECT_EQ(req.application(), "shop");
  EXPECT_EQ(req.account(), "");

  // ListClusters failing: the cluster names GetApplication gave.
  Fake([](FakeClouddriver& f) {
    f.list_clusters.status =
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "clouddriver restarting");
  });
  Json out = Get("/applications/shop?expand=true");
  EXPECT_EQ(out["attributes"]["accounts"], "prod");
  EXPECT_EQ(out["clusters"], Json::parse(R"({"prod": [
      {"name": "shop", "provider": "kubernetes", "serverGroups": [],
       "loadBalancers": []},
      {"name": "shop-web", "provider": "kubernetes", "serverGroups": [],
       "loadBalancers": []}]})"))
      << out.dump();
}

TEST_F(GateInfrastructureTest,
       ApplicationFallsBackToFront50WhenClouddriverFails) {
  Front50([](FakeFront50& f) {
    f.get_application.reply = Proto<f50::GetApplicationResponse>(kShopRecord);
  });
  const std::string front50_only =
      R"({"name":"shop","attributes":{"name":"shop",)"
      R"("email":"dev@example.com","cloudProviders":"","accounts":"stale",)"
      R"("instancePort":80,"createTs":"1553171540150","trafficGuards":[]},)"
      R"("clusters":{}})";
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::UNIMPLEMENTED,
        grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::INTERNAL,
        grpc::StatusCode::PERMISSION_DENIED}) {
    Fake([code](FakeClouddriver& f) {
      f.get_application.status = grpc::Status(code, "clouddriver is down");
    });
    EXPECT_EQ(Body("/applications/shop"), front50_only) << code;
    EXPECT_EQ(Body("/applications/shop?expand=false"), front50_only) << code;
  }
  // Nothing deployed (NOT_FOUND): front50's record, no clusters.
  Fake([](FakeClouddriver& f) {
    f.get_application.status =
        grpc::Status(grpc::StatusCode::NOT_FOUND, "no infrastructure");
  });
  EXPECT_EQ(Body("/applications/shop"), front50_only);
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.list_clusters.calls; }), 0);

  // Unknown to front50 while clouddriver is down: front50's 404.
  Front50([](FakeFront50& f) {
    f.get_application.status = grpc::Status(grpc::StatusCode::NOT_FOUND,
                                            "application 'shop' not found");
  });
  Fake([](FakeClouddriver& f) {
    f.get_application.status =
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "clouddriver is down");
  });
  Json error = GetError("/applications/shop", 404);
  EXPECT_EQ(error["message"], "application 'shop' not found");
}

TEST_F(GateInfrastructureTest, ClouddriverOnlyApplicationIsServed) {
  Front50([](FakeFront50& f) {
    f.get_application.status = grpc::Status(grpc::StatusCode::NOT_FOUND,
                                            "application 'ghost' not found");
  });
  Fake([](FakeClouddriver& f) {
    f.get_application.reply = Proto<cd::GetApplicationResponse>(R"pb(
      application {
        name: "ghost"
        attributes { json: '{"name":"ghost","cloudProviders":"local"}' }
        clusters { account: "test" name: "ghost" cloud_provider: "local" }
      }
    )pb");
    f.list_clusters.reply = Proto<cd::ListClustersResponse>(R"pb(
      clusters {
        account: "test"
        name: "ghost"
        cloud_provider: "local"
        server_group_names: "ghost-v000"
      }
    )pb");
  });
  EXPECT_EQ(Body("/applications/Ghost?expand=false"),
            R"({"name":"ghost","attributes":{"name":"ghost",)"
            R"("cloudProviders":"local","accounts":"test"},"clusters":{}})");
  EXPECT_EQ(Body("/applications/ghost"),
            R"({"name":"ghost","attributes":{"name":"ghost",)"
            R"("cloudProviders":"local","accounts":"test"},)"
            R"("clusters":{"test":[{"name":"ghost","provider":"local",)"
            R"("serverGroups":["ghost-v000"],"loadBalancers":[]}]}})");

  // Unknown to both: front50's 404.
  Fake([](FakeClouddriver& f) {
    f.get_application.status =
        grpc::Status(grpc::StatusCode::NOT_FOUND, "no infrastructure");
  });
  Json error = GetError("/applications/ghost", 404);
  EXPECT_EQ(error["message"], "application 'ghost' not found");
}

TEST_F(GateInfrastructureTest, ApplicationFront50ErrorsAreTheAnswer) {
  Front50([](FakeFront50& f) {
    f.get_application.status =
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "front50 is down");
  });
  Fake([](FakeClouddriver& f) {
    f.get_application.reply =
        Proto<cd::GetApplicationResponse>(kShopInfrastructure);
  });
  Json error = GetError("/applications/shop", 503);
  EXPECT_EQ(error["message"], "front50 is down");
  EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.get_application.calls; }),
            1);
  EXPECT_EQ(Front50([](FakeFront50& f) { return f.get_application.calls; }), 1);
  // A malformed expand: see kRouteCases.
}

TEST_F(GateInfrastructureTest, ApplicationListMergesClouddriver) {
  Front50([](FakeFront50& f) {
    f.list_applications.reply = Proto<f50::ListApplicationsResponse>(R"pb(
      applications {
        name: "billing"
        attributes { json: '{"name":"billing","email":"B@example.com"}' }
      }
      applications {
        name: "shop"
        attributes {
          json: '{"name":"shop","email":"dev@example.com",'
                '"cloudProviders":"","accounts":"stale"}'
        }
      }
    )pb");
  });
  Fake([](FakeClouddriver& f) {
    f.list_applications.reply = Proto<cd::ListApplicationsResponse>(R"pb(
      applications {
        name: "ghost"
        attributes { json: '{"name":"ghost","cloudProviders":"local"}' }
        clusters { account: "test" name: "ghost" }
      }
      applications {
        name: "shop"
        json {
          json: '{"name":"shop","attributes":{"name":"shop",'
                '"cloudProviders":"kubernetes"},'
                '"clusters":{"prod":["shop-web"],"staging":["shop"]}}'
        }
      }
    )pb");
  });
  // front50's applications in its order (billing passed through), then the
  // clouddriver-only one.
  EXPECT_EQ(Body("/applications"),
            R"([{"name":"billing","email":"B@example.com"},)"
            R"({"name":"shop","email":"dev@example.com",)"
            R"("cloudProviders":"kubernetes","accounts":"prod,staging"},)"
            R"({"name":"ghost","cloudProviders":"local","accounts":"test"}])");
  EXPECT_TRUE(Fake(
      [](FakeClouddriver& f) { return f.list_applications.last.expand(); }));

  // Gate's filters: by deployed account and by owner, case-insensitively.
  EXPECT_EQ(Get("/applications?account=STAGING"),
            Json::parse(R"([{"name": "shop", "email": "dev@example.com",
                "cloudProviders": "kubernetes",
                "accounts": "prod,staging"}])"));
  Json test = Get("/applications?account=test");
  ASSERT_EQ(test.size(), 1u) << test.dump();
  EXPECT_EQ(test[0]["name"], "ghost");
  Json billing = Get("/applications?owner=b@EXAMPLE.com");
  ASSERT_EQ(billing.size(), 1u) << billing.dump();
  EXPECT_EQ(billing[0]["name"], "billing");
  EXPECT_EQ(Get("/applications?account=prod&owner=b@example.com"),
            Json::array());
}

TEST_F(GateInfrastructureTest, ApplicationListFallsBackToFront50) {
  Front50([](FakeFront50& f) {
    f.list_applications.reply = Proto<f50::ListApplicationsResponse>(R"pb(
      applications {
        name: "shop"
        attributes { json: '{"name":"shop","accounts":"stale"}' }
      }
      applications { name: "empty" }
    )pb");
  });
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::UNIMPLEMENTED,
        grpc::StatusCode::NOT_FOUND}) {
    Fake([code](FakeClouddriver& f) {
      f.list_applications.status = grpc::Status(code, "clouddriver is down");
    });
    EXPECT_EQ(Body("/applications"),
              R"([{"name":"shop","accounts":"stale"},{}])")
        << code;
  }
  // front50 failing is the answer.
  Front50([](FakeFront50& f) {
    f.list_applications.status =
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "front50 is down");
  });
  EXPECT_EQ(GetError("/applications", 503)["message"], "front50 is down");
}

// --- every route: answers that need no more than the route ---

// One request and gate's answer, clouddriver's `fail_rpc` (when set) failing
// with `fail_code` and `fail_message`, its other RPCs answering empty.
struct RouteCase {
  const char* route;
  const char* fail_rpc;
  grpc::StatusCode fail_code;
  const char* fail_message;
  int status;
  // Under 400: the body, as JSON. Else gate's error body, whose message must
  // be this ("" leaves it unchecked).
  const char* json_or_message;
  // The reason phrase of an error ("" leaves it unchecked).
  const char* error;
  // Whether gate answers without calling clouddriver or front50.
  bool no_call;
};

constexpr grpc::StatusCode kOk = grpc::StatusCode::OK;
constexpr grpc::StatusCode kNotFound = grpc::StatusCode::NOT_FOUND;
constexpr grpc::StatusCode kInvalid = grpc::StatusCode::INVALID_ARGUMENT;

const RouteCase kRouteCases[] = {
    // Malformed query parameters: 400 before any call.
    {"/credentials?expand=maybe", nullptr, kOk, "", 400, "", "", true},
    {"/applications/app/serverGroups?clusters=app-web", nullptr, kOk, "", 400,
     "", "", true},
    {"/applications/app/serverGroups?clusters=prod:", nullptr, kOk, "", 400, "",
     "", true},
    {"/applications/app/serverGroups?expand=yes%20please", nullptr, kOk, "",
     400, "", "", true},
    {"/search?q=app&pageSize=abc", nullptr, kOk, "", 400, "", "", true},
    {"/search?q=app&pageSize=0", nullptr, kOk, "", 400, "", "", true},
    {"/search?q=app&page=-1", nullptr, kOk, "", 400, "", "", true},
    {"/search?q=app&allowShortQuery=perhaps", nullptr, kOk, "", 400, "", "",
     true},
    {"/applications/shop?expand=maybe", nullptr, kOk, "", 400, "", "", true},
    {"/applications/app/clusters/prod/app-web/aws/us-east-1/serverGroups/"
     "target/current_asg?onlyEnabled=sure",
     nullptr, kOk, "", 400, "", "", true},
    {"/applications/app/clusters/prod/app-web/aws/us-east-1/serverGroups/"
     "target/current_asg?validateOldest=2",
     nullptr, kOk, "", 400, "", "", true},
    // Searches under 3 characters: [] without asking clouddriver (Gate's
    // rule).
    {"/search?q=ab&type=applications", nullptr, kOk, "", 200, "[]", "", true},
    {"/search?type=applications", nullptr, kOk, "", 200, "[]", "", true},
    // What clouddriver does not know lists as empty.
    {"/applications/ghost/clusters", "ListClusters", kNotFound, "none", 200,
     "{}", "", false},
    {"/applications/app/clusters/prod/nope", "GetCluster", kNotFound, "none",
     200, "{}", "", false},
    {"/applications/ghost/serverGroups", "ListServerGroups", kNotFound,
     "no app", 200, "[]", "", false},
    // Deck loads server group managers; there are none.
    {"/applications/app/serverGroupManagers", nullptr, kOk, "", 200, "[]", "",
     false},
    // gate's own 404.
    {"/applications/app/clusters/prod", nullptr, kOk, "", 404,
     "No clusters found (application: app, account: prod)", "", false},
    // clouddriver's errors with the HTTP status of their code.
    {"/credentials/nope", "GetAccount", kNotFound, "account 'nope' not found",
     404, "account 'nope' not found", "Not Found", false},
    {"/applications/app/serverGroups/prod/us-east-1/app-v001", "GetServerGroup",
     grpc::StatusCode::UNAVAILABLE, "redis is down", 503, "redis is down", "",
     false},
    {"/applications/app/serverGroups/prod/x/app-v001", "GetServerGroup",
     kInvalid, "bad region", 400, "", "", false},
    {"/securityGroups/prod/us-east-1/nope", "GetSecurityGroup", kNotFound,
     "no such group", 404, "", "", false},
    {"/instances/prod/us-east-1/i-3", "GetInstance", kNotFound,
     "instance not found", 404, "instance not found", "", false},
    {"/search?q=app&type=bogus", "Search", kInvalid, "unknown type", 400,
     "unknown type", "Bad Request", false},
    {"/applications/app/clusters/prod/app-web/aws/us-east-1/serverGroups/"
     "target/ancestor_asg_dynamic",
     "GetTargetServerGroup", kNotFound, "Target not found", 404, "", "", false},
};

TEST_F(GateInfrastructureTest, RouteAnswers) {
  for (const RouteCase& c : kRouteCases) {
    SCOPED_TRACE(c.route);
    fake_->Reset();
    front50_->Reset();
    if (c.fail_rpc != nullptr) {
      Fake([&c](FakeClouddriver& f) {
        f.failures[c.fail_rpc] = grpc::Status(c.fail_code, c.fail_message);
      });
    }
    if (c.status < 400) {
      EXPECT_EQ(Get(c.route, c.status), Json::parse(c.json_or_message));
    } else {
      Json error = GetError(c.route, c.status);
      if (*c.json_or_message != '\0') {
        EXPECT_EQ(error["message"], c.json_or_message);
      }
      if (*c.error != '\0') {
        EXPECT_EQ(error["error"], c.error);
      }
    }
    if (c.no_call) {
      EXPECT_EQ(Fake([](FakeClouddriver& f) { return f.calls; }), 0);
      EXPECT_EQ(Front50([](FakeFront50& f) { return f.calls; }), 0);
    }
  }
}

}  // namespace
}  // namespace gennaker::gate
