// LocalProvider::Operate: clouddriver's operation names and description
// fields (Spinnaker's, with the usual aliases) mapped onto the provider, one
// table entry per operation name.
#include <functional>
#include <map>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"
#include "services/clouddriver/local/local_provider.h"

namespace gennaker::clouddriver::local {

namespace {

using Say = std::function<void(const std::string&)>;

absl::Status Invalid(const std::string& what) {
  return absl::InvalidArgumentError(what);
}

// The first of `keys` holding a non-empty string; INVALID_ARGUMENT naming the
// first key when there is none.
absl::StatusOr<std::string> Required(
    const Json& d, std::initializer_list<std::string_view> keys) {
  std::string v = spinnaker::FirstString(d, keys);
  if (v.empty()) {
    return Invalid(absl::StrCat("the description needs '",
                                std::string(*keys.begin()), "'"));
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

// The operations of the table; a nested type, so that they reach the
// provider's groups the way its own methods do.
struct LocalProvider::OperationTable {
  // Runs one operation of the table on `p`; `d` is an object.
  using Handler = std::function<absl::StatusOr<Json>(
      LocalProvider& p, const Json& d, const std::string& request_id,
      const Say& say)>;

  static const std::map<std::string, Handler, std::less<>>& Table() {
    static const auto* const kTable = new std::map<std::string, Handler,
                                                   std::less<>>{
        {"createServerGroup", Deploy},
        {"cloneServerGroup", Clone},
        {"resizeServerGroup", Resize},
        {"enableServerGroup",
         OnNamed("serverGroupName", "asgName", "Enabling ",
                 [](LocalProvider& p, const std::string& name) {
                   return p.SetEnabled(name, true);
                 })},
        {"disableServerGroup",
         OnNamed("serverGroupName", "asgName", "Disabling ",
                 [](LocalProvider& p, const std::string& name) {
                   return p.SetEnabled(name, false);
                 })},
        {"destroyServerGroup", OnNamed("serverGroupName", "asgName",
                                       "Destroying ", &LocalProvider::Destroy)},
        {"terminateInstances", Terminate},
        {"upsertLoadBalancer",
         Upsert("loadBalancerName", "Upserting load balancer ",
                &LocalProvider::UpsertLoadBalancer,
                [](const std::string& name) {
                  return Json{{"loadBalancers", {{kRegion, {{"name", name}}}}}};
                })},
        {"deleteLoadBalancer",
         OnNamed("loadBalancerName", "name", "Deleting load balancer ",
                 &LocalProvider::DeleteLoadBalancer)},
        {"upsertSecurityGroup",
         Upsert("securityGroupName", "Upserting security group ",
                &LocalProvider::UpsertSecurityGroup,
                [](const std::string&) { return Json::object(); })},
        {"deleteSecurityGroup",
         OnNamed("securityGroupName", "name", "Deleting security group ",
                 &LocalProvider::DeleteSecurityGroup)},
    };
    return *kTable;
  }

  // An operation on one named item: the name is `key`'s or else `alias`'s,
  // `verb` + name goes to the history, and the result object is empty.
  static Handler OnNamed(
      std::string_view key, std::string_view alias, const char* verb,
      std::function<absl::Status(LocalProvider&, const std::string&)> act) {
    return [key, alias, verb, act](LocalProvider& p, const Json& d,
                                   const std::string&,
                                   const Say& say) -> absl::StatusOr<Json> {
      GENNAKER_ASSIGN_OR_RETURN(std::string name, Required(d, {key, alias}));
      say(absl::StrCat(verb, name));
      GENNAKER_RETURN_IF_ERROR(act(p, name));
      return Json::object();
    };
  }

  // An upsert of a load balancer or security group: the description's name
  // is "name" or its `alias`; `result` makes the result object of a name.
  static Handler Upsert(std::string_view alias, const char* verb,
                        absl::Status (LocalProvider::*act)(const Json&),
                        Json (*result)(const std::string&)) {
    return [alias, verb, act, result](LocalProvider& p, const Json& d,
                                      const std::string&,
                                      const Say& say) -> absl::StatusOr<Json> {
      Json description = d;
      const std::string name = spinnaker::FirstString(d, {"name", alias});
      description["name"] = name;
      say(absl::StrCat(verb, name));
      GENNAKER_RETURN_IF_ERROR((p.*act)(description));
      return result(name);
    };
  }

  static absl::StatusOr<Json> Deploy(LocalProvider& p, const Json& d,
                                     const std::string& request_id,
                                     const Say& say) {
    say("Creating server group");
    GENNAKER_ASSIGN_OR_RETURN(std::string name,
                              p.CreateServerGroup(d, request_id));
    say(absl::StrCat("Created server group ", name));
    return DeployResult(name);
  }

  // A deploy of the source group's description and capacity, overridden by
  // the fields the clone description gives.
  static absl::StatusOr<Json> Clone(LocalProvider& p, const Json& d,
                                    const std::string& request_id,
                                    const Say& say) {
    const Json source = d.value("source", Json::object());
    GENNAKER_ASSIGN_OR_RETURN(std::string from,
                              Required(source, {"asgName", "serverGroupName"}));
    Json base;
    std::string source_image;  // the content the source runs, if an image
    {
      absl::MutexLock l(&p.mu_);
      auto it = p.groups_.find(from);
      if (it == p.groups_.end()) {
        return absl::NotFoundError(
            absl::StrCat("source server group ", from, " not found"));
      }
      base = it->second.description;
      source_image = it->second.image_id;
      if (!d.contains("capacity")) {
        base["capacity"] = {{"min", it->second.min},
                            {"max", it->second.max},
                            {"desired", it->second.desired}};
      }
    }
    // A clone that names an image replaces the source's image as a whole
    // (its id and its name could disagree otherwise); one that names none
    // runs the very content the source runs, wherever its name points now.
    constexpr const char* kImageKeys[] = {"imageId", "image", "imageName",
                                          "amiName"};
    bool names_image = false;
    for (const char* key : kImageKeys) {
      names_image = names_image || (d.contains(key) && !d[key].is_null());
    }
    if (names_image || !source_image.empty()) {
      for (const char* drop : kImageKeys) base.erase(drop);
      if (!names_image) base["imageId"] = source_image;
    }
    for (auto it = d.begin(); it != d.end(); ++it) {
      if (it.key() != "source" && !it->is_null()) base[it.key()] = *it;
    }
    say(absl::StrCat("Cloning ", from));
    return Deploy(p, base, request_id, say);
  }

  static absl::StatusOr<Json> Resize(LocalProvider& p, const Json& d,
                                     const std::string&, const Say& say) {
    GENNAKER_ASSIGN_OR_RETURN(std::string name,
                              Required(d, {"serverGroupName", "asgName"}));
    const Json cap = d.value("capacity", Json::object());
    if (!cap.is_object() || !cap.contains("desired")) {
      return Invalid("resizeServerGroup needs capacity.desired");
    }
    int desired = static_cast<int>(spinnaker::Int(cap, "desired", 0));
    int min = 0, max = 0;
    {
      absl::MutexLock l(&p.mu_);
      auto it = p.groups_.find(name);
      if (it == p.groups_.end()) {
        return absl::NotFoundError(absl::StrCat("no server group ", name));
      }
      min = std::min(it->second.min, desired);
      max = std::max(it->second.max, desired);
    }
    min = static_cast<int>(spinnaker::Int(cap, "min", min));
    max = static_cast<int>(spinnaker::Int(cap, "max", max));
    say(absl::StrCat("Resizing ", name, " to ", desired));
    GENNAKER_RETURN_IF_ERROR(p.Resize(name, min, max, desired));
    return Json::object();
  }

  static absl::StatusOr<Json> Terminate(LocalProvider& p, const Json& d,
                                        const std::string&, const Say& say) {
    const Json ids = d.value("instanceIds", Json::array());
    if (!ids.is_array() || ids.empty()) {
      return Invalid("terminateInstances needs instanceIds");
    }
    for (const Json& id : ids) {
      if (!id.is_string()) return Invalid("instanceIds must be strings");
      std::string instance = id.get<std::string>();
      std::string group =
          spinnaker::FirstString(d, {"serverGroupName", "asgName"});
      if (group.empty()) group = instance.substr(0, instance.rfind('-'));
      say(absl::StrCat("Terminating ", instance));
      GENNAKER_RETURN_IF_ERROR(p.TerminateInstance(group, instance));
    }
    return Json::object();
  }
};

bool LocalProvider::Supports(const std::string& op) const {
  return OperationTable::Table().count(op) > 0;
}

absl::Status LocalProvider::Validate(const std::string& op, const Json& d) {
  if (!d.is_object()) return Invalid("the description must be an object");
  if (op != "createServerGroup" && op != "cloneServerGroup") {
    return absl::OkStatus();
  }
  GENNAKER_ASSIGN_OR_RETURN(std::optional<LocalImage> image, ImageOf(d));
  if (!image.has_value()) return absl::OkStatus();
  // A clone may take its command from the source group: Operate checks it.
  if (op == "cloneServerGroup") return absl::OkStatus();
  return SpecOf(d, image).status();
}

absl::StatusOr<Json> LocalProvider::Operate(const std::string& op,
                                            const Json& d,
                                            const std::string& request_id,
                                            const Say& progress) {
  if (!d.is_object()) return Invalid("the description must be an object");
  const auto& table = OperationTable::Table();
  auto it = table.find(op);
  if (it == table.end()) {
    return absl::UnimplementedError(
        absl::StrCat("the local provider has no operation '", op, "'"));
  }
  const Say say = [&progress](const std::string& line) {
    if (progress) progress(line);
  };
  return it->second(*this, d, request_id, say);
}

}  // namespace gennaker::clouddriver::local
