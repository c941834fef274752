#include "services/igor/polling.h"

#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/redis/redis.h"
#include "common/status/status_macros.h"

namespace gennaker::igor {
namespace {

// The scan page size: large enough that a few thousand keys take a handful
// of round trips, small enough that one SCAN never blocks Redis for long.
constexpr char kScanCount[] = "500";
// Keys a Scan returns at most (a runaway pattern must not eat memory).
constexpr size_t kMaxScanKeys = 100000;

// ---------------------------------------------------------------------------
// Redis

// Deletes KEYS[1] when it holds ARGV[1], in one step (a GET then a DEL could
// drop a value another client set in between).
constexpr char kCompareAndDelete[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) else return 0 end";

// `text` with Redis glob metacharacters escaped, so a prefix is matched
// literally.
std::string GlobEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

class RedisSeenStore : public SeenStore {
 public:
  RedisSeenStore(redis::Client* client, std::string prefix)
      : client_(client),
        prefix_(prefix.empty() ? "" : absl::StrCat(prefix, ":")) {}

  absl::StatusOr<std::optional<std::string>> HashGet(
      const std::string& key, const std::string& field) override {
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply r,
                              client_->Command({"HGET", Key(key), field}));
    if (r.type == redis::Reply::Type::kNil) return std::nullopt;
    return r.str;
  }

  absl::Status HashSet(const std::string& key, const std::string& field,
                       const std::string& value) override {
    return client_->Command({"HSET", Key(key), field, value}).status();
  }

  absl::StatusOr<std::map<std::string, std::string>> HashGetAll(
      const std::string& key) override {
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply r,
                              client_->Command({"HGETALL", Key(key)}));
    std::map<std::string, std::string> out;
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      out[r.elements[i].str] = r.elements[i + 1].str;
    }
    return out;
  }

  absl::Status Delete(const std::string& key) override {
    return client_->Command({"DEL", Key(key)}).status();
  }

  absl::StatusOr<std::vector<std::string>> Scan(
      const std::string& pattern) override {
    const std::string match = absl::StrCat(GlobEscape(prefix_), pattern);
    std::vector<std::string> out;
    std::string cursor = "0";
    do {
      GENNAKER_ASSIGN_OR_RETURN(
          redis::Reply r, client_->Command({"SCAN", cursor, "MATCH", match,
                                            "COUNT", kScanCount}));
      if (r.type != redis::Reply::Type::kArray || r.elements.size() != 2) {
        return absl::InternalError("unexpected SCAN reply");
      }
      cursor = r.elements[0].str;
      for (const redis::Reply& k : r.elements[1].elements) {
        if (k.str.size() >= prefix_.size()) {
          out.push_back(k.str.substr(prefix_.size()));
        }
      }
      if (out.size() > kMaxScanKeys) {
        return absl::ResourceExhaustedError(
            absl::StrCat("more than ", kMaxScanKeys, " keys match ", pattern));
      }
    } while (cursor != "0");
    // SCAN may return a key more than once.
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  absl::StatusOr<bool> SetIfAbsent(const std::string& key,
                                   const std::string& value,
                                   std::chrono::milliseconds ttl) override {
    std::vector<std::string> argv = {"SET", Key(key), value, "NX"};
    if (ttl.count() > 0) {
      argv.push_back("PX");
      argv.push_back(absl::StrCat(ttl.count()));
    }
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply r, client_->Command(argv));
    return r.type != redis::Reply::Type::kNil;
  }

  absl::StatusOr<std::optional<std::string>> Get(
      const std::string& key) override {
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply r,
                              client_->Command({"GET", Key(key)}));
    if (r.type == redis::Reply::Type::kNil) return std::nullopt;
    return r.str;
  }

  absl::Status Set(const std::string& key, const std::string& value,
                   std::chrono::milliseconds ttl) override {
    std::vector<std::string> argv = {"SET", Key(key), value};
    if (ttl.count() > 0) {
      argv.push_back("PX");
      argv.push_back(absl::StrCat(ttl.count()));
    }
    return client_->Command(argv).status();
  }

  absl::StatusOr<bool> DeleteIfEquals(const std::string& key,
                                      const std::string& value) override {
    GENNAKER_ASSIGN_OR_RETURN(
        redis::Reply r,
        client_->Command({"EVAL", kCompareAndDelete, "1", Key(key), value}));
    return r.type == redis::Reply::Type::kInteger && r.integer > 0;
  }

 private:
  std::string Key(const std::string& key) const {
    return absl::StrCat(prefix_, key);
  }

  redis::Client* const client_;
  const std::string prefix_;  // "<prefix>:" or ""
};

