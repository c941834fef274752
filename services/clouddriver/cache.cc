#include "services/clouddriver/cache.h"

#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/redis/redis.h"
#include "common/status/status_macros.h"
#include "services/clouddriver/naming.h"

namespace gennaker::clouddriver {

namespace {

constexpr char kPrefix[] = "gennaker:cd:";

std::string AppOf(const Json& item) {
  if (item.contains("application") && item["application"].is_string()) {
    return item["application"].get<std::string>();
  }
  return ParseName(item.value("name", std::string())).app;
}

// kind -> app -> name -> item.
using Grouped =
    std::map<std::string, std::map<std::string, std::map<std::string, Json>>>;

Grouped GroupSnapshot(const Json& snapshot) {
  Grouped out;
  for (const char* kind : {kServerGroups, kLoadBalancers, kSecurityGroups}) {
    out[kind];  // present even when empty: stale items are dropped
    if (!snapshot.contains(kind) || !snapshot[kind].is_array()) continue;
    for (const Json& item : snapshot[kind]) {
      std::string name = item.value("name", std::string());
      if (name.empty()) continue;
      out[kind][AppOf(item)][name] = item;
    }
  }
  return out;
}

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

absl::StatusOr<Json> ParseItem(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) return absl::DataLossError("corrupt cache entry");
  return j;
}

}  // namespace

// ---- MemoryCache ----

absl::Status MemoryCache::Replace(const std::string& account,
                                  const Json& snapshot) {
  Grouped g = GroupSnapshot(snapshot);
  absl::MutexLock l(&mu_);
  auto& acct = items_[account];
  for (auto& [kind, apps] : g) acct[kind] = std::move(apps);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Json>> MemoryCache::List(const std::string& account,
                                                    const std::string& kind,
                                                    const std::string& app) {
  absl::MutexLock l(&mu_);
  std::vector<Json> out;
  auto a = items_.find(account);
  if (a == items_.end()) return out;
  auto k = a->second.find(kind);
  if (k == a->second.end()) return out;
  for (const auto& [name, apps] : k->second) {
    if (!app.empty() && name != app) continue;
    for (const auto& [n, item] : apps) out.push_back(item);
  }
  return out;
}

absl::StatusOr<std::optional<Json>> MemoryCache::Get(const std::string& account,
                                                     const std::string& kind,
                                                     const std::string& name) {
  absl::MutexLock l(&mu_);
  auto a = items_.find(account);
  if (a == items_.end()) return std::nullopt;
  auto k = a->second.find(kind);
  if (k == a->second.end()) return std::nullopt;
  for (const auto& [app, items] : k->second) {
    auto it = items.find(name);
    if (it != items.end()) return it->second;
  }
  return std::nullopt;
}

absl::StatusOr<std::set<std::string>> MemoryCache::Applications(
    const std::string& account, const std::string& kind) {
  absl::MutexLock l(&mu_);
  std::set<std::string> out;
  auto a = items_.find(account);
  if (a == items_.end()) return out;
  auto k = a->second.find(kind);
  if (k == a->second.end()) return out;
  for (const auto& [app, items] : k->second) {
    if (!items.empty()) out.insert(app);
  }
  return out;
}

// ---- RedisCache ----

absl::Status RedisCache::Replace(const std::string& account,
                                 const Json& snapshot) {
  Grouped g = GroupSnapshot(snapshot);
  for (const auto& [kind, apps] : g) {
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
  std::string app = ParseName(name).app;
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

// ---- CachingAgent ----

CachingAgent::CachingAgent(Cache* cache, std::vector<Provider*> providers,
                           int64_t interval_ms)
    : cache_(cache), interval_ms_(interval_ms) {
  for (Provider* p : providers) providers_[p->account()] = p;
}

CachingAgent::~CachingAgent() { Stop(); }

void CachingAgent::Start() {
  for (auto& [account, p] : providers_) {
    p->SetChangeListener([this, a = account] { MarkDirty(a); });
  }
  thread_ = std::thread([this] { Loop(); });
}

void CachingAgent::Stop() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  for (auto& [account, p] : providers_) p->SetChangeListener(nullptr);
}

absl::Status CachingAgent::RefreshNow(const std::string& account) {
  auto it = providers_.find(account);
  if (it == providers_.end()) {
    return absl::NotFoundError(absl::StrCat("no account ", account));
  }
  absl::MutexLock serial(&refresh_mu_);
  absl::Status s = cache_->Replace(account, it->second->Snapshot());
  absl::MutexLock l(&mu_);
  ++refreshes_;
  return s;
}

void CachingAgent::MarkDirty(const std::string& account) {
  absl::MutexLock l(&mu_);
  dirty_.insert(account);
}

int64_t CachingAgent::refreshes() {
  absl::MutexLock l(&mu_);
  return refreshes_;
}

void CachingAgent::Loop() {
  int64_t next_full = 0;
  while (true) {
    std::set<std::string> todo;
    {
      absl::MutexLock l(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !dirty_.empty();
      };
      int64_t now = absl::ToUnixMillis(absl::Now());
      mu_.AwaitWithTimeout(absl::Condition(&wake),
                           absl::Milliseconds(std::max<int64_t>(
                               1, std::min<int64_t>(next_full - now, 1000))));
      if (stop_) return;
      todo.swap(dirty_);
    }
    int64_t now = absl::ToUnixMillis(absl::Now());
    if (now >= next_full) {
      for (const auto& [account, p] : providers_) todo.insert(account);
      next_full = now + interval_ms_;
    }
    for (const std::string& account : todo) {
      if (absl::Status s = RefreshNow(account); !s.ok()) {
        // Retried by the next full refresh (not at once: a store outage
        // would otherwise mean a snapshot and a warning every 50 ms).
        SPDLOG_WARN("event=cache_refresh_failed account={} error={}", account,
                    s);
      }
    }
    // Health changes come in bursts: coalesce them.
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace gennaker::clouddriver
