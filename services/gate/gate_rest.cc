#include "services/gate/gate_rest.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <set>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/fiat/authorizer.h"
#include "common/http/http.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/names.h"
#include "common/status/grpc_status.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"
#include "services/gate/gate_applications.h"
#include "services/gate/gate_auth.h"
#include "services/gate/gate_authz.h"
#include "services/gate/gate_backend.h"
#include "services/gate/gate_bakery.h"
#include "services/gate/gate_builds.h"
#include "services/gate/gate_canary.h"
#include "services/gate/gate_executions.h"
#include "services/gate/gate_infrastructure.h"
#include "services/gate/gate_projects.h"
#include "services/gate/gate_service_accounts.h"
#include "services/gate/gate_webhooks.h"
#include "services/gate/json_array.h"
#include "services/gate/list_cache.h"
#include "services/gate/request.h"
#include "services/orca/templates/v2_schema.h"

namespace gennaker::gate {
namespace {

namespace f50 = front50::v1;

// State of the front50 routes here: front50 (shared with every route group),
// the list cache and what GET /version and CORS answer.
struct RestState {
  std::shared_ptr<const Backends> backends;
  const Front50& front50;
  std::string version;
  std::unique_ptr<RE2> cors_origins;
  std::unique_ptr<ListCache> lists;
  // Null when security is off.
  std::shared_ptr<Authenticator> auth;
};

// A request body that must be a JSON object.
absl::StatusOr<Json> ParseBody(const Request& request) {
  return ParseJsonObjectBody(request.body, "request body",
                             /*empty_is_object=*/false);
}

std::optional<int64_t> LastModified(const Json& j) {
  auto it = j.find("lastModified");
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  int64_t v;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &v)) return v;
  return std::nullopt;
}

// The JSON texts of front50's objects, for JoinArray.
constexpr auto kConfigText = [](const f50::Pipeline& p) -> const std::string& {
  return p.config().json();
};
constexpr auto kBodyText = [](const auto& stored) -> const std::string& {
  return stored.body().json();
};

// --- pipeline configs (and strategies) ---

f50::PipelineKind KindOf(bool strategy) {
  return strategy ? f50::PIPELINE_KIND_STRATEGY : f50::PIPELINE_KIND_PIPELINE;
}

// Reads every page of a pipeline list from front50 into `all`, each page sized
// to what gate's channel to front50 can receive, so a list never fails because
// of what it holds. `all` keeps the first page's other fields (etag,
// not_modified). A list that changed between pages is read again from the
// start, a few times.
template <typename Req, typename Resp, typename Call>
grpc::Status ReadAllPages(const Front50& front50, Req req, Resp* all,
                          const Call& call) {
  constexpr int kAttempts = 3;
  grpc::Status s;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    req.set_max_page_bytes(front50.MaxPageBytes());
    req.mutable_page()->clear_page_token();
    while (true) {
      Resp page;
      s = call(*front50.stub, front50.Context().get(), req, &page);
      if (!s.ok()) break;
      const bool first = req.page().page_token().empty();
      std::string next = page.page().next_page_token();
      if (first) {
        *all = std::move(page);
      } else {
        for (auto& p : *page.mutable_pipelines()) {
          *all->add_pipelines() = std::move(p);
        }
      }
      if (next.empty()) {
        all->clear_page();
        return grpc::Status::OK;
      }
      req.mutable_page()->set_page_token(std::move(next));
    }
    // Only a later page's ABORTED means the list changed under the reader.
    if (s.error_code() != grpc::StatusCode::ABORTED ||
        req.page().page_token().empty()) {
      return s;
    }
  }
  return s;
}

grpc::Status ListPipelines(const Front50& front50,
                           const f50::ListPipelinesRequest& req,
                           f50::ListPipelinesResponse* resp) {
  return ReadAllPages(
      front50, req, resp,
      [](f50::Front50Service::StubInterface& stub, grpc::ClientContext* ctx,
         const f50::ListPipelinesRequest& r, f50::ListPipelinesResponse* out) {
        return stub.ListPipelines(ctx, r, out);
      });
}

grpc::Status ListAllPipelines(const Front50& front50,
                              const f50::ListAllPipelinesRequest& req,
                              f50::ListAllPipelinesResponse* resp) {
  return ReadAllPages(
      front50, req, resp,
      [](f50::Front50Service::StubInterface& stub, grpc::ClientContext* ctx,
         const f50::ListAllPipelinesRequest& r,
         f50::ListAllPipelinesResponse* out) {
        return stub.ListAllPipelines(ctx, r, out);
      });
}

