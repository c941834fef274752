// FakeTravis: a protocol-faithful FAKE of the Travis CI v3 API, because
// Travis cannot run here. An in-process HTTP server on a random loopback port
// answering, with Travis' JSON shapes ("@type", "@pagination", ...):
//   GET  repo/<slug>                      {"@type":"repository", active, ...}
//   GET  repo/<slug>/builds?limit=&offset=  newest first
//   GET  build/<id>
//   POST repo/<slug>/requests             body {"request":{branch, config:
//        {env:{global:["K=V",...]}}}} -> 202 {"@type":"pending",
//        "request":{"id":...}}
//   GET  repo/<slug>/request/<id>         {state:"pending"|"processed",
//        result:"approved", builds:[...]} (builds once processed)
//   POST build/<id>/cancel
//   GET  job/<id>/log                     {"@type":"log", content}
// (<slug> is percent-encoded: owner%2Fname.) Every request must carry
// "Travis-API-Version: 3" (else 400); with a token set, "Authorization:
// token <token>" (else 403 login_required).
//
// Builds follow the script of their repository: run_ms of real time (< 0:
// until CompleteBuild), then `state`; the log is `log` with ${VAR}
// replaced by the env the request set (so it can print
// SPINNAKER_PROPERTY_SHA=${SHA}). A request becomes a build at the next look.
//
//   FakeTravis::Options o;
//   o.token = "t";
//   auto travis = FakeTravis::Start(o);
//   (*travis)->AddRepo("org/app", FakeTravis::BuildScript::Runs(100, "..."));
//   int64_t n = (*travis)->StartBuild("org/app");   // a push build
//
// Thread-safe.
#ifndef GENNAKER_TESTS_SUPPORT_FAKE_TRAVIS_H_
#define GENNAKER_TESTS_SUPPORT_FAKE_TRAVIS_H_

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

struct FakeTravisOptions {
  std::string token;
};
struct FakeTravisScript {
  int run_ms = 0;
  // Final state: passed, failed, errored or canceled.
  std::string state = "passed";
  std::string log = "build ok\n";
  std::string sha = "0123456789abcdef0123456789abcdef01234567";

  // A script running `run_ms` with `log` (GCC warns about designated
  // initializers that skip members).
  static FakeTravisScript Runs(int run_ms, std::string log = "build ok\n");
};

class FakeTravis {
 public:
  using Options = FakeTravisOptions;
  using BuildScript = FakeTravisScript;
  struct ReceivedRequest {
    std::string method;
    std::string path;
    std::string body;
    std::map<std::string, std::string> headers;
  };

  static absl::StatusOr<std::unique_ptr<FakeTravis>> Start(
      Options options = {});
  ~FakeTravis();

  // "http://127.0.0.1:<port>/"
  std::string url() const;

  void AddRepo(const std::string& slug, BuildScript script = {},
               bool active = true);
  // A build as a push would start it; returns its number.
  int64_t StartBuild(const std::string& slug,
                     const std::string& branch = "master",
                     std::map<std::string, std::string> env = {});
  // Finishes a running build now (`state` empty: the script's).
  void CompleteBuild(const std::string& slug, int64_t number,
                     const std::string& state = "");
  // The env of build `number` (empty when unknown).
  std::map<std::string, std::string> BuildEnv(const std::string& slug,
                                              int64_t number);
  // While set, a build request is accepted (it becomes a build) but the
  // 202 answer carries no request id (a fault igor must not retry through).
  void SetRequestAnswerWithoutId(bool without_id);
  // Build requests accepted so far.
  int64_t RequestCount() const;
  std::vector<ReceivedRequest> Requests() const;
  int CountRequests(const std::string& method,
                    const std::string& path_part) const;

 private:
  struct Build;
  struct Repo;
  struct Req;
  explicit FakeTravis(Options options);
  http::Response Handle(const http::Request& r);
  void Advance() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Build* StartLocked(Repo* repo, const std::string& branch,
                     std::map<std::string, std::string> env, int64_t request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  spinnaker::Json BuildJson(const Repo& repo, const Build& b) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  spinnaker::Json RepoJson(const Repo& repo) const;

  const Options options_;
  std::unique_ptr<http::Server> server_;
  std::string url_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Repo>> repos_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::unique_ptr<Req>> requests_by_id_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1000;
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
  bool answer_without_id_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace gennaker::testing

#endif  // GENNAKER_TESTS_SUPPORT_FAKE_TRAVIS_H_
