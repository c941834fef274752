#include "services/fiat/fiat_grpc.h"

#include <set>
#include <string>
#include <vector>

#include "common/status/grpc_status.h"
#include "services/fiat/fiat_core.h"

namespace gennaker::fiat {
namespace {

using grpc::ServerContext;
using grpc::Status;

template <typename T>
Status Done(const absl::StatusOr<T>& result) {
  return ToGrpcStatus(result.status());
}

class FiatGrpcService final : public v1::FiatService::Service {
 public:
  explicit FiatGrpcService(FiatCore* core) : core_(core) {}

  Status Authorize(ServerContext*, const v1::AuthorizeRequest* req,
                   v1::AuthorizeResponse* resp) override {
    auto r = core_->Authorize(req->user(), req->resource_type(),
                              req->resource_name(), req->authorization());
    if (r.ok()) *resp = *std::move(r);
    return Done(r);
  }

  Status AuthorizeCreate(ServerContext*, const v1::AuthorizeCreateRequest* req,
                         v1::AuthorizeCreateResponse* resp) override {
    auto r =
        core_->AuthorizeCreate(req->user(), req->resource_type(),
                               req->resource_name(), req->resource().json());
    if (r.ok()) *resp = *std::move(r);
    return Done(r);
  }

  Status GetUserPermission(ServerContext*,
                           const v1::GetUserPermissionRequest* req,
                           v1::GetUserPermissionResponse* resp) override {
    std::set<v1::ResourceType> types;
    for (int t : req->resource_types()) {
      if (!v1::ResourceType_IsValid(t) || t == v1::RESOURCE_TYPE_UNSPECIFIED) {
        return ToGrpcStatus(absl::InvalidArgumentError(
            "resource_types holds an unknown value"));
      }
      types.insert(static_cast<v1::ResourceType>(t));
    }
    auto r = core_->GetUserPermission(req->user(),
                                      req->expand_service_accounts(), types);
    if (r.ok()) *resp->mutable_permission() = *std::move(r);
    return Done(r);
  }

  Status ListUserPermissions(ServerContext*,
                             const v1::ListUserPermissionsRequest* req,
                             v1::ListUserPermissionsResponse* resp) override {
    if (req->page().page_size() < 0) {
      return ToGrpcStatus(
          absl::InvalidArgumentError("page_size must not be negative"));
    }
    auto r = core_->ListUserPermissions(req->page().page_size(),
                                        req->page().page_token());
    if (r.ok()) *resp = *std::move(r);
    return Done(r);
  }

  Status ListUserRoles(ServerContext*, const v1::ListUserRolesRequest* req,
                       v1::ListUserRolesResponse* resp) override {
    auto r = core_->ListUserRoles(req->user());
    if (r.ok()) {
      for (v1::RoleView& role : *r) *resp->add_roles() = std::move(role);
    }
    return Done(r);
  }

  Status LoginUser(ServerContext*, const v1::LoginUserRequest* req,
                   v1::LoginUserResponse* resp) override {
    auto r = core_->LoginUser(
        req->user(), std::vector<std::string>(req->external_roles().begin(),
                                              req->external_roles().end()));
    if (r.ok()) *resp->mutable_permission() = *std::move(r);
    return Done(r);
  }

  Status LogoutUser(ServerContext*, const v1::LogoutUserRequest* req,
                    v1::LogoutUserResponse* resp) override {
    auto r = core_->LogoutUser(req->user());
    if (r.ok()) resp->set_removed(*r);
    return Done(r);
  }

  Status SyncRoles(ServerContext*, const v1::SyncRolesRequest* req,
                   v1::SyncRolesResponse* resp) override {
    auto r = core_->SyncRoles(
        std::vector<std::string>(req->roles().begin(), req->roles().end()));
    if (r.ok()) resp->set_synced_count(*r);
    return Done(r);
  }

  Status SyncServiceAccount(ServerContext*,
                            const v1::SyncServiceAccountRequest* req,
                            v1::SyncServiceAccountResponse* resp) override {
    auto r = core_->SyncServiceAccount(
        req->service_account(),
        std::vector<std::string>(req->member_of().begin(),
                                 req->member_of().end()));
    if (r.ok()) resp->set_synced_count(*r);
    return Done(r);
  }

 private:
  FiatCore* const core_;
};

}  // namespace

std::unique_ptr<v1::FiatService::Service> NewFiatGrpcService(FiatCore* core) {
  return std::make_unique<FiatGrpcService>(core);
}

}  // namespace gennaker::fiat
