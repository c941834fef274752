// gate's igor routes (CI masters, jobs, job configs, builds; docker images
// and tags) through gate's whole REST router, against a fake IgorService
// served by an in-process gRPC server on a loopback port.
#include "services/gate/gate_builds.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_backend.h"
#include "services/gate/gate_rest.h"
#include "services/kayenta/rest/fake_kayenta.h"

namespace gennaker::gate {
namespace {

namespace iv1 = igor::v1;
using kayenta::TestRequest;
using nlohmann::json;

class FakeIgor final : public iv1::IgorService::Service {
 public:
  FakeIgor() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeIgor() override { server_->Shutdown(); }

  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::Status ListMasters(grpc::ServerContext*,
                           const iv1::ListMastersRequest* req,
                           iv1::ListMastersResponse* resp) override {
    struct M {
      const char* name;
      iv1::BuildServiceType type;
    };
    for (const M& m : {M{"jenkins-b", iv1::BUILD_SERVICE_TYPE_JENKINS},
                       M{"jenkins-a", iv1::BUILD_SERVICE_TYPE_JENKINS},
                       M{"travis-ci", iv1::BUILD_SERVICE_TYPE_TRAVIS}}) {
      if (req->type() != iv1::BUILD_SERVICE_TYPE_UNSPECIFIED &&
          req->type() != m.type) {
        continue;
      }
      iv1::BuildMaster* out = resp->add_masters();
      out->set_name(m.name);
      out->set_type(m.type);
    }
    return grpc::Status::OK;
  }

  grpc::Status ListJobs(grpc::ServerContext*, const iv1::ListJobsRequest* req,
                        iv1::ListJobsResponse* resp) override {
    if (req->master() != "jenkins-a") return NotFound(req->master());
    // Two pages.
    if (req->page().page_token().empty()) {
      resp->add_jobs("app");
      resp->add_jobs("folder/job/deploy");
      resp->mutable_page()->set_next_page_token("2");
    } else {
      resp->add_jobs("zeta");
    }
    return grpc::Status::OK;
  }

  grpc::Status GetJobConfig(grpc::ServerContext*,
                            const iv1::GetJobConfigRequest* req,
                            iv1::GetJobConfigResponse* resp) override {
    if (req->job() != "folder/job/deploy") return NotFound(req->job());
    iv1::JobConfig* c = resp->mutable_config();
    c->set_name(req->job());
    c->set_url("http://jenkins/job/folder/job/deploy/");
    c->set_buildable(true);
    auto* p = c->add_parameter_definitions();
    p->set_name("ENV");
    p->set_default_value("staging");
    p->set_type("ChoiceParameterDefinition");
    p->add_choices("staging");
    p->add_choices("prod");
    auto* q = c->add_parameter_definitions();
    q->set_name("VERSION");
    q->set_type("StringParameterDefinition");
    return grpc::Status::OK;
  }

  grpc::Status ListBuilds(grpc::ServerContext*,
                          const iv1::ListBuildsRequest* req,
                          iv1::ListBuildsResponse* resp) override {
    if (req->job() != "folder/job/deploy") return NotFound(req->job());
    *resp->add_builds() = MakeBuild(req->job(), 7, false);
    *resp->add_builds() = MakeBuild(req->job(), 6, true);
    return grpc::Status::OK;
  }

  grpc::Status GetBuild(grpc::ServerContext*, const iv1::GetBuildRequest* req,
                        iv1::GetBuildResponse* resp) override {
    if (req->build().build_number() != 7) return NotFound("no such build");
    *resp->mutable_build() = MakeBuild(req->build().job(), 7, false);
    return grpc::Status::OK;
  }

  grpc::Status ListSeenDockerTags(
      grpc::ServerContext*, const iv1::ListSeenDockerTagsRequest* req,
      iv1::ListSeenDockerTagsResponse* resp) override {
    // No account: every account's, as igor's docker monitor answers.
    if (!req->account().empty() && req->account() != "hub") {
      return NotFound("no account " + req->account());
    }
    struct T {
      const char* repo;
      const char* tag;
    };
    for (const T& t : {T{"library/nginx", "1.27"}, T{"library/nginx", "1.25"},
                       T{"acme/api", "v2"}, T{"library/nginx", "1.27"}}) {
      if (!req->repository().empty() && req->repository() != t.repo) continue;
      iv1::DockerTag* out = resp->add_tags();
      out->set_account("hub");
      out->set_registry("index.docker.io");
      out->set_repository(t.repo);
      out->set_tag(t.tag);
      if (std::string(t.tag) == "v2") out->set_digest("sha256:abc");
    }
    return grpc::Status::OK;
  }

 private:
  static grpc::Status NotFound(const std::string& what) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "not found: " + what);
  }

