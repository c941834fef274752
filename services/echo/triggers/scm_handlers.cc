// The SCM handlers of echo's git webhooks and their file artifacts
// (scm_handlers.h).
#include "services/echo/triggers/scm_handlers.h"

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "re2/re2.h"

namespace gennaker::echo::scm_internal {
namespace {

using spinnaker::String;

// File artifacts taken from one push.
constexpr size_t kMaxFileArtifacts = 1000;

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

// scheme://host[:port] of a plain http(s) URL, lower-cased; "" when `url` is
// not one.
std::string Origin(absl::string_view url) {
  if (!PlainHttpUrl(url)) return "";
  size_t scheme_end = url.find("://") + 3;
  size_t path = url.find('/', scheme_end);
  return absl::AsciiStrToLower(url.substr(0, path));
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

// The key and slug of a Bitbucket Server ref's repository.
void ServerRepo(const Json* repo, GitFields& f) {
  if (repo == nullptr) return;
  if (const Json* project = ObjectMember(*repo, "project");
      project != nullptr) {
    f.repo_project = String(*project, "key");
  }
  f.slug = String(*repo, "slug");
}

}  // namespace

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

}  // namespace gennaker::echo::scm_internal
