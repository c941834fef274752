// gate's UI listener: Deck's bundle served over real HTTP from a throwaway
// directory, settings.js generated from the config, paths that try to leave
// the bundle refused, and the config checks that make gate fail fast.
#include "services/gate/gate_ui.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/service/service_main.h"
#include "common/testing/test_stores.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"
#include "services/gate/gate_server.h"

namespace gennaker::gate {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// gate's config as it starts: defaults, then the UI on.
v1::GateConfig DefaultConfig() {
  v1::GateConfig config;
  EXPECT_TRUE(
      LoadServiceConfig("gate", "", &config, [](google::protobuf::Message* m) {
        ApplyGateDefaults(static_cast<v1::GateConfig*>(m));
      }).ok());
  return config;
}

class GateUiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("gate-ui");
    bundle_ = dir_ + "/deck";
    std::filesystem::create_directories(bundle_ + "/assets");
    WriteFile(bundle_ + "/index.html",
              "<!doctype html><script src=\"settings.js\"></script>"
              "<script src=\"app.js\"></script>");
    WriteFile(bundle_ + "/app.js", "console.log('deck');");
    WriteFile(bundle_ + "/app.css", "body{}");
    WriteFile(bundle_ + "/assets/logo.svg", "<svg/>");
    // Never served: settings.js is generated.
    WriteFile(bundle_ + "/settings.js", "window.stale = true;");
    WriteFile(dir_ + "/secret.txt", "outside the bundle");
    config_ = DefaultConfig();
    config_.mutable_ui()->set_port(1);  // any: the test server picks its own
    config_.mutable_ui()->set_dir(bundle_);
  }

  void TearDown() override {
    if (server_) server_->Stop();
    testing::RemoveTree(dir_);
  }

  void Start() {
    int files = 0;
    absl::StatusOr<http::Router> router = MakeUiRouter(config_, &files);
    ASSERT_TRUE(router.ok()) << router.status();
    files_ = files;
    http::ServerOptions options;
    auto server = http::Server::Start(options, std::move(*router));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  http::ClientResponse Call(
      const std::string& method, const std::string& path,
      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::ClientRequest req;
    req.method = method;
    req.url = absl::StrCat("http://127.0.0.1:", server_->port(), path);
    req.headers = std::move(headers);
    absl::StatusOr<http::ClientResponse> resp = http::Fetch(req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : http::ClientResponse{};
  }

  http::ClientResponse Get(const std::string& path) {
    return Call("GET", path);
  }

  std::string dir_, bundle_;
  v1::GateConfig config_;
  std::unique_ptr<http::Server> server_;
  int files_ = 0;
};

TEST_F(GateUiTest, RootIsIndexHtmlAndFilesGetTheirTypes) {
  Start();
  EXPECT_EQ(files_, 5);
  http::ClientResponse index = Get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_THAT(index.body, HasSubstr("src=\"app.js\""));
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index.headers["cache-control"], "no-cache");
  EXPECT_FALSE(index.headers["etag"].empty());
  EXPECT_THAT(index.headers["last-modified"], HasSubstr(" GMT"));
  EXPECT_EQ(Get("/index.html").body, index.body);

  http::ClientResponse js = Get("/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log('deck');");
  EXPECT_EQ(js.headers["content-type"],
            "application/javascript; charset=utf-8");
  EXPECT_EQ(js.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(Get("/app.css").headers["content-type"], "text/css; charset=utf-8");
  http::ClientResponse svg = Get("/assets/logo.svg");
  EXPECT_EQ(svg.status, 200);
  EXPECT_EQ(svg.headers["content-type"], "image/svg+xml");

  http::ClientResponse head = Call("HEAD", "/app.js");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.headers["etag"], js.headers["etag"]);
}

TEST_F(GateUiTest, ContentTypesByExtension) {
  const std::map<std::string, std::string> want = {
      {"a.html", "text/html; charset=utf-8"},
      {"a.js", "application/javascript; charset=utf-8"},
      {"a.css", "text/css; charset=utf-8"},
      {"a.json", "application/json"},
      {"a.svg", "image/svg+xml"},
      {"a.png", "image/png"},
      {"a.gif", "image/gif"},
      {"a.ico", "image/x-icon"},
      {"a.woff", "font/woff"},
      {"a.woff2", "font/woff2"},
      {"a.ttf", "font/ttf"},
      {"a.eot", "application/vnd.ms-fontobject"},
      {"app.js.map", "application/json"},
      {"LICENSE.txt", "text/plain; charset=utf-8"},
      {"dir.d/A.PNG", "image/png"},
      {"dir.d/noext", "application/octet-stream"},
      {"a.unknown", "application/octet-stream"},
  };
  for (const auto& [path, type] : want) {
    EXPECT_EQ(UiContentType(path), type) << path;
  }
}

