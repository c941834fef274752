#include "services/echo/triggers/events.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "re2/re2.h"

namespace gennaker::echo {
namespace {

using spinnaker::String;

// Webhook bodies are small (GitHub caps them at 25 MB; a push with many
// commits is a few hundred KB).
constexpr size_t kMaxBodyBytes = size_t{8} << 20;
// File artifacts taken from one push.
constexpr size_t kMaxFileArtifacts = 1000;
constexpr size_t kMaxHeaders = 200;
// The request header BuildWebhookEvent stores in place of X-Gitlab-Token.
constexpr char kGitlabTokenHmac[] = "x-gennaker-gitlab-token-hmac";

const Json* Member(const Json& j, std::string_view key) {
  return spinnaker::internal::Member(j, key);
}

const Json* ObjectMember(const Json& j, std::string_view key) {
  const Json* m = Member(j, key);
  return m != nullptr && m->is_object() ? m : nullptr;
}

std::string StripHeads(std::string ref) {
  constexpr absl::string_view kHeads = "refs/heads/";
  if (absl::StartsWith(ref, kHeads)) ref.erase(0, kHeads.size());
  return ref;
}

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

// Decodes hex (either case); false when malformed.
bool DecodeHex(absl::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  out->reserve(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>((hi << 4) | lo));
  }
  return true;
}

// Constant-time equality of two byte strings (the length is not secret).
bool SameBytes(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Hmac(const EVP_MD* md, absl::string_view key,
                 absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           out, &len) == nullptr) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

// The first value of request header `name` (lower-case) in the event.
const std::string* HeaderValue(const Json& event, std::string_view name) {
  const Json* details = ObjectMember(event, "details");
  if (details == nullptr) return nullptr;
  const Json* headers = ObjectMember(*details, "requestHeaders");
  if (headers == nullptr) return nullptr;
  for (auto it = headers->begin(); it != headers->end(); ++it) {
    if (!absl::EqualsIgnoreCase(it.key(),
                                absl::string_view(name.data(), name.size())))
      continue;
    const Json& v = it.value();
    if (v.is_string()) return v.get_ptr<const std::string*>();
    if (v.is_array() && !v.empty() && v.front().is_string()) {
      return v.front().get_ptr<const std::string*>();
    }
    return nullptr;
  }
  return nullptr;
}

// --- artifact references (Spinnaker's GitWebhookArtifactReferences) ---

bool HasDotSegment(absl::string_view path) {
  for (absl::string_view seg : absl::StrSplit(path, '/')) {
    if (seg.empty() || seg == "." || seg == "..") return true;
  }
  return false;
}

bool OwnerAndRepository(absl::string_view s) {
  static const RE2 re("[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+");
  return RE2::FullMatch(std::string_view(s.data(), s.size()), re);
}

bool GroupsAndProject(absl::string_view s) {
  static const RE2 re("[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+");
  return RE2::FullMatch(std::string_view(s.data(), s.size()), re);
}

// http(s)://host[:port][/path] without user info, query or fragment.
bool PlainHttpUrl(absl::string_view url) {
  static const RE2 re("(?i)https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[^?#@]*)?");
  return RE2::FullMatch(std::string_view(url.data(), url.size()), re);
}

// Percent-encodes every byte outside `keep` (and alphanumerics).
std::string PercentEncode(absl::string_view s, absl::string_view keep,
                          bool space_as_plus) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) ||
        keep.find(static_cast<char>(c)) != absl::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ' && space_as_plus) {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

// Each segment encoded as a URI path segment, '/' kept.
std::string EncodePath(absl::string_view path) {
  std::vector<std::string> parts;
  for (absl::string_view seg : absl::StrSplit(path, '/')) {
    parts.push_back(PercentEncode(seg, "-._~!$&'()*+,;=:@", false));
  }
  return absl::StrJoin(parts, "/");
}

// java.net.URLEncoder (form encoding).
std::string FormEncode(absl::string_view s) {
  return PercentEncode(s, ".-*_", true);
}

