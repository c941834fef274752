#include "services/front50/front50_core.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/ids/ids.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"

namespace gennaker::front50 {
namespace {

using spinnaker::Json;

// What this service stored itself is read with generous limits, so nothing
// it once accepted becomes unreadable.

// A body that must be a JSON object. Unlike spinnaker::ParseJsonObject, empty
// text is refused as not JSON: an empty update must not replace an
// application's attributes with nothing.
absl::StatusOr<Json> ParseObject(const std::string& text,
                                 absl::string_view what) {
  GENNAKER_ASSIGN_OR_RETURN(Json j, spinnaker::ParseJson(text, what));
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be a JSON object"));
  }
  return j;
}

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

// A string member, trimmed; "" when absent or not a string.
std::string StringField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return std::string(absl::StripAsciiWhitespace(it->get<std::string>()));
}

// An object to write, stamped as written by `user` at `now`.
StoredObject Stamped(Kind kind, std::string id, std::string name,
                     std::string application, const Json& body, int64_t now,
                     const std::string& user) {
  StoredObject o;
  o.kind = kind;
  o.id = std::move(id);
  o.name = std::move(name);
  o.application = std::move(application);
  o.body = spinnaker::Dump(body);
  o.updated_at_ms = now;
  o.updated_by = user;
  return o;
}

const char* Noun(Kind kind) {
  return kind == Kind::kStrategy ? "strategy" : "pipeline";
}

// A stage reference as orca reads it: a string. Numbers are accepted and
// stored as their decimal text, as Spinnaker does (Deck saved numeric refIds
// for years and orca's Jackson reads them into a String field).
absl::Status RefIdAsString(Json& v, const std::string& path) {
  if (v.is_number_integer()) {
    v = std::to_string(v.get<int64_t>());
    return absl::OkStatus();
  }
  if (!v.is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " must be a string"));
  }
  return absl::OkStatus();
}

// The shape of a pipeline (or strategy) orca relies on, checked at save so
// that a wrongly typed field is refused with its JSON path instead of failing
// every later trigger. Fields that may be absent may also be null.
absl::Status ValidatePipelineShape(Json& j) {
  for (const char* key : {"name", "application"}) {
    auto it = j.find(key);
    if (it != j.end() && !it->is_null() && !it->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(key, " must be a string"));
    }
  }
  for (const char* key :
       {"stages", "triggers", "parameterConfig", "notifications"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(key, " must be an array"));
    }
    for (size_t i = 0; i < it->size(); ++i) {
      if (!(*it)[i].is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat(key, "[", i, "] must be an object"));
      }
    }
  }
  auto stages = j.find("stages");
  if (stages == j.end() || stages->is_null()) return absl::OkStatus();
  for (size_t i = 0; i < stages->size(); ++i) {
    Json& stage = (*stages)[i];
    const std::string at = absl::StrCat("stages[", i, "]");
    auto type = stage.find("type");
    if (type == stage.end() || !type->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".type must be a string"));
    }
    // Stages without refIds are a linear pipeline (orca numbers them).
    if (auto ref = stage.find("refId"); ref != stage.end() && !ref->is_null()) {
      GENNAKER_RETURN_IF_ERROR(RefIdAsString(*ref, at + ".refId"));
    }
    auto req = stage.find("requisiteStageRefIds");
    if (req == stage.end() || req->is_null()) continue;
    if (!req->is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".requisiteStageRefIds must be an array"));
    }
    for (size_t k = 0; k < req->size(); ++k) {
      GENNAKER_RETURN_IF_ERROR(RefIdAsString(
          (*req)[k], absl::StrCat(at, ".requisiteStageRefIds[", k, "]")));
    }
  }
  return absl::OkStatus();
}

// Bumped on every invalidation, so a list read that raced with a write is not
// cached.
std::atomic<uint64_t> cache_generation{0};

}  // namespace

Front50Core::Front50Core(ObjectStore* store, CoreOptions options,
                         std::function<int64_t()> now_ms)
    : store_(store), options_(std::move(options)), now_ms_(std::move(now_ms)) {}

