// Front50Core's Spinnaker rules, on the in-memory store.
#include "services/front50/front50_core.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "nlohmann/json.hpp"
#include "services/front50/store/in_memory_object_store.h"

namespace gennaker::front50 {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::IsOkAndHolds;
using ::gennaker::testing::StatusIs;
using ::testing::_;
using ::testing::HasSubstr;
using Json = nlohmann::json;

class Front50CoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core_ = std::make_unique<Front50Core>(&store_, CoreOptions{},
                                          [this] { return ++now_; });
    ASSERT_THAT(core_->Init(), IsOk());
    ASSERT_THAT(core_->CreateApplication(R"({"name":"MyApp","email":"a@b.c"})",
                                         "alice"),
                IsOk());
  }

  absl::StatusOr<Front50Core::SaveResult> Save(
      const Json& j, std::optional<int64_t> expected = {}) {
    return core_->SavePipeline(Kind::kPipeline, j.dump(), expected, "alice");
  }

  InMemoryObjectStore store_;
  int64_t now_ = 1000;
  std::unique_ptr<Front50Core> core_;
};

TEST_F(Front50CoreTest, ApplicationsAreKeyedLowerCaseAndValidated) {
  auto app = core_->GetApplication("MYAPP");
  ASSERT_THAT(app, IsOk());
  Json body = Json::parse(app->body);
  EXPECT_EQ(body["name"], "myapp");
  EXPECT_EQ(body["lastModifiedBy"], "alice");
  EXPECT_TRUE(body["createTs"].is_string());
  EXPECT_THAT(
      core_->CreateApplication(R"({"name":"myapp","email":"x@y.z"})", "bob"),
      StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(core_->CreateApplication(
                  R"({"name":"bad name!","email":"x@y.z"})", "bob"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(core_->CreateApplication(R"({"name":"noemail"})", "bob"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(core_->CreateApplication("not json", "bob"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(Front50CoreTest, ConfiguredNamePatternIsEnforced) {
  InMemoryObjectStore store;
  Front50Core strict(&store, CoreOptions{"[a-z]+"}, [] { return 1; });
  ASSERT_THAT(strict.Init(), IsOk());
  EXPECT_THAT(strict.CreateApplication(R"({"name":"abc","email":"e"})", "u"),
              IsOk());
  auto bad = strict.CreateApplication(R"({"name":"abc1","email":"e"})", "u");
  EXPECT_THAT(bad, StatusIs(_, HasSubstr("must match [a-z]+")));
  InMemoryObjectStore other;
  Front50Core broken(&other, CoreOptions{"("}, [] { return 1; });
  EXPECT_THAT(broken.Init(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(Front50CoreTest, SaveAssignsIdAndServerFieldsAndKeepsTheRest) {
  Json config = {
      {"application", "myapp"},
      {"name", "  Deploy  "},
      {"stages",
       Json::array({{{"refId", "1"}, {"type", "wait"}, {"waitTime", 30}}})},
      {"triggers",
       Json::array({{{"type", "cron"}, {"cronExpression", "0 0 * * * ?"}}})},
      {"ratio", 0.5}};
  auto saved = Save(config);
  ASSERT_THAT(saved, IsOk());
  EXPECT_TRUE(saved->created);
  Json body = Json::parse(saved->object.body);
  EXPECT_EQ(body["name"], "Deploy");
  EXPECT_EQ(body["id"].get<std::string>().size(), 36u);
  EXPECT_EQ(body["lastModifiedBy"], "alice");
  EXPECT_EQ(body["updateTs"],
            std::to_string(body["lastModified"].get<int64_t>()));
  EXPECT_TRUE(body["stages"][0]["waitTime"].is_number_integer());
  EXPECT_EQ(body["ratio"], 0.5);
  EXPECT_EQ(body["triggers"][0]["id"].get<std::string>().size(), 36u);
  // Saving again with the id updates, not creates.
  auto again = Save(body);
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->created);
}

TEST_F(Front50CoreTest, BadPipelinesAreRefusedWithClearMessages) {
  EXPECT_THAT(Save({{"name", "x"}}),
              StatusIs(_, HasSubstr("application is required")));
  EXPECT_THAT(Save({{"application", "myapp"}}),
              StatusIs(_, HasSubstr("name is required")));
  auto unknown = Save({{"application", "nope"}, {"name", "x"}});
  EXPECT_THAT(unknown, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("'nope' does not exist")));
  EXPECT_THAT(core_->SavePipeline(Kind::kPipeline, "[1,2]", {}, "u"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(store_.List(Kind::kPipeline, "")->empty());
}

// Wrongly typed fields used to be stored and fail only when the pipeline was
// triggered; they are refused at save with the JSON path, nothing stored.
TEST_F(Front50CoreTest, WronglyTypedPipelineFieldsAreRefusedWithTheirPath) {
  const Json base = {{"application", "myapp"}, {"name", "p"}};
  auto with = [&base](const std::string& key, Json value) {
    Json j = base;
    j[key] = std::move(value);
    return j;
  };
  const std::vector<std::pair<Json, std::string>> bad = {
      {with("stages", "wait"), "invalid pipeline: stages must be an array"},
      {with("stages", Json::array({1})), "stages[0] must be an object"},
      {with("stages", {{{"type", "wait"}, {"refId", "1"}}, {{"refId", "2"}}}),
       "stages[1].type must be a string"},
      {with("stages", {{{"type", 3}}}), "stages[0].type must be a string"},
      {with("stages", {{{"type", "wait"}, {"refId", "1"}},
                       {{"type", "wait"}, {"refId", "2"}},
                       {{"type", "wait"}, {"refId", {{"x", 1}}}}}),
       "stages[2].refId must be a string"},
      {with(
           "stages",
           {{{"type", "wait"}, {"refId", "2"}, {"requisiteStageRefIds", "1"}}}),
       "stages[0].requisiteStageRefIds must be an array"},
      {with("stages", {{{"type", "wait"},
                        {"refId", "2"},
                        {"requisiteStageRefIds", {true}}}}),
       "stages[0].requisiteStageRefIds[0] must be a string"},
      {with("triggers", {{"type", "cron"}}), "triggers must be an array"},
      {with("triggers", Json::array({"cron"})),
       "triggers[0] must be an object"},
      {with("parameterConfig", 1), "parameterConfig must be an array"},
      {with("notifications", "x"), "notifications must be an array"},
      {with("name", 42), "name must be a string"},
      {with("application", Json::array()), "application must be a string"},
  };
  for (const auto& [j, message] : bad) {
    EXPECT_THAT(Save(j), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr(message)))
        << j.dump();
  }
  EXPECT_TRUE(store_.List(Kind::kPipeline, "")->empty());
}

TEST_F(Front50CoreTest, NumericRefIdsAreStoredAsStringsAsSpinnakerDoes) {
  Json j = {{"application", "myapp"},
            {"name", "p"},
            {"stages",
             {{{"type", "wait"}, {"refId", 1}},
              {{"type", "wait"}, {"refId", 2}, {"requisiteStageRefIds", {1}}},
              {{"type", "wait"}}}},
            {"triggers", Json::array()},
            {"notifications", nullptr}};
  auto saved = Save(j);
  ASSERT_THAT(saved, IsOk());
  Json body = Json::parse(saved->object.body);
  EXPECT_EQ(body["stages"][0]["refId"], "1");
  EXPECT_EQ(body["stages"][1]["refId"], "2");
  EXPECT_EQ(body["stages"][1]["requisiteStageRefIds"][0], "1");
  EXPECT_FALSE(body["stages"][2].contains("refId"));
}

TEST_F(Front50CoreTest, DuplicateNamesAreRejectedIgnoringCase) {
  ASSERT_THAT(Save({{"application", "myapp"}, {"name", "Deploy"}}), IsOk());
  auto dup = Save({{"application", "MyApp"}, {"name", "DEPLOY"}});
  EXPECT_THAT(dup, StatusIs(absl::StatusCode::kFailedPrecondition,
                            HasSubstr("a pipeline named 'DEPLOY' already "
                                      "exists in application 'MyApp'")));
  // A strategy may share a pipeline's name.
  EXPECT_THAT(
      core_->SavePipeline(
          Kind::kStrategy,
          Json{{"application", "myapp"}, {"name", "Deploy"}}.dump(), {}, "u"),
      IsOk());
}

TEST_F(Front50CoreTest, StaleCheckRefusesAnOlderLastModified) {
  auto saved = Save({{"application", "myapp"}, {"name", "P"}});
  ASSERT_THAT(saved, IsOk());
  Json body = Json::parse(saved->object.body);
  int64_t stamp = body["lastModified"];
  ASSERT_THAT(Save(body, stamp), IsOk());  // fresh: accepted
  auto stale = Save(body, stamp);          // the same stamp is now old
  EXPECT_THAT(stale, StatusIs(absl::StatusCode::kAborted, HasSubstr("stale")));
}

TEST_F(Front50CoreTest, ListSortsByIndexThenNameRewritesIndexAndSeesWrites) {
  ASSERT_THAT(Save({{"application", "myapp"}, {"name", "b"}, {"index", 5}}),
              IsOk());
  ASSERT_THAT(Save({{"application", "myapp"}, {"name", "a"}, {"index", 5}}),
              IsOk());
  ASSERT_THAT(Save({{"application", "myapp"}, {"name", "z"}, {"index", 1}}),
              IsOk());
  ASSERT_THAT(Save({{"application", "myapp"}, {"name", "noindex"}}), IsOk());
  auto list = core_->ListPipelines(Kind::kPipeline, "MyApp");
  ASSERT_THAT(list, IsOk());
  std::vector<std::string> names;
  for (const auto& o : (*list)->objects) {
    Json b = Json::parse(o.body);
    names.push_back(b["name"]);
    EXPECT_EQ(b["index"], static_cast<int>(names.size() - 1));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"z", "a", "b", "noindex"}));
  // A write invalidates the cached list.
  ASSERT_THAT(Save({{"application", "myapp"}, {"name", "c"}, {"index", 0}}),
              IsOk());
  auto after = core_->ListPipelines(Kind::kPipeline, "myapp");
  EXPECT_EQ(Json::parse((*after)->objects[0].body)["name"], "c");
  EXPECT_EQ((*after)->objects.size(), 5u);
  EXPECT_NE((*after)->etag, (*list)->etag);
  auto again = core_->ListPipelines(Kind::kPipeline, "myapp");
  EXPECT_EQ((*again)->etag, (*after)->etag);
}

TEST_F(Front50CoreTest, DeeplyNestedStoredPipelinesStayReadable) {
  // Stored before any nesting limit: deeper than what requests may carry,
  // still listed with its index rewritten like the rest.
  std::string deep;
  for (int i = 0; i < 150; ++i) deep += "[";
  for (int i = 0; i < 150; ++i) deep += "]";
  StoredObject o;
  o.kind = Kind::kPipeline;
  o.id = "deep";
  o.name = "deep";
  o.application = "myapp";
  o.body = absl::StrCat(
      R"({"application":"myapp","name":"deep","index":7,"config":)", deep, "}");
  ASSERT_THAT(store_.Put(o, PutOptions{}), IsOk());
  auto list = core_->ListPipelines(Kind::kPipeline, "myapp");
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ((*list)->objects.size(), 1u);
  Json b = Json::parse((*list)->objects[0].body);
  EXPECT_EQ(b["index"], 0);
  EXPECT_EQ(b["name"], "deep");
}

TEST_F(Front50CoreTest, MovingAPipelineUpdatesBothApplicationsLists) {
  ASSERT_THAT(core_->CreateApplication(R"({"name":"other","email":"e"})", "u"),
              IsOk());
  auto saved = Save({{"application", "myapp"}, {"name", "mover"}});
  ASSERT_THAT(saved, IsOk());
  EXPECT_EQ((*core_->ListPipelines(Kind::kPipeline, "myapp"))->objects.size(),
            1u);
  Json moved = Json::parse(saved->object.body);
  moved["application"] = "other";
  ASSERT_THAT(Save(moved), IsOk());
  EXPECT_EQ((*core_->ListPipelines(Kind::kPipeline, "myapp"))->objects.size(),
            0u);
  EXPECT_EQ((*core_->ListPipelines(Kind::kPipeline, "other"))->objects.size(),
            1u);
}

TEST_F(Front50CoreTest, ReorderChecksEveryIdFirst) {
  auto a = Save({{"application", "myapp"}, {"name", "a"}});
  std::string id = Json::parse(a->object.body)["id"];
  auto bad =
      core_->Reorder(Kind::kPipeline, "myapp", {{id, 3}, {"nope", 1}}, "u");
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(
      Json::parse(core_->Get(Kind::kPipeline, id)->body).contains("index"));
  EXPECT_THAT(core_->Reorder(Kind::kPipeline, "myapp", {{id, 3}}, "u"),
              IsOkAndHolds(1));
  EXPECT_EQ(Json::parse(core_->Get(Kind::kPipeline, id)->body)["index"], 3);
}

TEST_F(Front50CoreTest, PipelinesTriggeredByAnUpstreamPipeline) {
  auto up = Save({{"application", "myapp"}, {"name", "up"}});
  std::string id = Json::parse(up->object.body)["id"];
  Json trigger = {{"type", "pipeline"},
                  {"pipeline", id},
                  {"enabled", true},
                  {"status", Json::array({"successful"})}};
  ASSERT_THAT(Save({{"application", "myapp"},
                    {"name", "down"},
                    {"triggers", Json::array({trigger})}}),
              IsOk());
  Json disabled_trigger = trigger;
  disabled_trigger["enabled"] = false;
  ASSERT_THAT(Save({{"application", "myapp"},
                    {"name", "off"},
                    {"triggers", Json::array({disabled_trigger})}}),
              IsOk());
  auto hits = core_->PipelinesTriggeredBy(id, "successful");
  ASSERT_THAT(hits, IsOk());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].name, "down");
  EXPECT_TRUE(core_->PipelinesTriggeredBy(id, "failed")->empty());
}

TEST_F(Front50CoreTest, DeletingAnApplicationDeletesItsPermissions) {
  ASSERT_THAT(core_->SaveObject(
                  Kind::kApplicationPermission, "myapp",
                  R"({"name":"myapp","permissions":{"READ":["dev"]}})", "u"),
              IsOk());
  ASSERT_THAT(core_->Delete(Kind::kApplication, "MyApp", "u"), IsOk());
  EXPECT_THAT(core_->Get(Kind::kApplicationPermission, "myapp"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(core_->GetApplication("myapp"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(Front50CoreTest, ProjectsGetIdsAndUniqueNames) {
  auto p = core_->SaveObject(Kind::kProject, "",
                             R"({"name":"Platform","email":"e"})", "u");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(Json::parse(p->body)["id"].get<std::string>().size(), 36u);
  auto dup =
      core_->SaveObject(Kind::kProject, "", R"({"name":"platform"})", "u");
  EXPECT_THAT(dup, StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace gennaker::front50
