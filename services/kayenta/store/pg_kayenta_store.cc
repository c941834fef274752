#include "services/kayenta/store/pg_kayenta_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"

namespace gennaker::kayenta {
namespace {

using spinnaker::Json;

constexpr char kColumns[] =
    "id, application, name, applications, status, idempotency_key, body, "
    "created_at, updated_at, version";

std::string Table(Kind kind) {
  switch (kind) {
    case Kind::kConfig:
      return "kayenta.canary_configs";
    case Kind::kExecution:
      return "kayenta.canary_executions";
    case Kind::kAnalysis:
      return "kayenta.canary_analyses";
    case Kind::kPairList:
      return "kayenta.metric_set_pair_lists";
  }
  return "kayenta.canary_configs";
}

std::string ApplicationsJson(const std::vector<std::string>& apps) {
  return spinnaker::Dump(Json(apps));
}

std::vector<std::string> ParseApplications(absl::string_view text) {
  auto j =
      spinnaker::ParseJson(text, "applications", spinnaker::kStoredJsonLimits);
  std::vector<std::string> out;
  if (!j.ok() || !j->is_array()) return out;
  for (const Json& v : *j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

Record Row(const pg::Result& r, int i) {
  Record rec;
  rec.id = std::string(r.Get(i, 0));
  rec.application = std::string(r.Get(i, 1));
  rec.name = std::string(r.Get(i, 2));
  rec.applications = ParseApplications(r.Get(i, 3));
  rec.status = std::string(r.Get(i, 4));
  rec.idempotency_key = std::string(r.Get(i, 5));
  rec.body = std::string(r.Get(i, 6));
  rec.created_ms = r.GetInt(i, 7);
  rec.updated_ms = r.GetInt(i, 8);
  rec.version = r.GetInt(i, 9);
  return rec;
}

absl::Status NotFound(Kind kind, absl::string_view id) {
  return absl::NotFoundError(
      absl::StrCat(KindLabel(kind), " '", id, "' not found"));
}

// Serializes config name checks across writers (and replicas).
absl::Status LockConfigNames(pg::Connection& c) {
  return c
      .Exec("SELECT pg_advisory_xact_lock(hashtext('kayenta.config_names'))")
      .status();
}

absl::Status CheckName(pg::Connection& c, const Record& record) {
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r, c.Exec("SELECT applications FROM kayenta.canary_configs"
                           " WHERE name = $1 AND id <> $2",
                           {record.name, record.id}));
  for (int i = 0; i < r.rows(); ++i) {
    if (SharesApplication(ParseApplications(r.Get(i, 0)),
                          record.applications)) {
      return DuplicateConfigName(record.name);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> PgKayentaStore::Insert(Kind kind,
                                                   const Record& record) {
  std::string id;
  absl::Status s = pool_->Transact([&](pg::Connection& c) -> absl::Status {
    if (!record.idempotency_key.empty()) {
      GENNAKER_ASSIGN_OR_RETURN(
          pg::Result r, c.Exec(absl::StrCat("SELECT id FROM ", Table(kind),
                                            " WHERE idempotency_key = $1"),
                               {record.idempotency_key}));
      if (r.rows() > 0) {
        id = std::string(r.Get(0, 0));
        return absl::OkStatus();
      }
    }
    if (kind == Kind::kConfig) {
      GENNAKER_RETURN_IF_ERROR(LockConfigNames(c));
      GENNAKER_RETURN_IF_ERROR(CheckName(c, record));
    }
    absl::StatusOr<pg::Result> r = c.Exec(
        absl::StrCat("INSERT INTO ", Table(kind), " (", kColumns,
                     ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)"),
        {record.id, record.application, record.name,
         ApplicationsJson(record.applications), record.status,
         record.idempotency_key, record.body, std::to_string(record.created_ms),
         std::to_string(record.updated_ms)});
    if (r.ok()) {
      id = record.id;
      return absl::OkStatus();
    }
    if (r.status().code() == absl::StatusCode::kAlreadyExists) {
      return absl::AlreadyExistsError(
          absl::StrCat(KindLabel(kind), " '", record.id, "' already exists"));
    }
    return r.status();
  });
  // A concurrent insert with the same idempotency key won the race.
  if (s.code() == absl::StatusCode::kAlreadyExists &&
      !record.idempotency_key.empty()) {
    auto again = pool_->Acquire();
    if (again.ok()) {
      auto r = (*again)->Exec(absl::StrCat("SELECT id FROM ", Table(kind),
                                           " WHERE idempotency_key = $1"),
                              {record.idempotency_key});
      if (r.ok() && r->rows() > 0) return std::string(r->Get(0, 0));
    }
  }
  GENNAKER_RETURN_IF_ERROR(s);
  return id;
}

absl::StatusOr<Record> PgKayentaStore::Get(Kind kind, absl::string_view id) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(pg::Result r,
                            c->Exec(absl::StrCat("SELECT ", kColumns, " FROM ",
                                                 Table(kind), " WHERE id = $1"),
                                    {std::string(id)}));
  if (r.rows() == 0) return NotFound(kind, id);
  return Row(r, 0);
}

absl::StatusOr<Record> PgKayentaStore::Update(Kind kind, const Record& record,
                                              const UpdateOptions& options) {
  Record out;
  GENNAKER_RETURN_IF_ERROR(
      pool_->Transact([&](pg::Connection& c) -> absl::Status {
        if (kind == Kind::kConfig) {
          GENNAKER_RETURN_IF_ERROR(LockConfigNames(c));
        }
        GENNAKER_ASSIGN_OR_RETURN(
            pg::Result cur,
            c.Exec(absl::StrCat("SELECT version, updated_at FROM ", Table(kind),
                                " WHERE id = $1 FOR UPDATE"),
                   {record.id}));
        if (cur.rows() == 0) return NotFound(kind, record.id);
        if (options.expected_version &&
            *options.expected_version != cur.GetInt(0, 0)) {
          return absl::AbortedError(absl::StrCat(
              KindLabel(kind), " '", record.id, "' was changed concurrently"));
        }
        if (options.expected_updated_ms &&
            *options.expected_updated_ms != cur.GetInt(0, 1)) {
          return absl::AbortedError(
              absl::StrCat("Stale write: ", KindLabel(kind), " '", record.id,
                           "' was updated at ", cur.GetInt(0, 1), ", not at ",
                           *options.expected_updated_ms));
        }
        if (kind == Kind::kConfig) {
          GENNAKER_RETURN_IF_ERROR(CheckName(c, record));
        }
        GENNAKER_ASSIGN_OR_RETURN(
            pg::Result r,
            c.Exec(absl::StrCat("UPDATE ", Table(kind),
                                " SET name = $2, applications = $3, status = "
                                "$4, body = $5, updated_at = $6, version = "
                                "version + 1 WHERE id = $1 RETURNING ",
                                kColumns),
                   {record.id, record.name,
                    ApplicationsJson(record.applications), record.status,
                    record.body, std::to_string(record.updated_ms)}));
        out = Row(r, 0);
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<bool> PgKayentaStore::Delete(Kind kind, absl::string_view id) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      c->Exec(absl::StrCat("DELETE FROM ", Table(kind), " WHERE id = $1"),
              {std::string(id)}));
  return r.AffectedRows() > 0;
}

absl::StatusOr<std::vector<Record>> PgKayentaStore::List(
    Kind kind, const ListQuery& query) {
  // Lists without bodies do not read them.
  std::string sql = absl::StrCat(
      "SELECT ",
      query.with_body ? kColumns
                      : "id, application, name, applications, status, "
                        "idempotency_key, '', created_at, updated_at, version",
      " FROM ", Table(kind), " WHERE true");
  std::vector<pg::Param> params;
  if (!query.application.empty()) {
    params.push_back(query.application);
    absl::StrAppend(&sql, " AND application = $", params.size());
  }
  if (!query.statuses.empty()) {
    params.push_back(ApplicationsJson(query.statuses));
    absl::StrAppend(&sql, " AND status IN (SELECT jsonb_array_elements_text($",
                    params.size(), "::jsonb))");
  }
  absl::StrAppend(&sql, " ORDER BY created_at DESC, id DESC");
  // The application overlap of configs is checked here, so page afterwards.
  const bool page_in_sql = query.applications.empty();
  if (page_in_sql) {
    if (query.limit > 0) absl::StrAppend(&sql, " LIMIT ", query.limit);
    if (query.offset > 0) absl::StrAppend(&sql, " OFFSET ", query.offset);
  }
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(pg::Result r, c->Exec(sql, params));
  std::vector<Record> out;
  for (int i = 0; i < r.rows(); ++i) {
    Record rec = Row(r, i);
    if (!query.applications.empty() &&
        !SharesApplication(rec.applications, query.applications)) {
      continue;
    }
    if (!query.with_body) rec.body.clear();
    out.push_back(std::move(rec));
  }
  if (!page_in_sql) {
    const size_t offset =
        std::min<size_t>(out.size(), std::max<int64_t>(0, query.offset));
    out.erase(out.begin(), out.begin() + offset);
    if (query.limit > 0 && out.size() > static_cast<size_t>(query.limit)) {
      out.resize(query.limit);
    }
  }
  return out;
}

}  // namespace gennaker::kayenta