absl::Status Front50Core::Init() {
  const std::string& pattern = options_.application_name_pattern.empty()
                                   ? kDefaultApplicationNamePattern
                                   : options_.application_name_pattern;
  name_pattern_ = std::make_unique<RE2>(pattern, RE2::Quiet);
  if (!name_pattern_->ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "applicationNamePattern: invalid regex: ", name_pattern_->error()));
  }
  store_->OnChange([this](Kind kind, const std::string& application) {
    Invalidate(kind, application);
  });
  return absl::OkStatus();
}

void Front50Core::Invalidate(Kind kind, const std::string& application) {
  if (kind == Kind::kPipeline || kind == Kind::kStrategy) {
    ++cache_generation;
    absl::MutexLock lock(&cache_mu_);
    if (application == "*") {
      cache_.clear();
    } else {
      cache_.erase({kind, application});
    }
  }
  absl::MutexLock lock(&listeners_mu_);
  for (const auto& [id, listener] : listeners_) listener(kind, application);
}

int Front50Core::Subscribe(
    std::function<void(Kind, const std::string&)> listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_[next_listener_] = std::move(listener);
  return next_listener_++;
}

void Front50Core::Unsubscribe(int id) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.erase(id);
}

absl::Status Front50Core::ValidateApplicationName(
    const std::string& name) const {
  if (name.empty())
    return absl::InvalidArgumentError("application name is required");
  if (!RE2::FullMatch(name, *name_pattern_)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid application name '",
                                                   name, "': must match ",
                                                   name_pattern_->pattern()));
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredObject> Front50Core::CreateApplication(
    const std::string& attributes_json, const std::string& user) {
  GENNAKER_ASSIGN_OR_RETURN(Json j,
                            ParseObject(attributes_json, "application"));
  std::string name = StringField(j, "name");
  GENNAKER_RETURN_IF_ERROR(ValidateApplicationName(name));
  if (StringField(j, "email").empty()) {
    return absl::InvalidArgumentError("application email is required");
  }
  const std::string key = Lower(name);
  const int64_t now = now_ms_();
  j["name"] = key;
  j["createTs"] = std::to_string(now);
  j["updateTs"] = std::to_string(now);
  j["lastModifiedBy"] = user;
  if (!j.contains("user")) j["user"] = user;
  PutOptions create;
  create.create_only = true;  // two concurrent creates: exactly one wins
  auto stored = store_->Put(
      Stamped(Kind::kApplication, key, key, key, j, now, user), create);
  if (absl::IsAlreadyExists(stored.status())) {
    return absl::AlreadyExistsError(
        absl::StrCat("application '", key, "' already exists"));
  }
  return stored;
}

absl::StatusOr<StoredObject> Front50Core::UpdateApplication(
    const std::string& name, const std::string& attributes_json, bool merge,
    const std::string& user) {
  GENNAKER_ASSIGN_OR_RETURN(Json patch,
                            ParseObject(attributes_json, "application"));
  // Read-modify-write with a version check, retried: concurrent merges lose
  // nothing.
  for (int attempt = 0;; ++attempt) {
    GENNAKER_ASSIGN_OR_RETURN(StoredObject existing,
                              store_->Get(Kind::kApplication, Lower(name)));
    GENNAKER_ASSIGN_OR_RETURN(Json j,
                              ParseObject(existing.body, "stored application"));
    std::string given = StringField(patch, "name");
    if (!given.empty() && Lower(given) != existing.id) {
      return absl::InvalidArgumentError(absl::StrCat(
          "application name '", given, "' does not match '", existing.id, "'"));
    }
    if (merge) {
      for (auto& [k, v] : patch.items()) j[k] = v;
    } else {
      Json created = j.contains("createTs") ? j["createTs"] : Json();
      j = patch;
      if (!created.is_null()) j["createTs"] = created;
    }
    const int64_t now = now_ms_();
    j["name"] = existing.id;
    j["updateTs"] = std::to_string(now);
    j["lastModifiedBy"] = user;
    PutOptions options;
    options.expected_version = existing.version;
    auto stored = store_->Put(Stamped(Kind::kApplication, existing.id,
                                      existing.id, existing.id, j, now, user),
                              options);
    if (!absl::IsAborted(stored.status()) || attempt == 4) return stored;
  }
}

