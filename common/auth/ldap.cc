#include "common/auth/ldap.h"

#include <openssl/sha.h>

#define LDAP_DEPRECATED 0
#include <arpa/inet.h>
#include <ldap.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace gennaker::auth {
namespace {

constexpr int kDefaultTimeoutSeconds = 5;
constexpr char kDefaultGroupSearchFilter[] = "(uniqueMember={0})";
constexpr char kDefaultGroupRoleAttribute[] = "cn";
constexpr char kBadCredentials[] = "bad credentials";

// Whether `host` is this machine: a bind to it does not cross a network.
bool IsLoopback(const std::string& host) {
  if (absl::AsciiStrToLower(host) == "localhost") return true;
  unsigned char bytes[16];
  if (inet_pton(AF_INET, host.c_str(), bytes) == 1) return bytes[0] == 127;
  if (inet_pton(AF_INET6, host.c_str(), bytes) == 1) {
    static constexpr unsigned char kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 1};
    return std::equal(bytes, bytes + 16, kLoopback6);
  }
  return false;
}

absl::Status BadCredentials() {
  return absl::UnauthenticatedError(kBadCredentials);
}

// Client-side failures (no server, TLS, timeouts) and a busy server mean the
// directory is unavailable; anything else is an unexpected answer.
bool IsUnavailable(int rc) {
  return rc < 0 || rc == LDAP_BUSY || rc == LDAP_UNAVAILABLE ||
         rc == LDAP_TIMELIMIT_EXCEEDED || rc == LDAP_ADMINLIMIT_EXCEEDED;
}

// The server's or libldap's diagnostic text (e.g. why TLS failed); never
// holds a password.
std::string Diagnostic(LDAP* ld) {
  char* msg = nullptr;
  if (ld == nullptr ||
      ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) !=
          LDAP_OPT_SUCCESS ||
      msg == nullptr) {
    return "";
  }
  std::string out(msg);
  ldap_memfree(msg);
  return out;
}

// Owns an LDAP handle; unbinding closes the connection.
class Handle {
 public:
  explicit Handle(LDAP* ld) : ld_(ld) {}
  Handle(Handle&& o) noexcept : ld_(std::exchange(o.ld_, nullptr)) {}
  Handle& operator=(Handle&&) = delete;
  ~Handle() {
    if (ld_ != nullptr) ldap_unbind_ext_s(ld_, nullptr, nullptr);
  }
  LDAP* get() const { return ld_; }

 private:
  LDAP* ld_;
};

// Owns a search result chain.
class Result {
 public:
  Result() = default;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result() {
    if (msg_ != nullptr) ldap_msgfree(msg_);
  }
  LDAPMessage** out() { return &msg_; }
  LDAPMessage* get() const { return msg_; }

 private:
  LDAPMessage* msg_ = nullptr;
};

// The values of `attr` in `entry`.
std::vector<std::string> Values(LDAP* ld, LDAPMessage* entry,
                                const char* attr) {
  std::vector<std::string> out;
  berval** vals = ldap_get_values_len(ld, entry, attr);
  if (vals == nullptr) return out;
  for (berval** v = vals; *v != nullptr; ++v) {
    out.emplace_back((*v)->bv_val, (*v)->bv_len);
  }
  ldap_value_free_len(vals);
  return out;
}

class LdapDirectoryImpl : public LdapDirectory {
 public:
  LdapDirectoryImpl(common::v1::LdapConfig config, std::string server_url,
                    std::string root_dn, bool tls)
      : config_(std::move(config)),
        server_url_(std::move(server_url)),
        root_dn_(std::move(root_dn)),
        tls_(tls) {
    if (config_.timeout_seconds() <= 0) {
      config_.set_timeout_seconds(kDefaultTimeoutSeconds);
    }
    if (config_.group_search_filter().empty()) {
      config_.set_group_search_filter(kDefaultGroupSearchFilter);
    }
    if (config_.group_role_attribute().empty()) {
      config_.set_group_role_attribute(kDefaultGroupRoleAttribute);
    }
  }

