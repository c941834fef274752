// The igor binary. Its RPCs answer UNIMPLEMENTED until they are built; it
// already runs as a finished service does, on Redis.
#include "common/service/unimplemented_service.h"
#include "gennaker/igor/v1/config.pb.h"
#include "gennaker/igor/v1/igor.grpc.pb.h"

int main(int argc, char** argv) {
  namespace v1 = gennaker::igor::v1;
  return gennaker::UnimplementedServiceMain<v1::IgorConfig,
                                            v1::IgorService::Service>(
      argc, argv, "igor", "igor CI integration: not built yet");
}
