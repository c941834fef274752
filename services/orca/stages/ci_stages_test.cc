// The jenkins and travis stages on the engine (in-memory store, manual
// clock) against an in-memory igor: a build from start to end with its
// buildInfo, properties and artifacts; PENDING and transient failures of the
// start; unstable, failed and aborted builds; a queue item cancelled; cancel
// of the execution; waitForCompletion false; travis defaults; no igor.
#include "services/orca/stages/ci_stages.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gennaker/igor/v1/igor.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/orca/engine/engine_test_util.h"
#include "services/orca/igor_client.h"
#include "services/orca/launcher.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/fake_igor.h"

namespace gennaker::orca {
namespace {

constexpr int64_t kMin = 60 * 1000;

class CiStagesTest : public ::testing::Test {
 protected:
  void Build(Igor* igor) {
    StageDeps deps;
    RegisterBuiltinStages(&registry_, deps);
    RegisterCiStages(&registry_, igor, {/*poll_ms=*/500});
    engine_ = std::make_unique<Engine>(&store_, &registry_, &clock_, nullptr);
  }

  static Json JenkinsStage(Json extra = Json::object()) {
    Json s = {{"refId", "1"},
              {"type", "jenkins"},
              {"name", "Build"},
              {"master", "ci"},
              {"job", "app-build"},
              {"parameters",
               {{"BRANCH", "main"},
                {"COUNT", 3},
                {"DEBUG", true},
                {"APP", "${execution.application}"},
                {"UNSET", nullptr}}},
              {"propertyFile", "build.properties"}};
    for (auto it = extra.begin(); it != extra.end(); ++it) s[it.key()] = *it;
    return s;
  }

  std::string Start(Json stage, bool with_next = false) {
    Json stages = Json::array({std::move(stage)});
    if (with_next) {
      stages.push_back({{"refId", "2"},
                        {"requisiteStageRefIds", {"1"}},
                        {"type", "wait"},
                        {"name", "After"},
                        {"waitTime", 1}});
    }
    LaunchOptions o;
    o.now_ms = clock_.NowMs();
    auto exec = BuildPipelineExecution(
        {{"application", "demo"}, {"name", "ci"}, {"stages", stages}},
        Json::object(), o);
    EXPECT_TRUE(exec.ok()) << exec.status();
    auto id = store_.Create(*exec, "", {StartMessage(*exec)});
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }

  void Run(int64_t horizon_ms = 30 * kMin) {
    testing::RunUntilSettled(engine_.get(), &store_, &clock_, horizon_ms,
                             20000);
  }

  Json Get(const std::string& id) { return testing::GetExecution(&store_, id); }

  static Json ByName(const Json& e, const std::string& name) {
    for (const Json& s : e["stages"]) {
      if (String(s, "name") == name) return s;
    }
    return nullptr;
  }
  static std::string Error(const Json& stage) {
    return String(stage["context"]["exception"]["details"], "error");
  }
  static std::vector<std::string> TaskNames(const Json& stage) {
    std::vector<std::string> out;
    for (const Json& t : stage["tasks"]) out.push_back(String(t, "name"));
    return out;
  }

  testing::ManualClock clock_;
  MemoryStore store_{&clock_};
  Registry registry_;
  std::unique_ptr<Engine> engine_;
  FakeIgor igor_;
};

TEST_F(CiStagesTest, BuildSucceedsWithBuildInfoPropertiesAndArtifacts) {
  Build(&igor_);
  igor_.properties = {{"VERSION", "1.2.3"}, {"image", "demo:1.2.3"}};
  igor_.artifacts = Json::array(
      {{{"type", "docker/image"}, {"name", "demo"}, {"version", "1.2.3"}}});
  std::string id = Start(JenkinsStage(), /*with_next=*/true);
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  Json build = ByName(e, "Build");
  EXPECT_EQ(TaskNames(build), (std::vector<std::string>{
                                  "startJenkinsJob", "waitForJenkinsJobStart",
                                  "monitorJenkinsJob", "getBuildProperties",
                                  "getBuildArtifacts"}));
  const Json& ctx = build["context"];
  EXPECT_EQ(String(ctx, "queuedBuild"), "1001");
  EXPECT_EQ(Int(ctx, "buildNumber"), 42);
  EXPECT_EQ(Int(ctx["buildInfo"], "number"), 42);
  EXPECT_EQ(String(ctx["buildInfo"], "result"), "SUCCESS");
  EXPECT_EQ(String(ctx, "VERSION"), "1.2.3");
  EXPECT_EQ(ctx["propertyFileContents"], igor_.properties);
  const Json& out = build["outputs"];
  EXPECT_EQ(Int(out["buildInfo"], "number"), 42);
  EXPECT_EQ(String(out, "image"), "demo:1.2.3");
  EXPECT_EQ(out["propertyFileContents"], igor_.properties);
  EXPECT_EQ(out["artifacts"], igor_.artifacts);
  EXPECT_EQ(igor_.property_files, std::vector<std::string>{"build.properties"});

  // Later stages read the build as Spinnaker pipelines do.
  Json after = ByName(e, "After");
  Json failures = Json::array();
  auto v = engine_->Evaluate(
      id, String(after, "id"),
      Json{{"n", "${#stage('Build')['context']['buildInfo']['number']}"},
           {"url", "${#stage('Build')['outputs']['buildInfo']['url']}"},
           {"version", "${VERSION}"}},
      &failures);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)["n"], 42) << Dump(failures);
  EXPECT_EQ(String(*v, "url"), "http://ci/job/app-build/42");
  EXPECT_EQ(String(*v, "version"), "1.2.3");
}

