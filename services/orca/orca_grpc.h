// The gRPC adapter of orca: OrcaService's RPCs translated to and from the
// operations of OrcaApi (orca_api.h), which does the work. Statuses are
// mapped once, at this boundary. The caller is the call's x-spinnaker-user
// (anonymous when none); authorization is OrcaApi's (orca_api.h).
#ifndef GENNAKER_SERVICES_ORCA_ORCA_GRPC_H_
#define GENNAKER_SERVICES_ORCA_ORCA_GRPC_H_

#include <memory>

#include "gennaker/orca/v1/orca.grpc.pb.h"

namespace gennaker::fiat {
class Authorizer;
}

namespace gennaker::orca {

class Engine;
class Store;
class Front50;
class Clock;

// `authorizer`: fiat::Authorizer::Disabled() when authorization is off.
std::unique_ptr<v1::OrcaService::Service> NewOrcaGrpc(
    Engine* engine, Store* store, Front50* front50, const Clock* clock,
    std::shared_ptr<fiat::Authorizer> authorizer);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ORCA_GRPC_H_
