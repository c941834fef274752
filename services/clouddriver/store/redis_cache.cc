#include "services/clouddriver/store/redis_cache.h"

#include <cstdint>
#include <functional>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/redis/redis.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/names.h"
#include "common/status/status_macros.h"

namespace gennaker::clouddriver {

namespace {

constexpr char kPrefix[] = "gennaker:cd:";

std::string HashKey(const std::string& account, const std::string& kind,
                    const std::string& app) {
  // "app:" keeps an application named "apps" off the apps set's key.
  return absl::StrCat(kPrefix, account, ":", kind, ":app:", app);
}

std::string AppsKey(const std::string& account, const std::string& kind) {
  return absl::StrCat(kPrefix, account, ":", kind, ":apps");
}

// Deletes KEYS[1] and fills it with the ARGV[2..] field/value pairs,
// atomically, and sets its version KEYS[2] to ARGV[1], a fresh unique token
// (readers memoize a hash per version; a counter would repeat its old values
// after the cache is flushed).
constexpr char kReplaceHash[] =
    "redis.call('DEL', KEYS[1]) "
    "for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) "
    "end redis.call('SET', KEYS[2], ARGV[1]) return 1";

std::string VersionKey(const std::string& hash) { return hash + ":v"; }

// What this service stored itself is read with generous limits, so nothing
// it once accepted becomes unreadable.

absl::StatusOr<Json> ParseItem(const std::string& text) {
  absl::StatusOr<Json> j =
      spinnaker::ParseJson(text, "cache entry", spinnaker::kStoredJsonLimits);
  if (!j.ok()) return absl::DataLossError("corrupt cache entry");
  return j;
}

}  // namespace

absl::Status RedisCache::Replace(const std::string& account,
                                 const Json& snapshot) {
  FiledItems filed = FileSnapshot(snapshot);
  for (const auto& [kind, apps] : filed) {
    GENNAKER_ASSIGN_OR_RETURN(std::set<std::string> before,
                              Applications(account, kind));
    for (const auto& [app, items] : apps) {
      std::vector<std::string> argv = {"EVAL",
                                       kReplaceHash,
                                       "2",
                                       HashKey(account, kind, app),
                                       VersionKey(HashKey(account, kind, app)),
                                       NewUlid()};
      std::string all;
      for (const auto& [name, item] : items) {
        argv.push_back(name);
        argv.push_back(item.dump());
        all += argv.back();
      }
      const size_t fingerprint = std::hash<std::string>()(all);
      {
        absl::MutexLock l(&mu_);
        auto it = written_.find(argv[3]);
        if (it != written_.end() && it->second == fingerprint &&
            before.count(app)) {
          continue;  // unchanged since this replica wrote it
        }
      }
      GENNAKER_RETURN_IF_ERROR(redis_->Command(argv).status());
      GENNAKER_RETURN_IF_ERROR(
          redis_->Command({"SADD", AppsKey(account, kind), app}).status());
      absl::MutexLock l(&mu_);
      written_[argv[3]] = fingerprint;
    }
    for (const std::string& app : before) {
      if (apps.count(app)) continue;
      GENNAKER_RETURN_IF_ERROR(
          redis_->Command({"DEL", HashKey(account, kind, app)}).status());
      GENNAKER_RETURN_IF_ERROR(
          redis_->Command({"DEL", VersionKey(HashKey(account, kind, app))})
              .status());
      GENNAKER_RETURN_IF_ERROR(
          redis_->Command({"SREM", AppsKey(account, kind), app}).status());
      absl::MutexLock l(&mu_);
      written_.erase(HashKey(account, kind, app));
    }
  }
  return absl::OkStatus();
}

void RedisCache::ForgetWrites() {
  absl::MutexLock l(&mu_);
  written_.clear();
}

absl::StatusOr<std::vector<Json>> RedisCache::List(const std::string& account,
                                                   const std::string& kind,
                                                   const std::string& app) {
  std::vector<std::string> apps;
  if (!app.empty()) {
    apps.push_back(app);
  } else {
    GENNAKER_ASSIGN_OR_RETURN(std::set<std::string> all,
                              Applications(account, kind));
    apps.assign(all.begin(), all.end());
  }
  std::vector<Json> out;
  for (const std::string& a : apps) {
    const std::string hash = HashKey(account, kind, a);
    // The version first: data read after it is at least that new, so a
    // memo is never newer-labelled than its content.
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply v,
                              redis_->Command({"GET", VersionKey(hash)}));
    const std::string version =
        v.type == redis::Reply::Type::kString ? v.str : "";
    if (!version.empty()) {
      absl::MutexLock l(&mu_);
      auto it = memo_.find(hash);
      if (it != memo_.end() && it->second.version == version) {
        out.insert(out.end(), it->second.items->begin(),
                   it->second.items->end());
        continue;
      }
    }
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply r, redis_->Command({"HVALS", hash}));
    auto items = std::make_shared<std::vector<Json>>();
    for (const redis::Reply& e : r.elements) {
      GENNAKER_ASSIGN_OR_RETURN(Json item, ParseItem(e.str));
      items->push_back(std::move(item));
    }
    out.insert(out.end(), items->begin(), items->end());
    if (!version.empty()) {
      absl::MutexLock l(&mu_);
      memo_[hash] = {version, std::move(items)};
    }
  }
  return out;
}

absl::StatusOr<std::optional<Json>> RedisCache::Get(const std::string& account,
                                                    const std::string& kind,
                                                    const std::string& name) {
  std::string app = spinnaker::ParseName(name).app;
  GENNAKER_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_->Command({"HGET", HashKey(account, kind, app), name}));
  if (r.type != redis::Reply::Type::kString) return std::nullopt;
  GENNAKER_ASSIGN_OR_RETURN(Json item, ParseItem(r.str));
  return item;
}

absl::StatusOr<std::set<std::string>> RedisCache::Applications(
    const std::string& account, const std::string& kind) {
  GENNAKER_ASSIGN_OR_RETURN(
      redis::Reply r, redis_->Command({"SMEMBERS", AppsKey(account, kind)}));
  std::set<std::string> out;
  for (const redis::Reply& e : r.elements) out.insert(e.str);
  return out;
}

}  // namespace gennaker::clouddriver
