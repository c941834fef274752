// A real front50 (its core and gRPC service over the shared test PostgreSQL,
// in a fresh database) inside a test process, for tests of the services that
// call it. Extra services (e.g. stand-ins answering UNIMPLEMENTED) can share
// its gRPC server.
#ifndef GENNAKER_TESTS_SUPPORT_FRONT50_SERVER_H_
#define GENNAKER_TESTS_SUPPORT_FRONT50_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/grpc/grpc_server.h"
#include "common/pg/pg.h"
#include "services/front50/front50_core.h"
#include "services/front50/store/pg_object_store.h"

namespace gennaker::testing {

class Front50Server {
 public:
  static absl::StatusOr<std::unique_ptr<Front50Server>> Start(
      std::vector<grpc::Service*> extra_services = {});
  ~Front50Server();

  // host:port of the gRPC server.
  std::string address() const;
  int port() const { return grpc_->port(); }
  const std::string& dsn() const { return dsn_; }
  front50::Front50Core* core() { return core_.get(); }

 private:
  Front50Server() = default;
  std::atomic<bool> stopping_{false};
  std::string dsn_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<front50::PgObjectStore> store_;
  std::unique_ptr<front50::Front50Core> core_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<GrpcServer> grpc_;
};

}  // namespace gennaker::testing

#endif  // GENNAKER_TESTS_SUPPORT_FRONT50_SERVER_H_
