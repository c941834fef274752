#include "tests/support/front50_server.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/pg/migrations.h"
#include "common/testing/test_stores.h"
#include "services/front50/front50_grpc.h"

namespace gennaker::front50 {
std::vector<pg::Migration> Migrations();
}

namespace gennaker::testing {

absl::StatusOr<std::unique_ptr<Front50Server>> Front50Server::Start(
    std::vector<grpc::Service*> extra_services) {
  std::unique_ptr<Front50Server> s(new Front50Server());
  absl::StatusOr<TestPostgres*> pg = SharedPostgres();
  if (!pg.ok()) return pg.status();
  absl::StatusOr<std::string> dsn = (*pg)->CreateDatabase("front50");
  if (!dsn.ok()) return dsn.status();
  s->dsn_ = *dsn;
  pg::PoolOptions o;
  o.dsn = s->dsn_;
  o.size = 4;
  absl::StatusOr<std::unique_ptr<pg::Pool>> pool = pg::Pool::Create(o);
  if (!pool.ok()) return pool.status();
  s->pool_ = std::move(*pool);
  absl::StatusOr<int> applied =
      pg::ApplyMigrations(*s->pool_, "front50", front50::Migrations());
  if (!applied.ok()) return applied.status();
  s->store_ = std::make_unique<front50::PgObjectStore>(s->pool_.get(), s->dsn_);
  s->core_ = std::make_unique<front50::Front50Core>(
      s->store_.get(), front50::CoreOptions{},
      [] { return absl::ToUnixMillis(absl::Now()); });
  if (absl::Status init = s->core_->Init(); !init.ok()) return init;
  s->service_ = front50::NewFront50GrpcService(s->core_.get(), &s->stopping_);
  std::vector<grpc::Service*> services = {s->service_.get()};
  services.insert(services.end(), extra_services.begin(), extra_services.end());
  GrpcServerOptions g;
  g.unimplemented_area = "not built yet";
  // As in production (ServiceMain): the suite's message limit, not gRPC's.
  g.max_message_bytes = kDefaultMaxMessageBytes;
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(g, services);
  if (!server.ok()) return server.status();
  s->grpc_ = std::move(*server);
  return s;
}

Front50Server::~Front50Server() {
  stopping_ = true;
  grpc_.reset();
  service_.reset();
  core_.reset();
  store_.reset();
  pool_.reset();
}

std::string Front50Server::address() const {
  return absl::StrCat("127.0.0.1:", grpc_->port());
}

}  // namespace gennaker::testing
