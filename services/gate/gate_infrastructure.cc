#include "services/gate/gate_infrastructure.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/names.h"
#include "common/spinnaker/shapes.h"
#include "common/spinnaker/targets.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_authz.h"
#include "services/gate/gate_backend.h"
#include "services/gate/json_array.h"
#include "services/gate/request.h"

namespace gennaker::gate {
namespace {

namespace cd = clouddriver::v1;

// Characters (UTF-8 code points) in `s`.
size_t CodePoints(absl::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
}

// --- JSON ---

template <typename Strings>
Json StringArray(const Strings& values) {
  Json out = Json::array();
  for (const std::string& v : values) out.push_back(v);
  return out;
}

// --- Spinnaker shapes (common/spinnaker/shapes.h) ---

std::string ServerGroupText(const cd::ServerGroup& g, bool list_view) {
  return spinnaker::RenderedTextOr(g.json(), [&] {
    return spinnaker::ServerGroupJson(
        g, list_view ? spinnaker::ServerGroupView::kList
                     : spinnaker::ServerGroupView::kDetail);
  });
}

std::string LoadBalancerText(const cd::LoadBalancer& lb) {
  return spinnaker::RenderedTextOr(
      lb.json(), [&] { return spinnaker::LoadBalancerJson(lb); });
}

namespace fv1 = fiat::v1;

// An account as Spinnaker's Gate renders it: clouddriver's AccountDetails and
// gate's `authorized`: whether the caller may WRITE (deploy to) it, which is
// what Spinnaker's allowed accounts are (true when authorization is off).
Json AccountJson(const cd::Account& a, const fv1::UserPermission& caller) {
  Json j = spinnaker::AccountJson(a);
  j["authorized"] = fiat::Allows(caller, fv1::RESOURCE_TYPE_ACCOUNT, a.name(),
                                 fv1::AUTHORIZATION_WRITE);
  return j;
}

bool IsNotFound(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::NOT_FOUND;
}

// --- credentials ---

// GET /credentials?expand=: the accounts the caller may READ.
Response ListCredentials(const Backends& b, const Request& r) {
  const Clouddriver& c = b.clouddriver;
  absl::StatusOr<bool> expand = QueryBool(r, "expand", false);
  if (!expand.ok()) return ErrorResponse(expand.status(), r);
  absl::StatusOr<std::shared_ptr<const fv1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
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
  for (const auto& a : resp.accounts()) {
    if (fiat::Allows(**caller, fv1::RESOURCE_TYPE_ACCOUNT, a.name(),
                     fv1::AUTHORIZATION_READ)) {
      out.push_back(AccountJson(a, **caller));
    }
  }
  return http::Json(200, spinnaker::Dump(out));
}

// GET /credentials/{account}: 404 for an unknown account (spin prints "not
// found"), 403 for one the caller may not READ.
Response GetCredential(const Backends& b, const Request& r) {
  const Clouddriver& c = b.clouddriver;
  absl::Status readable =
      b.authorizer->Check(spinnaker::UserOrAnonymous(CurrentCallContext().user),
                          fv1::RESOURCE_TYPE_ACCOUNT, r.params.at("account"),
                          fv1::AUTHORIZATION_READ);
  if (!readable.ok()) return ErrorResponse(readable, r);
  absl::StatusOr<std::shared_ptr<const fv1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
  cd::GetAccountRequest req;
  req.set_name(r.params.at("account"));
  cd::GetAccountResponse resp;
  grpc::Status s = c.stub->GetAccount(c.Context().get(), req, &resp);
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    // No cloud provider is built: no account exists.
    return http::Error(404, "account '" + req.name() + "' not found", r.path);
  }
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200,
                    spinnaker::Dump(AccountJson(resp.account(), **caller)));
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
  return http::Json(200, spinnaker::Dump(out));
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
    out.push_back(spinnaker::ClusterSummaryJson(cluster));
  return http::Json(200, spinnaker::Dump(out));
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
  return http::Json(200, spinnaker::RenderedTextOr(first.json(), [&] {
                      return spinnaker::ClusterJson(first);
                    }));
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
  Json cluster = spinnaker::RenderedOr(
      first.json(), [&] { return spinnaker::ClusterJson(first); });
  if (!cluster.is_object()) return http::Json(200, "[]");
  auto groups = cluster.find("serverGroups");
  if (groups == cluster.end() || !groups->is_array())
    return http::Json(200, "[]");
  Json out = Json::array();
  auto name = r.params.find("serverGroup");
  for (Json& g : *groups) {
    if (name != r.params.end() && spinnaker::String(g, "name") != name->second)
      continue;
    out.push_back(std::move(g));
  }
  return http::Json(200, spinnaker::Dump(out));
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
    return http::Json(200, spinnaker::RenderedTextOr(cluster.json(), [&] {
                        return spinnaker::ClusterJson(cluster);
                      }));
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
  for (std::string& cluster : r.QueryList("clusters")) {
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
  return http::Json(
      200, JoinArray(resp.server_groups(), [](const cd::ServerGroup& g) {
        return ServerGroupText(g, true);
      }));
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
  return http::Json(200, JoinArray(resp.load_balancers(), LoadBalancerText));
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
          details.push_back(spinnaker::RenderedOr(
              lb->json(), [&] { return spinnaker::LoadBalancerJson(*lb); }));
        }
        by_region.push_back(
            {{"name", region}, {"loadBalancers", std::move(details)}});
      }
      by_account.push_back(
          {{"name", account}, {"regions", std::move(by_region)}});
    }
    out.push_back({{"name", name}, {"accounts", std::move(by_account)}});
  }
  return http::Json(200, spinnaker::Dump(out));
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
  return http::Json(200, JoinArray(resp.load_balancers(), LoadBalancerText));
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
          summaries.push_back(spinnaker::RenderedOr(g->json(), [&] {
            return spinnaker::SecurityGroupSummaryJson(*g);
          }));
        }
        by_region[region] = std::move(summaries);
      }
      by_provider[provider] = std::move(by_region);
    }
    out[account] = std::move(by_provider);
  }
  return http::Json(200, spinnaker::Dump(out));
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
  return http::Json(200, spinnaker::RenderedTextOr(g.json(), [&] {
                      return spinnaker::SecurityGroupJson(g);
                    }));
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
  return http::Json(200, spinnaker::RenderedTextOr(i.json(), [&] {
                      return spinnaker::InstanceJson(i);
                    }));
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
Response Search(const Backends& b, const Request& r) {
  const Clouddriver& c = b.clouddriver;
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
  for (std::string& type : r.QueryList("type")) req.add_types(std::move(type));
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

  // Hits of applications the caller may not READ are dropped.
  absl::StatusOr<std::shared_ptr<const fv1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
  int64_t dropped = 0;
  Json results = Json::array();
  std::set<std::string> providers;
  for (const cd::SearchResult& hit : resp.results()) {
    std::string application = hit.application();
    if (application.empty() && hit.type() == "applications")
      application = hit.name();
    if (!application.empty() &&
        !fiat::Allows(**caller, fv1::RESOURCE_TYPE_APPLICATION, application,
                      fv1::AUTHORIZATION_READ)) {
      ++dropped;
      continue;
    }
    results.push_back(spinnaker::RenderedOr(
        hit.json(), [&] { return spinnaker::SearchResultJson(hit); }));
    if (!hit.cloud_provider().empty()) providers.insert(hit.cloud_provider());
  }
  // The platform asked for; else the one provider that answered; else "aws",
  // Spinnaker's platform of a result set merged from several providers.
  std::string platform = req.platform();
  if (platform.empty())
    platform = providers.size() == 1 ? *providers.begin() : "aws";
  Json set = Json::object();
  set["totalMatches"] = std::max<int64_t>(0, resp.total_matches() - dropped);
  set["pageNumber"] = resp.page_number() > 0 ? resp.page_number() : *page;
  set["pageSize"] = resp.page_size() > 0 ? resp.page_size() : *page_size;
  set["platform"] = platform;
  set["query"] = query;
  set["results"] = std::move(results);
  return http::Json(200, spinnaker::Dump(Json::array({std::move(set)})));
}

}  // namespace

