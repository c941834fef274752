// LocalProvider's persistence and restart: one clouddriver per state dir
// (flock), the state file written atomically on every change, and Open(),
// which reads it, kills what a previous run left and recreates the rest.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/process/process.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"
#include "services/clouddriver/local/local_provider.h"

namespace gennaker::clouddriver::local {

namespace {

// Kills every process whose environment names `state_dir` (what a previous
// clouddriver left running), with its process group.
void ReapLeftovers(const std::string& state_dir) {
  const std::set<pid_t> leftovers =
      process::ProcessesWithEnv(absl::StrCat(kStateDirEnv, "=", state_dir));
  for (pid_t pid : leftovers) {
    pid_t group = getpgid(pid);
    if (group > 1 && group != getpgrp()) killpg(group, SIGKILL);
    kill(pid, SIGKILL);
  }
  if (!leftovers.empty()) {
    SPDLOG_WARN("event=local_leftovers_killed state_dir={} processes={}",
                state_dir, leftovers.size());
  }
}

// What this service stored itself is read with generous limits, so nothing
// it once accepted becomes unreadable.

// The state file's content; {} when there is none (a new account).
absl::StatusOr<Json> ReadState(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Json::object();
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  absl::StatusOr<Json> state =
      spinnaker::ParseJson(text, "local state", spinnaker::kStoredJsonLimits);
  if (!state.ok() || !state->is_object()) {
    return absl::DataLossError(absl::StrCat(
        path,
        " is not valid JSON; nothing was stopped. Move it away to "
        "start the account empty (its instances keep running until "
        "then)"));
  }
  return state;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalProvider>> LocalProvider::Open(
    std::string account, std::string state_dir, std::string image_store_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create local state dir ", state_dir, ": ", ec.message()));
  }
  state_dir = std::filesystem::absolute(state_dir).lexically_normal().string();
  while (state_dir.size() > 1 && state_dir.back() == '/') state_dir.pop_back();
  // One clouddriver per state dir: a second one would kill the first one's
  // instances as leftovers. The lock lives as long as the process.
  int lock =
      open((state_dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0) {
    if (lock >= 0) close(lock);
    return absl::FailedPreconditionError(
        absl::StrCat("local state dir ", state_dir,
                     " is in use by another clouddriver (or not writable)"));
  }
  // Read the state before killing anything: an unreadable file stops here
  // with the instances still running.
  absl::StatusOr<Json> state = ReadState(state_dir + "/state.json");
  if (!state.ok()) {
    close(lock);
    return state.status();
  }
  ReapLeftovers(state_dir);
  auto provider = std::make_unique<LocalProvider>(
      std::move(account), std::move(state_dir), std::move(image_store_dir));
  provider->lock_fd_ = lock;
  GENNAKER_RETURN_IF_ERROR(provider->Restore(*state));
  return provider;
}

void LocalProvider::PersistLocked() {
  if (restoring_) return;
  Json groups = Json::array();
  for (const auto& [name, g] : groups_) {
    Json record = {{"name", name},
                   {"requestId", g.request_id},
                   {"description", g.description},
                   {"min", g.min},
                   {"max", g.max},
                   {"desired", g.desired},
                   {"enabled", g.enabled},
                   {"createdTime", g.created_ms}};
    // The content it runs: a restart runs the same image.
    if (!g.image_id.empty()) record["imageId"] = g.image_id;
    groups.push_back(std::move(record));
  }
  Json balancers = Json::array();
  for (const auto& [name, b] : balancers_) {
    balancers.push_back({{"description", b.description},
                         {"port", b.lb != nullptr ? b.lb->port() : 0}});
  }
  for (const Json& b : unrestored_balancers_) balancers.push_back(b);
  Json sgs = Json::array();
  for (const auto& [name, d] : security_groups_) sgs.push_back(d);
  Json state = {{"version", 1},
                {"account", account_},
                {"securityGroups", sgs},
                {"loadBalancers", balancers},
                {"serverGroups", groups}};
  const std::string path = state_dir_ + "/state.json";
  const std::string tmp = path + ".tmp";
  // 0600: descriptions hold the instances' env, often secrets. Written to
  // a temp file, synced, then renamed over the old one: a crash leaves the
  // old file or the new one, never a torn one.
  const std::string text = state.dump();
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    SPDLOG_ERROR("event=local_state_write_failed path={} errno={}", path,
                 errno);
    return;
  }
  int dir = open(state_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
}

absl::Status LocalProvider::Restore(const Json& state) {
  if (state.empty()) return absl::OkStatus();  // a new account
  {
    absl::MutexLock l(&mu_);
    restoring_ = true;
  }
  for (const Json& d : state.value("securityGroups", Json::array())) {
    if (absl::Status s = UpsertSecurityGroup(d); !s.ok()) {
      SPDLOG_ERROR("event=local_restore_failed kind=securityGroup error={}", s);
    }
  }
  for (const Json& b : state.value("loadBalancers", Json::array())) {
    Json d = b.value("description", Json::object());
    d["listeners"] = Json::array({{{"port", spinnaker::Int(b, "port", 0)}}});
    // The port may still be held a moment by the process that just died.
    absl::Status s = UpsertLoadBalancer(d);
    for (int i = 0; i < 20 && !s.ok(); ++i) {
      absl::SleepFor(absl::Milliseconds(250));
      s = UpsertLoadBalancer(d);
    }
    if (!s.ok()) {
      // Kept in the state file: the next start tries again.
      SPDLOG_ERROR(
          "event=local_restore_failed kind=loadBalancer name={} "
          "error={}",
          spinnaker::String(d, "name"), s);
      absl::MutexLock l(&mu_);
      unrestored_balancers_.push_back(b);
    }
  }
  int restored = 0;
  for (const Json& g : state.value("serverGroups", Json::array())) {
    const std::string name = spinnaker::String(g, "name");
    const Json d = g.value("description", Json::object());
    if (name.empty()) continue;
    absl::StatusOr<std::optional<LocalImage>> image =
        ImageOf(d, spinnaker::String(g, "imageId"));
    absl::StatusOr<ServerGroupSpec> spec =
        image.ok() ? SpecOf(d, *image) : image.status();
    {
      absl::MutexLock l(&mu_);
      Group& group = groups_[name];
      group.name = name;
      group.request_id = spinnaker::String(g, "requestId");
      group.description = d;
      group.min = static_cast<int>(spinnaker::Int(g, "min", 0));
      group.max = static_cast<int>(spinnaker::Int(g, "max", 0));
      group.desired = static_cast<int>(spinnaker::Int(g, "desired", 0));
      group.enabled = spinnaker::Bool(g, "enabled", true);
      group.created_ms =
          spinnaker::Int(g, "createdTime", absl::ToUnixMillis(absl::Now()));
      group.image_id = spinnaker::String(g, "imageId");
      if (image.ok()) group.image = *image;
    }
    // A group that cannot start now (a missing binary, a bad record) keeps
    // its record, so the next start tries again instead of forgetting it.
    absl::Status s =
        spec.ok()
            ? StartGroup(name, *spec,
                         static_cast<int>(spinnaker::Int(g, "desired", 0)),
                         spinnaker::Bool(g, "enabled", true),
                         /*keep_on_failure=*/true)
            : spec.status();
    if (!s.ok()) {
      SPDLOG_ERROR(
          "event=local_restore_failed kind=serverGroup name={} "
          "error={}",
          name, s);
      continue;
    }
    ++restored;
  }
  {
    absl::MutexLock l(&mu_);
    restoring_ = false;
    PersistLocked();
  }
  SPDLOG_INFO("event=local_state_restored account={} server_groups={}",
              account_, restored);
  return absl::OkStatus();
}

}  // namespace gennaker::clouddriver::local
