#include "services/fiat/fiat_rest.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/fiat/authorizer.h"
#include "services/fiat/fiat_core.h"

namespace gennaker::fiat {
namespace {

using http::Request;
using http::Response;
using spinnaker::Json;

std::string RoleSourceName(v1::RoleSource source) {
  switch (source) {
    case v1::ROLE_SOURCE_FILE:
      return "FILE";
    case v1::ROLE_SOURCE_GOOGLE_GROUPS:
      return "GOOGLE_GROUPS";
    case v1::ROLE_SOURCE_GITHUB_TEAMS:
      return "GITHUB_TEAMS";
    case v1::ROLE_SOURCE_LDAP:
      return "LDAP";
    default:
      return "EXTERNAL";
  }
}

Json ResourceJson(const v1::ResourceView& v) {
  Json authorizations = Json::array();
  for (int a : v.authorizations()) {
    authorizations.push_back(
        AuthorizationName(static_cast<v1::Authorization>(a)));
  }
  return Json{{"name", v.name()}, {"authorizations", authorizations}};
}

Json ResourcesJson(
    const google::protobuf::RepeatedPtrField<v1::ResourceView>& views) {
  Json out = Json::array();
  for (const v1::ResourceView& v : views) out.push_back(ResourceJson(v));
  return out;
}

Json ServiceAccountJson(const v1::ServiceAccountView& sa) {
  Json member_of = Json::array();
  for (const std::string& r : sa.member_of()) member_of.push_back(r);
  return Json{{"name", sa.name()}, {"memberOf", member_of}};
}

Json RolesJson(const v1::UserPermission& p) {
  Json out = Json::array();
  for (const v1::RoleView& r : p.roles()) {
    out.push_back(
        Json{{"name", r.name()}, {"source", RoleSourceName(r.source())}});
  }
  return out;
}

Response Ok(const Json& body) { return http::Json(200, spinnaker::Dump(body)); }

Response Fail(const absl::Status& status, const Request& r) {
  return http::ErrorFromStatus(status, r.path);
}

// The body as a list of strings; empty body: an empty list.
absl::StatusOr<std::vector<std::string>> StringArray(const Request& r) {
  std::vector<std::string> out;
  if (absl::StripAsciiWhitespace(r.body).empty()) return out;
  absl::StatusOr<Json> body = spinnaker::ParseJson(r.body, "request body");
  if (!body.ok()) return body.status();
  if (!body->is_array()) {
    return absl::InvalidArgumentError(
        "request body must be a JSON array of role names");
  }
  for (const Json& v : *body) {
    if (!v.is_string()) {
      return absl::InvalidArgumentError(
          "request body must be a JSON array of role names");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

// The view list `kind` of `p`, or nullptr when `kind` is not a list name.
const google::protobuf::RepeatedPtrField<v1::ResourceView>* ResourceList(
    const v1::UserPermission& p, const std::string& kind) {
  if (kind == "accounts") return &p.accounts();
  if (kind == "applications") return &p.applications();
  if (kind == "buildServices") return &p.build_services();
  return nullptr;
}

}  // namespace

Json PermissionViewJson(const v1::UserPermission& p) {
  Json service_accounts = Json::array();
  for (const v1::ServiceAccountView& sa : p.service_accounts()) {
    service_accounts.push_back(ServiceAccountJson(sa));
  }
  Json extension = Json::object();
  for (const v1::ExtensionResources& e : p.extension_resources()) {
    extension[e.type()] = ResourcesJson(e.resources());
  }
  return Json{{"name", p.name()},
              {"accounts", ResourcesJson(p.accounts())},
              {"applications", ResourcesJson(p.applications())},
              {"serviceAccounts", service_accounts},
              {"roles", RolesJson(p)},
              {"buildServices", ResourcesJson(p.build_services())},
              {"extensionResources", extension},
              {"admin", p.admin()},
              {"accountManager", p.account_manager()},
              {"legacyFallback", p.legacy_fallback()},
              {"allowAccessToUnknownApplications",
               p.allow_access_to_unknown_applications()}};
}

http::Router MakeFiatRouter(FiatCore* core) {
  http::Router router;
  router.Add("GET", "/health", [](const Request&) {
    return http::Json(200, R"({"status":"UP"})");
  });

  router.Add("GET", "/authorize", [core](const Request& r) {
    if (!core->options().get_all_enabled) {
      return http::Error(405, "listing every user is disabled (getAllEnabled)",
                         r.path);
    }
    Json out = Json::array();
    std::string token;
    do {
      auto page = core->ListUserPermissions(0, token);
      if (!page.ok()) return Fail(page.status(), r);
      for (const v1::UserPermission& p : page->permissions()) {
        out.push_back(PermissionViewJson(p));
      }
      token = page->page().next_page_token();
    } while (!token.empty());
    return Ok(out);
  });

  router.Add("GET", "/authorize/{user}", [core](const Request& r) {
    auto p = core->GetUserPermission(r.params.at("user"));
    if (!p.ok()) return Fail(p.status(), r);
    return Ok(PermissionViewJson(*p));
  });

  router.Add("GET", "/authorize/{user}/{kind}", [core](const Request& r) {
    const std::string& kind = r.params.at("kind");
    absl::StatusOr<bool> expand = http::QueryBool(r, "expand", false);
    if (!expand.ok()) return Fail(expand.status(), r);
    const bool sa = kind == "serviceAccounts";
    if (!sa && kind != "roles" && kind != "accounts" &&
        kind != "applications" && kind != "buildServices") {
      return http::Error(404, "no such permission list: " + kind, r.path);
    }
    auto p = core->GetUserPermission(r.params.at("user"), sa && *expand);
    if (!p.ok()) return Fail(p.status(), r);
    if (kind == "roles") return Ok(RolesJson(*p));
    if (sa) {
      Json out = Json::array();
      for (const v1::ServiceAccountView& s : p->service_accounts()) {
        if (*expand) {
          if (s.has_expanded()) out.push_back(PermissionViewJson(s.expanded()));
        } else {
          out.push_back(ServiceAccountJson(s));
        }
      }
      return Ok(out);
    }
    return Ok(ResourcesJson(*ResourceList(*p, kind)));
  });

  router.Add(
      "GET", "/authorize/{user}/{kind}/{name}", [core](const Request& r) {
        const std::string& kind = r.params.at("kind");
        const std::string& name = r.params.at("name");
        if (kind != "serviceAccounts" && kind != "accounts" &&
            kind != "applications" && kind != "buildServices") {
          return http::Error(404, "no such permission list: " + kind, r.path);
        }
        auto p = core->GetUserPermission(r.params.at("user"));
        if (!p.ok()) return Fail(p.status(), r);
        if (kind == "serviceAccounts") {
          for (const v1::ServiceAccountView& s : p->service_accounts()) {
            if (absl::EqualsIgnoreCase(s.name(), name)) {
              return Ok(ServiceAccountJson(s));
            }
          }
        } else {
          for (const v1::ResourceView& v : *ResourceList(*p, kind)) {
            if (absl::EqualsIgnoreCase(v.name(), name))
              return Ok(ResourceJson(v));
          }
        }
        return http::Error(404, kind + " '" + name + "' is not accessible",
                           r.path);
      });

  router.Add(
      "GET", "/authorize/{user}/{type}/{name}/{authorization}",
      [core](const Request& r) {
        const v1::ResourceType type = ParseResourceType(r.params.at("type"));
        if (type != v1::RESOURCE_TYPE_ACCOUNT &&
            type != v1::RESOURCE_TYPE_APPLICATION) {
          return http::Error(
              400, "only account and application permissions can be checked",
              r.path);
        }
        const v1::Authorization a =
            ParseAuthorization(r.params.at("authorization"));
        if (a == v1::AUTHORIZATION_UNSPECIFIED) {
          return http::Error(400, "unknown authorization", r.path);
        }
        auto d =
            core->Authorize(r.params.at("user"), type, r.params.at("name"), a);
        if (!d.ok()) return Fail(d.status(), r);
        if (!d->allowed()) return http::Error(404, "not authorized", r.path);
        return http::Json(200, "");
      });

  router.Add(
      "POST", "/authorize/{user}/{type}/create", [core](const Request& r) {
        const v1::ResourceType type = ParseResourceType(r.params.at("type"));
        auto d = core->AuthorizeCreate(r.params.at("user"), type, "", r.body);
        if (!d.ok()) return Fail(d.status(), r);
        if (!d->allowed()) return http::Error(404, "not authorized", r.path);
        return http::Json(200, "");
      });

  // Literal routes before /roles/{user}: the first match wins.
  router.Add("POST", "/roles/sync", [core](const Request& r) {
    auto roles = StringArray(r);
    if (!roles.ok()) return Fail(roles.status(), r);
    auto count = core->SyncRoles(*roles);
    if (!count.ok()) return Fail(count.status(), r);
    return Ok(Json(*count));
  });

  router.Add("POST", "/roles/sync/serviceAccount/{id}",
             [core](const Request& r) {
               auto roles = StringArray(r);
               if (!roles.ok()) return Fail(roles.status(), r);
               auto count = core->SyncServiceAccount(r.params.at("id"), *roles);
               if (!count.ok()) return Fail(count.status(), r);
               return Ok(Json(*count));
             });

  router.Add("POST", "/roles/{user}", [core](const Request& r) {
    auto p = core->LoginUser(r.params.at("user"), {});
    if (!p.ok()) return Fail(p.status(), r);
    return Ok(PermissionViewJson(*p));
  });

  router.Add("PUT", "/roles/{user}", [core](const Request& r) {
    auto roles = StringArray(r);
    if (!roles.ok()) return Fail(roles.status(), r);
    auto p = core->LoginUser(r.params.at("user"), *roles);
    if (!p.ok()) return Fail(p.status(), r);
    return Ok(PermissionViewJson(*p));
  });

  router.Add("DELETE", "/roles/{user}", [core](const Request& r) {
    auto removed = core->LogoutUser(r.params.at("user"));
    if (!removed.ok()) return Fail(removed.status(), r);
    return http::Json(200, "");
  });
  return router;
}

}  // namespace gennaker::fiat
