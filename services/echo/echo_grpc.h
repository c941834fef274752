// The gRPC adapter of echo: gennaker.echo.v1.EchoService on top of EchoCore.
// Converts messages to and from Spinnaker's event JSON and maps absl::Status
// to gRPC status once. HandleNotificationCallback (interactive Slack
// callbacks) answers UNIMPLEMENTED.
#ifndef GENNAKER_SERVICES_ECHO_ECHO_GRPC_H_
#define GENNAKER_SERVICES_ECHO_ECHO_GRPC_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/spinnaker/json.h"
#include "gennaker/echo/v1/echo.grpc.pb.h"

namespace gennaker::echo {

class EchoCore;

// The event JSON (Spinnaker's {eventId, details, content, payload,
// rawContent}) of a proto Event: typed fields win over details; artifacts go
// to content.artifacts. INVALID_ARGUMENT when a JSON field does not parse.
absl::StatusOr<spinnaker::Json> EventJsonFromProto(const v1::Event& event);
// And back.
v1::Event EventProtoFromJson(const spinnaker::Json& event);

std::unique_ptr<v1::EchoService::Service> NewEchoGrpcService(EchoCore* core);

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_ECHO_GRPC_H_
