// gate's infrastructure read API (Spinnaker Gate compatible; see
// shared/reference/gate-api.md §2.1-§2.2 and clouddriver-rosco-halyard.md §2):
// accounts, clusters, server groups, load balancers, security groups,
// instances and search, all read from clouddriver over gRPC.
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
// - Handlers act as CurrentCallContext().user; each call has `deadline`.
#ifndef GENNAKER_SERVICES_GATE_GATE_INFRASTRUCTURE_H_
#define GENNAKER_SERVICES_GATE_GATE_INFRASTRUCTURE_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "services/gate/gate_executions.h"

namespace gennaker::gate {

// Registers the infrastructure routes (credentials, clusters, server groups,
// load balancers, security groups, instances, search); handlers call
// `clouddriver` with `deadline` per call.
void AddInfrastructureRoutes(
    std::shared_ptr<clouddriver::v1::ClouddriverService::StubInterface>
        clouddriver,
    std::chrono::milliseconds deadline, const AddRoute& add);

// The boolean query parameter `name` as Spring converts one (true/false,
// on/off, yes/no, 1/0, any case); absent or empty is `fallback`, anything else
// INVALID_ARGUMENT.
absl::StatusOr<bool> QueryBool(const http::Request& r, const std::string& name,
                               bool fallback);

// The dynamic target a Spinnaker target name means, case-insensitively:
// "current"/"newest", "previous"/"ancestor", "oldest" and "largest", each
// also with the legacy suffix "_asg" or "_asg_dynamic" (so
// "ancestor_asg_dynamic" is PREVIOUS). NOT_FOUND for any other name, as
// clouddriver answers; that includes Spinnaker's "fail", which clouddriver's
// gRPC API cannot express.
absl::StatusOr<clouddriver::v1::ServerGroupTarget> ParseServerGroupTarget(
    absl::string_view name);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_INFRASTRUCTURE_H_
