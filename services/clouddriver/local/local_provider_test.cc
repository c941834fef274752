// LocalProvider with real gennaker-demo instances: a load balancer with a
// security group, deploy v000, deploy v001, disable v000 so the load balancer
// serves only v001, the Spinnaker read shapes, sequence naming, destroy, the
// firewall, and bad descriptions.
#include "services/clouddriver/local/local_provider.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gtest/gtest.h"

namespace gennaker::clouddriver::local {
namespace {

class LocalProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("local-provider");
    provider_ = std::make_unique<LocalProvider>("local", dir_);
  }
  void TearDown() override {
    provider_.reset();
    testing::RemoveTree(dir_);
  }

  Json Deploy(const std::string& version) {
    return {
        {"application", "demo"},
        {"stack", "prod"},
        {"capacity", {{"min", 2}, {"max", 2}, {"desired", 2}}},
        {"command",
         {testing::BinDir() + "/gennaker-demo", "--port", "{{port}}",
          "--version", version}},
        {"healthCheck",
         {{"path", "/health"}, {"intervalMs", 100}, {"healthyThreshold", 1}}},
        {"loadBalancers", {"demo-frontend"}},
        {"securityGroups", {"demo-web"}}};
  }

  bool WaitUp(const std::string& sg, int n) {
    for (int i = 0; i < 500; ++i) {
      auto j = provider_->ServerGroup(sg);
      if (j.ok() && (*j)["instanceCounts"]["up"] == n) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  // The versions answered by `n` requests through the load balancer.
  std::map<std::string, int> Versions(int n, int* failed) {
    std::map<std::string, int> out;
    int port = *provider_->LoadBalancerPort("demo-frontend");
    for (int i = 0; i < n; ++i) {
      http::ClientRequest r;
      r.url = absl::StrCat("http://127.0.0.1:", port, "/");
      auto resp = http::Fetch(r);
      if (!resp.ok() || resp->status != 200) {
        ++*failed;
        continue;
      }
      ++out[Json::parse(resp->body)["version"].get<std::string>()];
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<LocalProvider> provider_;
};

TEST_F(LocalProviderTest, DeployBehindALoadBalancerAndSwitchVersions) {
  ASSERT_TRUE(
      provider_
          ->UpsertSecurityGroup(
              {{"name", "demo-web"},
               {"inboundRules",
                {{{"range", {{"ip", "127.0.0.0"}, {"cidr", "/8"}}},
                  {"portRanges", {{{"startPort", 1}, {"endPort", 65535}}}}}}}})
          .ok());
  ASSERT_TRUE(provider_
                  ->UpsertLoadBalancer({{"name", "demo-frontend"},
                                        {"securityGroups", {"demo-web"}}})
                  .ok());
  auto v0 = provider_->CreateServerGroup(Deploy("v1"));
  ASSERT_TRUE(v0.ok()) << v0.status();
  EXPECT_EQ(*v0, "demo-prod-v000");
  ASSERT_TRUE(WaitUp(*v0, 2));
  int failed = 0;
  EXPECT_EQ(Versions(20, &failed)["v1"], 20);
  auto v1 = provider_->CreateServerGroup(Deploy("v2"));
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(*v1, "demo-prod-v001");
  ASSERT_TRUE(WaitUp(*v1, 2));
  auto both = Versions(40, &failed);
  EXPECT_GT(both["v1"], 0);
  EXPECT_GT(both["v2"], 0);
  ASSERT_TRUE(provider_->SetEnabled(*v0, false).ok());
  EXPECT_EQ(Versions(20, &failed)["v2"], 20);
  EXPECT_EQ(failed, 0);

  // Spinnaker's shapes.
  auto groups = provider_->ServerGroups("demo");
  ASSERT_EQ(groups.size(), 2u);
  Json old = *provider_->ServerGroup(*v0);
  EXPECT_EQ(old["isDisabled"], true);
  EXPECT_EQ(old["moniker"]["sequence"], 0);
  EXPECT_EQ(old["moniker"]["stack"], "prod");
  EXPECT_EQ(old["cluster"], "demo-prod");
  EXPECT_EQ(old["instanceCounts"]["outOfService"], 2);
  EXPECT_EQ(old["instances"][0]["healthState"], "OutOfService");
  EXPECT_EQ(old["capacity"]["desired"], 2);
  auto lbs = provider_->LoadBalancers("demo");
  ASSERT_EQ(lbs.size(), 1u);
  EXPECT_EQ(lbs[0]["serverGroups"].size(), 2u);
  EXPECT_EQ(provider_->SecurityGroups()[0]["inboundRules"][0]["range"]["cidr"],
            "/8");

  // Scale the old one down, destroy it; the next deploy is v002.
  ASSERT_TRUE(provider_->Resize(*v0, 0, 0, 0).ok());
  std::vector<int> pids;
  for (const Json& i : provider_->ServerGroup(*v1).value()["instances"]) {
    pids.push_back(i["pid"]);
  }
  ASSERT_TRUE(provider_->Destroy(*v0).ok());
  EXPECT_TRUE(absl::IsNotFound(provider_->ServerGroup(*v0).status()));
  auto v2 = provider_->CreateServerGroup(Deploy("v3"));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v2, "demo-prod-v002");

  // A load balancer in use cannot be deleted; the firewall can shut it.
  EXPECT_TRUE(absl::IsFailedPrecondition(
      provider_->DeleteLoadBalancer("demo-frontend")));
  ASSERT_TRUE(
      provider_
          ->UpsertSecurityGroup(
              {{"name", "demo-web"},
               {"inboundRules",
                {{{"range", {{"ip", "10.0.0.0"}, {"cidr", "/8"}}},
                  {"portRanges", {{{"startPort", 1}, {"endPort", 65535}}}}}}}})
          .ok());
  http::ClientRequest r;
  r.url = absl::StrCat(
      "http://127.0.0.1:", *provider_->LoadBalancerPort("demo-frontend"), "/");
  auto denied = http::Fetch(r);
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->status, 403);
  // Destroying leaves no instance process behind.
  provider_.reset();
  for (int pid : pids) EXPECT_FALSE(process::IsAlive(pid));
}

TEST_F(LocalProviderTest, BadDescriptionsAreRefused) {
  Json d = Deploy("v1");
  d["loadBalancers"] = {"nope"};
  d["securityGroups"] = Json::array();
  EXPECT_TRUE(
      absl::IsInvalidArgument(provider_->CreateServerGroup(d).status()));
  d = Deploy("v1");
  d["loadBalancers"] = Json::array();
  d["securityGroups"] = Json::array();
  d["capacity"] = {{"min", 3}, {"max", 1}, {"desired", 2}};
  EXPECT_TRUE(
      absl::IsInvalidArgument(provider_->CreateServerGroup(d).status()));
  d["capacity"] = {{"desired", 1}};
  d["command"] = Json::array();
  EXPECT_TRUE(
      absl::IsInvalidArgument(provider_->CreateServerGroup(d).status()));
  d = Deploy("v1");
  d["application"] = "bad-name";
  EXPECT_TRUE(
      absl::IsInvalidArgument(provider_->CreateServerGroup(d).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(provider_->UpsertSecurityGroup(
      {{"name", "x"},
       {"inboundRules", {{{"range", {{"ip", "nope"}, {"cidr", "/8"}}}}}}})));
  EXPECT_TRUE(absl::IsNotFound(provider_->Destroy("demo-prod-v404")));
  EXPECT_TRUE(provider_->ServerGroups("demo").empty());
}

}  // namespace
}  // namespace gennaker::clouddriver::local

namespace gennaker::clouddriver::local {
namespace {

TEST(LocalProviderOpenTest,
     OneClouddriverPerStateDirAndAnUnreadableStateStops) {
  std::string dir = testing::MakeTempDir("local-open");
  {
    auto first = LocalProvider::Open("local", dir);
    ASSERT_TRUE(first.ok()) << first.status();
    auto second = LocalProvider::Open("local", dir);
    EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  }
  // Released with the first provider.
  ASSERT_TRUE(LocalProvider::Open("local", dir).ok());
  {
    std::ofstream(dir + "/state.json") << "{\"serverGroups\": [";  // torn
  }
  auto torn = LocalProvider::Open("local", dir);
  EXPECT_EQ(torn.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(torn.status().message().find("nothing was stopped"),
            std::string::npos);
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace gennaker::clouddriver::local

namespace gennaker::clouddriver::local {
namespace {

// The file's JSON once `pred` holds for it (up to 10 s), else the last read.
Json WaitForTargets(const std::string& path,
                    const std::function<bool(const Json&)>& pred) {
  Json last;
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    last = Json::parse(text, nullptr, false);
    if (!last.is_discarded() && pred(last)) return last;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return last;
}

TEST(LocalProviderPrometheusTest, PublishesInstancesAsFileSdTargets) {
  const std::string dir = testing::MakeTempDir("local-file-sd");
  const std::string path = dir + "/prometheus/local.json";  // dir made too
  auto provider = std::make_unique<LocalProvider>("local-a", dir);
  ASSERT_TRUE(provider->PublishPrometheusTargets(path).ok());
  EXPECT_EQ(WaitForTargets(path, [](const Json& j) { return j.is_array(); }),
            Json::array());

  Json deploy = {
      {"application", "demo"},
      {"stack", "canary"},
      {"capacity", {{"min", 0}, {"max", 3}, {"desired", 2}}},
      {"command", {testing::BinDir() + "/gennaker-demo", "--port", "{{port}}"}},
      {"healthCheck", {{"path", ""}}},
      {"buildInfo", {{"version", "1.2.3"}}}};
  auto sg = provider->CreateServerGroup(deploy);
  ASSERT_TRUE(sg.ok()) << sg.status();
  EXPECT_EQ(*sg, "demo-canary-v000");
  Json targets = WaitForTargets(
      path, [](const Json& j) { return j.is_array() && j.size() == 2; });
  ASSERT_EQ(targets.size(), 2u) << targets.dump();
  EXPECT_EQ(targets, provider->PrometheusTargets());
  auto group = provider->ServerGroup(*sg);
  ASSERT_TRUE(group.ok());
  std::set<std::string> ids, addresses, expected_addresses;
  for (const Json& in : (*group)["instances"]) {
    expected_addresses.insert(
        absl::StrCat("127.0.0.1:", in["port"].get<int>()));
  }
  for (const Json& t : targets) {
    ASSERT_EQ(t["targets"].size(), 1u);
    addresses.insert(t["targets"][0].get<std::string>());
    const Json& labels = t["labels"];
    EXPECT_EQ(labels["account"], "local-a");
    EXPECT_EQ(labels["application"], "demo");
    EXPECT_EQ(labels["cluster"], "demo-canary");
    EXPECT_EQ(labels["server_group"], "demo-canary-v000");
    EXPECT_EQ(labels["location"], kRegion);
    EXPECT_EQ(labels["version"], "1.2.3");
    ids.insert(labels["instance"].get<std::string>());
  }
  EXPECT_EQ(addresses, expected_addresses);
  EXPECT_EQ(
      ids, (std::set<std::string>{"demo-canary-v000-0", "demo-canary-v000-1"}));
  // The scrape target really serves metrics.
  http::ClientRequest r;
  r.url = absl::StrCat("http://", *addresses.begin(), "/metrics");
  for (int i = 0; i < 100; ++i) {
    auto resp = http::Fetch(r);
    if (resp.ok() && resp->status == 200) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  auto metrics = http::Fetch(r);
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("gennaker_requests_total"), std::string::npos);

  // A replaced instance shows up with its new port and id.
  ASSERT_TRUE(provider->TerminateInstance(*sg, "demo-canary-v000-0").ok());
  targets = WaitForTargets(path, [](const Json& j) {
    if (!j.is_array() || j.size() != 2) return false;
    for (const Json& t : j) {
      if (t["labels"]["instance"] == "demo-canary-v000-0") return false;
    }
    return true;
  });
  ASSERT_EQ(targets.size(), 2u) << targets.dump();
  EXPECT_EQ(targets[1]["labels"]["instance"], "demo-canary-v000-2");

  ASSERT_TRUE(provider->Resize(*sg, 0, 3, 1).ok());
  targets = WaitForTargets(
      path, [](const Json& j) { return j.is_array() && j.size() == 1; });
  EXPECT_EQ(targets.size(), 1u) << targets.dump();
  ASSERT_TRUE(provider->Destroy(*sg).ok());
  EXPECT_EQ(WaitForTargets(path, [](const Json& j) { return j.empty(); }),
            Json::array());

  // Nothing is left half-written, and the file is world-readable (Prometheus
  // may run as another user).
  for (const auto& entry :
       std::filesystem::directory_iterator(dir + "/prometheus")) {
    EXPECT_EQ(entry.path().filename(), "local.json") << entry.path();
  }
  EXPECT_EQ(std::filesystem::status(path).permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::others_read);

  ASSERT_TRUE(provider->CreateServerGroup(deploy).ok());
  WaitForTargets(path, [](const Json& j) { return j.size() == 2; });
  provider.reset();  // instances gone: so are the targets
  EXPECT_EQ(WaitForTargets(path, [](const Json& j) { return j.empty(); }),
            Json::array());
  testing::RemoveTree(dir);
}

TEST(LocalProviderPrometheusTest, TempFilesAreUniquePerWrite) {
  // A stale "<path>.tmp" (another writer's, or a directory left behind) does
  // not stop publishing: every write has its own temp file.
  const std::string dir = testing::MakeTempDir("local-file-sd-tmp");
  const std::string path = dir + "/t.json";
  std::filesystem::create_directories(path + ".tmp");
  LocalProvider provider("local", dir);
  absl::Status s = provider.PublishPrometheusTargets(path);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(WaitForTargets(path, [](const Json& j) { return j.is_array(); }),
            Json::array());
  testing::RemoveTree(dir);
}

TEST(LocalProviderPrometheusTest, UnwritablePathIsAnError) {
  const std::string dir = testing::MakeTempDir("local-file-sd-bad");
  { std::ofstream(dir + "/file") << "x"; }
  LocalProvider provider("local", dir);
  absl::Status s = provider.PublishPrometheusTargets(dir + "/file/sub/t.json");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_TRUE(provider.PublishPrometheusTargets("").ok());
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace gennaker::clouddriver::local
