#include "services/front50/store/in_memory_object_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gennaker::front50 {
namespace {

bool NameIsUnique(Kind kind) {
  return kind == Kind::kPipeline || kind == Kind::kStrategy ||
         kind == Kind::kProject;
}

absl::Status NotFound(Kind kind, absl::string_view id) {
  return absl::NotFoundError(
      absl::StrCat(KindName(kind), " '", id, "' not found"));
}

}  // namespace

absl::StatusOr<StoredObject> InMemoryObjectStore::Put(
    const StoredObject& object, const PutOptions& options) {
  StoredObject stored = object;
  std::optional<std::string> moved_from;
  {
    absl::MutexLock lock(&mu_);
    Key key(object.kind, object.id);
    auto it = objects_.find(key);
    const bool live = it != objects_.end() && !it->second.deleted;
    if (options.expected_version &&
        (!live || it->second.version != *options.expected_version)) {
      return absl::AbortedError(absl::StrCat(KindName(object.kind), " '",
                                             object.id, "' changed meanwhile"));
    }
    if (options.create_only && it != objects_.end() && !it->second.deleted) {
      return absl::AlreadyExistsError(absl::StrCat(
          KindName(object.kind), " '", object.id, "' already exists"));
    }
    if (options.expected_updated_at_ms && it != objects_.end() &&
        !it->second.deleted &&
        it->second.updated_at_ms != *options.expected_updated_at_ms) {
      return absl::AbortedError(absl::StrCat(
          "stale write: stored lastModified is ", it->second.updated_at_ms,
          ", submitted ", *options.expected_updated_at_ms));
    }
    if (NameIsUnique(object.kind)) {
      for (const auto& [k, o] : objects_) {
        if (k.first == object.kind && k.second != object.id && !o.deleted &&
            o.application == object.application &&
            absl::EqualsIgnoreCase(o.name, object.name)) {
          return absl::AlreadyExistsError(absl::StrCat(KindName(object.kind),
                                                       " named '", object.name,
                                                       "' already exists"));
        }
      }
    }
    if (it != objects_.end()) {
      if (it->second.application != object.application) {
        moved_from = it->second.application;
      }
      stored.created_at_ms = it->second.created_at_ms;
      stored.created_by = it->second.created_by;
      stored.version = it->second.version + 1;
    } else {
      stored.created_at_ms = object.updated_at_ms;
      stored.created_by = object.updated_by;
      stored.version = 1;
    }
    stored.deleted = false;
    objects_[key] = stored;
    history_[key].push_back(stored);
  }
  Notify(stored.kind, stored.application);
  if (moved_from) Notify(stored.kind, *moved_from);
  return stored;
}

absl::StatusOr<StoredObject> InMemoryObjectStore::Get(Kind kind,
                                                      absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(Key(kind, std::string(id)));
  if (it == objects_.end() || it->second.deleted) return NotFound(kind, id);
  return it->second;
}

absl::StatusOr<std::optional<StoredObject>> InMemoryObjectStore::FindByName(
    Kind kind, absl::string_view application, absl::string_view name) {
  absl::MutexLock lock(&mu_);
  for (const auto& [k, o] : objects_) {
    if (k.first == kind && !o.deleted && o.application == application &&
        absl::EqualsIgnoreCase(o.name, name)) {
      return std::optional<StoredObject>(o);
    }
  }
  return std::optional<StoredObject>();
}

absl::StatusOr<std::vector<StoredObject>> InMemoryObjectStore::List(
    Kind kind, absl::string_view application) {
  absl::MutexLock lock(&mu_);
  std::vector<StoredObject> out;
  for (const auto& [k, o] : objects_) {
    if (k.first == kind && !o.deleted &&
        (application.empty() || o.application == application)) {
      out.push_back(o);
    }
  }
  std::sort(
      out.begin(), out.end(), [](const StoredObject& a, const StoredObject& b) {
        return absl::AsciiStrToLower(a.name) < absl::AsciiStrToLower(b.name);
      });
  return out;
}

absl::Status InMemoryObjectStore::Delete(Kind kind, absl::string_view id,
                                         absl::string_view user,
                                         int64_t now_ms) {
  std::string application;
  {
    absl::MutexLock lock(&mu_);
    Key key(kind, std::string(id));
    auto it = objects_.find(key);
    if (it == objects_.end() || it->second.deleted) return NotFound(kind, id);
    it->second.deleted = true;
    (void)now_ms;  // updated_at stays, as in the PostgreSQL store
    it->second.updated_by = std::string(user);
    it->second.version++;
    history_[key].push_back(it->second);
    application = it->second.application;
  }
  Notify(kind, application);
  return absl::OkStatus();
}

absl::StatusOr<StoredObject> InMemoryObjectStore::Recover(
    Kind kind, absl::string_view id, absl::string_view user, int64_t now_ms) {
  StoredObject recovered;
  {
    absl::MutexLock lock(&mu_);
    Key key(kind, std::string(id));
    auto it = objects_.find(key);
    if (it == objects_.end()) return NotFound(kind, id);
    if (!it->second.deleted) {
      return absl::FailedPreconditionError(
          absl::StrCat(KindName(kind), " '", id, "' is not deleted"));
    }
    it->second.deleted = false;
    (void)now_ms;  // updated_at stays: it must keep matching the body's
                   // lastModified
    it->second.updated_by = std::string(user);
    it->second.version++;
    history_[key].push_back(it->second);
    recovered = it->second;
  }
  Notify(kind, recovered.application);
  return recovered;
}

absl::StatusOr<std::vector<StoredObject>> InMemoryObjectStore::History(
    Kind kind, absl::string_view id, int limit) {
  absl::MutexLock lock(&mu_);
  auto it = history_.find(Key(kind, std::string(id)));
  if (it == history_.end()) return NotFound(kind, id);
  std::vector<StoredObject> out(it->second.rbegin(), it->second.rend());
  if (limit > 0 && static_cast<int>(out.size()) > limit) out.resize(limit);
  return out;
}

absl::StatusOr<StoredObject> InMemoryObjectStore::Version(Kind kind,
                                                          absl::string_view id,
                                                          int64_t version) {
  absl::MutexLock lock(&mu_);
  auto it = history_.find(Key(kind, std::string(id)));
  if (it != history_.end()) {
    for (const auto& o : it->second) {
      if (o.version == version) return o;
    }
  }
  return absl::NotFoundError(
      absl::StrCat(KindName(kind), " '", id, "' has no version ", version));
}

void InMemoryObjectStore::OnChange(
    std::function<void(Kind, const std::string&)> callback) {
  on_change_ = std::move(callback);
}

void InMemoryObjectStore::Notify(Kind kind, const std::string& application) {
  if (on_change_) on_change_(kind, application);
}

}  // namespace gennaker::front50
