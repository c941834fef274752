#include "tests/support/suite_process.h"

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/health_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"

namespace gennaker::testing {

absl::Status StartSuiteProcess(SuiteProcess& s, const std::string& log_dir) {
  process::SpawnOptions o;
  o.argv = {BinDir() + "/" + s.name, "--config", s.config};
  o.log_file = absl::StrCat(log_dir, "/", s.name, ".log");
  o.die_with_parent = true;
  absl::StatusOr<pid_t> pid = process::Spawn(o);
  if (!pid.ok()) return pid.status();
  s.pid = *pid;
  for (int i = 0; i < 200; ++i) {
    auto serving = CheckServing(absl::StrCat("127.0.0.1:", s.grpc_port),
                                std::chrono::milliseconds(200));
    if (serving.ok() && *serving) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  // The test removes its directory: say what the log said.
  std::ifstream in(o.log_file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string tail;
  for (size_t i = lines.size() > 20 ? lines.size() - 20 : 0; i < lines.size();
       ++i) {
    absl::StrAppend(&tail, "\n  ", lines[i]);
  }
  return absl::DeadlineExceededError(
      absl::StrCat(s.name, " did not become SERVING (process ",
                   process::IsAlive(s.pid) ? "running" : "gone",
                   "); last lines of ", o.log_file, ":", tail));
}

}  // namespace gennaker::testing
