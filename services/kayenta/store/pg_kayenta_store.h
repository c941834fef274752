// The PostgreSQL KayentaStore: one table per kind in schema `kayenta`
// (deploy/sql/kayenta/002_store.sql). Config creation and renames take a
// transaction-scoped advisory lock so that two writers cannot both claim a
// name in a shared application.
#ifndef GENNAKER_SERVICES_KAYENTA_STORE_PG_KAYENTA_STORE_H_
#define GENNAKER_SERVICES_KAYENTA_STORE_PG_KAYENTA_STORE_H_

#include "common/pg/pg.h"
#include "services/kayenta/store/kayenta_store.h"

namespace gennaker::kayenta {

class PgKayentaStore : public KayentaStore {
 public:
  explicit PgKayentaStore(pg::Pool* pool) : pool_(pool) {}

  absl::StatusOr<std::string> Insert(Kind kind, const Record& record) override;
  absl::StatusOr<Record> Get(Kind kind, absl::string_view id) override;
  absl::StatusOr<Record> Update(Kind kind, const Record& record,
                                const UpdateOptions& options) override;
  absl::StatusOr<bool> Delete(Kind kind, absl::string_view id) override;
  absl::StatusOr<std::vector<Record>> List(Kind kind,
                                           const ListQuery& query) override;

 private:
  pg::Pool* pool_;
};

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_STORE_PG_KAYENTA_STORE_H_
