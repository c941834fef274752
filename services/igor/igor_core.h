// igor's domain logic below the RPC boundary: the configured CI masters
// (one BuildService each) and what orca's CI stages and fiat ask of them.
//
// - Masters are looked up by name (NOT_FOUND "build master 'x' not found");
//   job names and build numbers are checked where they enter.
// - TriggerBuild is idempotent per idempotency key: a pending-operation
//   record in the SeenStore ("pendingOperations:<master>:<job>:<key>") is
//   claimed with SetIfAbsent as PENDING while an attempt talks to the CI
//   server (a repeat meanwhile answers PENDING), then holds QUEUED with the
//   queue id (a repeat answers it again, so orca's retries never start two
//   builds). An attempt that provably never reached the CI (it failed
//   before the POST: job config, crumb, connection refused; or the CI
//   answered 4xx) removes the record so a retry tries again. An ambiguous
//   outcome (a timeout or reset after the POST was sent, a 5xx, an answer
//   without a queue id) is FAILED_PRECONDITION "... the CI may have queued
//   the build ... check job ..." and the record turns UNKNOWN: every repeat
//   of the key gets that error (until queued_ttl), never a second build.
//   Before queueing: a job that is not buildable is FAILED_PRECONDITION, a
//   choice parameter outside its choices INVALID_ARGUMENT.
// - GetBuildProperties finds the archived file (retried a few times: Jenkins
//   may list artifacts a moment after the build ends), downloads and parses
//   it (.properties, .yml/.yaml, .json). For Travis the properties are the
//   SPINNAKER_PROPERTY_<KEY>=<value> lines of the build's log.
// - GetBuildArtifacts returns the artifacts a property file declares under
//   "artifacts" (a list of Spinnaker artifacts, or JSON text of one).
// - Permissions: fiat is not consulted yet; every master is listed with its
//   read/write roles (fiat's /buildServices view).
// Thread-safe.
#ifndef GENNAKER_SERVICES_IGOR_IGOR_CORE_H_
#define GENNAKER_SERVICES_IGOR_IGOR_CORE_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/spinnaker/json.h"
#include "gennaker/common/v1/types.pb.h"
#include "gennaker/igor/v1/igor.pb.h"
#include "services/igor/ci/build_service.h"
#include "services/igor/polling.h"

namespace gennaker::igor {

// One configured master.
struct MasterEntry {
  // name, type, address, roles.
  v1::BuildMaster info;
  std::unique_ptr<BuildService> service;
};

struct CoreOptions {
  // GetBuildProperties: tries to find the archived file, and the wait
  // between tries (Spinnaker waits 5 x 2 s; shorter here so that a call
  // fits callers' default 10 s gRPC deadline).
  int property_attempts = 3;
  absl::Duration property_retry_delay = absl::Seconds(1);
  // Lifetime of a PENDING trigger record (longer than one attempt can take)
  // and of a QUEUED or UNKNOWN one (longer than orca retries).
  std::chrono::milliseconds pending_ttl{std::chrono::minutes(5)};
  std::chrono::milliseconds queued_ttl{std::chrono::hours(24)};
  // ListSeenDockerTags (the docker monitor's SeenDockerTags); absent: an
  // empty list.
  std::function<absl::StatusOr<std::vector<v1::DockerTag>>(
      const std::string& account, const std::string& repository)>
      docker_tags;
};

class IgorCore {
 public:
  // `store` is not owned.
  IgorCore(std::vector<MasterEntry> masters, SeenStore* store,
           CoreOptions options = {});

  // Sorted by name; UNSPECIFIED type: all.
  std::vector<v1::BuildMaster> ListMasters(v1::BuildServiceType type) const;
  absl::StatusOr<v1::BuildMaster> GetMaster(const std::string& name) const;
  absl::StatusOr<std::vector<std::string>> ListJobs(const std::string& master);
  absl::StatusOr<v1::JobConfig> GetJobConfig(const std::string& master,
                                             const std::string& job);
  absl::StatusOr<v1::Build> GetBuild(const v1::BuildKey& key);
  absl::StatusOr<std::vector<v1::Build>> ListBuilds(const std::string& master,
                                                    const std::string& job);
  absl::StatusOr<v1::TriggerBuildResponse> TriggerBuild(
      const v1::TriggerBuildRequest& request);
  absl::StatusOr<v1::QueuedBuild> GetQueuedBuild(const std::string& master,
                                                 const std::string& queue_id);
  absl::StatusOr<bool> StopBuild(const v1::BuildKey& key,
                                 const std::string& queue_id);
  absl::Status UpdateBuildDescription(const v1::BuildKey& key,
                                      const std::string& description);
  absl::StatusOr<spinnaker::Json> GetBuildProperties(
      const v1::BuildKey& key, const std::string& file_name);
  absl::StatusOr<std::vector<common::v1::Artifact>> GetBuildArtifacts(
      const v1::BuildKey& key, const std::string& property_file);
  // Empty account: every account.
  absl::StatusOr<std::vector<v1::DockerTag>> ListSeenDockerTags(
      const std::string& account, const std::string& repository);

  // The master's BuildService (for the monitors), or nullptr.
  BuildService* service(const std::string& name) const;
  std::vector<BuildService*> services() const;

 private:
  absl::StatusOr<BuildService*> Find(const std::string& master) const;
  absl::StatusOr<BuildService*> FindBuild(const v1::BuildKey& key) const;
  // Checks the job config and queues the build (no idempotency). A failure
  // marked internal::NotQueued reached no CI; any other is the
  // FAILED_PRECONDITION "the CI may have queued the build".
  absl::StatusOr<std::string> Queue(BuildService* service,
                                    const v1::TriggerBuildRequest& request);

  std::map<std::string, MasterEntry> masters_;
  SeenStore* const store_;
  const CoreOptions options_;
};

// Artifacts declared by parsed properties (their "artifacts" member).
std::vector<common::v1::Artifact> ArtifactsFromProperties(
    const spinnaker::Json& properties);

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_IGOR_CORE_H_
