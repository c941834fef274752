#include "services/front50/front50_server.h"

#include "absl/time/clock.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "re2/re2.h"
#include "services/front50/front50_core.h"
#include "services/front50/front50_grpc.h"
#include "services/front50/store/pg_object_store.h"

namespace gennaker::front50 {

// Generated from deploy/sql/front50/.
std::vector<pg::Migration> Migrations();

namespace {

class Front50Instance : public ServiceInstance {
 public:
  // The store's change listener calls into the core: stop it before the core
  // goes.
  ~Front50Instance() override { store_.reset(); }

  std::vector<grpc::Service*> GrpcServices() override {
    return {service_.get()};
  }
  void Stop() override { stopping_ = true; }

  std::atomic<bool> stopping_{false};
  absl::Status CheckDependencies() override { return PingPostgres(*pool_); }

  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgObjectStore> store_;
  std::unique_ptr<Front50Core> core_;
  std::unique_ptr<v1::Front50Service::Service> service_;
};

}  // namespace

absl::Status ValidateConfig(const v1::Front50Config& config) {
  if (!config.application_name_pattern().empty()) {
    RE2 pattern(config.application_name_pattern(), RE2::Quiet);
    if (!pattern.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "applicationNamePattern: invalid regex: ", pattern.error()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildFront50(
    const v1::Front50Config& config, Metrics*) {
  auto instance = std::make_unique<Front50Instance>();
  GENNAKER_ASSIGN_OR_RETURN(
      instance->pool_,
      ConnectPostgres(config.postgres(), "front50", Migrations()));
  instance->store_ = std::make_unique<PgObjectStore>(instance->pool_.get(),
                                                     config.postgres().dsn());
  instance->core_ = std::make_unique<Front50Core>(
      instance->store_.get(), CoreOptions{config.application_name_pattern()},
      [] { return absl::ToUnixMillis(absl::Now()); });
  GENNAKER_RETURN_IF_ERROR(instance->core_->Init());
  instance->service_ =
      NewFront50GrpcService(instance->core_.get(), &instance->stopping_,
                            config.server().max_message_bytes());
  return instance;
}

}  // namespace gennaker::front50
