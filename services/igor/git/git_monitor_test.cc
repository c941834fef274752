// The git monitor against real repositories: a bare "remote" and a working
// clone made with /usr/bin/git in a temporary directory.
#include "services/igor/git/git_monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/http/http_server.h"
#include "common/process/process.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "services/igor/monitor_test_util.h"

namespace gennaker::igor {
namespace {

using ::gennaker::igor::monitor_testing::FailingMidwayStore;
using ::gennaker::igor::monitor_testing::RecordingSink;
using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

class GitMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("igor-git");
    origin_ = dir_ + "/origin.git";
    work_ = dir_ + "/work";
    Git({"-c", "init.defaultBranch=main", "init", "--bare", "-q", origin_});
    Git({"-c", "init.defaultBranch=main", "init", "-q", work_});
    Git({"-C", work_, "remote", "add", "origin", origin_});
    store_ = NewInMemorySeenStore();
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  // Runs git; returns its output (stdout and stderr), failing the test on a
  // non-zero exit.
  std::string Git(std::vector<std::string> args) {
    const std::string log = dir_ + "/git.out";
    std::remove(log.c_str());
    process::SpawnOptions run;
    run.argv = {"/usr/bin/git"};
    run.argv.insert(run.argv.end(), args.begin(), args.end());
    run.log_file = log;
    run.env = {{"GIT_CONFIG_NOSYSTEM", "1"}, {"HOME", dir_}};
    auto code = process::Run(run);
    std::ifstream in(log);
    std::stringstream out;
    out << in.rdbuf();
    EXPECT_THAT(code, IsOk());
    EXPECT_EQ(code.value_or(-1), 0) << out.str();
    return out.str();
  }

  // Commits a change on `branch` (created from the current head when new)
  // and pushes it; returns the new head.
  std::string CommitAndPush(const std::string& branch,
                            const std::string& message) {
    Git({"-C", work_, "checkout", "-q", "-B", branch});
    {
      std::ofstream f(work_ + "/file.txt", std::ios::app);
      f << message << "\n";
    }
    Git({"-C", work_, "add", "file.txt"});
    Git({"-C", work_, "-c", "user.name=Test", "-c", "user.email=t@example.com",
         "commit", "-q", "-m", message});
    Git({"-C", work_, "push", "-q", "origin", "HEAD:refs/heads/" + branch});
    return std::string(
        absl::StripAsciiWhitespace(Git({"-C", work_, "rev-parse", "HEAD"})));
  }

  v1::GitRepository Repo(std::vector<std::string> branches = {}) {
    v1::GitRepository r;
    r.set_source("github");
    r.set_project("team");
    r.set_slug("app");
    r.set_url(origin_);
    for (const std::string& b : branches) r.add_branches(b);
    return r;
  }

  std::string dir_, origin_, work_;
  std::unique_ptr<SeenStore> store_;
  RecordingSink sink_;
};

TEST_F(GitMonitorTest, FirstPollRecordsThenANewCommitIsOneEvent) {
  const std::string first = CommitAndPush("main", "one");
  auto monitor = NewGitMonitor(Repo(), store_.get(), &sink_);
  EXPECT_EQ(monitor->name(), "git:github/team/app");
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), IsEmpty());
  auto head = store_->HashGet("git:github:team:app", "main");
  ASSERT_THAT(head, IsOk());
  EXPECT_EQ(head->value_or(""), first);

  const std::string second = CommitAndPush("main", "two");
  ASSERT_NE(first, second);
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  const Json e = sink_.events()[0];
  EXPECT_EQ(e["details"]["type"], "git");
  EXPECT_EQ(e["details"]["source"], "github");
  EXPECT_EQ(e["content"]["repoProject"], "team");
  EXPECT_EQ(e["content"]["slug"], "app");
  EXPECT_EQ(e["content"]["hash"], second);
  EXPECT_EQ(e["content"]["branch"], "main");
  EXPECT_EQ(e["content"]["action"], "push:push");
  EXPECT_THAT(sink_.keys(),
              ElementsAre(absl::StrCat("git:github:team:app:main:", second)));

  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), SizeIs(1));
}

TEST_F(GitMonitorTest, AnEmptyRepositoryStillCountsAsPolled) {
  auto monitor = NewGitMonitor(Repo(), store_.get(), &sink_);
  ASSERT_THAT(monitor->Poll(), IsOk());
  const std::string sha = CommitAndPush("main", "first ever");
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  EXPECT_EQ(sink_.events()[0]["content"]["hash"], sha);
}

TEST_F(GitMonitorTest, BranchFilterIsRespected) {
  CommitAndPush("main", "one");
  auto monitor = NewGitMonitor(Repo({"main"}), store_.get(), &sink_);
  ASSERT_THAT(monitor->Poll(), IsOk());
  CommitAndPush("feature", "on a feature branch");
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), IsEmpty());
  const std::string sha = CommitAndPush("main", "on main");
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  EXPECT_EQ(sink_.events()[0]["content"]["branch"], "main");
  EXPECT_EQ(sink_.events()[0]["content"]["hash"], sha);
}

