// How gate's REST handlers reach a backend service: its gRPC stub with the
// per-call deadline, and the one mapping of a failed call (absl or gRPC
// status) to gate's HTTP error answer {timestamp, status, error, message,
// path}.
#ifndef GENNAKER_SERVICES_GATE_GATE_BACKEND_H_
#define GENNAKER_SERVICES_GATE_GATE_BACKEND_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>

#include "absl/status/status.h"
#include "common/grpc/channel.h"
#include "common/http/http.h"
#include "common/status/grpc_status.h"

namespace gennaker::gate {

template <typename Stub>
struct Backend {
  std::shared_ptr<Stub> stub;
  std::chrono::milliseconds deadline;

  std::unique_ptr<grpc::ClientContext> Context() const {
    return MakeClientContext(deadline);
  }
};

inline http::Response ErrorResponse(const absl::Status& status,
                                    const http::Request& request) {
  return http::ErrorFromStatus(status, request.path);
}

inline http::Response ErrorResponse(const grpc::Status& status,
                                    const http::Request& request) {
  return ErrorResponse(FromGrpcStatus(status), request);
}

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_BACKEND_H_
