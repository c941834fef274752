// Trigger artifacts, binding of expected artifacts at launch (through the
// launcher and through OrcaApi, as every pipeline start goes; prior artifacts
// from the store), BoundArtifactById / BoundArtifactForStage (what bake and
// deploy stages call), BindProducedArtifacts, and the artifact expression
// functions evaluated by the engine and by a real stage.
#include "services/orca/artifacts.h"

#include "common/fiat/authorizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/engine_test_util.h"
#include "services/orca/engine/memory_store.h"
#include "services/orca/engine/registry.h"
#include "services/orca/launcher.h"
#include "services/orca/orca_api.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {
namespace {

using ::testing::HasSubstr;

Json Expected(const std::string& id, Json match) {
  return {{"id", id},
          {"displayName", "artifact " + id},
          {"matchArtifact", std::move(match)},
          {"useDefaultArtifact", false},
          {"usePriorArtifact", false}};
}

Json Config(Json expected) {
  return {{"application", "app"},
          {"id", "cfg-1"},
          {"name", "deploy"},
          {"expectedArtifacts", std::move(expected)},
          {"stages", {{{"refId", "1"}, {"type", "wait"}, {"waitTime", 1}}}}};
}

bool Matches(const Json& match, const Json& artifact) {
  absl::StatusOr<bool> r = ArtifactMatches(Expected("x", match), artifact);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() && *r;
}

TEST(ArtifactMatchTest, NonEmptyFieldsAreFullRegexMatches) {
  const Json image = {{"type", "docker/image"},
                      {"name", "gcr.io/proj/app"},
                      {"version", "v1.2.3"},
                      {"reference", "gcr.io/proj/app:v1.2.3"}};
  EXPECT_TRUE(Matches({{"type", "docker/image"}}, image));
  EXPECT_TRUE(
      Matches({{"type", "docker/image"}, {"name", "gcr.io/.*/app"}}, image));
  EXPECT_TRUE(Matches({{"version", "v1\\.\\d+\\.\\d+"}}, image));
  // A partial match is not enough (Java's Matcher.matches()).
  EXPECT_FALSE(Matches({{"name", "app"}}, image));
  EXPECT_FALSE(Matches({{"version", "v1"}}, image));
  EXPECT_FALSE(
      Matches({{"type", "docker/image"}, {"name", "gcr.io/x/app"}}, image));
  // Empty fields are not compared; an id or account never is.
  EXPECT_TRUE(Matches({{"type", "docker/image"},
                       {"name", ""},
                       {"id", "other"},
                       {"artifactAccount", "x"}},
                      image));
  // A field the artifact lacks does not match.
  EXPECT_FALSE(Matches({{"location", "us-.*"}}, image));
  // Text with regex metacharacters still matches itself.
  EXPECT_TRUE(Matches({{"name", "a+b(c)"}}, {{"name", "a+b(c)"}}));
  // embedded/base64 and remote/base64 match each other.
  EXPECT_TRUE(Matches({{"type", "embedded/base64"}},
                      {{"type", "remote/base64"}, {"name", "f"}}));
  EXPECT_TRUE(Matches({{"type", "remote/base64"}},
                      {{"type", "embedded/base64"}, {"name", "f"}}));

  auto bad =
      ArtifactMatches(Expected("x", {{"name", "a(b"}}), Json{{"name", "ab"}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("matchArtifact.name"));
  auto none = ArtifactMatches(Json{{"id", "x"}}, Json{{"name", "ab"}});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ResolveTest, BindsTheOneMatchingArtifact) {
  Json trigger = {{"type", "webhook"},
                  {"expectedArtifactIds", {"ea-image"}},
                  {"artifacts",
                   {{{"type", "docker/image"},
                     {"name", "gcr.io/proj/app"},
                     {"version", "v2"},
                     {"reference", "gcr.io/proj/app:v2"}},
                    {{"type", "http/file"},
                     {"name", "manifest.yml"},
                     {"reference", "http://example.test/m.yml"}}}}};
  Json config = Config({Expected("ea-image", {{"type", "docker/image"},
                                              {"name", "gcr.io/proj/.*"}}),
                        Expected("ea-not-listed", {{"type", "nothing/here"}})});
  ASSERT_TRUE(ResolveTriggerArtifacts(config, trigger).ok());
  ASSERT_EQ(trigger["resolvedExpectedArtifacts"].size(), 1u);
  const Json& r = trigger["resolvedExpectedArtifacts"][0];
  EXPECT_EQ(r["id"], "ea-image");
  EXPECT_EQ(r["displayName"], "artifact ea-image");
  EXPECT_EQ(r["matchArtifact"]["name"], "gcr.io/proj/.*");
  EXPECT_EQ(r["boundArtifact"]["reference"], "gcr.io/proj/app:v2");
  EXPECT_EQ(trigger["expectedArtifacts"], trigger["resolvedExpectedArtifacts"]);
  // The received artifacts stay, once each.
  EXPECT_EQ(trigger["artifacts"].size(), 2u);
}

TEST(ResolveTest, DefaultArtifactWhenNothingMatches) {
  Json e = Expected("ea", {{"type", "http/file"}, {"name", "app-.*\\.deb"}});
  e["useDefaultArtifact"] = true;
  e["defaultArtifact"] = {{"type", "http/file"},
                          {"name", "app-1.0.0.deb"},
                          {"reference", "http://repo.test/app-1.0.0.deb"}};
  Json trigger = {{"expectedArtifactIds", {"ea"}}};
  ASSERT_TRUE(ResolveTriggerArtifacts(Config({e}), trigger).ok());
  EXPECT_EQ(trigger["resolvedExpectedArtifacts"][0]["boundArtifact"],
            e["defaultArtifact"]);
  // The bound default joins the trigger's artifacts.
  EXPECT_EQ(trigger["artifacts"], Json::array({e["defaultArtifact"]}));

  // A matching received artifact wins over the default.
  Json received = {{"type", "http/file"},
                   {"name", "app-2.0.0.deb"},
                   {"reference", "http://repo.test/app-2.0.0.deb"}};
  Json t2 = {{"expectedArtifactIds", {"ea"}}, {"artifacts", {received}}};
  ASSERT_TRUE(ResolveTriggerArtifacts(Config({e}), t2).ok());
  EXPECT_EQ(t2["resolvedExpectedArtifacts"][0]["boundArtifact"], received);
}

TEST(ResolveTest, UnboundOrAmbiguousExpectedArtifactsAreRefused) {
  Json config = Config({Expected("ea", {{"type", "docker/image"}})});
  Json trigger = {{"expectedArtifactIds", {"ea"}},
                  {"artifacts", {{{"type", "http/file"}, {"name", "x"}}}}};
  absl::Status s = ResolveTriggerArtifacts(config, trigger);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("Unmatched expected artifact 'artifact ea' (id ea)"));

  Json two = {{"expectedArtifactIds", {"ea"}},
              {"artifacts",
               {{{"type", "docker/image"}, {"name", "a"}},
                {{"type", "docker/image"}, {"name", "b"}}}}};
  s = ResolveTriggerArtifacts(config, two);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("matches multiple"));

