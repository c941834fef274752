#include "services/halyard/halconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/auth/users_file.h"
#include "common/config/config_loader.h"
#include "common/http/outbound_config.h"
#include "common/log/logging.h"
#include "common/process/process.h"
#include "common/service/defaults.h"
#include "common/spinnaker/names.h"
#include "common/status/status_macros.h"
#include "common/version.h"
#include "re2/re2.h"
#include "services/echo/notify/config_rules.h"

namespace gennaker::halyard {
namespace {

v1::ServiceSettings* MutableSettings(v1::Halconfig* config,
                                     absl::string_view service) {
  auto* services = config->mutable_services();
  const auto* field =
      services->GetDescriptor()->FindFieldByName(std::string(service));
  return static_cast<v1::ServiceSettings*>(
      services->GetReflection()->MutableMessage(services, field));
}

// `path` absolute (against the current directory) and normalized: the
// services run in other working directories.
std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return (ec ? std::filesystem::path(path) : absolute)
      .lexically_normal()
      .string();
}

// Every port `config` binds besides the managed Prometheus's.
std::set<int> PortsBesidesPrometheus(const v1::Halconfig& c) {
  std::set<int> ports;
  for (absl::string_view name : kServiceNames) {
    if (!Enabled(c, name)) continue;
    const v1::ServiceSettings& s = Settings(c, name);
    for (int p : {s.grpc_port(), s.admin_port(), ServiceHttpPort(c, name)}) {
      if (p > 0) ports.insert(p);
    }
  }
  if (c.storage().mode() != v1::STORAGE_MODE_EXTERNAL) {
    ports.insert(c.storage().postgres().port());
    ports.insert(c.storage().redis().port());
  }
  if (UiEnabled(c) && c.ui().port() > 0) ports.insert(c.ui().port());
  return ports;
}

// Kayenta's REST API (Spinnaker's Kayenta listens on 8090, which is kayenta's
// gRPC port here) goes beside it on 8091 in a default deployment; a
// deployment with its own ports gets it only where services.kayenta.httpPort
// asks, so that a fixed port never collides with theirs.
constexpr int kKayentaDefaultHttpPort = 8091;

constexpr char kDefaultPrometheusAccount[] = "prometheus";
// Canary windows of a minute need a dozen points per instance.
constexpr char kDefaultScrapeInterval[] = "5s";
constexpr char kFileSdName[] = "prometheus-targets.json";

// Collects problems with their dotted keys.
class Problems {
 public:
  explicit Problems(std::vector<v1::ValidationProblem>* out) : out_(out) {}
  void Add(std::string key, std::string message) {
    v1::ValidationProblem p;
    p.set_key(std::move(key));
    p.set_message(std::move(message));
    out_->push_back(std::move(p));
  }

 private:
  std::vector<v1::ValidationProblem>* out_;
};

// An http(s) URL with a host and no user name, query or fragment.
bool HttpUrl(const std::string& url) {
  static const LazyRE2 kUrl = {R"(https?://[^/?#@\s]+(/[^?#\s]*)?)"};
  return RE2::FullMatch(url, *kUrl);
}

constexpr char kUrlRule[] =
    "must be an http:// or https:// URL with no user name, query or fragment";

// `url` at `key`: required, or optional when empty is allowed.
void CheckUrl(Problems& p, const std::string& key, const std::string& url,
              bool required) {
  if (url.empty()) {
    if (required) p.Add(key, "is required");
    return;
  }
  if (!HttpUrl(url)) p.Add(key, kUrlRule);
}

// A name that travels in URL paths and pipeline JSON.
bool ValidCiName(const std::string& name) {
  static const LazyRE2 kCiName = {"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"};
  return RE2::FullMatch(name, *kCiName);
}

constexpr char kCiNameRule[] =
    "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
    "or digit";

// A password (or token) needs the user name it belongs to.
void CheckPair(Problems& p, const std::string& prefix,
               const std::string& username, const std::string& password) {
  if (!password.empty() && username.empty()) {
    p.Add(prefix + "username", "is required when a password is set");
  }
}

// A clone URL igor can fetch: http(s)/ssh/git/file URLs (no query or
// fragment), scp-like git@host:path, or an absolute local path.
bool ValidCloneUrl(const std::string& url) {
  static const LazyRE2 kClone = {
      R"(((https?|ssh|git)://[^/?#\s]+(/[^?#\s]*)?)|(file:///[^\s]*)|)"
      R"(([A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+)|(/[^\s]*))"};
  return RE2::FullMatch(url, *kClone);
}

// `url` with any user information ("https://token@host/...", "user:pass@")
// replaced by "***": a clone URL may carry a token as its user name.
std::string RedactUserinfo(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3;
  const size_t end = url.find_first_of("/?#", host);
  const size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < host) return url;
  return absl::StrCat(url.substr(0, host), "***", url.substr(at));
}

void ValidateCi(const v1::HalCi& ci, Problems& p) {
  std::map<std::string, std::string> names;  // master name -> key
  auto unique = [&](const std::string& key, const std::string& name) {
    auto [it, inserted] = names.emplace(name, key);
    if (!inserted) {
      p.Add(key, absl::StrCat("master name '", name, "' is also used by ",
                              it->second));
    }
  };
  for (int i = 0; i < ci.jenkins_size(); ++i) {
    const v1::HalJenkinsMaster& m = ci.jenkins(i);
    const std::string prefix = absl::StrCat("ci.jenkins[", i, "].");
    if (m.name().empty()) {
      p.Add(prefix + "name", "is required");
    } else if (!ValidCiName(m.name())) {
      p.Add(prefix + "name", kCiNameRule);
    } else if (absl::StartsWith(m.name(), "travis-")) {
      // Deck would list it among the Travis masters, not the Jenkins ones.
      p.Add(prefix + "name",
            "must not start with 'travis-' (Deck lists such masters as "
            "Travis masters)");
    } else {
      unique(prefix + "name", m.name());
    }
    CheckUrl(p, prefix + "address", m.address(), true);
    CheckPair(p, prefix, m.username(), m.password());
  }
  for (int i = 0; i < ci.travis_size(); ++i) {
    const v1::HalTravisMaster& m = ci.travis(i);
    const std::string prefix = absl::StrCat("ci.travis[", i, "].");
    if (m.name().empty()) {
      p.Add(prefix + "name", "is required");
    } else if (!ValidCiName(m.name())) {
      p.Add(prefix + "name", kCiNameRule);
    } else {
      unique(prefix + "name", TravisMasterName(m));
    }
    CheckUrl(p, prefix + "address", m.address(), true);
    CheckUrl(p, prefix + "baseUrl", m.base_url(), false);
    for (int j = 0; j < m.repositories_size(); ++j) {
      if (!RE2::FullMatch(m.repositories(j),
                          "[A-Za-z0-9._-]+/[A-Za-z0-9._-]+")) {
        p.Add(absl::StrCat(prefix, "repositories[", j, "]"),
              "must be owner/name");
      }
    }
  }
  std::set<std::string> registries;
  for (int i = 0; i < ci.docker_registries_size(); ++i) {
    const v1::HalDockerRegistry& r = ci.docker_registries(i);
    const std::string prefix = absl::StrCat("ci.dockerRegistries[", i, "].");
    if (r.name().empty()) {
      p.Add(prefix + "name", "is required");
    } else if (!ValidCiName(r.name())) {
      p.Add(prefix + "name", kCiNameRule);
    } else if (!registries.insert(r.name()).second) {
      p.Add(prefix + "name",
            absl::StrCat("registry name '", r.name(), "' is used twice"));
    }
    CheckUrl(p, prefix + "address", r.address(), true);
    CheckPair(p, prefix, r.username(), r.password());
    for (int j = 0; j < r.repositories_size(); ++j) {
      if (!spinnaker::ValidDockerRepository(r.repositories(j))) {
        p.Add(absl::StrCat(prefix, "repositories[", j, "]"),
              "must be a docker repository name such as library/nginx");
      }
    }
  }
  for (int i = 0; i < ci.git_size(); ++i) {
    const v1::HalGitRepository& g = ci.git(i);
    const std::string prefix = absl::StrCat("ci.git[", i, "].");
    static const char* kSources[] = {"github", "gitlab", "bitbucket", "stash"};
    if (std::find(std::begin(kSources), std::end(kSources), g.source()) ==
        std::end(kSources)) {
      p.Add(prefix + "source", "must be github, gitlab, bitbucket or stash");
    }
    if (g.project().empty()) p.Add(prefix + "project", "is required");
    if (g.slug().empty()) p.Add(prefix + "slug", "is required");
    if (g.url().empty()) {
      p.Add(prefix + "url", "is required");
    } else if (!ValidCloneUrl(g.url())) {
      p.Add(prefix + "url",
            "must be an http(s)://, ssh://, git://, file:// or git@host:path "
            "URL, or an absolute path");
    }
    for (int j = 0; j < g.branches_size(); ++j) {
      if (g.branches(j).empty()) {
        p.Add(absl::StrCat(prefix, "branches[", j, "]"), "must not be empty");
      }
    }
  }
  const int interval = ci.polling().interval_seconds();
  if (interval < 0 || interval > 86400) {
    p.Add("ci.polling.intervalSeconds",
          "must be in 1..86400 seconds (0: igor's default, 60)");
  }
}

