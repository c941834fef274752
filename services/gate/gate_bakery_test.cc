// gate's bakery routes (bake options, base images, bake logs) and image
// search, through gate's whole REST router and through the route policies
// with fiat's permissions, against a fake RoscoService, ClouddriverService and
// IgorService served by one in-process gRPC server on a loopback port.
#include "services/gate/gate_bakery.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "common/fiat/authorizer.h"
#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_authz.h"
#include "services/gate/gate_backend.h"
#include "services/gate/gate_rest.h"
#include "services/kayenta/rest/fake_kayenta.h"

namespace gennaker::gate {
namespace {

namespace rv1 = rosco::v1;
namespace cd = clouddriver::v1;
namespace iv1 = igor::v1;
namespace fv1 = fiat::v1;
using kayenta::TestRequest;
using nlohmann::json;

constexpr char kLocalImageId[] =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

class FakeRosco final : public rv1::RoscoService::Service {
 public:
  grpc::Status ListBakeOptions(grpc::ServerContext*,
                               const rv1::ListBakeOptionsRequest*,
                               rv1::ListBakeOptionsResponse* resp) override {
    *resp->add_options() = Options(rv1::CLOUD_PROVIDER_TYPE_LOCAL);
    *resp->add_options() = Options(rv1::CLOUD_PROVIDER_TYPE_AWS);
    return grpc::Status::OK;
  }

  grpc::Status GetBakeOptions(grpc::ServerContext*,
                              const rv1::GetBakeOptionsRequest* req,
                              rv1::GetBakeOptionsResponse* resp) override {
    if (req->cloud_provider_type() != rv1::CLOUD_PROVIDER_TYPE_LOCAL &&
        req->cloud_provider_type() != rv1::CLOUD_PROVIDER_TYPE_AWS) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "no bake options for that provider");
    }
    *resp->mutable_options() = Options(req->cloud_provider_type());
    return grpc::Status::OK;
  }

  grpc::Status GetBaseImage(grpc::ServerContext*,
                            const rv1::GetBaseImageRequest* req,
                            rv1::GetBaseImageResponse* resp) override {
    // Kept alive: a range over a temporary's member would dangle.
    const rv1::BakeOptions options = Options(req->cloud_provider_type());
    for (const rv1::BaseImage& b : options.base_images()) {
      if (b.id() == req->base_image_id()) {
        *resp->mutable_base_image() = b;
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "base image " + req->base_image_id() + " not found");
  }

  grpc::Status GetBakeLogs(grpc::ServerContext*,
                           const rv1::GetBakeLogsRequest* req,
                           rv1::GetBakeLogsResponse* resp) override {
    {
      absl::MutexLock lock(&mu_);
      last_logs_region_ = req->region();
    }
    if (req->status_id() == "s-1" || req->image_id() == "sha256:b1") {
      resp->set_status_id("s-1");
      resp->set_logs_content(
          "==> local: <script>alert(1)</script> & done\nBuild 'local' "
          "finished.");
      resp->set_complete(true);
      return grpc::Status::OK;
    }
    if (req->status_id() == "s-queued") {
      // Known, but packer has written nothing yet.
      resp->set_status_id("s-queued");
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "bake status " + req->status_id() + " not found");
  }

  // Bake "b-1" (status s-1's resourceId) produced image sha256:b1.
  grpc::Status GetBake(grpc::ServerContext*, const rv1::GetBakeRequest* req,
                       rv1::GetBakeResponse* resp) override {
    if (req->bake_id() != "b-1") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "bake not found");
    }
    resp->mutable_bake()->set_id("b-1");
    resp->mutable_bake()->set_ami("sha256:b1");
    resp->mutable_bake()->set_image_name("hello-1.0-all-1-bookworm");
    return grpc::Status::OK;
  }

  std::string last_logs_region() {
    absl::MutexLock lock(&mu_);
    return last_logs_region_;
  }

 private:
  static rv1::BakeOptions Options(rv1::CloudProviderType type) {
    rv1::BakeOptions o;
    o.set_cloud_provider_type(type);
    rv1::BaseImage* b = o.add_base_images();
    if (type == rv1::CLOUD_PROVIDER_TYPE_LOCAL) {
      b->set_id("debian");
      b->set_short_description("Debian (local image store)");
      b->set_detailed_description("packages unpacked into a local image");
      b->set_package_type(rv1::PACKAGE_TYPE_DEB);
      b->set_template_file("local.json");
      b->set_os_type("linux");
    } else {
      b->set_id("bionic");
      b->set_short_description("v18.04");
      b->set_display_name("Ubuntu Bionic");
      b->set_package_type(rv1::PACKAGE_TYPE_DEB);
      b->set_template_file("aws-ebs.json");
      b->mutable_details()->set_json(
          R"({"vmTypes":["hvm"],"templateFile":"ignored.json"})");
    }
    return o;
  }

  absl::Mutex mu_;
  std::string last_logs_region_ ABSL_GUARDED_BY(mu_);
};

