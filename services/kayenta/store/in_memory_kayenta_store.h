// The in-memory KayentaStore (unit tests): the same rules as the PostgreSQL
// store, kept in maps under one mutex.
#ifndef GENNAKER_SERVICES_KAYENTA_STORE_IN_MEMORY_KAYENTA_STORE_H_
#define GENNAKER_SERVICES_KAYENTA_STORE_IN_MEMORY_KAYENTA_STORE_H_

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "services/kayenta/store/kayenta_store.h"

namespace gennaker::kayenta {

class InMemoryKayentaStore : public KayentaStore {
 public:
  absl::StatusOr<std::string> Insert(Kind kind, const Record& record) override;
  absl::StatusOr<Record> Get(Kind kind, absl::string_view id) override;
  absl::StatusOr<Record> Update(Kind kind, const Record& record,
                                const UpdateOptions& options) override;
  absl::StatusOr<bool> Delete(Kind kind, absl::string_view id) override;
  absl::StatusOr<std::vector<Record>> List(Kind kind,
                                           const ListQuery& query) override;

 private:
  absl::Status CheckName(Kind kind, const Record& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Mutex mu_;
  std::map<std::pair<Kind, std::string>, Record> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_STORE_IN_MEMORY_KAYENTA_STORE_H_
