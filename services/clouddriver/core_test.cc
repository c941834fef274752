// Unit tests of clouddriver's provider-independent core: operation tasks
// (history, results, idempotency, resume, orphans, fiat's account check with
// a map of permission sets), the cache and the read model, with a scripted
// in-memory provider; and the config's fiat requirement.
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/fiat/authorizer.h"
#include "common/log/call_context.h"
#include "common/testing/status_matchers.h"
#include "services/clouddriver/caching_agent.h"
#include "services/clouddriver/clouddriver_grpc.h"
#include "services/clouddriver/clouddriver_server.h"
#include "services/clouddriver/images.h"
#include "services/clouddriver/operations.h"
#include "services/clouddriver/reads.h"
#include "services/clouddriver/store/in_memory_cache.h"
#include "services/clouddriver/store/in_memory_task_store.h"

namespace gennaker::clouddriver {
namespace {

using spinnaker::Target;

// A provider whose operations are scripted by the test.
class ScriptedProvider : public Provider {
 public:
  explicit ScriptedProvider(std::string account) : account_(account) {}
  const std::string& account() const override { return account_; }
  std::string cloud_provider() const override { return "local"; }
  std::vector<std::string> regions() const override { return {"localhost"}; }
  bool Supports(const std::string& op) const override {
    return op != "deployManifest";
  }
  absl::StatusOr<Json> Operate(
      const std::string& op, const Json& d, const std::string& request_id,
      const std::function<void(const std::string&)>& progress) override {
    absl::MutexLock l(&mu_);
    calls.push_back(op + ":" + request_id);
    if (failures_left > 0) {
      --failures_left;
      return failure;
    }
    progress("working on " + op);
    if (op == "createServerGroup") {
      auto it = by_request.find(request_id);
      std::string name = it != by_request.end()
                             ? it->second
                             : d.value("application", "") + "-v00" +
                                   std::to_string(by_request.size());
      by_request[request_id] = name;
      groups.push_back({{"name", name},
                        {"account", account_},
                        {"region", "localhost"},
                        {"cloudProvider", "local"},
                        {"createdTime", static_cast<int64_t>(groups.size())},
                        {"instances", Json::array()}});
      return Json{{"serverGroupNames", {"localhost:" + name}}};
    }
    return Json::object();
  }
  Json Snapshot() override {
    absl::MutexLock l(&mu_);
    return {{"serverGroups", groups}};
  }
  void SetChangeListener(std::function<void()>) override {}
  std::vector<ProviderImage> Images() override { return images; }
  // Refuses a description naming image "missing".
  absl::Status Validate(const std::string& op, const Json& d) override {
    if (d.is_object() && d.value("imageId", "") == "missing") {
      return absl::InvalidArgumentError(op + " of an unknown image");
    }
    return absl::OkStatus();
  }

  absl::Mutex mu_;
  std::vector<std::string> calls;
  int failures_left = 0;
  absl::Status failure = absl::UnavailableError("cloud hiccup");
  std::map<std::string, std::string> by_request;
  Json groups = Json::array();
  std::vector<ProviderImage> images;

 private:
  std::string account_;
};

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(nullptr); }
  void Build(std::shared_ptr<fiat::Authorizer> authorizer) {
    agent_ = std::make_unique<CachingAgent>(
        &cache_, std::vector<Provider*>{&provider_}, 60000);
    Operations::Options o;
    o.threads = 2;
    o.owner = "me";
    o.owner_ttl_ms = 60000;
    o.authorizer = std::move(authorizer);
    ops_ = std::make_unique<Operations>(
        &store_, std::vector<Provider*>{&provider_}, agent_.get(), o);
    ops_->Start();
  }
  Json WaitDone(const std::string& id) {
    for (int i = 0; i < 2000; ++i) {
      absl::StatusOr<Json> t = ops_->Get(id);
      if (t.ok() && Operations::State(*t) != "STARTED") return *t;
      absl::SleepFor(absl::Milliseconds(5));
    }
    ADD_FAILURE() << "task " << id << " did not finish";
    return Json::object();
  }
  SubmittedOperation Create(const std::string& app) {
    return {"createServerGroup",
            "",
            {{"credentials", "test"}, {"application", app}}};
  }

