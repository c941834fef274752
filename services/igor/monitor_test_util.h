// Test-only helpers shared by the igor monitor tests (docker, git).
//
// Contract:
// - RecordingSink: an EventSink that keeps every event and idempotency key
//   it is given, in order (events(), keys()); set_fail(true) makes Post
//   return UNAVAILABLE and record nothing until set_fail(false). Thread-safe.
// - FailingMidwayStore: an in-memory SeenStore (NewInMemorySeenStore) whose
//   HashSet returns UNAVAILABLE ("redis down") once `allow` successes are
//   used up; every other call goes straight to the in-memory store.
#ifndef GENNAKER_SERVICES_IGOR_MONITOR_TEST_UTIL_H_
#define GENNAKER_SERVICES_IGOR_MONITOR_TEST_UTIL_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/igor/polling.h"

// Not gennaker::igor::testing: the tests name gennaker::testing unqualified.
namespace gennaker::igor::monitor_testing {

// Records what the monitor sends; can be told to fail.
class RecordingSink : public EventSink {
 public:
  absl::Status Post(const Json& event,
                    const std::string& idempotency_key) override {
    absl::MutexLock lock(&mu_);
    if (fail_) return absl::UnavailableError("echo is down");
    events_.push_back(event);
    keys_.push_back(idempotency_key);
    return absl::OkStatus();
  }
  std::vector<Json> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  std::vector<std::string> keys() {
    absl::MutexLock lock(&mu_);
    return keys_;
  }
  void set_fail(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_ = fail;
  }

 private:
  absl::Mutex mu_;
  bool fail_ = false;
  std::vector<Json> events_;
  std::vector<std::string> keys_;
};

// An in-memory store whose HashSet fails after `allow` successes.
class FailingMidwayStore : public SeenStore {
 public:
  absl::StatusOr<std::optional<std::string>> HashGet(
      const std::string& k, const std::string& f) override {
    return inner_->HashGet(k, f);
  }
  absl::Status HashSet(const std::string& k, const std::string& f,
                       const std::string& v) override {
    if (allow.fetch_sub(1) <= 0) return absl::UnavailableError("redis down");
    return inner_->HashSet(k, f, v);
  }
  absl::StatusOr<std::map<std::string, std::string>> HashGetAll(
      const std::string& k) override {
    return inner_->HashGetAll(k);
  }
  absl::Status Delete(const std::string& k) override {
    return inner_->Delete(k);
  }
  absl::StatusOr<std::vector<std::string>> Scan(const std::string& p) override {
    return inner_->Scan(p);
  }
  absl::StatusOr<bool> SetIfAbsent(const std::string& k, const std::string& v,
                                   std::chrono::milliseconds ttl) override {
    return inner_->SetIfAbsent(k, v, ttl);
  }
  absl::StatusOr<std::optional<std::string>> Get(
      const std::string& k) override {
    return inner_->Get(k);
  }
  absl::Status Set(const std::string& k, const std::string& v,
                   std::chrono::milliseconds ttl) override {
    return inner_->Set(k, v, ttl);
  }

  std::atomic<int> allow{1 << 30};

 private:
  std::unique_ptr<SeenStore> inner_ = NewInMemorySeenStore();
};

}  // namespace gennaker::igor::monitor_testing

#endif  // GENNAKER_SERVICES_IGOR_MONITOR_TEST_UTIL_H_
