#include "services/igor/git/git_monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/process/process.h"
#include "common/status/status_macros.h"

namespace gennaker::igor {
namespace {

constexpr char kGit[] = "/usr/bin/git";
// A remote that does not answer within this is treated as down.
constexpr absl::Duration kLsRemoteTimeout = absl::Seconds(60);
// Output of ls-remote read at most (a repository with ~200k branches).
constexpr std::streamsize kMaxOutputBytes = std::streamsize{32} << 20;

std::string GitBinary() {
  const char* env = std::getenv("GENNAKER_GIT");
  return env != nullptr && *env != '\0' ? env : kGit;
}

// `text` with the user information of any URL in it ("https://u:p@h")
// replaced, so git's messages never put a password in a log or an error.
std::string RedactCredentials(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t scheme = text.find("://", i);
    if (scheme == std::string::npos) break;
    const size_t start = scheme + 3;
    size_t end = start;
    while (end < text.size() && text[end] != '/' && text[end] != '@' &&
           !std::isspace(static_cast<unsigned char>(text[end])) &&
           text[end] != '\'' && text[end] != '"') {
      ++end;
    }
    out.append(text, i, start - i);
    if (end < text.size() && text[end] == '@') {
      out += "***@";
      i = end + 1;
    } else {
      i = start;
    }
  }
  out.append(text, std::min(i, text.size()), std::string::npos);
  return out;
}

// An http(s) URL split into the URL without its user information and the
// "user:password" it held (percent-decoded, as git decodes it).
struct RemoteUrl {
  std::string url;
  std::optional<std::string> credentials;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
        HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

RemoteUrl SplitCredentials(const std::string& url) {
  RemoteUrl out{url, std::nullopt};
  const size_t sep = url.find("://");
  if (sep == std::string::npos) return out;
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, sep));
  // ssh's "user@" is a login name, not a secret; file and git have none.
  if (scheme != "http" && scheme != "https") return out;
  const size_t start = sep + 3;
  const size_t end = url.find_first_of("/?#", start);
  const std::string authority = url.substr(
      start, end == std::string::npos ? std::string::npos : end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string::npos) return out;
  const absl::string_view userinfo = absl::string_view(authority).substr(0, at);
  const size_t colon = userinfo.find(':');
  const std::string user = PercentDecode(userinfo.substr(0, colon));
  const std::string password = colon == absl::string_view::npos
                                   ? ""
                                   : PercentDecode(userinfo.substr(colon + 1));
  out.url = absl::StrCat(url.substr(0, start), authority.substr(at + 1),
                         end == std::string::npos ? "" : url.substr(end));
  out.credentials = absl::StrCat(user, ":", password);
  return out;
}

bool IsSha(absl::string_view s) {
  if (s.size() != 40 && s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// Runs `git ls-remote --heads <url>` and returns branch -> sha.
absl::StatusOr<std::map<std::string, std::string>> LsRemote(
    const std::string& url, const std::string& what) {
  std::string tmpl = "/tmp/gennaker-ls-remote-XXXXXX";
  if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp) {
    tmpl = absl::StrCat(tmp, "/gennaker-ls-remote-XXXXXX");
  }
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create a temporary file: ", strerror(errno)));
  }
  close(fd);
  const std::string out_path(name.data());
  struct Cleanup {
    std::string path;
    ~Cleanup() { std::remove(path.c_str()); }
  } cleanup{out_path};

  // Credentials in the URL go in the environment (readable only by this
  // user), never on the command line (/proc/<pid>/cmdline is world
  // readable): git sends them as an extra Authorization header.
  const RemoteUrl remote = SplitCredentials(url);
  process::SpawnOptions run;
  run.argv = {GitBinary(), "ls-remote", "--heads", remote.url};
  run.env = {{"GIT_TERMINAL_PROMPT", "0"},
             {"GCM_INTERACTIVE", "never"},
             // No ext:: (runs commands) or other exotic transports.
             {"GIT_ALLOW_PROTOCOL", "file:git:http:https:ssh"},
             {"LC_ALL", "C"}};
  if (remote.credentials.has_value()) {
    run.env.emplace_back("GIT_CONFIG_COUNT", "1");
    run.env.emplace_back("GIT_CONFIG_KEY_0", "http.extraHeader");
    run.env.emplace_back("GIT_CONFIG_VALUE_0",
                         absl::StrCat("Authorization: Basic ",
                                      absl::Base64Escape(*remote.credentials)));
  }
  if (std::getenv("GIT_SSH_COMMAND") == nullptr) {
    run.env.emplace_back("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
  }
  run.log_file = out_path;
  // Its own process group, so a timeout stops ssh / git-remote-https too.
  run.new_session = true;
  run.die_with_parent = true;
  GENNAKER_ASSIGN_OR_RETURN(pid_t pid, process::Spawn(run));

  const absl::Time deadline = absl::Now() + kLsRemoteTimeout;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid: ", strerror(errno)));
    }
    if (absl::Now() >= deadline) {
      (void)process::Terminate(pid, absl::Seconds(2));
      return absl::DeadlineExceededError(
          absl::StrCat("git ls-remote of ", what, " took longer than ",
                       absl::FormatDuration(kLsRemoteTimeout)));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }

  std::ifstream in(out_path, std::ios::binary | std::ios::ate);
  const std::streamsize size = std::min<std::streamsize>(
      std::max<std::streamsize>(in.tellg(), 0), kMaxOutputBytes);
  in.seekg(0);
  std::string output(static_cast<size_t>(size), '\0');
  in.read(output.data(), size);
  output.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));

  if (!WIFEXITED(status)) {
    return absl::UnavailableError(
        absl::StrCat("git ls-remote of ", what, " was killed"));
  }
  if (WEXITSTATUS(status) == 127) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ", GitBinary()));
  }
  if (WEXITSTATUS(status) != 0) {
    // git's last message line says why (not found, auth failed, ...).
    std::string last;
    for (absl::string_view line : absl::StrSplit(output, '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (!line.empty()) last = std::string(line);
    }
    return absl::UnavailableError(absl::StrCat(
        "git ls-remote of ", what, " failed (exit ", WEXITSTATUS(status),
        "): ", RedactCredentials(last.substr(0, 500))));
  }
  std::map<std::string, std::string> heads;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    // "<sha>\trefs/heads/<branch>"; anything else (warnings on stderr) is
    // skipped.
    const size_t tab = line.find('\t');
    if (tab == absl::string_view::npos) continue;
    absl::string_view sha = line.substr(0, tab);
    absl::string_view ref =
        absl::StripTrailingAsciiWhitespace(line.substr(tab + 1));
    if (!IsSha(sha) || !absl::ConsumePrefix(&ref, "refs/heads/") ||
        ref.empty()) {
      continue;
    }
    heads[std::string(ref)] = std::string(sha);
  }
  return heads;
}

