// Deck, Spinnaker's UI, end to end in a real browser against the running
// suite: PostgreSQL, Redis, front50, clouddriver (local provider, account
// `local`), kayenta (reading a real Prometheus), orca, echo and gate with its
// UI listener serving the bundle of scripts/build-ui.sh (canary screens on),
// all on random loopback ports in a throwaway directory.
// tests/e2e/deck/deck_e2e.mjs drives Debian's chromium with playwright-core:
// every page of Deck renders without its error page, console errors or failed
// requests, and a user creates an application, a load balancer and the
// red/black pipeline with a manual judgment through Deck's own forms, runs it,
// approves the judgment and sees v2 serving and v1 disabled; Deck's canary
// config and report screens (@spinnaker/kayenta) render a canary config and
// a canary run seeded through gate's /v2 canary routes. Screenshots land
// in <build>/test-artifacts/deck. This test then checks through gate's REST
// API that what the browser did really happened.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/prometheus.h"
#include "common/testing/test_stores.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/rest_call.h"
#include "tests/support/suite_process.h"

#ifndef GENNAKER_DECK_UI_DIR
#error "GENNAKER_DECK_UI_DIR (the built Deck bundle) must be defined"
#endif
#ifndef GENNAKER_TEST_ARTIFACTS_DIR
#error "GENNAKER_TEST_ARTIFACTS_DIR must be defined"
#endif

namespace gennaker {
namespace {

using Json = nlohmann::json;
using Service = testing::SuiteProcess;

constexpr char kChromium[] = "/usr/bin/chromium";
// The application the script creates through Deck's dialog.
constexpr char kApp[] = "deckdemo";
// The canary config the script seeds through gate for kApp.
constexpr char kCanaryConfig[] = "deckdemo-canary";

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string SourceDir() {
  const char* s = getenv("GENNAKER_SOURCE_DIR");
  return s != nullptr ? s : GENNAKER_SOURCE_DIR_FALLBACK;
}

class DeckE2eTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (Service* s :
         {&gate_, &echo_, &orca_, &kayenta_, &clouddriver_, &front50_}) {
      if (s->pid > 0) (void)process::Terminate(s->pid, absl::Seconds(10));
    }
    if (!state_.empty()) {
      for (pid_t p : process::ProcessesWithEnv(
               absl::StrCat("GENNAKER_LOCAL_STATE_DIR=", state_))) {
        killpg(p, SIGKILL);
      }
    }
    redis_.reset();
    prometheus_.reset();
    // GENNAKER_KEEP_TEST_DIR=1 keeps the services' logs for reading.
    if (!dir_.empty() && getenv("GENNAKER_KEEP_TEST_DIR") == nullptr) {
      testing::RemoveTree(dir_);
    } else if (!dir_.empty()) {
      std::printf("kept %s\n", dir_.c_str());
    }
  }

  // What the browser test needs besides the suite; "" or what is missing.
  static std::string MissingPrerequisite(const std::string& node_modules) {
    const std::string ui = GENNAKER_DECK_UI_DIR;
    if (!Exists(ui + "/index.html")) {
      return absl::StrCat("the Deck bundle is missing (", ui,
                          "/index.html): run scripts/build-ui.sh");
    }
    if (!Exists(node_modules + "/playwright-core/package.json")) {
      return absl::StrCat("playwright-core is missing in ", node_modules,
                          ": run scripts/build-ui.sh (npm ci in ui/deck)");
    }
    if (!Exists(kChromium)) {
      return absl::StrCat(kChromium,
                          " is missing: install Debian's chromium "
                          "(scripts/install-deps.sh)");
    }
    return "";
  }