  ScriptedProvider provider_{"test"};
  InMemoryCache cache_;
  InMemoryTaskStore store_;
  std::unique_ptr<CachingAgent> agent_;
  std::unique_ptr<Operations> ops_;
};

TEST_F(OperationsTest, RunsOperationsInOrderWithHistoryAndResults) {
  absl::StatusOr<Submission> s = ops_->Submit(
      {Create("demo"),
       {"resizeServerGroup", "test", {{"serverGroupName", "demo-v000"}}}},
      "", "demo", "");
  ASSERT_TRUE(s.ok()) << s.status();
  Json task = WaitDone(s->task_id);
  Json view = Operations::Render(task);
  EXPECT_EQ(view["status"]["completed"], true);
  EXPECT_EQ(view["status"]["failed"], false);
  EXPECT_EQ(view["status"]["status"], "Orchestration completed.");
  ASSERT_EQ(view["resultObjects"].size(), 1u);
  EXPECT_EQ(view["resultObjects"][0]["serverGroupNames"][0],
            "localhost:demo-v000");
  std::vector<std::string> lines;
  for (const Json& h : view["history"]) lines.push_back(h["status"]);
  EXPECT_EQ(lines[1], "Processing op: createServerGroup");
  EXPECT_EQ(lines[2], "working on createServerGroup");
  EXPECT_EQ(view["history"][2]["phase"], "CREATE_SERVER_GROUP");
  // The cache was refreshed before the task completed.
  absl::StatusOr<std::optional<Json>> cached =
      cache_.Get("test", kServerGroups, "demo-v000");
  ASSERT_TRUE(cached.ok());
  EXPECT_TRUE(cached->has_value());
}

TEST_F(OperationsTest, SameKeyReturnsSameTaskAndOneServerGroup) {
  absl::StatusOr<Submission> a =
      ops_->Submit({Create("demo")}, "k1", "demo", "");
  ASSERT_TRUE(a.ok());
  WaitDone(a->task_id);
  absl::StatusOr<Submission> b =
      ops_->Submit({Create("demo")}, "k1", "demo", "");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->task_id, b->task_id);
  EXPECT_TRUE(b->deduplicated);
  absl::MutexLock l(&provider_.mu_);
  EXPECT_EQ(provider_.groups.size(), 1u);
}

TEST_F(OperationsTest, ARetriedSubmissionGetsItsTaskEvenIfValidationNowFails) {
  SubmittedOperation op = Create("demo");
  op.description["imageId"] = "img-1";
  absl::StatusOr<Submission> a = ops_->Submit({op}, "k-img", "demo", "");
  ASSERT_TRUE(a.ok()) << a.status();
  WaitDone(a->task_id);
  // The image is gone since: the retry of the same request still gets the
  // task it created, not a refusal.
  op.description["imageId"] = "missing";
  absl::StatusOr<Submission> b = ops_->Submit({op}, "k-img", "demo", "");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->task_id, a->task_id);
  EXPECT_TRUE(b->deduplicated);
  // A new submission is still validated.
  EXPECT_EQ(ops_->Submit({op}, "k-new", "demo", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::optional<std::string>> known =
      store_.TaskIdForKey("k-new");
  ASSERT_TRUE(known.ok());
  EXPECT_FALSE(known->has_value());
}

TEST_F(OperationsTest, RetryableFailureResumesFromTheFailedOperation) {
  {
    absl::MutexLock l(&provider_.mu_);
    provider_.failures_left = 1;
  }
  // The first call fails with a retryable error.
  absl::StatusOr<Submission> a =
      ops_->Submit({Create("demo")}, "k2", "demo", "");
  ASSERT_TRUE(a.ok());
  Json failed = WaitDone(a->task_id);
  EXPECT_EQ(Operations::State(failed), "FAILED_RETRYABLE");
  Json view = Operations::Render(failed);
  EXPECT_EQ(view["status"]["retryable"], true);
  EXPECT_EQ(view["resultObjects"][0]["type"], "EXCEPTION");
  EXPECT_EQ(view["resultObjects"][0]["message"], "cloud hiccup");
  // A resubmission with the same key runs it again, as the same task.
  absl::StatusOr<Submission> b =
      ops_->Submit({Create("demo")}, "k2", "demo", "");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->task_id, a->task_id);
  Json done = WaitDone(a->task_id);
  EXPECT_EQ(Operations::State(done), "COMPLETED");
  absl::MutexLock l(&provider_.mu_);
  EXPECT_EQ(provider_.groups.size(), 1u);
  ASSERT_EQ(provider_.calls.size(), 2u);
  EXPECT_EQ(provider_.calls[0], provider_.calls[1]);  // same request id
}

