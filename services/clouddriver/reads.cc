#include "services/clouddriver/reads.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/clouddriver/naming.h"

namespace gennaker::clouddriver {

namespace {

std::string S(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string()
             ? j[key].get<std::string>()
             : std::string();
}

int64_t I(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number()
             ? j[key].get<int64_t>()
             : 0;
}

std::string ClusterOf(const Json& sg) {
  std::string c = S(sg, "cluster");
  return c.empty() ? ParseName(S(sg, "name")).cluster : c;
}

bool Disabled(const Json& sg) {
  return sg.contains("isDisabled") && sg["isDisabled"].is_boolean() &&
         sg["isDisabled"].get<bool>();
}

Json MonikerOf(const std::string& name) {
  Names n = ParseName(name);
  Json m = {{"app", n.app}, {"cluster", n.cluster}};
  if (!n.stack.empty()) m["stack"] = n.stack;
  if (!n.detail.empty()) m["detail"] = n.detail;
  if (n.sequence.has_value()) m["sequence"] = *n.sequence;
  return m;
}

}  // namespace

Json AccountJson(const AccountInfo& a) {
  Json regions = Json::array();
  for (const std::string& r : a.regions) regions.push_back({{"name", r}});
  Json perms = Json::object();
  if (!a.read_roles.empty()) perms["READ"] = a.read_roles;
  if (!a.write_roles.empty()) perms["WRITE"] = a.write_roles;
  return {{"name", a.name},
          {"type", a.cloud_provider},
          {"cloudProvider", a.cloud_provider},
          {"accountType", a.cloud_provider},
          {"environment", a.environment},
          {"providerVersion", "v1"},
          {"regions", regions},
          {"permissions", perms},
          {"primaryAccount", false},
          {"challengeDestructiveActions", false},
          {"requiredGroupMembership", Json::array()}};
}

Reads::Reads(Cache* cache, std::vector<AccountInfo> accounts)
    : cache_(cache), accounts_(std::move(accounts)) {
  std::sort(accounts_.begin(), accounts_.end(),
            [](const AccountInfo& a, const AccountInfo& b) {
              return a.name < b.name;
            });
}

const AccountInfo* Reads::FindAccount(const std::string& name) const {
  for (const AccountInfo& a : accounts_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::vector<const AccountInfo*> Reads::Scope(const std::string& account) const {
  std::vector<const AccountInfo*> out;
  for (const AccountInfo& a : accounts_) {
    if (account.empty() || a.name == account) out.push_back(&a);
  }
  return out;
}

absl::StatusOr<
    std::map<std::string, std::map<std::string, std::vector<std::string>>>>
Reads::Applications() {
  std::map<std::string, std::map<std::string, std::vector<std::string>>> out;
  for (const AccountInfo* a : Scope("")) {
    GENNAKER_ASSIGN_OR_RETURN(std::set<std::string> apps,
                              cache_->Applications(a->name, kServerGroups));
    for (const std::string& app : apps) {
      GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> groups,
                                cache_->List(a->name, kServerGroups, app));
      std::set<std::string> clusters;
      for (const Json& g : groups) clusters.insert(ClusterOf(g));
      out[app][a->name].assign(clusters.begin(), clusters.end());
    }
    GENNAKER_ASSIGN_OR_RETURN(std::set<std::string> lb_apps,
                              cache_->Applications(a->name, kLoadBalancers));
    for (const std::string& app : lb_apps) out[app][a->name];
  }
  return out;
}

absl::StatusOr<std::vector<Json>> Reads::ServerGroups(
    const std::string& app, const std::string& account) {
  std::vector<Json> out;
  for (const AccountInfo* a : Scope(account)) {
    GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> groups,
                              cache_->List(a->name, kServerGroups, app));
    for (Json& g : groups) out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](const Json& a, const Json& b) {
    return S(a, "name") < S(b, "name");
  });
  return out;
}

absl::StatusOr<Json> Reads::Cluster(const std::string& app,
                                    const std::string& account,
                                    const std::string& cluster) {
  const AccountInfo* a = FindAccount(account);
  if (a == nullptr) {
    return absl::NotFoundError(absl::StrCat("no account ", account));
  }
  GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> groups,
                            ServerGroups(app, account));
  Json members = Json::array();
  std::set<std::string> lbs;
  for (Json& g : groups) {
    if (ClusterOf(g) != cluster) continue;
    if (g.contains("loadBalancers") && g["loadBalancers"].is_array()) {
      for (const Json& lb : g["loadBalancers"]) {
        if (lb.is_string()) lbs.insert(lb.get<std::string>());
      }
    }
    members.push_back(std::move(g));
  }
  if (members.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no cluster ", cluster, " in ", account, " for ", app));
  }
  Json lb_list = Json::array();
  for (const std::string& lb : lbs) {
    GENNAKER_ASSIGN_OR_RETURN(std::optional<Json> item,
                              cache_->Get(account, kLoadBalancers, lb));
    if (item.has_value()) lb_list.push_back(std::move(*item));
  }
  return Json{{"name", cluster},
              {"accountName", account},
              {"type", a->cloud_provider},
              {"cloudProvider", a->cloud_provider},
              {"moniker", MonikerOf(cluster)},
              {"serverGroups", std::move(members)},
              {"loadBalancers", std::move(lb_list)}};
}

