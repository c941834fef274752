// gennaker-fake-jenkins: the test suite's protocol-faithful FAKE Jenkins
// (tests/support/fake_jenkins.h) as a program, so that the CI workflow can be
// tried on a machine without Jenkins (Jenkins cannot run here). It is not a
// CI server: builds run nothing, they wait --build-seconds, succeed, and
// archive build.properties with their parameters.
//
//   gennaker-fake-jenkins [--port 8180] [--user U --token T] [--csrf]
//                         [--build-seconds 2] --job NAME[:PARAM,PARAM...] ...
//
// Start a build as a developer or an SCM hook would:
//   curl -X POST -u U:T
//   'http://127.0.0.1:8180/job/NAME/buildWithParameters?PARAM=v'
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tests/support/fake_jenkins.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: gennaker-fake-jenkins [--port N] [--user U --token T] "
               "[--csrf] [--build-seconds N] --job NAME[:PARAM,PARAM...] "
               "...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using gennaker::testing::FakeJenkins;
  FakeJenkins::Options options;
  int build_seconds = 2;
  std::vector<std::string> jobs;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    const bool has_value = i + 1 < argc;
    if (f == "--csrf") {
      options.csrf = true;
    } else if (f == "--port" && has_value &&
               absl::SimpleAtoi(argv[i + 1], &options.port) &&
               options.port >= 0 && options.port < 65536) {
      ++i;
    } else if (f == "--build-seconds" && has_value &&
               absl::SimpleAtoi(argv[i + 1], &build_seconds) &&
               build_seconds >= 0) {
      ++i;
    } else if (f == "--user" && has_value) {
      options.username = argv[++i];
    } else if (f == "--token" && has_value) {
      options.token = argv[++i];
    } else if (f == "--job" && has_value) {
      jobs.push_back(argv[++i]);
    } else {
      return Usage();
    }
  }
  if (jobs.empty()) return Usage();
  // Signals wait for sigwait below, on this thread only.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto jenkins = FakeJenkins::Start(options);
  if (!jenkins.ok()) {
    std::fprintf(stderr, "gennaker-fake-jenkins: %s\n",
                 std::string(jenkins.status().message()).c_str());
    return 1;
  }
  for (const std::string& spec : jobs) {
    std::vector<std::string> parts =
        absl::StrSplit(spec, absl::MaxSplits(':', 1));
    std::vector<gennaker::testing::FakeJenkinsParam> params;
    std::string properties;
    if (parts.size() == 2) {
      for (absl::string_view p :
           absl::StrSplit(parts[1], ',', absl::SkipEmpty())) {
        params.push_back(
            gennaker::testing::FakeJenkinsParam::String(std::string(p), ""));
        properties += std::string(p) + "=${" + std::string(p) + "}\n";
      }
    }
    auto script =
        gennaker::testing::FakeJenkinsScript::Runs(build_seconds * 1000);
    script.artifacts = {{"build.properties", properties}};
    (*jenkins)->AddJob(parts[0], std::move(params), std::move(script));
  }
  std::printf("fake Jenkins (not a CI server) on %s with %zu job(s)\n",
              (*jenkins)->url().c_str(), jobs.size());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  return 0;
}
