// Spinnaker's JSON shapes of clouddriver's resources, rendered from the typed
// messages of proto/gennaker/clouddriver/v1: one renderer per shape, used by
// clouddriver (which renders what its providers report) and by gate (which
// serves what clouddriver sent).
//
// A message's `json` field, when set, is the provider's full rendering (with
// provider-specific fields such as a local server group's launchConfig) and
// wins over the typed fields: RenderedOr / RenderedTextOr say so once.
#ifndef GENNAKER_COMMON_SPINNAKER_SHAPES_H_
#define GENNAKER_COMMON_SPINNAKER_SHAPES_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/names.h"
#include "common/spinnaker/targets.h"
#include "gennaker/clouddriver/v1/clouddriver.pb.h"
#include "gennaker/common/v1/types.pb.h"

namespace gennaker::spinnaker {

// The rendering in `object`, parsed; null when there is none (or it does not
// parse).
Json ParseRendered(const common::v1::JsonObject& object);

// The rendering in `object`, else `build()`.
template <typename Build>
Json RenderedOr(const common::v1::JsonObject& object, Build build) {
  Json j = ParseRendered(object);
  return j.is_null() ? build() : j;
}

// The rendering in `object` as sent (no re-parse), else `build()` as text.
template <typename Build>
std::string RenderedTextOr(const common::v1::JsonObject& object, Build build) {
  return object.json().empty() ? Dump(build()) : object.json();
}

// A dynamic target as clouddriver's API carries it, and back (nullopt for
// SERVER_GROUP_TARGET_UNSPECIFIED).
clouddriver::v1::ServerGroupTarget TargetToProto(Target target);
std::optional<Target> TargetFromProto(clouddriver::v1::ServerGroupTarget t);

// The typed moniker of a parsed name.
common::v1::Moniker MonikerProto(const Names& n);

// {app, cluster, stack?, detail?, sequence?}
Json MonikerJson(const common::v1::Moniker& m);
Json MonikerJson(const Names& n);

// Spinnaker's HealthState names ("Up", "Down", "OutOfService", ...), and back
// (an unknown name is HEALTH_STATE_UNKNOWN).
const char* HealthStateName(clouddriver::v1::HealthState state);
clouddriver::v1::HealthState HealthStateFromName(absl::string_view name);

// An instance as GET /instances/{account}/{region}/{id} serves it.
Json InstanceJson(const clouddriver::v1::Instance& i);
// An instance inside a server group list (Spinnaker's InstanceViewModel).
Json InstanceViewJson(const clouddriver::v1::Instance& i);

// kList: the element of an application's server group list
// (ServerGroupViewModel: isDisabled, cluster, application, instance views);
// kDetail: one server group (disabled, full instances).
enum class ServerGroupView { kList, kDetail };
Json ServerGroupJson(const clouddriver::v1::ServerGroup& g,
                     ServerGroupView view);

// A cluster with its server groups (each the group's own rendering when it has
// one) and load balancer names.
Json ClusterJson(const clouddriver::v1::Cluster& c);
// ClusterViewModel: the names of the server groups and load balancers.
Json ClusterSummaryJson(const clouddriver::v1::Cluster& c);

Json LoadBalancerJson(const clouddriver::v1::LoadBalancer& lb);

// The element of GET /securityGroups: {name, id, vpcId?}.
Json SecurityGroupSummaryJson(const clouddriver::v1::SecurityGroup& g);
// A whole security group (rules only come with a provider's rendering).
Json SecurityGroupJson(const clouddriver::v1::SecurityGroup& g);

// A search hit as a flat map, empty fields left out.
Json SearchResultJson(const clouddriver::v1::SearchResult& r);

// An account (AccountDetails): the provider's rendering with the typed fields
// it lacks filled in.
Json AccountJson(const clouddriver::v1::Account& a);

}  // namespace gennaker::spinnaker

#endif  // GENNAKER_COMMON_SPINNAKER_SHAPES_H_