// The added and modified files of the push's commits, distinct, in order.
std::vector<std::string> ChangedFiles(const Json& body) {
  std::vector<std::string> files;
  std::unordered_set<std::string> seen;
  const Json* commits = Member(body, "commits");
  if (commits == nullptr || !commits->is_array()) return files;
  for (const Json& c : *commits) {
    for (const char* key : {"added", "modified"}) {
      for (const std::string& f : spinnaker::Strings(c, key)) {
        if (files.size() >= kMaxFileArtifacts) return files;
        if (f.empty() || HasDotSegment(f)) continue;
        if (seen.insert(f).second) files.push_back(f);
      }
    }
  }
  return files;
}

// The (unauthenticated) payload must not choose the host clouddriver later
// fetches from with its GitHub credentials: references are built against
// api.github.com only, for a repository the payload says lives there (a
// GitHub Enterprise repository gets no file artifacts).
constexpr char kGithubApi[] = "https://api.github.com";

Json GithubFileArtifacts(const Json& body) {
  Json out = Json::array();
  const Json* repo = ObjectMember(body, "repository");
  if (repo == nullptr) return out;
  std::string contents_url = String(*repo, "contents_url");
  std::string full_name = String(*repo, "full_name");
  if (contents_url.empty() || full_name.empty()) return out;
  const std::string base =
      absl::StrCat(kGithubApi, "/repos/", full_name, "/contents/");
  if (!OwnerAndRepository(full_name) || HasDotSegment(full_name) ||
      !absl::EqualsIgnoreCase(contents_url, base + "{+path}")) {
    SPDLOG_WARN(
        "event=webhook_artifacts_ignored reason=\"GitHub contents_url is not "
        "api.github.com's for the repository's full_name\"");
    return out;
  }
  std::string sha = String(body, "after");
  for (const std::string& f : ChangedFiles(body)) {
    out.push_back({{"type", "github/file"},
                   {"name", f},
                   {"version", sha},
                   {"reference", base + EncodePath(f)}});
  }
  return out;
}

// scheme://host[:port] of a plain http(s) URL, lower-cased; "" when `url` is
// not one.
std::string Origin(absl::string_view url) {
  if (!PlainHttpUrl(url)) return "";
  size_t scheme_end = url.find("://") + 3;
  size_t path = url.find('/', scheme_end);
  return absl::AsciiStrToLower(url.substr(0, path));
}

// GitLab: the base is the origin of project.web_url, which must be exactly
// <origin>/<path_with_namespace>, and project.http_url (the clone URL) must
// be on the same origin; otherwise no artifacts.
Json GitlabFileArtifacts(const Json& body) {
  Json out = Json::array();
  const Json* project = ObjectMember(body, "project");
  if (project == nullptr) return out;
  std::string web_url = String(*project, "web_url");
  std::string http_url = String(*project, "http_url");
  std::string path = String(*project, "path_with_namespace");
  if (web_url.empty() || path.empty()) return out;
  const std::string base = Origin(web_url);
  if (!GroupsAndProject(path) || HasDotSegment(path) || base.empty() ||
      !absl::EqualsIgnoreCase(web_url, absl::StrCat(base, "/", path)) ||
      Origin(http_url) != base) {
    SPDLOG_WARN(
        "event=webhook_artifacts_ignored reason=\"GitLab web_url and http_url "
        "are not the same host, or web_url is not the project's\"");
    return out;
  }
  std::string api = absl::StrCat(base, "/api/v4/projects/", FormEncode(path),
                                 "/repository/files/");
  std::string sha = String(body, "after");
  for (const std::string& f : ChangedFiles(body)) {
    out.push_back({{"type", "gitlab/file"},
                   {"name", f},
                   {"version", sha},
                   {"reference", absl::StrCat(api, FormEncode(f), "/raw")}});
  }
  return out;
}

// --- SCM handlers: each adds repoProject, slug, hash, branch, action ---

struct GitFields {
  std::string repo_project, slug, hash, branch, action;
};

void PutGitFields(Json& content, const GitFields& f) {
  content["repoProject"] = f.repo_project;
  content["slug"] = f.slug;
  content["hash"] = f.hash;
  content["branch"] = f.branch;
  content["action"] = f.action;
}

std::string OwnerName(const Json& repo, bool login_first) {
  const Json* owner = ObjectMember(repo, "owner");
  if (owner == nullptr) return "";
  return login_first ? spinnaker::FirstString(*owner, {"login", "name"})
                     : spinnaker::FirstString(*owner, {"name", "login"});
}

