#include "services/gate/gate_projects.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/fiat/authorizer.h"
#include "common/spinnaker/json.h"
#include "common/status/grpc_status.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_authz.h"
#include "services/gate/gate_executions.h"
#include "services/gate/json_array.h"
#include "services/gate/request.h"

namespace gennaker::gate {
namespace {

namespace f50 = front50::v1;
using Json = nlohmann::json;
using http::Request;
using http::Response;

absl::StatusOr<Json> ProjectBody(const Backends& b, const std::string& id) {
  f50::GetProjectRequest req;
  req.set_id_or_name(id);
  f50::GetProjectResponse resp;
  grpc::Status s =
      b.front50.stub->GetProject(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  absl::StatusOr<Json> body =
      spinnaker::ParseJson(resp.project().body().json(), "project");
  if (!body.ok() || !body->is_object()) return Json::object();
  return body;
}

// The list `key` of the project's config (null or absent: none).
const Json& ConfigList(const Json& project, const char* key) {
  static const Json kNone = Json::array();
  auto config = project.find("config");
  if (config == project.end() || !config->is_object()) return kNone;
  auto list = config->find(key);
  return list != config->end() && list->is_array() ? *list : kNone;
}

// GET /projects/{id}/pipelines?limit=&statuses=: the newest `limit` (5)
// executions of each pipeline config the project lists, newest first, only
// of applications the caller may READ (the project dashboard).
Response ListProjectPipelines(const Backends& b, const Request& r) {
  absl::StatusOr<Json> project = ProjectBody(b, r.params.at("id"));
  if (!project.ok()) return ErrorResponse(project.status(), r);
  orca::v1::ListExecutionsRequest req;
  req.set_type(common::v1::PIPELINE);
  for (const Json& p : ConfigList(*project, "pipelineConfigs")) {
    std::string id = spinnaker::String(p, "pipelineConfigId");
    if (!id.empty()) req.add_pipeline_config_ids(std::move(id));
  }
  absl::StatusOr<int> limit = QueryPositiveInt(r, "limit", 5);
  if (!limit.ok()) return ErrorResponse(limit.status(), r);
  req.set_limit(*limit);
  for (const std::string& name : r.QueryList("statuses")) {
    absl::StatusOr<orca::v1::ExecutionStatus> status =
        ParseExecutionStatus(name);
    if (!status.ok()) return ErrorResponse(status.status(), r);
    req.add_statuses(*status);
  }
  if (req.pipeline_config_ids().empty()) return http::Json(200, "[]");
  req.set_view(orca::v1::EXECUTION_VIEW_FULL);
  const Orca& orca = b.orca;
  orca::v1::ListExecutionsResponse resp;
  grpc::Status s = orca.stub->ListExecutions(orca.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  absl::StatusOr<std::shared_ptr<const fiat::v1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
  std::vector<const orca::v1::Execution*> kept;
  for (const auto& e : resp.executions()) {
    if (fiat::Allows(**caller, fiat::v1::RESOURCE_TYPE_APPLICATION,
                     e.application(), fiat::v1::AUTHORIZATION_READ)) {
      kept.push_back(&e);
    }
  }
  std::stable_sort(kept.begin(), kept.end(), [](const auto* x, const auto* y) {
    if (x->build_time_ms() != y->build_time_ms())
      return x->build_time_ms() > y->build_time_ms();
    return x->id() > y->id();
  });
  return http::Json(
      200, JoinArray(kept, [](const orca::v1::Execution* e) -> std::string {
        return e->json().json().empty() ? "{}" : e->json().json();
      }));
}

// Spinnaker's instance counts of a project cluster.
void AddCounts(const clouddriver::v1::InstanceCounts& c, Json& into) {
  auto add = [&into](const char* key, int64_t n) {
    into[key] = into.value(key, int64_t{0}) + n;
  };
  add("total", c.total());
  add("up", c.up());
  add("down", c.down());
  add("unknown", c.unknown());
  add("outOfService", c.out_of_service());
  add("starting", c.starting());
}

Json ZeroCounts() {
  clouddriver::v1::InstanceCounts none;
  Json counts = Json::object();
  AddCounts(none, counts);
  return counts;
}

// A project cluster's stack or detail: "*" takes any.
bool NamePartMatches(const std::string& wanted, const std::string& actual) {
  return wanted == "*" || wanted == actual;
}

// GET /projects/{id}/clusters: for each cluster the project config lists
// ({account, stack, detail, applications}; no applications: the project's),
// the applications with server groups in it: {application, lastPush,
// clusters: [{region, lastPush, instanceCounts, builds}]}, and the cluster's
// instanceCounts. Counts are of enabled server groups; lastPush is the newest
// server group's creation. Applications the caller may not READ are left out,
// and so are the cluster entries of accounts the caller may not READ (their
// server groups are not the caller's to see).
Response ListProjectClusters(const Backends& b, const Request& r) {
  absl::StatusOr<Json> project = ProjectBody(b, r.params.at("id"));
  if (!project.ok()) return ErrorResponse(project.status(), r);
  absl::StatusOr<std::shared_ptr<const fiat::v1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
  const Clouddriver& c = b.clouddriver;
  // Each application's server groups, read once per request.
  std::map<std::string, clouddriver::v1::ListServerGroupsResponse> groups;
  auto groups_of = [&](const std::string& app)
      -> absl::StatusOr<const clouddriver::v1::ListServerGroupsResponse*> {
    auto it = groups.find(app);
    if (it != groups.end()) return &it->second;
    clouddriver::v1::ListServerGroupsRequest req;
    req.set_application(app);
    clouddriver::v1::ListServerGroupsResponse resp;
    grpc::Status s = c.stub->ListServerGroups(c.Context().get(), req, &resp);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return FromGrpcStatus(s);
    }
    return &groups.emplace(app, std::move(resp)).first->second;
  };
  std::vector<std::string> project_apps;
  for (const Json& a : ConfigList(*project, "applications")) {
    if (a.is_string()) project_apps.push_back(a.get<std::string>());
  }
  Json out = Json::array();
  for (const Json& cluster : ConfigList(*project, "clusters")) {
    if (!cluster.is_object()) continue;
    const std::string account = spinnaker::String(cluster, "account");
    if (!fiat::Allows(**caller, fiat::v1::RESOURCE_TYPE_ACCOUNT, account,
                      fiat::v1::AUTHORIZATION_READ)) {
      continue;
    }
    const std::string stack = spinnaker::String(cluster, "stack");
    const std::string detail = spinnaker::String(cluster, "detail");
    std::vector<std::string> apps;
    if (auto it = cluster.find("applications");
        it != cluster.end() && it->is_array() && !it->empty()) {
      for (const Json& a : *it) {
        if (a.is_string()) apps.push_back(a.get<std::string>());
      }
    } else {
      apps = project_apps;
    }
    Json model = Json::object();
    model["account"] = account;
    model["stack"] = stack;
    model["detail"] = detail;
    Json app_models = Json::array();
    Json cluster_counts = ZeroCounts();
    for (const std::string& app : apps) {
      if (!fiat::Allows(**caller, fiat::v1::RESOURCE_TYPE_APPLICATION, app,
                        fiat::v1::AUTHORIZATION_READ)) {
        continue;
      }
      auto listed = groups_of(app);
      if (!listed.ok()) return ErrorResponse(listed.status(), r);
      std::map<std::string, Json> regions;
      int64_t app_last_push = 0;
      for (const auto& g : (*listed)->server_groups()) {
        if (g.account() != account ||
            !NamePartMatches(stack, g.moniker().stack()) ||
            !NamePartMatches(detail, g.moniker().detail())) {
          continue;
        }
        Json& region = regions[g.region()];
        if (region.is_null()) {
          region = Json{{"region", g.region()},
                        {"lastPush", int64_t{0}},
                        {"instanceCounts", ZeroCounts()},
                        {"builds", Json::array()}};
        }
        if (g.created_time_ms() > region["lastPush"].get<int64_t>()) {
          region["lastPush"] = g.created_time_ms();
        }
        app_last_push = std::max(app_last_push, g.created_time_ms());
        if (!g.disabled()) {
          AddCounts(g.instance_counts(), region["instanceCounts"]);
          AddCounts(g.instance_counts(), cluster_counts);
        }
      }
      if (regions.empty()) continue;
      Json region_models = Json::array();
      for (auto& [name, region] : regions) {
        region_models.push_back(std::move(region));
      }
      app_models.push_back(Json{{"application", app},
                                {"lastPush", app_last_push},
                                {"clusters", std::move(region_models)}});
    }
    model["applications"] = std::move(app_models);
    model["instanceCounts"] = std::move(cluster_counts);
    out.push_back(std::move(model));
  }
  return http::Json(200, spinnaker::Dump(out));
}

}  // namespace

void AddProjectDashboardRoutes(std::shared_ptr<const Backends> backends,
                               const AddRoute& add) {
  RouteAdder<Backends> get(add, std::move(backends));
  get("GET", "/projects/{id}/pipelines", ListProjectPipelines);
  get("GET", "/projects/{id}/clusters", ListProjectClusters);
}

}  // namespace gennaker::gate
