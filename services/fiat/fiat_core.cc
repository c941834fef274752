#include "services/fiat/fiat_core.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/fiat/authorizer.h"
#include "common/log/log.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"

namespace gennaker::fiat {
namespace {

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CoreOptions WithClock(CoreOptions options) {
  if (!options.now_ms) options.now_ms = WallClockMs;
  return options;
}

bool ApplicationListed(const v1::UserPermission& p, absl::string_view name) {
  for (const v1::ResourceView& v : p.applications()) {
    if (absl::EqualsIgnoreCase(v.name(), name)) return true;
  }
  return false;
}

std::vector<std::string> Normalized(const std::vector<std::string>& roles) {
  std::set<std::string> set = NormalizeRoles(roles);
  return std::vector<std::string>(set.begin(), set.end());
}

std::vector<v1::RoleView> RolesOf(const v1::UserPermission& p) {
  return std::vector<v1::RoleView>(p.roles().begin(), p.roles().end());
}

// The stored roles a role provider granted (not pushed, not memberOf).
std::vector<v1::RoleView> ProviderRolesOf(const v1::UserPermission& p) {
  std::vector<v1::RoleView> out;
  for (const v1::RoleView& r : p.roles()) {
    if (r.source() != v1::ROLE_SOURCE_EXTERNAL) out.push_back(r);
  }
  return out;
}

}  // namespace

v1::ResourceType ParseResourceType(absl::string_view text) {
  std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (size_t colon = t.rfind(':'); colon != std::string::npos) {
    t = t.substr(colon + 1);
  }
  if (!t.empty() && t.back() == 's') t.pop_back();
  if (t == "application") return v1::RESOURCE_TYPE_APPLICATION;
  if (t == "account") return v1::RESOURCE_TYPE_ACCOUNT;
  if (t == "service_account" || t == "serviceaccount") {
    return v1::RESOURCE_TYPE_SERVICE_ACCOUNT;
  }
  if (t == "role") return v1::RESOURCE_TYPE_ROLE;
  if (t == "build_service" || t == "buildservice") {
    return v1::RESOURCE_TYPE_BUILD_SERVICE;
  }
  return v1::RESOURCE_TYPE_UNSPECIFIED;
}

v1::Authorization ParseAuthorization(absl::string_view text) {
  std::string t = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  if (t == "READ") return v1::AUTHORIZATION_READ;
  if (t == "WRITE") return v1::AUTHORIZATION_WRITE;
  if (t == "EXECUTE") return v1::AUTHORIZATION_EXECUTE;
  if (t == "CREATE") return v1::AUTHORIZATION_CREATE;
  return v1::AUTHORIZATION_UNSPECIFIED;
}

FiatCore::FiatCore(UserRolesProvider* provider, ResourceCache* resources,
                   PermissionsRepository* repository, CoreOptions options)
    : provider_(provider),
      resources_(resources),
      repository_(repository),
      options_(WithClock(std::move(options))) {}

absl::StatusOr<std::string> FiatCore::UserId(const std::string& user) const {
  std::string id = NormalizeUserId(user);
  if (id.empty()) return absl::InvalidArgumentError("user is required");
  return id;
}

ResolveOptions FiatCore::ResolveOptionsFor(const Snapshot& snapshot) const {
  ResolveOptions o = options_.resolve;
  // Missing applications (front50 down since the start) would all pass as
  // "unknown": fail closed until every part has loaded.
  if (!snapshot.complete) o.allow_access_to_unknown_applications = false;
  return o;
}

absl::StatusOr<v1::UserPermission> FiatCore::ResolveAndStore(
    const std::string& id, const std::vector<std::string>& external,
    bool service_account, bool only_if_stored) {
  std::vector<v1::RoleView> provider_roles;
  if (id != kUnrestrictedUser) {
    absl::StatusOr<std::vector<v1::RoleView>> roles = provider_->Roles(id);
    if (!roles.ok() && service_account) {
      // Its memberOf still holds: a directory outage must not stop pipelines.
      SPDLOG_WARN(
          "event=fiat_roles_failed user={} effect=member_of_only "
          "error=\"{}\"",
          id, roles.status().message());
      roles = std::vector<v1::RoleView>{};
    }
    if (!roles.ok()) {
      return absl::Status(
          roles.status().code(),
          absl::StrCat("roles of '", id, "': ", roles.status().message()));
    }
    provider_roles = *std::move(roles);
  }
  // The unrestricted user is everyone's baseline: never pushed roles.
  std::vector<std::string> ext;
  if (id != kUnrestrictedUser) ext = Normalized(external);
  // Only what the provider did not grant is remembered as external: a role
  // the provider drops later is then revoked at the next sync.
  std::set<std::string> granted;
  for (const v1::RoleView& r : provider_roles) {
    granted.insert(NormalizeRole(r.name()));
  }
  StoredUser user;
  user.service_account = service_account;
  for (const std::string& r : ext) {
    if (granted.count(r) == 0) user.external_roles.push_back(r);
  }
  std::shared_ptr<const Snapshot> snapshot = resources_->Get();
  user.permission = Resolve(id, MergeRoles(provider_roles, ext), *snapshot,
                            ResolveOptionsFor(*snapshot), options_.now_ms());
  GENNAKER_ASSIGN_OR_RETURN(bool written,
                            repository_->Store(user, only_if_stored));
  if (!written) {
    return absl::NotFoundError(
        absl::StrCat("user '", id, "' was logged out meanwhile"));
  }
  return std::move(user.permission);
}

absl::StatusOr<v1::UserPermission> FiatCore::Resync(const std::string& id,
                                                    const StoredUser& stored,
                                                    const Snapshot& snapshot) {
  if (stored.service_account) {
    if (const ServiceAccount* sa = snapshot.FindServiceAccount(id)) {
      return ResolveAndStore(id, sa->member_of, true, true);
    }
    if (snapshot.complete) {
      // Deleted from front50: nobody may run as it any more.
      (void)repository_->Delete(id);
      SPDLOG_INFO("event=fiat_service_account_dropped user={}", id);
      return absl::NotFoundError(
          absl::StrCat("service account '", id, "' no longer exists"));
    }
  }
  return ResolveAndStore(id, stored.external_roles, stored.service_account,
                         true);
}

absl::StatusOr<v1::UserPermission> FiatCore::Lookup(const std::string& id) {
  GENNAKER_ASSIGN_OR_RETURN(std::optional<StoredUser> stored,
                            repository_->Get(id));
  std::shared_ptr<const Snapshot> snapshot = resources_->Get();
  if (!stored.has_value()) {
    GENNAKER_ASSIGN_OR_RETURN(bool empty, repository_->IsEmpty());
    if (empty) {
      return absl::UnavailableError(
          "fiat holds no permissions yet (store empty); try again shortly");
    }
    if (const ServiceAccount* sa = snapshot->FindServiceAccount(id)) {
      SPDLOG_INFO("event=fiat_service_account_resolved user={}", id);
      return ResolveAndStore(id, sa->member_of, true);
    }
    return absl::NotFoundError(
        absl::StrCat("user '", id, "' is not known to fiat"));
  }
  // Reads never write back: a logout or login racing with this read must
  // not be undone. The fresh set is recomputed until the next login/sync.
  if (snapshot->complete) {
    if (const ServiceAccount* sa = snapshot->FindServiceAccount(id)) {
      // Its current memberOf, not the one stored at its last sync.
      return Resolve(
          id, MergeRoles(ProviderRolesOf(stored->permission), sa->member_of),
          *snapshot, ResolveOptionsFor(*snapshot), options_.now_ms());
    }
    if (stored->service_account) {
      return absl::NotFoundError(
          absl::StrCat("service account '", id, "' no longer exists"));
    }
    if (stored->permission.resolved_at_ms() <= snapshot->changed_at_ms) {
      // Resources changed since: same roles, fresh resources.
      return Resolve(id, RolesOf(stored->permission), *snapshot,
                     ResolveOptionsFor(*snapshot), options_.now_ms());
    }
  }
  return std::move(stored->permission);
}

absl::StatusOr<v1::UserPermission> FiatCore::LoginUser(
    const std::string& user, const std::vector<std::string>& external_roles) {
  GENNAKER_ASSIGN_OR_RETURN(std::string id, UserId(user));
  if (id == kUnrestrictedUser) {
    // Its set is everyone's baseline: roles pushed for it would reach all.
    return absl::InvalidArgumentError(
        "'anonymous' and the unrestricted user cannot log in");
  }
  GENNAKER_ASSIGN_OR_RETURN(v1::UserPermission p,
                            ResolveAndStore(id, external_roles));
  SPDLOG_INFO("event=fiat_login user={} roles={} admin={}", id, p.roles_size(),
              p.admin());
  return p;
}

absl::StatusOr<bool> FiatCore::LogoutUser(const std::string& user) {
  GENNAKER_ASSIGN_OR_RETURN(std::string id, UserId(user));
  // The unrestricted user is everyone's baseline: never dropped.
  if (id == kUnrestrictedUser) {
    return absl::InvalidArgumentError(
        "'anonymous' and the unrestricted user cannot log out");
  }
  GENNAKER_ASSIGN_OR_RETURN(bool removed, repository_->Delete(id));
  SPDLOG_INFO("event=fiat_logout user={} removed={}", id, removed);
  return removed;
}

absl::StatusOr<v1::UserPermission> FiatCore::GetUserPermission(
    const std::string& user, bool expand,
    const std::set<v1::ResourceType>& types) {
  GENNAKER_ASSIGN_OR_RETURN(std::string id, UserId(user));
  GENNAKER_ASSIGN_OR_RETURN(v1::UserPermission p, Lookup(id));
  if (expand) {
    int expanded = 0;
    for (v1::ServiceAccountView& sa : *p.mutable_service_accounts()) {
      if (expanded++ >= kMaxExpandedServiceAccounts) break;
      absl::StatusOr<v1::UserPermission> own = Lookup(sa.name());
      if (own.ok()) *sa.mutable_expanded() = *std::move(own);
    }
  }
  if (!types.empty()) {
    auto keep = [&types](v1::ResourceType t) { return types.count(t) > 0; };
    if (!keep(v1::RESOURCE_TYPE_APPLICATION)) p.clear_applications();
    if (!keep(v1::RESOURCE_TYPE_ACCOUNT)) p.clear_accounts();
    if (!keep(v1::RESOURCE_TYPE_SERVICE_ACCOUNT)) p.clear_service_accounts();
    if (!keep(v1::RESOURCE_TYPE_ROLE)) p.clear_roles();
    if (!keep(v1::RESOURCE_TYPE_BUILD_SERVICE)) p.clear_build_services();
  }
  return p;
}

absl::StatusOr<v1::AuthorizeResponse> FiatCore::Authorize(
    const std::string& user, v1::ResourceType type, const std::string& name,
    v1::Authorization authorization) {
  GENNAKER_ASSIGN_OR_RETURN(std::string id, UserId(user));
  if (!v1::ResourceType_IsValid(type) ||
      type == v1::RESOURCE_TYPE_UNSPECIFIED) {
    return absl::InvalidArgumentError("resource_type is required");
  }
  if (!v1::Authorization_IsValid(authorization)) {
    return absl::InvalidArgumentError("authorization is not a known value");
  }
  if (name.empty()) {
    return absl::InvalidArgumentError("resource_name is required");
  }
  const bool membership = type == v1::RESOURCE_TYPE_SERVICE_ACCOUNT ||
                          type == v1::RESOURCE_TYPE_ROLE;
  if (!membership) {
    if (authorization == v1::AUTHORIZATION_CREATE) {
      return absl::InvalidArgumentError(
          "CREATE is decided by AuthorizeCreate, not Authorize");
    }
    if (authorization == v1::AUTHORIZATION_UNSPECIFIED) {
      return absl::InvalidArgumentError("authorization is required");
    }
  }
  v1::AuthorizeResponse out;
  absl::StatusOr<v1::UserPermission> p = Lookup(id);
  if (absl::IsNotFound(p.status())) {
    out.set_allowed(false);
    out.set_reason(v1::DECISION_REASON_USER_UNKNOWN);
    return out;
  }
  if (!p.ok()) return p.status();
  if (type == v1::RESOURCE_TYPE_APPLICATION && !p->admin() &&
      !resources_->Get()->HasApplication(name)) {
    // Perhaps created a moment ago: look again, at most once a second.
    (void)resources_->RefreshOnDemand(kUnknownApplicationRefreshMs);
    if (resources_->Get()->HasApplication(name)) {
      GENNAKER_ASSIGN_OR_RETURN(*p, Lookup(id));
    }
  }
  const bool allowed = Allows(*p, type, name, authorization);
  out.set_allowed(allowed);
  if (!allowed) {
    out.set_reason(v1::DECISION_REASON_NOT_GRANTED);
  } else if (p->admin()) {
    out.set_reason(v1::DECISION_REASON_ADMIN);
  } else if (type == v1::RESOURCE_TYPE_SERVICE_ACCOUNT) {
    out.set_reason(v1::DECISION_REASON_SERVICE_ACCOUNT_MEMBER);
  } else if (type == v1::RESOURCE_TYPE_APPLICATION &&
             !ApplicationListed(*p, name)) {
    out.set_reason(v1::DECISION_REASON_UNKNOWN_APPLICATION_ALLOWED);
  } else {
    out.set_reason(v1::DECISION_REASON_GRANTED);
  }
  return out;
}

absl::StatusOr<v1::AuthorizeCreateResponse> FiatCore::AuthorizeCreate(
    const std::string& user, v1::ResourceType type, const std::string& name,
    const std::string& resource_json) {
  GENNAKER_ASSIGN_OR_RETURN(std::string id, UserId(user));
  if (type != v1::RESOURCE_TYPE_APPLICATION) {
    return absl::InvalidArgumentError(
        absl::StrCat("only applications can be checked for creation, not '",
                     ResourceTypeName(type), "'"));
  }
  GENNAKER_ASSIGN_OR_RETURN(
      spinnaker::Json resource,
      spinnaker::ParseJsonObject(resource_json, "resource"));
  if (name.empty() && spinnaker::String(resource, "name").empty()) {
    return absl::InvalidArgumentError("resource_name is required");
  }
  v1::AuthorizeCreateResponse out;
  if (!options_.restrict_application_creation) {
    out.set_allowed(true);
    out.set_reason(v1::DECISION_REASON_GRANTED);
    return out;
  }
  absl::StatusOr<v1::UserPermission> p = Lookup(id);
  if (absl::IsNotFound(p.status())) {
    out.set_reason(v1::DECISION_REASON_USER_UNKNOWN);
    return out;
  }
  if (!p.ok()) return p.status();
  if (p->admin()) {
    out.set_allowed(true);
    out.set_reason(v1::DECISION_REASON_ADMIN);
    return out;
  }
  // CREATE must come from a server-side source, never from the caller's own
  // request body (Spinnaker strips it from application permissions). None
  // is configured here, so only admins may create.
  out.set_allowed(false);
  out.set_reason(v1::DECISION_REASON_NOT_GRANTED);
  return out;
}

absl::StatusOr<std::vector<v1::RoleView>> FiatCore::ListUserRoles(
    const std::string& user) {
  GENNAKER_ASSIGN_OR_RETURN(std::string id, UserId(user));
  GENNAKER_ASSIGN_OR_RETURN(v1::UserPermission p, Lookup(id));
  std::vector<v1::RoleView> roles = RolesOf(p);
  std::sort(roles.begin(), roles.end(),
            [](const v1::RoleView& a, const v1::RoleView& b) {
              return a.name() < b.name();
            });
  return roles;
}

absl::StatusOr<v1::ListUserPermissionsResponse> FiatCore::ListUserPermissions(
    int page_size, const std::string& page_token) {
  if (!options_.get_all_enabled) {
    return absl::FailedPreconditionError(
        "listing every user's permissions is disabled (getAllEnabled)");
  }
  size_t offset = 0;
  if (!page_token.empty() && !absl::SimpleAtoi(page_token, &offset)) {
    return absl::InvalidArgumentError("page_token is not valid");
  }
  const size_t size =
      page_size > 0 ? static_cast<size_t>(page_size) : kDefaultListPageSize;
  GENNAKER_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                            repository_->ListUsers());
  v1::ListUserPermissionsResponse out;
  size_t i = offset;
  for (; i < ids.size() && static_cast<size_t>(out.permissions_size()) < size;
       ++i) {
    absl::StatusOr<v1::UserPermission> p = Lookup(ids[i]);
    if (absl::IsNotFound(p.status())) continue;  // expired since listed
    if (!p.ok()) return p.status();
    *out.add_permissions() = *std::move(p);
  }
  if (i < ids.size()) out.mutable_page()->set_next_page_token(absl::StrCat(i));
  out.mutable_page()->set_total_size(static_cast<int64_t>(ids.size()));
  return out;
}

