// Runs `wrk -t2 -c<C> -d<S>s --latency <url>` for the load drivers and returns
// its report, requests/s and (parsed from the `--latency` report) p50, p99,
// non-2xx answers and socket errors.
#ifndef GENNAKER_BENCH_WRK_H_
#define GENNAKER_BENCH_WRK_H_

#include <sys/wait.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/process/process.h"

namespace gennaker::bench {

struct WrkResult {
  bool ok = false;  // wrk ran and exited 0
  double rps = 0;
  std::string text;  // wrk's report
  // From the report; -1 when absent (e.g. wrk could not connect at all).
  double p50_ms = -1;
  double p99_ms = -1;
  int64_t non_2xx = 0;  // "Non-2xx or 3xx responses"
  // "Socket errors: connect C, read R, write W, timeout T" (0 when absent).
  int64_t connect_errors = 0;
  int64_t read_errors = 0;
  int64_t write_errors = 0;
  int64_t timeout_errors = 0;
  int64_t socket_errors() const {
    return connect_errors + read_errors + write_errors + timeout_errors;
  }
};

// A latency from the "Latency Distribution" block ("  99%   12.34ms") in
// milliseconds; -1 when the line is missing.
inline double WrkPercentileMs(const std::string& text,
                              const std::string& label) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first, value;
    words >> first >> value;
    if (first != label || value.empty()) continue;
    size_t unit = value.find_first_not_of("0123456789.");
    double v = 0;
    try {
      v = std::stod(value.substr(0, unit));
    } catch (...) {
      return -1;
    }
    const std::string u = unit == std::string::npos ? "" : value.substr(unit);
    if (u == "us") return v / 1000;
    if (u == "s") return v * 1000;
    if (u == "m") return v * 60000;
    return v;  // "ms"
  }
  return -1;
}

// Fills the parsed fields of `r` from r.text.
inline void ParseWrkReport(WrkResult& r) {
  r.p50_ms = WrkPercentileMs(r.text, "50%");
  r.p99_ms = WrkPercentileMs(r.text, "99%");
  auto number_after = [&](const std::string& label,
                          size_t from = 0) -> int64_t {
    size_t at = r.text.find(label, from);
    if (at == std::string::npos || from == std::string::npos) return 0;
    std::istringstream s(r.text.substr(at + label.size()));
    int64_t n = 0;
    s >> n;
    return n;
  };
  r.non_2xx = number_after("Non-2xx or 3xx responses:");
  const size_t errors = r.text.find("Socket errors:");
  r.connect_errors = number_after("connect ", errors);
  r.read_errors = number_after("read ", errors);
  r.write_errors = number_after("write ", errors);
  r.timeout_errors = number_after("timeout ", errors);
}

// `hard_timeout_seconds` > 0: wrk is killed (via timeout(1)) if it runs that
// long, so that a driver never hangs on a server that stopped answering.
// `own_session`: wrk runs in a session (scheduler autogroup) of its own, as a
// real client would, instead of sharing the caller's CPU share with servers
// the caller runs in-process.
inline WrkResult RunWrk(const std::string& url, int connections, int seconds,
                        const std::string& log, int hard_timeout_seconds = 0,
                        bool own_session = false) {
  process::SpawnOptions wrk;
  if (hard_timeout_seconds > 0) {
    wrk.argv = {"/usr/bin/timeout", "-k", "5",
                absl::StrCat(hard_timeout_seconds)};
  }
  for (std::string arg :
       {std::string("/usr/bin/wrk"), std::string("-t2"),
        absl::StrCat("-c", connections), absl::StrCat("-d", seconds, "s"),
        std::string("--latency"), url}) {
    wrk.argv.push_back(std::move(arg));
  }
  wrk.log_file = log;
  (void)std::remove(log.c_str());
  int exit_code = -1;
  if (own_session) {
    wrk.new_session = true;
    absl::StatusOr<pid_t> pid = process::Spawn(wrk);
    int status = 0;
    while (pid.ok() && waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (pid.ok() && WIFEXITED(status)) exit_code = WEXITSTATUS(status);
  } else {
    absl::StatusOr<int> rc = process::Run(wrk);
    if (rc.ok()) exit_code = *rc;
  }
  WrkResult r;
  r.ok = exit_code == 0;
  std::ifstream in(log);
  std::stringstream all;
  all << in.rdbuf();
  r.text = all.str();
  size_t at = r.text.find("Requests/sec:");
  if (at != std::string::npos) {
    std::istringstream s(r.text.substr(at + 13));
    s >> r.rps;
  }
  ParseWrkReport(r);
  return r;
}

}  // namespace gennaker::bench

#endif  // GENNAKER_BENCH_WRK_H_
