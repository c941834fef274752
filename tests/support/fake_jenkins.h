// FakeJenkins: a protocol-faithful FAKE of a Jenkins master, because Jenkins
// cannot run here. An in-process HTTP server on a random loopback port that
// speaks the part of Jenkins' JSON remote-access API igor uses, with
// Jenkins' shapes, status codes and headers:
//   GET  api/json[?tree=jobs[...]]          jobs, folders nested ("jobs")
//   GET  job/<j>[/job/<k>]/api/json         buildable, property[
//        parameterDefinitions[name,type,defaultParameterValue,choices]],
//        builds[...], lastBuild, lastCompletedBuild, nextBuildNumber
//   GET  job/<j>/<n>|lastBuild|lastCompletedBuild/api/json   one build:
//        building, result (null while building), number, id, timestamp,
//        duration, url, fullDisplayName, description, artifacts, actions
//        (ParametersAction, git BuildData lastBuiltRevision, test results)
//   GET  job/<j>/<n>/artifact/<path>        an archived file
//   POST job/<j>/build, job/<j>/buildWithParameters (query or form params):
//        201 + Location: <url>queue/item/<id>/
//   GET  queue/item/<id>/api/json           "executable":{number,url} once
//        the build started; cancelled
//   POST queue/cancelItem?id=<id>, job/<j>/<n>/stop,
//        job/<j>/<n>/submitDescription (form "description")
//   GET  crumbIssuer/api/json               {crumb, crumbRequestField}
// Every answer honours ?tree= (only the fields asked for), as Jenkins does.
// With credentials set, a request without the right basic auth gets 401;
// with csrf on, a POST without the current crumb header gets 403.
//
// Time: builds follow a timeline the test controls. A job's BuildScript says
// how long its builds wait in the queue and run (ms of real time, measured
// lazily when a request looks), their result and the files they archive;
// `${NAME}` in a file's content is replaced by the build's parameter NAME
// (so build.properties can echo the GIT_SHA it was given). A script with
// run_ms < 0 keeps its builds running until CompleteBuild.
//
// Job names are igor's: "app", or "folder/job/app" for job "app" in folder
// "folder" (folders are created as needed).
//
//   auto jenkins = FakeJenkins::Start({.username = "u", .token = "t"});
//   (*jenkins)->AddJob("app", {{.name = "GIT_SHA", .default_value = "x"}},
//                      {.run_ms = 200, .result = "SUCCESS",
//                       .artifacts = {{"build.properties",
//                       "sha=${GIT_SHA}"}}});
//   int64_t n = (*jenkins)->StartBuild("app");   // as if SCM polling fired
//   (*jenkins)->CompleteBuild("app", n, "FAILURE");
//   for (const auto& r : (*jenkins)->Requests()) ...  // what igor sent
//
// Thread-safe.
#ifndef GENNAKER_TESTS_SUPPORT_FAKE_JENKINS_H_
#define GENNAKER_TESTS_SUPPORT_FAKE_JENKINS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/spinnaker/json.h"

namespace gennaker::http {
class Server;
struct Request;
struct Response;
}  // namespace gennaker::http

namespace gennaker::testing {

struct FakeJenkinsOptions {
  // Basic auth required when either is set.
  std::string username;
  std::string token;
  // Crumbs required on POSTs.
  bool csrf = false;
  // Loopback port to listen on; 0 picks a free one.
  int port = 0;
};

struct FakeJenkinsParam {
  std::string name;
  // "string" (StringParameterDefinition), "choice"
  // (ChoiceParameterDefinition: the first choice is the default) or
  // "boolean" (BooleanParameterDefinition).
  std::string type = "string";
  std::string default_value;
  std::vector<std::string> choices;
  std::string description;

  // (GCC warns about designated initializers that skip members, so build
  // parameters with these.)
  static FakeJenkinsParam String(std::string name, std::string default_value);
  static FakeJenkinsParam Choice(std::string name,
                                 std::vector<std::string> choices);
};

struct FakeJenkinsScript {
  // Time in the queue before the build starts.
  int queue_ms = 0;
  // Running time; < 0: runs until CompleteBuild.
  int run_ms = 0;
  // Result when it completes by itself.
  std::string result = "SUCCESS";
  // Archived files (relative path -> content, ${PARAM} substituted).
  std::map<std::string, std::string> artifacts;
  // When set, the build's git BuildData (lastBuiltRevision) with this SHA
  // (${PARAM} substituted) on branch "origin/<git_branch>".
  std::string git_sha;
  std::string git_branch = "main";

