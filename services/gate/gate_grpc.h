// gate's gRPC API (gennaker.gate.v1.GateService): version, the caller's
// identity, applications (front50) and executions (orca). Calls the shared
// backends gate was wired with; the caller's identity comes from the call
// context ("anonymous" when there is none).
#ifndef GENNAKER_SERVICES_GATE_GATE_GRPC_H_
#define GENNAKER_SERVICES_GATE_GATE_GRPC_H_

#include <memory>
#include <string>

#include "gennaker/gate/v1/gate.grpc.pb.h"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {

class GateGrpcService final : public v1::GateService::Service {
 public:
  // `version` is what GetVersion answers.
  GateGrpcService(std::string version,
                  std::shared_ptr<const Backends> backends);

  grpc::Status ListApplications(
      grpc::ServerContext*, const v1::ListApplicationsRequest*,
      v1::ListApplicationsResponse* response) override;
  grpc::Status GetApplication(grpc::ServerContext*,
                              const v1::GetApplicationRequest* request,
                              v1::GetApplicationResponse* response) override;
  // Starts a stored pipeline by name or config id, like REST POST
  // /pipelines/{app}/{pipelineNameOrId}.
  grpc::Status TriggerPipeline(grpc::ServerContext*,
                               const v1::TriggerPipelineRequest* request,
                               v1::TriggerPipelineResponse* response) override;
  grpc::Status GetExecution(grpc::ServerContext*,
                            const v1::GetExecutionRequest* request,
                            v1::GetExecutionResponse* response) override;
  grpc::Status GetVersion(grpc::ServerContext*, const v1::GetVersionRequest*,
                          v1::GetVersionResponse* response) override;
  grpc::Status GetCurrentUser(grpc::ServerContext*,
                              const v1::GetCurrentUserRequest*,
                              v1::GetCurrentUserResponse* response) override;

 private:
  std::string version_;
  std::shared_ptr<const Backends> backends_;
};

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_GRPC_H_
