#include "services/orca/templates/v2_template.h"

#include <map>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gennaker::orca::templates {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::HasSubstr;

// Templates by front50 key ("id" or "id:tag").
class Store {
 public:
  void Put(const std::string& key, Json t) { templates_[key] = std::move(t); }
  TemplateLoader Loader() {
    return [this](const TemplateReference& ref) -> absl::StatusOr<Json> {
      loads_.push_back(ref.Key());
      auto it = templates_.find(ref.Key());
      if (it == templates_.end()) return absl::NotFoundError(ref.Key());
      return it->second;
    };
  }
  std::vector<std::string> loads_;

 private:
  std::map<std::string, Json> templates_;
};

Json Wait(const std::string& ref, Json req, Json wait_time) {
  return {{"refId", ref},
          {"type", "wait"},
          {"name", "wait " + ref},
          {"requisiteStageRefIds", std::move(req)},
          {"waitTime", std::move(wait_time)}};
}

Json Template(const std::string& id, Json variables, Json stages) {
  return {
      {"schema", "v2"},
      {"id", id},
      {"metadata", {{"name", "T"}, {"scopes", {"global"}}}},
      {"variables", std::move(variables)},
      {"pipeline",
       {{"keepWaitingPipelines", false},
        {"stages", std::move(stages)},
        {"triggers",
         Json::array({{{"type", "cron"}, {"cronExpression", "0 0 * * * ?"}}})},
        {"notifications", Json::array()}}}};
}

Json Config(const std::string& reference, Json variables = Json::object()) {
  return {{"schema", "v2"},
          {"type", "templatedPipeline"},
          {"application", "app"},
          {"name", "p"},
          {"id", "cfg-1"},
          {"template",
           {{"artifactAccount", "front50ArtifactCredentials"},
            {"type", "front50/pipelineTemplate"},
            {"reference", reference}}},
          {"variables", std::move(variables)},
          {"stages", Json::array()}};
}

TEST(V2TemplateTest, VariablesRenderIntoStagesAndTheOutputIsAPipeline) {
  Store store;
  store.Put(
      "t",
      Template("t",
               {{{"name", "wait"}, {"type", "int"}, {"defaultValue", 5}},
                {{"name", "label"}, {"type", "string"}, {"defaultValue", "x"}}},
               {Wait("1", Json::array(), "${templateVariables.wait}"),
                Wait("2", {"1"}, "${ templateVariables['wait'] }")}));
  auto r = ResolveTemplatedPipeline(
      Config("spinnaker://t", {{"wait", 3}, {"unknown", 1}}), Json::object(),
      store.Loader());
  ASSERT_THAT(r.status(), IsOk());
  const Json& p = r->pipeline;
  EXPECT_EQ(p["templateVariables"], (Json{{"wait", 3}, {"label", "x"}}));
  EXPECT_EQ(p["stages"][0]["waitTime"], 3);
  EXPECT_EQ(p["stages"][1]["waitTime"], 3);
  EXPECT_EQ(p["id"], "cfg-1");
  EXPECT_EQ(p["application"], "app");
  EXPECT_EQ(p["name"], "p");
  EXPECT_FALSE(p.contains("type"));
  EXPECT_FALSE(p.contains("schema"));
  EXPECT_EQ(p["source"],
            (Json{{"type", "templatedPipeline"}, {"version", "v2"}}));
  ASSERT_EQ(p["triggers"].size(), 1u);
  EXPECT_EQ(p["triggers"][0]["inherited"], true);
}