  // The same artifact twice is one artifact.
  Json dup = {{"expectedArtifactIds", {"ea"}},
              {"artifacts",
               {{{"type", "docker/image"}, {"name", "a"}},
                {{"type", "docker/image"}, {"name", "a"}}}}};
  ASSERT_TRUE(ResolveTriggerArtifacts(config, dup).ok());
  EXPECT_EQ(dup["artifacts"].size(), 1u);

  Json bad = {{"artifacts", "x"}};
  EXPECT_EQ(ResolveTriggerArtifacts(config, bad).code(),
            absl::StatusCode::kInvalidArgument);
  Json bad_ids = {{"expectedArtifactIds", "ea"}};
  EXPECT_EQ(ResolveTriggerArtifacts(config, bad_ids).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ResolveTest, OnlyTheIdsTheTriggerListsAreResolved) {
  // As Spinnaker's resolveArtifacts: a trigger without expectedArtifactIds
  // binds nothing (and refuses nothing).
  Json config = Config({Expected("ea", {{"type", "docker/image"}})});
  Json trigger = {{"type", "manual"},
                  {"artifacts", {{{"type", "http/file"}, {"name", "x"}}}}};
  ASSERT_TRUE(ResolveTriggerArtifacts(config, trigger).ok());
  EXPECT_EQ(trigger["resolvedExpectedArtifacts"], Json::array());
  EXPECT_EQ(trigger["expectedArtifacts"], Json::array());
  EXPECT_EQ(trigger["artifacts"].size(), 1u);
  // An unknown id is ignored.
  Json unknown = {{"expectedArtifactIds", {"nope"}}};
  ASSERT_TRUE(ResolveTriggerArtifacts(config, unknown).ok());
  EXPECT_EQ(unknown["resolvedExpectedArtifacts"], Json::array());

  // An expected artifact with a default (or prior) is resolved without ids.
  Json with_default = Expected("dflt", {{"type", "http/file"}});
  with_default["useDefaultArtifact"] = true;
  with_default["defaultArtifact"] = {{"type", "http/file"}, {"name", "d"}};
  Json both =
      Config({Expected("ea", {{"type", "docker/image"}}), with_default});
  Json t = {{"type", "manual"}};
  ASSERT_TRUE(ResolveTriggerArtifacts(both, t).ok());
  ASSERT_EQ(t["resolvedExpectedArtifacts"].size(), 1u);
  EXPECT_EQ(t["resolvedExpectedArtifacts"][0]["id"], "dflt");
  EXPECT_EQ(t["resolvedExpectedArtifacts"][0]["boundArtifact"]["name"], "d");
  // A received match wins over the default there too.
  Json t2 = {{"type", "manual"},
             {"artifacts", {{{"type", "http/file"}, {"name", "r"}}}}};
  ASSERT_TRUE(ResolveTriggerArtifacts(both, t2).ok());
  EXPECT_EQ(t2["resolvedExpectedArtifacts"][0]["boundArtifact"]["name"], "r");
}

TEST(ResolveTest, PriorArtifactFromTheLastExecution) {
  Json e = Expected("ea", {{"type", "docker/image"}, {"name", "app"}});
  e["usePriorArtifact"] = true;
  Json config = Config({e});
  Json prior_image = {{"type", "docker/image"},
                      {"name", "app"},
                      {"version", "v7"},
                      {"reference", "app:v7"}};

  // Without a provider there are no prior artifacts.
  Json t0 = {{"expectedArtifactIds", {"ea"}}};
  EXPECT_EQ(ResolveTriggerArtifacts(config, t0).code(),
            absl::StatusCode::kInvalidArgument);

  // From the store: the newest execution of the config.
  testing::ManualClock clock;
  MemoryStore store(&clock);
  LaunchOptions o;
  o.now_ms = clock.NowMs();
  Json old_config = config;
  old_config.erase("expectedArtifacts");
  auto old =
      BuildPipelineExecution(old_config, {{"artifacts", {prior_image}}}, o);
  ASSERT_TRUE(old.ok()) << old.status();
  ASSERT_TRUE(store.Create(*old, "", {}).ok());

  Json t1 = {{"expectedArtifactIds", {"ea"}}};
  ASSERT_TRUE(
      ResolveTriggerArtifacts(config, t1, PriorArtifactsFromStore(&store))
          .ok());
  EXPECT_EQ(t1["resolvedExpectedArtifacts"][0]["boundArtifact"], prior_image);

  // A received artifact comes first.
  Json fresh = prior_image;
  fresh["version"] = "v8";
  fresh["reference"] = "app:v8";
  Json t2 = {{"expectedArtifactIds", {"ea"}}, {"artifacts", {fresh}}};
  ASSERT_TRUE(
      ResolveTriggerArtifacts(config, t2, PriorArtifactsFromStore(&store))
          .ok());
  EXPECT_EQ(t2["resolvedExpectedArtifacts"][0]["boundArtifact"], fresh);
}

TEST(TriggerArtifactsTest, DockerTriggerBringsItsImage) {
  Json trigger = {{"type", "docker"},
                  {"account", "registry"},
                  {"registry", "index.docker.io"},
                  {"repository", "library/nginx"},
                  {"tag", "1.25"}};
  ASSERT_TRUE(NormalizeTriggerArtifacts(trigger).ok());
  EXPECT_EQ(
      trigger["artifacts"],
      Json::array({{{"type", "docker/image"},
                    {"name", "index.docker.io/library/nginx"},
                    {"version", "1.25"},
                    {"reference", "index.docker.io/library/nginx:1.25"}}}));
  // Echo sends the same artifact: it is not added twice.
  ASSERT_TRUE(NormalizeTriggerArtifacts(trigger).ok());
  EXPECT_EQ(trigger["artifacts"].size(), 1u);

  Json config = Config({Expected(
      "img", {{"type", "docker/image"}, {"name", ".*/library/nginx"}})});
  trigger["expectedArtifactIds"] = {"img"};
  ASSERT_TRUE(ResolveTriggerArtifacts(config, trigger).ok());
  EXPECT_EQ(trigger["resolvedExpectedArtifacts"][0]["boundArtifact"]["version"],
            "1.25");
}

TEST(TriggerArtifactsTest, GitTriggerBringsItsRepository) {
  Json trigger = {{"type", "git"},       {"source", "github"},
                  {"project", "acme"},   {"slug", "hello"},
                  {"branch", "main"},    {"hash", "0123abc"},
                  {"artifacts", nullptr}};
  ASSERT_TRUE(NormalizeTriggerArtifacts(trigger).ok());
  ASSERT_EQ(trigger["artifacts"].size(), 1u);
  const Json& a = trigger["artifacts"][0];
  EXPECT_EQ(a["type"], "git/repo");
  EXPECT_EQ(a["name"], "acme/hello");
  EXPECT_EQ(a["version"], "0123abc");
  EXPECT_EQ(a["reference"], "https://github.com/acme/hello.git");
  EXPECT_EQ(a["metadata"]["branch"], "main");
  // Non-objects in the list are dropped.
  Json odd = {{"artifacts", {1, "x", {{"type", "a"}}}}};
  ASSERT_TRUE(NormalizeTriggerArtifacts(odd).ok());
  EXPECT_EQ(odd["artifacts"], Json::array({{{"type", "a"}}}));
}

TEST(TriggerArtifactsTest, EmbeddedAndRemoteFilesKeepTheirReference) {
  // A webhook's payload artifacts as echo passes them on.
  const Json embedded = {{"type", "embedded/base64"},
                         {"name", "hello_1.0.0_all.deb"},
                         {"reference", "ZGViIGJ5dGVz"}};
  const Json remote = {{"type", "http/file"},
                       {"name", "hello-1.0.0.tar.gz"},
                       {"reference", "http://repo.test/hello-1.0.0.tar.gz"}};
  Json trigger = {{"type", "webhook"},
                  {"source", "ci"},
                  {"expectedArtifactIds", {"deb", "tgz"}},
                  {"artifacts", {embedded, remote}}};
  Json config =
      Config({Expected("deb", {{"type", "embedded/base64"},
                               {"name", "hello_.*\\.deb"}}),
              Expected("tgz", {{"type", "http/file"}, {"name", "hello-.*"}})});
  ASSERT_TRUE(ResolveTriggerArtifacts(config, trigger).ok());
  EXPECT_EQ(trigger["resolvedExpectedArtifacts"][0]["boundArtifact"], embedded);
  EXPECT_EQ(trigger["resolvedExpectedArtifacts"][1]["boundArtifact"], remote);
  EXPECT_EQ(trigger["artifacts"], Json::array({embedded, remote}));

  auto deb = BoundArtifactById(trigger, "deb");
  ASSERT_TRUE(deb.ok()) << deb.status();
  EXPECT_EQ((*deb)["reference"], "ZGViIGJ5dGVz");
}

TEST(TriggerArtifactsTest, ParentExecutionArtifactsAreReceived) {
  const Json baked = {{"type", "local/image"},
                      {"name", "hello-1.0.0-local"},
                      {"reference", "sha256:abc"}};
  Json trigger = {
      {"type", "pipeline"},
      {"expectedArtifactIds", {"img"}},
      {"parentExecution",
       {{"id", "P"},
        {"stages", {{{"id", "s"}, {"outputs", {{"artifacts", {baked}}}}}}},
        {"trigger", {{"artifacts", Json::array()}}}}}};
  Json config = Config({Expected("img", {{"type", "local/image"}})});
  ASSERT_TRUE(ResolveTriggerArtifacts(config, trigger).ok());
  EXPECT_EQ(trigger["resolvedExpectedArtifacts"][0]["boundArtifact"], baked);
  EXPECT_EQ(trigger["artifacts"], Json::array({baked}));
}

TEST(BoundArtifactByIdTest, LooksInTheExecutionAndFillsTheAccount) {
  Json execution = {
      {"id", "E"},
      {"stages",
       {{{"id", "s1"},
         {"outputs",
          {{"resolvedExpectedArtifacts",
            {{{"id", "stage-ea"},
              {"boundArtifact", {{"type", "http/file"}, {"name", "s"}}}}}}}}}}},
      {"trigger",
       {{"resolvedExpectedArtifacts",
         {{{"id", "ea"},
           {"matchArtifact",
            {{"type", "http/file"}, {"artifactAccount", "http-acct"}}},
           {"boundArtifact", {{"type", "http/file"}, {"name", "f"}}}},
          {{"id", "unbound"}, {"matchArtifact", {{"type", "x"}}}}}}}}};
  auto a = BoundArtifactById(execution, "ea");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)["name"], "f");
  EXPECT_EQ((*a)["artifactAccount"], "http-acct");
  auto s = BoundArtifactById(execution, "stage-ea");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)["name"], "s");
  EXPECT_FALSE(s->contains("artifactAccount"));
  // The trigger alone works too.
  auto t = BoundArtifactById(execution["trigger"], "ea");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, *a);
  EXPECT_EQ(BoundArtifactById(execution, "unbound").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(BoundArtifactById(execution, "missing").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(BoundArtifactById(execution, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The launcher binds at start: the execution carries the result, and a run
// whose expected artifact cannot be bound is refused before it exists.
TEST(LauncherArtifactsTest, StartBindsOrRefuses) {
  Json e = Expected(
      "ea-deb", {{"type", "embedded/base64"}, {"name", "hello_.*_all\\.deb"}});
  Json config = Config({e});
  const Json deb = {{"type", "embedded/base64"},
                    {"name", "hello_1.0.0_all.deb"},
                    {"reference", "ZGViIGJ5dGVz"}};
  LaunchOptions o;
  o.now_ms = 1'700'000'000'000;
  auto ok = BuildPipelineExecution(config,
                                   {{"type", "manual"},
                                    {"expectedArtifactIds", {"ea-deb"}},
                                    {"artifacts", {deb}}},
                                   o);
  ASSERT_TRUE(ok.ok()) << ok.status();
  Json view = PublicView(*ok);
  const Json& t = view["trigger"];
  ASSERT_EQ(t["resolvedExpectedArtifacts"].size(), 1u);
  EXPECT_EQ(t["resolvedExpectedArtifacts"][0]["id"], "ea-deb");
  EXPECT_EQ(t["resolvedExpectedArtifacts"][0]["boundArtifact"], deb);
  EXPECT_EQ(t["artifacts"], Json::array({deb}));
  auto bound = BoundArtifactById(view, "ea-deb");
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(*bound, deb);

  auto refused = BuildPipelineExecution(
      config,
      {{"type", "manual"},
       {"expectedArtifactIds", {"ea-deb"}},
       {"artifacts",
        {{{"type", "embedded/base64"}, {"name", "other.tar.gz"}}}}},
      o);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("'artifact ea-deb' (id ea-deb)"));
}

// The functions as stages evaluate them.
TEST(ArtifactFunctionsTest, EvaluatedByTheEngine) {
  testing::ManualClock clock;
  MemoryStore store(&clock);
  Registry registry;
  RegisterArtifactExpressionFunctions(&registry);
  Engine engine(&store, &registry, &clock, nullptr);

  const Json image = {{"type", "docker/image"},
                      {"name", "gcr.io/proj/app"},
                      {"version", "v3"},
                      {"reference", "gcr.io/proj/app:v3"}};
  const Json file = {{"type", "http/file"},
                     {"name", "values.yml"},
                     {"reference", "http://x.test/values.yml"}};
  Json config = Config({Expected("img", {{"type", "docker/image"}}),
                        Expected("f", {{"type", "http/file"}})});
  LaunchOptions o;
  o.now_ms = clock.NowMs();
  o.execution_id = "01EXEC";
  auto exec = BuildPipelineExecution(
      config,
      {{"expectedArtifactIds", {"img", "f"}}, {"artifacts", {image, file}}}, o);
  ASSERT_TRUE(exec.ok()) << exec.status();
  auto id = store.Create(*exec, "", {});
  ASSERT_TRUE(id.ok()) << id.status();

  Json failures = Json::array();
  auto out = engine.Evaluate(
      *id, "",
      {{"ref", "${#triggerResolvedArtifact('gcr.io/proj/app').reference}"},
       {"byType", "${#triggerResolvedArtifactByType('http/file')['name']}"},
       {"count", "${#resolvedArtifacts().size()}"},
       {"text", "image ${#triggerResolvedArtifact('gcr.io/proj/app').version}"},
       {"missing", "${#triggerResolvedArtifact('nope')}"}},
      &failures);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)["ref"], "gcr.io/proj/app:v3");
  EXPECT_EQ((*out)["byType"], "values.yml");
  EXPECT_EQ((*out)["count"], 2);
  EXPECT_EQ((*out)["text"], "image v3");
  // No match: the expression stays as written and the failure is recorded.
  EXPECT_EQ((*out)["missing"], "${#triggerResolvedArtifact('nope')}");
  ASSERT_EQ(failures.size(), 1u) << failures.dump();
  EXPECT_EQ(failures[0]["level"], "ERROR");
  EXPECT_THAT(failures[0]["description"].get<std::string>(),
              HasSubstr("Unable to locate resolved artifact nope in trigger "
                        "execution 01EXEC."));

  // Wrong arguments fail the expression, not the process.
  Json f2 = Json::array();
  auto bad = engine.Evaluate(*id, "",
                             {{"a", "${#triggerResolvedArtifact()}"},
                              {"b", "${#resolvedArtifacts('x')}"}},
                             &f2);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(f2.size(), 2u);
}

TEST(ResolveTest, PriorArtifactIsScopedToTheConfigsApplication) {
  Json e = Expected("ea", {{"type", "docker/image"}, {"name", "app"}});
  e["usePriorArtifact"] = true;
  testing::ManualClock clock;
  MemoryStore store(&clock);
  LaunchOptions o;
  o.now_ms = clock.NowMs();
  // Another application's pipeline with the same config id ran with an image.
  Json other = Config(Json::array());
  other["application"] = "other";
  Json secret = {{"type", "docker/image"}, {"name", "app"}, {"version", "s"}};
  auto old = BuildPipelineExecution(other, {{"artifacts", {secret}}}, o);
  ASSERT_TRUE(old.ok()) << old.status();
  ASSERT_TRUE(store.Create(*old, "", {}).ok());

  // An inline config of application "app" naming that id binds nothing.
  Json t = {{"expectedArtifactIds", {"ea"}}};
  absl::Status s =
      ResolveTriggerArtifacts(Config({e}), t, PriorArtifactsFromStore(&store));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("the pipeline has no prior execution"));
  auto direct = PriorArtifactsFromStore(&store)("app", "cfg-1");
  ASSERT_TRUE(direct.ok());
  EXPECT_TRUE(direct->is_null());
  // Its own application still sees it.
  auto own = PriorArtifactsFromStore(&store)("other", "cfg-1");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(*own, Json::array({secret}));
}