// An IP address or CIDR block ("10.0.0.0/8", "::1").
bool ValidIpOrCidr(const std::string& source) {
  const size_t slash = source.find('/');
  const std::string ip = source.substr(0, slash);
  unsigned char buf[sizeof(struct in6_addr)];
  int max_bits = 0;
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    max_bits = 32;
  } else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    max_bits = 128;
  } else {
    return false;
  }
  if (slash == std::string::npos) return true;
  int bits = -1;
  const std::string suffix = source.substr(slash + 1);
  return !suffix.empty() && suffix.size() <= 3 &&
         std::all_of(suffix.begin(), suffix.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; }) &&
         absl::SimpleAtoi(suffix, &bits) && bits <= max_bits;
}

// A users file at `key`: an absolute path (after "~/") to a file gate and
// fiat can parse. Only its path and the parser's message are reported: the
// file holds password hashes.
void CheckUsersFile(Problems& p, const std::string& key,
                    const std::string& configured) {
  const std::string path = ExpandHome(configured);
  if (path.empty() || path[0] != '/') {
    p.Add(key, "must be an absolute path (or start with ~/)");
    return;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    p.Add(key, absl::StrCat(path,
                            " does not exist or is not a regular file (write "
                            "it first; `halyard hash-password` makes the "
                            "password hashes)"));
    return;
  }
  std::ifstream in(path);
  if (!in) {
    p.Add(key, absl::StrCat(path, " cannot be read"));
    return;
  }
  const std::string text((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  absl::StatusOr<std::vector<auth::FileUser>> users =
      auth::ParseUsersFile(text);
  if (!users.ok()) {
    p.Add(key, absl::StrCat(path, ": ", users.status().message()));
  }
}

// An LDAP directory at `prefix` (security.authn.ldap, ...): its URL and the
// rules of its fields; an empty url means none.
void CheckLdap(Problems& p, const std::string& prefix,
               const common::v1::LdapConfig& ldap) {
  if (ldap.url().empty()) {
    if (!ldap.manager_dn().empty() || !ldap.user_dn_pattern().empty() ||
        !ldap.user_search_filter().empty() ||
        !ldap.group_search_base().empty()) {
      p.Add(prefix + ".url", "is required when other LDAP settings are set");
    }
    return;
  }
  static const LazyRE2 kLdapUrl = {R"(ldaps?://[^/?#@\s]+(/[^?#\s]*)?)"};
  if (!RE2::FullMatch(ldap.url(), *kLdapUrl)) {
    p.Add(prefix + ".url",
          "must be an ldap:// or ldaps:// URL with no user name, query or "
          "fragment (the bind DN goes in managerDn)");
  }
  if (!ldap.manager_password().empty() && ldap.manager_dn().empty()) {
    p.Add(prefix + ".managerDn", "is required when managerPassword is set");
  }
  if (!ldap.ca_cert_file().empty()) {
    std::error_code ec;
    const std::string ca = ExpandHome(ldap.ca_cert_file());
    if (ca[0] != '/' || !std::filesystem::is_regular_file(ca, ec)) {
      p.Add(prefix + ".caCertFile",
            absl::StrCat(ca, " is not an absolute path to an existing file"));
    }
  }
  for (const std::string& v : config::RuleViolations(ldap, prefix)) {
    const size_t colon = v.find(": ");
    p.Add(v.substr(0, colon), v.substr(colon + 2));
  }
}

void ValidateSecurity(const v1::Halconfig& c, Problems& p) {
  const v1::HalAuthn& authn = c.security().authn();
  const v1::HalAuthz& authz = c.security().authz();
  if (!authn.users_file().empty()) {
    CheckUsersFile(p, "security.authn.usersFile", authn.users_file());
  }
  CheckLdap(p, "security.authn.ldap", authn.ldap());
  if (authn.enabled() && authn.users_file().empty() &&
      authn.ldap().url().empty()) {
    p.Add("security.authn.enabled",
          "needs security.authn.usersFile or security.authn.ldap.url (who "
          "may log in)");
  }
  if (authn.session_idle_timeout_seconds() < 0) {
    p.Add("security.authn.sessionIdleTimeoutSeconds",
          "must not be negative (0: 3600)");
  }
  for (int i = 0; i < authn.trusted_user_header_sources_size(); ++i) {
    if (!ValidIpOrCidr(authn.trusted_user_header_sources(i))) {
      p.Add(absl::StrCat("security.authn.trustedUserHeaderSources[", i, "]"),
            "must be an IP address or a CIDR block such as 10.0.0.0/8");
    }
  }
  if (!authz.roles_file().empty()) {
    CheckUsersFile(p, "security.authz.rolesFile", authz.roles_file());
  }
  CheckLdap(p, "security.authz.ldap", authz.ldap());
  const std::string& provider = authz.roles_provider();
  if (!provider.empty() && provider != "file" && provider != "ldap" &&
      provider != "external") {
    p.Add("security.authz.rolesProvider", "must be file, ldap or external");
  }
  for (int i = 0; i < authz.admin_roles_size(); ++i) {
    if (absl::StripAsciiWhitespace(authz.admin_roles(i)).empty()) {
      p.Add(absl::StrCat("security.authz.adminRoles[", i, "]"),
            "must not be empty");
    }
  }
  if (!authz.enabled()) return;
  if (!Enabled(c, "fiat")) {
    p.Add("security.authz.enabled",
          "needs fiat, but services.fiat.enabled is false");
  }
  if (provider.empty()) {
    p.Add("security.authz.rolesProvider",
          "is required when security.authz.enabled is true (file, ldap or "
          "external)");
  } else if (provider == "file" && authz.roles_file().empty() &&
             authn.users_file().empty()) {
    p.Add("security.authz.rolesFile",
          "is required by the file roles provider (or set "
          "security.authn.usersFile)");
  } else if (provider == "ldap" && authz.ldap().url().empty() &&
             authn.ldap().url().empty()) {
    p.Add("security.authz.ldap.url",
          "is required by the ldap roles provider (or set "
          "security.authn.ldap.url)");
  } else if (provider == "external" && !authn.enabled()) {
    p.Add("security.authz.rolesProvider",
          "external roles come from gate's logins: enable security.authn");
  }
}

void ValidateNotifications(const v1::HalNotifications& n, Problems& p) {
  // The rules echo's BuildSenders applies at start (config_rules.h): what
  // passes here never makes echo refuse to start.
  const v1::HalSlack& slack = n.slack();
  if (slack.enabled() && slack.token().empty()) {
    p.Add("notifications.slack.token", "is required when slack is enabled");
  } else if (slack.enabled() &&
             !echo::config_rules::ValidSlackToken(slack.token())) {
    p.Add("notifications.slack.token",
          "holds characters a token cannot have (spaces, control "
          "characters, '?' or '#')");
  }
  CheckUrl(p, "notifications.slack.baseUrl", slack.base_url(), false);
  CheckUrl(p, "notifications.slack.webhookBaseUrl", slack.webhook_base_url(),
           false);
  const v1::HalEmail& email = n.email();
  if (email.enabled()) {
    if (email.from().empty()) {
      p.Add("notifications.email.from", "is required when email is enabled");
    } else if (!echo::config_rules::ValidEmailAddress(email.from())) {
      p.Add("notifications.email.from",
            "must be an email address such as spinnaker@example.com");
    }
    if (email.smtp_host().empty()) {
      p.Add("notifications.email.smtpHost",
            "is required when email is enabled");
    } else if (!echo::config_rules::ValidSmtpHost(email.smtp_host())) {
      p.Add("notifications.email.smtpHost",
            "must be a host name or address (no spaces, '/', '@', '?' or "
            "'#')");
    }
    if (!echo::config_rules::SmtpCredentialsProtected(email.username(),
                                                      email.starttls())) {
      p.Add("notifications.email.starttls",
            "a username needs starttls (credentials would travel in clear)");
    }
  }
  if (email.smtp_port() < 0 || email.smtp_port() > 65535) {
    p.Add("notifications.email.smtpPort", "must be a port in 1..65535 (0: 25)");
  }
  CheckPair(p, "notifications.email.", email.username(), email.password());
  const v1::HalTwilio& twilio = n.twilio();
  if (twilio.enabled()) {
    for (const auto& [key, value] : {std::pair<const char*, const std::string*>{
                                         "account", &twilio.account()},
                                     {"token", &twilio.token()},
                                     {"from", &twilio.from()}}) {
      if (value->empty()) {
        p.Add(absl::StrCat("notifications.twilio.", key),
              "is required when twilio is enabled");
      }
    }
  }
  CheckUrl(p, "notifications.twilio.baseUrl", twilio.base_url(), false);
  CheckUrl(p, "notifications.spinnakerBaseUrl", n.spinnaker_base_url(), false);
}

// A directory setting at `key`: empty (the default) or an absolute path
// (after "~/").
void CheckDirSetting(Problems& p, const std::string& key,
                     const std::string& configured) {
  if (configured.empty()) return;
  const std::string path = ExpandHome(configured);
  if (path[0] != '/') {
    p.Add(key, "must be an absolute path (or start with ~/)");
  } else if (path.find_first_of("\n\r\t") != std::string::npos) {
    p.Add(key, "must not contain control characters");
  }
}

// A packer template name: a plain file name inside packerConfigDir.
bool PlainFileName(const std::string& name) {
  static const LazyRE2 kFile = {"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"};
  return RE2::FullMatch(name, *kFile) && name.find("..") == std::string::npos;
}

constexpr char kFileNameRule[] =
    "must be a plain file name inside bakery.packerConfigDir (letters, "
    "digits, '.', '_', '-'; no '/' or '..')";

// "local" for CLOUD_PROVIDER_TYPE_LOCAL (as the halconfig may spell it).
std::string ProviderLabel(rosco::v1::CloudProviderType type) {
  return absl::AsciiStrToLower(absl::StripPrefix(
      rosco::v1::CloudProviderType_Name(type), "CLOUD_PROVIDER_TYPE_"));
}

// The bakery section, with rosco's own start-up rules (rosco_server.cc's
// ValidateConfig) so that a saved config never makes rosco refuse to start.
void ValidateBakery(const v1::Halconfig& c, Problems& p) {
  const v1::HalBakery& b = c.bakery();
  CheckDirSetting(p, "bakery.packerConfigDir", b.packer_config_dir());
  CheckDirSetting(p, "bakery.imageStoreDir", b.image_store_dir());
  CheckDirSetting(p, "bakery.packageRepositoryDir", b.package_repository_dir());
  CheckDirSetting(p, "bakery.workDir", b.work_dir());
  if (!b.packer_binary().empty()) {
    const std::string bin = ExpandHome(b.packer_binary());
    if (bin.find_first_of(" \t\n\r") != std::string::npos) {
      p.Add("bakery.packerBinary",
            "must be a program name or path without spaces");
    } else if (bin.find('/') != std::string::npos && bin[0] != '/') {
      p.Add("bakery.packerBinary",
            "must be a name looked up in PATH or an absolute path");
    }
  }
  if (b.max_concurrent_bakes() < 0 || b.max_concurrent_bakes() > 64) {
    p.Add("bakery.maxConcurrentBakes",
          "must be in 1..64 (0: rosco's default, 2)");
  }
  if (b.bake_timeout_seconds() < 0 || b.bake_timeout_seconds() > 86400) {
    p.Add("bakery.bakeTimeoutSeconds",
          "must be in 1..86400 seconds (0: rosco's default, 1800)");
  }
  std::set<int> providers;
  for (int i = 0; i < b.providers_size(); ++i) {
    const rosco::v1::ProviderBakeConfig& pc = b.providers(i);
    const std::string prefix = absl::StrCat("bakery.providers[", i, "].");
    if (pc.cloud_provider_type() ==
        rosco::v1::CLOUD_PROVIDER_TYPE_UNSPECIFIED) {
      p.Add(prefix + "cloudProviderType",
            "is required (local, docker, aws, gce, azure, ...)");
    } else if (!providers.insert(pc.cloud_provider_type()).second) {
      p.Add(prefix + "cloudProviderType",
            absl::StrCat("'", ProviderLabel(pc.cloud_provider_type()),
                         "' is configured twice"));
    }
    if (!pc.template_file().empty() && !PlainFileName(pc.template_file())) {
      p.Add(prefix + "templateFile", kFileNameRule);
    }
    if (!pc.default_vm_type().empty() && pc.default_vm_type() != "hvm" &&
        pc.default_vm_type() != "pv") {
      p.Add(prefix + "defaultVmType", "must be hvm or pv");
    }
    std::set<std::string> ids;
    for (int j = 0; j < pc.base_images_size(); ++j) {
      const rosco::v1::BaseImage& image = pc.base_images(j);
      const std::string key = absl::StrCat(prefix, "baseImages[", j, "].");
      if (image.id().empty()) {
        p.Add(key + "id", "is required (the baseOs bakes name)");
      } else if (!RE2::FullMatch(image.id(),
                                 "[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
        p.Add(key + "id",
              "must be 1 to 128 letters, digits, '.', '_' or '-', starting "
              "with a letter or digit");
      } else if (!ids.insert(image.id()).second) {
        p.Add(key + "id",
              absl::StrCat("base image '", image.id(), "' is listed twice"));
      }
      if (!image.template_file().empty() &&
          !PlainFileName(image.template_file())) {
        p.Add(key + "templateFile", kFileNameRule);
      } else if (image.template_file().empty() && pc.template_file().empty()) {
        p.Add(key + "templateFile",
              absl::StrCat("is required: ", prefix,
                           "templateFile names no default template"));
      }
      if (!image.os_type().empty() && image.os_type() != "linux" &&
          image.os_type() != "windows") {
        p.Add(key + "osType", "must be linux or windows");
      }
    }
  }
  if (b.default_cloud_provider() !=
          rosco::v1::CLOUD_PROVIDER_TYPE_UNSPECIFIED &&
      b.providers_size() > 0 &&
      !providers.contains(b.default_cloud_provider())) {
    p.Add("bakery.defaultCloudProvider",
          absl::StrCat("'", ProviderLabel(b.default_cloud_provider()),
                       "' is not one of bakery.providers"));
  }
  for (int i = 0; i < b.templates_needing_root_size(); ++i) {
    if (!PlainFileName(b.templates_needing_root(i))) {
      p.Add(absl::StrCat("bakery.templatesNeedingRoot[", i, "]"),
            kFileNameRule);
    }
  }
  const v1::HalLocalProvider& local = c.providers().local();
  for (int i = 0; i < local.accounts_size(); ++i) {
    CheckDirSetting(
        p, absl::StrCat("providers.local.accounts[", i, "].imageStoreDir"),
        local.accounts(i).image_store_dir());
  }
}

// A Kubernetes resource quantity ("50m", "0.5", "64Mi", "1e3") in base units
// (cores, bytes); nullopt when the text is not a non-negative quantity.
std::optional<long double> ParseQuantity(const std::string& text) {
  static const LazyRE2 kQuantity = {
      R"(([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|)"
      R"([eE][-+]?[0-9]{1,3})?)"};
  std::string number;
  std::string suffix;
  if (!RE2::FullMatch(text, *kQuantity, &number, &suffix)) return std::nullopt;
  long double value = std::strtold(number.c_str(), nullptr);
  static const std::map<std::string, long double> kScale = {
      {"", 1.0L},
      {"n", 1e-9L},
      {"u", 1e-6L},
      {"m", 1e-3L},
      {"k", 1e3L},
      {"M", 1e6L},
      {"G", 1e9L},
      {"T", 1e12L},
      {"P", 1e15L},
      {"E", 1e18L},
      {"Ki", 1024.0L},
      {"Mi", 1048576.0L},
      {"Gi", 1073741824.0L},
      {"Ti", 1099511627776.0L},
      {"Pi", 1125899906842624.0L},
      {"Ei", 1152921504606846976.0L}};
  if (auto it = kScale.find(suffix); it != kScale.end()) {
    return value * it->second;
  }
  // A decimal exponent: e3, E-2.
  return value * std::pow(10.0L, std::strtold(suffix.c_str() + 1, nullptr));
}

// A DNS-1123 label (Kubernetes namespace and object names).
bool Dns1123Label(const std::string& name) {
  static const LazyRE2 kLabel = {"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"};
  return RE2::FullMatch(name, *kLabel);
}

// An image repository as the Docker reference grammar has it:
// [registry[:port]/]path, path components lowercase.
constexpr char kRepositoryPattern[] =
    R"((?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))"
    R"((?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*)"
    R"((?::[0-9]+)?/)?)"
    R"([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)"
    R"((?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)";
constexpr char kTagPattern[] = R"([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})";

bool ImageRepository(const std::string& repository) {
  static const LazyRE2 kRepository = {kRepositoryPattern};
  return repository.size() <= 255 && RE2::FullMatch(repository, *kRepository);
}

bool ImageTag(const std::string& tag) {
  static const LazyRE2 kTag = {kTagPattern};
  return RE2::FullMatch(tag, *kTag);
}

// repository[:tag][@sha256:digest]
bool ImageReference(const std::string& image) {
  static const RE2* const kImage =
      new RE2(absl::StrCat("(", kRepositoryPattern, ")(:", kTagPattern,
                           ")?(@sha256:[a-f0-9]{64})?"));
  return image.size() <= 512 && RE2::FullMatch(image, *kImage);
}

// Whether `host` is this machine from where it is used: loopback names and
// addresses, or no host at all / a socket directory (a Unix socket).
bool LoopbackHost(absl::string_view host) {
  host = absl::StripPrefix(absl::StripSuffix(host, "]"), "[");
  return host.empty() || host[0] == '/' || host == "0.0.0.0" || host == "::" ||
         absl::EqualsIgnoreCase(host, "localhost") ||
         absl::StartsWith(host, "127.") || host == "::1" ||
         absl::StartsWith(host, "0:0:0:0:0:0:0:1");
}

// The hosts a libpq DSN connects to: key/value (host=, hostaddr=; none: the
// local socket) or URI (postgresql://[userinfo@]host[:port][,host...]/db, or
// ?host=). An empty entry means the local socket.
std::vector<std::string> PostgresHosts(absl::string_view dsn) {
  std::vector<std::string> hosts;
  auto add_list = [&](absl::string_view list) {
    for (absl::string_view h : absl::StrSplit(list, ',')) {
      hosts.emplace_back(h);
    }
  };
  if (absl::StartsWith(dsn, "postgres://") ||
      absl::StartsWith(dsn, "postgresql://")) {
    absl::string_view rest = dsn.substr(dsn.find("://") + 3);
    const size_t query = rest.find('?');
    absl::string_view params =
        query == absl::string_view::npos ? "" : rest.substr(query + 1);
    absl::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    if (size_t at = authority.rfind('@'); at != absl::string_view::npos) {
      authority.remove_prefix(at + 1);
    }
    for (absl::string_view param : absl::StrSplit(params, '&')) {
      if (absl::ConsumePrefix(&param, "host=") ||
          absl::ConsumePrefix(&param, "hostaddr=")) {
        add_list(param);
      }
    }
    if (!hosts.empty() && authority.empty()) return hosts;
    for (absl::string_view h : absl::StrSplit(authority, ',')) {
      // Strip the port (not inside an IPv6 literal).
      const size_t bracket = h.rfind(']');
      const size_t colon = h.rfind(':');
      if (colon != absl::string_view::npos &&
          (bracket == absl::string_view::npos || colon > bracket)) {
        h = h.substr(0, colon);
      }
      hosts.emplace_back(h);
    }
    return hosts;
  }
  for (absl::string_view field : absl::StrSplit(dsn, ' ', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&field, "host=") ||
        absl::ConsumePrefix(&field, "hostaddr=")) {
      add_list(absl::StripPrefix(absl::StripSuffix(field, "'"), "'"));
    }
  }
  if (hosts.empty()) hosts.emplace_back();  // the local socket
  return hosts;
}

// The host of a redis:// URL.
std::string RedisHost(absl::string_view url) {
  if (!absl::ConsumePrefix(&url, "redis://")) {
    absl::ConsumePrefix(&url, "rediss://");
  }
  url = url.substr(0, url.find_first_of("/?"));
  if (size_t at = url.rfind('@'); at != absl::string_view::npos) {
    url.remove_prefix(at + 1);
  }
  const size_t bracket = url.rfind(']');
  const size_t colon = url.rfind(':');
  if (colon != absl::string_view::npos &&
      (bracket == absl::string_view::npos || colon > bracket)) {
    url = url.substr(0, colon);
  }
  return std::string(url);
}

// Under KUBERNETES: every setting that names a file or directory on the
// operator's machine, which the rendered configs would carry into pods where
// it does not exist (halyard ships no files to pods yet). Refused here so
// that `deploy apply` stops before it touches the cluster.
void ValidateKubernetesFiles(const v1::Halconfig& c, Problems& p) {
  auto refuse = [&p](const std::string& key, const std::string& value,
                     absl::string_view instead) {
    p.Add(key, absl::StrCat("names a file on this machine; not shipped to "
                            "pods yet: ",
                            value, " (", instead, ")"));
  };
  constexpr absl::string_view kLeaveUnset =
      "leave it unset: the pods use the image's directories";
  const v1::HalSecurity& security = c.security();
  if (!security.authn().users_file().empty()) {
    refuse("security.authn.usersFile", security.authn().users_file(),
           "use security.authn.ldap on Kubernetes, or a LOCAL deployment");
  }
  if (!security.authz().roles_file().empty()) {
    refuse("security.authz.rolesFile", security.authz().roles_file(),
           "use the ldap or external roles provider on Kubernetes, or a "
           "LOCAL deployment");
  }
  for (const auto& [key, ldap] :
       {std::pair<const char*, const common::v1::LdapConfig*>{
            "security.authn.ldap.caCertFile", &security.authn().ldap()},
        {"security.authz.ldap.caCertFile", &security.authz().ldap()}}) {
    if (!ldap->ca_cert_file().empty()) {
      refuse(key, ldap->ca_cert_file(),
             "leave it unset to trust the image's system CAs");
    }
  }
  for (int i = 0; i < c.ci().git_size(); ++i) {
    const std::string& url = c.ci().git(i).url();
    if (absl::StartsWith(url, "file://") || absl::StartsWith(url, "/")) {
      refuse(absl::StrCat("ci.git[", i, "].url"), url,
             "name a repository the cluster reaches over https:// or git://");
    }
  }
  const v1::HalBakery& bakery = c.bakery();
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string*>{"bakery.packerConfigDir",
                                                   &bakery.packer_config_dir()},
        {"bakery.imageStoreDir", &bakery.image_store_dir()},
        {"bakery.packageRepositoryDir", &bakery.package_repository_dir()},
        {"bakery.workDir", &bakery.work_dir()},
        {"ui.bundleDir", &c.ui().bundle_dir()}}) {
    if (!value->empty()) refuse(key, *value, kLeaveUnset);
  }
  if (absl::StrContains(bakery.packer_binary(), '/')) {
    refuse("bakery.packerBinary", bakery.packer_binary(),
           "name a program in the image's PATH, or leave it unset");
  }
  const auto& accounts = c.providers().local().accounts();
  for (int i = 0; i < accounts.size(); ++i) {
    const std::string prefix =
        absl::StrCat("providers.local.accounts[", i, "].");
    for (const auto& [key, value] :
         {std::pair<const char*, const std::string*>{"stateDir",
                                                     &accounts[i].state_dir()},
          {"imageStoreDir", &accounts[i].image_store_dir()},
          {"prometheusFileSdPath", &accounts[i].prometheus_file_sd_path()}}) {
      if (!value->empty()) refuse(prefix + key, *value, kLeaveUnset);
    }
  }
}

