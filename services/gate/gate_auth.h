// Authentication at gate: who the caller of a REST request is.
//
// A request is authenticated, in this order, by
//   1. a session cookie (form login: POST /login, Deck and spin's auth.ldap);
//   2. HTTP basic credentials (spin's auth.basic sends them on every request);
//      a verified credential is remembered for credential_cache_seconds as a
//      keyed hash (never the password), so spin does not pay a bcrypt hash or
//      an LDAP bind per request;
//   3. X-SPINNAKER-USER, only from a trusted_user_header_sources address.
// Every user name is canonical: trimmed and lower-cased ("Alice " is alice)
// before throttling, sessions and fiat. "anonymous" and
// "__unrestricted_user__" (fiat's unrestricted user, whose roles everyone
// gets) never authenticate, by password or header: 401 "bad credentials".
// Failure logs name the user by a hash (auth::UserIdForLogs), as a password
// typed into the user field would otherwise land in them.
// Users come from the users file (bcrypt hashes) and/or LDAP (bind); their
// roles (file roles, LDAP groups) are pushed to fiat at login
// (LoginUser), as Spinnaker's gate does. Sessions live in Redis with an idle
// and an absolute timeout, keyed by a hash of the cookie value. Repeated
// failed logins for one user or from one address are refused for a delay
// that doubles per failure (429 with Retry-After) before any password check.
// Passwords, cookies and tokens never reach logs or error messages.
#ifndef GENNAKER_SERVICES_GATE_GATE_AUTH_H_
#define GENNAKER_SERVICES_GATE_GATE_AUTH_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http/http.h"
#include "gennaker/gate/v1/config.pb.h"

namespace gennaker::redis {
class Client;
}

namespace gennaker::fiat {
class Authorizer;
}

namespace gennaker::gate {

// Who the caller is.
struct Identity {
  std::string username;  // "" = not authenticated
  std::string email, first_name, last_name;
  std::vector<std::string> roles;  // from the login (file roles, LDAP groups)
  bool authenticated() const { return !username.empty(); }
};

// Wall-clock time, injectable in tests.
using SessionClock = std::function<std::chrono::system_clock::time_point()>;

// Where sessions are kept: Redis in gate, a map in unit tests.
class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // Stores `identity` under `key` (a hash of the cookie value) for `ttl`.
  virtual absl::Status Put(const std::string& key, const std::string& value,
                           std::chrono::seconds ttl) = 0;
  // The stored value, or nullopt; UNAVAILABLE when the store is down.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      const std::string& key) = 0;
  // Renews the TTL of `key` (idle timeout).
  virtual absl::Status Touch(const std::string& key,
                             std::chrono::seconds ttl) = 0;
  virtual absl::Status Delete(const std::string& key) = 0;
  // Adds one to the counter `key` and (re)sets its TTL to `ttl`, returning
  // the new value: the failed-login counters.
  virtual absl::StatusOr<int64_t> Increment(const std::string& key,
                                            std::chrono::seconds ttl) = 0;
  // The counter's value (0 when absent) and its remaining TTL.
  virtual absl::StatusOr<std::pair<int64_t, std::chrono::seconds>> Counter(
      const std::string& key) = 0;
};

// Over gate's Redis (not owned; must outlive the store).
std::unique_ptr<SessionStore> MakeRedisSessionStore(redis::Client* redis);
// A map whose TTLs follow `clock` (default: the system clock).
std::unique_ptr<SessionStore> MakeMemorySessionStore(
    SessionClock clock = nullptr);

// The outcome of authenticating a request.
struct AuthResult {
  Identity identity;  // unauthenticated when no credentials were presented
  // Set-Cookie or other headers to add to the answer (a renewed session).
  std::vector<std::pair<std::string, std::string>> headers;
};

class Authenticator {
 public:
  using Clock = SessionClock;

  // Validates `config` (a users file or an LDAP url when enabled; readable
  // files; CIDRs) and opens the users file: INVALID_ARGUMENT naming the key.
  // `fiat_login` pushes a user's roles to fiat after a successful login (a
  // failure fails the login with its status); `fiat_logout` removes them.
  // Either may be null (no fiat).
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(
      const v1::GateSecurityConfig& config, std::unique_ptr<SessionStore> store,
      std::function<absl::Status(const Identity&)> fiat_login,
      std::function<void(const std::string&)> fiat_logout,
      Clock clock = nullptr);
  virtual ~Authenticator() = default;

  virtual bool enabled() const = 0;

  // Who sent `request`: from its session cookie, basic credentials or a
  // trusted header. Credentials presented and wrong: UNAUTHENTICATED "bad
  // credentials" (gate: 401); throttled: RESOURCE_EXHAUSTED whose message
  // names the seconds to wait (gate: 429); no credentials: an
  // unauthenticated identity (the route decides). Disabled: anonymous,
  // always OK.
  virtual absl::StatusOr<AuthResult> Authenticate(
      const http::Request& request) = 0;

  // Form login (POST /login): checks `username`/`password`, creates a
  // session and returns the identity with its Set-Cookie header. Errors as
  // Authenticate.
  virtual absl::StatusOr<AuthResult> Login(const http::Request& request,
                                           const std::string& username,
                                           const std::string& password) = 0;

  // Ends the request's session (if any) and logs the user out of fiat;
  // returns the header that clears the cookie.
  virtual std::vector<std::pair<std::string, std::string>> Logout(
      const http::Request& request, const Identity& identity) = 0;
};

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_AUTH_H_
