// A protocol-faithful fake of `packer build -machine-readable` for rosco's
// unit tests (the integration test runs the real /usr/bin/packer). It speaks
// the PackerRunner contract exactly as the process runner does: on_start once
// with a (fake) pid, one on_line per output line in packer 1.6's
// machine-readable format ("ts,target,type,data..." with commas escaped as
// "%!(PACKER_COMMA)"), should_stop polled while it "runs", and the timeout of
// the invocation honoured (timed_out). The output is what local.json
// produces: "Image: sha256:<hex>" and "ImageName: <name>" ui lines, then the
// null builder's artifact lines; with fail() set, the lines of a failing
// shell-local provisioner and exit status 1.
//
// hold() makes every run wait (still polling should_stop and the timeout)
// until release(); tests use it to see bakes running, queued, cancelled and
// interrupted. Thread-safe: the core runs bakes on several workers.
#ifndef GENNAKER_SERVICES_ROSCO_FAKE_PACKER_RUNNER_H_
#define GENNAKER_SERVICES_ROSCO_FAKE_PACKER_RUNNER_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/rosco/packer_runner.h"

namespace gennaker::rosco {

class FakePackerRunner final : public PackerRunner {
 public:
  void hold() {
    absl::MutexLock l(&mu_);
    held_ = true;
  }
  void release() {
    absl::MutexLock l(&mu_);
    held_ = false;
  }
  void fail(bool f) {
    absl::MutexLock l(&mu_);
    fail_ = f;
  }
  // Every run first says `lines` lines of `bytes` bytes each.
  void chatter(int lines, int bytes) {
    absl::MutexLock l(&mu_);
    chatter_lines_ = lines;
    chatter_bytes_ = bytes;
  }
  int runs() {
    absl::MutexLock l(&mu_);
    return static_cast<int>(invocations_.size());
  }
  int running() {
    absl::MutexLock l(&mu_);
    return running_;
  }
  int max_running() {
    absl::MutexLock l(&mu_);
    return max_running_;
  }
  std::vector<PackerInvocation> invocations() {
    absl::MutexLock l(&mu_);
    return invocations_;
  }
  // Waits until `n` runs are in progress at once (false after `timeout`).
  bool WaitRunning(int n, absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (running() < n) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  // "-var k=v" values of an invocation.
  static std::map<std::string, std::string> Vars(const PackerInvocation& inv) {
    std::map<std::string, std::string> out;
    for (size_t i = 0; i + 1 < inv.argv.size(); ++i) {
      if (inv.argv[i] != "-var") continue;
      const std::string& kv = inv.argv[i + 1];
      const size_t eq = kv.find('=');
      out[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return out;
  }

  PackerExit Run(const PackerInvocation& inv,
                 const std::function<void(pid_t)>& on_start,
                 const std::function<void(absl::string_view)>& on_line,
                 const std::function<bool()>& should_stop) override {
    const auto started = std::chrono::steady_clock::now();
    bool failing = false;
    int chatter_lines = 0;
    int chatter_bytes = 0;
    {
      absl::MutexLock l(&mu_);
      chatter_lines = chatter_lines_;
      chatter_bytes = chatter_bytes_;
      invocations_.push_back(inv);
      ++running_;
      max_running_ = std::max(max_running_, running_);
      failing = fail_;
    }
    if (on_start) on_start(100000 + runs());
    const std::map<std::string, std::string> vars = Vars(inv);
    auto value = [&](const std::string& k) {
      auto it = vars.find(k);
      return it == vars.end() ? std::string() : it->second;
    };
    auto emit = [&](const std::string& target, const std::string& type,
                    const std::vector<std::string>& data) {
      std::string line = absl::StrCat("1796248495,", target, ",", type);
      for (const std::string& d : data) {
        absl::StrAppend(
            &line, ",",
            absl::StrReplaceAll(d, {{",", "%!(PACKER_COMMA)"}, {"\n", "\\n"}}));
      }
      if (on_line) on_line(line);
    };
    emit("", "ui",
         {"say", absl::StrCat("==> null: Running local shell script: ",
                              value("configDir"), "/local-image.sh")});
    for (int i = 0; i < chatter_lines; ++i) {
      emit("", "ui",
           {"message", absl::StrCat("    null: line ", i, " ",
                                    std::string(chatter_bytes, 'x'))});
    }
    PackerExit out;
    // Runs "for a while": until released, stopped or timed out.
    while (true) {
      {
        absl::MutexLock l(&mu_);
        if (!held_) break;
      }
      if (should_stop && should_stop()) {
        out.stopped = true;
        break;
      }
      if (std::chrono::steady_clock::now() - started >
          absl::ToChronoMilliseconds(inv.timeout)) {
        out.timed_out = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    if (out.stopped || out.timed_out) {
      out.exit_code = -1;  // killed by a signal
    } else if (failing) {
      emit("", "ui",
           {"error",
            absl::StrCat("==> null: local-image: package '", value("packages"),
                         "' is not in the repository ", value("repository"))});
      emit("", "ui",
           {"error",
            "Build 'null' errored after 67 milliseconds: Script exited with "
            "non-zero exit status: 1.Allowed exit codes are: [0]"});
      emit("", "error-count", {"1"});
      emit("", "ui",
           {"say", "\n==> Builds finished but no artifacts were created."});
      out.exit_code = 1;
    } else {
      // Content-addressed: the same packages and command give the same id.
      const std::string hex =
          Hex64(absl::StrCat(value("packages"), "|", value("command_b64")));
      emit("", "ui",
           {"message",
            absl::StrCat("    null: local-image: stored sha256:", hex)});
      emit("", "ui",
           {"message", absl::StrCat("    null: Image: sha256:", hex)});
      emit("", "ui",
           {"message",
            absl::StrCat("    null: ImageName: ", value("image_name"))});
      emit("", "ui",
           {"say",
            "\n==> Builds finished. The artifacts of successful builds "
            "are:"});
      emit("null", "artifact-count", {"1"});
      emit("null", "artifact", {"0", "builder-id", "fnoeding.null"});
      emit("null", "artifact", {"0", "id", "Null"});
      emit("null", "artifact", {"0", "end"});
      out.exit_code = 0;
    }
    out.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
    absl::MutexLock l(&mu_);
    --running_;
    return out;
  }

 private:
  // 64 hex digits derived from `s` (not a real sha256; only its shape and
  // determinism matter to rosco).
  static std::string Hex64(const std::string& s) {
    std::string out;
    uint64_t h = 1469598103934665603ull;
    for (int round = 0; round < 4; ++round) {
      for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
      }
      h ^= static_cast<uint64_t>(round);
      absl::StrAppend(&out, absl::Hex(h, absl::kZeroPad16));
    }
    return out;
  }
  absl::Mutex mu_;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  int max_running_ ABSL_GUARDED_BY(mu_) = 0;
  int chatter_lines_ ABSL_GUARDED_BY(mu_) = 0;
  int chatter_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<PackerInvocation> invocations_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::rosco

#endif  // GENNAKER_SERVICES_ROSCO_FAKE_PACKER_RUNNER_H_
