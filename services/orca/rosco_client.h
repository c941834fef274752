// What orca needs from rosco (the bakery) to run bake stages: start a bake
// in a region (de-duplicated by an idempotency key; rosco itself reuses a
// bake with the same bake key unless `rebake`), poll its status, read the
// finished bake, and cancel it. Rosco is the interface the stages use (tests
// give them an in-memory fake); NewRoscoGrpc is the real client over
// RoscoService. Requests and answers use Spinnaker's names (cloud provider
// "local", state "COMPLETED", artifacts as Spinnaker's artifact JSON).
#ifndef GENNAKER_SERVICES_ORCA_ROSCO_CLIENT_H_
#define GENNAKER_SERVICES_ORCA_ROSCO_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/orca/engine/model.h"

namespace grpc {
class Channel;
}

namespace gennaker::orca {

// What to bake (rosco's BakeRequest). Empty strings are unset.
struct RoscoBakeRequest {
  std::string user;
  std::string build_host;
  std::string job;
  std::string build_number;
  std::string commit_hash;
  std::string build_info_url;
  std::string package;                     // space-separated package list
  Json package_artifacts = Json::array();  // Spinnaker artifacts
  std::string package_type;                // "DEB", "RPM", "NUPKG" or ""
  std::string cloud_provider_type;         // "local", "aws", "docker", ...
  std::string base_label;
  std::string base_os;
  std::string base_name;
  std::string base_ami;
  std::string vm_type;
  std::string store_type;
  bool enhanced_networking = false;
  std::string ami_name;
  std::string ami_suffix;
  bool upgrade = false;
  std::string instance_type;
  std::string organization;
  std::string template_file_name;
  std::string var_file_name;
  Json extended_attributes = Json::object();
  std::string account_name;
  std::string spinnaker_execution_id;
  // Other stage keys, snake_cased.
  Json additional_attributes = Json::object();
};

// A bake's progress (rosco's BakeStatus).
struct RoscoBakeStatus {
  std::string id;
  std::string state;   // RUNNING, COMPLETED, CANCELED, SUSPENDED or ""
  std::string result;  // SUCCESS, FAILURE or "" (not completed)
  std::string resource_id;
  std::string region;
  std::string bake_key;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::string failure_message;
};

// A finished bake (rosco's Bake).
struct RoscoBake {
  std::string id;
  std::string ami;  // empty for providers without image ids (local, docker)
  std::string image_name;
  std::vector<std::string> regions;
  std::string base_ami;
  Json artifact = Json::object();  // the primary artifact; {} when none
  Json artifacts = Json::array();
  std::string cloud_provider_type;  // "local", "aws", ...
};

struct RoscoCreatedBake {
  RoscoBakeStatus status;
  bool reused = false;  // an existing running or successful bake
};

class Rosco {
 public:
  virtual ~Rosco() = default;
  // Starts a bake of `request` in `region`, or returns the bake rosco keeps
  // for the same inputs (unless `rebake`). The same idempotency key returns
  // the first call's status. INVALID_ARGUMENT for a request rosco refuses
  // (or an unknown cloud provider type).
  virtual absl::StatusOr<RoscoCreatedBake> CreateBake(
      const std::string& region, const RoscoBakeRequest& request, bool rebake,
      const std::string& idempotency_key) = 0;
  // NOT_FOUND for an unknown status id.
  virtual absl::StatusOr<RoscoBakeStatus> GetBakeStatus(
      const std::string& region, const std::string& status_id) = 0;
  // NOT_FOUND for an unknown bake id.
  virtual absl::StatusOr<RoscoBake> GetBake(const std::string& region,
                                            const std::string& bake_id) = 0;
  // True when the bake was running and is now canceled (idempotent).
  virtual absl::StatusOr<bool> CancelBake(const std::string& region,
                                          const std::string& status_id) = 0;
};

// Calls time out after `deadline`; gRPC errors keep their canonical codes.
std::unique_ptr<Rosco> NewRoscoGrpc(
    std::shared_ptr<grpc::Channel> channel,
    std::chrono::milliseconds deadline = std::chrono::seconds(10));

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ROSCO_CLIENT_H_
