// The gRPC adapter of clouddriver: ClouddriverService's RPCs mapped onto the
// read model (cache), the operation tasks and the caching agent. Statuses are
// mapped once, at this boundary; every message carries Spinnaker's JSON
// rendering in its `json` field beside the typed fields.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_CLOUDDRIVER_GRPC_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_CLOUDDRIVER_GRPC_H_

#include <memory>

#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"

namespace gennaker::clouddriver {

class Reads;
class Operations;
class CachingAgent;
class AccountOwnership;
class ImageSearch;

// `images` may be null: FindImages then finds nothing. With `ownership`,
// operations and cache refreshes of an account another replica serves are
// forwarded to it (the other replica runs them and answers).
std::unique_ptr<v1::ClouddriverService::Service> NewClouddriverGrpc(
    Reads* reads, Operations* operations, CachingAgent* agent,
    ImageSearch* images = nullptr, AccountOwnership* ownership = nullptr);

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_CLOUDDRIVER_GRPC_H_