class FakeClouddriver final : public cd::ClouddriverService::Service {
 public:
  grpc::Status FindImages(grpc::ServerContext*,
                          const cd::FindImagesRequest* req,
                          cd::FindImagesResponse* resp) override {
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(*req);
    }
    if (req->cloud_provider() == "gce") {
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no gce provider");
    }
    for (const cd::Image& image : Images()) {
      if (!req->cloud_provider().empty() &&
          req->cloud_provider() != image.cloud_provider()) {
        continue;
      }
      if (!req->query().empty() && req->query() != "*" &&
          !absl::StrContains(image.image_name(), req->query())) {
        continue;
      }
      if (!req->account().empty() &&
          std::find(image.accounts().begin(), image.accounts().end(),
                    req->account()) == image.accounts().end()) {
        continue;
      }
      bool tags_match = true;
      for (const auto& [k, v] : req->tags()) {
        auto it = image.tags().find(k);
        tags_match = tags_match && it != image.tags().end() && it->second == v;
      }
      if (!tags_match) continue;
      if (req->limit() > 0 && resp->images_size() >= req->limit()) break;
      *resp->add_images() = image;
    }
    return grpc::Status::OK;
  }

  std::vector<cd::FindImagesRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  // Newest first, as clouddriver answers.
  static std::vector<cd::Image> Images() {
    std::vector<cd::Image> out;
    cd::Image local;
    local.set_image_id(kLocalImageId);
    local.set_image_name("hello-1.0.0-all-20261202220000-debian");
    local.set_cloud_provider("local");
    local.add_accounts("dev");
    local.add_accounts("prod");
    local.add_regions("localhost");
    (*local.mutable_tags())["appversion"] = "hello-1.0.0";
    local.set_created_at_ms(1795000000000);
    out.push_back(local);
    cd::Image aws;
    aws.set_image_id("ami-0123");
    aws.set_image_name("hello-0.9.0-all-20261101000000-bionic");
    aws.set_cloud_provider("aws");
    aws.add_accounts("prod");
    aws.add_regions("us-east-1");
    aws.mutable_json()->set_json(
        R"({"imageName":"hello-0.9.0-all-20261101000000-bionic",)"
        R"("amis":{"us-east-1":["ami-0123"]},"accounts":["prod"],)"
        R"("attributes":{"creationDate":"2026-11-01T00:00:00.000Z"}})");
    out.push_back(aws);
    return out;
  }

  absl::Mutex mu_;
  std::vector<cd::FindImagesRequest> requests_ ABSL_GUARDED_BY(mu_);
};

class FakeIgor final : public iv1::IgorService::Service {
 public:
  grpc::Status ListSeenDockerTags(
      grpc::ServerContext*, const iv1::ListSeenDockerTagsRequest*,
      iv1::ListSeenDockerTagsResponse* resp) override {
    iv1::DockerTag* t = resp->add_tags();
    t->set_account("hub");
    t->set_registry("index.docker.io");
    t->set_repository("library/nginx");
    t->set_tag("1.27");
    return grpc::Status::OK;
  }
};

// One gRPC server with the three fakes.
class Fakes {
 public:
  Fakes() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&rosco_);
    builder.RegisterService(&clouddriver_);
    builder.RegisterService(&igor_);
    server_ = builder.BuildAndStart();
  }
  ~Fakes() { server_->Shutdown(); }

  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

  FakeRosco rosco_;
  FakeClouddriver clouddriver_;
  FakeIgor igor_;

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// Backends on `address` for clouddriver, igor and rosco (front50 and orca
// unreachable: these routes never call them); rosco "" leaves it out.
Backends MakeBackends(const std::string& address,
                      const std::string& rosco_address) {
  v1::GateDependencies deps;
  for (common::v1::EndpointConfig* e :
       {deps.mutable_front50(), deps.mutable_orca()}) {
    e->set_address("127.0.0.1:1");
    e->set_deadline_ms(1000);
  }
  for (common::v1::EndpointConfig* e :
       {deps.mutable_clouddriver(), deps.mutable_igor()}) {
    e->set_address(address);
    e->set_deadline_ms(10000);
  }
  deps.mutable_rosco()->set_address(rosco_address);
  deps.mutable_rosco()->set_deadline_ms(2000);
  return ConnectBackends(deps);
}

