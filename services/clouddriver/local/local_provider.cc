#include "services/clouddriver/local/local_provider.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/names.h"
#include "common/spinnaker/shapes.h"
#include "common/status/status_macros.h"
#include "gennaker/clouddriver/v1/clouddriver.pb.h"

namespace gennaker::clouddriver::local {

namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

constexpr char kCloudProvider[] = "local";

v1::HealthState HealthOf(HealthState state) {
  switch (state) {
    case HealthState::kStarting:
      return v1::HEALTH_STATE_STARTING;
    case HealthState::kUp:
      return v1::HEALTH_STATE_UP;
    case HealthState::kDown:
      return v1::HEALTH_STATE_DOWN;
    case HealthState::kOutOfService:
      return v1::HEALTH_STATE_OUT_OF_SERVICE;
  }
  return v1::HEALTH_STATE_UNKNOWN;
}

// Whether the array member `key` of `description` lists `name`.
bool Lists(const Json& description, const char* key, const std::string& name) {
  std::vector<std::string> names = spinnaker::Strings(description, key);
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The first entry of `items` (groups or balancers, by name) whose description
// lists `name` under `key`.
template <typename Items>
std::optional<std::string> FirstUser(const Items& items, const char* key,
                                     const std::string& name) {
  for (const auto& [user, item] : items) {
    if (Lists(item.description, key, name)) return user;
  }
  return std::nullopt;
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

LocalProvider::LocalProvider(std::string account, std::string state_dir,
                             std::string image_store_dir)
    : account_(std::move(account)),
      state_dir_(std::move(state_dir)),
      images_(image_store_dir.empty() ? std::nullopt
                                      : std::make_optional<ImageStore>(
                                            std::move(image_store_dir))) {}

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
  {
    absl::MutexLock l(&mu_);
    PrepareTargetsLocked();  // no instances left: no targets
  }
  FlushTargetsOrLog();
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::StatusOr<std::optional<LocalImage>> LocalProvider::ImageOf(
    const Json& d, const std::string& pinned_id) {
  std::string id = spinnaker::String(d, "imageId");
  std::string name =
      spinnaker::FirstString(d, {"imageName", "image", "amiName"});
  if (id.empty() && name.empty() && pinned_id.empty()) return std::nullopt;
  // Spinnaker's imageId is whatever the cloud calls an image: a name here.
  if (!id.empty() && !ImageStore::IsImageId(id) && name.empty()) {
    name = std::exchange(id, "");
  }
  const std::string asked = !id.empty() ? id : name;
  if (!images_.has_value()) {
    return Invalid(absl::StrCat("account '", account_,
                                "' has no image store (image_store_dir) to "
                                "deploy image '",
                                asked, "' from; give a command instead"));
  }
  auto resolve = [&](const std::string& ref) -> absl::StatusOr<LocalImage> {
    absl::StatusOr<LocalImage> image = images_->Resolve(ref);
    if (absl::IsNotFound(image.status())) {
      return Invalid(absl::StrCat("image '", ref,
                                  "' not found in the image store of account '",
                                  account_, "'"));
    }
    if (absl::IsDataLoss(image.status())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "image '", ref, "' is unusable: ", image.status().message()));
    }
    return image;
  };
  if (!pinned_id.empty()) {
    // A restored group runs what it ran; its name still labels it when the
    // name points at the same content.
    if (!name.empty()) {
      absl::StatusOr<LocalImage> named = images_->Resolve(name);
      if (named.ok() && named->id == pinned_id) return *named;
    }
    GENNAKER_ASSIGN_OR_RETURN(LocalImage image, resolve(pinned_id));
    return image;
  }
  if (name.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(LocalImage image, resolve(id));
    return image;
  }
  GENNAKER_ASSIGN_OR_RETURN(LocalImage image, resolve(name));
  if (!id.empty() && image.id != id) {
    return Invalid(absl::StrCat("image '", name, "' is ", image.id,
                                ", not the imageId ", id));
  }
  return image;
}

absl::StatusOr<ServerGroupSpec> LocalProvider::SpecOf(
    const Json& d, const std::optional<LocalImage>& image) {
  ServerGroupSpec spec;
  spec.command = spinnaker::Strings(d, "command");
  if (image.has_value()) {
    // The description's command wins: the same image can run differently.
    if (spec.command.empty()) spec.command = image->command;
    if (spec.command.empty() || spec.command[0].empty()) {
      return Invalid(absl::StrCat("image '", image->id,
                                  "' has no command; give the deploy "
                                  "description a command"));
    }
    std::string& program = spec.command[0];
    const std::filesystem::path rel(program);
    // A relative program is the image's own (a bare name only when the
    // rootfs has it; otherwise it is looked up on PATH).
    bool in_image =
        rel.is_relative() &&
        (program.find('/') != std::string::npos ||
         std::filesystem::exists(std::filesystem::path(image->rootfs) / rel));
    if (in_image) {
      for (const auto& part : rel) {
        if (part == "..") {
          return Invalid(absl::StrCat("the program '", program,
                                      "' leaves the image's rootfs"));
        }
      }
      program = (std::filesystem::path(image->rootfs) / rel).string();
      if (access(program.c_str(), X_OK) != 0) {
        return Invalid(absl::StrCat("image '", image->id, "' has no program ",
                                    rel.string()));
      }
    }
    spec.cwd = image->rootfs;
  }
  if (d.contains("env") && d["env"].is_object()) {
    for (auto it = d["env"].begin(); it != d["env"].end(); ++it) {
      if (!it->is_string()) return Invalid("env values must be strings");
      spec.env.push_back({it.key(), it->get<std::string>()});
    }
  } else if (d.contains("env") && !d["env"].is_null()) {
    return Invalid("env must be an object of strings");
  }
  if (image.has_value()) {
    spec.env.push_back({"GENNAKER_IMAGE_ID", image->id});
    spec.env.push_back({"GENNAKER_IMAGE_DIR", image->rootfs});
  }
  spec.env.push_back({kStateDirEnv, state_dir_});
  if (d.contains("healthCheck") && d["healthCheck"].is_object()) {
    const Json& h = d["healthCheck"];
    spec.health.path = spinnaker::String(h, "path", spec.health.path);
    spec.health.interval_ms = static_cast<int>(
        spinnaker::Int(h, "intervalMs", spec.health.interval_ms));
    spec.health.timeout_ms = static_cast<int>(
        spinnaker::Int(h, "timeoutMs", spec.health.timeout_ms));
    spec.health.healthy_threshold = static_cast<int>(
        spinnaker::Int(h, "healthyThreshold", spec.health.healthy_threshold));
    spec.health.unhealthy_threshold = static_cast<int>(spinnaker::Int(
        h, "unhealthyThreshold", spec.health.unhealthy_threshold));
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
  std::string app = spinnaker::String(d, "application");
  std::string detail = spinnaker::String(d, "freeFormDetails");
  if (detail.empty()) detail = spinnaker::String(d, "freeFormDetail");
  absl::StatusOr<std::string> cluster =
      spinnaker::ClusterName(app, spinnaker::String(d, "stack"), detail);
  if (!cluster.ok()) return cluster.status();
  absl::StatusOr<std::optional<LocalImage>> image = ImageOf(d);
  if (!image.ok()) return image.status();
  absl::StatusOr<ServerGroupSpec> spec = SpecOf(d, *image);
  if (!spec.ok()) return spec.status();
  const Json cap = d.contains("capacity") && d["capacity"].is_object()
                       ? d["capacity"]
                       : Json::object();
  int desired = static_cast<int>(spinnaker::Int(cap, "desired", 1));
  int min = static_cast<int>(spinnaker::Int(cap, "min", desired));
  int max = static_cast<int>(spinnaker::Int(cap, "max", desired));
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
    for (const std::string& lb : spinnaker::Strings(d, "loadBalancers")) {
      if (!balancers_.count(lb)) {
        return Invalid(absl::StrCat("unknown load balancer '", lb, "'"));
      }
    }
    for (const std::string& sg : spinnaker::Strings(d, "securityGroups")) {
      if (!security_groups_.count(sg)) {
        return Invalid(absl::StrCat("unknown security group '", sg, "'"));
      }
    }
    std::vector<spinnaker::Slot> taken;
    for (const auto& [n, g] : groups_) {
      spinnaker::Names parsed = spinnaker::ParseName(n);
      if (parsed.cluster == *cluster && parsed.sequence.has_value()) {
        taken.push_back({n, *parsed.sequence, g.created_ms});
      }
    }
    absl::StatusOr<int> seq = spinnaker::NextSequence(taken);
    if (!seq.ok()) return seq.status();
    name = *spinnaker::ServerGroupName(*cluster, *seq);
    Group& g = groups_[name];  // reserves the name
    g.name = name;
    g.request_id = request_id;
    g.description = d;
    g.min = min;
    g.max = max;
    g.desired = desired;
    g.created_ms = NowMs();
    g.image = *image;
    if (g.image.has_value()) g.image_id = g.image->id;
    PersistLocked();
  }
  if (absl::Status s = StartGroup(name, *spec, desired, true); !s.ok()) {
    return s;
  }
  SPDLOG_INFO(
      "event=server_group_created account={} server_group={} desired={} "
      "image={}",
      account_, name, desired,
      image->has_value() ? (*image)->id : std::string("none"));
  return name;
}

absl::Status LocalProvider::StartGroup(const std::string& name,
                                       ServerGroupSpec spec, int desired,
                                       bool enabled, bool keep_on_failure) {
  spec.name = name;
  auto supervisor = std::make_unique<InstanceSupervisor>(spec, desired);
  supervisor->SetEnabled(enabled);
  bool group_gone = false;
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
    } else {
      group_gone = true;
    }
  }
  FlushTargetsOrLog();
  if (!group_gone) return absl::OkStatus();
  supervisor.reset();  // destroyed meanwhile; stops outside the lock
  return absl::AbortedError(absl::StrCat(name, " was destroyed meanwhile"));
}