  absl::StatusOr<LdapUser> Authenticate(
      const std::string& user, const std::string& password) const override {
    // An empty password would make a simple bind anonymous, and succeed.
    if (user.empty() || password.empty()) return BadCredentials();
    GENNAKER_ASSIGN_OR_RETURN(Handle conn, Connect());
    std::string dn;
    if (!config_.user_search_filter().empty()) {
      GENNAKER_RETURN_IF_ERROR(BindManager(conn));
      GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> found,
                                SearchUserDn(conn, user));
      if (!found.has_value()) return BadCredentials();
      dn = *std::move(found);
    } else {
      dn = PatternDn(user);
    }
    if (dn.empty()) return BadCredentials();

    berval cred;
    cred.bv_val = const_cast<char*>(password.data());
    cred.bv_len = password.size();
    const int rc = ldap_sasl_bind_s(conn.get(), dn.c_str(), LDAP_SASL_SIMPLE,
                                    &cred, nullptr, nullptr, nullptr);
    if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INVALID_DN_SYNTAX ||
        rc == LDAP_UNWILLING_TO_PERFORM || rc == LDAP_INAPPROPRIATE_AUTH ||
        rc == LDAP_NO_SUCH_OBJECT) {
      // Not the DN: a password typed into the user field would be in it.
      SPDLOG_INFO("ldap: bind as user {} refused: {}", UserIdForLogs(user),
                  ldap_err2string(rc));
      return BadCredentials();
    }
    if (rc != LDAP_SUCCESS) return Error(conn, rc, "bind as the user");

    LdapUser out;
    out.id = user;
    out.dn = dn;
    GENNAKER_RETURN_IF_ERROR(ReadAttributes(conn, &out));
    if (!config_.group_search_base().empty()) {
      // Groups are read with the manager's rights, as in Spinnaker.
      GENNAKER_RETURN_IF_ERROR(BindManager(conn));
      GENNAKER_ASSIGN_OR_RETURN(out.groups, SearchGroups(conn, dn, user));
    }
    return out;
  }

  absl::StatusOr<std::vector<std::string>> Groups(
      const std::string& user) const override {
    if (config_.group_search_base().empty() || user.empty()) {
      return std::vector<std::string>();
    }
    GENNAKER_ASSIGN_OR_RETURN(Handle conn, Connect());
    GENNAKER_RETURN_IF_ERROR(BindManager(conn));
    std::string dn;
    if (!config_.user_search_filter().empty()) {
      GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> found,
                                SearchUserDn(conn, user));
      // No DN: likely a service account, which has no LDAP roles.
      if (!found.has_value()) return std::vector<std::string>();
      dn = *std::move(found);
    } else {
      dn = PatternDn(user);
    }
    return SearchGroups(conn, dn, user);
  }

 private:
  absl::Status Error(const Handle& conn, int rc, absl::string_view what) const {
    std::string msg = absl::StrCat("ldap ", server_url_, ": ", what,
                                   " failed: ", ldap_err2string(rc));
    const std::string diag = Diagnostic(conn.get());
    if (!diag.empty()) absl::StrAppend(&msg, " (", diag, ")");
    if (IsUnavailable(rc)) return absl::UnavailableError(msg);
    return absl::InternalError(msg);
  }

  // A relative DN under the root DN from the URL.
  std::string Full(const std::string& relative) const {
    if (root_dn_.empty()) return relative;
    if (relative.empty()) return root_dn_;
    return absl::StrCat(relative, ",", root_dn_);
  }

  std::string PatternDn(const std::string& user) const {
    return Full(absl::StrReplaceAll(config_.user_dn_pattern(),
                                    {{"{0}", EscapeLdapDnValue(user)}}));
  }

  timeval Timeout() const {
    timeval tv{};
    tv.tv_sec = config_.timeout_seconds();
    return tv;
  }

  // A handle on the server, TLS negotiated when configured. libldap connects
  // lazily: without StartTLS the first bind or search connects.
  absl::StatusOr<Handle> Connect() const {
    LDAP* ld = nullptr;
    int rc = ldap_initialize(&ld, server_url_.c_str());
    if (rc != LDAP_SUCCESS) {
      return absl::UnavailableError(absl::StrCat(
          "ldap ", server_url_, ": cannot initialize: ", ldap_err2string(rc)));
    }
    Handle conn(ld);
    const int version = LDAP_VERSION3;
    const timeval tv = Timeout();
    // Referrals would send the manager's bind to another server.
    if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) !=
            LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) !=
            LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) !=
            LDAP_OPT_SUCCESS) {
      return absl::InternalError(
          absl::StrCat("ldap ", server_url_, ": cannot set options"));
    }
    if (tls_) {
      const int demand = LDAP_OPT_X_TLS_DEMAND;
      if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) !=
          LDAP_OPT_SUCCESS) {
        return absl::InternalError(absl::StrCat(
            "ldap ", server_url_, ": cannot demand a certificate"));
      }
      if (!config_.ca_cert_file().empty() &&
          ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE,
                          config_.ca_cert_file().c_str()) != LDAP_OPT_SUCCESS) {
        return absl::InternalError(absl::StrCat("ldap ", server_url_,
                                                ": cannot use CA file ",
                                                config_.ca_cert_file()));
      }
      // The options above apply to this handle's own TLS context.
      const int is_server = 0;
      if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server) !=
          LDAP_OPT_SUCCESS) {
        return absl::UnavailableError(absl::StrCat(
            "ldap ", server_url_, ": cannot create a TLS context (CA file ",
            config_.ca_cert_file(), ")"));
      }
    }
    if (config_.start_tls()) {
      rc = ldap_start_tls_s(ld, nullptr, nullptr);
      if (rc != LDAP_SUCCESS) {
        // Whatever the server says, no bind may go out in clear text.
        std::string msg = absl::StrCat(
            "ldap ", server_url_, ": StartTLS failed: ", ldap_err2string(rc));
        const std::string diag = Diagnostic(ld);
        if (!diag.empty()) absl::StrAppend(&msg, " (", diag, ")");
        return absl::UnavailableError(msg);
      }
    }
    return conn;
  }

  // Binds as the manager, or anonymously when there is none.
  absl::Status BindManager(const Handle& conn) const {
    berval cred;
    cred.bv_val = const_cast<char*>(config_.manager_password().data());
    cred.bv_len = config_.manager_password().size();
    const int rc =
        ldap_sasl_bind_s(conn.get(), config_.manager_dn().c_str(),
                         LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
    if (rc == LDAP_SUCCESS) return absl::OkStatus();
    if (rc == LDAP_INVALID_CREDENTIALS) {
      // A configuration error, but the directory is unusable all the same.
      return absl::UnavailableError(absl::StrCat(
          "ldap ", server_url_, ": the manager bind as ", config_.manager_dn(),
          " was refused: ", ldap_err2string(rc)));
    }
    return Error(
        conn, rc,
        config_.manager_dn().empty() ? "anonymous bind" : "manager bind");
  }

  // The DN of the one entry user_search_filter finds; nullopt for none or
  // several.
  absl::StatusOr<std::optional<std::string>> SearchUserDn(
      const Handle& conn, const std::string& user) const {
    const std::string base = Full(config_.user_search_base());
    const std::string filter = absl::StrReplaceAll(
        config_.user_search_filter(), {{"{0}", EscapeLdapFilterValue(user)}});
    char no_attrs[] = LDAP_NO_ATTRS;
    char* attrs[] = {no_attrs, nullptr};
    timeval tv = Timeout();
    Result res;
    const int rc = ldap_search_ext_s(conn.get(), base.c_str(),
                                     LDAP_SCOPE_SUBTREE, filter.c_str(), attrs,
                                     0, nullptr, nullptr, &tv, 2, res.out());
    if (rc == LDAP_SIZELIMIT_EXCEEDED) {
      SPDLOG_WARN("ldap: user search for {} under {} found several entries",
                  UserIdForLogs(user), base);
      return std::nullopt;
    }
    if (rc == LDAP_NO_SUCH_OBJECT) {
      SPDLOG_WARN("ldap: user search base {} does not exist", base);
      return std::nullopt;
    }
    if (rc != LDAP_SUCCESS) return Error(conn, rc, "user search");
    const int count = ldap_count_entries(conn.get(), res.get());
    if (count != 1) {
      if (count > 1) {
        SPDLOG_WARN("ldap: user search for {} under {} found {} entries",
                    UserIdForLogs(user), base, count);
      }
      return std::nullopt;
    }
    LDAPMessage* entry = ldap_first_entry(conn.get(), res.get());
    char* dn = ldap_get_dn(conn.get(), entry);
    if (dn == nullptr) return std::nullopt;
    std::string out(dn);
    ldap_memfree(dn);
    return out;
  }

  // mail, givenName and sn of the bound user's entry, read with its own
  // rights; an entry the user may not read leaves them empty.
  absl::Status ReadAttributes(const Handle& conn, LdapUser* user) const {
    char mail[] = "mail", given[] = "givenName", sn[] = "sn";
    char* attrs[] = {mail, given, sn, nullptr};
    char filter[] = "(objectClass=*)";
    timeval tv = Timeout();
    Result res;
    const int rc =
        ldap_search_ext_s(conn.get(), user->dn.c_str(), LDAP_SCOPE_BASE, filter,
                          attrs, 0, nullptr, nullptr, &tv, 1, res.out());
    if (IsUnavailable(rc)) return Error(conn, rc, "reading the user's entry");
    if (rc != LDAP_SUCCESS) return absl::OkStatus();
    LDAPMessage* entry = ldap_first_entry(conn.get(), res.get());
    if (entry == nullptr) return absl::OkStatus();
    auto first = [&](const char* attr) {
      std::vector<std::string> v = Values(conn.get(), entry, attr);
      return v.empty() ? std::string() : v.front();
    };
    user->email = first(mail);
    user->first_name = first(given);
    user->last_name = first(sn);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> SearchGroups(
      const Handle& conn, const std::string& dn,
      const std::string& user) const {
    const std::string base = Full(config_.group_search_base());
    const std::string filter = absl::StrReplaceAll(
        config_.group_search_filter(), {{"{0}", EscapeLdapFilterValue(dn)},
                                        {"{1}", EscapeLdapFilterValue(user)}});
    std::string role_attr = config_.group_role_attribute();
    char* attrs[] = {role_attr.data(), nullptr};
    timeval tv = Timeout();
    Result res;
    const int rc = ldap_search_ext_s(
        conn.get(), base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs, 0,
        nullptr, nullptr, &tv, LDAP_NO_LIMIT, res.out());
    if (rc == LDAP_SIZELIMIT_EXCEEDED) {
      SPDLOG_WARN("ldap: group search {} under {} hit the size limit", filter,
                  base);
    } else if (rc != LDAP_SUCCESS) {
      return Error(conn, rc, absl::StrCat("group search under ", base));
    }
    std::vector<std::string> groups;
    for (LDAPMessage* e = ldap_first_entry(conn.get(), res.get()); e != nullptr;
         e = ldap_next_entry(conn.get(), e)) {
      for (std::string& v : Values(conn.get(), e, role_attr.c_str())) {
        absl::AsciiStrToLower(&v);
        if (!v.empty()) groups.push_back(std::move(v));
      }
    }
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    return groups;
  }

  common::v1::LdapConfig config_;
  const std::string server_url_;  // scheme://host:port
  const std::string root_dn_;     // from the URL's path; may be empty
  const bool tls_;                // ldaps:// or StartTLS
};

}  // namespace