RestOptions Options() {
  RestOptions o;
  o.version = "test";
  return o;
}

class GateBakeryTest : public ::testing::Test {
 protected:
  GateBakeryTest()
      : router_(MakeRestRouter(std::make_shared<const Backends>(MakeBackends(
                                   fakes_.Address(), fakes_.Address())),
                               Options())) {}

  http::Response Get(const std::string& target,
                     std::map<std::string, std::string> headers = {}) {
    http::Request r = TestRequest("GET", target, "");
    for (auto& [k, v] : headers) r.headers[k] = v;
    return router_.Dispatch(r);
  }

  json Expect(int status, const std::string& target) {
    http::Response resp = Get(target);
    EXPECT_EQ(resp.status, status) << target << ": " << resp.body;
    json j = json::parse(resp.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << resp.body;
    return j;
  }

  Fakes fakes_;
  http::Router router_;
};

TEST_F(GateBakeryTest, BakeOptionsInRoscosShape) {
  json all = Expect(200, "/bakery/options");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["cloudProvider"], "local");
  const json& debian = all[0]["baseImages"][0];
  EXPECT_EQ(debian["id"], "debian");
  EXPECT_EQ(debian["shortDescription"], "Debian (local image store)");
  EXPECT_EQ(debian["detailedDescription"],
            "packages unpacked into a local image");
  // No display name: the id, as Deck shows one.
  EXPECT_EQ(debian["displayName"], "debian");
  EXPECT_EQ(debian["packageType"], "DEB");
  EXPECT_EQ(debian["templateFile"], "local.json");
  EXPECT_EQ(debian["osType"], "linux");
  EXPECT_EQ(debian["isImageFamily"], false);
  EXPECT_EQ(all[1]["cloudProvider"], "aws");

  json aws = Expect(200, "/bakery/options/aws");
  EXPECT_EQ(aws, all[1]);
  // Details join the base image; the typed fields win.
  EXPECT_EQ(aws["baseImages"][0]["vmTypes"], json({"hvm"}));
  EXPECT_EQ(aws["baseImages"][0]["templateFile"], "aws-ebs.json");
  EXPECT_EQ(aws["baseImages"][0]["displayName"], "Ubuntu Bionic");
  // Provider names in any case.
  EXPECT_EQ(Expect(200, "/bakery/options/LOCAL"), all[0]);

  json unknown = Expect(404, "/bakery/options/openstack");
  EXPECT_EQ(unknown["status"], 404);
  EXPECT_NE(unknown["message"].get<std::string>().find("openstack"),
            std::string::npos);
  // Known to gate, not configured in rosco: rosco's NOT_FOUND.
  Expect(404, "/bakery/options/gce");

  json base = Expect(200, "/bakery/options/local/baseImages/debian");
  EXPECT_EQ(base, debian);
  Expect(404, "/bakery/options/local/baseImages/centos");
}

TEST_F(GateBakeryTest, BakeLogsAsGateServesThem) {
  http::Response page = Get("/bakery/logs/localhost/s-1");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_TRUE(absl::StartsWith(page.content_type, "text/html"));
  // Escaped: the logs are text, never markup on gate's origin.
  EXPECT_EQ(page.body,
            "<pre>==&gt; local: &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
            "done\nBuild &#39;local&#39; finished.</pre>");
  EXPECT_EQ(fakes_.rosco_.last_logs_region(), "localhost");

  http::Response as_json =
      Get("/bakery/logs/localhost/s-1", {{"accept", "application/json"}});
  ASSERT_EQ(as_json.status, 200);
  json j = json::parse(as_json.body);
  EXPECT_EQ(j["statusId"], "s-1");
  EXPECT_EQ(j["complete"], true);
  EXPECT_TRUE(absl::StartsWith(j["logsContent"].get<std::string>(),
                               "==> local: <script>"));
  // A browser's Accept lists both: the page.
  EXPECT_EQ(Get("/bakery/logs/localhost/s-1",
                {{"accept", "text/html,application/json;q=0.9"}})
                .content_type.substr(0, 9),
            "text/html");

  // Deck's link names the bake (status.resourceId): the same logs.
  http::Response by_bake = Get("/bakery/logs/localhost/b-1");
  ASSERT_EQ(by_bake.status, 200) << by_bake.body;
  EXPECT_EQ(by_bake.body, page.body);

  json none = Expect(404, "/bakery/logs/localhost/s-queued");
  EXPECT_EQ(none["message"], "Bake logs not found.");
  Expect(404, "/bakery/logs/localhost/nope");
}