TEST_F(GateUiTest, RevalidationAnswers304AndARebuiltFileIsServedAtOnce) {
  Start();
  http::ClientResponse first = Get("/app.js");
  const std::string etag = first.headers["etag"];
  ASSERT_FALSE(etag.empty());
  http::ClientResponse again =
      Call("GET", "/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(
      Call("GET", "/app.js", {{"If-None-Match", "\"other\", " + etag}}).status,
      304);
  EXPECT_EQ(Call("GET", "/app.js", {{"If-None-Match", "\"other\""}}).status,
            200);

  // A rebuild replaces the file: new content and a new tag, no restart.
  WriteFile(bundle_ + "/app.js", "console.log('rebuilt, longer');");
  http::ClientResponse rebuilt =
      Call("GET", "/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(rebuilt.status, 200);
  EXPECT_EQ(rebuilt.body, "console.log('rebuilt, longer');");
  EXPECT_NE(rebuilt.headers["etag"], etag);
}

TEST_F(GateUiTest, AFileGoneWithARebuildIs404AndServedAgainOnceBack) {
  Start();
  EXPECT_EQ(Get("/app.js").status, 200);
  ASSERT_EQ(std::remove((bundle_ + "/app.js").c_str()), 0);
  EXPECT_EQ(Get("/app.js").status, 404);
  WriteFile(bundle_ + "/app.js", "console.log('back');");
  http::ClientResponse back = Get("/app.js");
  EXPECT_EQ(back.status, 200);
  EXPECT_EQ(back.body, "console.log('back');");
}

TEST_F(GateUiTest, MissingFilesAndDirectoriesAre404WithAJsonMessage) {
  Start();
  http::ClientResponse missing = Get("/nope.js");
  EXPECT_EQ(missing.status, 404);
  auto body = nlohmann::json::parse(missing.body);
  EXPECT_EQ(body["status"], 404);
  EXPECT_THAT(body["message"].get<std::string>(), HasSubstr("/nope.js"));
  EXPECT_EQ(Get("/assets").status, 404);
  EXPECT_EQ(Get("/assets/").status, 404);
  WriteFile(bundle_ + "/.env", "SECRET=1");
  EXPECT_EQ(Get("/.env").status, 404);
}

TEST_F(GateUiTest, PathsLeavingTheBundleAreRefused) {
  // A symlink out of the bundle, and one that stays inside.
  ASSERT_EQ(symlink((dir_ + "/secret.txt").c_str(),
                    (bundle_ + "/escape.txt").c_str()),
            0);
  ASSERT_EQ(symlink(dir_.c_str(), (bundle_ + "/up").c_str()), 0);
  ASSERT_EQ(
      symlink((bundle_ + "/app.js").c_str(), (bundle_ + "/alias.js").c_str()),
      0);
  Start();
  for (const char* path :
       {"/%2e%2e/secret.txt", "/assets/%2E%2E/%2e%2e/secret.txt",
        "/assets%2F..%2F..%2Fsecret.txt", "/%2e/app.js"}) {
    http::ClientResponse r = Get(path);
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_THAT(r.body, Not(HasSubstr("outside"))) << path;
  }
  EXPECT_EQ(Get("/app.js%00.png").status, 400);
  EXPECT_EQ(Get("/escape.txt").status, 404);
  EXPECT_EQ(Get("/up/secret.txt").status, 404);
  http::ClientResponse alias = Get("/alias.js");
  EXPECT_EQ(alias.status, 200);
  EXPECT_EQ(alias.body, "console.log('deck');");

  // Raw dot segments, as a client that does not normalize them sends them.
  absl::StatusOr<http::Router> router = MakeUiRouter(config_);
  ASSERT_TRUE(router.ok());
  for (const char* path : {"/../secret.txt", "/assets/../../secret.txt"}) {
    http::Request r;
    r.method = "GET";
    r.path = path;
    http::Response resp = router->Dispatch(r);
    EXPECT_EQ(resp.status, 400) << path;
  }
}

TEST_F(GateUiTest, OnlyGetAndHead) {
  Start();
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    http::ClientResponse r = Call(method, "/index.html");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.headers["allow"], "GET, HEAD") << method;
  }
  EXPECT_EQ(Call("POST", "/settings.js").status, 405);
}

