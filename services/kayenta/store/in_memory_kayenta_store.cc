#include "services/kayenta/store/in_memory_kayenta_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gennaker::kayenta {
namespace {

absl::Status NotFound(Kind kind, absl::string_view id) {
  return absl::NotFoundError(
      absl::StrCat(KindLabel(kind), " '", id, "' not found"));
}

}  // namespace

absl::Status InMemoryKayentaStore::CheckName(Kind kind, const Record& record) {
  if (kind != Kind::kConfig) return absl::OkStatus();
  for (const auto& [key, r] : records_) {
    if (key.first == kind && r.id != record.id && r.name == record.name &&
        SharesApplication(r.applications, record.applications)) {
      return DuplicateConfigName(record.name);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> InMemoryKayentaStore::Insert(Kind kind,
                                                         const Record& record) {
  absl::MutexLock lock(&mu_);
  if (!record.idempotency_key.empty()) {
    for (const auto& [key, r] : records_) {
      if (key.first == kind && r.idempotency_key == record.idempotency_key) {
        return r.id;
      }
    }
  }
  if (records_.count({kind, record.id}) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(KindLabel(kind), " '", record.id, "' already exists"));
  }
  if (absl::Status s = CheckName(kind, record); !s.ok()) return s;
  Record stored = record;
  stored.version = 1;
  records_[{kind, record.id}] = stored;
  return record.id;
}

absl::StatusOr<Record> InMemoryKayentaStore::Get(Kind kind,
                                                 absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find({kind, std::string(id)});
  if (it == records_.end()) return NotFound(kind, id);
  return it->second;
}

absl::StatusOr<Record> InMemoryKayentaStore::Update(
    Kind kind, const Record& record, const UpdateOptions& options) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find({kind, record.id});
  if (it == records_.end()) return NotFound(kind, record.id);
  Record& r = it->second;
  if (options.expected_version && *options.expected_version != r.version) {
    return absl::AbortedError(absl::StrCat(KindLabel(kind), " '", record.id,
                                           "' was changed concurrently"));
  }
  if (options.expected_updated_ms &&
      *options.expected_updated_ms != r.updated_ms) {
    return absl::AbortedError(absl::StrCat(
        "Stale write: ", KindLabel(kind), " '", record.id, "' was updated at ",
        r.updated_ms, ", not at ", *options.expected_updated_ms));
  }
  if (absl::Status s = CheckName(kind, record); !s.ok()) return s;
  r.name = record.name;
  r.applications = record.applications;
  r.status = record.status;
  r.body = record.body;
  r.updated_ms = record.updated_ms;
  ++r.version;
  return r;
}

absl::StatusOr<bool> InMemoryKayentaStore::Delete(Kind kind,
                                                  absl::string_view id) {
  absl::MutexLock lock(&mu_);
  return records_.erase({kind, std::string(id)}) > 0;
}

absl::StatusOr<std::vector<Record>> InMemoryKayentaStore::List(
    Kind kind, const ListQuery& query) {
  std::vector<Record> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, r] : records_) {
      if (key.first != kind) continue;
      if (!query.application.empty() && r.application != query.application) {
        continue;
      }
      if (!query.applications.empty() &&
          !SharesApplication(r.applications, query.applications)) {
        continue;
      }
      if (!query.statuses.empty() &&
          std::find(query.statuses.begin(), query.statuses.end(), r.status) ==
              query.statuses.end()) {
        continue;
      }
      out.push_back(r);
    }
  }
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) {
    return a.created_ms != b.created_ms ? a.created_ms > b.created_ms
                                        : a.id > b.id;
  });
  const size_t offset =
      std::min<size_t>(out.size(), std::max<int64_t>(0, query.offset));
  out.erase(out.begin(), out.begin() + offset);
  if (query.limit > 0 && out.size() > static_cast<size_t>(query.limit)) {
    out.resize(query.limit);
  }
  if (!query.with_body) {
    for (Record& r : out) r.body.clear();
  }
  return out;
}

}  // namespace gennaker::kayenta
