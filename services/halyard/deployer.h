// The local deployer: runs the suite on this machine as halyard's child
// processes.
//
// Apply renders every service's config, starts managed PostgreSQL/Redis when
// the storage is LOCAL_MANAGED (on loopback, each with the deployment's
// generated password: see secrets.h) and a managed Prometheus when kayenta
// needs one (ManagedPrometheus), then starts the services in dependency order,
// waiting for each to report SERVING over the gRPC health protocol. A service
// already running with the same rendered config (and binary) is left alone; one
// whose config changed is restarted. What runs is recorded in
// <stateDir>/run/deployment.json, which Status and Clean read.
#ifndef GENNAKER_SERVICES_HALYARD_DEPLOYER_H_
#define GENNAKER_SERVICES_HALYARD_DEPLOYER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gennaker/halyard/v1/halconfig.pb.h"
#include "gennaker/halyard/v1/halyard.pb.h"
#include "services/halyard/render.h"

namespace gennaker::halyard {

// A server process halyard started.
struct ProcessRecord {
  int pid = 0;
  std::string host;
  int grpc_port = 0;  // the port for stores
  int admin_port = 0;
  int http_port = 0;
  std::string config_hash;
  int64_t started_at_ms = 0;
  // Text the process's command line contains (its config file, data dir or
  // port), so that a pid reused by an unrelated process after a reboot is never
  // signalled.
  std::string marker;
};

// True when the recorded process is alive and still the one we started.
bool Running(const ProcessRecord& record);

// What a deployment runs, as recorded on disk.
struct DeploymentRecord {
  std::string deployment;
  std::string version;
  ProcessRecord postgres;  // pid 0 when not managed
  ProcessRecord redis;
  ProcessRecord prometheus;  // pid 0 when not managed
  std::map<std::string, ProcessRecord> services;
};

absl::StatusOr<DeploymentRecord> ReadRecord(const std::string& state_dir);
absl::Status WriteRecord(const std::string& state_dir,
                         const DeploymentRecord& record);

class LocalDeployer {
 public:
  using Progress = std::function<void(const std::string& line)>;

  // `halconfig_path` is passed to the halyard daemon; `progress` receives one
  // line per step.
  LocalDeployer(std::string halconfig_path, Progress progress);

  // Brings the deployment in line with `config` (validated first, with the
  // UI bundle (CheckUiBundle): nothing is touched when it is invalid).
  // `only`, when non-empty, limits which services are (re)started; "deck"
  // names gate, which serves it.
  absl::StatusOr<v1::ApplyDeploymentResponse> Apply(
      const v1::Halconfig& config, const std::vector<std::string>& only);

  // Apply that also restarts the named services when their config is
  // unchanged (`halyard deploy restart`). `services` must be service names
  // or "deck" (gate: it serves the UI); INVALID_ARGUMENT otherwise, or when
  // a named service is disabled.
  absl::StatusOr<v1::ApplyDeploymentResponse> Restart(
      const v1::Halconfig& config, const std::vector<std::string>& services);

  // Each recorded service with its liveness and gRPC health, and Deck's
  // (GET /health on the UI port).
  absl::StatusOr<v1::GetDeploymentStatusResponse> Status(
      const v1::Halconfig& config) const;

  // The first step of Apply: for LOCAL_MANAGED storage, generates the store
  // passwords when missing and starts (or keeps) PostgreSQL and Redis with
  // them, giving a store started before it had a password its password now;
  // records them. Returns where the services find their stores (with the
  // passwords: never print it unredacted).
  absl::StatusOr<StorageEndpoints> EnsureStores(const v1::Halconfig& config);

  // The second step of Apply: when ManagedPrometheus(config), writes its
  // config (one job scraping every local account's file_sd file) and starts
  // it on 127.0.0.1 with its data under <stateDir>/data/prometheus, or keeps
  // the recorded one when it runs on the same port with the same config;
  // records it. Otherwise stops a managed one that still runs.
  absl::Status EnsurePrometheus(const v1::Halconfig& config);

  // Stops every process the deployment runs: the recorded services, then the
  // stores and the managed Prometheus (also one found on its data directory),
  // then any other process of the suite (a service binary of binDir, postgres
  // or redis-server) found working on the state directory: a PostgreSQL
  // restarted by hand on the data directory, or one whose working directory is
  // under the data directory or whose command line names a file under the
  // config or data directory. Other programs (an editor on a config file, a
  // shell in a data directory) are left alone. With `delete_data` also removes
  // the state directory's data.
  absl::Status Clean(const v1::Halconfig& config, bool delete_data);

 private:
  // Apply; `force` restarts the services of `only` even when unchanged.
  absl::StatusOr<v1::ApplyDeploymentResponse> Deploy(
      const v1::Halconfig& config, const std::vector<std::string>& only,
      bool force);

  std::string halconfig_path_;
  Progress progress_;
};

// gate's REST URL for `config`.
std::string GateUrl(const v1::Halconfig& config);

// Deck's URL for `config`: http://<host>:<ui.port>, the host of ui.gateUrl
// when set, else gate's host (127.0.0.1 for 0.0.0.0); "" when the UI is off.
std::string UiUrl(const v1::Halconfig& config);

// Service names with "deck" replaced by "gate" (the process serving it),
// without duplicates, in order.
std::vector<std::string> ProcessNames(const std::vector<std::string>& names);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_DEPLOYER_H_
