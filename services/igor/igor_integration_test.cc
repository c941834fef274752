// igor's CI side against FakeJenkins / FakeTravis (protocol-faithful fakes:
// the real servers cannot run here) and a real Redis: triggering with
// parameters and a CSRF crumb, following the queue to the build, build status
// and GenericBuild info, property files in three formats, artifacts,
// descriptions, stopping, the build monitor's exactly-once events across polls
// and a restart, and a server that is down.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http.h"
#include "common/http/http_server.h"
#include "common/http/outbound.h"
#include "common/redis/redis.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/igor/ci/build_monitor.h"
#include "services/igor/ci/build_service.h"
#include "services/igor/ci/ci_http.h"
#include "services/igor/igor_core.h"
#include "services/igor/igor_server.h"
#include "services/igor/polling.h"
#include "tests/support/fake_jenkins.h"
#include "tests/support/fake_travis.h"

namespace gennaker::igor {
namespace {

using ::gennaker::testing::FakeJenkins;
using ::gennaker::testing::FakeTravis;
using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using spinnaker::Json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RecordingSink : public EventSink {
 public:
  absl::Status Post(const Json& event, const std::string& key) override {
    absl::MutexLock l(&mu_);
    events_.push_back(event);
    keys_.push_back(key);
    return absl::OkStatus();
  }
  std::vector<std::string> keys() const {
    absl::MutexLock l(&mu_);
    return keys_;
  }
  std::vector<Json> events() const {
    absl::MutexLock l(&mu_);
    return events_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Json> events_;
  std::vector<std::string> keys_;
};

v1::BuildKey Key(const std::string& master, const std::string& job, int64_t n) {
  v1::BuildKey k;
  k.set_master(master);
  k.set_job(job);
  k.set_build_number(n);
  return k;
}

class IgorIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = ::gennaker::testing::TestRedis::Start();
    ASSERT_THAT(r, IsOk());
    redis_server_ = r->release();
  }
  static void TearDownTestSuite() {
    delete redis_server_;
    redis_server_ = nullptr;
  }