  // A script that runs `run_ms` (< 0: until CompleteBuild) and ends with
  // `result`.
  static FakeJenkinsScript Runs(int run_ms, std::string result = "SUCCESS");
};

class FakeJenkins {
 public:
  using Options = FakeJenkinsOptions;
  using Param = FakeJenkinsParam;
  using BuildScript = FakeJenkinsScript;

  // One request received (path still percent-encoded, query decoded).
  struct ReceivedRequest {
    std::string method;
    std::string path;
    std::multimap<std::string, std::string> query;
    // Form fields of a POST body.
    std::multimap<std::string, std::string> form;
    std::map<std::string, std::string> headers;  // names lower-case
  };

  static absl::StatusOr<std::unique_ptr<FakeJenkins>> Start(
      Options options = {});
  ~FakeJenkins();

  // "http://127.0.0.1:<port>/"
  std::string url() const;
  int port() const;

  // Adds (or replaces the definition of) a job; see "Job names" above.
  void AddJob(const std::string& job, std::vector<Param> params = {},
              BuildScript script = {});
  void SetBuildable(const std::string& job, bool buildable);
  // Starts a build now without the queue (as an SCM trigger would), with
  // each parameter's default overridden by `params`; returns its number.
  int64_t StartBuild(const std::string& job,
                     std::map<std::string, std::string> params = {});
  // Completes a running build now with `result` (empty: the script's).
  void CompleteBuild(const std::string& job, int64_t number,
                     const std::string& result = "");
  // Whether build `number` is running now; false when unknown.
  bool IsBuilding(const std::string& job, int64_t number);
  // The parameters build `number` received (empty when unknown).
  std::map<std::string, std::string> BuildParams(const std::string& job,
                                                 int64_t number);
  // Number of builds of `job` (started ones).
  int64_t BuildCount(const std::string& job);

  // Every request received, oldest first; and the count of those whose
  // method is `method` and whose path contains `path_part`.
  std::vector<ReceivedRequest> Requests() const;
  int CountRequests(const std::string& method,
                    const std::string& path_part) const;
  // While true, every request gets 503 (Jenkins restarting).
  void SetUnavailable(bool unavailable);
  // A new crumb: the old one gets 403 (as after a session expiry).
  void RotateCrumb();
  // Faults of a build POST (build, buildWithParameters) that Jenkins
  // ACCEPTED: the build is queued, then
  //  - without_location: the answer is 201 without a Location header;
  //  - delay_ms > 0: the answer leaves only after delay_ms (a client with a
  //    shorter timeout gives up although the build is queued).
  void SetTriggerAnswerWithoutLocation(bool without_location);
  void SetTriggerAnswerDelayMs(int delay_ms);
  // Number of queue items ever created (every accepted build POST).
  int64_t QueuedCount() const;

 private:
  struct Build;
  struct Job;
  struct QueueEntry;
  explicit FakeJenkins(Options options);
  http::Response Handle(const http::Request& r);
  // Handle under mu_; sets `*delay_ms` when the answer must wait.
  http::Response HandleLocked(const http::Request& r, int* delay_ms);
  // Moves queued items and builds along the clock; under mu_.
  void Advance() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Job* FindJob(const std::string& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Build* StartLocked(Job* job, std::map<std::string, std::string> params,
                     int64_t queue_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  spinnaker::Json BuildJson(const Job& job, const Build& b) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  spinnaker::Json JobJson(const Job& job, bool full) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  spinnaker::Json FolderJson(const Job& folder) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string JobUrl(const Job& job) const;

  const Options options_;
  std::unique_ptr<http::Server> server_;
  std::string url_;
  mutable absl::Mutex mu_;
  // Jobs and folders by igor name ("f/job/app"); folders have is_folder.
  std::map<std::string, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::unique_ptr<QueueEntry>> queue_ ABSL_GUARDED_BY(mu_);
  int64_t next_queue_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
  std::string crumb_ ABSL_GUARDED_BY(mu_);
  int crumbs_ ABSL_GUARDED_BY(mu_) = 0;
  bool trigger_without_location_ ABSL_GUARDED_BY(mu_) = false;
  int trigger_delay_ms_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gennaker::testing

#endif  // GENNAKER_TESTS_SUPPORT_FAKE_JENKINS_H_
