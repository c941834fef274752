#include "services/igor/docker/docker_monitor.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/http/outbound.h"
#include "common/log/log.h"
#include "common/spinnaker/names.h"
#include "common/status/status_macros.h"

namespace gennaker::igor {
namespace {

constexpr char kManifestAccept[] =
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json";
// Page sizes asked for (the registry may return fewer and a Link to more).
constexpr int kCatalogPageSize = 100;
constexpr int kTagsPageSize = 1000;
// Bounds against a registry that never stops paging.
constexpr int kMaxPages = 1000;
constexpr size_t kMaxRepositories = 100000;
constexpr size_t kMaxTagsPerRepository = 100000;
// A bearer token without expires_in is valid this long (the spec's minimum).
constexpr int64_t kDefaultTokenSeconds = 60;
// A token is cached at most this long whatever expires_in says (an
// unbounded one would overflow the clock arithmetic).
constexpr int64_t kMaxTokenSeconds = 86400;
// Longer digests are not believed (sha512 hex is 135 characters).
constexpr size_t kMaxDigestBytes = 256;
constexpr size_t kMaxChallengeBytes = 4096;

std::string HashKey(const std::string& account) {
  return absl::StrCat("dockerRegistry:v2:", account);
}
// Marks an account polled once, so that an empty registry's first tags
// later still send events.
std::string PolledKey(const std::string& account) {
  return absl::StrCat("dockerRegistryPolled:", account);
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string QueryEscape(absl::string_view in) {
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      absl::StrAppend(&out, "%",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(&c), 1)));
    }
  }
  return out;
}

bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool ValidTag(absl::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  };
  if (!word(tag[0])) return false;
  return std::all_of(tag.begin(), tag.end(),
                     [&](char c) { return word(c) || c == '.' || c == '-'; });
}

// The OCI digest grammar, bounded:
// ^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$ (at most 256 bytes).
bool ValidDigest(absl::string_view digest) {
  if (digest.empty() || digest.size() > kMaxDigestBytes) return false;
  const size_t colon = digest.find(':');
  if (colon == absl::string_view::npos) return false;
  const absl::string_view algorithm = digest.substr(0, colon);
  const absl::string_view hex = digest.substr(colon + 1);
  if (algorithm.empty() || !IsLowerAlnum(algorithm.front()) ||
      !IsLowerAlnum(algorithm.back())) {
    return false;
  }
  for (size_t i = 0; i < algorithm.size(); ++i) {
    const char c = algorithm[i];
    if (IsLowerAlnum(c)) continue;
    const bool separator = c == '.' || c == '+' || c == '_' || c == '-';
    // A separator sits between two alphanumerics (front and back are).
    if (!separator || !IsLowerAlnum(algorithm[i + 1])) return false;
  }
  if (hex.size() < 32) return false;
  return std::all_of(hex.begin(), hex.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c));
  });
}

// The token lifetime of a token answer's expires_in: a number of seconds
// in [1, kMaxTokenSeconds]; absent, not a number or not positive: the
// default.
int64_t TokenSeconds(const spinnaker::Json& body) {
  auto it = body.find("expires_in");
  if (it == body.end()) return kDefaultTokenSeconds;
  double seconds = 0;
  if (it->is_number_unsigned()) {
    seconds = static_cast<double>(it->get<uint64_t>());
  } else if (it->is_number_integer()) {
    seconds = static_cast<double>(it->get<int64_t>());
  } else if (it->is_number_float()) {
    seconds = it->get<double>();
  } else {
    return kDefaultTokenSeconds;
  }
  // NaN fails both comparisons.
  if (!(seconds >= 1)) return kDefaultTokenSeconds;
  if (!(seconds <= static_cast<double>(kMaxTokenSeconds))) {
    return kMaxTokenSeconds;
  }
  return static_cast<int64_t>(seconds);
}