TEST_F(OperationsTest, NonRetryableFailureCannotResume) {
  {
    absl::MutexLock l(&provider_.mu_);
    provider_.failures_left = 1;
    provider_.failure = absl::InvalidArgumentError("capacity is wrong");
  }
  absl::StatusOr<Submission> a = ops_->Submit({Create("demo")}, "", "demo", "");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Operations::State(WaitDone(a->task_id)), "FAILED");
  absl::StatusOr<Json> r = ops_->Resume(a->task_id, "");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(OperationsTest, RefusedSubmissionsStoreNothing) {
  EXPECT_EQ(ops_->Submit({}, "", "demo", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ops_->Submit({{"createServerGroup", "nope", Json::object()}}, "x",
                         "demo", "")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ops_->Submit({{"deployManifest", "test", Json::object()}}, "x",
                         "demo", "")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ops_->Submit({{"createServerGroup", "test", Json::array()}}, "x",
                         "demo", "")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // The provider's validation refuses the whole submission, named.
  SubmittedOperation bad_image = Create("demo");
  bad_image.description["imageId"] = "missing";
  absl::StatusOr<Submission> refused =
      ops_->Submit({Create("demo"), bad_image}, "x", "demo", "");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "createServerGroup: createServerGroup of an unknown image");
  {
    absl::MutexLock l(&provider_.mu_);
    EXPECT_TRUE(provider_.calls.empty());
  }
  absl::StatusOr<std::vector<std::string>> running = store_.Running();
  ASSERT_TRUE(running.ok());
  EXPECT_TRUE(running->empty());
  // The key "x" was not consumed by the refusals.
  absl::StatusOr<Submission> ok =
      ops_->Submit({Create("demo")}, "x", "demo", "");
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(ok->deduplicated);
  EXPECT_EQ(ops_->Get("no-such-task").status().code(),
            absl::StatusCode::kNotFound);
}

namespace fv1 = ::gennaker::fiat::v1;
using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;

// fiat's permission sets by user (a map); can be made unavailable.
struct FiatState {
  std::map<std::string, fv1::UserPermission> users;
  absl::Status error = absl::OkStatus();
};

class MapSource : public fiat::PermissionSource {
 public:
  explicit MapSource(FiatState* state) : state_(state) {}
  absl::StatusOr<fv1::UserPermission> Get(const std::string& user) override {
    if (!state_->error.ok()) return state_->error;
    auto it = state_->users.find(user);
    if (it == state_->users.end()) {
      return absl::NotFoundError("unknown user " + user);
    }
    return it->second;
  }

 private:
  FiatState* state_;
};

// Operations checked against fiat: svc may write "test"; bob may only read
// it; anyone else (anonymous) may do nothing.
class AuthorizedOperationsTest : public OperationsTest {
 protected:
  void SetUp() override {
    fv1::UserPermission svc;
    svc.set_name("svc");
    fv1::ResourceView* w = svc.add_accounts();
    w->set_name("test");
    w->add_authorizations(fv1::AUTHORIZATION_WRITE);
    fiat_.users["svc"] = svc;
    fv1::UserPermission bob;
    bob.set_name("bob");
    fv1::ResourceView* r = bob.add_accounts();
    r->set_name("test");
    r->add_authorizations(fv1::AUTHORIZATION_READ);
    fiat_.users["bob"] = bob;
    fiat_.users["anonymous"].set_name("anonymous");
    common::v1::AuthorizationConfig config;
    config.set_enabled(true);
    Build(std::make_shared<fiat::Authorizer>(
        std::make_unique<MapSource>(&fiat_), config));
  }
  void ExpectNothingStarted() {
    absl::StatusOr<std::vector<std::string>> running = store_.Running();
    ASSERT_TRUE(running.ok());
    EXPECT_TRUE(running->empty());
    absl::MutexLock l(&provider_.mu_);
    EXPECT_TRUE(provider_.calls.empty());
  }

  FiatState fiat_;
};

TEST_F(AuthorizedOperationsTest, AnOperationNeedsWriteOnItsAccount) {
  EXPECT_THAT(ops_->Submit({Create("demo")}, "k", "demo", "bob"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "Access denied to account 'test': user 'bob' lacks "
                       "WRITE"));
  EXPECT_THAT(ops_->Submit({Create("demo")}, "k", "demo", ""),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "Access denied to account 'test': user 'anonymous' "
                       "lacks WRITE"));
  ExpectNothingStarted();
  // The refusals did not consume the key; svc may write "test".
  absl::StatusOr<Submission> ok =
      ops_->Submit({Create("demo")}, "k", "demo", "svc");
  ASSERT_THAT(ok, IsOk());
  EXPECT_FALSE(ok->deduplicated);
  EXPECT_EQ(Operations::State(WaitDone(ok->task_id)), "COMPLETED");
}

