// One CI master as igor sees it (Spinnaker's BuildOperations): list jobs,
// read job configs and builds, trigger, follow the queue, stop, describe and
// download archived files. Implementations speak the CI server's own HTTP API
// through the outbound policy (common/http/outbound.h):
//   - Jenkins: the JSON remote-access API (api/json with the tree= queries
//     Spinnaker sends to api/xml), basic auth user:token, a CSRF crumb from
//     crumbIssuer (cached, fetched again on a 403) when csrf is on;
//   - Travis CI: the v3 API (Travis-API-Version: 3, Authorization: token X);
//     a "job" is a repository slug ("owner/name").
// Errors: NOT_FOUND for an unknown job or build (naming it), UNAVAILABLE when
// the server cannot be reached or answers 5xx, PERMISSION_DENIED when it
// refuses the credentials (or the outbound policy refuses its address),
// DEADLINE_EXCEEDED on a timeout, INTERNAL when an answer does not parse.
// Triggering a build is the exception: a failure of the trigger call carries
// the "not queued" mark (ci_http.h) only when the request provably never
// reached the CI; an unmarked failure (a timeout after the POST, a 2xx
// without a queue id) may have queued a build, and igor never triggers that
// key again (FAILED_PRECONDITION).
// Implementations are thread-safe.
#ifndef GENNAKER_SERVICES_IGOR_CI_BUILD_SERVICE_H_
#define GENNAKER_SERVICES_IGOR_CI_BUILD_SERVICE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gennaker/igor/v1/config.pb.h"
#include "gennaker/igor/v1/igor.pb.h"

namespace gennaker::http {
class OutboundClient;
}

namespace gennaker::igor {

// A job with its newest build, as the build monitor polls it.
struct ProjectState {
  std::string job;
  bool has_last_build = false;
  // Only number, timestamp_ms and building are needed.
  v1::Build last_build;
};

// A queue item (Jenkins) or build request (Travis).
struct QueueItem {
  std::string id;
  // Set once a build started.
  int64_t build_number = 0;
  std::string build_url;
  bool cancelled = false;
  // Why it waits (Jenkins' "why"), for logs.
  std::string why;
};

class BuildService {
 public:
  virtual ~BuildService() = default;

  virtual const std::string& name() const = 0;
  virtual v1::BuildServiceType type() const = 0;
  // Base URL (no credentials).
  virtual const std::string& address() const = 0;

  // Job names; Jenkins folders flattened as "a/job/b" (folders themselves
  // are not jobs).
  virtual absl::StatusOr<std::vector<std::string>> ListJobs() = 0;
  // Every job with its newest build (the build monitor's view).
  virtual absl::StatusOr<std::vector<ProjectState>> ListProjects() = 0;
  virtual absl::StatusOr<v1::JobConfig> GetJobConfig(
      const std::string& job) = 0;
  // One build, with build_info (Spinnaker's GenericBuild JSON).
  virtual absl::StatusOr<v1::Build> GetBuild(const std::string& job,
                                             int64_t number) = 0;
  // Recent builds of a job, newest first.
  virtual absl::StatusOr<std::vector<v1::Build>> ListBuilds(
      const std::string& job) = 0;
  // Queues a build (`config` is the job's, as GetJobConfig read it: the
  // caller has checked it); returns the queue item id.
  virtual absl::StatusOr<std::string> TriggerBuild(
      const std::string& job, const std::map<std::string, std::string>& params,
      const v1::JobConfig& config) = 0;
  virtual absl::StatusOr<QueueItem> GetQueueItem(
      const std::string& queue_id) = 0;
  // Cancels `queue_id` if still queued and aborts build `number` (0: none)
  // if still running; true when something was stopped.
  virtual absl::StatusOr<bool> StopBuild(const std::string& job, int64_t number,
                                         const std::string& queue_id) = 0;
  virtual absl::Status SetDescription(const std::string& job, int64_t number,
                                      const std::string& description) = 0;
  // The content of an archived file (Jenkins: artifact/<relative_path>;
  // Travis: the build's log, whatever the path). Bounded in size.
  virtual absl::StatusOr<std::string> GetArtifact(
      const std::string& job, int64_t number,
      const std::string& relative_path) = 0;
};

// Largest archived file read (property files).
inline constexpr int64_t kMaxArtifactBytes = int64_t{4} << 20;

// `outbound` is not owned and must outlive the client.
std::unique_ptr<BuildService> NewJenkinsClient(
    const v1::JenkinsMaster& master, const http::OutboundClient* outbound);
std::unique_ptr<BuildService> NewTravisClient(
    const v1::TravisMaster& master, const http::OutboundClient* outbound);

// Jenkins' URL path of a job name: "a/job/b" -> "job/a/job/b", each segment
// percent-encoded. INVALID_ARGUMENT for an empty name, an empty or ".."
// segment, or a name over 1024 bytes.
absl::StatusOr<std::string> JenkinsJobPath(const std::string& job);

// BUILD_RESULT_* of a Jenkins result name ("SUCCESS", ...); UNSPECIFIED when
// unknown or empty.
v1::BuildResult ResultFromName(const std::string& name);
// The Jenkins name of a result ("" for UNSPECIFIED).
std::string ResultName(v1::BuildResult result);

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_CI_BUILD_SERVICE_H_
