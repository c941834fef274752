#include "services/echo/triggers/trigger_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/testing/status_matchers.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace gennaker::echo {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Json Pipeline(const std::string& id, Json triggers,
              Json extra = Json::object()) {
  Json p = {{"id", id},
            {"application", "app"},
            {"name", "deploy-" + id},
            {"triggers", std::move(triggers)},
            {"stages", Json::array({{{"type", "wait"}, {"refId", "1"}}})}};
  for (auto it = extra.begin(); it != extra.end(); ++it)
    p[it.key()] = it.value();
  return p;
}

Json GitTrigger(Json extra = Json::object()) {
  Json t = {{"type", "git"},         {"enabled", true},
            {"source", "github"},    {"project", "octocat"},
            {"slug", "Hello-World"}, {"branch", "main"}};
  for (auto it = extra.begin(); it != extra.end(); ++it)
    t[it.key()] = it.value();
  return t;
}

std::string HmacHex(const EVP_MD* md, const std::string& key,
                    const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
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

// A git push event as BuildWebhookEvent makes it.
Json GitEvent(const std::string& branch = "main",
              const std::string& action = "push:push",
              const std::string& signature_secret = "") {
  std::string raw = R"({"ref": "refs/heads/)" + branch + R"("})";
  Json headers = {{"x-github-event", {"push"}}};
  if (!signature_secret.empty()) {
    headers["x-hub-signature-256"] = {
        "sha256=" + HmacHex(EVP_sha256(), signature_secret, raw)};
  }
  return {
      {"eventId", "ev-1"},
      {"details",
       {{"type", "git"}, {"source", "github"}, {"requestHeaders", headers}}},
      {"content",
       {{"repoProject", "OctoCat"},
        {"slug", "hello-world"},
        {"hash", "0d1a26e6"},
        {"branch", branch},
        {"action", action},
        {"artifacts",
         {{{"type", "github/file"},
           {"name", "deploy/app.yaml"},
           {"version", "0d1a26e6"},
           {"reference", "https://api.github.com/x"}}}}}},
      {"rawContent", raw}};
}

std::vector<std::string> Ids(const std::vector<TriggerMatch>& matches) {
  std::vector<std::string> ids;
  for (const auto& m : matches) ids.push_back(m.pipeline["id"]);
  return ids;
}

TEST(TriggerIndexTest, GitPushMatchesAndBuildsTrigger) {
  TriggerIndex index(
      {Pipeline("p1", {GitTrigger({{"id", "t1"},
                                   {"runAsUser", "svc-deploy"},
                                   {"parameters", {{"env", "staging"}}}})})},
      {});
  auto m = index.Match(GitEvent());
  ASSERT_EQ(m.size(), 1u);
  const Json& t = m[0].trigger;
  EXPECT_EQ(t["type"], "git");
  EXPECT_EQ(t["hash"], "0d1a26e6");
  EXPECT_EQ(t["branch"], "main");
  EXPECT_EQ(t["action"], "push:push");
  EXPECT_EQ(t["source"], "github");
  EXPECT_EQ(t["project"], "octocat");
  EXPECT_EQ(t["slug"], "Hello-World");
  EXPECT_EQ(t["eventId"], "ev-1");
  EXPECT_EQ(t["user"], "svc-deploy");
  EXPECT_EQ(t["parameters"]["env"], "staging");
  ASSERT_EQ(t["artifacts"].size(), 1u);
  EXPECT_EQ(t["artifacts"][0]["name"], "deploy/app.yaml");
  EXPECT_EQ(m[0].pipeline["name"], "deploy-p1");
  EXPECT_EQ(m[0].key.rfind("trigger-", 0), 0u);
  // Stable for a repeated delivery of the same event.
  EXPECT_EQ(index.Match(GitEvent())[0].key, m[0].key);
  // Another event id, another key.
  Json other = GitEvent();
  other["eventId"] = "ev-2";
  EXPECT_NE(index.Match(other)[0].key, m[0].key);
  EXPECT_EQ(index.pipeline_count(), 1u);
  EXPECT_EQ(index.trigger_count(), 1u);
}

TEST(TriggerIndexTest, GitNeverCarriesTheSecret) {
  TriggerIndex index({Pipeline("p1", {GitTrigger({{"secret", "hunter2"}})})},
                     {});
  auto m = index.Match(GitEvent("main", "push:push", "hunter2"));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_FALSE(m[0].trigger.contains("secret"));
  EXPECT_EQ(m[0].trigger.dump().find("hunter2"), std::string::npos);
  EXPECT_EQ(m[0].pipeline.dump().find("hunter2"), std::string::npos)
      << "the pipeline config sent to orca must not carry it either";
}

TEST(TriggerIndexTest, GitDisabledPipelineOrTriggerDoesNotMatch) {
  TriggerIndex index(
      {Pipeline("off", {GitTrigger()}, {{"disabled", true}}),
       Pipeline("trigger-off", {GitTrigger({{"enabled", false}})}),
       Pipeline("no-enabled", {GitTrigger({{"enabled", nullptr}})}),
       Pipeline("on", {GitTrigger()})},
      {});
  EXPECT_THAT(Ids(index.Match(GitEvent())), ElementsAre("on"));
}

TEST(TriggerIndexTest, GitBranchIsAFullMatchRegex) {
  TriggerIndex index(
      {Pipeline("exact", {GitTrigger({{"branch", "main"}})}),
       Pipeline("release", {GitTrigger({{"branch", "release-.*"}})}),
       Pipeline("partial", {GitTrigger({{"branch", "ma"}})}),
       Pipeline("any", {GitTrigger({{"branch", ""}})}),
       Pipeline("alt", {GitTrigger({{"branch", "main|develop"}})})},
      {});
  EXPECT_THAT(Ids(index.Match(GitEvent("main"))),
              ElementsAre("exact", "any", "alt"));
  EXPECT_THAT(Ids(index.Match(GitEvent("release-1.2"))),
              ElementsAre("release", "any"));
  EXPECT_THAT(Ids(index.Match(GitEvent("main-old"))), ElementsAre("any"));
}

TEST(TriggerIndexTest, GitInvalidRegexMatchesOnlyItself) {
  TriggerIndex index({Pipeline("bad", {GitTrigger({{"branch", "(main"}})}),
                      Pipeline("backref", {GitTrigger({{"branch", "(a)\\1"}})}),
                      Pipeline("good", {GitTrigger()})},
                     {});
  EXPECT_THAT(Ids(index.Match(GitEvent("main"))), ElementsAre("good"));
  // Spinnaker compares equality before the regex.
  EXPECT_THAT(Ids(index.Match(GitEvent("(main"))), ElementsAre("bad"));
  EXPECT_THAT(Ids(index.Match(GitEvent("(a)\\1"))), ElementsAre("backref"));
  EXPECT_THAT(Ids(index.Match(GitEvent("aa"))), ElementsAre());
}

// A log sink on the default logger for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    sink_->set_pattern("%v");
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~CapturedLog() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

TEST(TriggerIndexTest, InvalidRegexIsLoggedOncePerIndexAndEscaped) {
  CapturedLog log;
  std::vector<Json> pipelines = {
      Pipeline("w1", {GitTrigger({{"branch", "(warn-once"}})}),
      Pipeline("forge",
               {GitTrigger({{"branch", "(x\nevent=forged level=error"}})})};
  { TriggerIndex first(pipelines, {}); }
  { TriggerIndex second(pipelines, {}); }
  const std::string text = log.text();
  // Once per index build (the set lives in the index, not the process).
  EXPECT_EQ(Count(text, "pattern=\"(warn-once\""), 2u) << text;
  // A newline in the pattern cannot start a log line of its own.
  EXPECT_EQ(Count(text, "\nevent=forged"), 0u) << text;
  EXPECT_NE(text.find("pattern=\"(x\\nevent=forged"), std::string::npos)
      << text;
}

TEST(TriggerIndexTest, InternalGitEventSkipsSignatureCheck) {
  TriggerIndex index({Pipeline("secret", {GitTrigger({{"secret", "s3"}})}),
                      Pipeline("open", {GitTrigger()})},
                     {});
  // igor's git poller posts through PostEvent: no rawContent, no headers.
  Json polled = GitEvent();
  polled.erase("rawContent");
  polled["details"].erase("requestHeaders");
  EXPECT_THAT(Ids(index.Match(polled)), ElementsAre("secret", "open"));
  TriggerIndex shared({Pipeline("open", {GitTrigger()})},
                      MatchOptions{"shared"});
  EXPECT_THAT(Ids(shared.Match(polled)), ElementsAre("open"));

  // A webhook (rawContent present, even empty) is still checked.
  Json webhook = polled;
  webhook["rawContent"] = "";
  EXPECT_THAT(Ids(index.Match(webhook)), ElementsAre("open"));
  EXPECT_THAT(Ids(shared.Match(webhook)), ElementsAre());
}

TEST(TriggerIndexTest, GitEventsFilter) {
  TriggerIndex index(
      {Pipeline("pr", {GitTrigger({{"events", {"pull_request:opened"}},
                                   {"branch", ""}})}),
       Pipeline("push", {GitTrigger({{"events", {"push:push"}}})})},
      {});
  EXPECT_THAT(Ids(index.Match(GitEvent("main", "push:push"))),
              ElementsAre("push"));
  Json pr = GitEvent("feature/x", "pull_request:opened");
  pr["content"]["number"] = "42";
  pr["content"]["title"] = "Add";
  auto m = index.Match(pr);
  ASSERT_THAT(Ids(m), ElementsAre("pr"));
  EXPECT_EQ(m[0].trigger["properties"]["number"], "42");
  EXPECT_EQ(m[0].trigger["properties"]["title"], "Add");
}

TEST(TriggerIndexTest, GitSignatureRules) {
  TriggerIndex index({Pipeline("secret", {GitTrigger({{"secret", "s3"}})}),
                      Pipeline("open", {GitTrigger()})},
                     {});
  // Signed with the trigger's secret: only the trigger with that secret.
  EXPECT_THAT(Ids(index.Match(GitEvent("main", "push:push", "s3"))),
              ElementsAre("secret"));
  // Unsigned: only the trigger without a secret.
  EXPECT_THAT(Ids(index.Match(GitEvent())), ElementsAre("open"));
  // Signed with another secret: nothing.
  EXPECT_THAT(Ids(index.Match(GitEvent("main", "push:push", "wrong"))),
              ElementsAre());

  // The shared secret applies to triggers without their own.
  TriggerIndex shared({Pipeline("open", {GitTrigger()})},
                      MatchOptions{"shared"});
  EXPECT_THAT(Ids(shared.Match(GitEvent())), ElementsAre());
  EXPECT_THAT(Ids(shared.Match(GitEvent("main", "push:push", "shared"))),
              ElementsAre("open"));
}

TEST(TriggerIndexTest, GitlabTokenCheckedAtIntakeAndDelivery) {
  auto gitlab = [](Json extra) {
    Json t = {{"type", "git"},  {"enabled", true}, {"source", "gitlab"},
              {"project", "g"}, {"slug", "p"},     {"branch", "main"}};
    for (auto it = extra.begin(); it != extra.end(); ++it)
      t[it.key()] = it.value();
    return t;
  };
  TriggerIndex index({Pipeline("mine", {gitlab({{"secret", "tok"}})}),
                      Pipeline("theirs", {gitlab({{"secret", "other"}})})},
                     {});
  IncomingWebhook w{"git",
                    "gitlab",
                    R"({"ref": "refs/heads/main", "object_kind": "push",
          "project": {"name": "p", "namespace": "g"}})",
                    {{"X-Gitlab-Token", "tok"}}};
  auto built = BuildWebhookEvent(w);
  ASSERT_THAT(built, IsOk());
  // Intake: every trigger has a secret, and "tok" validates.
  std::vector<std::string> secrets;
  ASSERT_TRUE(index.GitSecretsFor(built->event, &secrets));
  EXPECT_THAT(secrets, ElementsAre("tok", "other"));
  EXPECT_EQ(CheckGitSignature(built->event, "tok"), SignatureCheck::kValid);
  // Delivery, from the stored JSON (which holds no token): only the trigger
  // whose secret the token was.
  Json stored = Json::parse(built->event.dump());
  stored["eventId"] = "gl-1";
  EXPECT_EQ(stored.dump().find("\"tok\""), std::string::npos);
  EXPECT_THAT(Ids(index.Match(stored)), ElementsAre("mine"));
}

