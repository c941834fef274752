// What orca needs from kayenta to run a kayentaCanary stage: start one canary
// run (de-duplicated by an idempotency key), read it until it ends, cancel it,
// and list kayenta's accounts (to know the metrics account's type). Kayenta is
// the interface the stages use (tests give them an in-memory fake);
// NewKayentaGrpc is the real client over KayentaService.
#ifndef GENNAKER_SERVICES_ORCA_KAYENTA_CLIENT_H_
#define GENNAKER_SERVICES_ORCA_KAYENTA_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/orca/engine/model.h"

namespace grpc {
class Channel;
}

namespace gennaker::orca {

// One canary run to start (Spinnaker's POST /canary/{canaryConfigId}).
struct CanaryRunRequest {
  std::string canary_config_id;
  std::string application;
  std::string parent_pipeline_execution_id;
  std::string metrics_account;        // empty: kayenta's single one
  std::string configuration_account;  // empty: kayenta's single one
  // {scopeName: {controlScope: {scope, location, start, end, step,
  // extendedScopeParams}, experimentScope: {...}}}, start/end as epoch ms
  // (numbers) and step in seconds.
  Json scopes = Json::object();
  double pass = 75;
  double marginal = 50;
  Json site_local = Json::object();
  std::string idempotency_key;
};

// A canary run as kayenta reports it.
struct CanaryRun {
  std::string id;
  // Spinnaker's status name: NOT_STARTED, RUNNING, SUCCEEDED, TERMINAL or
  // CANCELED.
  std::string status;
  std::optional<double> score;   // set when SUCCEEDED
  int64_t end_time_ms = 0;       // 0 while running
  Json result = Json::object();  // {judgeResult, canaryDuration}
  Json json = Json::object();    // the status response (with "exception")
};

// A kayenta account, without secrets.
struct KayentaAccount {
  std::string name;
  std::string type;                          // e.g. "prometheus", "datadog"
  std::vector<std::string> supported_types;  // e.g. "METRICS_STORE"
};

class Kayenta {
 public:
  virtual ~Kayenta() = default;
  // Returns the canary execution id; the same idempotency key returns the
  // same id.
  virtual absl::StatusOr<std::string> StartCanary(
      const CanaryRunRequest& request) = 0;
  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<CanaryRun> GetCanaryExecution(
      const std::string& canary_execution_id) = 0;
  // Cancels a running run; true when it was running (naturally idempotent).
  virtual absl::StatusOr<bool> CancelCanary(
      const std::string& canary_execution_id) = 0;
  virtual absl::StatusOr<std::vector<KayentaAccount>> ListCredentials() = 0;
};

// Sets run->status to Spinnaker's name for kayenta's CanaryStatus `value`
// (the proto enum's number). A value orca does not know (unspecified, or one
// added later) ends the run: TERMINAL, with an exception in run->json naming
// the value, rather than a status polled until the monitor's 12 h timeout.
void SetCanaryRunStatus(int value, CanaryRun* run);

// Calls time out after `deadline`; gRPC errors keep their canonical codes.
std::unique_ptr<Kayenta> NewKayentaGrpc(
    std::shared_ptr<grpc::Channel> channel,
    std::chrono::milliseconds deadline = std::chrono::seconds(10));

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_KAYENTA_CLIENT_H_
