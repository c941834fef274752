#include "common/process/process.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

extern char** environ;

namespace gennaker::process {
namespace {

// The set-up every child gets between fork and exec (async-signal-safe calls
// only). A child inherits the signal mask and ignored signals: services block
// SIGTERM/SIGINT for sigwait and ignore SIGPIPE, and a program exec'd with
// them so would ignore a polite stop (and be killed after the grace period
// instead) or misbehave on a closed pipe. Start clean.
void ResetSignalsInChild() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD}) {
    signal(sig, SIG_DFL);
  }
}

// Closes every descriptor above stderr, however high, except `keep` (-1:
// none): the parent's listening sockets and log files must not leak into the
// child. close_range needs Linux 5.9; the loop is the fallback.
void CloseInheritedFdsInChild(int keep) {
  auto close_from_to = [](unsigned first, unsigned last) {
    if (first > last) return;
    if (close_range(first, last, 0) != 0) {
      for (unsigned fd = first; fd <= last && fd < 65536; ++fd) close(fd);
    }
  };
  if (keep < 3) {
    close_from_to(3, ~0U);
  } else {
    close_from_to(3, static_cast<unsigned>(keep) - 1);
    close_from_to(static_cast<unsigned>(keep) + 1, ~0U);
  }
}

void ClosePipes(std::initializer_list<int*> pipes) {
  for (int* p : pipes) {
    close(p[0]);
    close(p[1]);
  }
}

}  // namespace

absl::StatusOr<pid_t> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("empty argv");
  // Everything the child needs is prepared before fork: only async-signal-safe
  // calls after.
  std::vector<char*> argv;
  for (const auto& a : options.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view kv(*e);
    bool overridden = false;
    for (const auto& [k, v] : options.env)
      overridden |= absl::StartsWith(kv, k + "=");
    if (!overridden) env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  uid_t uid = 0;
  gid_t gid = 0;
  if (!options.run_as.empty()) {
    passwd* pw = getpwnam(options.run_as.c_str());
    if (pw == nullptr)
      return absl::NotFoundError("no such user: " + options.run_as);
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    ResetSignalsInChild();
    if (options.new_session) setsid();
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (!options.log_file.empty()) {
      int fd = open(options.log_file.c_str(),
                    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        if (!options.run_as.empty()) (void)fchown(fd, uid, gid);
        dup2(fd, 1);
        dup2(fd, 2);
      }
    }
    if (!options.run_as.empty()) {
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        _exit(126);
    }
    // After switching user: a change of user clears the parent-death signal.
    if (options.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
    }
    CloseInheritedFdsInChild(-1);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

absl::StatusOr<int> Run(const SpawnOptions& options) {
  SpawnOptions o = options;
  o.new_session = false;
  auto pid = Spawn(o);
  if (!pid.ok()) return pid.status();
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 127) {
      return absl::NotFoundError(
          absl::StrCat("cannot execute ", options.argv[0]));
    }
    return WEXITSTATUS(status);
  }
  return absl::InternalError(
      absl::StrCat(options.argv[0], " killed by signal ", WTERMSIG(status)));
}