TEST(V2TemplateTest, MissingAndWronglyTypedVariablesAreRefused) {
  Json vars = {{{"name", "a"}, {"type", "int"}},
               {{"name", "b"}, {"type", "list"}},
               {{"name", "c"}, {"type", "string"}, {"nullable", true}}};
  EXPECT_THAT(ResolveVariables(vars, Json::object(), Json::object()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Missing variable values for: a, b"));
  // int accepts a whole double; a fraction is a Double.
  auto ok = ResolveVariables(vars, {{"a", 2.0}, {"b", Json::array()}},
                             Json::object());
  ASSERT_THAT(ok.status(), IsOk());
  EXPECT_TRUE((*ok)["c"].is_null());
  EXPECT_THAT(
      ResolveVariables(vars, {{"a", 2.5}, {"b", "x"}}, Json::object()).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Incorrectly defined variable(s): a (expected type 'int' found "
               "type 'Double'), b (expected type 'list' found type 'String')"));
  EXPECT_THAT(ResolveVariables(vars, {{"a", nullptr}, {"b", Json::array()}},
                               Json::object())
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("variable 'a' supplied value is null")));
}

TEST(V2TemplateTest, DefaultsThatAreExpressionsRenderAgainstTheTrigger) {
  Json vars = {{{"name", "env"},
                {"type", "string"},
                {"defaultValue", "${trigger.parameters.env}"}}};
  auto r = ResolveVariables(vars, Json::object(),
                            {{"trigger", {{"parameters", {{"env", "prod"}}}}}});
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ((*r)["env"], "prod");
}

TEST(V2TemplateTest, SchemaRefusesUnknownTypesAndBadNames) {
  Json t = Template("t", {{{"name", "n"}, {"type", "number"}}}, Json::array());
  EXPECT_THAT(ValidateTemplate(t),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("variable 'n' has unknown type 'number'")));
  t["variables"] = {{{"name", "bad name"}}};
  EXPECT_THAT(ValidateTemplate(t), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("variable name")));
  t["variables"] = {{{"name", "n"}, {"type", "int"}, {"defaultValue", "x"}}};
  EXPECT_THAT(ValidateTemplate(t),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("default of type 'String', not 'int'")));
  t["variables"] = Json::array();
  t["schema"] = "1";
  EXPECT_THAT(ValidateTemplate(t), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("schema must be")));
  // Used, an unknown type is refused too.
  Store store;
  store.Put(
      "t", Template("t", {{{"name", "n"}, {"type", "number"}}}, Json::array()));
  EXPECT_THAT(ResolveTemplatedPipeline(Config("spinnaker://t", {{"n", 1}}),
                                       Json::object(), store.Loader())
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown type 'number'")));
}

TEST(V2TemplateTest, StagesAreReplacedAddedAndInjected) {
  Json tstages = {Wait("1", Json::array(), 1), Wait("2", {"1"}, 2)};
  // Replace 2, add 3 after 2 by requisites, inject 0 first, 9 last, 1b
  // before 2, 1a after 1.
  Json cstages = {
      Wait("2", {"1"}, 20),
      Wait("3", {"2"}, 3),
      {{"refId", "0"}, {"type", "wait"}, {"inject", {{"first", true}}}},
      {{"refId", "9"}, {"type", "wait"}, {"inject", {{"last", true}}}},
      {{"refId", "1b"}, {"type", "wait"}, {"inject", {{"before", {"2"}}}}},
      {{"refId", "1a"}, {"type", "wait"}, {"inject", {{"after", {"1"}}}}}};
  auto r = MergeStages(tstages, cstages);
  ASSERT_THAT(r.status(), IsOk());
  std::map<std::string, Json> by_ref;
  for (const Json& s : *r) {
    EXPECT_FALSE(s.contains("inject"));
    by_ref[s["refId"]] = s["requisiteStageRefIds"];
  }
  EXPECT_EQ(by_ref["0"], Json::array());
  EXPECT_EQ(by_ref["1"], Json({"0"}));
  EXPECT_EQ(by_ref["1a"], Json({"1"}));
  EXPECT_EQ(by_ref["1b"], Json({"1a"}));
  EXPECT_EQ(by_ref["2"], Json({"1b"}));
  EXPECT_EQ(by_ref["3"], Json({"2"}));
  EXPECT_EQ(by_ref["9"], Json({"3"}));
  EXPECT_EQ((*r)[0]["refId"], "0");
  for (const Json& s : *r) {
    if (s["refId"] == "2") {
      EXPECT_EQ(s["waitTime"], 20);
    }
  }
  EXPECT_EQ(r->size(), 7u);
  EXPECT_THAT(MergeStages(tstages, {{{"refId", "x"},
                                     {"type", "wait"},
                                     {"inject", {{"after", {"nope"}}}}}})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "could not inject 'x' stage: unknown target stage id "
                       "'nope'"));
}

