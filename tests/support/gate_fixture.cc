#include "tests/support/gate_fixture.h"

#include "absl/strings/str_cat.h"
#include "gennaker/gate/v1/config.pb.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_backend.h"
#include "tests/support/rest_call.h"

namespace gennaker::testing {

absl::StatusOr<std::unique_ptr<GateRestServer>> GateRestServer::Start(
    const GateRestOptions& options) {
  gate::v1::GateDependencies services;
  services.mutable_front50()->set_address(options.front50);
  services.mutable_front50()->set_deadline_ms(options.front50_deadline_ms);
  services.mutable_orca()->set_address(options.orca);
  services.mutable_orca()->set_deadline_ms(options.orca_deadline_ms);
  services.mutable_clouddriver()->set_address(options.clouddriver);
  services.mutable_clouddriver()->set_deadline_ms(
      options.clouddriver_deadline_ms);
  services.mutable_front50()->set_max_message_bytes(
      options.front50_max_message_bytes);
  services.mutable_orca()->set_max_message_bytes(
      options.orca_max_message_bytes);
  services.mutable_clouddriver()->set_max_message_bytes(
      options.clouddriver_max_message_bytes);
  auto backends =
      std::make_shared<const gate::Backends>(gate::ConnectBackends(services));
  http::ServerOptions http = options.http;
  http.host = "127.0.0.1";
  http.port = 0;
  absl::StatusOr<std::unique_ptr<http::Server>> server = http::Server::Start(
      http, gate::MakeRestRouter(std::move(backends), options.rest));
  if (!server.ok()) return server.status();
  std::unique_ptr<GateRestServer> gate(new GateRestServer());
  gate->server_ = std::move(*server);
  gate->base_ = absl::StrCat("http://127.0.0.1:", gate->server_->port());
  return gate;
}

http::ClientResponse GateRestServer::Call(const std::string& method,
                                          const std::string& path,
                                          const std::string& body) const {
  return RestCall(base_, method, path, body);
}

void GateRestTest::StartGate(const GateRestOptions& options) {
  absl::StatusOr<std::unique_ptr<GateRestServer>> gate =
      GateRestServer::Start(options);
  ASSERT_TRUE(gate.ok()) << gate.status();
  gate_ = gate->release();
  base_ = gate_->base();
}

void GateRestTest::StopGate() {
  delete gate_;
  gate_ = nullptr;
}

void CreateApplication(front50::Front50Core* core, const std::string& name) {
  nlohmann::json app = {{"name", name}, {"email", "dev@example.com"}};
  ASSERT_TRUE(core->CreateApplication(app.dump(), "t").ok());
}

}  // namespace gennaker::testing
