#include "services/front50/store/pg_object_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"

namespace gennaker::front50 {
namespace {

constexpr char kChannel[] = "front50_changes";
constexpr char kColumns[] =
    "kind, id, name, application, body, created_at, created_by, updated_at, "
    "updated_by, "
    "version, deleted";

std::optional<Kind> KindFromName(absl::string_view name) {
  for (int k = 1; k <= 8; ++k) {
    if (KindName(static_cast<Kind>(k)) == name) return static_cast<Kind>(k);
  }
  return std::nullopt;
}

StoredObject Row(const pg::Result& r, int i) {
  StoredObject o;
  o.kind = KindFromName(r.Get(i, 0)).value_or(Kind::kApplication);
  o.id = std::string(r.Get(i, 1));
  o.name = std::string(r.Get(i, 2));
  o.application = std::string(r.Get(i, 3));
  o.body = std::string(r.Get(i, 4));
  o.created_at_ms = r.GetInt(i, 5);
  o.created_by = std::string(r.Get(i, 6));
  o.updated_at_ms = r.GetInt(i, 7);
  o.updated_by = std::string(r.Get(i, 8));
  o.version = r.GetInt(i, 9);
  o.deleted = r.Get(i, 10) == "t";
  return o;
}

absl::Status NotFound(Kind kind, absl::string_view id) {
  return absl::NotFoundError(
      absl::StrCat(KindName(kind), " '", id, "' not found"));
}

// Appends the object's current row to history and tells every replica about the
// change.
absl::Status RecordAndNotify(pg::Connection& c, Kind kind,
                             absl::string_view id) {
  GENNAKER_RETURN_IF_ERROR(
      c.Exec("INSERT INTO front50.object_history (kind, id, version, name, "
             "application, body,"
             " updated_at, updated_by, deleted, recorded_at)"
             " SELECT kind, id, version, name, application, body, updated_at, "
             "updated_by,"
             " deleted, $3 FROM front50.objects WHERE kind = $1 AND id = $2",
             {std::string(KindName(kind)), std::string(id),
              std::to_string(absl::ToUnixMillis(absl::Now()))})
          .status());
  return c
      .Exec(
          "SELECT pg_notify($1, kind || '|' || application) FROM "
          "front50.objects"
          " WHERE kind = $2 AND id = $3",
          {kChannel, std::string(KindName(kind)), std::string(id)})
      .status();
}

}  // namespace

PgObjectStore::PgObjectStore(pg::Pool* pool, std::string dsn)
    : pool_(pool), dsn_(std::move(dsn)) {}

PgObjectStore::~PgObjectStore() = default;

absl::StatusOr<StoredObject> PgObjectStore::Put(const StoredObject& object,
                                                const PutOptions& options) {
  for (int attempt = 0;; ++attempt) {
    auto stored = PutOnce(object, options);
    if (!absl::IsAlreadyExists(stored.status()) || options.create_only ||
        attempt == 2) {
      return stored;
    }
    // Two first writes of one new key race: the loser may trip the name index
    // before the key's own conflict handling. When the live holder of the name
    // is this very key, that was the race, and the write is simply repeated
    // (now an update).
    GENNAKER_ASSIGN_OR_RETURN(
        auto holder, FindByName(object.kind, object.application, object.name));
    if (!holder || holder->id != object.id) return stored;
  }
}

absl::StatusOr<StoredObject> PgObjectStore::PutOnce(const StoredObject& object,
                                                    const PutOptions& options) {
  StoredObject stored;
  GENNAKER_RETURN_IF_ERROR(
      pool_->Transact([&](pg::Connection& c) -> absl::Status {
        const std::string kind(KindName(object.kind));
        GENNAKER_ASSIGN_OR_RETURN(
            pg::Result current,
            c.Exec("SELECT updated_at, deleted, version, application FROM "
                   "front50.objects WHERE kind = $1 AND id = $2 FOR UPDATE",
                   {kind, object.id}));
        const bool live = current.rows() == 1 && current.Get(0, 1) != "t";
        if (options.expected_version &&
            (!live || current.GetInt(0, 2) != *options.expected_version)) {
          return absl::AbortedError(absl::StrCat(
              KindName(object.kind), " '", object.id,
              live ? "' changed meanwhile" : "' was deleted meanwhile"));
        }
        if (options.create_only && live) {
          return absl::AlreadyExistsError(absl::StrCat(
              KindName(object.kind), " '", object.id, "' already exists"));
        }
        if (options.expected_updated_at_ms && live &&
            current.GetInt(0, 0) != *options.expected_updated_at_ms) {
          return absl::AbortedError(absl::StrCat(
              "stale write: stored lastModified is ", current.GetInt(0, 0),
              ", submitted ", *options.expected_updated_at_ms));
        }
        auto upsert = c.Exec(
            absl::StrCat(
                "INSERT INTO front50.objects (", kColumns,
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $7, 1, false)"
                " ON CONFLICT (kind, id) DO UPDATE SET name = EXCLUDED.name,"
                " application = EXCLUDED.application, body = EXCLUDED.body,"
                " updated_at = EXCLUDED.updated_at, updated_by = "
                "EXCLUDED.updated_by,"
                " version = front50.objects.version + 1, deleted = false",
                // A concurrent creator may have inserted since our SELECT:
                // only revive then.
                options.create_only ? " WHERE front50.objects.deleted" : "",
                " RETURNING ", kColumns),
            {kind, object.id, object.name, object.application, object.body,
             std::to_string(object.updated_at_ms), object.updated_by});
        if (absl::IsAlreadyExists(upsert.status())) {
          return absl::AlreadyExistsError(absl::StrCat(KindName(object.kind),
                                                       " named '", object.name,
                                                       "' already exists"));
        }
        GENNAKER_RETURN_IF_ERROR(upsert.status());
        if (upsert->rows() == 0) {
          return absl::AlreadyExistsError(absl::StrCat(
              KindName(object.kind), " '", object.id, "' already exists"));
        }
        stored = Row(*upsert, 0);
        GENNAKER_RETURN_IF_ERROR(RecordAndNotify(c, object.kind, object.id));
        // Moved to another application: the old one's lists changed too.
        if (current.rows() == 1 && current.Get(0, 3) != object.application) {
          GENNAKER_RETURN_IF_ERROR(
              c.Exec("SELECT pg_notify($1, $2)",
                     {kChannel, absl::StrCat(kind, "|", current.Get(0, 3))})
                  .status());
        }
        return absl::OkStatus();
      }));
  return stored;
}