absl::Status HandleGithub(const Json& body, const Json& headers,
                          WebhookEvent& out) {
  Json& content = out.event["content"];
  if (Member(body, "hook_id") != nullptr) {
    out.processed = false;  // a ping
    return absl::OkStatus();
  }
  const Json* repo = ObjectMember(body, "repository");
  if (repo == nullptr) {
    return absl::InvalidArgumentError(
        "GitHub webhook body has no repository object");
  }
  GitFields f;
  f.slug = String(*repo, "name");
  if (const Json* pr = ObjectMember(body, "pull_request"); pr != nullptr) {
    f.repo_project = OwnerName(*repo, /*login_first=*/true);
    if (const Json* head = ObjectMember(*pr, "head"); head != nullptr) {
      f.hash = String(*head, "sha");
      f.branch = String(*head, "ref");
    }
    f.action = "pull_request:" + String(body, "action");
    PutGitFields(content, f);
    content["number"] = std::to_string(spinnaker::Int(*pr, "number"));
    const Json* draft = Member(*pr, "draft");
    content["draft"] = draft != nullptr && draft->is_boolean()
                           ? (draft->get<bool>() ? "true" : "false")
                           : "null";
    content["state"] = String(*pr, "state");
    content["title"] = String(*pr, "title");
    return absl::OkStatus();
  }
  if (String(body, "ref_type") == "branch") {
    f.repo_project = OwnerName(*repo, /*login_first=*/true);
    f.branch = String(body, "ref");
    std::string gh_event;
    if (const Json* h = Member(headers, "x-github-event");
        h != nullptr && h->is_array() && !h->empty() &&
        h->front().is_string()) {
      gh_event = h->front().get<std::string>();
    }
    f.action = "branch:" + gh_event;
    PutGitFields(content, f);
    return absl::OkStatus();
  }
  f.repo_project = OwnerName(*repo, /*login_first=*/false);
  f.hash = String(body, "after");
  f.branch = StripHeads(String(body, "ref"));
  f.action = "push:push";
  PutGitFields(content, f);
  return absl::OkStatus();
}

absl::Status HandleGitea(const Json& body, const Json& headers,
                         WebhookEvent& out) {
  Json& content = out.event["content"];
  const Json* repo = ObjectMember(body, "repository");
  if (repo == nullptr) {
    return absl::InvalidArgumentError(
        "Gitea webhook body has no repository object");
  }
  GitFields f;
  f.slug = String(*repo, "name");
  f.repo_project = OwnerName(*repo, /*login_first=*/true);
  if (const Json* owner = ObjectMember(*repo, "owner");
      f.repo_project.empty() && owner != nullptr) {
    f.repo_project = String(*owner, "username");
  }
  if (f.repo_project.empty()) {
    std::string full = String(*repo, "full_name");
    f.repo_project = full.substr(0, full.find('/'));
  }
  if (const Json* pr = ObjectMember(body, "pull_request"); pr != nullptr) {
    if (const Json* head = ObjectMember(*pr, "head"); head != nullptr) {
      f.hash = String(*head, "sha");
      f.branch = String(*head, "ref");
    }
    f.action = "pull_request:" + String(body, "action");
    PutGitFields(content, f);
    content["number"] = std::to_string(spinnaker::Int(*pr, "number"));
    content["state"] = String(*pr, "state");
    content["title"] = String(*pr, "title");
    if (const Json* d = Member(*pr, "draft"); d != nullptr && d->is_boolean()) {
      content["draft"] = d->get<bool>() ? "true" : "false";
    }
    return absl::OkStatus();
  }
  if (std::string ref_type = String(body, "ref_type"); !ref_type.empty()) {
    std::string gitea_event = "create";
    if (const Json* h = Member(headers, "x-gitea-event");
        h != nullptr && h->is_array() && !h->empty() &&
        h->front().is_string() && !h->front().get<std::string>().empty()) {
      gitea_event = h->front().get<std::string>();
    }
    f.hash = String(body, "sha");
    f.branch = StripHeads(String(body, "ref"));
    f.action = ref_type + ":" + gitea_event;
    PutGitFields(content, f);
    return absl::OkStatus();
  }
  f.hash = String(body, "after");
  f.branch = StripHeads(String(body, "ref"));
  f.action = "push";
  PutGitFields(content, f);
  return absl::OkStatus();
}

