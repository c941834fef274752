#include "common/fiat/authorizer.h"

#include <grpcpp/client_context.h>

#include <cstdint>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc/channel.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"

namespace gennaker::fiat {
namespace {

constexpr int kDefaultCacheTtlSeconds = 20;
constexpr int kDefaultCacheMaxEntries = 1000;
constexpr char kAnonymous[] = "anonymous";

bool ViewsContain(
    const google::protobuf::RepeatedPtrField<v1::ResourceView>& views,
    absl::string_view name, v1::Authorization authorization) {
  for (const v1::ResourceView& view : views) {
    if (!absl::EqualsIgnoreCase(view.name(), name)) continue;
    for (int granted : view.authorizations()) {
      if (granted == authorization) return true;
    }
    return false;
  }
  return false;
}

bool ApplicationListed(const v1::UserPermission& permission,
                       absl::string_view name) {
  for (const v1::ResourceView& view : permission.applications()) {
    if (absl::EqualsIgnoreCase(view.name(), name)) return true;
  }
  return false;
}

// The cache key and the id fiat is asked with: trimmed and lower-case, as
// fiat compares ids; "" -> anonymous.
std::string NormalizeUser(const std::string& user) {
  std::string id = absl::AsciiStrToLower(absl::StripAsciiWhitespace(user));
  if (id.empty()) return kAnonymous;
  return id;
}

// "service_account" -> "service account", for messages.
std::string ReadableTypeName(v1::ResourceType type) {
  std::string name = ResourceTypeName(type);
  for (char& c : name) {
    if (c == '_') c = ' ';
  }
  return name;
}

class GrpcPermissionSource : public PermissionSource {
 public:
  GrpcPermissionSource(std::shared_ptr<v1::FiatService::StubInterface> stub,
                       std::chrono::milliseconds deadline)
      : stub_(std::move(stub)), deadline_(deadline) {}

  absl::StatusOr<v1::UserPermission> Get(const std::string& user) override {
    std::unique_ptr<grpc::ClientContext> context = MakeClientContext(deadline_);
    v1::GetUserPermissionRequest request;
    request.set_user(user);
    v1::GetUserPermissionResponse response;
    grpc::Status status =
        stub_->GetUserPermission(context.get(), request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return std::move(*response.mutable_permission());
  }

  absl::StatusOr<bool> CheckUnlisted(const std::string& user,
                                     v1::ResourceType type,
                                     absl::string_view name,
                                     v1::Authorization authorization) override {
    std::unique_ptr<grpc::ClientContext> context = MakeClientContext(deadline_);
    v1::AuthorizeRequest request;
    request.set_user(user);
    request.set_resource_type(type);
    request.set_resource_name(std::string(name));
    request.set_authorization(authorization);
    v1::AuthorizeResponse response;
    grpc::Status status = stub_->Authorize(context.get(), request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response.allowed();
  }

 private:
  std::shared_ptr<v1::FiatService::StubInterface> stub_;
  std::chrono::milliseconds deadline_;
};

// Whether `views` names `name` (case-insensitive).
bool Lists(const google::protobuf::RepeatedPtrField<v1::ResourceView>& views,
           absl::string_view name) {
  for (const v1::ResourceView& v : views) {
    if (absl::EqualsIgnoreCase(v.name(), name)) return true;
  }
  return false;
}

}  // namespace

bool Allows(const v1::UserPermission& permission, v1::ResourceType type,
            absl::string_view name, v1::Authorization authorization) {
  // CREATE is fiat's own decision (AuthorizeCreate), even for admins.
  if (authorization == v1::AUTHORIZATION_CREATE) return false;
  if (permission.admin()) return true;
  switch (type) {
    case v1::RESOURCE_TYPE_APPLICATION:
      if (!ApplicationListed(permission, name)) {
        return permission.allow_access_to_unknown_applications();
      }
      return ViewsContain(permission.applications(), name, authorization);
    case v1::RESOURCE_TYPE_ACCOUNT:
      return ViewsContain(permission.accounts(), name, authorization);
    case v1::RESOURCE_TYPE_BUILD_SERVICE:
      return ViewsContain(permission.build_services(), name, authorization);
    case v1::RESOURCE_TYPE_SERVICE_ACCOUNT:
      for (const v1::ServiceAccountView& account :
           permission.service_accounts()) {
        if (absl::EqualsIgnoreCase(account.name(), name)) return true;
      }
      return false;
    case v1::RESOURCE_TYPE_ROLE:
      for (const v1::RoleView& role : permission.roles()) {
        if (absl::EqualsIgnoreCase(role.name(), name)) return true;
      }
      return false;
    default:
      return false;
  }
}

std::string ResourceTypeName(v1::ResourceType type) {
  switch (type) {
    case v1::RESOURCE_TYPE_APPLICATION:
      return "application";
    case v1::RESOURCE_TYPE_ACCOUNT:
      return "account";
    case v1::RESOURCE_TYPE_SERVICE_ACCOUNT:
      return "service_account";
    case v1::RESOURCE_TYPE_ROLE:
      return "role";
    case v1::RESOURCE_TYPE_BUILD_SERVICE:
      return "build_service";
    default:
      return "unspecified";
  }
}

std::string AuthorizationName(v1::Authorization authorization) {
  switch (authorization) {
    case v1::AUTHORIZATION_READ:
      return "READ";
    case v1::AUTHORIZATION_WRITE:
      return "WRITE";
    case v1::AUTHORIZATION_EXECUTE:
      return "EXECUTE";
    case v1::AUTHORIZATION_CREATE:
      return "CREATE";
    default:
      return "UNSPECIFIED";
  }
}

std::unique_ptr<PermissionSource> MakeGrpcPermissionSource(
    std::shared_ptr<v1::FiatService::StubInterface> stub,
    std::chrono::milliseconds deadline) {
  return std::make_unique<GrpcPermissionSource>(std::move(stub), deadline);
}

// Per-user sets, each kept for `ttl` after it was fetched; when full, the
// oldest fetch goes. Fetches run outside the lock (concurrent misses for one
// user each ask fiat); `generation` makes a fetch that raced an Invalidate
// return its answer without caching it.
struct Authorizer::Cache {
  struct Entry {
    std::shared_ptr<const v1::UserPermission> permission;
    std::chrono::steady_clock::time_point fetched;
  };

