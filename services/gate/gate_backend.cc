#include "services/gate/gate_backend.h"

#include "absl/strings/str_cat.h"

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
  return b;
}

absl::Status CheckBodyFitsBackends(int64_t max_body_bytes,
                                   const v1::GateDependencies& services) {
  for (const auto& [name, endpoint] :
       {std::pair<const char*, const common::v1::EndpointConfig*>{
            "front50", &services.front50()},
        {"orca", &services.orca()}}) {
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
