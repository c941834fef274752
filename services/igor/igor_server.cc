#include "services/igor/igor_server.h"

#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/igor/v1/igor.grpc.pb.h"

namespace gennaker::igor {

namespace {

class IgorInstance : public ServiceInstance {
 public:
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

  absl::Status CheckDependencies() override { return PingRedis(*redis_); }

  std::unique_ptr<redis::Client> redis_;
  // Every RPC answers UNIMPLEMENTED until its issue lands.
  v1::IgorService::Service service_;
};

}  // namespace

absl::Status ValidateConfig(const v1::IgorConfig&) { return absl::OkStatus(); }

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildIgor(
    const v1::IgorConfig& config, Metrics*) {
  auto instance = std::make_unique<IgorInstance>();
  GENNAKER_ASSIGN_OR_RETURN(instance->redis_, ConnectRedis(config.redis()));
  return instance;
}

}  // namespace gennaker::igor