  Clock clock;
  std::chrono::seconds ttl{kDefaultCacheTtlSeconds};
  size_t max_entries = kDefaultCacheMaxEntries;

  absl::Mutex mu;
  std::map<std::string, Entry> entries ABSL_GUARDED_BY(mu);
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;

  bool Fresh(const Entry& entry,
             std::chrono::steady_clock::time_point now) const {
    return now - entry.fetched < ttl;
  }

  void Put(const std::string& key,
           std::shared_ptr<const v1::UserPermission> permission,
           uint64_t fetch_generation) {
    std::chrono::steady_clock::time_point now = clock();
    absl::MutexLock lock(&mu);
    if (generation != fetch_generation) return;
    if (entries.find(key) == entries.end() && entries.size() >= max_entries) {
      for (auto it = entries.begin(); it != entries.end();) {
        it = Fresh(it->second, now) ? std::next(it) : entries.erase(it);
      }
      if (entries.size() >= max_entries) {
        auto oldest = entries.begin();
        for (auto it = entries.begin(); it != entries.end(); ++it) {
          if (it->second.fetched < oldest->second.fetched) oldest = it;
        }
        entries.erase(oldest);
      }
    }
    entries[key] = Entry{std::move(permission), now};
  }
};

Authorizer::Authorizer() = default;

Authorizer::Authorizer(std::unique_ptr<PermissionSource> source,
                       const common::v1::AuthorizationConfig& config,
                       Clock clock)
    : enabled_(config.enabled()),
      source_(std::move(source)),
      cache_(std::make_unique<Cache>()) {
  cache_->clock = clock
                      ? std::move(clock)
                      : Clock([] { return std::chrono::steady_clock::now(); });
  if (config.cache_ttl_seconds() > 0) {
    cache_->ttl = std::chrono::seconds(config.cache_ttl_seconds());
  }
  if (config.cache_max_entries() > 0) {
    cache_->max_entries = static_cast<size_t>(config.cache_max_entries());
  }
}

Authorizer::~Authorizer() = default;

std::shared_ptr<Authorizer> Authorizer::Disabled() {
  // The constructor is private, so no make_shared.
  return std::shared_ptr<Authorizer>(new Authorizer());
}

absl::StatusOr<std::shared_ptr<const v1::UserPermission>>
Authorizer::Permission(const std::string& user) {
  if (!enabled_) {
    auto permission = std::make_shared<v1::UserPermission>();
    permission->set_name(user);
    permission->set_admin(true);
    return std::shared_ptr<const v1::UserPermission>(std::move(permission));
  }
  const std::string key = NormalizeUser(user);
  uint64_t fetch_generation = 0;
  {
    std::chrono::steady_clock::time_point now = cache_->clock();
    absl::MutexLock lock(&cache_->mu);
    auto it = cache_->entries.find(key);
    if (it != cache_->entries.end()) {
      if (cache_->Fresh(it->second, now)) return it->second.permission;
      cache_->entries.erase(it);
    }
    fetch_generation = cache_->generation;
  }
  if (source_ == nullptr) {
    return absl::UnavailableError(
        "authorization service unavailable: no permission source");
  }
  absl::StatusOr<v1::UserPermission> fetched = source_->Get(key);
  if (absl::IsNotFound(fetched.status()) && key != kAnonymous) {
    // fiat does not know the user: they may do what anonymous may.
    fetched = source_->Get(kAnonymous);
  }
  if (absl::IsNotFound(fetched.status())) {
    // Not even the unrestricted user exists: nothing is allowed.
    v1::UserPermission empty;
    empty.set_name(key);
    fetched = std::move(empty);
  }
  if (!fetched.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "authorization service unavailable: ", fetched.status().message()));
  }
  auto permission =
      std::make_shared<const v1::UserPermission>(std::move(*fetched));
  cache_->Put(key, permission, fetch_generation);
  return std::shared_ptr<const v1::UserPermission>(std::move(permission));
}

absl::Status Authorizer::Check(const std::string& user, v1::ResourceType type,
                               absl::string_view name,
                               v1::Authorization authorization) {
  if (!enabled_) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const v1::UserPermission>> permission =
      Permission(user);
  if (!permission.ok()) return permission.status();
  if (Allows(**permission, type, name, authorization)) {
    return absl::OkStatus();
  }
  if (type == v1::RESOURCE_TYPE_APPLICATION &&
      authorization != v1::AUTHORIZATION_CREATE &&
      !Lists((*permission)->applications(), name)) {
    // Created after the cached set was resolved? Ask fiat, which reloads.
    absl::StatusOr<bool> fresh =
        source_->CheckUnlisted(user.empty() ? std::string(kAnonymous) : user,
                               type, name, authorization);
    if (!fresh.ok() && !absl::IsNotFound(fresh.status())) {
      return absl::UnavailableError(absl::StrCat(
          "authorization service unavailable: ", fresh.status().message()));
    }
    if (fresh.ok() && *fresh) {
      Invalidate(user);
      return absl::OkStatus();
    }
  }
  const std::string who = user.empty() ? std::string(kAnonymous) : user;
  const std::string what =
      absl::StrCat("Access denied to ", ReadableTypeName(type), " '", name,
                   "': user '", who, "' ");
  switch (type) {
    case v1::RESOURCE_TYPE_SERVICE_ACCOUNT:
      return absl::PermissionDeniedError(absl::StrCat(
          what, "is not a member of service account '", name, "'"));
    case v1::RESOURCE_TYPE_ROLE:
      return absl::PermissionDeniedError(
          absl::StrCat(what, "does not hold role '", name, "'"));
    default:
      return absl::PermissionDeniedError(
          absl::StrCat(what, "lacks ", AuthorizationName(authorization)));
  }
}

absl::StatusOr<std::vector<std::string>> Authorizer::Filter(
    const std::string& user, v1::ResourceType type,
    std::vector<std::string> names, v1::Authorization authorization) {
  if (!enabled_) return names;
  absl::StatusOr<std::shared_ptr<const v1::UserPermission>> permission =
      Permission(user);
  if (!permission.ok()) return permission.status();
  std::vector<std::string> kept;
  kept.reserve(names.size());
  for (std::string& name : names) {
    if (Allows(**permission, type, name, authorization)) {
      kept.push_back(std::move(name));
    }
  }
  return kept;
}

void Authorizer::Invalidate(const std::string& user) {
  if (!enabled_) return;
  absl::MutexLock lock(&cache_->mu);
  cache_->entries.erase(NormalizeUser(user));
  ++cache_->generation;
}

}  // namespace gennaker::fiat
