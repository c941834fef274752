#include "services/gate/gate_auth.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <unordered_map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/ldap.h"
#include "common/auth/password.h"
#include "common/auth/users_file.h"
#include "common/log/log.h"
#include "common/redis/redis.h"
#include "common/spinnaker/identity.h"
#include "common/status/status_macros.h"
#include "nlohmann/json.hpp"

namespace gennaker::gate {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

// Redis keys of gate's authentication.
constexpr char kKeyPrefix[] = "gate:";
// A session's TTL is renewed at most this often (saves Redis writes).
constexpr seconds kTouchInterval{60};
// Failed-login counters forget after this long without a failure.
constexpr seconds kFailureWindow{900};
// Entries of the basic credential cache and of the touch map at most.
constexpr size_t kMaxCachedCredentials = 10000;
constexpr size_t kMaxTouchEntries = 100000;
// The longest username gate takes (from a login or a trusted header).
constexpr size_t kMaxUsernameLength = 256;

constexpr char kBadCredentials[] = "bad credentials";

// --- session stores ---

class MemorySessionStore : public SessionStore {
 public:
  explicit MemorySessionStore(SessionClock clock) : clock_(std::move(clock)) {}

  absl::Status Put(const std::string& key, const std::string& value,
                   seconds ttl) override {
    absl::MutexLock lock(&mu_);
    entries_[key] = {value, clock_() + ttl};
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<std::string>> Get(
      const std::string& key) override {
    absl::MutexLock lock(&mu_);
    Entry* e = Live(key);
    if (e == nullptr) return std::nullopt;
    return e->value;
  }

  absl::Status Touch(const std::string& key, seconds ttl) override {
    absl::MutexLock lock(&mu_);
    if (Entry* e = Live(key)) e->expiry = clock_() + ttl;
    return absl::OkStatus();
  }

  absl::Status Delete(const std::string& key) override {
    absl::MutexLock lock(&mu_);
    entries_.erase(key);
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Increment(const std::string& key,
                                    seconds ttl) override {
    absl::MutexLock lock(&mu_);
    Entry* e = Live(key);
    int64_t n = 0;
    if (e != nullptr) (void)absl::SimpleAtoi(e->value, &n);
    ++n;
    entries_[key] = {absl::StrCat(n), clock_() + ttl};
    return n;
  }

  absl::StatusOr<std::pair<int64_t, seconds>> Counter(
      const std::string& key) override {
    absl::MutexLock lock(&mu_);
    Entry* e = Live(key);
    if (e == nullptr) return std::make_pair(int64_t{0}, seconds(0));
    int64_t n = 0;
    (void)absl::SimpleAtoi(e->value, &n);
    auto left = std::chrono::ceil<seconds>(e->expiry - clock_());
    return std::make_pair(n, left);
  }

 private:
  struct Entry {
    std::string value;
    system_clock::time_point expiry;
  };

  Entry* Live(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    if (it->second.expiry <= clock_()) {
      entries_.erase(it);
      return nullptr;
    }
    return &it->second;
  }

  SessionClock clock_;
  absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

class RedisSessionStore : public SessionStore {
 public:
  explicit RedisSessionStore(redis::Client* redis) : redis_(redis) {}

  absl::Status Put(const std::string& key, const std::string& value,
                   seconds ttl) override {
    return Run({"SET", key, value, "EX", Seconds(ttl)}).status();
  }

  absl::StatusOr<std::optional<std::string>> Get(
      const std::string& key) override {
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply reply, Run({"GET", key}));
    if (reply.type != redis::Reply::Type::kString) return std::nullopt;
    return std::move(reply.str);
  }

  absl::Status Touch(const std::string& key, seconds ttl) override {
    return Run({"EXPIRE", key, Seconds(ttl)}).status();
  }

  absl::Status Delete(const std::string& key) override {
    return Run({"DEL", key}).status();
  }

  absl::StatusOr<int64_t> Increment(const std::string& key,
                                    seconds ttl) override {
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply reply, Run({"INCR", key}));
    GENNAKER_RETURN_IF_ERROR(Run({"EXPIRE", key, Seconds(ttl)}).status());
    return reply.integer;
  }

  absl::StatusOr<std::pair<int64_t, seconds>> Counter(
      const std::string& key) override {
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply value, Run({"GET", key}));
    if (value.type != redis::Reply::Type::kString) {
      return std::make_pair(int64_t{0}, seconds(0));
    }
    int64_t n = 0;
    (void)absl::SimpleAtoi(value.str, &n);
    GENNAKER_ASSIGN_OR_RETURN(redis::Reply ttl, Run({"TTL", key}));
    // -1 (no TTL) or -2 (gone since the GET): no wait left to report.
    return std::make_pair(n, seconds(std::max<int64_t>(ttl.integer, 0)));
  }