absl::Status HandleGitlab(const Json& body, WebhookEvent& out) {
  const Json* project = ObjectMember(body, "project");
  const Json* ref = Member(body, "ref");
  if (project == nullptr || ref == nullptr || !ref->is_string()) {
    return absl::InvalidArgumentError(
        "GitLab webhook body needs a project object and a ref");
  }
  GitFields f;
  f.hash = spinnaker::FirstString(body, {"after", "checkout_sha"});
  f.branch = StripHeads(ref->get<std::string>());
  f.repo_project = String(*project, "namespace");
  f.slug = String(*project, "name");
  f.action = String(body, "object_kind");
  PutGitFields(out.event["content"], f);
  return absl::OkStatus();
}

// The key and slug of a Bitbucket Server ref's repository.
void ServerRepo(const Json* repo, GitFields& f) {
  if (repo == nullptr) return;
  if (const Json* project = ObjectMember(*repo, "project");
      project != nullptr) {
    f.repo_project = String(*project, "key");
  }
  f.slug = String(*repo, "slug");
}

absl::Status HandleBitbucket(const Json& body, WebhookEvent& out) {
  Json& content = out.event["content"];
  const std::string raw = out.event["rawContent"].get<std::string>();
  std::string event_type = String(content, "event_type");
  if (raw.empty() || event_type.empty()) {
    out.processed = false;  // a Bitbucket Server ping
    return absl::OkStatus();
  }
  GitFields f;
  f.action = event_type;
  if (event_type == "repo:push" || event_type == "pullrequest:fulfilled") {
    if (const Json* repo = ObjectMember(body, "repository"); repo != nullptr) {
      f.slug = String(*repo, "full_name");
      if (const Json* owner = ObjectMember(*repo, "owner"); owner != nullptr) {
        f.repo_project = String(*owner, "username");
      }
      if (f.repo_project.empty()) {
        if (const Json* p = ObjectMember(*repo, "project"); p != nullptr) {
          f.repo_project = String(*p, "key");
        }
      }
    }
    if (const Json* pr = ObjectMember(body, "pullrequest"); pr != nullptr) {
      if (const Json* mc = ObjectMember(*pr, "merge_commit"); mc != nullptr) {
        f.hash = String(*mc, "hash");
      }
      if (const Json* dest = ObjectMember(*pr, "destination");
          dest != nullptr) {
        if (const Json* b = ObjectMember(*dest, "branch"); b != nullptr) {
          f.branch = String(*b, "name");
        }
      }
    } else if (const Json* push = ObjectMember(body, "push"); push != nullptr) {
      const Json* changes = Member(*push, "changes");
      if (changes != nullptr && changes->is_array() && !changes->empty() &&
          changes->front().is_object()) {
        const Json& change = changes->front();
        const Json* nw = ObjectMember(change, "new");
        if (nw != nullptr) f.branch = String(*nw, "name");
        const Json* commits = Member(change, "commits");
        if (commits != nullptr && commits->is_array() && !commits->empty()) {
          f.hash = String(commits->front(), "hash");
        }
        if (f.hash.empty() && nw != nullptr) {
          if (const Json* t = ObjectMember(*nw, "target"); t != nullptr) {
            f.hash = String(*t, "hash");
          }
        }
      }
    }
  } else if (event_type == "repo:refs_changed") {
    ServerRepo(ObjectMember(body, "repository"), f);
    const Json* changes = Member(body, "changes");
    if (changes != nullptr && changes->is_array() && !changes->empty() &&
        changes->front().is_object()) {
      const Json& change = changes->front();
      f.hash = String(change, "toHash");
      if (const Json* ref = ObjectMember(change, "ref"); ref != nullptr) {
        f.branch = StripHeads(String(*ref, "id"));
      } else {
        f.branch = StripHeads(String(change, "refId"));
      }
    }
  } else if (event_type == "pr:opened" || event_type == "pr:from_ref_updated" ||
             event_type == "pr:declined" || event_type == "pr:deleted" ||
             event_type == "pr:merged") {
    const Json* pr = ObjectMember(body, "pullRequest");
    const bool merged = event_type == "pr:merged";
    const Json* ref = pr == nullptr
                          ? nullptr
                          : ObjectMember(*pr, merged ? "toRef" : "fromRef");
    if (ref != nullptr) {
      f.branch = StripHeads(String(*ref, "id"));
      ServerRepo(ObjectMember(*ref, "repository"), f);
      if (!merged) f.hash = String(*ref, "latestCommit");
    }
    if (merged && pr != nullptr) {
      if (const Json* props = ObjectMember(*pr, "properties");
          props != nullptr) {
        if (const Json* mc = ObjectMember(*props, "mergeCommit");
            mc != nullptr) {
          f.hash = String(*mc, "id");
        }
      }
    }
  } else {
    // Spinnaker cannot tell what this is either: propagated as is.
    return absl::OkStatus();
  }
  PutGitFields(content, f);
  if (absl::StartsWith(f.hash, "000000000")) out.processed = false;
  return absl::OkStatus();
}

