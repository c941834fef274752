// Docker registries (Registry HTTP API v2): igor polls each configured
// registry account's repositories (the configured list, else /v2/_catalog
// following Link pagination), their tags (/v2/<repo>/tags/list, following
// Link pagination) and, with track_digests, each tag's digest (HEAD
// /v2/<repo>/manifests/<tag>, Docker-Content-Digest, asking for Docker v2 /
// OCI manifests, lists and indexes). Spinnaker's igor reads tags through
// clouddriver's cache; this one asks the registry itself, with the event
// shape Spinnaker's echo expects. It sends a "docker" event for each tag it
// has not seen (none on the account's first poll: Spinnaker does not replay
// a registry's history; an account whose first poll found an empty registry
// counts as polled) and, with track_digests, for a known tag whose digest
// changed (a known tag without a remembered digest only learns it):
//   {details:{type:"docker", source:"igor"},
//    content:{account, registry, repository, tag, digest,
//             artifacts:[{type:"docker/image", name:"<registry>/<repo>",
//                         version:<tag>,
//                         reference:"<registry>/<repo>:<tag>"}]}}
// with idempotency key "docker:<account>:<repository>:<tag>:<digest>".
// `registry` is the host[:port] of the account's address
// (registry-1.docker.io is named index.docker.io). New tags' digests are
// fetched for their events even without track_digests.
// Seen tags live in the SeenStore hash "dockerRegistry:v2:<account>" (field
// "<repository>:<tag>", value {"digest":..., "seenAtMs":..., "registry":...};
// digest "" when not fetched or unknown); the key
// "dockerRegistryPolled:<account>" marks an account polled once and alone
// decides what a first poll is (it is written after every tag of the first
// poll, so a first poll interrupted midway is redone, not replayed). Entries
// are never removed (as Spinnaker). A Docker-Content-Digest that is not a
// digest (^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$, at most 256
// bytes) is treated as unknown ("").
// Errors: a registry that does not answer (transport failure, 5xx, 429) or
// an unreadable catalog fails the poll (UNAVAILABLE etc.) before anything is
// remembered or sent. A configured repository that cannot be read (404, 401,
// 403) is skipped and the poll returns that error after handling the
// others; on the account's first poll such a failure (other than 404) fails
// the poll without remembering anything, so history is never replayed
// later. An event that cannot be posted fails the poll; its tag is not
// remembered, so the next poll sends it again.
// Basic auth (on a Basic challenge) and bearer tokens (WWW-Authenticate:
// Bearer realm=...,service=...,scope=...; the token fetched from the realm
// with the account's basic credentials when set, cached per scope until
// expires_in, clamped to [1 s, 1 day]) are supported. The realm must be
// https, or the registry's own origin: a plain-http realm on another server
// fails the call (FAILED_PRECONDITION) without sending it anything. Every call,
// the token server's included, goes through the outbound policy; a Link to
// another server is refused.
#ifndef GENNAKER_SERVICES_IGOR_DOCKER_DOCKER_MONITOR_H_
#define GENNAKER_SERVICES_IGOR_DOCKER_DOCKER_MONITOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gennaker/igor/v1/config.pb.h"
#include "gennaker/igor/v1/igor.pb.h"
#include "services/igor/polling.h"

namespace gennaker::http {
class OutboundClient;
}

namespace gennaker::igor {

// The monitor of one registry account (name "docker:<account>"). Pointers
// are not owned and must outlive it.
std::unique_ptr<Monitor> NewDockerMonitor(
    const v1::DockerRegistryAccount& account, SeenStore* store, EventSink* sink,
    const http::OutboundClient* outbound);

// The tags igor has seen for `account` (every account when empty) and
// `repository` (when not empty), newest first (ListSeenDockerTags).
absl::StatusOr<std::vector<v1::DockerTag>> SeenDockerTags(
    SeenStore* store, const std::string& account,
    const std::string& repository);

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_DOCKER_DOCKER_MONITOR_H_
