#include "common/pg/migrations.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/pg/pg.h"
#include "common/status/status_macros.h"

namespace gennaker::pg {

absl::StatusOr<int> ApplyMigrations(Pool& pool, absl::string_view service,
                                    const std::vector<Migration>& migrations) {
  int previous = 0;
  for (const Migration& m : migrations) {
    if (m.version <= previous) {
      return absl::InvalidArgumentError(
          absl::StrCat("migrations of ", service,
                       " are not strictly increasing at ", m.name));
    }
    previous = m.version;
  }
  int applied = 0;
  GENNAKER_RETURN_IF_ERROR(pool.Transact([&](Connection& c) -> absl::Status {
    applied = 0;
    // Serializes concurrent replicas; released at commit.
    GENNAKER_RETURN_IF_ERROR(
        c.Exec("SELECT "
               "pg_advisory_xact_lock(hashtext('gennaker_schema_migrations'))")
            .status());
    GENNAKER_RETURN_IF_ERROR(c.ExecScript(
        "CREATE TABLE IF NOT EXISTS public.gennaker_schema_migrations ("
        " service text NOT NULL, version integer NOT NULL, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (service, "
        "version))"));
    GENNAKER_ASSIGN_OR_RETURN(
        Result done,
        c.Exec("SELECT version FROM public.gennaker_schema_migrations WHERE "
               "service = $1",
               {std::string(service)}));
    std::set<int64_t> versions;
    for (int i = 0; i < done.rows(); ++i) versions.insert(done.GetInt(i, 0));
    for (const Migration& m : migrations) {
      if (versions.count(m.version)) continue;
      absl::Status s = c.ExecScript(m.sql);
      if (!s.ok()) {
        return absl::Status(s.code(), absl::StrCat("migration ", service, "/",
                                                   m.name, ": ", s.message()));
      }
      GENNAKER_RETURN_IF_ERROR(
          c.Exec("INSERT INTO public.gennaker_schema_migrations (service, "
                 "version, name)"
                 " VALUES ($1, $2, $3)",
                 {std::string(service), std::to_string(m.version), m.name})
              .status());
      SPDLOG_INFO("applied migration {}/{}", service, m.name);
      ++applied;
    }
    return absl::OkStatus();
  }));
  return applied;
}

}  // namespace gennaker::pg