absl::StatusOr<CapturedRun> RunCaptured(const std::vector<std::string>& argv,
                                        absl::string_view input,
                                        absl::Duration timeout) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  // stdin, stdout, stderr, and one that reports a failed exec (closed on a
  // successful one).
  int in[2], out[2], err[2], exec_err[2];
  {
    int* pipes[] = {in, out, err, exec_err};
    for (int i = 0; i < 4; ++i) {
      if (pipe2(pipes[i], O_CLOEXEC) != 0) {
        const int e = errno;
        for (int j = 0; j < i; ++j) ClosePipes({pipes[j]});  // no leak
        return absl::InternalError(absl::StrCat("pipe: ", strerror(e)));
      }
    }
  }
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (std::string& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    ClosePipes({in, out, err, exec_err});
    return absl::InternalError(absl::StrCat("fork: ", strerror(e)));
  }
  if (pid == 0) {
    setpgid(0, 0);  // own group: the timeout kills its children too
    ResetSignalsInChild();
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    // exec_err[1] stays until exec (O_CLOEXEC) to report a failed one.
    CloseInheritedFdsInChild(exec_err[1]);
    execvp(cargv[0], cargv.data());
    const int e = errno;
    (void)!write(exec_err[1], &e, sizeof(e));
    _exit(127);
  }
  setpgid(pid, pid);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(exec_err[1]);
  int exec_errno = 0;
  const bool exec_failed = read(exec_err[0], &exec_errno, sizeof(exec_errno)) ==
                           static_cast<ssize_t>(sizeof(exec_errno));
  close(exec_err[0]);

  CapturedRun result;
  // Writes to a child that exited early must not kill us. SIGPIPE is blocked
  // in this thread only while we write (a broken pipe's SIGPIPE goes to the
  // writing thread) and a pending one consumed: the process-wide disposition
  // is left as the caller set it.
  sigset_t pipe_set, saved_mask;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &saved_mask);
  sigset_t pending;
  sigpending(&pending);
  const bool pipe_was_pending = sigismember(&pending, SIGPIPE) == 1;
  bool broke_pipe = false;
  fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
  size_t written = 0;
  int in_fd = in[1];
  if (exec_failed || input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int out_fd = out[0], err_fd = err[0];
  const absl::Time deadline = absl::Now() + timeout;
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    const int ready =
        poll(fds, n, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < n && ready > 0; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        const ssize_t w =
            write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno == EPIPE) broke_pipe = true;
        if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
            written == input.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char chunk[16384];
      const ssize_t r = read(fds[i].fd, chunk, sizeof(chunk));
      if (r > 0) {
        (fds[i].fd == out_fd ? result.out : result.err)
            .append(chunk, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  for (int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) close(fd);
  }
  if (broke_pipe && !pipe_was_pending) {
    const timespec no_wait = {0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &no_wait) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exec_failed) {
    const std::string message =
        absl::StrCat("cannot execute ", argv[0], ": ", strerror(exec_errno));
    return exec_errno == ENOENT ? absl::NotFoundError(message)
                                : absl::FailedPreconditionError(message);
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

bool IsAlive(pid_t pid) {
  if (pid <= 0) return false;
  int status;
  const pid_t waited = waitpid(pid, &status, WNOHANG);
  if (waited == pid) return false;  // our child, just exited
  if (waited == 0) return true;     // our child, still running
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close_paren = line.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= line.size())
    return true;
  return line[close_paren + 2] != 'Z';
}

absl::Status Terminate(pid_t pid, absl::Duration grace) {
  if (!IsAlive(pid)) return absl::OkStatus();
  pid_t pgid = getpgid(pid);
  bool group =
      pgid == pid;  // a session leader we started: stop its whole group
  auto signal = [&](int sig) { group ? killpg(pgid, sig) : kill(pid, sig); };
  signal(SIGTERM);
  absl::Time deadline = absl::Now() + grace;
  while (absl::Now() < deadline) {
    if (!IsAlive(pid)) {
      if (group) killpg(pgid, SIGKILL);  // stragglers of the group
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  signal(SIGKILL);
  for (int i = 0; i < 100 && IsAlive(pid); ++i)
    absl::SleepFor(absl::Milliseconds(20));
  if (IsAlive(pid))
    return absl::InternalError(absl::StrCat("process ", pid, " did not exit"));
  return absl::OkStatus();
}

std::set<pid_t> ProcessesWithEnv(const std::string& name_equals_value) {
  std::set<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    int64_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid) || pid <= 0 || pid == getpid()) {
      continue;
    }
    std::ifstream in(entry.path() / "environ", std::ios::binary);
    std::string env((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
    for (absl::string_view var : absl::StrSplit(env, '\0')) {
      if (var == name_equals_value) {
        if (IsAlive(static_cast<pid_t>(pid))) {
          out.insert(static_cast<pid_t>(pid));
        }
        break;
      }
    }
  }
  return out;
}

absl::StatusOr<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("bind failed");
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

namespace {

// Reads "<prefix> <N> kB" from a /proc file, in bytes.
absl::StatusOr<int64_t> ReadKbField(const std::string& path,
                                    absl::string_view prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, prefix)) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    int64_t kb = 0;
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kb)) return kb * 1024;
  }
  return absl::NotFoundError(absl::StrCat("no ", prefix, " in ", path));
}

}  // namespace

absl::StatusOr<int64_t> ResidentBytes(pid_t pid) {
  return ReadKbField(absl::StrCat("/proc/", pid, "/status"), "VmRSS:");
}

absl::StatusOr<int64_t> ProportionalBytes(pid_t pid) {
  return ReadKbField(absl::StrCat("/proc/", pid, "/smaps_rollup"), "Pss:");
}

absl::Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec)
    return absl::InternalError(
        absl::StrCat("cannot create ", path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status WritePrivateFile(const std::string& path,
                              absl::string_view content) {
  int fd = open(path.c_str(),
                O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  bool ok = fchmod(fd, 0600) == 0;  // an existing file keeps its mode otherwise
  size_t done = 0;
  while (ok && done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = close(fd) == 0 && ok;
  if (!ok)
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  return absl::OkStatus();
}

absl::Status ChownTo(const std::string& path, const std::string& user) {
  passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) return absl::NotFoundError("no such user: " + user);
  // lchown: a symlink planted in the tree must not hand its target to `user`.
  auto own = [&](const std::filesystem::path& p) {
    return lchown(p.c_str(), pw->pw_uid, pw->pw_gid) == 0;
  };
  if (!own(path))
    return absl::InternalError(
        absl::StrCat("chown ", path, ": ", strerror(errno)));
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(path, ec), end;
  for (; !ec && it != end; it.increment(ec)) own(it->path());
  if (ec)
    return absl::InternalError(
        absl::StrCat("chown ", path, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace gennaker::process
