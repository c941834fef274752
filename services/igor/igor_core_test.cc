// Unit tests of IgorCore and its gRPC adapter over an in-memory BuildService
// and SeenStore: master lookup, trigger rules and idempotency, property files
// in three formats, artifacts, and paging.
#include "services/igor/igor_core.h"

#include <thread>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/igor/ci/fake_build_service.h"
#include "services/igor/igor_grpc.h"

namespace gennaker::igor {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using spinnaker::Json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::JobConfig Config(const std::string& name, bool buildable = true) {
  v1::JobConfig c;
  c.set_name(name);
  c.set_buildable(buildable);
  return c;
}

v1::BuildKey Key(const std::string& job, int64_t n,
                 const std::string& master = "jenkins1") {
  v1::BuildKey k;
  k.set_master(master);
  k.set_job(job);
  k.set_build_number(n);
  return k;
}

class IgorCoreTest : public ::testing::Test {
 protected:
  IgorCoreTest() : store_(NewInMemorySeenStore()) {
    auto jenkins = std::make_unique<FakeBuildService>("jenkins1");
    auto travis = std::make_unique<FakeBuildService>(
        "travis1", v1::BUILD_SERVICE_TYPE_TRAVIS);
    jenkins_ = jenkins.get();
    travis_ = travis.get();
    jenkins_->AddJob(Config("plain"));
    jenkins_->AddJob(Config("disabled", false));
    v1::JobConfig p = Config("params");
    auto* env = p.add_parameter_definitions();
    env->set_name("ENV");
    env->set_type("ChoiceParameterDefinition");
    env->add_choices("dev");
    env->add_choices("prod");
    auto* sha = p.add_parameter_definitions();
    sha->set_name("GIT_SHA");
    jenkins_->AddJob(p);
    v1::Build b;
    b.set_job("plain");
    b.set_number(3);
    for (const char* f :
         {"build.properties", "out.yml", "out.json", "artifacts.yaml"}) {
      auto* a = b.add_artifacts();
      a->set_file_name(f);
      a->set_relative_path(std::string("dist/") + f);
    }
    jenkins_->PutBuild(b);
    jenkins_->PutArtifact("plain", 3, "dist/build.properties",
                          "sha=abc\nversion = 1.2\n");
    jenkins_->PutArtifact("plain", 3, "dist/out.yml", "sha: abc\nn: 2\n");
    jenkins_->PutArtifact("plain", 3, "dist/out.json", R"({"sha":"abc"})");
    jenkins_->PutArtifact(
        "plain", 3, "dist/artifacts.yaml",
        "artifacts:\n- {type: docker/image, name: gcr.io/p/app, version: "
        "v1, reference: 'gcr.io/p/app:v1'}\n- not-an-artifact\n");
    std::vector<MasterEntry> masters;
    MasterEntry j;
    j.info.set_name("jenkins1");
    j.info.set_type(v1::BUILD_SERVICE_TYPE_JENKINS);
    j.info.add_read_roles("dev");
    j.service = std::move(jenkins);
    MasterEntry t;
    t.info.set_name("travis1");
    t.info.set_type(v1::BUILD_SERVICE_TYPE_TRAVIS);
    t.service = std::move(travis);
    masters.push_back(std::move(t));
    masters.push_back(std::move(j));
    CoreOptions o;
    o.property_attempts = 2;
    o.property_retry_delay = absl::Milliseconds(1);
    o.docker_tags = [](const std::string& account, const std::string&) {
      std::vector<v1::DockerTag> tags;
      for (int i = 0; i < 3; ++i) {
        v1::DockerTag t;
        t.set_account(account);
        t.set_tag("v" + std::to_string(i));
        tags.push_back(t);
      }
      return tags;
    };
    core_ = std::make_unique<IgorCore>(std::move(masters), store_.get(), o);
  }

  v1::TriggerBuildRequest Trigger(const std::string& job,
                                  const std::string& key = "") {
    v1::TriggerBuildRequest r;
    r.set_master("jenkins1");
    r.set_job(job);
    r.set_idempotency_key(key);
    return r;
  }

