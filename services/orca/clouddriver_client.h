// What orca needs from clouddriver: submit operations (one kato task per
// submission, de-duplicated by an idempotency key), poll the task, read
// clusters and server groups, and search images by name and tags, all as
// Spinnaker's JSON shapes. CloudDriver is
// the interface the stages use (tests give them an in-memory fake);
// NewCloudDriverGrpc is the real client over ClouddriverService;
// WithAccountChecks puts fiat's account check in front of submissions.
#ifndef GENNAKER_SERVICES_ORCA_CLOUDDRIVER_CLIENT_H_
#define GENNAKER_SERVICES_ORCA_CLOUDDRIVER_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spinnaker/targets.h"
#include "services/orca/engine/model.h"

namespace grpc {
class Channel;
}

namespace gennaker::fiat {
class Authorizer;
}

namespace gennaker::orca {

class CloudDriver {
 public:
  virtual ~CloudDriver() = default;
  // `operations`: JSON array of {"name": op, "account": acct,
  // "description": {...}}, run in order as one task. Returns the task id. The
  // same idempotency key returns the same task (clouddriver de-duplicates).
  virtual absl::StatusOr<std::string> Submit(
      const Json& operations, const std::string& idempotency_key,
      const std::string& application) = 0;
  // Spinnaker's kato task JSON: {id, status{completed, failed, ...},
  // history, resultObjects}. NOT_FOUND for an unknown task.
  virtual absl::StatusOr<Json> GetTask(const std::string& task_id) = 0;
  // Runs a task that failed retryably again (clouddriver restarted under it);
  // FAILED_PRECONDITION when it is not retryable.
  virtual absl::Status ResumeTask(const std::string& task_id) = 0;
  // Spinnaker's cluster JSON with "serverGroups" (each with "instances");
  // NOT_FOUND when the cluster has no server group.
  virtual absl::StatusOr<Json> GetCluster(
      const std::string& app, const std::string& account,
      const std::string& cluster, const std::string& cloud_provider) = 0;
  // Spinnaker's server group JSON with instances; NOT_FOUND when absent.
  virtual absl::StatusOr<Json> GetServerGroup(const std::string& account,
                                              const std::string& region,
                                              const std::string& name) = 0;
  // The server group of `cluster` in `region` that a dynamic target names
  // (clouddriver orders the groups by creation time); with `only_enabled`
  // disabled groups do not count. NOT_FOUND when none qualifies.
  virtual absl::StatusOr<Json> TargetServerGroup(
      const std::string& app, const std::string& account,
      const std::string& cluster, const std::string& cloud_provider,
      const std::string& region, spinnaker::Target target,
      bool only_enabled) = 0;
  // Images whose name contains `query` (case-insensitive; "" or "*": all)
  // and that carry every tag in `tags` with that value, of `cloud_provider`
  // ("": any), visible to `account` ("": any) and present in `region` ("":
  // any); newest first. Each is {imageId, imageName, cloudProvider,
  // accounts[], regions[], tags{}, createdAt (epoch ms)}.
  virtual absl::StatusOr<std::vector<Json>> FindImages(
      const std::string& cloud_provider, const std::string& query,
      const std::string& account, const std::string& region,
      const std::map<std::string, std::string>& tags) = 0;
};

// Calls time out after 10 s; gRPC errors keep their canonical codes.
std::unique_ptr<CloudDriver> NewCloudDriverGrpc(
    std::shared_ptr<grpc::Channel> channel);

// `inner` (not owned), with a check before every Submit: the call's user
// (CurrentCallContext; the engine runs tasks as the execution's user, the
// anonymous user when none) needs WRITE on every account the operations
// target (each operation's "account" and its description's "credentials" and
// "account"). PERMISSION_DENIED "Access denied to account 'prod': user 'svc'
// lacks WRITE" with nothing submitted; UNAVAILABLE when fiat cannot answer
// (the task retries). Reads pass through unchecked.
std::unique_ptr<CloudDriver> WithAccountChecks(
    CloudDriver* inner, std::shared_ptr<fiat::Authorizer> authorizer);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_CLOUDDRIVER_CLIENT_H_
