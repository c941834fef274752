// Pipeline templates (MPT v2) end to end with real processes (PostgreSQL,
// Redis, front50, clouddriver, orca, gate), through gate's REST API exactly as
// spin's `pipeline-template` and `pipeline` commands call it:
//   - every template of ../shared/pipelines saved (GET 404 -> create), listed,
//     read back, saved again under a tag and read by tag;
//   - every templated config there planned (POST /v2/pipelineTemplates/plan),
//     with its resolved stages and variables checked;
//   - the templated configs saved as pipelines and run: the double-wait and
//     single-wait ones through their "pipeline-run" parents (a `pipeline`
//     stage starting the templated child); foo-template's deployManifest
//     (kubernetes, which this suite does not run) fails at that stage with
//     a clear message;
//   - bad templates and configs answer 400 with the reason: an unknown
//     variable type, a missing required variable, cyclic template
//     inheritance, a stage cycle, an unsupported tag.
// The pipeline files are read at run time from GENNAKER_PIPELINES_DIR
// (default: the shared/pipelines directory next to the source tree).
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/rest_call.h"
#include "tests/support/suite_process.h"

namespace gennaker {
namespace {

using Json = nlohmann::json;
using Service = testing::SuiteProcess;

std::string PipelinesDir() {
  const char* s = getenv("GENNAKER_PIPELINES_DIR");
  return s != nullptr ? s : GENNAKER_PIPELINES_DIR_FALLBACK;
}

constexpr char kPrefix[] = "ryu1kn-sandbox--spinnaker__";

Json ReadJson(const std::string& file) {
  std::ifstream in(PipelinesDir() + "/" + file);
  EXPECT_TRUE(in.good()) << "cannot read " << PipelinesDir() << "/" << file;
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str(), nullptr, false);
}

class TemplatesE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::is_directory(PipelinesDir()))
        << "the pipeline corpus is missing: " << PipelinesDir()
        << " (set GENNAKER_PIPELINES_DIR)";
    auto pg = testing::SharedPostgres();
    ASSERT_TRUE(pg.ok()) << pg.status();
    std::map<std::string, std::string> dsn;
    for (const char* db : {"front50", "orca"}) {
      auto d = (*pg)->CreateDatabase(absl::StrCat("tpl_", db));
      ASSERT_TRUE(d.ok()) << d.status();
      dsn[db] = *d;
    }
    auto redis = testing::TestRedis::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    dir_ = testing::MakeTempDir("templates-e2e");
    for (Service* s : {&front50_, &clouddriver_, &orca_, &gate_}) {
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
                     "test}]\ncacheIntervalSeconds: 1\n"));
    configure(
        orca_, "orca",
        absl::StrCat("postgres: {dsn: '", dsn["orca"],
                     "'}\nservices: {front50: ", address(front50_),
                     ", clouddriver: ", address(clouddriver_),
                     "}\nengine: {workerThreads: 4, safetyPollMs: 200}\n"));
    configure(gate_, "gate",
              absl::StrCat("redis: {url: '", redis_->Url(),
                           "'}\nhttpPort: ", gate_http_,
                           "\nservices: {front50: ", address(front50_),
                           ", orca: ", address(orca_),
                           ", clouddriver: ", address(clouddriver_), "}\n"));
    for (Service* s : {&front50_, &clouddriver_, &orca_, &gate_}) {
      absl::Status started = testing::StartSuiteProcess(*s, dir_);
      ASSERT_TRUE(started.ok()) << started;
    }
    gate_url_ = absl::StrCat("http://127.0.0.1:", gate_http_);
    for (const char* app : {"composition-app", "foo-app"}) {
      ASSERT_EQ(
          RunTask({{"application", app},
                   {"description", absl::StrCat("Create Application: ", app)},
                   {"job",
                    {{{"type", "createApplication"},
                      {"application",
                       {{"name", app},
                        {"email", "t@example.com"},
                        {"cloudProviders", "local"}}}}}}}),
          "SUCCEEDED");
    }
  }

  void TearDown() override {
    for (Service* s : {&gate_, &orca_, &clouddriver_, &front50_}) {
      if (s->pid > 0) (void)process::Terminate(s->pid, absl::Seconds(10));
    }
    testing::RemoveTree(dir_);
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

  std::string RunTask(const Json& body) {
    http::ClientResponse r = Call("POST", "/tasks", body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    std::string ref = Json::parse(r.body, nullptr, false).value("ref", "");
    std::string id = ref.substr(ref.rfind('/') + 1);
    for (int i = 0; i < 300; ++i) {
      std::string st = Get("/tasks/" + id).value("status", "");
      if (st != "RUNNING" && st != "NOT_STARTED") return st;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return "TIMEOUT";
  }

  // spin pipeline-template save -f FILE [--tag t]: GET, then create (404)
  // or update (200). The status of the save.
  int SaveTemplate(const Json& t, const std::string& tag = "") {
    const std::string id = t.value("id", "");
    const std::string q = tag.empty() ? "" : "?tag=" + tag;
    http::ClientResponse got = Call("GET", "/v2/pipelineTemplates/" + id + q);
    EXPECT_TRUE(got.status == 200 || got.status == 404) << got.body;
    http::ClientResponse r =
        got.status == 404
            ? Call("POST", "/v2/pipelineTemplates/create" + q, t.dump())
            : Call("POST", "/v2/pipelineTemplates/update/" + id + q, t.dump());
    last_body_ = r.body;
    return r.status;
  }

  // spin pipeline-template plan -f CONFIG.
  http::ClientResponse Plan(const Json& config) {
    return Call("POST", "/v2/pipelineTemplates/plan", config.dump());
  }

  // spin pipeline save -f FILE: a templated config gets its type.
  void SavePipeline(Json config) {
    if (config.contains("template")) config["type"] = "templatedPipeline";
    const std::string app = config["application"];
    const std::string name = config["name"];
    http::ClientResponse got =
        Call("GET", "/applications/" + app + "/pipelineConfigs/" + name);
    if (got.status == 200) {
      config["id"] = Json::parse(got.body).value("id", "");
    } else {
      EXPECT_EQ(got.status, 404) << got.body;
    }
    http::ClientResponse r = Call("POST", "/pipelines", config.dump());
    EXPECT_EQ(r.status, 200) << name << ": " << r.body;
  }

  // spin pipeline execute: the execution id.
  std::string Execute(const std::string& app, const std::string& name) {
    http::ClientResponse r =
        Call("POST", "/pipelines/" + app + "/" + name, "{}");
    EXPECT_EQ(r.status, 202) << name << ": " << r.body;
    std::string ref = Json::parse(r.body, nullptr, false).value("ref", "");
    return ref.substr(ref.rfind('/') + 1);
  }

  Json WaitFinished(const std::string& id, int seconds = 45) {
    Json e;
    for (int i = 0; i < seconds * 10; ++i) {
      e = Get("/pipelines/" + id);
      const std::string st = e.value("status", "");
      if (st != "RUNNING" && st != "NOT_STARTED" && !st.empty()) return e;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "execution " << id << " did not finish: " << e.dump(1);
    return e;
  }

  static const Json* StageNamed(const Json& execution, const std::string& n) {
    for (const Json& s : execution["stages"]) {
      if (s.value("name", "") == n) return &s;
    }
    return nullptr;
  }

  std::unique_ptr<testing::TestRedis> redis_;
  std::string dir_, gate_url_, last_body_;
  Service front50_, clouddriver_, orca_, gate_;
  int gate_http_ = 0;
};

TEST_F(TemplatesE2eTest, RealTemplatesPlanAndTheirPipelinesRun) {
  const auto started = absl::Now();
  // Save every template of the corpus.
  std::map<std::string, Json> templates;
  for (const char* dir :
       {"multi-stages", "pipeline-stage-w-templating", "templating"}) {
    Json t = ReadJson(absl::StrCat(kPrefix, dir, "__template.json"));
    ASSERT_TRUE(t.is_object()) << dir;
    EXPECT_EQ(SaveTemplate(t), 200) << dir << ": " << last_body_;
    templates[t["id"]] = t;
  }
  ASSERT_EQ(templates.size(), 3u);
  // Saving again updates.
  EXPECT_EQ(SaveTemplate(templates["double-wait"]), 200) << last_body_;

  // spin pipeline-template list (always sends scopes=) and get.
  Json list = Get("/v2/pipelineTemplates?scopes=");
  std::set<std::string> ids;
  for (const Json& t : list) ids.insert(t.value("id", ""));
  EXPECT_EQ(ids, (std::set<std::string>{"double-wait", "single-wait",
                                        "foo-template"}))
      << list.dump();
  Json foo = Get("/v2/pipelineTemplates/foo-template");
  EXPECT_EQ(foo["variables"][0]["name"], "timeToWait");
  EXPECT_EQ(foo["pipeline"]["stages"][0]["type"], "deployManifest");

  // A tagged version, read by tag and used by a config's reference.
  Json stable = templates["single-wait"];
  stable["metadata"]["description"] = "stable single wait";
  stable["pipeline"]["stages"][0]["name"] = "Stable wait";
  EXPECT_EQ(SaveTemplate(stable, "stable"), 200) << last_body_;
  EXPECT_EQ(Get("/v2/pipelineTemplates/single-wait?tag=stable")["metadata"]
                                                               ["description"],
            "stable single wait");
  EXPECT_EQ(Get("/v2/pipelineTemplates/single-wait")["metadata"]["description"],
            "Wait once, configurable");

  // Plan every templated config of the corpus.
  Json foo_config =
      ReadJson(absl::StrCat(kPrefix, "templating__pipeline.json"));
  http::ClientResponse planned = Plan(foo_config);
  ASSERT_EQ(planned.status, 200) << planned.body;
  Json p = Json::parse(planned.body);
  EXPECT_EQ(p["templateVariables"], (Json{{"timeToWait", 3}}));
  EXPECT_EQ(p["application"], "foo-app");
  EXPECT_EQ(p["name"], "foo-pipeline");
  EXPECT_EQ(p["description"], "Foo pipeline");
  ASSERT_EQ(p["stages"].size(), 1u);
  EXPECT_EQ(p["stages"][0]["type"], "deployManifest");
  EXPECT_EQ(p["stages"][0]["manifests"][0]["metadata"]["name"],
            "foo-deployment");
  EXPECT_EQ(p["source"],
            (Json{{"type", "templatedPipeline"}, {"version", "v2"}}));
  // Without the variable, the template's default.
  Json defaulted = foo_config;
  defaulted.erase("variables");
  planned = Plan(defaulted);
  ASSERT_EQ(planned.status, 200) << planned.body;
  EXPECT_EQ(Json::parse(planned.body)["templateVariables"]["timeToWait"], 5);

  Json double_config =
      ReadJson(absl::StrCat(kPrefix, "multi-stages__pipeline.json"));
  planned = Plan(double_config);
  ASSERT_EQ(planned.status, 200) << planned.body;
  p = Json::parse(planned.body);
  ASSERT_EQ(p["stages"].size(), 2u);
  EXPECT_EQ(p["stages"][0]["name"], "First wait");
  EXPECT_EQ(p["stages"][0]["waitTime"], 2);
  EXPECT_EQ(p["stages"][1]["name"], "Second wait");
  EXPECT_EQ(p["stages"][1]["requisiteStageRefIds"], Json({"1"}));
  // Resolved when the stage runs, against the trigger's parameters.
  EXPECT_EQ(p["stages"][1]["waitTime"], "${parameters.timeToWait}");
  EXPECT_EQ(p["keepWaitingPipelines"], false);

  Json single_config = ReadJson(
      absl::StrCat(kPrefix, "pipeline-stage-w-templating__pipeline.json"));
  planned = Plan(single_config);
  ASSERT_EQ(planned.status, 200) << planned.body;
  p = Json::parse(planned.body);
  ASSERT_EQ(p["stages"].size(), 1u);
  EXPECT_EQ(p["stages"][0]["name"], "Wait");
  Json tagged = single_config;
  tagged["template"]["reference"] = "spinnaker://single-wait:stable";
  planned = Plan(tagged);
  ASSERT_EQ(planned.status, 200) << planned.body;
  EXPECT_EQ(Json::parse(planned.body)["stages"][0]["name"], "Stable wait");

  // Save the templated configs and the parents as pipelines; run.
  for (const Json& c : {double_config, single_config, foo_config}) {
    SavePipeline(c);
  }
  SavePipeline(
      ReadJson(absl::StrCat(kPrefix, "multi-stages__pipeline-run.json")));
  SavePipeline(ReadJson(
      absl::StrCat(kPrefix, "pipeline-stage-w-templating__pipeline-run.json")));
  Json saved = Get("/applications/foo-app/pipelineConfigs/foo-pipeline");
  EXPECT_EQ(saved["type"], "templatedPipeline");

  const std::string double_run =
      Execute("composition-app", "run-my-double-wait");
  const std::string single_run =
      Execute("composition-app", "run-my-single-wait");
  const std::string foo_run = Execute("foo-app", "foo-pipeline");

  // foo-template deploys a Kubernetes manifest: no such provider here.
  Json foo_exec = WaitFinished(foo_run);
  EXPECT_EQ(foo_exec["status"], "TERMINAL") << foo_exec.dump(1);
  EXPECT_EQ(foo_exec["templateVariables"]["timeToWait"], 3);
  EXPECT_EQ(foo_exec["source"]["type"], "templatedPipeline");
  // The run starts with the template's stage, resolved: only the Kubernetes
  // provider it needs is missing (issue 17).
  const Json* deploy = StageNamed(foo_exec, "Deploy (Manifest)");
  ASSERT_NE(deploy, nullptr) << foo_exec.dump(1);
  EXPECT_EQ((*deploy)["type"], "deployManifest");
  EXPECT_EQ((*deploy)["status"], "TERMINAL");
  EXPECT_EQ((*deploy)["context"]["manifests"][0]["metadata"]["name"],
            "foo-deployment")
      << (*deploy)["context"].dump();
  EXPECT_EQ((*deploy)["context"]["cloudProvider"], "kubernetes");
  const std::string why = (*deploy)["context"].dump();
  EXPECT_TRUE(why.find("deployManifest") != std::string::npos ||
              why.find("kubernetes") != std::string::npos)
      << why;

  Json double_exec = WaitFinished(double_run);
  EXPECT_EQ(double_exec["status"], "SUCCEEDED") << double_exec.dump(1);
  const Json* invoke = StageNamed(double_exec, "Double wait");
  ASSERT_NE(invoke, nullptr);
  Json child = Get("/pipelines/" +
                   (*invoke)["context"].value("executionId", std::string()));
  EXPECT_EQ(child["status"], "SUCCEEDED") << child.dump(1);
  EXPECT_EQ(child["name"], "my-double-wait");
  EXPECT_EQ(child["source"]["type"], "templatedPipeline");
  EXPECT_TRUE(child.contains("templateVariables"));
  EXPECT_EQ(child["trigger"]["parameters"]["timeToWait"], 5);
  const Json* second = StageNamed(child, "Second wait");
  ASSERT_NE(second, nullptr) << child.dump(1);
  EXPECT_EQ((*second)["context"]["waitTime"], 5);
  EXPECT_NE(StageNamed(child, "First wait"), nullptr);

  Json single_exec = WaitFinished(single_run);
  EXPECT_EQ(single_exec["status"], "SUCCEEDED") << single_exec.dump(1);
  invoke = StageNamed(single_exec, "Single wait");
  ASSERT_NE(invoke, nullptr);
  child = Get("/pipelines/" +
              (*invoke)["context"].value("executionId", std::string()));
  EXPECT_EQ(child["status"], "SUCCEEDED") << child.dump(1);
  // The child's default reads the parent's parameter (5).
  EXPECT_EQ(child["trigger"]["parameters"]["timeToWait"], 5);
  const Json* wait = StageNamed(child, "Wait");
  ASSERT_NE(wait, nullptr) << child.dump(1);
  EXPECT_EQ((*wait)["context"]["waitTime"], 5);

  // Deck's "dependent pipelines" of a template.
  Json dependents = Get("/v2/pipelineTemplates/double-wait/dependentPipelines");
  ASSERT_EQ(dependents.size(), 1u) << dependents.dump();
  EXPECT_EQ(dependents[0]["name"], "my-double-wait");
  EXPECT_EQ(Get("/v2/pipelineTemplates/foo-template/dependentPipelines").size(),
            1u);
  EXPECT_EQ(Get("/v2/pipelineTemplates/plain/dependentPipelines"),
            Json::array());

  // spin pipeline-template delete answers 202.
  EXPECT_EQ(
      Call("DELETE", "/v2/pipelineTemplates/single-wait?tag=stable").status,
      202);
  EXPECT_EQ(Call("GET", "/v2/pipelineTemplates/single-wait?tag=stable").status,
            404);
  std::cout << "templates e2e: 3 templates saved, 3 configs planned, "
               "3 pipelines run in "
            << absl::ToInt64Milliseconds(absl::Now() - started) << " ms\n";
}

TEST_F(TemplatesE2eTest, BadTemplatesAndConfigsAnswer400WithTheReason) {
  auto message = [](const std::string& body) {
    return Json::parse(body, nullptr, false).value("message", "");
  };
  auto base = [](const std::string& id) {
    return Json{{"schema", "v2"},
                {"id", id},
                {"metadata", {{"name", id}, {"scopes", {"global"}}}},
                {"variables", Json::array()},
                {"pipeline",
                 {{"stages",
                   {{{"refId", "1"},
                     {"type", "wait"},
                     {"name", "w"},
                     {"waitTime", 1}}}}}}};
  };
  auto config = [](const std::string& reference) {
    return Json{{"schema", "v2"},
                {"application", "composition-app"},
                {"name", "bad"},
                {"template",
                 {{"type", "front50/pipelineTemplate"},
                  {"artifactAccount", "front50ArtifactCredentials"},
                  {"reference", reference}}},
                {"variables", Json::object()},
                {"stages", Json::array()}};
  };

  // An unknown variable type.
  Json t = base("typed");
  t["variables"] = {{{"name", "n"}, {"type", "number"}}};
  EXPECT_EQ(SaveTemplate(t), 400);
  EXPECT_NE(message(last_body_).find("variable 'n' has unknown type 'number'"),
            std::string::npos)
      << last_body_;
  // Refused, nothing stored.
  EXPECT_EQ(Call("GET", "/v2/pipelineTemplates/typed").status, 404);

  // A required variable the config does not give.
  t = base("needs-vars");
  t["variables"] = {{{"name", "region"}, {"type", "string"}},
                    {{"name", "count"}, {"type", "int"}},
                    {{"name", "opt"}, {"type", "string"}, {"nullable", true}}};
  ASSERT_EQ(SaveTemplate(t), 200) << last_body_;
  http::ClientResponse r = Plan(config("spinnaker://needs-vars"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(message(r.body), "Missing variable values for: region, count");
  Json wrong = config("spinnaker://needs-vars");
  wrong["variables"] = {{"region", "eu"}, {"count", "three"}};
  r = Plan(wrong);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(message(r.body).find("count (expected type 'int' found type "
                                 "'String')"),
            std::string::npos)
      << r.body;

  // Cyclic inheritance: a template whose pipeline is a templated config on
  // a template that comes back to it; and one on itself.
  Json a = base("cyc-a");
  a["pipeline"] = config("spinnaker://cyc-b");
  ASSERT_EQ(SaveTemplate(a), 200) << last_body_;
  Json b = base("cyc-b");
  b["pipeline"] = config("spinnaker://cyc-a");
  EXPECT_EQ(SaveTemplate(b), 400);
  EXPECT_NE(message(last_body_)
                .find("Cyclic template inheritance: cyc-b -> cyc-a -> cyc-b"),
            std::string::npos)
      << last_body_;
  EXPECT_EQ(Call("GET", "/v2/pipelineTemplates/cyc-b").status, 404);
  Json self = base("cyc-self");
  self["pipeline"] = config("spinnaker://cyc-self:stable");
  EXPECT_EQ(SaveTemplate(self), 400);
  EXPECT_NE(message(last_body_).find("Cyclic template inheritance"),
            std::string::npos)
      << last_body_;
  EXPECT_EQ(Call("GET", "/v2/pipelineTemplates/cyc-self").status, 404);
  // cyc-a's chain ends at a template that does not exist.
  r = Plan(config("spinnaker://cyc-a"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(message(r.body).find("'spinnaker://cyc-b' does not exist"),
            std::string::npos)
      << r.body;

  // A config whose stages make a cycle with the template's.
  ASSERT_EQ(SaveTemplate(base("plain")), 200) << last_body_;
  Json cycle = config("spinnaker://plain");
  cycle["stages"] = {
      {{"refId", "2"}, {"type", "wait"}, {"requisiteStageRefIds", {"3"}}},
      {{"refId", "3"}, {"type", "wait"}, {"requisiteStageRefIds", {"2"}}}};
  r = Plan(cycle);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(message(r.body).find("Cycle detected in graph"), std::string::npos)
      << r.body;

  // A tag front50 does not support; no schema.
  EXPECT_EQ(SaveTemplate(base("plain"), "nightly"), 400);
  EXPECT_NE(message(last_body_).find("tag nightly is not supported"),
            std::string::npos)
      << last_body_;
  EXPECT_EQ(Call("GET", "/v2/pipelineTemplates/plain?tag=nightly").status, 404);
  // A reference to a template that was never saved.
  r = Plan(config("spinnaker://nope:stable"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(message(r.body),
            "Pipeline template is invalid: template 'spinnaker://nope:stable' "
            "does not exist");
  // Every refusal is gate's JSON error.
  EXPECT_EQ(Json::parse(r.body, nullptr, false).value("error", ""),
            "Bad Request")
      << r.body;
  // A saved config whose template is gone is refused at start, not run.
  SavePipeline(config("spinnaker://nope"));
  r = Call("POST", "/pipelines/composition-app/bad", "{}");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(message(r.body),
            "Pipeline template is invalid: template 'spinnaker://nope' does "
            "not exist");
  EXPECT_EQ(Get("/applications/composition-app/pipelines?limit=5"),
            Json::array());
  Json no_schema = config("spinnaker://plain");
  no_schema.erase("schema");
  EXPECT_EQ(Plan(no_schema).status, 400);
}

}  // namespace
}  // namespace gennaker
