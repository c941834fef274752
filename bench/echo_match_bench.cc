// Google Benchmark of echo's trigger matching (services/echo/triggers):
// TriggerIndex::Match against 10,000 pipeline configs for each kind of event,
// and the index build. The configs are generated from a fixed seed: 500
// applications, 20 pipelines each, 2 to 4 triggers per pipeline mixing git
// (github, gitlab, bitbucket; branch regexes; some with secrets), webhook
// (payloadConstraints, some as JSON paths), jenkins/travis, docker (tag
// regexes), pipeline (an upstream pipeline of the same application) and cron,
// some with expected artifacts. Each event matches a handful of pipelines,
// except the last, which matches none.
//   build/bin/echo_match_bench [--benchmark_repetitions=N]
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "common/spinnaker/json.h"
#include "services/echo/triggers/events.h"
#include "services/echo/triggers/trigger_index.h"

namespace gennaker::echo {
namespace {

constexpr int kApps = 500;
constexpr int kPipelinesPerApp = 20;
constexpr int kRepos = 400;

std::string App(int a) { return absl::StrCat("app", a); }
std::string Repo(int r) { return absl::StrCat("service-", r); }
std::string PipelineId(int a, int p) {
  return absl::StrCat("0c7a", a, "-", p, "-4f7e-9a3b-5d2c1e0f", a * 31 + p);
}

std::vector<Json> MakePipelines() {
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const char* branches[] = {"main", "master",         "release-.*",
                            "",     "(main|develop)", "feature/.*"};
  const char* sources[] = {"github", "github", "github", "gitlab", "bitbucket"};
  const char* tags[] = {"", "v[0-9]+\\.[0-9]+\\.[0-9]+", "latest", "^rc-.*",
                        "[0-9a-f]{7}"};
  std::vector<Json> out;
  out.reserve(kApps * kPipelinesPerApp);
  for (int a = 0; a < kApps; ++a) {
    for (int p = 0; p < kPipelinesPerApp; ++p) {
      Json triggers = Json::array();
      Json expected = Json::array();
      const int n = 2 + pick(3);
      // A git repository's owner is fixed by its name (as on GitHub).
      for (int t = 0; t < n; ++t) {
        const std::string tid = absl::StrCat("t-", a, "-", p, "-", t);
        switch (pick(6)) {
          case 0: {  // git
            const int repo = pick(kRepos);
            Json g = {{"type", "git"},
                      {"enabled", true},
                      {"id", tid},
                      {"source", sources[pick(5)]},
                      {"project", absl::StrCat("org", repo % 50)},
                      {"slug", Repo(repo)},
                      {"branch", branches[pick(6)]}};
            if (pick(4) == 0) g["secret"] = "s3cret";
            if (pick(5) == 0) g["events"] = {"push:push"};
            triggers.push_back(g);
            break;
          }
          case 1: {  // webhook
            Json w = {{"type", "webhook"},
                      {"enabled", true},
                      {"id", tid},
                      {"source", absl::StrCat("hook-", App(a))}};
            if (pick(2) == 0) {
              w["payloadConstraints"] = {{"environment", "^(prod|staging)$"},
                                         {"$.service.team", "payments"}};
            } else {
              w["payloadConstraints"] = {{"service.name", App(a)}};
            }
            triggers.push_back(w);
            break;
          }
          case 2:  // jenkins / travis
            triggers.push_back(
                {{"type", pick(4) == 0 ? "travis" : "jenkins"},
                 {"enabled", true},
                 {"id", tid},
                 {"master", absl::StrCat("jenkins-", pick(10))},
                 {"job", absl::StrCat(App(a), "/build-", pick(5))},
                 {"propertyFile", "build.properties"}});
            break;
          case 3: {  // docker
            Json d = {{"type", "docker"},
                      {"enabled", true},
                      {"id", tid},
                      {"account", pick(2) == 0 ? "gcr" : "dockerhub"},
                      {"registry", "gcr.io"},
                      {"organization", "acme"},
                      {"repository", absl::StrCat("acme/", App(a))},
                      {"tag", tags[pick(5)]}};
            if (pick(3) == 0) {
              d["expectedArtifactIds"] = {"ea-" + tid};
              expected.push_back(
                  {{"id", "ea-" + tid},
                   {"matchArtifact",
                    {{"type", "docker/image"},
                     {"name", absl::StrCat("gcr.io/acme/", App(a))}}}});
            }
            triggers.push_back(d);
            break;
          }
          case 4:  // pipeline
            triggers.push_back({{"type", "pipeline"},
                                {"enabled", true},
                                {"id", tid},
                                {"application", App(a)},
                                {"pipeline", PipelineId(a, pick(5))},
                                {"status", {"successful"}}});
            break;
          default:  // cron
            triggers.push_back({{"type", "cron"},
                                {"enabled", pick(3) != 0},
                                {"id", tid},
                                {"cronExpression", "0 0/30 * * * ?"}});
            break;
        }
      }
      Json pipeline = {
          {"id", PipelineId(a, p)},
          {"application", App(a)},
          {"name", absl::StrCat("deploy-", p)},
          {"disabled", pick(20) == 0},
          {"keepWaitingPipelines", false},
          {"limitConcurrent", true},
          {"triggers", triggers},
          {"expectedArtifacts", expected},
          {"parameterConfig",
           {{{"name", "env"}, {"default", "staging"}, {"required", false}}}},
          {"stages",
           {{{"refId", "1"},
             {"type", "bakeManifest"},
             {"name", "Bake"},
             {"templateRenderer", "HELM3"}},
            {{"refId", "2"},
             {"requisiteStageRefIds", {"1"}},
             {"type", "deployManifest"},
             {"account", "k8s"},
             {"cloudProvider", "kubernetes"}}}}};
      out.push_back(std::move(pipeline));
    }
  }
  return out;
}

const std::vector<Json>& Pipelines() {
  static const auto* p = new std::vector<Json>(MakePipelines());
  return *p;
}

const TriggerIndex& Index() {
  static const auto* index =
      new TriggerIndex(Pipelines(), MatchOptions{"shared-secret"});
  return *index;
}

// The first enabled trigger of `type` in the configs (so every event matches
// at least that pipeline).
Json FirstTrigger(const std::string& type) {
  for (const Json& p : Pipelines()) {
    if (p["disabled"].get<bool>()) continue;
    for (const Json& t : p["triggers"]) {
      if (t["type"] == type && !t.contains("secret") &&
          !t.contains("expectedArtifactIds") && !t.contains("events")) {
        if (type == "git" && t["branch"] != "") continue;
        return t;
      }
    }
  }
  return Json::object();
}

std::string HmacHex(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &len);
  static const char* kDigits = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kDigits[out[i] >> 4]);
    hex.push_back(kDigits[out[i] & 0xf]);
  }
  return hex;
}

