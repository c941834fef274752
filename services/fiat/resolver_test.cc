// The resolver's rules, one by one (Spinnaker's permission semantics).
#include "services/fiat/resolver.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gennaker::fiat {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr v1::Authorization R = v1::AUTHORIZATION_READ;
constexpr v1::Authorization W = v1::AUTHORIZATION_WRITE;
constexpr v1::Authorization X = v1::AUTHORIZATION_EXECUTE;
constexpr v1::Authorization C = v1::AUTHORIZATION_CREATE;

std::vector<v1::RoleView> Roles(const std::vector<std::string>& names) {
  std::vector<v1::RoleView> out;
  for (const std::string& n : names) {
    v1::RoleView r;
    r.set_name(n);
    r.set_source(v1::ROLE_SOURCE_FILE);
    out.push_back(r);
  }
  return out;
}

Resource Res(std::string name, std::set<std::string> read = {},
             std::set<std::string> write = {},
             std::set<std::string> execute = {},
             std::set<std::string> create = {}) {
  Resource r;
  r.name = std::move(name);
  r.permissions.read = std::move(read);
  r.permissions.write = std::move(write);
  r.permissions.execute = std::move(execute);
  r.permissions.create = std::move(create);
  return r;
}

// name -> authorizations of a view list.
std::map<std::string, std::vector<v1::Authorization>> Views(
    const google::protobuf::RepeatedPtrField<v1::ResourceView>& views) {
  std::map<std::string, std::vector<v1::Authorization>> out;
  for (const auto& v : views) {
    auto& list = out[v.name()];
    for (int a : v.authorizations()) {
      list.push_back(static_cast<v1::Authorization>(a));
    }
  }
  return out;
}

std::vector<std::string> ServiceAccountNames(const v1::UserPermission& p) {
  std::vector<std::string> out;
  for (const auto& s : p.service_accounts()) out.push_back(s.name());
  return out;
}

TEST(ResolverTest, UnrestrictedApplicationGrantsAllFourToEveryone) {
  Snapshot s;
  s.applications = {Res("open")};
  v1::UserPermission p = Resolve("alice", {}, s, {}, 42);
  EXPECT_EQ(p.name(), "alice");
  EXPECT_EQ(p.resolved_at_ms(), 42);
  EXPECT_FALSE(p.admin());
  EXPECT_THAT(Views(p.applications())["open"], ElementsAre(R, W, X, C));
}

TEST(ResolverTest, RestrictedApplicationGrantsPerIntersectingRole) {
  Snapshot s;
  s.applications = {Res("app", {"devs", "ops"}, {"ops"}, {"ops"})};
  auto dev = Resolve("d", Roles({"devs"}), s, {}, 1);
  EXPECT_THAT(Views(dev.applications())["app"], ElementsAre(R));
  auto ops = Resolve("o", Roles({"ops"}), s, {}, 1);
  EXPECT_THAT(Views(ops.applications())["app"], ElementsAre(R, W, X));
  auto other = Resolve("x", Roles({"qa"}), s, {}, 1);
  EXPECT_THAT(other.applications(), IsEmpty());
}

TEST(ResolverTest, ExecuteFallbackCopiesReadByDefaultOrWrite) {
  Snapshot s;
  s.applications = {Res("app", {"readers"}, {"writers"})};
  auto reader = Resolve("r", Roles({"readers"}), s, {}, 1);
  EXPECT_THAT(Views(reader.applications())["app"], ElementsAre(R, X));
  auto writer = Resolve("w", Roles({"writers"}), s, {}, 1);
  EXPECT_THAT(Views(writer.applications())["app"], ElementsAre(W));

  ResolveOptions write_fallback;
  write_fallback.execute_fallback = v1::AUTHORIZATION_WRITE;
  reader = Resolve("r", Roles({"readers"}), s, write_fallback, 1);
  EXPECT_THAT(Views(reader.applications())["app"], ElementsAre(R));
  writer = Resolve("w", Roles({"writers"}), s, write_fallback, 1);
  EXPECT_THAT(Views(writer.applications())["app"], ElementsAre(W, X));
}

TEST(ResolverTest, CreateIsStrippedFromApplications) {
  Snapshot s;
  s.applications = {Res("app", {"devs"}, {}, {"devs"}, {"devs"}),
                    Res("create-only", {}, {}, {}, {"devs"})};
  auto p = Resolve("d", Roles({"devs"}), s, {}, 1);
  EXPECT_THAT(Views(p.applications())["app"], ElementsAre(R, X));
  // Only CREATE named: after stripping it is unrestricted.
  EXPECT_THAT(Views(p.applications())["create-only"], ElementsAre(R, W, X, C));
}

TEST(ResolverTest, AdminGetsEverythingWithAllAuthorizations) {
  Snapshot s;
  s.applications = {Res("secret", {"nobody"})};
  s.accounts = {Res("prod", {"nobody"}, {"nobody"})};
  s.build_services = {Res("jenkins", {"nobody"})};
  s.service_accounts = {{"bot", {"nobody"}}, {"empty", {}}};
  ResolveOptions o;
  o.admin_roles = {"admins"};
  auto p = Resolve("root", Roles({"Admins"}), s, o, 1);
  EXPECT_TRUE(p.admin());
  EXPECT_THAT(Views(p.applications())["secret"], ElementsAre(R, W, X, C));
  EXPECT_THAT(Views(p.accounts())["prod"], ElementsAre(R, W, X, C));
  EXPECT_THAT(Views(p.build_services())["jenkins"], ElementsAre(R, W, X, C));
  // Admins may use every service account, one with no memberOf too.
  EXPECT_THAT(ServiceAccountNames(p), ElementsAre("bot", "empty"));
  // Nobody else may use one with no memberOf.
  auto dev = Resolve("dev", Roles({"nobody"}), s, o, 1);
  EXPECT_THAT(ServiceAccountNames(dev), ElementsAre("bot"));
}

