// The REST adapter through its router: Spinnaker's JSON shapes and status
// codes for /authorize and /roles.
#include "services/fiat/fiat_rest.h"

#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/fiat/fiat_test_util.h"

namespace gennaker::fiat {
namespace {

using ::gennaker::fiat::testing::Harness;
using ::gennaker::fiat::testing::Res;
using ::gennaker::testing::IsOk;
using spinnaker::Json;

class FiatRestTest : public ::testing::Test {
 protected:
  static CoreOptions Options() {
    CoreOptions o;
    o.resolve.admin_roles = {"admins"};
    return o;
  }
  FiatRestTest() : h_(Options()), router_(MakeFiatRouter(h_.core.get())) {
    Snapshot s;
    s.applications = {Res("open"), Res("team", {"devs"}, {"devs"})};
    s.accounts = {Res("prod", {"ops"}, {"devs"})};
    s.service_accounts = {{"svc-a", {"devs"}}};
    h_.source.Set(s);
  }

  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "",
                      const std::string& query_expand = "") {
    http::Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    if (!query_expand.empty()) r.query.emplace("expand", query_expand);
    return router_.Dispatch(r);
  }

  Json Body(const http::Response& r) {
    auto j = spinnaker::ParseJson(r.body);
    EXPECT_THAT(j, IsOk()) << r.body;
    return j.ok() ? *j : Json();
  }

  Harness h_;
  http::Router router_;
};

TEST_F(FiatRestTest, EmptyStoreIs503AndUnknownUser404) {
  auto r = Call("GET", "/authorize/alice");
  EXPECT_EQ(r.status, 503);
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  r = Call("GET", "/authorize/alice");
  EXPECT_EQ(r.status, 404);
  Json err = Body(r);
  EXPECT_EQ(err["status"], 404);
  EXPECT_EQ(err["path"], "/authorize/alice");
  EXPECT_EQ(Call("GET", "/health").status, 200);
}

TEST_F(FiatRestTest, LoginWithRolesThenTheViewHasSpinnakersShape) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("alice", {"devs"});
  auto r = Call("PUT", "/roles/Alice", R"(["Extra"])");
  ASSERT_EQ(r.status, 200) << r.body;
  r = Call("GET", "/authorize/alice");
  ASSERT_EQ(r.status, 200);
  Json v = Body(r);
  EXPECT_EQ(v["name"], "alice");
  EXPECT_EQ(v["admin"], false);
  EXPECT_EQ(v["accountManager"], false);
  EXPECT_EQ(v["legacyFallback"], false);
  EXPECT_EQ(v["allowAccessToUnknownApplications"], false);
  EXPECT_EQ(v["extensionResources"], Json::object());
  EXPECT_EQ(v["applications"], Json::parse(R"([{"name":"open","authorizations":
              ["READ","WRITE","EXECUTE","CREATE"]},
              {"name":"team","authorizations":["READ","WRITE","EXECUTE"]}])"));
  EXPECT_EQ(v["accounts"],
            Json::parse(R"([{"name":"prod","authorizations":["WRITE"]}])"));
  EXPECT_EQ(v["serviceAccounts"],
            Json::parse(R"([{"name":"svc-a","memberOf":["devs"]}])"));
  EXPECT_EQ(v["roles"], Json::parse(R"([{"name":"devs","source":"FILE"},
                                         {"name":"extra","source":"EXTERNAL"}])"));
  EXPECT_EQ(v["buildServices"], Json::array());

  EXPECT_EQ(Body(Call("GET", "/authorize/alice/roles")).size(), 2u);
  EXPECT_EQ(Body(Call("GET", "/authorize/alice/applications/TEAM"))["name"],
            "team");
  EXPECT_EQ(Call("GET", "/authorize/alice/accounts/staging").status, 404);
  Json expanded =
      Body(Call("GET", "/authorize/alice/serviceAccounts", "", "true"));
  ASSERT_EQ(expanded.size(), 1u);
  EXPECT_EQ(expanded[0]["name"], "svc-a");
  EXPECT_EQ(expanded[0]["roles"][0]["source"], "EXTERNAL");
}

TEST_F(FiatRestTest, AuthorizationChecksAre200Or404AndOnlyForAppsAndAccounts) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  h_.provider.Set("dev", {"devs"});
  ASSERT_EQ(Call("POST", "/roles/dev").status, 200);
  EXPECT_EQ(Call("GET", "/authorize/dev/application/team/WRITE").status, 200);
  EXPECT_EQ(Call("GET", "/authorize/dev/APPLICATIONS/team/execute").status,
            200);
  EXPECT_EQ(Call("GET", "/authorize/dev/account/prod/READ").status, 404);
  EXPECT_EQ(Call("GET", "/authorize/dev/account/prod/WRITE").status, 200);
  EXPECT_EQ(Call("GET", "/authorize/dev/service_account/svc-a/READ").status,
            400);
  EXPECT_EQ(Call("GET", "/authorize/dev/application/team/FLY").status, 400);
  EXPECT_EQ(Call("GET", "/authorize/nobody/application/open/READ").status, 404);
  // Creation is open unless restrictApplicationCreation.
  EXPECT_EQ(
      Call("POST", "/authorize/dev/application/create", R"({"name":"new"})")
          .status,
      200);
  EXPECT_EQ(Call("POST", "/authorize/dev/account/create", "{}").status, 400);
}

TEST_F(FiatRestTest, RolesSyncLogoutAndGetAll) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  ASSERT_EQ(Call("POST", "/roles/bob").status, 200);
  auto r = Call("POST", "/roles/sync");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), Json(3));  // svc-a, unrestricted, bob
  r = Call("POST", "/roles/sync", R"(["nobody-has-it"])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), Json(1));  // the unrestricted user
  EXPECT_EQ(Call("POST", "/roles/sync", R"({"not":"an array"})").status, 400);
  r = Call("POST", "/roles/sync/serviceAccount/bot", R"(["ops"])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), Json(1));
  EXPECT_EQ(Call("DELETE", "/roles/bob").status, 200);
  EXPECT_EQ(Call("GET", "/authorize/bob").status, 404);
  EXPECT_EQ(Call("GET", "/authorize").status, 405);
  EXPECT_EQ(Call("PUT", "/roles/x", "[1]").status, 400);
}

TEST_F(FiatRestTest, ReservedIdsAreRefusedByTheRolesEndpoints) {
  ASSERT_THAT(h_.core->RefreshResources(), IsOk());
  for (const char* id : {"anonymous", "ANONYMOUS", "__unrestricted_user__"}) {
    const std::string path = std::string("/roles/") + id;
    EXPECT_EQ(Call("PUT", path, R"(["admins"])").status, 400) << id;
    EXPECT_EQ(Call("POST", path).status, 400) << id;
    EXPECT_EQ(Call("DELETE", path).status, 400) << id;
  }
  auto r = Call("GET", "/authorize/anonymous");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["admin"], false);
}

}  // namespace
}  // namespace gennaker::fiat
