// The `local` cloud provider's state and operations for one account (region
// "localhost"): server groups as supervised processes, load balancers as
// HTTP proxies on their listener ports, security groups as ingress rules
// enforced at those listeners. Operations are synchronous and thread-safe;
// clouddriver's task layer runs them asynchronously. Reads return Spinnaker's
// JSON shapes (server group, instance, load balancer, security group).
//
// Restarts: every change is written to <state_dir>/state.json (0600, synced,
// renamed into place). Open() takes <state_dir>/lock (one clouddriver per
// state dir), reads the state, then kills whatever a previous clouddriver
// left running for this state dir (each
// instance carries GENNAKER_LOCAL_STATE_DIR=<state_dir> in its environment,
// inherited by anything it starts, so none is missed), then recreates the
// load balancers on their ports and the server groups with their names,
// capacity and enabled state: instances are cleanly replaced, never orphaned.
//
// Deploy description (Spinnaker's fields plus the local artifact):
//   {application, stack, freeFormDetails, capacity{min,max,desired},
//    command:[argv...] ("{{port}}" = the instance's port), env{K:V},
//    imageId:"sha256:<hex>" (or a name) | image / imageName / amiName:<name>,
//    healthCheck{path, intervalMs, timeoutMs, healthyThreshold,
//    unhealthyThreshold}, loadBalancers:[names], securityGroups:[names]}
//
// Images: with an image store (image_store.h) an account deploys a baked
// image: each instance runs the description's command, else the image's,
// in the image's rootfs (cwd; a relative program path is taken from the
// rootfs), with GENNAKER_IMAGE_ID=<id> and GENNAKER_IMAGE_DIR=<rootfs> set.
// The image is pinned by id when the group is made (state.json records it),
// so a restart runs the same content. The group's JSON shows
// image{imageId, name}, imageId, launchConfig{command, imageId, imageName}
// and Spinnaker's buildInfo from the image's names file.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOCAL_PROVIDER_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOCAL_PROVIDER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "services/clouddriver/local/image_store.h"
#include "services/clouddriver/local/instance_supervisor.h"
#include "services/clouddriver/local/load_balancer.h"
#include "services/clouddriver/provider.h"

namespace gennaker::clouddriver::local {

inline constexpr char kRegion[] = "localhost";
// Environment variable that marks the processes of one state dir.
inline constexpr char kStateDirEnv[] = "GENNAKER_LOCAL_STATE_DIR";

class LocalProvider : public Provider {
 public:
  // Creates `state_dir`, kills leftovers of a previous run and restores the
  // recorded state (see above). `image_store_dir` empty: no images.
  static absl::StatusOr<std::unique_ptr<LocalProvider>> Open(
      std::string account, std::string state_dir,
      std::string image_store_dir = "");
  // `state_dir` receives the instances' log files and the state file; this
  // constructor starts empty (no restore).
  LocalProvider(std::string account, std::string state_dir,
                std::string image_store_dir = "");
  ~LocalProvider() override;  // stops every instance and listener

  // Provider.
  const std::string& account() const override { return account_; }
  std::string cloud_provider() const override { return "local"; }
  std::vector<std::string> regions() const override { return {kRegion}; }
  bool Supports(const std::string& operation) const override;
  // A createServerGroup / cloneServerGroup naming an image: the image must be
  // in the account's store (and, for a create, have a runnable command).
  // Raw-command descriptions are checked when they run, as always.
  absl::Status Validate(const std::string& operation,
                        const Json& description) override;
  absl::StatusOr<Json> Operate(
      const std::string& operation, const Json& description,
      const std::string& request_id,
      const std::function<void(const std::string&)>& progress) override;
  Json Snapshot() override;
  void SetChangeListener(std::function<void()> listener) override;
  // The named images of the account's image store (none without one).
  std::vector<ProviderImage> Images() override;

  // Deploys a new server group of the cluster app[-stack[-detail]] with the
  // next sequence; returns its name. INVALID_ARGUMENT for a bad description,
  // an unknown load balancer / security group, or an image not in the
  // account's image store (or an image without a store). A non-empty
  // `request_id` already used by an existing group returns that group instead.
  absl::StatusOr<std::string> CreateServerGroup(
      const Json& description, const std::string& request_id = "");
  absl::Status Resize(const std::string& server_group, int min, int max,
                      int desired);
  // Disabled groups leave their load balancers (instances keep running).
  absl::Status SetEnabled(const std::string& server_group, bool enabled);
  absl::Status Destroy(const std::string& server_group);
  absl::Status TerminateInstance(const std::string& server_group,
                                 const std::string& instance_id);
  // {name, listeners:[{port}] (0 or absent: a free port), securityGroups}.
  absl::Status UpsertLoadBalancer(const Json& description);
  absl::Status DeleteLoadBalancer(const std::string& name);
  // {name, inboundRules:[{range:{ip, cidr}, portRanges:[{startPort,
  // endPort}]}]}: CIDR "ip/cidr" (cidr like "/8") allowed on those ports.
  absl::Status UpsertSecurityGroup(const Json& description);
  absl::Status DeleteSecurityGroup(const std::string& name);

  // Reads. NOT_FOUND for unknown names.
  std::vector<Json> ServerGroups(const std::string& application);
  absl::StatusOr<Json> ServerGroup(const std::string& name);
  std::vector<Json> LoadBalancers(const std::string& application);
  absl::StatusOr<int> LoadBalancerPort(const std::string& name);
  std::vector<Json> SecurityGroups();

