// Wiring of the echo service: the one place where its config becomes running
// parts (PostgreSQL pool and migrations, store, notification senders with the
// outbound policy, clients of orca / front50 / igor, the core with its
// delivery, notification, refresh and scheduler threads, LISTEN for prompt
// wake-ups, front50's change stream, and the gRPC adapter).
#ifndef GENNAKER_SERVICES_ECHO_ECHO_SERVER_H_
#define GENNAKER_SERVICES_ECHO_ECHO_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service/service_main.h"
#include "gennaker/echo/v1/config.pb.h"

namespace gennaker::echo {

inline constexpr char kUnimplementedArea[] = "echo";
inline constexpr int kDefaultWorkerThreads = 2;
inline constexpr int kDefaultClaimSeconds = 60;
inline constexpr int kDefaultMaxAttempts = 5;
inline constexpr int kDefaultRetentionDays = 7;
inline constexpr int kDefaultPipelinePollMs = 30000;
inline constexpr int kDefaultMaxWebhookBytes = 1 << 20;
inline constexpr char kDefaultTimeZone[] = "America/Los_Angeles";
inline constexpr int kDefaultMisfireThresholdMs = 60000;
inline constexpr int kDefaultNotificationAttempts = 5;

// Echo's own defaults (events, scheduler, notification attempts).
void ApplyEchoDefaults(v1::EchoConfig* config);

// Checks what the shared validation cannot know: the scheduler's time zone,
// the enabled notification channels' settings (BuildSenders), orca and
// front50 addresses.
absl::Status ValidateConfig(const v1::EchoConfig& config);

// Connects to postgres and builds the service. Fails when the store is
// unreachable.
absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildEcho(
    const v1::EchoConfig& config, Metrics* metrics);

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_ECHO_SERVER_H_
