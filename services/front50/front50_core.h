// front50's domain rules on top of an ObjectStore: Spinnaker's validation and
// server-set fields for applications, pipelines, strategies, templates,
// projects, notifications, service accounts and application permissions. Bodies
// are JSON (kept as given, key order included); the core adds only what
// Spinnaker's front50 adds (ids, lastModified, updateTs, lastModifiedBy, cron
// trigger ids, list indexes). Thread-safe.
#ifndef GENNAKER_SERVICES_FRONT50_FRONT50_CORE_H_
#define GENNAKER_SERVICES_FRONT50_FRONT50_CORE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "re2/re2.h"
#include "services/front50/store/object_store.h"

namespace gennaker::front50 {

struct CoreOptions {
  // Application names must fully match this (RE2); empty: the default pattern
  // below.
  std::string application_name_pattern;
};

// Letters, digits, '_', '.' and '-', starting with a letter or digit.
inline constexpr char kDefaultApplicationNamePattern[] =
    "[A-Za-z0-9][A-Za-z0-9_.-]{0,249}";

class Front50Core {
 public:
  // `now_ms` is the clock (injected for tests).
  Front50Core(ObjectStore* store, CoreOptions options,
              std::function<int64_t()> now_ms);

  // Checks the options (the name pattern compiles).
  absl::Status Init();

  // Applications: body is the attribute map; name lower-cased,
  // createTs/updateTs set.
  absl::StatusOr<StoredObject> CreateApplication(
      const std::string& attributes_json, const std::string& user);
  absl::StatusOr<StoredObject> UpdateApplication(
      const std::string& name, const std::string& attributes_json, bool merge,
      const std::string& user);
  absl::StatusOr<StoredObject> GetApplication(const std::string& name);
  absl::StatusOr<std::vector<StoredObject>> ListApplications();
  absl::Status ValidateApplicationName(const std::string& name) const;

  // Pipelines and strategies (`kind` is kPipeline or kStrategy).
  struct SaveResult {
    StoredObject object;
    bool created = false;
  };
  // With `expected_updated_at_ms`, the save is refused (ABORTED) unless the
  // stored config's lastModified equals it (Spinnaker's staleCheck).
  absl::StatusOr<SaveResult> SavePipeline(
      Kind kind, const std::string& config_json,
      std::optional<int64_t> expected_updated_at_ms, const std::string& user);
  // An application's pipelines, sorted by index then name, each body's "index"
  // rewritten to its position, and an etag naming this version of the list (a
  // hash of ids and versions, so every replica computes the same). Cached until
  // a write to the application.
  struct PipelineList {
    std::vector<StoredObject> objects;
    std::string etag;
  };
  absl::StatusOr<std::shared_ptr<const PipelineList>> ListPipelines(
      Kind kind, const std::string& application);
  absl::StatusOr<std::vector<StoredObject>> ListAllPipelines(Kind kind);
  absl::StatusOr<StoredObject> GetPipelineByName(Kind kind,
                                                 const std::string& application,
                                                 const std::string& name);
  // Sets the "index" of the given pipelines (ids of `application`); returns how
  // many changed.
  absl::StatusOr<int> Reorder(Kind kind, const std::string& application,
                              const std::map<std::string, int>& indices_by_id,
                              const std::string& user);
  absl::StatusOr<std::vector<StoredObject>> PipelinesTriggeredBy(
      const std::string& id, const std::string& status);

  // Any kind of object, by key.
  absl::StatusOr<StoredObject> Get(Kind kind, const std::string& key);
  absl::Status Delete(Kind kind, const std::string& key,
                      const std::string& user);
  absl::StatusOr<StoredObject> Recover(Kind kind, const std::string& key,
                                       const std::string& user);
  absl::StatusOr<std::vector<StoredObject>> History(Kind kind,
                                                    const std::string& key,
                                                    int limit);
  absl::StatusOr<StoredObject> Version(Kind kind, const std::string& key,
                                       int64_t version);
  absl::StatusOr<std::vector<StoredObject>> List(Kind kind);

  // Calls `listener(kind, application)` after every committed change
  // (application "*": any); returns an id for Unsubscribe. Listeners must be
  // quick and must not call back in.
  int Subscribe(std::function<void(Kind, const std::string&)> listener);
  void Unsubscribe(int id);

  // Generic saves of the other kinds: `key` may be empty for projects (an id is
  // made).
  absl::StatusOr<StoredObject> SaveObject(Kind kind, std::string key,
                                          const std::string& body_json,
                                          const std::string& user);

 private:
  void Invalidate(Kind kind, const std::string& application);

  ObjectStore* store_;
  CoreOptions options_;
  std::function<int64_t()> now_ms_;
  std::unique_ptr<RE2> name_pattern_;
  absl::Mutex listeners_mu_;
  std::map<int, std::function<void(Kind, const std::string&)>> listeners_
      ABSL_GUARDED_BY(listeners_mu_);
  int next_listener_ ABSL_GUARDED_BY(listeners_mu_) = 0;
  absl::Mutex cache_mu_;
  // (kind, application) -> sorted pipelines with indexes rewritten.
  std::map<std::pair<Kind, std::string>, std::shared_ptr<const PipelineList>>
      cache_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace gennaker::front50

#endif  // GENNAKER_SERVICES_FRONT50_FRONT50_CORE_H_
