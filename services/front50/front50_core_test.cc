// Front50Core's Spinnaker rules, on the in-memory store.
#include "services/front50/front50_core.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "services/front50/store/in_memory_object_store.h"

namespace gennaker::front50 {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

class Front50CoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core_ = std::make_unique<Front50Core>(&store_, CoreOptions{},
                                          [this] { return ++now_; });
    ASSERT_TRUE(core_->Init().ok());
    ASSERT_TRUE(
        core_->CreateApplication(R"({"name":"MyApp","email":"a@b.c"})", "alice")
            .ok());
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
  ASSERT_TRUE(app.ok());
  Json body = Json::parse(app->body);
  EXPECT_EQ(body["name"], "myapp");
  EXPECT_EQ(body["lastModifiedBy"], "alice");
  EXPECT_TRUE(body["createTs"].is_string());
  EXPECT_TRUE(absl::IsAlreadyExists(
      core_->CreateApplication(R"({"name":"myapp","email":"x@y.z"})", "bob")
          .status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      core_->CreateApplication(R"({"name":"bad name!","email":"x@y.z"})", "bob")
          .status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      core_->CreateApplication(R"({"name":"noemail"})", "bob").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      core_->CreateApplication("not json", "bob").status()));
}

TEST_F(Front50CoreTest, ConfiguredNamePatternIsEnforced) {
  InMemoryObjectStore store;
  Front50Core strict(&store, CoreOptions{"[a-z]+"}, [] { return 1; });
  ASSERT_TRUE(strict.Init().ok());
  EXPECT_TRUE(
      strict.CreateApplication(R"({"name":"abc","email":"e"})", "u").ok());
  auto bad = strict.CreateApplication(R"({"name":"abc1","email":"e"})", "u");
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("must match [a-z]+"));
  InMemoryObjectStore other;
  Front50Core broken(&other, CoreOptions{"("}, [] { return 1; });
  EXPECT_TRUE(absl::IsInvalidArgument(broken.Init()));
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
  ASSERT_TRUE(saved.ok()) << saved.status();
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
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
}

TEST_F(Front50CoreTest, BadPipelinesAreRefusedWithClearMessages) {
  EXPECT_THAT(std::string(Save({{"name", "x"}}).status().message()),
              HasSubstr("application is required"));
  EXPECT_THAT(std::string(Save({{"application", "myapp"}}).status().message()),
              HasSubstr("name is required"));
  auto unknown = Save({{"application", "nope"}, {"name", "x"}});
  EXPECT_TRUE(absl::IsInvalidArgument(unknown.status()));
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("'nope' does not exist"));
  EXPECT_TRUE(absl::IsInvalidArgument(
      core_->SavePipeline(Kind::kPipeline, "[1,2]", {}, "u").status()));
  EXPECT_TRUE(store_.List(Kind::kPipeline, "")->empty());
}

TEST_F(Front50CoreTest, DuplicateNamesAreRejectedIgnoringCase) {
  ASSERT_TRUE(Save({{"application", "myapp"}, {"name", "Deploy"}}).ok());
  auto dup = Save({{"application", "MyApp"}, {"name", "DEPLOY"}});
  EXPECT_TRUE(absl::IsFailedPrecondition(dup.status()));
  EXPECT_THAT(
      std::string(dup.status().message()),
      HasSubstr(
          "a pipeline named 'DEPLOY' already exists in application 'MyApp'"));
  // A strategy may share a pipeline's name.
  EXPECT_TRUE(core_
                  ->SavePipeline(
                      Kind::kStrategy,
                      Json{{"application", "myapp"}, {"name", "Deploy"}}.dump(),
                      {}, "u")
                  .ok());
}

TEST_F(Front50CoreTest, StaleCheckRefusesAnOlderLastModified) {
  auto saved = Save({{"application", "myapp"}, {"name", "P"}});
  ASSERT_TRUE(saved.ok());
  Json body = Json::parse(saved->object.body);
  int64_t stamp = body["lastModified"];
  ASSERT_TRUE(Save(body, stamp).ok());  // fresh: accepted
  auto stale = Save(body, stamp);       // the same stamp is now old
  EXPECT_TRUE(absl::IsAborted(stale.status()));
  EXPECT_THAT(std::string(stale.status().message()), HasSubstr("stale"));
}