TEST_F(AuthorizedOperationsTest, EveryAccountNamedIsChecked) {
  // The operation runs on "test", but its description names "prod" too.
  EXPECT_THAT(
      ops_->Submit({Create("demo"),
                    {"resizeServerGroup", "test", {{"credentials", "prod"}}}},
                   "k", "demo", "svc"),
      StatusIs(absl::StatusCode::kPermissionDenied,
               "Access denied to account 'prod': user 'svc' lacks WRITE"));
  ExpectNothingStarted();
}

TEST_F(AuthorizedOperationsTest, FiatDownRefusesAsUnavailable) {
  fiat_.error = absl::UnavailableError("connection refused");
  EXPECT_THAT(ops_->Submit({Create("demo")}, "k", "demo", "svc"),
              StatusIs(absl::StatusCode::kUnavailable));
  ExpectNothingStarted();
}

// Resuming a task (directly, or by resubmitting under its key) is running
// its operations again: the caller needs WRITE on the task's accounts.
TEST_F(AuthorizedOperationsTest, ResumeNeedsWriteOnTheTasksAccounts) {
  {
    absl::MutexLock l(&provider_.mu_);
    provider_.failures_left = 1;
  }
  absl::StatusOr<Submission> a =
      ops_->Submit({Create("demo")}, "k3", "demo", "svc");
  ASSERT_THAT(a, IsOk());
  ASSERT_EQ(Operations::State(WaitDone(a->task_id)), "FAILED_RETRYABLE");
  EXPECT_THAT(ops_->Resume(a->task_id, "bob"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "Access denied to account 'test': user 'bob' lacks "
                       "WRITE"));
  EXPECT_THAT(ops_->Resume(a->task_id, ""),
              StatusIs(absl::StatusCode::kPermissionDenied));
  absl::StatusOr<Json> still = ops_->Get(a->task_id);
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(Operations::State(*still), "FAILED_RETRYABLE");
  {
    absl::MutexLock l(&provider_.mu_);
    EXPECT_EQ(provider_.calls.size(), 1u);
  }
  ASSERT_THAT(ops_->Resume(a->task_id, "svc"), IsOk());
  EXPECT_EQ(Operations::State(WaitDone(a->task_id)), "COMPLETED");
}