  void SetUp() override {
    redis::Options o;
    o.port = redis_server_->port();
    auto client = redis::Client::Connect(o);
    ASSERT_THAT(client, IsOk());
    redis_ = *std::move(client);
    // A fresh prefix per test: tests share the server.
    prefix_ = absl::StrCat(
        "igor-",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    store_ = NewRedisSeenStore(redis_.get(), prefix_);
    http::OutboundPolicy policy = http::DefaultOutboundPolicy();
    policy.allow_loopback = true;
    auto outbound = http::OutboundClient::Create(policy);
    ASSERT_THAT(outbound, IsOk());
    outbound_ = *std::move(outbound);
    FakeJenkins::Options jo;
    jo.username = "igor";
    jo.token = "s3cret-token";
    jo.csrf = true;
    auto jenkins = FakeJenkins::Start(jo);
    ASSERT_THAT(jenkins, IsOk());
    jenkins_ = *std::move(jenkins);
    FakeJenkins::BuildScript script = FakeJenkins::BuildScript::Runs(300);
    script.queue_ms = 100;
    script.artifacts = {
        {"build.properties", "GIT_SHA=${GIT_SHA}\nENV=${ENV}\n"},
        {"out/info.yml", "sha: ${GIT_SHA}\nreplicas: 3\n"},
        {"out/info.json",
         R"({"sha":"${GIT_SHA}","artifacts":[{"type":"docker/image",)"
         R"("name":"gcr.io/p/app","version":"${GIT_SHA}",)"
         R"("reference":"gcr.io/p/app:${GIT_SHA}"}]})"}};
    script.git_sha = "${GIT_SHA}";
    jenkins_->AddJob("team/job/app",
                     {FakeJenkins::Param::String("GIT_SHA", "HEAD"),
                      FakeJenkins::Param::Choice("ENV", {"dev", "prod"})},
                     script);
    jenkins_->AddJob("plain", {}, FakeJenkins::BuildScript::Runs(50));
    jenkins_->AddJob("long", {}, FakeJenkins::BuildScript::Runs(-1));
    FakeJenkins::BuildScript queued;
    queued.queue_ms = 60000;
    jenkins_->AddJob("slow-queue", {}, queued);
    jenkins_->AddJob("disabled");
    jenkins_->SetBuildable("disabled", false);
    core_ = MakeCore(jenkins_->url(), "igor", "s3cret-token");
  }

  std::unique_ptr<IgorCore> MakeCore(const std::string& url,
                                     const std::string& user,
                                     const std::string& token,
                                     const http::OutboundClient* ob = nullptr) {
    v1::JenkinsMaster m;
    m.set_name("jenkins1");
    m.set_address(url);
    m.set_username(user);
    m.set_password(token);
    m.set_csrf(true);
    std::vector<MasterEntry> masters;
    MasterEntry e;
    e.info.set_name("jenkins1");
    e.info.set_type(v1::BUILD_SERVICE_TYPE_JENKINS);
    e.service = NewJenkinsClient(m, ob ? ob : outbound_.get());
    masters.push_back(std::move(e));
    CoreOptions o;
    o.property_attempts = 2;
    o.property_retry_delay = absl::Milliseconds(50);
    return std::make_unique<IgorCore>(std::move(masters), store_.get(), o);
  }

  // Follows the queue item to its build number (fails after 10 s).
  int64_t WaitForBuildNumber(IgorCore* core, const std::string& queue_id) {
    for (int i = 0; i < 200; ++i) {
      auto q = core->GetQueuedBuild("jenkins1", queue_id);
      EXPECT_THAT(q, IsOk());
      if (q.ok() && q->has_build_number()) return q->build_number();
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "queue item " << queue_id << " never started";
    return 0;
  }

  v1::Build WaitForCompletion(IgorCore* core, const v1::BuildKey& key) {
    v1::Build b;
    for (int i = 0; i < 200; ++i) {
      auto got = core->GetBuild(key);
      EXPECT_THAT(got, IsOk());
      if (!got.ok()) break;
      b = *got;
      if (!b.building()) return b;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "build never completed";
    return b;
  }

  static ::gennaker::testing::TestRedis* redis_server_;
  std::unique_ptr<redis::Client> redis_;
  std::string prefix_;
  std::unique_ptr<SeenStore> store_;
  std::unique_ptr<http::OutboundClient> outbound_;
  std::unique_ptr<FakeJenkins> jenkins_;
  std::unique_ptr<IgorCore> core_;
};

::gennaker::testing::TestRedis* IgorIntegrationTest::redis_server_ = nullptr;

TEST_F(IgorIntegrationTest, ListsJobsThroughFoldersAndReadsConfigs) {
  auto jobs = core_->ListJobs("jenkins1");
  ASSERT_THAT(jobs, IsOk());
  EXPECT_THAT(*jobs, ElementsAre("disabled", "long", "plain", "slow-queue",
                                 "team/job/app"));
  auto c = core_->GetJobConfig("jenkins1", "team/job/app");
  ASSERT_THAT(c, IsOk());
  EXPECT_TRUE(c->buildable());
  ASSERT_EQ(c->parameter_definitions_size(), 2);
  EXPECT_EQ(c->parameter_definitions(0).name(), "GIT_SHA");
  EXPECT_EQ(c->parameter_definitions(0).default_value(), "HEAD");
  EXPECT_EQ(c->parameter_definitions(0).type(), "StringParameterDefinition");
  EXPECT_THAT(c->parameter_definitions(1).choices(),
              ElementsAre("dev", "prod"));
  EXPECT_EQ(c->parameter_definitions(1).default_value(), "dev");
  EXPECT_THAT(core_->GetJobConfig("jenkins1", "team/job/nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("jenkins1")));
  // The client asked with Spinnaker's tree queries.
  bool saw_tree = false;
  for (const auto& r : jenkins_->Requests()) {
    auto it = r.query.find("tree");
    if (r.path == "/api/json" && it != r.query.end() &&
        it->second.find("jobs[name,jobs[name") != std::string::npos) {
      saw_tree = true;
    }
  }
  EXPECT_TRUE(saw_tree);
}

TEST_F(IgorIntegrationTest, TriggerWithParamsFollowsQueueToResults) {
  v1::TriggerBuildRequest req;
  req.set_master("jenkins1");
  req.set_job("team/job/app");
  (*req.mutable_parameters())["GIT_SHA"] = "abc123";
  (*req.mutable_parameters())["ENV"] = "prod";
  req.set_idempotency_key("exec-1:stage-1:1700000000000");
  auto t = core_->TriggerBuild(req);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->state(), v1::TRIGGER_BUILD_STATE_QUEUED);
  EXPECT_EQ(t->queue_id(), "1");
  // orca retries: the same queue item, no second build.
  auto again = core_->TriggerBuild(req);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->queue_id(), t->queue_id());
  EXPECT_EQ(jenkins_->CountRequests("POST", "buildWithParameters"), 1);
  // Credentials and crumb went along.
  for (const auto& r : jenkins_->Requests()) {
    if (r.method != "POST") continue;
    EXPECT_EQ(r.headers.at("jenkins-crumb"), "crumb-1");
    EXPECT_THAT(r.headers.at("authorization"), HasSubstr("Basic "));
  }

  const int64_t n = WaitForBuildNumber(core_.get(), t->queue_id());
  ASSERT_EQ(n, 1);
  EXPECT_EQ(jenkins_->BuildParams("team/job/app", n).at("GIT_SHA"), "abc123");
  const v1::Build b =
      WaitForCompletion(core_.get(), Key("jenkins1", "team/job/app", n));
  EXPECT_EQ(b.result(), v1::BUILD_RESULT_SUCCESS);
  EXPECT_EQ(b.duration_ms(), 300);
  EXPECT_GT(b.timestamp_ms(), 0);
  EXPECT_EQ(b.url(), jenkins_->url() + "job/team/job/app/1/");
  EXPECT_EQ(b.full_display_name(), "team » app #1");
  EXPECT_EQ(b.artifacts_size(), 3);
  const Json info = Json::parse(b.build_info().json());
  EXPECT_EQ(info["result"], "SUCCESS");
  EXPECT_EQ(info["building"], false);
  EXPECT_EQ(info["number"], 1);
  EXPECT_EQ(info["name"], "team/job/app");
  EXPECT_EQ(info["id"], "1");
  EXPECT_EQ(info["testResults"][0]["totalCount"], 3);
  EXPECT_EQ(info["genericGitRevisions"][0]["sha1"], "abc123");
  EXPECT_EQ(info["genericGitRevisions"][0]["branch"], "main");

  auto props = core_->GetBuildProperties(Key("jenkins1", "team/job/app", n),
                                         "build.properties");
  ASSERT_THAT(props, IsOk());
  EXPECT_EQ(*props, Json::parse(R"({"GIT_SHA":"abc123","ENV":"prod"})"));
  auto yml =
      core_->GetBuildProperties(Key("jenkins1", "team/job/app", n), "info.yml");
  ASSERT_THAT(yml, IsOk());
  EXPECT_EQ((*yml)["sha"], "abc123");
  EXPECT_EQ((*yml)["replicas"], 3);
  auto json = core_->GetBuildProperties(Key("jenkins1", "team/job/app", n),
                                        "info.json");
  ASSERT_THAT(json, IsOk());
  EXPECT_EQ((*json)["sha"], "abc123");
  auto arts =
      core_->GetBuildArtifacts(Key("jenkins1", "team/job/app", n), "info.json");
  ASSERT_THAT(arts, IsOk());
  ASSERT_EQ(arts->size(), 1u);
  EXPECT_EQ((*arts)[0].reference(), "gcr.io/p/app:abc123");

  ASSERT_THAT(core_->UpdateBuildDescription(
                  Key("jenkins1", "team/job/app", n),
                  "<a href=\"http://deck/#/executions/1\">Spinnaker</a>"),
              IsOk());
  auto described = core_->GetBuild(Key("jenkins1", "team/job/app", n));
  ASSERT_THAT(described, IsOk());
  EXPECT_EQ(Json::parse(described->build_info().json())["description"],
            "<a href=\"http://deck/#/executions/1\">Spinnaker</a>");

  auto listed = core_->ListBuilds("jenkins1", "team/job/app");
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].number(), 1);
}

TEST_F(IgorIntegrationTest, NoParamsUsesDefaultsAndPlainJobsUseBuild) {
  v1::TriggerBuildRequest req;
  req.set_master("jenkins1");
  req.set_job("team/job/app");
  auto t = core_->TriggerBuild(req);
  ASSERT_THAT(t, IsOk());
  const int64_t n = WaitForBuildNumber(core_.get(), t->queue_id());
  EXPECT_EQ(jenkins_->BuildParams("team/job/app", n).at("GIT_SHA"), "HEAD");
  EXPECT_EQ(jenkins_->BuildParams("team/job/app", n).at("ENV"), "dev");
  bool started_by = false;
  for (const auto& r : jenkins_->Requests()) {
    auto it = r.form.find("startedBy");
    if (it != r.form.end() && it->second == "igor") started_by = true;
  }
  EXPECT_TRUE(started_by);

  req.set_job("plain");
  auto p = core_->TriggerBuild(req);
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(jenkins_->CountRequests("POST", "/job/plain/build"), 1);
  EXPECT_GT(WaitForBuildNumber(core_.get(), p->queue_id()), 0);
}

TEST_F(IgorIntegrationTest, RefusedTriggers) {
  v1::TriggerBuildRequest req;
  req.set_master("jenkins1");
  req.set_job("disabled");
  EXPECT_THAT(core_->TriggerBuild(req),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  req.set_job("team/job/app");
  (*req.mutable_parameters())["ENV"] = "staging";
  EXPECT_THAT(core_->TriggerBuild(req),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ENV")));
  req.set_job("nope");
  EXPECT_THAT(core_->TriggerBuild(req), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(jenkins_->CountRequests("POST", ""), 0);
  // Wrong credentials: Jenkins says 401.
  auto bad = MakeCore(jenkins_->url(), "igor", "wrong");
  EXPECT_THAT(bad->ListJobs("jenkins1"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("401")));
}

TEST_F(IgorIntegrationTest, ExpiredCrumbIsRefreshed) {
  v1::TriggerBuildRequest req;
  req.set_master("jenkins1");
  req.set_job("plain");
  ASSERT_THAT(core_->TriggerBuild(req), IsOk());
  jenkins_->RotateCrumb();
  ASSERT_THAT(core_->TriggerBuild(req), IsOk());
  EXPECT_EQ(jenkins_->CountRequests("GET", "crumbIssuer"), 2);
  EXPECT_EQ(jenkins_->CountRequests("POST", "/job/plain/build"), 3);
}

// Jenkins queues the build but its answer comes after igor's timeout:
// orca's retries (same idempotency key) must not queue a second build.
TEST_F(IgorIntegrationTest, TimeoutAfterThePostNeverQueuesTwice) {
  http::OutboundPolicy policy = http::DefaultOutboundPolicy();
  policy.allow_loopback = true;
  policy.timeout_ms = 1000;
  auto impatient = http::OutboundClient::Create(policy);
  ASSERT_THAT(impatient, IsOk());
  auto core =
      MakeCore(jenkins_->url(), "igor", "s3cret-token", impatient->get());
  jenkins_->SetTriggerAnswerDelayMs(2000);
  v1::TriggerBuildRequest req;
  req.set_master("jenkins1");
  req.set_job("plain");
  req.set_idempotency_key("exec-1:stage-1:1");
  EXPECT_THAT(core->TriggerBuild(req),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("timed out"),
                             HasSubstr("may have queued the build"),
                             HasSubstr("job/plain"))));
  jenkins_->SetTriggerAnswerDelayMs(0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(core->TriggerBuild(req),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("may have queued the build")));
  }
  EXPECT_EQ(jenkins_->QueuedCount(), 1);
  EXPECT_EQ(jenkins_->CountRequests("POST", "/job/plain/build"), 1);
}

// 201 without a Location: queued, but there is nothing to follow.
TEST_F(IgorIntegrationTest, CreatedWithoutLocationNeverQueuesTwice) {
  jenkins_->SetTriggerAnswerWithoutLocation(true);
  v1::TriggerBuildRequest req;
  req.set_master("jenkins1");
  req.set_job("team/job/app");
  req.set_idempotency_key("exec-1:stage-1:2");
  EXPECT_THAT(core_->TriggerBuild(req),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("without a queue item Location"),
                             HasSubstr("may have queued the build"))));
  jenkins_->SetTriggerAnswerWithoutLocation(false);
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(core_->TriggerBuild(req),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("without a queue item Location")));
  }
  EXPECT_EQ(jenkins_->QueuedCount(), 1);
}