TEST(V2TemplateTest, ACycleInTheMergedGraphIsRefused) {
  Json tstages = {Wait("1", Json::array(), 1), Wait("2", {"1"}, 2)};
  EXPECT_THAT(MergeStages(tstages, Json::array({Wait("1", {"2"}, 1)})).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Cycle detected in graph")));
}

TEST(V2TemplateTest, ALongChainIsCheckedWithoutRecursionAndCapped) {
  // The longest chain allowed, closed into a cycle by the configuration: the
  // check walks it without recursing per stage.
  Json chain = Json::array();
  chain.push_back(Wait("s0", Json::array(), 1));
  for (size_t i = 1; i < kMaxTemplateStages; ++i) {
    chain.push_back(
        Wait("s" + std::to_string(i), {"s" + std::to_string(i - 1)}, 1));
  }
  auto ok = MergeStages(chain, Json::array());
  ASSERT_THAT(ok.status(), IsOk());
  EXPECT_EQ(ok->size(), kMaxTemplateStages);
  const std::string last = "s" + std::to_string(kMaxTemplateStages - 1);
  EXPECT_THAT(
      MergeStages(chain, Json::array({Wait("s0", {last}, 1)})).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("Cycle detected in graph (discovered on stage: s")));
  // One stage more is refused, whichever list brings it.
  Json longer = chain;
  longer.push_back(Wait("extra", {last}, 1));
  EXPECT_THAT(MergeStages(longer, Json::array()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "a pipeline template may have at most 1000 stages"));
  EXPECT_THAT(MergeStages(Json::array(), longer).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "a pipeline template may have at most 1000 stages"));
  // Or by merging the template's with the configuration's.
  EXPECT_THAT(
      MergeStages(chain, Json::array({Wait("extra", {last}, 1)})).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "a pipeline template may have at most 1000 stages"));
}

TEST(V2TemplateTest, ManyInjectionsStayCheapAndAreCheckedOnce) {
  // 500 stages, then 499 injected "last" and an "after" each: each injection
  // is linear, the cycle check runs once.
  Json tstages = Json::array();
  for (int i = 0; i < 500; ++i) {
    tstages.push_back(Wait("t" + std::to_string(i), Json::array(), 1));
  }
  Json config = Json::array();
  for (int i = 0; i < 499; ++i) {
    Json s = Wait("c" + std::to_string(i), Json::array(), 1);
    if (i % 2 == 0) {
      s["inject"] = {{"last", true}};
    } else {
      s["inject"] = {{"after", {"t" + std::to_string(i)}}};
    }
    config.push_back(std::move(s));
  }
  auto r = MergeStages(tstages, config);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->size(), 999u);
}

TEST(V2TemplateTest, ExcludeKeepsOnlyTheConfigsItems) {
  Store store;
  store.Put("t", Template("t", Json::array(), {Wait("1", Json::array(), 1)}));
  Json config = Config("spinnaker://t");
  config["exclude"] = {"triggers"};
  config["triggers"] = {{{"type", "git"}}};
  config["parameters"] = {{{"name", "p"}, {"default", "d"}}};
  auto r = ResolveTemplatedPipeline(config, Json::object(), store.Loader());
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->pipeline["triggers"], (Json{{{"type", "git"}}}));
  EXPECT_EQ(r->pipeline["parameterConfig"][0]["name"], "p");
}

