#include "services/clouddriver/store/in_memory_task_store.h"

#include "common/spinnaker/json.h"

namespace gennaker::clouddriver {

namespace {

std::string IdOf(const Json& task) { return spinnaker::String(task, "id"); }

bool Matches(const Json& stored, const std::string& owner,
             const std::string& state) {
  return (owner.empty() || spinnaker::String(stored, "ownerId") == owner) &&
         (state.empty() || spinnaker::String(stored, "state") == state);
}

}  // namespace

absl::StatusOr<std::string> InMemoryTaskStore::Create(const Json& task,
                                                      const std::string& key) {
  absl::MutexLock l(&mu_);
  if (!key.empty()) {
    auto it = keys_.find(key);
    if (it != keys_.end()) return it->second;
    keys_[key] = IdOf(task);
  }
  tasks_[IdOf(task)] = task;
  running_.insert(IdOf(task));
  return IdOf(task);
}

absl::StatusOr<std::optional<std::string>> InMemoryTaskStore::TaskIdForKey(
    const std::string& key) {
  absl::MutexLock l(&mu_);
  auto it = keys_.find(key);
  if (key.empty() || it == keys_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<bool> InMemoryTaskStore::Save(const Json& task, bool running,
                                             const std::string& expect_owner,
                                             const std::string& expect_state) {
  absl::MutexLock l(&mu_);
  if (!expect_owner.empty() || !expect_state.empty()) {
    auto it = tasks_.find(IdOf(task));
    if (it == tasks_.end() ||
        !Matches(it->second, expect_owner, expect_state)) {
      return false;
    }
  }
  tasks_[IdOf(task)] = task;
  if (running) {
    running_.insert(IdOf(task));
  } else {
    running_.erase(IdOf(task));
  }
  return true;
}

absl::Status InMemoryTaskStore::Forget(const std::string& id) {
  absl::MutexLock l(&mu_);
  running_.erase(id);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Json>> InMemoryTaskStore::Get(
    const std::string& id) {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::vector<std::string>> InMemoryTaskStore::Running() {
  absl::MutexLock l(&mu_);
  return std::vector<std::string>(running_.begin(), running_.end());
}

absl::Status InMemoryTaskStore::Renew(const std::string& owner, int64_t) {
  absl::MutexLock l(&mu_);
  owners_.insert(owner);
  return absl::OkStatus();
}

absl::StatusOr<bool> InMemoryTaskStore::OwnerAlive(const std::string& owner) {
  absl::MutexLock l(&mu_);
  return owners_.count(owner) > 0;
}

void InMemoryTaskStore::Expire(const std::string& owner) {
  absl::MutexLock l(&mu_);
  owners_.erase(owner);
}

}  // namespace gennaker::clouddriver
