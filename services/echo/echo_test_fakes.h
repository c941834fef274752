// Test doubles of the services echo calls (orca, front50) and an in-test
// HTTP receiver for webhook notifications, shared by echo's tests.
#ifndef GENNAKER_SERVICES_ECHO_ECHO_TEST_FAKES_H_
#define GENNAKER_SERVICES_ECHO_ECHO_TEST_FAKES_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/http/http_server.h"
#include "services/echo/echo_core.h"

namespace gennaker::echo::testing {

// Starts pipelines in memory; de-duplicates by idempotency key like orca.
class FakeOrca : public OrcaClient {
 public:
  absl::StatusOr<StartedExecution> StartPipeline(
      const PipelineStart& start) override {
    absl::MutexLock l(&mu_);
    ++calls_;
    if (!fail_.ok()) return fail_;
    auto f = fail_pipeline_.find(start.pipeline_id);
    if (f != fail_pipeline_.end()) return f->second;
    auto it = by_key_.find(start.idempotency_key);
    if (it != by_key_.end())
      return StartedExecution{it->second, start.application};
    const std::string id = absl::StrCat("exec-", starts_.size() + 1);
    by_key_[start.idempotency_key] = id;
    starts_.push_back(start);
    return StartedExecution{id, start.application};
  }
  void Fail(absl::Status s) {
    absl::MutexLock l(&mu_);
    fail_ = std::move(s);
  }
  // Starts of `pipeline_id` answer `s` (OK clears).
  void FailPipeline(const std::string& pipeline_id, absl::Status s) {
    absl::MutexLock l(&mu_);
    if (s.ok()) {
      fail_pipeline_.erase(pipeline_id);
    } else {
      fail_pipeline_[pipeline_id] = std::move(s);
    }
  }
  std::vector<PipelineStart> starts() {
    absl::MutexLock l(&mu_);
    return starts_;
  }
  int calls() {
    absl::MutexLock l(&mu_);
    return calls_;
  }
  // Polls until `n` pipelines were started (or `timeout`).
  bool WaitForStarts(size_t n, absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (starts().size() >= n) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return starts().size() >= n;
  }

 private:
  absl::Mutex mu_;
  absl::Status fail_;
  std::map<std::string, absl::Status> fail_pipeline_;
  int calls_ = 0;
  std::map<std::string, std::string> by_key_;
  std::vector<PipelineStart> starts_;
};

// igor's build info and property files, fixed answers.
class FakeIgor : public BuildInfoSource {
 public:
  absl::StatusOr<Json> BuildInfo(const std::string&, const std::string&,
                                 int64_t number) override {
    absl::MutexLock l(&mu_);
    if (!fail_.ok()) return fail_;
    return Json{{"number", number}, {"result", "SUCCESS"}};
  }
  absl::StatusOr<Json> Properties(const std::string&, const std::string&,
                                  int64_t, const std::string&) override {
    absl::MutexLock l(&mu_);
    if (!fail_.ok()) return fail_;
    return properties_;
  }
  void SetProperties(Json p) {
    absl::MutexLock l(&mu_);
    properties_ = std::move(p);
  }
  void Fail(absl::Status s) {
    absl::MutexLock l(&mu_);
    fail_ = std::move(s);
  }

 private:
  absl::Mutex mu_;
  absl::Status fail_;
  Json properties_ = Json::object();
};

class FakeFront50 : public Front50Client {
 public:
  absl::StatusOr<std::vector<Json>> ListPipelines() override {
    absl::MutexLock l(&mu_);
    if (!fail_.ok()) return fail_;
    return pipelines_;
  }
  absl::StatusOr<Json> ApplicationNotifications(const std::string&) override {
    absl::MutexLock l(&mu_);
    return notifications_;
  }
  void SetPipelines(std::vector<Json> p) {
    absl::MutexLock l(&mu_);
    pipelines_ = std::move(p);
  }
  void SetNotifications(Json n) {
    absl::MutexLock l(&mu_);
    notifications_ = std::move(n);
  }
  void Fail(absl::Status s) {
    absl::MutexLock l(&mu_);
    fail_ = std::move(s);
  }

 private:
  absl::Mutex mu_;
  absl::Status fail_;
  std::vector<Json> pipelines_;
  Json notifications_;
};

// POST /hook: answers the statuses of `plan` in turn (then 200), keeps the
// bodies received.
class HookReceiver {
 public:
  explicit HookReceiver(std::vector<int> plan) : plan_(std::move(plan)) {
    http::Router router;
    router.Add("POST", "/hook", [this](const http::Request& r) {
      absl::MutexLock l(&mu_);
      bodies_.push_back(r.body);
      const size_t i = bodies_.size() - 1;
      return http::Json(i < plan_.size() ? plan_[i] : 200, "{}");
    });
    auto s = http::Server::Start(http::ServerOptions{}, std::move(router));
    if (s.ok()) server_ = *std::move(s);
  }
  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", server_->port(), "/hook");
  }
  std::vector<std::string> bodies() {
    absl::MutexLock l(&mu_);
    return bodies_;
  }

 private:
  absl::Mutex mu_;
  std::vector<int> plan_;
  std::vector<std::string> bodies_;
  std::unique_ptr<http::Server> server_;
};

inline Json WebhookPipeline(const std::string& id, const std::string& source) {
  return Json{{"id", id},
              {"application", "app"},
              {"name", "pipe-" + id},
              {"disabled", false},
              {"triggers",
               {{{"type", "webhook"}, {"source", source}, {"enabled", true}}}}};
}

inline Json CronPipeline(const std::string& id, const std::string& trigger_id,
                         const std::string& expression) {
  return Json{{"id", id},
              {"application", "app"},
              {"name", "cron-" + id},
              {"disabled", false},
              {"triggers",
               {{{"type", "cron"},
                 {"id", trigger_id},
                 {"cronExpression", expression},
                 {"enabled", true}}}}};
}

}  // namespace gennaker::echo::testing

#endif  // GENNAKER_SERVICES_ECHO_ECHO_TEST_FAKES_H_
