// The orca binary.
#include "services/orca/orca_server.h"

int main(int argc, char** argv) {
  return gennaker::ServiceMain<gennaker::orca::v1::OrcaConfig>(
      argc, argv, "orca", gennaker::orca::kUnimplementedArea,
      gennaker::orca::ValidateConfig, gennaker::orca::BuildOrca,
      gennaker::orca::ApplyOrcaDefaults);
}