absl::StatusOr<int64_t> FiatCore::SyncRoles(
    const std::vector<std::string>& roles) {
  (void)resources_->Refresh();  // failures logged; last snapshot kept
  const std::vector<std::string> wanted = Normalized(roles);
  std::vector<std::string> ids;
  if (wanted.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(ids, repository_->ListUsers());
  } else {
    GENNAKER_ASSIGN_OR_RETURN(ids, repository_->UsersWithRoles(wanted));
  }
  std::shared_ptr<const Snapshot> snapshot = resources_->Get();
  std::set<std::string> done;
  int64_t count = 0;
  absl::Status last_error;
  auto note = [&](const std::string& id,
                  const absl::StatusOr<v1::UserPermission>& r) {
    done.insert(id);
    if (r.ok()) {
      ++count;
    } else {
      last_error = r.status();
      SPDLOG_WARN("event=fiat_sync_user_failed user={} error=\"{}\"", id,
                  r.status().message());
    }
  };
  for (const ServiceAccount& sa : snapshot->service_accounts) {
    bool match = wanted.empty();
    for (const std::string& r : sa.member_of) {
      match = match || std::binary_search(wanted.begin(), wanted.end(), r);
    }
    if (match) note(sa.name, ResolveAndStore(sa.name, sa.member_of, true));
  }

  note(kUnrestrictedUser, ResolveAndStore(kUnrestrictedUser, {}));
  for (const std::string& id : ids) {
    if (done.count(id) > 0) continue;
    absl::StatusOr<std::optional<StoredUser>> stored = repository_->Get(id);
    if (!stored.ok()) {
      note(id, stored.status());
      continue;
    }
    if (!stored->has_value()) {
      (void)repository_->Delete(id);  // expired: tidy the indexes
      continue;
    }
    // NOT_FOUND: logged out meanwhile, or a service account front50 dropped.
    absl::StatusOr<v1::UserPermission> r = Resync(id, **stored, *snapshot);
    if (absl::IsNotFound(r.status())) continue;
    note(id, r);
  }
  SPDLOG_INFO("event=fiat_sync synced={} roles={}", count, wanted.size());
  if (count == 0) {
    return absl::UnavailableError(absl::StrCat(
        "no user could be synced",
        last_error.ok() ? "" : absl::StrCat(": ", last_error.message())));
  }
  return count;
}