// "scheme://host[:port]" of an http(s) URL, lower-cased, default ports
// dropped; nullopt when it is not an http(s) URL with a host and no user.
std::optional<std::string> UrlOrigin(absl::string_view url) {
  const size_t sep = url.find("://");
  if (sep == absl::string_view::npos) return std::nullopt;
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  absl::string_view rest = url.substr(sep + 3);
  std::string host =
      absl::AsciiStrToLower(rest.substr(0, rest.find_first_of("/?#")));
  if (host.empty() || absl::StrContains(host, '@')) return std::nullopt;
  if (scheme == "https" && absl::EndsWith(host, ":443")) {
    host.resize(host.size() - 4);
  } else if (scheme == "http" && absl::EndsWith(host, ":80")) {
    host.resize(host.size() - 3);
  }
  return absl::StrCat(scheme, "://", host);
}

std::string Sha256Digest(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return absl::StrCat("sha256:", absl::BytesToHexString(absl::string_view(
                                     reinterpret_cast<const char*>(md),
                                     static_cast<size_t>(len))));
}

// "scheme://host[:port]" and "host[:port]" of the account's address.
struct Origin {
  std::string base;      // without a trailing slash
  std::string registry;  // host[:port]
};

absl::StatusOr<Origin> ParseAddress(const std::string& address) {
  std::string base(absl::StripAsciiWhitespace(address));
  // As clouddriver: an address without a scheme is https.
  if (!absl::StrContains(base, "://")) base = absl::StrCat("https://", base);
  while (absl::EndsWith(base, "/")) base.pop_back();
  absl::string_view rest = base;
  if (!absl::ConsumePrefix(&rest, "http://") &&
      !absl::ConsumePrefix(&rest, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("docker registry address '", address,
                     "' must be an http:// or https:// URL"));
  }
  absl::string_view host = rest.substr(0, rest.find('/'));
  if (host.empty() || absl::StrContains(host, '@')) {
    return absl::InvalidArgumentError(absl::StrCat(
        "docker registry address '", address, "' needs a host (no user)"));
  }
  // The registry part of image references: Docker Hub's API host is not
  // what images are named by.
  std::string registry(host);
  if (registry == "registry-1.docker.io") registry = "index.docker.io";
  return Origin{base, registry};
}

// A WWW-Authenticate challenge: scheme and parameters.
struct Challenge {
  std::string scheme;  // lower-cased: "basic", "bearer"
  std::map<std::string, std::string> params;
};

Challenge ParseChallenge(absl::string_view header) {
  Challenge c;
  header = absl::StripAsciiWhitespace(
      header.substr(0, std::min(header.size(), kMaxChallengeBytes)));
  const size_t space = header.find(' ');
  c.scheme = absl::AsciiStrToLower(header.substr(0, space));
  if (space == absl::string_view::npos) return c;
  absl::string_view rest = header.substr(space + 1);
  // key="value" pairs separated by commas (values may contain commas:
  // scope="repository:a:pull,push").
  while (!rest.empty()) {
    rest = absl::StripLeadingAsciiWhitespace(rest);
    const size_t eq = rest.find('=');
    if (eq == absl::string_view::npos) break;
    std::string key =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(rest.substr(0, eq)));
    rest.remove_prefix(eq + 1);
    std::string value;
    if (absl::ConsumePrefix(&rest, "\"")) {
      size_t i = 0;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      rest.remove_prefix(std::min(rest.size(), i + 1));
    } else {
      const size_t comma = rest.find(',');
      value = std::string(absl::StripAsciiWhitespace(rest.substr(0, comma)));
      rest.remove_prefix(comma == absl::string_view::npos ? rest.size()
                                                          : comma);
    }
    c.params[key] = value;
    rest = absl::StripLeadingAsciiWhitespace(rest);
    absl::ConsumePrefix(&rest, ",");
  }
  return c;
}

// The target of a `Link: <url>; rel="next"` header, or "".
std::string NextLink(const http::ClientResponse& r) {
  auto it = r.headers.find("link");
  if (it == r.headers.end()) return "";
  absl::string_view link = it->second;
  if (!absl::StrContains(link, "rel=\"next\"") &&
      !absl::StrContains(link, "rel=next")) {
    return "";
  }
  const size_t open = link.find('<');
  const size_t close = link.find('>');
  if (open == absl::string_view::npos || close == absl::string_view::npos ||
      close < open) {
    return "";
  }
  return std::string(link.substr(open + 1, close - open - 1));
}

