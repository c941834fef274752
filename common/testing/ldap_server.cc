#include "common/testing/ldap_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/process/process.h"
#include "common/status/status_macros.h"
#include "common/testing/test_stores.h"

namespace gennaker::testing {
namespace {

constexpr char kSlapd[] = "/usr/sbin/slapd";
constexpr char kSlapadd[] = "/usr/sbin/slapadd";
constexpr char kOpenssl[] = "/usr/bin/openssl";
constexpr char kSchemaDir[] = "/etc/ldap/schema";
constexpr char kModuleDir[] = "/usr/lib/ldap";
constexpr const char* kSchemas[] = {"core", "cosine", "inetorgperson", "nis"};
constexpr absl::Duration kReadyTimeout = absl::Seconds(20);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LogTail(const std::string& path) {
  std::string log = ReadFile(path);
  if (log.size() > 800) log = log.substr(log.size() - 800);
  return log;
}

// Whether something accepts TCP connections on 127.0.0.1:port.
bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// Runs a setup command; its output goes to `log` and is quoted on failure.
absl::Status RunStep(const std::vector<std::string>& argv,
                     const std::string& log) {
  process::SpawnOptions o;
  o.argv = argv;
  o.log_file = log;
  absl::StatusOr<int> rc = process::Run(o);
  if (!rc.ok()) return rc.status();
  if (*rc != 0) {
    return absl::InternalError(
        absl::StrCat(argv[0], " exited with ", *rc, ": ", LogTail(log)));
  }
  return absl::OkStatus();
}

// slapd.conf values are quoted; the paths and suffix come from the test.
std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestLdapServer>> TestLdapServer::Start(
    const LdapServerOptions& options) {
  for (const char* bin : {kSlapd, kSlapadd}) {
    if (access(bin, X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          bin, " is not installed (apt-get install slapd ldap-utils)"));
    }
  }
  for (const char* schema : kSchemas) {
    const std::string path = absl::StrCat(kSchemaDir, "/", schema, ".schema");
    if (access(path.c_str(), R_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is missing (apt-get install slapd)"));
    }
  }
  if (options.tls && access(kOpenssl, X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(kOpenssl, " is not installed (apt-get install openssl)"));
  }
  auto s = std::unique_ptr<TestLdapServer>(new TestLdapServer(options));
  s->dir_ = MakeTempDir("slapd");
  const std::string& dir = s->dir_;
  GENNAKER_RETURN_IF_ERROR(process::MakeDirs(absl::StrCat(dir, "/db")));

  if (options.tls) {
    // One self-signed certificate is both the CA and the server's.
    GENNAKER_RETURN_IF_ERROR(
        RunStep({kOpenssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", absl::StrCat(dir, "/key.pem"), "-out",
                 s->ca_cert_file(), "-days", "2", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                 "-addext", "basicConstraints=critical,CA:TRUE"},
                absl::StrCat(dir, "/openssl.log")));
  }

  std::string conf;
  for (const char* schema : kSchemas) {
    absl::StrAppend(&conf, "include ", kSchemaDir, "/", schema, ".schema\n");
  }
  absl::StrAppend(&conf, "pidfile ", Quoted(dir + "/slapd.pid"), "\n",
                  "argsfile ", Quoted(dir + "/slapd.args"), "\n", "modulepath ",
                  kModuleDir, "\nmoduleload back_mdb\n");
  if (options.tls) {
    absl::StrAppend(&conf, "TLSCACertificateFile ", Quoted(s->ca_cert_file()),
                    "\nTLSCertificateFile ", Quoted(s->ca_cert_file()),
                    "\nTLSCertificateKeyFile ", Quoted(dir + "/key.pem"), "\n");
  }
  absl::StrAppend(
      &conf, "database mdb\nmaxsize 104857600\n", "suffix ",
      Quoted(options.suffix), "\n", "rootdn ", Quoted(s->admin_dn()), "\n",
      "rootpw ", Quoted(options.admin_password), "\n", "directory ",
      Quoted(dir + "/db"), "\n",
      // Users may bind (and change their own password); everything else,
      // passwords excepted, is readable (the rootdn reads all anyway).
      "access to attrs=userPassword by anonymous auth by self write by * "
      "none\n",
      "access to * by * read\n");
  const std::string conf_file = absl::StrCat(dir, "/slapd.conf");
  GENNAKER_RETURN_IF_ERROR(process::WritePrivateFile(conf_file, conf));
  const std::string ldif_file = absl::StrCat(dir, "/data.ldif");
  GENNAKER_RETURN_IF_ERROR(process::WritePrivateFile(ldif_file, options.ldif));
  if (!options.ldif.empty()) {
    GENNAKER_RETURN_IF_ERROR(
        RunStep({kSlapadd, "-q", "-f", conf_file, "-l", ldif_file},
                absl::StrCat(dir, "/slapadd.log")));
  }

  // A port taken between FreePort and slapd's bind: try again on another.
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    last = s->Launch();
    if (last.ok()) return s;
  }
  return last;
}

absl::Status TestLdapServer::Launch() {
  GENNAKER_ASSIGN_OR_RETURN(port_, process::FreePort());
  std::string urls = absl::StrCat("ldap://127.0.0.1:", port_, "/");
  if (options_.tls) {
    GENNAKER_ASSIGN_OR_RETURN(tls_port_, process::FreePort());
    if (tls_port_ == port_) {
      return absl::UnavailableError("the same free port twice");
    }
    absl::StrAppend(&urls, " ", ldaps_url(), "/");
  }
  const std::string log = absl::StrCat(dir_, "/slapd.log");
  process::SpawnOptions o;
  // -d keeps slapd in the foreground (so it can die with the test); "stats"
  // logs connections and operations, never passwords. As root, slapd simply
  // runs as root: the files are ours.
  o.argv = {kSlapd, "-d", "stats", "-f", dir_ + "/slapd.conf", "-h", urls};
  o.log_file = log;
  o.die_with_parent = true;
  GENNAKER_ASSIGN_OR_RETURN(pid_, process::Spawn(o));
  const absl::Time deadline = absl::Now() + kReadyTimeout;
  while (absl::Now() < deadline) {
    if (!process::IsAlive(pid_)) {
      pid_ = 0;
      return absl::UnavailableError(absl::StrCat("slapd exited at start (log ",
                                                 log, "): ", LogTail(log)));
    }
    if (Accepts(port_) && (!options_.tls || Accepts(tls_port_))) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(30));
  }
  (void)process::Terminate(pid_, absl::Seconds(5));
  pid_ = 0;
  return absl::UnavailableError(absl::StrCat(
      "slapd did not listen on 127.0.0.1:", port_, " within ",
      absl::FormatDuration(kReadyTimeout), " (log ", log, "): ", LogTail(log)));
}

TestLdapServer::~TestLdapServer() {
  if (pid_ != 0) (void)process::Terminate(pid_, absl::Seconds(5));
  pid_ = 0;
  if (!dir_.empty()) RemoveTree(dir_);
}

std::string TestLdapServer::url() const {
  return absl::StrCat("ldap://127.0.0.1:", port_);
}

std::string TestLdapServer::ldaps_url() const {
  return absl::StrCat("ldaps://127.0.0.1:", tls_port_);
}

std::string TestLdapServer::admin_dn() const {
  return absl::StrCat("cn=admin,", options_.suffix);
}

std::string TestLdapServer::ca_cert_file() const {
  return absl::StrCat(dir_, "/ca.pem");
}

}  // namespace gennaker::testing