TEST_F(CiStagesTest, ParametersAreSentAsTextWithAStableIdempotencyKey) {
  Build(&igor_);
  igor_.properties = {{"a", "b"}};
  std::string id = Start(JenkinsStage());
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  ASSERT_EQ(igor_.triggers.size(), 1u);
  const CiBuildRequest& r = igor_.triggers[0];
  EXPECT_EQ(r.master, "ci");
  EXPECT_EQ(r.job, "app-build");
  EXPECT_EQ(r.parameters,
            (std::map<std::string, std::string>{{"APP", "demo"},
                                                {"BRANCH", "main"},
                                                {"COUNT", "3"},
                                                {"DEBUG", "true"}}));
  Json build = ByName(e, "Build");
  EXPECT_EQ(r.idempotency_key, id + ":" + String(build, "id") + ":" +
                                   std::to_string(Int(build, "startTime")));
  EXPECT_EQ(r.execution_id, id);
  EXPECT_EQ(r.execution_type, "PIPELINE");
  EXPECT_EQ(r.application, "demo");
}

TEST_F(CiStagesTest, PendingAndTransientFailuresAreAskedAgainWithTheSameKey) {
  Build(&igor_);
  igor_.trigger_failures = 2;
  igor_.pending_answers = 2;
  igor_.properties = {{"a", "b"}};
  std::string id = Start(JenkinsStage());
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  ASSERT_EQ(igor_.triggers.size(), 5u);
  for (const CiBuildRequest& r : igor_.triggers) {
    EXPECT_EQ(r.idempotency_key, igor_.triggers[0].idempotency_key);
  }
  EXPECT_EQ(igor_.queued.size(), 1u);
  // The transient error is cleared once the build is queued.
  EXPECT_TRUE(ByName(e, "Build")["context"]["lastIgorError"].is_null());
}

TEST_F(CiStagesTest, UnstableFailsUnlessMarkedSuccessful) {
  Build(&igor_);
  igor_.result = "UNSTABLE";
  igor_.properties = {{"a", "b"}};
  std::string failed = Start(JenkinsStage());
  Run();
  Json e = Get(failed);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  Json build = ByName(e, "Build");
  EXPECT_EQ(String(build, "status"), "TERMINAL");
  EXPECT_EQ(String(build["outputs"]["buildInfo"], "result"), "UNSTABLE");
  EXPECT_NE(Error(build).find("UNSTABLE"), std::string::npos);

  std::string passed =
      Start(JenkinsStage({{"markUnstableAsSuccessful", true}}));
  Run();
  EXPECT_EQ(String(Get(passed), "status"), "SUCCEEDED") << Dump(Get(passed));
}

