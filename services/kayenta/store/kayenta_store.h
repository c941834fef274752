// Storage of kayenta's records behind one small interface. Four kinds share
// one shape: canary configs, canary executions, standalone analyses and
// metric set pair lists, each a JSON body plus the columns kayenta queries on
// (application(s), name, status), an optional client idempotency key, stamps
// and a version that grows by one on every write. Implementations: PostgreSQL
// (production, schema `kayenta`) and an in-memory fake (unit tests); both are
// thread-safe and give the same answers.
#ifndef GENNAKER_SERVICES_KAYENTA_STORE_KAYENTA_STORE_H_
#define GENNAKER_SERVICES_KAYENTA_STORE_KAYENTA_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gennaker::kayenta {

enum class Kind { kConfig, kExecution, kAnalysis, kPairList };

// "canary config", ... (used in messages).
absl::string_view KindLabel(Kind kind);

struct Record {
  std::string id;
  std::string application;                // executions and analyses
  std::string name;                       // configs
  std::vector<std::string> applications;  // configs
  std::string status;                     // executions and analyses
  std::string idempotency_key;            // "" = none
  std::string body;                       // JSON text
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t version = 0;
};

struct UpdateOptions {
  // ABORTED unless the stored version equals it (read-modify-write).
  std::optional<int64_t> expected_version;
  // ABORTED unless the stored updated_ms equals it (the stale check).
  std::optional<int64_t> expected_updated_ms;
};

struct ListQuery {
  // Executions/analyses: only this application ("" = any).
  std::string application;
  // Configs: only those sharing one of these applications (empty = all).
  std::vector<std::string> applications;
  // Only these statuses (empty = all).
  std::vector<std::string> statuses;
  // Paging over the newest-first order; limit 0 = no limit.
  int limit = 0;
  int64_t offset = 0;
  // False leaves body empty (lists).
  bool with_body = true;
};

class KayentaStore {
 public:
  virtual ~KayentaStore() = default;

  // Stores a new record (version 1) and returns its id. With an idempotency
  // key already used by a record of this kind, stores nothing and returns that
  // record's id. ALREADY_EXISTS when the id is taken or, for configs, when a
  // config of the same name shares an application.
  virtual absl::StatusOr<std::string> Insert(Kind kind,
                                             const Record& record) = 0;

  // NOT_FOUND when absent.
  virtual absl::StatusOr<Record> Get(Kind kind, absl::string_view id) = 0;

  // Replaces name, applications, status, body and updated_ms of record.id
  // (version + 1) and returns the stored record. NOT_FOUND when absent;
  // ABORTED when an expectation of `options` fails; ALREADY_EXISTS for a
  // config name taken in a shared application.
  virtual absl::StatusOr<Record> Update(Kind kind, const Record& record,
                                        const UpdateOptions& options) = 0;

  // True when the record existed.
  virtual absl::StatusOr<bool> Delete(Kind kind, absl::string_view id) = 0;

  // Matching records, newest first (created_ms, then id, descending).
  virtual absl::StatusOr<std::vector<Record>> List(Kind kind,
                                                   const ListQuery& query) = 0;
};

// Whether two application lists share an entry.
bool SharesApplication(const std::vector<std::string>& a,
                       const std::vector<std::string>& b);

// The ALREADY_EXISTS error of a config name taken in a shared application.
absl::Status DuplicateConfigName(absl::string_view name);
// True for an error DuplicateConfigName made (its payload marks it), false
// for any other ALREADY_EXISTS (an id taken).
bool IsDuplicateConfigName(const absl::Status& status);

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_STORE_KAYENTA_STORE_H_