  // The stores, Prometheus and the six services; "" or what failed.
  std::string StartSuite() {
    auto pg = testing::SharedPostgres();
    if (!pg.ok()) return pg.status().ToString();
    std::map<std::string, std::string> dsn;
    for (const char* db : {"front50", "orca", "echo", "kayenta"}) {
      auto d = (*pg)->CreateDatabase(absl::StrCat("deck_", db));
      if (!d.ok()) return d.status().ToString();
      dsn[db] = *d;
    }
    auto redis = testing::TestRedis::Start();
    if (!redis.ok()) return redis.status().ToString();
    redis_ = std::move(*redis);
    // The canary run the script starts reads metrics through kayenta from a
    // real Prometheus (its queries need no scraped series).
    auto prometheus = testing::TestPrometheus::Start();
    if (!prometheus.ok()) return prometheus.status().ToString();
    prometheus_ = std::move(*prometheus);
    dir_ = testing::MakeTempDir("deck-e2e");
    state_ = std::filesystem::canonical(dir_).string() + "/local/local";
    for (Service* s :
         {&front50_, &clouddriver_, &kayenta_, &orca_, &echo_, &gate_}) {
      s->grpc_port = Port();
    }
    const int gate_http = Port();
    const int ui_port = Port();
    gate_url_ = absl::StrCat("http://127.0.0.1:", gate_http);
    ui_url_ = absl::StrCat("http://127.0.0.1:", ui_port);
    auto address = [](const Service& s) {
      return absl::StrCat("{address: '127.0.0.1:", s.grpc_port, "'}");
    };
    auto configure = [&](Service& s, const std::string& name,
                         const std::string& rest) {
      s.name = name;
      s.config = dir_ + "/" + name + ".yml";
      std::ofstream(s.config)
          << absl::StrCat("server: {host: 127.0.0.1, grpcPort: ", s.grpc_port,
                          ", adminPort: ", Port(),
                          ", shutdownGraceSeconds: 2}\n"
                          "logging: {level: info, format: text}\n")
          << rest;
    };
    configure(front50_, "front50",
              absl::StrCat("postgres: {dsn: '", dsn["front50"], "'}\n"));
    configure(
        clouddriver_, "clouddriver",
        absl::StrCat("redis: {url: '", redis_->Url(), "'}\nstateDir: '", dir_,
                     "'\nlocalAccounts: [{name: local, environment: "
                     "test}]\ncacheIntervalSeconds: 1\n"
                     "taskOwnerTtlSeconds: 2\n"));
    // Prometheus runs on loopback, which kayenta's outbound policy refuses
    // unless allow-listed.
    configure(kayenta_, "kayenta",
              absl::StrCat("postgres: {dsn: '", dsn["kayenta"],
                           "'}\nprometheus: [{name: prometheus, baseUrl: '",
                           prometheus_->BaseUrl(),
                           "'}]\noutbound: {allowedUrlPrefixes: ['",
                           prometheus_->BaseUrl(), "/']}\n"));
    configure(orca_, "orca",
              absl::StrCat(
                  "postgres: {dsn: '", dsn["orca"], "'}\nservices: {front50: ",
                  address(front50_), ", clouddriver: ", address(clouddriver_),
                  ", echo: ", address(echo_), ", kayenta: ", address(kayenta_),
                  "}\nengine: {workerThreads: 4, safetyPollMs: 200}\n"));
    configure(echo_, "echo",
              absl::StrCat("postgres: {dsn: '", dsn["echo"],
                           "'}\nservices: {front50: ", address(front50_),
                           ", orca: ", address(orca_),
                           "}\nevents: {pipelinePollMs: 300}\n"
                           "scheduler: {timeZone: UTC}\n"));
    configure(gate_, "gate",
              absl::StrCat(
                  "redis: {url: '", redis_->Url(), "'}\nhttpPort: ", gate_http,
                  "\nservices: {front50: ", address(front50_), ", orca: ",
                  address(orca_), ", clouddriver: ", address(clouddriver_),
                  ", echo: ", address(echo_), ", kayenta: ", address(kayenta_),
                  "}\nui: {port: ", ui_port, ", dir: '", GENNAKER_DECK_UI_DIR,
                  "', gateUrl: '", gate_url_, "', canaryEnabled: true}\n"));
    for (Service* s :
         {&front50_, &clouddriver_, &kayenta_, &orca_, &echo_, &gate_}) {
      absl::Status started = testing::StartSuiteProcess(*s, dir_);
      if (!started.ok()) return started.ToString();
    }
    // gate's UI listener answers once gate is SERVING; wait for settings.js
    // anyway so that a slow listener is reported as such.
    for (int i = 0; i < 100; ++i) {
      http::ClientRequest r;
      r.url = ui_url_ + "/settings.js";
      auto resp = http::Fetch(r);
      if (resp.ok() && resp->status == 200) return "";
      absl::SleepFor(absl::Milliseconds(100));
    }
    return absl::StrCat("gate's UI listener does not serve ", ui_url_,
                        "/settings.js (see ", dir_, "/gate.log)");
  }

  // A free port not handed out before: the services bind theirs only when
  // started, so FreePort alone may repeat one (e.g. kayenta's admin port
  // equal to its gRPC port).
  int Port() {
    for (;;) {
      const int p = *process::FreePort();
      if (ports_.insert(p).second) return p;
    }
  }

