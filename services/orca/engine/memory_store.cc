#include "services/orca/engine/memory_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gennaker::orca {

namespace {

bool Matches(const Json& e, const ExecutionQuery& q) {
  auto in = [](const std::vector<std::string>& set, const std::string& v) {
    return set.empty() || std::find(set.begin(), set.end(), v) != set.end();
  };
  if (!q.application.empty() && String(e, "application") != q.application) {
    return false;
  }
  if (!q.type.empty() && String(e, "type") != q.type) return false;
  return in(q.config_ids, String(e, "pipelineConfigId")) &&
         in(q.execution_ids, String(e, "id")) &&
         in(q.statuses, String(e, "status"));
}

}  // namespace

int64_t MemoryStore::Now() const {
  return clock_ != nullptr ? clock_->NowMs() : SystemClock().NowMs();
}

class MemoryStore::MemoryWork : public Work {
 public:
  MemoryWork(MemoryStore* store, Message message, Json execution,
             std::string claimed)
      : store_(store),
        message_(std::move(message)),
        execution_(std::move(execution)),
        claimed_(std::move(claimed)) {}
  ~MemoryWork() override {
    if (!done_) {
      absl::MutexLock l(&store_->mu_);
      store_->locked_.erase(String(execution_, "id"));
    }
  }
  const Message& message() const override { return message_; }
  int64_t deliver_at_ms() const override { return deliver_at_; }
  Json& execution() override { return execution_; }
  absl::StatusOr<std::string> CreateExecution(
      const Json& execution, const std::string& correlation_id,
      const std::vector<Outgoing>& messages) override {
    // Applied at commit, like a transaction.
    pending_creates_.push_back({execution, correlation_id, messages});
    if (!correlation_id.empty()) {
      absl::MutexLock l(&store_->mu_);
      auto it = store_->correlations_.find(correlation_id);
      if (it != store_->correlations_.end()) {
        pending_creates_.pop_back();
        return it->second;
      }
    }
    return String(execution, "id");
  }
  absl::StatusOr<int> LockConfigCountRunning(
      const std::string& config_id) override {
    absl::MutexLock l(&store_->mu_);
    int n = 0;
    for (auto& [id, e] : store_->executions_) {
      if (id == String(execution_, "id")) continue;
      std::string s = String(e, "status");
      if (String(e, "pipelineConfigId") == config_id &&
          (s == status::kRunning || s == status::kPaused)) {
        ++n;
      }
    }
    return n;
  }
  absl::StatusOr<std::vector<std::string>> Waiting(
      const std::string& config_id) override {
    absl::MutexLock l(&store_->mu_);
    std::vector<std::pair<int64_t, std::string>> w;
    for (auto& [id, e] : store_->executions_) {
      if (String(e, "pipelineConfigId") == config_id &&
          e.contains(kPrivateKey) && Bool(e[kPrivateKey], "waiting")) {
        w.push_back({Int(e, "buildTime"), id});
      }
    }
    std::sort(w.begin(), w.end());
    std::vector<std::string> out;
    for (auto& p : w) out.push_back(p.second);
    return out;
  }
  absl::StatusOr<Json> Read(const std::string& id) override {
    // Executions created in this transaction are visible to it.
    for (const Create& c : pending_creates_) {
      if (String(c.execution, "id") == id) return c.execution;
    }
    return store_->Get(id);
  }
  absl::Status Commit(const std::vector<Outgoing>& messages) override {
    absl::MutexLock l(&store_->mu_);
    int64_t now = store_->Now();
    for (auto& c : pending_creates_) {
      auto s =
          store_->CreateLocked(c.execution, c.correlation, c.messages, now);
      if (!s.ok()) return s.status();
    }
    std::string id = String(execution_, "id");
    store_->executions_[id] = execution_;
    if (!claimed_.empty()) {
      auto it = store_->queue_.find(claimed_);
      if (it != store_->queue_.end() &&
          (dead_lettered_ || it->second.deliver_at <= claim_time_)) {
        store_->queue_.erase(it);
      }
      if (dead_lettered_) ++store_->dead_;
    }
    store_->PushLocked(messages, now);
    store_->locked_.erase(id);
    done_ = true;
    return absl::OkStatus();
  }
  absl::Status DeadLetterClaimed(const std::string&) override {
    if (claimed_.empty()) {
      return absl::FailedPreconditionError("no claimed message");
    }
    dead_lettered_ = true;
    return absl::OkStatus();
  }
  int64_t claim_time_ = 0;
  int64_t deliver_at_ = 0;