// deploymentEnvironment: every value that is set, whatever the type (an
// invalid value is caught when it is saved, not at the first Kubernetes
// deploy); and under KUBERNETES what a pod could not use.
void ValidateDeploymentEnvironment(const v1::Halconfig& c, Problems& p) {
  const v1::HalDeploymentEnvironment& env = c.deployment_environment();
  const std::string prefix = "deploymentEnvironment.";
  if (!env.namespace_().empty() && !Dns1123Label(env.namespace_())) {
    p.Add(prefix + "namespace",
          "must be a DNS-1123 label: at most 63 lowercase letters, digits "
          "and '-', starting and ending with a letter or digit");
  }
  if (!env.image_repository().empty() &&
      !ImageRepository(env.image_repository())) {
    p.Add(prefix + "imageRepository",
          "must be an image repository such as gennaker or "
          "registry.example.com:5000/team/gennaker (lowercase path, no tag)");
  }
  if (!env.image_tag().empty() && !ImageTag(env.image_tag())) {
    p.Add(prefix + "imageTag",
          "must be an image tag: 1 to 128 letters, digits, '_', '.' or '-', "
          "not starting with '.' or '-'");
  }
  if (KubernetesDeployment(c) && env.image_tag().empty() &&
      !ImageTag(c.version())) {
    p.Add(prefix + "imageTag",
          absl::StrCat("is required: the version '", c.version(),
                       "' is not a valid image tag"));
  }
  // Every object carries the version as its app.kubernetes.io/version label.
  static const LazyRE2 kLabelValue = {
      "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"};
  if (KubernetesDeployment(c) && !c.version().empty() &&
      !RE2::FullMatch(c.version(), *kLabelValue)) {
    p.Add("version",
          "must be a Kubernetes label value under KUBERNETES: at most 63 "
          "letters, digits, '-', '_' or '.', starting and ending with a "
          "letter or digit");
  }
  const std::string& policy = env.image_pull_policy();
  if (!policy.empty() && policy != "IfNotPresent" && policy != "Always" &&
      policy != "Never") {
    p.Add(prefix + "imagePullPolicy", "must be IfNotPresent, Always or Never");
  }
  for (const auto& [key, image, example] :
       {std::tuple<const char*, const std::string*, const char*>{
            "postgresImage", &env.postgres_image(), kDefaultPostgresImage},
        {"redisImage", &env.redis_image(), kDefaultRedisImage}}) {
    if (!image->empty() && !ImageReference(*image)) {
      p.Add(prefix + key,
            absl::StrCat("must be an image reference such as ", example,
                         " (repository[:tag][@sha256:...])"));
    }
  }
  if (env.rollout_timeout_seconds() != 0 &&
      (env.rollout_timeout_seconds() < 10 ||
       env.rollout_timeout_seconds() > 3600)) {
    p.Add(prefix + "rolloutTimeoutSeconds", "must be in 10..3600 (0: 300)");
  }
  const std::string& type = env.gate_service_type();
  if (!type.empty() && type != "ClusterIP" && type != "NodePort" &&
      type != "LoadBalancer") {
    p.Add(prefix + "gateServiceType",
          "must be ClusterIP, NodePort or LoadBalancer");
  }
  for (absl::string_view name : kServiceNames) {
    if (name == "halyard") continue;  // runs on the operator's machine
    const v1::HalServiceSizing& sizing = ServiceSizing(env, name);
    const std::string key = absl::StrCat(prefix, "customSizing.", name, ".");
    // Every deployed service may be replicated (they coordinate through
    // PostgreSQL and Redis); 20 bounds a typo, not a design limit.
    if (sizing.has_replicas() &&
        (sizing.replicas() < 1 || sizing.replicas() > 20)) {
      p.Add(key + "replicas",
            absl::StrCat("must be in 1..20, got ", sizing.replicas()));
    }
    const v1::HalResources& r = sizing.resources();
    // Each value as set, or its default (cpu has no default limit).
    struct Resource {
      const char* name;
      std::string request;
      bool request_set;
      std::string limit;
      bool limit_set;
    };
    const Resource resources[] = {
        {"cpu",
         r.requests().cpu().empty() ? kDefaultCpuRequest : r.requests().cpu(),
         !r.requests().cpu().empty(), r.limits().cpu(),
         !r.limits().cpu().empty()},
        {"memory",
         r.requests().memory().empty() ? kDefaultMemoryRequest
                                       : r.requests().memory(),
         !r.requests().memory().empty(),
         r.limits().memory().empty() ? kDefaultMemoryLimit
                                     : r.limits().memory(),
         !r.limits().memory().empty()}};
    for (const Resource& res : resources) {
      const std::string request_key =
          absl::StrCat(key, "resources.requests.", res.name);
      const std::string limit_key =
          absl::StrCat(key, "resources.limits.", res.name);
      std::optional<long double> request = ParseQuantity(res.request);
      std::optional<long double> limit;
      if (!res.limit.empty()) limit = ParseQuantity(res.limit);
      bool valid = true;
      for (const auto& [set, k, text, value] :
           {std::tuple(res.request_set, request_key, res.request, request),
            std::tuple(res.limit_set, limit_key, res.limit, limit)}) {
        if (set && !value) {
          p.Add(k, absl::StrCat("'", text,
                                "' is not a Kubernetes quantity (such as 50m, "
                                "0.5, 64Mi or 1Gi)"));
          valid = false;
        }
      }
      // Decimal and binary scales are not exact in floating point ("0.5" and
      // "500m"): equal within rounding counts as equal.
      if (!valid || !request || !limit || *request <= *limit * (1 + 1e-9L)) {
        continue;
      }
      // Blame the value the operator set (a request above the default
      // limit, or a limit below the default request).
      if (res.request_set) {
        p.Add(request_key,
              absl::StrCat("the request ", res.request, " exceeds the limit ",
                           res.limit, res.limit_set ? "" : " (the default)"));
      } else {
        p.Add(limit_key,
              absl::StrCat("the limit ", res.limit, " is below the request ",
                           res.request, " (the default)"));
      }
    }
  }
  if (!KubernetesDeployment(c)) return;
  ValidateKubernetesFiles(c, p);
  // A pod reaches nothing on the operator's loopback.
  const v1::HalStorage& storage = c.storage();
  if (storage.mode() == v1::STORAGE_MODE_EXTERNAL) {
    for (const std::string& host : PostgresHosts(storage.postgres().dsn())) {
      if (storage.postgres().dsn().empty() || !LoopbackHost(host)) continue;
      p.Add("storage.postgres.dsn",
            host.empty() || host[0] == '/'
                ? "names no host (a local Unix socket): pods need a "
                  "PostgreSQL host the cluster reaches"
                : absl::StrCat("names ", host,
                               ", a loopback host: pods cannot reach the "
                               "operator's machine there; name a host the "
                               "cluster reaches"));
      break;
    }
    if (absl::StartsWith(storage.redis().url(), "redis")) {
      const std::string host = RedisHost(storage.redis().url());
      if (LoopbackHost(host)) {
        p.Add("storage.redis.url",
              absl::StrCat("names ", host.empty() ? "no host" : host,
                           ", a loopback host: pods cannot reach the "
                           "operator's machine there; name a host the "
                           "cluster reaches"));
      }
    }
  }
}

}  // namespace