 private:
  static std::string Seconds(seconds s) {
    return absl::StrCat(std::max<int64_t>(s.count(), 1));
  }

  // Redis errors name the command, never its arguments (cookie hashes,
  // user names stay out of messages).
  absl::StatusOr<redis::Reply> Run(const std::vector<std::string>& argv) {
    absl::StatusOr<redis::Reply> reply = redis_->Command(argv);
    if (!reply.ok()) {
      return absl::UnavailableError(
          absl::StrCat("session store (redis) ", argv[0],
                       " failed: ", reply.status().message()));
    }
    return reply;
  }

  redis::Client* redis_;
};

// --- crypto helpers ---

std::string Hex(const unsigned char* data, size_t n) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(data), n));
}

std::string Sha256Hex(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         digest);
  return Hex(digest, sizeof(digest));
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    return absl::InternalError("no random bytes from OpenSSL");
  }
  return out;
}

// --- addresses ---

struct Cidr {
  int family = AF_INET;  // AF_INET or AF_INET6
  std::array<unsigned char, 16> bytes{};
  int prefix = 0;  // bits
};

// An address as bytes; an IPv4-mapped IPv6 address ("::ffff:a.b.c.d") is
// taken as its IPv4 address.
bool ParseAddress(absl::string_view text, int* family,
                  std::array<unsigned char, 16>* bytes) {
  std::string s(text);
  // A zone ("fe80::1%eth0") does not change which host it is.
  if (auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);
  bytes->fill(0);
  if (inet_pton(AF_INET, s.c_str(), bytes->data()) == 1) {
    *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), bytes->data()) != 1) return false;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0,    0,
                                                0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes->data(), kMapped, sizeof(kMapped)) == 0) {
    std::memmove(bytes->data(), bytes->data() + 12, 4);
    std::fill(bytes->begin() + 4, bytes->end(), 0);
    *family = AF_INET;
    return true;
  }
  *family = AF_INET6;
  return true;
}

absl::StatusOr<Cidr> ParseCidr(absl::string_view text) {
  Cidr c;
  absl::string_view address = absl::StripAsciiWhitespace(text);
  std::optional<absl::string_view> prefix;
  if (auto slash = address.find('/'); slash != absl::string_view::npos) {
    prefix = address.substr(slash + 1);
    address = address.substr(0, slash);
  }
  if (!ParseAddress(address, &c.family, &c.bytes)) {
    return absl::InvalidArgumentError("not an IP address");
  }
  const int bits = c.family == AF_INET ? 32 : 128;
  c.prefix = bits;
  if (prefix.has_value()) {
    int p = 0;
    if (!absl::SimpleAtoi(*prefix, &p) || p < 0) {
      return absl::InvalidArgumentError("bad prefix length");
    }
    // An IPv4-mapped IPv6 prefix counts the 96 mapping bits.
    if (c.family == AF_INET && address.find(':') != absl::string_view::npos) {
      p -= 96;
      if (p < 0) return absl::InvalidArgumentError("bad prefix length");
    }
    if (p > bits) return absl::InvalidArgumentError("bad prefix length");
    c.prefix = p;
  }
  return c;
}