TEST(V2TemplateTest, TagsAndDynamicReferencesPickTheVersion) {
  Store store;
  store.Put("t", Template("t", Json::array(), {Wait("1", Json::array(), 1)}));
  store.Put("t:stable",
            Template("t", Json::array(), {Wait("1", Json::array(), 7)}));
  auto r = ResolveTemplatedPipeline(
      Config("spinnaker://t:${trigger.parameters.channel}"),
      {{"parameters", {{"channel", "stable"}}}}, store.Loader());
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->pipeline["stages"][0]["waitTime"], 7);
  // "latest" is the untagged save when no version is tagged so.
  r = ResolveTemplatedPipeline(Config("spinnaker://t:latest"), Json::object(),
                               store.Loader());
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->pipeline["stages"][0]["waitTime"], 1);
  EXPECT_THAT(ResolveTemplatedPipeline(Config("spinnaker://none"),
                                       Json::object(), store.Loader())
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'spinnaker://none' does not exist")));
  EXPECT_THAT(
      ResolveTemplatedPipeline(Config("http://t"), Json::object(),
                               store.Loader())
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spinnaker://")));
}

TEST(V2TemplateTest, TemplatesOnTemplatesResolveAndCyclesAreRefused) {
  Store store;
  store.Put("base",
            Template("base", {{{"name", "w"}, {"type", "int"}}},
                     {Wait("1", Json::array(), "${templateVariables.w}")}));
  Json derived = Template("derived", Json::array(), Json::array());
  derived["pipeline"] = Config("spinnaker://base", {{"w", 4}});
  store.Put("derived", derived);
  auto r = ResolveTemplatedPipeline(Config("spinnaker://derived"),
                                    Json::object(), store.Loader());
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->pipeline["stages"][0]["waitTime"], 4);

  Json a = Template("a", Json::array(), Json::array());
  a["pipeline"] = Config("spinnaker://b");
  Json b = Template("b", Json::array(), Json::array());
  b["pipeline"] = Config("spinnaker://a");
  store.Put("a", a);
  store.Put("b", b);
  EXPECT_THAT(ResolveTemplatedPipeline(Config("spinnaker://a"), Json::object(),
                                       store.Loader())
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Cyclic template inheritance: a -> b -> a")));
  // At save: the chain from the template being saved.
  EXPECT_THAT(CheckTemplateChain(a, store.Loader()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Cyclic template inheritance: a -> b -> a")));
  Json self = Template("s", Json::array(), Json::array());
  self["pipeline"] = Config("spinnaker://s:stable");
  EXPECT_THAT(ValidateTemplate(self),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Cyclic template inheritance: s -> s")));
}

TEST(V2TemplateTest, AnExpressionNamingAnUndeclaredVariableIsRefused) {
  Store store;
  store.Put("t",
            Template("t", Json::array(),
                     {Wait("1", Json::array(), "${templateVariables.nope}")}));
  EXPECT_THAT(ResolveTemplatedPipeline(Config("spinnaker://t"), Json::object(),
                                       store.Loader())
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Missing template variable values for the following "
                       "variables: [nope]"));
}

TEST(V2TemplateTest, TriggerParametersTakeTheConfigsDefaultsRendered) {
  Store store;
  store.Put("t", Template("t", Json::array(),
                          {Wait("1", Json::array(), "${parameters.w}")}));
  Json config = Config("spinnaker://t");
  config["parameterConfig"] = {
      {{"name", "w"},
       {"default",
        "${trigger['parentExecution']['trigger']['parameters']['w']}"}}};
  Json trigger = {
      {"type", "pipeline"},
      {"parentExecution", {{"trigger", {{"parameters", {{"w", 6}}}}}}}};
  auto r = ResolveTemplatedPipeline(config, trigger, store.Loader());
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->trigger["parameters"]["w"], 6);
  // Stage expressions other than templateVariables wait for the run.
  EXPECT_EQ(r->pipeline["stages"][0]["waitTime"], "${parameters.w}");
}

TEST(V2TemplateTest, AProtectedTemplateRefusesConfigStages) {
  Store store;
  Json t = Template("t", Json::array(), {Wait("1", Json::array(), 1)});
  t["protect"] = true;
  store.Put("t", t);
  Json config = Config("spinnaker://t");
  config["stages"] = Json::array({Wait("1", Json::array(), 2)});
  EXPECT_THAT(
      ResolveTemplatedPipeline(config, Json::object(), store.Loader()).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("protected")));
}

TEST(V2TemplateTest, ATemplateWithoutItsPipelineYetPlansNoStages) {
  Store store;
  Json t = Template("t", Json::array(), Json::array());
  t.erase("pipeline");
  ASSERT_THAT(ValidateTemplate(t), IsOk());
  store.Put("t", t);
  Json config = Config("spinnaker://t");
  config["stages"] = Json::array({Wait("1", Json::array(), 2)});
  auto r = ResolveTemplatedPipeline(config, Json::object(), store.Loader());
  ASSERT_THAT(r.status(), IsOk());
  ASSERT_EQ(r->pipeline["stages"].size(), 1u);
  EXPECT_EQ(r->pipeline["stages"][0]["waitTime"], 2);
  EXPECT_EQ(r->pipeline["name"], "p");
  t["pipeline"] = "stages";
  EXPECT_THAT(ValidateTemplate(t),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'pipeline' must be a JSON object")));
}

}  // namespace
}  // namespace gennaker::orca::templates