// The status of a registry answer that is not a success.
absl::Status HttpError(const http::ClientResponse& r, const std::string& what) {
  const std::string msg = absl::StrCat(what, ": HTTP ", r.status);
  if (r.status == 401) return absl::UnauthenticatedError(msg);
  if (r.status == 403) return absl::PermissionDeniedError(msg);
  if (r.status == 404) return absl::NotFoundError(msg);
  if (r.status == 429 || r.status >= 500) return absl::UnavailableError(msg);
  return absl::FailedPreconditionError(msg);
}

// Registry HTTP API v2 calls of one account, with basic auth and bearer
// tokens (cached per scope until they expire).
class RegistryClient {
 public:
  RegistryClient(const v1::DockerRegistryAccount& account, Origin origin,
                 const http::OutboundClient* outbound)
      : account_(account), origin_(std::move(origin)), outbound_(outbound) {}

  const Origin& origin() const { return origin_; }

  // Repositories of the catalog, following pages.
  absl::StatusOr<std::vector<std::string>> Catalog() {
    std::vector<std::string> out;
    std::string path = absl::StrCat("/v2/_catalog?n=", kCatalogPageSize);
    for (int page = 0; !path.empty(); ++page) {
      if (page >= kMaxPages || out.size() > kMaxRepositories) {
        return absl::ResourceExhaustedError(
            "the registry's catalog has too many pages");
      }
      GENNAKER_ASSIGN_OR_RETURN(
          http::ClientResponse r,
          Call("GET", path, {}, "registry:catalog:*", "catalog"));
      GENNAKER_ASSIGN_OR_RETURN(
          spinnaker::Json body,
          spinnaker::ParseJsonObject(r.body, "the registry's catalog"));
      if (body.contains("repositories") && body["repositories"].is_array()) {
        for (const spinnaker::Json& name : body["repositories"]) {
          if (name.is_string()) out.push_back(name.get<std::string>());
        }
      }
      GENNAKER_ASSIGN_OR_RETURN(path, NextPath(r));
    }
    return out;
  }