bool Contains(const Cidr& c, int family,
              const std::array<unsigned char, 16>& bytes) {
  if (family != c.family) return false;
  int full = c.prefix / 8, rest = c.prefix % 8;
  if (std::memcmp(c.bytes.data(), bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (c.bytes[full] & mask) == (bytes[full] & mask);
}

// --- requests ---

// The value of cookie `name` in the request's Cookie header, or "".
std::string CookieValue(const http::Request& request, absl::string_view name) {
  for (absl::string_view part :
       absl::StrSplit(request.Header("cookie"), ';', absl::SkipEmpty())) {
    part = absl::StripAsciiWhitespace(part);
    auto eq = part.find('=');
    if (eq == absl::string_view::npos) continue;
    if (absl::StripAsciiWhitespace(part.substr(0, eq)) == name) {
      absl::string_view v = absl::StripAsciiWhitespace(part.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
      }
      return std::string(v);
    }
  }
  return "";
}

struct BasicCredentials {
  std::string user, password;
};

// nullopt without an Authorization: Basic header; UNAUTHENTICATED for a
// malformed one.
absl::StatusOr<std::optional<BasicCredentials>> ParseBasic(
    const http::Request& request) {
  std::string header = request.Header("authorization");
  absl::string_view v = absl::StripAsciiWhitespace(header);
  if (v.size() < 6 || !absl::EqualsIgnoreCase(v.substr(0, 6), "basic ")) {
    return std::nullopt;
  }
  std::string decoded;
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(v.substr(6)),
                            &decoded)) {
    return absl::UnauthenticatedError(kBadCredentials);
  }
  auto colon = decoded.find(':');
  if (colon == std::string::npos) {
    return absl::UnauthenticatedError(kBadCredentials);
  }
  BasicCredentials c{decoded.substr(0, colon), decoded.substr(colon + 1)};
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return c;
}

// How gate names a user everywhere (throttling, sessions, fiat, logs): trimmed
// and lower-cased, so "Alice", "alice" and "alice " are one identity.
std::string CanonicalUsername(absl::string_view user) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(user));
}

bool ValidUsername(absl::string_view user) {
  if (user.empty() || user.size() > kMaxUsernameLength) return false;
  // Printable ASCII only: the name travels as gRPC metadata
  // (x-spinnaker-user), where anything else could not be forwarded.
  return std::all_of(user.begin(), user.end(),
                     [](char ch) { return ch >= 0x20 && ch < 0x7f; });
}

// --- sessions as JSON ---

std::string SessionJson(const Identity& id, int64_t created_ms) {
  nlohmann::json j = {{"username", id.username},    {"email", id.email},
                      {"firstName", id.first_name}, {"lastName", id.last_name},
                      {"roles", id.roles},          {"createdMs", created_ms}};
  return j.dump();
}

bool ParseSession(const std::string& text, Identity* id, int64_t* created_ms) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return false;
  auto str = [&j](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>()
                                            : std::string();
  };
  id->username = str("username");
  id->email = str("email");
  id->first_name = str("firstName");
  id->last_name = str("lastName");
  id->roles.clear();
  if (auto it = j.find("roles"); it != j.end() && it->is_array()) {
    for (const auto& r : *it) {
      if (r.is_string()) id->roles.push_back(r.get<std::string>());
    }
  }
  auto c = j.find("createdMs");
  if (c == j.end() || !c->is_number_integer()) return false;
  *created_ms = c->get<int64_t>();
  return !id->username.empty();
}

int64_t ToMs(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             t.time_since_epoch())
      .count();
}

// --- the authenticator ---

class DisabledAuthenticator : public Authenticator {
 public:
  bool enabled() const override { return false; }
  absl::StatusOr<AuthResult> Authenticate(const http::Request&) override {
    return Anonymous();
  }
  absl::StatusOr<AuthResult> Login(const http::Request&, const std::string&,
                                   const std::string&) override {
    return Anonymous();
  }
  std::vector<std::pair<std::string, std::string>> Logout(
      const http::Request&, const Identity&) override {
    return {};
  }