 private:
  struct Create {
    Json execution;
    std::string correlation;
    std::vector<Outgoing> messages;
  };
  MemoryStore* store_;
  Message message_;
  Json execution_;
  std::string claimed_;
  std::vector<Create> pending_creates_;
  bool done_ = false;
  bool dead_lettered_ = false;
};

void MemoryStore::PushLocked(const std::vector<Outgoing>& messages,
                             int64_t now_ms) {
  for (const Outgoing& o : messages) {
    if (!executions_.count(o.message.execution_id)) continue;  // as PgStore
    std::string body = o.message.ToJson();
    Queued& q = queue_[body];
    q.body = body;
    q.message = o.message;
    q.deliver_at = now_ms + o.delay_ms;
  }
}

absl::StatusOr<std::string> MemoryStore::CreateLocked(
    const Json& execution, const std::string& correlation_id,
    const std::vector<Outgoing>& msgs, int64_t now_ms) {
  if (!correlation_id.empty()) {
    auto it = correlations_.find(correlation_id);
    if (it != correlations_.end()) return it->second;
  }
  std::string id = String(execution, "id");
  if (executions_.count(id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("execution ", id, " already exists"));
  }
  executions_[id] = execution;
  if (!correlation_id.empty()) correlations_[correlation_id] = id;
  PushLocked(msgs, now_ms);
  return id;
}

absl::StatusOr<std::string> MemoryStore::Create(
    const Json& execution, const std::string& correlation_id,
    const std::vector<Outgoing>& messages) {
  absl::MutexLock l(&mu_);
  return CreateLocked(execution, correlation_id, messages, Now());
}

absl::StatusOr<Json> MemoryStore::Get(const std::string& id) {
  absl::MutexLock l(&mu_);
  auto it = executions_.find(id);
  if (it == executions_.end()) {
    return absl::NotFoundError(absl::StrCat("Execution not found: ", id));
  }
  return it->second;
}

absl::StatusOr<std::vector<Json>> MemoryStore::List(
    const ExecutionQuery& query) {
  absl::MutexLock l(&mu_);
  std::vector<Json> out;
  for (auto& [id, e] : executions_) {
    if (Matches(e, query)) out.push_back(e);
  }
  std::stable_sort(out.begin(), out.end(), [](const Json& a, const Json& b) {
    return Int(a, "buildTime") > Int(b, "buildTime");
  });
  if (query.limit > 0 && query.limit_per_config) {
    std::map<std::string, int> seen;
    std::vector<Json> kept;
    for (Json& e : out) {
      if (++seen[String(e, "pipelineConfigId")] <= query.limit) {
        kept.push_back(std::move(e));
      }
    }
    return kept;
  }
  if (query.offset > 0) {
    out.erase(out.begin(),
              out.begin() + std::min<size_t>(out.size(), query.offset));
  }
  if (query.limit > 0 && static_cast<int>(out.size()) > query.limit) {
    out.resize(query.limit);
  }
  return out;
}

absl::Status MemoryStore::Push(const std::vector<Outgoing>& messages) {
  absl::MutexLock l(&mu_);
  PushLocked(messages, Now());
  return absl::OkStatus();
}

