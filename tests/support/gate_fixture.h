// gate's REST API in a test process: the real router (gate::MakeRestRouter
// over gate::ConnectBackends, as gate wires it) on a random loopback port,
// calling the backends the test started (real services, fakes or stand-ins
// answering UNIMPLEMENTED). GateRestTest is the base of the suites that
// drive gate over real HTTP.
#ifndef GENNAKER_TESTS_SUPPORT_GATE_FIXTURE_H_
#define GENNAKER_TESTS_SUPPORT_GATE_FIXTURE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "gtest/gtest.h"
#include "services/front50/front50_core.h"
#include "services/gate/gate_rest.h"

namespace gennaker::testing {

struct GateRestOptions {
  // host:port of each backend's gRPC server.
  std::string front50;
  std::string orca;
  std::string clouddriver;
  // Per-call deadline of each backend.
  int front50_deadline_ms = 10000;
  int orca_deadline_ms = 10000;
  int clouddriver_deadline_ms = 10000;
  // Largest gRPC message of gate's channel to each backend; 0: the default.
  int front50_max_message_bytes = 0;
  int orca_max_message_bytes = 0;
  int clouddriver_max_message_bytes = 0;
  // Version and CORS.
  gate::RestOptions rest;
  // The listener (its port is always a free one).
  http::ServerOptions http;
};

class GateRestServer {
 public:
  static absl::StatusOr<std::unique_ptr<GateRestServer>> Start(
      const GateRestOptions& options);

  // "http://127.0.0.1:<port>".
  const std::string& base() const { return base_; }
  int port() const { return server_->port(); }

  // One call to gate (see RestCall).
  http::ClientResponse Call(const std::string& method, const std::string& path,
                            const std::string& body = "") const;

 private:
  GateRestServer() = default;
  std::unique_ptr<http::Server> server_;
  std::string base_;
};

// A suite whose tests call one gate, started once for the suite.
class GateRestTest : public ::testing::Test {
 protected:
  // From the derived suite's SetUpTestSuite / TearDownTestSuite.
  static void StartGate(const GateRestOptions& options);
  static void StopGate();

  static http::ClientResponse Call(const std::string& method,
                                   const std::string& path,
                                   const std::string& body = "") {
    return gate_->Call(method, path, body);
  }

  static inline GateRestServer* gate_ = nullptr;
  static inline std::string base_;
};

// Creates front50's application `name` (owner dev@example.com) directly in
// `core`, as a test's precondition.
void CreateApplication(front50::Front50Core* core, const std::string& name);

}  // namespace gennaker::testing

#endif  // GENNAKER_TESTS_SUPPORT_GATE_FIXTURE_H_
