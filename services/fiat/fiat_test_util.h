// Test doubles shared by fiat's unit tests: a settable role provider, a
// settable clock, and a core wired on the in-memory repository and the fake
// resource source.
#ifndef GENNAKER_SERVICES_FIAT_FIAT_TEST_UTIL_H_
#define GENNAKER_SERVICES_FIAT_FIAT_TEST_UTIL_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/fiat/fiat_core.h"

namespace gennaker::fiat::testing {

class FakeRolesProvider final : public UserRolesProvider {
 public:
  void Set(const std::string& user, std::vector<std::string> roles) {
    absl::MutexLock l(&mu_);
    roles_[user] = std::move(roles);
  }
  void Fail(bool fail) {
    absl::MutexLock l(&mu_);
    fail_ = fail;
  }
  absl::StatusOr<std::vector<v1::RoleView>> Roles(
      const std::string& user) override {
    absl::MutexLock l(&mu_);
    if (fail_) return absl::UnavailableError("directory down");
    std::vector<v1::RoleView> out;
    for (const std::string& r : roles_[user]) {
      v1::RoleView v;
      v.set_name(r);
      v.set_source(v1::ROLE_SOURCE_FILE);
      out.push_back(v);
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::vector<std::string>> roles_ ABSL_GUARDED_BY(mu_);
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
};

inline Resource Res(std::string name, std::set<std::string> read = {},
                    std::set<std::string> write = {},
                    std::set<std::string> execute = {}) {
  Resource r;
  r.name = std::move(name);
  r.permissions.read = std::move(read);
  r.permissions.write = std::move(write);
  r.permissions.execute = std::move(execute);
  return r;
}

// Everything a FiatCore needs, in memory; `now` is the clock (ms).
struct Harness {
  explicit Harness(CoreOptions options = {}) {
    auto clock = [this] { return now.load(); };
    repository = NewMemoryPermissionsRepository(clock);
    resources = std::make_unique<ResourceCache>(&source, clock);
    options.now_ms = clock;
    core = std::make_unique<FiatCore>(&provider, resources.get(),
                                      repository.get(), options);
  }
  void Advance(int64_t ms) { now += ms; }

  std::atomic<int64_t> now{1'000'000};
  FakeRolesProvider provider;
  FakeResourceSource source;
  std::unique_ptr<PermissionsRepository> repository;
  std::unique_ptr<ResourceCache> resources;
  std::unique_ptr<FiatCore> core;
};

}  // namespace gennaker::fiat::testing

#endif  // GENNAKER_SERVICES_FIAT_FIAT_TEST_UTIL_H_