  std::unique_ptr<SeenStore> store_;
  FakeBuildService* jenkins_;
  FakeBuildService* travis_;
  std::unique_ptr<IgorCore> core_;
};

TEST_F(IgorCoreTest, MastersSortedAndFiltered) {
  auto all = core_->ListMasters(v1::BUILD_SERVICE_TYPE_UNSPECIFIED);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name(), "jenkins1");
  EXPECT_THAT(all[0].read_roles(), ElementsAre("dev"));
  auto travis = core_->ListMasters(v1::BUILD_SERVICE_TYPE_TRAVIS);
  ASSERT_EQ(travis.size(), 1u);
  EXPECT_EQ(travis[0].name(), "travis1");
  EXPECT_THAT(core_->GetMaster("nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'nope'")));
  EXPECT_THAT(core_->GetMaster(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(core_->ListJobs("nope"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(IgorCoreTest, TriggerChecksTheJob) {
  EXPECT_THAT(core_->TriggerBuild(Trigger("disabled")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not buildable")));
  auto bad = Trigger("params");
  (*bad.mutable_parameters())["ENV"] = "staging";
  EXPECT_THAT(core_->TriggerBuild(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not one of its choices")));
  EXPECT_THAT(core_->TriggerBuild(Trigger("missing")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(jenkins_->triggers().empty());
  auto good = Trigger("params");
  (*good.mutable_parameters())["ENV"] = "prod";
  auto r = core_->TriggerBuild(good);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->state(), v1::TRIGGER_BUILD_STATE_QUEUED);
  EXPECT_EQ(r->queue_id(), "101");
  ASSERT_EQ(jenkins_->triggers().size(), 1u);
  EXPECT_EQ(jenkins_->triggers()[0].params.at("ENV"), "prod");
}

TEST_F(IgorCoreTest, TriggerIsIdempotentPerKey) {
  auto first = core_->TriggerBuild(Trigger("plain", "exec-1:stage-1:123"));
  ASSERT_THAT(first, IsOk());
  auto again = core_->TriggerBuild(Trigger("plain", "exec-1:stage-1:123"));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->state(), v1::TRIGGER_BUILD_STATE_QUEUED);
  EXPECT_EQ(again->queue_id(), first->queue_id());
  EXPECT_EQ(jenkins_->triggers().size(), 1u);
  auto other = core_->TriggerBuild(Trigger("plain", "exec-2:stage-1:123"));
  ASSERT_THAT(other, IsOk());
  EXPECT_NE(other->queue_id(), first->queue_id());
  EXPECT_EQ(jenkins_->triggers().size(), 2u);
}

TEST_F(IgorCoreTest, RepeatWhileInFlightIsPending) {
  // The first attempt is held inside the CI call until the repeat is done:
  // no timing involved.
  jenkins_->HoldTriggers();
  absl::StatusOr<v1::TriggerBuildResponse> first;
  std::thread t([&] { first = core_->TriggerBuild(Trigger("plain", "k")); });
  jenkins_->AwaitTriggersEntered(1);
  auto second = core_->TriggerBuild(Trigger("plain", "k"));
  jenkins_->ReleaseTriggers();
  t.join();
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->state(), v1::TRIGGER_BUILD_STATE_PENDING);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->state(), v1::TRIGGER_BUILD_STATE_QUEUED);
  EXPECT_EQ(jenkins_->triggers().size(), 1u);
  auto third = core_->TriggerBuild(Trigger("plain", "k"));
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(third->queue_id(), first->queue_id());
}

TEST_F(IgorCoreTest, FailedAttemptCanBeRetried) {
  jenkins_->SetDown(true);
  EXPECT_THAT(core_->TriggerBuild(Trigger("plain", "k")),
              StatusIs(absl::StatusCode::kUnavailable));
  jenkins_->SetDown(false);
  auto r = core_->TriggerBuild(Trigger("plain", "k"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->state(), v1::TRIGGER_BUILD_STATE_QUEUED);
  EXPECT_EQ(jenkins_->triggers().size(), 1u);
}

// The CI queued the build but its answer was lost (a timeout or reset after
// the POST, an answer without a queue id): orca's retries with the same key
// must never queue a second one.
TEST_F(IgorCoreTest, AmbiguousOutcomeIsNeverTriggeredAgain) {
  int n = 0;
  for (const absl::Status& lost :
       {absl::DeadlineExceededError("POST http://ci.test/: timed out"),
        absl::UnavailableError("POST http://ci.test/: Connection reset"),
        absl::FailedPreconditionError("accepted without a queue id")}) {
    SCOPED_TRACE(lost.ToString());
    const std::string key = "exec:stage:" + std::to_string(++n);
    jenkins_->SetTriggerLostAnswer(lost);
    const size_t before = jenkins_->triggers().size();
    EXPECT_THAT(core_->TriggerBuild(Trigger("plain", key)),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr(lost.message()),
                               HasSubstr("may have queued the build"),
                               HasSubstr("http://ci.test/job/plain"))));
    jenkins_->SetTriggerLostAnswer(absl::OkStatus());
    for (int i = 0; i < 3; ++i) {
      EXPECT_THAT(core_->TriggerBuild(Trigger("plain", key)),
                  StatusIs(absl::StatusCode::kFailedPrecondition,
                           HasSubstr("may have queued the build")));
    }
    EXPECT_EQ(jenkins_->triggers().size(), before + 1);
  }
  // Without a key the answer is the same (a caller's retry would queue).
  jenkins_->SetTriggerLostAnswer(absl::DeadlineExceededError("timed out"));
  EXPECT_THAT(core_->TriggerBuild(Trigger("plain")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("may have queued the build")));
}

TEST_F(IgorCoreTest, PropertiesInThreeFormats) {
  auto p = core_->GetBuildProperties(Key("plain", 3), "build.properties");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ((*p)["sha"], "abc");
  EXPECT_EQ((*p)["version"], "1.2");
  auto y = core_->GetBuildProperties(Key("plain", 3), "out.yml");
  ASSERT_THAT(y, IsOk());
  EXPECT_EQ((*y)["n"], 2);
  auto j = core_->GetBuildProperties(Key("plain", 3), "out.json");
  ASSERT_THAT(j, IsOk());
  EXPECT_EQ((*j)["sha"], "abc");
  EXPECT_THAT(core_->GetBuildProperties(Key("plain", 3), "nope.properties"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
  EXPECT_THAT(core_->GetBuildProperties(Key("plain", 0), "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(core_->GetBuildProperties(Key("plain", 9), "x"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(IgorCoreTest, ArtifactsFromAPropertyFile) {
  auto a = core_->GetBuildArtifacts(Key("plain", 3), "artifacts.yaml");
  ASSERT_THAT(a, IsOk());
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].type(), "docker/image");
  EXPECT_EQ((*a)[0].reference(), "gcr.io/p/app:v1");
  auto none = core_->GetBuildArtifacts(Key("plain", 3), "");
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->empty());
  EXPECT_THAT(core_->GetBuildArtifacts(Key("plain", 8), ""),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(IgorCoreTest, StopAndDescribeValidate) {
  EXPECT_THAT(core_->StopBuild(Key("plain", 0), ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto stopped = core_->StopBuild(Key("plain", 3), "");
  ASSERT_THAT(stopped, IsOk());
  EXPECT_FALSE(*stopped);
  EXPECT_THAT(core_->UpdateBuildDescription(Key("plain", 3), "<a>run</a>"),
              IsOk());
  EXPECT_THAT(
      core_->UpdateBuildDescription(Key("plain", 3), std::string(70000, 'x')),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(IgorCoreTest, GrpcPagesAndMapsErrors) {
  auto svc = NewIgorGrpcService(core_.get());
  v1::ListJobsRequest req;
  req.set_master("jenkins1");
  req.mutable_page()->set_page_size(2);
  v1::ListJobsResponse resp;
  ASSERT_TRUE(svc->ListJobs(nullptr, &req, &resp).ok());
  EXPECT_THAT(resp.jobs(), ElementsAre("disabled", "params"));
  EXPECT_EQ(resp.page().next_page_token(), "2");
  EXPECT_EQ(resp.page().total_size(), 3);
  req.mutable_page()->set_page_token("2");
  v1::ListJobsResponse resp2;
  ASSERT_TRUE(svc->ListJobs(nullptr, &req, &resp2).ok());
  EXPECT_THAT(resp2.jobs(), ElementsAre("plain"));
  EXPECT_TRUE(resp2.page().next_page_token().empty());

  v1::GetBuildRequest gb;
  *gb.mutable_build() = Key("plain", 99);
  v1::GetBuildResponse gbr;
  EXPECT_EQ(svc->GetBuild(nullptr, &gb, &gbr).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::GetBuildPropertiesRequest pr;
  *pr.mutable_build() = Key("plain", 3);
  pr.set_file_name("out.json");
  v1::GetBuildPropertiesResponse prr;
  ASSERT_TRUE(svc->GetBuildProperties(nullptr, &pr, &prr).ok());
  EXPECT_EQ(Json::parse(prr.properties().json())["sha"], "abc");

  v1::ListSeenDockerTagsRequest dr;
  dr.set_account("hub");
  dr.mutable_page()->set_page_size(2);
  v1::ListSeenDockerTagsResponse drr;
  ASSERT_TRUE(svc->ListSeenDockerTags(nullptr, &dr, &drr).ok());
  ASSERT_EQ(drr.tags_size(), 2);
  EXPECT_EQ(drr.tags(0).account(), "hub");
  EXPECT_EQ(drr.page().next_page_token(), "2");
}

}  // namespace
}  // namespace gennaker::igor
