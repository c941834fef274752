#include "services/gate/gate_server.h"

#include <gtest/gtest.h>

#include "common/service/service_main.h"

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

}  // namespace
}  // namespace gennaker::gate
