// The gRPC adapter of igor: gennaker.igor.v1.IgorService on top of IgorCore.
// Pages lists (offset tokens) and maps absl::Status to gRPC status once.
#ifndef GENNAKER_SERVICES_IGOR_IGOR_GRPC_H_
#define GENNAKER_SERVICES_IGOR_IGOR_GRPC_H_

#include <memory>

#include "gennaker/igor/v1/igor.grpc.pb.h"

namespace gennaker::igor {

class IgorCore;

std::unique_ptr<v1::IgorService::Service> NewIgorGrpcService(IgorCore* core);

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_IGOR_GRPC_H_
