#include "services/gate/gate_infrastructure.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/grpc/channel.h"
#include "common/json/json_fields.h"
#include "common/status/grpc_status.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {
namespace {

using http::Request;
using http::Response;
using Json = nlohmann::ordered_json;
namespace cd = clouddriver::v1;

// How handlers reach clouddriver.
using Clouddriver = Backend<cd::ClouddriverService::StubInterface>;

// --- query parameters ---

// A positive integer parameter; absent or empty is `fallback`.
absl::StatusOr<int> QueryPositiveInt(const Request& r, const std::string& name,
                                     int fallback) {
  absl::string_view v = absl::StripAsciiWhitespace(r.Query(name));
  if (v.empty()) return fallback;
  int n;
  if (!absl::SimpleAtoi(v, &n) || n < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query parameter '", name, "' must be a positive integer"));
  }
  return n;
}

// The comma-separated values of every `name` parameter, empty ones dropped.
std::vector<std::string> QueryList(const Request& r, const std::string& name) {
  std::vector<std::string> out;
  auto [begin, end] = r.query.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    for (absl::string_view v : absl::StrSplit(it->second, ',')) {
      v = absl::StripAsciiWhitespace(v);
      if (!v.empty()) out.emplace_back(v);
    }
  }
  return out;
}

// Characters (UTF-8 code points) in `s`.
size_t CodePoints(absl::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
}

// --- JSON ---

// The JSON clouddriver sent, parsed; null when it sent none or nothing
// parseable.
Json Parse(const common::v1::JsonObject& object) {
  const std::string& text = object.json();
  if (text.empty() || !json::WithinNesting(text)) return Json();
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json() : j;
}

// clouddriver's rendering parsed, or `build()` when it sent none.
template <typename Build>
Json ValueOr(const common::v1::JsonObject& object, Build build) {
  Json j = Parse(object);
  return j.is_null() ? build() : j;
}

// clouddriver's rendering as sent, or `build()` serialized when it sent none.
template <typename Build>
std::string TextOr(const common::v1::JsonObject& object, Build build) {
  return object.json().empty() ? json::Dump(build()) : object.json();
}

// A JSON array of JSON texts, without re-parsing them.
std::string JoinArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += items[i];
  }
  return out + "]";
}

template <typename Strings>
Json StringArray(const Strings& values) {
  Json out = Json::array();
  for (const std::string& v : values) out.push_back(v);
  return out;
}

// --- Spinnaker shapes built from typed fields (when `json` is empty) ---

Json MonikerJson(const common::v1::Moniker& m) {
  Json j = Json::object();
  j["app"] = m.app();
  if (!m.cluster().empty()) j["cluster"] = m.cluster();
  if (!m.stack().empty()) j["stack"] = m.stack();
  if (!m.detail().empty()) j["detail"] = m.detail();
  if (m.has_sequence()) j["sequence"] = m.sequence();
  return j;
}

// Spinnaker's HealthState names.
const char* HealthStateName(cd::HealthState state) {
  switch (state) {
    case cd::HEALTH_STATE_FAILED:
      return "Failed";
    case cd::HEALTH_STATE_DOWN:
      return "Down";
    case cd::HEALTH_STATE_OUT_OF_SERVICE:
      return "OutOfService";
    case cd::HEALTH_STATE_STARTING:
      return "Starting";
    case cd::HEALTH_STATE_SUCCEEDED:
      return "Succeeded";
    case cd::HEALTH_STATE_UP:
      return "Up";
    case cd::HEALTH_STATE_DRAINING:
      return "Draining";
    default:
      return "Unknown";
  }
}

Json HealthJson(const cd::Instance& instance) {
  Json out = Json::array();
  for (const cd::Health& h : instance.health()) {
    Json j = {{"type", h.type()}, {"state", HealthStateName(h.state())}};
    if (!h.health_class().empty()) j["healthClass"] = h.health_class();
    out.push_back(std::move(j));
  }
  return out;
}

const std::string& HumanReadableName(const cd::Instance& i) {
  return i.human_readable_name().empty() ? i.id() : i.human_readable_name();
}

// An instance as GET /instances/{account}/{region}/{id} serves it.
Json InstanceJson(const cd::Instance& i) {
  Json j = Json::object();
  j["name"] = i.id();
  j["humanReadableName"] = HumanReadableName(i);
  j["account"] = i.account();
  j["region"] = i.region();
  j["zone"] = i.zone();
  j["cloudProvider"] = i.cloud_provider();
  j["providerType"] = i.cloud_provider();
  if (!i.server_group().empty()) j["serverGroup"] = i.server_group();
  j["healthState"] = HealthStateName(i.health_state());
  j["health"] = HealthJson(i);
  if (i.launch_time_ms() > 0) j["launchTime"] = i.launch_time_ms();
  return j;
}