TEST(TriggerIndexTest, OneMatchPerPipelineInPipelineOrder) {
  TriggerIndex index(
      {Pipeline("b", {GitTrigger({{"id", "first"}}),
                      GitTrigger({{"id", "second"}, {"branch", ".*"}})}),
       Pipeline("a", {GitTrigger({{"branch", "nope"}}),
                      GitTrigger({{"id", "a2"}})})},
      {});
  auto m = index.Match(GitEvent());
  ASSERT_THAT(Ids(m), ElementsAre("b", "a"));
  EXPECT_EQ(m[0].trigger["id"], "first");
  EXPECT_EQ(m[1].trigger["id"], "a2");
  EXPECT_NE(m[0].key, m[1].key);
}

TEST(TriggerIndexTest, GitSecretsFor) {
  TriggerIndex index(
      {Pipeline("p1", {GitTrigger({{"secret", "one"}})}),
       Pipeline("p2", {GitTrigger({{"secret", "two"}, {"branch", "x"}})}),
       Pipeline("p3", {GitTrigger({{"secret", "one"}})}),
       Pipeline("p4", {GitTrigger()}),
       Pipeline("off", {GitTrigger({{"secret", "three"}})},
                {{"disabled", true}})},
      {});
  std::vector<std::string> secrets;
  // p4 has no secret: an unsigned push must still reach it (Match then skips
  // the triggers with secrets), so no signature is required at intake.
  EXPECT_FALSE(index.GitSecretsFor(GitEvent(), &secrets));
  EXPECT_THAT(secrets, ElementsAre("one", "two"));
  EXPECT_THAT(Ids(index.Match(GitEvent())), ElementsAre("p4"));

  // Every trigger with a secret: a valid signature is required.
  TriggerIndex all_secret(
      {Pipeline("p1", {GitTrigger({{"secret", "one"}})}),
       Pipeline("p2", {GitTrigger({{"secret", "two"}, {"branch", "x"}})}),
       Pipeline("p3", {GitTrigger({{"secret", "one"}})}),
       Pipeline("off", {GitTrigger()}, {{"disabled", true}})},
      {});
  EXPECT_TRUE(all_secret.GitSecretsFor(GitEvent(), &secrets));
  EXPECT_THAT(secrets, ElementsAre("one", "two"));

  // Mixed, but the shared secret covers the trigger without its own.
  TriggerIndex mixed_shared({Pipeline("p1", {GitTrigger({{"secret", "one"}})}),
                             Pipeline("p4", {GitTrigger()})},
                            MatchOptions{"shared"});
  EXPECT_TRUE(mixed_shared.GitSecretsFor(GitEvent(), &secrets));
  EXPECT_THAT(secrets, ElementsAre("one", "shared"));

  TriggerIndex with_shared({Pipeline("p4", {GitTrigger()})},
                           MatchOptions{"shared"});
  EXPECT_TRUE(with_shared.GitSecretsFor(GitEvent(), &secrets));
  EXPECT_THAT(secrets, ElementsAre("shared"));

  TriggerIndex none({Pipeline("p4", {GitTrigger()})}, {});
  EXPECT_FALSE(none.GitSecretsFor(GitEvent(), &secrets));
  EXPECT_TRUE(secrets.empty());
  Json other_repo = GitEvent();
  other_repo["content"]["slug"] = "other";
  EXPECT_FALSE(index.GitSecretsFor(other_repo, nullptr));
  EXPECT_FALSE(index.GitSecretsFor(Json::array(), nullptr));
}

