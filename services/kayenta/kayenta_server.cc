#include "services/kayenta/kayenta_server.h"

#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/kayenta/v1/kayenta.grpc.pb.h"

namespace gennaker::kayenta {

// Generated from deploy/sql/kayenta/.
std::vector<pg::Migration> Migrations();

namespace {

class KayentaInstance : public ServiceInstance {
 public:
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

  absl::Status CheckDependencies() override { return PingPostgres(*pool_); }

  std::unique_ptr<pg::Pool> pool_;
  // Every RPC answers UNIMPLEMENTED until its issue lands.
  v1::KayentaService::Service service_;
};

}  // namespace

absl::Status ValidateConfig(const v1::KayentaConfig&) {
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildKayenta(
    const v1::KayentaConfig& config, Metrics*) {
  auto instance = std::make_unique<KayentaInstance>();
  GENNAKER_ASSIGN_OR_RETURN(
      instance->pool_,
      ConnectPostgres(config.postgres(), "kayenta", Migrations()));
  return instance;
}

}  // namespace gennaker::kayenta