TEST_F(GateBakeryTest, ImageSearchGoesToClouddriverAndDockerToIgor) {
  json local = Expect(200, "/images/find?provider=local&q=hello");
  ASSERT_EQ(local.size(), 1u);
  EXPECT_EQ(local[0]["imageId"], kLocalImageId);
  EXPECT_EQ(local[0]["imageName"], "hello-1.0.0-all-20261202220000-debian");
  EXPECT_EQ(local[0]["cloudProvider"], "local");
  EXPECT_EQ(local[0]["accounts"], json({"dev", "prod"}));
  EXPECT_EQ(local[0]["regions"], json({"localhost"}));
  EXPECT_EQ(local[0]["tags"]["appversion"], "hello-1.0.0");
  EXPECT_EQ(local[0]["attributes"]["creationDate"], "2026-11-18T11:06:40.000Z");
  cd::FindImagesRequest sent = fakes_.clouddriver_.requests().back();
  EXPECT_EQ(sent.cloud_provider(), "local");
  EXPECT_EQ(sent.query(), "hello");

  // Clouddriver's own rendering wins.
  json aws = Expect(200,
                    "/images/find?provider=aws&q=hello&region=us-east-1"
                    "&account=prod&count=5&tag:appversion=x");
  EXPECT_TRUE(aws.empty()) << aws;
  sent = fakes_.clouddriver_.requests().back();
  EXPECT_EQ(sent.region(), "us-east-1");
  EXPECT_EQ(sent.account(), "prod");
  EXPECT_EQ(sent.limit(), 5);
  EXPECT_EQ(sent.tags().at("appversion"), "x");
  aws = Expect(200, "/images/find?provider=aws&q=hello");
  ASSERT_EQ(aws.size(), 1u);
  EXPECT_EQ(aws[0]["amis"]["us-east-1"], json({"ami-0123"}));

  // No provider: every provider's images.
  EXPECT_EQ(Expect(200, "/images/find?q=hello").size(), 2u);
  // A provider clouddriver does not build: none.
  EXPECT_EQ(Expect(200, "/images/find?provider=gce"), json::array());
  Expect(400, "/images/find?provider=local&count=0");

  // Docker registries stay igor's.
  json docker = Expect(200, "/images/find?provider=dockerRegistry&q=nginx");
  ASSERT_EQ(docker.size(), 1u);
  EXPECT_EQ(docker[0]["repository"], "library/nginx");
}

TEST_F(GateBakeryTest, OneImageByIdOrName) {
  json by_id = Expect(200, std::string("/images/dev/localhost/") +
                               kLocalImageId + "?provider=local");
  ASSERT_EQ(by_id.size(), 1u);
  EXPECT_EQ(by_id[0]["imageName"], "hello-1.0.0-all-20261202220000-debian");
  json by_name = Expect(
      200, "/images/dev/localhost/hello-1.0.0-all-20261202220000-debian");
  EXPECT_EQ(by_name, by_id);
  json missing = Expect(404, "/images/dev/localhost/sha256:ffff");
  EXPECT_EQ(missing["status"], 404);
}