// An instance inside a server group list (Spinnaker's InstanceViewModel).
Json InstanceViewJson(const cd::Instance& i) {
  Json j = Json::object();
  j["id"] = i.id();
  j["name"] = HumanReadableName(i);
  j["healthState"] = HealthStateName(i.health_state());
  if (i.launch_time_ms() > 0) j["launchTime"] = i.launch_time_ms();
  j["availabilityZone"] = i.zone();
  j["health"] = HealthJson(i);
  return j;
}

// A server group in the list view (Spinnaker's ServerGroupViewModel) or, with
// `list_view` false, as a single server group is served.
Json ServerGroupJson(const cd::ServerGroup& g, bool list_view) {
  Json j = Json::object();
  j["name"] = g.name();
  j["account"] = g.account();
  j["region"] = g.region();
  if (list_view) {
    j["cluster"] = g.moniker().cluster();
    j["application"] = g.moniker().app();
  }
  j["cloudProvider"] = g.cloud_provider();
  j["type"] = g.cloud_provider();
  j["moniker"] = MonikerJson(g.moniker());
  j["zones"] = StringArray(g.zones());
  j[list_view ? "isDisabled" : "disabled"] = g.disabled();
  j["createdTime"] = g.created_time_ms();
  j["capacity"] = {{"min", g.capacity().min()},
                   {"max", g.capacity().max()},
                   {"desired", g.capacity().desired()}};
  const cd::InstanceCounts& n = g.instance_counts();
  j["instanceCounts"] = {{"total", n.total()},
                         {"up", n.up()},
                         {"down", n.down()},
                         {"unknown", n.unknown()},
                         {"outOfService", n.out_of_service()},
                         {"starting", n.starting()}};
  Json instances = Json::array();
  for (const cd::Instance& i : g.instances()) {
    if (list_view) {
      instances.push_back(InstanceViewJson(i));
      continue;
    }
    // An instance's keys default to its server group's.
    cd::Instance full = i;
    if (full.account().empty()) full.set_account(g.account());
    if (full.region().empty()) full.set_region(g.region());
    if (full.cloud_provider().empty())
      full.set_cloud_provider(g.cloud_provider());
    if (full.server_group().empty()) full.set_server_group(g.name());
    instances.push_back(InstanceJson(full));
  }
  j["instances"] = std::move(instances);
  j["loadBalancers"] = StringArray(g.load_balancers());
  j["securityGroups"] = StringArray(g.security_groups());
  j["serverGroupManagers"] = Json::array();
  return j;
}

std::string ServerGroupText(const cd::ServerGroup& g, bool list_view) {
  return TextOr(g.json(), [&] { return ServerGroupJson(g, list_view); });
}

// A cluster as clouddriver's GET .../clusters/{account}/{cluster} serves it.
Json ClusterJson(const cd::Cluster& c) {
  Json j = Json::object();
  j["name"] = c.name();
  j["type"] = c.cloud_provider();
  j["accountName"] = c.account();
  j["moniker"] = MonikerJson(c.moniker());
  Json groups = Json::array();
  for (const cd::ServerGroup& g : c.server_groups()) {
    groups.push_back(
        ValueOr(g.json(), [&] { return ServerGroupJson(g, false); }));
  }
  j["serverGroups"] = std::move(groups);
  Json balancers = Json::array();
  for (const std::string& name : c.load_balancer_names())
    balancers.push_back({{"name", name}});
  j["loadBalancers"] = std::move(balancers);
  return j;
}

// Spinnaker's ClusterViewModel: names of the server groups and load balancers.
Json ClusterSummaryJson(const cd::Cluster& c) {
  Json groups = StringArray(c.server_group_names());
  if (groups.empty()) {
    for (const cd::ServerGroup& g : c.server_groups())
      groups.push_back(g.name());
  }
  Json j = Json::object();
  j["name"] = c.name();
  j["account"] = c.account();
  j["moniker"] = MonikerJson(c.moniker());
  j["loadBalancers"] = StringArray(c.load_balancer_names());
  j["serverGroups"] = std::move(groups);
  return j;
}

