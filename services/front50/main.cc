// The front50 binary.
#include "services/front50/front50_server.h"

int main(int argc, char** argv) {
  return gennaker::ServiceMain<gennaker::front50::v1::Front50Config>(
      argc, argv, "front50", gennaker::front50::kUnimplementedArea,
      gennaker::front50::ValidateConfig, gennaker::front50::BuildFront50);
}