TEST(ClouddriverConfigTest, AuthorizationNeedsFiatAndFailsFastWithout) {
  v1::ClouddriverConfig config;
  ApplyClouddriverDefaults(&config);
  EXPECT_TRUE(ValidateConfig(config).ok());
  config.mutable_authorization()->set_enabled(true);
  absl::Status s = ValidateConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("fiat.address"), std::string::npos);
  // Before redis is reached.
  EXPECT_EQ(BuildClouddriver(config, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.mutable_fiat()->set_address("127.0.0.1:7003");
  EXPECT_TRUE(ValidateConfig(config).ok());
}

TEST(ClouddriverConfigTest, AdvertiseAddressIsHostAndPort) {
  v1::ClouddriverConfig config;
  ApplyClouddriverDefaults(&config);
  for (const char* good :
       {"10.1.2.3:7002", "clouddriver-pod-0:7002", "[fd00::1]:7002"}) {
    config.set_advertise_address(good);
    EXPECT_TRUE(ValidateConfig(config).ok()) << good;
  }
  for (const char* bad :
       {"10.1.2.3", ":7002", "host:", "host:70x2", "my host:7002", "fd00::1"}) {
    config.set_advertise_address(bad);
    absl::Status s = ValidateConfig(config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("advertise_address"), std::string::npos);
  }
}

TEST_F(OperationsTest, OrphanedTasksOfADeadOwnerFailRetryably) {
  Json orphan = {{"id", "T1"},
                 {"ownerId", "dead"},
                 {"state", "STARTED"},
                 {"history", Json::array()},
                 {"resultObjects", Json::array()}};
  ASSERT_TRUE(store_.Create(orphan, "").ok());
  Json alive = orphan;
  alive["id"] = "T2";
  alive["ownerId"] = "other";
  ASSERT_TRUE(store_.Create(alive, "").ok());
  ASSERT_TRUE(store_.Renew("other", 1000).ok());
  absl::StatusOr<int> n = ops_->SweepOrphans();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(Operations::State(*ops_->Get("T1")), "FAILED_RETRYABLE");
  EXPECT_EQ(Operations::State(*ops_->Get("T2")), "STARTED");
}

Json Group(const std::string& name, int64_t created, bool disabled,
           int instances) {
  Json in = Json::array();
  for (int i = 0; i < instances; ++i) {
    in.push_back(
        {{"id", name + "-" + std::to_string(i)}, {"healthState", "Up"}});
  }
  return {{"name", name},           {"account", "test"},
          {"region", "localhost"},  {"cloudProvider", "local"},
          {"createdTime", created}, {"isDisabled", disabled},
          {"instances", in},        {"loadBalancers", {"demo"}}};
}

class ReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        cache_
            .Replace("test", {{"serverGroups",
                               {Group("demo-prod-v001", 100, true, 3),
                                Group("demo-prod-v002", 200, false, 2),
                                Group("demo-prod-v000", 300, false, 1),
                                Group("other-v000", 50, false, 1)}},
                              {"loadBalancers",
                               {{{"name", "demo"}, {"region", "localhost"}}}},
                              {"securityGroups", Json::array()}})
            .ok());
    AccountInfo a;
    a.name = "test";
    a.cloud_provider = "local";
    a.regions = {"localhost"};
    reads_ = std::make_unique<Reads>(&cache_, std::vector<AccountInfo>{a});
  }
  std::string Target(Target t, bool only_enabled = false) {
    absl::StatusOr<Json> g = reads_->TargetServerGroup(
        "demo", "test", "demo-prod", "localhost", t, only_enabled, false);
    return g.ok() ? (*g)["name"].get<std::string>() : g.status().ToString();
  }
  InMemoryCache cache_;
  std::unique_ptr<Reads> reads_;
};

