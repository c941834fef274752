// Wiring of the orca service: the one place where its config becomes running
// parts (PostgreSQL store, engine, workers woken by LISTEN, front50 client,
// stage registry, gRPC adapter, and fiat's Authorizer when authorization is
// enabled).
#ifndef GENNAKER_SERVICES_ORCA_ORCA_SERVER_H_
#define GENNAKER_SERVICES_ORCA_ORCA_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/orca/v1/config.pb.h"

namespace gennaker::orca {

// Text naming where unimplemented RPCs of this service will be built.
inline constexpr char kUnimplementedArea[] = "orca: not built yet";

// orca's own config defaults (engine: worker_threads 4, lease_seconds 60,
// safety_poll_ms 2000, max_handler_attempts 8, webhook_max_attempts 10;
// retention_days and keep_per_pipeline stay 0, "keep everything"). Set before
// the config file is read: ServiceMain applies it after the shared blocks'
// defaults and then checks the ranges declared in the config proto. Code that
// builds an OrcaConfig by hand calls it first.
void ApplyOrcaDefaults(v1::OrcaConfig* config);

// Checks what the shared validation and the declared field rules cannot know
// about orca (front50's address; fiat's when authorization is enabled).
absl::Status ValidateConfig(const v1::OrcaConfig& config);

// Connects to postgres and builds the service from a config whose defaults
// are in (ApplyOrcaDefaults) and that passed validation. Fails when the store
// is unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildOrca(
    const v1::OrcaConfig& config, Metrics* metrics);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ORCA_SERVER_H_
