#include "common/metrics/metrics.h"

#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace gennaker {
namespace {

std::string Escape(absl::string_view v) {
  return absl::StrReplaceAll(v,
                             {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

}  // namespace

Metrics::Metrics(std::string service)
    : service_(std::move(service)), start_unix_seconds_(std::time(nullptr)) {}

void Metrics::RecordRequest(absl::string_view kind, absl::string_view method,
                            absl::string_view code, double seconds) {
  absl::MutexLock lock(&mu_);
  Series& s = requests_[Key(kind, method)][std::string(code)];
  ++s.count;
  s.sum += seconds;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++s.buckets[i];
  }
}

void Metrics::SetGauge(absl::string_view name, double value) {
  absl::MutexLock lock(&mu_);
  gauges_[std::string(name)] = value;
}

std::string Metrics::Render() const {
  std::string out;
  absl::StrAppend(&out,
                  "# HELP gennaker_start_time_seconds Process start time.\n",
                  "# TYPE gennaker_start_time_seconds gauge\n",
                  "gennaker_start_time_seconds{service=\"", service_, "\"} ",
                  start_unix_seconds_, "\n");
  absl::MutexLock lock(&mu_);
  absl::StrAppend(
      &out,
      "# HELP gennaker_requests_total Requests served, by method and status.\n"
      "# TYPE gennaker_requests_total counter\n");
  for (const auto& [key, by_code] : requests_) {
    for (const auto& [code, s] : by_code) {
      absl::StrAppend(&out, "gennaker_requests_total{service=\"", service_,
                      "\",kind=\"", key.first, "\",method=\"",
                      Escape(key.second), "\",code=\"", Escape(code), "\"} ",
                      s.count, "\n");
    }
  }
  absl::StrAppend(
      &out,
      "# HELP gennaker_request_duration_seconds Request latency, by method.\n"
      "# TYPE gennaker_request_duration_seconds histogram\n");
  for (const auto& [key, by_code] : requests_) {
    Series total;
    for (const auto& [code, s] : by_code) {
      total.count += s.count;
      total.sum += s.sum;
      for (size_t i = 0; i < kBuckets.size(); ++i)
        total.buckets[i] += s.buckets[i];
    }
    std::string labels =
        absl::StrCat("service=\"", service_, "\",kind=\"", key.first,
                     "\",method=\"", Escape(key.second), "\"");
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      absl::StrAppend(&out, "gennaker_request_duration_seconds_bucket{", labels,
                      ",le=\"", kBuckets[i], "\"} ", total.buckets[i], "\n");
    }
    absl::StrAppend(&out, "gennaker_request_duration_seconds_bucket{", labels,
                    ",le=\"+Inf\"} ", total.count, "\n");
    absl::StrAppend(&out, "gennaker_request_duration_seconds_sum{", labels,
                    "} ", total.sum, "\n");
    absl::StrAppend(&out, "gennaker_request_duration_seconds_count{", labels,
                    "} ", total.count, "\n");
  }
  for (const auto& [name, value] : gauges_) {
    absl::StrAppend(&out, "# TYPE ", name, " gauge\n", name, "{service=\"",
                    service_, "\"} ", value, "\n");
  }
  return out;
}

}  // namespace gennaker