TEST_F(GitMonitorTest, WithoutAFilterANewBranchIsAnEvent) {
  CommitAndPush("main", "one");
  auto monitor = NewGitMonitor(Repo(), store_.get(), &sink_);
  ASSERT_THAT(monitor->Poll(), IsOk());
  const std::string sha = CommitAndPush("release/1.0", "release");
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  EXPECT_EQ(sink_.events()[0]["content"]["branch"], "release/1.0");
  EXPECT_EQ(sink_.events()[0]["content"]["hash"], sha);
}

TEST_F(GitMonitorTest, UnreachableRepositoriesAreErrorsNotCrashes) {
  v1::GitRepository missing = Repo();
  missing.set_url(dir_ + "/no-such-repo.git");
  auto monitor = NewGitMonitor(missing, store_.get(), &sink_);
  EXPECT_THAT(monitor->Poll(), StatusIs(absl::StatusCode::kUnavailable,
                                        HasSubstr("git:github/team/app")));

  // Nothing listens there; the password never shows in the error.
  v1::GitRepository down = Repo();
  down.set_url("http://robot:hunter2@127.0.0.1:1/team/app.git");
  auto status = NewGitMonitor(down, store_.get(), &sink_)->Poll();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("hunter2")));

  // An option in place of a URL is refused before git runs.
  v1::GitRepository option = Repo();
  option.set_url("--upload-pack=touch /tmp/pwned");
  EXPECT_THAT(NewGitMonitor(option, store_.get(), &sink_)->Poll(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A transport that runs commands is not allowed.
  v1::GitRepository ext = Repo();
  ext.set_url("ext::sh -c touch% " + dir_ + "/pwned");
  EXPECT_THAT(NewGitMonitor(ext, store_.get(), &sink_)->Poll(), Not(IsOk()));
  EXPECT_NE(access((dir_ + "/pwned").c_str(), F_OK), 0);

  EXPECT_THAT(sink_.events(), IsEmpty());
  auto all = store_->HashGetAll("git:github:team:app");
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(*all, IsEmpty());
}

// The URL's credentials reach the server (as an Authorization header) but
// never git's command line, which any local user can read.
TEST_F(GitMonitorTest, UrlCredentialsStayOffTheCommandLine) {
  std::mutex mu;
  std::vector<std::string> authorizations;
  http::Router router;
  router.Add("GET", "/team/app.git/info/refs", [&](const http::Request& r) {
    std::lock_guard<std::mutex> lock(mu);
    authorizations.push_back(r.Header("authorization"));
    return http::Json(404, R"({"error":"no such repository"})");
  });
  auto server = http::Server::Start({}, std::move(router));
  ASSERT_THAT(server, IsOk());

  // A git that records its arguments, then runs the real one.
  const std::string args_file = dir_ + "/args";
  const std::string wrapper = dir_ + "/git-wrapper.sh";
  {
    std::ofstream w(wrapper);
    w << "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '" << args_file
      << "'\nexec /usr/bin/git \"$@\"\n";
  }
  ASSERT_EQ(chmod(wrapper.c_str(), 0700), 0);
  const char* old = std::getenv("GENNAKER_GIT");
  const std::string saved = old != nullptr ? old : "";
  setenv("GENNAKER_GIT", wrapper.c_str(), 1);

  v1::GitRepository repo = Repo();
  repo.set_url(absl::StrCat("http://robot%40ci:hun%3Ater2@127.0.0.1:",
                            (*server)->port(), "/team/app.git"));
  const absl::Status status = NewGitMonitor(repo, store_.get(), &sink_)->Poll();
  if (old != nullptr) {
    setenv("GENNAKER_GIT", saved.c_str(), 1);
  } else {
    unsetenv("GENNAKER_GIT");
  }
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("hun")));

  std::ifstream in(args_file);
  std::stringstream args;
  args << in.rdbuf();
  EXPECT_THAT(args.str(), HasSubstr("ls-remote"));
  EXPECT_THAT(args.str(),
              HasSubstr(absl::StrCat("http://127.0.0.1:", (*server)->port(),
                                     "/team/app.git")));
  EXPECT_THAT(args.str(), Not(HasSubstr("robot")));
  EXPECT_THAT(args.str(), Not(HasSubstr("hun")));

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_FALSE(authorizations.empty());
  // Percent-decoded, as git itself would send them.
  EXPECT_EQ(authorizations[0],
            absl::StrCat("Basic ", absl::Base64Escape("robot@ci:hun:ter2")));
}

TEST_F(GitMonitorTest, AnInterruptedFirstPollDoesNotReplayHistory) {
  CommitAndPush("main", "one");
  CommitAndPush("a", "two");
  CommitAndPush("b", "three");
  FailingMidwayStore store;
  auto monitor = NewGitMonitor(Repo(), &store, &sink_);
  // Redis goes away after one of the three heads is remembered.
  store.allow = 1;
  EXPECT_THAT(monitor->Poll(), StatusIs(absl::StatusCode::kUnavailable));
  auto some = store.HashGetAll("git:github:team:app");
  ASSERT_THAT(some, IsOk());
  EXPECT_THAT(*some, SizeIs(1));
  store.allow = 1 << 30;
  // Still the first poll: the other heads are history, not pushes.
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), IsEmpty());
  auto all = store.HashGetAll("git:github:team:app");
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(*all, SizeIs(3));
  const std::string sha = CommitAndPush("a", "four");
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  EXPECT_EQ(sink_.events()[0]["content"]["hash"], sha);
}

}  // namespace
}  // namespace gennaker::igor
