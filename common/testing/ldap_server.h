// A real OpenLDAP server for tests: Debian's slapd on a free loopback port,
// with a throwaway slapd.conf, an mdb database in a temporary directory and
// the entries the test gives as LDIF (loaded with slapadd before start).
// Optionally also ldaps:// on a second port and StartTLS, with a self-signed
// certificate made for 127.0.0.1 (ca_cert_file() to trust it). Destroying it
// stops slapd, waits for it and removes the directory; slapd also dies with
// the test process.
//
//   auto ldap = TestLdapServer::Start({.suffix = "dc=example,dc=com",
//                                      .ldif = kEntries});
//   config.set_url((*ldap)->url());  // ldap://127.0.0.1:<port>
#ifndef GENNAKER_COMMON_TESTING_LDAP_SERVER_H_
#define GENNAKER_COMMON_TESTING_LDAP_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace gennaker::testing {

struct LdapServerOptions {
  // The database suffix, e.g. "dc=example,dc=com"; the LDIF must create its
  // root entry.
  std::string suffix = "dc=example,dc=com";
  // Entries to load (users with userPassword in clear text or {SSHA}, groups
  // as groupOfUniqueNames ...). The cosine, inetorgperson and nis schemas are
  // loaded.
  std::string ldif;
  // The rootdn "cn=admin,<suffix>" binds with this password.
  std::string admin_password = "admin-secret";
  // Serve TLS too: StartTLS on the ldap:// port and ldaps:// on another.
  bool tls = false;
};

class TestLdapServer {
 public:
  // Started and answering. FAILED_PRECONDITION when slapd, slapadd or the
  // schemas are missing (install-deps installs them); UNAVAILABLE naming
  // the log when slapd does not start.
  static absl::StatusOr<std::unique_ptr<TestLdapServer>> Start(
      const LdapServerOptions& options);
  ~TestLdapServer();
  TestLdapServer(const TestLdapServer&) = delete;
  TestLdapServer& operator=(const TestLdapServer&) = delete;

  // "ldap://127.0.0.1:<port>".
  std::string url() const;
  // "ldaps://127.0.0.1:<tls_port>" (tls only).
  std::string ldaps_url() const;
  int port() const { return port_; }
  // "cn=admin,<suffix>" and its password.
  std::string admin_dn() const;
  const std::string& admin_password() const { return options_.admin_password; }
  // PEM of the self-signed CA (tls only).
  std::string ca_cert_file() const;
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

 private:
  explicit TestLdapServer(LdapServerOptions options)
      : options_(std::move(options)) {}
  absl::Status Launch();

  LdapServerOptions options_;
  pid_t pid_ = 0;
  int port_ = 0;
  int tls_port_ = 0;
  std::string dir_;
};

}  // namespace gennaker::testing

#endif  // GENNAKER_COMMON_TESTING_LDAP_SERVER_H_
