// igor's polling framework (Spinnaker's CommonPollingMonitor): monitors that
// look at an outside system (a Jenkins master, a Travis master, a Docker
// registry, a git repository) every interval, remember what they saw in
// Redis, and send an event to echo for each new thing.
//
// - A poll of one monitor is claimed through the SeenStore (key
//   "poll:<name>", i.e. "<prefix>:poll:<name>" in Redis, SET NX PX with a
//   ttl of 9/10 of the interval, value naming the scheduler), so with several
//   igor replicas each monitor is polled about once per interval. A
//   scheduler may poll again while it holds the claim itself (PollNow).
// - A poll that fails (the system is down, an answer does not parse, the
//   claim cannot be taken) is logged and retried with exponential backoff
//   (interval/8 doubling up to the interval); the failed poll's claim is
//   released (compare-and-delete: only while it is still this scheduler's)
//   so the retry may run anywhere. A failure never stops the
//   scheduler or another monitor.
// - An event is sent before what it reports is marked as seen, so a crash
//   between the two repeats the event (echo de-duplicates it by its
//   idempotency key) instead of losing it.
#ifndef GENNAKER_SERVICES_IGOR_POLLING_H_
#define GENNAKER_SERVICES_IGOR_POLLING_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/spinnaker/json.h"

namespace gennaker::redis {
class Client;
}

namespace gennaker::igor {

using spinnaker::Json;

// Where events go (echo's PostEvent).
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Sends one Spinnaker event ({details:{type, source}, content, ...});
  // `idempotency_key` identifies what it reports (e.g.
  // "build:<master>:<job>:<number>"), so a repeat is dropped by echo.
  virtual absl::Status Post(const Json& event,
                            const std::string& idempotency_key) = 0;
};

// What monitors remember (Redis hashes and keys under a prefix). Keys are
// given without the prefix.
class SeenStore {
 public:
  virtual ~SeenStore() = default;
  // The field of hash `key`, or nullopt.
  virtual absl::StatusOr<std::optional<std::string>> HashGet(
      const std::string& key, const std::string& field) = 0;
  virtual absl::Status HashSet(const std::string& key, const std::string& field,
                               const std::string& value) = 0;
  // Every field of hash `key`.
  virtual absl::StatusOr<std::map<std::string, std::string>> HashGetAll(
      const std::string& key) = 0;
  virtual absl::Status Delete(const std::string& key) = 0;
  // Keys matching a glob pattern (SCAN, not KEYS).
  virtual absl::StatusOr<std::vector<std::string>> Scan(
      const std::string& pattern) = 0;
  // Sets `key` to `value` with an expiry unless it exists; true when set
  // (the caller now holds it). For poll claims and pending operations.
  virtual absl::StatusOr<bool> SetIfAbsent(const std::string& key,
                                           const std::string& value,
                                           std::chrono::milliseconds ttl) = 0;
  // The plain value of `key`, or nullopt.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      const std::string& key) = 0;
  // Sets `key` (ttl 0: no expiry).
  virtual absl::Status Set(const std::string& key, const std::string& value,
                           std::chrono::milliseconds ttl) = 0;
  // Deletes `key` only when its plain value is `value` (releasing a claim
  // without dropping one another holder took after ours lapsed); true when
  // deleted. Both stores here do it atomically (Redis: a compare-and-delete
  // script); this default, for other stores, is a Get then a Delete.
  virtual absl::StatusOr<bool> DeleteIfEquals(const std::string& key,
                                              const std::string& value);
};

// Redis-backed (keys "<prefix>:<key>"); `client` is not owned.
std::unique_ptr<SeenStore> NewRedisSeenStore(redis::Client* client,
                                             std::string prefix);
// In memory, for unit tests (expiry honoured).
std::unique_ptr<SeenStore> NewInMemorySeenStore();

// One thing polled.
class Monitor {
 public:
  virtual ~Monitor() = default;
  // Unique among the monitors, e.g. "jenkins:<master>", "docker:<account>",
  // "git:<source>/<project>/<slug>": the name of its poll claim and logs.
  virtual std::string name() const = 0;
  // One poll: look, send events for what is new, remember it.
  virtual absl::Status Poll() = 0;
};

struct PollOptions {
  // Not positive: 60 s.
  std::chrono::milliseconds interval{60000};
  // Threads polling (monitors are spread over them round-robin, so a slow
  // monitor delays only those sharing its thread); at least 1.
  int threads = 2;
};

// Runs every monitor once per interval until Stop. Thread-safe. `store`
// (not owned) holds the poll claims and must outlive it; a monitor whose
// name repeats an earlier one's is dropped (logged). A Poll that throws
// counts as a failed poll (INTERNAL).
class PollScheduler {
 public:
  PollScheduler(std::vector<std::unique_ptr<Monitor>> monitors,
                SeenStore* store, PollOptions options);
  ~PollScheduler();
  // Starts the threads; every monitor is polled at once, then every
  // interval. Idempotent; no-op after Stop. Start and Stop may be called
  // from any threads at once (they are serialized).
  void Start();
  // Wakes and joins the threads (a poll in progress finishes first; the
  // monitors' own timeouts bound it). Idempotent; also run by the destructor.
  void Stop();
  // Polls `name` now (claim included), for tests and the first poll;
  // NOT_FOUND when unknown. Returns the poll's status (OK without polling
  // when another replica holds the claim). Polls of one monitor never run
  // at the same time; the scheduler's next poll of it moves to an interval
  // from now (or the backoff after a failure).
  absl::Status PollNow(const std::string& name);
  // Last poll outcome per monitor: "ok", or the error's text (for
  // health/logs). A monitor not polled yet is absent.
  std::map<std::string, std::string> LastResults() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_POLLING_H_