 private:
  static AuthResult Anonymous() {
    AuthResult r;
    r.identity.username = spinnaker::kAnonymousUser;
    return r;
  }
};

class EnabledAuthenticator : public Authenticator {
 public:
  EnabledAuthenticator(const v1::GateSecurityConfig& config,
                       std::unique_ptr<SessionStore> store,
                       std::function<absl::Status(const Identity&)> fiat_login,
                       std::function<void(const std::string&)> fiat_logout,
                       Clock clock)
      : config_(config),
        store_(std::move(store)),
        fiat_login_(std::move(fiat_login)),
        fiat_logout_(std::move(fiat_logout)),
        clock_(std::move(clock)) {}

  absl::Status Init() {
    if (!config_.users_file().empty()) {
      auto users = auth::UsersFile::Open(config_.users_file());
      if (!users.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("security.usersFile: ", users.status().message()));
      }
      users_ = std::move(*users);
    }
    if (!config_.ldap().url().empty()) {
      auto ldap = auth::LdapDirectory::Create(config_.ldap());
      if (!ldap.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("security.ldap: ", ldap.status().message()));
      }
      ldap_ = std::move(*ldap);
    }
    if (users_ == nullptr && ldap_ == nullptr) {
      return absl::InvalidArgumentError(
          "security: enabled needs security.usersFile or security.ldap.url");
    }
    for (int i = 0; i < config_.trusted_user_header_sources_size(); ++i) {
      const std::string& source = config_.trusted_user_header_sources(i);
      auto cidr = ParseCidr(source);
      if (!cidr.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "security.trustedUserHeaderSources[", i, "]: '", source,
            "' is not an IP address or CIDR (", cidr.status().message(), ")"));
      }
      trusted_.push_back(*cidr);
    }
    if (config_.session_idle_timeout_seconds() <= 0 &&
        config_.session_absolute_timeout_seconds() <= 0) {
      return absl::InvalidArgumentError(
          "security.sessionIdleTimeoutSeconds / "
          "sessionAbsoluteTimeoutSeconds: at least one must be positive");
    }
    cookie_name_ = config_.session_cookie_name().empty()
                       ? "SESSION"
                       : config_.session_cookie_name();
    if (!std::all_of(cookie_name_.begin(), cookie_name_.end(), [](char ch) {
          return absl::ascii_isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
        })) {
      return absl::InvalidArgumentError(
          "security.sessionCookieName: letters, digits, '-', '_' or '.'");
    }
    GENNAKER_ASSIGN_OR_RETURN(hmac_key_, RandomBytes(32));
    // Unknown users cost a hash check too, so timing does not tell which
    // names exist.
    if (users_ != nullptr) {
      GENNAKER_ASSIGN_OR_RETURN(std::string filler, RandomBytes(16));
      GENNAKER_ASSIGN_OR_RETURN(
          dummy_hash_, auth::HashPassword(absl::BytesToHexString(filler)));
    }
    return absl::OkStatus();
  }

  bool enabled() const override { return true; }

  absl::StatusOr<AuthResult> Authenticate(
      const http::Request& request) override {
    AuthResult result;
    absl::Status store_error;
    // 1. The session cookie.
    std::string cookie = CookieValue(request, cookie_name_);
    if (!cookie.empty()) {
      absl::StatusOr<std::optional<Identity>> session = FindSession(cookie);
      if (!session.ok()) {
        store_error = session.status();
      } else if (session->has_value()) {
        result.identity = std::move(**session);
        return result;
      }
    }
    // 2. Basic credentials.
    GENNAKER_ASSIGN_OR_RETURN(std::optional<BasicCredentials> basic,
                              ParseBasic(request));
    if (basic.has_value()) {
      absl::StatusOr<Identity> id = VerifyBasic(request, *basic);
      OPENSSL_cleanse(basic->password.data(), basic->password.size());
      if (!id.ok()) return id.status();
      result.identity = std::move(*id);
      return result;
    }
    // 3. The trusted header.
    std::string header_user = request.Header("x-spinnaker-user");
    if (!header_user.empty() && Trusted(request.remote_address)) {
      std::string user = CanonicalUsername(header_user);
      if (!Acceptable(user)) {
        SPDLOG_WARN("X-SPINNAKER-USER {} from {} refused", UserForLogs(user),
                    request.remote_address);
        return absl::UnauthenticatedError(kBadCredentials);
      }
      result.identity.username = std::move(user);
      return result;
    }
    if (!store_error.ok()) return store_error;
    return result;
  }

  absl::StatusOr<AuthResult> Login(const http::Request& request,
                                   const std::string& username,
                                   const std::string& password) override {
    GENNAKER_ASSIGN_OR_RETURN(Identity id,
                              CheckPassword(request, username, password));
    GENNAKER_RETURN_IF_ERROR(PushToFiat(id));
    // A new session id at every login; the one the browser had ends.
    if (std::string old = CookieValue(request, cookie_name_); !old.empty()) {
      (void)store_->Delete(SessionKey(old));
    }
    GENNAKER_ASSIGN_OR_RETURN(std::string raw, RandomBytes(32));
    std::string value;
    absl::WebSafeBase64Escape(raw, &value);
    OPENSSL_cleanse(raw.data(), raw.size());
    absl::Status put = store_->Put(SessionKey(value),
                                   SessionJson(id, ToMs(clock_())), FirstTtl());
    if (!put.ok()) return put;
    SPDLOG_INFO("user {} logged in", id.username);
    AuthResult result;
    result.identity = std::move(id);
    result.headers.emplace_back("Set-Cookie", CookieHeader(value, false));
    return result;
  }

  std::vector<std::pair<std::string, std::string>> Logout(
      const http::Request& request, const Identity& identity) override {
    std::string cookie = CookieValue(request, cookie_name_);
    if (!cookie.empty()) {
      std::string key = SessionKey(cookie);
      absl::Status s = store_->Delete(key);
      if (!s.ok()) SPDLOG_WARN("logout: {}", s.message());
      absl::MutexLock lock(&mu_);
      touched_.erase(key);
    }
    if (identity.authenticated()) {
      {
        absl::MutexLock lock(&mu_);
        for (auto it = credentials_.begin(); it != credentials_.end();) {
          if (it->second.identity.username == identity.username) {
            it = credentials_.erase(it);
          } else {
            ++it;
          }
        }
      }
      if (fiat_logout_) fiat_logout_(identity.username);
      SPDLOG_INFO("user {} logged out", identity.username);
    }
    return {{"Set-Cookie", CookieHeader("", true)}};
  }

 private:
  struct CachedCredential {
    Identity identity;
    system_clock::time_point expiry;
  };

  std::string SessionKey(absl::string_view cookie) const {
    return absl::StrCat(kKeyPrefix, "session:", Sha256Hex(cookie));
  }

  seconds Idle() const {
    return seconds(config_.session_idle_timeout_seconds());
  }
  seconds Absolute() const {
    return seconds(config_.session_absolute_timeout_seconds());
  }

  // The TTL of a new session: the idle timeout, capped by the absolute one.
  seconds FirstTtl() const {
    if (Idle().count() <= 0) return Absolute();
    if (Absolute().count() <= 0) return Idle();
    return std::min(Idle(), Absolute());
  }

  std::string CookieHeader(absl::string_view value, bool clear) const {
    return absl::StrCat(cookie_name_, "=", value, "; Path=/;",
                        clear ? " Max-Age=0;" : "", " HttpOnly; SameSite=Lax",
                        config_.secure_cookie() ? "; Secure" : "");
  }

  absl::StatusOr<std::optional<Identity>> FindSession(
      const std::string& cookie) {
    const std::string key = SessionKey(cookie);
    GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                              store_->Get(key));
    if (!stored.has_value()) return std::nullopt;
    Identity id;
    int64_t created_ms = 0;
    const bool readable = ParseSession(*stored, &id, &created_ms);
    id.username = CanonicalUsername(id.username);
    if (!readable || !Acceptable(id.username)) {
      SPDLOG_WARN("dropping an unreadable session");
      (void)store_->Delete(key);
      return std::nullopt;
    }
    const auto now = clock_();
    const int64_t age_ms = ToMs(now) - created_ms;
    if (Absolute().count() > 0 &&
        age_ms >=
            std::chrono::duration_cast<std::chrono::milliseconds>(Absolute())
                .count()) {
      (void)store_->Delete(key);
      absl::MutexLock lock(&mu_);
      touched_.erase(key);
      return std::nullopt;
    }
    if (Idle().count() > 0) MaybeTouch(key, now, age_ms);
    return id;
  }

  // Renews the idle TTL, at most once per kTouchInterval per session, never
  // beyond the absolute timeout.
  void MaybeTouch(const std::string& key, system_clock::time_point now,
                  int64_t age_ms) {
    {
      absl::MutexLock lock(&mu_);
      auto it = touched_.find(key);
      if (it != touched_.end() && now - it->second < kTouchInterval) return;
      if (touched_.size() >= kMaxTouchEntries) touched_.clear();
      touched_[key] = now;
    }
    seconds ttl = Idle();
    if (Absolute().count() > 0) {
      seconds left = Absolute() - std::chrono::duration_cast<seconds>(
                                      std::chrono::milliseconds(age_ms));
      ttl = std::min(ttl, std::max(left, seconds(1)));
    }
    absl::Status s = store_->Touch(key, ttl);
    if (!s.ok()) SPDLOG_WARN("session renewal: {}", s.message());
  }

  bool Trusted(const std::string& address) const {
    if (trusted_.empty() || address.empty()) return false;
    int family = 0;
    std::array<unsigned char, 16> bytes;
    if (!ParseAddress(address, &family, &bytes)) return false;
    return std::any_of(trusted_.begin(), trusted_.end(), [&](const Cidr& c) {
      return Contains(c, family, bytes);
    });
  }

  std::string CredentialKey(const BasicCredentials& c) const {
    std::string message =
        absl::StrCat(c.user, std::string(1, '\0'), c.password);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(),
         mac, &len);
    OPENSSL_cleanse(message.data(), message.size());
    return std::string(reinterpret_cast<const char*>(mac), len);
  }

  absl::StatusOr<Identity> VerifyBasic(const http::Request& request,
                                       const BasicCredentials& c) {
    const bool cache = config_.credential_cache_seconds() > 0;
    std::string key;
    if (cache) {
      key = CredentialKey(c);
      absl::MutexLock lock(&mu_);
      auto it = credentials_.find(key);
      if (it != credentials_.end()) {
        if (it->second.expiry > clock_()) return it->second.identity;
        credentials_.erase(it);
      }
    }
    GENNAKER_ASSIGN_OR_RETURN(Identity id,
                              CheckPassword(request, c.user, c.password));
    GENNAKER_RETURN_IF_ERROR(PushToFiat(id));
    if (cache) {
      const auto now = clock_();
      absl::MutexLock lock(&mu_);
      if (credentials_.size() >= kMaxCachedCredentials) {
        for (auto it = credentials_.begin(); it != credentials_.end();) {
          it =
              it->second.expiry <= now ? credentials_.erase(it) : std::next(it);
        }
        if (credentials_.size() >= kMaxCachedCredentials) credentials_.clear();
      }
      credentials_[key] = {id,
                           now + seconds(config_.credential_cache_seconds())};
    }
    return id;
  }

  absl::Status PushToFiat(const Identity& id) {
    if (!fiat_login_) return absl::OkStatus();
    absl::Status s = fiat_login_(id);
    if (!s.ok()) {
      SPDLOG_WARN("login of {}: fiat did not take the roles: {}", id.username,
                  s.message());
    }
    return s;
  }

  // --- throttling ---

  std::string UserCounter(absl::string_view user) const {
    return absl::StrCat(kKeyPrefix,
                        "loginfail:user:", absl::AsciiStrToLower(user));
  }
  std::string AddressCounter(absl::string_view address) const {
    return absl::StrCat(kKeyPrefix, "loginfail:addr:", address);
  }
  static std::string BlockKey(const std::string& counter) {
    return absl::StrCat(counter, ":block");
  }

  // RESOURCE_EXHAUSTED while either counter's delay runs.
  absl::Status CheckThrottle(const std::vector<std::string>& counters) {
    if (config_.login_failures_before_delay() <= 0) return absl::OkStatus();
    int64_t wait = 0;
    for (const std::string& counter : counters) {
      GENNAKER_ASSIGN_OR_RETURN(auto block, store_->Counter(BlockKey(counter)));
      if (block.first > 0) wait = std::max<int64_t>(wait, block.second.count());
    }
    if (wait <= 0) return absl::OkStatus();
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many failed logins; retry in ", std::max<int64_t>(wait, 1), " s"));
  }

  void RecordFailure(const std::vector<std::string>& counters) {
    const int threshold = config_.login_failures_before_delay();
    if (threshold <= 0) return;
    const int64_t max_delay =
        std::max<int64_t>(config_.login_max_delay_seconds(), 1);
    for (const std::string& counter : counters) {
      absl::StatusOr<int64_t> n = store_->Increment(counter, kFailureWindow);
      if (!n.ok()) {
        SPDLOG_WARN("failed-login counter: {}", n.status().message());
        continue;
      }
      if (*n < threshold) continue;
      const int64_t exponent = std::min<int64_t>(*n - threshold, 30);
      const int64_t delay =
          std::min<int64_t>(max_delay, int64_t{1} << exponent);
      absl::Status s = store_->Put(BlockKey(counter), "1", seconds(delay));
      if (!s.ok()) SPDLOG_WARN("failed-login delay: {}", s.message());
    }
  }

  void ResetFailures(const std::string& user_counter) {
    (void)store_->Delete(user_counter);
    (void)store_->Delete(BlockKey(user_counter));
  }

  // Checks a password against the users file, then LDAP, with throttling.
  // Whether gate lets `user` (canonical) be an identity: a valid name, and
  // not one fiat takes for the unrestricted user, whose roles everyone has.
  static bool Acceptable(const std::string& user) {
    return ValidUsername(user) && !auth::IsReservedUsername(user);
  }

  // A failed login's user name as logs show it: a hash, since it may be a
  // password typed into the wrong field.
  static std::string UserForLogs(const std::string& user) {
    return auth::UserIdForLogs(user);
  }

  absl::StatusOr<Identity> CheckPassword(const http::Request& request,
                                         const std::string& typed,
                                         const std::string& password) {
    const std::string username = CanonicalUsername(typed);
    if (!ValidUsername(username) || password.empty()) {
      return absl::UnauthenticatedError(kBadCredentials);
    }
    const std::vector<std::string> counters = {
        UserCounter(username), AddressCounter(request.remote_address.empty()
                                                  ? "unknown"
                                                  : request.remote_address)};
    absl::Status throttle = CheckThrottle(counters);
    if (!throttle.ok()) {
      if (throttle.code() == absl::StatusCode::kResourceExhausted) {
        SPDLOG_WARN("login of {} from {} refused: {}", UserForLogs(username),
                    request.remote_address, throttle.message());
      }
      return throttle;
    }
    // fiat's unrestricted user: refused whatever the directory says.
    absl::StatusOr<Identity> id = absl::UnauthenticatedError(kBadCredentials);
    if (!auth::IsReservedUsername(username)) {
      // The directory gets the name as typed, trimmed (LDAP compares uid
      // ignoring case); the identity is canonical below.
      id = Verify(std::string(absl::StripAsciiWhitespace(typed)), password);
    }
    if (id.ok()) {
      // The directory's own spelling of the name does not make another user.
      id->username = CanonicalUsername(id->username);
      if (!Acceptable(id->username)) {
        SPDLOG_WARN("login of {} refused: not a user name gate accepts",
                    UserForLogs(id->username));
        id = absl::UnauthenticatedError(kBadCredentials);
      }
    }
    if (id.ok()) {
      ResetFailures(counters[0]);
      return id;
    }
    if (id.status().code() == absl::StatusCode::kUnauthenticated) {
      SPDLOG_INFO("failed login of {} from {}", UserForLogs(username),
                  request.remote_address);
      RecordFailure(counters);
      return absl::UnauthenticatedError(kBadCredentials);
    }
    return id.status();
  }

  absl::StatusOr<Identity> Verify(const std::string& username,
                                  const std::string& password) {
    if (users_ != nullptr) {
      std::optional<auth::FileUser> user = users_->Find(username);
      if (user.has_value() && !user->password_hash.empty()) {
        if (!auth::VerifyPassword(password, user->password_hash)) {
          return absl::UnauthenticatedError(kBadCredentials);
        }
        Identity id;
        id.username = user->username;
        id.email = user->email;
        id.first_name = user->first_name;
        id.last_name = user->last_name;
        id.roles = user->roles;
        return id;
      }
      if (ldap_ == nullptr) {
        (void)auth::VerifyPassword(password, dummy_hash_);
        return absl::UnauthenticatedError(kBadCredentials);
      }
    }
    absl::StatusOr<auth::LdapUser> user =
        ldap_->Authenticate(username, password);
    if (!user.ok()) {
      if (user.status().code() == absl::StatusCode::kUnauthenticated) {
        return absl::UnauthenticatedError(kBadCredentials);
      }
      SPDLOG_WARN("LDAP login of {}: {}", UserForLogs(username),
                  user.status().message());
      return absl::UnavailableError("the LDAP directory cannot be reached");
    }
    Identity id;
    id.username = user->id.empty() ? username : user->id;
    id.email = user->email;
    id.first_name = user->first_name;
    id.last_name = user->last_name;
    id.roles = user->groups;
    return id;
  }

  const v1::GateSecurityConfig config_;
  std::unique_ptr<SessionStore> store_;
  std::function<absl::Status(const Identity&)> fiat_login_;
  std::function<void(const std::string&)> fiat_logout_;
  Clock clock_;
  std::unique_ptr<auth::UsersFile> users_;
  std::unique_ptr<auth::LdapDirectory> ldap_;
  std::vector<Cidr> trusted_;
  std::string cookie_name_;
  std::string hmac_key_;
  std::string dummy_hash_;

  absl::Mutex mu_;
  std::unordered_map<std::string, CachedCredential> credentials_
      ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, system_clock::time_point> touched_
      ABSL_GUARDED_BY(mu_);
};

SessionClock OrSystemClock(SessionClock clock) {
  if (clock) return clock;
  return [] { return system_clock::now(); };
}

}  // namespace

std::unique_ptr<SessionStore> MakeRedisSessionStore(redis::Client* redis) {
  return std::make_unique<RedisSessionStore>(redis);
}

std::unique_ptr<SessionStore> MakeMemorySessionStore(SessionClock clock) {
  return std::make_unique<MemorySessionStore>(OrSystemClock(std::move(clock)));
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(
    const v1::GateSecurityConfig& config, std::unique_ptr<SessionStore> store,
    std::function<absl::Status(const Identity&)> fiat_login,
    std::function<void(const std::string&)> fiat_logout, Clock clock) {
  if (!config.enabled()) return std::make_unique<DisabledAuthenticator>();
  if (store == nullptr) {
    return absl::InvalidArgumentError("security: no session store");
  }
  auto a = std::make_unique<EnabledAuthenticator>(
      config, std::move(store), std::move(fiat_login), std::move(fiat_logout),
      OrSystemClock(std::move(clock)));
  GENNAKER_RETURN_IF_ERROR(a->Init());
  return a;
}

}  // namespace gennaker::gate
