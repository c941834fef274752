// The bake stage, findImageFromTags, findImageFromCluster's images and the
// deploy's choice of image, run by the engine (memory store, manual clock)
// against an in-memory rosco and clouddriver: per-region bakes and their
// deploymentDetails, reuse and rebake, rosco's failures, package artifacts,
// build info, cancel, and a deploy taking the upstream image.
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gennaker/rosco/v1/rosco.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/engine_test_util.h"
#include "services/orca/engine/memory_store.h"
#include "services/orca/launcher.h"
#include "services/orca/rosco_client.h"
#include "services/orca/stages/builtin_stages.h"
#include "services/orca/stages/fake_clouddriver.h"
#include "services/orca/stages/fake_rosco.h"

namespace gennaker::orca {
namespace {

constexpr int64_t kHourMs = 60 * 60 * 1000;

Json BakeStage(Json extra = Json::object(), const std::string& ref = "1") {
  Json s = {{"refId", ref},
            {"type", "bake"},
            {"name", "Bake"},
            {"cloudProviderType", "local"},
            {"package", "hello=1.0.0"},
            {"baseOs", "local"},
            {"baseLabel", "release"},
            {"extendedAttributes", {{"command", "usr/bin/hello {{port}}"}}}};
  for (auto it = extra.begin(); it != extra.end(); ++it) s[it.key()] = *it;
  return s;
}

// A local deploy of demo-web (one instance, no strategy) after `after`.
Json DeployStage(Json cluster_extra = Json::object(),
                 const std::string& ref = "2",
                 std::vector<std::string> after = {"1"}) {
  Json cluster = {{"application", "demo"},
                  {"stack", "web"},
                  {"credentials", "local"},
                  {"cloudProvider", "local"},
                  {"availabilityZones", {{"localhost", {"localhost"}}}},
                  {"capacity", {{"min", 1}, {"max", 1}, {"desired", 1}}},
                  {"strategy", "none"}};
  for (auto it = cluster_extra.begin(); it != cluster_extra.end(); ++it) {
    cluster[it.key()] = *it;
  }
  return {{"refId", ref},
          {"type", "deploy"},
          {"name", "Deploy"},
          {"requisiteStageRefIds", after},
          {"clusters", Json::array({cluster})}};
}

Json Image(const std::string& id, const std::string& name, int64_t created,
           Json tags) {
  return {{"imageId", id},
          {"imageName", name},
          {"cloudProvider", "local"},
          {"accounts", {"local"}},
          {"regions", {"localhost"}},
          {"tags", std::move(tags)},
          {"createdAt", created}};
}

class BakeStagesTest : public ::testing::Test {
 protected:
  BakeStagesTest() { Build(&rosco_); }

  void Build(Rosco* rosco) {
    registry_ = std::make_unique<Registry>();
    StageDeps deps;
    deps.clouddriver = &cd_;
    deps.rosco = rosco;
    RegisterBuiltinStages(registry_.get(), deps);
    RegisterBakeStages(registry_.get(), deps);
    engine_ =
        std::make_unique<Engine>(&store_, registry_.get(), &clock_, nullptr);
  }

  // Starts a pipeline of `stages`; `edit` may change the execution document
  // before it is stored (e.g. artifacts the launcher would have bound).
  std::string Start(Json stages, Json trigger = Json::object(),
                    const std::function<void(Json&)>& edit = nullptr) {
    LaunchOptions o;
    o.now_ms = clock_.NowMs();
    o.user = "alice";
    auto exec = BuildPipelineExecution(
        {{"application", "demo"}, {"name", "bake"}, {"stages", stages}},
        trigger, o);
    EXPECT_TRUE(exec.ok()) << exec.status();
    if (!exec.ok()) return "";
    if (edit) edit(*exec);
    auto id = store_.Create(*exec, "", {StartMessage(*exec)});
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }

