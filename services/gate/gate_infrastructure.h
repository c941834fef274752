// gate's infrastructure read API (Spinnaker Gate compatible): accounts,
// clusters, server groups, load balancers, security groups, instances and
// search, all read from clouddriver over gRPC.
//
// Contract:
// - clouddriver renders every resource in Spinnaker's JSON (the messages'
//   `json` fields); gate passes that text through and builds Spinnaker's shape
//   from the typed fields only when `json` is empty.
// - gate assembles the shapes clouddriver's gRPC API leaves to it: the
//   {account: [cluster names]} map, cluster summaries, the nested security
//   group map {account: {provider: {region: [summaries]}}}, load balancer
//   summaries grouped by name, account and region, and the search result set.
// - Errors from clouddriver become gate's error body with the HTTP status of
//   their code (NOT_FOUND 404, INVALID_ARGUMENT 400, UNAVAILABLE 503, ...); an
//   application clouddriver does not know (NOT_FOUND) lists as empty, like
//   Spinnaker's. Malformed query parameters (pageSize=abc, expand=maybe) are
//   400 before any call.
// - Handlers act as CurrentCallContext().user; each call has clouddriver's
//   deadline.
#ifndef GENNAKER_SERVICES_GATE_GATE_INFRASTRUCTURE_H_
#define GENNAKER_SERVICES_GATE_GATE_INFRASTRUCTURE_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {

// Registers the infrastructure routes (credentials, clusters, server groups,
// load balancers, security groups, instances, search); handlers call
// `backends->clouddriver`.
void AddInfrastructureRoutes(std::shared_ptr<const Backends> backends,
                             const AddRoute& add);

// GET /serverGroups?ids=account:region:name,...: those server groups in
// clouddriver's list view (with instanceCounts; Deck's search results fetch
// them), the ones that do not exist, are in accounts the caller may not
// READ or are of applications (the moniker's, else the Frigga name's) the
// caller may not READ left out; [] for no ids, 400 for an id that is not a
// triple. Not
// registered by AddInfrastructureRoutes: gate_rest.cc adds it.
http::Response ListServerGroupsByIds(const Backends& backends,
                                     const http::Request& request);

// clouddriver's target for a Spinnaker target name (spinnaker::ParseTarget:
// "current"/"newest", "previous"/"ancestor", "oldest", "largest", with or
// without "_asg"/"_asg_dynamic", any case). NOT_FOUND "Target not found
// (target: <name>)" for any other name, as clouddriver answers; that includes
// Spinnaker's "fail", which clouddriver's gRPC API cannot express.
absl::StatusOr<clouddriver::v1::ServerGroupTarget> ParseServerGroupTarget(
    absl::string_view name);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_INFRASTRUCTURE_H_
