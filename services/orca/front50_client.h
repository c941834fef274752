// What orca needs from front50: pipeline configs (to start pipelines and
// child pipelines, #pipelineId) and application writes (orchestrations).
// Front50Grpc is the real client; tests use their own implementation.
#ifndef GENNAKER_SERVICES_ORCA_FRONT50_CLIENT_H_
#define GENNAKER_SERVICES_ORCA_FRONT50_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/orca/engine/model.h"

namespace grpc {
class Channel;
}

namespace gennaker::orca {

class Front50 {
 public:
  virtual ~Front50() = default;
  // The pipeline config by id; NOT_FOUND when unknown.
  virtual absl::StatusOr<Json> PipelineById(const std::string& id) = 0;
  // The pipeline config by application and name (case-insensitive).
  virtual absl::StatusOr<Json> PipelineByName(const std::string& application,
                                              const std::string& name) = 0;
  // Whether front50 has the application (case-insensitive).
  virtual absl::StatusOr<bool> ApplicationExists(const std::string& name) = 0;
  // Creates the application, or merges `attributes` into an existing one.
  virtual absl::Status UpsertApplication(const Json& attributes) = 0;
  // Stores the application's permissions ({READ:[roles], WRITE:[..],
  // EXECUTE:[..]}) apart from its attributes, where fiat reads them
  // (naturally idempotent: replaces).
  virtual absl::Status PutApplicationPermissions(const std::string& name,
                                                 const Json& permissions) = 0;
  // Replaces an existing application's attributes; NOT_FOUND when absent.
  virtual absl::Status UpdateApplication(const Json& attributes) = 0;
  // Deletes the application (and what front50 cascades); OK when absent.
  virtual absl::Status DeleteApplication(const std::string& name) = 0;
  // Creates or replaces a project (its `id` selects the one to replace).
  virtual absl::Status UpsertProject(const Json& project) = 0;
  // Deletes the project with that id or name; OK when absent.
  virtual absl::Status DeleteProject(const std::string& id_or_name) = 0;
  // The body of a v2 pipeline template: by id and tag ("" = the untagged
  // save) or by digest; NOT_FOUND when front50 has none.
  virtual absl::StatusOr<Json> PipelineTemplate(const std::string& id,
                                                const std::string& tag,
                                                const std::string& digest) {
    (void)id, (void)tag, (void)digest;
    return absl::UnimplementedError("this front50 client has no templates");
  }
};

std::unique_ptr<Front50> NewFront50Grpc(std::shared_ptr<grpc::Channel> channel);

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_FRONT50_CLIENT_H_
