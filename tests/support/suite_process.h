// One service binary of the suite run by an end-to-end test: spawned from
// testing::BinDir() with its config file, logging to <dir>/<name>.log, dying
// with the test process, and awaited until its gRPC health check answers
// SERVING. The e2e suites start clouddriver, kayenta, orca and gate this way.
#ifndef GENNAKER_TESTS_SUPPORT_SUITE_PROCESS_H_
#define GENNAKER_TESTS_SUPPORT_SUITE_PROCESS_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"

namespace gennaker::testing {

struct SuiteProcess {
  std::string name;    // binary name, e.g. "orca"
  std::string config;  // path of its YAML config
  int grpc_port = 0;
  pid_t pid = 0;
};

// Spawns `s` (setting s.pid) and waits up to 10 s for SERVING; the error
// names the log file to read.
absl::Status StartSuiteProcess(SuiteProcess& s, const std::string& log_dir);

}  // namespace gennaker::testing

#endif  // GENNAKER_TESTS_SUPPORT_SUITE_PROCESS_H_
