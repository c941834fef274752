#include "services/clouddriver/local/instance_supervisor.h"

#include <signal.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/log/log.h"
#include "common/process/process.h"

namespace gennaker::clouddriver::local {

namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string WithPort(const std::string& s, int port) {
  return absl::StrReplaceAll(s, {{"{{port}}", std::to_string(port)}});
}

// Stops an instance and everything left in its process group (the leader
// may be gone while children it forked still run).
void StopGroup(pid_t pid) {
  (void)process::Terminate(pid, absl::Seconds(5));
  killpg(pid, SIGKILL);
}

// Stops several instances at once (each may take its full grace period).
void StopGroups(const std::vector<pid_t>& pids) {
  std::vector<std::thread> threads;
  for (pid_t pid : pids) threads.emplace_back([pid] { StopGroup(pid); });
  for (std::thread& t : threads) t.join();
}

// An instance that exits this soon after its launch counts as a crash loop.
constexpr int64_t kFastExitMs = 2000;
constexpr int64_t kReapEveryMs = 200;

}  // namespace

absl::Status InstanceSupervisor::Validate(const ServerGroupSpec& spec,
                                          int desired) {
  if (spec.command.empty() || spec.command[0].empty()) {
    return absl::InvalidArgumentError("command must name a program");
  }
  if (desired < 0) {
    return absl::InvalidArgumentError("capacity.desired must not be negative");
  }
  const HealthCheckSpec& h = spec.health;
  if (h.interval_ms < 50 || h.timeout_ms < 10 || h.healthy_threshold < 1 ||
      h.unhealthy_threshold < 1) {
    return absl::InvalidArgumentError(
        "healthCheck: interval >= 50 ms, timeout >= 10 ms, thresholds >= 1");
  }
  if (!h.path.empty() && h.path[0] != '/') {
    return absl::InvalidArgumentError("healthCheck.path must start with '/'");
  }
  return absl::OkStatus();
}

InstanceSupervisor::InstanceSupervisor(ServerGroupSpec spec, int desired)
    : spec_(std::move(spec)), desired_(desired) {}

InstanceSupervisor::~InstanceSupervisor() { Stop(); }

