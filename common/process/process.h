// Child processes: spawn (optionally detached into their own session, as
// another user, with output to a log file), liveness, graceful termination, and
// free loopback ports. Used by halyard to run the suite and by tests to run
// real servers.
#ifndef GENNAKER_COMMON_PROCESS_PROCESS_H_
#define GENNAKER_COMMON_PROCESS_PROCESS_H_

#include <sys/types.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gennaker::process {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the program path
  std::vector<std::pair<std::string, std::string>>
      env;               // added to the current environment
  std::string log_file;  // stdout and stderr appended here; empty: inherited
  std::string run_as;  // user name to switch to (needs root); empty: unchanged
  bool new_session =
      true;  // own session and process group (survives the parent)
  bool die_with_parent =
      false;  // SIGKILL when the spawning thread's process exits
};

absl::StatusOr<pid_t> Spawn(const SpawnOptions& options);

// Runs to completion; returns the exit code (or an error when it cannot start /
// was killed).
absl::StatusOr<int> Run(const SpawnOptions& options);

// What RunCaptured saw.
struct CapturedRun {
  int exit_code = -1;  // -1 when killed (by a signal or the timeout)
  bool timed_out = false;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `argv` (argv[0] looked up in PATH) to completion with `input` on its
// stdin and its stdout and stderr captured (how halyard drives kubectl).
// Killed (its process group) after `timeout`. An error only when it cannot be
// started; a program not found is NOT_FOUND. The child gets Spawn's set-up
// (empty signal mask, default dispositions, no inherited descriptors). A child
// that exits before reading all its input does not kill us: SIGPIPE is
// blocked in the calling thread while writing (the process-wide disposition
// is not changed).
absl::StatusOr<CapturedRun> RunCaptured(const std::vector<std::string>& argv,
                                        absl::string_view input,
                                        absl::Duration timeout);

// True when `pid` exists and is not a zombie (reaps it when it is our child).
bool IsAlive(pid_t pid);

// SIGTERM to the process group of `pid` (or the pid), waits up to `grace`, then
// SIGKILL. OK when the process is gone afterwards.
absl::Status Terminate(pid_t pid, absl::Duration grace);

// Live processes (not zombies, not this one) whose environment holds exactly
// the entry `name_equals_value` ("NAME=value"): how clouddriver finds what a
// previous run of it left behind, and how tests check that nothing was.
std::set<pid_t> ProcessesWithEnv(const std::string& name_equals_value);

// A TCP port on 127.0.0.1 free at the time of the call.
absl::StatusOr<int> FreePort();

// Resident set size of `pid` in bytes (from /proc), or an error.
absl::StatusOr<int64_t> ResidentBytes(pid_t pid);

// Proportional set size of `pid` in bytes (shared pages divided among their
// users).
absl::StatusOr<int64_t> ProportionalBytes(pid_t pid);

// Creates `path` and its parents (mode 0755); OK when it exists.
absl::Status MakeDirs(const std::string& path);

// Writes `content` to `path`, created (or truncated) readable by its owner
// only: for files that may hold credentials. Never follows a symlink at `path`.
absl::Status WritePrivateFile(const std::string& path,
                              absl::string_view content);

// Gives `path` (recursively, never following symlinks) to `user`.
absl::Status ChownTo(const std::string& path, const std::string& user);

}  // namespace gennaker::process

#endif  // GENNAKER_COMMON_PROCESS_PROCESS_H_
