// The kayenta binary.
#include "services/kayenta/kayenta_server.h"

int main(int argc, char** argv) {
  return gennaker::ServiceMain<gennaker::kayenta::v1::KayentaConfig>(
      argc, argv, "kayenta", gennaker::kayenta::kUnimplementedArea,
      gennaker::kayenta::ValidateConfig, gennaker::kayenta::BuildKayenta,
      gennaker::kayenta::ApplyKayentaDefaults);
}