Json GitPush(const std::string& source, const std::string& project,
             const std::string& slug) {
  Json body = {
      {"ref", "refs/heads/main"},
      {"before", "6113728f27ae82c7b1a177c8d03f9e96e0adf246"},
      {"after", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"},
      {"repository",
       {{"name", slug},
        {"full_name", project + "/" + slug},
        {"owner", {{"name", project}, {"login", project}}},
        {"contents_url", absl::StrCat("https://api.github.com/repos/", project,
                                      "/", slug, "/contents/{+path}")}}},
      {"commits",
       {{{"id", "0d1a26e6"},
         {"added", {"deploy/app.yaml"}},
         {"modified", {"README.md", "src/main.cc"}},
         {"removed", Json::array()}}}},
      {"pusher", {{"name", "mona"}}}};
  IncomingWebhook w;
  w.type = "git";
  w.source = source;
  w.raw_body = body.dump();
  w.headers = {{"X-GitHub-Event", "push"},
               {"X-Hub-Signature-256",
                "sha256=" + HmacHex("shared-secret", w.raw_body)}};
  if (source == "gitlab") {
    body = {{"object_kind", "push"},
            {"ref", "refs/heads/main"},
            {"after", "0d1a26e6"},
            {"project", {{"name", slug}, {"namespace", project}}}};
    w.raw_body = body.dump();
    w.headers = {{"X-Gitlab-Token", "shared-secret"}};
  } else if (source == "bitbucket") {
    body = {{"repository",
             {{"full_name", slug}, {"owner", {{"username", project}}}}},
            {"push",
             {{"changes",
               {{{"new", {{"name", "main"}}},
                 {"commits", {{{"hash", "0d1a26e6"}}}}}}}}}};
    w.raw_body = body.dump();
    w.headers = {
        {"X-Event-Key", "repo:push"},
        {"X-Hub-Signature", "sha256=" + HmacHex("shared-secret", w.raw_body)}};
  }
  auto ev = BuildWebhookEvent(w);
  if (!ev.ok()) return Json::object();
  ev->event["eventId"] = "bench-git";
  return ev->event;
}

Json Event(const std::string& kind) {
  if (kind == "git") {
    Json t = FirstTrigger("git");
    return GitPush(t["source"], t["project"], t["slug"]);
  }
  if (kind == "nothing") return GitPush("github", "nobody", "no-such-repo");
  if (kind == "webhook") {
    Json t = FirstTrigger("webhook");
    std::string app = t["source"].get<std::string>().substr(5);
    IncomingWebhook w;
    w.type = "webhook";
    w.source = t["source"];
    w.raw_body = Json{{"environment", "prod"},
                      {"service", {{"name", app}, {"team", "payments"}}},
                      {"parameters", {{"version", "1.4.2"}}},
                      {"artifacts",
                       {{{"type", "docker/image"},
                         {"name", "gcr.io/acme/" + app},
                         {"reference", "gcr.io/acme/" + app + ":1.4.2"}}}}}
                     .dump();
    auto ev = BuildWebhookEvent(w);
    ev->event["eventId"] = "bench-webhook";
    return ev->event;
  }
  if (kind == "build") {
    Json t = FirstTrigger("jenkins");
    return {{"eventId", "bench-build"},
            {"details", {{"type", "build"}, {"source", "igor"}}},
            {"content",
             {{"master", t["master"]},
              {"project",
               {{"name", t["job"]},
                {"lastBuild",
                 {{"building", false},
                  {"number", 128},
                  {"result", "SUCCESS"},
                  {"url", "https://jenkins.example/job/x/128/"},
                  {"timestamp", "1764590000000"},
                  {"duration", 73000}}}}}}}};
  }
  if (kind == "docker") {
    Json t = FirstTrigger("docker");
    return {{"eventId", "bench-docker"},
            {"details", {{"type", "docker"}, {"source", "igor"}}},
            {"content",
             {{"account", t["account"]},
              {"registry", "gcr.io"},
              {"repository", t["repository"]},
              {"tag", "v1.4.2"},
              {"digest", "sha256:5f7a3c"}}}};
  }
  // pipeline: an upstream execution with a few stages.
  Json t = FirstTrigger("pipeline");
  Json stages = Json::array();
  for (int i = 0; i < 8; ++i) {
    stages.push_back(
        {{"id", absl::StrCat("stage-", i)},
         {"refId", std::to_string(i + 1)},
         {"type", "deployManifest"},
         {"status", "SUCCEEDED"},
         {"context",
          {{"account", "k8s"}, {"manifests", {{{"kind", "Deployment"}}}}}},
         {"outputs", {{"artifacts", Json::array()}}}});
  }
  return {{"eventId", "bench-pipeline"},
          {"details", {{"type", "orca:pipeline:complete"}, {"source", "orca"}}},
          {"content",
           {{"execution",
             {{"id", "01HEXECUTION"},
              {"type", "PIPELINE"},
              {"application", t["application"]},
              {"name", "upstream"},
              {"pipelineConfigId", t["pipeline"]},
              {"status", "SUCCEEDED"},
              {"startTime", 1764590000000},
              {"trigger", {{"type", "manual"}, {"user", "alice"}}},
              {"stages", stages}}}}}};
}

void BM_Match(benchmark::State& state, const std::string& kind) {
  const TriggerIndex& index = Index();
  const Json event = Event(kind);
  size_t matches = 0;
  for (auto _ : state) {
    auto m = index.Match(event);
    matches += m.size();
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["matches_per_event"] =
      static_cast<double>(matches) / static_cast<double>(state.iterations());
  state.counters["matches/s"] = benchmark::Counter(static_cast<double>(matches),
                                                   benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_Match, git_push, std::string("git"));
BENCHMARK_CAPTURE(BM_Match, webhook_constraints, std::string("webhook"));
BENCHMARK_CAPTURE(BM_Match, build, std::string("build"));
BENCHMARK_CAPTURE(BM_Match, docker, std::string("docker"));
BENCHMARK_CAPTURE(BM_Match, pipeline_complete, std::string("pipeline"));
BENCHMARK_CAPTURE(BM_Match, matches_nothing, std::string("nothing"));

void BM_IndexBuild(benchmark::State& state) {
  size_t triggers = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Json> copy = Pipelines();
    state.ResumeTiming();
    TriggerIndex index(std::move(copy), MatchOptions{"shared-secret"});
    triggers = index.trigger_count();
    benchmark::DoNotOptimize(triggers);
  }
  state.counters["pipelines"] = static_cast<double>(Pipelines().size());
  state.counters["triggers"] = static_cast<double>(triggers);
}
BENCHMARK(BM_IndexBuild)->Unit(benchmark::kMillisecond);

// Intake: a GitHub push body into an event (parse, handler, artifacts).
void BM_BuildWebhookEvent(benchmark::State& state) {
  Json t = FirstTrigger("git");
  Json event = GitPush("github", t["project"], t["slug"]);
  IncomingWebhook w;
  w.type = "git";
  w.source = "github";
  w.raw_body = event["rawContent"];
  w.headers = {{"X-GitHub-Event", "push"}};
  for (auto _ : state) {
    auto ev = BuildWebhookEvent(w);
    benchmark::DoNotOptimize(ev);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildWebhookEvent);

}  // namespace
}  // namespace gennaker::echo

BENCHMARK_MAIN();