TEST(ResolveTest, PriorArtifactWithoutAPriorExecutionSaysSo) {
  Json e = Expected("ea", {{"type", "docker/image"}, {"name", "app"}});
  e["usePriorArtifact"] = true;
  testing::ManualClock clock;
  MemoryStore store(&clock);
  Json t = {{"expectedArtifactIds", {"ea"}}};
  absl::Status s =
      ResolveTriggerArtifacts(Config({e}), t, PriorArtifactsFromStore(&store));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("the pipeline has no prior execution"));

  // A prior execution without a matching artifact: said too.
  LaunchOptions o;
  o.now_ms = clock.NowMs();
  Json old_config = Config(Json::array());
  auto old = BuildPipelineExecution(
      old_config, {{"artifacts", {{{"type", "http/file"}, {"name", "x"}}}}}, o);
  ASSERT_TRUE(old.ok()) << old.status();
  ASSERT_TRUE(store.Create(*old, "", {}).ok());
  Json t2 = {{"expectedArtifactIds", {"ea"}}};
  s = ResolveTriggerArtifacts(Config({e}), t2, PriorArtifactsFromStore(&store));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("no artifact of the pipeline's last execution"));

  // With a default as well, the default binds.
  e["useDefaultArtifact"] = true;
  e["defaultArtifact"] = {
      {"type", "docker/image"}, {"name", "app"}, {"version", "v0"}};
  Json t3 = {{"expectedArtifactIds", {"ea"}}};
  ASSERT_TRUE(
      ResolveTriggerArtifacts(Config({e}), t3, PriorArtifactsFromStore(&store))
          .ok());
  EXPECT_EQ(t3["resolvedExpectedArtifacts"][0]["boundArtifact"]["version"],
            "v0");
}