  // Publishes every instance of every server group as a Prometheus file_sd
  // target ("127.0.0.1:<port>") with the labels account, application,
  // cluster, server_group, location (the region), instance (its id) and,
  // when the group's buildInfo (its image's, else its deploy description's)
  // names one, version. The file at
  // `path` is written now and rewritten (temp file + rename, mode 0644) each
  // time the instances change; the provider's destruction empties it. Give
  // each account its own file: Prometheus reads a glob of them. An empty
  // `path` stops publishing. INTERNAL when the file cannot be written now
  // (later failures are logged).
  absl::Status PublishPrometheusTargets(std::string path);
  // The file_sd JSON list the file holds.
  Json PrometheusTargets();

 private:
  struct Group {
    std::string name;
    std::string request_id;
    Json description;
    int min = 0, max = 0, desired = 0;
    bool enabled = true;
    int64_t created_ms = 0;
    std::optional<LocalImage> image;  // what it runs, when deployed by image
    // The image id it is pinned to, kept even while the image cannot be
    // read (a restart that could not resolve it tries again next time).
    std::string image_id;
    std::unique_ptr<InstanceSupervisor> supervisor;
  };
  struct Balancer {
    Json description;
    std::unique_ptr<LoadBalancer> lb;
  };
  // Operate's dispatch table (local_operations.cc), with the handlers that
  // read the groups.
  struct OperationTable;
  std::vector<Target> TargetsOf(const std::string& balancer);
  absl::Status Restore(const Json& state);
  // Starts the instances of a reserved group; erases it on failure.
  absl::Status StartGroup(const std::string& name, ServerGroupSpec spec,
                          int desired, bool enabled,
                          bool keep_on_failure = false);
  // The image `description` names (imageId, imageName, image or amiName;
  // an imageId that is a name works too) resolved in the store; nullopt when
  // it names none. `pinned_id` (a restored group's recorded id) is what
  // runs, whatever the name points at now.
  absl::StatusOr<std::optional<LocalImage>> ImageOf(
      const Json& description, const std::string& pinned_id = "");
  absl::StatusOr<ServerGroupSpec> SpecOf(
      const Json& description, const std::optional<LocalImage>& image);
  // The group's buildInfo: the image's, else the description's.
  static Json BuildInfoOf(const Group& g);
  // Writes state.json (temp file + rename); logs and carries on on failure.
  void PersistLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes the load balancers ask for their targets again.
  void NotifyBalancers();
  void NotifyBalancersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Json LoadBalancerJson(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Json SecurityGroupJson(const std::string& name, const Json& description);
  // Re-applies the security groups of one load balancer's listener.
  absl::Status ApplyFirewall(const std::string& balancer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Json ServerGroupJson(const Group& g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Json PrometheusTargetsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One write of the file_sd file: its text, built under mu_, and the
  // generation that orders it against other writes.
  struct TargetsFile {
    std::string path;
    std::string text;
    uint64_t generation = 0;
  };
  // Builds the file's text when it changed and leaves it pending (a newer
  // text replaces an unwritten older one); the write itself happens outside
  // mu_ (FlushTargets), so file I/O never blocks the provider.
  void PrepareTargetsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the pending text, if any. Call without mu_ held.
  absl::Status FlushTargets() ABSL_LOCKS_EXCLUDED(mu_, file_mu_);
  // FlushTargets, logging a failure (the callers carry on).
  void FlushTargetsOrLog() ABSL_LOCKS_EXCLUDED(mu_, file_mu_);
  // Writes `file` unless a newer generation is already on disk.
  absl::Status WriteTargets(const TargetsFile& file) ABSL_LOCKS_EXCLUDED(mu_);

  const std::string account_;
  const std::string state_dir_;
  // The account's image store; nullopt: raw commands only.
  const std::optional<ImageStore> images_;
  absl::Mutex mu_;
  std::map<std::string, Group> groups_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Balancer> balancers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Json> security_groups_ ABSL_GUARDED_BY(mu_);
  bool restoring_ ABSL_GUARDED_BY(mu_) = false;  // no partial state.json
  // Prometheus file_sd publishing: the path, the text last prepared for it
  // (cleared when its write fails, so that the next change retries), the
  // generation of the newest text and the write not yet made.
  std::string file_sd_path_ ABSL_GUARDED_BY(mu_);
  std::string file_sd_prepared_ ABSL_GUARDED_BY(mu_);
  uint64_t targets_generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<TargetsFile> pending_targets_ ABSL_GUARDED_BY(mu_);
  // Serializes the file writes (never held with mu_ taken inside) and keeps
  // the newest generation on disk: an older write never replaces a newer one.
  absl::Mutex file_mu_;
  uint64_t targets_written_ ABSL_GUARDED_BY(file_mu_) = 0;
  int lock_fd_ = -1;  // flock of <state_dir>/lock, held while open
  // Records of load balancers that could not listen again after a restart,
  // kept in the state file for the next start.
  std::vector<Json> unrestored_balancers_ ABSL_GUARDED_BY(mu_);
  absl::Mutex listener_mu_;
  std::function<void()> listener_ ABSL_GUARDED_BY(listener_mu_);
};

}  // namespace gennaker::clouddriver::local

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOCAL_PROVIDER_H_
