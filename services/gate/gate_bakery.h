// gate's bakery and image routes (Spinnaker Gate compatible): the bake options
// and bake logs Deck's bake stage and its execution details show, through
// rosco, and the image search Deck's deploy dialogs, findImage stages and the
// docker trigger use, through clouddriver (and igor for docker registries).
//
// Contract:
// - GET /bakery/options: every provider's bake options, as rosco serves them:
//   [{cloudProvider, baseImages:[{id, shortDescription, detailedDescription,
//   displayName, packageType ("DEB", "RPM", "NUPKG"), templateFile, osType,
//   isImageFamily (Deck's IBaseOsOption name), <the base image's details
//   keys>}]}]
//   (RoscoService.ListBakeOptions).
// - GET /bakery/options/{cloudProvider}: one provider's {cloudProvider,
//   baseImages} (GetBakeOptions); a provider name rosco does not know (aws,
//   docker, gce, azure, alicloud, huaweicloud, oracle, tencentcloud, local) is
//   404.
// - GET /bakery/options/{cloudProvider}/baseImages/{imageId}: one base image
//   (GetBaseImage).
// - GET /bakery/logs/{region}/{statusId}: the bake's packer output
//   (GetBakeLogs) as gate serves it, "<pre>logs</pre>" (text/html, the logs
//   HTML-escaped: they must not run as script on gate's origin); with an
//   Accept naming application/json and not text/html, rosco's JSON
//   {statusId, logsContent, complete}. {statusId} may also be a bake id
//   (the status's resourceId, which Deck's "View Bakery Details" link
//   names): then the logs of the bake that produced that bake's image
//   (GetBake, then GetBakeLogs by image id). No logs yet or an unknown bake:
//   404.
// - GET /images/find?provider=&q=&region=&account=&count=: provider
//   dockerRegistry (or docker): igor's docker tags (FindDockerImages in
//   gate_builds.h). Any other provider (empty: every provider) goes to
//   clouddriver's FindImages with q, region, account, count as the limit and
//   every `tag:<key>=<value>` parameter as a tag filter; each image is its
//   Spinnaker JSON (Image.json, or {imageName, imageId, cloudProvider,
//   accounts, regions, tags, attributes:{creationDate}} built from the typed
//   fields), newest first. Images are kept only when the caller may READ one
//   of their accounts, and their `accounts` list only such accounts; an
//   `account` the caller may not READ is 403.
// - GET /images/{account}/{region}/{imageId}?provider=: [the image] whose id
//   or name is {imageId} in that account and region (404 when none); READ on
//   {account} is checked by the route policy.
// - rosco not configured (services.rosco.address empty) or down: 503 JSON;
//   clouddriver down: 503 JSON; errors are gate's JSON error body.
#ifndef GENNAKER_SERVICES_GATE_GATE_BAKERY_H_
#define GENNAKER_SERVICES_GATE_GATE_BAKERY_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "gennaker/rosco/v1/rosco.pb.h"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {

// Registers the routes above; handlers call `backends->rosco`,
// `backends->clouddriver` and (docker images) `backends->igor`.
void AddBakeryRoutes(std::shared_ptr<const Backends> backends,
                     const AddRoute& add);

// rosco's provider names ("aws", "local", ...; any case) and back.
std::optional<rosco::v1::CloudProviderType> CloudProviderFromName(
    absl::string_view name);
std::string CloudProviderName(rosco::v1::CloudProviderType type);

// One provider's bake options in rosco's JSON shape (see above).
Json BakeOptionsJson(const rosco::v1::BakeOptions& options);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_BAKERY_H_
