// The event JSON echo passes between its parts, which is Spinnaker's Event:
//
//   {"eventId": "<uuid>",
//    "details": {"type": "git", "source": "github", "created": "<epoch ms>",
//                "application": "...", "attributes": {...},
//                "requestHeaders": {"x-github-event": ["push"], ...}},
//    "content": {...},        // type-specific, see below
//    "payload": {...},        // webhooks: the parsed body
//    "rawContent": "..."}     // webhooks: the body exactly as received
//
// rawContent marks an event from outside: webhook intake (BuildWebhookEvent),
// the only path from outside, always sets it (to "" for an empty body), and
// git signatures are checked only for events that have it. A git event
// without a "rawContent" member was posted by an internal, authenticated
// caller (igor's git poller through PostEvent): TriggerIndex::Match skips
// the signature check for it.
//
// Artifacts an event carries or that were extracted from it are Spinnaker
// artifact objects ({type, name, version, reference, ...}) in
// content.artifacts.
//
// content by details.type:
//   git      repoProject, slug, hash, branch, action ("push:push", ...),
//            plus number/draft/state/title for pull requests
//   build    {master, project: {name: <job>, lastBuild: {building, number,
//            result, timestamp, duration, url, artifacts}}}   (from igor)
//   docker   {account, registry, repository, tag, digest}     (from igor)
//   webhook  the parsed body; content.parameters become pipeline parameters
//   orca:pipeline:{starting,complete,failed}   {execution: <execution JSON>}
//   orca:stage:{starting,complete,failed}      {execution, stageId, context,
//            executionId, isSynthetic, canceled}
//
// Incoming webhooks become events here (Spinnaker's WebhooksController and
// its SCM handlers): BuildWebhookEvent below.
#ifndef GENNAKER_SERVICES_ECHO_TRIGGERS_EVENTS_H_
#define GENNAKER_SERVICES_ECHO_TRIGGERS_EVENTS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spinnaker/json.h"

namespace gennaker::echo {

using spinnaker::Json;

// One webhook as gate received it.
struct IncomingWebhook {
  std::string type;    // {type} path segment: git, webhook, ...
  std::string source;  // {source} path segment; empty: body's "source"
  std::string raw_body;
  // Request headers, names as received (matched case-insensitively).
  std::vector<std::pair<std::string, std::string>> headers;
};

struct WebhookEvent {
  // False for deliveries Spinnaker drops on purpose (a GitHub ping, i.e. a
  // body with hook_id; a Bitbucket Server ping; a Bitbucket or Stash push
  // deleting a branch): accepted, answered eventProcessed=false, never
  // matched.
  bool processed = true;
  // The event (without eventId: echo assigns it when storing).
  Json event;
};

// The event for `webhook` (Spinnaker's WebhooksController):
//   details   type, source ({source}, else the body's "source"), created (now,
//             epoch ms as a string), requestHeaders: names lower-cased, each
//             a list of values; Authorization, Cookie and Proxy-Authorization
//             are dropped, and X-Gitlab-Token (GitLab's shared secret
//             itself) is never stored: in its place the event gets
//             "x-gennaker-gitlab-token-hmac": ["sha256=<hex HMAC-SHA256 of
//             rawContent keyed by the token>"], a signature valid for this
//             body only (never a password), which CheckGitSignature checks
//             like GitHub's (a header of that name sent by the caller is
//             dropped);
//   content   the parsed body, plus content.event_type from X-Event-Key; for
//             type "git" a body's "artifacts" is dropped (they are derived
//             from the payload) and the source's handler adds repoProject,
//             slug, hash, branch, action (and number, draft, state, title for
//             pull requests):
//               github     push: repository.owner.name (or .login),
//                          repository.name, after, ref minus refs/heads/,
//                          "push:push"; pull_request: owner.login, name,
//                          pull_request.head.sha/ref, "pull_request:<action>";
//                          ref_type "branch": ref, "branch:<X-GitHub-Event>";
//                          a body with hook_id is a ping: processed=false
//               gitlab     project.namespace, project.name, after (else
//                          checkout_sha), ref minus refs/heads/, object_kind
//               bitbucket  X-Event-Key repo:push / pullrequest:fulfilled
//                          (cloud): owner.username (else project.key),
//                          repository.full_name, push.changes[0].new.name and
//                          .commits[0].hash (else .new.target.hash) or the
//                          pull request's destination branch and merge
//                          commit; repo:refs_changed, pr:* (server):
//                          repository.project.key, repository.slug,
//                          changes[0]/fromRef/toRef; action = the event key.
//                          No body or no X-Event-Key: processed=false
//               stash      refChanges[0] (or changes[0]) toHash and refId,
//                          repository.project.key, repository.slug, action ""
//               gitea      as github; the push action is "push"
//             bitbucket and stash events whose hash starts with 000000000 (a
//             deleted branch) are processed=false;
//   content.artifacts  the body's "artifacts" (non-git webhooks), else for
//             git pushes the added and modified files of the commits as
//             github/file (reference: https://api.github.com/repos/
//             <full_name>/contents/<file>, only when the repository's
//             contents_url is exactly that API's: the unauthenticated body
//             must not choose the host artifacts are fetched from, so GitHub
//             Enterprise pushes get none) or gitlab/file (reference:
//             <origin>/api/v4/projects/<path>/repository/files/<file>/raw,
//             only when project.web_url is <origin>/<path_with_namespace>
//             and project.http_url has the same origin) artifacts, version =
//             after; else [];
//   payload   a copy of the body (before content.event_type is added);
//   rawContent the body exactly as received (signatures are over it).
// INVALID_ARGUMENT when the body is not a JSON object (or is larger than 8
// MiB), when type or source is missing, when a git source has no handler, or
// when a git body lacks what its source's handler needs (a GitHub push
// without repository, a GitLab push without project or ref, a Stash push
// without refChanges or repository).
absl::StatusOr<WebhookEvent> BuildWebhookEvent(const IncomingWebhook& webhook);

// How a git event's signature compares with a secret.
enum class SignatureCheck {
  kValid,       // signed with the secret
  kInvalid,     // signed, but not with the secret (or malformed)
  kMissing,     // a secret is set but the request is unsigned
  kUnexpected,  // signed, but no secret is set (Spinnaker rejects it)
  kNotNeeded,   // neither signed nor a secret
};

// Checks the event's webhook signature against `secret` (empty: none), by
// details.source, over rawContent, always in constant time:
//   gitlab  x-gennaker-gitlab-token-hmac (set by BuildWebhookEvent from
//           X-Gitlab-Token) is the hex HMAC-SHA256 keyed by the secret, i.e.
//           the request's token equalled the secret; a raw X-Gitlab-Token in
//           the event JSON is ignored;
//   gitea   X-Gitea-Signature is the hex HMAC-SHA256;
//   others  (github, bitbucket, stash, ...) X-Hub-Signature-256
//           "sha256=<hex HMAC-SHA256>" when present, else X-Hub-Signature
//           "sha1=<hex HMAC-SHA1>" (or "sha256=...", as Bitbucket Server
//           sends it). Spinnaker checks only the SHA-1 header; GitHub sends
//           both when a secret is set, so either validates here.
SignatureCheck CheckGitSignature(const Json& event, absl::string_view secret);

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_TRIGGERS_EVENTS_H_
