// gate's igor routes (Spinnaker Gate compatible): the CI masters, jobs, job
// configs and builds Deck's Jenkins/Travis triggers and stages list, and the
// docker images and tags Deck's docker trigger picks from.
//
// Contract:
// - GET /v2/builds[?type=] and /v3/builds[?type=]: master names, sorted
//   (IgorService.ListMasters; type jenkins, travis, gitlab-ci, concourse or
//   gcb in any case; another type lists nothing).
// - GET /v2|v3/builds/{buildMaster}/jobs: job names (ListJobs, every page).
// - Job config (GetJobConfig) as igor's JobConfig JSON with Deck's
//   `parameterDefinitionList` [{name, defaultValue, description, type,
//   choices?}]: GET /v2/builds/{buildMaster}/jobs/{job...} and
//   GET /v3/builds/{buildMaster}/job?job=.
// - Builds of a job, newest first (ListBuilds): GET
//   /v2/builds/{buildMaster}/builds/{job...} and
//   /v3/builds/{buildMaster}/builds?job=.
// - One build (GetBuild): GET /v2/builds/{buildMaster}/build/{number}/{job...}
//   and /v3/builds/{buildMaster}/build/{number}?job=.
//   Builds are igor's GenericBuild JSON (Build.build_info), with the typed
//   fields filling what it lacks: building, name, number, id, result (null
//   while unknown), duration, timestamp (epoch ms as a string, as igor),
//   url, fullDisplayName, artifacts.
// - Job names may hold '/' (Jenkins folders): the v2 routes take the rest of
//   the path, the v3 routes the `job` query parameter (required: 400).
// - FindDockerImages, for GET /images/find?provider=dockerRegistry&account=
//   &q=&count= (registered by gate_bakery.cc, which sends other providers to
//   clouddriver): the tags igor has seen in the account (ListSeenDockerTags;
//   no account asks igor for every account's, as Deck's image selectors do)
//   in clouddriver's image shape [{account, registry, repository, tag,
//   digest?, artifact}]; q filters "repository:tag" (ImageQueryMatches; at
//   most kMaxImageQueryBytes, else 400), count caps the list. A provider
//   other than dockerRegistry/docker: [].
// - GET /images/tags?provider=dockerRegistry&account=&repository=: the tags
//   of one repository, sorted.
// - Without an igor backend (services.igor.address empty) every route here
//   answers 503 naming the setting.
#ifndef GENNAKER_SERVICES_GATE_GATE_BUILDS_H_
#define GENNAKER_SERVICES_GATE_GATE_BUILDS_H_

#include <cstddef>
#include <memory>

#include "absl/strings/string_view.h"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {

// Registers the routes above; handlers call `backends->igor`.
void AddBuildRoutes(std::shared_ptr<const Backends> backends,
                    const AddRoute& add);

// GET /images/find for docker registries (see above); 503 without igor.
http::Response FindDockerImages(const Igor& igor, const http::Request& r);

// The longest image query /images/find accepts (400 above): matching costs
// |q| x |text| per tag.
inline constexpr size_t kMaxImageQueryBytes = 256;

// Whether `text` ("repository:tag") matches Deck's image query `q`: empty or
// "*" matches everything; otherwise `q` may match anywhere in `text`, each
// '*' (or run of them) in it standing for any run of characters;
// case-insensitive. A `q` longer than kMaxImageQueryBytes matches nothing.
bool ImageQueryMatches(absl::string_view q, absl::string_view text);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_BUILDS_H_
