// The per-source SCM handlers of echo's git webhooks (Spinnaker's GitHub,
// GitLab, Bitbucket, Stash and Gitea event handlers) and the file artifacts
// extracted from a push (Spinnaker's GitWebhookArtifactReferences), internal
// to echo_triggers: BuildWebhookEvent (events.h, the contract) is their only
// caller.
//
// Each handler reads the parsed webhook `body` and writes repoProject, slug,
// hash, branch and action into out.event["content"] (GitHub and Gitea pull
// requests also number, draft, state and title); it may set out.processed to
// false for deliveries Spinnaker drops (a GitHub ping, a Bitbucket Server
// ping, a Bitbucket or Stash push deleting a branch). `headers` are the
// event's requestHeaders (lower-case names, each a list of values). A body
// missing what the source always sends is INVALID_ARGUMENT. Handlers read
// out.event (content, rawContent) as BuildWebhookEvent has filled it.
//
// The body is not authenticated yet: the artifact builders never let it
// choose the host a reference points at (see scm_handlers.cc), skip paths
// with empty, "." or ".." segments and take at most 1000 files per push.
#ifndef GENNAKER_SERVICES_ECHO_TRIGGERS_SCM_HANDLERS_H_
#define GENNAKER_SERVICES_ECHO_TRIGGERS_SCM_HANDLERS_H_

#include "absl/status/status.h"
#include "services/echo/triggers/events.h"

namespace gennaker::echo::scm_internal {

absl::Status HandleGithub(const Json& body, const Json& headers,
                          WebhookEvent& out);
absl::Status HandleGitea(const Json& body, const Json& headers,
                         WebhookEvent& out);
absl::Status HandleGitlab(const Json& body, WebhookEvent& out);
// Needs out.event's content.event_type (X-Event-Key) and rawContent.
absl::Status HandleBitbucket(const Json& body, WebhookEvent& out);
absl::Status HandleStash(const Json& body, WebhookEvent& out);

// github/file artifacts (name, version = the push's "after", reference on
// api.github.com) for the added and modified files of a GitHub push; none
// unless repository.contents_url is api.github.com's for full_name.
Json GithubFileArtifacts(const Json& body);

// gitlab/file artifacts (reference <origin>/api/v4/projects/<path>/
// repository/files/<file>/raw) for a GitLab push; none unless web_url is
// <origin>/<path_with_namespace> and http_url is on the same origin.
Json GitlabFileArtifacts(const Json& body);

}  // namespace gennaker::echo::scm_internal

#endif  // GENNAKER_SERVICES_ECHO_TRIGGERS_SCM_HANDLERS_H_
