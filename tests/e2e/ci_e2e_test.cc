// The CI workflow end to end, with real processes and real git: PostgreSQL,
// Redis, front50, clouddriver (local provider), orca, echo, igor and gate,
// plus a protocol-faithful fake Jenkins (Jenkins cannot run here) and an
// HTTP receiver for webhook notifications.
//
//   git push to a repository igor polls
//     -> echo git trigger -> pipeline "build": jenkins stage app-build
//        (GIT_SHA=${trigger.hash}), which archives build.properties
//     -> igor sees the completed build -> echo jenkins trigger
//     -> pipeline "deploy" (trigger.buildInfo, trigger.properties):
//        jenkins stage "Integration tests" with parameters from the trigger,
//        deploy of the built version on the local provider, and a
//        post-deploy check (a webhook stage against the load balancer)
//     -> notifications of "deploy" (webhook type) received
//     -> pipeline trigger: "after-deploy" starts with parentExecution
// and, through gate's /webhooks, GitHub pushes with a forged and a valid
// signature, and a cron trigger firing in real time.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "openssl/hmac.h"
#include "tests/support/fake_jenkins.h"
#include "tests/support/rest_call.h"
#include "tests/support/suite_process.h"

namespace gennaker {
namespace {

using Json = nlohmann::json;
using Service = testing::SuiteProcess;

constexpr char kSecret[] = "s3cret-hook";

// A string parameter of a Jenkins job.
testing::FakeJenkins::Param Param(const std::string& name) {
  testing::FakeJenkins::Param p;
  p.name = name;
  return p;
}

// HMAC-SHA256 of `body` as GitHub signs it.
std::string GithubSignature(const std::string& secret,
                            const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac,
       &len);
  static const char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

// Receives webhook notifications.
class Receiver {
 public:
  Receiver() {
    http::Router router;
    router.Add("POST", "/notify", [this](const http::Request& r) {
      absl::MutexLock l(&mu_);
      bodies_.push_back(Json::parse(r.body, nullptr, false));
      return http::Json(200, "{}");
    });
    http::ServerOptions o;
    server_ = *http::Server::Start(o, std::move(router));
  }
  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", server_->port(), "/notify");
  }
  std::vector<Json> bodies() {
    absl::MutexLock l(&mu_);
    return bodies_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Json> bodies_;
  std::unique_ptr<http::Server> server_;
};

class CiE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::SharedPostgres();
    ASSERT_TRUE(pg.ok()) << pg.status();
    std::map<std::string, std::string> dsn;
    for (const char* db : {"front50", "orca", "echo"}) {
      auto d = (*pg)->CreateDatabase(absl::StrCat("ci_", db));
      ASSERT_TRUE(d.ok()) << d.status();
      dsn[db] = *d;
    }
    auto redis = testing::TestRedis::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    dir_ = testing::MakeTempDir("ci-e2e");
    state_ = std::filesystem::canonical(dir_).string() + "/local/local";

    // The application's repository: a bare "origin" and a working clone.
    origin_ = dir_ + "/app.git";
    work_ = dir_ + "/app";
    ASSERT_EQ(Git({"init", "-q", "--bare", "-b", "main", origin_}), 0);
    ASSERT_EQ(Git({"clone", "-q", origin_, work_}), 0);
    ASSERT_EQ(Git({"-C", work_, "checkout", "-q", "-b", "main"}), 0);
    Commit("first");

    // Jenkins: app-build archives the properties of what it built; app-tests
    // checks a deployed version.
    testing::FakeJenkins::Options jo;
    jo.username = "igor";
    jo.token = "jenkins-api-token";
    jo.csrf = true;
    auto jenkins = testing::FakeJenkins::Start(jo);
    ASSERT_TRUE(jenkins.ok()) << jenkins.status();
    jenkins_ = std::move(*jenkins);
    testing::FakeJenkins::BuildScript build;
    build.run_ms = 300;
    build.git_sha = "${GIT_SHA}";
    build.artifacts = {
        {"build.properties", "GIT_SHA=${GIT_SHA}\nVERSION=build-${GIT_SHA}\n"}};
    jenkins_->AddJob("app-build", {Param("GIT_SHA")}, build);
    testing::FakeJenkins::BuildScript tests;
    tests.run_ms = 300;
    tests.artifacts = {{"tests.properties", "TESTED=${SHA}\nRESULT=passed\n"}};
    jenkins_->AddJob("app-tests", {Param("SHA"), Param("BUILD")}, tests);