  // Tags of `repository`, following pages. NOT_FOUND when it does not
  // exist.
  absl::StatusOr<std::vector<std::string>> Tags(const std::string& repository) {
    std::vector<std::string> out;
    std::string path =
        absl::StrCat("/v2/", repository, "/tags/list?n=", kTagsPageSize);
    for (int page = 0; !path.empty(); ++page) {
      if (page >= kMaxPages || out.size() > kMaxTagsPerRepository) {
        return absl::ResourceExhaustedError(
            absl::StrCat(repository, " has too many tags"));
      }
      GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r,
                                Call("GET", path, {}, PullScope(repository),
                                     absl::StrCat("tags of ", repository)));
      GENNAKER_ASSIGN_OR_RETURN(
          spinnaker::Json body,
          spinnaker::ParseJsonObject(r.body,
                                     absl::StrCat("the tags of ", repository)));
      // "tags": null when every tag was deleted.
      if (body.contains("tags") && body["tags"].is_array()) {
        for (const spinnaker::Json& tag : body["tags"]) {
          if (tag.is_string()) out.push_back(tag.get<std::string>());
        }
      }
      GENNAKER_ASSIGN_OR_RETURN(path, NextPath(r));
    }
    return out;
  }

  // The manifest digest of `repository`:`tag` (Docker-Content-Digest of a
  // HEAD; a GET's body hashed when a registry leaves the header out).
  absl::StatusOr<std::string> Digest(const std::string& repository,
                                     const std::string& tag) {
    const std::string path =
        absl::StrCat("/v2/", repository, "/manifests/", tag);
    const std::string what = absl::StrCat("manifest of ", repository, ":", tag);
    std::vector<std::pair<std::string, std::string>> accept = {
        {"Accept", kManifestAccept}};
    GENNAKER_ASSIGN_OR_RETURN(
        http::ClientResponse head,
        Call("HEAD", path, accept, PullScope(repository), what));
    auto it = head.headers.find("docker-content-digest");
    if (it != head.headers.end() && !it->second.empty()) {
      return Checked(it->second, what);
    }
    GENNAKER_ASSIGN_OR_RETURN(
        http::ClientResponse get,
        Call("GET", path, accept, PullScope(repository), what));
    it = get.headers.find("docker-content-digest");
    if (it != get.headers.end() && !it->second.empty()) {
      return Checked(it->second, what);
    }
    return Sha256Digest(get.body);
  }

 private:
  // `digest` when it is one (ValidDigest), else "" (unknown): a registry's
  // header ends up in events and the store.
  std::string Checked(const std::string& digest, const std::string& what) {
    if (ValidDigest(digest)) return digest;
    SPDLOG_WARN(
        "event=docker_digest_invalid account={} what={} (treated as unknown)",
        account_.name(), what);
    return "";
  }

  static std::string PullScope(const std::string& repository) {
    return absl::StrCat("repository:", repository, ":pull");
  }

  // The path of the next page, or "" (a Link elsewhere is refused: the
  // account's credentials must not follow it).
  absl::StatusOr<std::string> NextPath(const http::ClientResponse& r) const {
    std::string next = NextLink(r);
    if (next.empty()) return next;
    if (absl::StartsWith(next, "/") && !absl::StartsWith(next, "//")) {
      return next;
    }
    if (absl::StartsWith(next, absl::StrCat(origin_.base, "/"))) {
      return next.substr(origin_.base.size());
    }
    return absl::FailedPreconditionError(
        absl::StrCat("the registry's next page is on another server: ", next));
  }

  std::string BasicHeader() const {
    return absl::StrCat(
        "Basic ", absl::Base64Escape(absl::StrCat(account_.username(), ":",
                                                  account_.password())));
  }

  // A call with the credentials the registry asked for: first with what
  // worked before (basic auth, or a cached token for `scope`), then, on a
  // 401, as its WWW-Authenticate challenge says. Non-2xx answers are
  // errors (HttpError).
  absl::StatusOr<http::ClientResponse> Call(
      const std::string& method, const std::string& path,
      const std::vector<std::pair<std::string, std::string>>& headers,
      const std::string& scope, const std::string& what) {
    http::ClientRequest request;
    request.method = method;
    request.url = absl::StrCat(origin_.base, path);
    request.headers = headers;
    std::string auth = CachedAuth(scope);
    if (!auth.empty()) request.headers.emplace_back("Authorization", auth);
    GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r,
                              outbound_->Fetch(request));
    if (r.status == 401) {
      auto it = r.headers.find("www-authenticate");
      const Challenge c = ParseChallenge(
          it == r.headers.end() ? absl::string_view() : it->second);
      std::string fresh;
      if (c.scheme == "basic" && !account_.username().empty()) {
        fresh = BasicHeader();
        absl::MutexLock lock(&mu_);
        basic_ = true;
      } else if (c.scheme == "bearer") {
        GENNAKER_ASSIGN_OR_RETURN(fresh, FetchToken(c, scope));
      }
      if (!fresh.empty() && fresh != auth) {
        request.headers = headers;
        request.headers.emplace_back("Authorization", fresh);
        GENNAKER_ASSIGN_OR_RETURN(r, outbound_->Fetch(request));
      }
    }
    if (r.status < 200 || r.status >= 300) return HttpError(r, what);
    return r;
  }

  std::string CachedAuth(const std::string& scope) {
    absl::MutexLock lock(&mu_);
    auto it = tokens_.find(scope);
    if (it != tokens_.end()) {
      if (std::chrono::steady_clock::now() < it->second.expires) {
        return absl::StrCat("Bearer ", it->second.token);
      }
      tokens_.erase(it);
    }
    if (basic_) return BasicHeader();
    return "";
  }

  // The token flow of the Docker token specification: GET
  // <realm>?service=<service>&scope=<scope>, with the account's basic
  // credentials when it has some.
  absl::StatusOr<std::string> FetchToken(const Challenge& c,
                                         const std::string& our_scope) {
    auto realm = c.params.find("realm");
    if (realm == c.params.end() || realm->second.empty()) {
      return absl::UnauthenticatedError(
          "the registry asked for a bearer token without a realm");
    }
    // The account's credentials go to the realm: only over https, or to
    // the registry's own origin (whatever its scheme). An http realm on
    // another host would put them on the wire in clear to a server the
    // registry (or anyone on the path) chose.
    const std::optional<std::string> realm_origin = UrlOrigin(realm->second);
    if (!realm_origin.has_value()) {
      return absl::FailedPreconditionError(
          "the registry's token realm is not an http(s) URL");
    }
    const std::optional<std::string> own_origin = UrlOrigin(origin_.base);
    if (*realm_origin != own_origin.value_or("") &&
        !absl::StartsWith(*realm_origin, "https://")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the registry's token realm ", *realm_origin,
          " is plain http on another server; refusing to send credentials "
          "there (a realm elsewhere must be https)"));
    }
    auto scope_it = c.params.find("scope");
    const std::string scope =
        scope_it != c.params.end() ? scope_it->second : our_scope;
    http::ClientRequest request;
    request.url = realm->second;
    std::string sep = absl::StrContains(request.url, "?") ? "&" : "?";
    auto service = c.params.find("service");
    if (service != c.params.end()) {
      absl::StrAppend(&request.url, sep,
                      "service=", QueryEscape(service->second));
      sep = "&";
    }
    if (!scope.empty()) {
      absl::StrAppend(&request.url, sep, "scope=", QueryEscape(scope));
    }
    if (!account_.username().empty()) {
      request.headers.emplace_back("Authorization", BasicHeader());
    }
    GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r,
                              outbound_->Fetch(request));
    if (r.status < 200 || r.status >= 300) {
      return HttpError(r, "bearer token for the registry");
    }
    GENNAKER_ASSIGN_OR_RETURN(
        spinnaker::Json body,
        spinnaker::ParseJsonObject(r.body, "the registry's token answer"));
    std::string token = spinnaker::String(body, "token");
    if (token.empty()) token = spinnaker::String(body, "access_token");
    if (token.empty()) {
      return absl::UnauthenticatedError("the token server sent no token");
    }
    const int64_t seconds = TokenSeconds(body);
    // Renew a little early.
    const auto ttl = std::chrono::seconds(std::max<int64_t>(seconds - 5, 1));
    absl::MutexLock lock(&mu_);
    tokens_[our_scope] = {token, std::chrono::steady_clock::now() + ttl};
    return absl::StrCat("Bearer ", token);
  }

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

