// The real kayenta binary on a real PostgreSQL and a real Prometheus (which
// scrapes itself under two server_group labels, baseline and canary): a canary
// run over gRPC end to end, the REST API on http_port through the in-process
// channel, and start-up refusing an invalid config.
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/pg/migrations.h"
#include "common/process/process.h"
#include "common/spinnaker/json.h"
#include "common/testing/prometheus.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gennaker/kayenta/v1/kayenta.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/kayenta/fake_metrics_source.h"
#include "services/kayenta/kayenta_core.h"
#include "services/kayenta/store/pg_kayenta_store.h"

namespace gennaker::kayenta {

std::vector<pg::Migration> Migrations();

namespace {

using ::gennaker::testing::IsOk;
using spinnaker::Json;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

class KayentaBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::gennaker::testing::MakeTempDir("kayenta-bin");
    auto prom = ::gennaker::testing::TestPrometheus::Start();
    ASSERT_THAT(prom, IsOk());
    prom_ = std::move(*prom);
    const std::string self = absl::StrCat("127.0.0.1:", prom_->port());
    ASSERT_THAT(
        prom_->WriteTargets(
            {{{self},
              {{"server_group", "app-baseline"}, {"location", "local"}}},
             {{self},
              {{"server_group", "app-canary"}, {"location", "local"}}}}),
        IsOk());
    for (const char* sg : {"app-baseline", "app-canary"}) {
      ASSERT_THAT(
          prom_->WaitForSeries(absl::StrCat("up{server_group=\"", sg, "\"}"),
                               absl::Seconds(30)),
          IsOk());
    }
    auto pg = ::gennaker::testing::SharedPostgres();
    ASSERT_THAT(pg, IsOk());
    auto dsn = (*pg)->CreateDatabase("kayenta_bin");
    ASSERT_THAT(dsn, IsOk());
    dsn_ = *dsn;
    grpc_port_ = *process::FreePort();
    admin_port_ = *process::FreePort();
    http_port_ = *process::FreePort();
  }

  void TearDown() override {
    if (pid_ > 0) (void)process::Terminate(pid_, absl::Seconds(5));
    prom_.reset();
    ::gennaker::testing::RemoveTree(dir_);
  }

  std::string WriteConfig(const std::string& prometheus) {
    const std::string path =
        absl::StrCat(dir_, "/kayenta-", ++configs_, ".yml");
    std::ofstream(path) << absl::StrCat(
        "server: {host: 127.0.0.1, grpcPort: ", grpc_port_,
        ", adminPort: ", admin_port_, ", shutdownGraceSeconds: 2}\n",
        "logging: {level: info, format: text}\n", "postgres: {dsn: '", dsn_,
        "'}\n", "httpPort: ", http_port_, "\n", "prometheus: ", prometheus,
        "\n", "runner: {workerThreads: 2, fetchAttempts: 2}\n",
        "outbound: {allowedUrlPrefixes: ['", prom_->BaseUrl(), "/']}\n");
    return path;
  }