// --- webhook ---

Json WebhookTrigger(Json constraints = nullptr) {
  Json t = {{"type", "webhook"}, {"enabled", true}, {"source", "deploy-hook"}};
  if (!constraints.is_null()) t["payloadConstraints"] = constraints;
  return t;
}

Json WebhookEvent(Json payload, const std::string& source = "deploy-hook",
                  const std::string& type = "webhook") {
  Json content = payload;
  if (!content.contains("artifacts")) content["artifacts"] = Json::array();
  return {{"eventId", "wh-1"},
          {"details", {{"type", type}, {"source", source}}},
          {"content", content},
          {"payload", payload},
          {"rawContent", payload.dump()}};
}

TEST(TriggerIndexTest, WebhookSourceAndType) {
  TriggerIndex index({Pipeline("p", {WebhookTrigger()})}, {});
  Json payload = {{"parameters", {{"env", "prod"}}}, {"x", 1}};
  auto m = index.Match(WebhookEvent(payload));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].trigger["payload"]["x"], 1);
  EXPECT_EQ(m[0].trigger["parameters"]["env"], "prod");
  EXPECT_EQ(m[0].trigger["eventId"], "wh-1");
  EXPECT_EQ(m[0].trigger["user"], "[anonymous]");
  EXPECT_EQ(index.Match(WebhookEvent(payload, "deploy-hook", "WebHook")).size(),
            1u);
  // The source is compared exactly; other event types are not webhooks.
  EXPECT_TRUE(index.Match(WebhookEvent(payload, "Deploy-Hook")).empty());
  EXPECT_TRUE(index.Match(WebhookEvent(payload, "deploy-hook", "git")).empty());
  EXPECT_TRUE(
      index.Match(WebhookEvent(payload, "deploy-hook", "manual")).empty());
}