Response ListConfigs(const RestState& b, const Request& r, bool strategy) {
  const ListCache::Key key(static_cast<int>(KindOf(strategy)),
                           absl::AsciiStrToLower(r.params.at("app")));
  bool trusted = false;
  uint64_t generation = 0;
  ListCache::Entry cached = b.lists->Get(key, &trusted, &generation);
  if (trusted && cached.json) return http::SharedJson(200, cached.json);
  f50::ListPipelinesRequest req;
  req.set_kind(KindOf(strategy));
  req.set_application(r.params.at("app"));
  req.set_if_none_match(cached.etag);
  f50::ListPipelinesResponse resp;
  grpc::Status s = ListPipelines(b.front50, req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  if (resp.not_modified() && cached.json)
    return http::SharedJson(200, cached.json);
  auto json = std::make_shared<const std::string>(
      JoinArray(resp.pipelines(), kConfigText));
  if (!resp.etag().empty()) b.lists->Put(key, {resp.etag(), json}, generation);
  return http::SharedJson(200, std::move(json));
}

grpc::Status FindConfig(const RestState& b, bool strategy,
                        const std::string& app, const std::string& name,
                        f50::GetPipelineResponse* resp) {
  f50::GetPipelineRequest req;
  req.set_kind(KindOf(strategy));
  req.set_application(app);
  req.set_name(name);
  return b.front50.stub->GetPipeline(b.front50.Context().get(), req, resp);
}

Response GetConfig(const RestState& b, const Request& r) {
  f50::GetPipelineResponse resp;
  grpc::Status s =
      FindConfig(b, false, r.params.at("app"), r.params.at("name"), &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.pipeline().config().json());
}

Response SaveConfig(const RestState& b, const Request& r, bool strategy,
                    const std::string& path_id = "") {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  if (!path_id.empty() && spinnaker::String(*body, "id") != path_id) {
    return http::Error(400, "the pipeline id in the body must match the path",
                       r.path);
  }
  f50::SavePipelineRequest req;
  req.set_kind(KindOf(strategy));
  req.mutable_config()->set_json(r.body);
  absl::StatusOr<bool> stale_check = QueryBool(r, "staleCheck", false);
  if (!stale_check.ok()) return ErrorResponse(stale_check.status(), r);
  if (*stale_check) {
    if (auto at = LastModified(*body)) req.set_expected_updated_at_ms(*at);
  }
  f50::SavePipelineResponse resp;
  grpc::Status s =
      b.front50.stub->SavePipeline(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  b.lists->Clear();
  if (!path_id.empty()) return http::Json(200, resp.pipeline().config().json());
  return EmptyResponse();
}

Response DeleteConfig(const RestState& b, const Request& r, bool strategy) {
  f50::GetPipelineResponse found;
  grpc::Status s =
      FindConfig(b, strategy, r.params.at("app"), r.params.at("name"), &found);
  if (!s.ok()) return ErrorResponse(s, r);
  f50::DeleteObjectRequest req;
  req.set_type(strategy ? f50::OBJECT_TYPE_STRATEGY
                        : f50::OBJECT_TYPE_PIPELINE);
  req.set_key(found.pipeline().id());
  f50::DeleteObjectResponse resp;
  s = b.front50.stub->DeleteObject(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  b.lists->Clear();
  return EmptyResponse();
}

// POST /actions/pipelines/reorder {application, idsToIndices} (Deck's drag and
// drop).
Response ReorderConfigs(const RestState& b, const Request& r, bool strategy) {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  auto ids = body->find("idsToIndices");
  if (spinnaker::String(*body, "application").empty() || ids == body->end() ||
      !ids->is_object()) {
    return http::Error(400, "application and idsToIndices are required",
                       r.path);
  }
  f50::ReorderPipelinesRequest req;
  req.set_kind(KindOf(strategy));
  req.set_application(spinnaker::String(*body, "application"));
  for (const auto& [id, index] : ids->items()) {
    if (!index.is_number_integer()) {
      return http::Error(400, "idsToIndices values must be integers", r.path);
    }
    (*req.mutable_indices_by_id())[id] = index.get<int>();
  }
  f50::ReorderPipelinesResponse resp;
  grpc::Status s =
      b.front50.stub->ReorderPipelines(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  b.lists->Clear();
  return EmptyResponse();
}

Response ListAllConfigs(const RestState& b, const Request& r, bool strategy) {
  f50::ListAllPipelinesRequest req;
  req.set_kind(KindOf(strategy));
  f50::ListAllPipelinesResponse resp;
  grpc::Status s = ListAllPipelines(b.front50, req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  fiat::Authorizer& authorizer = *b.backends->authorizer;
  if (!authorizer.enabled()) {
    return http::Json(200, JoinArray(resp.pipelines(), kConfigText));
  }
  // Only the pipelines of applications the caller may READ.
  std::vector<std::string> apps;
  for (const auto& p : resp.pipelines()) apps.push_back(p.application());
  std::sort(apps.begin(), apps.end());
  apps.erase(std::unique(apps.begin(), apps.end()), apps.end());
  absl::StatusOr<std::vector<std::string>> readable =
      authorizer.Filter(spinnaker::UserOrAnonymous(CurrentCallContext().user),
                        fiat::v1::RESOURCE_TYPE_APPLICATION, std::move(apps),
                        fiat::v1::AUTHORIZATION_READ);
  if (!readable.ok()) return ErrorResponse(readable.status(), r);
  std::set<std::string> allowed(readable->begin(), readable->end());
  std::vector<const f50::Pipeline*> kept;
  for (const auto& p : resp.pipelines()) {
    if (allowed.count(p.application())) kept.push_back(&p);
  }
  return http::Json(
      200, JoinArray(kept, [](const f50::Pipeline* p) -> const std::string& {
        return p->config().json();
      }));
}

Response History(const RestState& b, const Request& r, f50::ObjectType type,
                 const std::string& key) {
  f50::ListObjectHistoryRequest req;
  req.set_type(type);
  req.set_key(key);
  absl::StatusOr<int> limit = QueryPositiveInt(r, "limit", 20);
  if (!limit.ok()) return ErrorResponse(limit.status(), r);
  req.set_limit(*limit);
  f50::ListObjectHistoryResponse resp;
  grpc::Status s =
      b.front50.stub->ListObjectHistory(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, JoinArray(resp.versions(), kBodyText));
}

// --- projects ---

Response ListProjects(const RestState& b, const Request& r) {
  f50::ListProjectsResponse resp;
  grpc::Status s =
      b.front50.stub->ListProjects(b.front50.Context().get(), {}, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, JoinArray(resp.projects(), kBodyText));
}

Response GetProject(const RestState& b, const Request& r) {
  f50::GetProjectRequest req;
  req.set_id_or_name(r.params.at("id"));
  f50::GetProjectResponse resp;
  grpc::Status s =
      b.front50.stub->GetProject(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.project().body().json());
}

Response SaveProject(const RestState& b, const Request& r) {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  f50::SaveProjectRequest req;
  if (r.params.count("id")) req.mutable_project()->set_id(r.params.at("id"));
  req.mutable_project()->mutable_body()->set_json(r.body);
  f50::SaveProjectResponse resp;
  grpc::Status s =
      b.front50.stub->SaveProject(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.project().body().json());
}

Response DeleteProject(const RestState& b, const Request& r) {
  f50::GetProjectRequest get;
  get.set_id_or_name(r.params.at("id"));
  f50::GetProjectResponse found;
  grpc::Status s =
      b.front50.stub->GetProject(b.front50.Context().get(), get, &found);
  if (!s.ok()) return ErrorResponse(s, r);
  f50::DeleteObjectRequest req;
  req.set_type(f50::OBJECT_TYPE_PROJECT);
  req.set_key(found.project().id());
  f50::DeleteObjectResponse resp;
  s = b.front50.stub->DeleteObject(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return EmptyResponse();
}

// --- v2 pipeline templates ---

Response ListTemplates(const RestState& b, const Request& r) {
  f50::ListPipelineTemplatesRequest req;
  // spin always sends scopes=, possibly empty: empty means all.
  for (const auto& [k, v] : r.query) {
    if (k == "scopes" && !v.empty()) req.add_scopes(v);
  }
  f50::ListPipelineTemplatesResponse resp;
  grpc::Status s = b.front50.stub->ListPipelineTemplates(
      b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, JoinArray(resp.templates(), kBodyText));
}

Response GetTemplate(const RestState& b, const Request& r) {
  f50::GetPipelineTemplateRequest req;
  req.set_id(r.params.at("id"));
  req.set_tag(r.Query("tag"));
  f50::GetPipelineTemplateResponse resp;
  grpc::Status s = b.front50.stub->GetPipelineTemplate(
      b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.template_().body().json());
}

Response SaveTemplate(const RestState& b, const Request& r, bool create) {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  std::string id =
      r.params.count("id") ? r.params.at("id") : spinnaker::String(*body, "id");
  if (id.empty())
    return http::Error(400, "pipeline template id is required", r.path);
  // On create and update alike: front50 stores only v2 templates.
  if (spinnaker::String(*body, "schema").empty()) {
    return http::Error(400, "pipeline template schema is required", r.path);
  }
  f50::SavePipelineTemplateRequest req;
  req.mutable_template_()->set_id(id);
  req.mutable_template_()->set_tag(r.Query("tag"));
  req.mutable_template_()->mutable_body()->set_json(r.body);
  req.set_create_only(create);
  f50::SavePipelineTemplateResponse resp;
  grpc::Status s = b.front50.stub->SavePipelineTemplate(
      b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return EmptyResponse();
}

Response DeleteTemplate(const RestState& b, const Request& r) {
  f50::DeleteObjectRequest req;
  req.set_type(f50::OBJECT_TYPE_PIPELINE_TEMPLATE);
  std::string tag = r.Query("tag");
  req.set_key(tag.empty() ? r.params.at("id")
                          : absl::StrCat(r.params.at("id"), ":", tag));
  f50::DeleteObjectResponse resp;
  grpc::Status s =
      b.front50.stub->DeleteObject(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return EmptyResponse(202);  // spin requires 202 here
}

// POST /v2/pipelineTemplates/plan (spin pipeline-template plan, Deck's
// templated pipeline view): orca resolves the templated config against its
// template and answers the pipeline it would run; nothing is stored. A bad
// config or template is a 400 with orca's message.
Response PlanTemplatedPipeline(const RestState& b, const Request& r) {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  if (spinnaker::String(*body, "schema").empty()) {
    return http::Error(400, "a templated pipeline config needs a schema",
                       r.path);
  }
  orca::v1::StartPipelineRequest req;
  req.mutable_config()->set_json(r.body);
  req.set_application(spinnaker::String(*body, "application"));
  req.set_origin("api");
  req.set_plan_only(true);
  if (body->contains("trigger") && (*body)["trigger"].is_object()) {
    req.mutable_trigger()->set_json(spinnaker::Dump((*body)["trigger"]));
  }
  orca::v1::StartPipelineResponse resp;
  const Orca& orca = b.backends->orca;
  grpc::Status s = orca.stub->StartPipeline(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.planned_pipeline().json());
}

// GET /v2/pipelineTemplates/{id}/dependentPipelines: the saved templated
// pipelines whose template.reference names this template (any tag), those
// of applications the caller may READ.
Response ListTemplateDependents(const RestState& b, const Request& r) {
  const std::string id = r.params.at("id");
  f50::ListAllPipelinesRequest req;
  req.set_kind(f50::PIPELINE_KIND_PIPELINE);
  f50::ListAllPipelinesResponse resp;
  grpc::Status s = ListAllPipelines(b.front50, req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  std::vector<const f50::Pipeline*> dependents;
  std::vector<std::string> apps;
  for (const f50::Pipeline& p : resp.pipelines()) {
    absl::StatusOr<Json> config =
        spinnaker::ParseJson(p.config().json(), "pipeline");
    if (!config.ok() || !orca::templates::IsTemplatedConfig(*config)) continue;
    absl::StatusOr<orca::templates::TemplateReference> ref =
        orca::templates::ParseTemplateReference(
            orca::templates::ConfigTemplateReference(*config));
    if (!ref.ok() || !absl::EqualsIgnoreCase(ref->id, id)) continue;
    dependents.push_back(&p);
    apps.push_back(p.application());
  }
  fiat::Authorizer& authorizer = *b.backends->authorizer;
  if (authorizer.enabled() && !dependents.empty()) {
    std::sort(apps.begin(), apps.end());
    apps.erase(std::unique(apps.begin(), apps.end()), apps.end());
    absl::StatusOr<std::vector<std::string>> readable =
        authorizer.Filter(spinnaker::UserOrAnonymous(CurrentCallContext().user),
                          fiat::v1::RESOURCE_TYPE_APPLICATION, std::move(apps),
                          fiat::v1::AUTHORIZATION_READ);
    if (!readable.ok()) return ErrorResponse(readable.status(), r);
    std::set<std::string> allowed(readable->begin(), readable->end());
    std::erase_if(dependents, [&](const f50::Pipeline* p) {
      return allowed.count(p->application()) == 0;
    });
  }
  return http::Json(
      200,
      JoinArray(dependents, [](const f50::Pipeline* p) -> const std::string& {
        return p->config().json();
      }));
}

// GET /v2/pipelineTemplates/versions?scopes=: every stored version of every
// template, grouped by template id ({id: [template, ...]}), each with its
// `tag` and `digest` as Spinnaker's front50 stores them (Deck's pipeline
// templates page).
Response ListTemplateVersions(const RestState& b, const Request& r) {
  f50::ListPipelineTemplatesRequest req;
  for (std::string& scope : r.QueryList("scopes")) req.add_scopes(scope);
  f50::ListPipelineTemplatesResponse resp;
  grpc::Status s = b.front50.stub->ListPipelineTemplates(
      b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  Json out = Json::object();
  for (const f50::PipelineTemplate& t : resp.templates()) {
    absl::StatusOr<Json> body =
        spinnaker::ParseJson(t.body().json(), "pipeline template");
    Json version =
        body.ok() && body->is_object() ? *std::move(body) : Json::object();
    if (!version.contains("id")) version["id"] = t.id();
    if (!t.tag().empty() && !version.contains("tag")) version["tag"] = t.tag();
    if (!t.digest().empty() && !version.contains("digest")) {
      version["digest"] = t.digest();
    }
    if (!out.contains(t.id())) out[t.id()] = Json::array();
    out[t.id()].push_back(std::move(version));
  }
  return http::Json(200, spinnaker::Dump(out));
}

// --- notifications ---

Response GetNotifications(const RestState& b, const Request& r) {
  f50::GetNotificationsRequest req;
  req.set_level(f50::NOTIFICATION_LEVEL_APPLICATION);
  req.set_application(r.params.at("app"));
  f50::GetNotificationsResponse resp;
  grpc::Status s =
      b.front50.stub->GetNotifications(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.notifications().body().json());
}

Response SaveNotifications(const RestState& b, const Request& r) {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  f50::SaveNotificationsRequest req;
  req.mutable_notifications()->set_level(f50::NOTIFICATION_LEVEL_APPLICATION);
  req.mutable_notifications()->set_application(r.params.at("app"));
  req.mutable_notifications()->mutable_body()->set_json(r.body);
  f50::SaveNotificationsResponse resp;
  grpc::Status s =
      b.front50.stub->SaveNotifications(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return EmptyResponse();
}

// As Spinnaker's Gate does: only an allowed origin is echoed (with
// credentials), on every answer, errors included.
bool OriginAllowed(const RestState& b, const std::string& origin) {
  return b.cors_origins->ok() && RE2::FullMatch(origin, *b.cors_origins);
}

void AddCorsHeaders(const RestState& b, const Request& r, Response* resp) {
  std::string origin = r.Header("origin");
  if (origin.empty() || !OriginAllowed(b, origin)) return;
  resp->headers.emplace_back("Access-Control-Allow-Origin", origin);
  resp->headers.emplace_back("Access-Control-Allow-Credentials", "true");
  resp->headers.emplace_back("Access-Control-Allow-Methods",
                             "POST, GET, OPTIONS, DELETE, PUT, PATCH");
  resp->headers.emplace_back("Access-Control-Max-Age", "3600");
  resp->headers.emplace_back(
      "Access-Control-Allow-Headers",
      "x-requested-with, content-type, authorization, X-RateLimit-App, "
      "X-Spinnaker-Priority");
}

// spin sends this literal segment where it has no application (cancel); the
// routes that take it ignore the application.
constexpr char kSpinAppPlaceholder[] = "{application}";

// The identity of the request the thread is answering, for the auth routes
// (set by Guarded around the handler).
thread_local const Identity* current_identity = nullptr;

class ScopedIdentity {
 public:
  explicit ScopedIdentity(const Identity* id) : previous_(current_identity) {
    current_identity = id;
  }
  ~ScopedIdentity() { current_identity = previous_; }
  ScopedIdentity(const ScopedIdentity&) = delete;
  ScopedIdentity& operator=(const ScopedIdentity&) = delete;

 private:
  const Identity* previous_;
};

const Identity& CurrentIdentity() {
  static const Identity kNobody;
  return current_identity != nullptr ? *current_identity : kNobody;
}

bool IsFormContentType(absl::string_view content_type) {
  absl::string_view type = content_type.substr(0, content_type.find(';'));
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(type),
                                "application/x-www-form-urlencoded");
}

// The 401 of a request without (good) credentials. Browsers' XHRs (Deck sends
// X-Requested-With) get no WWW-Authenticate, so no basic-auth dialog pops up.
Response Unauthorized(const Request& r, absl::string_view message) {
  Response resp = http::Error(401, message, r.path);
  if (r.Header("x-requested-with").empty()) {
    resp.headers.emplace_back("WWW-Authenticate", R"(Basic realm="Spinnaker")");
  }
  return resp;
}

// The answer to a failed authentication: 401, 429 with Retry-After, or the
// store's or directory's failure (503).
Response AuthError(const absl::Status& status, const Request& r) {
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    return Unauthorized(r, "Bad credentials");
  }
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    Response resp = http::Error(429, status.message(), r.path);
    // "... retry in N s"
    int64_t wait = 1;
    absl::string_view m = status.message();
    if (auto at = m.rfind("retry in "); at != absl::string_view::npos) {
      absl::string_view n = m.substr(at + 9);
      n = n.substr(0, n.find(' '));
      if (!absl::SimpleAtoi(n, &wait) || wait < 1) wait = 1;
    }
    resp.headers.emplace_back("Retry-After", absl::StrCat(wait));
    return resp;
  }
  return ErrorResponse(status, r);
}

// What every route does around its handler: refuse cross-site writes and
// invalid application names before any call, find out who the caller is
// (anonymous with security off; X-SPINNAKER-USER from a client is never
// taken on trust), require a login on routes that are not open, check the
// route's authorization policy, install the caller's identity with only
// forwardable metadata, and add CORS headers.
Response Guarded(const RestState& b, const std::string& pattern,
                 const RoutePolicy& policy, const Request& r,
                 const http::Handler& handler) {
  Response resp;
  absl::Status write;
  auto origin_allowed = [&b](const std::string& origin) {
    return OriginAllowed(b, origin);
  };
  if (pattern == "/login" && r.method == "POST" &&
      IsFormContentType(r.Header("content-type"))) {
    // The login form: its body is not JSON, the origin check still applies.
    Request probe;
    probe.method = r.method;
    probe.headers = r.headers;
    write = CheckWrite(probe, origin_allowed);
  } else {
    write = CheckWrite(r, origin_allowed);
  }
  auto app = r.params.find("app");
  if (!write.ok()) {
    resp = http::Error(
        write.code() == absl::StatusCode::kPermissionDenied ? 403 : 415,
        write.message(), r.path);
    AddCorsHeaders(b, r, &resp);
    return resp;
  }
  if (app != r.params.end() && app->second != kSpinAppPlaceholder &&
      !spinnaker::ValidApplicationName(app->second)) {
    resp = http::Error(
        400,
        absl::StrCat("invalid application name: 1 to ",
                     spinnaker::kMaxApplicationNameLength,
                     " letters, digits, '_', '.' or '-', starting with a "
                     "letter or digit"),
        r.path);
    AddCorsHeaders(b, r, &resp);
    return resp;
  }
  const bool open = policy.kind == RoutePolicy::Kind::kOpen;
  AuthResult auth;
  if (b.auth != nullptr) {
    absl::StatusOr<AuthResult> result = b.auth->Authenticate(r);
    if (result.ok()) {
      auth = std::move(*result);
    } else if (!open) {
      // Open routes answer whoever asks: the caller is then anonymous.
      resp = AuthError(result.status(), r);
      AddCorsHeaders(b, r, &resp);
      return resp;
    }
    if (!open && !auth.identity.authenticated()) {
      resp = Unauthorized(
          r, "Full authentication is required to access this resource");
      AddCorsHeaders(b, r, &resp);
      return resp;
    }
  }
  const std::string user = b.auth != nullptr && auth.identity.authenticated()
                               ? ForwardableValue(auth.identity.username)
                               : std::string(spinnaker::kAnonymousUser);
  CallContext ctx = CurrentCallContext();
  ctx.request_id = ForwardableRequestId(ctx.request_id);
  ctx.user = user.empty() ? std::string(spinnaker::kAnonymousUser) : user;
  ctx.accounts.clear();
  fiat::Authorizer& authorizer = *b.backends->authorizer;
  if (authorizer.enabled() && !open) {
    ctx.accounts = ForwardableValue(
        absl::StrJoin(AllowedAccounts(authorizer, ctx.user), ","));
  }
  ScopedCallContext scope(ctx);
  ScopedIdentity identity(b.auth != nullptr ? &auth.identity : nullptr);
  absl::Status allowed = open
                             ? absl::OkStatus()
                             : AuthorizeRoute(policy, *b.backends, ctx.user, r);
  if (!allowed.ok()) {
    resp = ErrorResponse(allowed, r);
  } else {
    resp = handler(r);
  }
  for (auto& header : auth.headers) resp.headers.push_back(std::move(header));
  AddCorsHeaders(b, r, &resp);
  return resp;
}

// --- login, logout and the current user ---

std::string UserJson(const Identity& id,
                     const std::vector<std::string>& accounts) {
  Json authorities = Json::array();
  for (const auto& role : id.roles)
    authorities.push_back({{"authority", role}});
  auto or_null = [](const std::string& v) {
    return v.empty() ? Json() : Json(v);
  };
  return spinnaker::Dump(Json{{"username", id.username},
                              {"email", or_null(id.email)},
                              {"firstName", or_null(id.first_name)},
                              {"lastName", or_null(id.last_name)},
                              {"roles", id.roles},
                              {"allowedAccounts", accounts},
                              {"authorities", std::move(authorities)},
                              {"enabled", true},
                              {"accountNonExpired", true},
                              {"accountNonLocked", true},
                              {"credentialsNonExpired", true}});
}

std::string AnonymousUserJson() {
  Identity anonymous;
  anonymous.username = spinnaker::kAnonymousUser;
  return UserJson(anonymous, {});
}

// A same-site path ("/x", never "//host" or "/\host") a login may redirect
// to.
bool RelativePath(absl::string_view to) {
  return !to.empty() && to[0] == '/' &&
         (to.size() == 1 || (to[1] != '/' && to[1] != '\\'));
}

Response Redirect(const std::string& location) {
  Response resp = EmptyResponse(302);
  resp.headers.emplace_back("Location", location);
  return resp;
}

// POST /login: form (spin's auth.ldap, the login page) or JSON.
Response PostLogin(const RestState& b, const Request& r) {
  if (b.auth == nullptr) return http::Json(200, AnonymousUserJson());
  std::string username, password;
  if (IsFormContentType(r.Header("content-type"))) {
    for (absl::string_view pair : absl::StrSplit(r.body, '&')) {
      auto eq = pair.find('=');
      std::string name = http::PercentDecode(pair.substr(0, eq), true);
      std::string value = eq == absl::string_view::npos
                              ? ""
                              : http::PercentDecode(pair.substr(eq + 1), true);
      if (name == "username") username = std::move(value);
      if (name == "password") password = std::move(value);
    }
  } else if (!r.body.empty()) {
    auto body = ParseBody(r);
    if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
    username = spinnaker::String(*body, "username");
    password = spinnaker::String(*body, "password");
  }
  absl::StatusOr<AuthResult> result = b.auth->Login(r, username, password);
  std::fill(password.begin(), password.end(), '\0');
  if (!result.ok()) return AuthError(result.status(), r);
  std::string to = r.Query("redirect", r.Query("to"));
  Response resp;
  if (RelativePath(to)) {
    resp = Redirect(to);
  } else {
    const std::string user = result->identity.username;
    resp = http::Json(200,
                      UserJson(result->identity,
                               AllowedAccounts(*b.backends->authorizer, user)));
  }
  for (auto& h : result->headers) resp.headers.push_back(std::move(h));
  return resp;
}

// GET /login: a minimal form posting to POST /login (with the same
// redirect).
Response LoginPage(const RestState&, const Request& r) {
  std::string action = "/login";
  std::string to = r.Query("redirect", r.Query("to"));
  if (RelativePath(to)) {
    action = absl::StrCat("/login?redirect=", http::PercentEncode(to));
  }
  Response resp;
  resp.content_type = "text/html; charset=utf-8";
  resp.body = absl::StrCat(
      "<!DOCTYPE html>\n<html><head><title>Gennaker login</title></head>"
      "<body><h1>Sign in to Gennaker</h1>\n<form method=\"post\" action=\"",
      http::HtmlEscape(action),
      "\">\n<p><label>Username <input name=\"username\" "
      "autocomplete=\"username\" autofocus></label></p>\n<p><label>Password "
      "<input name=\"password\" type=\"password\" "
      "autocomplete=\"current-password\"></label></p>\n<p><button "
      "type=\"submit\">Sign in</button></p>\n</form></body></html>\n");
  return resp;
}

Response AuthUser(const RestState& b, const Request&) {
  if (b.auth == nullptr) return http::Json(200, AnonymousUserJson());
  const Identity& id = CurrentIdentity();
  if (!id.authenticated()) return http::Json(200, "{}");
  return http::Json(
      200, UserJson(id, AllowedAccounts(*b.backends->authorizer, id.username)));
}

// GET /auth/redirect?to=<url>: Deck's way back after a login.
Response AuthRedirect(const RestState& b, const Request& r) {
  if (b.auth != nullptr && !CurrentIdentity().authenticated()) {
    std::string original = r.path;
    std::string query;
    for (const auto& [k, v] : r.query) {
      absl::StrAppend(&query, query.empty() ? "?" : "&", http::PercentEncode(k),
                      "=", http::PercentEncode(v));
    }
    return Redirect(absl::StrCat("/login?redirect=",
                                 http::PercentEncode(original + query)));
  }
  std::string to = r.Query("to");
  if (RelativePath(to)) return Redirect(to);
  // An absolute URL: only to an origin CORS allows (Deck's).
  static const RE2 kOrigin(R"((https?://[^/?#]+)(?:[/?#].*)?)");
  std::string origin;
  if (RE2::FullMatch(to, kOrigin, &origin) && OriginAllowed(b, origin)) {
    return Redirect(to);
  }
  return http::Error(
      400, "'to' must be a path on this host or an allowed origin's URL",
      r.path);
}

Response AuthLogout(const RestState& b, const Request& r) {
  Response resp = Redirect("/auth/loggedOut");
  if (b.auth != nullptr) {
    for (auto& h : b.auth->Logout(r, CurrentIdentity())) {
      resp.headers.push_back(std::move(h));
    }
  }
  return resp;
}

}  // namespace

http::Router MakeRestRouter(std::shared_ptr<const Backends> backends,
                            const RestOptions& options) {
  const Front50& front50 = backends->front50;
  auto b = std::make_shared<const RestState>(RestState{
      backends, front50, options.version,
      std::make_unique<RE2>(options.cors_allowed_origins, RE2::Quiet),
      std::make_unique<ListCache>(front50.stub.get()),
      options.authenticator != nullptr && options.authenticator->enabled()
          ? options.authenticator
          : nullptr});

  http::Router router;
  auto install = [&router, b](absl::string_view method,
                              absl::string_view pattern, RoutePolicy policy,
                              http::Handler h) {
    router.Add(method, pattern,
               [b, pattern = std::string(pattern),
                policy = std::make_shared<const RoutePolicy>(std::move(policy)),
                h = std::move(h)](const Request& r) {
                 return Guarded(*b, pattern, *policy, r, h);
               });
  };
  AddRoute add_route = [&install](absl::string_view method,
                                  absl::string_view pattern, http::Handler h) {
    std::optional<RoutePolicy> policy = PolicyFor(method, pattern);
    if (!policy.has_value()) {
      // A programming error: every route must be in gate_authz.cc's table.
      SPDLOG_CRITICAL(
          "gate route {} {} has no authorization policy in gate_authz.cc",
          method, pattern);
      std::abort();
    }
    install(method, pattern, std::move(*policy), std::move(h));
  };
  RouteAdder<RestState> add(add_route, b);
  add("GET", "/health", [](const RestState&, const Request&) {
    return http::Json(200, R"({"status":"UP"})");
  });
  add("GET", "/version", [](const RestState& b, const Request&) {
    return http::Json(200, spinnaker::Dump(Json{{"version", b.version}}));
  });
  add("GET", "/auth/user", AuthUser);
  add("POST", "/login", PostLogin);
  add("GET", "/login", LoginPage);
  add("GET", "/auth/redirect", AuthRedirect);
  add("GET", "/auth/logout", AuthLogout);
  add("POST", "/auth/logout", AuthLogout);
  add("GET", "/auth/loggedOut", [](const RestState&, const Request&) {
    Response resp;
    resp.content_type = "text/plain; charset=utf-8";
    resp.body = "You are logged out.\n";
    return resp;
  });
  add("GET", "/plugins/deck/plugin-manifest.json",
      [](const RestState&, const Request&) { return http::Json(200, "[]"); });
  // Accounts, clusters, server groups, load balancers, security groups,
  // instances and search (clouddriver).
  AddInfrastructureRoutes(backends, add_route);
  add("GET", "/serverGroups", [](const RestState& b, const Request& r) {
    return ListServerGroupsByIds(*b.backends, r);
  });

  // What Deck asks about Spinnaker features the suite does not have answers
  // what Spinnaker's gate answers with them off or empty: no quiet period, no
  // deployment monitors, artifact accounts, pub/sub subscriptions or
  // functions (clouddriver has none), no v1 (MPT) pipeline templates.
  struct Constant {
    const char* pattern;
    const char* body;
  };
  for (const Constant& c : std::initializer_list<Constant>{
           {"/capabilities/quietPeriod",
            R"({"enabled":false,"startTime":-1,"endTime":-1,)"
            R"("inQuietPeriod":false})"},
           {"/capabilities/deploymentMonitors", "[]"},
           {"/artifacts/credentials", "[]"},
           {"/pubsub/subscriptions", "[]"},
           {"/functions", "[]"},
           {"/pipelineTemplates", "[]"}}) {
    add("GET", c.pattern, [body = c.body](const RestState&, const Request&) {
      return http::Json(200, body);
    });
  }
  add("GET", "/applications/{app}/functions",
      [](const RestState&, const Request&) { return http::Json(200, "[]"); });
  // Deck's pipeline editor asks what is preconfigured; nothing is until
  // orca adds it.
  for (const char* path : {"/jobs/preconfigured", "/webhooks/preconfigured"}) {
    add("GET", path,
        [](const RestState&, const Request&) { return http::Json(200, "[]"); });
  }

  // front50's applications merged with clouddriver's view.
  AddApplicationRoutes(backends, add_route);
  // Executions, pipeline triggers and tasks (orca).
  AddExecutionRoutes(backends, add_route);
  for (const char* pattern : {"/pipelines/{id}/evaluateExpression",
                              "/pipelines/{id}/{stageId}/evaluateExpression"}) {
    add("GET", pattern, [](const RestState& b, const Request& r) {
      return EvaluateExpression(*b.backends, r);
    });
  }

  add("GET", "/applications/{app}/pipelineConfigs",
      [](const RestState& b, const Request& r) {
        return ListConfigs(b, r, false);
      });
  add("GET", "/applications/{app}/pipelineConfigs/{name}", GetConfig);
  add("POST", "/pipelines", [](const RestState& b, const Request& r) {
    return SaveConfig(b, r, false);
  });
  add("PUT", "/pipelines/{id}", [](const RestState& b, const Request& r) {
    return SaveConfig(b, r, false, r.params.at("id"));
  });
  add("DELETE", "/pipelines/{app}/{name}",
      [](const RestState& b, const Request& r) {
        return DeleteConfig(b, r, false);
      });
  add("POST", "/actions/pipelines/reorder",
      [](const RestState& b, const Request& r) {
        return ReorderConfigs(b, r, false);
      });
  add("POST", "/actions/strategies/reorder",
      [](const RestState& b, const Request& r) {
        return ReorderConfigs(b, r, true);
      });
  add("GET", "/pipelineConfigs", [](const RestState& b, const Request& r) {
    return ListAllConfigs(b, r, false);
  });
  add("GET", "/pipelineConfigs/{id}/history",
      [](const RestState& b, const Request& r) {
        return History(b, r, f50::OBJECT_TYPE_PIPELINE, r.params.at("id"));
      });

  add("GET", "/applications/{app}/strategyConfigs",
      [](const RestState& b, const Request& r) {
        return ListConfigs(b, r, true);
      });
  add("POST", "/strategies", [](const RestState& b, const Request& r) {
    return SaveConfig(b, r, true);
  });
  add("DELETE", "/strategies/{app}/{name}",
      [](const RestState& b, const Request& r) {
        return DeleteConfig(b, r, true);
      });
  add("GET", "/strategyConfigs", [](const RestState& b, const Request& r) {
    return ListAllConfigs(b, r, true);
  });

  add("GET", "/projects", ListProjects);
  add("GET", "/projects/{id}", GetProject);
  AddProjectDashboardRoutes(backends, add_route);
  add("POST", "/projects", SaveProject);
  add("PUT", "/projects/{id}", SaveProject);
  add("DELETE", "/projects/{id}", DeleteProject);

  add("GET", "/v2/pipelineTemplates", ListTemplates);
  // Before /v2/pipelineTemplates/{id}, which would take "versions" as an id.
  add("GET", "/v2/pipelineTemplates/versions", ListTemplateVersions);
  add("GET", "/v2/pipelineTemplates/{id}", GetTemplate);
  add("POST", "/v2/pipelineTemplates/create",
      [](const RestState& b, const Request& r) {
        return SaveTemplate(b, r, true);
      });
  add("POST", "/v2/pipelineTemplates/update/{id}",
      [](const RestState& b, const Request& r) {
        return SaveTemplate(b, r, false);
      });
  add("DELETE", "/v2/pipelineTemplates/{id}", DeleteTemplate);
  add("POST", "/v2/pipelineTemplates/plan", PlanTemplatedPipeline);
  add("GET", "/v2/pipelineTemplates/{id}/dependentPipelines",
      ListTemplateDependents);

  add("GET", "/notifications/application/{app}", GetNotifications);
  add("POST", "/notifications/application/{app}", SaveNotifications);

  // Canary configs and runs (kayenta), for Deck's canary module.
  AddCanaryRoutes(backends, add_route);
  // Webhooks, notification metadata and callbacks, cron validation (echo).
  AddWebhookRoutes(backends, add_route);
  // CI masters, jobs and builds; docker images and tags (igor).
  AddBuildRoutes(backends, add_route);
  // Bake options and logs (rosco); image search (clouddriver, igor).
  AddBakeryRoutes(backends, add_route);
  // Service accounts (front50, fiat): Deck's "Run As User" list and admin.
  AddServiceAccountRoutes(backends, add_route);

  // What no route takes answers 404 (or 405 when the path takes other
  // methods) from the routes above, with CORS headers like every answer. The
  // catch-alls come last, so they only see what no route took, and are not
  // among the routes they consult: a catch-all must not make every path known.
  auto routes = std::make_shared<const http::Router>(router);
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    router.Add(method, "/**", [b, routes](const Request& r) {
      Request unmatched = r;
      Response resp = routes->Dispatch(unmatched);
      AddCorsHeaders(*b, r, &resp);
      return resp;
    });
  }
  // CORS preflight, for any path.
  router.Add("OPTIONS", "/**", [b](const Request& r) {
    Response resp = EmptyResponse();
    AddCorsHeaders(*b, r, &resp);
    return resp;
  });
  return router;
}

}  // namespace gennaker::gate
