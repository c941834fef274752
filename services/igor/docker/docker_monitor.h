// Docker registries (Registry HTTP API v2): igor polls each configured
// registry account's repositories (the configured list, else /v2/_catalog),
// their tags (/v2/<repo>/tags/list, following Link pagination) and, with
// track_digests, each tag's digest (HEAD /v2/<repo>/manifests/<tag>,
// Docker-Content-Digest, asking for v2/OCI manifests). It sends a "docker"
// event for each tag it has not seen (none on the account's first poll:
// Spinnaker does not replay a registry's history) and, with track_digests,
// for a known tag whose digest changed:
//   {details:{type:"docker", source:"igor"},
//    content:{account, registry, repository, tag, digest,
//             artifacts:[{type:"docker/image", name:"<registry>/<repo>",
//                         version:<tag>, reference:"<registry>/<repo>:<tag>"}]}}
// Seen tags live in the SeenStore hash "dockerRegistry:v2:<account>" (field
// "<repository>:<tag>", value {"digest":..., "seenAtMs":...}).
// Basic auth and bearer tokens (WWW-Authenticate: Bearer realm=...) are
// supported. Calls go through the outbound policy.
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
    const v1::DockerRegistryAccount& account, SeenStore* store,
    EventSink* sink, const http::OutboundClient* outbound);

// The tags igor has seen for `account` (and `repository` when not empty),
// newest first (ListSeenDockerTags).
absl::StatusOr<std::vector<v1::DockerTag>> SeenDockerTags(
    SeenStore* store, const std::string& account,
    const std::string& repository);

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_DOCKER_DOCKER_MONITOR_H_
