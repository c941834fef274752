// clouddriver's operation tasks ("kato" tasks): a submission is a list of
// operations run in order on a worker thread, tracked as a task with a
// history of phase/status lines and result objects (Spinnaker's
// TaskDisplayStatus shape when rendered). Submissions carry an idempotency
// key: a repeat returns the same task and, when it failed retryably, runs it
// again from the operation that failed (earlier ones are not repeated, and a
// repeated createServerGroup returns the group it made). Each replica holds
// an owner lease; running tasks whose owner's lease lapsed (the replica died)
// are marked FAILED_RETRYABLE by the survivors, or by the restarted replica.
// With an enabled fiat::Authorizer, the submitting user needs WRITE on every
// account a submission targets.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_OPERATIONS_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_OPERATIONS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/clouddriver/caching_agent.h"
#include "services/clouddriver/provider.h"
#include "services/clouddriver/store/task_store.h"

namespace gennaker::fiat {
class Authorizer;
}

namespace gennaker::clouddriver {

struct SubmittedOperation {
  std::string name;     // e.g. "createServerGroup"
  std::string account;  // empty: the description's credentials/account
  Json description = Json::object();
};

struct Submission {
  std::string task_id;
  bool deduplicated = false;
};

class Operations {
 public:
  struct Options {
    int threads = 4;
    int64_t owner_ttl_ms = 15000;
    std::string owner;  // this replica's id (unique per process)
    // Checks submissions against fiat; null or disabled: no checks.
    std::shared_ptr<fiat::Authorizer> authorizer;
  };
  Operations(TaskStore* store, std::vector<Provider*> providers,
             CachingAgent* agent, Options options);
  ~Operations();  // Stop()
  void Start();
  void Stop();

  // INVALID_ARGUMENT (nothing stored) for an empty list, an unknown account
  // or an operation the account's provider does not run. `user` (the caller;
  // "" is anonymous) needs WRITE on each operation's account and on the
  // description's "credentials" / "account": PERMISSION_DENIED "Access denied
  // to account 'prod': user 'bob' lacks WRITE" (UNAVAILABLE when fiat cannot
  // answer), nothing started or stored. Then each provider's Validate (e.g.
  // a local image that is not in the store): its error, prefixed with the
  // operation name, nothing started or stored.
  absl::StatusOr<Submission> Submit(std::vector<SubmittedOperation> ops,
                                    const std::string& idempotency_key,
                                    const std::string& application,
                                    const std::string& user);
  // The stored task; NOT_FOUND for an unknown id.
  absl::StatusOr<Json> Get(const std::string& id);
  // Runs a FAILED_RETRYABLE task again; FAILED_PRECONDITION otherwise.
  // `user` (the caller) needs WRITE on every account the task names, as a
  // submission does (PERMISSION_DENIED / UNAVAILABLE, nothing resumed); so
  // does a resubmission that resumes a task under the same key.
  absl::StatusOr<Json> Resume(const std::string& id, const std::string& user);
  // Marks orphaned tasks (owner lease lapsed) FAILED_RETRYABLE; returns how
  // many. Runs periodically; public for tests.
  absl::StatusOr<int> SweepOrphans();

  // Spinnaker's task JSON (GET /task/{id}) of a stored task.
  static Json Render(const Json& task);
  // The task's state name: STARTED, COMPLETED, FAILED, FAILED_RETRYABLE.
  static std::string State(const Json& task);

 private:
  void Work();
  void Maintain();
  void Renew();
  // Waits up to `ms`; true when stopping.
  bool WaitStop(int64_t ms);
  void Enqueue(const std::string& id);
  void Run(const std::string& id);
  absl::StatusOr<Json> Requeue(Json task, const std::string& why);
  // WRITE on each of `accounts` for `user`; OK without an authorizer.
  absl::Status CheckAccounts(const std::set<std::string>& accounts,
                             const std::string& user) const;

  TaskStore* store_;
  std::map<std::string, Provider*> providers_;
  CachingAgent* agent_;
  const Options options_;
  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> active_ ABSL_GUARDED_BY(mu_);  // queued or running
  // Active ids enqueued again meanwhile: run once more when done.
  std::set<std::string> rerun_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_OPERATIONS_H_
