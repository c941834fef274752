// A real HTTP server for webhook tests that counts the calls it receives.
//
//   POST|PUT /hook?delay_ms=N   answers {"received": n} after N ms; counts the
//                               call under its X-Gennaker-Idempotency-Key
//   GET  /job/{name}            {"status": "RUNNING"} for the first
//                               `running_polls` polls of {name}, then
//                               {"status": "SUCCEEDED", "progress": "done"}
//   ANY  /fail/{code}           answers with that status code
//   POST /latin1                400 with a body that is not UTF-8
#ifndef GENNAKER_TESTS_SUPPORT_COUNTING_SERVER_H_
#define GENNAKER_TESTS_SUPPORT_COUNTING_SERVER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/http/http_server.h"

namespace gennaker::testing {

class CountingServer {
 public:
  static std::unique_ptr<CountingServer> Start(int running_polls = 2);
  std::string Url(const std::string& path) const;

  // Calls to /hook by idempotency key ("" when the header was missing).
  std::map<std::string, int> CallsByKey();
  int TotalCalls();
  // The last body received on /hook.
  std::string LastBody();
  // Headers of the last /hook call (names lower-cased).
  std::map<std::string, std::string> LastHeaders();
  // Most calls with one key that were in progress at the same time.
  int MaxConcurrentPerKey();

 private:
  CountingServer() = default;
  int running_polls_ = 2;
  std::unique_ptr<http::Server> server_;
  absl::Mutex mu_;
  std::map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> polls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> in_flight_ ABSL_GUARDED_BY(mu_);
  int max_concurrent_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_body_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> last_headers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::testing

#endif  // GENNAKER_TESTS_SUPPORT_COUNTING_SERVER_H_
