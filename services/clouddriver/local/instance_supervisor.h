// The instances of one `local` server group as supervised child processes
// (issue: clouddriver local provider). Each instance runs `command` with
// "{{port}}" replaced by a free port, in its own process group, with stdout
// and stderr appended to <log_dir>/<instance id>.log. A background thread
// keeps the number of live instances at the desired capacity (replacing any
// that exit or are killed), and checks each instance's health over HTTP:
// Starting until `healthy_threshold` checks pass in a row, then Up; Down
// after `unhealthy_threshold` failures in a row; OutOfService while the
// server group is disabled (instances keep running). An instance that exits
// within 2 s of its launch delays the next launch (250 ms doubling, up to
// 32 s); what an exited instance left in its process group is killed.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_INSTANCE_SUPERVISOR_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_INSTANCE_SUPERVISOR_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace gennaker::clouddriver::local {

struct HealthCheckSpec {
  std::string path = "/health";  // empty: Up as soon as the process runs
  int interval_ms = 1000;
  int timeout_ms = 1000;
  int healthy_threshold = 2;
  int unhealthy_threshold = 3;
};

struct ServerGroupSpec {
  std::string name;                  // e.g. demo-prod-v001
  std::vector<std::string> command;  // argv; "{{port}}" is substituted
  std::vector<std::pair<std::string, std::string>> env;  // values too
  // Working directory of each instance (a local image's rootfs); empty:
  // clouddriver's own.
  std::string cwd;
  HealthCheckSpec health;
  std::string log_dir;
  // Called (from the supervising thread, no lock held) after instances were
  // launched, exited, removed or changed health; may be empty.
  std::function<void()> on_change;
};

enum class HealthState { kStarting, kUp, kDown, kOutOfService };

struct InstanceView {
  std::string id;  // <server group>-<n>
  pid_t pid = 0;
  int port = 0;
  HealthState health = HealthState::kStarting;
  int64_t launch_ms = 0;
};

class InstanceSupervisor {
 public:
  // INVALID_ARGUMENT for an empty command, a negative capacity or bad health
  // settings; the instances start with Start().
  static absl::Status Validate(const ServerGroupSpec& spec, int desired);
  InstanceSupervisor(ServerGroupSpec spec, int desired);
  ~InstanceSupervisor();  // Stop()

  // Starts the instances and the supervising thread.
  absl::Status Start();
  // Changes the desired capacity; extra instances (newest first) are stopped.
  void Resize(int desired);
  // A disabled group's instances keep running but report OutOfService.
  void SetEnabled(bool enabled);
  // Kills one instance (SIGKILL to its group); it is replaced while the
  // group is below its desired capacity. NOT_FOUND for an unknown id.
  absl::Status TerminateInstance(const std::string& id);
  std::vector<InstanceView> Instances();
  int desired();
  // Stops the thread and every instance (SIGTERM, then SIGKILL).
  void Stop();

 private:
  struct Instance {
    InstanceView view;
    int passes = 0;
    int failures = 0;
    int64_t next_check_ms = 0;
  };
  void Loop();
  absl::Status Launch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Check(Instance& instance, int64_t now_ms);

  const ServerGroupSpec spec_;
  absl::Mutex mu_;
  int desired_ ABSL_GUARDED_BY(mu_);
  bool enabled_ ABSL_GUARDED_BY(mu_) = true;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int next_index_ ABSL_GUARDED_BY(mu_) = 0;
  int fast_exits_ ABSL_GUARDED_BY(mu_) = 0;  // crash-loop backoff
  int64_t next_launch_ms_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t changes_ ABSL_GUARDED_BY(mu_) = 0;  // bumped on every change
  std::vector<Instance> instances_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace gennaker::clouddriver::local

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_INSTANCE_SUPERVISOR_H_
