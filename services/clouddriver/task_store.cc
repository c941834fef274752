#include "services/clouddriver/task_store.h"

#include "absl/strings/str_cat.h"
#include "common/redis/redis.h"
#include "common/status/status_macros.h"

namespace gennaker::clouddriver {

namespace {

constexpr char kRunning[] = "gennaker:cd:tasks:running";
constexpr char kKeep[] = "604800";  // seconds: 7 days

std::string TaskKey(const std::string& id) {
  return absl::StrCat("gennaker:cd:task:", id);
}
std::string IdemKey(const std::string& key) {
  return absl::StrCat("gennaker:cd:taskkey:", key);
}
std::string OwnerKey(const std::string& owner) {
  return absl::StrCat("gennaker:cd:owner:", owner);
}
std::string IdOf(const Json& task) { return task.value("id", std::string()); }

}  // namespace

// ---- MemoryTaskStore ----

absl::StatusOr<std::string> MemoryTaskStore::Create(const Json& task,
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

absl::Status MemoryTaskStore::Save(const Json& task, bool running) {
  absl::MutexLock l(&mu_);
  tasks_[IdOf(task)] = task;
  if (running) {
    running_.insert(IdOf(task));
  } else {
    running_.erase(IdOf(task));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Json>> MemoryTaskStore::Get(
    const std::string& id) {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::vector<std::string>> MemoryTaskStore::Running() {
  absl::MutexLock l(&mu_);
  return std::vector<std::string>(running_.begin(), running_.end());
}

absl::Status MemoryTaskStore::Renew(const std::string& owner, int64_t) {
  absl::MutexLock l(&mu_);
  owners_.insert(owner);
  return absl::OkStatus();
}

absl::StatusOr<bool> MemoryTaskStore::OwnerAlive(const std::string& owner) {
  absl::MutexLock l(&mu_);
  return owners_.count(owner) > 0;
}

void MemoryTaskStore::Expire(const std::string& owner) {
  absl::MutexLock l(&mu_);
  owners_.erase(owner);
}

// ---- RedisTaskStore ----

absl::StatusOr<std::string> RedisTaskStore::Create(const Json& task,
                                                   const std::string& key) {
  const std::string id = IdOf(task);
  // The task first, then the key: whoever finds the key finds the task.
  GENNAKER_RETURN_IF_ERROR(
      redis_->Command({"SET", TaskKey(id), task.dump(), "EX", kKeep}).status());
  if (!key.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(
        redis::Reply set,
        redis_->Command({"SET", IdemKey(key), id, "NX", "EX", kKeep}));
    if (set.type == redis::Reply::Type::kNil) {
      GENNAKER_RETURN_IF_ERROR(redis_->Command({"DEL", TaskKey(id)}).status());
      GENNAKER_ASSIGN_OR_RETURN(redis::Reply existing,
                                redis_->Command({"GET", IdemKey(key)}));
      if (existing.type != redis::Reply::Type::kString) {
        return absl::UnavailableError(
            "idempotency key expired while submitting; submit again");
      }
      return existing.str;
    }
  }
  GENNAKER_RETURN_IF_ERROR(redis_->Command({"SADD", kRunning, id}).status());
  return id;
}

absl::Status RedisTaskStore::Save(const Json& task, bool running) {
  const std::string id = IdOf(task);
  GENNAKER_RETURN_IF_ERROR(
      redis_->Command({"SET", TaskKey(id), task.dump(), "EX", kKeep}).status());
  return redis_->Command({running ? "SADD" : "SREM", kRunning, id}).status();
}

absl::StatusOr<std::optional<Json>> RedisTaskStore::Get(const std::string& id) {
  GENNAKER_ASSIGN_OR_RETURN(redis::Reply r,
                            redis_->Command({"GET", TaskKey(id)}));
  if (r.type != redis::Reply::Type::kString) return std::nullopt;
  Json task = Json::parse(r.str, nullptr, false);
  if (task.is_discarded()) {
    return absl::DataLossError(absl::StrCat("task ", id, " is corrupt"));
  }
  return task;
}

absl::StatusOr<std::vector<std::string>> RedisTaskStore::Running() {
  GENNAKER_ASSIGN_OR_RETURN(redis::Reply r,
                            redis_->Command({"SMEMBERS", kRunning}));
  std::vector<std::string> out;
  for (const redis::Reply& e : r.elements) out.push_back(e.str);
  return out;
}

absl::Status RedisTaskStore::Renew(const std::string& owner, int64_t ttl_ms) {
  return redis_
      ->Command({"SET", OwnerKey(owner), "1", "PX", std::to_string(ttl_ms)})
      .status();
}

absl::StatusOr<bool> RedisTaskStore::OwnerAlive(const std::string& owner) {
  GENNAKER_ASSIGN_OR_RETURN(redis::Reply r,
                            redis_->Command({"EXISTS", OwnerKey(owner)}));
  return r.integer > 0;
}

}  // namespace gennaker::clouddriver