absl::StatusOr<int64_t> FiatCore::SyncServiceAccount(
    const std::string& name, const std::vector<std::string>& member_of) {
  ServiceAccount sa;
  sa.name = NormalizeUserId(name);
  if (sa.name.empty() || sa.name == kUnrestrictedUser) {
    return absl::InvalidArgumentError("service_account is required");
  }
  if (member_of.empty()) {
    (void)resources_->Refresh();
    const ServiceAccount* known =
        resources_->Get()->FindServiceAccount(sa.name);
    if (known == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("service account '", sa.name, "' is not known"));
    }
    sa = *known;
  } else {
    sa.member_of = Normalized(member_of);
    resources_->UpsertServiceAccount(sa);
  }
  GENNAKER_RETURN_IF_ERROR(
      ResolveAndStore(sa.name, sa.member_of, true).status());
  int64_t count = 1;
  if (!sa.member_of.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                              repository_->UsersWithRoles(sa.member_of));
    for (const std::string& id : ids) {
      if (id == sa.name) continue;
      GENNAKER_ASSIGN_OR_RETURN(std::optional<StoredUser> stored,
                                repository_->Get(id));
      if (!stored.has_value()) continue;
      if (Resync(id, *stored, *resources_->Get()).ok()) ++count;
    }
  }
  SPDLOG_INFO("event=fiat_service_account_synced name={} synced={}", sa.name,
              count);
  return count;
}

absl::Status FiatCore::RefreshResources() {
  absl::Status refreshed = resources_->Refresh();
  absl::StatusOr<v1::UserPermission> unrestricted =
      ResolveAndStore(kUnrestrictedUser, {});
  if (!unrestricted.ok()) return unrestricted.status();
  return refreshed;
}

absl::StatusOr<bool> FiatCore::ScheduledSync(const std::string& owner,
                                             int64_t interval_ms) {
  // Resolving everyone against a partial snapshot (an owner down since the
  // start) would store sets missing its resources.
  if (!resources_->Get()->complete) (void)resources_->Refresh();
  if (!resources_->Get()->complete) {
    return absl::UnavailableError(
        "resources not loaded yet; scheduled sync skipped");
  }
  GENNAKER_ASSIGN_OR_RETURN(bool mine,
                            repository_->TryLock("sync", owner, interval_ms));
  if (!mine) return false;
  GENNAKER_RETURN_IF_ERROR(SyncRoles({}).status());
  return true;
}

}  // namespace gennaker::fiat