Json LoadBalancerJson(const cd::LoadBalancer& lb) {
  Json j = Json::object();
  j["name"] = lb.name();
  j["account"] = lb.account();
  j["region"] = lb.region();
  j["cloudProvider"] = lb.cloud_provider();
  j["type"] = lb.cloud_provider();
  j["moniker"] = MonikerJson(lb.moniker());
  if (!lb.vpc_id().empty()) j["vpcId"] = lb.vpc_id();
  Json groups = Json::array();
  for (const std::string& name : lb.server_groups()) {
    groups.push_back({{"name", name},
                      {"account", lb.account()},
                      {"region", lb.region()},
                      {"cloudProvider", lb.cloud_provider()}});
  }
  j["serverGroups"] = std::move(groups);
  return j;
}

std::string LoadBalancerText(const cd::LoadBalancer& lb) {
  return TextOr(lb.json(), [&] { return LoadBalancerJson(lb); });
}

// A security group's summary, the element of GET /securityGroups.
Json SecurityGroupSummaryJson(const cd::SecurityGroup& g) {
  Json j = {{"name", g.name()}, {"id", g.id()}};
  if (!g.vpc_id().empty()) j["vpcId"] = g.vpc_id();
  return j;
}

// A whole security group (rules are only in clouddriver's rendering).
Json SecurityGroupJson(const cd::SecurityGroup& g) {
  Json j = Json::object();
  j["type"] = g.cloud_provider();
  j["cloudProvider"] = g.cloud_provider();
  j["id"] = g.id();
  j["name"] = g.name();
  j["moniker"] = MonikerJson(g.moniker());
  j["application"] = g.application();
  j["accountName"] = g.account();
  j["region"] = g.region();
  if (!g.vpc_id().empty()) j["vpcId"] = g.vpc_id();
  j["inboundRules"] = Json::array();
  j["outboundRules"] = Json::array();
  j["summary"] = {{"name", g.name()}, {"id", g.id()}};
  return j;
}

// A search hit as a flat map, empty fields left out.
Json SearchResultJson(const cd::SearchResult& r) {
  Json j = Json::object();
  auto put = [&j](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("type", r.type());
  put("provider", r.cloud_provider());
  put("account", r.account());
  put("region", r.region());
  put("application", r.application());
  put("name", r.name());
  return j;
}

// An account as Spinnaker's Gate renders it (AccountDetails): clouddriver's
// JSON with the typed fields it lacks, and gate's `authorized`.
Json AccountJson(const cd::Account& a) {
  Json j = Parse(a.json());
  if (!j.is_object()) j = Json::object();
  auto fill = [&j](const char* key, Json value) {
    if (!j.contains(key)) j[key] = std::move(value);
  };
  fill("name", a.name());
  fill("type", a.cloud_provider());
  fill("cloudProvider", a.cloud_provider());
  fill("accountType", a.account_type());
  fill("accountId", a.account_id());
  fill("environment", a.environment());
  fill("primaryAccount", a.primary_account());
  fill("challengeDestructiveActions", a.challenge_destructive_actions());
  if (!a.regions().empty()) {
    Json regions = Json::array();
    for (const std::string& r : a.regions()) regions.push_back({{"name", r}});
    fill("regions", std::move(regions));
  }
  const cd::Permissions& p = a.permissions();
  if (!p.read().empty() || !p.write().empty() || !p.execute().empty()) {
    Json permissions = Json::object();
    if (!p.read().empty()) permissions["READ"] = StringArray(p.read());
    if (!p.write().empty()) permissions["WRITE"] = StringArray(p.write());
    if (!p.execute().empty()) permissions["EXECUTE"] = StringArray(p.execute());
    fill("permissions", std::move(permissions));
  }
  fill("requiredGroupMembership", StringArray(a.required_group_membership()));
  // Gate's own verdict; fiat decides once authorization lands.
  j["authorized"] = true;
  return j;
}

bool IsNotFound(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::NOT_FOUND;
}

// --- credentials ---

// GET /credentials?expand=
Response ListCredentials(const Clouddriver& c, const Request& r) {
  absl::StatusOr<bool> expand = QueryBool(r, "expand", false);
  if (!expand.ok()) return ErrorResponse(expand.status(), r);
  cd::ListAccountsRequest req;
  req.set_expand(*expand);
  cd::ListAccountsResponse resp;
  grpc::Status s = c.stub->ListAccounts(c.Context().get(), req, &resp);
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    // No cloud provider is built: there are no accounts.
    return http::Json(200, "[]");
  }
  if (!s.ok()) return ErrorResponse(s, r);
  Json out = Json::array();
  for (const auto& a : resp.accounts()) out.push_back(AccountJson(a));
  return http::Json(200, json::Dump(out));
}