int ServiceHttpPort(const v1::Halconfig& config, absl::string_view service) {
  const v1::ServiceSettings& s = Settings(config, service);
  if (service == "gate") return s.http_port();
  if (service == "kayenta") {
    if (s.http_port() > 0) return s.http_port();
    return s.grpc_port() == DefaultGrpcPort("kayenta") ? kKayentaDefaultHttpPort
                                                       : 0;
  }
  if (service == "fiat") {
    // fiat always serves its REST API (/authorize, /roles).
    return s.http_port() > 0 ? s.http_port() : s.grpc_port() + 1;
  }
  return 0;
}

bool KubernetesDeployment(const v1::Halconfig& config) {
  return config.deployment_environment().type() ==
         v1::DEPLOYMENT_ENVIRONMENT_TYPE_KUBERNETES;
}

const v1::HalServiceSizing& ServiceSizing(
    const v1::HalDeploymentEnvironment& environment,
    absl::string_view service) {
  const v1::HalCustomSizing& sizing = environment.custom_sizing();
  const auto* field =
      sizing.GetDescriptor()->FindFieldByName(std::string(service));
  if (field == nullptr) return v1::HalServiceSizing::default_instance();
  return static_cast<const v1::HalServiceSizing&>(
      sizing.GetReflection()->GetMessage(sizing, field));
}

