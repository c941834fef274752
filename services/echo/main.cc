// The echo binary.
#include "services/echo/echo_server.h"

int main(int argc, char** argv) {
  return gennaker::ServiceMain<gennaker::echo::v1::EchoConfig>(
      argc, argv, "echo", gennaker::echo::kUnimplementedArea,
      gennaker::echo::ValidateConfig, gennaker::echo::BuildEcho,
      gennaker::echo::ApplyEchoDefaults);
}
