#include "services/fiat/fiat_server.h"

#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/fiat/v1/fiat.grpc.pb.h"

namespace gennaker::fiat {

namespace {

class FiatInstance : public ServiceInstance {
 public:
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

  absl::Status CheckDependencies() override { return PingRedis(*redis_); }

  std::unique_ptr<redis::Client> redis_;
  // Every RPC answers UNIMPLEMENTED until its issue lands.
  v1::FiatService::Service service_;
};

}  // namespace

absl::Status ValidateConfig(const v1::FiatConfig&) { return absl::OkStatus(); }

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildFiat(
    const v1::FiatConfig& config, Metrics*) {
  auto instance = std::make_unique<FiatInstance>();
  GENNAKER_ASSIGN_OR_RETURN(instance->redis_, ConnectRedis(config.redis()));
  return instance;
}

}  // namespace gennaker::fiat