v1::HalDeploymentEnvironment EffectiveDeploymentEnvironment(
    const v1::Halconfig& config) {
  v1::HalDeploymentEnvironment env = config.deployment_environment();
  if (env.type() == v1::DEPLOYMENT_ENVIRONMENT_TYPE_UNSPECIFIED) {
    env.set_type(v1::DEPLOYMENT_ENVIRONMENT_TYPE_LOCAL);
  }
  auto fill = [](std::string* value, absl::string_view fallback) {
    if (value->empty()) *value = std::string(fallback);
  };
  fill(env.mutable_namespace_(), kDefaultKubernetesNamespace);
  fill(env.mutable_image_repository(), kDefaultImageRepository);
  fill(env.mutable_image_tag(), config.version());
  fill(env.mutable_image_pull_policy(), kDefaultImagePullPolicy);
  fill(env.mutable_postgres_image(), kDefaultPostgresImage);
  fill(env.mutable_redis_image(), kDefaultRedisImage);
  fill(env.mutable_gate_service_type(), kDefaultGateServiceType);
  if (env.rollout_timeout_seconds() == 0) {
    env.set_rollout_timeout_seconds(kDefaultRolloutTimeoutSeconds);
  }
  v1::HalCustomSizing* sizing = env.mutable_custom_sizing();
  for (absl::string_view name : kServiceNames) {
    const auto* field =
        sizing->GetDescriptor()->FindFieldByName(std::string(name));
    if (field == nullptr) continue;  // halyard
    auto* s = static_cast<v1::HalServiceSizing*>(
        sizing->GetReflection()->MutableMessage(sizing, field));
    if (!s->has_replicas()) s->set_replicas(1);
    v1::HalResources* r = s->mutable_resources();
    fill(r->mutable_requests()->mutable_cpu(), kDefaultCpuRequest);
    fill(r->mutable_requests()->mutable_memory(), kDefaultMemoryRequest);
    fill(r->mutable_limits()->mutable_memory(), kDefaultMemoryLimit);
  }
  return env;
}