class GitMonitor : public Monitor {
 public:
  GitMonitor(const v1::GitRepository& repository, SeenStore* store,
             EventSink* sink)
      : repo_(repository),
        store_(store),
        sink_(sink),
        branches_(repository.branches().begin(), repository.branches().end()) {}

  std::string name() const override {
    return absl::StrCat("git:", repo_.source(), "/", repo_.project(), "/",
                        repo_.slug());
  }

  absl::Status Poll() override {
    const std::string& url = repo_.url();
    if (url.empty() || url[0] == '-' ||
        std::any_of(url.begin(), url.end(), [](char c) {
          return std::iscntrl(static_cast<unsigned char>(c));
        })) {
      return absl::InvalidArgumentError(
          absl::StrCat(name(), ": the repository url is not usable"));
    }
    GENNAKER_ASSIGN_OR_RETURN(auto heads, LsRemote(url, name()));
    const std::string key = absl::StrCat("git:", repo_.source(), ":",
                                         repo_.project(), ":", repo_.slug());
    const std::string polled_key = absl::StrCat(
        "gitPolled:", repo_.source(), ":", repo_.project(), ":", repo_.slug());
    GENNAKER_ASSIGN_OR_RETURN(auto seen, store_->HashGetAll(key));
    GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> polled,
                              store_->Get(polled_key));
    // The first poll only remembers (no replay of every branch's head).
    // Only the marker counts (written after every head of the first poll is
    // remembered): a first poll interrupted midway must not make the next
    // one take the remaining heads for pushes.
    const bool first_poll = !polled.has_value();
    int events = 0;
    for (const auto& [branch, sha] : heads) {
      if (!branches_.empty() && std::find(branches_.begin(), branches_.end(),
                                          branch) == branches_.end()) {
        continue;
      }
      auto it = seen.find(branch);
      if (it != seen.end() && it->second == sha) continue;
      if (!first_poll) {
        // The event before the mark: a crash in between repeats it (echo
        // drops the repeat by its key) rather than losing it.
        GENNAKER_RETURN_IF_ERROR(sink_->Post(
            Event(branch, sha),
            absl::StrCat("git:", repo_.source(), ":", repo_.project(), ":",
                         repo_.slug(), ":", branch, ":", sha)));
        ++events;
      }
      GENNAKER_RETURN_IF_ERROR(store_->HashSet(key, branch, sha));
    }
    if (!polled.has_value()) {
      GENNAKER_RETURN_IF_ERROR(
          store_->Set(polled_key, absl::StrCat(absl::ToUnixMillis(absl::Now())),
                      std::chrono::milliseconds(0)));
    }
    if (events > 0 || first_poll) {
      SPDLOG_INFO(
          "event=git_polled repository={} branches={} events={} "
          "first_poll={}",
          name(), heads.size(), events, first_poll);
    }
    return absl::OkStatus();
  }

 private:
  Json Event(const std::string& branch, const std::string& sha) const {
    return Json{{"details", {{"type", "git"}, {"source", repo_.source()}}},
                {"content",
                 {{"repoProject", repo_.project()},
                  {"slug", repo_.slug()},
                  {"hash", sha},
                  {"branch", branch},
                  {"action", "push:push"}}}};
  }

  const v1::GitRepository repo_;
  SeenStore* const store_;
  EventSink* const sink_;
  const std::vector<std::string> branches_;
};

}  // namespace

std::unique_ptr<Monitor> NewGitMonitor(const v1::GitRepository& repository,
                                       SeenStore* store, EventSink* sink) {
  return std::make_unique<GitMonitor>(repository, store, sink);
}

}  // namespace gennaker::igor
