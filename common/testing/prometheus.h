// A real Prometheus server for tests: /usr/bin/prometheus (or
// $GENNAKER_PROMETHEUS) on a free loopback port, with a throwaway config and
// TSDB directory. It scrapes, every `scrape_interval`, the targets listed in
// Prometheus file_sd JSON files (by default one in its own directory that
// WriteTargets fills). Destroying it stops the server, waits for it and
// removes the directory; the server also dies with the test process.
#ifndef GENNAKER_COMMON_TESTING_PROMETHEUS_H_
#define GENNAKER_COMMON_TESTING_PROMETHEUS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gennaker::testing {

struct PrometheusOptions {
  // Prometheus duration text ("1s", "500ms").
  std::string scrape_interval = "1s";
  // file_sd files to read (absolute paths; need not exist yet); empty: one
  // file, file_sd_path(), in the server's directory.
  std::vector<std::string> file_sd_paths;
  std::string job_name = "gennaker";
};

// One file_sd target group: addresses ("127.0.0.1:8080") and their labels.
struct TargetGroup {
  std::vector<std::string> targets;
  std::map<std::string, std::string> labels;
};

class TestPrometheus {
 public:
  // Started and ready (/-/ready answers 200). FAILED_PRECONDITION when the
  // binary is missing; UNAVAILABLE when it does not become ready.
  static absl::StatusOr<std::unique_ptr<TestPrometheus>> Start(
      const PrometheusOptions& options = {});
  ~TestPrometheus();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // "http://127.0.0.1:<port>".
  std::string BaseUrl() const;
  const std::string& dir() const { return dir_; }
  // The first file_sd file the server reads.
  const std::string& file_sd_path() const { return file_sd_paths_.front(); }

  // Replaces file_sd_path()'s targets (atomically: temp file and rename).
  absl::Status WriteTargets(const std::vector<TargetGroup>& groups) const;

  // Waits until the instant query `promql` has at least one series.
  absl::Status WaitForSeries(const std::string& promql,
                             absl::Duration timeout) const;

  // Stops the server (idempotent); the directory stays until destruction.
  void Stop();

 private:
  TestPrometheus() = default;
  absl::Status Launch(const PrometheusOptions& options);

  pid_t pid_ = 0;
  int port_ = 0;
  std::string dir_;
  std::vector<std::string> file_sd_paths_;
};

}  // namespace gennaker::testing

#endif  // GENNAKER_COMMON_TESTING_PROMETHEUS_H_