bool UiEnabled(const v1::Halconfig& config) {
  return !config.ui().has_enabled() || config.ui().enabled();
}

std::string UiBundleDir(const v1::Halconfig& config) {
  std::filesystem::path dir;
  if (!config.ui().bundle_dir().empty()) {
    dir = ExpandHome(config.ui().bundle_dir());
  } else {
    std::string bin = ExpandHome(config.bin_dir());
    if (bin.empty()) bin = EffectiveHalconfig(config).bin_dir();
    dir = std::filesystem::path(bin) / ".." / "ui" / "deck";
  }
  // gate runs in another working directory: it gets an absolute path.
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(dir, ec);
  return (ec ? dir : absolute).lexically_normal().string();
}

absl::Status CheckUiBundle(const v1::Halconfig& config) {
  if (!UiEnabled(config)) return absl::OkStatus();
  const std::string dir = UiBundleDir(config);
  std::error_code ec;
  if (std::filesystem::is_regular_file(
          std::filesystem::path(dir) / "index.html", ec)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "ui.bundleDir: ", dir,
      " has no index.html: build the UI with scripts/build-ui.sh (or set "
      "ui.bundleDir to a built bundle, or ui.enabled to false)"));
}

std::string TravisMasterName(const v1::HalTravisMaster& master) {
  if (absl::StartsWith(master.name(), "travis-")) return master.name();
  return absl::StrCat("travis-", master.name());
}

bool ManagedPrometheus(const v1::Halconfig& config) {
  return Enabled(config, "kayenta") &&
         config.canary().prometheus().base_url().empty();
}

int ManagedPrometheusPort(const v1::Halconfig& config) {
  if (config.canary().prometheus().port() != 0) {
    return config.canary().prometheus().port();
  }
  const std::set<int> taken = PortsBesidesPrometheus(config);
  int port = kDefaultPrometheusPort;
  while (taken.count(port) > 0) ++port;
  return port;
}

std::string PrometheusBaseUrl(const v1::Halconfig& config) {
  if (!ManagedPrometheus(config)) {
    return std::string(
        absl::StripSuffix(config.canary().prometheus().base_url(), "/"));
  }
  return absl::StrCat("http://127.0.0.1:", ManagedPrometheusPort(config));
}

std::string LocalAccountDir(const v1::Halconfig& config,
                            const clouddriver::v1::LocalAccount& account) {
  if (!account.state_dir().empty()) return account.state_dir();
  return absl::StrCat(ExpandHome(config.state_dir()),
                      "/data/clouddriver/local/", account.name());
}

std::string ExpandHome(const std::string& path) {
  if (path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    return absl::StrCat(home ? home : "/root", path.substr(1));
  }
  return path;
}

std::string DefaultHalconfigPath() { return ExpandHome("~/.hal/config"); }

v1::Halconfig DefaultHalconfig() {
  v1::Halconfig c;
  c.set_name("default");
  c.set_version(kVersion);
  // PostgreSQL runs as the postgres user when we are root, and cannot enter
  // /root: root's deployments live under /var/lib instead.
  c.set_state_dir(geteuid() == 0 ? "/var/lib/gennaker/default"
                                 : ExpandHome("~/.hal/default"));
  c.set_timezone("America/Los_Angeles");
  c.set_log_level("info");
  c.set_log_format("text");
  c.set_start_timeout_seconds(30);
  c.mutable_storage()->set_mode(v1::STORAGE_MODE_LOCAL_MANAGED);
  c.mutable_storage()->mutable_postgres()->set_port(15432);
  c.mutable_storage()->mutable_redis()->set_port(16379);
  for (absl::string_view name : kServiceNames) {
    v1::ServiceSettings* s = MutableSettings(&c, name);
    s->set_host("127.0.0.1");
    s->set_grpc_port(DefaultGrpcPort(name));
    s->set_admin_port(DefaultGrpcPort(name) + kAdminPortOffset);
    if (name == "gate") s->set_http_port(kGateHttpPort);
  }
  c.mutable_ui()->set_port(kDefaultUiPort);
  return c;
}

const v1::ServiceSettings& Settings(const v1::Halconfig& config,
                                    absl::string_view service) {
  const auto& services = config.services();
  const auto* field =
      services.GetDescriptor()->FindFieldByName(std::string(service));
  return static_cast<const v1::ServiceSettings&>(
      services.GetReflection()->GetMessage(services, field));
}

bool Enabled(const v1::Halconfig& config, absl::string_view service) {
  const v1::ServiceSettings& s = Settings(config, service);
  return !s.has_enabled() || s.enabled();
}

absl::StatusOr<v1::Halconfig> LoadHalconfig(const std::string& path) {
  v1::Halconfig config = DefaultHalconfig();
  GENNAKER_RETURN_IF_ERROR(config::MergeYamlFile(path, &config));
  return config;
}

absl::StatusOr<v1::Halconfig> ParseHalconfig(const std::string& yaml,
                                             const std::string& source) {
  v1::Halconfig config = DefaultHalconfig();
  GENNAKER_RETURN_IF_ERROR(config::MergeYaml(yaml, source, &config));
  return config;
}