absl::Status HandleStash(const Json& body, WebhookEvent& out) {
  const Json* changes = Member(body, "refChanges");
  if (changes == nullptr) changes = Member(body, "changes");
  const Json* repo = ObjectMember(body, "repository");
  if (changes == nullptr || !changes->is_array() || changes->empty() ||
      !changes->front().is_object() || repo == nullptr) {
    return absl::InvalidArgumentError(
        "Stash webhook body needs refChanges and a repository object");
  }
  GitFields f;
  f.hash = String(changes->front(), "toHash");
  f.branch = StripHeads(String(changes->front(), "refId"));
  if (const Json* p = ObjectMember(*repo, "project"); p != nullptr) {
    f.repo_project = String(*p, "key");
  }
  f.slug = String(*repo, "slug");
  f.action = "";
  PutGitFields(out.event["content"], f);
  if (absl::StartsWith(f.hash, "000000000")) out.processed = false;
  return absl::OkStatus();
}

bool SensitiveHeader(absl::string_view lower) {
  return lower == "authorization" || lower == "proxy-authorization" ||
         lower == "cookie" || lower == "set-cookie";
}

}  // namespace

absl::StatusOr<WebhookEvent> BuildWebhookEvent(const IncomingWebhook& webhook) {
  if (webhook.type.empty()) {
    return absl::InvalidArgumentError("webhook type is missing");
  }
  if (webhook.raw_body.size() > kMaxBodyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook body is larger than ", kMaxBodyBytes, " bytes"));
  }
  absl::string_view text = webhook.raw_body;
  if (text.empty() && webhook.source == "bitbucket") text = "{}";
  spinnaker::JsonLimits limits;
  limits.max_bytes = kMaxBodyBytes;
  auto parsed = spinnaker::ParseJson(text, "webhook body", limits);
  if (!parsed.ok()) return parsed.status();
  Json body = std::move(*parsed);
  if (body.is_null()) body = Json::object();
  if (!body.is_object()) {
    return absl::InvalidArgumentError("webhook body must be a JSON object");
  }
  std::string source =
      webhook.source.empty() ? String(body, "source") : webhook.source;
  if (source.empty()) {
    return absl::InvalidArgumentError(
        "webhook source is missing (POST /webhooks/{type}/{source}, or a "
        "\"source\" in the body)");
  }
  const bool git = webhook.type == "git";
  // A git webhook's artifacts are derived from its payload, never taken from
  // the (not yet authenticated) body.
  if (git) body.erase("artifacts");

  Json headers = Json::object();
  std::optional<std::string> gitlab_token;
  std::string event_key;
  size_t header_count = 0;
  for (const auto& [name, value] : webhook.headers) {
    if (++header_count > kMaxHeaders) break;
    std::string lower = absl::AsciiStrToLower(name);
    if (SensitiveHeader(lower)) continue;
    if (lower == "x-event-key" && event_key.empty()) event_key = value;
    // GitLab's token is the shared secret itself: never stored (see
    // kGitlabTokenHmac). The derived header is ours only.
    if (lower == "x-gitlab-token") {
      if (!gitlab_token.has_value()) gitlab_token = value;
      continue;
    }
    if (lower == kGitlabTokenHmac) continue;
    Json& list = headers[lower];
    if (!list.is_array()) list = Json::array();
    list.push_back(value);
  }
  if (gitlab_token.has_value()) {
    // A signature over this body keyed by the token: CheckGitSignature
    // validates it as it does GitHub's, and it proves nothing for any other
    // body (unlike a digest of the token, which would work as a password).
    const std::string mac = Hmac(EVP_sha256(), *gitlab_token, webhook.raw_body);
    headers[kGitlabTokenHmac] = Json::array({absl::StrCat(
        "sha256=",
        Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size()))});
  }

  WebhookEvent out;
  Json& event = out.event;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  event["details"] = {{"type", webhook.type},
                      {"source", source},
                      {"created", std::to_string(now_ms)},
                      {"requestHeaders", headers}};
  event["content"] = body;
  event["payload"] = body;
  event["rawContent"] = webhook.raw_body;
  if (!event_key.empty()) event["content"]["event_type"] = event_key;

  if (git) {
    absl::Status st;
    if (source == "github") {
      st = HandleGithub(body, headers, out);
    } else if (source == "gitlab") {
      st = HandleGitlab(body, out);
    } else if (source == "bitbucket") {
      st = HandleBitbucket(body, out);
    } else if (source == "stash") {
      st = HandleStash(body, out);
    } else if (source == "gitea") {
      st = HandleGitea(body, headers, out);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "git source '", source,
          "' is not supported (github, gitlab, bitbucket, stash, gitea)"));
    }
    if (!st.ok()) return st;
  }

  Json& content = event["content"];
  const Json* artifacts = Member(content, "artifacts");
  const bool has_artifacts = artifacts != nullptr && !artifacts->is_null() &&
                             !(artifacts->is_array() && artifacts->empty());
  if (!has_artifacts) {
    Json extracted = Json::array();
    if (git && out.processed && source == "github") {
      extracted = GithubFileArtifacts(body);
    } else if (git && source == "gitlab") {
      extracted = GitlabFileArtifacts(body);
    }
    content["artifacts"] = std::move(extracted);
  }
  return out;
}