TEST(ResolverTest, AccountWriteDoesNotImplyRead) {
  Snapshot s;
  s.accounts = {Res("prod", {"readers"}, {"deployers"})};
  auto p = Resolve("d", Roles({"deployers"}), s, {}, 1);
  EXPECT_THAT(Views(p.accounts())["prod"], ElementsAre(W));
}

TEST(ResolverTest, RequiredGroupMembershipIsReadWriteUnlessPermissionsSet) {
  Permissions none;
  Permissions legacy = AccountPermissions(none, {" Ops ", ""});
  EXPECT_EQ(legacy.read, std::set<std::string>{"ops"});
  EXPECT_EQ(legacy.write, std::set<std::string>{"ops"});
  Permissions declared;
  declared.read = {"devs"};
  EXPECT_EQ(AccountPermissions(declared, {"ops"}), declared);

  Snapshot s;
  s.accounts = {Res("legacy", legacy.read, legacy.write)};
  auto ops = Resolve("o", Roles({"ops"}), s, {}, 1);
  EXPECT_THAT(Views(ops.accounts())["legacy"], ElementsAre(R, W));
  auto dev = Resolve("d", Roles({"devs"}), s, {}, 1);
  EXPECT_THAT(dev.accounts(), IsEmpty());
}

TEST(ResolverTest, BuildServicesFollowTheirRoles) {
  Snapshot s;
  s.build_services = {Res("open-ci"), Res("ci", {"devs"}, {"release"})};
  auto dev = Resolve("d", Roles({"devs"}), s, {}, 1);
  EXPECT_THAT(Views(dev.build_services())["ci"], ElementsAre(R));
  EXPECT_THAT(Views(dev.build_services())["open-ci"], ElementsAre(R, W, X, C));
  auto nobody = Resolve("n", {}, s, {}, 1);
  EXPECT_EQ(Views(nobody.build_services()).count("ci"), 0u);
}

TEST(ResolverTest, ServiceAccountsNeedAllRolesOrAnyInOrMode) {
  Snapshot s;
  s.service_accounts = {{"both", {"a", "b"}}, {"just-a", {"a"}}, {"none", {}}};
  auto p = Resolve("u", Roles({"a"}), s, {}, 1);
  EXPECT_THAT(ServiceAccountNames(p), ElementsAre("just-a"));
  ResolveOptions or_mode;
  or_mode.role_or_mode = true;
  p = Resolve("u", Roles({"a"}), s, or_mode, 1);
  EXPECT_THAT(ServiceAccountNames(p), ElementsAre("both", "just-a"));
  p = Resolve("u", Roles({"a", "b"}), s, {}, 1);
  EXPECT_THAT(ServiceAccountNames(p), ElementsAre("both", "just-a"));
}

TEST(ResolverTest, UnrestrictedUserSeesOnlyUnrestrictedResources) {
  Snapshot s;
  s.applications = {Res("open"), Res("closed", {"devs"})};
  s.accounts = {Res("test"), Res("prod", {"ops"})};
  auto p = Resolve(kUnrestrictedUser, {}, s, {}, 1);
  EXPECT_THAT(Views(p.applications()), ::testing::SizeIs(1));
  EXPECT_EQ(p.applications(0).name(), "open");
  EXPECT_EQ(p.accounts_size(), 1);
  EXPECT_EQ(p.accounts(0).name(), "test");
  EXPECT_THAT(p.roles(), IsEmpty());
}

TEST(ResolverTest, NormalizesIdsAndMergesRoles) {
  EXPECT_EQ(NormalizeUserId(" Alice "), "alice");
  EXPECT_EQ(NormalizeUserId("ANONYMOUS"), kUnrestrictedUser);
  auto merged = MergeRoles(Roles({"devs", "Ops"}), {"ops", " QA ", ""});
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].name(), "devs");
  EXPECT_EQ(merged[1].name(), "ops");
  EXPECT_EQ(merged[1].source(), v1::ROLE_SOURCE_FILE);  // provider wins
  EXPECT_EQ(merged[2].name(), "qa");
  EXPECT_EQ(merged[2].source(), v1::ROLE_SOURCE_EXTERNAL);
}

TEST(ResolverTest, AllowAccessToUnknownApplicationsIsCopied) {
  ResolveOptions o;
  o.allow_access_to_unknown_applications = true;
  EXPECT_TRUE(Resolve("u", {}, Snapshot{}, o, 1)
                  .allow_access_to_unknown_applications());
  // A known application the user may not use is listed without
  // authorizations, so it does not pass as unknown.
  Snapshot s;
  s.applications = {Res("closed", {"devs"})};
  auto p = Resolve("u", {}, s, o, 1);
  ASSERT_EQ(p.applications_size(), 1);
  EXPECT_EQ(p.applications(0).name(), "closed");
  EXPECT_THAT(p.applications(0).authorizations(), IsEmpty());
  EXPECT_FALSE(Resolve("u", {}, Snapshot{}, {}, 1)
                   .allow_access_to_unknown_applications());
}

}  // namespace
}  // namespace gennaker::fiat
