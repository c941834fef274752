#include "services/clouddriver/local/local_provider.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/json/json_fields.h"
#include "common/log/log.h"
#include "common/process/process.h"
#include "common/status/status_macros.h"
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

namespace {

// Kills every process whose environment names `state_dir` (what a previous
// clouddriver left running), with its process group.
void ReapLeftovers(const std::string& state_dir) {
  const std::set<pid_t> leftovers =
      process::ProcessesWithEnv(absl::StrCat(kStateDirEnv, "=", state_dir));
  for (pid_t pid : leftovers) {
    pid_t group = getpgid(pid);
    if (group > 1 && group != getpgrp()) killpg(group, SIGKILL);
    kill(pid, SIGKILL);
  }
  if (!leftovers.empty()) {
    SPDLOG_WARN("event=local_leftovers_killed state_dir={} processes={}",
                state_dir, leftovers.size());
  }
}

// The state file's content; {} when there is none (a new account).
absl::StatusOr<Json> ReadState(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Json::object();
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  Json state = Json::parse(text, nullptr, false);
  if (state.is_discarded() || !state.is_object()) {
    return absl::DataLossError(absl::StrCat(
        path,
        " is not valid JSON; nothing was stopped. Move it away to "
        "start the account empty (its instances keep running until "
        "then)"));
  }
  return state;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalProvider>> LocalProvider::Open(
    std::string account, std::string state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create local state dir ", state_dir, ": ", ec.message()));
  }
  state_dir = std::filesystem::absolute(state_dir).lexically_normal().string();
  while (state_dir.size() > 1 && state_dir.back() == '/') state_dir.pop_back();
  // One clouddriver per state dir: a second one would kill the first one's
  // instances as leftovers. The lock lives as long as the process.
  int lock =
      open((state_dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0) {
    if (lock >= 0) close(lock);
    return absl::FailedPreconditionError(
        absl::StrCat("local state dir ", state_dir,
                     " is in use by another clouddriver (or not writable)"));
  }
  // Read the state before killing anything: an unreadable file stops here
  // with the instances still running.
  absl::StatusOr<Json> state = ReadState(state_dir + "/state.json");
  if (!state.ok()) {
    close(lock);
    return state.status();
  }
  ReapLeftovers(state_dir);
  auto provider =
      std::make_unique<LocalProvider>(std::move(account), std::move(state_dir));
  provider->lock_fd_ = lock;
  GENNAKER_RETURN_IF_ERROR(provider->Restore(*state));
  return provider;
}

void LocalProvider::PersistLocked() {
  if (restoring_) return;
  Json groups = Json::array();
  for (const auto& [name, g] : groups_) {
    groups.push_back({{"name", name},
                      {"requestId", g.request_id},
                      {"description", g.description},
                      {"min", g.min},
                      {"max", g.max},
                      {"desired", g.desired},
                      {"enabled", g.enabled},
                      {"createdTime", g.created_ms}});
  }
  Json balancers = Json::array();
  for (const auto& [name, b] : balancers_) {
    balancers.push_back({{"description", b.description},
                         {"port", b.lb != nullptr ? b.lb->port() : 0}});
  }
  for (const Json& b : unrestored_balancers_) balancers.push_back(b);
  Json sgs = Json::array();
  for (const auto& [name, d] : security_groups_) sgs.push_back(d);
  Json state = {{"version", 1},
                {"account", account_},
                {"securityGroups", sgs},
                {"loadBalancers", balancers},
                {"serverGroups", groups}};
  const std::string path = state_dir_ + "/state.json";
  const std::string tmp = path + ".tmp";
  // 0600: descriptions hold the instances' env, often secrets. Written to
  // a temp file, synced, then renamed over the old one: a crash leaves the
  // old file or the new one, never a torn one.
  const std::string text = state.dump();
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    SPDLOG_ERROR("event=local_state_write_failed path={} errno={}", path,
                 errno);
    return;
  }
  int dir = open(state_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
}

absl::Status LocalProvider::Restore(const Json& state) {
  if (state.empty()) return absl::OkStatus();  // a new account
  {
    absl::MutexLock l(&mu_);
    restoring_ = true;
  }
  for (const Json& d : state.value("securityGroups", Json::array())) {
    if (absl::Status s = UpsertSecurityGroup(d); !s.ok()) {
      SPDLOG_ERROR("event=local_restore_failed kind=securityGroup error={}", s);
    }
  }
  for (const Json& b : state.value("loadBalancers", Json::array())) {
    Json d = b.value("description", Json::object());
    d["listeners"] = Json::array({{{"port", json::Int(b, "port", 0)}}});
    // The port may still be held a moment by the process that just died.
    absl::Status s = UpsertLoadBalancer(d);
    for (int i = 0; i < 20 && !s.ok(); ++i) {
      absl::SleepFor(absl::Milliseconds(250));
      s = UpsertLoadBalancer(d);
    }
    if (!s.ok()) {
      // Kept in the state file: the next start tries again.
      SPDLOG_ERROR(
          "event=local_restore_failed kind=loadBalancer name={} "
          "error={}",
          json::String(d, "name"), s);
      absl::MutexLock l(&mu_);
      unrestored_balancers_.push_back(b);
    }
  }
  int restored = 0;
  for (const Json& g : state.value("serverGroups", Json::array())) {
    const std::string name = json::String(g, "name");
    const Json d = g.value("description", Json::object());
    if (name.empty()) continue;
    absl::StatusOr<ServerGroupSpec> spec = SpecOf(d);
    {
      absl::MutexLock l(&mu_);
      Group& group = groups_[name];
      group.name = name;
      group.request_id = json::String(g, "requestId");
      group.description = d;
      group.min = static_cast<int>(json::Int(g, "min", 0));
      group.max = static_cast<int>(json::Int(g, "max", 0));
      group.desired = static_cast<int>(json::Int(g, "desired", 0));
      group.enabled = json::Bool(g, "enabled", true);
      group.created_ms = json::Int(g, "createdTime", NowMs());
    }
    // A group that cannot start now (a missing binary, a bad record) keeps
    // its record, so the next start tries again instead of forgetting it.
    absl::Status s =
        spec.ok() ? StartGroup(name, *spec,
                               static_cast<int>(json::Int(g, "desired", 0)),
                               json::Bool(g, "enabled", true),
                               /*keep_on_failure=*/true)
                  : spec.status();
    if (!s.ok()) {
      SPDLOG_ERROR(
          "event=local_restore_failed kind=serverGroup name={} "
          "error={}",
          name, s);
      continue;
    }
    ++restored;
  }
  {
    absl::MutexLock l(&mu_);
    restoring_ = false;
    PersistLocked();
  }
  SPDLOG_INFO("event=local_state_restored account={} server_groups={}",
              account_, restored);
  return absl::OkStatus();
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

bool LocalProvider::Supports(const std::string& op) const {
  static const std::set<std::string> kOps = {
      "createServerGroup",   "cloneServerGroup",   "resizeServerGroup",
      "enableServerGroup",   "disableServerGroup", "destroyServerGroup",
      "terminateInstances",  "upsertLoadBalancer", "deleteLoadBalancer",
      "upsertSecurityGroup", "deleteSecurityGroup"};
  return kOps.count(op) > 0;
}

namespace {

// The first non-empty string among `keys`.
std::string FirstOf(const Json& d, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    std::string v = json::String(d, k);
    if (!v.empty()) return v;
  }
  return "";
}

absl::StatusOr<std::string> Required(const Json& d,
                                     std::initializer_list<const char*> keys) {
  std::string v = FirstOf(d, keys);
  if (v.empty()) {
    return Invalid(absl::StrCat("the description needs '", *keys.begin(), "'"));
  }
  return v;
}

Json DeployResult(const std::string& name) {
  return {{"serverGroupNames", Json::array({absl::StrCat(kRegion, ":", name)})},
          {"serverGroupNameByRegion", {{kRegion, name}}},
          {"deployedNames", Json::array({name})},
          {"deployedNamesByLocation", {{kRegion, Json::array({name})}}},
          {"messages", Json::array()}};
}

}  // namespace

absl::StatusOr<Json> LocalProvider::Operate(
    const std::string& op, const Json& d, const std::string& request_id,
    const std::function<void(const std::string&)>& progress) {
  if (!d.is_object()) return Invalid("the description must be an object");
  auto say = [&progress](const std::string& line) {
    if (progress) progress(line);
  };
  if (op == "createServerGroup" || op == "cloneServerGroup") {
    Json description = d;
    if (op == "cloneServerGroup") {
      const Json source = d.value("source", Json::object());
      GENNAKER_ASSIGN_OR_RETURN(
          std::string from, Required(source, {"asgName", "serverGroupName"}));
      Json base;
      {
        absl::MutexLock l(&mu_);
        auto it = groups_.find(from);
        if (it == groups_.end()) {
          return absl::NotFoundError(
              absl::StrCat("source server group ", from, " not found"));
        }
        base = it->second.description;
        if (!d.contains("capacity")) {
          base["capacity"] = {{"min", it->second.min},
                              {"max", it->second.max},
                              {"desired", it->second.desired}};
        }
      }
      for (auto it = d.begin(); it != d.end(); ++it) {
        if (it.key() != "source" && !it->is_null()) base[it.key()] = *it;
      }
      description = std::move(base);
      say(absl::StrCat("Cloning ", from));
    }
    say("Creating server group");
    GENNAKER_ASSIGN_OR_RETURN(std::string name,
                              CreateServerGroup(description, request_id));
    say(absl::StrCat("Created server group ", name));
    return DeployResult(name);
  }
  if (op == "resizeServerGroup") {
    GENNAKER_ASSIGN_OR_RETURN(std::string name,
                              Required(d, {"serverGroupName", "asgName"}));
    const Json cap = d.value("capacity", Json::object());
    if (!cap.is_object() || !cap.contains("desired")) {
      return Invalid("resizeServerGroup needs capacity.desired");
    }
    int desired = static_cast<int>(json::Int(cap, "desired", 0));
    int min = 0, max = 0;
    {
      absl::MutexLock l(&mu_);
      auto it = groups_.find(name);
      if (it == groups_.end()) {
        return absl::NotFoundError(absl::StrCat("no server group ", name));
      }
      min = std::min(it->second.min, desired);
      max = std::max(it->second.max, desired);
    }
    min = static_cast<int>(json::Int(cap, "min", min));
    max = static_cast<int>(json::Int(cap, "max", max));
    say(absl::StrCat("Resizing ", name, " to ", desired));
    GENNAKER_RETURN_IF_ERROR(Resize(name, min, max, desired));
    return Json::object();
  }
  if (op == "enableServerGroup" || op == "disableServerGroup") {
    GENNAKER_ASSIGN_OR_RETURN(std::string name,
                              Required(d, {"serverGroupName", "asgName"}));
    const bool enable = op == "enableServerGroup";
    say(absl::StrCat(enable ? "Enabling " : "Disabling ", name));
    GENNAKER_RETURN_IF_ERROR(SetEnabled(name, enable));
    return Json::object();
  }
  if (op == "destroyServerGroup") {
    GENNAKER_ASSIGN_OR_RETURN(std::string name,
                              Required(d, {"serverGroupName", "asgName"}));
    say(absl::StrCat("Destroying ", name));
    GENNAKER_RETURN_IF_ERROR(Destroy(name));
    return Json::object();
  }
  if (op == "terminateInstances") {
    const Json ids = d.value("instanceIds", Json::array());
    if (!ids.is_array() || ids.empty()) {
      return Invalid("terminateInstances needs instanceIds");
    }
    for (const Json& id : ids) {
      if (!id.is_string()) return Invalid("instanceIds must be strings");
      std::string instance = id.get<std::string>();
      std::string group = FirstOf(d, {"serverGroupName", "asgName"});
      if (group.empty()) group = instance.substr(0, instance.rfind('-'));
      say(absl::StrCat("Terminating ", instance));
      GENNAKER_RETURN_IF_ERROR(TerminateInstance(group, instance));
    }
    return Json::object();
  }
  if (op == "upsertLoadBalancer") {
    Json description = d;
    description["name"] = FirstOf(d, {"name", "loadBalancerName"});
    say(absl::StrCat("Upserting load balancer ",
                     json::String(description, "name")));
    GENNAKER_RETURN_IF_ERROR(UpsertLoadBalancer(description));
    return Json{{"loadBalancers",
                 {{kRegion, {{"name", json::String(description, "name")}}}}}};
  }
  if (op == "deleteLoadBalancer") {
    GENNAKER_ASSIGN_OR_RETURN(std::string name,
                              Required(d, {"loadBalancerName", "name"}));
    say(absl::StrCat("Deleting load balancer ", name));
    GENNAKER_RETURN_IF_ERROR(DeleteLoadBalancer(name));
    return Json::object();
  }
  if (op == "upsertSecurityGroup") {
    Json description = d;
    description["name"] = FirstOf(d, {"name", "securityGroupName"});
    say(absl::StrCat("Upserting security group ",
                     json::String(description, "name")));
    GENNAKER_RETURN_IF_ERROR(UpsertSecurityGroup(description));
    return Json::object();
  }
  if (op == "deleteSecurityGroup") {
    GENNAKER_ASSIGN_OR_RETURN(std::string name,
                              Required(d, {"securityGroupName", "name"}));
    say(absl::StrCat("Deleting security group ", name));
    GENNAKER_RETURN_IF_ERROR(DeleteSecurityGroup(name));
    return Json::object();
  }
  return absl::UnimplementedError(
      absl::StrCat("the local provider has no operation '", op, "'"));
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
