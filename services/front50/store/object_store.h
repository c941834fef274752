// Storage of front50's objects behind one small interface: every kind
// (application, pipeline, strategy, template, project, notification set,
// service account, permissions) is a JSON body with a lower-cased key, audit
// fields, a soft-delete flag and a version that grows by one on every write.
// Every write also records the version in the object's history, so concurrent
// writers never lose a version. Implementations: PostgreSQL (production) and an
// in-memory fake (unit tests); both are thread-safe.
#ifndef GENNAKER_SERVICES_FRONT50_STORE_OBJECT_STORE_H_
#define GENNAKER_SERVICES_FRONT50_STORE_OBJECT_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gennaker::front50 {

// Numbered as gennaker.front50.v1.ObjectType.
enum class Kind {
  kApplication = 1,
  kApplicationPermission = 2,
  kPipeline = 3,
  kStrategy = 4,
  kPipelineTemplate = 5,
  kProject = 6,
  kNotification = 7,
  kServiceAccount = 8,
};

// "pipeline", "application", ... (the value stored in the kind column).
absl::string_view KindName(Kind kind);

struct StoredObject {
  Kind kind = Kind::kApplication;
  std::string id;    // lower-cased key
  std::string name;  // display name; unique per (kind, application) ignoring
                     // case for pipelines, strategies and projects
  std::string application;  // lower-cased owning application, or ""
  std::string body;         // JSON text
  int64_t created_at_ms = 0;
  std::string created_by;
  int64_t updated_at_ms = 0;
  std::string updated_by;
  int64_t version = 0;
  bool deleted = false;
};

struct PutOptions {
  // Refuse (ALREADY_EXISTS) when a live object with this key exists: creation
  // only.
  bool create_only = false;
  // Refuse (ABORTED) unless a live object with exactly this version is stored:
  // for read-modify-write updates that must neither lose a concurrent write nor
  // revive a delete.
  std::optional<int64_t> expected_version;
  // When set, the write is refused (ABORTED) unless the stored object's
  // updated_at_ms equals it (Spinnaker's staleCheck). A missing or deleted
  // object passes.
  std::optional<int64_t> expected_updated_at_ms;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Inserts or replaces `object` (reviving it when soft-deleted), with version
  // = previous + 1, and records that version in history. The caller sets
  // updated_at_ms/updated_by; created_* are kept from the first write.
  // ALREADY_EXISTS when another live object of the same kind and application
  // already has the name (ignoring case).
  virtual absl::StatusOr<StoredObject> Put(const StoredObject& object,
                                           const PutOptions& options) = 0;

  // The live object; NOT_FOUND when absent or deleted.
  virtual absl::StatusOr<StoredObject> Get(Kind kind, absl::string_view id) = 0;

  // The live object of `application` named `name` (ignoring case), if any.
  virtual absl::StatusOr<std::optional<StoredObject>> FindByName(
      Kind kind, absl::string_view application, absl::string_view name) = 0;

  // Live objects of `kind`, of one application (or all when empty), by name.
  virtual absl::StatusOr<std::vector<StoredObject>> List(
      Kind kind, absl::string_view application) = 0;

  // Soft delete, recorded in history (updated_at_ms is kept, as for Recover).
  // NOT_FOUND when absent or already deleted.
  virtual absl::Status Delete(Kind kind, absl::string_view id,
                              absl::string_view user, int64_t now_ms) = 0;

  // Undoes a soft delete, keeping updated_at_ms (it matches the body's
  // lastModified, which stale checks compare). NOT_FOUND when absent;
  // FAILED_PRECONDITION when not deleted.
  virtual absl::StatusOr<StoredObject> Recover(Kind kind, absl::string_view id,
                                               absl::string_view user,
                                               int64_t now_ms) = 0;

  // Recorded versions, newest first (at most `limit`).
  virtual absl::StatusOr<std::vector<StoredObject>> History(
      Kind kind, absl::string_view id, int limit) = 0;

  // One recorded version; NOT_FOUND when unknown.
  virtual absl::StatusOr<StoredObject> Version(Kind kind, absl::string_view id,
                                               int64_t version) = 0;

  // Registers `callback(kind, application)`, called after any write to that
  // kind and application commits (in this process or, for PostgreSQL, any
  // replica). Call once, before serving.
  virtual void OnChange(
      std::function<void(Kind, const std::string&)> callback) = 0;
};

}  // namespace gennaker::front50

#endif  // GENNAKER_SERVICES_FRONT50_STORE_OBJECT_STORE_H_
