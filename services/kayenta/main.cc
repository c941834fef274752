// The kayenta binary. Its RPCs answer UNIMPLEMENTED until they are built; it
// already runs as a finished service does, on its PostgreSQL schema.
#include "common/service/unimplemented_service.h"
#include "gennaker/kayenta/v1/config.pb.h"
#include "gennaker/kayenta/v1/kayenta.grpc.pb.h"

namespace gennaker::kayenta {
// Generated from deploy/sql/kayenta/.
std::vector<pg::Migration> Migrations();
}  // namespace gennaker::kayenta

int main(int argc, char** argv) {
  namespace v1 = gennaker::kayenta::v1;
  return gennaker::UnimplementedServiceMain<v1::KayentaConfig,
                                            v1::KayentaService::Service>(
      argc, argv, "kayenta", "kayenta canary analysis: not built yet",
      gennaker::kayenta::Migrations());
}