// ---------------------------------------------------------------------------
// In memory

class InMemorySeenStore : public SeenStore {
 public:
  absl::StatusOr<std::optional<std::string>> HashGet(
      const std::string& key, const std::string& field) override {
    absl::MutexLock lock(&mu_);
    Entry* e = Find(key);
    if (e == nullptr) return std::nullopt;
    if (!e->is_hash) return WrongType(key);
    auto it = e->hash.find(field);
    if (it == e->hash.end()) return std::nullopt;
    return it->second;
  }

  absl::Status HashSet(const std::string& key, const std::string& field,
                       const std::string& value) override {
    absl::MutexLock lock(&mu_);
    Entry* e = Find(key);
    if (e == nullptr) {
      e = &entries_[key];
      e->is_hash = true;
    } else if (!e->is_hash) {
      return WrongType(key);
    }
    e->hash[field] = value;
    return absl::OkStatus();
  }

  absl::StatusOr<std::map<std::string, std::string>> HashGetAll(
      const std::string& key) override {
    absl::MutexLock lock(&mu_);
    Entry* e = Find(key);
    if (e == nullptr) return std::map<std::string, std::string>();
    if (!e->is_hash) return WrongType(key);
    return e->hash;
  }

  absl::Status Delete(const std::string& key) override {
    absl::MutexLock lock(&mu_);
    entries_.erase(key);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> Scan(
      const std::string& pattern) override {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (Expired(it->second)) {
        it = entries_.erase(it);
        continue;
      }
      // fnmatch's glob (*, ?, [...], \ escapes) is Redis's for what igor
      // uses.
      if (fnmatch(pattern.c_str(), it->first.c_str(), 0) == 0) {
        out.push_back(it->first);
      }
      ++it;
    }
    return out;
  }

  absl::StatusOr<bool> SetIfAbsent(const std::string& key,
                                   const std::string& value,
                                   std::chrono::milliseconds ttl) override {
    absl::MutexLock lock(&mu_);
    if (Find(key) != nullptr) return false;
    Put(key, value, ttl);
    return true;
  }

  absl::StatusOr<std::optional<std::string>> Get(
      const std::string& key) override {
    absl::MutexLock lock(&mu_);
    Entry* e = Find(key);
    if (e == nullptr) return std::nullopt;
    if (e->is_hash) return WrongType(key);
    return e->value;
  }

  absl::Status Set(const std::string& key, const std::string& value,
                   std::chrono::milliseconds ttl) override {
    absl::MutexLock lock(&mu_);
    Put(key, value, ttl);
    return absl::OkStatus();
  }

  absl::StatusOr<bool> DeleteIfEquals(const std::string& key,
                                      const std::string& value) override {
    absl::MutexLock lock(&mu_);
    Entry* e = Find(key);
    if (e == nullptr || e->is_hash || e->value != value) return false;
    entries_.erase(key);
    return true;
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    bool is_hash = false;
    std::string value;
    std::map<std::string, std::string> hash;
    std::optional<Clock::time_point> expires;
  };

  static absl::Status WrongType(const std::string& key) {
    return absl::FailedPreconditionError(
        absl::StrCat("WRONGTYPE: ", key, " holds another kind of value"));
  }

  static bool Expired(const Entry& e) {
    return e.expires.has_value() && Clock::now() >= *e.expires;
  }

  // The live entry of `key` (dropping it when expired), or null.
  Entry* Find(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    if (Expired(it->second)) {
      entries_.erase(it);
      return nullptr;
    }
    return &it->second;
  }

  void Put(const std::string& key, const std::string& value,
           std::chrono::milliseconds ttl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Entry e;
    e.value = value;
    if (ttl.count() > 0) e.expires = Clock::now() + ttl;
    entries_[key] = std::move(e);
  }

  absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<bool> SeenStore::DeleteIfEquals(const std::string& key,
                                               const std::string& value) {
  GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> current, Get(key));
  if (!current.has_value() || *current != value) return false;
  GENNAKER_RETURN_IF_ERROR(Delete(key));
  return true;
}

std::unique_ptr<SeenStore> NewRedisSeenStore(redis::Client* client,
                                             std::string prefix) {
  return std::make_unique<RedisSeenStore>(client, std::move(prefix));
}

std::unique_ptr<SeenStore> NewInMemorySeenStore() {
  return std::make_unique<InMemorySeenStore>();
}

