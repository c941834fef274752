// Store on PostgreSQL (tables in deploy/sql/orca/). Several orca
// instances may share the database: a claim locks the message row and its
// execution row with FOR UPDATE ... SKIP LOCKED, so each message and each
// execution has one holder at a time and instances share the work. The
// transaction's locks are the lease: if the holder dies, PostgreSQL ends the
// transaction and the message is claimable again; a holder cut off from the
// database loses it after `lease_seconds` (idle_in_transaction timeout).
// Before a claimed message is handed out, its handling is counted in the
// queue row (column `handling`, 003_handling.sql) in a transaction of its
// own, so the count survives the holder dying: Work::crashes() is how many
// earlier handlings never ended. A commit deletes the row; Retry takes the
// count back.
// Every commit that pushes messages NOTIFYs kQueueChannel.
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_PG_STORE_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_PG_STORE_H_

#include "common/pg/pg.h"
#include "services/orca/engine/store.h"

namespace gennaker::orca {

inline constexpr char kQueueChannel[] = "orca_queue";

class PgStore : public Store {
 public:
  PgStore(pg::Pool* pool, const Clock* clock, int lease_seconds = 60)
      : pool_(pool), clock_(clock), lease_seconds_(lease_seconds) {}

  absl::StatusOr<std::string> Create(
      const Json& execution, const std::string& correlation_id,
      const std::vector<Outgoing>& messages) override;
  absl::StatusOr<Json> Get(const std::string& id) override;
  absl::StatusOr<std::vector<Json>> List(const ExecutionQuery& query) override;
  absl::Status Push(const std::vector<Outgoing>& messages) override;
  absl::Status Delete(const std::string& id) override;
  absl::StatusOr<std::unique_ptr<Work>> Claim(int64_t now_ms) override;
  absl::StatusOr<std::unique_ptr<Work>> Lock(const std::string& id) override;
  absl::StatusOr<int> Retry(const Message& message, int64_t now_ms,
                            int64_t base_delay_ms) override;
  absl::Status DeadLetter(const Message& message,
                          const std::string& error) override;
  absl::StatusOr<std::optional<int64_t>> NextDelivery() override;
  absl::StatusOr<int> Purge(int64_t before_ms, int keep_per_config) override;

  // Pipeline configs with waiting executions and none running (a lost
  // start-waiting message must not strand them).
  absl::StatusOr<std::vector<std::string>> StrandedConfigs();
  // Queue rows (for tests and benchmarks).
  absl::StatusOr<int64_t> QueueDepth();

 private:
  class PgWork;
  pg::Pool* pool_;
  const Clock* clock_;
  int lease_seconds_;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_PG_STORE_H_
