#include "services/orca/front50_client.h"

#include "absl/strings/ascii.h"
#include "common/grpc/channel.h"
#include "common/status/grpc_status.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"

namespace gennaker::orca {

namespace {

namespace f50 = ::gennaker::front50::v1;

absl::StatusOr<Json> ConfigOf(const f50::GetPipelineResponse& resp) {
  const std::string& text = resp.pipeline().config().json();
  absl::StatusOr<Json> j = spinnaker::ParseJson(text, "pipeline config");
  // Too deep a config is refused as any input is; anything else means front50
  // holds a broken one.
  if (!j.ok() && !spinnaker::WithinNesting(text)) return j.status();
  if (!j.ok() || !j->is_object()) {
    return absl::DataLossError("pipeline config is not JSON");
  }
  return j;
}

class Front50Grpc : public Front50 {
 public:
  explicit Front50Grpc(std::shared_ptr<grpc::Channel> channel)
      : stub_(f50::Front50Service::NewStub(std::move(channel))) {}

  absl::StatusOr<Json> PipelineById(const std::string& id) override {
    f50::GetPipelineRequest req;
    req.set_kind(f50::PIPELINE_KIND_PIPELINE);
    req.set_id(id);
    return Get(req);
  }

  absl::StatusOr<Json> PipelineByName(const std::string& application,
                                      const std::string& name) override {
    f50::GetPipelineRequest req;
    req.set_kind(f50::PIPELINE_KIND_PIPELINE);
    req.set_application(application);
    req.set_name(name);
    return Get(req);
  }

  absl::StatusOr<bool> ApplicationExists(const std::string& name) override {
    f50::GetApplicationRequest req;
    req.set_name(absl::AsciiStrToLower(name));
    f50::GetApplicationResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    absl::Status s =
        FromGrpcStatus(stub_->GetApplication(ctx.get(), req, &resp));
    if (absl::IsNotFound(s)) return false;
    if (!s.ok()) return s;
    return true;
  }

  absl::Status UpsertApplication(const Json& attributes) override {
    std::string name = absl::AsciiStrToLower(String(attributes, "name"));
    if (name.empty()) {
      return absl::InvalidArgumentError("application.name is required");
    }
    f50::CreateApplicationRequest req;
    req.mutable_application()->set_name(name);
    req.mutable_application()->mutable_attributes()->set_json(Dump(attributes));
    f50::CreateApplicationResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    absl::Status s =
        FromGrpcStatus(stub_->CreateApplication(ctx.get(), req, &resp));
    if (!absl::IsAlreadyExists(s)) return s;
    return Update(name, attributes, /*merge=*/true);
  }

  absl::Status PutApplicationPermissions(const std::string& name,
                                         const Json& permissions) override {
    f50::PutApplicationPermissionRequest req;
    const std::string app = absl::AsciiStrToLower(name);
    req.mutable_permission()->set_application(app);
    req.mutable_permission()->mutable_body()->set_json(
        Dump(Json{{"name", app}, {"permissions", permissions}}));
    f50::PutApplicationPermissionResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    return FromGrpcStatus(
        stub_->PutApplicationPermission(ctx.get(), req, &resp));
  }

  absl::Status UpdateApplication(const Json& attributes) override {
    std::string name = absl::AsciiStrToLower(String(attributes, "name"));
    if (name.empty()) {
      return absl::InvalidArgumentError("application.name is required");
    }
    return Update(name, attributes, /*merge=*/true);
  }

  absl::Status UpsertProject(const Json& project) override {
    f50::SaveProjectRequest req;
    req.mutable_project()->set_id(String(project, "id"));
    req.mutable_project()->mutable_body()->set_json(Dump(project));
    f50::SaveProjectResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    return FromGrpcStatus(stub_->SaveProject(ctx.get(), req, &resp));
  }

  absl::Status DeleteProject(const std::string& id_or_name) override {
    f50::GetProjectRequest get;
    get.set_id_or_name(id_or_name);
    f50::GetProjectResponse found;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    absl::Status s = FromGrpcStatus(stub_->GetProject(ctx.get(), get, &found));
    if (absl::IsNotFound(s)) return absl::OkStatus();
    if (!s.ok()) return s;
    f50::DeleteObjectRequest req;
    req.set_type(f50::OBJECT_TYPE_PROJECT);
    req.set_key(found.project().id());
    f50::DeleteObjectResponse resp;
    auto dctx = MakeClientContext(std::chrono::seconds(10));
    s = FromGrpcStatus(stub_->DeleteObject(dctx.get(), req, &resp));
    return absl::IsNotFound(s) ? absl::OkStatus() : s;
  }

  absl::Status DeleteApplication(const std::string& name) override {
    f50::DeleteObjectRequest req;
    req.set_type(f50::OBJECT_TYPE_APPLICATION);
    req.set_key(absl::AsciiStrToLower(name));
    f50::DeleteObjectResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    absl::Status s = FromGrpcStatus(stub_->DeleteObject(ctx.get(), req, &resp));
    return absl::IsNotFound(s) ? absl::OkStatus() : s;
  }

  absl::StatusOr<Json> PipelineTemplate(const std::string& id,
                                        const std::string& tag,
                                        const std::string& digest) override {
    f50::GetPipelineTemplateRequest req;
    req.set_id(id);
    req.set_tag(tag);
    req.set_digest(digest);
    f50::GetPipelineTemplateResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    absl::Status s =
        FromGrpcStatus(stub_->GetPipelineTemplate(ctx.get(), req, &resp));
    if (!s.ok()) return s;
    absl::StatusOr<Json> j = spinnaker::ParseJson(
        resp.template_().body().json(), "pipeline template");
    if (!j.ok() || !j->is_object()) {
      return absl::DataLossError("pipeline template is not JSON");
    }
    return j;
  }

 private:
  absl::StatusOr<Json> Get(const f50::GetPipelineRequest& req) {
    f50::GetPipelineResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    absl::Status s = FromGrpcStatus(stub_->GetPipeline(ctx.get(), req, &resp));
    if (!s.ok()) return s;
    return ConfigOf(resp);
  }

  absl::Status Update(const std::string& name, const Json& attributes,
                      bool merge) {
    f50::UpdateApplicationRequest req;
    req.set_name(name);
    req.mutable_attributes()->set_json(Dump(attributes));
    req.set_merge(merge);
    f50::UpdateApplicationResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    return FromGrpcStatus(stub_->UpdateApplication(ctx.get(), req, &resp));
  }

  std::unique_ptr<f50::Front50Service::Stub> stub_;
};

}  // namespace

std::unique_ptr<Front50> NewFront50Grpc(
    std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<Front50Grpc>(std::move(channel));
}

}  // namespace gennaker::orca