TEST_F(GateUiTest, HealthAndGeneratedSettings) {
  config_.set_http_port(8084);
  Start();
  http::ClientResponse health = Get("/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(nlohmann::json::parse(health.body)["status"], "UP");

  http::ClientResponse settings = Get("/settings.js");
  EXPECT_EQ(settings.status, 200);
  EXPECT_EQ(settings.body,
            R"(window.gennakerSettings = {"gateUrl":"http://127.0.0.1:8084",)"
            R"("authEnabled":false,"fiatEnabled":false,"canaryEnabled":false,)"
            R"("deploymentName":"gennaker"};)");
  EXPECT_EQ(settings.headers["content-type"],
            "application/javascript; charset=utf-8");
  EXPECT_EQ(settings.headers["cache-control"], "no-cache");
}

TEST_F(GateUiTest, SettingsFollowTheConfigAndAreEscaped) {
  config_.mutable_server()->set_host("0.0.0.0");
  config_.set_http_port(18084);
  // A browser cannot call 0.0.0.0.
  EXPECT_EQ(UiGateUrl(config_), "http://127.0.0.1:18084");
  config_.mutable_server()->set_host("10.1.2.3");
  EXPECT_EQ(UiGateUrl(config_), "http://10.1.2.3:18084");

  config_.mutable_ui()->set_gate_url("https://gate.example.com/");
  config_.mutable_ui()->set_canary_enabled(true);
  config_.mutable_ui()->set_deployment_name("prod \"blue\"</script>\u2028");
  config_.mutable_security()->set_enabled(true);
  config_.mutable_authorization()->set_enabled(true);
  const std::string js = UiSettingsJs(config_);
  ASSERT_TRUE(absl::StartsWith(js, "window.gennakerSettings = "));
  ASSERT_TRUE(absl::EndsWith(js, "};"));
  const std::string object =
      js.substr(26, js.size() - 26 - 1);  // between "= " and ";"
  auto parsed = nlohmann::json::parse(object);
  EXPECT_EQ(parsed["gateUrl"], "https://gate.example.com");
  EXPECT_EQ(parsed["authEnabled"], true);
  EXPECT_EQ(parsed["fiatEnabled"], true);
  EXPECT_EQ(parsed["canaryEnabled"], true);
  EXPECT_EQ(parsed["deploymentName"], "prod \"blue\"</script>\u2028");
  // Escaped to ASCII: no raw line separator inside the script.
  EXPECT_EQ(js.find("\xe2\x80\xa8"), std::string::npos);
  EXPECT_THAT(js, HasSubstr(R"(\u2028)"));
}

TEST(GateUiConfigTest, FailsFastNamingTheKey) {
  const std::string dir = testing::MakeTempDir("gate-ui-config");
  v1::GateConfig config = DefaultConfig();
  EXPECT_TRUE(ValidateConfig(config).ok());  // UI off by default

  config.mutable_ui()->set_port(9000);
  absl::Status s = ValidateConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("ui.dir"));

  config.mutable_ui()->set_dir(dir + "/missing");
  s = ValidateConfig(config);
  EXPECT_THAT(std::string(s.message()), HasSubstr("ui.dir: " + dir));
  EXPECT_THAT(std::string(s.message()), HasSubstr("scripts/build-ui.sh"));

  config.mutable_ui()->set_dir(dir);
  s = ValidateConfig(config);
  EXPECT_THAT(std::string(s.message()), HasSubstr("has no index.html"));

  WriteFile(dir + "/index.html", "<!doctype html>");
  EXPECT_TRUE(ValidateConfig(config).ok());

  config.mutable_ui()->set_port(config.http_port());
  EXPECT_THAT(std::string(ValidateConfig(config).message()),
              HasSubstr("ui.port"));
  config.mutable_ui()->set_port(9000);
  config.mutable_ui()->set_gate_url("gate:8084");
  EXPECT_THAT(std::string(ValidateConfig(config).message()),
              HasSubstr("ui.gateUrl"));
  testing::RemoveTree(dir);
}

TEST(GateUiConfigTest, TheUisOwnOriginIsAllowedBesideTheConfiguredOnes) {
  v1::GateConfig config = DefaultConfig();
  // UI off: the list as configured.
  EXPECT_EQ(CorsOriginsWithUi(config), config.cors_allowed_origins());

  config.mutable_ui()->set_port(9000);
  config.mutable_ui()->set_gate_url("http://Deck.Example.com:8084");
  RE2 allowed(CorsOriginsWithUi(config));
  ASSERT_TRUE(allowed.ok()) << allowed.error();
  EXPECT_TRUE(RE2::FullMatch("http://deck.example.com:9000", allowed));
  EXPECT_TRUE(RE2::FullMatch("http://localhost:9000", allowed));
  EXPECT_TRUE(RE2::FullMatch("http://127.0.0.1:3000", allowed));
  EXPECT_FALSE(RE2::FullMatch("http://deck.example.com:9001", allowed));
  EXPECT_FALSE(RE2::FullMatch("http://deckxexample.com:9000", allowed));
  EXPECT_FALSE(RE2::FullMatch("http://evil.com", allowed));

  // The server's own address counts too; an operator's list still applies.
  config.mutable_ui()->clear_gate_url();
  config.mutable_server()->set_host("10.0.0.5");
  config.set_cors_allowed_origins(R"(https://ci\.example\.com)");
  RE2 with_host(CorsOriginsWithUi(config));
  EXPECT_TRUE(RE2::FullMatch("http://10.0.0.5:9000", with_host));
  EXPECT_TRUE(RE2::FullMatch("https://ci.example.com", with_host));
  EXPECT_FALSE(RE2::FullMatch("http://localhost:9000", with_host));
  EXPECT_FALSE(RE2::FullMatch("http://10.0.0.5:9000.evil.com", with_host));
}

}  // namespace
}  // namespace gennaker::gate