TEST_F(CiStagesTest, FailedAndAbortedBuilds) {
  Build(&igor_);
  igor_.result = "FAILURE";
  std::string failed = Start(JenkinsStage());
  Run();
  Json build = ByName(Get(failed), "Build");
  EXPECT_EQ(String(build, "status"), "TERMINAL");
  EXPECT_EQ(String(build["context"]["buildInfo"], "result"), "FAILURE");
  // The property file is read by the after-stage of the failure (empty
  // here: it fails too, and the stage stays TERMINAL).
  EXPECT_EQ(igor_.property_files, std::vector<std::string>{"build.properties"});
  Json tried = ByName(Get(failed), "Try to get properties file");
  ASSERT_TRUE(tried.is_object()) << Dump(Get(failed));
  EXPECT_EQ(String(tried, "type"), "getProperties");
  EXPECT_EQ(String(tried, "parentStageId"), String(build, "id"));
  EXPECT_EQ(Int(tried["context"], "buildNumber"), 42);
  EXPECT_EQ(String(Get(failed), "status"), "TERMINAL");

  igor_.result = "ABORTED";
  igor_.properties = {{"FAILED_TESTS", "3"}};
  std::string aborted = Start(JenkinsStage());
  Run();
  Json e = Get(aborted);
  EXPECT_EQ(String(ByName(e, "Build"), "status"), "CANCELED") << Dump(e);
  EXPECT_EQ(String(e, "status"), "CANCELED");
  // An aborted build is not a failure that reads properties (Spinnaker
  // plans them for TERMINAL, STOPPED and FAILED_CONTINUE only).
  EXPECT_FALSE(ByName(e, "Try to get properties file").is_object());
}

TEST_F(CiStagesTest, UnknownResultsKeepPolling) {
  Build(&igor_);
  igor_.result = "NOT_BUILT";
  std::string id = Start(JenkinsStage());
  Run(10 * kMin);
  Json build = ByName(Get(id), "Build");
  EXPECT_EQ(String(build, "status"), "RUNNING");
  EXPECT_GT(igor_.build_reads, 10);
}

TEST_F(CiStagesTest, RefusalsFailTheStageWithIgorsMessage) {
  Build(&igor_);
  igor_.trigger_error =
      absl::FailedPreconditionError("Job 'app-build' is not buildable");
  std::string id = Start(JenkinsStage());
  Run();
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_EQ(Error(ByName(e, "Build")), "Job 'app-build' is not buildable");
  EXPECT_EQ(igor_.triggers.size(), 1u);
  // No build, no property file to look for.
  EXPECT_TRUE(igor_.property_files.empty());
  EXPECT_EQ(e["stages"].size(), 1u);
}

TEST_F(CiStagesTest, AQueueItemCancelledInTheCiCancelsTheStage) {
  Build(&igor_);
  igor_.cancel_in_queue = true;
  std::string id = Start(JenkinsStage());
  Run();
  Json build = ByName(Get(id), "Build");
  EXPECT_EQ(String(build, "status"), "CANCELED");
  EXPECT_NE(Error(build).find("cancelled"), std::string::npos);
}

TEST_F(CiStagesTest, CancelingTheExecutionStopsTheBuild) {
  Build(&igor_);
  igor_.building_polls = 1000000;
  std::string id = Start(JenkinsStage());
  Run(2 * kMin);
  ASSERT_EQ(String(ByName(Get(id), "Build"), "status"), "RUNNING");
  ASSERT_GT(igor_.build_reads, 0);
  ASSERT_TRUE(engine_->Cancel(id, "alice", "wrong branch").ok());
  Run(kMin);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "CANCELED");
  ASSERT_EQ(igor_.stops.size(), 1u);
  EXPECT_EQ(igor_.stops[0], "ci/app-build/1001/42");
}

TEST_F(CiStagesTest, WithoutWaitingTheStageEndsOnceTheBuildStarted) {
  Build(&igor_);
  igor_.building_polls = 1000000;
  std::string id = Start(JenkinsStage({{"waitForCompletion", false}}));
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  Json build = ByName(e, "Build");
  EXPECT_EQ(
      TaskNames(build),
      (std::vector<std::string>{"startJenkinsJob", "waitForJenkinsJobStart"}));
  EXPECT_EQ(Int(build["context"], "buildNumber"), 42);
  EXPECT_EQ(igor_.build_reads, 0);
}

TEST_F(CiStagesTest, AStageMayPollFasterThanTheDefault) {
  Build(&igor_);  // polls every 500 ms
  igor_.building_polls = 10;
  igor_.properties = {{"a", "b"}};
  std::string slow = Start(JenkinsStage());
  Run();
  std::string fast = Start(JenkinsStage({{"pollIntervalMs", 150}}));
  Run();
  auto took = [&](const std::string& id) {
    Json b = ByName(Get(id), "Build");
    return Int(b, "endTime") - Int(b, "startTime");
  };
  EXPECT_GE(took(slow), 10 * 500);
  EXPECT_LT(took(fast), 10 * 500 / 2);
  EXPECT_EQ(String(Get(fast), "status"), "SUCCEEDED");
}

