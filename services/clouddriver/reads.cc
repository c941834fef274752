#include "services/clouddriver/reads.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/names.h"
#include "common/spinnaker/shapes.h"
#include "common/status/status_macros.h"

namespace gennaker::clouddriver {

namespace {

using spinnaker::Bool;
using spinnaker::Int;
using spinnaker::ParseName;
using spinnaker::String;

std::string ClusterOf(const Json& sg) {
  std::string c = String(sg, "cluster");
  return c.empty() ? ParseName(String(sg, "name")).cluster : c;
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
  GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> out,
                            Items(kServerGroups, app, account, "", ""));
  std::sort(out.begin(), out.end(), [](const Json& a, const Json& b) {
    return String(a, "name") < String(b, "name");
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
    for (std::string& lb : spinnaker::Strings(g, "loadBalancers")) {
      lbs.insert(std::move(lb));
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
              {"moniker", spinnaker::MonikerJson(ParseName(cluster))},
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
  if (!g.has_value() || (!region.empty() && String(*g, "region") != region)) {
    return absl::NotFoundError(
        absl::StrCat("no server group ", name, " in ", account, "/", region));
  }
  return *g;
}

absl::StatusOr<Json> Reads::TargetServerGroup(
    const std::string& app, const std::string& account,
    const std::string& cluster, const std::string& region,
    spinnaker::Target target, bool only_enabled, bool validate_oldest) {
  GENNAKER_ASSIGN_OR_RETURN(Json c, Cluster(app, account, cluster));
  std::vector<Json> groups;
  for (Json& g : c["serverGroups"]) {
    if (!region.empty() && String(g, "region") != region) continue;
    if (only_enabled && Bool(g, "isDisabled")) continue;
    groups.push_back(std::move(g));
  }
  if (groups.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no ", only_enabled ? "enabled " : "", "server group in ", cluster));
  }
  // Newest first by creation time (not by sequence: it wraps).
  std::sort(groups.begin(), groups.end(), [](const Json& a, const Json& b) {
    return Int(a, "createdTime") > Int(b, "createdTime");
  });
  switch (target) {
    case spinnaker::Target::kCurrent:
      return groups.front();
    case spinnaker::Target::kPrevious:
      if (groups.size() < 2) {
        return absl::NotFoundError(
            absl::StrCat(cluster, " has no server group before the newest"));
      }
      return groups[1];
    case spinnaker::Target::kOldest:
      if (validate_oldest && groups.size() < 2) {
        return absl::NotFoundError(absl::StrCat(
            "the oldest server group of ", cluster, " is also the newest"));
      }
      return groups.back();
    case spinnaker::Target::kLargest: {
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

absl::StatusOr<std::vector<Json>> Reads::Items(const char* kind,
                                               const std::string& app,
                                               const std::string& account,
                                               const std::string& region,
                                               const std::string& name) {
  std::vector<Json> out;
  for (const AccountInfo* a : Scope(account)) {
    GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> items,
                              cache_->List(a->name, kind, app));
    for (Json& item : items) {
      if (!region.empty() && String(item, "region") != region) continue;
      if (!name.empty() && String(item, "name") != name) continue;
      out.push_back(std::move(item));
    }
  }
  return out;
}

absl::StatusOr<std::vector<Json>> Reads::LoadBalancers(
    const std::string& app, const std::string& account,
    const std::string& region, const std::string& name) {
  return Items(kLoadBalancers, app, account, region, name);
}

absl::StatusOr<std::vector<Json>> Reads::SecurityGroups(
    const std::string& account, const std::string& region,
    const std::string& app) {
  return Items(kSecurityGroups, app, account, region, "");
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
  for (const Json& in : spinnaker::Array(*g, "instances")) {
    if (String(in, "id") != id) continue;
    Json out = in;
    out["account"] = account;
    out["region"] = String(*g, "region");
    out["serverGroup"] = String(*g, "name");
    out["cluster"] = ClusterOf(*g);
    out["application"] = ParseName(String(*g, "name")).app;
    out["cloudProvider"] = String(*g, "cloudProvider");
    out["loadBalancers"] = spinnaker::Array(*g, "loadBalancers");
    out["securityGroups"] = spinnaker::Array(*g, "securityGroups");
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
      const std::string name = String(g, "name");
      const spinnaker::Names n = ParseName(name);
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
      // What a server group's hit and its instances' hits have in common.
      auto group_hit = [&](const char* type) {
        return Json{{"type", type},         {"provider", provider},
                    {"account", a->name},   {"region", String(g, "region")},
                    {"application", n.app}, {"cluster", n.cluster},
                    {"serverGroup", name}};
      };
      if (wanted("serverGroups") && hit(name)) {
        Json r = group_hit("serverGroups");
        r["stack"] = n.stack;
        r["detail"] = n.detail;
        r["sequence"] =
            n.sequence.has_value() ? std::to_string(*n.sequence) : "";
        out.push_back(std::move(r));
      }
      if (wanted("instances")) {
        for (const Json& in : spinnaker::Array(g, "instances")) {
          if (!hit(String(in, "id"))) continue;
          Json r = group_hit("instances");
          r["instanceId"] = String(in, "id");
          out.push_back(std::move(r));
        }
      }
    }
    // Load balancers and security groups match by name; a hit's type is
    // the kind's name.
    for (const char* kind : {kLoadBalancers, kSecurityGroups}) {
      if (!wanted(kind)) continue;
      GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> items,
                                cache_->List(a->name, kind, ""));
      for (const Json& item : items) {
        const std::string name = String(item, "name");
        if (!hit(name)) continue;
        Json r = {{"type", kind},
                  {"provider", provider},
                  {"account", a->name},
                  {"region", String(item, "region")},
                  {"application", ParseName(name).app}};
        if (std::string_view(kind) == kLoadBalancers) {
          r["loadBalancer"] = name;
        } else {
          r["name"] = name;
          r["id"] = String(item, "id");
        }
        out.push_back(std::move(r));
      }
    }
  }
  // Extra exact-match filters on result fields.
  std::vector<Json> filtered;
  for (Json& r : out) {
    bool keep = true;
    for (const auto& [k, v] : q.filters) {
      if (String(r, k) != v) keep = false;
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