// GET /credentials/{account}: 404 for an unknown account (spin prints "not
// found").
Response GetCredential(const Clouddriver& c, const Request& r) {
  cd::GetAccountRequest req;
  req.set_name(r.params.at("account"));
  cd::GetAccountResponse resp;
  grpc::Status s = c.stub->GetAccount(c.Context().get(), req, &resp);
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    // No cloud provider is built: no account exists.
    return http::Error(404, "account '" + req.name() + "' not found",
                               r.path);
  }
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, json::Dump(AccountJson(resp.account())));
}

// --- clusters ---

// GET /applications/{app}/clusters: {"account": ["cluster", ...]}, accounts
// and names sorted.
Response ListClusterNames(const Clouddriver& c, const Request& r) {
  cd::ListClustersRequest req;
  req.set_application(r.params.at("app"));
  cd::ListClustersResponse resp;
  grpc::Status s = c.stub->ListClusters(c.Context().get(), req, &resp);
  if (IsNotFound(s)) return http::Json(200, "{}");
  if (!s.ok()) return ErrorResponse(s, r);
  std::map<std::string, std::set<std::string>> by_account;
  for (const cd::Cluster& cluster : resp.clusters())
    by_account[cluster.account()].insert(cluster.name());
  Json out = Json::object();
  for (const auto& [account, names] : by_account)
    out[account] = StringArray(names);
  return http::Json(200, json::Dump(out));
}