TEST_F(ReadsTest, ClusterCollectsItsServerGroupsAndLoadBalancers) {
  absl::StatusOr<Json> c = reads_->Cluster("demo", "test", "demo-prod");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)["serverGroups"].size(), 3u);
  EXPECT_EQ((*c)["loadBalancers"][0]["name"], "demo");
  EXPECT_EQ((*c)["moniker"]["stack"], "prod");
  EXPECT_EQ(reads_->Cluster("demo", "test", "demo-dev").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(reads_->Cluster("demo", "nope", "demo-prod").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ReadsTest, TargetsFollowCreationTimeNotSequence) {
  // v000 is the newest (the sequence wrapped).
  EXPECT_EQ(Target(Target::kCurrent), "demo-prod-v000");
  EXPECT_EQ(Target(Target::kPrevious), "demo-prod-v002");
  EXPECT_EQ(Target(Target::kOldest), "demo-prod-v001");
  EXPECT_EQ(Target(Target::kLargest), "demo-prod-v001");
  EXPECT_EQ(Target(Target::kLargest, true), "demo-prod-v002");
  EXPECT_EQ(Target(Target::kOldest, true), "demo-prod-v002");
}

TEST_F(ReadsTest, ApplicationsInstancesAndSearch) {
  auto apps = reads_->Applications();
  ASSERT_TRUE(apps.ok());
  EXPECT_EQ(apps->size(), 2u);
  EXPECT_EQ((*apps)["demo"]["test"], std::vector<std::string>{"demo-prod"});
  absl::StatusOr<Json> in =
      reads_->Instance("test", "localhost", "demo-prod-v001-2");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ((*in)["serverGroup"], "demo-prod-v001");
  EXPECT_EQ((*in)["application"], "demo");
  EXPECT_EQ(
      reads_->Instance("test", "localhost", "demo-prod-v001-9").status().code(),
      absl::StatusCode::kNotFound);
  SearchQuery q;
  q.query = "PROD-v00";
  q.types = {"serverGroups"};
  int64_t total = 0;
  auto r = reads_->Search(q, &total);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(total, 3);
  q.page_size = 2;
  q.page = 2;
  r = reads_->Search(q, &total);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 1u);
  q = SearchQuery();
  q.query = "v001-1";
  r = reads_->Search(q, &total);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0]["type"], "instances");
  EXPECT_EQ((*r)[0]["instanceId"], "demo-prod-v001-1");
}

TEST(InMemoryCacheTest, ReplaceDropsWhatIsGone) {
  InMemoryCache cache;
  ASSERT_TRUE(cache
                  .Replace("a", {{"serverGroups",
                                  {Group("x-v000", 1, false, 1),
                                   Group("y-v000", 1, false, 1)}}})
                  .ok());
  ASSERT_TRUE(
      cache.Replace("a", {{"serverGroups", {Group("x-v001", 1, false, 1)}}})
          .ok());
  auto apps = cache.Applications("a", kServerGroups);
  ASSERT_TRUE(apps.ok());
  EXPECT_EQ(*apps, std::set<std::string>{"x"});
  EXPECT_FALSE(cache.Get("a", kServerGroups, "x-v000")->has_value());
  EXPECT_TRUE(cache.Get("a", kServerGroups, "x-v001")->has_value());
}