  void Run(int64_t horizon_ms = 2 * kHourMs) {
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
  static Json ByType(const Json& e, const std::string& type) {
    for (const Json& s : e["stages"]) {
      if (String(s, "type") == type) return s;
    }
    return nullptr;
  }
  static std::vector<std::string> Names(const Json& e) {
    std::vector<std::string> out;
    for (const Json& s : e["stages"]) out.push_back(String(s, "name"));
    return out;
  }
  static std::string Error(const Json& stage) {
    if (!stage.is_object() || !stage["context"].contains("exception")) {
      return "";
    }
    return String(stage["context"]["exception"]["details"], "error");
  }
  // The description of the n-th createServerGroup operation clouddriver ran.
  Json Created(int nth = 0) {
    for (const Json& op : cd_.executed) {
      if (String(op, "name") == "createServerGroup" && nth-- == 0) {
        return op["description"];
      }
    }
    return nullptr;
  }

  testing::ManualClock clock_;
  MemoryStore store_{&clock_};
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Engine> engine_;
  FakeRosco rosco_;
  FakeCloudDriver cd_;
};

TEST_F(BakeStagesTest, BakesEachRegionInParallelAndCollectsDeploymentDetails) {
  std::string id = Start({BakeStage({{"regions", {"localhost", "edge"}},
                                     {"customSetting", "on"},
                                     {"account", "local"}})});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  EXPECT_EQ(Names(e), (std::vector<std::string>{"Bake in localhost",
                                                "Bake in edge", "Bake"}));
  Json child = ByName(e, "Bake in localhost");
  const Json parent = ByName(e, "Bake");
  EXPECT_EQ(child["parentStageId"], parent["id"]);
  EXPECT_EQ(child["requisiteStageRefIds"], Json::array());  // parallel
  EXPECT_EQ(ByName(e, "Bake in edge")["requisiteStageRefIds"], Json::array());
  Json tasks = Json::array();
  for (const Json& t : child["tasks"]) tasks.push_back(t["name"]);
  EXPECT_EQ(tasks, Json({"createBake", "monitorBake", "completedBake",
                         "bindProducedArtifacts"}));
  EXPECT_EQ(parent["tasks"][0]["name"], "completeParallelBake");

  // One request per region, built from the context (the regions bake in
  // parallel: in either order).
  ASSERT_EQ(rosco_.calls.size(), 2u);
  if (rosco_.calls[0].region != "localhost") {
    std::swap(rosco_.calls[0], rosco_.calls[1]);
  }
  const RoscoBakeRequest& r = rosco_.calls[0].request;
  EXPECT_EQ(rosco_.calls[0].region, "localhost");
  EXPECT_EQ(rosco_.calls[1].region, "edge");
  EXPECT_EQ(r.package, "hello=1.0.0");
  EXPECT_EQ(r.cloud_provider_type, "local");
  EXPECT_EQ(r.base_os, "local");
  EXPECT_EQ(r.base_label, "release");
  EXPECT_EQ(r.account_name, "local");
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(r.spinnaker_execution_id, id);
  EXPECT_EQ(r.extended_attributes["command"], "usr/bin/hello {{port}}");
  EXPECT_EQ(r.additional_attributes, Json({{"custom_setting", "on"}}));
  EXPECT_FALSE(rosco_.calls[0].rebake);
  // The suffix is the bake stage's start, the same in every region.
  const std::string suffix = absl::FormatTime(
      "%Y%m%d%H%M%S", absl::FromUnixMillis(Int(parent, "startTime")),
      absl::UTCTimeZone());
  EXPECT_EQ(r.ami_suffix, suffix);
  EXPECT_EQ(rosco_.calls[1].request.ami_suffix, suffix);
  // Keyed by execution, stage and task: stable across redeliveries.
  EXPECT_EQ(rosco_.calls[0].idempotency_key,
            absl::StrCat(id, ":", String(child, "id"), ":1"));
  EXPECT_NE(rosco_.calls[0].idempotency_key, rosco_.calls[1].idempotency_key);

  // The child's results.
  const Json& c = child["context"];
  const std::string image_id = String(c, "imageId");
  EXPECT_TRUE(absl::StartsWith(image_id, "sha256:")) << image_id;
  EXPECT_EQ(String(c, "imageName"), "hello-all-" + suffix + "-local");
  EXPECT_EQ(String(c, "ami"), String(c, "imageName"));
  EXPECT_EQ(c["artifacts"][0]["type"], "local/image");
  EXPECT_EQ(c["artifacts"][0]["reference"], image_id);
  EXPECT_EQ(c["status"]["state"], "COMPLETED");
  EXPECT_EQ(c["status"]["result"], "SUCCESS");
  EXPECT_EQ(c["previouslyBaked"], false);
  EXPECT_EQ(child["outputs"]["imageId"], image_id);

  // The parent's deploymentDetails, one per region.
  const Json details = parent["outputs"]["deploymentDetails"];
  ASSERT_EQ(details.size(), 2u) << Dump(parent);
  EXPECT_EQ(details[0]["region"], "localhost");
  EXPECT_EQ(details[1]["region"], "edge");
  EXPECT_EQ(details[0]["imageId"], image_id);
  EXPECT_EQ(details[0]["cloudProvider"], "local");
  EXPECT_EQ(details[0]["package"], "hello=1.0.0");
  EXPECT_EQ(details[0]["baseOs"], "local");
  EXPECT_EQ(details[0]["cloudProviderType"], "local");
  EXPECT_EQ(details[0]["amiSuffix"], suffix);
  EXPECT_EQ(details[0]["baseLabel"], "release");
  EXPECT_NE(details[1]["imageId"], image_id);
  EXPECT_EQ(parent["context"]["deploymentDetails"], details);
  EXPECT_EQ(parent["outputs"]["artifacts"].size(), 2u);
  // Two regions: no single image for the parent.
  EXPECT_FALSE(parent["context"].contains("imageId"));
}

TEST_F(BakeStagesTest, LocalBakesDefaultToLocalhostAndExposeTheImage) {
  std::string id =
      Start({BakeStage(),
             {{"refId", "2"},
              {"type", "evaluateVariables"},
              {"requisiteStageRefIds", {"1"}},
              {"variables",
               {{{"key", "image"},
                 {"value", "${#stage('Bake')['context']['imageId']}"}}}}}});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  Json child = ByName(e, "Bake in localhost");
  ASSERT_TRUE(child.is_object()) << Dump(e);
  const std::string image_id = String(child["context"], "imageId");
  EXPECT_EQ(ByName(e, "Bake")["context"]["imageId"], image_id);
  EXPECT_EQ(ByType(e, "evaluateVariables")["outputs"]["image"], image_id);
}

TEST_F(BakeStagesTest, AnIdenticalBakeIsReusedAndRebakeBakesAgain) {
  std::string first = Start({BakeStage()});
  Run();
  std::string second = Start({BakeStage()});
  Run();
  Json a = ByName(Get(first), "Bake in localhost");
  Json b = ByName(Get(second), "Bake in localhost");
  ASSERT_EQ(String(Get(second), "status"), "SUCCEEDED");
  EXPECT_EQ(rosco_.bakes_started, 1);
  EXPECT_EQ(b["context"]["previouslyBaked"], true);
  EXPECT_EQ(b["context"]["imageId"], a["context"]["imageId"]);

  // rebake on the stage...
  std::string third = Start({BakeStage({{"rebake", true}})});
  Run();
  ASSERT_EQ(String(Get(third), "status"), "SUCCEEDED");
  ASSERT_EQ(rosco_.calls.size(), 3u);
  EXPECT_TRUE(rosco_.calls[2].rebake);
  EXPECT_EQ(rosco_.bakes_started, 2);
  Json c = ByName(Get(third), "Bake in localhost");
  EXPECT_EQ(c["context"]["previouslyBaked"], false);
  EXPECT_NE(c["context"]["imageId"], a["context"]["imageId"]);

  // ...or on the trigger.
  std::string fourth = Start({BakeStage()}, {{"rebake", true}});
  Run();
  ASSERT_EQ(String(Get(fourth), "status"), "SUCCEEDED");
  ASSERT_EQ(rosco_.calls.size(), 4u);
  EXPECT_TRUE(rosco_.calls[3].rebake);
  EXPECT_EQ(rosco_.bakes_started, 3);
}

TEST_F(BakeStagesTest, RoscosFailureMessageFailsTheStage) {
  rosco_.outcomes.push_back(
      {"COMPLETED", "FAILURE",
       "packer exited with 1: package hello version 9.9 not found"});
  std::string id = Start({BakeStage(), DeployStage()});
  Run();
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  Json child = ByName(e, "Bake in localhost");
  EXPECT_EQ(String(child, "status"), "TERMINAL");
  EXPECT_EQ(Error(child),
            "packer exited with 1: package hello version 9.9 not found");
  EXPECT_EQ(child["context"]["status"]["result"], "FAILURE");
  EXPECT_EQ(String(ByName(e, "Bake"), "status"), "TERMINAL");
  EXPECT_EQ(String(ByName(e, "Deploy"), "status"), "NOT_STARTED");
  EXPECT_TRUE(cd_.executed.empty());

  rosco_.outcomes.push_back({"CANCELED", "", ""});
  std::string canceled = Start({BakeStage({{"package", "other"}})});
  Run();
  Json ce = Get(canceled);
  EXPECT_EQ(String(ce, "status"), "TERMINAL");
  EXPECT_EQ(Error(ByName(ce, "Bake in localhost")),
            "bake status-2 was canceled");
}

TEST_F(BakeStagesTest, ABakeThatNeverEndsTimesOutAfterAnHour) {
  rosco_.polls_running = 1000000;  // never ends
  std::string id = Start({BakeStage()});
  Run(30 * 60 * 1000);
  Json child = ByName(Get(id), "Bake in localhost");
  ASSERT_EQ(String(child, "status"), "RUNNING");
  EXPECT_GT(rosco_.polls, 100);
  Run(2 * kHourMs);
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_EQ(String(ByName(e, "Bake in localhost"), "status"), "TERMINAL");
}

TEST_F(BakeStagesTest, CancelingTheExecutionCancelsTheBake) {
  rosco_.polls_running = 1000000;
  std::string id = Start({BakeStage()});
  Run(60 * 1000);
  ASSERT_GT(rosco_.polls, 0);
  ASSERT_TRUE(engine_->Cancel(id, "alice", "wrong version").ok());
  Run(60 * 1000);
  EXPECT_EQ(String(Get(id), "status"), "CANCELED");
  EXPECT_EQ(rosco_.canceled, std::vector<std::string>{"status-1"});
}

TEST_F(BakeStagesTest, BuildInfoComesFromTheTrigger) {
  Json trigger = {{"type", "jenkins"},
                  {"master", "ci"},
                  {"job", "hello"},
                  {"buildNumber", 12},
                  {"buildInfo",
                   {{"url", "http://jenkins:8080/job/hello/12/"},
                    {"name", "hello"},
                    {"number", 12},
                    {"artifacts",
                     {{{"fileName", "hello_1.0.0-12_all.deb"},
                       {"relativePath", "build/hello_1.0.0-12_all.deb"}},
                      {{"fileName", "hello-docs_1.0.0-12_all.deb"}}}},
                    {"scm", {{{"sha1", "c0ffee"}, {"branch", "main"}}}}}}};
  std::string id = Start({BakeStage({{"package", "hello"}})}, trigger);
  Run();
  ASSERT_EQ(String(Get(id), "status"), "SUCCEEDED") << Dump(Get(id));
  const RoscoBakeRequest& r = rosco_.calls.at(0).request;
  // The package is the build's file (not hello-docs).
  EXPECT_EQ(r.package, "hello_1.0.0-12_all");
  EXPECT_EQ(ByName(Get(id), "Bake in localhost")["context"]["bakePackageName"],
            "hello_1.0.0-12_all");
  // The stage's package stays as configured in the deployment details.
  EXPECT_EQ(
      ByName(Get(id), "Bake")["outputs"]["deploymentDetails"][0]["package"],
      "hello");
  EXPECT_EQ(r.build_info_url, "http://jenkins:8080/job/hello/12/");
  EXPECT_EQ(r.build_host, "http://jenkins:8080/");
  EXPECT_EQ(r.job, "hello");
  EXPECT_EQ(r.build_number, "12");
  EXPECT_EQ(r.commit_hash, "c0ffee");
  Json c = ByName(Get(id), "Bake in localhost")["context"];
  EXPECT_EQ(c["buildNumber"], "12");

  // A manual trigger's parameters.
  std::string manual =
      Start({BakeStage()},
            {{"type", "manual"},
             {"parameters",
              {{"buildNumber", "7"}, {"buildInfoUrl", "http://ci/b/7"}}}});
  Run();
  ASSERT_EQ(String(Get(manual), "status"), "SUCCEEDED");
  EXPECT_EQ(rosco_.calls.at(1).request.build_number, "7");
  EXPECT_EQ(rosco_.calls.at(1).request.build_info_url, "http://ci/b/7");
}

// A jenkins trigger whose build archived `files` (none: no "artifacts").
Json JenkinsTrigger(const std::vector<std::string>& files) {
  Json info = {
      {"url", "http://ci/job/hello/3/"}, {"name", "hello"}, {"number", 3}};
  if (!files.empty()) {
    info["artifacts"] = Json::array();
    for (const std::string& f : files) {
      info["artifacts"].push_back({{"fileName", f}});
    }
  }
  return {{"type", "jenkins"}, {"buildInfo", info}};
}

TEST_F(BakeStagesTest, PackagesAreTheBuiltFilesAsOrcasPackageInfoFindsThem) {
  // A child pipeline: the parent's jenkins trigger built the package; names
  // it does not build go to rosco as they are.
  Json parent = {{"trigger", JenkinsTrigger({"hello_2.0.0-3_amd64.deb"})}};
  std::string child =
      Start({BakeStage({{"package", "hello curl=7.0"}})},
            {{"type", "pipeline"}, {"parentExecution", parent}});
  Run();
  ASSERT_EQ(String(Get(child), "status"), "SUCCEEDED") << Dump(Get(child));
  EXPECT_EQ(rosco_.calls.at(0).request.package, "hello_2.0.0-3_amd64 curl=7.0");
  EXPECT_EQ(rosco_.calls.at(0).request.build_number, "3");

  // An RPM base OS: "-" and ".rpm".
  std::string rpm =
      Start({BakeStage({{"package", "hello"}, {"baseOs", "centos"}})},
            JenkinsTrigger({"hello-1.0-1.noarch.rpm"}));
  Run();
  ASSERT_EQ(String(Get(rpm), "status"), "SUCCEEDED") << Dump(Get(rpm));
  EXPECT_EQ(rosco_.calls.at(1).request.package, "hello-1.0-1.noarch");

  // A produced "deb" artifact named as the package gives its version.
  Json deb = {{"type", "deb"}, {"name", "hello"}, {"version", "4.0"}};
  std::string produced =
      Start({BakeStage({{"package", "hello"}})},
            {{"type", "manual"}, {"artifacts", Json::array({deb})}});
  Run();
  ASSERT_EQ(String(Get(produced), "status"), "SUCCEEDED")
      << Dump(Get(produced));
  EXPECT_EQ(rosco_.calls.at(2).request.package, "hello_4.0");

  // A package URL is passed on as it is.
  std::string url =
      Start({BakeStage({{"package", "https://repo/hello_1_all.deb"}})},
            JenkinsTrigger({"hello_9_all.deb"}));
  Run();
  ASSERT_EQ(String(Get(url), "status"), "SUCCEEDED");
  EXPECT_EQ(rosco_.calls.at(3).request.package, "https://repo/hello_1_all.deb");
  ASSERT_EQ(rosco_.calls.size(), 4u);

  // An upstream CI stage's build (its outputs.buildInfo) wins over the
  // trigger's when both built the same file.
  Json wait = {{"refId", "0"}, {"type", "wait"}, {"waitTime", 0}};
  std::string upstream =
      Start({wait, BakeStage({{"package", "hello"},
                              {"requisiteStageRefIds", Json::array({"0"})}})},
            JenkinsTrigger({"hello_9_all.deb"}), [](Json& exec) {
              exec["stages"][0]["outputs"]["buildInfo"] = {
                  {"url", "http://ci/job/build/5/"},
                  {"number", 5},
                  {"artifacts", {{{"fileName", "hello_9_all.deb"}}}}};
            });
  Run();
  ASSERT_EQ(String(Get(upstream), "status"), "SUCCEEDED")
      << Dump(Get(upstream));
  ASSERT_EQ(rosco_.calls.size(), 5u);
  EXPECT_EQ(rosco_.calls.at(4).request.package, "hello_9_all");
  EXPECT_EQ(rosco_.calls.at(4).request.build_number, "5");

  // Different files for one package: refused.
  std::string conflict =
      Start({wait, BakeStage({{"package", "hello"},
                              {"requisiteStageRefIds", Json::array({"0"})}})},
            JenkinsTrigger({"hello_8_all.deb"}), [](Json& exec) {
              exec["stages"][0]["outputs"]["buildInfo"] = {
                  {"artifacts", {{{"fileName", "hello_9_all.deb"}}}}};
            });
  Run();
  EXPECT_EQ(String(Get(conflict), "status"), "TERMINAL");
  EXPECT_EQ(Error(ByName(Get(conflict), "Bake in localhost")),
            "Found build artifact in both Jenkins stage (hello_9_all.deb) and "
            "Pipeline Trigger (hello_8_all.deb)");
  ASSERT_EQ(rosco_.calls.size(), 5u);

  // A Jenkins build that archived nothing fails the bake, rosco untouched.
  std::string none =
      Start({BakeStage({{"package", "hello"}})}, JenkinsTrigger({}));
  Run();
  Json n = Get(none);
  EXPECT_EQ(String(n, "status"), "TERMINAL");
  EXPECT_EQ(Error(ByName(n, "Bake in localhost")),
            "Jenkins job detected but no artifacts found, please archive the "
            "packages in your job and try again.");
  EXPECT_EQ(rosco_.calls.size(), 5u);
}

TEST_F(BakeStagesTest, PackageArtifactsAreTheBoundExpectedArtifacts) {
  const Json deb = {{"type", "embedded/base64"},
                    {"name", "hello_1.0.0_all.deb"},
                    {"reference", "ZGViIGJ5dGVz"}};
  std::string id = Start(
      {BakeStage({{"package", ""}, {"packageArtifactIds", {"pkg-1"}}})},
      Json::object(), [&](Json& exec) {
        exec["trigger"]["resolvedExpectedArtifacts"] =
            Json::array({{{"id", "pkg-1"},
                          {"matchArtifact",
                           {{"type", "embedded/base64"}, {"name", "hello_.*"}}},
                          {"boundArtifact", deb}}});
      });
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  ASSERT_EQ(rosco_.calls.size(), 1u);
  ASSERT_EQ(rosco_.calls[0].request.package_artifacts.size(), 1u);
  EXPECT_EQ(rosco_.calls[0].request.package_artifacts[0]["reference"],
            "ZGViIGJ5dGVz");
  EXPECT_EQ(rosco_.calls[0].request.package_artifacts[0]["name"],
            "hello_1.0.0_all.deb");

  std::string missing =
      Start({BakeStage({{"packageArtifactIds", {"pkg-1", "nope"}}})},
            Json::object(), [&](Json& exec) {
              exec["trigger"]["resolvedExpectedArtifacts"] =
                  Json::array({{{"id", "pkg-1"}, {"boundArtifact", deb}}});
            });
  Run();
  Json m = Get(missing);
  EXPECT_EQ(String(m, "status"), "TERMINAL");
  const std::string error = Error(ByName(m, "Bake in localhost"));
  EXPECT_TRUE(absl::StartsWith(error, "NOT_FOUND")) << error;
  EXPECT_NE(error.find("'nope'"), std::string::npos) << error;
  EXPECT_EQ(rosco_.calls.size(), 1u);  // nothing asked of rosco
}

TEST_F(BakeStagesTest, PackageArtifactsAreLookedUpAsTheStageSeesThem) {
  // Bound in the stage's own context (as Spinnaker's getBoundArtifactForStage
  // reads it first), not in the trigger.
  const Json deb = {{"type", "deb"},
                    {"name", "hello"},
                    {"version", "2.0.0"},
                    {"reference", "https://repo/hello_2.0.0_all.deb"}};
  std::string id = Start({BakeStage(
      {{"packageArtifactIds", {"pkg-2"}},
       {"resolvedExpectedArtifacts",
        Json::array({{{"id", "pkg-2"}, {"boundArtifact", deb}}})}})});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  ASSERT_EQ(rosco_.calls.size(), 1u);
  ASSERT_EQ(rosco_.calls[0].request.package_artifacts.size(), 1u);
  EXPECT_EQ(rosco_.calls[0].request.package_artifacts[0], deb);
}

TEST_F(BakeStagesTest, ExpectedArtifactsBindToTheBakedImage) {
  Json expected = {{"id", "baked"},
                   {"displayName", "the image"},
                   {"matchArtifact", {{"type", "local/image"}}}};
  std::string id =
      Start({BakeStage({{"expectedArtifacts", Json::array({expected})}})});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  const Json child = ByName(e, "Bake in localhost");
  const Json resolved = child["outputs"]["resolvedExpectedArtifacts"];
  ASSERT_EQ(resolved.size(), 1u) << Dump(child);
  EXPECT_EQ(resolved[0]["id"], "baked");
  EXPECT_EQ(resolved[0]["boundArtifact"]["reference"],
            child["context"]["imageId"]);

  // An expected artifact the bake did not produce fails the stage.
  expected["matchArtifact"] = {{"type", "docker/image"}};
  std::string unmatched =
      Start({BakeStage({{"expectedArtifacts", Json::array({expected})}}, "1")});
  Run();
  Json u = Get(unmatched);
  EXPECT_EQ(String(u, "status"), "TERMINAL");
  const Json uc = ByName(u, "Bake in localhost");
  EXPECT_EQ(uc["tasks"][3]["status"], "TERMINAL") << Dump(uc);
  EXPECT_FALSE(Error(uc).empty());
}

TEST_F(BakeStagesTest, WithoutRoscoTheStageSaysSo) {
  Build(nullptr);
  std::string id = Start({BakeStage()});
  Run();
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_NE(Error(ByName(e, "Bake")).find("rosco is not configured"),
            std::string::npos)
      << Dump(e);
}

TEST_F(BakeStagesTest, TooManyRegionsFailTheStageWithoutChildren) {
  // 64 distinct regions (repeats do not count) are planned; 65 are refused.
  Json regions = Json::array();
  for (int i = 0; i < 64; ++i) regions.push_back("r" + std::to_string(i));
  for (int i = 0; i < 1000; ++i) regions.push_back("r0");
  std::string ok = Start({BakeStage({{"regions", regions}})});
  regions.push_back("r64");
  std::string id = Start({BakeStage({{"regions", regions}})});
  Run();
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  EXPECT_EQ(e["stages"].size(), 1u) << "no child stages";
  EXPECT_NE(Error(ByName(e, "Bake")).find("names more than 64 regions"),
            std::string::npos)
      << Dump(e);
  Json planned = Get(ok);
  EXPECT_EQ(String(planned, "status"), "SUCCEEDED");
  // 64 children and the parent; no child carries the region list.
  ASSERT_EQ(planned["stages"].size(), 65u);
  for (const Json& s : planned["stages"]) {
    if (String(s, "name") == "Bake") continue;
    EXPECT_FALSE(s["context"].contains("regions")) << Dump(s);
    EXPECT_FALSE(String(s["context"], "region").empty());
  }
}

TEST_F(BakeStagesTest, TheDeployTakesTheUpstreamBakedImage) {
  std::string id = Start({BakeStage(), DeployStage()});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  const Json bake = ByName(e, "Bake in localhost")["context"];
  const Json d = Created();
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["imageId"], bake["imageId"]);
  EXPECT_EQ(d["imageName"], bake["imageName"]);
  EXPECT_FALSE(d.contains("command"));
  EXPECT_EQ(cd_.groups.at("demo-web-v000")["imageId"], bake["imageId"]);
}

TEST_F(BakeStagesTest, TheClustersOwnImageOrCommandWins) {
  std::string id =
      Start({BakeStage(), DeployStage({{"imageId", "sha256:explicit"}}),
             DeployStage({{"stack", "cmd"}, {"command", {"srv", "v1"}}}, "3")});
  Run();
  ASSERT_EQ(String(Get(id), "status"), "SUCCEEDED") << Dump(Get(id));
  EXPECT_EQ(cd_.groups.at("demo-web-v000")["imageId"], "sha256:explicit");
  EXPECT_FALSE(cd_.groups.at("demo-cmd-v000").contains("imageId"));
  EXPECT_EQ(cd_.groups.at("demo-cmd-v000")["launchConfig"]["command"],
            Json({"srv", "v1"}));
}

TEST_F(BakeStagesTest, TheDeployTakesTheBakedImageArtifactByExpectedId) {
  const Json expected = {{"id", "baked"},
                         {"displayName", "the image"},
                         {"matchArtifact", {{"type", "local/image"}}}};
  // The bake's image is bound to "baked"; the deploy names it, and the
  // artifact wins over the cluster's own (stale) image.
  std::string id =
      Start({BakeStage({{"expectedArtifacts", Json::array({expected})}}),
             DeployStage({{"imageArtifactId", "baked"},
                          {"imageId", "sha256:stale"},
                          {"imageName", "stale-1.0"}})});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  // The parent bake stage carries its regions' bindings downstream.
  const Json resolved =
      ByName(e, "Bake")["outputs"]["resolvedExpectedArtifacts"];
  ASSERT_EQ(resolved.size(), 1u) << Dump(ByName(e, "Bake"));
  const Json artifact = resolved[0]["boundArtifact"];
  EXPECT_EQ(artifact["type"], "local/image");
  const Json bake = ByName(e, "Bake in localhost")["context"];
  EXPECT_EQ(artifact["reference"], bake["imageId"]);
  const Json d = Created();
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["imageId"], artifact["reference"]);
  EXPECT_EQ(d["imageName"], artifact["name"]);
  EXPECT_EQ(d["imageName"], bake["imageName"]);
  EXPECT_EQ(d["imageArtifact"], artifact);
  EXPECT_EQ(cd_.groups.at("demo-web-v000")["imageId"], bake["imageId"]);
}

TEST_F(BakeStagesTest, AnArtifactBeatsTheClustersImageWhichBeatsTheBake) {
  const Json trigger_image = {{"type", "local/image"},
                              {"name", "hello-0.9.0-all-1-local"},
                              {"reference", "sha256:0909"}};
  auto bind = [&](Json& exec) {
    exec["trigger"]["resolvedExpectedArtifacts"] =
        Json::array({{{"id", "from-trigger"},
                      {"matchArtifact", {{"type", "local/image"}}},
                      {"boundArtifact", trigger_image}}});
  };
  // expectedArtifactId (another name of the same field), the inline
  // imageArtifact, the cluster's image, the upstream bake: in that order.
  std::string id =
      Start({BakeStage(),
             DeployStage({{"expectedArtifactId", "from-trigger"},
                          {"imageId", "sha256:explicit"}}),
             DeployStage({{"stack", "inline"},
                          {"imageArtifact",
                           {{"type", "local/image"},
                            {"name", "hello-0.8.0-all-1-local"},
                            {"reference", "sha256:0808"}}},
                          {"image", "hello-0.7"}},
                         "3"),
             DeployStage(
                 {{"stack", "explicit"}, {"imageId", "sha256:explicit"}}, "4"),
             // Deck keeps a stale imageArtifactId when the image source is
             // switched: only imageSource "artifact" (or none) reads it.
             DeployStage({{"stack", "prior"},
                          {"imageSource", "priorStage"},
                          {"imageArtifactId", "nope"}},
                         "5")},
            Json::object(), bind);
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  const std::string baked =
      String(ByName(e, "Bake in localhost")["context"], "imageId");
  EXPECT_EQ(cd_.groups.at("demo-web-v000")["imageId"], "sha256:0909");
  EXPECT_EQ(cd_.groups.at("demo-web-v000")["image"]["name"],
            "hello-0.9.0-all-1-local");
  EXPECT_EQ(cd_.groups.at("demo-inline-v000")["imageId"], "sha256:0808");
  EXPECT_EQ(cd_.groups.at("demo-inline-v000")["image"]["name"],
            "hello-0.8.0-all-1-local");
  EXPECT_EQ(cd_.groups.at("demo-explicit-v000")["imageId"], "sha256:explicit");
  EXPECT_EQ(cd_.groups.at("demo-prior-v000")["imageId"], baked);
}

TEST_F(BakeStagesTest, AnArtifactIdBoundToNothingFailsTheDeploy) {
  std::string id =
      Start({BakeStage(), DeployStage({{"imageArtifactId", "nope"}})});
  Run();
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  const std::string error = Error(ByType(e, "createServerGroup"));
  EXPECT_TRUE(absl::StartsWith(error, "No artifact could be bound to 'nope'"))
      << error;
  EXPECT_NE(error.find("imageArtifactId"), std::string::npos) << error;
  EXPECT_EQ(Created(), nullptr);

  // The local provider deploys local images, not a docker image.
  std::string docker =
      Start({DeployStage({{"imageArtifact",
                           {{"type", "docker/image"},
                            {"name", "gcr.io/demo/web"},
                            {"reference", "gcr.io/demo/web:1.0"}}}},
                         "1", {})});
  Run();
  Json d = Get(docker);
  EXPECT_EQ(String(d, "status"), "TERMINAL");
  EXPECT_NE(Error(ByType(d, "createServerGroup"))
                .find("deploys 'local/image' artifacts"),
            std::string::npos)
      << Dump(d);
  EXPECT_EQ(Created(), nullptr);
}

TEST_F(BakeStagesTest, ADockerImageArtifactIsTheImageOfADockerDeploy) {
  const Json image = {{"type", "docker/image"},
                      {"name", "gcr.io/demo/web"},
                      {"version", "1.0"},
                      {"reference", "gcr.io/demo/web:1.0"}};
  std::string id =
      Start({DeployStage({{"cloudProvider", "titus"},
                          {"imageArtifactId", "web"},
                          {"image", "gcr.io/demo/web:0.1"}},
                         "1", {})},
            Json::object(), [&](Json& exec) {
              exec["trigger"]["resolvedExpectedArtifacts"] =
                  Json::array({{{"id", "web"},
                                {"matchArtifact", {{"type", "docker/image"}}},
                                {"boundArtifact", image}}});
            });
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  const Json d = Created();
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["imageId"], "gcr.io/demo/web:1.0");
  EXPECT_TRUE(d["image"].is_null()) << Dump(d);
  EXPECT_EQ(d["imageArtifact"], image);
}

