#include "services/fiat/roles.h"

#include <utility>

#include "common/auth/ldap.h"
#include "common/auth/users_file.h"
#include "services/fiat/resolver.h"

namespace gennaker::fiat {
namespace {

std::vector<v1::RoleView> Views(const std::vector<std::string>& names,
                                v1::RoleSource source) {
  std::vector<v1::RoleView> out;
  for (const std::string& name : NormalizeRoles(names)) {
    v1::RoleView v;
    v.set_name(name);
    v.set_source(source);
    out.push_back(std::move(v));
  }
  return out;
}

class FileRolesProvider final : public UserRolesProvider {
 public:
  explicit FileRolesProvider(std::unique_ptr<auth::UsersFile> file)
      : file_(std::move(file)) {}
  absl::StatusOr<std::vector<v1::RoleView>> Roles(
      const std::string& user) override {
    std::optional<auth::FileUser> u = file_->Find(user);
    if (!u.has_value()) return std::vector<v1::RoleView>{};
    return Views(u->roles, v1::ROLE_SOURCE_FILE);
  }

 private:
  std::unique_ptr<auth::UsersFile> file_;
};

class LdapRolesProvider final : public UserRolesProvider {
 public:
  explicit LdapRolesProvider(std::unique_ptr<auth::LdapDirectory> directory)
      : directory_(std::move(directory)) {}
  absl::StatusOr<std::vector<v1::RoleView>> Roles(
      const std::string& user) override {
    absl::StatusOr<std::vector<std::string>> groups = directory_->Groups(user);
    if (!groups.ok()) return groups.status();
    return Views(*groups, v1::ROLE_SOURCE_LDAP);
  }

 private:
  std::unique_ptr<auth::LdapDirectory> directory_;
};

class ExternalRolesProvider final : public UserRolesProvider {
 public:
  absl::StatusOr<std::vector<v1::RoleView>> Roles(const std::string&) override {
    return std::vector<v1::RoleView>{};
  }
};

}  // namespace

std::unique_ptr<UserRolesProvider> NewFileRolesProvider(
    std::unique_ptr<auth::UsersFile> file) {
  return std::make_unique<FileRolesProvider>(std::move(file));
}

std::unique_ptr<UserRolesProvider> NewLdapRolesProvider(
    std::unique_ptr<auth::LdapDirectory> directory) {
  return std::make_unique<LdapRolesProvider>(std::move(directory));
}

std::unique_ptr<UserRolesProvider> NewExternalRolesProvider() {
  return std::make_unique<ExternalRolesProvider>();
}

}  // namespace gennaker::fiat
