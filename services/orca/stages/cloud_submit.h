// Submitting operations to clouddriver and following the tasks they make:
// the idempotency key of a submission, the plan a task stores before it
// submits, the kato-task bookkeeping in the stage context, the translation
// of clouddriver errors into task results, and the base classes of the
// tasks that call clouddriver.
//
// Context keys every submitting task writes (Spinnaker's):
//   "kato.last.task.id": {"id": taskId}, or null when nothing was submitted
//   "kato.tasks": [{id, status, history, resultObjects}], one per submission
//   "kato.planned": {key, ops, context}, the plan of the current run
// Internal to the stage files.
#ifndef GENNAKER_SERVICES_ORCA_STAGES_CLOUD_SUBMIT_H_
#define GENNAKER_SERVICES_ORCA_STAGES_CLOUD_SUBMIT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "services/orca/clouddriver_client.h"
#include "services/orca/engine/registry.h"
#include "services/orca/stages/cloud_common.h"

namespace gennaker::orca::cloud {

inline constexpr int64_t kMinuteMs = 60 * 1000;
// How long a cloud task may run (retrying while clouddriver is unavailable)
// unless it says otherwise.
inline constexpr int64_t kDefaultCloudTaskTimeoutMs = 15 * kMinuteMs;
inline constexpr int64_t kThirtyMinutesMs = 30 * kMinuteMs;

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
// nothing was submitted. A refusal by fiat (PERMISSION_DENIED) is TERMINAL
// with its message; other errors as FromError.
TaskResult SubmitOps(CloudDriver* cd, const TaskInput& in, const Json& ops,
                     const std::string& application);

// Tasks compute their operations (often from a read of clouddriver) once:
// the first run stores them with the run's idempotency key under
// "kato.planned" ({key, ops, context}) and answers RUNNING at once; the next
// run (and any redelivery of it) submits exactly what is stored, so a crash
// between the submission and its commit never submits something recomputed
// from the changed state.
//
// The plan stored for this run (same idempotency key), else null.
Json StoredPlan(const TaskInput& in);
// Stores `ops` and the context (and output) changes to apply once they are
// submitted.
TaskResult StorePlan(const TaskInput& in, Json ops, Json context,
                     Json outputs = Json::object());
// Submits a stored plan and applies its context and output changes.
TaskResult SubmitPlan(CloudDriver* cd, const TaskInput& in, const Json& plan,
                      const std::string& application);

// When the task run started (the stage's task entry), else now.
int64_t TaskStartMs(const TaskInput& in);

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
    return Run(in, Where(in));
  }

 protected:
  // Where the stage acts: by default its context's account, region and
  // cluster (see LocationOf).
  virtual Location Where(const TaskInput& in) const {
    return LocationOf(in.context, in.execution);
  }
  virtual absl::StatusOr<TaskResult> Run(const TaskInput& in,
                                         Location where) = 0;
  CloudDriver* cd_;
};

// What a submitting task decided to do: operations to store and then submit
// (with the context and output changes to apply once submitted), or an
// answer now (a failure, or nothing to do) with nothing stored.
struct CloudPlan {
  Json ops = Json::array();
  Json context = Json::object();
  std::optional<TaskResult> answer;
  Json outputs = Json::object();

  static CloudPlan Answer(TaskResult r) {
    CloudPlan p;
    p.answer = std::move(r);
    return p;
  }
};

// The shared opening of every task that submits operations: where the stage
// acts, what the task needs of it, then the stored plan of this run is
// submitted as it is, else Plan() computes one and it is stored first.
// Tasks whose operations come from the stage context alone (no read of
// clouddriver) submit them at once instead: recomputing them after a crash
// gives the same operations, and the idempotency key the same task.
class PlannedCloudTask : public CloudTask {
 public:
  using CloudTask::CloudTask;

 protected:
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location where) final;
  // Why the task cannot act at `where` (it then fails), or "".
  virtual std::string Missing(const Location& /*where*/) const { return ""; }
  virtual CloudPlan Plan(const TaskInput& in, const Location& where) = 0;
  // False: the plan depends on the context only and is submitted at once.
  virtual bool StoresPlan() const { return true; }
};

// A task waiting for a server group to be ready, polled every 2 s, that
// enforces its own timeout (a context key; 30 minutes by default) so that
// its failure can say what it waited for.
class WaitingCloudTask : public CloudTask {
 public:
  using CloudTask::CloudTask;
  int64_t BackoffMs(const Json&) const override { return 2000; }
  int64_t TimeoutMs(const Json&) const override { return 0; }

 protected:
  // The answer to a failed read of the server group `name`: TERMINAL once
  // the task waited longer than `timeout_ms` (unless the group is just not
  // there), else as FromError.
  static TaskResult ReadFailure(const absl::Status& s, const std::string& name,
                                int64_t elapsed_ms, int64_t timeout_ms);
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
  absl::StatusOr<TaskResult> Run(const TaskInput& in, Location) override;
};

}  // namespace gennaker::orca::cloud

#endif  // GENNAKER_SERVICES_ORCA_STAGES_CLOUD_SUBMIT_H_
