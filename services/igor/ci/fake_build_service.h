// A BuildService in memory for unit tests of the core and the build monitor:
// jobs with configs and builds the test edits, every trigger recorded, a
// switch that makes every call fail (a master that is down: a trigger then
// fails as never sent, internal::NotQueued), an ambiguous trigger outcome
// (recorded, then an error: the CI queued it but the answer was lost), and
// a gate that holds triggers in flight until the test releases them.
#ifndef GENNAKER_SERVICES_IGOR_CI_FAKE_BUILD_SERVICE_H_
#define GENNAKER_SERVICES_IGOR_CI_FAKE_BUILD_SERVICE_H_

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/igor/ci/build_service.h"
#include "services/igor/ci/ci_http.h"

namespace gennaker::igor {

class FakeBuildService : public BuildService {
 public:
  explicit FakeBuildService(
      std::string name,
      v1::BuildServiceType type = v1::BUILD_SERVICE_TYPE_JENKINS)
      : name_(std::move(name)), type_(type), address_("http://ci.test/") {}

  struct Trigger {
    std::string job;
    std::map<std::string, std::string> params;
  };

  // --- what tests set ---
  void AddJob(v1::JobConfig config) {
    absl::MutexLock l(&mu_);
    jobs_[config.name()].config = std::move(config);
  }
  // Adds or replaces build `b` (by number) of b.job().
  void PutBuild(v1::Build b) {
    absl::MutexLock l(&mu_);
    auto& builds = jobs_[b.job()].builds;
    b.set_master(name_);
    for (v1::Build& old : builds) {
      if (old.number() == b.number()) {
        old = std::move(b);
        return;
      }
    }
    builds.push_back(std::move(b));
  }
  void PutArtifact(const std::string& job, int64_t number,
                   const std::string& path, std::string content) {
    absl::MutexLock l(&mu_);
    artifacts_[absl::StrCat(job, "#", number, "/", path)] = std::move(content);
  }
  void SetDown(bool down) {
    absl::MutexLock l(&mu_);
    down_ = down;
  }
  // While set, every trigger is recorded (the CI queued it) and then
  // answers `error` (its answer was lost): an ambiguous outcome.
  void SetTriggerLostAnswer(absl::Status error) {
    absl::MutexLock l(&mu_);
    lost_answer_ = std::move(error);
  }
  // While held, TriggerBuild waits (after it is counted as entered) until
  // ReleaseTriggers.
  void HoldTriggers() {
    absl::MutexLock l(&mu_);
    hold_ = true;
  }
  void ReleaseTriggers() {
    absl::MutexLock l(&mu_);
    hold_ = false;
  }
  // Blocks until `n` TriggerBuild calls have started (in total).
  void AwaitTriggersEntered(int n) {
    absl::MutexLock l(&mu_);
    auto entered = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return triggers_entered_ >= n;
    };
    mu_.Await(absl::Condition(&entered));
  }
  std::vector<Trigger> triggers() const {
    absl::MutexLock l(&mu_);
    return triggers_;
  }
  int list_builds_calls() const {
    absl::MutexLock l(&mu_);
    return list_builds_calls_;
  }

  // --- BuildService ---
  const std::string& name() const override { return name_; }
  v1::BuildServiceType type() const override { return type_; }
  const std::string& address() const override { return address_; }