TEST(GateBakeryDown, RoscoMissingOrDownIs503) {
  // Not configured: the message names the setting.
  http::Router none = MakeRestRouter(
      std::make_shared<const Backends>(MakeBackends("127.0.0.1:1", "")),
      Options());
  for (const char* target : {"/bakery/options", "/bakery/options/local",
                             "/bakery/options/local/baseImages/debian",
                             "/bakery/logs/localhost/s-1"}) {
    http::Request r = TestRequest("GET", target, "");
    http::Response resp = none.Dispatch(r);
    EXPECT_EQ(resp.status, 503) << target;
    EXPECT_NE(resp.body.find("services.rosco.address"), std::string::npos)
        << resp.body;
  }
  // Configured, nobody listening: 503 JSON as well (clouddriver too).
  http::Router down =
      MakeRestRouter(std::make_shared<const Backends>(
                         MakeBackends("127.0.0.1:1", "127.0.0.1:1")),
                     Options());
  for (const char* target :
       {"/bakery/options", "/bakery/logs/r/s", "/images/find?provider=local"}) {
    http::Request r = TestRequest("GET", target, "");
    http::Response resp = down.Dispatch(r);
    EXPECT_EQ(resp.status, 503) << target << ": " << resp.body;
    json j = json::parse(resp.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << resp.body;
    EXPECT_EQ(j["status"], 503);
  }
}

// --- authorization: images are filtered by account READ ---

class MapPermissionSource : public fiat::PermissionSource {
 public:
  absl::StatusOr<fv1::UserPermission> Get(const std::string& user) override {
    fv1::UserPermission p;
    p.set_name(user);
    if (user == "dev-reader") {
      fv1::ResourceView* a = p.add_accounts();
      a->set_name("dev");
      a->add_authorizations(fv1::AUTHORIZATION_READ);
    }
    return p;
  }
};

TEST(GateBakeryAuthz, ImagesKeepOnlyReadableAccounts) {
  Fakes fakes;
  Backends b = MakeBackends(fakes.Address(), fakes.Address());
  common::v1::AuthorizationConfig config;
  config.set_enabled(true);
  config.set_cache_ttl_seconds(1);
  b.authorizer = std::make_shared<fiat::Authorizer>(
      std::make_unique<MapPermissionSource>(), config);
  auto backends = std::make_shared<const Backends>(std::move(b));
  // Each route guarded as gate's REST layer does: the caller installed, then
  // the route's policy applied.
  http::Router router;
  AddRoute add = [&router, backends](absl::string_view method,
                                     absl::string_view pattern,
                                     http::Handler h) {
    std::optional<RoutePolicy> policy = PolicyFor(method, pattern);
    ASSERT_TRUE(policy.has_value()) << method << " " << pattern;
    router.Add(
        method, pattern,
        [backends, policy = *policy, h = std::move(h)](const http::Request& r) {
          CallContext context;
          context.user = r.Header("x-test-user");
          ScopedCallContext scope(context);
          absl::Status allowed = AuthorizeRoute(
              policy, *backends, spinnaker::UserOrAnonymous(context.user), r);
          if (!allowed.ok()) return ErrorResponse(allowed, r);
          return h(r);
        });
  };
  AddBakeryRoutes(backends, add);
  auto get = [&router](const std::string& user, const std::string& target) {
    http::Request r = TestRequest("GET", target, "");
    r.headers["x-test-user"] = user;
    return router.Dispatch(r);
  };

  http::Response found = get("dev-reader", "/images/find?q=hello");
  ASSERT_EQ(found.status, 200) << found.body;
  json images = json::parse(found.body);
  // The aws image is prod's only: gone; the local one shows dev alone.
  ASSERT_EQ(images.size(), 1u) << images;
  EXPECT_EQ(images[0]["imageId"], kLocalImageId);
  EXPECT_EQ(images[0]["accounts"], json({"dev"}));
  EXPECT_EQ(
      get("dev-reader", "/images/find?provider=local&account=prod").status,
      403);
  EXPECT_EQ(json::parse(get("nobody", "/images/find").body), json::array());

  EXPECT_EQ(
      get("dev-reader", std::string("/images/dev/localhost/") + kLocalImageId)
          .status,
      200);
  EXPECT_EQ(
      get("dev-reader", std::string("/images/prod/localhost/") + kLocalImageId)
          .status,
      403);
  // Bake options need a login only.
  EXPECT_EQ(get("nobody", "/bakery/options").status, 200);
}

TEST(GateBakeryNames, ProviderNamesRoundTrip) {
  for (rv1::CloudProviderType t :
       {rv1::CLOUD_PROVIDER_TYPE_AWS, rv1::CLOUD_PROVIDER_TYPE_DOCKER,
        rv1::CLOUD_PROVIDER_TYPE_LOCAL, rv1::CLOUD_PROVIDER_TYPE_GCE,
        rv1::CLOUD_PROVIDER_TYPE_TENCENTCLOUD}) {
    EXPECT_EQ(CloudProviderFromName(CloudProviderName(t)), t);
  }
  EXPECT_EQ(CloudProviderFromName("Tencent"),
            rv1::CLOUD_PROVIDER_TYPE_TENCENTCLOUD);
  EXPECT_FALSE(CloudProviderFromName("openstack").has_value());
  EXPECT_FALSE(CloudProviderFromName("").has_value());
}

}  // namespace
}  // namespace gennaker::gate
