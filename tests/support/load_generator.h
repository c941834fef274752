// Sends GET requests to a URL from several threads, nonstop, and counts the
// answers by the "version" field of their JSON body (gennaker-demo's `/`), and
// every failure (transport error or non-200). Used to prove zero-downtime
// deployments through the local load balancer.
#ifndef GENNAKER_TESTS_SUPPORT_LOAD_GENERATOR_H_
#define GENNAKER_TESTS_SUPPORT_LOAD_GENERATOR_H_

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace gennaker::testing {

class LoadGenerator {
 public:
  LoadGenerator(std::string url, int threads);
  ~LoadGenerator();  // Stop()
  void Stop();

  struct Counts {
    int64_t ok = 0;
    int64_t failed = 0;
    std::map<std::string, int64_t> by_version;
    std::vector<std::string> failures;  // the first few, for messages
  };
  Counts counts();
  // Counts since the last Reset().
  void Reset();

 private:
  void Run();

  const std::string url_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  Counts counts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace gennaker::testing

#endif  // GENNAKER_TESTS_SUPPORT_LOAD_GENERATOR_H_