// ---------------------------------------------------------------------------
// Scheduler

namespace {

using Clock = std::chrono::steady_clock;

struct MonitorState {
  std::unique_ptr<Monitor> monitor;
  std::string name;
  // Serializes polls of this monitor (the scheduler thread and PollNow).
  absl::Mutex poll_mu;
  // The rest is guarded by Impl::mu.
  Clock::time_point next_due;
  int failures = 0;
  std::optional<std::string> last_result;
};

}  // namespace

struct PollScheduler::Impl {
  SeenStore* store = nullptr;
  PollOptions options;
  // Identifies this scheduler's poll claims, so it can poll again while its
  // own claim lasts (PollNow, retries) and release it after a failure.
  std::string owner;
  std::vector<std::unique_ptr<MonitorState>> monitors;

  mutable absl::Mutex mu;
  absl::CondVar wake;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  bool started ABSL_GUARDED_BY(mu) = false;
  // Held across Start and Stop (never by the polling threads), so that one
  // never sees the threads the other is filling in or joining.
  absl::Mutex lifecycle_mu ABSL_ACQUIRED_BEFORE(mu);
  std::vector<std::thread> threads ABSL_GUARDED_BY(lifecycle_mu);

  std::chrono::milliseconds ClaimTtl() const {
    // A little under the interval: the claim has lapsed by this replica's
    // next poll, so its schedule is never blocked by its own claim, while
    // another replica polling in between finds it held.
    const auto ttl = options.interval - options.interval / 10;
    return std::max(ttl, std::chrono::milliseconds(1));
  }

  // Backoff after `failures` consecutive failures: interval/8 doubling, at
  // most the interval.
  std::chrono::milliseconds Backoff(int failures) const {
    auto delay = std::max(options.interval / 8, std::chrono::milliseconds(1));
    for (int i = 1; i < failures && delay < options.interval; ++i) delay *= 2;
    return std::min(delay, options.interval);
  }

  // Claims the poll of `m`: true when this scheduler may poll it now.
  absl::StatusOr<bool> Claim(const MonitorState& m) {
    const std::string key = absl::StrCat("poll:", m.name);
    GENNAKER_ASSIGN_OR_RETURN(bool got,
                              store->SetIfAbsent(key, owner, ClaimTtl()));
    if (got) return true;
    GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> holder,
                              store->Get(key));
    if (!holder.has_value()) {
      // Expired in between: try once more.
      return store->SetIfAbsent(key, owner, ClaimTtl());
    }
    return *holder == owner;
  }

  // Releases a claim this scheduler holds, so that a retry (here or on
  // another replica) need not wait for it to lapse.
  // Atomic compare-and-delete: a claim that lapsed and was taken by
  // another replica meanwhile stays theirs.
  void Release(const MonitorState& m) {
    const std::string key = absl::StrCat("poll:", m.name);
    absl::StatusOr<bool> released = store->DeleteIfEquals(key, owner);
    if (!released.ok()) {
      SPDLOG_DEBUG("event=poll_release_failed monitor={} {}", m.name,
                   released.status());
    }
  }

  // One claimed poll of `m`, its outcome recorded and its next poll
  // scheduled. `polled` tells whether Poll ran (false: another replica holds
  // the claim).
  absl::Status RunOne(MonitorState& m, bool scheduled, bool* polled) {
    absl::MutexLock poll_lock(&m.poll_mu);
    *polled = false;
    if (scheduled) {
      // PollNow may have polled it while this thread waited for the lock.
      absl::MutexLock lock(&mu);
      if (m.next_due > Clock::now()) return absl::OkStatus();
    }
    absl::Status status;
    absl::StatusOr<bool> claimed = Claim(m);
    if (!claimed.ok()) {
      status = absl::UnavailableError(
          absl::StrCat("cannot claim the poll: ", claimed.status().message()));
    } else if (!*claimed) {
      SPDLOG_DEBUG("event=poll_skipped monitor={} reason=claimed_elsewhere",
                   m.name);
      absl::MutexLock lock(&mu);
      m.next_due = Clock::now() + options.interval;
      return absl::OkStatus();
    } else {
      *polled = true;
      // A monitor bug (nlohmann throws on a wrong access) must not take the
      // scheduler's thread, and with it every other monitor, down.
      try {
        status = m.monitor->Poll();
      } catch (const std::exception& e) {
        status = absl::InternalError(absl::StrCat("poll threw: ", e.what()));
      }
      if (!status.ok()) Release(m);
    }
    absl::MutexLock lock(&mu);
    if (status.ok()) {
      m.failures = 0;
      m.last_result = "ok";
      m.next_due = Clock::now() + options.interval;
    } else {
      ++m.failures;
      m.last_result = status.ToString();
      const auto delay = Backoff(m.failures);
      m.next_due = Clock::now() + delay;
      SPDLOG_WARN("event=poll_failed monitor={} failures={} retry_ms={} {}",
                  m.name, m.failures, delay.count(), status);
    }
    return status;
  }

  void Loop(std::vector<MonitorState*> mine) {
    while (true) {
      MonitorState* due = nullptr;
      {
        absl::MutexLock lock(&mu);
        while (!stopping) {
          Clock::time_point earliest = Clock::time_point::max();
          for (MonitorState* m : mine) {
            if (m->next_due < earliest) {
              earliest = m->next_due;
              due = m;
            }
          }
          const Clock::time_point now = Clock::now();
          if (earliest <= now) break;
          due = nullptr;
          const auto wait =
              std::chrono::duration_cast<std::chrono::microseconds>(earliest -
                                                                    now);
          wake.WaitWithTimeout(&mu, absl::FromChrono(wait));
        }
        if (stopping) return;
      }
      bool polled = false;
      (void)RunOne(*due, /*scheduled=*/true, &polled);
    }
  }
};

