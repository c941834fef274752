#include "services/front50/front50_server.h"

#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"

namespace gennaker::front50 {

// Generated from deploy/sql/front50/.
std::vector<pg::Migration> Migrations();

namespace {

class Front50Instance : public ServiceInstance {
 public:
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

  std::unique_ptr<pg::Pool> pool_;
  // Every RPC answers UNIMPLEMENTED until its issue lands.
  v1::Front50Service::Service service_;
};

}  // namespace

absl::Status ValidateConfig(const v1::Front50Config&) { return absl::OkStatus(); }

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildFront50(const v1::Front50Config& config,
                                                        Metrics*) {
  auto instance = std::make_unique<Front50Instance>();
  GENNAKER_ASSIGN_OR_RETURN(instance->pool_,
                            ConnectPostgres(config.postgres(), "front50", Migrations()));
  return instance;
}

}  // namespace gennaker::front50
