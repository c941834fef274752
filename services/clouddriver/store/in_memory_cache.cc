#include "services/clouddriver/store/in_memory_cache.h"

namespace gennaker::clouddriver {

const std::map<std::string, std::map<std::string, Json>>*
InMemoryCache::FiledKind(const std::string& account, const std::string& kind) {
  auto a = items_.find(account);
  if (a == items_.end()) return nullptr;
  auto k = a->second.find(kind);
  return k == a->second.end() ? nullptr : &k->second;
}

absl::Status InMemoryCache::Replace(const std::string& account,
                                    const Json& snapshot) {
  FiledItems filed = FileSnapshot(snapshot);
  absl::MutexLock l(&mu_);
  FiledItems& acct = items_[account];
  for (auto& [kind, apps] : filed) acct[kind] = std::move(apps);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Json>> InMemoryCache::List(
    const std::string& account, const std::string& kind,
    const std::string& application) {
  absl::MutexLock l(&mu_);
  std::vector<Json> out;
  const auto* apps = FiledKind(account, kind);
  if (apps == nullptr) return out;
  for (const auto& [app, items] : *apps) {
    if (!application.empty() && app != application) continue;
    for (const auto& [name, item] : items) out.push_back(item);
  }
  return out;
}

absl::StatusOr<std::optional<Json>> InMemoryCache::Get(
    const std::string& account, const std::string& kind,
    const std::string& name) {
  absl::MutexLock l(&mu_);
  const auto* apps = FiledKind(account, kind);
  if (apps == nullptr) return std::nullopt;
  for (const auto& [app, items] : *apps) {
    auto it = items.find(name);
    if (it != items.end()) return it->second;
  }
  return std::nullopt;
}

absl::StatusOr<std::set<std::string>> InMemoryCache::Applications(
    const std::string& account, const std::string& kind) {
  absl::MutexLock l(&mu_);
  std::set<std::string> out;
  const auto* apps = FiledKind(account, kind);
  if (apps == nullptr) return out;
  for (const auto& [app, items] : *apps) {
    if (!items.empty()) out.insert(app);
  }
  return out;
}

}  // namespace gennaker::clouddriver
