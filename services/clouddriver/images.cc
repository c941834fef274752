#include "services/clouddriver/images.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/spinnaker/time.h"

namespace gennaker::clouddriver {

namespace {

bool NameMatches(const std::string& name, const std::string& query) {
  if (query.empty() || query == "*") return true;
  return absl::StrContains(absl::AsciiStrToLower(name),
                           absl::AsciiStrToLower(query));
}

bool HasTags(const std::map<std::string, std::string>& have,
             const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

template <typename T>
void AddOnce(std::vector<T>& list, const T& v) {
  if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
}

Json TagsJson(const std::map<std::string, std::string>& tags) {
  Json out = Json::object();
  for (const auto& [k, v] : tags) out[k] = v;
  return out;
}

}  // namespace

ImageSearch::ImageSearch(std::vector<Provider*> providers,
                         std::shared_ptr<fiat::Authorizer> authorizer)
    : providers_(std::move(providers)), authorizer_(std::move(authorizer)) {}

absl::StatusOr<std::vector<ImageResult>> ImageSearch::Find(
    const ImageQuery& q, const std::string& user) {
  std::vector<Provider*> scope;
  std::vector<std::string> names;
  for (Provider* p : providers_) {
    if (!q.cloud_provider.empty() && q.cloud_provider != p->cloud_provider()) {
      continue;
    }
    if (!q.account.empty() && q.account != p->account()) continue;
    scope.push_back(p);
    names.push_back(p->account());
  }
  // Images of accounts the caller may not read are not shown (as reads of
  // the accounts' other resources are not).
  std::set<std::string> readable(names.begin(), names.end());
  if (authorizer_ != nullptr) {
    absl::StatusOr<std::vector<std::string>> allowed =
        authorizer_->Filter(user, fiat::v1::RESOURCE_TYPE_ACCOUNT, names,
                            fiat::v1::AUTHORIZATION_READ);
    if (!allowed.ok()) return allowed.status();
    readable = std::set<std::string>(allowed->begin(), allowed->end());
  }
  // One entry per (cloud provider, name), in the order first seen.
  std::vector<ImageResult> out;
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (Provider* p : scope) {
    if (!readable.count(p->account())) continue;
    for (ProviderImage& image : p->Images()) {
      if (!q.region.empty() && image.region != q.region) continue;
      if (!NameMatches(image.image_name, q.query)) continue;
      if (!HasTags(image.tags, q.tags)) continue;
      auto key = std::make_pair(p->cloud_provider(), image.image_name);
      auto [it, fresh] = index.emplace(key, out.size());
      if (fresh) {
        ImageResult r;
        r.image_name = image.image_name;
        r.cloud_provider = p->cloud_provider();
        r.json = {{"imageName", image.image_name},
                  {"imageId", image.image_id},
                  {"cloudProvider", r.cloud_provider},
                  {"amis", Json::object()},
                  {"attributes", Json::object()},
                  {"tags", Json::object()},
                  {"tagsByImageId", Json::object()},
                  {"accounts", Json::array()},
                  {"region", image.region}};
        out.push_back(std::move(r));
      }
      ImageResult& r = out[it->second];
      AddOnce(r.accounts, p->account());
      AddOnce(r.regions, image.region);
      Json& ids = r.json["amis"][image.region];
      if (ids.is_null()) ids = Json::array();
      if (std::find(ids.begin(), ids.end(), image.image_id) == ids.end()) {
        ids.push_back(image.image_id);
      }
      r.json["tagsByImageId"][image.image_id] = TagsJson(image.tags);
      // The newest content of the name speaks for the entry.
      if (fresh || image.created_ms > r.created_ms) {
        r.created_ms = image.created_ms;
        r.image_id = image.image_id;
        r.tags = image.tags;
      }
    }
  }
  for (ImageResult& r : out) {
    r.json["imageId"] = r.image_id;
    r.json["tags"] = TagsJson(r.tags);
    r.json["accounts"] = r.accounts;
    r.json["attributes"]["creationDate"] =
        spinnaker::FormatIsoInstant(r.created_ms);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ImageResult& a, const ImageResult& b) {
                     if (a.created_ms != b.created_ms) {
                       return a.created_ms > b.created_ms;
                     }
                     return a.image_name < b.image_name;
                   });
  const size_t limit = q.limit > 0 ? static_cast<size_t>(q.limit) : 1000;
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace gennaker::clouddriver
