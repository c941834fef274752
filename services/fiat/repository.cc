#include "services/fiat/repository.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/redis/redis.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"

namespace gennaker::fiat {
namespace {

// ARGV: prefix, id, blob, ttl seconds, external JSON, only-if-stored (0/1),
// role count, roles...
constexpr char kPutScript[] = R"lua(
local p, id, ttl = ARGV[1], ARGV[2], tonumber(ARGV[4])
if ARGV[6] == '1' and redis.call('EXISTS', p .. ':user:' .. id) == 0 then
  return 0
end
local rk = p .. ':user-roles:' .. id
for _, r in ipairs(redis.call('SMEMBERS', rk)) do
  redis.call('SREM', p .. ':roles:' .. r, id)
end
redis.call('DEL', rk)
local n = tonumber(ARGV[7])
for i = 1, n do
  local r = ARGV[7 + i]
  redis.call('SADD', p .. ':roles:' .. r, id)
  redis.call('SADD', rk, r)
end
if n > 0 then redis.call('EXPIRE', rk, ttl) end
redis.call('SET', p .. ':user:' .. id, ARGV[3], 'EX', ttl)
redis.call('SET', p .. ':external:' .. id, ARGV[5], 'EX', ttl)
redis.call('SADD', p .. ':users', id)
return 1
)lua";

// ARGV: prefix, id.
constexpr char kDeleteScript[] = R"lua(
local p, id = ARGV[1], ARGV[2]
local rk = p .. ':user-roles:' .. id
for _, r in ipairs(redis.call('SMEMBERS', rk)) do
  redis.call('SREM', p .. ':roles:' .. r, id)
end
redis.call('DEL', rk, p .. ':external:' .. id)
local existed = redis.call('DEL', p .. ':user:' .. id)
redis.call('SREM', p .. ':users', id)
return existed
)lua";

std::vector<std::string> Strings(const redis::Reply& reply) {
  std::vector<std::string> out;
  for (const redis::Reply& e : reply.elements) out.push_back(e.str);
  std::sort(out.begin(), out.end());
  return out;
}

class RedisPermissionsRepository final : public PermissionsRepository {
 public:
  RedisPermissionsRepository(redis::Client* client, std::string prefix,
                             int64_t ttl_seconds)
      : client_(client),
        prefix_(std::move(prefix)),
        ttl_seconds_(ttl_seconds > 0 ? ttl_seconds : 86400) {}

  absl::StatusOr<bool> Store(const StoredUser& user,
                             bool only_if_stored) override {
    const v1::UserPermission& permission = user.permission;
    if (permission.name().empty()) {
      return absl::InvalidArgumentError("a permission set needs a user name");
    }
    spinnaker::Json external(user.external_roles);
    if (user.service_account) {
      external = spinnaker::Json{{"roles", std::move(external)},
                                 {"service_account", true}};
    }
    std::vector<std::string> argv = {"EVAL",
                                     kPutScript,
                                     "0",
                                     prefix_,
                                     permission.name(),
                                     permission.SerializeAsString(),
                                     absl::StrCat(ttl_seconds_),
                                     spinnaker::Dump(external),
                                     only_if_stored ? "1" : "0",
                                     absl::StrCat(permission.roles_size())};
    for (const v1::RoleView& r : permission.roles()) argv.push_back(r.name());
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply reply, client_->Command(argv));
    return reply.integer > 0;
  }

  absl::StatusOr<std::optional<StoredUser>> Get(
      const std::string& id) override {
    GENNAKER_ASSIGN_OR_RETURN(
        redis::Reply reply,
        client_->Command({"MGET", Key("user:", id), Key("external:", id)}));
    if (reply.elements.size() != 2 ||
        reply.elements[0].type != redis::Reply::Type::kString) {
      return std::nullopt;
    }
    StoredUser user;
    if (!user.permission.ParseFromString(reply.elements[0].str)) {
      return absl::DataLossError(
          absl::StrCat("stored permission set of '", id, "' is corrupt"));
    }
    if (reply.elements[1].type == redis::Reply::Type::kString) {
      absl::StatusOr<spinnaker::Json> roles =
          spinnaker::ParseJson(reply.elements[1].str, "external roles",
                               spinnaker::kStoredJsonLimits);
      if (roles.ok() && roles->is_object()) {
        const auto sa = roles->find("service_account");
        user.service_account =
            sa != roles->end() && sa->is_boolean() && sa->get<bool>();
        const auto list = roles->find("roles");
        roles = list != roles->end() ? spinnaker::Json(*list)
                                     : spinnaker::Json::array();
      }
      if (roles.ok() && roles->is_array()) {
        for (const auto& r : *roles) {
          if (r.is_string())
            user.external_roles.push_back(r.get<std::string>());
        }
      }
    }
    return user;
  }

  absl::StatusOr<bool> Delete(const std::string& id) override {
    GENNAKER_ASSIGN_OR_RETURN(
        redis::Reply reply,
        client_->Command({"EVAL", kDeleteScript, "0", prefix_, id}));
    return reply.integer > 0;
  }

  absl::StatusOr<std::vector<std::string>> ListUsers() override {
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply reply,
                              client_->Command({"SMEMBERS", Key("users", "")}));
    return Strings(reply);
  }

  absl::StatusOr<std::vector<std::string>> UsersWithRoles(
      const std::vector<std::string>& roles) override {
    if (roles.empty()) return std::vector<std::string>{};
    std::vector<std::string> argv = {"SUNION"};
    for (const std::string& r : roles) argv.push_back(Key("roles:", r));
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply reply, client_->Command(argv));
    return Strings(reply);
  }

  absl::StatusOr<bool> IsEmpty() override {
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply reply,
                              client_->Command({"SCARD", Key("users", "")}));
    return reply.integer == 0;
  }

  absl::StatusOr<bool> TryLock(const std::string& name,
                               const std::string& owner,
                               int64_t ttl_ms) override {
    GENNAKER_ASSIGN_OR_RETURN(
        redis::Reply reply,
        client_->Command({"SET", Key("lock:", name), owner, "NX", "PX",
                          absl::StrCat(std::max<int64_t>(ttl_ms, 1))}));
    return reply.type != redis::Reply::Type::kNil;
  }

 private:
  std::string Key(absl::string_view kind, absl::string_view id) const {
    return absl::StrCat(prefix_, ":", kind, id);
  }

  redis::Client* const client_;
  const std::string prefix_;
  const int64_t ttl_seconds_;
};

