#include "services/clouddriver/local/local_provider.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/json/json_fields.h"
#include "common/log/log.h"
#include "services/clouddriver/naming.h"

namespace gennaker::clouddriver::local {

namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::vector<std::string> Strings(const Json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return out;
  for (const Json& v : j[key]) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

absl::Status Invalid(const std::string& what) {
  return absl::InvalidArgumentError(what);
}

absl::Status CheckCapacity(int min, int max, int desired) {
  if (min < 0 || max < 0 || desired < 0 || min > max || desired < min ||
      desired > max) {
    return Invalid(
        absl::StrCat("capacity must satisfy 0 <= min <= desired <= "
                     "max (got min ",
                     min, ", desired ", desired, ", max ", max, ")"));
  }
  if (max > 100) return Invalid("capacity.max: at most 100 local instances");
  return absl::OkStatus();
}

}  // namespace

LocalProvider::LocalProvider(std::string account, std::string state_dir)
    : account_(std::move(account)), state_dir_(std::move(state_dir)) {}

LocalProvider::~LocalProvider() {
  std::map<std::string, Group> groups;
  std::map<std::string, Balancer> balancers;
  {
    absl::MutexLock l(&mu_);
    groups.swap(groups_);
    balancers.swap(balancers_);
  }
  balancers.clear();  // listeners first: no new requests
  groups.clear();     // then the instances
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::StatusOr<ServerGroupSpec> LocalProvider::SpecOf(const Json& d) {
  ServerGroupSpec spec;
  spec.command = Strings(d, "command");
  if (d.contains("env") && d["env"].is_object()) {
    for (auto it = d["env"].begin(); it != d["env"].end(); ++it) {
      if (!it->is_string()) return Invalid("env values must be strings");
      spec.env.push_back({it.key(), it->get<std::string>()});
    }
  } else if (d.contains("env") && !d["env"].is_null()) {
    return Invalid("env must be an object of strings");
  }
  spec.env.push_back({kStateDirEnv, state_dir_});
  if (d.contains("healthCheck") && d["healthCheck"].is_object()) {
    const Json& h = d["healthCheck"];
    spec.health.path = json::String(h, "path", spec.health.path);
    spec.health.interval_ms =
        static_cast<int>(json::Int(h, "intervalMs", spec.health.interval_ms));
    spec.health.timeout_ms =
        static_cast<int>(json::Int(h, "timeoutMs", spec.health.timeout_ms));
    spec.health.healthy_threshold = static_cast<int>(
        json::Int(h, "healthyThreshold", spec.health.healthy_threshold));
    spec.health.unhealthy_threshold = static_cast<int>(
        json::Int(h, "unhealthyThreshold", spec.health.unhealthy_threshold));
  }
  spec.log_dir = state_dir_;
  spec.on_change = [this] {
    NotifyBalancers();
    // Called under the lock so that SetChangeListener(nullptr) waits for a
    // call in flight (the listener may be destroyed right after).
    absl::MutexLock l(&listener_mu_);
    if (listener_) listener_();
  };
  return spec;
}

absl::StatusOr<std::string> LocalProvider::CreateServerGroup(
    const Json& d, const std::string& request_id) {
  if (!d.is_object())
    return Invalid("the deploy description must be an object");
  std::string app = json::String(d, "application");
  std::string detail = json::String(d, "freeFormDetails");
  if (detail.empty()) detail = json::String(d, "freeFormDetail");
  absl::StatusOr<std::string> cluster =
      ClusterName(app, json::String(d, "stack"), detail);
  if (!cluster.ok()) return cluster.status();
  absl::StatusOr<ServerGroupSpec> spec = SpecOf(d);
  if (!spec.ok()) return spec.status();
  const Json cap = d.contains("capacity") && d["capacity"].is_object()
                       ? d["capacity"]
                       : Json::object();
  int desired = static_cast<int>(json::Int(cap, "desired", 1));
  int min = static_cast<int>(json::Int(cap, "min", desired));
  int max = static_cast<int>(json::Int(cap, "max", desired));
  if (absl::Status s = CheckCapacity(min, max, desired); !s.ok()) return s;
  if (absl::Status s = InstanceSupervisor::Validate(*spec, desired); !s.ok()) {
    return s;
  }
  std::string name;
  {
    absl::MutexLock l(&mu_);
    if (!request_id.empty()) {
      for (const auto& [n, g] : groups_) {
        if (g.request_id == request_id) return n;  // a retried deploy
      }
    }
    for (const std::string& lb : Strings(d, "loadBalancers")) {
      if (!balancers_.count(lb)) {
        return Invalid(absl::StrCat("unknown load balancer '", lb, "'"));
      }
    }
    for (const std::string& sg : Strings(d, "securityGroups")) {
      if (!security_groups_.count(sg)) {
        return Invalid(absl::StrCat("unknown security group '", sg, "'"));
      }
    }
    std::vector<Slot> taken;
    for (const auto& [n, g] : groups_) {
      Names parsed = ParseName(n);
      if (parsed.cluster == *cluster && parsed.sequence.has_value()) {
        taken.push_back({n, *parsed.sequence, g.created_ms});
      }
    }
    absl::StatusOr<int> seq = NextSequence(taken);
    if (!seq.ok()) return seq.status();
    name = *ServerGroupName(*cluster, *seq);
    Group& g = groups_[name];  // reserves the name
    g.name = name;
    g.request_id = request_id;
    g.description = d;
    g.min = min;
    g.max = max;
    g.desired = desired;
    g.created_ms = NowMs();
    PersistLocked();
  }
  if (absl::Status s = StartGroup(name, *spec, desired, true); !s.ok()) {
    return s;
  }
  SPDLOG_INFO(
      "event=server_group_created account={} server_group={} desired={}",
      account_, name, desired);
  return name;
}

absl::Status LocalProvider::StartGroup(const std::string& name,
                                       ServerGroupSpec spec, int desired,
                                       bool enabled, bool keep_on_failure) {
  spec.name = name;
  auto supervisor = std::make_unique<InstanceSupervisor>(spec, desired);
  supervisor->SetEnabled(enabled);
  if (absl::Status s = supervisor->Start(); !s.ok()) {
    if (!keep_on_failure) {
      absl::MutexLock l(&mu_);
      groups_.erase(name);
      PersistLocked();
    }
    return s;
  }
  {
    absl::MutexLock l(&mu_);
    auto it = groups_.find(name);
    if (it != groups_.end()) {
      it->second.supervisor = std::move(supervisor);
      it->second.enabled = enabled;
      PersistLocked();
      NotifyBalancersLocked();
      return absl::OkStatus();
    }
  }
  supervisor.reset();  // destroyed meanwhile; stops outside the lock
  return absl::AbortedError(absl::StrCat(name, " was destroyed meanwhile"));
}

absl::Status LocalProvider::Resize(const std::string& sg, int min, int max,
                                   int desired) {
  if (absl::Status s = CheckCapacity(min, max, desired); !s.ok()) return s;
  absl::MutexLock l(&mu_);
  auto it = groups_.find(sg);
  if (it == groups_.end() || it->second.supervisor == nullptr) {
    return absl::NotFoundError(absl::StrCat("no server group ", sg));
  }
  it->second.min = min;
  it->second.max = max;
  it->second.desired = desired;
  it->second.supervisor->Resize(desired);
  PersistLocked();
  NotifyBalancersLocked();
  return absl::OkStatus();
}

absl::Status LocalProvider::SetEnabled(const std::string& sg, bool enabled) {
  absl::MutexLock l(&mu_);
  auto it = groups_.find(sg);
  if (it == groups_.end() || it->second.supervisor == nullptr) {
    return absl::NotFoundError(absl::StrCat("no server group ", sg));
  }
  it->second.enabled = enabled;
  it->second.supervisor->SetEnabled(enabled);
  PersistLocked();
  NotifyBalancersLocked();
  return absl::OkStatus();
}

absl::Status LocalProvider::Destroy(const std::string& sg) {
  std::unique_ptr<InstanceSupervisor> doomed;
  {
    absl::MutexLock l(&mu_);
    auto it = groups_.find(sg);
    if (it == groups_.end() || it->second.supervisor == nullptr) {
      return absl::NotFoundError(absl::StrCat("no server group ", sg));
    }
    doomed = std::move(it->second.supervisor);
    groups_.erase(it);
    PersistLocked();
    NotifyBalancersLocked();
  }
  doomed.reset();  // stops the instances, outside the lock
  return absl::OkStatus();
}

absl::Status LocalProvider::TerminateInstance(const std::string& sg,
                                              const std::string& instance) {
  absl::MutexLock l(&mu_);
  auto it = groups_.find(sg);
  if (it == groups_.end() || it->second.supervisor == nullptr) {
    return absl::NotFoundError(absl::StrCat("no server group ", sg));
  }
  return it->second.supervisor->TerminateInstance(instance);
}

std::vector<Target> LocalProvider::TargetsOf(const std::string& balancer) {
  absl::MutexLock l(&mu_);
  std::vector<Target> out;
  for (const auto& [name, g] : groups_) {
    if (!g.enabled || g.supervisor == nullptr) continue;
    std::vector<std::string> lbs = Strings(g.description, "loadBalancers");
    if (std::find(lbs.begin(), lbs.end(), balancer) == lbs.end()) continue;
    for (const InstanceView& v : g.supervisor->Instances()) {
      if (v.health == HealthState::kUp) out.push_back({name, v.id, v.port});
    }
  }
  return out;
}

absl::Status LocalProvider::ApplyFirewall(const std::string& balancer) {
  Balancer& b = balancers_.at(balancer);
  int port = b.lb->port();
  std::vector<std::string> cidrs;
  for (const std::string& sg : Strings(b.description, "securityGroups")) {
    auto it = security_groups_.find(sg);
    if (it == security_groups_.end()) continue;
    const Json& rules = it->second.contains("inboundRules")
                            ? it->second["inboundRules"]
                            : Json::array();
    for (const Json& r : rules) {
      bool covers = false;
      const Json& ranges =
          r.contains("portRanges") ? r["portRanges"] : Json::array();
      for (const Json& pr : ranges) {
        covers = covers || (json::Int(pr, "startPort", 0) <= port &&
                            port <= json::Int(pr, "endPort", 65535));
      }
      if (!covers || !r.contains("range")) continue;
      cidrs.push_back(absl::StrCat(json::String(r["range"], "ip"),
                                   json::String(r["range"], "cidr")));
    }
  }
  // Attached security groups with no matching rule allow nobody.
  if (cidrs.empty() && !Strings(b.description, "securityGroups").empty()) {
    cidrs.push_back("0.0.0.0/32");
  }
  return b.lb->SetAllowedCidrs(cidrs);
}

absl::Status LocalProvider::UpsertLoadBalancer(const Json& d) {
  std::string name = json::String(d, "name");
  if (name.empty() || !ParseName(name).cluster.size()) {
    return Invalid(
        "the load balancer needs a valid name (app[-stack[-detail]])");
  }
  int port = 0;
  if (d.contains("listeners") && d["listeners"].is_array() &&
      !d["listeners"].empty()) {
    port = static_cast<int>(json::Int(d["listeners"][0], "port", 0));
  }
  if (port < 0 || port > 65535) return Invalid("listener port out of range");
  {
    absl::MutexLock l(&mu_);
    for (const std::string& sg : Strings(d, "securityGroups")) {
      if (!security_groups_.count(sg)) {
        return Invalid(absl::StrCat("unknown security group '", sg, "'"));
      }
    }
    auto it = balancers_.find(name);
    if (it != balancers_.end()) {
      int existing = it->second.lb->port();
      if (port != 0 && port != existing) {
        return Invalid(absl::StrCat("load balancer ", name, " listens on ",
                                    existing, "; delete it to move it"));
      }
      it->second.description = d;
      PersistLocked();
      return ApplyFirewall(name);
    }
  }
  LoadBalancerOptions o;
  o.name = name;
  o.port = port;
  auto lb = LoadBalancer::Start(o, [this, name] { return TargetsOf(name); });
  if (!lb.ok()) return lb.status();
  std::unique_ptr<LoadBalancer> loser;  // a concurrent upsert won
  absl::Status applied;
  {
    absl::MutexLock l(&mu_);
    Balancer& b = balancers_[name];
    // A balancer made again replaces its unrestored record.
    unrestored_balancers_.erase(
        std::remove_if(unrestored_balancers_.begin(),
                       unrestored_balancers_.end(),
                       [&name](const Json& r) {
                         return r.contains("description") &&
                                json::String(r["description"], "name") == name;
                       }),
        unrestored_balancers_.end());
    b.description = d;
    if (b.lb == nullptr) {
      b.lb = std::move(*lb);
      SPDLOG_INFO("event=load_balancer_created name={} port={}", name,
                  b.lb->port());
    } else {
      loser = std::move(*lb);
    }
    applied = ApplyFirewall(name);
    PersistLocked();
  }
  loser.reset();  // outside the lock: it waits for its own connections
  return applied;
}

absl::Status LocalProvider::DeleteLoadBalancer(const std::string& name) {
  std::unique_ptr<LoadBalancer> doomed;
  {
    absl::MutexLock l(&mu_);
    auto it = balancers_.find(name);
    if (it == balancers_.end()) {
      return absl::NotFoundError(absl::StrCat("no load balancer ", name));
    }
    for (const auto& [sg, g] : groups_) {
      std::vector<std::string> lbs = Strings(g.description, "loadBalancers");
      if (std::find(lbs.begin(), lbs.end(), name) != lbs.end()) {
        return absl::FailedPreconditionError(
            absl::StrCat("server group ", sg, " still uses ", name));
      }
    }
    doomed = std::move(it->second.lb);
    balancers_.erase(it);
    PersistLocked();
  }
  doomed.reset();  // waits for its connections, outside the lock
  return absl::OkStatus();
}

absl::Status LocalProvider::UpsertSecurityGroup(const Json& d) {
  std::string name = json::String(d, "name");
  if (name.empty()) return Invalid("the security group needs a name");
  const Json& rules =
      d.contains("inboundRules") ? d["inboundRules"] : Json::array();
  if (!rules.is_array()) return Invalid("inboundRules must be a list");
  for (const Json& r : rules) {
    if (!r.is_object() || !r.contains("range")) {
      return Invalid("each inbound rule needs a range {ip, cidr}");
    }
    std::string cidr = absl::StrCat(json::String(r["range"], "ip"),
                                    json::String(r["range"], "cidr"));
    if (!InCidr("0.0.0.0", cidr).ok()) {
      return Invalid(absl::StrCat("bad range '", cidr, "'"));
    }
  }
  absl::MutexLock l(&mu_);
  security_groups_[name] = d;
  PersistLocked();
  for (auto& [lb, b] : balancers_) {
    absl::Status s = ApplyFirewall(lb);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LocalProvider::DeleteSecurityGroup(const std::string& name) {
  absl::MutexLock l(&mu_);
  if (!security_groups_.count(name)) {
    return absl::NotFoundError(absl::StrCat("no security group ", name));
  }
  for (const auto& [lb, b] : balancers_) {
    std::vector<std::string> sgs = Strings(b.description, "securityGroups");
    if (std::find(sgs.begin(), sgs.end(), name) != sgs.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("load balancer ", lb, " still uses ", name));
    }
  }
  security_groups_.erase(name);
  PersistLocked();
  return absl::OkStatus();
}

Json LocalProvider::ServerGroupJson(const Group& g) {
  Names n = ParseName(g.name);
  Json instances = Json::array();
  Json counts = {{"total", 0},   {"up", 0},           {"down", 0},
                 {"unknown", 0}, {"outOfService", 0}, {"starting", 0}};
  int desired = 0;
  if (g.supervisor != nullptr) {
    desired = g.supervisor->desired();
    for (const InstanceView& v : g.supervisor->Instances()) {
      std::string state = HealthStateName(v.health);
      instances.push_back({{"id", v.id},
                           {"name", v.id},
                           {"healthState", state},
                           {"launchTime", v.launch_ms},
                           {"availabilityZone", kRegion},
                           {"health", Json::array({{{"type", "Local"},
                                                    {"healthClass", "platform"},
                                                    {"state", state}}})},
                           {"port", v.port},
                           {"pid", v.pid}});
      counts["total"] = counts["total"].get<int>() + 1;
      const char* key = v.health == HealthState::kUp         ? "up"
                        : v.health == HealthState::kDown     ? "down"
                        : v.health == HealthState::kStarting ? "starting"
                                                             : "outOfService";
      counts[key] = counts[key].get<int>() + 1;
    }
  }
  Json moniker = {{"app", n.app}, {"cluster", n.cluster}};
  if (!n.stack.empty()) moniker["stack"] = n.stack;
  if (!n.detail.empty()) moniker["detail"] = n.detail;
  if (n.sequence.has_value()) moniker["sequence"] = *n.sequence;
  return {
      {"name", g.name},
      {"type", "local"},
      {"cloudProvider", "local"},
      {"account", account_},
      {"region", kRegion},
      {"zones", Json::array({kRegion})},
      {"application", n.app},
      {"cluster", n.cluster},
      {"moniker", moniker},
      {"isDisabled", !g.enabled},
      {"createdTime", g.created_ms},
      {"capacity", {{"min", g.min}, {"max", g.max}, {"desired", desired}}},
      {"instanceCounts", counts},
      {"instances", instances},
      {"loadBalancers", Strings(g.description, "loadBalancers")},
      {"securityGroups", Strings(g.description, "securityGroups")},
      {"launchConfig",
       {{"command", g.description.contains("command") ? g.description["command"]
                                                      : Json::array()}}},
      {"buildInfo", g.description.contains("buildInfo")
                        ? g.description["buildInfo"]
                        : Json::object()}};
}

std::vector<Json> LocalProvider::ServerGroups(const std::string& application) {
  absl::MutexLock l(&mu_);
  std::vector<Json> out;
  for (const auto& [name, g] : groups_) {
    if (g.supervisor != nullptr && ParseName(name).app == application) {
      out.push_back(ServerGroupJson(g));
    }
  }
  return out;
}

absl::StatusOr<Json> LocalProvider::ServerGroup(const std::string& name) {
  absl::MutexLock l(&mu_);
  auto it = groups_.find(name);
  if (it == groups_.end() || it->second.supervisor == nullptr) {
    return absl::NotFoundError(absl::StrCat("no server group ", name));
  }
  return ServerGroupJson(it->second);
}

std::vector<Json> LocalProvider::LoadBalancers(const std::string& application) {
  absl::MutexLock l(&mu_);
  std::vector<Json> out;
  for (const auto& [name, b] : balancers_) {
    if (ParseName(name).app == application)
      out.push_back(LoadBalancerJson(name));
  }
  return out;
}

Json LocalProvider::LoadBalancerJson(const std::string& name) {
  const Balancer& b = balancers_.at(name);
  Json groups = Json::array();
  for (const auto& [sg, g] : groups_) {
    std::vector<std::string> lbs = Strings(g.description, "loadBalancers");
    if (g.supervisor == nullptr ||
        std::find(lbs.begin(), lbs.end(), name) == lbs.end()) {
      continue;
    }
    Json view = ServerGroupJson(g);
    groups.push_back({{"name", sg},
                      {"account", account_},
                      {"region", kRegion},
                      {"isDisabled", !g.enabled},
                      {"cloudProvider", "local"},
                      {"detachedInstances", Json::array()},
                      {"instances", view["instances"]}});
  }
  Names n = ParseName(name);
  Json moniker = {{"app", n.app}, {"cluster", n.cluster}};
  if (!n.stack.empty()) moniker["stack"] = n.stack;
  if (!n.detail.empty()) moniker["detail"] = n.detail;
  return {{"name", name},
          {"type", "local"},
          {"cloudProvider", "local"},
          {"account", account_},
          {"region", kRegion},
          {"application", n.app},
          {"moniker", moniker},
          {"listeners",
           Json::array({{{"port", b.lb->port()}, {"protocol", "HTTP"}}})},
          {"securityGroups", Strings(b.description, "securityGroups")},
          {"serverGroups", groups}};
}

absl::StatusOr<int> LocalProvider::LoadBalancerPort(const std::string& name) {
  absl::MutexLock l(&mu_);
  auto it = balancers_.find(name);
  if (it == balancers_.end()) {
    return absl::NotFoundError(absl::StrCat("no load balancer ", name));
  }
  return it->second.lb->port();
}

std::vector<Json> LocalProvider::SecurityGroups() {
  absl::MutexLock l(&mu_);
  std::vector<Json> out;
  for (const auto& [name, d] : security_groups_) {
    out.push_back(SecurityGroupJson(name, d));
  }
  return out;
}

Json LocalProvider::SecurityGroupJson(const std::string& name, const Json& d) {
  Json rules = Json::array();
  if (d.contains("inboundRules")) {
    for (const Json& r : d["inboundRules"]) {
      rules.push_back(
          {{"protocol", "tcp"},
           {"range", r["range"]},
           {"portRanges",
            r.contains("portRanges") ? r["portRanges"] : Json::array()}});
    }
  }
  return {{"type", "local"},
          {"cloudProvider", "local"},
          {"id", name},
          {"name", name},
          {"application", ParseName(name).app},
          {"accountName", account_},
          {"region", kRegion},
          {"inboundRules", rules},
          {"outboundRules", Json::array()},
          {"summary", {{"name", name}, {"id", name}}}};
}

void LocalProvider::NotifyBalancers() {
  absl::MutexLock l(&mu_);
  NotifyBalancersLocked();
}

void LocalProvider::NotifyBalancersLocked() {
  for (auto& [name, b] : balancers_) {
    if (b.lb != nullptr) b.lb->TargetsChanged();
  }
}

void LocalProvider::SetChangeListener(std::function<void()> listener) {
  absl::MutexLock l(&listener_mu_);
  listener_ = std::move(listener);
}

Json LocalProvider::Snapshot() {
  absl::MutexLock l(&mu_);
  Json groups = Json::array();
  for (const auto& [name, g] : groups_) {
    if (g.supervisor != nullptr) groups.push_back(ServerGroupJson(g));
  }
  Json balancers = Json::array();
  for (const auto& [name, b] : balancers_) {
    balancers.push_back(LoadBalancerJson(name));
  }
  Json sgs = Json::array();
  for (const auto& [name, d] : security_groups_)
    sgs.push_back(SecurityGroupJson(name, d));
  return {{"serverGroups", std::move(groups)},
          {"loadBalancers", std::move(balancers)},
          {"securityGroups", std::move(sgs)}};
}

}  // namespace gennaker::clouddriver::local
