// How gate reaches the services it calls: one stub per backend (front50, orca,
// clouddriver, kayenta, echo, igor, rosco) with its per-call deadline, built
// once when gate is wired and shared by the REST routes and the gRPC API; and
// the one mapping of a failed call (absl or gRPC status) to gate's HTTP error
// answer {timestamp, status, error, message, path}.
#ifndef GENNAKER_SERVICES_GATE_GATE_BACKEND_H_
#define GENNAKER_SERVICES_GATE_GATE_BACKEND_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/grpc/channel.h"
#include "common/http/http.h"
#include "common/spinnaker/json.h"
#include "common/status/grpc_status.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gennaker/echo/v1/echo.grpc.pb.h"
#include "gennaker/fiat/v1/fiat.grpc.pb.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "gennaker/gate/v1/config.pb.h"
#include "gennaker/igor/v1/igor.grpc.pb.h"
#include "gennaker/kayenta/v1/kayenta.grpc.pb.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "gennaker/rosco/v1/rosco.grpc.pb.h"

namespace gennaker::fiat {
class Authorizer;
}

namespace gennaker::gate {

// The words every route file speaks.
using http::Request;
using http::Response;
using spinnaker::Json;

template <typename Stub>
struct Backend {
  std::shared_ptr<Stub> stub;
  std::chrono::milliseconds deadline{10000};
  // The largest message gate's channel to it sends or receives.
  int max_message_bytes = kDefaultMaxMessageBytes;

  // A context for one call, with this backend's deadline.
  std::unique_ptr<grpc::ClientContext> Context() const {
    return MakeClientContext(deadline);
  }

  // The largest page of a list gate can receive from it: the message limit
  // less room for the response's envelope.
  int MaxPageBytes() const {
    return max_message_bytes - std::min(max_message_bytes / 4, 64 << 10);
  }
};

using Front50 = Backend<front50::v1::Front50Service::StubInterface>;
using Orca = Backend<orca::v1::OrcaService::StubInterface>;
using Clouddriver = Backend<clouddriver::v1::ClouddriverService::StubInterface>;
using Kayenta = Backend<kayenta::v1::KayentaService::StubInterface>;
using Echo = Backend<echo::v1::EchoService::StubInterface>;
using Igor = Backend<igor::v1::IgorService::StubInterface>;
using Fiat = Backend<fiat::v1::FiatService::StubInterface>;
using Rosco = Backend<rosco::v1::RoscoService::StubInterface>;

// Every backend gate calls. A backend gate was not given (a null stub) must
// not be called.
struct Backends {
  Front50 front50;
  Orca orca;
  Clouddriver clouddriver;
  // Optional: a null stub when services.kayenta.address is empty (the canary
  // routes then answer 503).
  Kayenta kayenta;
  // Optional: null when services.echo.address is empty (webhooks,
  // notification and cron routes then answer 503).
  Echo echo;
  // Optional: null when services.igor.address is empty (build and docker
  // image routes then answer 503).
  Igor igor;
  // Optional: null when services.fiat.address is empty.
  Fiat fiat;
  // Optional: null when services.rosco.address is empty (the bakery routes
  // then answer 503).
  Rosco rosco;
  // What callers may do: never null; a disabled one (allows everything) when
  // authorization is off. Shared by the REST routes and the gRPC API.
  std::shared_ptr<fiat::Authorizer> authorizer;
};

// Stubs over channels to the endpoints of `services` (address, deadline_ms,
// max_message_bytes; 0 is the default limit), with a disabled authorizer
// (gate_server.cc installs fiat's when authorization is on).
Backends ConnectBackends(const v1::GateDependencies& services);

// A JSON request body gate forwards must fit, with the request's other
// fields, into the messages of the services it goes to: the room kept for
// those fields.
inline constexpr int64_t kForwardEnvelopeBytes = 64 << 10;

// max_body_bytes fits the message limits of front50, orca and (when
// configured) echo, the services gate forwards request bodies to (echo gets
// webhook bodies); otherwise INVALID_ARGUMENT naming the keys.
absl::Status CheckBodyFitsBackends(int64_t max_body_bytes,
                                   const v1::GateDependencies& services);

// The HTTP answer to a failed call, with what a client should do about it:
// RESOURCE_EXHAUSTED (a message over a size limit; gate has no rate limits) is
// 413, UNAVAILABLE (backend down) 503, DEADLINE_EXCEEDED 504; other codes as
// HttpStatusFromCode maps them. Never 429: clients retry that.
http::Response ErrorResponse(const absl::Status& status,
                             const http::Request& request);

inline http::Response ErrorResponse(const grpc::Status& status,
                                    const http::Request& request) {
  return ErrorResponse(FromGrpcStatus(status), request);
}

// Registers one route. gate_rest.cc passes an adder that installs the caller's
// identity and adds CORS headers around the handler.
using AddRoute = std::function<void(absl::string_view method,
                                    absl::string_view pattern, http::Handler)>;

// Registers handlers that take `state` (a backend, or a route group's own
// state), which the routes keep alive.
template <typename State>
class RouteAdder {
 public:
  using Handler =
      std::function<http::Response(const State&, const http::Request&)>;

  RouteAdder(const AddRoute& add, std::shared_ptr<const State> state)
      : add_(add), state_(std::move(state)) {}

  void operator()(absl::string_view method, absl::string_view pattern,
                  Handler handler) const {
    add_(method, pattern,
         [state = state_, handler = std::move(handler)](
             const http::Request& r) { return handler(*state, r); });
  }

 private:
  const AddRoute& add_;
  std::shared_ptr<const State> state_;
};

// The 503 a route of an optional backend answers when gate has none:
// "<service> is not configured: set services.<service>.address in gate's
// configuration to use <what>".
http::Response NotConfigured(absl::string_view service, absl::string_view what,
                             const http::Request& request);

// `status` with an empty text/plain body (spin and Deck accept it where
// Spinnaker answers without a body).
inline http::Response EmptyResponse(int status = 200) {
  http::Response r;
  r.status = status;
  r.content_type = "text/plain";
  return r;
}

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_BACKEND_H_