TEST_F(BakeStagesTest, AnImageOfAnotherRegionOrProviderIsNotTaken) {
  std::string id = Start({BakeStage({{"region", "edge"}}), DeployStage()});
  Run();
  Json e = Get(id);
  EXPECT_EQ(String(e, "status"), "TERMINAL");
  Json create = ByType(e, "createServerGroup");
  EXPECT_NE(Error(create).find("nothing to deploy to demo-web in localhost"),
            std::string::npos)
      << Error(create);
  EXPECT_TRUE(cd_.executed.empty());

  std::string docker = Start(
      {BakeStage({{"cloudProviderType", "docker"}, {"region", "localhost"}}),
       DeployStage()});
  Run();
  EXPECT_EQ(String(Get(docker), "status"), "TERMINAL");
  EXPECT_TRUE(cd_.executed.empty());
}

TEST_F(BakeStagesTest, FindImageFromTagsPicksTheNewestTaggedImage) {
  cd_.images = {
      Image("sha256:old", "hello-1.0.0-all-1-local", 100,
            {{"package", "hello"}, {"version", "1.0.0"}}),
      Image("sha256:new", "hello-1.0.0-all-2-local", 200,
            {{"package", "hello"},
             {"version", "1.0.0"},
             {"job", "hello"},
             {"build_number", "12"},
             {"build_host", "http://jenkins/"}}),
      Image("sha256:v2", "hello-2.0.0-all-3-local", 300,
            {{"package", "hello"}, {"version", "2.0.0"}}),
      Image("sha256:world", "hello-world-1.0.0-all-4-local", 400,
            {{"package", "hello-world"}, {"version", "1.0.0"}}),
  };
  std::string id = Start({{{"refId", "1"},
                           {"type", "findImageFromTags"},
                           {"name", "Find"},
                           {"packageName", "hello"},
                           {"tags", {{"version", "1.0.0"}}},
                           {"cloudProvider", "local"},
                           {"regions", {"localhost"}}},
                          DeployStage()});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  ASSERT_EQ(cd_.image_searches.size(), 1u);
  EXPECT_EQ(cd_.image_searches[0]["query"], "hello");
  EXPECT_EQ(cd_.image_searches[0]["region"], "localhost");
  EXPECT_EQ(cd_.image_searches[0]["tags"], Json({{"version", "1.0.0"}}));
  const Json out = ByName(e, "Find")["outputs"];
  ASSERT_EQ(out["deploymentDetails"].size(), 1u);
  const Json d = out["deploymentDetails"][0];
  EXPECT_EQ(d["imageId"], "sha256:new");
  EXPECT_EQ(d["imageName"], "hello-1.0.0-all-2-local");
  EXPECT_EQ(d["region"], "localhost");
  EXPECT_EQ(d["jenkins"]["number"], "12");
  EXPECT_EQ(out["artifacts"][0]["type"], "local/image");
  EXPECT_EQ(out["artifacts"][0]["reference"], "sha256:new");
  EXPECT_EQ(out["artifacts"][0]["location"], "localhost");
  EXPECT_EQ(Created()["imageId"], "sha256:new");

  // hello-world's images are not hello's.
  std::string none = Start({{{"refId", "1"},
                             {"type", "findImageFromTags"},
                             {"name", "Find"},
                             {"packageName", "hello"},
                             {"tags", {{"version", "3.0.0"}}},
                             {"regions", {"localhost"}}}});
  Run();
  Json n = Get(none);
  EXPECT_EQ(String(n, "status"), "TERMINAL");
  const std::string error = Error(ByName(n, "Find"));
  EXPECT_TRUE(absl::StartsWith(error, "no image found for package 'hello'"))
      << error;
  EXPECT_NE(error.find("3.0.0"), std::string::npos) << error;
}

