// ObjectStore on PostgreSQL (schema front50, deploy/sql/front50). Each write is
// one transaction: lock the row, check staleness, upsert with version + 1,
// append the history row and NOTIFY front50_changes, so writers on any replica
// serialize per object and every replica learns of the change at commit.
#ifndef GENNAKER_SERVICES_FRONT50_STORE_PG_OBJECT_STORE_H_
#define GENNAKER_SERVICES_FRONT50_STORE_PG_OBJECT_STORE_H_

#include <memory>

#include "common/pg/listener.h"
#include "common/pg/pg.h"
#include "services/front50/store/object_store.h"

namespace gennaker::front50 {

class PgObjectStore : public ObjectStore {
 public:
  // `dsn` is used for the LISTEN connection that OnChange opens.
  PgObjectStore(pg::Pool* pool, std::string dsn);
  ~PgObjectStore() override;

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
  absl::StatusOr<StoredObject> PutOnce(const StoredObject& object,
                                       const PutOptions& options);
  absl::StatusOr<StoredObject> SetDeleted(Kind kind, absl::string_view id,
                                          absl::string_view user, bool deleted);
  pg::Pool* pool_;
  std::string dsn_;
  std::unique_ptr<pg::Listener> listener_;
};

}  // namespace gennaker::front50

#endif  // GENNAKER_SERVICES_FRONT50_STORE_PG_OBJECT_STORE_H_
