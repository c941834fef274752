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
  // body with hook_id): accepted, answered eventProcessed=false, never
  // matched.
  bool processed = true;
  // The event (without eventId: echo assigns it when storing).
  Json event;
};

// The event for `webhook`: details.type/source, requestHeaders (lower-cased
// names), rawContent, content = parsed body (+ content.event_type from
// X-Event-Key), payload = a copy; for type "git" the source's handler (github,
// gitlab, bitbucket, stash) adds repoProject, slug, hash, branch, action; the
// artifacts Spinnaker extracts (a webhook body's "artifacts"; for git pushes,
// the changed files as github/gitlab/bitbucket file artifacts) go to
// content.artifacts. INVALID_ARGUMENT when the body is not a JSON object,
// when type or source is missing, or when a git body lacks what its source's
// handler needs (e.g. a GitHub push without repository).
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
// source: GitHub X-Hub-Signature-256 ("sha256=<hex HMAC-SHA256>") or
// X-Hub-Signature ("sha1=<hex HMAC-SHA1>") of rawContent, compared in
// constant time; GitLab X-Gitlab-Token equal to the secret; Bitbucket
// X-Hub-Signature like GitHub's.
SignatureCheck CheckGitSignature(const Json& event, absl::string_view secret);

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_TRIGGERS_EVENTS_H_
