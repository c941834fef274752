// orca's config defaults and the ranges declared on its engine fields.
#include "services/orca/orca_server.h"

#include <string>
#include <vector>

#include "common/config/config_loader.h"
#include "gtest/gtest.h"

namespace gennaker::orca {
namespace {

TEST(OrcaConfigTest, DefaultsAreSetAndPassTheDeclaredRules) {
  v1::OrcaConfig config;
  ApplyOrcaDefaults(&config);
  EXPECT_EQ(config.engine().worker_threads(), 4);
  EXPECT_EQ(config.engine().lease_seconds(), 60);
  EXPECT_EQ(config.engine().safety_poll_ms(), 2000);
  EXPECT_EQ(config.engine().max_handler_attempts(), 8);
  EXPECT_EQ(config.engine().webhook_max_attempts(), 10);
  // 0 keeps every execution.
  EXPECT_EQ(config.engine().retention_days(), 0);
  EXPECT_EQ(config.engine().keep_per_pipeline(), 0);
  EXPECT_TRUE(config::RuleViolations(config).empty());
}

TEST(OrcaConfigTest, EngineRangesAreDeclaredInTheProto) {
  auto violation = [](auto set) {
    v1::OrcaConfig config;
    ApplyOrcaDefaults(&config);
    set(config.mutable_engine());
    std::vector<std::string> v = config::RuleViolations(config);
    return v.empty() ? std::string() : v.front();
  };
  EXPECT_NE(violation([](v1::EngineConfig* e) {
              e->set_worker_threads(65);
            }).find("engine.workerThreads"),
            std::string::npos);
  EXPECT_NE(violation([](v1::EngineConfig* e) { e->set_worker_threads(0); }),
            "");
  EXPECT_NE(violation([](v1::EngineConfig* e) { e->set_lease_seconds(0); }),
            "");
  EXPECT_NE(violation([](v1::EngineConfig* e) { e->set_safety_poll_ms(-1); }),
            "");
  EXPECT_NE(
      violation([](v1::EngineConfig* e) { e->set_max_handler_attempts(0); }),
      "");
  EXPECT_NE(
      violation([](v1::EngineConfig* e) { e->set_webhook_max_attempts(0); }),
      "");
  EXPECT_NE(violation([](v1::EngineConfig* e) { e->set_retention_days(-1); }),
            "");
  EXPECT_NE(
      violation([](v1::EngineConfig* e) { e->set_keep_per_pipeline(-1); }), "");
  EXPECT_EQ(violation([](v1::EngineConfig* e) {
              e->set_worker_threads(64);
              e->set_retention_days(0);
              e->set_keep_per_pipeline(0);
            }),
            "");
}

TEST(OrcaConfigTest, AuthorizationNeedsFiatAndFailsFastWithout) {
  v1::OrcaConfig config;
  ApplyOrcaDefaults(&config);
  config.mutable_services()->mutable_front50()->set_address("127.0.0.1:1");
  EXPECT_TRUE(ValidateConfig(config).ok());
  config.mutable_authorization()->set_enabled(true);
  absl::Status s = ValidateConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("services.fiat.address"), std::string::npos);
  // Before any store is reached.
  EXPECT_EQ(BuildOrca(config, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.mutable_services()->mutable_fiat()->set_address("127.0.0.1:7003");
  EXPECT_TRUE(ValidateConfig(config).ok());
}

}  // namespace
}  // namespace gennaker::orca
