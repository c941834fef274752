#include "services/gate/gate_grpc.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/fiat/authorizer.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/names.h"
#include "common/status/grpc_status.h"
#include "services/gate/gate_authz.h"
#include "services/gate/gate_executions.h"

namespace gennaker::gate {
namespace {

namespace fv1 = fiat::v1;

std::string CurrentUser() {
  return spinnaker::UserOrAnonymous(CurrentCallContext().user);
}

// Spinnaker's application name rule, checked before any call.
grpc::Status CheckApplicationName(const std::string& name) {
  if (spinnaker::ValidApplicationName(name)) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "invalid application name");
}

// `authorization` on application `name` for the current caller.
grpc::Status CheckApplication(const Backends& backends, const std::string& name,
                              fv1::Authorization authorization) {
  return ToGrpcStatus(backends.authorizer->Check(
      CurrentUser(), fv1::RESOURCE_TYPE_APPLICATION, name, authorization));
}

}  // namespace

http::Request RequestFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const std::string& peer) {
  http::Request request;
  request.method = "GET";
  for (const char* name : {"authorization", "cookie", "x-spinnaker-user"}) {
    auto it = metadata.find(name);
    if (it != metadata.end()) {
      request.headers[name] = std::string(it->second.data(), it->second.size());
    }
  }
  // "ipv4:1.2.3.4:5", "ipv6:[::1]:5" (or "ipv6:%5B::1%5D:5"); anything else (a
  // unix socket) has no address.
  absl::string_view address = peer;
  if (absl::ConsumePrefix(&address, "ipv4:")) {
    address = address.substr(0, address.rfind(':'));
  } else if (absl::ConsumePrefix(&address, "ipv6:")) {
    if (absl::ConsumePrefix(&address, "[")) {
      address = address.substr(0, address.find(']'));
    } else if (absl::ConsumePrefix(&address, "%5B") ||
               absl::ConsumePrefix(&address, "%5b")) {
      // Newer gRPC percent-encodes the brackets.
      address =
          address.substr(0, std::min(address.find("%5D"), address.find("%5d")));
    } else {
      address = address.substr(0, address.rfind(':'));
    }
  } else {
    address = "";
  }
  request.remote_address = std::string(address);
  return request;
}

GateGrpcService::GateGrpcService(std::string version,
                                 std::shared_ptr<const Backends> backends,
                                 std::shared_ptr<Authenticator> authenticator)
    : version_(std::move(version)),
      backends_(std::move(backends)),
      authenticator_(std::move(authenticator)) {}

absl::StatusOr<Identity> GateGrpcService::Authenticate(
    const grpc::ServerContext& ctx) {
  if (!secured()) {
    // Without authentication the user a client names is trusted only while
    // nothing is enforced; with authorization on it is anonymous.
    Identity identity;
    identity.username = backends_->authorizer->enabled()
                            ? std::string(spinnaker::kAnonymousUser)
                            : CurrentUser();
    return identity;
  }
  http::Request request =
      RequestFromMetadata(ctx.client_metadata(), ctx.peer());
  absl::StatusOr<AuthResult> result = authenticator_->Authenticate(request);
  if (!result.ok()) return result.status();
  if (!result->identity.authenticated()) {
    return absl::UnauthenticatedError(
        "authentication required: send basic credentials or a session "
        "cookie");
  }
  return std::move(result->identity);
}

absl::StatusOr<Identity> GateGrpcService::Enter(
    const grpc::ServerContext& ctx, std::optional<ScopedCallContext>* scope) {
  absl::StatusOr<Identity> identity = Authenticate(ctx);
  if (!identity.ok()) return identity;
  if (!secured() && !backends_->authorizer->enabled()) return identity;
  // What backends see: the identity and the accounts it may WRITE
  // (Spinnaker's X-SPINNAKER-ACCOUNTS), never what the client sent.
  CallContext context = CurrentCallContext();
  context.user = identity->username;
  context.accounts =
      absl::StrJoin(AllowedAccounts(*backends_->authorizer, context.user), ",");
  scope->emplace(std::move(context));
  return identity;
}

grpc::Status GateGrpcService::ListApplications(
    grpc::ServerContext* ctx, const v1::ListApplicationsRequest*,
    v1::ListApplicationsResponse* response) {
  std::optional<ScopedCallContext> scope;
  absl::StatusOr<Identity> identity = Enter(*ctx, &scope);
  if (!identity.ok()) return ToGrpcStatus(identity.status());
  const Front50& front50 = backends_->front50;
  front50::v1::ListApplicationsResponse apps;
  grpc::Status s =
      front50.stub->ListApplications(front50.Context().get(), {}, &apps);
  if (!s.ok()) return s;
  // Only what the caller may READ.
  absl::StatusOr<std::shared_ptr<const fv1::UserPermission>> caller =
      CallerPermission(*backends_);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  for (auto& a : *apps.mutable_applications()) {
    if (!fiat::Allows(**caller, fv1::RESOURCE_TYPE_APPLICATION, a.name(),
                      fv1::AUTHORIZATION_READ)) {
      continue;
    }
    *response->add_applications()->mutable_application() = std::move(a);
  }
  return grpc::Status::OK;
}

