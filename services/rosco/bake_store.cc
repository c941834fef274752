#include "services/rosco/bake_store.h"

#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/redis.h"
#include "common/status/status_macros.h"

namespace gennaker::rosco {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <typename M>
std::string ToJson(const M& m) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

template <typename M>
absl::Status FromJson(const std::string& text, M* m, const char* what) {
  if (!google::protobuf::util::JsonStringToMessage(text, m).ok()) {
    return absl::DataLossError(absl::StrCat("stored ", what, " is unreadable"));
  }
  return absl::OkStatus();
}

class InMemoryBakeStore final : public BakeStore {
 public:
  absl::Status PutRecord(const BakeRecord& record) override {
    absl::MutexLock l(&mu_);
    BakeRecord& r = records_[record.status.id()];
    std::optional<v1::Bake> bake = r.bake;
    r = record;
    if (!r.bake) r.bake = bake;
    return absl::OkStatus();
  }
  absl::Status PutStatus(const v1::BakeStatus& status) override {
    absl::MutexLock l(&mu_);
    records_[status.id()].status = status;
    return absl::OkStatus();
  }
  absl::Status PutAttempts(const std::string& id, int attempts) override {
    absl::MutexLock l(&mu_);
    records_[id].attempts = attempts;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<BakeRecord>> GetRecord(
      const std::string& id) override {
    absl::MutexLock l(&mu_);
    auto it = records_.find(id);
    if (it == records_.end()) return std::optional<BakeRecord>();
    return std::optional<BakeRecord>(it->second);
  }
  absl::Status AppendLogs(const std::string& id,
                          const std::string& text) override {
    absl::MutexLock l(&mu_);
    logs_[id] += text;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> GetLogs(const std::string& id) override {
    absl::MutexLock l(&mu_);
    auto it = logs_.find(id);
    return it == logs_.end() ? "" : it->second;
  }
  absl::Status PutBake(const std::string& id, const v1::Bake& bake,
                       const std::vector<std::string>& image_ids) override {
    absl::MutexLock l(&mu_);
    records_[id].bake = bake;
    bake_ids_[bake.id()] = id;
    for (const std::string& i : image_ids) images_[i] = id;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> StatusIdForBake(const std::string& b) override {
    return Find(bake_ids_, b);
  }
  absl::StatusOr<std::string> StatusIdForImage(const std::string& i) override {
    return Find(images_, i);
  }
  absl::StatusOr<std::string> StatusIdForKey(const std::string& k) override {
    return Find(keys_, k);
  }
  absl::Status SetKey(const std::string& k, const std::string& id) override {
    absl::MutexLock l(&mu_);
    keys_[k] = id;
    return absl::OkStatus();
  }
  absl::Status DeleteKey(const std::string& k) override {
    absl::MutexLock l(&mu_);
    keys_.erase(k);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> GetIdempotency(const std::string& k) override {
    return Find(idempotency_, k);
  }
  absl::Status PutIdempotency(const std::string& k,
                              const std::string& v) override {
    absl::MutexLock l(&mu_);
    idempotency_.emplace(k, v);
    return absl::OkStatus();
  }
  absl::Status AddIncomplete(const std::string& instance,
                             const std::string& id) override {
    absl::MutexLock l(&mu_);
    incomplete_[instance].insert(id);
    return absl::OkStatus();
  }
  absl::Status RemoveIncomplete(const std::string& instance,
                                const std::string& id) override {
    absl::MutexLock l(&mu_);
    incomplete_[instance].erase(id);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> ListIncomplete(
      const std::string& instance) override {
    absl::MutexLock l(&mu_);
    const std::set<std::string>& s = incomplete_[instance];
    return std::vector<std::string>(s.begin(), s.end());
  }
  absl::StatusOr<bool> TryLock(const std::string& name,
                               const std::string& owner,
                               int64_t ttl_ms) override {
    absl::MutexLock l(&mu_);
    auto it = locks_.find(name);
    const int64_t now = SteadyMs();
    if (it != locks_.end() && it->second.second > now &&
        it->second.first != owner) {
      return false;
    }
    locks_[name] = {owner, now + ttl_ms};
    return true;
  }
  absl::Status Unlock(const std::string& name,
                      const std::string& owner) override {
    absl::MutexLock l(&mu_);
    auto it = locks_.find(name);
    if (it != locks_.end() && it->second.first == owner) locks_.erase(it);
    return absl::OkStatus();
  }

 private:
  std::string Find(const std::map<std::string, std::string>& m,
                   const std::string& k) {
    absl::MutexLock l(&mu_);
    auto it = m.find(k);
    return it == m.end() ? "" : it->second;
  }

  absl::Mutex mu_;
  std::map<std::string, BakeRecord> records_;
  std::map<std::string, std::string> logs_, bake_ids_, images_, keys_,
      idempotency_;
  std::map<std::string, std::set<std::string>> incomplete_;
  std::map<std::string, std::pair<std::string, int64_t>> locks_;
};

class RedisBakeStore final : public BakeStore {
 public:
  RedisBakeStore(redis::Client* client, std::string prefix)
      : redis_(client), p_(std::move(prefix)) {}

  absl::Status PutRecord(const BakeRecord& r) override {
    const std::string& id = r.status.id();
    GENNAKER_RETURN_IF_ERROR(
        Do({"HSET", Bake(id), "bakeStatus", ToJson(r.status), "bakeRequest",
            ToJson(r.request), "bakeKey", r.status.bake_key(), "imageName",
            r.image_name, "attempts", absl::StrCat(r.attempts)}));
    if (r.bake) {
      GENNAKER_RETURN_IF_ERROR(
          Do({"HSET", Bake(id), "bakeDetails", ToJson(*r.bake)}));
    }
    return Do({"SADD", p_ + ":allBakes", id});
  }
  absl::Status PutStatus(const v1::BakeStatus& s) override {
    return Do({"HSET", Bake(s.id()), "bakeStatus", ToJson(s)});
  }
  absl::Status PutAttempts(const std::string& id, int attempts) override {
    return Do({"HSET", Bake(id), "attempts", absl::StrCat(attempts)});
  }
  absl::StatusOr<std::optional<BakeRecord>> GetRecord(
      const std::string& id) override {
    GENNAKER_ASSIGN_OR_RETURN(
        redis::Reply reply,
        redis_->Command({"HMGET", Bake(id), "bakeStatus", "bakeRequest",
                         "imageName", "attempts", "bakeDetails"}));
    if (reply.elements.size() != 5 ||
        reply.elements[0].type != redis::Reply::Type::kString) {
      return std::optional<BakeRecord>();
    }
    BakeRecord r;
    GENNAKER_RETURN_IF_ERROR(
        FromJson(reply.elements[0].str, &r.status, "bake status"));
    if (reply.elements[1].type == redis::Reply::Type::kString) {
      GENNAKER_RETURN_IF_ERROR(
          FromJson(reply.elements[1].str, &r.request, "bake request"));
    }
    r.image_name = reply.elements[2].str;
    int attempts = 0;
    if (absl::SimpleAtoi(reply.elements[3].str, &attempts)) {
      r.attempts = attempts;
    }
    if (reply.elements[4].type == redis::Reply::Type::kString) {
      v1::Bake bake;
      GENNAKER_RETURN_IF_ERROR(
          FromJson(reply.elements[4].str, &bake, "bake details"));
      r.bake = std::move(bake);
    }
    return std::optional<BakeRecord>(std::move(r));
  }
  absl::Status AppendLogs(const std::string& id,
                          const std::string& text) override {
    return Do({"APPEND", p_ + ":logs:" + id, text});
  }
  absl::StatusOr<std::string> GetLogs(const std::string& id) override {
    return Get(p_ + ":logs:" + id);
  }
  absl::Status PutBake(const std::string& id, const v1::Bake& bake,
                       const std::vector<std::string>& image_ids) override {
    GENNAKER_RETURN_IF_ERROR(
        Do({"HSET", Bake(id), "bakeDetails", ToJson(bake)}));
    GENNAKER_RETURN_IF_ERROR(Do({"SET", p_ + ":bakeId:" + bake.id(), id}));
    for (const std::string& i : image_ids) {
      GENNAKER_RETURN_IF_ERROR(Do({"SET", p_ + ":image:" + i, id}));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> StatusIdForBake(const std::string& b) override {
    return Get(p_ + ":bakeId:" + b);
  }
  absl::StatusOr<std::string> StatusIdForImage(const std::string& i) override {
    return Get(p_ + ":image:" + i);
  }
  absl::StatusOr<std::string> StatusIdForKey(const std::string& k) override {
    return Get(p_ + ":bakeKey:" + k);
  }
  absl::Status SetKey(const std::string& k, const std::string& id) override {
    return Do({"SET", p_ + ":bakeKey:" + k, id});
  }
  absl::Status DeleteKey(const std::string& k) override {
    return Do({"DEL", p_ + ":bakeKey:" + k});
  }
  absl::StatusOr<std::string> GetIdempotency(const std::string& k) override {
    return Get(p_ + ":idempotency:" + k);
  }
  absl::Status PutIdempotency(const std::string& k,
                              const std::string& v) override {
    return Do({"SET", p_ + ":idempotency:" + k, v, "NX"});
  }
  absl::Status AddIncomplete(const std::string& instance,
                             const std::string& id) override {
    return Do({"SADD", Incomplete(instance), id});
  }
  absl::Status RemoveIncomplete(const std::string& instance,
                                const std::string& id) override {
    return Do({"SREM", Incomplete(instance), id});
  }
  absl::StatusOr<std::vector<std::string>> ListIncomplete(
      const std::string& instance) override {
    GENNAKER_ASSIGN_OR_RETURN(
        redis::Reply reply,
        redis_->Command({"SMEMBERS", Incomplete(instance)}));
    std::vector<std::string> out;
    for (const redis::Reply& e : reply.elements) out.push_back(e.str);
    return out;
  }
  absl::StatusOr<bool> TryLock(const std::string& name,
                               const std::string& owner,
                               int64_t ttl_ms) override {
    GENNAKER_ASSIGN_OR_RETURN(
        redis::Reply reply,
        redis_->Command({"SET", p_ + ":lock:" + name, owner, "NX", "PX",
                         absl::StrCat(ttl_ms)}));
    return reply.type != redis::Reply::Type::kNil;
  }
  absl::Status Unlock(const std::string& name,
                      const std::string& owner) override {
    // Only the holder deletes (the TTL may have handed it on).
    return Do({"EVAL",
               "if redis.call('GET', KEYS[1]) == ARGV[1] then return "
               "redis.call('DEL', KEYS[1]) else return 0 end",
               "1", p_ + ":lock:" + name, owner});
  }

 private:
  std::string Bake(const std::string& id) const { return p_ + ":bake:" + id; }
  std::string Incomplete(const std::string& instance) const {
    return p_ + ":allBakes:incomplete:" + instance;
  }
  absl::Status Do(const std::vector<std::string>& argv) {
    return redis_->Command(argv).status();
  }
  absl::StatusOr<std::string> Get(const std::string& key) {
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply reply,
                              redis_->Command({"GET", key}));
    return reply.str;
  }

  redis::Client* redis_;
  const std::string p_;
};

}  // namespace

std::unique_ptr<BakeStore> NewRedisBakeStore(redis::Client* client,
                                             std::string prefix) {
  return std::make_unique<RedisBakeStore>(client, std::move(prefix));
}

std::unique_ptr<BakeStore> NewInMemoryBakeStore() {
  return std::make_unique<InMemoryBakeStore>();
}

}  // namespace gennaker::rosco