// GET /applications/{app}/clusters/{account}: cluster summaries; 404 when the
// account has none (clouddriver's answer).
Response ListAccountClusters(const Clouddriver& c, const Request& r) {
  cd::ListClustersRequest req;
  req.set_application(r.params.at("app"));
  req.set_account(r.params.at("account"));
  cd::ListClustersResponse resp;
  grpc::Status s = c.stub->ListClusters(c.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  if (resp.clusters().empty()) {
    return http::Error(
        404,
        absl::StrCat("No clusters found (application: ", req.application(),
                     ", account: ", req.account(), ")"),
        r.path);
  }
  Json out = Json::array();
  for (const cd::Cluster& cluster : resp.clusters())
    out.push_back(ClusterSummaryJson(cluster));
  return http::Json(200, json::Dump(out));
}

grpc::Status FetchCluster(const Clouddriver& c, const Request& r,
                          const std::string& cloud_provider, bool expand,
                          cd::GetClusterResponse* resp) {
  cd::GetClusterRequest req;
  req.set_application(r.params.at("app"));
  req.set_account(r.params.at("account"));
  req.set_cluster(r.params.at("cluster"));
  req.set_cloud_provider(cloud_provider);
  req.set_expand(expand);
  return c.stub->GetCluster(c.Context().get(), req, resp);
}

// GET /applications/{app}/clusters/{account}/{cluster}: like Spinnaker's Gate,
// the first cluster of that name (one exists per cloud provider) and {} when
// there is none.
Response GetFirstCluster(const Clouddriver& c, const Request& r) {
  cd::GetClusterResponse resp;
  grpc::Status s = FetchCluster(c, r, "", true, &resp);
  if (IsNotFound(s)) return http::Json(200, "{}");
  if (!s.ok()) return ErrorResponse(s, r);
  if (resp.clusters().empty()) return http::Json(200, "{}");
  const cd::Cluster& first = resp.clusters(0);
  return http::Json(200,
                    TextOr(first.json(), [&] { return ClusterJson(first); }));
}

// GET /applications/{app}/clusters/{account}/{cluster}/serverGroups[/{name}]:
// the server groups of the first cluster (gate's view), those named `name`
// when given; [] when there is no such cluster.
Response ListClusterServerGroups(const Clouddriver& c, const Request& r) {
  cd::GetClusterResponse resp;
  grpc::Status s = FetchCluster(c, r, "", true, &resp);
  if (IsNotFound(s)) return http::Json(200, "[]");
  if (!s.ok()) return ErrorResponse(s, r);
  if (resp.clusters().empty()) return http::Json(200, "[]");
  const cd::Cluster& first = resp.clusters(0);
  Json cluster = ValueOr(first.json(), [&] { return ClusterJson(first); });
  if (!cluster.is_object()) return http::Json(200, "[]");
  auto groups = cluster.find("serverGroups");
  if (groups == cluster.end() || !groups->is_array())
    return http::Json(200, "[]");
  Json out = Json::array();
  auto name = r.params.find("serverGroup");
  for (Json& g : *groups) {
    if (name != r.params.end() && json::String(g, "name") != name->second)
      continue;
    out.push_back(std::move(g));
  }
  return http::Json(200, json::Dump(out));
}

// GET /applications/{app}/clusters/{account}/{cluster}/{cloudProvider}
// ?expand=: that provider's cluster; 404 when missing.
Response GetProviderCluster(const Clouddriver& c, const Request& r) {
  absl::StatusOr<bool> expand = QueryBool(r, "expand", true);
  if (!expand.ok()) return ErrorResponse(expand.status(), r);
  const std::string& provider = r.params.at("cloudProvider");
  cd::GetClusterResponse resp;
  grpc::Status s = FetchCluster(c, r, provider, *expand, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  for (const cd::Cluster& cluster : resp.clusters()) {
    if (cluster.cloud_provider() != provider) continue;
    return http::Json(
        200, TextOr(cluster.json(), [&] { return ClusterJson(cluster); }));
  }
  return http::Error(
      404,
      absl::StrCat("No clusters found (application: ", r.params.at("app"),
                   ", account: ", r.params.at("account"), ", type: ", provider,
                   ")"),
      r.path);
}

// GET .../{cloudProvider}/{scope}/serverGroups/target/{target}
// ?onlyEnabled=&validateOldest=
Response GetTargetServerGroup(const Clouddriver& c, const Request& r) {
  absl::StatusOr<cd::ServerGroupTarget> target =
      ParseServerGroupTarget(r.params.at("target"));
  if (!target.ok()) return ErrorResponse(target.status(), r);
  absl::StatusOr<bool> only_enabled = QueryBool(r, "onlyEnabled", false);
  if (!only_enabled.ok()) return ErrorResponse(only_enabled.status(), r);
  absl::StatusOr<bool> validate_oldest = QueryBool(r, "validateOldest", true);
  if (!validate_oldest.ok()) return ErrorResponse(validate_oldest.status(), r);
  cd::GetTargetServerGroupRequest req;
  req.set_application(r.params.at("app"));
  req.set_account(r.params.at("account"));
  req.set_cluster(r.params.at("cluster"));
  req.set_cloud_provider(r.params.at("cloudProvider"));
  req.set_region(r.params.at("scope"));
  req.set_target(*target);
  req.set_only_enabled(*only_enabled);
  req.set_validate_oldest(*validate_oldest);
  cd::GetTargetServerGroupResponse resp;
  grpc::Status s = c.stub->GetTargetServerGroup(c.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, ServerGroupText(resp.server_group(), false));
}

// --- server groups ---

// GET /applications/{app}/serverGroups?expand=&cloudProvider=&clusters=
Response ListServerGroups(const Clouddriver& c, const Request& r) {
  absl::StatusOr<bool> expand = QueryBool(r, "expand", false);
  if (!expand.ok()) return ErrorResponse(expand.status(), r);
  cd::ListServerGroupsRequest req;
  req.set_application(r.params.at("app"));
  for (std::string& cluster : QueryList(r, "clusters")) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(cluster, absl::MaxSplits(':', 1));
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return http::Error(400,
                                 "query parameter 'clusters' must list "
                                 "account:cluster pairs",
                                 r.path);
    }
    req.add_clusters(std::move(cluster));
  }
  req.set_cloud_provider(r.Query("cloudProvider"));
  req.set_expand(*expand);
  cd::ListServerGroupsResponse resp;
  grpc::Status s = c.stub->ListServerGroups(c.Context().get(), req, &resp);
  if (IsNotFound(s)) return http::Json(200, "[]");
  if (!s.ok()) return ErrorResponse(s, r);
  std::vector<std::string> items;
  items.reserve(resp.server_groups_size());
  for (const cd::ServerGroup& g : resp.server_groups())
    items.push_back(ServerGroupText(g, true));
  return http::Json(200, JoinArray(items));
}

// GET /applications/{app}/serverGroups/{account}/{region}/{name}
// ?includeDetails= (default true, as in Spinnaker).
Response GetServerGroup(const Clouddriver& c, const Request& r) {
  absl::StatusOr<bool> details = QueryBool(r, "includeDetails", true);
  if (!details.ok()) return ErrorResponse(details.status(), r);
  cd::GetServerGroupRequest req;
  req.set_application(r.params.at("app"));
  req.mutable_ref()->set_account(r.params.at("account"));
  req.mutable_ref()->set_region(r.params.at("region"));
  req.mutable_ref()->set_name(r.params.at("name"));
  req.set_include_details(*details);
  cd::GetServerGroupResponse resp;
  grpc::Status s = c.stub->GetServerGroup(c.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, ServerGroupText(resp.server_group(), false));
}

