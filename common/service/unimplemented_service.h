// main() of a service whose RPCs are built by a later issue (today echo, fiat,
// igor, kayenta, rosco). The generated base class of its gRPC service answers
// every call UNIMPLEMENTED, and the shared interceptor says which area will
// build them; everything else is a finished service's: config, logging, its
// store connected at start-up (PostgreSQL with the service's migrations when
// its config has a `postgres` block, else Redis), health that follows the
// store, graceful stop. A binary's main() is one call:
//
//   return UnimplementedServiceMain<v1::EchoConfig, v1::EchoService::Service>(
//       argc, argv, "echo", "echo events and notifications: not yet scheduled",
//       Migrations());
#ifndef GENNAKER_COMMON_SERVICE_UNIMPLEMENTED_SERVICE_H_
#define GENNAKER_COMMON_SERVICE_UNIMPLEMENTED_SERVICE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/service/service_main.h"
#include "common/service/stores.h"

namespace gennaker {

namespace internal_unimplemented {

template <typename GrpcService, typename Store>
class Instance : public ServiceInstance {
 public:
  Instance(std::unique_ptr<Store> store, absl::Status (*ping)(Store&))
      : store_(std::move(store)), ping_(ping) {}
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }
  absl::Status CheckDependencies() override { return ping_(*store_); }

 private:
  std::unique_ptr<Store> store_;
  absl::Status (*ping_)(Store&);
  GrpcService service_;
};

}  // namespace internal_unimplemented

template <typename Config, typename GrpcService>
int UnimplementedServiceMain(int argc, char** argv, std::string name,
                             std::string area,
                             std::vector<pg::Migration> migrations = {}) {
  auto build =
      [name, migrations = std::move(migrations)](
          const Config& config,
          Metrics*) -> absl::StatusOr<std::unique_ptr<ServiceInstance>> {
    using internal_unimplemented::Instance;
    if constexpr (requires(const Config& c) { c.postgres(); }) {
      absl::StatusOr<std::unique_ptr<pg::Pool>> pool =
          ConnectPostgres(config.postgres(), name, migrations);
      if (!pool.ok()) return pool.status();
      return std::make_unique<Instance<GrpcService, pg::Pool>>(*std::move(pool),
                                                               &PingPostgres);
    } else {
      absl::StatusOr<std::unique_ptr<redis::Client>> client =
          ConnectRedis(config.redis());
      if (!client.ok()) return client.status();
      return std::make_unique<Instance<GrpcService, redis::Client>>(
          *std::move(client), &PingRedis);
    }
  };
  return ServiceMain<Config>(argc, argv, std::move(name), std::move(area),
                             nullptr, build);
}

}  // namespace gennaker

#endif  // GENNAKER_COMMON_SERVICE_UNIMPLEMENTED_SERVICE_H_
