// clouddriver as a real process on a real Redis, with the `local` provider
// running real gennaker-demo instances: operations as tasks (history, results,
// idempotent resubmission), reads through the cache, an instance killed with
// SIGKILL is replaced, and clouddriver killed with SIGKILL in the middle of a
// deploy comes back with its server groups and load balancer restored, no
// process of the previous run left over, and the interrupted deploy either
// done or failed retryably (a resubmission then finishes it, once).
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/redis/redis.h"
#include "common/testing/test_stores.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/clouddriver/store/redis_cache.h"
#include "services/clouddriver/store/redis_lease_store.h"
#include "services/clouddriver/store/redis_task_store.h"

namespace gennaker {
namespace {

using Json = nlohmann::json;
namespace cv1 = clouddriver::v1;

// A clouddriver config on loopback with one local account "test", quick
// cache refreshes (1 s) and owner leases (2 s), plus `extra` YAML lines.
std::string ConfigYaml(int grpc_port, const std::string& redis_url,
                       const std::string& state_dir, const std::string& extra) {
  return absl::StrCat("server: {host: 127.0.0.1, grpcPort: ", grpc_port,
                      ", adminPort: ", *process::FreePort(),
                      ", shutdownGraceSeconds: 2}\n"
                      "logging: {level: info, format: text}\n"
                      "redis: {url: '",
                      redis_url, "'}\nstateDir: '", state_dir, "'\n", extra,
                      "localAccounts: [{name: test, environment: test}]\n"
                      "cacheIntervalSeconds: 1\n"
                      "taskOwnerTtlSeconds: 2\n");
}

// Pids of the processes whose environment carries `tag`.
class ClouddriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = testing::TestRedis::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    dir_ = testing::MakeTempDir("clouddriver-it");
    state_ = std::filesystem::canonical(dir_).string() + "/local/test";
    grpc_port_ = *process::FreePort();
    config_ = dir_ + "/clouddriver.yml";
    std::ofstream(config_) << ConfigYaml(grpc_port_, redis_->Url(), dir_, "");
  }

  void TearDown() override {
    if (pid_ > 0) (void)process::Terminate(pid_, absl::Seconds(5));
    for (pid_t p : process::ProcessesWithEnv(Tag())) killpg(p, SIGKILL);
    testing::RemoveTree(dir_);
  }

  std::string Tag() const {
    return absl::StrCat("GENNAKER_LOCAL_STATE_DIR=", state_);
  }