// A POST Jenkins refused (4xx) or that never connected queued nothing: the
// client marks it so that the core lets a retry queue.
TEST_F(IgorIntegrationTest, RefusedOrUnsentPostIsMarkedNotQueued) {
  BuildService* s = core_->service("jenkins1");
  v1::JobConfig stale;  // as if the job had no parameters: POST build -> 400
  stale.set_name("team/job/app");
  auto refused = s->TriggerBuild("team/job/app", {}, stale);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("400")));
  EXPECT_TRUE(internal::IsNotQueued(refused.status()));
  EXPECT_EQ(jenkins_->QueuedCount(), 0);
  v1::JobConfig plain;
  plain.set_name("plain");
  auto ok = s->TriggerBuild("plain", {}, plain);
  ASSERT_THAT(ok, IsOk());
  const std::string url = jenkins_->url();
  jenkins_.reset();
  auto gone = MakeCore(url, "igor", "s3cret-token");
  auto unsent = gone->service("jenkins1")->TriggerBuild("plain", {}, plain);
  EXPECT_THAT(unsent, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(internal::IsNotQueued(unsent.status()));
}

// Hostile times from a CI server: no int64 overflow (Travis' seconds * 1000
// saturates), impossible instants become 0, durations are clamped.
TEST_F(IgorIntegrationTest, HostileTimesDoNotOverflow) {
  http::Router router;
  router.Add("GET", "/**", [](const http::Request& r) {
    if (absl::StrContains(r.path, "builds")) {
      return http::Json(
          200,
          R"({"@type":"builds","builds":[)"
          R"({"id":5,"number":1,"state":"passed","duration":9223372036854776,)"
          R"("started_at":"2025-01-01T00:00:00Z"},)"
          R"({"id":4,"number":2,"state":"passed","duration":-7}]})");
    }
    if (absl::StrContains(r.path, "/job/x/1/")) {
      return http::Json(200, R"({"number":1,"timestamp":-9000000000000000000,)"
                             R"("duration":-5})");
    }
    if (absl::StrContains(r.path, "/job/x/2/")) {
      return http::Json(200, R"({"number":2,"timestamp":9000000000000000000,)"
                             R"("duration":9000000000000000000})");
    }
    return http::Json(404, "{}");
  });
  http::ServerOptions so;
  auto server = http::Server::Start(so, std::move(router));
  ASSERT_THAT(server, IsOk());
  const std::string url = absl::StrCat("http://127.0.0.1:", (*server)->port());
  v1::TravisMaster tm;
  tm.set_name("travis1");
  tm.set_address(url);
  tm.add_repositories("org/app");
  auto travis = NewTravisClient(tm, outbound_.get());
  auto t1 = travis->GetBuild("org/app", 1);
  ASSERT_THAT(t1, IsOk());
  EXPECT_EQ(t1->duration_ms(), internal::kMaxCiDurationMs);
  EXPECT_EQ(Json::parse(t1->build_info().json())["duration"],
            internal::kMaxCiDurationMs);
  EXPECT_GT(t1->timestamp_ms(), 0);
  auto t2 = travis->GetBuild("org/app", 2);
  ASSERT_THAT(t2, IsOk());
  EXPECT_EQ(t2->duration_ms(), 0);

  v1::JenkinsMaster jm;
  jm.set_name("jenkins1");
  jm.set_address(url);
  auto jenkins = NewJenkinsClient(jm, outbound_.get());
  auto j1 = jenkins->GetBuild("x", 1);
  ASSERT_THAT(j1, IsOk());
  EXPECT_EQ(j1->timestamp_ms(), 0);
  EXPECT_EQ(j1->duration_ms(), 0);
  auto j2 = jenkins->GetBuild("x", 2);
  ASSERT_THAT(j2, IsOk());
  EXPECT_EQ(j2->timestamp_ms(), 0);
  EXPECT_EQ(j2->duration_ms(), internal::kMaxCiDurationMs);
  EXPECT_EQ(Json::parse(j2->build_info().json())["timestamp"], "0");
}