  static iv1::Build MakeBuild(const std::string& job, int64_t number,
                              bool with_info) {
    iv1::Build b;
    b.set_master("jenkins-a");
    b.set_job(job);
    b.set_number(number);
    b.set_result(iv1::BUILD_RESULT_SUCCESS);
    b.set_timestamp_ms(1700000000000);
    b.set_duration_ms(1234);
    b.set_url("http://jenkins/job/x/" + std::to_string(number) + "/");
    auto* a = b.add_artifacts();
    a->set_file_name("app.properties");
    a->set_relative_path("build/app.properties");
    if (with_info) {
      b.mutable_build_info()->set_json(
          R"({"number":6,"result":"SUCCESS","testResults":[{"failCount":0}]})");
    }
    return b;
  }

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

std::shared_ptr<const Backends> MakeBackends(const std::string& igor_address) {
  v1::GateDependencies deps;
  for (common::v1::EndpointConfig* e :
       {deps.mutable_front50(), deps.mutable_orca(),
        deps.mutable_clouddriver()}) {
    e->set_address("127.0.0.1:1");
    e->set_deadline_ms(1000);
  }
  deps.mutable_igor()->set_address(igor_address);
  deps.mutable_igor()->set_deadline_ms(10000);
  return std::make_shared<const Backends>(ConnectBackends(deps));
}

RestOptions Options() {
  RestOptions o;
  o.version = "test";
  return o;
}

class GateBuildsTest : public ::testing::Test {
 protected:
  GateBuildsTest()
      : router_(MakeRestRouter(MakeBackends(fake_.Address()), Options())) {}

  json Expect(int status, const std::string& target) {
    http::Request r = TestRequest("GET", target, "");
    http::Response resp = router_.Dispatch(r);
    EXPECT_EQ(resp.status, status) << target << ": " << resp.body;
    json j = json::parse(resp.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << resp.body;
    return j;
  }

  FakeIgor fake_;
  http::Router router_;
};

TEST_F(GateBuildsTest, MastersAndJobsAsDeckListsThem) {
  EXPECT_EQ(Expect(200, "/v2/builds"),
            json({"jenkins-a", "jenkins-b", "travis-ci"}));
  EXPECT_EQ(Expect(200, "/v2/builds?type=jenkins"),
            json({"jenkins-a", "jenkins-b"}));
  EXPECT_EQ(Expect(200, "/v3/builds?type=Travis"), json({"travis-ci"}));
  EXPECT_EQ(Expect(200, "/v2/builds?type=wercker"), json::array());

  const json jobs = json({"app", "folder/job/deploy", "zeta"});
  EXPECT_EQ(Expect(200, "/v2/builds/jenkins-a/jobs"), jobs);
  EXPECT_EQ(Expect(200, "/v3/builds/jenkins-a/jobs"), jobs);
  json missing = Expect(404, "/v3/builds/nope/jobs");
  EXPECT_EQ(missing["status"], 404);
}

TEST_F(GateBuildsTest, JobConfigWithDecksParameterList) {
  json v3 = Expect(200, "/v3/builds/jenkins-a/job?job=folder%2Fjob%2Fdeploy");
  EXPECT_EQ(v3["name"], "folder/job/deploy");
  EXPECT_EQ(v3["buildable"], true);
  const json& params = v3["parameterDefinitionList"];
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0]["name"], "ENV");
  EXPECT_EQ(params[0]["defaultValue"], "staging");
  EXPECT_EQ(params[0]["choices"], json({"staging", "prod"}));
  EXPECT_FALSE(params[1].contains("choices"));
  // v2: the job is the rest of the path, '/' included.
  EXPECT_EQ(Expect(200, "/v2/builds/jenkins-a/jobs/folder/job/deploy"), v3);
  Expect(400, "/v3/builds/jenkins-a/job");
}

TEST_F(GateBuildsTest, BuildsAndOneBuild) {
  json builds =
      Expect(200, "/v3/builds/jenkins-a/builds?job=folder/job/deploy");
  ASSERT_EQ(builds.size(), 2u);
  EXPECT_EQ(builds[0]["number"], 7);
  EXPECT_EQ(builds[0]["result"], "SUCCESS");
  EXPECT_EQ(builds[0]["building"], false);
  EXPECT_EQ(builds[0]["timestamp"], "1700000000000");
  EXPECT_EQ(builds[0]["duration"], 1234);
  EXPECT_EQ(builds[0]["name"], "folder/job/deploy");
  EXPECT_EQ(builds[0]["artifacts"][0]["fileName"], "app.properties");
  // igor's rendering is kept, typed fields fill the rest.
  EXPECT_EQ(builds[1]["testResults"][0]["failCount"], 0);
  EXPECT_EQ(builds[1]["url"], "http://jenkins/job/x/6/");
  EXPECT_EQ(Expect(200, "/v2/builds/jenkins-a/builds/folder/job/deploy"),
            builds);

  json one = Expect(200, "/v2/builds/jenkins-a/build/7/folder/job/deploy");
  EXPECT_EQ(one["number"], 7);
  EXPECT_EQ(one,
            Expect(200, "/v3/builds/jenkins-a/build/7?job=folder/job/deploy"));
  Expect(404, "/v3/builds/jenkins-a/build/8?job=folder/job/deploy");
  Expect(400, "/v3/builds/jenkins-a/build/x?job=folder/job/deploy");
  Expect(400, "/v2/builds/jenkins-a/build/7");
}

