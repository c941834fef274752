// The clouddriver binary.
#include "services/clouddriver/clouddriver_server.h"

int main(int argc, char** argv) {
  return gennaker::ServiceMain<gennaker::clouddriver::v1::ClouddriverConfig>(
      argc, argv, "clouddriver", gennaker::clouddriver::kUnimplementedArea,
      gennaker::clouddriver::ValidateConfig,
      gennaker::clouddriver::BuildClouddriver,
      gennaker::clouddriver::ApplyClouddriverDefaults);
}