absl::Status MemoryStore::Delete(const std::string& id) {
  absl::MutexLock l(&mu_);
  if (executions_.erase(id) == 0) {
    return absl::NotFoundError(absl::StrCat("Execution not found: ", id));
  }
  for (auto it = queue_.begin(); it != queue_.end();) {
    it = it->second.message.execution_id == id ? queue_.erase(it) : ++it;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Work>> MemoryStore::Claim(int64_t now_ms) {
  absl::MutexLock l(&mu_);
  const Queued* best = nullptr;
  for (auto& [body, q] : queue_) {
    if (q.deliver_at > now_ms || locked_.count(q.message.execution_id)) {
      continue;
    }
    if (!executions_.count(q.message.execution_id)) continue;
    if (best == nullptr || q.deliver_at < best->deliver_at) best = &q;
  }
  if (best == nullptr) return nullptr;
  locked_.insert(best->message.execution_id);
  auto w = std::make_unique<MemoryWork>(
      this, best->message, executions_[best->message.execution_id], best->body);
  w->claim_time_ = now_ms;
  w->deliver_at_ = best->deliver_at;
  return w;
}

absl::StatusOr<std::unique_ptr<Work>> MemoryStore::Lock(const std::string& id) {
  absl::MutexLock l(&mu_);
  if (!executions_.count(id)) {
    return absl::NotFoundError(absl::StrCat("Execution not found: ", id));
  }
  auto free = [this, &id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return locked_.count(id) == 0;
  };
  mu_.Await(absl::Condition(&free));
  if (!executions_.count(id)) {
    return absl::NotFoundError(absl::StrCat("Execution not found: ", id));
  }
  locked_.insert(id);
  return std::make_unique<MemoryWork>(this, Message{}, executions_[id], "");
}

absl::StatusOr<int> MemoryStore::Retry(const Message& message, int64_t now_ms,
                                       int64_t base_delay_ms) {
  absl::MutexLock l(&mu_);
  auto it = queue_.find(message.ToJson());
  if (it == queue_.end()) return absl::NotFoundError("message not queued");
  int n = ++it->second.attempts;
  it->second.deliver_at = now_ms + (base_delay_ms << std::min(n - 1, 10));
  return n;
}

absl::Status MemoryStore::DeadLetter(const Message& message,
                                     const std::string&) {
  absl::MutexLock l(&mu_);
  queue_.erase(message.ToJson());
  ++dead_;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<int64_t>> MemoryStore::NextDelivery() {
  absl::MutexLock l(&mu_);
  std::optional<int64_t> next;
  for (auto& [body, q] : queue_) {
    if (!next || q.deliver_at < *next) next = q.deliver_at;
  }
  return next;
}

absl::StatusOr<int> MemoryStore::Purge(int64_t before_ms, int keep_per_config) {
  absl::MutexLock l(&mu_);
  std::map<std::string, std::vector<std::pair<int64_t, std::string>>> by_config;
  std::set<std::string> doomed;
  for (auto& [id, e] : executions_) {
    if (!IsComplete(String(e, "status"))) continue;
    if (Int(e, "buildTime") < before_ms) doomed.insert(id);
    by_config[String(e, "pipelineConfigId")].push_back(
        {Int(e, "buildTime"), id});
  }
  if (keep_per_config > 0) {
    for (auto& [config, list] : by_config) {
      if (config.empty()) continue;
      std::sort(list.rbegin(), list.rend());
      for (size_t i = keep_per_config; i < list.size(); ++i) {
        doomed.insert(list[i].second);
      }
    }
  }
  for (const std::string& id : doomed) executions_.erase(id);
  return static_cast<int>(doomed.size());
}

int MemoryStore::QueueSize() {
  absl::MutexLock l(&mu_);
  return static_cast<int>(queue_.size());
}

int MemoryStore::DeadLetters() {
  absl::MutexLock l(&mu_);
  return dead_;
}

}  // namespace gennaker::orca
