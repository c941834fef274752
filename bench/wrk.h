// Runs `wrk -t2 -c<C> -d<S>s --latency <url>` for the load drivers and returns
// its report and requests/s.
#ifndef GENNAKER_BENCH_WRK_H_
#define GENNAKER_BENCH_WRK_H_

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/process/process.h"

namespace gennaker::bench {

struct WrkResult {
  bool ok = false;  // wrk ran and exited 0
  double rps = 0;
  std::string text;  // wrk's report
};

inline WrkResult RunWrk(const std::string& url, int connections, int seconds,
                        const std::string& log) {
  process::SpawnOptions wrk;
  wrk.argv = {"/usr/bin/wrk",
              "-t2",
              absl::StrCat("-c", connections),
              absl::StrCat("-d", seconds, "s"),
              "--latency",
              url};
  wrk.log_file = log;
  (void)std::remove(log.c_str());
  auto rc = process::Run(wrk);
  WrkResult r;
  r.ok = rc.ok() && *rc == 0;
  std::ifstream in(log);
  std::stringstream all;
  all << in.rdbuf();
  r.text = all.str();
  size_t at = r.text.find("Requests/sec:");
  if (at != std::string::npos) {
    std::istringstream s(r.text.substr(at + 13));
    s >> r.rps;
  }
  return r;
}

}  // namespace gennaker::bench

#endif  // GENNAKER_BENCH_WRK_H_