TEST(ResolveTest, ConfigReceivedArtifactsAreReceived) {
  const Json image = {{"type", "local/image"},
                      {"name", "hello-1.0.0-all-20261203-local"},
                      {"reference", "sha256:0123"}};
  Json config = Config({Expected("img", {{"type", "local/image"}})});
  config["receivedArtifacts"] = {image};
  Json t = {{"expectedArtifactIds", {"img"}}};
  ASSERT_TRUE(ResolveTriggerArtifacts(config, t).ok());
  EXPECT_EQ(t["resolvedExpectedArtifacts"][0]["boundArtifact"], image);
  EXPECT_EQ(t["artifacts"], Json::array({image}));
}

TEST(AllArtifactsTest, LaterStagesFirstThenTheTriggerOptionallySkippingARef) {
  const Json a1 = {{"type", "t"}, {"name", "from-1"}};
  const Json a2 = {{"type", "t"}, {"name", "from-2"}};
  const Json at = {{"type", "t"}, {"name", "from-trigger"}};
  Json execution = {{"stages",
                     {{{"refId", "1"}, {"outputs", {{"artifacts", {a1}}}}},
                      {{"refId", "2"}, {"outputs", {{"artifacts", {a2}}}}}}},
                    {"trigger", {{"artifacts", {at}}}}};
  EXPECT_EQ(AllArtifacts(execution), Json::array({a2, a1, at}));
  EXPECT_EQ(AllArtifacts(execution, "2"), Json::array({a1, at}));
}

