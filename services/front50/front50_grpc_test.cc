// The gRPC adapter on the in-memory store: request bodies, status mapping and
// the acting user, called directly (no server).
#include "services/front50/front50_grpc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "common/status/grpc_status.h"
#include "common/testing/status_matchers.h"
#include "nlohmann/json.hpp"
#include "services/front50/front50_core.h"
#include "services/front50/store/in_memory_object_store.h"

namespace gennaker::front50 {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using Rpc = v1::Front50Service::Service;

// A request addressing the application `key` by type and key.
template <typename Request>
Request ForApplication(const std::string& key) {
  Request request;
  request.set_type(v1::OBJECT_TYPE_APPLICATION);
  request.set_key(key);
  return request;
}

class Front50GrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core_ = std::make_unique<Front50Core>(&store_, CoreOptions{},
                                          [this] { return ++now_; });
    ASSERT_THAT(core_->Init(), IsOk());
    service_ = NewFront50GrpcService(core_.get(), &stopping_);
  }

  // The RPC's status, as absl::Status.
  template <typename Request, typename Response>
  absl::Status Call(grpc::Status (Rpc::*rpc)(grpc::ServerContext*,
                                             const Request*, Response*),
                    const Request& request, Response* response) {
    return FromGrpcStatus((service_.get()->*rpc)(nullptr, &request, response));
  }

  absl::Status CreateApp(const std::string& name,
                         const std::string& attributes) {
    v1::CreateApplicationRequest request;
    request.mutable_application()->set_name(name);
    request.mutable_application()->set_email("a@b.c");
    request.mutable_application()->mutable_attributes()->set_json(attributes);
    v1::CreateApplicationResponse response;
    return Call(&Rpc::CreateApplication, request, &response);
  }

  InMemoryObjectStore store_;
  int64_t now_ = 1000;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<Front50Core> core_;
  std::unique_ptr<v1::Front50Service::Service> service_;
};

TEST_F(Front50GrpcTest, ApplicationAttributesMustBeAnObjectOrEmpty) {
  v1::CreateApplicationRequest request;
  request.mutable_application()->set_name("App");
  request.mutable_application()->set_email("a@b.c");
  request.mutable_application()->add_cloud_providers("aws");
  request.mutable_application()->add_cloud_providers("gce");
  v1::CreateApplicationResponse response;
  ASSERT_THAT(Call(&Rpc::CreateApplication, request, &response), IsOk());
  EXPECT_EQ(response.application().name(), "app");
  EXPECT_THAT(response.application().cloud_providers(),
              ::testing::ElementsAre("aws", "gce"));
  // Without a user in the call context the write is anonymous.
  EXPECT_EQ(response.application().audit().updated_by(), "anonymous");

  for (const char* bad : {"not json", "[1]", "\"text\""}) {
    EXPECT_THAT(CreateApp("other", bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "attributes must be a JSON object"))
        << bad;
  }
  std::string deep = std::string(200, '[') + std::string(200, ']');
  EXPECT_THAT(CreateApp("other", deep),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nests deeper than 100 levels")));
}

TEST_F(Front50GrpcTest, PagesNeverExceedWhatTheServerMaySend) {
  // A caller configured with a larger message limit than front50's asks for
  // huge pages: each page still fits front50's own limit.
  service_ = NewFront50GrpcService(core_.get(), &stopping_,
                                   /*max_send_bytes=*/64 << 10);
  ASSERT_THAT(CreateApp("big", ""), IsOk());
  const std::string filler(20 << 10, 'x');
  for (int i = 0; i < 6; ++i) {
    v1::SavePipelineRequest save;
    save.mutable_config()->set_json(R"({"application":"big","name":"p)" +
                                    std::to_string(i) + R"(","description":")" +
                                    filler + R"(","stages":[]})");
    v1::SavePipelineResponse saved;
    ASSERT_THAT(Call(&Rpc::SavePipeline, save, &saved), IsOk());
  }
  v1::ListPipelinesRequest list;
  list.set_application("big");
  list.set_max_page_bytes(1 << 30);
  int pages = 0, pipelines = 0;
  do {
    v1::ListPipelinesResponse page;
    ASSERT_THAT(Call(&Rpc::ListPipelines, list, &page), IsOk());
    EXPECT_LE(page.ByteSizeLong(), size_t{64} << 10);
    pipelines += page.pipelines_size();
    ++pages;
    list.mutable_page()->set_page_token(page.page().next_page_token());
  } while (!list.page().page_token().empty());
  EXPECT_EQ(pipelines, 6);
  EXPECT_GE(pages, 2);
}