absl::StatusOr<StoredObject> PgObjectStore::Get(Kind kind,
                                                absl::string_view id) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      c->Exec(absl::StrCat("SELECT ", kColumns,
                           " FROM front50.objects WHERE kind = $1 AND id = $2"
                           " AND NOT deleted"),
              {std::string(KindName(kind)), std::string(id)}));
  if (r.rows() == 0) return NotFound(kind, id);
  return Row(r, 0);
}

absl::StatusOr<std::optional<StoredObject>> PgObjectStore::FindByName(
    Kind kind, absl::string_view application, absl::string_view name) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r,
      c->Exec(absl::StrCat(
                  "SELECT ", kColumns,
                  " FROM front50.objects WHERE kind = $1 AND application = $2"
                  " AND lower(name) = lower($3) AND NOT deleted"),
              {std::string(KindName(kind)), std::string(application),
               std::string(name)}));
  if (r.rows() == 0) return std::optional<StoredObject>();
  return std::optional<StoredObject>(Row(r, 0));
}

absl::StatusOr<std::vector<StoredObject>> PgObjectStore::List(
    Kind kind, absl::string_view application) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  std::string sql =
      absl::StrCat("SELECT ", kColumns,
                   " FROM front50.objects WHERE kind = $1 AND NOT deleted");
  std::vector<pg::Param> params = {std::string(KindName(kind))};
  if (!application.empty()) {
    absl::StrAppend(&sql, " AND application = $2");
    params.push_back(std::string(application));
  }
  absl::StrAppend(&sql, " ORDER BY lower(name), id");
  GENNAKER_ASSIGN_OR_RETURN(pg::Result r, c->Exec(sql, params));
  std::vector<StoredObject> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) out.push_back(Row(r, i));
  return out;
}