  void Start() {
    process::SpawnOptions o;
    o.argv = {testing::BinDir() + "/clouddriver", "--config", config_};
    o.log_file = dir_ + "/clouddriver.log";
    o.die_with_parent = true;
    auto pid = process::Spawn(o);
    ASSERT_TRUE(pid.ok()) << pid.status();
    pid_ = *pid;
    std::string address = absl::StrCat("127.0.0.1:", grpc_port_);
    for (int i = 0; i < 200; ++i) {
      auto serving = CheckServing(address, std::chrono::milliseconds(200));
      if (serving.ok() && *serving) {
        stub_ = cv1::ClouddriverService::NewStub(MakeChannel(address));
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "clouddriver did not become SERVING; see " << o.log_file;
  }

  void Kill9() {
    ASSERT_EQ(kill(pid_, SIGKILL), 0);
    while (process::IsAlive(pid_)) absl::SleepFor(absl::Milliseconds(5));
    pid_ = 0;
  }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return c;
  }

  cv1::SubmitOperationsResponse Submit(const std::string& op, const Json& d,
                                       const std::string& key) {
    cv1::SubmitOperationsRequest req;
    req.set_cloud_provider("local");
    req.set_idempotency_key(key);
    req.set_application("demo");
    cv1::Operation* o = req.add_operations();
    o->set_name(op);
    o->set_account("test");
    o->mutable_description()->set_json(d.dump());
    cv1::SubmitOperationsResponse resp;
    grpc::Status s = stub_->SubmitOperations(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  cv1::OperationTask Task(const std::string& id) {
    cv1::GetOperationTaskRequest req;
    req.set_task_id(id);
    cv1::GetOperationTaskResponse resp;
    grpc::Status s = stub_->GetOperationTask(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.task();
  }

  cv1::OperationTask WaitTask(const std::string& id) {
    for (int i = 0; i < 600; ++i) {
      cv1::OperationTask t = Task(id);
      if (t.state() != cv1::TASK_STATE_STARTED) return t;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "task " << id << " did not finish";
    return {};
  }

  absl::StatusOr<Json> ServerGroup(const std::string& name) {
    cv1::GetServerGroupRequest req;
    req.mutable_ref()->set_account("test");
    req.mutable_ref()->set_region("localhost");
    req.mutable_ref()->set_name(name);
    cv1::GetServerGroupResponse resp;
    grpc::Status s = stub_->GetServerGroup(Ctx().get(), req, &resp);
    if (!s.ok()) return absl::NotFoundError(s.error_message());
    return Json::parse(resp.server_group().json().json());
  }

  bool WaitUp(const std::string& name, int n) {
    for (int i = 0; i < 400; ++i) {
      auto g = ServerGroup(name);
      if (g.ok() && (*g)["instanceCounts"]["up"] == n &&
          (*g)["instances"].size() == static_cast<size_t>(n)) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(25));
    }
    return false;
  }

  std::vector<std::string> ServerGroupNames() {
    cv1::ListServerGroupsRequest req;
    req.set_application("demo");
    cv1::ListServerGroupsResponse resp;
    grpc::Status s = stub_->ListServerGroups(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const auto& g : resp.server_groups()) out.push_back(g.name());
    return out;
  }

  int LoadBalancerPort() {
    cv1::ListLoadBalancersRequest req;
    req.set_application("demo");
    cv1::ListLoadBalancersResponse resp;
    grpc::Status s = stub_->ListLoadBalancers(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok() && resp.load_balancers_size() == 1);
    if (resp.load_balancers_size() != 1) return 0;
    return Json::parse(
        resp.load_balancers(0).json().json())["listeners"][0]["port"];
  }

  std::string Version(int port) {
    http::ClientRequest r;
    r.url = absl::StrCat("http://127.0.0.1:", port, "/");
    auto resp = http::Fetch(r);
    if (!resp.ok() || resp->status != 200) return "failed";
    return Json::parse(resp->body)["version"];
  }

  Json Deploy(const std::string& version, int n) {
    return {
        {"application", "demo"},
        {"credentials", "test"},
        {"capacity", {{"min", n}, {"max", n}, {"desired", n}}},
        {"command",
         {testing::BinDir() + "/gennaker-demo", "--port", "{{port}}",
          "--version", version}},
        {"healthCheck",
         {{"path", "/health"}, {"intervalMs", 100}, {"healthyThreshold", 1}}},
        {"loadBalancers", {"demo"}}};
  }

  std::unique_ptr<testing::TestRedis> redis_;
  std::string dir_, state_, config_;
  int grpc_port_ = 0;
  pid_t pid_ = 0;
  std::unique_ptr<cv1::ClouddriverService::Stub> stub_;
};

TEST_F(ClouddriverTest, DeployReadKillAndRestart) {
  Start();
  // A load balancer, then v1 behind it, both as tasks.
  cv1::OperationTask lb =
      WaitTask(Submit("upsertLoadBalancer",
                      {{"name", "demo"}, {"credentials", "test"}}, "lb-1")
                   .task_id());
  ASSERT_EQ(lb.state(), cv1::TASK_STATE_COMPLETED);
  cv1::SubmitOperationsResponse first =
      Submit("createServerGroup", Deploy("v1", 3), "deploy-1");
  cv1::OperationTask t = WaitTask(first.task_id());
  ASSERT_EQ(t.state(), cv1::TASK_STATE_COMPLETED);
  Json results = Json::parse(t.result_objects().json());
  EXPECT_EQ(results[0]["serverGroupNames"][0], "localhost:demo-v000");
  Json view = Json::parse(t.json().json());
  EXPECT_EQ(view["status"]["completed"], true);
  EXPECT_EQ(view["history"][1]["status"], "Processing op: createServerGroup");
  ASSERT_TRUE(WaitUp("demo-v000", 3));
  const int port = LoadBalancerPort();
  ASSERT_GT(port, 0);
  EXPECT_EQ(Version(port), "v1");

  // The same request again: the same task, no second server group.
  cv1::SubmitOperationsResponse again =
      Submit("createServerGroup", Deploy("v1", 3), "deploy-1");
  EXPECT_EQ(again.task_id(), first.task_id());
  EXPECT_TRUE(again.deduplicated());
  EXPECT_EQ(ServerGroupNames(), std::vector<std::string>{"demo-v000"});

  // kill -9 one instance: it is replaced, back to 3 Up.
  Json g = *ServerGroup("demo-v000");
  pid_t victim = g["instances"][0]["pid"];
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  bool replaced = false;
  for (int i = 0; i < 200 && !replaced; ++i) {
    absl::SleepFor(absl::Milliseconds(25));
    auto now = ServerGroup("demo-v000");
    if (!now.ok() || (*now)["instanceCounts"]["up"] != 3) continue;
    replaced = true;
    for (const Json& in : (*now)["instances"]) {
      if (in["pid"] == victim) replaced = false;
    }
  }
  EXPECT_TRUE(replaced) << "the killed instance was not replaced";

  // kill -9 clouddriver right after it accepted a deploy of v2.
  const std::set<pid_t> before = process::ProcessesWithEnv(Tag());
  EXPECT_EQ(before.size(), 3u);
  cv1::SubmitOperationsResponse second =
      Submit("createServerGroup", Deploy("v2", 2), "deploy-2");
  Kill9();
  Start();
  // Nothing of the previous run survives: every tagged process is new.
  const std::set<pid_t> after = process::ProcessesWithEnv(Tag());
  for (pid_t p : after) EXPECT_EQ(before.count(p), 0u) << "orphan " << p;
  ASSERT_TRUE(WaitUp("demo-v000", 3));
  EXPECT_EQ(LoadBalancerPort(), port);  // the listener came back on its port
  std::string served = Version(port);
  EXPECT_TRUE(served == "v1" || served == "v2") << served;
  // The interrupted task finished before the kill, or is found orphaned.
  cv1::OperationTask interrupted = WaitTask(second.task_id());
  EXPECT_TRUE(interrupted.state() == cv1::TASK_STATE_COMPLETED ||
              interrupted.state() == cv1::TASK_STATE_FAILED_RETRYABLE)
      << interrupted.DebugString();
  // Resubmitting finishes it, with exactly one v2 server group.
  cv1::SubmitOperationsResponse retry =
      Submit("createServerGroup", Deploy("v2", 2), "deploy-2");
  EXPECT_EQ(retry.task_id(), second.task_id());
  EXPECT_EQ(WaitTask(second.task_id()).state(), cv1::TASK_STATE_COMPLETED);
  EXPECT_EQ(ServerGroupNames(),
            (std::vector<std::string>{"demo-v000", "demo-v001"}));
  EXPECT_TRUE(WaitUp("demo-v001", 2));
  // Every running instance belongs to a server group clouddriver reports.
  // (The cache may lag a moment behind the processes.)
  std::set<pid_t> known, running;
  for (int i = 0; i < 40; ++i) {
    known.clear();
    for (const char* name : {"demo-v000", "demo-v001"}) {
      absl::StatusOr<Json> g = ServerGroup(name);
      ASSERT_TRUE(g.ok()) << g.status();
      for (const Json& in : (*g)["instances"]) {
        known.insert(in["pid"].get<pid_t>());
      }
    }
    running = process::ProcessesWithEnv(Tag());
    if (running == known) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(running, known);

  // Destroy both through tasks; nothing keeps running.
  for (const char* name : {"demo-v000", "demo-v001"}) {
    EXPECT_EQ(
        WaitTask(Submit("destroyServerGroup", {{"serverGroupName", name}}, "")
                     .task_id())
            .state(),
        cv1::TASK_STATE_COMPLETED);
  }
  EXPECT_TRUE(ServerGroupNames().empty());
  EXPECT_TRUE(process::ProcessesWithEnv(Tag()).empty());
}

TEST_F(ClouddriverTest, BadOperationsAreRefusedOrFailClearly) {
  Start();
  cv1::SubmitOperationsRequest req;
  cv1::Operation* o = req.add_operations();
  o->set_name("createServerGroup");
  o->set_account("nope");
  cv1::SubmitOperationsResponse resp;
  grpc::Status s = stub_->SubmitOperations(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("unknown account 'nope'"),
            std::string::npos);
  o->set_account("test");
  o->mutable_description()->set_json("[1]");
  s = stub_->SubmitOperations(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Accepted, but the description is wrong: the task fails, not retryable.
  Json bad = Deploy("v1", 1);
  bad["capacity"] = {{"min", 3}, {"max", 1}, {"desired", 2}};
  cv1::OperationTask t =
      WaitTask(Submit("createServerGroup", bad, "").task_id());
  EXPECT_EQ(t.state(), cv1::TASK_STATE_FAILED);
  Json results = Json::parse(t.result_objects().json());
  EXPECT_EQ(results[0]["type"], "EXCEPTION");
  EXPECT_NE(results[0]["message"].get<std::string>().find("capacity"),
            std::string::npos);
  EXPECT_TRUE(ServerGroupNames().empty());
  cv1::GetOperationTaskRequest missing;
  missing.set_task_id("nope");
  cv1::GetOperationTaskResponse mresp;
  EXPECT_EQ(stub_->GetOperationTask(Ctx().get(), missing, &mresp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// Two clouddriver replicas on one Redis, each with its own state dir (its own
// `local` cloud) for the same account: the account is served by one of them,
// the holder of its lease. An operation sent to the other is forwarded to the
// holder, and the cache (written by the holder only) lists what it made
// through either replica, steadily. When the holder is killed, the other
// takes the account over once the lease lapses: the cache then shows its
// own cloud, and operations run there.
class ClouddriverReplicasTest : public ::testing::Test {
 protected:
  struct Replica {
    std::string dir, config, log, address;
    pid_t pid = 0;
    std::unique_ptr<cv1::ClouddriverService::Stub> stub;
  };

  void SetUp() override {
    auto redis = testing::TestRedis::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    for (Replica* r : {&a_, &b_}) {
      r->dir = testing::MakeTempDir("clouddriver-replica");
      const int port = *process::FreePort();
      r->address = absl::StrCat("127.0.0.1:", port);
      r->config = r->dir + "/clouddriver.yml";
      r->log = r->dir + "/clouddriver.log";
      std::ofstream(r->config)
          << ConfigYaml(port, redis_->Url(), r->dir,
                        absl::StrCat("advertiseAddress: '", r->address, "'\n"));
    }
  }

  void TearDown() override {
    for (Replica* r : {&a_, &b_}) {
      if (r->pid > 0) (void)process::Terminate(r->pid, absl::Seconds(5));
      testing::RemoveTree(r->dir);
    }
  }

  void Start(Replica& r) {
    process::SpawnOptions o;
    o.argv = {testing::BinDir() + "/clouddriver", "--config", r.config};
    o.log_file = r.log;
    o.die_with_parent = true;
    auto pid = process::Spawn(o);
    ASSERT_TRUE(pid.ok()) << pid.status();
    r.pid = *pid;
    for (int i = 0; i < 200; ++i) {
      auto serving = CheckServing(r.address, std::chrono::milliseconds(200));
      if (serving.ok() && *serving) {
        r.stub = cv1::ClouddriverService::NewStub(MakeChannel(r.address));
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "clouddriver did not become SERVING; see " << r.log;
  }

  static std::string Log(const Replica& r) {
    std::ifstream in(r.log);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return c;
  }

  // Submits upsertSecurityGroup `name` through `r`; the task's id.
  static grpc::Status UpsertGroup(Replica& r, const std::string& name,
                                  std::string* task_id) {
    cv1::SubmitOperationsRequest req;
    req.set_cloud_provider("local");
    req.set_idempotency_key(absl::StrCat("upsert-", name));
    req.set_application("demo");
    cv1::Operation* o = req.add_operations();
    o->set_name("upsertSecurityGroup");
    o->mutable_description()->set_json(
        Json{{"credentials", "test"},
             {"cloudProvider", "local"},
             {"name", name},
             {"inboundRules",
              {{{"range", {{"ip", "10.0.0.0"}, {"cidr", "/8"}}},
                {"portRanges", {{{"startPort", 80}, {"endPort", 80}}}}}}}}
            .dump());
    cv1::SubmitOperationsResponse resp;
    grpc::Status s = r.stub->SubmitOperations(Ctx().get(), req, &resp);
    *task_id = resp.task_id();
    return s;
  }

  static cv1::TaskState WaitTask(Replica& r, const std::string& id) {
    for (int i = 0; i < 500; ++i) {
      cv1::GetOperationTaskRequest req;
      req.set_task_id(id);
      cv1::GetOperationTaskResponse resp;
      grpc::Status s = r.stub->GetOperationTask(Ctx().get(), req, &resp);
      if (s.ok() && resp.task().state() != cv1::TASK_STATE_STARTED) {
        return resp.task().state();
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return cv1::TASK_STATE_STARTED;
  }

  static std::set<std::string> Groups(Replica& r) {
    cv1::ListSecurityGroupsRequest req;
    req.set_account("test");
    cv1::ListSecurityGroupsResponse resp;
    grpc::Status s = r.stub->ListSecurityGroups(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::set<std::string> out;
    for (const auto& g : resp.security_groups()) out.insert(g.name());
    return out;
  }

  std::unique_ptr<testing::TestRedis> redis_;
  Replica a_, b_;
};

TEST_F(ClouddriverReplicasTest, TheHolderServesTheAccountAndTheOtherForwards) {
  Start(a_);
  Start(b_);
  EXPECT_NE(Log(a_).find("event=account_served account=test"),
            std::string::npos)
      << Log(a_);
  EXPECT_NE(Log(b_).find("event=account_served_elsewhere account=test"),
            std::string::npos)
      << Log(b_);

  // Through B, run by A.
  std::string task;
  grpc::Status s = UpsertGroup(b_, "demo-web", &task);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(WaitTask(b_, task), cv1::TASK_STATE_COMPLETED);
  EXPECT_NE(Log(b_).find(absl::StrCat("event=call_forwarded accounts=test to=",
                                      a_.address)),
            std::string::npos)
      << Log(b_);
  EXPECT_NE(Log(a_).find(absl::StrCat("event=task_submitted task=", task)),
            std::string::npos)
      << Log(a_);
  // Listed through either replica, and it stays listed through several full
  // refreshes of both (B's own cloud has no such group: before, B's
  // refreshes removed it from the shared cache every second).
  const absl::Time until = absl::Now() + absl::Milliseconds(3500);
  int reads = 0;
  while (absl::Now() < until) {
    ASSERT_EQ(Groups(b_), std::set<std::string>{"demo-web"})
        << "read " << reads;
    ASSERT_EQ(Groups(a_), std::set<std::string>{"demo-web"})
        << "read " << reads;
    ++reads;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_GT(reads, 20);

  // A dies without releasing: B takes the account over once the lease
  // lapses (2 s), then caches its own cloud and runs operations itself.
  ASSERT_EQ(kill(a_.pid, SIGKILL), 0);
  while (process::IsAlive(a_.pid)) absl::SleepFor(absl::Milliseconds(5));
  a_.pid = 0;
  const absl::Time killed = absl::Now();
  bool taken = false;
  while (!taken && absl::Now() < killed + absl::Seconds(10)) {
    taken =
        Log(b_).find("event=account_served account=test") != std::string::npos;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(taken) << Log(b_);
  std::printf("B took the account over %.1f s after A was killed\n",
              absl::ToDoubleSeconds(absl::Now() - killed));
  bool emptied = false;
  for (int i = 0; i < 100 && !emptied; ++i) {
    emptied = Groups(b_).empty();  // A's group lived in A's cloud
    if (!emptied) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(emptied);
  s = UpsertGroup(b_, "demo-api", &task);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(WaitTask(b_, task), cv1::TASK_STATE_COMPLETED);
  EXPECT_NE(Log(b_).find(absl::StrCat("event=task_submitted task=", task)),
            std::string::npos);
  EXPECT_EQ(Groups(b_), std::set<std::string>{"demo-api"});
}

// The Redis stores directly: an application named "apps" (the name of the
// cache's own index set), atomic de-duplicated task creation, and the
// compare-and-set that keeps two replicas from running or marking one task.
TEST(RedisStoresTest, CacheAndTaskStoreOnRealRedis) {
  auto server = testing::TestRedis::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto options = redis::ParseUrl((*server)->Url());
  ASSERT_TRUE(options.ok());
  auto client = redis::Client::Connect(*options);
  ASSERT_TRUE(client.ok()) << client.status();
  clouddriver::RedisCache cache(client->get());
  Json snapshot = {{"serverGroups",
                    {{{"name", "apps-v000"}, {"account", "a"}},
                     {{"name", "demo-v000"}, {"account", "a"}}}}};
  ASSERT_TRUE(cache.Replace("a", snapshot).ok());
  ASSERT_TRUE(cache.Replace("a", snapshot).ok());  // unchanged: skipped
  auto apps = cache.Applications("a", clouddriver::kServerGroups);
  ASSERT_TRUE(apps.ok()) << apps.status();
  EXPECT_EQ(*apps, (std::set<std::string>{"apps", "demo"}));
  auto listed = cache.List("a", clouddriver::kServerGroups, "");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), 2u);
  auto again = cache.List("a", clouddriver::kServerGroups, "apps");  // memo
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 1u);
  ASSERT_TRUE(cache
                  .Replace("a", {{"serverGroups",
                                  {{{"name", "apps-v001"}, {"account", "a"}}}}})
                  .ok());
  again = cache.List("a", clouddriver::kServerGroups, "apps");
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0]["name"], "apps-v001");  // the memo saw the change
  EXPECT_FALSE(
      cache.Get("a", clouddriver::kServerGroups, "demo-v000")->has_value());

  clouddriver::RedisTaskStore tasks(client->get());
  Json t1 = {{"id", "T1"}, {"ownerId", "r1"}, {"state", "STARTED"}};
  Json t2 = {{"id", "T2"}, {"ownerId", "r2"}, {"state", "STARTED"}};
  EXPECT_EQ(*tasks.Create(t1, "key"), "T1");
  EXPECT_EQ(*tasks.Create(t2, "key"), "T1");  // same key: the first task
  EXPECT_FALSE(tasks.Get("T2")->has_value());
  // The key's task, looked up before a retried submission is validated.
  EXPECT_EQ(*tasks.TaskIdForKey("key"), std::optional<std::string>("T1"));
  EXPECT_FALSE(tasks.TaskIdForKey("other")->has_value());
  EXPECT_FALSE(tasks.TaskIdForKey("")->has_value());
  EXPECT_EQ(*tasks.Running(), std::vector<std::string>{"T1"});
  // A sweep expecting owner r9 does not touch r1's task.
  Json orphaned = t1;
  orphaned["state"] = "FAILED_RETRYABLE";
  EXPECT_FALSE(*tasks.Save(orphaned, false, "r9", "STARTED"));
  EXPECT_TRUE(*tasks.Save(orphaned, false, "r1", "STARTED"));
  EXPECT_TRUE(tasks.Running()->empty());
  // The owner's late save no longer matches STARTED: it is refused.
  Json late = t1;
  late["state"] = "COMPLETED";
  EXPECT_FALSE(*tasks.Save(late, false, "r1", "STARTED"));
  EXPECT_EQ((**tasks.Get("T1"))["state"], "FAILED_RETRYABLE");
  // Two resumes: only one wins FAILED_RETRYABLE -> STARTED.
  Json resumed = orphaned;
  resumed["state"] = "STARTED";
  EXPECT_TRUE(*tasks.Save(resumed, true, "", "FAILED_RETRYABLE"));
  EXPECT_FALSE(*tasks.Save(resumed, true, "", "FAILED_RETRYABLE"));
}

// Account leases on Redis: one holder at a time, renewal (with a new
// address), and lapse after the ttl.
TEST(RedisStoresTest, AccountLeasesOnRealRedis) {
  auto server = testing::TestRedis::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = redis::Client::Connect(*redis::ParseUrl((*server)->Url()));
  ASSERT_TRUE(client.ok()) << client.status();
  clouddriver::RedisLeaseStore leases(client->get());
  auto holder = leases.Claim("prod", {"A", "a:1"}, 60000);
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ(holder->id, "A");
  holder = leases.Claim("prod", {"B", "b:1"}, 60000);
  EXPECT_EQ(holder->id, "A");
  EXPECT_EQ(holder->address, "a:1");
  EXPECT_EQ(leases.Claim("prod", {"A", "a:2"}, 60000)->address, "a:2");
  EXPECT_EQ(leases.Claim("prod", {"B", "b:1"}, 60000)->address, "a:2");
  // A lease lapses after its ttl.
  EXPECT_EQ(leases.Claim("test", {"C", "c:1"}, 100)->id, "C");
  EXPECT_EQ(leases.Claim("test", {"D", "d:1"}, 100)->id, "C");
  absl::SleepFor(absl::Milliseconds(250));
  EXPECT_EQ(leases.Claim("test", {"D", "d:1"}, 100)->id, "D");
  EXPECT_EQ(leases.Claim("test", {"bad id", "x:1"}, 100).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gennaker
