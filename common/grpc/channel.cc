#include "common/grpc/channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <vector>

#include "common/grpc/interceptors.h"

namespace gennaker {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           int max_message_bytes) {
  grpc::ChannelArguments args;
  if (max_message_bytes > 0) {
    args.SetMaxReceiveMessageSize(max_message_bytes);
    args.SetMaxSendMessageSize(max_message_bytes);
  }
  // Fail fast with a short reconnect backoff: callers retry with their own
  // policy.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // A DNS query that gets no answer fails after 5 s (then the name is looked
  // up again) instead of c-ares's 120 s, during which every call on the
  // channel waits out its deadline.
  args.SetInt(GRPC_ARG_DNS_ARES_QUERY_TIMEOUT_MS, 5000);
  // Notice dead peers under long-lived streams (e.g. front50's WatchChanges)
  // within a minute.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      f;
  f.push_back(std::make_unique<CallContextClientInterceptorFactory>());
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, grpc::InsecureChannelCredentials(), args, std::move(f));
}

std::unique_ptr<grpc::ClientContext> MakeClientContext(
    std::chrono::milliseconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

}  // namespace gennaker