TEST_F(Front50GrpcTest, ErrorsOfTheCoreKeepTheirCodes) {
  v1::GetApplicationRequest get;
  get.set_name("missing");
  v1::GetApplicationResponse got;
  EXPECT_THAT(Call(&Rpc::GetApplication, get, &got),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(CreateApp("dup", ""), IsOk());
  EXPECT_THAT(CreateApp("dup", ""), StatusIs(absl::StatusCode::kAlreadyExists));
  get.set_name("DUP");
  ASSERT_THAT(Call(&Rpc::GetApplication, get, &got), IsOk());
  EXPECT_EQ(got.application().name(), "dup");
}

TEST_F(Front50GrpcTest, TemplatesNeedAnObjectBodyAndAnId) {
  v1::SavePipelineTemplateRequest request;
  v1::SavePipelineTemplateResponse response;
  auto save = [&] {
    return Call(&Rpc::SavePipelineTemplate, request, &response);
  };
  EXPECT_THAT(save(), StatusIs(absl::StatusCode::kInvalidArgument,
                               "template must be a JSON object"));
  request.mutable_template_()->mutable_body()->set_json("{}");
  EXPECT_THAT(save(), StatusIs(absl::StatusCode::kInvalidArgument,
                               "template id is required"));
  // Without a schema (e.g. an update that dropped it): refused, not stored
  // unchecked.
  request.mutable_template_()->mutable_body()->set_json(
      R"({"id":"t1","metadata":{"name":"T","scopes":["global",3]}})");
  EXPECT_THAT(save(), StatusIs(absl::StatusCode::kInvalidArgument,
                               "a v2 pipeline template needs schema: v2"));
  request.mutable_template_()->mutable_body()->set_json(
      R"({"id":"t1","schema":"1"})");
  EXPECT_THAT(save(), StatusIs(absl::StatusCode::kInvalidArgument,
                               ::testing::HasSubstr("schema must be")));
  request.mutable_template_()->mutable_body()->set_json(
      R"({"id":"t1","schema":"v2",)"
      R"("metadata":{"name":"T","scopes":["global",3]}})");
  ASSERT_THAT(save(), IsOk());
  EXPECT_EQ(response.template_().id(), "t1");
  EXPECT_EQ(response.template_().name(), "T");
  EXPECT_THAT(response.template_().scopes(), ::testing::ElementsAre("global"));
  request.set_create_only(true);
  EXPECT_THAT(save(), StatusIs(absl::StatusCode::kAlreadyExists,
                               "pipeline template 't1' already exists"));

  v1::GetPipelineTemplateRequest get;
  get.set_id("T1");
  v1::GetPipelineTemplateResponse got;
  ASSERT_THAT(Call(&Rpc::GetPipelineTemplate, get, &got), IsOk());
  EXPECT_EQ(got.template_().id(), "t1");

  // An update names the template in its path: the body is stored (and
  // checked) under that id, whatever id it carries.
  request.set_create_only(false);
  request.mutable_template_()->set_id("t2");
  request.mutable_template_()->mutable_body()->set_json(
      R"({"id":"t1","schema":"v2","metadata":{"name":"Other"}})");
  ASSERT_THAT(save(), IsOk());
  get.set_id("t2");
  ASSERT_THAT(Call(&Rpc::GetPipelineTemplate, get, &got), IsOk());
  EXPECT_EQ(Json::parse(got.template_().body().json())["id"], "t2");
  get.set_id("t1");
  ASSERT_THAT(Call(&Rpc::GetPipelineTemplate, get, &got), IsOk());
  EXPECT_EQ(Json::parse(got.template_().body().json())["metadata"]["name"],
            "T");
}

TEST_F(Front50GrpcTest, NotificationsDefaultToAnEmptySet) {
  v1::GetNotificationsRequest get;
  get.set_level(v1::NOTIFICATION_LEVEL_APPLICATION);
  get.set_application("app");
  v1::GetNotificationsResponse got;
  ASSERT_THAT(Call(&Rpc::GetNotifications, get, &got), IsOk());
  EXPECT_EQ(got.notifications().body().json(), R"({"application":"app"})");

  v1::SaveNotificationsRequest save;
  save.mutable_notifications()->set_level(v1::NOTIFICATION_LEVEL_APPLICATION);
  v1::SaveNotificationsResponse saved;
  EXPECT_THAT(Call(&Rpc::SaveNotifications, save, &saved),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "notification application is required"));
  save.mutable_notifications()->set_application("app");
  EXPECT_THAT(Call(&Rpc::SaveNotifications, save, &saved),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "notifications must be a JSON object"));
  save.mutable_notifications()->mutable_body()->set_json(
      R"({"email":[{"address":"x@y.z"}]})");
  ASSERT_THAT(Call(&Rpc::SaveNotifications, save, &saved), IsOk());
  ASSERT_THAT(Call(&Rpc::GetNotifications, get, &got), IsOk());
  EXPECT_EQ(Json::parse(got.notifications().body().json())["application"],
            "app");
}