v1::Halconfig EffectiveHalconfig(const v1::Halconfig& config) {
  v1::Halconfig c = config;
  for (absl::string_view name : kServiceNames) {
    v1::ServiceSettings* s = MutableSettings(&c, name);
    if (s->log_level().empty()) s->set_log_level(c.log_level());
  }
  v1::HalLocalProvider* local = c.mutable_providers()->mutable_local();
  if (!local->has_enabled()) local->set_enabled(true);
  if (local->enabled() && local->accounts_size() == 0) {
    auto* account = local->add_accounts();
    account->set_name("local");
    account->set_environment("test");
  }
  v1::HalPrometheus* prometheus = c.mutable_canary()->mutable_prometheus();
  if (prometheus->account_name().empty()) {
    prometheus->set_account_name(kDefaultPrometheusAccount);
  }
  if (ManagedPrometheus(c)) {
    prometheus->set_port(ManagedPrometheusPort(c));
    if (prometheus->scrape_interval().empty()) {
      prometheus->set_scrape_interval(kDefaultScrapeInterval);
    }
  }
  if (Enabled(c, "kayenta") && local->enabled()) {
    // Prometheus (managed, or the operator's on this machine) finds the
    // instances of each account in its file_sd file.
    for (auto& account : *local->mutable_accounts()) {
      if (account.prometheus_file_sd_path().empty()) {
        account.set_prometheus_file_sd_path(
            absl::StrCat(LocalAccountDir(c, account), "/", kFileSdName));
      }
    }
  }
  // Paths in the security section as the services get them (absolute).
  if (c.has_security()) {
    v1::HalSecurity* security = c.mutable_security();
    auto expand = [](std::string* path) {
      if (!path->empty()) *path = ExpandHome(*path);
    };
    if (security->has_authn()) {
      v1::HalAuthn* authn = security->mutable_authn();
      expand(authn->mutable_users_file());
      if (authn->has_ldap()) {
        expand(authn->mutable_ldap()->mutable_ca_cert_file());
      }
    }
    if (security->has_authz()) {
      v1::HalAuthz* authz = security->mutable_authz();
      expand(authz->mutable_roles_file());
      if (authz->has_ldap()) {
        expand(authz->mutable_ldap()->mutable_ca_cert_file());
      }
    }
  }
  if (!c.bin_dir().empty()) {
    c.set_bin_dir(ExpandHome(c.bin_dir()));
  } else {
    std::error_code ec;
    std::filesystem::path self =
        std::filesystem::read_symlink("/proc/self/exe", ec);
    c.set_bin_dir(ec ? "." : self.parent_path().string());
  }
  // After binDir: the default bundle sits beside it.
  v1::HalUi* ui = c.mutable_ui();
  ui->set_enabled(UiEnabled(c));
  ui->set_bundle_dir(UiBundleDir(c));
  // The bakery's directories, absolute (rosco runs in another working
  // directory); the image store is every local account's unless the account
  // names its own.
  v1::HalBakery* bakery = c.mutable_bakery();
  const std::string data = absl::StrCat(ExpandHome(c.state_dir()), "/data");
  auto dir = [](std::string* path, const std::string& fallback) {
    *path = AbsolutePath(path->empty() ? fallback : ExpandHome(*path));
  };
  dir(bakery->mutable_packer_config_dir(),
      absl::StrCat(c.bin_dir(), "/../share/rosco/packer"));
  dir(bakery->mutable_image_store_dir(), data + "/images");
  dir(bakery->mutable_package_repository_dir(), data + "/packages");
  dir(bakery->mutable_work_dir(), data + "/rosco/work");
  if (bakery->packer_binary().empty()) {
    bakery->set_packer_binary(kDefaultPackerBinary);
  } else {
    bakery->set_packer_binary(ExpandHome(bakery->packer_binary()));
  }
  for (auto& account : *local->mutable_accounts()) {
    if (account.image_store_dir().empty()) {
      account.set_image_store_dir(bakery->image_store_dir());
    } else {
      account.set_image_store_dir(
          AbsolutePath(ExpandHome(account.image_store_dir())));
    }
  }
  return c;
}

absl::Status CheckBakery(const v1::Halconfig& config) {
  if (!Enabled(config, "rosco")) return absl::OkStatus();
  const v1::Halconfig effective = EffectiveHalconfig(config);
  const std::string& dir = effective.bakery().packer_config_dir();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bakery.packerConfigDir: ", dir,
        " is not a directory: build rosco (it copies its packer templates to "
        "<build>/share/rosco/packer), or set bakery.packerConfigDir to a "
        "directory of packer templates, or services.rosco.enabled to false"));
  }
  // Every template the providers name is there (a bake would fail late).
  std::vector<std::string> missing;
  auto check = [&](const std::string& key, const std::string& file) {
    if (file.empty()) return;
    if (!std::filesystem::is_regular_file(std::filesystem::path(dir) / file,
                                          ec)) {
      missing.push_back(absl::StrCat(key, ": ", file, " is not in ", dir));
    }
  };
  const auto& providers = effective.bakery().providers();
  for (int i = 0; i < providers.size(); ++i) {
    const std::string prefix = absl::StrCat("bakery.providers[", i, "].");
    check(prefix + "templateFile", providers[i].template_file());
    for (int j = 0; j < providers[i].base_images_size(); ++j) {
      check(absl::StrCat(prefix, "baseImages[", j, "].templateFile"),
            providers[i].base_images(j).template_file());
    }
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(missing, "; "));
}

