// The gate binary.
#include "common/service/service_main.h"
#include "services/gate/gate_server.h"

int main(int argc, char** argv) {
  return gennaker::ServiceMain<gennaker::gate::v1::GateConfig>(
      argc, argv, "gate", gennaker::gate::kUnimplementedArea,
      gennaker::gate::ValidateConfig, gennaker::gate::BuildGate,
      gennaker::gate::ApplyGateDefaults);
}