TEST_F(GateBuildsTest, DockerImagesAndTagsForTheDockerTrigger) {
  json all =
      Expect(200, "/images/find?provider=dockerRegistry&account=hub&q=*");
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0]["account"], "hub");
  EXPECT_EQ(all[0]["registry"], "index.docker.io");
  EXPECT_EQ(all[0]["repository"], "library/nginx");
  EXPECT_EQ(all[0]["tag"], "1.27");
  EXPECT_EQ(all[0]["artifact"]["reference"],
            "index.docker.io/library/nginx:1.27");
  EXPECT_EQ(all[2]["digest"], "sha256:abc");

  json api =
      Expect(200, "/images/find?provider=dockerRegistry&account=hub&q=ACME");
  ASSERT_EQ(api.size(), 1u);
  EXPECT_EQ(api[0]["repository"], "acme/api");
  EXPECT_EQ(Expect(200,
                   "/images/find?provider=dockerRegistry&account=hub"
                   "&q=nginx:*27")
                .size(),
            2u);
  EXPECT_EQ(
      Expect(200, "/images/find?provider=dockerRegistry&account=hub&count=1")
          .size(),
      1u);
  // Other providers are clouddriver's (gate_bakery_test.cc).
  EXPECT_EQ(Expect(200, "/images/find?provider=dockerRegistry").size(), 4u);
  Expect(404, "/images/find?provider=dockerRegistry&account=other");

  EXPECT_EQ(Expect(200,
                   "/images/tags?provider=dockerRegistry&account=hub"
                   "&repository=library/nginx"),
            json({"1.25", "1.27"}));
  Expect(400, "/images/tags?provider=dockerRegistry&account=hub");
  // The query is bounded: matching costs |q| x |text| per tag.
  Expect(400, "/images/find?provider=dockerRegistry&account=hub&q=" +
                  std::string(kMaxImageQueryBytes + 1, 'a'));
  EXPECT_EQ(Expect(200, "/images/find?provider=dockerRegistry&account=hub&q=" +
                            std::string(kMaxImageQueryBytes, '*'))
                .size(),
            4u);
}

TEST(GateBuildsQuery, ImageQueryMatches) {
  EXPECT_TRUE(ImageQueryMatches("", "a/b:c"));
  EXPECT_TRUE(ImageQueryMatches("*", "a/b:c"));
  EXPECT_TRUE(ImageQueryMatches("B:", "a/b:c"));
  EXPECT_TRUE(ImageQueryMatches("a/*:c", "a/b:c"));
  EXPECT_TRUE(ImageQueryMatches("b*c", "xa/b:cx"));
  EXPECT_FALSE(ImageQueryMatches("a/*:d", "a/b:c"));
  EXPECT_TRUE(ImageQueryMatches("*b*", "a/b:c"));
  EXPECT_FALSE(ImageQueryMatches("x", "a/b:c"));
  // Runs of '*' are one '*'.
  EXPECT_TRUE(ImageQueryMatches("a/***:c", "a/b:c"));
  EXPECT_TRUE(ImageQueryMatches("**", "a/b:c"));
  EXPECT_FALSE(ImageQueryMatches("a/**:d", "a/b:c"));
  // Longer than the cap: nothing.
  EXPECT_TRUE(ImageQueryMatches(std::string(kMaxImageQueryBytes, '*'), "x"));
  EXPECT_FALSE(
      ImageQueryMatches(std::string(kMaxImageQueryBytes + 1, '*'), "x"));
}

TEST(GateBuildsNoIgor, RoutesNameTheMissingSetting) {
  http::Router router = MakeRestRouter(MakeBackends(""), Options());
  for (const char* target :
       {"/v2/builds", "/v3/builds/m/jobs", "/v3/builds/m/job?job=j",
        "/images/find?provider=dockerRegistry&account=hub"}) {
    http::Request r = TestRequest("GET", target, "");
    http::Response resp = router.Dispatch(r);
    EXPECT_EQ(resp.status, 503) << target;
    EXPECT_NE(resp.body.find("services.igor.address"), std::string::npos)
        << resp.body;
  }
}

}  // namespace
}  // namespace gennaker::gate
