// The rosco binary.
#include "services/rosco/rosco_server.h"

int main(int argc, char** argv) {
  return gennaker::ServiceMain<gennaker::rosco::v1::RoscoConfig>(
      argc, argv, "rosco", gennaker::rosco::kUnimplementedArea,
      gennaker::rosco::ValidateConfig, gennaker::rosco::BuildRosco,
      gennaker::rosco::ApplyRoscoDefaults);
}