TEST_F(IgorIntegrationTest, StopsRunningAndQueuedBuilds) {
  v1::TriggerBuildRequest req;
  req.set_master("jenkins1");
  req.set_job("long");
  auto t = core_->TriggerBuild(req);
  ASSERT_THAT(t, IsOk());
  const int64_t n = WaitForBuildNumber(core_.get(), t->queue_id());
  ASSERT_GT(n, 0);
  auto stopped = core_->StopBuild(Key("jenkins1", "long", n), t->queue_id());
  ASSERT_THAT(stopped, IsOk());
  EXPECT_TRUE(*stopped);
  auto b = core_->GetBuild(Key("jenkins1", "long", n));
  ASSERT_THAT(b, IsOk());
  EXPECT_FALSE(b->building());
  EXPECT_EQ(b->result(), v1::BUILD_RESULT_ABORTED);
  // Stopping again is a no-op.
  auto again = core_->StopBuild(Key("jenkins1", "long", n), t->queue_id());
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(*again);

  req.set_job("slow-queue");
  auto q = core_->TriggerBuild(req);
  ASSERT_THAT(q, IsOk());
  auto cancelled =
      core_->StopBuild(Key("jenkins1", "slow-queue", 0), q->queue_id());
  ASSERT_THAT(cancelled, IsOk());
  EXPECT_TRUE(*cancelled);
  auto item = core_->GetQueuedBuild("jenkins1", q->queue_id());
  ASSERT_THAT(item, IsOk());
  EXPECT_TRUE(item->cancelled());
  EXPECT_FALSE(item->has_build_number());
  EXPECT_EQ(jenkins_->BuildCount("slow-queue"), 0);
}

