#include "tests/support/load_generator.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "nlohmann/json.hpp"

namespace gennaker::testing {

LoadGenerator::LoadGenerator(std::string url, int threads)
    : url_(std::move(url)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

LoadGenerator::~LoadGenerator() { Stop(); }

void LoadGenerator::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

LoadGenerator::Counts LoadGenerator::counts() {
  absl::MutexLock l(&mu_);
  return counts_;
}

void LoadGenerator::Reset() {
  absl::MutexLock l(&mu_);
  counts_ = Counts();
}

void LoadGenerator::Run() {
  while (!stop_) {
    http::ClientRequest r;
    r.url = url_;
    r.timeout_ms = 5000;
    absl::StatusOr<http::ClientResponse> resp = http::Fetch(r);
    std::string version, failure;
    if (!resp.ok()) {
      failure = resp.status().ToString();
    } else if (resp->status != 200) {
      failure = absl::StrCat("HTTP ", resp->status, ": ", resp->body);
    } else {
      auto j = nlohmann::json::parse(resp->body, nullptr, false);
      if (j.is_object() && j.contains("version") && j["version"].is_string()) {
        version = j["version"].get<std::string>();
      } else {
        failure = "not the demo's JSON: " + resp->body;
      }
    }
    absl::MutexLock l(&mu_);
    if (failure.empty()) {
      ++counts_.ok;
      ++counts_.by_version[version];
    } else {
      ++counts_.failed;
      if (counts_.failures.size() < 5) counts_.failures.push_back(failure);
    }
  }
}

}  // namespace gennaker::testing
