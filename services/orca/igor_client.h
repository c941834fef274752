// What orca needs from igor to run the jenkins and travis stages: queue a
// build (de-duplicated by an idempotency key), follow its queue item until it
// has a build number, read the build until it ends, read its property file
// and artifacts, and stop it. Igor is the interface the stages use (tests
// give them an in-memory fake); NewIgorGrpc is the real client over
// IgorService.
//
// Errors keep igor's canonical codes: NOT_FOUND (unknown master, job, build
// or file), FAILED_PRECONDITION (a job that cannot be built),
// INVALID_ARGUMENT (a bad parameter), PERMISSION_DENIED, and UNAVAILABLE /
// DEADLINE_EXCEEDED when igor or the CI system cannot be reached.
#ifndef GENNAKER_SERVICES_ORCA_IGOR_CLIENT_H_
#define GENNAKER_SERVICES_ORCA_IGOR_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/orca/engine/model.h"

namespace grpc {
class Channel;
}

namespace gennaker::orca {

// One build to queue.
struct CiBuildRequest {
  std::string master;
  std::string job;
  std::map<std::string, std::string> parameters;
  // The same key returns the same queue item (orca: execution id, stage id
  // and the stage's start time).
  std::string idempotency_key;
  // The execution that asks, for igor's logs and the CI description.
  std::string execution_id;
  std::string execution_type;  // PIPELINE / ORCHESTRATION
  std::string application;
};

// What TriggerBuild answered: pending (an attempt with the same key is still
// talking to the CI system: ask again later) or queued with an item id.
struct CiTriggerOutcome {
  bool pending = false;
  std::string queue_id;
};

// A queue item.
struct CiQueuedBuild {
  std::string queue_id;
  std::optional<int64_t> build_number;  // set once the build started
  std::string build_url;
  bool cancelled = false;  // cancelled before it started
};

// One build, as Spinnaker's GenericBuild.
struct CiBuild {
  bool building = false;
  // SUCCESS, UNSTABLE, FAILURE, ABORTED, NOT_BUILT; empty while unknown.
  std::string result;
  int64_t number = 0;
  std::string url;
  // Spinnaker's buildInfo: igor's GenericBuild JSON with the typed fields
  // (building, number, result, url, duration, timestamp, name,
  // fullDisplayName, id, artifacts) filled in where it lacks them.
  Json info = Json::object();
};

class Igor {
 public:
  virtual ~Igor() = default;
  virtual absl::StatusOr<CiTriggerOutcome> TriggerBuild(
      const CiBuildRequest& request) = 0;
  virtual absl::StatusOr<CiQueuedBuild> GetQueuedBuild(
      const std::string& master, const std::string& queue_id) = 0;
  virtual absl::StatusOr<CiBuild> GetBuild(const std::string& master,
                                           const std::string& job,
                                           int64_t build_number) = 0;
  // Cancels the queue item (build_number 0: not started yet) and aborts the
  // running build; true when something was stopped. Naturally idempotent.
  virtual absl::StatusOr<bool> StopBuild(const std::string& master,
                                         const std::string& job,
                                         const std::string& queue_id,
                                         int64_t build_number) = 0;
  // The parsed property file as a JSON object (empty when the file is
  // empty).
  virtual absl::StatusOr<Json> GetBuildProperties(
      const std::string& master, const std::string& job, int64_t build_number,
      const std::string& file_name) = 0;
  // Spinnaker artifact objects ({type, name, version, reference, ...}).
  virtual absl::StatusOr<Json> GetBuildArtifacts(
      const std::string& master, const std::string& job, int64_t build_number,
      const std::string& property_file) = 0;
};

// Calls time out after `deadline`; gRPC errors keep their canonical codes.
std::unique_ptr<Igor> NewIgorGrpc(
    std::shared_ptr<grpc::Channel> channel,
    std::chrono::milliseconds deadline = std::chrono::seconds(10));

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_IGOR_CLIENT_H_