absl::StatusOr<StoredObject> PgObjectStore::SetDeleted(Kind kind,
                                                       absl::string_view id,
                                                       absl::string_view user,
                                                       bool deleted) {
  StoredObject stored;
  GENNAKER_RETURN_IF_ERROR(pool_->Transact([&](pg::Connection& c)
                                               -> absl::Status {
    GENNAKER_ASSIGN_OR_RETURN(
        pg::Result r,
        // updated_at stays: it must keep matching the body's lastModified for
        // stale checks; the history row's recorded_at tells when the delete
        // happened.
        c.Exec(
            absl::StrCat(
                "UPDATE front50.objects SET deleted = $3, updated_by = $4,"
                " version = version + 1"
                " WHERE kind = $1 AND id = $2 AND deleted = NOT $3 RETURNING ",
                kColumns),
            {std::string(KindName(kind)), std::string(id),
             deleted ? "true" : "false", std::string(user)}));
    if (r.rows() == 0) {
      GENNAKER_ASSIGN_OR_RETURN(
          pg::Result exists,
          c.Exec("SELECT 1 FROM front50.objects WHERE kind = $1 AND id = $2",
                 {std::string(KindName(kind)), std::string(id)}));
      if (exists.rows() == 0 || deleted) return NotFound(kind, id);
      return absl::FailedPreconditionError(
          absl::StrCat(KindName(kind), " '", id, "' is not deleted"));
    }
    stored = Row(r, 0);
    return RecordAndNotify(c, kind, id);
  }));
  return stored;
}

absl::Status PgObjectStore::Delete(Kind kind, absl::string_view id,
                                   absl::string_view user, int64_t now_ms) {
  (void)now_ms;  // the history row records when
  return SetDeleted(kind, id, user, true).status();
}

absl::StatusOr<StoredObject> PgObjectStore::Recover(Kind kind,
                                                    absl::string_view id,
                                                    absl::string_view user,
                                                    int64_t now_ms) {
  (void)now_ms;
  return SetDeleted(kind, id, user, false);
}

absl::StatusOr<std::vector<StoredObject>> PgObjectStore::History(
    Kind kind, absl::string_view id, int limit) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r, c->Exec("SELECT kind, id, name, application, body, 0, '', "
                            "updated_at, updated_by,"
                            " version, deleted FROM front50.object_history "
                            "WHERE kind = $1 AND id = $2"
                            " ORDER BY version DESC LIMIT $3",
                            {std::string(KindName(kind)), std::string(id),
                             std::to_string(limit > 0 ? limit : 1000000)}));
  if (r.rows() == 0) return NotFound(kind, id);
  std::vector<StoredObject> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(Row(r, i));
  return out;
}

absl::StatusOr<StoredObject> PgObjectStore::Version(Kind kind,
                                                    absl::string_view id,
                                                    int64_t version) {
  GENNAKER_ASSIGN_OR_RETURN(pg::Pool::Lease c, pool_->Acquire());
  GENNAKER_ASSIGN_OR_RETURN(
      pg::Result r, c->Exec("SELECT kind, id, name, application, body, 0, '', "
                            "updated_at, updated_by,"
                            " version, deleted FROM front50.object_history"
                            " WHERE kind = $1 AND id = $2 AND version = $3",
                            {std::string(KindName(kind)), std::string(id),
                             std::to_string(version)}));
  if (r.rows() == 0) {
    return absl::NotFoundError(
        absl::StrCat(KindName(kind), " '", id, "' has no version ", version));
  }
  return Row(r, 0);
}

void PgObjectStore::OnChange(
    std::function<void(Kind, const std::string&)> callback) {
  listener_ = std::make_unique<pg::Listener>(
      dsn_, kChannel,
      [callback](const std::string& payload) {
        std::vector<std::string> parts =
            absl::StrSplit(payload, absl::MaxSplits('|', 1));
        if (parts.size() != 2) return;
        if (auto kind = KindFromName(parts[0])) callback(*kind, parts[1]);
      },
      [callback] {
        // Changes may have been missed while disconnected: invalidate
        // everything.
        for (int k = 1; k <= 8; ++k) callback(static_cast<Kind>(k), "*");
      });
}

}  // namespace gennaker::front50
