#include "services/gate/gate_backend.h"

#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/fiat/authorizer.h"

namespace gennaker::gate {
namespace {

int LimitOf(const common::v1::EndpointConfig& endpoint) {
  return endpoint.max_message_bytes() > 0 ? endpoint.max_message_bytes()
                                          : kDefaultMaxMessageBytes;
}

template <typename Service, typename Stub>
void Connect(const common::v1::EndpointConfig& endpoint,
             Backend<Stub>* backend) {
  backend->max_message_bytes = LimitOf(endpoint);
  backend->stub =
      Service::NewStub(MakeChannel(endpoint.address(), LimitOf(endpoint)));
  backend->deadline = std::chrono::milliseconds(endpoint.deadline_ms());
}

}  // namespace

Backends ConnectBackends(const v1::GateDependencies& services) {
  Backends b;
  Connect<front50::v1::Front50Service>(services.front50(), &b.front50);
  Connect<orca::v1::OrcaService>(services.orca(), &b.orca);
  Connect<clouddriver::v1::ClouddriverService>(services.clouddriver(),
                                               &b.clouddriver);
  if (!services.kayenta().address().empty()) {
    Connect<kayenta::v1::KayentaService>(services.kayenta(), &b.kayenta);
  }
  if (!services.echo().address().empty()) {
    Connect<echo::v1::EchoService>(services.echo(), &b.echo);
  }
  if (!services.igor().address().empty()) {
    Connect<igor::v1::IgorService>(services.igor(), &b.igor);
  }
  if (!services.fiat().address().empty()) {
    Connect<fiat::v1::FiatService>(services.fiat(), &b.fiat);
  }
  if (!services.rosco().address().empty()) {
    Connect<rosco::v1::RoscoService>(services.rosco(), &b.rosco);
  }
  b.authorizer = fiat::Authorizer::Disabled();
  return b;
}

absl::Status CheckBodyFitsBackends(int64_t max_body_bytes,
                                   const v1::GateDependencies& services) {
  // echo is optional: a gate without it forwards no webhook bodies.
  const bool echo = !services.echo().address().empty();
  for (const auto& [name, endpoint, used] :
       {std::tuple<const char*, const common::v1::EndpointConfig*, bool>{
            "front50", &services.front50(), true},
        {"orca", &services.orca(), true},
        {"echo", &services.echo(), echo}}) {
    if (!used) continue;
    const int64_t limit = LimitOf(*endpoint);
    if (max_body_bytes + kForwardEnvelopeBytes > limit) {
      return absl::InvalidArgumentError(absl::StrCat(
          "maxBodyBytes: ", max_body_bytes, " does not fit services.", name,
          ".maxMessageBytes (", limit, "): request bodies are forwarded to ",
          name, "; keep maxBodyBytes at most maxMessageBytes - ",
          kForwardEnvelopeBytes));
    }
  }
  return absl::OkStatus();
}

http::Response NotConfigured(absl::string_view service, absl::string_view what,
                             const http::Request& request) {
  return http::Error(
      503,
      absl::StrCat(service, " is not configured: set services.", service,
                   ".address in gate's configuration to use ", what),
      request.path);
}

http::Response ErrorResponse(const absl::Status& status,
                             const http::Request& request) {
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    return http::Error(
        413,
        absl::StrCat("too large for gate and its services to carry: ",
                     status.message()),
        request.path);
  }
  return http::ErrorFromStatus(status, request.path);
}

}  // namespace gennaker::gate