// The image search over scripted providers: "test" and "prod" share the
// image hello-1.0.0; "prod" also has hello-2.0.0 and another tag set; "k8s"
// is another cloud provider.
class ImageSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProviderImage v1{"sha256:1111",
                     "hello-1.0.0",
                     "localhost",
                     {{"appversion", "hello-1.0.0"}, {"build_number", "1"}},
                     1000};
    ProviderImage v2{"sha256:2222",
                     "hello-2.0.0",
                     "localhost",
                     {{"appversion", "hello-2.0.0"}, {"build_number", "2"}},
                     2000};
    ProviderImage other{"sha256:3333", "World-0.1", "localhost", {}, 1500};
    test_.images = {v1, other};
    prod_.images = {v2, v1};
    k8s_.images = {{"sha256:4444", "hello-k8s", "us-east-1", {}, 3000}};
  }
  std::vector<std::string> Names(const ImageQuery& q,
                                 const std::string& user = "",
                                 ImageSearch* search = nullptr) {
    ImageSearch plain({&test_, &prod_, &k8s_}, nullptr);
    auto found = (search != nullptr ? search : &plain)->Find(q, user);
    EXPECT_THAT(found, IsOk());
    std::vector<std::string> out;
    if (!found.ok()) return out;
    for (const ImageResult& r : *found) out.push_back(r.image_name);
    return out;
  }
  class K8sProvider : public ScriptedProvider {
   public:
    using ScriptedProvider::ScriptedProvider;
    std::string cloud_provider() const override { return "kubernetes"; }
  };
  ScriptedProvider test_{"test"};
  ScriptedProvider prod_{"prod"};
  K8sProvider k8s_{"k8s"};
};

TEST_F(ImageSearchTest, FiltersByProviderQueryAccountRegionAndTags) {
  ImageQuery q;
  q.cloud_provider = "local";
  q.query = "*";
  EXPECT_EQ(Names(q), (std::vector<std::string>{"hello-2.0.0", "World-0.1",
                                                "hello-1.0.0"}));
  q.query = "WORLD";  // case-insensitive
  EXPECT_EQ(Names(q), (std::vector<std::string>{"World-0.1"}));
  q.query = "hello";
  q.account = "test";
  EXPECT_EQ(Names(q), (std::vector<std::string>{"hello-1.0.0"}));
  q.account = "";
  q.tags = {{"appversion", "hello-2.0.0"}};
  EXPECT_EQ(Names(q), (std::vector<std::string>{"hello-2.0.0"}));
  q.tags = {{"appversion", "hello-2.0.0"}, {"build_number", "1"}};  // all
  EXPECT_TRUE(Names(q).empty());
  q.tags.clear();
  q.region = "us-east-1";
  EXPECT_TRUE(Names(q).empty());
  q.cloud_provider = "";  // every provider
  EXPECT_EQ(Names(q), (std::vector<std::string>{"hello-k8s"}));
  q.region = "";
  q.query = "";
  q.limit = 2;  // newest first
  EXPECT_EQ(Names(q), (std::vector<std::string>{"hello-k8s", "hello-2.0.0"}));
}

TEST_F(ImageSearchTest, MergesAccountsIntoSpinnakersShape) {
  ImageSearch search({&test_, &prod_}, nullptr);
  ImageQuery q;
  q.query = "hello-1";
  auto found = search.Find(q, "");
  ASSERT_THAT(found, IsOk());
  ASSERT_EQ(found->size(), 1u);
  const ImageResult& r = (*found)[0];
  EXPECT_EQ(r.image_id, "sha256:1111");
  EXPECT_EQ(r.accounts, (std::vector<std::string>{"test", "prod"}));
  EXPECT_EQ(r.regions, (std::vector<std::string>{"localhost"}));
  EXPECT_EQ(r.created_ms, 1000);
  EXPECT_EQ(r.json, Json::parse(R"({
    "imageName": "hello-1.0.0", "imageId": "sha256:1111",
    "cloudProvider": "local", "amis": {"localhost": ["sha256:1111"]},
    "attributes": {"creationDate": "1970-01-01T00:00:01Z"},
    "tags": {"appversion": "hello-1.0.0", "build_number": "1"},
    "tagsByImageId": {"sha256:1111": {"appversion": "hello-1.0.0",
                                      "build_number": "1"}},
    "accounts": ["test", "prod"], "region": "localhost"})"));
}

