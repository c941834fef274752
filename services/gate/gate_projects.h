// gate's project dashboard routes (Spinnaker Gate compatible), what Deck's
// project pages read:
// - GET /projects/{id}/pipelines?limit=&statuses=: the newest `limit`
//   executions of each pipeline config the project lists;
// - GET /projects/{id}/clusters: the project's clusters with the
//   applications that have server groups in them and their instance counts.
// Contract: applications the caller may not READ are left out of both, and
// clusters in accounts the caller may not READ out of the second; an unknown
// project is 404; handlers act as CurrentCallContext().user.
#ifndef GENNAKER_SERVICES_GATE_GATE_PROJECTS_H_
#define GENNAKER_SERVICES_GATE_GATE_PROJECTS_H_

#include <memory>

#include "services/gate/gate_backend.h"

namespace gennaker::gate {

// Registers the two dashboard routes; handlers call front50, orca and
// clouddriver through `backends`.
void AddProjectDashboardRoutes(std::shared_ptr<const Backends> backends,
                               const AddRoute& add);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_PROJECTS_H_
