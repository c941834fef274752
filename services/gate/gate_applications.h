// gate's application routes (Spinnaker Gate compatible): GET /applications and
// GET /applications/{app}, front50's application records merged with what
// clouddriver sees deployed.
//
// Contract:
// - An application is known when front50 has its record or clouddriver sees
//   it deployed; gate serves a clouddriver-only application like Gate does
//   (attributes from clouddriver, no front50 fields). Unknown to both: 404.
// - Merged attributes (MergeApplicationAttributes): front50's, then
//   clouddriver's where front50's are missing or empty, the clouddriver
//   account names as `accounts`, the lower-cased name as `name`.
// - GET /applications/{app}?expand= (default true, as in Gate): `clusters` is
//   {account: [{name, provider, serverGroups, loadBalancers}]} with expand,
//   {} without.
// - GET /applications?account=&owner=: the merged attribute maps, front50's
//   applications first (in its order), then clouddriver-only ones; `account`
//   keeps those deployed in that account, `owner` those with that email (both
//   case-insensitive).
// - clouddriver is asked for the lower-cased name, concurrently with front50.
//   Its failures (UNAVAILABLE, UNIMPLEMENTED, a deadline, ...) never fail
//   these routes: gate logs a warning and serves front50's data. front50's
//   failures (other than NOT_FOUND) are the routes' errors, as before.
#ifndef GENNAKER_SERVICES_GATE_GATE_APPLICATIONS_H_
#define GENNAKER_SERVICES_GATE_GATE_APPLICATIONS_H_

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {

// What clouddriver knows of one application.
struct InfrastructureView {
  std::string name;
  // clouddriver's attributes (name, cloudProviders, ...); always an object.
  nlohmann::ordered_json attributes = nlohmann::ordered_json::object();
  // Accounts the application has clusters in.
  std::set<std::string> accounts;
};

// The view of clouddriver's Application: its typed `attributes` (else those
// of its `json`) and the accounts of its typed clusters (else the keys of its
// json's `clusters` or `clusterNames` map).
InfrastructureView ToInfrastructureView(
    const clouddriver::v1::Application& application);

// Gate's merge of an application's attributes: `front50` (an object; anything
// else counts as {}) keeps every value; each of clouddriver's attributes that
// is set (not null, false, 0, "", [] or {}) fills a key front50 lacks or
// left empty; a non-empty `clouddriver->accounts` becomes `accounts`, comma-
// joined in order; `name` is set to `name`. `clouddriver` may be null.
nlohmann::ordered_json MergeApplicationAttributes(
    nlohmann::ordered_json front50, const InfrastructureView* clouddriver,
    const std::string& name);

// Gate's expanded clusters: {account: [{name, provider, serverGroups,
// loadBalancers}]}, accounts sorted, each account's clusters by name.
nlohmann::ordered_json ClustersByAccount(
    const google::protobuf::RepeatedPtrField<clouddriver::v1::Cluster>&
        clusters);

// Registers GET /applications and GET /applications/{app}, calling
// `backends->front50` and `backends->clouddriver`.
void AddApplicationRoutes(std::shared_ptr<const Backends> backends,
                          const AddRoute& add);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_APPLICATIONS_H_
