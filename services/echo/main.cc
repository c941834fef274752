// The echo binary. Its RPCs answer UNIMPLEMENTED until they are built; it
// already runs as a finished service does, on its PostgreSQL schema.
#include "common/service/unimplemented_service.h"
#include "gennaker/echo/v1/config.pb.h"
#include "gennaker/echo/v1/echo.grpc.pb.h"

namespace gennaker::echo {
// Generated from deploy/sql/echo/.
std::vector<pg::Migration> Migrations();
}  // namespace gennaker::echo

int main(int argc, char** argv) {
  namespace v1 = gennaker::echo::v1;
  return gennaker::UnimplementedServiceMain<v1::EchoConfig,
                                            v1::EchoService::Service>(
      argc, argv, "echo",
      "echo events, triggers and notifications: not built yet",
      gennaker::echo::Migrations());
}