grpc::Status GateGrpcService::GetApplication(
    grpc::ServerContext* ctx, const v1::GetApplicationRequest* request,
    v1::GetApplicationResponse* response) {
  std::optional<ScopedCallContext> scope;
  absl::StatusOr<Identity> identity = Enter(*ctx, &scope);
  if (!identity.ok()) return ToGrpcStatus(identity.status());
  grpc::Status valid = CheckApplicationName(request->name());
  if (!valid.ok()) return valid;
  grpc::Status allowed =
      CheckApplication(*backends_, request->name(), fv1::AUTHORIZATION_READ);
  if (!allowed.ok()) return allowed;
  const Front50& front50 = backends_->front50;
  front50::v1::GetApplicationRequest req;
  req.set_name(request->name());
  front50::v1::GetApplicationResponse app;
  grpc::Status s =
      front50.stub->GetApplication(front50.Context().get(), req, &app);
  if (!s.ok()) return s;
  *response->mutable_application()->mutable_application() =
      std::move(*app.mutable_application());
  return grpc::Status::OK;
}

grpc::Status GateGrpcService::TriggerPipeline(
    grpc::ServerContext* ctx, const v1::TriggerPipelineRequest* request,
    v1::TriggerPipelineResponse* response) {
  std::optional<ScopedCallContext> scope;
  absl::StatusOr<Identity> identity = Enter(*ctx, &scope);
  if (!identity.ok()) return ToGrpcStatus(identity.status());
  if (request->application().empty() ||
      request->pipeline_name_or_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "application and pipeline_name_or_id are required");
  }
  grpc::Status valid = CheckApplicationName(request->application());
  if (!valid.ok()) return valid;
  grpc::Status allowed = CheckApplication(*backends_, request->application(),
                                          fv1::AUTHORIZATION_EXECUTE);
  if (!allowed.ok()) return allowed;
  auto trigger = PrepareTrigger(request->trigger().json(), CurrentUser());
  if (!trigger.ok()) return ToGrpcStatus(trigger.status());
  orca::v1::StartPipelineRequest req;
  req.set_application(request->application());
  req.mutable_trigger()->set_json(spinnaker::Dump(*trigger));
  *req.mutable_parameters() = request->parameters();
  req.set_idempotency_key(request->idempotency_key());
  req.set_origin("api");
  orca::v1::StartPipelineResponse started;
  const Orca& orca = backends_->orca;
  grpc::Status s = StartStoredPipeline(
      *orca.stub, orca.deadline, request->pipeline_name_or_id(), req, &started);
  if (!s.ok()) return s;
  response->set_ref("/pipelines/" + started.execution().id());
  *response->mutable_execution() = std::move(*started.mutable_execution());
  response->set_status(started.status());
  return grpc::Status::OK;
}

grpc::Status GateGrpcService::GetExecution(
    grpc::ServerContext* ctx, const v1::GetExecutionRequest* request,
    v1::GetExecutionResponse* response) {
  std::optional<ScopedCallContext> scope;
  absl::StatusOr<Identity> identity = Enter(*ctx, &scope);
  if (!identity.ok()) return ToGrpcStatus(identity.status());
  const Orca& orca = backends_->orca;
  orca::v1::GetExecutionRequest req;
  req.set_id(request->id());
  req.set_view(request->view());
  orca::v1::GetExecutionResponse found;
  grpc::Status s = orca.stub->GetExecution(orca.Context().get(), req, &found);
  if (!s.ok()) return s;
  grpc::Status allowed = CheckApplication(
      *backends_, found.execution().application(), fv1::AUTHORIZATION_READ);
  if (!allowed.ok()) return allowed;
  *response->mutable_execution() = std::move(*found.mutable_execution());
  return grpc::Status::OK;
}

grpc::Status GateGrpcService::GetVersion(grpc::ServerContext*,
                                         const v1::GetVersionRequest*,
                                         v1::GetVersionResponse* response) {
  // Open, like REST GET /version.
  response->set_version(version_);
  return grpc::Status::OK;
}

grpc::Status GateGrpcService::GetCurrentUser(
    grpc::ServerContext* ctx, const v1::GetCurrentUserRequest*,
    v1::GetCurrentUserResponse* response) {
  std::optional<ScopedCallContext> scope;
  absl::StatusOr<Identity> identity = Enter(*ctx, &scope);
  if (!identity.ok()) return ToGrpcStatus(identity.status());
  response->set_username(identity->username);
  response->set_email(identity->email);
  response->set_first_name(identity->first_name);
  response->set_last_name(identity->last_name);
  fiat::Authorizer& authorizer = *backends_->authorizer;
  if (authorizer.enabled()) {
    absl::StatusOr<std::shared_ptr<const fv1::UserPermission>> permission =
        authorizer.Permission(identity->username);
    if (!permission.ok()) return ToGrpcStatus(permission.status());
    response->set_admin((*permission)->admin());
    // fiat's roles (login roles included once pushed).
    for (const fv1::RoleView& role : (*permission)->roles()) {
      response->add_roles(role.name());
    }
  }
  if (response->roles().empty()) {
    for (const std::string& role : identity->roles) response->add_roles(role);
  }
  for (std::string& account : AllowedAccounts(authorizer, identity->username)) {
    response->add_allowed_accounts(std::move(account));
  }
  return grpc::Status::OK;
}

}  // namespace gennaker::gate
