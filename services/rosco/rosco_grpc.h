// The gRPC adapter of rosco: gennaker.rosco.v1.RoscoService on top of
// RoscoCore. Checks enum values, takes the caller from x-spinnaker-user, maps
// absl::Status to gRPC status once. BakeManifest (Helm/Kustomize) is not built
// and answers UNIMPLEMENTED.
#ifndef GENNAKER_SERVICES_ROSCO_ROSCO_GRPC_H_
#define GENNAKER_SERVICES_ROSCO_ROSCO_GRPC_H_

#include <memory>

#include "gennaker/rosco/v1/rosco.grpc.pb.h"

namespace gennaker::rosco {

class RoscoCore;

std::unique_ptr<v1::RoscoService::Service> NewRoscoGrpcService(RoscoCore* core);

}  // namespace gennaker::rosco

#endif  // GENNAKER_SERVICES_ROSCO_ROSCO_GRPC_H_
