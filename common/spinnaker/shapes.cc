#include "common/spinnaker/shapes.h"

#include <string>
#include <utility>

#include "common/spinnaker/json.h"

namespace gennaker::spinnaker {
namespace cd = clouddriver::v1;
namespace {

template <typename Strings>
Json StringArray(const Strings& values) {
  Json out = Json::array();
  for (const std::string& v : values) out.push_back(v);
  return out;
}

}  // namespace

Json ParseRendered(const common::v1::JsonObject& object) {
  const std::string& text = object.json();
  if (text.empty()) return Json();
  absl::StatusOr<Json> j = ParseJson(text, "clouddriver's rendering");
  return j.ok() ? *std::move(j) : Json();
}

cd::HealthState HealthStateFromName(absl::string_view name) {
  if (name == "Up") return cd::HEALTH_STATE_UP;
  if (name == "Down") return cd::HEALTH_STATE_DOWN;
  if (name == "Starting") return cd::HEALTH_STATE_STARTING;
  if (name == "OutOfService") return cd::HEALTH_STATE_OUT_OF_SERVICE;
  if (name == "Failed") return cd::HEALTH_STATE_FAILED;
  if (name == "Succeeded") return cd::HEALTH_STATE_SUCCEEDED;
  if (name == "Draining") return cd::HEALTH_STATE_DRAINING;
  return cd::HEALTH_STATE_UNKNOWN;
}

cd::ServerGroupTarget TargetToProto(Target target) {
  switch (target) {
    case Target::kCurrent:
      return cd::SERVER_GROUP_TARGET_CURRENT;
    case Target::kPrevious:
      return cd::SERVER_GROUP_TARGET_PREVIOUS;
    case Target::kOldest:
      return cd::SERVER_GROUP_TARGET_OLDEST;
    case Target::kLargest:
      return cd::SERVER_GROUP_TARGET_LARGEST;
  }
  return cd::SERVER_GROUP_TARGET_UNSPECIFIED;
}

std::optional<Target> TargetFromProto(cd::ServerGroupTarget t) {
  for (Target target : {Target::kCurrent, Target::kPrevious, Target::kOldest,
                        Target::kLargest}) {
    if (TargetToProto(target) == t) return target;
  }
  return std::nullopt;
}

common::v1::Moniker MonikerProto(const Names& n) {
  common::v1::Moniker m;
  m.set_app(n.app);
  m.set_cluster(n.cluster);
  m.set_stack(n.stack);
  m.set_detail(n.detail);
  if (n.sequence.has_value()) m.set_sequence(*n.sequence);
  return m;
}

Json MonikerJson(const Names& n) {
  Json j = {{"app", n.app}, {"cluster", n.cluster}};
  if (!n.stack.empty()) j["stack"] = n.stack;
  if (!n.detail.empty()) j["detail"] = n.detail;
  if (n.sequence.has_value()) j["sequence"] = *n.sequence;
  return j;
}

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
const char* HealthStateName(clouddriver::v1::HealthState state) {
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

namespace {

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

}  // namespace

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
Json ServerGroupJson(const cd::ServerGroup& g, ServerGroupView view) {
  const bool list_view = view == ServerGroupView::kList;
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

// A cluster as clouddriver's GET .../clusters/{account}/{cluster} serves it.
Json ClusterJson(const cd::Cluster& c) {
  Json j = Json::object();
  j["name"] = c.name();
  j["type"] = c.cloud_provider();
  j["accountName"] = c.account();
  j["moniker"] = MonikerJson(c.moniker());
  Json groups = Json::array();
  for (const cd::ServerGroup& g : c.server_groups()) {
    groups.push_back(RenderedOr(g.json(), [&] {
      return ServerGroupJson(g, ServerGroupView::kDetail);
    }));
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

// An account (Spinnaker's AccountDetails): clouddriver's JSON with the typed
// fields it lacks.
Json AccountJson(const cd::Account& a) {
  Json j = ParseRendered(a.json());
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
  return j;
}
}  // namespace gennaker::spinnaker