std::vector<v1::ValidationProblem> Validate(const v1::Halconfig& c) {
  std::vector<v1::ValidationProblem> problems;
  auto problem = [&](std::string key, std::string message) {
    v1::ValidationProblem p;
    p.set_key(std::move(key));
    p.set_message(std::move(message));
    problems.push_back(std::move(p));
  };
  static const LazyRE2 kName = {"[a-z0-9]([a-z0-9-]{0,62})"};
  if (!RE2::FullMatch(c.name(), *kName)) {
    problem("name",
            "must be lowercase letters, digits and '-', at most 63 characters");
  }
  if (c.version().empty()) problem("version", "is required");
  if (c.state_dir().empty()) problem("stateDir", "is required");
  if (c.start_timeout_seconds() < 1 || c.start_timeout_seconds() > 3600) {
    problem("startTimeoutSeconds", "must be in 1..3600");
  }
  static const char* kLevels[] = {"trace", "debug",    "info", "warn",
                                  "error", "critical", "off"};
  auto valid_level = [&](const std::string& level) {
    for (const char* l : kLevels) {
      if (level == l) return true;
    }
    return false;
  };
  if (!valid_level(c.log_level())) {
    problem("logLevel",
            "must be one of trace, debug, info, warn, error, critical, off");
  }
  if (c.log_format() != "text" && c.log_format() != "json") {
    problem("logFormat", "must be text or json");
  }
  // Every port this deployment binds, to find clashes.
  std::map<int, std::string> ports;
  auto port = [&](const std::string& key, int value) {
    if (value < 1 || value > 65535) {
      problem(key, absl::StrCat("must be a port in 1..65535, got ", value));
      return;
    }
    auto [it, inserted] = ports.emplace(value, key);
    if (!inserted)
      problem(key,
              absl::StrCat("port ", value, " is also used by ", it->second));
  };
  const auto& storage = c.storage();
  if (storage.mode() == v1::STORAGE_MODE_EXTERNAL) {
    if (storage.postgres().dsn().empty()) {
      problem("storage.postgres.dsn",
              "is required when storage.mode is EXTERNAL");
    }
    if (storage.redis().url().rfind("redis://", 0) != 0) {
      problem("storage.redis.url",
              "must be a redis://host:port URL when storage.mode is EXTERNAL");
    }
  } else {
    port("storage.postgres.port", storage.postgres().port());
    port("storage.redis.port", storage.redis().port());
  }
  for (absl::string_view name : kServiceNames) {
    const v1::ServiceSettings& s = Settings(c, name);
    std::string prefix = absl::StrCat("services.", name, ".");
    if (name == "halyard" || name == "gate") {
      if (s.has_enabled() && !s.enabled()) {
        problem(prefix + "enabled", "cannot be disabled: the suite needs it");
      }
    }
    if (!Enabled(c, name)) continue;
    if (s.host().empty()) problem(prefix + "host", "is required");
    port(prefix + "grpcPort", s.grpc_port());
    port(prefix + "adminPort", s.admin_port());
    if (const int http = ServiceHttpPort(c, name); name == "gate" || http) {
      port(prefix + "httpPort", http);
    }
    if (!s.cors_allowed_origins().empty() &&
        !RE2(s.cors_allowed_origins(), RE2::Quiet).ok()) {
      problem(prefix + "corsAllowedOrigins",
              "is not a valid regular expression");
    }
    if (!s.log_level().empty() && !valid_level(s.log_level())) {
      problem(prefix + "logLevel",
              "must be one of trace, debug, info, warn, error");
    }
    if (s.has_outbound()) {
      for (const std::string& v :
           config::RuleViolations(s.outbound(), prefix + "outbound")) {
        const size_t colon = v.find(": ");
        problem(v.substr(0, colon), v.substr(colon + 2));
      }
      absl::StatusOr<std::unique_ptr<http::OutboundClient>> client =
          http::OutboundClient::Create(
              http::OutboundPolicyFromConfig(s.outbound()));
      if (!client.ok()) {
        problem(prefix + "outbound", std::string(client.status().message()));
      }
    }
  }
  const v1::HalPrometheus& prometheus = c.canary().prometheus();
  const std::string& base_url = prometheus.base_url();
  if (!base_url.empty()) {
    static const LazyRE2 kUrl = {R"(https?://[^/?#@\s]+(/[^?#\s]*)?)"};
    if (!RE2::FullMatch(base_url, *kUrl)) {
      problem("canary.prometheus.baseUrl",
              "must be an http:// or https:// URL with no user name, query or "
              "fragment (credentials go in canary.prometheus.username and "
              "password)");
    }
  } else {
    if (!prometheus.username().empty() || !prometheus.password().empty()) {
      problem("canary.prometheus.password",
              "username and password are for the server named by "
              "canary.prometheus.baseUrl; the managed Prometheus needs none");
    }
  }
  if (!prometheus.account_name().empty() &&
      !RE2::FullMatch(prometheus.account_name(), "[A-Za-z0-9_-]{1,64}")) {
    problem("canary.prometheus.accountName",
            "must be letters, digits, '-' and '_', at most 64 characters");
  }
  if (!prometheus.scrape_interval().empty() &&
      !RE2::FullMatch(prometheus.scrape_interval(),
                      "([0-9]+(ms|s|m|h|d|w|y))+")) {
    problem("canary.prometheus.scrapeInterval",
            "must be a Prometheus duration such as 15s or 1m");
  }
  if (ManagedPrometheus(c)) {
    port("canary.prometheus.port", ManagedPrometheusPort(c));
  }
  Problems more(&problems);
  if (UiEnabled(c)) {
    port("ui.port", c.ui().port());
    CheckUrl(more, "ui.gateUrl", c.ui().gate_url(), false);
  }
  // echo evaluates every cron trigger in it and refuses to start without it.
  absl::TimeZone zone;
  if (!c.timezone().empty() && !absl::LoadTimeZone(c.timezone(), &zone)) {
    more.Add("timezone",
             "must be an IANA time zone such as America/Los_Angeles or UTC");
  }
  if (Enabled(c, "echo") && (!Enabled(c, "orca") || !Enabled(c, "front50"))) {
    more.Add("services.echo.enabled",
             "echo needs orca and front50: enable them or disable echo");
  }
  ValidateCi(c.ci(), more);
  ValidateNotifications(c.notifications(), more);
  ValidateSecurity(c, more);
  ValidateBakery(c, more);
  ValidateDeploymentEnvironment(c, more);
  // Settings for a service that will not run would be silently ignored.
  const v1::HalCi& ci = c.ci();
  if (!Enabled(c, "igor") && ci.jenkins_size() + ci.travis_size() +
                                     ci.docker_registries_size() +
                                     ci.git_size() >
                                 0) {
    more.Add("ci",
             "lists CI masters, registries or repositories but "
             "services.igor.enabled is false");
  }
  const v1::HalNotifications& n = c.notifications();
  if (!Enabled(c, "echo") && (n.slack().enabled() || n.email().enabled() ||
                              n.twilio().enabled() || n.webhook().enabled())) {
    more.Add("notifications",
             "enables a channel but services.echo.enabled is false");
  }
  return problems;
}

absl::Status ValidateStatus(const v1::Halconfig& config) {
  std::vector<v1::ValidationProblem> problems = Validate(config);
  if (problems.empty()) return absl::OkStatus();
  std::vector<std::string> lines;
  for (const auto& p : problems)
    lines.push_back(absl::StrCat(p.key(), ": ", p.message()));
  return absl::InvalidArgumentError(absl::StrJoin(lines, "; "));
}

absl::Status SaveHalconfig(const std::string& path,
                           const v1::Halconfig& config) {
  GENNAKER_RETURN_IF_ERROR(ValidateStatus(config));
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path())
    std::filesystem::create_directories(p.parent_path(), ec);
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  // Private: storage.postgres.dsn may carry a password.
  GENNAKER_RETURN_IF_ERROR(process::WritePrivateFile(
      tmp,
      absl::StrCat(
          "# Gennaker halconfig: edit with `halyard config set KEY VALUE`.\n",
          config::ToYaml(config))));
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return absl::InternalError(
        absl::StrCat("cannot replace ", path, ": ", ec.message()));
  return absl::OkStatus();
}

v1::Halconfig RedactedHalconfig(const v1::Halconfig& config) {
  v1::Halconfig out = config;
  v1::HalStorage* storage = out.mutable_storage();
  if (!storage->postgres().dsn().empty()) {
    storage->mutable_postgres()->set_dsn(
        RedactSecrets(storage->postgres().dsn()));
  }
  if (!storage->redis().url().empty()) {
    storage->mutable_redis()->set_url(RedactSecrets(storage->redis().url()));
  }
  v1::HalPrometheus* prometheus = out.mutable_canary()->mutable_prometheus();
  if (!prometheus->password().empty()) prometheus->set_password("***");
  if (!prometheus->base_url().empty()) {
    prometheus->set_base_url(RedactSecrets(prometheus->base_url()));
  }
  if (!out.canary().has_prometheus() ||
      out.canary().prometheus().ByteSizeLong() == 0) {
    out.mutable_canary()->clear_prometheus();
  }
  if (out.canary().ByteSizeLong() == 0) out.clear_canary();
  auto hide = [](std::string* secret) {
    if (!secret->empty()) *secret = "***";
  };
  v1::HalCi* ci = out.mutable_ci();
  for (auto& m : *ci->mutable_jenkins()) hide(m.mutable_password());
  for (auto& m : *ci->mutable_travis()) hide(m.mutable_token());
  for (auto& r : *ci->mutable_docker_registries()) hide(r.mutable_password());
  for (auto& g : *ci->mutable_git()) g.set_url(RedactUserinfo(g.url()));
  if (out.ci().ByteSizeLong() == 0) out.clear_ci();
  v1::HalNotifications* n = out.mutable_notifications();
  hide(n->mutable_slack()->mutable_token());
  hide(n->mutable_email()->mutable_password());
  hide(n->mutable_twilio()->mutable_token());
  if (n->slack().ByteSizeLong() == 0) n->clear_slack();
  if (n->email().ByteSizeLong() == 0) n->clear_email();
  if (n->twilio().ByteSizeLong() == 0) n->clear_twilio();
  if (out.notifications().ByteSizeLong() == 0) out.clear_notifications();
  hide(out.mutable_triggers()->mutable_git_shared_secret());
  if (out.triggers().ByteSizeLong() == 0) out.clear_triggers();
  // Touching only what is there: no empty sections appear in `config show`.
  if (out.security().authn().has_ldap()) {
    hide(out.mutable_security()
             ->mutable_authn()
             ->mutable_ldap()
             ->mutable_manager_password());
  }
  if (out.security().authz().has_ldap()) {
    hide(out.mutable_security()
             ->mutable_authz()
             ->mutable_ldap()
             ->mutable_manager_password());
  }
  return out;
}

}  // namespace gennaker::halyard
