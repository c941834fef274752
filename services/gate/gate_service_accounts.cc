#include "services/gate/gate_service_accounts.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/fiat/authorizer.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/names.h"
#include "services/gate/gate_authz.h"
#include "services/gate/request.h"

namespace gennaker::gate {
namespace {

namespace f50 = front50::v1;
namespace fv1 = fiat::v1;

constexpr size_t kMaxNameLength = 255;

std::string Caller() {
  return spinnaker::UserOrAnonymous(CurrentCallContext().user);
}

// Every service account front50 stores.
absl::StatusOr<std::vector<f50::ServiceAccount>> ListStored(const Backends& b) {
  f50::ListServiceAccountsRequest req;
  f50::ListServiceAccountsResponse resp;
  grpc::Status s = b.front50.stub->ListServiceAccounts(
      b.front50.Context().get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  std::vector<f50::ServiceAccount> out(resp.service_accounts().begin(),
                                       resp.service_accounts().end());
  std::sort(out.begin(), out.end(),
            [](const f50::ServiceAccount& x, const f50::ServiceAccount& y) {
              return x.name() < y.name();
            });
  return out;
}

Json AccountJson(const std::string& name,
                 const google::protobuf::RepeatedPtrField<std::string>& roles) {
  Json member_of = Json::array();
  for (const std::string& r : roles) member_of.push_back(r);
  return Json{{"name", name}, {"memberOf", std::move(member_of)}};
}

Response UsableAccounts(const Backends& b, const Request& r) {
  const std::string application = r.Query("application");
  if (!application.empty() && !spinnaker::ValidApplicationName(application)) {
    return http::Error(400, "invalid application name", r.path);
  }
  std::set<std::string> names;
  fiat::Authorizer& authorizer = *b.authorizer;
  if (!authorizer.enabled()) {
    absl::StatusOr<std::vector<f50::ServiceAccount>> stored = ListStored(b);
    if (!stored.ok()) return ErrorResponse(stored.status(), r);
    for (const f50::ServiceAccount& a : *stored) names.insert(a.name());
  } else {
    absl::StatusOr<std::shared_ptr<const fv1::UserPermission>> permission =
        CallerPermission(b);
    if (!permission.ok()) return ErrorResponse(permission.status(), r);
    for (const fv1::ServiceAccountView& a : (*permission)->service_accounts()) {
      if (a.name().empty()) continue;
      if (!application.empty()) {
        // The account's own set decides, as when a trigger runs as it.
        absl::Status execute =
            authorizer.Check(a.name(), fv1::RESOURCE_TYPE_APPLICATION,
                             application, fv1::AUTHORIZATION_EXECUTE);
        if (absl::IsPermissionDenied(execute)) continue;
        if (!execute.ok()) return ErrorResponse(execute, r);
      }
      names.insert(a.name());
    }
  }
  Json out = Json::array();
  for (const std::string& n : names) out.push_back(n);
  return http::Json(200, spinnaker::Dump(out));
}

Response ListAccounts(const Backends& b, const Request& r) {
  absl::StatusOr<std::vector<f50::ServiceAccount>> stored = ListStored(b);
  if (!stored.ok()) return ErrorResponse(stored.status(), r);
  Json out = Json::array();
  for (const f50::ServiceAccount& a : *stored) {
    out.push_back(AccountJson(a.name(), a.member_of()));
  }
  return http::Json(200, spinnaker::Dump(out));
}

// Adds "fiatSyncError" to `answer` when `s` failed; the change stands.
void ReportSync(const grpc::Status& s, absl::string_view what, Json* answer) {
  if (s.ok()) return;
  SPDLOG_WARN("event=gate_service_account_sync_failed what={} code={} error={}",
              what, static_cast<int>(s.error_code()), s.error_message());
  (*answer)["fiatSyncError"] = absl::StrCat(
      "fiat could not re-resolve permissions: ", s.error_message());
}

Response SaveAccount(const Backends& b, const Request& r) {
  absl::StatusOr<Json> body =
      ParseJsonObjectBody(r.body, "request body", /*empty_is_object=*/false);
  if (!body.ok()) return ErrorResponse(body.status(), r);
  absl::StatusOr<ServiceAccountInput> input = ParseServiceAccount(*body);
  if (!input.ok()) return ErrorResponse(input.status(), r);

  f50::SaveServiceAccountRequest req;
  f50::ServiceAccount* account = req.mutable_service_account();
  account->set_name(input->name);
  Json stored_body{{"name", input->name}, {"memberOf", input->member_of}};
  for (const std::string& role : input->member_of) account->add_member_of(role);
  account->mutable_body()->set_json(spinnaker::Dump(stored_body));
  f50::SaveServiceAccountResponse saved;
  grpc::Status s = b.front50.stub->SaveServiceAccount(b.front50.Context().get(),
                                                      req, &saved);
  if (!s.ok()) return ErrorResponse(s, r);
  const f50::ServiceAccount& result = saved.service_account();
  const std::string& name = result.name().empty() ? input->name : result.name();
  Json answer = AccountJson(name, result.member_of());
  SPDLOG_INFO("event=gate_service_account_saved name={} member_of={} by={}",
              name, result.member_of_size(), Caller());

  if (b.fiat.stub != nullptr) {
    fv1::SyncServiceAccountRequest sync;
    sync.set_service_account(name);
    for (const std::string& role : result.member_of()) sync.add_member_of(role);
    fv1::SyncServiceAccountResponse synced;
    ReportSync(
        b.fiat.stub->SyncServiceAccount(b.fiat.Context().get(), sync, &synced),
        name, &answer);
  }
  b.authorizer->Invalidate(Caller());
  return http::Json(200, spinnaker::Dump(answer));
}

Response DeleteAccount(const Backends& b, const Request& r) {
  const std::string& name = r.params.at("name");
  f50::DeleteObjectRequest req;
  req.set_type(f50::OBJECT_TYPE_SERVICE_ACCOUNT);
  req.set_key(name);
  f50::DeleteObjectResponse resp;
  grpc::Status s =
      b.front50.stub->DeleteObject(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  SPDLOG_INFO("event=gate_service_account_deleted name={} deleted={} by={}",
              name, resp.deleted(), Caller());
  Json answer{{"name", name}, {"deleted", resp.deleted()}};
  if (b.fiat.stub != nullptr) {
    // Who held the account is not known here: every set is re-resolved.
    fv1::SyncRolesRequest sync;
    fv1::SyncRolesResponse synced;
    ReportSync(b.fiat.stub->SyncRoles(b.fiat.Context().get(), sync, &synced),
               name, &answer);
  }
  b.authorizer->Invalidate(Caller());
  return http::Json(200, spinnaker::Dump(answer));
}

}  // namespace

absl::StatusOr<ServiceAccountInput> ParseServiceAccount(const Json& body) {
  ServiceAccountInput out;
  auto name = body.find("name");
  if (name == body.end() || !name->is_string()) {
    return absl::InvalidArgumentError(
        "service account 'name' is required (a string)");
  }
  out.name = name->get<std::string>();
  if (out.name.empty() || out.name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "service account 'name' must be 1 to ", kMaxNameLength, " characters"));
  }
  for (unsigned char c : out.name) {
    // Printable ASCII without the space.
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(
          "service account 'name' must be printable ASCII without white "
          "space");
    }
  }
  auto roles = body.find("memberOf");
  if (roles == body.end() || roles->is_null()) return out;
  if (!roles->is_array()) {
    return absl::InvalidArgumentError(
        "service account 'memberOf' must be a list of role names");
  }
  std::set<std::string> seen;
  for (const Json& role : *roles) {
    if (!role.is_string()) {
      return absl::InvalidArgumentError(
          "every 'memberOf' entry must be a role name (a string)");
    }
    std::string lower = absl::AsciiStrToLower(
        absl::StripAsciiWhitespace(role.get<std::string>()));
    if (lower.empty()) {
      return absl::InvalidArgumentError("'memberOf' entries must not be empty");
    }
    if (seen.insert(lower).second) out.member_of.push_back(std::move(lower));
  }
  return out;
}

void AddServiceAccountRoutes(std::shared_ptr<const Backends> backends,
                             const AddRoute& add) {
  RouteAdder<Backends> route(add, std::move(backends));
  route("GET", "/auth/user/serviceAccounts", UsableAccounts);
  route("GET", "/serviceAccounts", ListAccounts);
  route("POST", "/serviceAccounts", SaveAccount);
  route("DELETE", "/serviceAccounts/{name}", DeleteAccount);
}

}  // namespace gennaker::gate
