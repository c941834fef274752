#include "services/gate/gate_rest.h"

#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/grpc/channel.h"
#include "common/json/json_fields.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"
#include "services/gate/gate_applications.h"
#include "services/gate/gate_backend.h"
#include "services/gate/gate_executions.h"
#include "services/gate/gate_infrastructure.h"
#include "services/gate/list_cache.h"

namespace gennaker::gate {
namespace {

using http::Request;
using http::Response;
using Json = nlohmann::ordered_json;
namespace f50 = front50::v1;

// Shared state of the handlers.
struct Backends {
  std::unique_ptr<f50::Front50Service::Stub> front50;
  std::chrono::milliseconds deadline;
  std::string version;
  std::unique_ptr<RE2> cors_origins;

  std::unique_ptr<grpc::ClientContext> Context() const {
    return MakeClientContext(deadline);
  }

  std::unique_ptr<ListCache> lists;
};

Response Empty(int status = 200) {
  Response r;
  r.status = status;
  r.content_type = "text/plain";
  return r;
}

// JSON array from JSON texts, without re-parsing them.
std::string JoinArray(const std::vector<const std::string*>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += items[i]->empty() ? "{}" : *items[i];
  }
  return out + "]";
}

// Parses a request body that must be a JSON object.
absl::StatusOr<Json> ParseBody(const Request& request) {
  if (request.body.empty())
    return absl::InvalidArgumentError("request body is required");
  if (!json::WithinNesting(request.body)) {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON nested deeper than ", json::kMaxNesting, " levels"));
  }
  Json j = Json::parse(request.body, nullptr, false);
  if (j.is_discarded())
    return absl::InvalidArgumentError("request body is not valid JSON");
  if (!j.is_object())
    return absl::InvalidArgumentError("request body must be a JSON object");
  return j;
}

std::optional<int64_t> LastModified(const Json& j) {
  auto it = j.find("lastModified");
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  int64_t v;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &v)) return v;
  return std::nullopt;
}

bool QueryTrue(const Request& r, const std::string& name) {
  return absl::AsciiStrToLower(r.Query(name)) == "true";
}

int QueryInt(const Request& r, const std::string& name, int fallback) {
  int v;
  return absl::SimpleAtoi(r.Query(name), &v) ? v : fallback;
}

// --- pipeline configs (and strategies) ---

f50::PipelineKind KindOf(bool strategy) {
  return strategy ? f50::PIPELINE_KIND_STRATEGY : f50::PIPELINE_KIND_PIPELINE;
}

