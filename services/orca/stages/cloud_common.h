// Helpers shared by the stages that act through clouddriver (cloud_stages.cc,
// cluster_stages.cc): where a stage acts (account, region, cluster), the
// idempotency key of a submission, the kato-task bookkeeping in the stage
// context, and reads of clusters and server groups in Spinnaker's JSON.
//
// Context keys every submitting task writes (Spinnaker's):
//   "kato.last.task.id": {"id": taskId}, or null when nothing was submitted
//   "kato.tasks": [{id, status, history, resultObjects}], one per submission
// Internal to the stage files.
#ifndef GENNAKER_SERVICES_ORCA_STAGES_CLOUD_COMMON_H_
#define GENNAKER_SERVICES_ORCA_STAGES_CLOUD_COMMON_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/orca/clouddriver_client.h"
#include "services/orca/engine/registry.h"

namespace gennaker::orca::cloud {

inline constexpr char kDefaultRegion[] = "localhost";
inline constexpr char kDefaultProvider[] = "local";
inline constexpr int64_t kMinuteMs = 60 * 1000;

// Where a stage acts.
struct Location {
  std::string account;               // credentials, else account
  std::string cloud_provider;        // cloudProvider / provider, else "local"
  std::vector<std::string> regions;  // never empty
  std::string cluster;      // cluster name (or moniker.cluster, or built)
  std::string application;  // application, moniker.app, or from the names
  const std::string& region() const { return regions.front(); }
};
Location LocationOf(const Json& context, const Json& execution);

// Frigga: app[-stack[-detail]].
std::string ClusterName(const std::string& app, const std::string& stack,
                        const std::string& detail);
// "app-stack-v003" -> "app-stack"; names without a version are clusters.
std::string ClusterOfServerGroup(const std::string& name);
// The application part of a cluster or server group name.
std::string AppOfName(const std::string& name);

// "<execution>:<stage>:<task>[:<restarts>]": the same on every delivery of a
// task run, different after a restart.
std::string IdempotencyKey(const TaskInput& in);

// The task fails when clouddriver is not configured.
TaskResult NoClouddriver();
// UNAVAILABLE / DEADLINE_EXCEEDED: RUNNING (retried); else TERMINAL.
TaskResult FromError(const absl::Status& s, const std::string& what);

// {"name", "account", "description"} with credentials/account/cloudProvider
// filled in the description.
Json Operation(const std::string& name, const Location& where,
               Json description);
// Submits `ops` with the task's idempotency key and returns the context
// changes ("kato.last.task.id", "kato.tasks"). An empty `ops` records that
// nothing was submitted.
TaskResult SubmitOps(CloudDriver* cd, const TaskInput& in, const Json& ops,
                     const std::string& application);

// The cluster's server groups in `region`, newest first (empty when the
// cluster does not exist).
absl::StatusOr<std::vector<Json>> ClusterGroups(CloudDriver* cd,
                                                const Location& where,
                                                const std::string& region);

// Read-then-submit tasks (resize, pin, enable/disable/destroy) compute their
// operations from a read of clouddriver once: the first run stores them with
// the run's idempotency key under "kato.planned" ({key, ops, context}) and
// answers RUNNING at once; the next run (and any redelivery of it) submits
// exactly what is stored, so a crash between the submission and its commit
// never submits something recomputed from the changed state.
//
// The plan stored for this run (same idempotency key), else null.
Json StoredPlan(const TaskInput& in);
// Stores `ops` and the context changes to apply once they are submitted.
TaskResult StorePlan(const TaskInput& in, Json ops, Json context);
// Submits a stored plan and applies its context changes.
TaskResult SubmitPlan(CloudDriver* cd, const TaskInput& in, const Json& plan,
                      const std::string& application);

// Server group facts.
bool IsDisabled(const Json& sg);
int64_t CreatedMs(const Json& sg);
int InstanceCount(const Json& sg);
Json CapacityOf(const Json& sg);  // {min, max, desired}, zeros when absent
bool Pinned(const Json& capacity);
// Instances counted healthy (Spinnaker's rules, section 3.4 of the notes):
// with an explicit empty interestingHealthProviderNames every instance; else
// an instance whose (filtered) health has an Up and nothing Down,
// OutOfService, Starting or Draining (a platform health blocks only when
// Down); instances without health entries count by healthState.
int HealthyCount(const Json& sg, const Json& context);
std::string HealthSummary(const Json& sg);

// The server group a stage targets: serverGroupName / asgName, else the
// dynamic `target` (current_asg_dynamic, ancestor_asg_dynamic,
// oldest_asg_dynamic, largest_asg_dynamic, and the legacy current_asg /
// ancestor_asg) in the cluster. NOT_FOUND when there is none.
absl::StatusOr<Json> ResolveTarget(CloudDriver* cd, const Json& context,
                                   const Location& where,
                                   const std::string& region);

// When the task run started (the stage's task entry), else now.
int64_t TaskStartMs(const TaskInput& in);

// Stage-context keys that are orca's own and never part of a description.
bool IsOrcaKey(const std::string& key);
// The context minus orca's keys: the description of infrastructure ops.
Json DescriptionFrom(const Json& context);

// The first server group name of "deploy.server.groups" ({region: [names]})
// and its region; empty when none.
std::pair<std::string, std::string> FirstDeployed(const Json& context);

// How long a cloud task may run (retrying while clouddriver is unavailable)
// unless it says otherwise.
inline constexpr int64_t kDefaultCloudTaskTimeoutMs = 15 * kMinuteMs;
inline constexpr int64_t kThirtyMinutesMs = 30 * kMinuteMs;

// ctx[key] when it is an object, else {}.
Json Object(const Json& ctx, const char* key);

// The source server group's name recorded in the context ("source").
std::string SourceName(const Json& ctx);

// The number of Up instances a server group must reach (Spinnaker's rules):
// its desired capacity, the stage's configured one when either is pinned,
// scaled by targetHealthyDeployPercentage (or desiredPercentage).
int64_t TargetDesired(const Json& ctx, const Json& sg);

// A base class: CommitsAfterRun, a clouddriver pointer, the "clouddriver is
// not configured" failure, and a default timeout (so that polling a
// clouddriver that stays UNAVAILABLE ends).
class CloudTask : public Task {
 public:
  explicit CloudTask(CloudDriver* cd) : cd_(cd) {}
  bool CommitsAfterRun() const override { return true; }
  int64_t TimeoutMs(const Json&) const override {
    return kDefaultCloudTaskTimeoutMs;
  }
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) final {
    if (cd_ == nullptr) return NoClouddriver();
    return Run(in);
  }

 protected:
  virtual absl::StatusOr<TaskResult> Run(const TaskInput& in) = 0;
  CloudDriver* cd_;
};

// Polls the task in "kato.last.task.id" (every second): SUCCEEDED when it
// completed, TERMINAL with clouddriver's exception message when it failed.
// A deploy's result sets "deploy.server.groups" and "serverGroupName".
class MonitorKatoTask : public CloudTask {
 public:
  using CloudTask::CloudTask;
  int64_t BackoffMs(const Json&) const override { return 1000; }
  int64_t TimeoutMs(const Json&) const override { return 60 * kMinuteMs; }

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in) override;
};

}  // namespace gennaker::orca::cloud

#endif  // GENNAKER_SERVICES_ORCA_STAGES_CLOUD_COMMON_H_
