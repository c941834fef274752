#include "services/clouddriver/store/redis_task_store.h"

#include "absl/strings/str_cat.h"
#include "common/redis/redis.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"

namespace gennaker::clouddriver {

namespace {

// What this service stored itself is read with generous limits, so nothing
// it once accepted becomes unreadable.

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
std::string IdOf(const Json& task) { return spinnaker::String(task, "id"); }

// KEYS: task, running set. ARGV: id, json, ttl, idempotency key ("" = none).
constexpr char kCreate[] =
    "if ARGV[4] ~= '' then "
    "  local existing = redis.call('GET', ARGV[4]) "
    "  if existing then return existing end "
    "  redis.call('SET', ARGV[4], ARGV[1], 'EX', ARGV[3]) "
    "end "
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) "
    "redis.call('SADD', KEYS[2], ARGV[1]) "
    "return ARGV[1]";

// KEYS: task, running set. ARGV: id, json, ttl, running (1/0), expected
// owner, expected state ("" = any).
constexpr char kSave[] =
    "if ARGV[5] ~= '' or ARGV[6] ~= '' then "
    "  local cur = redis.call('GET', KEYS[1]) "
    "  if not cur then return 0 end "
    "  local t = cjson.decode(cur) "
    "  if ARGV[5] ~= '' and t['ownerId'] ~= ARGV[5] then return 0 end "
    "  if ARGV[6] ~= '' and t['state'] ~= ARGV[6] then return 0 end "
    "end "
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) "
    "if ARGV[4] == '1' then redis.call('SADD', KEYS[2], ARGV[1]) "
    "else redis.call('SREM', KEYS[2], ARGV[1]) end "
    "return 1";

}  // namespace

absl::StatusOr<std::string> RedisTaskStore::Create(const Json& task,
                                                   const std::string& key) {
  const std::string id = IdOf(task);
  GENNAKER_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_->Command({"EVAL", kCreate, "2", TaskKey(id), kRunning, id,
                       task.dump(), kKeep, key.empty() ? "" : IdemKey(key)}));
  return r.str;
}

absl::StatusOr<bool> RedisTaskStore::Save(const Json& task, bool running,
                                          const std::string& expect_owner,
                                          const std::string& expect_state) {
  const std::string id = IdOf(task);
  GENNAKER_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_->Command({"EVAL", kSave, "2", TaskKey(id), kRunning, id,
                       task.dump(), kKeep, running ? "1" : "0", expect_owner,
                       expect_state}));
  return r.integer == 1;
}

absl::Status RedisTaskStore::Forget(const std::string& id) {
  return redis_->Command({"SREM", kRunning, id}).status();
}

absl::StatusOr<std::optional<Json>> RedisTaskStore::Get(const std::string& id) {
  GENNAKER_ASSIGN_OR_RETURN(redis::Reply r,
                            redis_->Command({"GET", TaskKey(id)}));
  if (r.type != redis::Reply::Type::kString) return std::nullopt;
  absl::StatusOr<Json> task =
      spinnaker::ParseJson(r.str, "stored task", spinnaker::kStoredJsonLimits);
  if (!task.ok()) {
    return absl::DataLossError(absl::StrCat("task ", id, " is corrupt"));
  }
  return *std::move(task);
}

absl::StatusOr<std::optional<std::string>> RedisTaskStore::TaskIdForKey(
    const std::string& key) {
  if (key.empty()) return std::nullopt;
  GENNAKER_ASSIGN_OR_RETURN(redis::Reply r,
                            redis_->Command({"GET", IdemKey(key)}));
  if (r.type != redis::Reply::Type::kString) return std::nullopt;
  return r.str;
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