TEST_F(Front50GrpcTest, ProjectsAreFoundByIdOrName) {
  v1::SaveProjectRequest save;
  save.mutable_project()->set_name("Platform");
  save.mutable_project()->mutable_body()->set_json(
      R"({"config":{"applications":["a",1,"b"]}})");
  v1::SaveProjectResponse saved;
  ASSERT_THAT(Call(&Rpc::SaveProject, save, &saved), IsOk());
  EXPECT_THAT(saved.project().applications(), ::testing::ElementsAre("a", "b"));
  v1::GetProjectRequest get;
  v1::GetProjectResponse got;
  get.set_id_or_name("platform");
  ASSERT_THAT(Call(&Rpc::GetProject, get, &got), IsOk());
  EXPECT_EQ(got.project().id(), saved.project().id());
  get.set_id_or_name(saved.project().id());
  ASSERT_THAT(Call(&Rpc::GetProject, get, &got), IsOk());
  get.set_id_or_name("nope");
  EXPECT_THAT(Call(&Rpc::GetProject, get, &got),
              StatusIs(absl::StatusCode::kNotFound));
  save.mutable_project()->mutable_body()->set_json("[]");
  EXPECT_THAT(Call(&Rpc::SaveProject, save, &saved),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "project must be a JSON object"));
}

TEST_F(Front50GrpcTest, ObjectsAreAddressedByTypeAndKey) {
  ASSERT_THAT(CreateApp("app", ""), IsOk());
  v1::ListObjectHistoryRequest history;
  v1::ListObjectHistoryResponse versions;
  history.set_key("app");
  EXPECT_THAT(
      Call(&Rpc::ListObjectHistory, history, &versions),
      StatusIs(absl::StatusCode::kInvalidArgument, "object type is required"));
  history.set_type(v1::OBJECT_TYPE_APPLICATION);
  history.set_limit(10);
  ASSERT_THAT(Call(&Rpc::ListObjectHistory, history, &versions), IsOk());
  ASSERT_EQ(versions.versions_size(), 1);

  auto version = ForApplication<v1::GetObjectVersionRequest>("app");
  version.set_version_id("one");
  v1::GetObjectVersionResponse one;
  EXPECT_THAT(Call(&Rpc::GetObjectVersion, version, &one),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "version_id must be a number"));
  version.set_version_id(versions.versions(0).version_id());
  ASSERT_THAT(Call(&Rpc::GetObjectVersion, version, &one), IsOk());
  EXPECT_EQ(one.version().key(), "app");

  v1::DeleteObjectResponse deleted;
  ASSERT_THAT(Call(&Rpc::DeleteObject,
                   ForApplication<v1::DeleteObjectRequest>("APP"), &deleted),
              IsOk());
  EXPECT_TRUE(deleted.deleted());
  v1::RecoverObjectResponse recovered;
  ASSERT_THAT(Call(&Rpc::RecoverObject,
                   ForApplication<v1::RecoverObjectRequest>("app"), &recovered),
              IsOk());
  EXPECT_TRUE(recovered.recovered());
  EXPECT_EQ(recovered.current().key(), "app");
}

TEST_F(Front50GrpcTest, ServiceAccounts) {
  v1::SaveServiceAccountRequest account;
  v1::SaveServiceAccountResponse saved;
  EXPECT_THAT(Call(&Rpc::SaveServiceAccount, account, &saved),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "service account name is required"));
  account.mutable_service_account()->set_name("bot");
  account.mutable_service_account()->add_member_of("ops");
  ASSERT_THAT(Call(&Rpc::SaveServiceAccount, account, &saved), IsOk());
  EXPECT_THAT(saved.service_account().member_of(),
              ::testing::ElementsAre("ops"));
  v1::ListServiceAccountsResponse accounts;
  ASSERT_THAT(Call(&Rpc::ListServiceAccounts, v1::ListServiceAccountsRequest(),
                   &accounts),
              IsOk());
  EXPECT_EQ(accounts.service_accounts_size(), 1);
}

TEST_F(Front50GrpcTest, ApplicationPermissions) {
  v1::PutApplicationPermissionRequest put;
  v1::PutApplicationPermissionResponse permission;
  EXPECT_THAT(Call(&Rpc::PutApplicationPermission, put, &permission),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "permission application is required"));
  put.mutable_permission()->set_application("app");
  put.mutable_permission()->mutable_body()->set_json(
      R"({"permissions":{"READ":["dev"],"WRITE":["ops",2]}})");
  ASSERT_THAT(Call(&Rpc::PutApplicationPermission, put, &permission), IsOk());
  EXPECT_THAT(permission.permission().read_roles(),
              ::testing::ElementsAre("dev"));
  EXPECT_THAT(permission.permission().write_roles(),
              ::testing::ElementsAre("ops"));
  v1::ListApplicationPermissionsResponse permissions;
  ASSERT_THAT(Call(&Rpc::ListApplicationPermissions,
                   v1::ListApplicationPermissionsRequest(), &permissions),
              IsOk());
  EXPECT_EQ(permissions.permissions_size(), 1);
}

}  // namespace
}  // namespace gennaker::front50
