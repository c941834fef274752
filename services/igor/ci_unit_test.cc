// Unit tests of igor's CI pieces without servers: job paths, property-file
// parsing, and the build monitor's cursor algorithm over an in-memory
// BuildService and SeenStore.
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/igor/ci/build_monitor.h"
#include "services/igor/ci/build_service.h"
#include "services/igor/ci/ci_http.h"
#include "services/igor/ci/fake_build_service.h"
#include "services/igor/ci/properties.h"
#include "services/igor/polling.h"

namespace gennaker::igor {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using spinnaker::Json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(JenkinsJobPathTest, EncodesEachSegment) {
  EXPECT_EQ(*JenkinsJobPath("app"), "job/app");
  EXPECT_EQ(*JenkinsJobPath("team/job/my app"), "job/team/job/my%20app");
  EXPECT_EQ(*JenkinsJobPath("a%b"), "job/a%25b");
  EXPECT_THAT(JenkinsJobPath(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(JenkinsJobPath("a//b"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(JenkinsJobPath("a/job/.."),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CiHttpTest, OnlyFailuresBeforeTheConnectionAreNotQueued) {
  using internal::IsNotQueued;
  using internal::PostTransportError;
  EXPECT_TRUE(IsNotQueued(PostTransportError(absl::UnavailableError(
      "jenkins master 'j' (http://x/) is unreachable: POST http://x/: "
      "Couldn't connect to server"))));
  EXPECT_TRUE(IsNotQueued(PostTransportError(
      absl::UnavailableError("POST http://x/: Could not resolve host name"))));
  // Sent, then lost: ambiguous.
  EXPECT_FALSE(IsNotQueued(PostTransportError(
      absl::DeadlineExceededError("POST http://x/: timed out"))));
  EXPECT_FALSE(IsNotQueued(PostTransportError(absl::UnavailableError(
      "POST http://x/: Failure when receiving data from the peer"))));
  EXPECT_FALSE(IsNotQueued(PostTransportError(absl::UnavailableError(
      "POST http://x/: Server returned nothing (no headers, no data)"))));
  const absl::Status marked =
      internal::NotQueued(absl::NotFoundError("job 'x' not found"));
  EXPECT_TRUE(IsNotQueued(marked));
  EXPECT_EQ(marked.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(marked.message(), "job 'x' not found");
  EXPECT_FALSE(IsNotQueued(absl::NotFoundError("job 'x' not found")));
}

TEST(CiHttpTest, HostileTimesSaturate) {
  EXPECT_EQ(internal::SecondsToDurationMs(90), 90000);
  EXPECT_EQ(internal::SecondsToDurationMs(-5), 0);
  EXPECT_EQ(internal::SecondsToDurationMs(INT64_MAX / 1000 + 1),
            internal::kMaxCiDurationMs);
  EXPECT_EQ(internal::SecondsToDurationMs(INT64_MAX),
            internal::kMaxCiDurationMs);
  EXPECT_EQ(internal::SaneDurationMs(INT64_MIN), 0);
  EXPECT_EQ(internal::SaneDurationMs(INT64_MAX), internal::kMaxCiDurationMs);
  EXPECT_EQ(internal::SaneTimestampMs(1700000000000), 1700000000000);
  EXPECT_EQ(internal::SaneTimestampMs(INT64_MAX), 0);
  EXPECT_EQ(internal::SaneTimestampMs(INT64_MIN), 0);
}

TEST(ResultTest, NamesRoundTrip) {
  for (auto r : {v1::BUILD_RESULT_SUCCESS, v1::BUILD_RESULT_UNSTABLE,
                 v1::BUILD_RESULT_FAILURE, v1::BUILD_RESULT_ABORTED,
                 v1::BUILD_RESULT_NOT_BUILT}) {
    EXPECT_EQ(ResultFromName(ResultName(r)), r);
  }
  EXPECT_EQ(ResultFromName("BUILDING"), v1::BUILD_RESULT_UNSPECIFIED);
}

TEST(PropertiesTest, JavaProperties) {
  const Json p = ParseJavaProperties(
      "# comment\n! also a comment\n"
      "a=1\n"
      "b : two words\n"
      "c value with spaces\n"
      "long=first \\\n    second\n"
      "esc=tab\\there\\u0041\n"
      "key\\=with\\:seps=x\n"
      "empty=\n"
      "windows=crlf\r\n");
  EXPECT_EQ(p["a"], "1");
  EXPECT_EQ(p["b"], "two words");
  EXPECT_EQ(p["c"], "value with spaces");
  EXPECT_EQ(p["long"], "first second");
  EXPECT_EQ(p["esc"], "tab\thereA");
  EXPECT_EQ(p["key=with:seps"], "x");
  EXPECT_EQ(p["empty"], "");
  EXPECT_EQ(p["windows"], "crlf");
}

TEST(PropertiesTest, YamlKeepsTypes) {
  auto p = ParseBuildProperties(
      "out.yml",
      "sha: abc\ncount: 3\nratio: 0.5\nok: true\nquoted: '42'\n"
      "list: [1, two]\nnested: {a: null}\n");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ((*p)["sha"], "abc");
  EXPECT_EQ((*p)["count"], 3);
  EXPECT_EQ((*p)["ratio"], 0.5);
  EXPECT_EQ((*p)["ok"], true);
  EXPECT_EQ((*p)["quoted"], "42");
  EXPECT_EQ((*p)["list"], Json::parse("[1, \"two\"]"));
  EXPECT_TRUE((*p)["nested"]["a"].is_null());
  EXPECT_THAT(ParseBuildProperties("x.yaml", "- a\n- b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("map")));
  EXPECT_THAT(ParseBuildProperties("x.yaml", "a: [b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PropertiesTest, YamlAliasBombIsBounded) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string prev = "a";
  for (int i = 0; i < 8; ++i) {
    const std::string name = "l" + std::to_string(i);
    bomb += name + ": &" + name + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = name;
  }
  EXPECT_THAT(ParseBuildProperties("bomb.yml", bomb),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expands to more than 200000 values")));
}

// Few nodes, big bytes: one anchored 64 KiB scalar repeated by 200 aliases
// is 12.5 MiB of output from a 65 KiB file (a 4 MiB file would give
// hundreds of GiB): the byte budget refuses it.
TEST(PropertiesTest, YamlAliasesOfABigScalarAreBoundedInBytes) {
  std::string bomb = "a: &a " + std::string(64 << 10, 'x') + "\nb: [";
  for (int i = 0; i < 200; ++i) bomb += i ? ", *a" : "*a";
  bomb += "]\n";
  ASSERT_LT(bomb.size(), 70u << 10);
  EXPECT_THAT(ParseBuildProperties("bomb.yaml", bomb),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("bomb.yaml"), HasSubstr("8 MiB"))));
  // Big keys count too.
  std::string keys =
      "k: &k\n  ? " + std::string(64 << 10, 'y') + "\n  : 1\nl: [";
  for (int i = 0; i < 200; ++i) keys += i ? ", *k" : "*k";
  keys += "]\n";
  EXPECT_THAT(ParseBuildProperties("keys.yml", keys),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("MiB")));
  // Aliases within the budget are fine.
  auto ok = ParseBuildProperties("ok.yml", "a: &a v1\nb: *a\nc: [*a, *a]\n");
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ((*ok)["b"], "v1");
  EXPECT_EQ((*ok)["c"], Json::parse(R"(["v1","v1"])"));
}

TEST(PropertiesTest, JsonMustBeAnObject) {
  auto p = ParseBuildProperties("p.json", R"({"a": 1, "b": [true]})");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ((*p)["a"], 1);
  EXPECT_THAT(ParseBuildProperties("p.json", "[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseBuildProperties("p.json", "{"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

class RecordingSink : public EventSink {
 public:
  absl::Status Post(const Json& event, const std::string& key) override {
    if (!fail.ok()) return fail;
    events.push_back(event);
    keys.push_back(key);
    return absl::OkStatus();
  }
  std::vector<Json> events;
  std::vector<std::string> keys;
  absl::Status fail;
};

v1::Build MakeBuild(const std::string& job, int64_t n, int64_t ts,
                    bool building,
                    v1::BuildResult r = v1::BUILD_RESULT_SUCCESS) {
  v1::Build b;
  b.set_job(job);
  b.set_number(n);
  b.set_timestamp_ms(ts);
  b.set_building(building);
  if (!building) {
    b.set_result(r);
    b.set_duration_ms(10);
  }
  b.set_url("http://ci.test/job/" + job + "/" + std::to_string(n) + "/");
  v1::BuildArtifact* a = b.add_artifacts();
  a->set_file_name("out.properties");
  a->set_relative_path("build/out.properties");
  return b;
}

class BuildMonitorTest : public ::testing::Test {
 protected:
  BuildMonitorTest() : service_("ci1"), store_(NewInMemorySeenStore()) {
    v1::JobConfig c;
    c.set_name("app");
    service_.AddJob(c);
    service_.PutBuild(MakeBuild("app", 1, 1000, false));
  }
  std::unique_ptr<Monitor> Make(BuildMonitorOptions o = {}) {
    return NewBuildMonitor(&service_, store_.get(), &sink_, o);
  }
  FakeBuildService service_;
  std::unique_ptr<SeenStore> store_;
  RecordingSink sink_;
};

TEST_F(BuildMonitorTest, FirstPollOnlyRecordsTheCursor) {
  auto m = Make();
  EXPECT_EQ(m->name(), "jenkins:ci1");
  ASSERT_THAT(m->Poll(), IsOk());
  EXPECT_TRUE(sink_.events.empty());
  auto cursor = store_->HashGet("ci1:APP:app", "lastPollCycleTimestamp");
  ASSERT_THAT(cursor, IsOk());
  EXPECT_EQ(cursor->value_or(""), "1000");
  // Nothing changed: the job is skipped without reading its builds.
  ASSERT_THAT(m->Poll(), IsOk());
  EXPECT_EQ(service_.list_builds_calls(), 0);
}

TEST_F(BuildMonitorTest, OneEventPerCompletedBuildExactlyOnce) {
  auto m = Make();
  ASSERT_THAT(m->Poll(), IsOk());
  service_.PutBuild(MakeBuild("app", 2, 2000, false));
  service_.PutBuild(MakeBuild("app", 3, 3000, false, v1::BUILD_RESULT_FAILURE));
  ASSERT_THAT(m->Poll(), IsOk());
  ASSERT_EQ(sink_.events.size(), 2u);
  EXPECT_THAT(sink_.keys, ElementsAre("build:ci1:app:2", "build:ci1:app:3"));
  const Json& e = sink_.events[1];
  EXPECT_EQ(e["details"]["type"], "build");
  EXPECT_EQ(e["details"]["source"], "igor");
  EXPECT_EQ(e["content"]["master"], "ci1");
  EXPECT_EQ(e["content"]["type"], "jenkins");
  EXPECT_EQ(e["content"]["project"]["name"], "app");
  const Json& last = e["content"]["project"]["lastBuild"];
  EXPECT_EQ(last["number"], 3);
  EXPECT_EQ(last["result"], "FAILURE");
  EXPECT_EQ(last["building"], false);
  EXPECT_EQ(last["timestamp"], "3000");
  EXPECT_EQ(last["artifacts"][0]["relativePath"], "build/out.properties");
  ASSERT_THAT(m->Poll(), IsOk());
  EXPECT_EQ(sink_.events.size(), 2u);
  // A second monitor on the same store (a restart) sends nothing again.
  RecordingSink other;
  auto m2 = NewBuildMonitor(&service_, store_.get(), &other, {});
  ASSERT_THAT(m2->Poll(), IsOk());
  EXPECT_TRUE(other.events.empty());
}

TEST_F(BuildMonitorTest, RunningBuildHoldsTheCursorUntilItCompletes) {
  auto m = Make();
  ASSERT_THAT(m->Poll(), IsOk());
  service_.PutBuild(MakeBuild("app", 2, 2000, false));
  service_.PutBuild(MakeBuild("app", 3, 3000, true));
  ASSERT_THAT(m->Poll(), IsOk());
  EXPECT_THAT(sink_.keys, ElementsAre("build:ci1:app:2"));
  EXPECT_EQ(
      store_->HashGet("ci1:APP:app", "lastPollCycleTimestamp")->value_or(""),
      "1000");
  ASSERT_THAT(m->Poll(), IsOk());
  EXPECT_EQ(sink_.events.size(), 1u) << "build 2 is marked POSTED";
  service_.PutBuild(MakeBuild("app", 3, 3000, false));
  ASSERT_THAT(m->Poll(), IsOk());
  EXPECT_THAT(sink_.keys, ElementsAre("build:ci1:app:2", "build:ci1:app:3"));
  EXPECT_EQ(
      store_->HashGet("ci1:APP:app", "lastPollCycleTimestamp")->value_or(""),
      "3000");
  // The markers of the old cursor are gone.
  EXPECT_TRUE(
      store_->HashGetAll("ci1:APP:app:lastPollCycleTimestamp:1000")->empty());
}

TEST_F(BuildMonitorTest, JobFirstSeenAfterTheFirstPollIsReported) {
  auto m = Make();
  ASSERT_THAT(m->Poll(), IsOk());
  v1::JobConfig c;
  c.set_name("new");
  service_.AddJob(c);
  ASSERT_THAT(m->Poll(), IsOk());
  service_.PutBuild(MakeBuild("new", 1, 5000, false));
  ASSERT_THAT(m->Poll(), IsOk());
  EXPECT_THAT(sink_.keys, ElementsAre("build:ci1:new:1"));
  ASSERT_THAT(m->Poll(), IsOk());
  EXPECT_EQ(sink_.keys.size(), 1u);
}

TEST_F(BuildMonitorTest, FailedSendIsRetriedNextPoll) {
  auto m = Make();
  ASSERT_THAT(m->Poll(), IsOk());
  service_.PutBuild(MakeBuild("app", 2, 2000, false));
  sink_.fail = absl::UnavailableError("echo down");
  EXPECT_THAT(m->Poll(), StatusIs(absl::StatusCode::kUnavailable));
  sink_.fail = absl::OkStatus();
  ASSERT_THAT(m->Poll(), IsOk());
  EXPECT_THAT(sink_.keys, ElementsAre("build:ci1:app:2"));
}

TEST_F(BuildMonitorTest, DownMasterFailsThePoll) {
  auto m = Make();
  service_.SetDown(true);
  EXPECT_THAT(m->Poll(), StatusIs(absl::StatusCode::kUnavailable,
                                  HasSubstr("unreachable")));
  service_.SetDown(false);
  EXPECT_THAT(m->Poll(), IsOk());
}

TEST_F(BuildMonitorTest, HandleFirstBuildsAndThreshold) {
  service_.PutBuild(MakeBuild("app", 2, 2000, false));
  service_.PutBuild(MakeBuild("app", 3, 3000, false));
  BuildMonitorOptions o;
  o.handle_first_builds = true;
  o.item_upper_threshold = 2;
  auto m = Make(o);
  EXPECT_THAT(m->Poll(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                  HasSubstr("itemUpperThreshold")));
  EXPECT_TRUE(sink_.events.empty());
  o.item_upper_threshold = 10;
  auto m2 = Make(o);
  ASSERT_THAT(m2->Poll(), IsOk());
  EXPECT_EQ(sink_.events.size(), 3u);
}

TEST_F(BuildMonitorTest, EventsDisabledStillMovesTheCursor) {
  BuildMonitorOptions o;
  o.events_disabled = true;
  auto m = Make(o);
  ASSERT_THAT(m->Poll(), IsOk());
  service_.PutBuild(MakeBuild("app", 2, 2000, false));
  ASSERT_THAT(m->Poll(), IsOk());
  EXPECT_TRUE(sink_.events.empty());
  EXPECT_EQ(
      store_->HashGet("ci1:APP:app", "lastPollCycleTimestamp")->value_or(""),
      "2000");
}

TEST(BuildEventTest, TravisType) {
  v1::Build b = MakeBuild("org/app", 4, 5000, false);
  const Json e = BuildEvent("t1", v1::BUILD_SERVICE_TYPE_TRAVIS, b);
  EXPECT_EQ(e["content"]["type"], "travis");
  EXPECT_EQ(e["content"]["project"]["name"], "org/app");
}

}  // namespace
}  // namespace gennaker::igor