  void StartKayenta() {
    const std::string config = WriteConfig(
        absl::StrCat("[{name: prom, baseUrl: '", prom_->BaseUrl(), "'}]"));
    process::SpawnOptions o;
    o.argv = {::gennaker::testing::BinDir() + "/kayenta", "--config", config};
    o.log_file = config + ".log";
    o.die_with_parent = true;
    auto pid = process::Spawn(o);
    ASSERT_THAT(pid, IsOk());
    pid_ = *pid;
    const std::string address = absl::StrCat("127.0.0.1:", grpc_port_);
    for (int i = 0; i < 200; ++i) {
      auto serving = CheckServing(address, std::chrono::milliseconds(200));
      if (serving.ok() && *serving) {
        stub_ = v1::KayentaService::NewStub(MakeChannel(address));
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "kayenta did not become SERVING; see " << o.log_file;
  }

  std::string dir_, dsn_;
  int grpc_port_ = 0, admin_port_ = 0, http_port_ = 0, configs_ = 0;
  pid_t pid_ = 0;
  std::unique_ptr<::gennaker::testing::TestPrometheus> prom_;
  std::unique_ptr<v1::KayentaService::Stub> stub_;
};

TEST_F(KayentaBinaryTest, CanaryRunOverGrpcAndRest) {
  StartKayenta();
  ASSERT_NE(stub_, nullptr);

  {
    grpc::ClientContext ctx;
    v1::ListCredentialsResponse resp;
    ASSERT_TRUE(stub_->ListCredentials(&ctx, {}, &resp).ok());
    ASSERT_EQ(resp.accounts_size(), 2);
    EXPECT_EQ(resp.accounts(0).name(), "prom");
    EXPECT_EQ(resp.accounts(0).type(), "prometheus");
    EXPECT_EQ(resp.accounts(1).name(), "postgres");
  }

  Json config{
      {"name", "self-canary"},
      {"applications", {"app"}},
      {"judge", {{"name", "NetflixACAJudge-v1.0"}}},
      {"metrics",
       {{{"name", "up"},
         {"scopeName", "default"},
         {"groups", {"health"}},
         {"query", {{"type", "prometheus"}, {"metricName", "up"}}},
         {"analysisConfigurations", {{"canary", {{"direction", "either"}}}}}}}},
      {"classifier", {{"groupWeights", {{"health", 100}}}}}};
  std::string config_id;
  {
    grpc::ClientContext ctx;
    v1::CreateCanaryConfigRequest req;
    req.mutable_config()->set_json(config.dump());
    v1::CreateCanaryConfigResponse resp;
    grpc::Status s = stub_->CreateCanaryConfig(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    config_id = resp.canary_config_id();
  }
  {
    // Kayenta's validation message reaches the client.
    grpc::ClientContext ctx;
    v1::CreateCanaryConfigRequest req;
    req.mutable_config()->set_json(R"({"applications": ["app"]})");
    v1::CreateCanaryConfigResponse resp;
    grpc::Status s = stub_->CreateCanaryConfig(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "Canary config must specify a name.");
  }

  // A few scrapes of both scopes.
  absl::SleepFor(absl::Seconds(3));
  const int64_t end = NowMs();
  std::string execution_id;
  {
    grpc::ClientContext ctx;
    v1::StartCanaryRequest req;
    req.set_canary_config_id(config_id);
    req.set_application("app");
    auto* pair = &(*req.mutable_scopes())["default"];
    for (auto [scope, name] :
         {std::pair{pair->mutable_control_scope(), "app-baseline"},
          std::pair{pair->mutable_experiment_scope(), "app-canary"}}) {
      scope->set_scope(name);
      scope->set_location("local");
      scope->set_start_ms(end - 60000);
      scope->set_end_ms(end);
      scope->set_step_seconds(1);
    }
    req.mutable_thresholds()->set_pass(75);
    req.mutable_thresholds()->set_marginal(50);
    v1::StartCanaryResponse resp;
    grpc::Status s = stub_->StartCanary(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    execution_id = resp.canary_execution_id();
  }
  v1::CanaryExecution execution;
  for (int i = 0; i < 300; ++i) {
    grpc::ClientContext ctx;
    v1::GetCanaryExecutionRequest req;
    req.set_canary_execution_id(execution_id);
    v1::GetCanaryExecutionResponse resp;
    ASSERT_TRUE(stub_->GetCanaryExecution(&ctx, req, &resp).ok());
    execution = resp.execution();
    if (execution.status() != v1::CANARY_STATUS_NOT_STARTED &&
        execution.status() != v1::CANARY_STATUS_RUNNING) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(execution.status(), v1::CANARY_STATUS_SUCCEEDED)
      << execution.json().json();
  // `up` is 1 on both sides: identical data passes.
  ASSERT_TRUE(execution.has_score());
  EXPECT_DOUBLE_EQ(execution.score(), 100.0);
  EXPECT_EQ(execution.classification(), v1::SCORE_CLASSIFICATION_PASS);
  EXPECT_GT(execution.min_control_sample_count(), 0);

  // Kayenta's REST API answers from the same service.
  http::ClientRequest get;
  get.url =
      absl::StrCat("http://127.0.0.1:", http_port_, "/canary/", execution_id);
  auto rest = http::Fetch(get);
  ASSERT_THAT(rest, IsOk());
  EXPECT_EQ(rest->status, 200) << rest->body;
  auto body = spinnaker::ParseJson(rest->body);
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(spinnaker::String(*body, "status"), "succeeded");
}

TEST_F(KayentaBinaryTest, ResumesRunLeftByEarlierProcess) {
  // An earlier kayenta accepted a run and died while running it.
  std::string id;
  {
    pg::PoolOptions o;
    o.dsn = dsn_;
    o.size = 2;
    auto pool = pg::Pool::Create(o);
    ASSERT_THAT(pool, IsOk());
    ASSERT_THAT(pg::ApplyMigrations(**pool, "kayenta", Migrations()), IsOk());
    PgKayentaStore store(pool->get());
    std::vector<std::unique_ptr<MetricsSource>> sources;
    sources.push_back(std::make_unique<testing::FakeSource>());  // "prom"
    KayentaCore earlier(&store, std::move(sources), SystemClock(),
                        CoreOptions{0, absl::ZeroDuration()});
    RunSource src;
    src.inline_config = testing::Config();
    src.inline_config->at("metrics")[0]["query"]["metricName"] = "up";
    absl::SleepFor(absl::Seconds(3));
    const int64_t end = NowMs();
    Json request = testing::Request(end - 60000);
    for (auto [side, scope] : {std::pair{"controlScope", "app-baseline"},
                               std::pair{"experimentScope", "app-canary"}}) {
      Json& s = request["scopes"]["default"][side];
      s["scope"] = scope;
      s["end"] = IsoOfMs(end);
      s["step"] = 1;
    }
    auto started = earlier.StartCanary(src, request);
    ASSERT_THAT(started, IsOk());
    id = *started;
    auto rec = store.Get(Kind::kExecution, id);
    ASSERT_THAT(rec, IsOk());
    rec->status = "running";
    ASSERT_THAT(store.Update(Kind::kExecution, *rec, {}), IsOk());
  }
  StartKayenta();
  ASSERT_NE(stub_, nullptr);
  v1::CanaryExecution execution;
  for (int i = 0; i < 300; ++i) {
    grpc::ClientContext ctx;
    v1::GetCanaryExecutionRequest req;
    req.set_canary_execution_id(id);
    v1::GetCanaryExecutionResponse resp;
    ASSERT_TRUE(stub_->GetCanaryExecution(&ctx, req, &resp).ok());
    execution = resp.execution();
    if (execution.status() == v1::CANARY_STATUS_SUCCEEDED ||
        execution.status() == v1::CANARY_STATUS_TERMINAL) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(execution.status(), v1::CANARY_STATUS_SUCCEEDED)
      << execution.json().json();
  EXPECT_TRUE(execution.has_score());
}

TEST_F(KayentaBinaryTest, InvalidConfigFailsFast) {
  const std::string config = WriteConfig(
      absl::StrCat("[{name: prom, baseUrl: '", prom_->BaseUrl(),
                   "'}, {name: prom, baseUrl: '", prom_->BaseUrl(), "'}]"));
  process::SpawnOptions o;
  o.argv = {::gennaker::testing::BinDir() + "/kayenta", "--config", config,
            "--check-config"};
  o.log_file = config + ".log";
  auto code = process::Run(o);
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
  std::ifstream log(o.log_file);
  std::string text((std::istreambuf_iterator<char>(log)),
                   std::istreambuf_iterator<char>());
  EXPECT_THAT(text, ::testing::HasSubstr("defined twice"));

  const std::string bad_url =
      WriteConfig("[{name: prom, baseUrl: 'not a url'}]");
  o.argv = {::gennaker::testing::BinDir() + "/kayenta", "--config", bad_url,
            "--check-config"};
  o.log_file = bad_url + ".log";
  code = process::Run(o);
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
}

}  // namespace
}  // namespace gennaker::kayenta