TEST_F(CiStagesTest, TravisReadsItsDefaultPropertyFileAndAcceptsNone) {
  Build(&igor_);
  Json stage = JenkinsStage();
  stage["type"] = "travis";
  stage.erase("propertyFile");
  std::string id = Start(stage);
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  EXPECT_EQ(TaskNames(ByName(e, "Build"))[0], "startTravisJob");
  EXPECT_EQ(igor_.property_files, std::vector<std::string>{"travis"});
}

TEST_F(CiStagesTest, AMissingPropertyFileFailsJenkinsStages) {
  Build(&igor_);
  std::string id = Start(JenkinsStage());
  Run();
  Json build = ByName(Get(id), "Build");
  EXPECT_EQ(String(build, "status"), "TERMINAL");
  EXPECT_EQ(Error(build),
            "Expected properties file build.properties but it was either "
            "missing, empty or contained invalid syntax");

  igor_.properties_error = absl::UnavailableError("igor is restarting");
  std::string down = Start(JenkinsStage());
  Run();
  build = ByName(Get(down), "Build");
  EXPECT_EQ(String(build, "status"), "TERMINAL");
  EXPECT_EQ(Int(build["context"], "consecutiveErrors"), 5);
}

TEST_F(CiStagesTest, WithoutIgorTheStageFailsSayingSo) {
  Build(nullptr);
  std::string id = Start(JenkinsStage());
  Run();
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_NE(Error(ByName(e, "Build")).find("services.igor.address"),
            std::string::npos)
      << Dump(e);
}

// --- The real client against an in-process IgorService ----------------------

namespace iv1 = ::gennaker::igor::v1;

class FakeIgorService : public iv1::IgorService::Service {
 public:
  grpc::Status TriggerBuild(grpc::ServerContext*,
                            const iv1::TriggerBuildRequest* req,
                            iv1::TriggerBuildResponse* resp) override {
    absl::MutexLock l(&mu_);
    triggers.push_back(*req);
    if (triggers.size() == 1) {
      resp->set_state(iv1::TRIGGER_BUILD_STATE_PENDING);
    } else {
      resp->set_state(iv1::TRIGGER_BUILD_STATE_QUEUED);
      resp->set_queue_id("q-7");
    }
    return grpc::Status::OK;
  }
  grpc::Status GetQueuedBuild(grpc::ServerContext*,
                              const iv1::GetQueuedBuildRequest* req,
                              iv1::GetQueuedBuildResponse* resp) override {
    absl::MutexLock l(&mu_);
    if (req->queue_id() != "q-7") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such item");
    }
    resp->mutable_queued_build()->set_queue_id("q-7");
    if (++queue_reads > 1) resp->mutable_queued_build()->set_build_number(9);
    return grpc::Status::OK;
  }
  grpc::Status GetBuild(grpc::ServerContext*, const iv1::GetBuildRequest* req,
                        iv1::GetBuildResponse* resp) override {
    absl::MutexLock l(&mu_);
    iv1::Build* b = resp->mutable_build();
    b->set_master(req->build().master());
    b->set_job(req->build().job());
    b->set_number(req->build().build_number());
    b->set_url("http://jenkins/job/app/9/");
    b->set_timestamp_ms(1700000000000);
    b->set_full_display_name("app #9");
    if (++build_reads == 1 || keep_building) {
      b->set_building(true);
    } else {
      b->set_result(iv1::BUILD_RESULT_SUCCESS);
      b->set_duration_ms(4200);
      b->mutable_build_info()->set_json(
          R"({"genericGitRevisions":[{"sha1":"abc123","branch":"main"}],)"
          R"("testResults":[{"failCount":0,"totalCount":12}]})");
      iv1::BuildArtifact* a = b->add_artifacts();
      a->set_file_name("app.deb");
      a->set_relative_path("build/app.deb");
    }
    return grpc::Status::OK;
  }
  grpc::Status StopBuild(grpc::ServerContext*, const iv1::StopBuildRequest* req,
                         iv1::StopBuildResponse* resp) override {
    absl::MutexLock l(&mu_);
    stops.push_back(*req);
    resp->set_stopped(true);
    return grpc::Status::OK;
  }
  grpc::Status GetBuildProperties(
      grpc::ServerContext*, const iv1::GetBuildPropertiesRequest* req,
      iv1::GetBuildPropertiesResponse* resp) override {
    if (req->file_name() != "build.properties") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such file");
    }
    resp->mutable_properties()->set_json(R"({"VERSION":"2.0","replicas":3})");
    return grpc::Status::OK;
  }
  grpc::Status GetBuildArtifacts(
      grpc::ServerContext*, const iv1::GetBuildArtifactsRequest*,
      iv1::GetBuildArtifactsResponse* resp) override {
    common::v1::Artifact* a = resp->add_artifacts();
    a->set_type("deb");
    a->set_name("app");
    a->set_version("2.0");
    a->set_reference("http://jenkins/job/app/9/artifact/build/app.deb");
    a->mutable_metadata()->set_json(R"({"arch":"amd64"})");
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  std::vector<iv1::TriggerBuildRequest> triggers;
  std::vector<iv1::StopBuildRequest> stops;
  int queue_reads = 0;
  int build_reads = 0;
  bool keep_building = false;
};

