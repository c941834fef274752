// LocalProvider::Operate: clouddriver's operation names and description
// fields (Spinnaker's, with the usual aliases) mapped onto the provider.
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/json/json_fields.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/clouddriver/local/local_provider.h"

namespace gennaker::clouddriver::local {

namespace {

absl::Status Invalid(const std::string& what) {
  return absl::InvalidArgumentError(what);
}

}  // namespace

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

}  // namespace gennaker::clouddriver::local