TEST_F(BakeStagesTest, FindImageFromClusterReturnsTheDeployedImage) {
  Json& g =
      cd_.AddGroup("demo-web", 0, {{"min", 1}, {"max", 1}, {"desired", 1}},
                   true, true, {"usr/bin/hello", "{{port}}"});
  g["imageId"] = "sha256:baked";
  g["image"] = {{"imageId", "sha256:baked"}, {"name", "hello-1.0.0-local"}};
  Json find = {{"refId", "1"},
               {"type", "findImageFromCluster"},
               {"name", "Find"},
               {"credentials", "local"},
               {"cluster", "demo-web"},
               {"cloudProvider", "local"},
               {"regions", {"localhost"}}};
  std::string id = Start({find, DeployStage({{"stack", "next"}})});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  const Json d = ByName(e, "Find")["outputs"]["deploymentDetails"][0];
  EXPECT_EQ(d["imageId"], "sha256:baked");
  EXPECT_EQ(d["imageName"], "hello-1.0.0-local");
  EXPECT_EQ(d["command"], Json({"usr/bin/hello", "{{port}}"}));
  EXPECT_EQ(ByName(e, "Find")["context"]["imageId"], "sha256:baked");
  // The deploy takes the image, not the group's command.
  const Json created = Created();
  EXPECT_EQ(created["imageId"], "sha256:baked");
  EXPECT_FALSE(created.contains("command"));
}