TEST_F(CiStagesTest, TheGrpcClientCarriesTheBuildThroughIgor) {
  FakeIgorService service;
  grpc::ServerBuilder b;
  b.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  std::unique_ptr<Igor> igor =
      NewIgorGrpc(server->InProcessChannel(grpc::ChannelArguments()));
  Build(igor.get());
  std::string id = Start(JenkinsStage());
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  Json build = ByName(e, "Build");
  {
    absl::MutexLock l(&service.mu_);
    ASSERT_EQ(service.triggers.size(), 2u);  // PENDING, then QUEUED
    const iv1::TriggerBuildRequest& t = service.triggers[1];
    EXPECT_EQ(t.master(), "ci");
    EXPECT_EQ(t.job(), "app-build");
    EXPECT_EQ(t.parameters().at("COUNT"), "3");
    EXPECT_EQ(t.parameters().at("APP"), "demo");
    EXPECT_EQ(t.idempotency_key(), service.triggers[0].idempotency_key());
    EXPECT_EQ(t.execution().id(), id);
    EXPECT_EQ(t.execution().type(), common::v1::PIPELINE);
    EXPECT_EQ(t.execution().application(), "demo");
  }
  const Json& ctx = build["context"];
  EXPECT_EQ(String(ctx, "queuedBuild"), "q-7");
  EXPECT_EQ(Int(ctx, "buildNumber"), 9);
  const Json& info = build["outputs"]["buildInfo"];
  EXPECT_EQ(Int(info, "number"), 9);
  EXPECT_EQ(String(info, "result"), "SUCCESS");
  EXPECT_FALSE(Bool(info, "building", true));
  EXPECT_EQ(String(info, "url"), "http://jenkins/job/app/9/");
  EXPECT_EQ(String(info, "fullDisplayName"), "app #9");
  EXPECT_EQ(Int(info, "duration"), 4200);
  EXPECT_EQ(String(info["genericGitRevisions"][0], "sha1"), "abc123");
  EXPECT_EQ(String(info["artifacts"][0], "fileName"), "app.deb");
  EXPECT_EQ(String(ctx, "VERSION"), "2.0");
  EXPECT_EQ(Int(build["outputs"], "replicas"), 3);
  const Json& artifact = build["outputs"]["artifacts"][0];
  EXPECT_EQ(String(artifact, "type"), "deb");
  EXPECT_EQ(String(artifact, "version"), "2.0");
  EXPECT_EQ(String(artifact["metadata"], "arch"), "amd64");
  server->Shutdown();
}

TEST_F(CiStagesTest, TheGrpcClientStopsTheBuildOnCancel) {
  FakeIgorService service;
  service.keep_building = true;
  grpc::ServerBuilder b;
  b.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  std::unique_ptr<Igor> igor =
      NewIgorGrpc(server->InProcessChannel(grpc::ChannelArguments()));
  Build(igor.get());
  std::string id = Start(JenkinsStage());
  // Until the build number is known (the build is still building).
  for (int i = 0;
       i < 100 && Int(ByName(Get(id), "Build")["context"], "buildNumber") == 0;
       ++i) {
    Run(1000);
  }
  ASSERT_EQ(Int(ByName(Get(id), "Build")["context"], "buildNumber"), 9);
  ASSERT_TRUE(engine_->Cancel(id, "alice", "stop").ok());
  Run();
  EXPECT_EQ(String(Get(id), "status"), "CANCELED");
  absl::MutexLock l(&service.mu_);
  ASSERT_EQ(service.stops.size(), 1u);
  EXPECT_EQ(service.stops[0].queue_id(), "q-7");
  EXPECT_EQ(service.stops[0].build().build_number(), 9);
  EXPECT_EQ(service.stops[0].build().job(), "app-build");
  server->Shutdown();
}

}  // namespace
}  // namespace gennaker::orca
