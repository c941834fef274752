// Internal to igor_docker (not a public contract): the Registry HTTP API v2
// client the Docker monitor (docker_monitor.h) polls through.
//   - ParseAddress: an account's address as "scheme://host[:port]" (no
//     scheme: https) and the registry name images are referenced by
//     (registry-1.docker.io is index.docker.io); INVALID_ARGUMENT otherwise.
//   - RegistryClient: catalog, tags and manifest digests of one account,
//     following Link pagination on the same server only (bounded pages,
//     repositories and tags), with basic auth and bearer tokens (Docker token
//     spec; cached per scope until expires_in, clamped to [1 s, 1 day]; the
//     realm must be https or the registry's own origin). Every call goes
//     through the OutboundClient policy. Errors: UNAVAILABLE for transport
//     failures, 5xx and 429; NOT_FOUND, UNAUTHENTICATED, PERMISSION_DENIED
//     for 404, 401, 403; FAILED_PRECONDITION for other answers. A digest a
//     registry sends that is not one (the OCI grammar, at most 256 bytes) is
//     "" (unknown). Thread-safe.
//   - ValidTag: the Docker tag grammar.
// Credentials and tokens are never logged.
#ifndef GENNAKER_SERVICES_IGOR_DOCKER_REGISTRY_CLIENT_H_
#define GENNAKER_SERVICES_IGOR_DOCKER_REGISTRY_CLIENT_H_

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/http/http_client.h"
#include "common/http/outbound.h"
#include "gennaker/igor/v1/config.pb.h"

namespace gennaker::igor::internal {

// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool ValidTag(absl::string_view tag);

// "scheme://host[:port]" and "host[:port]" of the account's address.
struct Origin {
  std::string base;      // without a trailing slash
  std::string registry;  // host[:port]
};

absl::StatusOr<Origin> ParseAddress(const std::string& address);

// A WWW-Authenticate challenge (defined in registry_client.cc).
struct Challenge;

// Registry HTTP API v2 calls of one account, with basic auth and bearer
// tokens (cached per scope until they expire).
class RegistryClient {
 public:
  RegistryClient(const v1::DockerRegistryAccount& account, Origin origin,
                 const http::OutboundClient* outbound)
      : account_(account), origin_(std::move(origin)), outbound_(outbound) {}

  const Origin& origin() const { return origin_; }

  // Repositories of the catalog, following pages.
  absl::StatusOr<std::vector<std::string>> Catalog();

  // Tags of `repository`, following pages. NOT_FOUND when it does not
  // exist.
  absl::StatusOr<std::vector<std::string>> Tags(const std::string& repository);

  // The manifest digest of `repository`:`tag` (Docker-Content-Digest of a
  // HEAD; a GET's body hashed when a registry leaves the header out).
  absl::StatusOr<std::string> Digest(const std::string& repository,
                                     const std::string& tag);

 private:
  std::string Checked(const std::string& digest, const std::string& what);
  static std::string PullScope(const std::string& repository);
  absl::StatusOr<std::string> NextPath(const http::ClientResponse& r) const;
  std::string BasicHeader() const;
  absl::StatusOr<http::ClientResponse> Call(
      const std::string& method, const std::string& path,
      const std::vector<std::pair<std::string, std::string>>& headers,
      const std::string& scope, const std::string& what);
  std::string CachedAuth(const std::string& scope);
  absl::StatusOr<std::string> FetchToken(const Challenge& c,
                                         const std::string& our_scope);

  struct Token {
    std::string token;
    std::chrono::steady_clock::time_point expires;
  };

  const v1::DockerRegistryAccount account_;
  const Origin origin_;
  const http::OutboundClient* const outbound_;
  absl::Mutex mu_;
  bool basic_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, Token> tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::igor::internal

#endif  // GENNAKER_SERVICES_IGOR_DOCKER_REGISTRY_CLIENT_H_