absl::StatusOr<std::unique_ptr<LdapDirectory>> LdapDirectory::Create(
    const common::v1::LdapConfig& config) {
  if (config.url().empty()) {
    return absl::InvalidArgumentError("ldap.url is empty");
  }
  LDAPURLDesc* lud = nullptr;
  if (ldap_url_parse(config.url().c_str(), &lud) != LDAP_URL_SUCCESS ||
      lud == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("ldap.url ", config.url(),
                     " is not an LDAP URL (ldap://host:port/dn)"));
  }
  const std::string scheme =
      absl::AsciiStrToLower(lud->lud_scheme != nullptr ? lud->lud_scheme : "");
  const std::string host = lud->lud_host != nullptr ? lud->lud_host : "";
  int port = lud->lud_port;
  const std::string root_dn = lud->lud_dn != nullptr ? lud->lud_dn : "";
  ldap_free_urldesc(lud);
  if (scheme != "ldap" && scheme != "ldaps") {
    return absl::InvalidArgumentError(absl::StrCat(
        "ldap.url ", config.url(), ": the scheme must be ldap or ldaps"));
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ldap.url ", config.url(), " has no host"));
  }
  if (port == 0) port = scheme == "ldaps" ? LDAPS_PORT : LDAP_PORT;
  if (config.user_dn_pattern().empty() && config.user_search_filter().empty()) {
    return absl::InvalidArgumentError(
        "ldap.user_dn_pattern or ldap.user_search_filter must be set");
  }
  if (config.start_tls() && scheme == "ldaps") {
    return absl::InvalidArgumentError(
        "ldap.start_tls applies to ldap:// only (ldaps:// is TLS already)");
  }
  if (!config.manager_dn().empty() && config.manager_password().empty()) {
    // An empty password would make the manager's bind anonymous.
    return absl::InvalidArgumentError(
        "ldap.manager_password is empty while ldap.manager_dn is set");
  }
  if (!config.ca_cert_file().empty() &&
      access(config.ca_cert_file().c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ldap.ca_cert_file ", config.ca_cert_file(), " is not readable"));
  }
  if (config.timeout_seconds() < 0) {
    return absl::InvalidArgumentError("ldap.timeout_seconds is negative");
  }
  const bool v6 = host.find(':') != std::string::npos;
  std::string server_url = absl::StrCat(scheme, "://", v6 ? "[" : "", host,
                                        v6 ? "]" : "", ":", port);
  const bool tls = scheme == "ldaps" || config.start_tls();
  if (!tls && !IsLoopback(host)) {
    SPDLOG_WARN(
        "ldap {}: neither ldaps:// nor start_tls: user passwords cross the "
        "network in clear text",
        server_url);
  }
  return std::unique_ptr<LdapDirectory>(
      new LdapDirectoryImpl(config, std::move(server_url), root_dn, tls));
}

std::string UserIdForLogs(absl::string_view user) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(user.data()), user.size(),
         digest);
  return absl::StrCat("sha256:",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(digest), 4)));
}

std::string EscapeLdapFilterValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '*':
        out += "\\2a";
        break;
      case '(':
        out += "\\28";
        break;
      case ')':
        out += "\\29";
        break;
      case '\\':
        out += "\\5c";
        break;
      case '\0':
        out += "\\00";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeLdapDnValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    switch (c) {
      case ',':
      case '+':
      case '"':
      case '\\':
      case '<':
      case '>':
      case ';':
      case '=':
        out += '\\';
        out += c;
        break;
      case '\0':
        out += "\\00";
        break;
      case '#':
        if (i == 0) out += '\\';
        out += c;
        break;
      case ' ':
        if (i == 0 || i + 1 == value.size()) out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace gennaker::auth
