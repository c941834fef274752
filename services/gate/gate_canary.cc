#include "services/gate/gate_canary.h"

#include "services/kayenta/rest/kayenta_rest.h"

namespace gennaker::gate {

void AddCanaryRoutes(std::shared_ptr<const Backends> backends,
                     const AddRoute& add) {
  kayenta::AddGateCanaryRoutes(add, backends->kayenta.stub,
                               backends->kayenta.deadline);
}

}  // namespace gennaker::gate
