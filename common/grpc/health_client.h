// Client of the standard gRPC health protocol: "is the server at this address
// SERVING?".
#ifndef GENNAKER_COMMON_GRPC_HEALTH_CLIENT_H_
#define GENNAKER_COMMON_GRPC_HEALTH_CLIENT_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace gennaker {

// True when the server answers SERVING, false when it answers anything else; an
// error when it cannot be reached within `timeout`.
absl::StatusOr<bool> CheckServing(const std::string& address,
                                  std::chrono::milliseconds timeout);

}  // namespace gennaker

#endif  // GENNAKER_COMMON_GRPC_HEALTH_CLIENT_H_
