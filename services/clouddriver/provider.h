// The plug-in point of a cloud provider in clouddriver: one Provider object
// per configured account runs that account's operations and reports what the
// account holds, in Spinnaker's JSON shapes, for the cache. The core (tasks,
// cache, reads, gRPC) knows providers only through this interface, so the
// Kubernetes and cloud providers plug in beside `local` without touching it.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_PROVIDER_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_PROVIDER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gennaker::clouddriver {

using Json = nlohmann::ordered_json;

// One image an account can deploy (what FindImages lists).
struct ProviderImage {
  std::string image_id;    // e.g. "sha256:<hex>", "ami-0123"
  std::string image_name;  // the baked name
  std::string region;
  std::map<std::string, std::string> tags;  // appversion, build_host, ...
  int64_t created_ms = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;

  virtual const std::string& account() const = 0;
  // Spinnaker's cloud provider id, e.g. "local", "kubernetes".
  virtual std::string cloud_provider() const = 0;
  virtual std::vector<std::string> regions() const = 0;

  // True for the operation names this provider runs (createServerGroup,
  // resizeServerGroup, ...).
  virtual bool Supports(const std::string& operation) const = 0;

  // Checks `description` of `operation` when it is submitted (Spinnaker's
  // description validators): an error refuses the submission and nothing
  // runs. Only what is cheap and certain is checked here (e.g. that a named
  // image exists); Operate checks everything again. Default: accepts.
  virtual absl::Status Validate(const std::string& /*operation*/,
                                const Json& /*description*/) {
    return absl::OkStatus();
  }

  // Runs one operation synchronously and returns its result object
  // (Spinnaker's resultObjects entry; {} when it has none). `request_id` is
  // the submission's idempotency key (may be empty): a createServerGroup run
  // again with the same key returns the group it made the first time.
  // `progress` records a status line in the task's history.
  virtual absl::StatusOr<Json> Operate(
      const std::string& operation, const Json& description,
      const std::string& request_id,
      const std::function<void(const std::string&)>& progress) = 0;

  // Everything the account holds, for the cache:
  // {"serverGroups": [server group JSON with "instances"],
  //  "loadBalancers": [...], "securityGroups": [...]}.
  virtual Json Snapshot() = 0;

  // `listener` is called when the account changes outside an operation
  // (instance health, replaced instances). Set once, before use.
  virtual void SetChangeListener(std::function<void()> listener) = 0;

  // Every image this account can deploy, newest first (the core filters and
  // merges them across accounts). A provider without an image catalog keeps
  // the default: none.
  virtual std::vector<ProviderImage> Images() { return {}; }
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_PROVIDER_H_
