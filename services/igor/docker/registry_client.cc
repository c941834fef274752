#include "services/igor/docker/registry_client.h"

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
#include "common/log/log.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"

namespace gennaker::igor::internal {

// A WWW-Authenticate challenge: scheme and parameters.
struct Challenge {
  std::string scheme;  // lower-cased: "basic", "bearer"
  std::map<std::string, std::string> params;
};

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

}  // namespace

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

// ---- RegistryClient ----

absl::StatusOr<std::vector<std::string>> RegistryClient::Catalog() {
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

absl::StatusOr<std::vector<std::string>> RegistryClient::Tags(
    const std::string& repository) {
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

absl::StatusOr<std::string> RegistryClient::Digest(
    const std::string& repository, const std::string& tag) {
  const std::string path = absl::StrCat("/v2/", repository, "/manifests/", tag);
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

// `digest` when it is one (ValidDigest), else "" (unknown): a registry's
// header ends up in events and the store.
std::string RegistryClient::Checked(const std::string& digest,
                                    const std::string& what) {
  if (ValidDigest(digest)) return digest;
  SPDLOG_WARN(
      "event=docker_digest_invalid account={} what={} (treated as unknown)",
      account_.name(), what);
  return "";
}

std::string RegistryClient::PullScope(const std::string& repository) {
  return absl::StrCat("repository:", repository, ":pull");
}

// The path of the next page, or "" (a Link elsewhere is refused: the
// account's credentials must not follow it).
absl::StatusOr<std::string> RegistryClient::NextPath(
    const http::ClientResponse& r) const {
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

std::string RegistryClient::BasicHeader() const {
  return absl::StrCat("Basic ",
                      absl::Base64Escape(absl::StrCat(account_.username(), ":",
                                                      account_.password())));
}

// A call with the credentials the registry asked for: first with what
// worked before (basic auth, or a cached token for `scope`), then, on a
// 401, as its WWW-Authenticate challenge says. Non-2xx answers are
// errors (HttpError).
absl::StatusOr<http::ClientResponse> RegistryClient::Call(
    const std::string& method, const std::string& path,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& scope, const std::string& what) {
  http::ClientRequest request;
  request.method = method;
  request.url = absl::StrCat(origin_.base, path);
  request.headers = headers;
  std::string auth = CachedAuth(scope);
  if (!auth.empty()) request.headers.emplace_back("Authorization", auth);
  GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r, outbound_->Fetch(request));
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

std::string RegistryClient::CachedAuth(const std::string& scope) {
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
absl::StatusOr<std::string> RegistryClient::FetchToken(
    const Challenge& c, const std::string& our_scope) {
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
  GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r, outbound_->Fetch(request));
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

}  // namespace gennaker::igor::internal