class MemoryPermissionsRepository final : public PermissionsRepository {
 public:
  explicit MemoryPermissionsRepository(std::function<int64_t()> now_ms)
      : now_ms_(std::move(now_ms)) {}

  absl::StatusOr<bool> Store(const StoredUser& user,
                             bool only_if_stored) override {
    if (user.permission.name().empty()) {
      return absl::InvalidArgumentError("a permission set needs a user name");
    }
    absl::MutexLock l(&mu_);
    if (only_if_stored && users_.count(user.permission.name()) == 0) {
      return false;
    }
    users_[user.permission.name()] = user;
    return true;
  }

  absl::StatusOr<std::optional<StoredUser>> Get(
      const std::string& id) override {
    absl::MutexLock l(&mu_);
    auto it = users_.find(id);
    if (it == users_.end()) return std::nullopt;
    return it->second;
  }

  absl::StatusOr<bool> Delete(const std::string& id) override {
    absl::MutexLock l(&mu_);
    return users_.erase(id) > 0;
  }

  absl::StatusOr<std::vector<std::string>> ListUsers() override {
    absl::MutexLock l(&mu_);
    std::vector<std::string> out;
    for (const auto& [id, u] : users_) out.push_back(id);
    return out;
  }

  absl::StatusOr<std::vector<std::string>> UsersWithRoles(
      const std::vector<std::string>& roles) override {
    std::set<std::string> wanted(roles.begin(), roles.end());
    absl::MutexLock l(&mu_);
    std::vector<std::string> out;
    for (const auto& [id, u] : users_) {
      for (const v1::RoleView& r : u.permission.roles()) {
        if (wanted.count(r.name()) > 0) {
          out.push_back(id);
          break;
        }
      }
    }
    return out;
  }

  absl::StatusOr<bool> IsEmpty() override {
    absl::MutexLock l(&mu_);
    return users_.empty();
  }

  absl::StatusOr<bool> TryLock(const std::string& name, const std::string&,
                               int64_t ttl_ms) override {
    absl::MutexLock l(&mu_);
    const int64_t now = now_ms_();
    auto it = locks_.find(name);
    if (it != locks_.end() && it->second > now) return false;
    locks_[name] = now + ttl_ms;
    return true;
  }

 private:
  const std::function<int64_t()> now_ms_;
  absl::Mutex mu_;
  std::map<std::string, StoredUser> users_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> locks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<PermissionsRepository> NewRedisPermissionsRepository(
    redis::Client* client, std::string prefix, int64_t ttl_seconds) {
  return std::make_unique<RedisPermissionsRepository>(client, std::move(prefix),
                                                      ttl_seconds);
}

std::unique_ptr<PermissionsRepository> NewMemoryPermissionsRepository(
    std::function<int64_t()> now_ms) {
  return std::make_unique<MemoryPermissionsRepository>(std::move(now_ms));
}

}  // namespace gennaker::fiat