    for (Service* s :
         {&front50_, &clouddriver_, &orca_, &echo_, &igor_, &gate_}) {
      s->grpc_port = *process::FreePort();
    }
    gate_http_ = *process::FreePort();
    auto common = [&](const Service& s) {
      return absl::StrCat("server: {host: 127.0.0.1, grpcPort: ", s.grpc_port,
                          ", adminPort: ", *process::FreePort(),
                          ", shutdownGraceSeconds: 2}\n"
                          "logging: {level: info, format: text}\n");
    };
    auto address = [](const Service& s) {
      return absl::StrCat("{address: '127.0.0.1:", s.grpc_port, "'}");
    };
    auto configure = [&](Service& s, const std::string& name,
                         const std::string& rest) {
      s.name = name;
      s.config = dir_ + "/" + name + ".yml";
      std::ofstream(s.config) << common(s) << rest;
    };
    configure(front50_, "front50",
              absl::StrCat("postgres: {dsn: '", dsn["front50"], "'}\n"));
    configure(
        clouddriver_, "clouddriver",
        absl::StrCat("redis: {url: '", redis_->Url(), "'}\nstateDir: '", dir_,
                     "'\nlocalAccounts: [{name: local, environment: "
                     "test}]\ncacheIntervalSeconds: 1\n"
                     "taskOwnerTtlSeconds: 2\n"));
    // The post-deploy check calls the load balancer on loopback.
    configure(orca_, "orca",
              absl::StrCat("postgres: {dsn: '", dsn["orca"],
                           "'}\nservices: {front50: ", address(front50_),
                           ", clouddriver: ", address(clouddriver_), ", igor: ",
                           address(igor_), ", echo: ", address(echo_),
                           "}\nengine: {workerThreads: 4, safetyPollMs: 200}\n"
                           "outbound: {allowLoopback: true}\n"));
    configure(
        echo_, "echo",
        absl::StrCat("postgres: {dsn: '", dsn["echo"],
                     "'}\nservices: {front50: ", address(front50_),
                     ", orca: ", address(orca_), ", igor: ", address(igor_),
                     "}\nevents: {pipelinePollMs: 500}\n"
                     "scheduler: {timeZone: UTC}\n"
                     "notifications: {webhookEnabled: true, "
                     "spinnakerBaseUrl: 'http://deck.example'}\n"
                     "outbound: {allowLoopback: true}\n"));
    configure(
        igor_, "igor",
        absl::StrCat("redis: {url: '", redis_->Url(),
                     "'}\nservices: {echo: ", address(echo_),
                     "}\njenkins: [{name: ci, address: '", jenkins_->url(),
                     "', username: igor, password: jenkins-api-token, csrf: "
                     "true}]\ngit: [{source: github, project: acme, slug: "
                     "app, url: '",
                     origin_,
                     "', branches: [main]}]\npolling: {intervalSeconds: 1}\n"
                     "outbound: {allowLoopback: true}\n"));
    configure(gate_, "gate",
              absl::StrCat("redis: {url: '", redis_->Url(),
                           "'}\nhttpPort: ", gate_http_,
                           "\nservices: {front50: ", address(front50_),
                           ", orca: ", address(orca_), ", clouddriver: ",
                           address(clouddriver_), ", echo: ", address(echo_),
                           ", igor: ", address(igor_), "}\n"));
    for (Service* s :
         {&front50_, &clouddriver_, &orca_, &echo_, &igor_, &gate_}) {
      absl::Status started = testing::StartSuiteProcess(*s, dir_);
      ASSERT_TRUE(started.ok()) << started;
    }
    gate_url_ = absl::StrCat("http://127.0.0.1:", gate_http_);
    ASSERT_EQ(RunTask({{"application", "demo"},
                       {"description", "Create Application: demo"},
                       {"job",
                        {{{"type", "createApplication"},
                          {"application",
                           {{"name", "demo"},
                            {"email", "ci@example.com"},
                            {"cloudProviders", "local"}}}}}}}),
              "SUCCEEDED");
  }

