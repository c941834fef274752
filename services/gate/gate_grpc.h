// gate's gRPC API (gennaker.gate.v1.GateService): version, the caller's
// identity, applications (front50) and executions (orca). Calls the shared
// backends gate was wired with.
//
// Security: each call but GetVersion is authenticated like a REST request,
// from its metadata (authorization, cookie and x-spinnaker-user, the last
// only from a trusted peer address): UNAUTHENTICATED when security is on and
// the call has no identity. The identity becomes the call context's user
// (what backends see as x-spinnaker-user) and is authorized as the REST
// routes are: ListApplications keeps what the caller may READ,
// GetApplication needs READ, TriggerPipeline EXECUTE, GetExecution READ on
// the execution's application (PERMISSION_DENIED naming what is missing).
// With security off the caller is the call context's user ("anonymous" when
// there is none).
#ifndef GENNAKER_SERVICES_GATE_GATE_GRPC_H_
#define GENNAKER_SERVICES_GATE_GATE_GRPC_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/log/call_context.h"
#include "gennaker/gate/v1/gate.grpc.pb.h"
#include "services/gate/gate_auth.h"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {

class GateGrpcService final : public v1::GateService::Service {
 public:
  // `version` is what GetVersion answers; `authenticator` null or disabled
  // means security is off.
  GateGrpcService(std::string version, std::shared_ptr<const Backends> backends,
                  std::shared_ptr<Authenticator> authenticator);

  grpc::Status ListApplications(
      grpc::ServerContext* ctx, const v1::ListApplicationsRequest*,
      v1::ListApplicationsResponse* response) override;
  grpc::Status GetApplication(grpc::ServerContext* ctx,
                              const v1::GetApplicationRequest* request,
                              v1::GetApplicationResponse* response) override;
  // Starts a stored pipeline by name or config id, like REST POST
  // /pipelines/{app}/{pipelineNameOrId}.
  grpc::Status TriggerPipeline(grpc::ServerContext* ctx,
                               const v1::TriggerPipelineRequest* request,
                               v1::TriggerPipelineResponse* response) override;
  grpc::Status GetExecution(grpc::ServerContext* ctx,
                            const v1::GetExecutionRequest* request,
                            v1::GetExecutionResponse* response) override;
  grpc::Status GetVersion(grpc::ServerContext*, const v1::GetVersionRequest*,
                          v1::GetVersionResponse* response) override;
  grpc::Status GetCurrentUser(grpc::ServerContext* ctx,
                              const v1::GetCurrentUserRequest*,
                              v1::GetCurrentUserResponse* response) override;

  // The identity of a call from its metadata (see above); null
  // authenticator: the call context's user.
  absl::StatusOr<Identity> Authenticate(const grpc::ServerContext& ctx);

 private:
  bool secured() const {
    return authenticator_ != nullptr && authenticator_->enabled();
  }
  // Authenticates the call and, with security on, installs its identity in
  // `scope` for the rest of the handler.
  absl::StatusOr<Identity> Enter(const grpc::ServerContext& ctx,
                                 std::optional<ScopedCallContext>* scope);

  std::string version_;
  std::shared_ptr<const Backends> backends_;
  std::shared_ptr<Authenticator> authenticator_;
};

// The http::Request that carries a gRPC call's credentials: the
// authorization, cookie and x-spinnaker-user metadata as headers and the
// peer's address ("ipv4:1.2.3.4:5" -> "1.2.3.4", "ipv6:[::1]:5" -> "::1").
http::Request RequestFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const std::string& peer);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_GRPC_H_
