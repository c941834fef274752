#include "common/testing/prometheus.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/process/local_stores.h"
#include "common/process/process.h"
#include "common/status/status_macros.h"
#include "common/testing/test_stores.h"
#include "nlohmann/json.hpp"

namespace gennaker::testing {
namespace {

constexpr char kDefaultBinary[] = "/usr/bin/prometheus";
constexpr absl::Duration kReadyTimeout = absl::Seconds(30);

std::string Binary() {
  const char* env = std::getenv("GENNAKER_PROMETHEUS");
  return env != nullptr && *env != '\0' ? env : kDefaultBinary;
}

// `text` into `path` via a temp file and rename, so Prometheus never reads
// half a file.
absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestPrometheus>> TestPrometheus::Start(
    const PrometheusOptions& options) {
  if (access(Binary().c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(Binary(),
                     " is not installed (scripts/install-deps.sh "
                     "installs Debian's prometheus)"));
  }
  auto p = std::unique_ptr<TestPrometheus>(new TestPrometheus());
  p->dir_ = MakeTempDir("prometheus");
  p->file_sd_paths_ = options.file_sd_paths;
  if (p->file_sd_paths_.empty()) {
    p->file_sd_paths_.push_back(absl::StrCat(p->dir_, "/targets.json"));
    GENNAKER_RETURN_IF_ERROR(WriteAtomically(p->file_sd_paths_[0], "[]\n"));
  }
  // A port taken between FreePort and the bind: try again on another.
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    last = p->Launch(options);
    if (last.ok()) return p;
    p->Stop();
  }
  return last;
}

absl::Status TestPrometheus::Launch(const PrometheusOptions& options) {
  // The same server halyard manages, but dying with the test process.
  process::LocalPrometheusOptions o;
  o.data_dir = dir_;
  o.log_file = absl::StrCat(dir_, "/prometheus.log");
  o.detach = false;
  o.start_timeout = kReadyTimeout;
  o.scrape_interval = options.scrape_interval;
  o.file_sd_refresh_interval = "1s";
  o.job_name = options.job_name;
  o.file_sd_paths = file_sd_paths_;
  o.binary = Binary();
  GENNAKER_ASSIGN_OR_RETURN(o.port, process::FreePort());
  port_ = o.port;
  absl::StatusOr<process::LocalServer> server =
      process::StartLocalPrometheus(o);
  if (!server.ok()) return server.status();
  pid_ = server->pid;
  return absl::OkStatus();
}

TestPrometheus::~TestPrometheus() {
  Stop();
  RemoveTree(dir_);
}

void TestPrometheus::Stop() {
  if (pid_ != 0) (void)process::Terminate(pid_, absl::Seconds(5));
  pid_ = 0;
}

std::string TestPrometheus::BaseUrl() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::Status TestPrometheus::WriteTargets(
    const std::vector<TargetGroup>& groups) const {
  nlohmann::json out = nlohmann::json::array();
  for (const TargetGroup& g : groups) {
    out.push_back({{"targets", g.targets}, {"labels", g.labels}});
  }
  return WriteAtomically(file_sd_path(), out.dump(2) + "\n");
}

absl::Status TestPrometheus::WaitForSeries(const std::string& promql,
                                           absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no answer";
  while (true) {
    http::ClientRequest request;
    request.method = "POST";
    request.url = absl::StrCat(BaseUrl(), "/api/v1/query");
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    std::string encoded;
    for (unsigned char c : promql) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        encoded += static_cast<char>(c);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof(buf), "%%%02X", c);
        encoded += buf;
      }
    }
    request.body = absl::StrCat("query=", encoded);
    request.timeout_ms = 2000;
    absl::StatusOr<http::ClientResponse> r = http::Fetch(request);
    if (r.ok()) {
      last = r->body;
      auto j = nlohmann::json::parse(r->body, nullptr, false);
      if (!j.is_discarded() && j.contains("data") && j["data"].is_object() &&
          j["data"].contains("result") && j["data"]["result"].is_array() &&
          !j["data"]["result"].empty()) {
        return absl::OkStatus();
      }
    } else {
      last = std::string(r.status().message());
    }
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "no series for '", promql, "' after ", absl::FormatDuration(timeout),
      "; last answer: ", last.substr(0, 300)));
}

}  // namespace gennaker::testing