Response ListConfigs(const Backends& b, const Request& r, bool strategy) {
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
  grpc::Status s = b.front50->ListPipelines(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  if (resp.not_modified() && cached.json)
    return http::SharedJson(200, cached.json);
  std::vector<const std::string*> items;
  items.reserve(resp.pipelines_size());
  for (const auto& p : resp.pipelines()) items.push_back(&p.config().json());
  auto json = std::make_shared<const std::string>(JoinArray(items));
  if (!resp.etag().empty()) b.lists->Put(key, {resp.etag(), json}, generation);
  return http::SharedJson(200, std::move(json));
}

grpc::Status FindConfig(const Backends& b, bool strategy,
                        const std::string& app, const std::string& name,
                        f50::GetPipelineResponse* resp) {
  f50::GetPipelineRequest req;
  req.set_kind(KindOf(strategy));
  req.set_application(app);
  req.set_name(name);
  return b.front50->GetPipeline(b.Context().get(), req, resp);
}

Response GetConfig(const Backends& b, const Request& r) {
  f50::GetPipelineResponse resp;
  grpc::Status s =
      FindConfig(b, false, r.params.at("app"), r.params.at("name"), &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.pipeline().config().json());
}

Response SaveConfig(const Backends& b, const Request& r, bool strategy,
                    const std::string& path_id = "") {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  if (!path_id.empty() && json::String(*body, "id") != path_id) {
    return http::Error(
        400, "the pipeline id in the body must match the path", r.path);
  }
  f50::SavePipelineRequest req;
  req.set_kind(KindOf(strategy));
  req.mutable_config()->set_json(r.body);
  if (QueryTrue(r, "staleCheck")) {
    if (auto at = LastModified(*body)) req.set_expected_updated_at_ms(*at);
  }
  f50::SavePipelineResponse resp;
  grpc::Status s = b.front50->SavePipeline(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  b.lists->Clear();
  if (!path_id.empty()) return http::Json(200, resp.pipeline().config().json());
  return Empty();
}

Response DeleteConfig(const Backends& b, const Request& r, bool strategy) {
  f50::GetPipelineResponse found;
  grpc::Status s =
      FindConfig(b, strategy, r.params.at("app"), r.params.at("name"), &found);
  if (!s.ok()) return ErrorResponse(s, r);
  f50::DeleteObjectRequest req;
  req.set_type(strategy ? f50::OBJECT_TYPE_STRATEGY
                        : f50::OBJECT_TYPE_PIPELINE);
  req.set_key(found.pipeline().id());
  f50::DeleteObjectResponse resp;
  s = b.front50->DeleteObject(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  b.lists->Clear();
  return Empty();
}

// POST /actions/pipelines/reorder {application, idsToIndices} (Deck's drag and
// drop).
Response ReorderConfigs(const Backends& b, const Request& r, bool strategy) {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  auto ids = body->find("idsToIndices");
  if (json::String(*body, "application").empty() || ids == body->end() ||
      !ids->is_object()) {
    return http::Error(400, "application and idsToIndices are required",
                               r.path);
  }
  f50::ReorderPipelinesRequest req;
  req.set_kind(KindOf(strategy));
  req.set_application(json::String(*body, "application"));
  for (const auto& [id, index] : ids->items()) {
    if (!index.is_number_integer()) {
      return http::Error(400, "idsToIndices values must be integers",
                                 r.path);
    }
    (*req.mutable_indices_by_id())[id] = index.get<int>();
  }
  f50::ReorderPipelinesResponse resp;
  grpc::Status s = b.front50->ReorderPipelines(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  b.lists->Clear();
  return Empty();
}

Response ListAllConfigs(const Backends& b, const Request& r, bool strategy) {
  f50::ListAllPipelinesRequest req;
  req.set_kind(KindOf(strategy));
  f50::ListAllPipelinesResponse resp;
  grpc::Status s = b.front50->ListAllPipelines(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  std::vector<const std::string*> items;
  for (const auto& p : resp.pipelines()) items.push_back(&p.config().json());
  return http::Json(200, JoinArray(items));
}

Response History(const Backends& b, const Request& r, f50::ObjectType type,
                 const std::string& key) {
  f50::ListObjectHistoryRequest req;
  req.set_type(type);
  req.set_key(key);
  req.set_limit(QueryInt(r, "limit", 20));
  f50::ListObjectHistoryResponse resp;
  grpc::Status s = b.front50->ListObjectHistory(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  std::vector<const std::string*> items;
  for (const auto& v : resp.versions()) items.push_back(&v.body().json());
  return http::Json(200, JoinArray(items));
}

// --- projects ---

Response ListProjects(const Backends& b, const Request& r) {
  f50::ListProjectsResponse resp;
  grpc::Status s = b.front50->ListProjects(b.Context().get(), {}, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  std::vector<const std::string*> items;
  for (const auto& p : resp.projects()) items.push_back(&p.body().json());
  return http::Json(200, JoinArray(items));
}

Response GetProject(const Backends& b, const Request& r) {
  f50::GetProjectRequest req;
  req.set_id_or_name(r.params.at("id"));
  f50::GetProjectResponse resp;
  grpc::Status s = b.front50->GetProject(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.project().body().json());
}

Response SaveProject(const Backends& b, const Request& r) {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  f50::SaveProjectRequest req;
  if (r.params.count("id")) req.mutable_project()->set_id(r.params.at("id"));
  req.mutable_project()->mutable_body()->set_json(r.body);
  f50::SaveProjectResponse resp;
  grpc::Status s = b.front50->SaveProject(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.project().body().json());
}

Response DeleteProject(const Backends& b, const Request& r) {
  f50::GetProjectRequest get;
  get.set_id_or_name(r.params.at("id"));
  f50::GetProjectResponse found;
  grpc::Status s = b.front50->GetProject(b.Context().get(), get, &found);
  if (!s.ok()) return ErrorResponse(s, r);
  f50::DeleteObjectRequest req;
  req.set_type(f50::OBJECT_TYPE_PROJECT);
  req.set_key(found.project().id());
  f50::DeleteObjectResponse resp;
  s = b.front50->DeleteObject(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return Empty();
}

// --- v2 pipeline templates ---

Response ListTemplates(const Backends& b, const Request& r) {
  f50::ListPipelineTemplatesRequest req;
  // spin always sends scopes=, possibly empty: empty means all.
  for (const auto& [k, v] : r.query) {
    if (k == "scopes" && !v.empty()) req.add_scopes(v);
  }
  f50::ListPipelineTemplatesResponse resp;
  grpc::Status s =
      b.front50->ListPipelineTemplates(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  std::vector<const std::string*> items;
  for (const auto& t : resp.templates()) items.push_back(&t.body().json());
  return http::Json(200, JoinArray(items));
}

Response GetTemplate(const Backends& b, const Request& r) {
  f50::GetPipelineTemplateRequest req;
  req.set_id(r.params.at("id"));
  req.set_tag(r.Query("tag"));
  f50::GetPipelineTemplateResponse resp;
  grpc::Status s =
      b.front50->GetPipelineTemplate(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.template_().body().json());
}

Response SaveTemplate(const Backends& b, const Request& r, bool create) {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  std::string id =
      r.params.count("id") ? r.params.at("id") : json::String(*body, "id");
  if (id.empty())
    return http::Error(400, "pipeline template id is required", r.path);
  if (!r.params.count("id") && json::String(*body, "schema").empty()) {
    return http::Error(400, "pipeline template schema is required",
                               r.path);
  }
  f50::SavePipelineTemplateRequest req;
  req.mutable_template_()->set_id(id);
  req.mutable_template_()->set_tag(r.Query("tag"));
  req.mutable_template_()->mutable_body()->set_json(r.body);
  req.set_create_only(create);
  f50::SavePipelineTemplateResponse resp;
  grpc::Status s =
      b.front50->SavePipelineTemplate(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return Empty();
}

Response DeleteTemplate(const Backends& b, const Request& r) {
  f50::DeleteObjectRequest req;
  req.set_type(f50::OBJECT_TYPE_PIPELINE_TEMPLATE);
  std::string tag = r.Query("tag");
  req.set_key(tag.empty() ? r.params.at("id")
                          : absl::StrCat(r.params.at("id"), ":", tag));
  f50::DeleteObjectResponse resp;
  grpc::Status s = b.front50->DeleteObject(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return Empty(202);  // spin requires 202 here
}

// --- notifications ---

Response GetNotifications(const Backends& b, const Request& r) {
  f50::GetNotificationsRequest req;
  req.set_level(f50::NOTIFICATION_LEVEL_APPLICATION);
  req.set_application(r.params.at("app"));
  f50::GetNotificationsResponse resp;
  grpc::Status s = b.front50->GetNotifications(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, resp.notifications().body().json());
}

Response SaveNotifications(const Backends& b, const Request& r) {
  auto body = ParseBody(r);
  if (!body.ok()) return http::ErrorFromStatus(body.status(), r.path);
  f50::SaveNotificationsRequest req;
  req.mutable_notifications()->set_level(f50::NOTIFICATION_LEVEL_APPLICATION);
  req.mutable_notifications()->set_application(r.params.at("app"));
  req.mutable_notifications()->mutable_body()->set_json(r.body);
  f50::SaveNotificationsResponse resp;
  grpc::Status s = b.front50->SaveNotifications(b.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return Empty();
}

Response CorsPreflight(const Request&) { return Empty(); }

}  // namespace

http::Router MakeRestRouter(const RestBackends& config) {
  auto b = std::make_shared<Backends>();
  b->front50 = f50::Front50Service::NewStub(config.front50);
  b->deadline = config.deadline;
  b->version = config.version;
  b->cors_origins =
      std::make_unique<RE2>(config.cors_allowed_origins, RE2::Quiet);
  b->lists = std::make_unique<ListCache>(b->front50.get());

  http::Router router;
  // Every route: anonymous identity until authentication lands, CORS headers
  // for Deck.
  AddRoute add_route = [&router, b](absl::string_view method,
                                    absl::string_view pattern,
                                    http::Handler h) {
    router.Add(method, pattern, [b, h = std::move(h)](const Request& r) {
      CallContext ctx = CurrentCallContext();
      ctx.user = "anonymous";
      ScopedCallContext scope(std::move(ctx));
      Response resp = h(r);
      // Like Spinnaker's CorsFilter: only an allowed origin is echoed (with
      // credentials).
      std::string origin = r.Header("origin");
      if (origin.empty() || !b->cors_origins->ok() ||
          !RE2::FullMatch(origin, *b->cors_origins)) {
        return resp;
      }
      resp.headers.emplace_back("Access-Control-Allow-Origin", origin);
      resp.headers.emplace_back("Access-Control-Allow-Credentials", "true");
      resp.headers.emplace_back("Access-Control-Allow-Methods",
                                "POST, GET, OPTIONS, DELETE, PUT, PATCH");
      resp.headers.emplace_back("Access-Control-Max-Age", "3600");
      resp.headers.emplace_back(
          "Access-Control-Allow-Headers",
          "x-requested-with, content-type, authorization, X-RateLimit-App, "
          "X-Spinnaker-Priority");
      return resp;
    });
  };
  auto add = [&add_route, b](
                 const char* method, const char* pattern,
                 std::function<Response(const Backends&, const Request&)> h) {
    add_route(method, pattern,
              [b, h = std::move(h)](const Request& r) { return h(*b, r); });
  };
  add("GET", "/health", [](const Backends&, const Request&) {
    return http::Json(200, R"({"status":"UP"})");
  });
  add("GET", "/version", [](const Backends& b, const Request&) {
    return http::Json(200, json::Dump(Json{{"version", b.version}}));
  });
  add("GET", "/auth/user", [](const Backends&, const Request&) {
    return http::Json(
        200, R"({"username":"anonymous","email":null,"firstName":null,)"
             R"("lastName":null,"roles":[],"allowedAccounts":[],)"
             R"("authorities":[],"enabled":true,"accountNonExpired":true,)"
             R"("accountNonLocked":true,"credentialsNonExpired":true})");
  });
  add("GET", "/plugins/deck/plugin-manifest.json",
      [](const Backends&, const Request&) { return http::Json(200, "[]"); });
  std::shared_ptr<clouddriver::v1::ClouddriverService::StubInterface>
      clouddriver =
          clouddriver::v1::ClouddriverService::NewStub(config.clouddriver);
  // Accounts, clusters, server groups, load balancers, security groups,
  // instances and search (clouddriver).
  AddInfrastructureRoutes(clouddriver, config.clouddriver_deadline, add_route);
  // Deck's pipeline editor asks what is preconfigured; nothing is until
  // echo/orca add it.
  for (const char* path : {"/notifications/metadata", "/jobs/preconfigured",
                           "/webhooks/preconfigured"}) {
    add("GET", path,
        [](const Backends&, const Request&) { return http::Json(200, "[]"); });
  }

  // front50's applications merged with clouddriver's view.
  AddApplicationRoutes(f50::Front50Service::NewStub(config.front50),
                       config.deadline, clouddriver,
                       config.clouddriver_deadline, add_route);
  // Executions, pipeline triggers and tasks (orca).
  AddExecutionRoutes(orca::v1::OrcaService::NewStub(config.orca),
                     config.orca_deadline, add_route);

  add("GET", "/applications/{app}/pipelineConfigs",
      [](const Backends& b, const Request& r) {
        return ListConfigs(b, r, false);
      });
  add("GET", "/applications/{app}/pipelineConfigs/{name}", GetConfig);
  add("POST", "/pipelines", [](const Backends& b, const Request& r) {
    return SaveConfig(b, r, false);
  });
  add("PUT", "/pipelines/{id}", [](const Backends& b, const Request& r) {
    return SaveConfig(b, r, false, r.params.at("id"));
  });
  add("DELETE", "/pipelines/{app}/{name}",
      [](const Backends& b, const Request& r) {
        return DeleteConfig(b, r, false);
      });
  add("POST", "/actions/pipelines/reorder",
      [](const Backends& b, const Request& r) {
        return ReorderConfigs(b, r, false);
      });
  add("POST", "/actions/strategies/reorder",
      [](const Backends& b, const Request& r) {
        return ReorderConfigs(b, r, true);
      });
  add("GET", "/pipelineConfigs", [](const Backends& b, const Request& r) {
    return ListAllConfigs(b, r, false);
  });
  add("GET", "/pipelineConfigs/{id}/history",
      [](const Backends& b, const Request& r) {
        return History(b, r, f50::OBJECT_TYPE_PIPELINE, r.params.at("id"));
      });

  add("GET", "/applications/{app}/strategyConfigs",
      [](const Backends& b, const Request& r) {
        return ListConfigs(b, r, true);
      });
  add("POST", "/strategies", [](const Backends& b, const Request& r) {
    return SaveConfig(b, r, true);
  });
  add("DELETE", "/strategies/{app}/{name}",
      [](const Backends& b, const Request& r) {
        return DeleteConfig(b, r, true);
      });
  add("GET", "/strategyConfigs", [](const Backends& b, const Request& r) {
    return ListAllConfigs(b, r, true);
  });

  add("GET", "/projects", ListProjects);
  add("GET", "/projects/{id}", GetProject);
  add("POST", "/projects", SaveProject);
  add("PUT", "/projects/{id}", SaveProject);
  add("DELETE", "/projects/{id}", DeleteProject);

  add("GET", "/v2/pipelineTemplates", ListTemplates);
  add("GET", "/v2/pipelineTemplates/{id}", GetTemplate);
  add("POST", "/v2/pipelineTemplates/create",
      [](const Backends& b, const Request& r) {
        return SaveTemplate(b, r, true);
      });
  add("POST", "/v2/pipelineTemplates/update/{id}",
      [](const Backends& b, const Request& r) {
        return SaveTemplate(b, r, false);
      });
  add("DELETE", "/v2/pipelineTemplates/{id}", DeleteTemplate);

  add("GET", "/notifications/application/{app}", GetNotifications);
  add("POST", "/notifications/application/{app}", SaveNotifications);

  add("OPTIONS", "/**",
      [](const Backends&, const Request& r) { return CorsPreflight(r); });
  return router;
}

}  // namespace gennaker::gate