TEST(TriggerIndexTest, WebhookPayloadConstraintsFindAndJsonPath) {
  TriggerIndex index(
      {Pipeline("find", {WebhookTrigger({{"service", "pay"}})}),
       Pipeline("anchored", {WebhookTrigger({{"service", "^payments$"}})}),
       Pipeline("number", {WebhookTrigger({{"count", "^4[0-9]$"}})}),
       Pipeline("path", {WebhookTrigger({{"repository.name", "^svc-"}})}),
       Pipeline("dollar", {WebhookTrigger({{"$.repository.owner", "acme"}})}),
       Pipeline("wild", {WebhookTrigger({{"images[*].tag", "^v2"}})}),
       Pipeline("deep", {WebhookTrigger({{"$..tag", "^v1"}})}),
       Pipeline("index", {WebhookTrigger({{"images[1].tag", "v2"}})}),
       Pipeline("missing", {WebhookTrigger({{"nothere", ".*"}})}),
       Pipeline("presence", {WebhookTrigger({{"service", nullptr}})}),
       Pipeline("badregex", {WebhookTrigger({{"service", "(pay"}})}),
       Pipeline("filter", {WebhookTrigger({{"$.images[?(@.tag)]", ".*"}})})},
      {});
  Json payload = {{"service", "payments"},
                  {"count", 42},
                  {"repository", {{"name", "svc-pay"}, {"owner", "acme"}}},
                  {"images", {{{"tag", "v1.0"}}, {{"tag", "v2.3"}}}}};
  EXPECT_THAT(Ids(index.Match(WebhookEvent(payload))),
              ElementsAre("find", "anchored", "number", "path", "dollar",
                          "wild", "deep", "index", "presence"));
  payload["service"] = "billing";
  payload["repository"]["name"] = "lib-pay";
  EXPECT_THAT(
      Ids(index.Match(WebhookEvent(payload))),
      ElementsAre("number", "dollar", "wild", "deep", "index", "presence"));
}

