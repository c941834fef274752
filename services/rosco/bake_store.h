// Where rosco keeps its bakes, so that they outlive the process: per status id
// the status, the (normalized) request, the bake key, the image name, the
// attempt count, the logs and the finished Bake; the indexes bake key ->
// status, bake id / image id -> status, idempotency key -> first answer; the
// set of incomplete bakes per rosco instance; and short locks. Redis in
// production (reference 6.2's shapes under a prefix), in memory for tests.
//
// Redis layout (prefix P, default "rosco"):
//   P:bake:<statusId>             hash bakeStatus, bakeRequest (proto JSON),
//                                 bakeKey, imageName, attempts, bakeDetails
//   P:logs:<statusId>             string, appended
//   P:bakeKey:<bakeKey>           status id remembered for the key
//   P:bakeId:<bakeId>             status id of a finished bake
//   P:image:<imageId>             status id of the latest bake of an image
//   P:idempotency:<key>           first answer ("<statusId> <reused 0|1>")
//   P:allBakes                    set of status ids
//   P:allBakes:incomplete:<name>  set of status ids a rosco instance owns
//   P:lock:<name>                 SET NX PX lock
#ifndef GENNAKER_SERVICES_ROSCO_BAKE_STORE_H_
#define GENNAKER_SERVICES_ROSCO_BAKE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gennaker/rosco/v1/rosco.pb.h"

namespace gennaker::redis {
class Client;
}

namespace gennaker::rosco {

// One bake as stored.
struct BakeRecord {
  v1::BakeStatus status;
  // The request with defaults filled in (provider, region, base_os).
  v1::CreateBakeRequest request;
  std::string image_name;        // chosen at creation, kept across re-runs
  int attempts = 0;              // packer runs started
  std::optional<v1::Bake> bake;  // once COMPLETED+SUCCESS
};

class BakeStore {
 public:
  virtual ~BakeStore() = default;

  // Writes the whole record (status, request, key, image name, attempts).
  virtual absl::Status PutRecord(const BakeRecord& record) = 0;
  virtual absl::Status PutStatus(const v1::BakeStatus& status) = 0;
  virtual absl::Status PutAttempts(const std::string& status_id,
                                   int attempts) = 0;
  // nullopt when unknown.
  virtual absl::StatusOr<std::optional<BakeRecord>> GetRecord(
      const std::string& status_id) = 0;

  virtual absl::Status AppendLogs(const std::string& status_id,
                                  const std::string& text) = 0;
  virtual absl::StatusOr<std::string> GetLogs(const std::string& status_id) = 0;

  // Stores the finished bake in the status's record and indexes its bake id
  // and `image_ids`.
  virtual absl::Status PutBake(const std::string& status_id,
                               const v1::Bake& bake,
                               const std::vector<std::string>& image_ids) = 0;
  // Status id of a bake id / image id; "" when unknown.
  virtual absl::StatusOr<std::string> StatusIdForBake(
      const std::string& bake_id) = 0;
  virtual absl::StatusOr<std::string> StatusIdForImage(
      const std::string& image_id) = 0;

  // The status remembered for a bake key ("" when none).
  virtual absl::StatusOr<std::string> StatusIdForKey(
      const std::string& bake_key) = 0;
  virtual absl::Status SetKey(const std::string& bake_key,
                              const std::string& status_id) = 0;
  virtual absl::Status DeleteKey(const std::string& bake_key) = 0;

  // The answer stored for an idempotency key, or "" (then `value` is stored
  // when `value` is not empty).
  virtual absl::StatusOr<std::string> GetIdempotency(
      const std::string& key) = 0;
  virtual absl::Status PutIdempotency(const std::string& key,
                                      const std::string& value) = 0;

  virtual absl::Status AddIncomplete(const std::string& instance,
                                     const std::string& status_id) = 0;
  virtual absl::Status RemoveIncomplete(const std::string& instance,
                                        const std::string& status_id) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListIncomplete(
      const std::string& instance) = 0;

  // A lock with a TTL; false when someone else holds it.
  virtual absl::StatusOr<bool> TryLock(const std::string& name,
                                       const std::string& owner,
                                       int64_t ttl_ms) = 0;
  virtual absl::Status Unlock(const std::string& name,
                              const std::string& owner) = 0;
};

std::unique_ptr<BakeStore> NewRedisBakeStore(redis::Client* client,
                                             std::string prefix = "rosco");
std::unique_ptr<BakeStore> NewInMemoryBakeStore();

}  // namespace gennaker::rosco

#endif  // GENNAKER_SERVICES_ROSCO_BAKE_STORE_H_