SignatureCheck CheckGitSignature(const Json& event, absl::string_view secret) {
  std::string source;
  if (const Json* details = ObjectMember(event, "details");
      details != nullptr) {
    source = absl::AsciiStrToLower(String(*details, "source"));
  }
  std::string raw = String(event, "rawContent");

  const EVP_MD* md = nullptr;
  absl::string_view hex;
  if (source == "gitlab") {
    const std::string* sig = HeaderValue(event, kGitlabTokenHmac);
    if (sig != nullptr) {
      md = EVP_sha256();
      hex = absl::StripAsciiWhitespace(*sig);
      if (!absl::ConsumePrefix(&hex, "sha256=")) hex = {};
    }
  } else if (source == "gitea") {
    const std::string* sig = HeaderValue(event, "x-gitea-signature");
    if (sig != nullptr) {
      md = EVP_sha256();
      hex = absl::StripAsciiWhitespace(*sig);
    }
  } else if (const std::string* s256 =
                 HeaderValue(event, "x-hub-signature-256");
             s256 != nullptr) {
    md = EVP_sha256();
    hex = absl::StripAsciiWhitespace(*s256);
    if (!absl::ConsumePrefix(&hex, "sha256=")) hex = {};
  } else if (const std::string* s1 = HeaderValue(event, "x-hub-signature");
             s1 != nullptr) {
    hex = absl::StripAsciiWhitespace(*s1);
    if (absl::ConsumePrefix(&hex, "sha1=")) {
      md = EVP_sha1();
    } else if (absl::ConsumePrefix(&hex, "sha256=")) {
      md = EVP_sha256();
    } else {
      md = EVP_sha1();  // malformed: never validates
      hex = {};
    }
  }
  if (md == nullptr) {
    return secret.empty() ? SignatureCheck::kNotNeeded
                          : SignatureCheck::kMissing;
  }
  if (secret.empty()) return SignatureCheck::kUnexpected;
  std::string given;
  if (hex.empty() || !DecodeHex(hex, &given)) return SignatureCheck::kInvalid;
  std::string expected = Hmac(md, secret, raw);
  if (expected.empty()) return SignatureCheck::kInvalid;
  return SameBytes(given, expected) ? SignatureCheck::kValid
                                    : SignatureCheck::kInvalid;
}

}  // namespace gennaker::echo
