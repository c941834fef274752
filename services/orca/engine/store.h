// Where executions and the message queue live. A state change and the
// messages it causes are committed together (Work::Commit), so a crash can
// never leave a new state without its follow-up messages or vice versa.
//
// Delivery is at-least-once: a claimed message is locked together with its
// execution for the length of one transaction (that lock is the message's
// lease). If the holder dies, the transaction rolls back, both locks are
// released and the message is delivered again. Handlers are therefore
// idempotent: they check the current state first.
//
// Implementations: PgStore (PostgreSQL, several orca instances may share one
// database) and MemoryStore (unit tests).
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_STORE_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/orca/engine/model.h"

namespace gennaker::orca {

// Filters of ListExecutions; empty fields match everything.
struct ExecutionQuery {
  std::string application;
  std::string type;  // PIPELINE / ORCHESTRATION
  std::vector<std::string> config_ids;
  std::vector<std::string> execution_ids;
  std::vector<std::string> statuses;
  int limit = 0;  // 0: no limit
  // With config_ids: the limit applies to each config (Spinnaker's
  // /executions?pipelineConfigIds=a,b&limit=N gives N per pipeline).
  bool limit_per_config = false;
  int offset = 0;  // skipped first (not with limit_per_config)
};

// One transaction holding one execution's lock.
class Work {
 public:
  virtual ~Work() = default;
  // The claimed message (Claim) or an empty message (Update).
  virtual const Message& message() const = 0;
  // When the claimed message was due (epoch ms); 0 for Lock().
  virtual int64_t deliver_at_ms() const = 0;
  // Earlier handlings of the claimed message that never ended: the process
  // died (or lost its lease) while handling it. Stores that cannot outlive
  // their process report 0.
  virtual int crashes() const { return 0; }
  // The locked execution document, mutated by the caller.
  virtual Json& execution() = 0;
  // Creates another execution (a child pipeline) in this transaction.
  // With a correlation id already used, returns that execution's id instead.
  virtual absl::StatusOr<std::string> CreateExecution(
      const Json& execution, const std::string& correlation_id,
      const std::vector<Outgoing>& messages) = 0;
  // Serializes start decisions per pipeline config (held to commit) and
  // counts the config's other RUNNING or PAUSED executions.
  virtual absl::StatusOr<int> LockConfigCountRunning(
      const std::string& config_id) = 0;
  // Ids of the config's executions waiting to start, oldest first.
  virtual absl::StatusOr<std::vector<std::string>> Waiting(
      const std::string& config_id) = 0;
  // Reads another execution (not locked).
  virtual absl::StatusOr<Json> Read(const std::string& id) = 0;
  // Saves the execution, acknowledges the claimed message and pushes
  // `messages`, atomically. The Work is finished afterwards.
  virtual absl::Status Commit(const std::vector<Outgoing>& messages) = 0;
  // Keeps a record of the claimed message as dead-lettered, in this
  // transaction: Commit then drops it from the queue with the rest. Done
  // under the claim so that no other worker claims the message in between.
  virtual absl::Status DeadLetterClaimed(const std::string& error) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts a new execution with its first messages. With a non-empty
  // correlation id already known, inserts nothing and returns the existing
  // execution's id; ALREADY_EXISTS when the execution id is taken.
  virtual absl::StatusOr<std::string> Create(
      const Json& execution, const std::string& correlation_id,
      const std::vector<Outgoing>& messages) = 0;
  virtual absl::StatusOr<Json> Get(const std::string& id) = 0;
  // Newest (by buildTime) first.
  virtual absl::StatusOr<std::vector<Json>> List(
      const ExecutionQuery& query) = 0;
  // Pushes messages outside any handler (maintenance).
  virtual absl::Status Push(const std::vector<Outgoing>& messages) = 0;
  // Deletes an execution and its queued messages; NOT_FOUND when absent.
  virtual absl::Status Delete(const std::string& id) = 0;

  // Claims the oldest due message whose execution is not locked by someone
  // else, with that execution locked. nullptr when nothing is due. A store
  // that survives its process counts the handling durably before returning
  // it (see Work::crashes); Retry and a committed Work end the handling.
  virtual absl::StatusOr<std::unique_ptr<Work>> Claim(int64_t now_ms) = 0;
  // Locks `id` (waiting for other holders) for an API-driven change.
  virtual absl::StatusOr<std::unique_ptr<Work>> Lock(const std::string& id) = 0;
  // After a handler failed: counts the attempt and delays the message by
  // base_delay_ms * 2^(attempts-1) (capped); returns the attempt count.
  virtual absl::StatusOr<int> Retry(const Message& message, int64_t now_ms,
                                    int64_t base_delay_ms) = 0;
  // Drops a message for good (after too many attempts), keeping a record.
  virtual absl::Status DeadLetter(const Message& message,
                                  const std::string& error) = 0;
  // Delivery time of the earliest queued message, if any.
  virtual absl::StatusOr<std::optional<int64_t>> NextDelivery() = 0;
  // Deletes finished executions built before `before_ms`, and those beyond
  // the newest `keep_per_config` of each pipeline config. Returns the count.
  virtual absl::StatusOr<int> Purge(int64_t before_ms, int keep_per_config) = 0;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_STORE_H_
