// What echo accepts in its notification settings (NotificationsConfig), as
// plain predicates: echo's BuildSenders refuses a config that breaks them at
// start, and halyard's validation uses the very same functions so that a
// config halyard accepts never makes echo refuse to start. Header-only
// (absl strings only) so halyard needs no link dependency on echo.
#ifndef GENNAKER_SERVICES_ECHO_NOTIFY_CONFIG_RULES_H_
#define GENNAKER_SERVICES_ECHO_NOTIFY_CONFIG_RULES_H_

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace gennaker::echo::config_rules {

// A bare addr-spec (local@domain): the local part of letters, digits and
// !#$%&'*+-/=?^_`{|}~. (no leading or trailing dot, at most 64 characters),
// one '@', a domain of letters, digits, '-' and '.' (not starting with '.'
// or '-', not ending with '.', no ".."); at most 254 characters.
inline bool ValidEmailAddress(absl::string_view address) {
  if (address.empty() || address.size() > 254) return false;
  const size_t at = address.find('@');
  if (at == absl::string_view::npos || at == 0 || at + 1 >= address.size() ||
      address.find('@', at + 1) != absl::string_view::npos) {
    return false;
  }
  absl::string_view local = address.substr(0, at);
  absl::string_view domain = address.substr(at + 1);
  if (local.size() > 64) return false;
  for (unsigned char c : local) {
    if (absl::ascii_isalnum(c)) continue;
    if (c == '\0' || std::strchr("!#$%&'*+-/=?^_`{|}~.", c) == nullptr) {
      return false;
    }
  }
  if (local.front() == '.' || local.back() == '.') return false;
  if (domain.front() == '.' || domain.back() == '.' || domain.front() == '-') {
    return false;
  }
  for (unsigned char c : domain) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.') return false;
  }
  return !absl::StrContains(domain, "..");
}

// A Slack token goes into a URL and a header: no control characters, spaces,
// '?' or '#'. (Emptiness is checked separately: "required".)
inline bool ValidSlackToken(absl::string_view token) {
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '?' || c == '#') {
      return false;
    }
  }
  return true;
}

// An SMTP host goes into an smtp:// URL: a host name or address, without
// spaces, control characters, '/', '@', '?' or '#'. (Emptiness is checked
// separately.)
inline bool ValidSmtpHost(absl::string_view host) {
  for (char c : host) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '@' ||
        c == '?' || c == '#') {
      return false;
    }
  }
  return true;
}

// SMTP AUTH over a connection without STARTTLS would send the credentials
// in clear: a username needs starttls.
inline bool SmtpCredentialsProtected(absl::string_view username,
                                     bool starttls) {
  return username.empty() || starttls;
}

}  // namespace gennaker::echo::config_rules

#endif  // GENNAKER_SERVICES_ECHO_NOTIFY_CONFIG_RULES_H_
