// The rosco binary. Its RPCs answer UNIMPLEMENTED until they are built; it
// already runs as a finished service does, on Redis.
#include "common/service/unimplemented_service.h"
#include "gennaker/rosco/v1/config.pb.h"
#include "gennaker/rosco/v1/rosco.grpc.pb.h"

int main(int argc, char** argv) {
  namespace v1 = gennaker::rosco::v1;
  return gennaker::UnimplementedServiceMain<v1::RoscoConfig,
                                            v1::RoscoService::Service>(
      argc, argv, "rosco", "rosco bakery: not built yet");
}
