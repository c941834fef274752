// An in-memory ObjectStore with the same semantics as the PostgreSQL one, for
// unit tests.
#ifndef GENNAKER_SERVICES_FRONT50_STORE_IN_MEMORY_OBJECT_STORE_H_
#define GENNAKER_SERVICES_FRONT50_STORE_IN_MEMORY_OBJECT_STORE_H_

#include <map>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "services/front50/store/object_store.h"

namespace gennaker::front50 {

class InMemoryObjectStore : public ObjectStore {
 public:
  absl::StatusOr<StoredObject> Put(const StoredObject& object,
                                   const PutOptions& options) override;
  absl::StatusOr<StoredObject> Get(Kind kind, absl::string_view id) override;
  absl::StatusOr<std::optional<StoredObject>> FindByName(
      Kind kind, absl::string_view application,
      absl::string_view name) override;
  absl::StatusOr<std::vector<StoredObject>> List(
      Kind kind, absl::string_view application) override;
  absl::Status Delete(Kind kind, absl::string_view id, absl::string_view user,
                      int64_t now_ms) override;
  absl::StatusOr<StoredObject> Recover(Kind kind, absl::string_view id,
                                       absl::string_view user,
                                       int64_t now_ms) override;
  absl::StatusOr<std::vector<StoredObject>> History(Kind kind,
                                                    absl::string_view id,
                                                    int limit) override;
  absl::StatusOr<StoredObject> Version(Kind kind, absl::string_view id,
                                       int64_t version) override;
  void OnChange(
      std::function<void(Kind, const std::string&)> callback) override;

 private:
  using Key = std::pair<Kind, std::string>;
  void Notify(Kind kind, const std::string& application);

  absl::Mutex mu_;
  std::map<Key, StoredObject> objects_ ABSL_GUARDED_BY(mu_);
  std::map<Key, std::vector<StoredObject>> history_ ABSL_GUARDED_BY(mu_);
  std::function<void(Kind, const std::string&)> on_change_;
};

}  // namespace gennaker::front50

#endif  // GENNAKER_SERVICES_FRONT50_STORE_IN_MEMORY_OBJECT_STORE_H_
