#include "services/orca/clouddriver_client.h"

#include <chrono>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/fiat/authorizer.h"
#include "common/grpc/channel.h"
#include "common/log/call_context.h"
#include "common/spinnaker/shapes.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"

namespace gennaker::orca {

namespace {

namespace cd = ::gennaker::clouddriver::v1;

constexpr std::chrono::seconds kDeadline(10);

// clouddriver's answers are its own documents: text that does not parse
// is lost data, not a bad request.
absl::StatusOr<Json> ParseJson(const std::string& text, const char* what) {
  absl::StatusOr<Json> j =
      spinnaker::ParseJson(text, absl::StrCat("clouddriver's ", what));
  if (!j.ok()) return absl::DataLossError(j.status().message());
  return j;
}

class CloudDriverGrpc : public CloudDriver {
 public:
  explicit CloudDriverGrpc(std::shared_ptr<grpc::Channel> channel)
      : stub_(cd::ClouddriverService::NewStub(std::move(channel))) {}

  absl::StatusOr<std::string> Submit(const Json& operations,
                                     const std::string& idempotency_key,
                                     const std::string& application) override {
    if (!operations.is_array() || operations.empty()) {
      return absl::InvalidArgumentError("no operation to submit");
    }
    cd::SubmitOperationsRequest req;
    const Json& first = operations[0];
    std::string provider = first.contains("description")
                               ? String(first["description"], "cloudProvider")
                               : std::string();
    req.set_cloud_provider(provider.empty() ? "local" : provider);
    req.set_idempotency_key(idempotency_key);
    req.set_application(application);
    for (const Json& op : operations) {
      cd::Operation* o = req.add_operations();
      o->set_name(String(op, "name"));
      o->set_account(String(op, "account"));
      o->mutable_description()->set_json(Dump(
          op.contains("description") ? op["description"] : Json::object()));
    }
    cd::SubmitOperationsResponse resp;
    auto ctx = MakeClientContext(kDeadline);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->SubmitOperations(ctx.get(), req, &resp)));
    if (resp.task_id().empty()) {
      return absl::InternalError("clouddriver returned no task id");
    }
    return resp.task_id();
  }

  absl::StatusOr<Json> GetTask(const std::string& task_id) override {
    cd::GetOperationTaskRequest req;
    req.set_task_id(task_id);
    cd::GetOperationTaskResponse resp;
    auto ctx = MakeClientContext(kDeadline);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetOperationTask(ctx.get(), req, &resp)));
    return ParseJson(resp.task().json().json(), "task");
  }

  absl::Status ResumeTask(const std::string& task_id) override {
    cd::ResumeOperationTaskRequest req;
    req.set_task_id(task_id);
    cd::ResumeOperationTaskResponse resp;
    auto ctx = MakeClientContext(kDeadline);
    return FromGrpcStatus(stub_->ResumeOperationTask(ctx.get(), req, &resp));
  }

  absl::StatusOr<Json> GetCluster(const std::string& app,
                                  const std::string& account,
                                  const std::string& cluster,
                                  const std::string& cloud_provider) override {
    cd::GetClusterRequest req;
    req.set_application(app);
    req.set_account(account);
    req.set_cluster(cluster);
    req.set_cloud_provider(cloud_provider);
    req.set_expand(true);
    cd::GetClusterResponse resp;
    auto ctx = MakeClientContext(kDeadline);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetCluster(ctx.get(), req, &resp)));
    if (resp.clusters().empty()) {
      return absl::NotFoundError(
          absl::StrCat("no cluster ", cluster, " in account ", account));
    }
    const cd::Cluster& c = resp.clusters(0);
    GENNAKER_ASSIGN_OR_RETURN(Json out, ParseJson(c.json().json(), "cluster"));
    if (!out.is_object()) out = Json{{"name", c.name()}};
    if (!out.contains("serverGroups") || !out["serverGroups"].is_array()) {
      // Built from the typed server groups when the JSON lacks them.
      Json groups = Json::array();
      for (const cd::ServerGroup& sg : c.server_groups()) {
        GENNAKER_ASSIGN_OR_RETURN(Json g,
                                  ParseJson(sg.json().json(), "server group"));
        groups.push_back(std::move(g));
      }
      out["serverGroups"] = std::move(groups);
    }
    if (out["serverGroups"].empty()) {
      return absl::NotFoundError(
          absl::StrCat("cluster ", cluster, " has no server group"));
    }
    return out;
  }

  absl::StatusOr<Json> GetServerGroup(const std::string& account,
                                      const std::string& region,
                                      const std::string& name) override {
    cd::GetServerGroupRequest req;
    req.mutable_ref()->set_account(account);
    req.mutable_ref()->set_region(region);
    req.mutable_ref()->set_name(name);
    cd::GetServerGroupResponse resp;
    auto ctx = MakeClientContext(kDeadline);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetServerGroup(ctx.get(), req, &resp)));
    return ParseJson(resp.server_group().json().json(), "server group");
  }

  absl::StatusOr<Json> TargetServerGroup(const std::string& app,
                                         const std::string& account,
                                         const std::string& cluster,
                                         const std::string& cloud_provider,
                                         const std::string& region,
                                         spinnaker::Target target,
                                         bool only_enabled) override {
    cd::GetTargetServerGroupRequest req;
    req.set_application(app);
    req.set_account(account);
    req.set_cluster(cluster);
    req.set_cloud_provider(cloud_provider);
    req.set_region(region);
    req.set_target(spinnaker::TargetToProto(target));
    req.set_only_enabled(only_enabled);
    cd::GetTargetServerGroupResponse resp;
    auto ctx = MakeClientContext(kDeadline);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetTargetServerGroup(ctx.get(), req, &resp)));
    return ParseJson(resp.server_group().json().json(), "server group");
  }

  absl::StatusOr<std::vector<Json>> FindImages(
      const std::string& cloud_provider, const std::string& query,
      const std::string& account, const std::string& region,
      const std::map<std::string, std::string>& tags) override {
    cd::FindImagesRequest req;
    req.set_cloud_provider(cloud_provider);
    req.set_query(query);
    req.set_account(account);
    req.set_region(region);
    for (const auto& [k, v] : tags) (*req.mutable_tags())[k] = v;
    cd::FindImagesResponse resp;
    auto ctx = MakeClientContext(kDeadline);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->FindImages(ctx.get(), req, &resp)));
    std::vector<Json> out;
    for (const cd::Image& i : resp.images()) {
      Json tags_json = Json::object();
      // Sorted, so that the JSON does not depend on the map's order.
      std::map<std::string, std::string> sorted(i.tags().begin(),
                                                i.tags().end());
      for (const auto& [k, v] : sorted) tags_json[k] = v;
      out.push_back(
          {{"imageId", i.image_id()},
           {"imageName", i.image_name()},
           {"cloudProvider", i.cloud_provider()},
           {"accounts", Json(std::vector<std::string>(i.accounts().begin(),
                                                      i.accounts().end()))},
           {"regions", Json(std::vector<std::string>(i.regions().begin(),
                                                     i.regions().end()))},
           {"tags", std::move(tags_json)},
           {"createdAt", i.created_at_ms()}});
    }
    return out;
  }

 private:
  std::unique_ptr<cd::ClouddriverService::Stub> stub_;
};

