// The gRPC adapter of kayenta: gennaker.kayenta.v1.KayentaService on top of
// KayentaCore. Converts messages to and from Spinnaker's JSON and maps
// absl::Status to gRPC status once.
#ifndef GENNAKER_SERVICES_KAYENTA_KAYENTA_GRPC_H_
#define GENNAKER_SERVICES_KAYENTA_KAYENTA_GRPC_H_

#include <memory>

#include "gennaker/kayenta/v1/kayenta.grpc.pb.h"

namespace gennaker::kayenta {

class KayentaCore;

std::unique_ptr<v1::KayentaService::Service> NewKayentaGrpcService(
    KayentaCore* core);

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_KAYENTA_GRPC_H_
