// The fiat binary.
#include "services/fiat/fiat_server.h"

int main(int argc, char** argv) {
  return gennaker::ServiceMain<gennaker::fiat::v1::FiatConfig>(
      argc, argv, "fiat", gennaker::fiat::kUnimplementedArea,
      gennaker::fiat::ValidateConfig, gennaker::fiat::BuildFiat,
      gennaker::fiat::ApplyFiatDefaults);
}