TEST_F(IgorIntegrationTest, MonitorSendsEachCompletedBuildOnce) {
  BuildService* service = core_->service("jenkins1");
  RecordingSink sink;
  const int64_t first = jenkins_->StartBuild("long");
  jenkins_->CompleteBuild("long", first);
  auto monitor = NewBuildMonitor(service, store_.get(), &sink, {});
  EXPECT_EQ(monitor->name(), "jenkins:jenkins1");
  // First poll: cursors only (Spinnaker's handleFirstBuilds false).
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_TRUE(sink.keys().empty());

  const int64_t running = jenkins_->StartBuild("long", {});
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_TRUE(sink.keys().empty()) << "nothing while the build runs";

  jenkins_->CompleteBuild("long", running, "UNSTABLE");
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink.keys(),
              ElementsAre(absl::StrCat("build:jenkins1:long:", running)));
  const Json e = sink.events()[0];
  EXPECT_EQ(e["content"]["master"], "jenkins1");
  EXPECT_EQ(e["content"]["type"], "jenkins");
  EXPECT_EQ(e["content"]["project"]["name"], "long");
  EXPECT_EQ(e["content"]["project"]["lastBuild"]["number"], running);
  EXPECT_EQ(e["content"]["project"]["lastBuild"]["result"], "UNSTABLE");
  EXPECT_EQ(e["content"]["project"]["lastBuild"]["building"], false);

  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_EQ(sink.keys().size(), 1u);
  // A restarted igor (new store object, same Redis) sends nothing again.
  auto store2 = NewRedisSeenStore(redis_.get(), prefix_);
  RecordingSink sink2;
  auto monitor2 = NewBuildMonitor(service, store2.get(), &sink2, {});
  ASSERT_THAT(monitor2->Poll(), IsOk());
  EXPECT_TRUE(sink2.keys().empty());
  // Jenkins' cursor keys, as Spinnaker names them.
  auto cursor = store2->HashGet("jenkins1:LONG:long", "lastPollCycleTimestamp");
  ASSERT_THAT(cursor, IsOk());
  EXPECT_TRUE(cursor->has_value());

  // Two builds in one cycle (one in a folder) -> two events.
  const int64_t a = jenkins_->StartBuild("long");
  jenkins_->CompleteBuild("long", a);
  jenkins_->StartBuild("team/job/app", {{"GIT_SHA", "x"}});
  ASSERT_THAT(monitor2->Poll(), IsOk());  // first sight of team/job/app
  ASSERT_THAT(sink2.keys(),
              ElementsAre(absl::StrCat("build:jenkins1:long:", a)));
}

