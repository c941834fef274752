#include "services/gate/gate_server.h"

#include <gtest/gtest.h>

#include "common/service/service_main.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {
namespace {

TEST(ApplyGateDefaultsTest, GateOwnsItsKeysAndTheResultValidates) {
  v1::GateConfig config;
  ASSERT_TRUE(
      LoadServiceConfig("gate", "", &config, [](google::protobuf::Message* m) {
        ApplyGateDefaults(static_cast<v1::GateConfig*>(m));
      }).ok());
  EXPECT_EQ(config.http_port(), 8084);
  EXPECT_EQ(config.max_body_bytes(), 4 << 20);
  EXPECT_EQ(config.cors_allowed_origins(),
            R"(https?://(localhost|127\.0\.0\.1)(:[0-9]+)?)");
  EXPECT_TRUE(ValidateConfig(config).ok());
}

TEST(ValidateConfigTest, BodyLimitMustFitTheMessageLimitsBehindGate) {
  v1::GateConfig config;
  ASSERT_TRUE(
      LoadServiceConfig("gate", "", &config, [](google::protobuf::Message* m) {
        ApplyGateDefaults(static_cast<v1::GateConfig*>(m));
      }).ok());
  config.mutable_services()->mutable_front50()->set_max_message_bytes(4 << 20);
  absl::Status s = ValidateConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("services.front50.maxMessageBytes"),
            std::string::npos)
      << s;
  config.set_max_body_bytes(3 << 20);
  EXPECT_TRUE(ValidateConfig(config).ok());
  config.mutable_services()->mutable_orca()->set_max_message_bytes(1 << 20);
  EXPECT_NE(ValidateConfig(config).message().find("services.orca"),
            std::string::npos);
}

TEST(ErrorResponseTest, EachFailureGetsTheStatusAClientShouldActOn) {
  http::Request r;
  r.path = "/pipelines";
  auto status_of = [&r](absl::Status s) {
    http::Response resp = ErrorResponse(s, r);
    auto j = nlohmann::json::parse(resp.body);
    EXPECT_EQ(j["status"], resp.status);
    EXPECT_EQ(j["path"], "/pipelines");
    return resp.status;
  };
  // A message over a size limit is not a rate limit: never 429.
  EXPECT_EQ(status_of(absl::ResourceExhaustedError(
                "Received message larger than max (5000000 vs. 4194304)")),
            413);
  EXPECT_EQ(ErrorResponse(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                       "Sent message larger than max"),
                          r)
                .status,
            413);
  EXPECT_EQ(status_of(absl::UnavailableError("connection refused")), 503);
  EXPECT_EQ(status_of(absl::DeadlineExceededError("deadline")), 504);
  EXPECT_EQ(status_of(absl::NotFoundError("no such pipeline")), 404);
}

}  // namespace
}  // namespace gennaker::gate