// A transport or server failure (the registry is down): the whole poll
// fails. Anything else concerns one repository.
bool RegistryDown(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

struct SeenValue {
  std::string digest;
  int64_t seen_at_ms = 0;
  std::string registry;
};

SeenValue ParseSeen(const std::string& text) {
  SeenValue v;
  absl::StatusOr<spinnaker::Json> j = spinnaker::ParseJsonObject(
      text, "a seen docker tag", spinnaker::kStoredJsonLimits);
  if (!j.ok()) return v;
  v.digest = spinnaker::String(*j, "digest");
  v.seen_at_ms = spinnaker::Int(*j, "seenAtMs", 0);
  v.registry = spinnaker::String(*j, "registry");
  return v;
}

std::string SeenText(const std::string& digest, int64_t seen_at_ms,
                     const std::string& registry) {
  spinnaker::Json j = spinnaker::Json::object();
  j["digest"] = digest;
  j["seenAtMs"] = seen_at_ms;
  j["registry"] = registry;
  return spinnaker::Dump(j);
}

class DockerMonitor : public Monitor {
 public:
  DockerMonitor(const v1::DockerRegistryAccount& account, SeenStore* store,
                EventSink* sink, const http::OutboundClient* outbound)
      : account_(account), store_(store), sink_(sink), outbound_(outbound) {
    absl::StatusOr<Origin> origin = ParseAddress(account.address());
    if (origin.ok()) {
      client_ = std::make_unique<RegistryClient>(account, *origin, outbound);
    } else {
      config_error_ = origin.status();
    }
  }

  std::string name() const override {
    return absl::StrCat("docker:", account_.name());
  }

  absl::Status Poll() override {
    GENNAKER_RETURN_IF_ERROR(config_error_);
    if (outbound_ == nullptr) {
      return absl::FailedPreconditionError("no outbound HTTP client");
    }
    const std::string& account = account_.name();
    const std::string& registry = client_->origin().registry;

    // 1. What the registry holds now (nothing is written before all of it
    // is known, so a registry going down mid-poll marks nothing).
    std::vector<std::string> repositories(account_.repositories().begin(),
                                          account_.repositories().end());
    const bool from_catalog = repositories.empty();
    if (from_catalog) {
      GENNAKER_ASSIGN_OR_RETURN(repositories, client_->Catalog());
    }
    std::sort(repositories.begin(), repositories.end());
    repositories.erase(std::unique(repositories.begin(), repositories.end()),
                       repositories.end());
    absl::Status problem;  // the first repository that could not be read
    std::vector<std::pair<std::string, std::string>> found;  // repo, tag
    for (const std::string& repository : repositories) {
      if (!spinnaker::ValidDockerRepository(repository)) {
        SPDLOG_WARN("event=docker_repository_invalid account={} repository={}",
                    account, repository.substr(0, 256));
        if (problem.ok()) {
          problem = absl::InvalidArgumentError(
              absl::StrCat("'", repository.substr(0, 256),
                           "' is not a valid repository name"));
        }
        continue;
      }
      absl::StatusOr<std::vector<std::string>> tags = client_->Tags(repository);
      if (!tags.ok()) {
        if (RegistryDown(tags.status())) return tags.status();
        // A repository the catalog lists but that has no tags any more is
        // not a problem; one configured but unreadable is.
        if (!(from_catalog && absl::IsNotFound(tags.status()))) {
          SPDLOG_WARN("event=docker_tags_failed account={} repository={} {}",
                      account, repository, tags.status());
          if (problem.ok() || absl::IsNotFound(problem)) {
            problem = tags.status();
          }
        }
        continue;
      }
      for (const std::string& tag : *tags) {
        if (!ValidTag(tag)) continue;
        found.emplace_back(repository, tag);
      }
    }

    GENNAKER_ASSIGN_OR_RETURN(auto seen, store_->HashGetAll(HashKey(account)));
    GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> polled,
                              store_->Get(PolledKey(account)));
    // Spinnaker does not replay a registry's history: the first poll of an
    // account only remembers.
    // Only the marker counts (written after every tag of the first poll is
    // remembered): a first poll interrupted midway leaves some tags seen,
    // and the next poll must not take the rest for new ones.
    const bool first_poll = !polled.has_value();
    // A repository that exists but could not be read (credentials, policy)
    // on the first poll would later replay its history: remember nothing
    // until every repository can be read (missing ones aside).
    if (first_poll && !problem.ok() && !absl::IsNotFound(problem) &&
        !absl::IsInvalidArgument(problem)) {
      return problem;
    }

    // Digests: of every tag with track_digests, else of new tags only (for
    // their events).
    struct Item {
      std::string repository, tag, digest;
      std::optional<SeenValue> before;
    };
    std::vector<Item> items;
    for (auto& [repository, tag] : found) {
      Item item{repository, tag, "", std::nullopt};
      auto it = seen.find(absl::StrCat(repository, ":", tag));
      if (it != seen.end()) item.before = ParseSeen(it->second);
      const bool want_digest =
          account_.track_digests() || (!item.before.has_value() && !first_poll);
      if (!item.before.has_value() || want_digest) {
        if (want_digest) {
          absl::StatusOr<std::string> digest = client_->Digest(repository, tag);
          if (!digest.ok()) {
            if (RegistryDown(digest.status())) return digest.status();
            // Deleted since it was listed: next poll will tell.
            if (absl::IsNotFound(digest.status())) continue;
            if (first_poll) return digest.status();
            if (problem.ok()) problem = digest.status();
            continue;
          }
          item.digest = *digest;
        }
        items.push_back(std::move(item));
      }
    }

    // 2. Events, each before what it reports is remembered.
    int events = 0;
    const int64_t now = NowMs();
    for (const Item& item : items) {
      const std::string field = absl::StrCat(item.repository, ":", item.tag);
      bool send = false;
      if (!item.before.has_value()) {
        send = !first_poll;
      } else {
        if (item.digest.empty() || item.digest == item.before->digest) {
          continue;
        }
        // A known tag without a remembered digest only learns it.
        send = !item.before->digest.empty();
      }
      if (send) {
        GENNAKER_RETURN_IF_ERROR(
            sink_->Post(Event(registry, item.repository, item.tag, item.digest),
                        absl::StrCat("docker:", account, ":", item.repository,
                                     ":", item.tag, ":", item.digest)));
        ++events;
      }
      GENNAKER_RETURN_IF_ERROR(store_->HashSet(
          HashKey(account), field, SeenText(item.digest, now, registry)));
    }
    if (!polled.has_value()) {
      GENNAKER_RETURN_IF_ERROR(store_->Set(
          PolledKey(account), absl::StrCat(now), std::chrono::milliseconds(0)));
    }
    if (events > 0 || first_poll) {
      SPDLOG_INFO(
          "event=docker_polled account={} repositories={} tags={} "
          "events={} first_poll={}",
          account, repositories.size(), found.size(), events, first_poll);
    }
    return problem;
  }

 private:
  spinnaker::Json Event(const std::string& registry,
                        const std::string& repository, const std::string& tag,
                        const std::string& digest) const {
    const std::string name = absl::StrCat(registry, "/", repository);
    spinnaker::Json artifact = {{"type", "docker/image"},
                                {"name", name},
                                {"version", tag},
                                {"reference", absl::StrCat(name, ":", tag)}};
    spinnaker::Json content = {{"account", account_.name()},
                               {"registry", registry},
                               {"repository", repository},
                               {"tag", tag},
                               {"digest", digest}};
    content["artifacts"] = spinnaker::Json::array({artifact});
    return spinnaker::Json{
        {"details", {{"type", "docker"}, {"source", "igor"}}},
        {"content", std::move(content)}};
  }

  const v1::DockerRegistryAccount account_;
  SeenStore* const store_;
  EventSink* const sink_;
  const http::OutboundClient* const outbound_;
  std::unique_ptr<RegistryClient> client_;
  absl::Status config_error_;
};

}  // namespace

