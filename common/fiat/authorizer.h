// How a service decides what a caller may do, from fiat's permission sets
// (Spinnaker's FiatPermissionEvaluator). The caller's whole UserPermission is
// fetched from fiat once and kept in a small local cache (TTL and size from
// AuthorizationConfig); decisions are then local:
//   - admin: everything;
//   - application: READ/WRITE/EXECUTE as the user's view lists it; an
//     application absent from the view is allowed only when the view says
//     allow_access_to_unknown_applications;
//   - account, build service: the view's authorizations (WRITE does not imply
//     READ);
//   - service account: the name is in the user's service accounts;
//   - role: the user holds the role.
// Names compare ignoring case. The user "" or "anonymous" is fiat's
// unrestricted user; a user fiat does not know is treated as it. When
// authorization is disabled every check passes and
// fiat is never called. When fiat cannot answer, checks fail closed with
// UNAVAILABLE (gate: 503), never with an allow.
#ifndef GENNAKER_COMMON_FIAT_AUTHORIZER_H_
#define GENNAKER_COMMON_FIAT_AUTHORIZER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gennaker/common/v1/config.pb.h"
#include "gennaker/fiat/v1/fiat.grpc.pb.h"

namespace gennaker::fiat {

// The one decision on a permission set, shared by the client cache below and
// fiat's own Authorize RPC. CREATE is never granted here (AuthorizeCreate).
bool Allows(const v1::UserPermission& permission, v1::ResourceType type,
            absl::string_view name, v1::Authorization authorization);

// Lower-case Spinnaker names of the enums, for messages and REST
// ("application", "READ").
std::string ResourceTypeName(v1::ResourceType type);
std::string AuthorizationName(v1::Authorization authorization);

// Where permission sets come from: fiat over gRPC in production, a map in
// unit tests.
class PermissionSource {
 public:
  virtual ~PermissionSource() = default;
  // The user's set; NOT_FOUND when fiat does not know the user, UNAVAILABLE
  // when it cannot be reached.
  virtual absl::StatusOr<v1::UserPermission> Get(const std::string& user) = 0;
  // Asks fiat itself whether `user` holds `authorization` on an application
  // the user's set does not list (fiat reloads its applications for a name
  // it does not know): how an application created a moment ago becomes
  // usable before the next refresh. The default answers false.
  virtual absl::StatusOr<bool> CheckUnlisted(const std::string& user,
                                             v1::ResourceType type,
                                             absl::string_view name,
                                             v1::Authorization authorization) {
    (void)user, (void)type, (void)name, (void)authorization;
    return false;
  }
};

// fiat's GetUserPermission over `stub`, each call with `deadline`.
std::unique_ptr<PermissionSource> MakeGrpcPermissionSource(
    std::shared_ptr<v1::FiatService::StubInterface> stub,
    std::chrono::milliseconds deadline);

class Authorizer {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Disabled: allows everything, never calls `source` (which may be null).
  static std::shared_ptr<Authorizer> Disabled();
  // Enabled per `config` (config.enabled() must be true), asking `source`.
  Authorizer(std::unique_ptr<PermissionSource> source,
             const common::v1::AuthorizationConfig& config,
             Clock clock = nullptr);
  ~Authorizer();
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  bool enabled() const { return enabled_; }

  // OK when `user` holds `authorization` on the resource (an application the
  // cached set does not list is asked of fiat directly, and a grant drops
  // the cached set); PERMISSION_DENIED
  // "Access denied to <type> <name>: <user> lacks <AUTHORIZATION>" (or
  // "... is not a member of service account <name>"); NOT_FOUND never (an
  // unknown user is denied); UNAVAILABLE when fiat cannot answer.
  absl::Status Check(const std::string& user, v1::ResourceType type,
                     absl::string_view name, v1::Authorization authorization);

  // The user's permission set (cached). Disabled: an admin set named `user`.
  // A user fiat does not know gets the unrestricted user's set (what
  // "anonymous" may do: unrestricted resources only), never an error.
  absl::StatusOr<std::shared_ptr<const v1::UserPermission>> Permission(
      const std::string& user);

  // Keeps the names `user` holds `authorization` on (or all when disabled),
  // in order. UNAVAILABLE when fiat cannot answer.
  absl::StatusOr<std::vector<std::string>> Filter(
      const std::string& user, v1::ResourceType type,
      std::vector<std::string> names, v1::Authorization authorization);

  // Drops the cached set of `user` (after a login or logout).
  void Invalidate(const std::string& user);

 private:
  struct Cache;
  Authorizer();
  bool enabled_ = false;
  std::unique_ptr<PermissionSource> source_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace gennaker::fiat

#endif  // GENNAKER_COMMON_FIAT_AUTHORIZER_H_