absl::Status LocalProvider::Resize(const std::string& sg, int min, int max,
                                   int desired) {
  if (absl::Status s = CheckCapacity(min, max, desired); !s.ok()) return s;
  {
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
  }
  FlushTargetsOrLog();
  return absl::OkStatus();
}

absl::Status LocalProvider::SetEnabled(const std::string& sg, bool enabled) {
  {
    absl::MutexLock l(&mu_);
    auto it = groups_.find(sg);
    if (it == groups_.end() || it->second.supervisor == nullptr) {
      return absl::NotFoundError(absl::StrCat("no server group ", sg));
    }
    it->second.enabled = enabled;
    it->second.supervisor->SetEnabled(enabled);
    PersistLocked();
    NotifyBalancersLocked();
  }
  FlushTargetsOrLog();
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
  FlushTargetsOrLog();
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
    if (!Lists(g.description, "loadBalancers", balancer)) continue;
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
  for (const std::string& sg :
       spinnaker::Strings(b.description, "securityGroups")) {
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
        covers = covers || (spinnaker::Int(pr, "startPort", 0) <= port &&
                            port <= spinnaker::Int(pr, "endPort", 65535));
      }
      if (!covers || !r.contains("range")) continue;
      cidrs.push_back(absl::StrCat(spinnaker::String(r["range"], "ip"),
                                   spinnaker::String(r["range"], "cidr")));
    }
  }
  // Attached security groups with no matching rule allow nobody.
  if (cidrs.empty() &&
      !spinnaker::Strings(b.description, "securityGroups").empty()) {
    cidrs.push_back("0.0.0.0/32");
  }
  return b.lb->SetAllowedCidrs(cidrs);
}