// What a bake stage (packageArtifactIds) or a deploy stage (imageArtifactId,
// expectedArtifactId) calls.
TEST(BoundArtifactForStageTest, ContextThenAncestorsThenTrigger) {
  const Json from_trigger = {{"type", "http/file"}, {"name", "trigger-deb"}};
  const Json from_upstream = {{"type", "local/image"}, {"name", "baked"}};
  const Json from_unrelated = {{"type", "local/image"}, {"name", "other"}};
  const Json from_context = {{"type", "http/file"}, {"name", "ctx"}};
  auto resolved = [](const std::string& id, const Json& a) {
    return Json{{"id", id},
                {"matchArtifact", {{"type", a["type"]}}},
                {"boundArtifact", a}};
  };
  Json execution = {
      {"id", "E"},
      {"stages",
       {{{"id", "s-bake"},
         {"refId", "bake"},
         {"requisiteStageRefIds", Json::array()},
         {"outputs",
          {{"resolvedExpectedArtifacts", {resolved("image", from_upstream)}}}}},
        {{"id", "s-side"},
         {"refId", "side"},
         {"requisiteStageRefIds", Json::array()},
         {"outputs",
          {{"resolvedExpectedArtifacts",
            {resolved("side-image", from_unrelated)}}}}},
        {{"id", "s-deploy"},
         {"refId", "deploy"},
         {"requisiteStageRefIds", {"bake"}},
         {"context",
          {{"resolvedExpectedArtifacts", {resolved("ctx", from_context)}}}}}}},
      {"trigger",
       {{"resolvedExpectedArtifacts",
         {{{"id", "deb"},
           {"matchArtifact",
            {{"type", "http/file"}, {"artifactAccount", "repo"}}},
           {"boundArtifact", from_trigger}},
          resolved("image", from_trigger)}}}}};
  const Json& deploy = execution["stages"][2];

  auto a = BoundArtifactForStage(execution, deploy, "image");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, from_upstream);  // the upstream bake's, not the trigger's
  auto b = BoundArtifactForStage(execution, deploy, "deb");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)["name"], "trigger-deb");
  EXPECT_EQ((*b)["artifactAccount"], "repo");
  auto c = BoundArtifactForStage(execution, deploy, "ctx");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, from_context);
  // A stage that is not an ancestor is not searched.
  auto side = BoundArtifactForStage(execution, deploy, "side-image");
  EXPECT_EQ(side.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(side.status().message()), HasSubstr("side-image"));
  // The side stage sees the trigger's "image".
  auto t = BoundArtifactForStage(execution, execution["stages"][1], "image");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, from_trigger);

  // No id: the inline artifact (context.imageArtifact).
  const Json inline_artifact = {{"type", "docker/image"}, {"name", "inline"}};
  auto i = BoundArtifactForStage(execution, deploy, "", inline_artifact);
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(*i, inline_artifact);
  EXPECT_EQ(BoundArtifactForStage(execution, deploy, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BindProducedArtifactsTest, BindsTheStagesExpectedArtifacts) {
  const Json image = {{"type", "local/image"},
                      {"name", "hello-1.0.0-all-20261203120000-local"},
                      {"reference", "sha256:aa"}};
  const Json image2 = {{"type", "local/image"},
                       {"name", "hello-1.0.0-all-20261203120001-local"},
                       {"reference", "sha256:bb"}};
  Json expected = {Expected("baked", {{"type", "local/image"}})};
  // Several matches: the first wins (no uniqueness for produced artifacts).
  auto out = BindProducedArtifacts(expected, Json::array({image, image2}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)["artifacts"], Json::array({image}));
  ASSERT_EQ((*out)["resolvedExpectedArtifacts"].size(), 1u);
  EXPECT_EQ((*out)["resolvedExpectedArtifacts"][0]["id"], "baked");
  EXPECT_EQ((*out)["resolvedExpectedArtifacts"][0]["boundArtifact"], image);

  // Nothing expected: nothing to record.
  auto none = BindProducedArtifacts(nullptr, Json::array({image}));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, Json::object());

  // Nothing produced: prior, then default, else refused.
  Json prior_e = expected;
  prior_e[0]["usePriorArtifact"] = true;
  auto prior =
      BindProducedArtifacts(prior_e, Json::array(), Json::array({image2}));
  ASSERT_TRUE(prior.ok()) << prior.status();
  EXPECT_EQ((*prior)["artifacts"], Json::array({image2}));
  Json default_e = expected;
  default_e[0]["useDefaultArtifact"] = true;
  default_e[0]["defaultArtifact"] = image;
  auto def = BindProducedArtifacts(default_e, Json::array());
  ASSERT_TRUE(def.ok());
  EXPECT_EQ((*def)["artifacts"], Json::array({image}));
  auto refused = BindProducedArtifacts(expected, Json::array());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("Unmatched expected artifact 'artifact baked'"));
  EXPECT_EQ(BindProducedArtifacts("x", Json::array()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The start as the API runs it (what gate's POST /pipelines/... reaches):
// binding, prior artifacts from the store, refusal storing nothing, and the
// artifact functions in a real stage.
class OrcaApiArtifactsTest : public ::testing::Test {
 protected:
  OrcaApiArtifactsTest()
      : store_(&clock_),
        engine_(&store_, &registry_, &clock_, nullptr),
        api_(&engine_, &store_, nullptr, &clock_,
             fiat::Authorizer::Disabled()) {
    RegisterBuiltinStages(&registry_, StageDeps{});
  }

  absl::StatusOr<Started> Start(const Json& config, const Json& trigger) {
    PipelineStart start;
    start.source = PipelineSource::kConfig;
    start.config_json = config.dump();
    start.trigger_json = trigger.dump();
    return api_.StartPipeline(start, "alice");
  }
  size_t Count() {
    ExecutionQuery q;
    q.type = "PIPELINE";
    auto all = store_.List(q);
    EXPECT_TRUE(all.ok());
    return all.ok() ? all->size() : 0;
  }

  testing::ManualClock clock_;
  MemoryStore store_;
  Registry registry_;
  Engine engine_;
  OrcaApi api_;
};

TEST_F(OrcaApiArtifactsTest, StartBindsUsesPriorAndRefusesWithoutStoring) {
  Json e = Expected("img", {{"type", "docker/image"}, {"name", "acme/app"}});
  e["usePriorArtifact"] = true;
  Json config = {
      {"application", "app"},
      {"id", "cfg-art"},
      {"name", "deploy"},
      {"expectedArtifacts", {e}},
      {"stages",
       {{{"refId", "1"},
         {"type", "evaluateVariables"},
         {"variables",
          {{{"key", "ref"},
            {"value", "${#triggerResolvedArtifact('acme/app').reference}"}},
           {{"key", "byType"},
            {"value",
             "${#triggerResolvedArtifactByType('docker/"
             "image').version}"}}}}}}}};
  // A docker trigger: its image is the received artifact.
  auto first = Start(config, {{"type", "docker"},
                              {"account", "hub"},
                              {"repository", "acme/app"},
                              {"tag", "1.4"},
                              {"expectedArtifactIds", {"img"}}});
  ASSERT_TRUE(first.ok()) << first.status();
  testing::RunUntilSettled(&engine_, &store_, &clock_, 60000, 1000);
  auto got = api_.Get(first->id, "PIPELINE");
  ASSERT_TRUE(got.ok()) << got.status();
  Json view = PublicView(*got);
  EXPECT_EQ(view["status"], "SUCCEEDED") << view.dump();
  const Json& rea = view["trigger"]["resolvedExpectedArtifacts"];
  ASSERT_EQ(rea.size(), 1u);
  EXPECT_EQ(rea[0]["boundArtifact"]["reference"], "acme/app:1.4");
  EXPECT_EQ(view["trigger"]["artifacts"].size(), 1u);
  EXPECT_EQ(view["stages"][0]["outputs"]["ref"], "acme/app:1.4");
  EXPECT_EQ(view["stages"][0]["outputs"]["byType"], "1.4");

  // The next run brings no artifact: the prior execution's image binds.
  clock_.now_ += 1000;
  auto second =
      Start(config, {{"type", "manual"}, {"expectedArtifactIds", {"img"}}});
  ASSERT_TRUE(second.ok()) << second.status();
  auto got2 = api_.Get(second->id, "PIPELINE");
  ASSERT_TRUE(got2.ok());
  EXPECT_EQ((*got2)["trigger"]["resolvedExpectedArtifacts"][0]["boundArtifact"]
                   ["reference"],
            "acme/app:1.4");

  // Without usePriorArtifact the same start is refused, and nothing stored.
  const size_t before = Count();
  Json strict = config;
  strict["expectedArtifacts"][0]["usePriorArtifact"] = false;
  auto refused = Start(strict, {{"type", "manual"},
                                {"expectedArtifactIds", {"img"}},
                                {"artifacts",
                                 {{{"type", "docker/image"},
                                   {"name", "acme/other"},
                                   {"reference", "acme/other:1"}}}}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("Unmatched expected artifact 'artifact img' (id img)"));
  EXPECT_EQ(Count(), before);
}

// As Spinnaker, a plan does not resolve artifacts: an expected artifact
// nothing matches does not refuse it, and nothing is stored.
TEST_F(OrcaApiArtifactsTest, PlanDoesNotResolveArtifacts) {
  Json config = Config({Expected("img", {{"type", "docker/image"}})});
  PipelineStart start;
  start.source = PipelineSource::kConfig;
  start.config_json = config.dump();
  start.trigger_json =
      Json({{"type", "manual"}, {"expectedArtifactIds", {"img"}}}).dump();
  start.plan_only = true;
  auto planned = api_.StartPipeline(start, "alice");
  ASSERT_TRUE(planned.ok()) << planned.status();
  EXPECT_EQ(planned->planned["trigger"]["resolvedExpectedArtifacts"],
            Json::array());
  EXPECT_EQ(Count(), 0u);
  start.plan_only = false;
  EXPECT_EQ(api_.StartPipeline(start, "alice").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(), 0u);
}

}  // namespace
}  // namespace gennaker::orca
