// Client channels to other Gennaker services: insecure (loopback / mesh), with
// the call-context interceptor so identity and request id travel on every call,
// and a helper for per-call deadlines.
#ifndef GENNAKER_COMMON_GRPC_CHANNEL_H_
#define GENNAKER_COMMON_GRPC_CHANNEL_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <string>

namespace gennaker {

// The largest message a channel sends or receives unless told otherwise: the
// services' default (services.<name>.maxMessageBytes, server.maxMessageBytes),
// not gRPC's 4 MiB, so a body gate accepts fits every hop behind it.
inline constexpr int kDefaultMaxMessageBytes = 64 << 20;

// A channel to `address` (host:port). Connection is lazy; failures surface on
// calls.
std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& address,
    int max_message_bytes = kDefaultMaxMessageBytes);

// A ClientContext whose deadline is `deadline` from now.
std::unique_ptr<grpc::ClientContext> MakeClientContext(
    std::chrono::milliseconds deadline);

}  // namespace gennaker

#endif  // GENNAKER_COMMON_GRPC_CHANNEL_H_
