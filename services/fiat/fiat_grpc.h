// The gRPC adapter of fiat: gennaker.fiat.v1.FiatService on top of FiatCore.
// Checks enum values, maps absl::Status to gRPC status once.
#ifndef GENNAKER_SERVICES_FIAT_FIAT_GRPC_H_
#define GENNAKER_SERVICES_FIAT_FIAT_GRPC_H_

#include <memory>

#include "gennaker/fiat/v1/fiat.grpc.pb.h"

namespace gennaker::fiat {

class FiatCore;

std::unique_ptr<v1::FiatService::Service> NewFiatGrpcService(FiatCore* core);

}  // namespace gennaker::fiat

#endif  // GENNAKER_SERVICES_FIAT_FIAT_GRPC_H_