// --- load balancers ---

// GET /applications/{app}/loadBalancers
Response ListApplicationLoadBalancers(const Clouddriver& c, const Request& r) {
  cd::ListLoadBalancersRequest req;
  req.set_application(r.params.at("app"));
  cd::ListLoadBalancersResponse resp;
  grpc::Status s = c.stub->ListLoadBalancers(c.Context().get(), req, &resp);
  if (IsNotFound(s)) return http::Json(200, "[]");
  if (!s.ok()) return ErrorResponse(s, r);
  std::vector<std::string> items;
  items.reserve(resp.load_balancers_size());
  for (const cd::LoadBalancer& lb : resp.load_balancers())
    items.push_back(LoadBalancerText(lb));
  return http::Json(200, JoinArray(items));
}

// GET /loadBalancers?provider=: Spinnaker's summaries, one per name:
// [{name, accounts: [{name, regions: [{name, loadBalancers: [...]}]}]}],
// every level sorted by name.
Response ListLoadBalancerSummaries(const Clouddriver& c, const Request& r) {
  cd::ListLoadBalancersRequest req;
  req.set_cloud_provider(r.Query("provider"));
  cd::ListLoadBalancersResponse resp;
  grpc::Status s = c.stub->ListLoadBalancers(c.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  std::map<
      std::string,
      std::map<std::string,
               std::map<std::string, std::vector<const cd::LoadBalancer*>>>>
      tree;
  for (const cd::LoadBalancer& lb : resp.load_balancers())
    tree[lb.name()][lb.account()][lb.region()].push_back(&lb);
  Json out = Json::array();
  for (const auto& [name, accounts] : tree) {
    Json by_account = Json::array();
    for (const auto& [account, regions] : accounts) {
      Json by_region = Json::array();
      for (const auto& [region, balancers] : regions) {
        Json details = Json::array();
        for (const cd::LoadBalancer* lb : balancers) {
          details.push_back(
              ValueOr(lb->json(), [&] { return LoadBalancerJson(*lb); }));
        }
        by_region.push_back(
            {{"name", region}, {"loadBalancers", std::move(details)}});
      }
      by_account.push_back(
          {{"name", account}, {"regions", std::move(by_region)}});
    }
    out.push_back({{"name", name}, {"accounts", std::move(by_account)}});
  }
  return http::Json(200, json::Dump(out));
}

// GET /loadBalancers/{account}/{region}/{name}?provider=: the matching load
// balancers' details (a list, as Spinnaker serves it).
Response GetLoadBalancer(const Clouddriver& c, const Request& r) {
  cd::ListLoadBalancersRequest req;
  req.set_cloud_provider(r.Query("provider"));
  req.set_account(r.params.at("account"));
  req.set_region(r.params.at("region"));
  req.set_name(r.params.at("name"));
  cd::ListLoadBalancersResponse resp;
  grpc::Status s = c.stub->ListLoadBalancers(c.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  std::vector<std::string> items;
  for (const cd::LoadBalancer& lb : resp.load_balancers())
    items.push_back(LoadBalancerText(lb));
  return http::Json(200, JoinArray(items));
}

// --- security groups ---

// GET /securityGroups: {account: {provider: {region: [summaries]}}}, keys
// sorted, summaries by name (case-insensitive), then id.
Response ListSecurityGroups(const Clouddriver& c, const Request& r) {
  cd::ListSecurityGroupsResponse resp;
  grpc::Status s = c.stub->ListSecurityGroups(c.Context().get(), {}, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  std::map<
      std::string,
      std::map<std::string,
               std::map<std::string, std::vector<const cd::SecurityGroup*>>>>
      tree;
  for (const cd::SecurityGroup& g : resp.security_groups())
    tree[g.account()][g.cloud_provider()][g.region()].push_back(&g);
  Json out = Json::object();
  for (auto& [account, providers] : tree) {
    Json by_provider = Json::object();
    for (auto& [provider, regions] : providers) {
      Json by_region = Json::object();
      for (auto& [region, groups] : regions) {
        std::stable_sort(
            groups.begin(), groups.end(),
            [](const cd::SecurityGroup* a, const cd::SecurityGroup* b) {
              std::string x = absl::AsciiStrToLower(a->name());
              std::string y = absl::AsciiStrToLower(b->name());
              if (x != y) return x < y;
              return a->id() < b->id();
            });
        Json summaries = Json::array();
        for (const cd::SecurityGroup* g : groups) {
          summaries.push_back(
              ValueOr(g->json(), [&] { return SecurityGroupSummaryJson(*g); }));
        }
        by_region[region] = std::move(summaries);
      }
      by_provider[provider] = std::move(by_region);
    }
    out[account] = std::move(by_provider);
  }
  return http::Json(200, json::Dump(out));
}

// GET /securityGroups/{account}/{region}/{name}?provider=&vpcId= (gate) and
// GET /securityGroups/{account}/{cloudProvider}/{region}/{name}?vpcId=&getById=
// (clouddriver): one security group with its rules.
Response GetSecurityGroup(const Clouddriver& c, const Request& r) {
  absl::StatusOr<bool> by_id = QueryBool(r, "getById", false);
  if (!by_id.ok()) return ErrorResponse(by_id.status(), r);
  cd::GetSecurityGroupRequest req;
  req.set_account(r.params.at("account"));
  auto provider = r.params.find("cloudProvider");
  req.set_cloud_provider(provider != r.params.end() ? provider->second
                                                    : r.Query("provider"));
  req.set_region(r.params.at("region"));
  req.set_name_or_id(r.params.at("name"));
  // Spinnaker's "*" means any VPC.
  std::string vpc = r.Query("vpcId");
  req.set_vpc_id(vpc == "*" ? "" : vpc);
  req.set_by_id(*by_id);
  cd::GetSecurityGroupResponse resp;
  grpc::Status s = c.stub->GetSecurityGroup(c.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  const cd::SecurityGroup& g = resp.security_group();
  return http::Json(200,
                    TextOr(g.json(), [&] { return SecurityGroupJson(g); }));
}

// --- instances ---

// GET /instances/{account}/{region}/{instanceId}
Response GetInstance(const Clouddriver& c, const Request& r) {
  cd::GetInstanceRequest req;
  req.set_account(r.params.at("account"));
  req.set_region(r.params.at("region"));
  req.set_id(r.params.at("instanceId"));
  cd::GetInstanceResponse resp;
  grpc::Status s = c.stub->GetInstance(c.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  const cd::Instance& i = resp.instance();
  return http::Json(200, TextOr(i.json(), [&] { return InstanceJson(i); }));
}

// --- search ---

// Parameters of /search itself; every other non-empty one is a filter.
bool IsSearchParameter(const std::string& name) {
  static const std::set<std::string> kNames = {
      "q", "type", "platform", "pageSize", "page", "allowShortQuery"};
  return kNames.count(name) > 0;
}

// GET /search?q=&type=&platform=&pageSize=&page=&allowShortQuery=&<filters>:
// [{totalMatches, pageNumber, pageSize, platform, query, results}], or [] for
// a query under 3 characters unless allowShortQuery (Gate's rule).
Response Search(const Clouddriver& c, const Request& r) {
  absl::StatusOr<bool> allow_short = QueryBool(r, "allowShortQuery", false);
  if (!allow_short.ok()) return ErrorResponse(allow_short.status(), r);
  absl::StatusOr<int> page_size = QueryPositiveInt(r, "pageSize", 10000);
  if (!page_size.ok()) return ErrorResponse(page_size.status(), r);
  absl::StatusOr<int> page = QueryPositiveInt(r, "page", 1);
  if (!page.ok()) return ErrorResponse(page.status(), r);
  const std::string query = r.Query("q");
  if (!*allow_short && CodePoints(query) < 3) return http::Json(200, "[]");

  cd::SearchRequest req;
  req.set_query(query);
  for (std::string& type : QueryList(r, "type")) req.add_types(std::move(type));
  req.set_platform(r.Query("platform"));
  req.set_page_size(*page_size);
  req.set_page(*page);
  for (const auto& [name, value] : r.query) {
    // The first value of a repeated parameter wins.
    if (!IsSearchParameter(name) && !value.empty() &&
        req.filters().count(name) == 0) {
      (*req.mutable_filters())[name] = value;
    }
  }
  cd::SearchResponse resp;
  grpc::Status s = c.stub->Search(c.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);

  Json results = Json::array();
  std::set<std::string> providers;
  for (const cd::SearchResult& hit : resp.results()) {
    results.push_back(
        ValueOr(hit.json(), [&] { return SearchResultJson(hit); }));
    if (!hit.cloud_provider().empty()) providers.insert(hit.cloud_provider());
  }
  // The platform asked for; else the one provider that answered; else "aws",
  // Spinnaker's platform of a result set merged from several providers.
  std::string platform = req.platform();
  if (platform.empty())
    platform = providers.size() == 1 ? *providers.begin() : "aws";
  Json set = Json::object();
  set["totalMatches"] = resp.total_matches();
  set["pageNumber"] = resp.page_number() > 0 ? resp.page_number() : *page;
  set["pageSize"] = resp.page_size() > 0 ? resp.page_size() : *page_size;
  set["platform"] = platform;
  set["query"] = query;
  set["results"] = std::move(results);
  return http::Json(200, json::Dump(Json::array({std::move(set)})));
}

}  // namespace

void AddInfrastructureRoutes(
    std::shared_ptr<clouddriver::v1::ClouddriverService::StubInterface>
        clouddriver,
    std::chrono::milliseconds deadline, const AddRoute& add) {
  auto backend = std::make_shared<const Clouddriver>(
      Clouddriver{std::move(clouddriver), deadline});
  auto route = [&add, backend](
                   absl::string_view pattern,
                   Response (*handler)(const Clouddriver&, const Request&)) {
    add("GET", pattern,
        [backend, handler](const Request& r) { return handler(*backend, r); });
  };
  route("/credentials", ListCredentials);
  route("/credentials/{account}", GetCredential);

  route("/applications/{app}/clusters", ListClusterNames);
  route("/applications/{app}/clusters/{account}", ListAccountClusters);
  route("/applications/{app}/clusters/{account}/{cluster}", GetFirstCluster);
  // Before .../{cloudProvider}, which would take "serverGroups" as a provider.
  route("/applications/{app}/clusters/{account}/{cluster}/serverGroups",
        ListClusterServerGroups);
  route(
      "/applications/{app}/clusters/{account}/{cluster}/serverGroups/"
      "{serverGroup}",
      ListClusterServerGroups);
  route("/applications/{app}/clusters/{account}/{cluster}/{cloudProvider}",
        GetProviderCluster);
  route(
      "/applications/{app}/clusters/{account}/{cluster}/{cloudProvider}/"
      "{scope}/serverGroups/target/{target}",
      GetTargetServerGroup);

  route("/applications/{app}/serverGroups", ListServerGroups);
  route("/applications/{app}/serverGroups/{account}/{region}/{name}",
        GetServerGroup);
  // Deck loads server group managers with every application; clouddriver's
  // API has none yet.
  route(
      "/applications/{app}/serverGroupManagers",
      [](const Clouddriver&, const Request&) { return http::Json(200, "[]"); });

  route("/applications/{app}/loadBalancers", ListApplicationLoadBalancers);
  route("/loadBalancers", ListLoadBalancerSummaries);
  route("/loadBalancers/{account}/{region}/{name}", GetLoadBalancer);

  route("/securityGroups", ListSecurityGroups);
  route("/securityGroups/{account}/{region}/{name}", GetSecurityGroup);
  route("/securityGroups/{account}/{cloudProvider}/{region}/{name}",
        GetSecurityGroup);

  route("/instances/{account}/{region}/{instanceId}", GetInstance);
  route("/search", Search);
}

absl::StatusOr<bool> QueryBool(const http::Request& r, const std::string& name,
                               bool fallback) {
  std::string v =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(r.Query(name)));
  if (v.empty()) return fallback;
  if (v == "true" || v == "on" || v == "yes" || v == "1") return true;
  if (v == "false" || v == "off" || v == "no" || v == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("query parameter '", name, "' must be true or false"));
}

absl::StatusOr<clouddriver::v1::ServerGroupTarget> ParseServerGroupTarget(
    absl::string_view name) {
  std::string n = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
  for (absl::string_view suffix : {"_asg_dynamic", "_asg"}) {
    if (absl::EndsWith(n, suffix)) {
      n.resize(n.size() - suffix.size());
      break;
    }
  }
  if (n == "current" || n == "newest") return cd::SERVER_GROUP_TARGET_CURRENT;
  if (n == "previous" || n == "ancestor")
    return cd::SERVER_GROUP_TARGET_PREVIOUS;
  if (n == "oldest") return cd::SERVER_GROUP_TARGET_OLDEST;
  if (n == "largest") return cd::SERVER_GROUP_TARGET_LARGEST;
  return absl::NotFoundError(
      absl::StrCat("Target not found (target: ", name, ")"));
}

}  // namespace gennaker::gate
