// gate's cache of the pipeline-config lists it serves (see ListCache below).
#ifndef GENNAKER_SERVICES_GATE_LIST_CACHE_H_
#define GENNAKER_SERVICES_GATE_LIST_CACHE_H_

#include <grpcpp/client_context.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"

namespace gennaker::gate {

// Pipeline-config lists as served, by (kind, application). While front50's
// change stream is up, a cached list is served without asking front50 (an event
// drops it when it changes); otherwise each request asks front50 whether the
// cached list's etag is still current.
class ListCache {
 public:
  using Key = std::pair<int, std::string>;
  struct Entry {
    std::string etag;
    std::shared_ptr<const std::string> json;
  };

  // Starts watching front50's changes at once; `stub` must outlive the cache.
  explicit ListCache(front50::v1::Front50Service::StubInterface* stub);
  ~ListCache();  // cancels the watch and joins its thread

  // The entry for `key` (empty when none); `trusted` tells whether it may be
  // served as is.
  Entry Get(const Key& key, bool* trusted, uint64_t* generation) {
    absl::MutexLock lock(&mu_);
    *trusted = watching_;
    *generation = generation_;
    auto it = entries_.find(key);
    return it == entries_.end() ? Entry{} : it->second;
  }

  // Stores a list read from front50, unless something changed since
  // `generation`.
  void Put(const Key& key, Entry entry, uint64_t generation) {
    absl::MutexLock lock(&mu_);
    if (generation == generation_) entries_[key] = std::move(entry);
  }

  // After a write through this gate: its own reads must see it at once.
  void Clear() {
    absl::MutexLock lock(&mu_);
    ++generation_;
    entries_.clear();
  }

 private:
  void Run();

  front50::v1::Front50Service::StubInterface* stub_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool watching_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::ClientContext* watch_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::map<Key, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_LIST_CACHE_H_