absl::Status InstanceSupervisor::Start() {
  {
    absl::MutexLock l(&mu_);
    if (absl::Status s = Validate(spec_, desired_); !s.ok()) return s;
    while (static_cast<int>(instances_.size()) < desired_) {
      if (absl::Status s = Launch(); !s.ok()) return s;
    }
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

absl::Status InstanceSupervisor::Launch() {
  absl::StatusOr<int> port = process::FreePort();
  if (!port.ok()) return port.status();
  Instance in;
  in.view.id = absl::StrCat(spec_.name, "-", next_index_++);
  in.view.port = *port;
  process::SpawnOptions o;
  if (!spec_.cwd.empty()) {
    // Spawn has no working directory: a shell changes into it and execs the
    // command (same pid, nothing left in between).
    o.argv = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", spec_.cwd};
  }
  for (const std::string& a : spec_.command)
    o.argv.push_back(WithPort(a, *port));
  for (const auto& [k, v] : spec_.env) o.env.push_back({k, WithPort(v, *port)});
  o.env.push_back({"PORT", std::to_string(*port)});
  o.log_file = absl::StrCat(spec_.log_dir, "/", in.view.id, ".log");
  o.new_session = true;  // its own process group, killed as a whole
  absl::StatusOr<pid_t> pid = process::Spawn(o);
  if (!pid.ok()) return pid.status();
  in.view.pid = *pid;
  in.view.launch_ms = NowMs();
  in.view.health =
      spec_.health.path.empty() ? HealthState::kUp : HealthState::kStarting;
  in.next_check_ms = in.view.launch_ms + 50;
  SPDLOG_INFO(
      "event=instance_started server_group={} instance={} pid={} port={}",
      spec_.name, in.view.id, in.view.pid, in.view.port);
  instances_.push_back(std::move(in));
  ++changes_;
  return absl::OkStatus();
}

void InstanceSupervisor::Check(Instance& in, int64_t now_ms) {
  http::ClientRequest r;
  r.url = absl::StrCat("http://127.0.0.1:", in.view.port, spec_.health.path);
  r.timeout_ms = spec_.health.timeout_ms;
  absl::StatusOr<http::ClientResponse> resp = http::Fetch(r);
  bool ok = resp.ok() && resp->status >= 200 && resp->status < 400;
  absl::MutexLock l(&mu_);
  const HealthState before = in.view.health;
  in.next_check_ms = now_ms + spec_.health.interval_ms;
  if (ok) {
    ++in.passes;
    in.failures = 0;
    if (in.passes >= spec_.health.healthy_threshold) {
      in.view.health = HealthState::kUp;
    }
  } else {
    ++in.failures;
    in.passes = 0;
    if (in.view.health == HealthState::kUp &&
        in.failures >= spec_.health.unhealthy_threshold) {
      in.view.health = HealthState::kDown;
    } else if (in.view.health == HealthState::kDown) {
      // stays Down until healthy again
    }
  }
  if (in.view.health != before) ++changes_;
}

void InstanceSupervisor::Loop() {
  int64_t reported = -1;
  int64_t last_reap_ms = 0;
  while (true) {
    std::vector<pid_t> to_stop;
    std::vector<Instance*> due;
    int64_t now = NowMs();
    {
      absl::MutexLock l(&mu_);
      if (stop_) return;
      // Instances that exited are forgotten (and replaced below); checked
      // every kReapEveryMs, which bounds the syscalls of large groups.
      if (now - last_reap_ms >= kReapEveryMs) {
        last_reap_ms = now;
        instances_.erase(
            std::remove_if(
                instances_.begin(), instances_.end(),
                [this, now](const Instance& in)
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                      if (process::IsAlive(in.view.pid)) return false;
                      killpg(in.view.pid, SIGKILL);  // what it left behind
                      SPDLOG_WARN(
                          "event=instance_exited server_group={} instance={} "
                          "pid={}",
                          spec_.name, in.view.id, in.view.pid);
                      if (now - in.view.launch_ms < kFastExitMs) {
                        // Crash loop: back off before the next launch.
                        fast_exits_ = std::min(fast_exits_ + 1, 7);
                        next_launch_ms_ = now + (250LL << fast_exits_);
                      } else {
                        fast_exits_ = 0;
                      }
                      ++changes_;
                      return true;
                    }),
            instances_.end());
      }
      while (static_cast<int>(instances_.size()) > desired_) {
        to_stop.push_back(instances_.back().view.pid);
        instances_.pop_back();
        ++changes_;
      }
      while (static_cast<int>(instances_.size()) < desired_ &&
             now >= next_launch_ms_) {
        if (absl::Status s = Launch(); !s.ok()) {
          SPDLOG_WARN("event=instance_start_failed server_group={} error={}",
                      spec_.name, s);
          break;
        }
      }
      if (!spec_.health.path.empty()) {
        for (Instance& in : instances_) {
          if (in.next_check_ms <= now) due.push_back(&in);
        }
      }
    }
    // The load balancers drop these instances before they get SIGTERM.
    if (!to_stop.empty() && spec_.on_change) spec_.on_change();
    StopGroups(to_stop);
    // Checks run without the lock; the vector is only changed by this thread.
    for (Instance* in : due) Check(*in, now);
    int64_t changes;
    {
      absl::MutexLock l(&mu_);
      changes = changes_;
    }
    if (changes != reported && spec_.on_change) spec_.on_change();
    reported = changes;
    absl::SleepFor(absl::Milliseconds(50));
  }
}

void InstanceSupervisor::Resize(int desired) {
  absl::MutexLock l(&mu_);
  desired_ = std::max(0, desired);
}

void InstanceSupervisor::SetEnabled(bool enabled) {
  absl::MutexLock l(&mu_);
  enabled_ = enabled;
  ++changes_;
}

absl::Status InstanceSupervisor::TerminateInstance(const std::string& id) {
  absl::MutexLock l(&mu_);
  for (const Instance& in : instances_) {
    if (in.view.id == id) {
      // Right after launch the child may not lead its group yet.
      if (killpg(in.view.pid, SIGKILL) != 0) kill(in.view.pid, SIGKILL);
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(absl::StrCat("no instance ", id));
}

std::vector<InstanceView> InstanceSupervisor::Instances() {
  absl::MutexLock l(&mu_);
  std::vector<InstanceView> out;
  for (const Instance& in : instances_) {
    InstanceView v = in.view;
    if (!enabled_) v.health = HealthState::kOutOfService;
    out.push_back(v);
  }
  return out;
}

int InstanceSupervisor::desired() {
  absl::MutexLock l(&mu_);
  return desired_;
}

void InstanceSupervisor::Stop() {
  std::vector<pid_t> pids;
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock l(&mu_);
    for (const Instance& in : instances_) pids.push_back(in.view.pid);
    instances_.clear();
  }
  StopGroups(pids);
}

}  // namespace gennaker::clouddriver::local