TEST_F(ImageSearchTest, OnlyReadableAccountsAreSearched) {
  FiatState fiat;
  fv1::UserPermission bob;
  bob.set_name("bob");
  fv1::ResourceView* r = bob.add_accounts();
  r->set_name("prod");
  r->add_authorizations(fv1::AUTHORIZATION_READ);
  fiat.users["bob"] = bob;
  fiat.users["anonymous"].set_name("anonymous");
  common::v1::AuthorizationConfig config;
  config.set_enabled(true);
  ImageSearch search({&test_, &prod_, &k8s_},
                     std::make_shared<fiat::Authorizer>(
                         std::make_unique<MapSource>(&fiat), config));
  ImageQuery q;
  EXPECT_EQ(Names(q, "bob", &search),
            (std::vector<std::string>{"hello-2.0.0", "hello-1.0.0"}));
  auto found = search.Find(q, "bob");
  ASSERT_THAT(found, IsOk());
  // The image shared with "test" lists only what bob may read.
  EXPECT_EQ(found->back().accounts, (std::vector<std::string>{"prod"}));
  EXPECT_TRUE(Names(q, "", &search).empty());  // anonymous reads nothing
  fiat.error = absl::UnavailableError("fiat is down");
  search =
      ImageSearch({&test_}, std::make_shared<fiat::Authorizer>(
                                std::make_unique<MapSource>(&fiat), config));
  EXPECT_THAT(search.Find(q, "carol"),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(ImageSearchTest, FindImagesRpcAnswersForTheCaller) {
  FiatState fiat;
  fv1::UserPermission bob;
  bob.set_name("bob");
  fv1::ResourceView* r = bob.add_accounts();
  r->set_name("prod");
  r->add_authorizations(fv1::AUTHORIZATION_READ);
  fiat.users["bob"] = bob;
  common::v1::AuthorizationConfig config;
  config.set_enabled(true);
  ImageSearch search({&test_, &prod_, &k8s_},
                     std::make_shared<fiat::Authorizer>(
                         std::make_unique<MapSource>(&fiat), config));
  InMemoryCache cache;
  Reads reads(&cache, {});
  auto service = NewClouddriverGrpc(&reads, nullptr, nullptr, &search);
  ScopedCallContext as_bob(CallContext{"req-1", "bob", ""});
  grpc::ServerContext ctx;
  v1::FindImagesRequest req;
  req.set_cloud_provider("local");
  req.set_query("HELLO");
  req.set_region("localhost");
  (*req.mutable_tags())["build_number"] = "2";
  v1::FindImagesResponse resp;
  ASSERT_TRUE(service->FindImages(&ctx, &req, &resp).ok());
  ASSERT_EQ(resp.images_size(), 1);
  const v1::Image& image = resp.images(0);
  EXPECT_EQ(image.image_id(), "sha256:2222");
  EXPECT_EQ(image.image_name(), "hello-2.0.0");
  EXPECT_EQ(image.cloud_provider(), "local");
  ASSERT_EQ(image.accounts_size(), 1);
  EXPECT_EQ(image.accounts(0), "prod");
  ASSERT_EQ(image.regions_size(), 1);
  EXPECT_EQ(image.regions(0), "localhost");
  EXPECT_EQ(image.tags().at("appversion"), "hello-2.0.0");
  EXPECT_EQ(image.created_at_ms(), 2000);
  Json j = Json::parse(image.json().json());
  EXPECT_EQ(j["amis"]["localhost"], Json::array({"sha256:2222"}));
  EXPECT_EQ(j["attributes"]["creationDate"], "1970-01-01T00:00:02Z");
  req.set_limit(-1);
  EXPECT_EQ(service->FindImages(&ctx, &req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace gennaker::clouddriver