  Json Get(const std::string& path) {
    http::ClientResponse r = testing::RestCall(gate_url_, "GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return Json::parse(r.body, nullptr, false);
  }

  std::unique_ptr<testing::TestRedis> redis_;
  std::unique_ptr<testing::TestPrometheus> prometheus_;
  std::string dir_, state_, gate_url_, ui_url_;
  std::set<int> ports_;
  Service front50_, clouddriver_, kayenta_, orca_, echo_, gate_;
};

TEST_F(DeckE2eTest, PagesRenderAndRedBlackPipelineThroughDecksForms) {
  const std::string node_modules = SourceDir() + "/ui/deck/node_modules";
  const std::string missing = MissingPrerequisite(node_modules);
  ASSERT_TRUE(missing.empty()) << missing;
  const std::string started = StartSuite();
  ASSERT_TRUE(started.empty()) << started;

  const std::string artifacts = GENNAKER_TEST_ARTIFACTS_DIR;
  testing::RemoveTree(artifacts);  // screenshots of this run only
  ASSERT_TRUE(process::MakeDirs(artifacts).ok());
  const int lb_port = Port();

  // The script prints one line per page and action; its output is streamed.
  process::SpawnOptions o;
  o.argv = {"/usr/bin/env", "node",
            SourceDir() + "/tests/e2e/deck/deck_e2e.mjs"};
  o.env = {{"DECK_URL", ui_url_},
           {"GATE_URL", gate_url_},
           {"DECK_APP", kApp},
           {"DECK_CANARY_CONFIG", kCanaryConfig},
           {"SCREENSHOT_DIR", artifacts},
           {"DECK_NODE_MODULES", node_modules},
           {"CHROMIUM", kChromium},
           {"DEMO_BIN", testing::BinDir() + "/gennaker-demo"},
           {"LB_PORT", absl::StrCat(lb_port)},
           {"BROWSER_PROFILE_DIR", dir_ + "/chromium-profile"}};
  o.new_session = true;
  o.die_with_parent = true;
  std::fflush(stdout);
  absl::StatusOr<int> code = process::Run(o);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << "tests/e2e/deck/deck_e2e.mjs failed (its output is "
                         "above; screenshots in "
                      << artifacts << ")";

  // What the browser did, as gate reports it.
  Json app = Get(absl::StrCat("/applications/", kApp));
  EXPECT_EQ(app.value("name", ""), kApp) << app.dump();
  Json pipelines =
      Get(absl::StrCat("/applications/", kApp, "/pipelineConfigs"));
  ASSERT_TRUE(pipelines.is_array() && pipelines.size() == 1)
      << pipelines.dump(1);
  std::vector<std::string> types;
  for (const Json& s : pipelines[0]["stages"]) {
    types.push_back(s.value("type", ""));
  }
  EXPECT_EQ(types,
            (std::vector<std::string>{"deploy", "manualJudgment", "deploy"}))
      << pipelines.dump(1);
  Json lbs = Get(absl::StrCat("/applications/", kApp, "/loadBalancers"));
  ASSERT_TRUE(lbs.is_array() && lbs.size() == 1) << lbs.dump(1);
  std::map<std::string, Json> groups;
  for (const Json& g :
       Get(absl::StrCat("/applications/", kApp, "/serverGroups"))) {
    groups[g.value("name", "")] = g;
  }
  const std::string v1 = absl::StrCat(kApp, "-web-v000");
  const std::string v2 = absl::StrCat(kApp, "-web-v001");
  ASSERT_EQ(groups.count(v1), 1u) << "no " << v1;
  ASSERT_EQ(groups.count(v2), 1u) << "no " << v2;
  EXPECT_EQ(groups[v1]["isDisabled"], true) << groups[v1].dump(1);
  EXPECT_EQ(groups[v2]["isDisabled"], false) << groups[v2].dump(1);
  EXPECT_GT(groups[v2]["instanceCounts"].value("up", 0), 0)
      << groups[v2].dump(1);
  // The load balancer answers with v2.
  http::ClientRequest r;
  r.url = absl::StrCat("http://127.0.0.1:", lb_port, "/");
  auto resp = http::Fetch(r);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(Json::parse(resp->body, nullptr, false).value("version", ""), "v2")
      << resp->body;
  // The canary config and run Deck showed are kayenta's, owned by the
  // application.
  Json canary = Get(absl::StrCat("/v2/canaryConfig?application=", kApp));
  ASSERT_TRUE(canary.is_array() && canary.size() == 1) << canary.dump(1);
  EXPECT_EQ(canary[0].value("name", ""), kCanaryConfig) << canary.dump(1);
  Json runs = Get(absl::StrCat("/v2/canaries/", kApp, "/executions"));
  ASSERT_TRUE(runs.is_array() && runs.size() == 1) << runs.dump(1);
  EXPECT_EQ(runs[0].value("status", ""), "succeeded") << runs[0].dump(1);
}

}  // namespace
}  // namespace gennaker
