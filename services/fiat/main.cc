// The fiat binary. Its RPCs answer UNIMPLEMENTED until they are built; it
// already runs as a finished service does, on Redis.
#include "common/service/unimplemented_service.h"
#include "gennaker/fiat/v1/config.pb.h"
#include "gennaker/fiat/v1/fiat.grpc.pb.h"

int main(int argc, char** argv) {
  namespace v1 = gennaker::fiat::v1;
  return gennaker::UnimplementedServiceMain<v1::FiatConfig,
                                            v1::FiatService::Service>(
      argc, argv, "fiat", "fiat authorization: not built yet");
}