TEST(TriggerIndexTest, ExpectedArtifactsMustMatch) {
  Json expected = Json::array(
      {{{"id", "ea-image"},
        {"matchArtifact",
         {{"type", "docker/image"}, {"name", "gcr.io/p/app"}}}},
       {{"id", "ea-chart"},
        {"matchArtifact", {{"type", "helm/chart"}, {"name", "app-.*"}}}}});
  TriggerIndex index({Pipeline("image",
                               {Json{{"type", "webhook"},
                                     {"enabled", true},
                                     {"source", "s"},
                                     {"expectedArtifactIds", {"ea-image"}}}},
                               {{"expectedArtifacts", expected}}),
                      Pipeline("chart",
                               {Json{{"type", "webhook"},
                                     {"enabled", true},
                                     {"source", "s"},
                                     {"expectedArtifactIds", {"ea-chart"}}}},
                               {{"expectedArtifacts", expected}}),
                      Pipeline("unknown-id",
                               {Json{{"type", "webhook"},
                                     {"enabled", true},
                                     {"source", "s"},
                                     {"expectedArtifactIds", {"ea-none"}}}},
                               {{"expectedArtifacts", expected}})},
                     {});
  Json payload = {{"artifacts",
                   {{{"type", "docker/image"},
                     {"name", "gcr.io/p/app"},
                     {"reference", "gcr.io/p/app:1"}}}}};
  auto m = index.Match(WebhookEvent(payload, "s"));
  ASSERT_THAT(Ids(m), ElementsAre("image"));
  EXPECT_EQ(m[0].trigger["artifacts"][0]["reference"], "gcr.io/p/app:1");
  payload["artifacts"][0] = {{"type", "helm/chart"}, {"name", "app-web"}};
  EXPECT_THAT(Ids(index.Match(WebhookEvent(payload, "s"))),
              ElementsAre("chart"));
  EXPECT_THAT(Ids(index.Match(WebhookEvent(Json::object(), "s"))),
              ElementsAre());
}

// --- build ---

Json BuildEvent(const std::string& result = "SUCCESS", bool building = false,
                const std::string& master = "jenkins-main") {
  return {{"eventId", "b-1"},
          {"details", {{"type", "build"}, {"source", "igor"}}},
          {"content",
           {{"master", master},
            {"project",
             {{"name", "app/build"},
              {"lastBuild",
               {{"building", building},
                {"number", 128},
                {"result", result},
                {"timestamp", "1764590000000"},
                {"duration", 73000},
                {"url", "https://jenkins.example/job/app/128/"},
                {"artifacts",
                 {{{"fileName", "app.jar"},
                   {"relativePath", "target/app.jar"}}}}}}}}}}};
}

Json JenkinsTrigger(Json extra = Json::object()) {
  Json t = {{"type", "jenkins"},
            {"enabled", true},
            {"master", "jenkins-main"},
            {"job", "app/build"},
            {"propertyFile", "build.properties"}};
  for (auto it = extra.begin(); it != extra.end(); ++it)
    t[it.key()] = it.value();
  return t;
}

TEST(TriggerIndexTest, BuildMatchesOnlyFinishedSuccess) {
  TriggerIndex index(
      {Pipeline("p", {JenkinsTrigger()}),
       Pipeline("travis", {JenkinsTrigger({{"type", "travis"}})})},
      {});
  auto m = index.Match(BuildEvent());
  ASSERT_THAT(Ids(m), ElementsAre("p", "travis"));
  const Json& t = m[0].trigger;
  EXPECT_EQ(t["buildNumber"], 128);
  EXPECT_EQ(t["master"], "jenkins-main");
  EXPECT_EQ(t["job"], "app/build");
  EXPECT_EQ(t["propertyFile"], "build.properties");
  EXPECT_EQ(t["link"], "https://jenkins.example/job/app/128/");
  EXPECT_EQ(t["artifacts"], Json::array());  // Jenkins files are not artifacts

  EXPECT_TRUE(index.Match(BuildEvent("FAILURE")).empty());
  EXPECT_TRUE(index.Match(BuildEvent("UNSTABLE")).empty());
  EXPECT_TRUE(index.Match(BuildEvent("SUCCESS", true)).empty());
  EXPECT_TRUE(index.Match(BuildEvent("SUCCESS", false, "other")).empty());
  Json typed = BuildEvent();
  typed["content"]["type"] = "travis";
  EXPECT_THAT(Ids(index.Match(typed)), ElementsAre("travis"));
  Json no_last = BuildEvent();
  no_last["content"]["project"].erase("lastBuild");
  EXPECT_TRUE(index.Match(no_last).empty());
}

class FakeIgor : public BuildInfoSource {
 public:
  absl::StatusOr<Json> BuildInfo(const std::string& master,
                                 const std::string& job,
                                 int64_t number) override {
    calls.push_back(master + "/" + job + "#" + std::to_string(number));
    if (!fail.ok()) return fail;
    return Json{{"number", number},
                {"result", "SUCCESS"},
                {"url", "https://jenkins.example/job/app/128/"},
                {"scm", {{{"branch", "main"}, {"sha1", "abc"}}}}};
  }
  absl::StatusOr<Json> Properties(const std::string&, const std::string&,
                                  int64_t, const std::string& file) override {
    calls.push_back("properties:" + file);
    return properties;
  }
  absl::Status fail = absl::OkStatus();
  Json properties = {{"IMAGE", "gcr.io/p/app:1.4.2"}, {"DEPLOY", "true"}};
  std::vector<std::string> calls;
};