absl::StatusOr<StoredObject> Front50Core::GetApplication(
    const std::string& name) {
  return store_->Get(Kind::kApplication, Lower(name));
}

absl::StatusOr<std::vector<StoredObject>> Front50Core::ListApplications() {
  return store_->List(Kind::kApplication, "");
}

absl::StatusOr<Front50Core::SaveResult> Front50Core::SavePipeline(
    Kind kind, const std::string& config_json,
    std::optional<int64_t> expected_updated_at_ms, const std::string& user) {
  GENNAKER_ASSIGN_OR_RETURN(Json j, ParseObject(config_json, Noun(kind)));
  if (absl::Status shape = ValidatePipelineShape(j); !shape.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", Noun(kind), ": ", shape.message()));
  }
  const std::string application = StringField(j, "application");
  const std::string name = StringField(j, "name");
  if (application.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Noun(kind), " application is required"));
  }
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Noun(kind), " name is required"));
  }
  const std::string app_key = Lower(application);
  if (absl::Status app = store_->Get(Kind::kApplication, app_key).status();
      !app.ok()) {
    if (absl::IsNotFound(app)) {
      return absl::InvalidArgumentError(
          absl::StrCat("application '", application, "' does not exist"));
    }
    return app;
  }
  j["name"] = name;
  std::string id = StringField(j, "id");
  if (id.empty()) {
    id = NewUuid();
    j["id"] = id;
  }
  const std::string key = Lower(id);
  GENNAKER_ASSIGN_OR_RETURN(auto same_name,
                            store_->FindByName(kind, app_key, name));
  if (same_name && same_name->id != key) {
    return absl::FailedPreconditionError(
        absl::StrCat("a ", Noun(kind), " named '", name,
                     "' already exists in application '", application, "'"));
  }
  auto previous = store_->Get(kind, key);
  if (!previous.ok() && !absl::IsNotFound(previous.status()))
    return previous.status();
  PutOptions options;
  options.expected_updated_at_ms = expected_updated_at_ms;
  if (auto triggers = j.find("triggers");
      triggers != j.end() && triggers->is_array()) {
    for (auto& t : *triggers) {
      if (t.is_object() && spinnaker::String(t, "type") == "cron" &&
          StringField(t, "id").empty()) {
        t["id"] = NewUuid();
      }
    }
  }
  const int64_t now = now_ms_();
  j["lastModified"] = now;
  j["updateTs"] = std::to_string(now);
  j["lastModifiedBy"] = user;
  auto stored =
      store_->Put(Stamped(kind, key, name, app_key, j, now, user), options);
  if (absl::IsAlreadyExists(stored.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("a ", Noun(kind), " named '", name,
                     "' already exists in application '", application, "'"));
  }
  if (absl::IsAborted(stored.status())) {
    return absl::AbortedError(
        absl::StrCat("The submitted ", Noun(kind), " is stale (",
                     stored.status().message(), "); reload it and try again"));
  }
  GENNAKER_RETURN_IF_ERROR(stored.status());
  // Our own writes are visible at once, without waiting for the change
  // notification.
  Invalidate(kind, app_key);
  if (previous.ok() && previous->application != app_key) {
    Invalidate(kind, previous->application);
  }
  return SaveResult{*std::move(stored), !previous.ok()};
}

