// gRPC interceptors shared by every service.
//
// Server side (CallContextServerInterceptorFactory): reads `x-request-id` (or
// makes one) and `x-spinnaker-user` from the call's metadata and installs them
// as the handler thread's CallContext; records request count and latency in
// Metrics; gives UNIMPLEMENTED replies a message that names the issue area
// where the RPC will be built. Client side
// (CallContextClientInterceptorFactory): copies the current CallContext into
// every outgoing call's metadata, so identity and request id cross every hop.
#ifndef GENNAKER_COMMON_GRPC_INTERCEPTORS_H_
#define GENNAKER_COMMON_GRPC_INTERCEPTORS_H_

#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

#include <string>

namespace gennaker {

class Metrics;

class CallContextServerInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `metrics` may be null. `unimplemented_area` completes "not implemented yet:
  // <area>".
  CallContextServerInterceptorFactory(Metrics* metrics,
                                      std::string unimplemented_area);
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  Metrics* metrics_;
  std::string unimplemented_area_;
};

class CallContextClientInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override;
};

}  // namespace gennaker

#endif  // GENNAKER_COMMON_GRPC_INTERCEPTORS_H_
