// The gRPC adapter of orca: OrcaService's RPCs translated to and from the
// operations of OrcaApi (orca_api.h), which does the work. Statuses are
// mapped once, at this boundary.
#ifndef GENNAKER_SERVICES_ORCA_ORCA_GRPC_H_
#define GENNAKER_SERVICES_ORCA_ORCA_GRPC_H_

#include <memory>

#include "gennaker/orca/v1/orca.grpc.pb.h"

namespace gennaker::orca {

class Engine;
class Store;
class Front50;
class Clock;

std::unique_ptr<v1::OrcaService::Service> NewOrcaGrpc(Engine* engine,
                                                      Store* store,
                                                      Front50* front50,
                                                      const Clock* clock);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ORCA_GRPC_H_
