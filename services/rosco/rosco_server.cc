#include "services/rosco/rosco_server.h"

#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/rosco/v1/rosco.grpc.pb.h"

namespace gennaker::rosco {

namespace {

class RoscoInstance : public ServiceInstance {
 public:
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

  absl::Status CheckDependencies() override { return PingRedis(*redis_); }

  std::unique_ptr<redis::Client> redis_;
  // Every RPC answers UNIMPLEMENTED until its issue lands.
  v1::RoscoService::Service service_;
};

}  // namespace

absl::Status ValidateConfig(const v1::RoscoConfig&) { return absl::OkStatus(); }

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildRosco(
    const v1::RoscoConfig& config, Metrics*) {
  auto instance = std::make_unique<RoscoInstance>();
  GENNAKER_ASSIGN_OR_RETURN(instance->redis_, ConnectRedis(config.redis()));
  return instance;
}

}  // namespace gennaker::rosco