  void TearDown() override {
    for (Service* s :
         {&gate_, &igor_, &echo_, &orca_, &clouddriver_, &front50_}) {
      if (s->pid > 0) (void)process::Terminate(s->pid, absl::Seconds(10));
    }
    for (pid_t p : process::ProcessesWithEnv(
             absl::StrCat("GENNAKER_LOCAL_STATE_DIR=", state_))) {
      killpg(p, SIGKILL);
    }
    jenkins_.reset();
    testing::RemoveTree(dir_);
  }

  int Git(std::vector<std::string> args, std::string* out = nullptr) {
    process::SpawnOptions o;
    o.argv = {"/usr/bin/git", "-c", "user.name=ci", "-c",
              "user.email=ci@example.com"};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.new_session = false;
    const std::string log = dir_ + "/git.out";
    std::filesystem::remove(log);
    o.log_file = log;
    auto code = process::Run(o);
    if (out != nullptr) {
      std::ifstream in(log);
      std::getline(in, *out);
    }
    return code.ok() ? *code : -1;
  }

  // Commits a change and pushes it; the new head.
  std::string Commit(const std::string& message) {
    std::ofstream(work_ + "/README") << message << "\n";
    EXPECT_EQ(Git({"-C", work_, "add", "README"}), 0);
    EXPECT_EQ(Git({"-C", work_, "commit", "-q", "-m", message}), 0);
    EXPECT_EQ(Git({"-C", work_, "push", "-q", "origin", "main"}), 0);
    std::string sha;
    EXPECT_EQ(Git({"-C", work_, "rev-parse", "HEAD"}, &sha), 0);
    return sha;
  }

  http::ClientResponse Call(const std::string& method, const std::string& path,
                            const std::string& body = "") {
    return testing::RestCall(gate_url_, method, path, body);
  }

  Json Get(const std::string& path) {
    http::ClientResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return Json::parse(r.body, nullptr, false);
  }