PollScheduler::PollScheduler(std::vector<std::unique_ptr<Monitor>> monitors,
                             SeenStore* store, PollOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->store = store;
  if (options.interval.count() <= 0)
    options.interval = std::chrono::seconds(60);
  if (options.threads < 1) options.threads = 1;
  impl_->options = options;
  char host[256] = {};
  (void)gethostname(host, sizeof(host) - 1);
  impl_->owner = absl::StrCat(host, ":", getpid(), ":", NewUlid());
  for (std::unique_ptr<Monitor>& m : monitors) {
    if (m == nullptr) continue;
    const std::string name = m->name();
    const bool duplicate =
        std::any_of(impl_->monitors.begin(), impl_->monitors.end(),
                    [&](const auto& s) { return s->name == name; });
    if (duplicate) {
      SPDLOG_ERROR("event=poll_monitor_duplicate monitor={} (ignored)", name);
      continue;
    }
    auto state = std::make_unique<MonitorState>();
    state->name = name;
    state->monitor = std::move(m);
    impl_->monitors.push_back(std::move(state));
  }
}

PollScheduler::~PollScheduler() { Stop(); }

void PollScheduler::Start() {
  absl::MutexLock lifecycle(&impl_->lifecycle_mu);
  {
    absl::MutexLock lock(&impl_->mu);
    if (impl_->started || impl_->stopping) return;
    impl_->started = true;
    const Clock::time_point now = Clock::now();
    for (auto& m : impl_->monitors) m->next_due = now;
  }
  const size_t n = std::min(static_cast<size_t>(impl_->options.threads),
                            impl_->monitors.size());
  std::vector<std::vector<MonitorState*>> shares(n);
  for (size_t i = 0; i < impl_->monitors.size(); ++i) {
    shares[i % n].push_back(impl_->monitors[i].get());
  }
  for (size_t t = 0; t < n; ++t) {
    impl_->threads.emplace_back(
        [this, mine = std::move(shares[t])] { impl_->Loop(mine); });
  }
  SPDLOG_INFO(
      "event=poll_scheduler_started monitors={} threads={} "
      "interval_ms={}",
      impl_->monitors.size(), n, impl_->options.interval.count());
}

void PollScheduler::Stop() {
  absl::MutexLock lifecycle(&impl_->lifecycle_mu);
  {
    absl::MutexLock lock(&impl_->mu);
    impl_->stopping = true;
    impl_->wake.SignalAll();
  }
  for (std::thread& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

absl::Status PollScheduler::PollNow(const std::string& name) {
  for (auto& m : impl_->monitors) {
    if (m->name != name) continue;
    bool polled = false;
    return impl_->RunOne(*m, /*scheduled=*/false, &polled);
  }
  return absl::NotFoundError(absl::StrCat("no monitor named ", name));
}

std::map<std::string, std::string> PollScheduler::LastResults() const {
  absl::MutexLock lock(&impl_->mu);
  std::map<std::string, std::string> out;
  for (const auto& m : impl_->monitors) {
    if (m->last_result.has_value()) out[m->name] = *m->last_result;
  }
  return out;
}

}  // namespace gennaker::igor