std::unique_ptr<Monitor> NewDockerMonitor(
    const v1::DockerRegistryAccount& account, SeenStore* store, EventSink* sink,
    const http::OutboundClient* outbound) {
  return std::make_unique<DockerMonitor>(account, store, sink, outbound);
}

absl::StatusOr<std::vector<v1::DockerTag>> SeenDockerTags(
    SeenStore* store, const std::string& account,
    const std::string& repository) {
  std::vector<std::string> keys;
  if (account.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(keys, store->Scan("dockerRegistry:v2:*"));
  } else {
    keys.push_back(HashKey(account));
  }
  const std::string key_prefix = "dockerRegistry:v2:";
  std::vector<v1::DockerTag> out;
  for (const std::string& key : keys) {
    GENNAKER_ASSIGN_OR_RETURN(auto fields, store->HashGetAll(key));
    for (const auto& [field, value] : fields) {
      // Repository names hold no ':', tags neither.
      const size_t colon = field.find(':');
      if (colon == std::string::npos) continue;
      v1::DockerTag tag;
      tag.set_account(key.substr(key_prefix.size()));
      tag.set_repository(field.substr(0, colon));
      if (!repository.empty() && tag.repository() != repository) continue;
      tag.set_tag(field.substr(colon + 1));
      const SeenValue v = ParseSeen(value);
      tag.set_digest(v.digest);
      tag.set_seen_at_ms(v.seen_at_ms);
      tag.set_registry(v.registry);
      out.push_back(std::move(tag));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const v1::DockerTag& a, const v1::DockerTag& b) {
              if (a.seen_at_ms() != b.seen_at_ms()) {
                return a.seen_at_ms() > b.seen_at_ms();
              }
              if (a.account() != b.account()) return a.account() < b.account();
              if (a.repository() != b.repository()) {
                return a.repository() < b.repository();
              }
              return a.tag() < b.tag();
            });
  return out;
}

}  // namespace gennaker::igor