absl::StatusOr<Json> Reads::ServerGroup(const std::string& account,
                                        const std::string& region,
                                        const std::string& name) {
  if (FindAccount(account) == nullptr) {
    return absl::NotFoundError(absl::StrCat("no account ", account));
  }
  GENNAKER_ASSIGN_OR_RETURN(std::optional<Json> g,
                            cache_->Get(account, kServerGroups, name));
  if (!g.has_value() || (!region.empty() && S(*g, "region") != region)) {
    return absl::NotFoundError(
        absl::StrCat("no server group ", name, " in ", account, "/", region));
  }
  return *g;
}

absl::StatusOr<Json> Reads::TargetServerGroup(const std::string& app,
                                              const std::string& account,
                                              const std::string& cluster,
                                              const std::string& region,
                                              Target target, bool only_enabled,
                                              bool validate_oldest) {
  GENNAKER_ASSIGN_OR_RETURN(Json c, Cluster(app, account, cluster));
  std::vector<Json> groups;
  for (Json& g : c["serverGroups"]) {
    if (!region.empty() && S(g, "region") != region) continue;
    if (only_enabled && Disabled(g)) continue;
    groups.push_back(std::move(g));
  }
  if (groups.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no ", only_enabled ? "enabled " : "", "server group in ", cluster));
  }
  // Newest first by creation time (not by sequence: it wraps).
  std::sort(groups.begin(), groups.end(), [](const Json& a, const Json& b) {
    return I(a, "createdTime") > I(b, "createdTime");
  });
  switch (target) {
    case Target::kCurrent:
      return groups.front();
    case Target::kPrevious:
      if (groups.size() < 2) {
        return absl::NotFoundError(
            absl::StrCat(cluster, " has no server group before the newest"));
      }
      return groups[1];
    case Target::kOldest:
      if (validate_oldest && groups.size() < 2) {
        return absl::NotFoundError(absl::StrCat(
            "the oldest server group of ", cluster, " is also the newest"));
      }
      return groups.back();
    case Target::kLargest: {
      auto size = [](const Json& g) {
        return g.contains("instances") && g["instances"].is_array()
                   ? g["instances"].size()
                   : size_t{0};
      };
      // Ties go to the newest.
      const Json* best = &groups.front();
      for (const Json& g : groups) {
        if (size(g) > size(*best)) best = &g;
      }
      return *best;
    }
  }
  return absl::InternalError("unknown target");
}

absl::StatusOr<std::vector<Json>> Reads::LoadBalancers(
    const std::string& app, const std::string& account,
    const std::string& region, const std::string& name) {
  std::vector<Json> out;
  for (const AccountInfo* a : Scope(account)) {
    GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> items,
                              cache_->List(a->name, kLoadBalancers, app));
    for (Json& lb : items) {
      if (!region.empty() && S(lb, "region") != region) continue;
      if (!name.empty() && S(lb, "name") != name) continue;
      out.push_back(std::move(lb));
    }
  }
  return out;
}

absl::StatusOr<std::vector<Json>> Reads::SecurityGroups(
    const std::string& account, const std::string& region,
    const std::string& app) {
  std::vector<Json> out;
  for (const AccountInfo* a : Scope(account)) {
    GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> items,
                              cache_->List(a->name, kSecurityGroups, app));
    for (Json& sg : items) {
      if (!region.empty() && S(sg, "region") != region) continue;
      out.push_back(std::move(sg));
    }
  }
  return out;
}

absl::StatusOr<Json> Reads::Instance(const std::string& account,
                                     const std::string& region,
                                     const std::string& id) {
  size_t dash = id.rfind('-');
  if (dash == std::string::npos || dash == 0) {
    return absl::NotFoundError(absl::StrCat("no instance ", id));
  }
  absl::StatusOr<Json> g = ServerGroup(account, region, id.substr(0, dash));
  if (!g.ok()) return absl::NotFoundError(absl::StrCat("no instance ", id));
  for (const Json& in : g->value("instances", Json::array())) {
    if (S(in, "id") != id) continue;
    Json out = in;
    out["account"] = account;
    out["region"] = S(*g, "region");
    out["serverGroup"] = S(*g, "name");
    out["cluster"] = ClusterOf(*g);
    out["application"] = ParseName(S(*g, "name")).app;
    out["cloudProvider"] = S(*g, "cloudProvider");
    out["loadBalancers"] = g->value("loadBalancers", Json::array());
    out["securityGroups"] = g->value("securityGroups", Json::array());
    return out;
  }
  return absl::NotFoundError(absl::StrCat("no instance ", id));
}

