// The gRPC adapter of front50: gennaker.front50.v1.Front50Service on top of
// Front50Core. Converts messages, takes the acting user from the call context,
// and maps absl::Status to gRPC status once.
#ifndef GENNAKER_SERVICES_FRONT50_FRONT50_GRPC_H_
#define GENNAKER_SERVICES_FRONT50_FRONT50_GRPC_H_

#include <atomic>
#include <memory>

#include "gennaker/front50/v1/front50.grpc.pb.h"

namespace gennaker::front50 {

class Front50Core;

// `stopping` (owned by the caller) ends WatchChanges streams promptly when set
// at shutdown. `max_send_bytes` (server.maxMessageBytes; 0: no cap) bounds
// the pages of pipeline lists whatever budget a caller asks for.
std::unique_ptr<v1::Front50Service::Service> NewFront50GrpcService(
    Front50Core* core, const std::atomic<bool>* stopping,
    int64_t max_send_bytes = 0);

}  // namespace gennaker::front50

#endif  // GENNAKER_SERVICES_FRONT50_FRONT50_GRPC_H_