  // Saves a pipeline as Deck does; its id.
  std::string Save(Json pipeline) {
    pipeline["application"] = "demo";
    http::ClientResponse r = Call("POST", "/pipelines", pipeline.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    Json saved = Get("/applications/demo/pipelineConfigs/" +
                     pipeline["name"].get<std::string>());
    return saved.value("id", "");
  }

  // The executions of pipeline config `id`, newest first.
  Json Executions(const std::string& id) {
    return Get("/executions?pipelineConfigIds=" + id + "&limit=20");
  }

  // Waits for an execution of config `id` accepted by `pred`.
  Json WaitExecution(const std::string& id,
                     const std::function<bool(const Json&)>& pred,
                     int seconds = 60) {
    Json last;
    for (int i = 0; i < seconds * 10; ++i) {
      last = Executions(id);
      if (last.is_array()) {
        for (const Json& e : last) {
          if (pred(e)) return e;
        }
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "no matching execution of " << id << ": " << last.dump(1);
    return Json();
  }

  Json WaitFinished(const std::string& execution_id, int seconds = 120) {
    Json e;
    for (int i = 0; i < seconds * 10; ++i) {
      e = Get("/pipelines/" + execution_id);
      const std::string st = e.value("status", "");
      if (st != "RUNNING" && st != "NOT_STARTED" && !st.empty()) return e;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "execution " << execution_id
                  << " did not finish: " << e.dump(1);
    return e;
  }

  std::string RunTask(const Json& body) {
    http::ClientResponse r = Call("POST", "/tasks", body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    std::string ref = Json::parse(r.body, nullptr, false).value("ref", "");
    std::string id = ref.substr(ref.rfind('/') + 1);
    for (int i = 0; i < 600; ++i) {
      std::string st = Get("/tasks/" + id).value("status", "");
      if (st != "RUNNING" && st != "NOT_STARTED") return st;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return "TIMEOUT";
  }

  static void PrintRun(const char* title, const Json& e) {
    std::printf("%s: execution %s %s (trigger %s)\n", title,
                e.value("id", "").c_str(), e.value("status", "").c_str(),
                e.value("trigger", Json::object()).value("type", "").c_str());
    if (!e.contains("stages")) return;
    for (const Json& s : e["stages"]) {
      if (s.contains("parentStageId") && !s["parentStageId"].is_null()) {
        continue;
      }
      const int64_t start = s.value("startTime", int64_t{0});
      const int64_t end = s.value("endTime", int64_t{0});
      std::printf("  stage %-22s %-10s %-10s %6.2f s\n",
                  s.value("name", "").c_str(), s.value("type", "").c_str(),
                  s.value("status", "").c_str(),
                  end > start && start > 0 ? (end - start) / 1000.0 : 0.0);
    }
  }

  std::unique_ptr<testing::TestRedis> redis_;
  std::unique_ptr<testing::FakeJenkins> jenkins_;
  std::string dir_, state_, origin_, work_, gate_url_;
  Service front50_, clouddriver_, orca_, echo_, igor_, gate_;
  int gate_http_ = 0;
};

TEST_F(CiE2eTest, GitChangeToJenkinsToDeployWithNotificationsAndTriggers) {
  Receiver receiver;
  // The load balancer the deployed version serves behind.
  ASSERT_EQ(RunTask({{"application", "demo"},
                     {"description", "Create Load Balancer: demo"},
                     {"job",
                      {{{"type", "upsertLoadBalancer"},
                        {"name", "demo"},
                        {"credentials", "local"},
                        {"cloudProvider", "local"},
                        {"region", "localhost"},
                        {"listeners", {{{"port", 0}}}}}}}}),
            "SUCCEEDED");
  Json lbs = Get("/applications/demo/loadBalancers");
  ASSERT_EQ(lbs.size(), 1u) << lbs.dump();
  const int lb_port = lbs[0]["listeners"][0]["port"];

  const std::string build_id =
      Save({{"name", "build"},
            {"limitConcurrent", false},
            {"triggers",
             {{{"type", "git"},
               {"enabled", true},
               {"source", "github"},
               {"project", "acme"},
               {"slug", "app"},
               {"branch", "main"}}}},
            {"stages",
             {{{"refId", "1"},
               {"type", "jenkins"},
               {"name", "Build"},
               {"master", "ci"},
               {"job", "app-build"},
               {"parameters", {{"GIT_SHA", "${trigger.hash}"}}},
               {"propertyFile", "build.properties"}}}}});
  ASSERT_FALSE(build_id.empty());
  const Json cluster = {
      {"application", "demo"},
      {"stack", "prod"},
      {"credentials", "local"},
      {"cloudProvider", "local"},
      {"availabilityZones", {{"localhost", {"localhost"}}}},
      {"capacity", {{"min", 2}, {"max", 2}, {"desired", 2}}},
      {"command",
       {testing::BinDir() + "/gennaker-demo", "--port", "{{port}}", "--version",
        "${trigger.properties.VERSION}"}},
      {"healthCheck",
       {{"path", "/health"}, {"intervalMs", 100}, {"healthyThreshold", 2}}},
      {"loadBalancers", {"demo"}},
      {"strategy", "redblack"}};
  const std::string deploy_id =
      Save({{"name", "deploy"},
            {"limitConcurrent", false},
            {"triggers",
             {{{"type", "jenkins"},
               {"enabled", true},
               {"master", "ci"},
               {"job", "app-build"},
               {"propertyFile", "build.properties"}}}},
            {"notifications",
             {{{"type", "webhook"},
               {"address", receiver.url()},
               {"level", "pipeline"},
               {"when", {"pipeline.starting", "pipeline.complete"}}}}},
            {"stages",
             {{{"refId", "1"},
               {"type", "jenkins"},
               {"name", "Integration tests"},
               {"master", "ci"},
               {"job", "app-tests"},
               {"parameters",
                {{"SHA", "${trigger.properties.GIT_SHA}"},
                 {"BUILD", "${trigger.buildInfo.number}"}}},
               {"propertyFile", "tests.properties"}},
              {{"refId", "2"},
               {"requisiteStageRefIds", {"1"}},
               {"type", "deploy"},
               {"name", "Deploy"},
               {"clusters", {cluster}}},
              {{"refId", "3"},
               {"requisiteStageRefIds", {"2"}},
               {"type", "webhook"},
               {"name", "Post-deploy check"},
               {"method", "GET"},
               {"url", absl::StrCat("http://127.0.0.1:", lb_port, "/")}}}}});
  ASSERT_FALSE(deploy_id.empty());
  const std::string after_id = Save({{"name", "after-deploy"},
                                     {"triggers",
                                      {{{"type", "pipeline"},
                                        {"enabled", true},
                                        {"application", "demo"},
                                        {"pipeline", deploy_id},
                                        {"status", {"successful"}}}}},
                                     {"stages",
                                      {{{"refId", "1"},
                                        {"type", "wait"},
                                        {"name", "Wait"},
                                        {"waitTime", 0}}}}});

  // igor has remembered the branch heads: a push is new.
  absl::SleepFor(absl::Seconds(2));
  const std::string sha = Commit("change the greeting");
  std::printf("pushed %s to %s\n", sha.c_str(), origin_.c_str());

  // git change -> "build" -> Jenkins app-build.
  Json build = WaitExecution(build_id, [&](const Json& e) {
    return e["trigger"].value("hash", "") == sha;
  });
  ASSERT_TRUE(build.is_object());
  EXPECT_EQ(build["trigger"]["type"], "git");
  EXPECT_EQ(build["trigger"]["branch"], "main");
  build = WaitFinished(build["id"]);
  PrintRun("build", build);
  ASSERT_EQ(build["status"], "SUCCEEDED") << build.dump(1);
  ASSERT_EQ(jenkins_->BuildCount("app-build"), 1);
  EXPECT_EQ(jenkins_->BuildParams("app-build", 1)["GIT_SHA"], sha);

  // Jenkins build -> igor -> echo -> "deploy".
  Json deploy = WaitExecution(deploy_id, [](const Json&) { return true; });
  ASSERT_TRUE(deploy.is_object());
  const Json& trigger = deploy["trigger"];
  EXPECT_EQ(trigger["type"], "jenkins");
  EXPECT_EQ(trigger["master"], "ci");
  EXPECT_EQ(trigger["job"], "app-build");
  EXPECT_EQ(trigger["buildNumber"], 1);
  EXPECT_EQ(trigger["buildInfo"]["number"], 1);
  EXPECT_EQ(trigger["buildInfo"]["result"], "SUCCESS");
  EXPECT_EQ(trigger["properties"]["GIT_SHA"], sha);
  deploy = WaitFinished(deploy["id"], 180);
  PrintRun("deploy", deploy);
  ASSERT_EQ(deploy["status"], "SUCCEEDED") << deploy.dump(1);

  // The Jenkins stage ran with values from the trigger, and its properties
  // reached the context.
  ASSERT_EQ(jenkins_->BuildCount("app-tests"), 1);
  std::map<std::string, std::string> params =
      jenkins_->BuildParams("app-tests", 1);
  EXPECT_EQ(params["SHA"], sha);
  EXPECT_EQ(params["BUILD"], "1");
  for (const Json& s : deploy["stages"]) {
    if (s.value("name", "") == "Integration tests") {
      EXPECT_EQ(s["context"].value("RESULT", ""), "passed") << s.dump(1);
      EXPECT_EQ(s["context"]["buildInfo"].value("result", ""), "SUCCESS");
    }
  }
  // The deployed version is the one Jenkins built, serving behind the load
  // balancer.
  http::ClientRequest lb;
  lb.url = absl::StrCat("http://127.0.0.1:", lb_port, "/");
  auto served = http::Fetch(lb);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_NE(served->body.find("build-" + sha), std::string::npos)
      << served->body;

  // Pipeline trigger: "after-deploy" runs with the parent execution.
  Json after = WaitExecution(after_id, [&](const Json& e) {
    return e["trigger"].contains("parentExecution") &&
           e["trigger"]["parentExecution"].value("id", "") == deploy["id"];
  });
  ASSERT_TRUE(after.is_object());
  EXPECT_EQ(after["trigger"]["type"], "pipeline");
  PrintRun("after-deploy", WaitFinished(after["id"]));

  // Notifications of "deploy": starting and complete.
  std::vector<Json> got;
  for (int i = 0; i < 100; ++i) {
    got = receiver.bodies();
    if (got.size() >= 2) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::set<std::string> whens;
  for (const Json& n : got) {
    whens.insert(n.value("when", ""));
    EXPECT_EQ(n.value("executionId", ""), deploy["id"]) << n.dump();
    EXPECT_NE(n.value("link", "").find(deploy["id"].get<std::string>()),
              std::string::npos)
        << n.dump();
  }
  EXPECT_EQ(whens,
            (std::set<std::string>{"pipeline.starting", "pipeline.complete"}));
  std::printf("notifications received: %zu (%s)\n", got.size(),
              absl::StrJoin(whens, ", ").c_str());
}

TEST_F(CiE2eTest, SignedGithubWebhooksThroughGateAndCronInRealTime) {
  const std::string push_id = Save({{"name", "on-push"},
                                    {"triggers",
                                     {{{"type", "git"},
                                       {"enabled", true},
                                       {"source", "github"},
                                       {"project", "acme"},
                                       {"slug", "web"},
                                       {"branch", "release-.*"},
                                       {"secret", kSecret}}}},
                                    {"stages",
                                     {{{"refId", "1"},
                                       {"type", "wait"},
                                       {"name", "Wait"},
                                       {"waitTime", 0}}}}});
  const std::string cron_id = Save({{"name", "every-five-seconds"},
                                    {"triggers",
                                     {{{"type", "cron"},
                                       {"enabled", true},
                                       {"cronExpression", "0/5 * * * * ?"}}}},
                                    {"stages",
                                     {{{"refId", "1"},
                                       {"type", "wait"},
                                       {"name", "Wait"},
                                       {"waitTime", 0}}}}});
  absl::SleepFor(absl::Seconds(1));  // echo's pipeline cache
  const std::string body =
      Json({{"ref", "refs/heads/release-1.2"},
            {"after", "0123456789abcdef0123456789abcdef01234567"},
            {"repository",
             {{"name", "web"},
              {"full_name", "acme/web"},
              {"owner", {{"name", "acme"}, {"login", "acme"}}}}},
            {"commits", Json::array()}})
          .dump();
  auto post = [&](const std::string& signature) {
    http::ClientRequest r;
    r.method = "POST";
    r.url = gate_url_ + "/webhooks/git/github";
    r.headers = {{"Content-Type", "application/json"},
                 {"X-GitHub-Event", "push"},
                 {"X-Hub-Signature-256", signature}};
    r.body = body;
    return *http::Fetch(r);
  };
  http::ClientResponse forged = post(GithubSignature("wrong", body));
  EXPECT_EQ(forged.status, 401) << forged.body;
  http::ClientResponse good = post(GithubSignature(kSecret, body));
  ASSERT_EQ(good.status, 200) << good.body;
  Json answer = Json::parse(good.body, nullptr, false);
  EXPECT_EQ(answer.value("eventProcessed", false), true) << good.body;
  Json run = WaitExecution(push_id, [](const Json& e) {
    return e["trigger"].value("branch", "") == "release-1.2";
  });
  ASSERT_TRUE(run.is_object());
  EXPECT_EQ(run["trigger"]["hash"], "0123456789abcdef0123456789abcdef01234567");
  EXPECT_FALSE(run["trigger"].contains("secret")) << run["trigger"].dump();
  // Only the signed push started it.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Executions(push_id).size(), 1u);

  // The cron trigger fires on the next 5-second slot, once per slot.
  Json fired = WaitExecution(
      cron_id, [](const Json& e) { return e["trigger"]["type"] == "cron"; },
      20);
  ASSERT_TRUE(fired.is_object());
  std::printf("cron fired: execution %s at %s\n", fired.value("id", "").c_str(),
              fired.value("buildTime", Json()).dump().c_str());
  absl::SleepFor(absl::Seconds(6));
  Json runs = Executions(cron_id);
  std::set<int64_t> slots;
  for (const Json& e : runs) {
    slots.insert(e.value("buildTime", int64_t{0}) / 5000);
  }
  EXPECT_EQ(slots.size(), runs.size())
      << "two runs in one slot: " << runs.dump(1);
  EXPECT_GE(runs.size(), 2u);
}

}  // namespace
}  // namespace gennaker
