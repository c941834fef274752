// The one mapping between absl::Status and grpc::Status. The canonical codes
// are identical; only the types differ. Adapters call ToGrpcStatus once at the
// RPC boundary.
#ifndef GENNAKER_COMMON_STATUS_GRPC_STATUS_H_
#define GENNAKER_COMMON_STATUS_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace gennaker {

// absl -> grpc, keeping code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// grpc -> absl, keeping code and message (for results of outgoing calls).
absl::Status FromGrpcStatus(const grpc::Status& status);

// The HTTP status Spinnaker clients expect for a canonical code (404 for
// NOT_FOUND, ...).
int HttpStatusFromCode(absl::StatusCode code);

}  // namespace gennaker

#endif  // GENNAKER_COMMON_STATUS_GRPC_STATUS_H_
