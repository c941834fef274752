// Schema migrations: numbered SQL scripts (deploy/sql/<svc>/NNN_name.sql,
// embedded in the binary at build time) applied once, in order, at start-up.
// Applied versions are recorded in public.gennaker_schema_migrations; an
// advisory lock makes concurrent replicas safe, and each script runs in the
// same transaction as its record, so a failure leaves no half-applied step.
#ifndef GENNAKER_COMMON_PG_MIGRATIONS_H_
#define GENNAKER_COMMON_PG_MIGRATIONS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gennaker::pg {

class Pool;

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// Applies the migrations of `service` not yet recorded; returns how many it
// applied.
absl::StatusOr<int> ApplyMigrations(Pool& pool, absl::string_view service,
                                    const std::vector<Migration>& migrations);

}  // namespace gennaker::pg

#endif  // GENNAKER_COMMON_PG_MIGRATIONS_H_
