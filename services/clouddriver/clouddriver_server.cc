#include "services/clouddriver/clouddriver_server.h"

#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"

namespace gennaker::clouddriver {

namespace {

class ClouddriverInstance : public ServiceInstance {
 public:
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

  absl::Status CheckDependencies() override { return PingRedis(*redis_); }

  std::unique_ptr<redis::Client> redis_;
  // Every RPC answers UNIMPLEMENTED until its issue lands.
  v1::ClouddriverService::Service service_;
};

}  // namespace

absl::Status ValidateConfig(const v1::ClouddriverConfig&) {
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildClouddriver(
    const v1::ClouddriverConfig& config, Metrics*) {
  auto instance = std::make_unique<ClouddriverInstance>();
  GENNAKER_ASSIGN_OR_RETURN(instance->redis_, ConnectRedis(config.redis()));
  return instance;
}

}  // namespace gennaker::clouddriver
