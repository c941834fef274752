#include "services/echo/echo_server.h"

#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/echo/v1/echo.grpc.pb.h"

namespace gennaker::echo {

// Generated from deploy/sql/echo/.
std::vector<pg::Migration> Migrations();

namespace {

class EchoInstance : public ServiceInstance {
 public:
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

  absl::Status CheckDependencies() override { return PingPostgres(*pool_); }

  std::unique_ptr<pg::Pool> pool_;
  // Every RPC answers UNIMPLEMENTED until its issue lands.
  v1::EchoService::Service service_;
};

}  // namespace

absl::Status ValidateConfig(const v1::EchoConfig&) { return absl::OkStatus(); }

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildEcho(
    const v1::EchoConfig& config, Metrics*) {
  auto instance = std::make_unique<EchoInstance>();
  GENNAKER_ASSIGN_OR_RETURN(
      instance->pool_,
      ConnectPostgres(config.postgres(), "echo", Migrations()));
  return instance;
}

}  // namespace gennaker::echo