absl::StatusOr<std::shared_ptr<const Front50Core::PipelineList>>
Front50Core::ListPipelines(Kind kind, const std::string& application) {
  const std::pair<Kind, std::string> key(kind, Lower(application));
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
  }
  const uint64_t generation = cache_generation;
  GENNAKER_ASSIGN_OR_RETURN(std::vector<StoredObject> objects,
                            store_->List(kind, key.second));
  struct Entry {
    int index;
    std::string name;
    Json body;
    StoredObject* object;
  };
  std::vector<Entry> entries;
  entries.reserve(objects.size());
  for (StoredObject& o : objects) {
    Json body = spinnaker::ParseJson(o.body, "stored pipeline",
                                     spinnaker::kStoredJsonLimits)
                    .value_or(Json());
    int index = INT_MAX;
    if (body.is_object()) {
      auto it = body.find("index");
      if (it != body.end() && it->is_number_integer()) index = it->get<int>();
    }
    entries.push_back({index, Lower(o.name), std::move(body), &o});
  }
  std::stable_sort(
      entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.index != b.index ? a.index < b.index : a.name < b.name;
      });
  auto list = std::make_shared<PipelineList>();
  list->objects.reserve(entries.size());
  uint64_t hash = 1469598103934665603ull;  // FNV-1a over ids and versions
  auto mix = [&hash](absl::string_view s) {
    for (unsigned char c : s) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
  };
  for (size_t i = 0; i < entries.size(); ++i) {
    StoredObject o = std::move(*entries[i].object);
    if (entries[i].body.is_object()) {
      entries[i].body["index"] = static_cast<int>(i);
      o.body = spinnaker::Dump(entries[i].body);
    }
    mix(o.id);
    mix(absl::StrCat(":", o.version, ";"));
    list->objects.push_back(std::move(o));
  }
  list->etag = absl::StrFormat("%016x-%d", hash, list->objects.size());
  std::shared_ptr<const PipelineList> result = std::move(list);
  absl::MutexLock lock(&cache_mu_);
  if (generation == cache_generation) cache_[key] = result;
  return result;
}

absl::StatusOr<std::vector<StoredObject>> Front50Core::ListAllPipelines(
    Kind kind) {
  return store_->List(kind, "");
}

absl::StatusOr<StoredObject> Front50Core::GetPipelineByName(
    Kind kind, const std::string& application, const std::string& name) {
  GENNAKER_ASSIGN_OR_RETURN(
      auto found,
      store_->FindByName(kind, Lower(application),
                         std::string(absl::StripAsciiWhitespace(name))));
  if (!found) {
    return absl::NotFoundError(absl::StrCat(Noun(kind), " '", name,
                                            "' not found in application '",
                                            application, "'"));
  }
  return *found;
}

absl::StatusOr<int> Front50Core::Reorder(
    Kind kind, const std::string& application,
    const std::map<std::string, int>& indices_by_id, const std::string& user) {
  const std::string app_key = Lower(application);
  // Check every id before writing anything, so a bad request changes nothing.
  std::vector<std::pair<StoredObject, int>> todo;
  for (const auto& [id, index] : indices_by_id) {
    GENNAKER_ASSIGN_OR_RETURN(StoredObject o, store_->Get(kind, Lower(id)));
    if (o.application != app_key) {
      return absl::InvalidArgumentError(absl::StrCat(
          Noun(kind), " '", id, "' is not in application '", application, "'"));
    }
    todo.emplace_back(std::move(o), index);
  }
  int changed = 0;
  absl::Status status = absl::OkStatus();
  for (auto& [o, index] : todo) {
    GENNAKER_ASSIGN_OR_RETURN(Json j, ParseObject(o.body, Noun(kind)));
    if (spinnaker::Int(j, "index", -1) == index) continue;
    j["index"] = index;
    const int64_t now = now_ms_();
    j["lastModified"] = now;
    j["updateTs"] = std::to_string(now);
    j["lastModifiedBy"] = user;
    // Only the index changes: a pipeline saved or deleted meanwhile is not
    // overwritten.
    PutOptions options;
    options.expected_version = o.version;
    auto stored = store_->Put(
        Stamped(kind, o.id, o.name, o.application, j, now, user), options);
    if (!stored.ok()) {
      status =
          absl::IsAborted(stored.status())
              ? absl::AbortedError(absl::StrCat(stored.status().message(),
                                                "; reload and reorder again"))
              : stored.status();
      break;
    }
    ++changed;
  }
  Invalidate(kind, app_key);
  if (!status.ok()) return status;
  return changed;
}