namespace rv1 = ::gennaker::rosco::v1;

// RoscoService as rosco answers it, for the gRPC client's mapping: one local
// bake, RUNNING on the first status read, then COMPLETED/SUCCESS.
class WireRosco : public rv1::RoscoService::Service {
 public:
  grpc::Status CreateBake(grpc::ServerContext*,
                          const rv1::CreateBakeRequest* req,
                          rv1::CreateBakeResponse* resp) override {
    absl::MutexLock l(&mu_);
    creates.push_back(*req);
    resp->mutable_status()->set_id("s-1");
    resp->mutable_status()->set_state(rv1::BAKE_STATE_RUNNING);
    resp->mutable_status()->set_region(req->region());
    return grpc::Status::OK;
  }
  grpc::Status GetBakeStatus(grpc::ServerContext*,
                             const rv1::GetBakeStatusRequest* req,
                             rv1::GetBakeStatusResponse* resp) override {
    absl::MutexLock l(&mu_);
    if (req->status_id() != "s-1") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such bake");
    }
    rv1::BakeStatus* s = resp->mutable_status();
    s->set_id("s-1");
    s->set_region(req->region());
    if (++reads_ == 1) {
      s->set_state(rv1::BAKE_STATE_RUNNING);
    } else {
      s->set_state(rv1::BAKE_STATE_COMPLETED);
      s->set_result(rv1::BAKE_RESULT_SUCCESS);
      s->set_resource_id("b-1");
    }
    return grpc::Status::OK;
  }
  grpc::Status GetBake(grpc::ServerContext*, const rv1::GetBakeRequest* req,
                       rv1::GetBakeResponse* resp) override {
    if (req->bake_id() != "b-1") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such bake");
    }
    rv1::Bake* b = resp->mutable_bake();
    b->set_id("b-1");
    b->set_image_name("hello-1.0.0-all-20261203000000-local");
    b->add_regions(req->region());
    b->set_cloud_provider_type(rv1::CLOUD_PROVIDER_TYPE_LOCAL);
    auto* a = b->mutable_artifact();
    a->set_type("local/image");
    a->set_name(b->image_name());
    a->set_reference(std::string("sha256:") + std::string(64, 'a'));
    a->set_location(req->region());
    a->mutable_metadata()->set_json(R"({"build_number":"12"})");
    *b->add_artifacts() = *a;
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  std::vector<rv1::CreateBakeRequest> creates ABSL_GUARDED_BY(mu_);

 private:
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(BakeStagesTest, TheGrpcClientCarriesTheBakeThroughRosco) {
  WireRosco service;
  grpc::ServerBuilder b;
  b.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  std::unique_ptr<Rosco> rosco =
      NewRoscoGrpc(server->InProcessChannel(grpc::ChannelArguments()));
  Build(rosco.get());
  std::string id = Start({BakeStage(
      {{"rebake", true}, {"packageType", "deb"}, {"customSetting", "on"}})});
  Run();
  Json e = Get(id);
  ASSERT_EQ(String(e, "status"), "SUCCEEDED") << Dump(e);
  {
    absl::MutexLock l(&service.mu_);
    ASSERT_EQ(service.creates.size(), 1u);
    const rv1::CreateBakeRequest& c = service.creates[0];
    EXPECT_EQ(c.region(), "localhost");
    EXPECT_TRUE(c.rebake());
    EXPECT_FALSE(c.idempotency_key().empty());
    const rv1::BakeRequest& r = c.bake_request();
    EXPECT_EQ(r.cloud_provider_type(), rv1::CLOUD_PROVIDER_TYPE_LOCAL);
    EXPECT_EQ(r.package_type(), rv1::PACKAGE_TYPE_DEB);
    EXPECT_EQ(r.package_names(), "hello=1.0.0");
    EXPECT_EQ(r.base_os(), "local");
    EXPECT_EQ(r.base_label(), "release");
    EXPECT_EQ(r.spinnaker_execution_id(), id);
    EXPECT_EQ(Json::parse(r.extended_attributes().json()),
              Json({{"command", "usr/bin/hello {{port}}"}}));
    EXPECT_EQ(Json::parse(r.additional_attributes().json()),
              Json({{"custom_setting", "on"}}));
  }
  const Json c = ByName(e, "Bake in localhost")["context"];
  const std::string image_id = std::string("sha256:") + std::string(64, 'a');
  EXPECT_EQ(c["imageId"], image_id);
  EXPECT_EQ(c["imageName"], "hello-1.0.0-all-20261203000000-local");
  EXPECT_EQ(c["artifacts"][0]["type"], "local/image");
  EXPECT_EQ(c["artifacts"][0]["metadata"]["build_number"], "12");
  EXPECT_EQ(c["status"]["resourceId"], "b-1");
  const Json d = ByName(e, "Bake")["outputs"]["deploymentDetails"];
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0]["imageId"], image_id);
  EXPECT_EQ(d[0]["cloudProviderType"], "local");

  // A provider rosco does not know is refused before any call.
  std::string bad = Start(
      {BakeStage({{"cloudProviderType", "mainframe"}, {"region", "r1"}})});
  Run();
  EXPECT_EQ(String(Get(bad), "status"), "TERMINAL");
  EXPECT_NE(Error(ByName(Get(bad), "Bake in r1"))
                .find("unknown cloud provider type 'mainframe'"),
            std::string::npos)
      << Dump(Get(bad));
  absl::MutexLock l(&service.mu_);
  EXPECT_EQ(service.creates.size(), 1u);
}

}  // namespace
}  // namespace gennaker::orca