TEST_F(Front50CoreTest, ListSortsByIndexThenNameRewritesIndexAndSeesWrites) {
  ASSERT_TRUE(
      Save({{"application", "myapp"}, {"name", "b"}, {"index", 5}}).ok());
  ASSERT_TRUE(
      Save({{"application", "myapp"}, {"name", "a"}, {"index", 5}}).ok());
  ASSERT_TRUE(
      Save({{"application", "myapp"}, {"name", "z"}, {"index", 1}}).ok());
  ASSERT_TRUE(Save({{"application", "myapp"}, {"name", "noindex"}}).ok());
  auto list = core_->ListPipelines(Kind::kPipeline, "MyApp");
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const auto& o : (*list)->objects) {
    Json b = Json::parse(o.body);
    names.push_back(b["name"]);
    EXPECT_EQ(b["index"], static_cast<int>(names.size() - 1));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"z", "a", "b", "noindex"}));
  // A write invalidates the cached list.
  ASSERT_TRUE(
      Save({{"application", "myapp"}, {"name", "c"}, {"index", 0}}).ok());
  auto after = core_->ListPipelines(Kind::kPipeline, "myapp");
  EXPECT_EQ(Json::parse((*after)->objects[0].body)["name"], "c");
  EXPECT_EQ((*after)->objects.size(), 5u);
  EXPECT_NE((*after)->etag, (*list)->etag);
  auto again = core_->ListPipelines(Kind::kPipeline, "myapp");
  EXPECT_EQ((*again)->etag, (*after)->etag);
}

TEST_F(Front50CoreTest, MovingAPipelineUpdatesBothApplicationsLists) {
  ASSERT_TRUE(
      core_->CreateApplication(R"({"name":"other","email":"e"})", "u").ok());
  auto saved = Save({{"application", "myapp"}, {"name", "mover"}});
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ((*core_->ListPipelines(Kind::kPipeline, "myapp"))->objects.size(),
            1u);
  Json moved = Json::parse(saved->object.body);
  moved["application"] = "other";
  ASSERT_TRUE(Save(moved).ok());
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
  EXPECT_TRUE(absl::IsNotFound(bad.status()));
  EXPECT_FALSE(
      Json::parse(core_->Get(Kind::kPipeline, id)->body).contains("index"));
  EXPECT_EQ(*core_->Reorder(Kind::kPipeline, "myapp", {{id, 3}}, "u"), 1);
  EXPECT_EQ(Json::parse(core_->Get(Kind::kPipeline, id)->body)["index"], 3);
}

TEST_F(Front50CoreTest, PipelinesTriggeredByAnUpstreamPipeline) {
  auto up = Save({{"application", "myapp"}, {"name", "up"}});
  std::string id = Json::parse(up->object.body)["id"];
  Json trigger = {{"type", "pipeline"},
                  {"pipeline", id},
                  {"enabled", true},
                  {"status", Json::array({"successful"})}};
  ASSERT_TRUE(Save({{"application", "myapp"},
                    {"name", "down"},
                    {"triggers", Json::array({trigger})}})
                  .ok());
  Json disabled_trigger = trigger;
  disabled_trigger["enabled"] = false;
  ASSERT_TRUE(Save({{"application", "myapp"},
                    {"name", "off"},
                    {"triggers", Json::array({disabled_trigger})}})
                  .ok());
  auto hits = core_->PipelinesTriggeredBy(id, "successful");
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].name, "down");
  EXPECT_TRUE(core_->PipelinesTriggeredBy(id, "failed")->empty());
}

TEST_F(Front50CoreTest, DeletingAnApplicationDeletesItsPermissions) {
  ASSERT_TRUE(core_
                  ->SaveObject(
                      Kind::kApplicationPermission, "myapp",
                      R"({"name":"myapp","permissions":{"READ":["dev"]}})", "u")
                  .ok());
  ASSERT_TRUE(core_->Delete(Kind::kApplication, "MyApp", "u").ok());
  EXPECT_TRUE(absl::IsNotFound(
      core_->Get(Kind::kApplicationPermission, "myapp").status()));
  EXPECT_TRUE(absl::IsNotFound(core_->GetApplication("myapp").status()));
}

TEST_F(Front50CoreTest, ProjectsGetIdsAndUniqueNames) {
  auto p = core_->SaveObject(Kind::kProject, "",
                             R"({"name":"Platform","email":"e"})", "u");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Json::parse(p->body)["id"].get<std::string>().size(), 36u);
  auto dup =
      core_->SaveObject(Kind::kProject, "", R"({"name":"platform"})", "u");
  EXPECT_TRUE(absl::IsFailedPrecondition(dup.status()));
}

}  // namespace
}  // namespace gennaker::front50