void AddInfrastructureRoutes(std::shared_ptr<const Backends> backends,
                             const AddRoute& add) {
  const Clouddriver& clouddriver = backends->clouddriver;
  RouteAdder<Clouddriver> get(
      add, std::shared_ptr<const Clouddriver>(backends, &clouddriver));
  // Every route here is a read.
  auto route = [&get](absl::string_view pattern,
                      RouteAdder<Clouddriver>::Handler handler) {
    get("GET", pattern, std::move(handler));
  };
  // Routes that also decide per caller (authorization).
  RouteAdder<Backends> with_backends(add, backends);
  with_backends("GET", "/credentials", ListCredentials);
  with_backends("GET", "/credentials/{account}", GetCredential);

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
  with_backends("GET", "/search", Search);
}

Response ListServerGroupsByIds(const Backends& b, const Request& r) {
  absl::StatusOr<std::shared_ptr<const fv1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
  cd::ListServerGroupsRequest req;
  for (const std::string& id : r.QueryList("ids")) {
    std::vector<std::string> parts =
        absl::StrSplit(id, absl::MaxSplits(':', 2));
    if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
        parts[2].empty()) {
      return http::Error(
          400, "query parameter 'ids' must list account:region:name triples",
          r.path);
    }
    // Server groups of accounts the caller may not read are not found.
    if (!fiat::Allows(**caller, fv1::RESOURCE_TYPE_ACCOUNT, parts[0],
                      fv1::AUTHORIZATION_READ)) {
      continue;
    }
    cd::ServerGroupRef* ref = req.add_refs();
    ref->set_account(parts[0]);
    ref->set_region(parts[1]);
    ref->set_name(parts[2]);
  }
  if (req.refs().empty()) return http::Json(200, "[]");
  const Clouddriver& c = b.clouddriver;
  cd::ListServerGroupsResponse resp;
  grpc::Status s = c.stub->ListServerGroups(c.Context().get(), req, &resp);
  if (IsNotFound(s)) return http::Json(200, "[]");
  if (!s.ok()) return ErrorResponse(s, r);
  // The ids name no application: a server group of an application the
  // caller may not READ is left out too, as if it did not exist. The account
  // is checked again on what clouddriver answered, not only on what was
  // asked.
  std::vector<const cd::ServerGroup*> kept;
  for (const cd::ServerGroup& g : resp.server_groups()) {
    std::string app = g.moniker().app();
    if (app.empty()) app = spinnaker::ParseName(g.name()).app;
    if (fiat::Allows(**caller, fv1::RESOURCE_TYPE_ACCOUNT, g.account(),
                     fv1::AUTHORIZATION_READ) &&
        fiat::Allows(**caller, fv1::RESOURCE_TYPE_APPLICATION, app,
                     fv1::AUTHORIZATION_READ)) {
      kept.push_back(&g);
    }
  }
  return http::Json(200, JoinArray(kept, [](const cd::ServerGroup* g) {
                      return ServerGroupText(*g, true);
                    }));
}

absl::StatusOr<clouddriver::v1::ServerGroupTarget> ParseServerGroupTarget(
    absl::string_view name) {
  std::optional<spinnaker::Target> target = spinnaker::ParseTarget(name);
  if (!target.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("Target not found (target: ", name, ")"));
  }
  return spinnaker::TargetToProto(*target);
}

}  // namespace gennaker::gate
