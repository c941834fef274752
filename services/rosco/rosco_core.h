// The bakery: validates bake requests, decides reuse by bake key, runs packer
// as durable jobs, and answers status, bake, logs and bake options.
//
// CreateBake: an invalid request is INVALID_ARGUMENT and nothing is stored.
// Among the invalid: extended_attributes that name a packer variable rosco
// sets itself (configDir, packages, image_store, command_b64, ...: they may
// add variables, never replace rosco's); "{{" in any request value that goes
// into a packer variable verbatim (packer renders -var values as templates);
// an entry command (extendedAttributes.command, a shell-like line or a JSON
// array of strings) with an unbalanced quote; a file / file:// package
// artifact whose real path is not inside package_repository_dir. http(s)
// package artifacts are fetched under the suite's outbound policy (no
// loopback, link-local or suite ports) and capped at 256 MiB.
// A valid one computes the bake key (bake_key.h); without `rebake`, a status
// of the key that is RUNNING or COMPLETED+SUCCESS is returned (reused); with
// `rebake` the key's running bake is cancelled and a new one starts. The new
// bake is stored (RUNNING, in the instance's incomplete set) before it is
// queued; at most `max_concurrent_bakes` packer processes run, the rest wait
// in RUNNING with a "queued" line in their logs. An idempotency key returns
// the first attempt's answer. A successful bake's id (the status's
// resource_id) is its status id, as in Spinnaker's rosco.
//
// Durability: Start() looks at the instance's incomplete bakes left by an
// earlier run: leftover packer processes are killed (their output is gone)
// and the bake runs again from its stored request; when it cannot (the
// request no longer validates, or it was interrupted kMaxAttempts times) it
// fails with "rosco restarted during the bake; packer output lost ...". No
// bake stays RUNNING forever. Stop() kills running packer and leaves those
// bakes for the next Start(). A bake's work directory is removed whenever
// the bake ends; its logs keep the first and the last 512 KiB of packer's
// output.
#ifndef GENNAKER_SERVICES_ROSCO_ROSCO_CORE_H_
#define GENNAKER_SERVICES_ROSCO_ROSCO_CORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gennaker/rosco/v1/config.pb.h"
#include "gennaker/rosco/v1/rosco.pb.h"
#include "services/rosco/bake_store.h"
#include "services/rosco/packer_runner.h"

namespace gennaker::rosco {

inline constexpr int kMaxAttempts = 3;

struct CoreOptions {
  std::string packer_config_dir;
  std::string packer_binary = "packer";
  std::string work_dir;
  std::string image_store_dir;
  std::string package_repository_dir;
  int max_concurrent_bakes = 2;
  int bake_timeout_seconds = 1800;
  std::string instance_name = "rosco";
  // Providers with their base images; empty: BuiltInProviders().
  std::vector<v1::ProviderBakeConfig> providers;
  v1::CloudProviderType default_cloud_provider = v1::CLOUD_PROVIDER_TYPE_LOCAL;
  std::set<std::string> templates_needing_root;
  // Epoch ms; tests pin it.
  std::function<int64_t()> now_ms;
};

// "<hostname>:<grpc port>": the same across restarts of one rosco, distinct
// for replicas, so no rosco resumes the bakes another one is running.
std::string DefaultInstanceName(int grpc_port);

// Options from the service config (defaults applied; an empty instance_name
// is DefaultInstanceName of the config's gRPC port).
CoreOptions OptionsFromConfig(const v1::RoscoConfig& config);

// local (local.json, base image "local"), docker (docker.json) and aws
// (aws-ebs.json): what rosco offers when its config names no provider.
std::vector<v1::ProviderBakeConfig> BuiltInProviders();

// What one packer run of a bake is (exposed for tests).
struct BakeRecipe {
  v1::CloudProviderType provider = v1::CLOUD_PROVIDER_TYPE_UNSPECIFIED;
  std::string region;
  std::string template_file;  // file name inside packer_config_dir
  std::string base_os;
  std::string base_ami;
  std::string image_name;
  std::vector<std::pair<std::string, std::string>> variables;  // -var k=v
  std::vector<std::string> argv;
};

class RoscoCore {
 public:
  RoscoCore(CoreOptions options, BakeStore* store, PackerRunner* runner);
  ~RoscoCore();

  // Recovers the instance's incomplete bakes, then starts the workers.
  absl::Status Start();
  // Kills running packer (those bakes resume at the next Start) and joins.
  void Stop();

  absl::StatusOr<v1::CreateBakeResponse> CreateBake(
      const v1::CreateBakeRequest& request, const std::string& user);
  absl::StatusOr<v1::BakeStatus> GetBakeStatus(const std::string& status_id);
  absl::StatusOr<v1::Bake> GetBake(const std::string& bake_id);
  absl::StatusOr<v1::CancelBakeResponse> CancelBake(
      const std::string& status_id);
  absl::StatusOr<v1::GetBakeLogsResponse> GetBakeLogs(
      const v1::GetBakeLogsRequest& request);
  v1::ListBakeOptionsResponse ListBakeOptions() const;
  absl::StatusOr<v1::BakeOptions> GetBakeOptions(
      v1::CloudProviderType provider) const;
  absl::StatusOr<v1::BaseImage> GetBaseImage(v1::CloudProviderType provider,
                                             const std::string& id) const;

  // Validates `request` (defaults filled in, as stored) and builds the packer
  // run; `image_name` empty: choose one now.
  absl::StatusOr<BakeRecipe> Prepare(v1::CreateBakeRequest* request,
                                     const std::string& image_name,
                                     const std::string& work_dir) const;

  const CoreOptions& options() const { return options_; }

 private:
  struct Running {
    std::atomic<bool> cancel{false};
  };

  void Worker();
  void RunBake(const std::string& status_id);
  void Enqueue(const std::string& status_id);
  // Ends a bake (unless it was cancelled meanwhile): status, logs,
  // incomplete set, the structured log line with packer_ms and total_ms.
  void Finish(const std::string& status_id, v1::BakeResult result,
              const std::string& failure, const std::string& bake_id,
              int64_t packer_ms);
  // Marks a RUNNING bake CANCELED and stops its packer; false when it had
  // already ended.
  absl::StatusOr<bool> CancelLocked(const std::string& status_id,
                                    const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(create_mu_);
  absl::Status FetchArtifacts(const v1::BakeRequest& request,
                              const std::string& dir) const;
  absl::StatusOr<v1::CreateBakeResponse> Answer(const std::string& status_id,
                                                bool reused);
  const v1::ProviderBakeConfig* Provider(v1::CloudProviderType type) const;
  int64_t Now() const { return options_.now_ms(); }

  CoreOptions options_;
  BakeStore* store_;
  PackerRunner* runner_;
  absl::Mutex create_mu_;  // CreateBake / CancelBake, in this process
  absl::Mutex state_mu_;   // status transitions (cancel vs. finish)
  absl::Mutex mu_;         // queue and running bakes
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Running>> running_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::vector<std::thread> workers_;
  std::string owner_;  // lock owner id of this process
};

}  // namespace gennaker::rosco

#endif  // GENNAKER_SERVICES_ROSCO_ROSCO_CORE_H_
