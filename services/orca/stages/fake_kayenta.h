// An in-memory Kayenta for stage tests: each StartCanary takes the next
// scripted outcome (a score, or a failure) and answers RUNNING for a few
// polls before it; StartCanary de-duplicates by idempotency key; every
// request and cancel is recorded. Not thread-safe (the engine tests drive
// one thread).
#ifndef GENNAKER_SERVICES_ORCA_STAGES_FAKE_KAYENTA_H_
#define GENNAKER_SERVICES_ORCA_STAGES_FAKE_KAYENTA_H_

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/orca/kayenta_client.h"

namespace gennaker::orca {

class FakeKayenta : public Kayenta {
 public:
  // What a started run ends as.
  struct Outcome {
    std::string status = "SUCCEEDED";  // or TERMINAL / CANCELED
    double score = 100;
    std::string error;            // the exception message of a TERMINAL run
    int64_t control_count = 100;  // samples of the one metric's control
  };

  // Knobs.
  std::deque<Outcome> outcomes;  // one per StartCanary; empty: score 100
  int polls_running = 2;         // RUNNING answers before the outcome
  bool unavailable = false;      // every call answers UNAVAILABLE
  // >= 0: runs end with kayenta's CanaryStatus of this number, read as the
  // real client reads it (SetCanaryRunStatus), instead of their outcome.
  int end_proto_status = -1;
  std::vector<KayentaAccount> accounts = {
      {"prometheus", "prometheus", {"METRICS_STORE"}}};

  // What happened.
  std::vector<CanaryRunRequest> started;  // first request of each run
  std::vector<std::string> canceled;      // CancelCanary calls, in order
  int polls = 0;

  absl::StatusOr<std::string> StartCanary(
      const CanaryRunRequest& request) override {
    if (unavailable) return absl::UnavailableError("kayenta is down");
    if (auto it = by_key_.find(request.idempotency_key); it != by_key_.end()) {
      return it->second;
    }
    Run run;
    run.id = absl::StrCat("canary-", started.size() + 1);
    if (!outcomes.empty()) {
      run.outcome = outcomes.front();
      outcomes.pop_front();
    }
    run.polls_left = polls_running;
    started.push_back(request);
    by_key_[request.idempotency_key] = run.id;
    runs_[run.id] = run;
    return run.id;
  }

  absl::StatusOr<CanaryRun> GetCanaryExecution(const std::string& id) override {
    if (unavailable) return absl::UnavailableError("kayenta is down");
    auto it = runs_.find(id);
    if (it == runs_.end()) {
      return absl::NotFoundError(absl::StrCat("no canary execution ", id));
    }
    ++polls;
    Run& run = it->second;
    CanaryRun out;
    out.id = id;
    if (run.canceled) {
      out.status = "CANCELED";
      out.end_time_ms = kEndMs;
      return out;
    }
    if (run.polls_left > 0) {
      --run.polls_left;
      out.status = "RUNNING";
      return out;
    }
    if (end_proto_status >= 0) {
      SetCanaryRunStatus(end_proto_status, &out);
      return out;
    }
    out.status = run.outcome.status;
    out.end_time_ms = kEndMs + static_cast<int64_t>(RunIndex(id)) * 1000;
    if (out.status == "SUCCEEDED") {
      out.score = run.outcome.score;
      Json stats = Json::object();
      stats["count"] = run.outcome.control_count;
      Json metric = Json::object();
      metric["name"] = "latency";
      metric["controlMetadata"]["stats"] = stats;
      out.result["judgeResult"]["score"]["score"] = run.outcome.score;
      out.result["judgeResult"]["results"] = Json::array({metric});
    } else if (out.status == "TERMINAL") {
      Json& details = out.json["exception"]["details"];
      details["error"] = run.outcome.error;
      details["errors"] = Json::array({run.outcome.error});
    }
    return out;
  }

  absl::StatusOr<bool> CancelCanary(const std::string& id) override {
    canceled.push_back(id);
    auto it = runs_.find(id);
    if (it == runs_.end()) {
      return absl::NotFoundError(absl::StrCat("no canary execution ", id));
    }
    bool was_running = !it->second.canceled;
    it->second.canceled = true;
    return was_running;
  }

  absl::StatusOr<std::vector<KayentaAccount>> ListCredentials() override {
    if (unavailable) return absl::UnavailableError("kayenta is down");
    return accounts;
  }

  // When fake runs end (epoch ms), plus one second per run number.
  static constexpr int64_t kEndMs = 1'700'000'500'000;

 private:
  struct Run {
    std::string id;
    Outcome outcome;
    int polls_left = 0;
    bool canceled = false;
  };
  static int RunIndex(const std::string& id) {
    return std::stoi(id.substr(id.find('-') + 1));
  }
  std::map<std::string, Run> runs_;
  std::map<std::string, std::string> by_key_;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_STAGES_FAKE_KAYENTA_H_