absl::Status LocalProvider::UpsertLoadBalancer(const Json& d) {
  std::string name = spinnaker::String(d, "name");
  if (name.empty() || !spinnaker::ParseName(name).cluster.size()) {
    return Invalid(
        "the load balancer needs a valid name (app[-stack[-detail]])");
  }
  int port = 0;
  if (d.contains("listeners") && d["listeners"].is_array() &&
      !d["listeners"].empty()) {
    port = static_cast<int>(spinnaker::Int(d["listeners"][0], "port", 0));
  }
  if (port < 0 || port > 65535) return Invalid("listener port out of range");
  {
    absl::MutexLock l(&mu_);
    for (const std::string& sg : spinnaker::Strings(d, "securityGroups")) {
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
        std::remove_if(
            unrestored_balancers_.begin(), unrestored_balancers_.end(),
            [&name](const Json& r) {
              return r.contains("description") &&
                     spinnaker::String(r["description"], "name") == name;
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
    if (auto user = FirstUser(groups_, "loadBalancers", name)) {
      return absl::FailedPreconditionError(
          absl::StrCat("server group ", *user, " still uses ", name));
    }
    doomed = std::move(it->second.lb);
    balancers_.erase(it);
    PersistLocked();
  }
  doomed.reset();  // waits for its connections, outside the lock
  return absl::OkStatus();
}

absl::Status LocalProvider::UpsertSecurityGroup(const Json& d) {
  std::string name = spinnaker::String(d, "name");
  if (name.empty()) return Invalid("the security group needs a name");
  const Json& rules =
      d.contains("inboundRules") ? d["inboundRules"] : Json::array();
  if (!rules.is_array()) return Invalid("inboundRules must be a list");
  for (const Json& r : rules) {
    if (!r.is_object() || !r.contains("range")) {
      return Invalid("each inbound rule needs a range {ip, cidr}");
    }
    std::string cidr = absl::StrCat(spinnaker::String(r["range"], "ip"),
                                    spinnaker::String(r["range"], "cidr"));
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
  if (auto user = FirstUser(balancers_, "securityGroups", name)) {
    return absl::FailedPreconditionError(
        absl::StrCat("load balancer ", *user, " still uses ", name));
  }
  security_groups_.erase(name);
  PersistLocked();
  return absl::OkStatus();
}

Json LocalProvider::ServerGroupJson(const Group& g) {
  const spinnaker::Names n = spinnaker::ParseName(g.name);
  v1::ServerGroup group;
  group.set_name(g.name);
  group.set_account(account_);
  group.set_region(kRegion);
  group.set_cloud_provider(kCloudProvider);
  *group.mutable_moniker() = spinnaker::MonikerProto(n);
  group.add_zones(kRegion);
  group.set_disabled(!g.enabled);
  group.set_created_time_ms(g.created_ms);
  group.mutable_capacity()->set_min(g.min);
  group.mutable_capacity()->set_max(g.max);
  std::vector<InstanceView> views;
  if (g.supervisor != nullptr) {
    group.mutable_capacity()->set_desired(g.supervisor->desired());
    views = g.supervisor->Instances();
  }
  std::map<HealthState, int> by_health;
  for (const InstanceView& v : views) {
    v1::Instance* in = group.add_instances();
    in->set_id(v.id);
    in->set_human_readable_name(v.id);
    in->set_zone(kRegion);
    in->set_health_state(HealthOf(v.health));
    in->set_launch_time_ms(v.launch_ms);
    v1::Health* health = in->add_health();
    health->set_type("Local");
    health->set_health_class("platform");
    health->set_state(HealthOf(v.health));
    ++by_health[v.health];
  }
  v1::InstanceCounts* counts = group.mutable_instance_counts();
  counts->set_total(static_cast<int>(views.size()));
  counts->set_up(by_health[HealthState::kUp]);
  counts->set_down(by_health[HealthState::kDown]);
  counts->set_starting(by_health[HealthState::kStarting]);
  counts->set_out_of_service(by_health[HealthState::kOutOfService]);
  for (const std::string& lb :
       spinnaker::Strings(g.description, "loadBalancers")) {
    group.add_load_balancers(lb);
  }
  for (const std::string& sg :
       spinnaker::Strings(g.description, "securityGroups")) {
    group.add_security_groups(sg);
  }
  // The list view's shape (isDisabled, instance views), which is what the
  // cache serves, plus what only a local server group has.
  Json j = spinnaker::ServerGroupJson(group, spinnaker::ServerGroupView::kList);
  // A local server group is never part of a server group manager, and its
  // rendering has never listed them.
  j.erase("serverGroupManagers");
  for (size_t i = 0; i < views.size(); ++i) {
    j["instances"][i]["port"] = views[i].port;
    j["instances"][i]["pid"] = views[i].pid;
  }
  Json launch = {{"command", spinnaker::Array(g.description, "command")}};
  if (g.image.has_value()) {
    // What runs: the image's command unless the description gave one.
    if (launch["command"].empty()) launch["command"] = g.image->command;
    launch["imageId"] = g.image->id;
    launch["imageName"] = g.image->name;
    j["image"] = {{"imageId", g.image->id}, {"name", g.image->name}};
    j["imageId"] = g.image->id;
  }
  j["launchConfig"] = std::move(launch);
  j["buildInfo"] = BuildInfoOf(g);
  return j;
}

Json LocalProvider::BuildInfoOf(const Group& g) {
  if (g.image.has_value()) {
    Json info = ServerGroupBuildInfo(*g.image);
    if (!info.empty()) return info;
  }
  return spinnaker::Object(g.description, "buildInfo");
}

std::vector<ProviderImage> LocalProvider::Images() {
  std::vector<ProviderImage> out;
  if (!images_.has_value()) return out;
  for (LocalImage& image : images_->List()) {
    out.push_back({image.id, image.name, kRegion, std::move(image.tags),
                   image.created_ms});
  }
  return out;
}

std::vector<Json> LocalProvider::ServerGroups(const std::string& application) {
  absl::MutexLock l(&mu_);
  std::vector<Json> out;
  for (const auto& [name, g] : groups_) {
    if (g.supervisor != nullptr &&
        spinnaker::ParseName(name).app == application) {
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
    if (spinnaker::ParseName(name).app == application)
      out.push_back(LoadBalancerJson(name));
  }
  return out;
}

Json LocalProvider::LoadBalancerJson(const std::string& name) {
  const Balancer& b = balancers_.at(name);
  const spinnaker::Names n = spinnaker::ParseName(name);
  v1::LoadBalancer lb;
  lb.set_name(name);
  lb.set_account(account_);
  lb.set_region(kRegion);
  lb.set_cloud_provider(kCloudProvider);
  // A load balancer's moniker has no sequence.
  spinnaker::Names unversioned = n;
  unversioned.sequence.reset();
  *lb.mutable_moniker() = spinnaker::MonikerProto(unversioned);
  std::vector<const Group*> behind;
  for (const auto& [sg, g] : groups_) {
    if (g.supervisor == nullptr ||
        !Lists(g.description, "loadBalancers", name)) {
      continue;
    }
    lb.add_server_groups(sg);
    behind.push_back(&g);
  }
  Json j = spinnaker::LoadBalancerJson(lb);
  // What only a local load balancer has: its listener, security groups and
  // the state and instances of the server groups behind it.
  j["application"] = n.app;
  j["listeners"] =
      Json::array({{{"port", b.lb->port()}, {"protocol", "HTTP"}}});
  j["securityGroups"] = spinnaker::Strings(b.description, "securityGroups");
  for (size_t i = 0; i < behind.size(); ++i) {
    Json& entry = j["serverGroups"][i];
    entry["isDisabled"] = !behind[i]->enabled;
    entry["detachedInstances"] = Json::array();
    entry["instances"] = ServerGroupJson(*behind[i])["instances"];
  }
  return j;
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
  const spinnaker::Names n = spinnaker::ParseName(name);
  v1::SecurityGroup group;
  group.set_id(name);
  group.set_name(name);
  group.set_account(account_);
  group.set_region(kRegion);
  group.set_cloud_provider(kCloudProvider);
  group.set_application(n.app);
  Json j = spinnaker::SecurityGroupJson(group);
  // The local rendering has never carried a moniker.
  j.erase("moniker");
  Json rules = Json::array();
  for (const Json& r : spinnaker::Array(d, "inboundRules")) {
    rules.push_back({{"protocol", "tcp"},
                     {"range", r["range"]},
                     {"portRanges", r.contains("portRanges") ? r["portRanges"]
                                                             : Json::array()}});
  }
  j["inboundRules"] = std::move(rules);
  return j;
}

void LocalProvider::NotifyBalancers() {
  {
    absl::MutexLock l(&mu_);
    NotifyBalancersLocked();
  }
  FlushTargetsOrLog();
}

void LocalProvider::NotifyBalancersLocked() {
  for (auto& [name, b] : balancers_) {
    if (b.lb != nullptr) b.lb->TargetsChanged();
  }
  // Every change of the instances passes here: Prometheus follows too (the
  // caller writes the file once it released mu_).
  PrepareTargetsLocked();
}

absl::Status LocalProvider::PublishPrometheusTargets(std::string path) {
  {
    absl::MutexLock l(&mu_);
    file_sd_path_ = std::move(path);
    file_sd_prepared_.clear();
    PrepareTargetsLocked();
  }
  return FlushTargets();
}

Json LocalProvider::PrometheusTargets() {
  absl::MutexLock l(&mu_);
  return PrometheusTargetsLocked();
}

Json LocalProvider::PrometheusTargetsLocked() {
  Json out = Json::array();
  for (const auto& [name, g] : groups_) {
    if (g.supervisor == nullptr) continue;
    const spinnaker::Names n = spinnaker::ParseName(name);
    const std::string version = spinnaker::String(BuildInfoOf(g), "version");
    for (const InstanceView& v : g.supervisor->Instances()) {
      // One group per instance: the instance label differs.
      Json labels = {{"account", account_},  {"application", n.app},
                     {"cluster", n.cluster}, {"server_group", name},
                     {"location", kRegion},  {"instance", v.id}};
      if (!version.empty()) labels["version"] = version;
      out.push_back({{"targets", {absl::StrCat("127.0.0.1:", v.port)}},
                     {"labels", std::move(labels)}});
    }
  }
  return out;
}

void LocalProvider::PrepareTargetsLocked() {
  if (file_sd_path_.empty()) {
    pending_targets_.reset();
    return;
  }
  std::string text = PrometheusTargetsLocked().dump(2) + "\n";
  if (text == file_sd_prepared_) return;
  file_sd_prepared_ = text;
  pending_targets_ =
      TargetsFile{file_sd_path_, std::move(text), ++targets_generation_};
}

absl::Status LocalProvider::FlushTargets() {
  std::optional<TargetsFile> file;
  {
    absl::MutexLock l(&mu_);
    file.swap(pending_targets_);
  }
  if (!file.has_value()) return absl::OkStatus();
  absl::Status s = WriteTargets(*file);
  if (!s.ok()) {
    // The next change writes again, even with the same text.
    absl::MutexLock l(&mu_);
    if (targets_generation_ == file->generation) file_sd_prepared_.clear();
  }
  return s;
}

void LocalProvider::FlushTargetsOrLog() {
  if (absl::Status s = FlushTargets(); !s.ok()) {
    SPDLOG_WARN("event=prometheus_targets_write_failed account={} error={}",
                account_, s);
  }
}

absl::Status LocalProvider::WriteTargets(const TargetsFile& file) {
  // Temp names unique in the process (and across processes by pid): two
  // writers never share a temp file.
  static std::atomic<uint64_t> temp_counter{0};
  absl::MutexLock l(&file_mu_);
  if (file.generation <= targets_written_) {
    return absl::OkStatus();  // a newer text is already on disk
  }
  const std::filesystem::path path(file.path);
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  // Prometheus watches the file: it must never see half of it.
  const std::string tmp = absl::StrCat(file.path, ".tmp.", getpid(), ".",
                                       temp_counter.fetch_add(1));
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << file.text;
    f.close();
    if (!f) {
      std::filesystem::remove(tmp, ec);
      return absl::InternalError(
          absl::StrCat("cannot write Prometheus targets to ", tmp));
    }
  }
  std::filesystem::permissions(tmp, std::filesystem::perms(0644),
                               std::filesystem::perm_options::replace, ec);
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return absl::InternalError(
        absl::StrCat("cannot rename Prometheus targets into ", file.path));
  }
  targets_written_ = file.generation;
  return absl::OkStatus();
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