class AccountCheckingCloudDriver : public CloudDriver {
 public:
  AccountCheckingCloudDriver(CloudDriver* inner,
                             std::shared_ptr<fiat::Authorizer> authorizer)
      : inner_(inner), authorizer_(std::move(authorizer)) {}

  absl::StatusOr<std::string> Submit(const Json& operations,
                                     const std::string& idempotency_key,
                                     const std::string& application) override {
    // Every account named anywhere in the operations, each checked once.
    std::set<std::string> accounts;
    auto add = [&](const Json& object, const char* key) {
      std::string name = String(object, key);
      if (!name.empty()) accounts.insert(std::move(name));
    };
    if (operations.is_array()) {
      for (const Json& op : operations) {
        if (!op.is_object()) continue;
        add(op, "account");
        if (op.contains("description") && op["description"].is_object()) {
          add(op["description"], "credentials");
          add(op["description"], "account");
        }
      }
    }
    const std::string user = CurrentCallContext().user;
    for (const std::string& account : accounts) {
      GENNAKER_RETURN_IF_ERROR(
          authorizer_->Check(user, fiat::v1::RESOURCE_TYPE_ACCOUNT, account,
                             fiat::v1::AUTHORIZATION_WRITE));
    }
    return inner_->Submit(operations, idempotency_key, application);
  }
  absl::StatusOr<Json> GetTask(const std::string& task_id) override {
    return inner_->GetTask(task_id);
  }
  absl::Status ResumeTask(const std::string& task_id) override {
    return inner_->ResumeTask(task_id);
  }
  absl::StatusOr<Json> GetCluster(const std::string& app,
                                  const std::string& account,
                                  const std::string& cluster,
                                  const std::string& cloud_provider) override {
    return inner_->GetCluster(app, account, cluster, cloud_provider);
  }
  absl::StatusOr<Json> GetServerGroup(const std::string& account,
                                      const std::string& region,
                                      const std::string& name) override {
    return inner_->GetServerGroup(account, region, name);
  }
  absl::StatusOr<Json> TargetServerGroup(const std::string& app,
                                         const std::string& account,
                                         const std::string& cluster,
                                         const std::string& cloud_provider,
                                         const std::string& region,
                                         spinnaker::Target target,
                                         bool only_enabled) override {
    return inner_->TargetServerGroup(app, account, cluster, cloud_provider,
                                     region, target, only_enabled);
  }
  absl::StatusOr<std::vector<Json>> FindImages(
      const std::string& cloud_provider, const std::string& query,
      const std::string& account, const std::string& region,
      const std::map<std::string, std::string>& tags) override {
    return inner_->FindImages(cloud_provider, query, account, region, tags);
  }

 private:
  CloudDriver* inner_;
  std::shared_ptr<fiat::Authorizer> authorizer_;
};

}  // namespace

std::unique_ptr<CloudDriver> WithAccountChecks(
    CloudDriver* inner, std::shared_ptr<fiat::Authorizer> authorizer) {
  return std::make_unique<AccountCheckingCloudDriver>(inner,
                                                      std::move(authorizer));
}

std::unique_ptr<CloudDriver> NewCloudDriverGrpc(
    std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<CloudDriverGrpc>(std::move(channel));
}

}  // namespace gennaker::orca
