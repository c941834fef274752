#include "services/fiat/resolver.h"

#include <algorithm>
#include <functional>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace gennaker::fiat {
namespace {

constexpr v1::Authorization kAll[] = {
    v1::AUTHORIZATION_READ, v1::AUTHORIZATION_WRITE, v1::AUTHORIZATION_EXECUTE,
    v1::AUTHORIZATION_CREATE};

bool Meets(const std::set<std::string>& granted,
           const std::set<std::string>& held) {
  for (const std::string& r : granted) {
    if (held.count(r) > 0) return true;
  }
  return false;
}

// Authorizations `held` roles get on `p`; empty when none.
std::vector<v1::Authorization> Granted(const Permissions& p,
                                       const std::set<std::string>& held,
                                       bool admin) {
  if (admin || !p.Restricted()) {
    return std::vector<v1::Authorization>(std::begin(kAll), std::end(kAll));
  }
  std::vector<v1::Authorization> out;
  if (Meets(p.read, held)) out.push_back(v1::AUTHORIZATION_READ);
  if (Meets(p.write, held)) out.push_back(v1::AUTHORIZATION_WRITE);
  if (Meets(p.execute, held)) out.push_back(v1::AUTHORIZATION_EXECUTE);
  if (Meets(p.create, held)) out.push_back(v1::AUTHORIZATION_CREATE);
  return out;
}

// With `list_denied`, resources the user may not use are listed with no
// authorizations (so "unknown" means unknown to fiat, not just unseen).
void AddViews(const std::vector<Resource>& resources,
              const std::set<std::string>& held, bool admin,
              const std::function<Permissions(const Permissions&)>& effective,
              google::protobuf::RepeatedPtrField<v1::ResourceView>* out,
              bool list_denied = false) {
  std::vector<const Resource*> sorted;
  for (const Resource& r : resources) sorted.push_back(&r);
  std::sort(
      sorted.begin(), sorted.end(),
      [](const Resource* a, const Resource* b) { return a->name < b->name; });
  for (const Resource* r : sorted) {
    std::vector<v1::Authorization> granted = Granted(
        effective ? effective(r->permissions) : r->permissions, held, admin);
    if (granted.empty() && !list_denied) continue;
    v1::ResourceView* view = out->Add();
    view->set_name(r->name);
    for (v1::Authorization a : granted) view->add_authorizations(a);
  }
}

}  // namespace

bool Permissions::Restricted() const {
  return !read.empty() || !write.empty() || !execute.empty() || !create.empty();
}

bool Snapshot::SameContent(const Snapshot& other) const {
  return applications == other.applications && accounts == other.accounts &&
         build_services == other.build_services &&
         service_accounts == other.service_accounts;
}

bool Snapshot::HasApplication(absl::string_view name) const {
  for (const Resource& r : applications) {
    if (absl::EqualsIgnoreCase(r.name, name)) return true;
  }
  return false;
}

const ServiceAccount* Snapshot::FindServiceAccount(
    absl::string_view name) const {
  for (const ServiceAccount& s : service_accounts) {
    if (absl::EqualsIgnoreCase(s.name, name)) return &s;
  }
  return nullptr;
}

std::string NormalizeRole(absl::string_view role) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(role));
}

std::set<std::string> NormalizeRoles(const std::vector<std::string>& roles) {
  std::set<std::string> out;
  for (const std::string& r : roles) {
    std::string n = NormalizeRole(r);
    if (!n.empty()) out.insert(std::move(n));
  }
  return out;
}

std::string NormalizeUserId(absl::string_view user) {
  std::string id = absl::AsciiStrToLower(absl::StripAsciiWhitespace(user));
  if (id == "anonymous") return kUnrestrictedUser;
  return id;
}

Permissions ApplicationPermissions(const Permissions& declared,
                                   v1::Authorization execute_fallback) {
  Permissions p = declared;
  p.create.clear();
  if (p.Restricted() && p.execute.empty()) {
    p.execute = execute_fallback == v1::AUTHORIZATION_WRITE ? p.write : p.read;
  }
  return p;
}

Permissions AccountPermissions(const Permissions& declared,
                               const std::vector<std::string>& legacy_groups) {
  if (declared.Restricted()) return declared;
  Permissions p = declared;
  p.read = NormalizeRoles(legacy_groups);
  p.write = p.read;
  return p;
}

std::vector<v1::RoleView> MergeRoles(const std::vector<v1::RoleView>& provider,
                                     const std::vector<std::string>& external) {
  std::map<std::string, v1::RoleView> by_name;
  for (const v1::RoleView& r : provider) {
    std::string name = NormalizeRole(r.name());
    if (name.empty() || by_name.count(name) > 0) continue;
    v1::RoleView v = r;
    v.set_name(name);
    by_name.emplace(name, std::move(v));
  }
  for (const std::string& r : NormalizeRoles(external)) {
    if (by_name.count(r) > 0) continue;
    v1::RoleView v;
    v.set_name(r);
    v.set_source(v1::ROLE_SOURCE_EXTERNAL);
    by_name.emplace(r, std::move(v));
  }
  std::vector<v1::RoleView> out;
  for (auto& [name, view] : by_name) out.push_back(std::move(view));
  return out;
}

v1::UserPermission Resolve(const std::string& id,
                           const std::vector<v1::RoleView>& roles,
                           const Snapshot& snapshot,
                           const ResolveOptions& options, int64_t now_ms) {
  v1::UserPermission out;
  out.set_name(id);
  std::set<std::string> held;
  bool admin = false;
  for (const v1::RoleView& r : MergeRoles(roles, {})) {
    held.insert(r.name());
    if (options.admin_roles.count(r.name()) > 0) admin = true;
    *out.add_roles() = r;
  }
  out.set_admin(admin);
  out.set_allow_access_to_unknown_applications(
      options.allow_access_to_unknown_applications);
  out.set_resolved_at_ms(now_ms);
  const v1::Authorization fallback = options.execute_fallback;
  AddViews(
      snapshot.applications, held, admin,
      [fallback](const Permissions& p) {
        return ApplicationPermissions(p, fallback);
      },
      out.mutable_applications(), options.allow_access_to_unknown_applications);
  AddViews(snapshot.accounts, held, admin, nullptr, out.mutable_accounts());
  AddViews(snapshot.build_services, held, admin, nullptr,
           out.mutable_build_services());
  std::vector<const ServiceAccount*> accounts;
  for (const ServiceAccount& s : snapshot.service_accounts) {
    accounts.push_back(&s);
  }
  std::sort(accounts.begin(), accounts.end(),
            [](const ServiceAccount* a, const ServiceAccount* b) {
              return a->name < b->name;
            });
  for (const ServiceAccount* s : accounts) {
    // No memberOf: only admins may run as it (admins may use every one).
    if (s->member_of.empty() && !admin) continue;
    bool usable = admin;
    if (!usable) {
      size_t have = 0;
      for (const std::string& r : s->member_of) have += held.count(r);
      usable = options.role_or_mode ? have > 0 : have == s->member_of.size();
    }
    if (!usable) continue;
    v1::ServiceAccountView* view = out.add_service_accounts();
    view->set_name(s->name);
    for (const std::string& r : s->member_of) view->add_member_of(r);
  }
  return out;
}

}  // namespace gennaker::fiat