TEST_F(IgorIntegrationTest, MonitorUnderTheScheduler) {
  RecordingSink sink;
  std::vector<std::unique_ptr<Monitor>> monitors;
  monitors.push_back(
      NewBuildMonitor(core_->service("jenkins1"), store_.get(), &sink, {}));
  PollScheduler scheduler(std::move(monitors), store_.get(),
                          PollOptions{std::chrono::milliseconds(200), 2});
  ASSERT_THAT(scheduler.PollNow("jenkins:jenkins1"), IsOk());
  scheduler.Start();
  const int64_t n = jenkins_->StartBuild("plain");
  for (int i = 0; i < 100 && sink.keys().empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  scheduler.Stop();
  EXPECT_THAT(sink.keys(),
              ElementsAre(absl::StrCat("build:jenkins1:plain:", n)));
}

TEST_F(IgorIntegrationTest, DownServerIsReported) {
  RecordingSink sink;
  auto monitor =
      NewBuildMonitor(core_->service("jenkins1"), store_.get(), &sink, {});
  jenkins_->SetUnavailable(true);
  EXPECT_THAT(monitor->Poll(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("503")));
  EXPECT_THAT(core_->ListJobs("jenkins1"),
              StatusIs(absl::StatusCode::kUnavailable));
  jenkins_->SetUnavailable(false);
  EXPECT_THAT(monitor->Poll(), IsOk());
  // Nothing listens: unreachable.
  const std::string url = jenkins_->url();
  jenkins_.reset();
  auto gone = MakeCore(url, "igor", "s3cret-token");
  EXPECT_THAT(
      gone->ListJobs("jenkins1"),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unreachable")));
  auto down_monitor =
      NewBuildMonitor(gone->service("jenkins1"), store_.get(), &sink, {});
  EXPECT_THAT(down_monitor->Poll(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(IgorIntegrationTest, OutboundPolicyRefusesLoopbackByDefault) {
  auto strict = http::OutboundClient::Create(http::DefaultOutboundPolicy());
  ASSERT_THAT(strict, IsOk());
  auto core = MakeCore(jenkins_->url(), "igor", "s3cret-token", strict->get());
  EXPECT_THAT(core->ListJobs("jenkins1"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(jenkins_->Requests().size(), 0u);
}

TEST_F(IgorIntegrationTest, ValidateConfigFailsFast) {
  v1::IgorConfig c;
  auto* j = c.add_jenkins();
  j->set_name("ci");
  j->set_address("http://jenkins.example.com/");
  EXPECT_THAT(ValidateConfig(c), IsOk());
  auto* t = c.add_travis();
  t->set_name("ci");
  t->set_address("https://api.travis-ci.com/");
  EXPECT_THAT(ValidateConfig(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("defined twice")));
  t->set_name("travis");
  t->add_repositories("not-a-slug");
  EXPECT_THAT(ValidateConfig(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("owner/name")));
  t->clear_repositories();
  j->set_address("ftp://jenkins");
  EXPECT_THAT(ValidateConfig(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("jenkins[0].address")));
  j->set_address("http://user:pw@jenkins/");
  EXPECT_THAT(ValidateConfig(c), StatusIs(absl::StatusCode::kInvalidArgument));
}

class TravisIntegrationTest : public IgorIntegrationTest {
 protected:
  void SetUp() override {
    IgorIntegrationTest::SetUp();
    FakeTravis::Options o;
    o.token = "tr-token";
    auto travis = FakeTravis::Start(o);
    ASSERT_THAT(travis, IsOk());
    travis_ = *std::move(travis);
    travis_->AddRepo("org/app",
                     FakeTravis::BuildScript::Runs(
                         200,
                         "building\nSPINNAKER_PROPERTY_SHA=${SHA}\r\n"
                         "SPINNAKER_PROPERTY_IMAGE=app:${SHA}\ndone\n"));
    v1::TravisMaster m;
    m.set_name("travis1");
    m.set_address(travis_->url());
    m.set_base_url("https://app.travis-ci.com/");
    m.set_token("tr-token");
    m.add_repositories("org/app");
    std::vector<MasterEntry> masters;
    MasterEntry e;
    e.info.set_name("travis1");
    e.info.set_type(v1::BUILD_SERVICE_TYPE_TRAVIS);
    e.service = NewTravisClient(m, outbound_.get());
    masters.push_back(std::move(e));
    travis_core_ = std::make_unique<IgorCore>(std::move(masters), store_.get());
  }
  std::unique_ptr<FakeTravis> travis_;
  std::unique_ptr<IgorCore> travis_core_;
};

TEST_F(TravisIntegrationTest, TriggerFollowAndProperties) {
  auto jobs = travis_core_->ListJobs("travis1");
  ASSERT_THAT(jobs, IsOk());
  EXPECT_THAT(*jobs, ElementsAre("org/app"));
  auto config = travis_core_->GetJobConfig("travis1", "org/app");
  ASSERT_THAT(config, IsOk());
  EXPECT_TRUE(config->buildable());

  v1::TriggerBuildRequest req;
  req.set_master("travis1");
  req.set_job("org/app");
  (*req.mutable_parameters())["SHA"] = "f00d";
  req.set_idempotency_key("k1");
  auto t = travis_core_->TriggerBuild(req);
  ASSERT_THAT(t, IsOk());
  EXPECT_THAT(t->queue_id(), HasSubstr("org/app:"));
  for (const auto& r : travis_->Requests()) {
    EXPECT_EQ(r.headers.at("travis-api-version"), "3");
    EXPECT_EQ(r.headers.at("authorization"), "token tr-token");
  }
  int64_t n = 0;
  for (int i = 0; i < 100 && n == 0; ++i) {
    auto q = travis_core_->GetQueuedBuild("travis1", t->queue_id());
    ASSERT_THAT(q, IsOk());
    if (q->has_build_number()) n = q->build_number();
  }
  ASSERT_EQ(n, 1);
  EXPECT_EQ(travis_->BuildEnv("org/app", n).at("SHA"), "f00d");
  v1::Build b;
  for (int i = 0; i < 100; ++i) {
    auto got = travis_core_->GetBuild(Key("travis1", "org/app", n));
    ASSERT_THAT(got, IsOk());
    b = *got;
    if (!b.building()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(b.result(), v1::BUILD_RESULT_SUCCESS);
  EXPECT_THAT(b.url(), HasSubstr("https://app.travis-ci.com/org/app/builds/"));
  auto props = travis_core_->GetBuildProperties(Key("travis1", "org/app", n),
                                                "build.properties");
  ASSERT_THAT(props, IsOk());
  EXPECT_EQ(*props, Json::parse(R"({"SHA":"f00d","IMAGE":"app:f00d"})"));
  EXPECT_THAT(travis_core_->GetBuild(Key("travis1", "org/app", 42)),
              StatusIs(absl::StatusCode::kNotFound));
}

// 202 without a request id: Travis took the request; a retry must not
// make a second one.
TEST_F(TravisIntegrationTest, AcceptedWithoutIdNeverQueuesTwice) {
  travis_->SetRequestAnswerWithoutId(true);
  v1::TriggerBuildRequest req;
  req.set_master("travis1");
  req.set_job("org/app");
  req.set_idempotency_key("k-no-id");
  EXPECT_THAT(travis_core_->TriggerBuild(req),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("without a request id"),
                             HasSubstr("may have queued the build"))));
  travis_->SetRequestAnswerWithoutId(false);
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(travis_core_->TriggerBuild(req),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("without a request id")));
  }
  EXPECT_EQ(travis_->RequestCount(), 1);
}

TEST_F(TravisIntegrationTest, StopAndMonitor) {
  RecordingSink sink;
  auto monitor = NewBuildMonitor(travis_core_->service("travis1"), store_.get(),
                                 &sink, {});
  EXPECT_EQ(monitor->name(), "travis:travis1");
  const int64_t first = travis_->StartBuild("org/app");
  travis_->CompleteBuild("org/app", first);
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_TRUE(sink.keys().empty());
  travis_->AddRepo("org/app", FakeTravis::BuildScript::Runs(-1));
  const int64_t second = travis_->StartBuild("org/app");
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_TRUE(sink.keys().empty());
  auto stopped = travis_core_->StopBuild(Key("travis1", "org/app", second), "");
  ASSERT_THAT(stopped, IsOk());
  EXPECT_TRUE(*stopped);
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink.keys(),
              ElementsAre(absl::StrCat("build:travis1:org/app:", second)));
  const Json e = sink.events()[0];
  EXPECT_EQ(e["content"]["type"], "travis");
  EXPECT_EQ(e["content"]["project"]["lastBuild"]["result"], "ABORTED");
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_EQ(sink.keys().size(), 1u);
}

}  // namespace
}  // namespace gennaker::igor