absl::StatusOr<std::vector<Json>> Reads::Search(const SearchQuery& q,
                                                int64_t* total) {
  const std::string needle = absl::AsciiStrToLower(q.query);
  auto wanted = [&q](const char* type) {
    return q.types.empty() ||
           std::find(q.types.begin(), q.types.end(), type) != q.types.end();
  };
  auto hit = [&needle](const std::string& name) {
    return absl::StrContains(absl::AsciiStrToLower(name), needle);
  };
  std::vector<Json> out;
  std::set<std::string> apps_seen;
  for (const AccountInfo* a : Scope("")) {
    if (!q.platform.empty() && q.platform != a->cloud_provider) continue;
    const std::string provider = a->cloud_provider;
    GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> groups,
                              cache_->List(a->name, kServerGroups, ""));
    std::set<std::string> clusters_seen;
    for (const Json& g : groups) {
      const std::string name = S(g, "name");
      Names n = ParseName(name);
      if (wanted("applications") && hit(n.app) &&
          apps_seen.insert(n.app).second) {
        out.push_back({{"type", "applications"},
                       {"provider", provider},
                       {"application", n.app}});
      }
      if (wanted("clusters") && hit(n.cluster) &&
          clusters_seen.insert(n.cluster).second) {
        out.push_back({{"type", "clusters"},
                       {"provider", provider},
                       {"account", a->name},
                       {"application", n.app},
                       {"cluster", n.cluster},
                       {"stack", n.stack},
                       {"detail", n.detail}});
      }
      if (wanted("serverGroups") && hit(name)) {
        out.push_back(
            {{"type", "serverGroups"},
             {"provider", provider},
             {"account", a->name},
             {"region", S(g, "region")},
             {"application", n.app},
             {"cluster", n.cluster},
             {"serverGroup", name},
             {"stack", n.stack},
             {"detail", n.detail},
             {"sequence",
              n.sequence.has_value() ? std::to_string(*n.sequence) : ""}});
      }
      if (wanted("instances")) {
        for (const Json& in : g.value("instances", Json::array())) {
          if (!hit(S(in, "id"))) continue;
          out.push_back({{"type", "instances"},
                         {"provider", provider},
                         {"account", a->name},
                         {"region", S(g, "region")},
                         {"application", n.app},
                         {"cluster", n.cluster},
                         {"serverGroup", name},
                         {"instanceId", S(in, "id")}});
        }
      }
    }
    if (wanted("loadBalancers")) {
      GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> lbs,
                                cache_->List(a->name, kLoadBalancers, ""));
      for (const Json& lb : lbs) {
        if (!hit(S(lb, "name"))) continue;
        out.push_back({{"type", "loadBalancers"},
                       {"provider", provider},
                       {"account", a->name},
                       {"region", S(lb, "region")},
                       {"application", ParseName(S(lb, "name")).app},
                       {"loadBalancer", S(lb, "name")}});
      }
    }
    if (wanted("securityGroups")) {
      GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> sgs,
                                cache_->List(a->name, kSecurityGroups, ""));
      for (const Json& sg : sgs) {
        if (!hit(S(sg, "name"))) continue;
        out.push_back({{"type", "securityGroups"},
                       {"provider", provider},
                       {"account", a->name},
                       {"region", S(sg, "region")},
                       {"application", ParseName(S(sg, "name")).app},
                       {"name", S(sg, "name")},
                       {"id", S(sg, "id")}});
      }
    }
  }
  // Extra exact-match filters on result fields.
  std::vector<Json> filtered;
  for (Json& r : out) {
    bool keep = true;
    for (const auto& [k, v] : q.filters) {
      if (S(r, k.c_str()) != v) keep = false;
    }
    if (keep) filtered.push_back(std::move(r));
  }
  *total = static_cast<int64_t>(filtered.size());
  const int size = q.page_size > 0 ? q.page_size : 10000;
  const int page = q.page > 0 ? q.page : 1;
  const size_t from = static_cast<size_t>(page - 1) * size;
  std::vector<Json> paged;
  for (size_t i = from; i < filtered.size() && i < from + size; ++i) {
    paged.push_back(std::move(filtered[i]));
  }
  return paged;
}

}  // namespace gennaker::clouddriver
