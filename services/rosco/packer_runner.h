// Running packer: one blocking Run per bake, on a rosco worker thread. The
// real runner forks `argv` (no shell) into its own process group with the
// given environment, reads its stdout+stderr line by line, and kills the whole
// group (SIGTERM, then SIGKILL) when `should_stop` turns true (cancel,
// shutdown) or the timeout passes. fake_packer_runner.h implements the same
// interface.
#ifndef GENNAKER_SERVICES_ROSCO_PACKER_RUNNER_H_
#define GENNAKER_SERVICES_ROSCO_PACKER_RUNNER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gennaker::rosco {

struct PackerInvocation {
  std::vector<std::string> argv;  // argv[0]: "packer" (PATH) or a path
  // Added to rosco's environment (rosco tags each run with
  // GENNAKER_ROSCO_BAKE=<status id> so a restarted rosco finds leftovers).
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;  // the bake's work directory
  absl::Duration timeout = absl::Minutes(30);
};

struct PackerExit {
  int exit_code = -1;      // packer's exit status; -1 when killed / not run
  bool timed_out = false;  // killed after the timeout
  bool stopped = false;    // killed because should_stop said so
  std::string error;       // could not start (exec failure, ...)
  int64_t elapsed_ms = 0;  // packer's own wall time
};

class PackerRunner {
 public:
  virtual ~PackerRunner() = default;
  // Runs to the end. `on_start` gets the pid once started; `on_line` gets
  // every output line (without '\n'); `should_stop` is polled a few times a
  // second.
  virtual PackerExit Run(const PackerInvocation& invocation,
                         const std::function<void(pid_t)>& on_start,
                         const std::function<void(absl::string_view)>& on_line,
                         const std::function<bool()>& should_stop) = 0;
};

std::unique_ptr<PackerRunner> NewProcessPackerRunner();

// Kills every process (and its group) left by an earlier rosco run of bake
// `status_id` (found by their GENNAKER_ROSCO_BAKE environment entry); returns
// how many were found.
int KillLeftoverPacker(const std::string& status_id);

inline constexpr char kBakeEnvName[] = "GENNAKER_ROSCO_BAKE";

}  // namespace gennaker::rosco

#endif  // GENNAKER_SERVICES_ROSCO_PACKER_RUNNER_H_