absl::StatusOr<std::vector<StoredObject>> Front50Core::PipelinesTriggeredBy(
    const std::string& id, const std::string& status) {
  GENNAKER_ASSIGN_OR_RETURN(std::vector<StoredObject> all,
                            store_->List(Kind::kPipeline, ""));
  std::vector<StoredObject> out;
  for (StoredObject& o : all) {
    Json j = spinnaker::ParseJson(o.body, "stored pipeline",
                                  spinnaker::kStoredJsonLimits)
                 .value_or(Json());
    if (!j.is_object() || spinnaker::Bool(j, "disabled")) continue;
    auto triggers = j.find("triggers");
    if (triggers == j.end() || !triggers->is_array()) continue;
    bool match = false;
    for (const auto& t : *triggers) {
      if (!t.is_object() || spinnaker::String(t, "type") != "pipeline" ||
          !spinnaker::Bool(t, "enabled") ||
          spinnaker::String(t, "pipeline") != id) {
        continue;
      }
      auto statuses = t.find("status");
      if (statuses == t.end() || !statuses->is_array()) continue;
      for (const auto& s : *statuses) {
        match |= s.is_string() &&
                 absl::EqualsIgnoreCase(s.get<std::string>(), status);
      }
    }
    if (match) out.push_back(std::move(o));
  }
  return out;
}

absl::StatusOr<StoredObject> Front50Core::Get(Kind kind,
                                              const std::string& key) {
  return store_->Get(kind, Lower(key));
}

absl::Status Front50Core::Delete(Kind kind, const std::string& key,
                                 const std::string& user) {
  GENNAKER_ASSIGN_OR_RETURN(StoredObject existing,
                            store_->Get(kind, Lower(key)));
  GENNAKER_RETURN_IF_ERROR(store_->Delete(kind, Lower(key), user, now_ms_()));
  // Our own reads see the delete at once, before the change notification
  // arrives.
  Invalidate(kind, existing.application);
  if (kind == Kind::kApplication) {
    // Spinnaker deletes an application's permissions with it.
    absl::Status s = store_->Delete(Kind::kApplicationPermission, Lower(key),
                                    user, now_ms_());
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredObject> Front50Core::Recover(Kind kind,
                                                  const std::string& key,
                                                  const std::string& user) {
  GENNAKER_ASSIGN_OR_RETURN(StoredObject recovered,
                            store_->Recover(kind, Lower(key), user, now_ms_()));
  Invalidate(kind, recovered.application);
  return recovered;
}

absl::StatusOr<std::vector<StoredObject>> Front50Core::History(
    Kind kind, const std::string& key, int limit) {
  return store_->History(kind, Lower(key), limit);
}

absl::StatusOr<StoredObject> Front50Core::Version(Kind kind,
                                                  const std::string& key,
                                                  int64_t version) {
  return store_->Version(kind, Lower(key), version);
}

absl::StatusOr<std::vector<StoredObject>> Front50Core::List(Kind kind) {
  return store_->List(kind, "");
}

absl::StatusOr<StoredObject> Front50Core::SaveObject(
    Kind kind, std::string key, const std::string& body_json,
    const std::string& user) {
  GENNAKER_ASSIGN_OR_RETURN(Json j, ParseObject(body_json, KindName(kind)));
  std::string name = StringField(j, "name");
  if (kind == Kind::kProject) {
    if (name.empty())
      return absl::InvalidArgumentError("project name is required");
    if (key.empty()) key = StringField(j, "id");
    if (key.empty()) {
      key = NewUuid();
      j["id"] = key;
    }
  }
  if (key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(KindName(kind), " key is required"));
  }
  const int64_t now = now_ms_();
  j["lastModified"] = now;
  j["lastModifiedBy"] = user;
  if (kind == Kind::kProject) j["updateTs"] = std::to_string(now);
  const std::string id = Lower(key);
  auto stored = store_->Put(
      Stamped(kind, id, name.empty() ? id : name, "", j, now, user), {});
  if (absl::IsAlreadyExists(stored.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a ", KindName(kind), " named '", name, "' already exists"));
  }
  return stored;
}

}  // namespace gennaker::front50
