#include "services/rosco/packer_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/process/process.h"

extern char** environ;

namespace gennaker::rosco {
namespace {

using Clock = std::chrono::steady_clock;

class ProcessPackerRunner final : public PackerRunner {
 public:
  PackerExit Run(const PackerInvocation& inv,
                 const std::function<void(pid_t)>& on_start,
                 const std::function<void(absl::string_view)>& on_line,
                 const std::function<bool()>& should_stop) override {
    PackerExit out;
    if (inv.argv.empty()) {
      out.error = "empty packer command";
      return out;
    }
    // Everything the child needs is built before fork: after it, only
    // async-signal-safe calls.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      bool overridden = false;
      for (const auto& [k, v] : inv.env) {
        if (strncmp(*e, k.c_str(), k.size()) == 0 && (*e)[k.size()] == '=') {
          overridden = true;
        }
      }
      if (!overridden) env_strings.emplace_back(*e);
    }
    for (const auto& [k, v] : inv.env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (std::string& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = inv.argv;
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      out.error = absl::StrCat("pipe: ", strerror(errno));
      return out;
    }
    const auto started = Clock::now();
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      close(fds[0]);
      close(fds[1]);
      out.error = absl::StrCat("fork: ", strerror(errno));
      return out;
    }
    if (pid == 0) {
      setpgid(0, 0);  // own group: a kill reaches packer's children too
      // Dies with rosco (a restarted rosco re-runs the bake; a packer left
      // running would race it).
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
      if (!inv.cwd.empty() && chdir(inv.cwd.c_str()) != 0) _exit(126);
      execvpe(argv[0], argv.data(), envp.data());
      const char msg[] = "rosco: cannot execute packer\n";
      (void)!write(2, msg, sizeof(msg) - 1);
      _exit(127);
    }
    setpgid(pid, pid);
    close(fds[1]);
    if (on_start) on_start(pid);

    const auto deadline = started + std::chrono::microseconds(
                                        absl::ToInt64Microseconds(inv.timeout));
    std::string buf;
    bool eof = false;
    bool killed = false;
    auto kill_group = [&] {
      if (!killed) {
        killed = true;
        kill(-pid, SIGTERM);
        kill(pid, SIGTERM);
      }
    };
    auto kill_started = Clock::time_point{};
    while (!eof) {
      pollfd p{fds[0], POLLIN, 0};
      const int n = poll(&p, 1, 100);
      if (n > 0) {
        char chunk[8192];
        const ssize_t r = read(fds[0], chunk, sizeof(chunk));
        if (r > 0) {
          buf.append(chunk, static_cast<size_t>(r));
          size_t nl;
          while ((nl = buf.find('\n')) != std::string::npos) {
            if (on_line) on_line(absl::string_view(buf).substr(0, nl));
            buf.erase(0, nl + 1);
          }
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
          eof = true;
        }
      }
      if (!killed) {
        if (Clock::now() >= deadline) {
          out.timed_out = true;
          kill_group();
          kill_started = Clock::now();
        } else if (should_stop && should_stop()) {
          out.stopped = true;
          kill_group();
          kill_started = Clock::now();
        }
      } else if (Clock::now() - kill_started > std::chrono::seconds(5)) {
        // A child that ignores SIGTERM or holds the pipe open.
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        if (Clock::now() - kill_started > std::chrono::seconds(7)) eof = true;
      }
    }
    if (!buf.empty() && on_line) on_line(buf);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    // Stragglers of the group (a provisioner's children) go with it.
    kill(-pid, SIGKILL);
    out.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         Clock::now() - started)
                         .count();
    if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
    if (out.exit_code == 127 && !killed) {
      out.error = absl::StrCat("could not execute '", inv.argv[0], "'");
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<PackerRunner> NewProcessPackerRunner() {
  return std::make_unique<ProcessPackerRunner>();
}

int KillLeftoverPacker(const std::string& status_id) {
  const std::set<pid_t> pids =
      process::ProcessesWithEnv(absl::StrCat(kBakeEnvName, "=", status_id));
  for (pid_t pid : pids) {
    const pid_t pgid = getpgid(pid);
    if (pgid > 1 && pgid != getpgrp()) kill(-pgid, SIGKILL);
    kill(pid, SIGKILL);
  }
  return static_cast<int>(pids.size());
}

}  // namespace gennaker::rosco
