#include "services/rosco/rosco_grpc.h"

#include "common/log/call_context.h"
#include "common/status/grpc_status.h"
#include "services/rosco/rosco_core.h"

namespace gennaker::rosco {
namespace {

using grpc::ServerContext;
using grpc::Status;

bool ValidProvider(int t) { return v1::CloudProviderType_IsValid(t); }

Status BadEnum(const char* field) {
  return ToGrpcStatus(absl::InvalidArgumentError(std::string(field) +
                                                 " holds an unknown value"));
}

class RoscoGrpcService final : public v1::RoscoService::Service {
 public:
  explicit RoscoGrpcService(RoscoCore* core) : core_(core) {}

  Status CreateBake(ServerContext*, const v1::CreateBakeRequest* req,
                    v1::CreateBakeResponse* resp) override {
    const v1::BakeRequest& br = req->bake_request();
    if (!ValidProvider(br.cloud_provider_type())) {
      return BadEnum("bake_request.cloud_provider_type");
    }
    if (!v1::PackageType_IsValid(br.package_type())) {
      return BadEnum("bake_request.package_type");
    }
    auto r = core_->CreateBake(*req, CurrentCallContext().user);
    if (r.ok()) *resp = *std::move(r);
    return ToGrpcStatus(r.status());
  }

  Status GetBakeStatus(ServerContext*, const v1::GetBakeStatusRequest* req,
                       v1::GetBakeStatusResponse* resp) override {
    auto r = core_->GetBakeStatus(req->status_id());
    if (r.ok()) *resp->mutable_status() = *std::move(r);
    return ToGrpcStatus(r.status());
  }

  Status GetBake(ServerContext*, const v1::GetBakeRequest* req,
                 v1::GetBakeResponse* resp) override {
    auto r = core_->GetBake(req->bake_id());
    if (r.ok()) *resp->mutable_bake() = *std::move(r);
    return ToGrpcStatus(r.status());
  }

  Status CancelBake(ServerContext*, const v1::CancelBakeRequest* req,
                    v1::CancelBakeResponse* resp) override {
    auto r = core_->CancelBake(req->status_id());
    if (r.ok()) *resp = *std::move(r);
    return ToGrpcStatus(r.status());
  }

  Status GetBakeLogs(ServerContext*, const v1::GetBakeLogsRequest* req,
                     v1::GetBakeLogsResponse* resp) override {
    auto r = core_->GetBakeLogs(*req);
    if (r.ok()) *resp = *std::move(r);
    return ToGrpcStatus(r.status());
  }

  Status ListBakeOptions(ServerContext*, const v1::ListBakeOptionsRequest*,
                         v1::ListBakeOptionsResponse* resp) override {
    *resp = core_->ListBakeOptions();
    return Status::OK;
  }

  Status GetBakeOptions(ServerContext*, const v1::GetBakeOptionsRequest* req,
                        v1::GetBakeOptionsResponse* resp) override {
    if (!ValidProvider(req->cloud_provider_type())) {
      return BadEnum("cloud_provider_type");
    }
    auto r = core_->GetBakeOptions(req->cloud_provider_type());
    if (r.ok()) *resp->mutable_options() = *std::move(r);
    return ToGrpcStatus(r.status());
  }

  Status GetBaseImage(ServerContext*, const v1::GetBaseImageRequest* req,
                      v1::GetBaseImageResponse* resp) override {
    if (!ValidProvider(req->cloud_provider_type())) {
      return BadEnum("cloud_provider_type");
    }
    auto r =
        core_->GetBaseImage(req->cloud_provider_type(), req->base_image_id());
    if (r.ok()) *resp->mutable_base_image() = *std::move(r);
    return ToGrpcStatus(r.status());
  }

  Status BakeManifest(ServerContext*, const v1::BakeManifestRequest*,
                      v1::BakeManifestResponse*) override {
    return ToGrpcStatus(absl::UnimplementedError(
        "rosco BakeManifest (Helm/Kustomize manifest bakes) is not built"));
  }

 private:
  RoscoCore* core_;
};

}  // namespace

std::unique_ptr<v1::RoscoService::Service> NewRoscoGrpcService(
    RoscoCore* core) {
  return std::make_unique<RoscoGrpcService>(core);
}

}  // namespace gennaker::rosco
