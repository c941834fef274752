// Wiring of the igor service: the one place where its config becomes running
// parts: the Redis SeenStore, the outbound policy, one BuildService per
// Jenkins/Travis master, the core and its gRPC adapter, the EventSink to
// echo, and the PollScheduler running a build monitor per master, a docker
// monitor per registry account and a git monitor per repository.
#ifndef GENNAKER_SERVICES_IGOR_IGOR_SERVER_H_
#define GENNAKER_SERVICES_IGOR_IGOR_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/common/v1/config.pb.h"
#include "gennaker/igor/v1/config.pb.h"
#include "services/igor/polling.h"

namespace gennaker::igor {

inline constexpr char kUnimplementedArea[] = "igor";
inline constexpr int kDefaultPollIntervalSeconds = 60;
inline constexpr char kDefaultRedisPrefix[] = "igor";
inline constexpr int kDefaultItemUpperThreshold = 1000;

// igor's own defaults: polling every 60 s, Redis prefix "igor".
void ApplyIgorDefaults(v1::IgorConfig* config);

// What the shared validation cannot know: master names unique across CI
// types, registry accounts unique, usable http(s) URLs, an outbound policy
// that compiles.
absl::Status ValidateConfig(const v1::IgorConfig& config);

// echo's PostEvent over gRPC (`echo.address`); with no address, events are
// logged and dropped with a warning.
std::unique_ptr<EventSink> NewEchoEventSink(
    const common::v1::EndpointConfig& echo);

// Connects to Redis and builds the service. Fails when Redis is unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildIgor(
    const v1::IgorConfig& config, Metrics* metrics);

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_IGOR_SERVER_H_
