#include "services/orca/orca_server.h"

#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"

namespace gennaker::orca {

// Generated from deploy/sql/orca/.
std::vector<pg::Migration> Migrations();

namespace {

class OrcaInstance : public ServiceInstance {
 public:
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

  absl::Status CheckDependencies() override { return PingPostgres(*pool_); }

  std::unique_ptr<pg::Pool> pool_;
  // Every RPC answers UNIMPLEMENTED until its issue lands.
  v1::OrcaService::Service service_;
};

}  // namespace

absl::Status ValidateConfig(const v1::OrcaConfig&) { return absl::OkStatus(); }

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildOrca(
    const v1::OrcaConfig& config, Metrics*) {
  auto instance = std::make_unique<OrcaInstance>();
  GENNAKER_ASSIGN_OR_RETURN(
      instance->pool_,
      ConnectPostgres(config.postgres(), "orca", Migrations()));
  return instance;
}

}  // namespace gennaker::orca