  absl::StatusOr<std::vector<std::string>> ListJobs() override {
    absl::MutexLock l(&mu_);
    if (down_) return Down();
    std::vector<std::string> out;
    for (const auto& [n, j] : jobs_) out.push_back(n);
    return out;
  }
  absl::StatusOr<std::vector<ProjectState>> ListProjects() override {
    absl::MutexLock l(&mu_);
    if (down_) return Down();
    std::vector<ProjectState> out;
    for (const auto& [n, j] : jobs_) {
      ProjectState p;
      p.job = n;
      for (const v1::Build& b : j.builds) {
        if (!p.has_last_build || b.number() > p.last_build.number()) {
          p.has_last_build = true;
          p.last_build = b;
        }
      }
      out.push_back(std::move(p));
    }
    return out;
  }
  absl::StatusOr<v1::JobConfig> GetJobConfig(const std::string& job) override {
    absl::MutexLock l(&mu_);
    if (down_) return Down();
    auto it = jobs_.find(job);
    if (it == jobs_.end()) return NoJob(job);
    return it->second.config;
  }
  absl::StatusOr<v1::Build> GetBuild(const std::string& job,
                                     int64_t number) override {
    absl::MutexLock l(&mu_);
    if (down_) return Down();
    auto it = jobs_.find(job);
    if (it == jobs_.end()) return NoJob(job);
    for (const v1::Build& b : it->second.builds) {
      if (b.number() == number) return b;
    }
    return absl::NotFoundError(
        absl::StrCat("build ", job, " #", number, " not found"));
  }
  absl::StatusOr<std::vector<v1::Build>> ListBuilds(
      const std::string& job) override {
    absl::MutexLock l(&mu_);
    ++list_builds_calls_;
    if (down_) return Down();
    auto it = jobs_.find(job);
    if (it == jobs_.end()) return NoJob(job);
    std::vector<v1::Build> out = it->second.builds;
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.number() > b.number();
    });
    return out;
  }
  absl::StatusOr<std::string> TriggerBuild(
      const std::string& job, const std::map<std::string, std::string>& params,
      const v1::JobConfig&) override {
    absl::MutexLock l(&mu_);
    if (down_) return internal::NotQueued(Down());
    ++triggers_entered_;
    auto released = [this]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !hold_; };
    mu_.Await(absl::Condition(&released));
    triggers_.push_back({job, params});
    if (!lost_answer_.ok()) return lost_answer_;
    return absl::StrCat(100 + triggers_.size());
  }
  absl::StatusOr<QueueItem> GetQueueItem(const std::string& id) override {
    absl::MutexLock l(&mu_);
    if (down_) return Down();
    QueueItem q;
    q.id = id;
    q.build_number = 7;
    q.build_url = "http://ci.test/job/x/7/";
    return q;
  }
  absl::StatusOr<bool> StopBuild(const std::string& job, int64_t number,
                                 const std::string&) override {
    absl::MutexLock l(&mu_);
    if (down_) return Down();
    for (v1::Build& b : jobs_[job].builds) {
      if (b.number() == number && b.building()) {
        b.set_building(false);
        b.set_result(v1::BUILD_RESULT_ABORTED);
        return true;
      }
    }
    return false;
  }
  absl::Status SetDescription(const std::string& job, int64_t number,
                              const std::string& description) override {
    absl::MutexLock l(&mu_);
    if (down_) return Down();
    descriptions_[absl::StrCat(job, "#", number)] = description;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> GetArtifact(const std::string& job,
                                          int64_t number,
                                          const std::string& path) override {
    absl::MutexLock l(&mu_);
    if (down_) return Down();
    auto it = artifacts_.find(absl::StrCat(job, "#", number, "/", path));
    if (it == artifacts_.end()) return absl::NotFoundError("no artifact");
    return it->second;
  }

 private:
  struct Job {
    v1::JobConfig config;
    std::vector<v1::Build> builds;
  };
  absl::Status Down() const {
    return absl::UnavailableError(
        absl::StrCat("master '", name_, "' is unreachable"));
  }
  absl::Status NoJob(const std::string& job) const {
    return absl::NotFoundError(absl::StrCat("job '", job, "' not found"));
  }

  const std::string name_;
  const v1::BuildServiceType type_;
  const std::string address_;
  mutable absl::Mutex mu_;
  std::map<std::string, Job> jobs_;
  std::map<std::string, std::string> artifacts_;
  std::map<std::string, std::string> descriptions_;
  std::vector<Trigger> triggers_;
  int list_builds_calls_ = 0;
  bool down_ = false;
  absl::Status lost_answer_;
  bool hold_ = false;
  int triggers_entered_ = 0;
};

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_CI_FAKE_BUILD_SERVICE_H_