TEST(EnrichBuildTriggerTest, AddsBuildInfoAndProperties) {
  TriggerIndex index({Pipeline("p", {JenkinsTrigger()})}, {});
  auto m = index.Match(BuildEvent());
  ASSERT_EQ(m.size(), 1u);
  FakeIgor igor;
  Json trigger = m[0].trigger;
  ASSERT_THAT(EnrichBuildTrigger(trigger, igor), IsOk());
  EXPECT_EQ(trigger["buildInfo"]["number"], 128);
  EXPECT_EQ(trigger["buildInfo"]["scm"][0]["sha1"], "abc");
  EXPECT_EQ(trigger["properties"]["IMAGE"], "gcr.io/p/app:1.4.2");
  EXPECT_THAT(igor.calls, ElementsAre("jenkins-main/app/build#128",
                                      "properties:build.properties"));
}

TEST(EnrichBuildTriggerTest, IgorFailureIsReturned) {
  FakeIgor igor;
  igor.fail = absl::UnavailableError("igor down");
  Json trigger = JenkinsTrigger({{"buildNumber", 7}});
  EXPECT_THAT(EnrichBuildTrigger(trigger, igor),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(EnrichBuildTriggerTest, PayloadConstraintsOnProperties) {
  FakeIgor igor;
  Json ok = JenkinsTrigger(
      {{"buildNumber", 7}, {"payloadConstraints", {{"DEPLOY", "^true$"}}}});
  EXPECT_THAT(EnrichBuildTrigger(ok, igor), IsOk());
  Json unmet = JenkinsTrigger(
      {{"buildNumber", 7}, {"payloadConstraints", {{"DEPLOY", "^false$"}}}});
  EXPECT_THAT(EnrichBuildTrigger(unmet, igor),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("payloadConstraints")));
  Json no_file = JenkinsTrigger(
      {{"buildNumber", 7}, {"payloadConstraints", {{"DEPLOY", ".*"}}}});
  no_file.erase("propertyFile");
  EXPECT_THAT(EnrichBuildTrigger(no_file, igor),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(EnrichBuildTriggerTest, OtherTriggersAreLeftAlone) {
  FakeIgor igor;
  Json git = GitTrigger({{"hash", "abc"}});
  Json before = git;
  EXPECT_THAT(EnrichBuildTrigger(git, igor), IsOk());
  EXPECT_EQ(git, before);
  Json no_number = JenkinsTrigger();
  EXPECT_THAT(EnrichBuildTrigger(no_number, igor), IsOk());
  EXPECT_TRUE(igor.calls.empty());
}

// --- docker ---

Json DockerEvent(const std::string& tag, const std::string& account = "gcr") {
  return {{"eventId", "d-1"},
          {"details", {{"type", "docker"}, {"source", "igor"}}},
          {"content",
           {{"account", account},
            {"registry", "gcr.io"},
            {"repository", "acme/app"},
            {"tag", tag},
            {"digest", "sha256:5f7a"}}}};
}

Json DockerTrigger(const std::string& tag) {
  return {{"type", "docker"},
          {"enabled", true},
          {"account", "gcr"},
          {"registry", "gcr.io"},
          {"organization", "acme"},
          {"repository", "acme/app"},
          {"tag", tag}};
}

TEST(TriggerIndexTest, DockerTagRules) {
  TriggerIndex index({Pipeline("any", {DockerTrigger("")}),
                      Pipeline("semver", {DockerTrigger("v[0-9]+\\.[0-9]+")}),
                      Pipeline("spaces", {DockerTrigger("  latest ")})},
                     {});
  auto m = index.Match(DockerEvent("v1.2"));
  ASSERT_THAT(Ids(m), ElementsAre("any", "semver"));
  const Json& t = m[1].trigger;
  EXPECT_EQ(t["tag"], "v1.2");
  EXPECT_EQ(t["digest"], "sha256:5f7a");
  EXPECT_EQ(t["account"], "gcr");
  EXPECT_EQ(t["repository"], "acme/app");
  ASSERT_EQ(t["artifacts"].size(), 1u);
  EXPECT_EQ(t["artifacts"][0], (Json{{"type", "docker/image"},
                                     {"name", "gcr.io/acme/app"},
                                     {"version", "v1.2"},
                                     {"reference", "gcr.io/acme/app:v1.2"}}));
  // A blank tag means any tag but latest; a regex is a full match.
  EXPECT_THAT(Ids(index.Match(DockerEvent("latest"))), ElementsAre("spaces"));
  EXPECT_THAT(Ids(index.Match(DockerEvent("v1.2-rc1"))), ElementsAre("any"));
  EXPECT_TRUE(index.Match(DockerEvent("")).empty());
  EXPECT_TRUE(index.Match(DockerEvent("v1.2", "dockerhub")).empty());
}

// --- pipeline ---

Json ExecutionEvent(const std::string& status,
                    const std::string& type = "orca:pipeline:complete") {
  return {
      {"eventId", "o-1"},
      {"details", {{"type", type}, {"source", "orca"}, {"application", "up"}}},
      {"content",
       {{"execution",
         {{"id", "01HEXEC"},
          {"type", "PIPELINE"},
          {"application", "up"},
          {"name", "build-and-bake"},
          {"pipelineConfigId", "upstream-id"},
          {"status", status},
          {"startTime", 1764590000000},
          {"trigger", {{"type", "manual"}, {"user", "alice@example.com"}}},
          {"stages",
           {{{"id", "s1"},
             {"type", "bake"},
             {"outputs",
              {{"artifacts",
                {{{"type", "gce/image"}, {"name", "app-image"}}}}}}}}}}}}}};
}

Json PipelineTrigger(Json status, Json extra = Json::object()) {
  Json t = {{"type", "pipeline"},
            {"enabled", true},
            {"application", "up"},
            {"pipeline", "upstream-id"},
            {"status", status}};
  for (auto it = extra.begin(); it != extra.end(); ++it)
    t[it.key()] = it.value();
  return t;
}

TEST(TriggerIndexTest, PipelineStatusMapping) {
  TriggerIndex index(
      {Pipeline("on-success", {PipelineTrigger({"successful"})}),
       Pipeline("on-failure", {PipelineTrigger({"failed"})}),
       Pipeline("on-cancel", {PipelineTrigger({"canceled"})}),
       Pipeline("runas", {PipelineTrigger({"successful", "failed"},
                                          {{"runAsUser", "svc"}})})},
      {});
  auto m = index.Match(ExecutionEvent("SUCCEEDED"));
  ASSERT_THAT(Ids(m), ElementsAre("on-success", "runas"));
  const Json& t = m[0].trigger;
  EXPECT_EQ(t["type"], "pipeline");
  EXPECT_EQ(t["parentExecution"]["id"], "01HEXEC");
  EXPECT_EQ(t["parentPipelineId"], "01HEXEC");
  EXPECT_EQ(t["parentPipelineName"], "build-and-bake");
  EXPECT_EQ(t["parentPipelineApplication"], "up");
  EXPECT_EQ(t["parentStatus"], "SUCCEEDED");
  EXPECT_EQ(t["user"], "alice@example.com");
  EXPECT_EQ(t["correlationId"], "01HEXEC_null_on-success_1764590000000");
  EXPECT_FALSE(t.contains("parentPipelineStageId"));
  ASSERT_EQ(t["artifacts"].size(), 1u);
  EXPECT_EQ(t["artifacts"][0]["name"], "app-image");
  EXPECT_EQ(m[1].trigger["user"], "svc");

  EXPECT_THAT(
      Ids(index.Match(ExecutionEvent("TERMINAL", "orca:pipeline:failed"))),
      ElementsAre("on-failure", "runas"));
  EXPECT_THAT(Ids(index.Match(ExecutionEvent("CANCELED"))),
              ElementsAre("on-cancel"));
  EXPECT_THAT(
      Ids(index.Match(ExecutionEvent("SUCCEEDED", "orca:pipeline:starting"))),
      ElementsAre());
  Json orchestration = ExecutionEvent("SUCCEEDED");
  orchestration["content"]["execution"]["type"] = "ORCHESTRATION";
  EXPECT_TRUE(index.Match(orchestration).empty());
}

// --- cron, malformed input ---

TEST(TriggerIndexTest, CronTriggers) {
  TriggerIndex index({Pipeline("p1", {Json{{"type", "cron"},
                                           {"enabled", true},
                                           {"id", "c1"},
                                           {"cronExpression", "0 0/12 * * * ?"},
                                           {"runAsUser", "svc"},
                                           {"parameters", {{"a", "b"}}}},
                                      Json{{"type", "cron"},
                                           {"enabled", true},
                                           {"cronExpression", "0 0 * * * ?"}},
                                      Json{{"type", "cron"},
                                           {"enabled", false},
                                           {"cronExpression", "0 0 * * * ?"}}}),
                      Pipeline("off",
                               {Json{{"type", "cron"},
                                     {"enabled", true},
                                     {"cronExpression", "0 0 * * * ?"}}},
                               {{"disabled", true}})},
                     {});
  auto crons = index.CronTriggers();
  ASSERT_EQ(crons.size(), 2u);
  EXPECT_EQ(crons[0].pipeline["id"], "p1");
  EXPECT_EQ(crons[0].trigger["id"], "c1");
  EXPECT_EQ(crons[1].trigger["id"], "p1-cron-1");
  // Cron triggers never match events.
  EXPECT_TRUE(index.Match(GitEvent()).empty());

  Json t = CronExecutionTrigger(crons[0].trigger, "cron-ev");
  EXPECT_EQ(t["type"], "cron");
  EXPECT_EQ(t["id"], "c1");
  EXPECT_EQ(t["cronExpression"], "0 0/12 * * * ?");
  EXPECT_EQ(t["eventId"], "cron-ev");
  EXPECT_EQ(t["user"], "svc");
  EXPECT_EQ(t["parameters"]["a"], "b");
  EXPECT_EQ(CronExecutionTrigger(crons[1].trigger, "e")["user"], "[anonymous]");
}

TEST(TriggerIndexTest, MalformedPipelinesAndTriggersAreSkipped) {
  std::vector<Json> pipelines = {
      Json("not an object"),
      Json::array(),
      Json{{"name", "no id"}, {"triggers", {GitTrigger()}}},
      Json{{"id", 42}, {"triggers", {GitTrigger()}}},
      Json{{"id", "triggers-not-array"}, {"triggers", "git"}},
      Pipeline("junk-triggers",
               {nullptr, 5, "git", Json::array(), Json{{"type", 7}},
                GitTrigger({{"slug", nullptr}}), GitTrigger({{"source", 3}}),
                GitTrigger({{"branch", Json::array()}}),
                GitTrigger({{"events", "push:push"}}),
                GitTrigger({{"secret", 12}}), GitTrigger({{"parameters", "x"}}),
                GitTrigger({{"expectedArtifactIds", "ea"}}),
                WebhookTrigger("constraints as text"),
                Json{{"type", "jenkins"}, {"enabled", true}, {"master", "m"}},
                Json{{"type", "docker"}, {"enabled", true}, {"account", "a"}},
                Json{{"type", "pipeline"},
                     {"enabled", true},
                     {"pipeline", "upstream-id"},
                     {"status", "successful"}},
                Json{{"type", "pubsub"}, {"enabled", true}}}),
      Pipeline("string-enabled", {GitTrigger({{"enabled", "true"}})}),
  };
  TriggerIndex index(std::move(pipelines), {});
  EXPECT_EQ(index.pipeline_count(), 3u);
  EXPECT_EQ(index.trigger_count(), 1u);
  EXPECT_THAT(Ids(index.Match(GitEvent())), ElementsAre("string-enabled"));
  EXPECT_TRUE(index.Match(ExecutionEvent("SUCCEEDED")).empty());

  // Events of any shape are safe.
  for (const Json& bad :
       {Json(), Json::array(), Json("x"), Json{{"details", "git"}},
        Json{{"details", {{"type", "git"}}}, {"content", 5}},
        Json{{"details", {{"type", "build"}}}, {"content", {{"project", 1}}}},
        Json{{"details", {{"type", "docker"}}}},
        Json{{"details", {{"type", "orca:pipeline:complete"}}},
             {"content", {{"execution", "x"}}}},
        Json{{"details", {{"type", "webhook"}, {"source", "deploy-hook"}}},
             {"payload", 3}}}) {
    EXPECT_TRUE(index.Match(bad).empty()) << bad.dump();
  }
}

TEST(TriggerIndexTest, KeyWithoutEventIdIsStable) {
  TriggerIndex index({Pipeline("p", {GitTrigger()})}, {});
  Json ev = GitEvent();
  ev.erase("eventId");
  auto a = index.Match(ev);
  auto b = index.Match(ev);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].key, b[0].key);
  EXPECT_NE(a[0].key, index.Match(GitEvent())[0].key);
}

TEST(TriggerIndexTest, ManyPipelinesOnlyCandidatesAreExamined) {
  std::vector<Json> pipelines;
  for (int i = 0; i < 2000; ++i) {
    Json t = GitTrigger({{"slug", "repo-" + std::to_string(i % 100)}});
    pipelines.push_back(Pipeline("p" + std::to_string(i), {t}));
  }
  TriggerIndex index(std::move(pipelines), {});
  Json ev = GitEvent();
  ev["content"]["slug"] = "REPO-7";
  auto m = index.Match(ev);
  ASSERT_EQ(m.size(), 20u);
  EXPECT_EQ(m[0].pipeline["id"], "p7");
  EXPECT_EQ(m[19].pipeline["id"], "p1907");
}

TEST(TriggerIndexTest, WebhookParametersOverlayConfiguredOnes) {
  Json t = WebhookTrigger();
  t["parameters"] = {{"env", "staging"}, {"region", "us-east1"}};
  TriggerIndex index({Pipeline("p", {t})}, {});
  auto m = index.Match(WebhookEvent({{"parameters", {{"env", "prod"}}}}));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].trigger["parameters"],
            (Json{{"env", "prod"}, {"region", "us-east1"}}));
}

TEST(TriggerIndexTest, WebhookJsonPathOnDeepPayloadIsBounded) {
  TriggerIndex index({Pipeline("p", {WebhookTrigger({{"$..needle", "x"}})})},
                     {});
  Json deep = Json::object();
  Json* cur = &deep;
  for (int i = 0; i < 90; ++i) {
    (*cur)["n"] = Json::object();
    cur = &(*cur)["n"];
  }
  (*cur)["needle"] = "x";
  EXPECT_EQ(index.Match(WebhookEvent(deep)).size(), 1u);
  Json wide = Json::object();
  for (int i = 0; i < 20000; ++i) wide["k" + std::to_string(i)] = i;
  EXPECT_TRUE(index.Match(WebhookEvent(wide)).empty());
}

}  // namespace
}  // namespace gennaker::echo
