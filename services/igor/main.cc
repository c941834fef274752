// The igor binary.
#include "services/igor/igor_server.h"

int main(int argc, char** argv) {
  return gennaker::ServiceMain<gennaker::igor::v1::IgorConfig>(
      argc, argv, "igor", gennaker::igor::kUnimplementedArea,
      gennaker::igor::ValidateConfig, gennaker::igor::BuildIgor,
      gennaker::igor::ApplyIgorDefaults);
}
