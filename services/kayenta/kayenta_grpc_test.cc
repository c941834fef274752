// The gRPC adapter over an in-process channel: typed fields to and from
// Spinnaker's JSON, paging, and the error codes clients see.
#include "services/kayenta/kayenta_grpc.h"

#include <grpcpp/grpcpp.h>

#include <cmath>
#include <limits>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/kayenta/fake_metrics_source.h"
#include "services/kayenta/kayenta_core.h"
#include "services/kayenta/store/in_memory_kayenta_store.h"

namespace gennaker::kayenta {
namespace {

class GrpcTest : public ::testing::Test {
 protected:
  GrpcTest() {
    auto src = std::make_unique<testing::FakeSource>();
    src->Set("baseline", testing::Series(10));
    src->Set("canary", testing::Series(10));
    std::vector<std::unique_ptr<MetricsSource>> sources;
    sources.push_back(std::move(src));
    core_ = std::make_unique<KayentaCore>(&store_, std::move(sources), &clock_,
                                          CoreOptions{0, absl::ZeroDuration()});
    service_ = NewKayentaGrpcService(core_.get());
    grpc::ServerBuilder b;
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    stub_ = v1::KayentaService::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~GrpcTest() override { server_->Shutdown(); }

  std::string CreateConfig() {
    grpc::ClientContext ctx;
    v1::CreateCanaryConfigRequest req;
    req.mutable_config()->set_json(testing::Config().dump());
    v1::CreateCanaryConfigResponse resp;
    grpc::Status s = stub_->CreateCanaryConfig(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.canary_config_id();
  }

  v1::StartCanaryRequest StartRequest(const std::string& config_id) {
    v1::StartCanaryRequest req;
    req.set_canary_config_id(config_id);
    req.set_application("app");
    auto& pair = (*req.mutable_scopes())["default"];
    const int64_t end = clock_.NowMs();
    for (auto [scope, name] :
         {std::pair{pair.mutable_control_scope(), "baseline"},
          std::pair{pair.mutable_experiment_scope(), "canary"}}) {
      scope->set_scope(name);
      scope->set_start_ms(end - 3600000);
      scope->set_end_ms(end);
      scope->set_step_seconds(60);
    }
    req.mutable_thresholds()->set_pass(75);
    req.mutable_thresholds()->set_marginal(50);
    req.mutable_execution_request()->set_json(
        R"({"siteLocal": {"team": "x"}})");
    return req;
  }

  testing::ManualClock clock_;
  InMemoryKayentaStore store_;
  std::unique_ptr<KayentaCore> core_;
  std::unique_ptr<v1::KayentaService::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::KayentaService::Stub> stub_;
};

TEST_F(GrpcTest, ConfigsRoundTrip) {
  {
    grpc::ClientContext ctx;
    v1::CreateCanaryConfigRequest req;
    req.mutable_config()->set_json("[1]");
    v1::CreateCanaryConfigResponse resp;
    EXPECT_EQ(stub_->CreateCanaryConfig(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  const std::string id = CreateConfig();
  grpc::ClientContext ctx;
  v1::ListCanaryConfigsRequest req;
  req.add_applications("app");
  v1::ListCanaryConfigsResponse resp;
  ASSERT_TRUE(stub_->ListCanaryConfigs(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.configs_size(), 1);
  EXPECT_EQ(resp.configs(0).id(), id);
  EXPECT_EQ(resp.configs(0).name(), "my-canary");
  EXPECT_TRUE(resp.configs(0).config().json().empty());
  grpc::ClientContext ctx2;
  v1::GetCanaryConfigRequest get;
  get.set_id("missing");
  v1::GetCanaryConfigResponse got;
  EXPECT_EQ(stub_->GetCanaryConfig(&ctx2, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcTest, StartCanaryTypedFields) {
  const std::string config_id = CreateConfig();
  {
    grpc::ClientContext ctx;
    v1::StartCanaryRequest req = StartRequest(config_id);
    req.clear_thresholds();
    v1::StartCanaryResponse resp;
    grpc::Status s = stub_->StartCanary(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "Execution request must contain thresholds");
  }
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    v1::StartCanaryResponse resp;
    ASSERT_TRUE(stub_->StartCanary(&ctx, StartRequest(config_id), &resp).ok());
    ids.push_back(resp.canary_execution_id());
    clock_.Advance(1);
  }
  core_->RunQueued();
  grpc::ClientContext ctx;
  v1::GetCanaryExecutionRequest req;
  req.set_canary_execution_id(ids[0]);
  v1::GetCanaryExecutionResponse resp;
  ASSERT_TRUE(stub_->GetCanaryExecution(&ctx, req, &resp).ok());
  const v1::CanaryExecution& e = resp.execution();
  EXPECT_EQ(e.status(), v1::CANARY_STATUS_SUCCEEDED);
  EXPECT_EQ(e.application(), "app");
  EXPECT_EQ(e.canary_config_id(), config_id);
  ASSERT_TRUE(e.has_score());
  EXPECT_DOUBLE_EQ(e.score(), 100.0);
  EXPECT_EQ(e.classification(), v1::SCORE_CLASSIFICATION_PASS);
  EXPECT_EQ(e.min_control_sample_count(), 30);
  EXPECT_GT(e.start_time_ms(), 0);
  auto json = spinnaker::ParseJson(e.json().json());
  ASSERT_TRUE(json.ok());
  const Json& request = (*json)["canaryExecutionRequest"];
  EXPECT_EQ(request["siteLocal"]["team"], "x");
  EXPECT_EQ(request["scopes"]["default"]["controlScope"]["scope"], "baseline");
  EXPECT_EQ(request["thresholds"]["pass"], 75.0);
  auto result = spinnaker::ParseJson(e.result().json());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ((*result)["canaryDuration"], "PT1H");

  // Paging, newest first.
  v1::ListCanaryExecutionsRequest list;
  list.set_application("app");
  list.mutable_page()->set_page_size(2);
  v1::ListCanaryExecutionsResponse page1, page2;
  grpc::ClientContext c1, c2;
  ASSERT_TRUE(stub_->ListCanaryExecutions(&c1, list, &page1).ok());
  ASSERT_EQ(page1.executions_size(), 2);
  EXPECT_EQ(page1.executions(0).id(), ids[2]);
  ASSERT_FALSE(page1.page().next_page_token().empty());
  list.mutable_page()->set_page_token(page1.page().next_page_token());
  ASSERT_TRUE(stub_->ListCanaryExecutions(&c2, list, &page2).ok());
  ASSERT_EQ(page2.executions_size(), 1);
  EXPECT_EQ(page2.executions(0).id(), ids[0]);
  EXPECT_TRUE(page2.page().next_page_token().empty());
}

TEST_F(GrpcTest, JudgesCredentialsAndPairLists) {
  grpc::ClientContext c1, c2, c3, c4, c5;
  v1::ListJudgesResponse judges;
  ASSERT_TRUE(stub_->ListJudges(&c1, {}, &judges).ok());
  ASSERT_EQ(judges.judges_size(), 1);
  EXPECT_EQ(judges.judges(0).name(), "NetflixACAJudge-v1.0");
  EXPECT_TRUE(judges.judges(0).visible());
  v1::ListCredentialsResponse creds;
  ASSERT_TRUE(stub_->ListCredentials(&c2, {}, &creds).ok());
  ASSERT_EQ(creds.accounts_size(), 2);
  EXPECT_EQ(creds.accounts(0).type(), "prometheus");
  EXPECT_EQ(creds.accounts(0).supported_types(0), "METRICS_STORE");
  EXPECT_EQ(creds.accounts(1).name(), "postgres");

  v1::CreateMetricSetPairListRequest create;
  create.mutable_json()->set_json(R"({"pairs": []})");
  v1::CreateMetricSetPairListResponse created;
  ASSERT_TRUE(stub_->CreateMetricSetPairList(&c3, create, &created).ok());
  v1::GetMetricSetPairListRequest get;
  get.set_id(created.metric_set_pair_list_id());
  v1::GetMetricSetPairListResponse got;
  ASSERT_TRUE(stub_->GetMetricSetPairList(&c4, get, &got).ok());
  EXPECT_EQ(got.list().json().json(), R"({"pairs":[]})");
  v1::ListMetricDescriptorsRequest names;
  names.set_filter("CPU");
  v1::ListMetricDescriptorsResponse listed;
  ASSERT_TRUE(stub_->ListMetricDescriptors(&c5, names, &listed).ok());
  // The fake source filters case-sensitively; the call reaches it.
  EXPECT_EQ(listed.names_size(), 0);
}

TEST_F(GrpcTest, AnalysisTypedFields) {
  grpc::ClientContext ctx;
  v1::StartCanaryAnalysisRequest req;
  req.mutable_canary_config()->set_json(testing::Config().dump());
  req.set_user("bob");
  req.mutable_execution_request()->set_json(
      R"({"scopes": [{"scopeName": "default", "controlScope": "baseline",
          "experimentScope": "canary", "step": 60}],
          "thresholds": {"pass": 75, "marginal": 50},
          "lifetimeDurationMins": 2, "analysisIntervalMins": 1})");
  v1::StartCanaryAnalysisResponse resp;
  grpc::Status s = stub_->StartCanaryAnalysis(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(60000);
    core_->Tick();
    core_->RunQueued();
    core_->Tick();
  }
  grpc::ClientContext c2;
  v1::GetCanaryAnalysisRequest get;
  get.set_canary_analysis_execution_id(resp.canary_analysis_execution_id());
  v1::GetCanaryAnalysisResponse got;
  ASSERT_TRUE(stub_->GetCanaryAnalysis(&c2, get, &got).ok());
  const v1::CanaryAnalysis& a = got.analysis();
  EXPECT_EQ(a.status(), v1::CANARY_STATUS_SUCCEEDED);
  EXPECT_EQ(a.user(), "bob");
  ASSERT_TRUE(a.has_did_pass_thresholds());
  EXPECT_TRUE(a.did_pass_thresholds());
  EXPECT_EQ(a.canary_scores_size(), 2);
  EXPECT_EQ(a.canary_execution_ids_size(), 2);
  EXPECT_TRUE(a.has_warnings());
  grpc::ClientContext c3;
  v1::CancelCanaryAnalysisRequest cancel;
  cancel.set_canary_analysis_execution_id(a.id());
  v1::CancelCanaryAnalysisResponse canceled;
  ASSERT_TRUE(stub_->CancelCanaryAnalysis(&c3, cancel, &canceled).ok());
  EXPECT_FALSE(canceled.canceled());
}

TEST_F(GrpcTest, CorruptStoredBodyIsInternal) {
  Record r;
  r.id = "broken";
  r.application = "app";
  r.status = "running";
  r.body = "{not json";
  ASSERT_TRUE(store_.Insert(Kind::kExecution, r).ok());
  grpc::ClientContext ctx;
  v1::GetCanaryExecutionRequest req;
  req.set_canary_execution_id("broken");
  v1::GetCanaryExecutionResponse resp;
  EXPECT_EQ(stub_->GetCanaryExecution(&ctx, req, &resp).error_code(),
            grpc::StatusCode::INTERNAL);
}

TEST_F(GrpcTest, PageTokensAreInt64AndBounded) {
  // An offset past int's range is a valid (empty) page: offsets are int64,
  // so offset + limit cannot overflow; past 2^40 a token is refused.
  for (const char* token :
       {"2147483648", "1099511627777", "9223372036854775807", "-1", "x"}) {
    grpc::ClientContext ctx;
    v1::ListCanaryExecutionsRequest req;
    req.set_application("app");
    req.mutable_page()->set_page_size(1000);
    req.mutable_page()->set_page_token(token);
    v1::ListCanaryExecutionsResponse resp;
    grpc::Status s = stub_->ListCanaryExecutions(&ctx, req, &resp);
    if (std::string(token) == "2147483648") {
      EXPECT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(resp.executions_size(), 0);
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << token;
    }
  }
  grpc::ClientContext ctx;
  v1::ListMetricSetPairListsRequest req;
  req.mutable_page()->set_page_token("1099511627777");
  v1::ListMetricSetPairListsResponse resp;
  EXPECT_EQ(stub_->ListMetricSetPairLists(&ctx, req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(GrpcTest, StartCanaryBoundsInstantsAndThresholds) {
  const std::string config_id = CreateConfig();
  {
    v1::StartCanaryRequest req = StartRequest(config_id);
    (*req.mutable_scopes())["default"].mutable_control_scope()->set_start_ms(
        std::numeric_limits<int64_t>::min());
    grpc::ClientContext ctx;
    v1::StartCanaryResponse resp;
    grpc::Status s = stub_->StartCanary(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), ::testing::HasSubstr("0001..9999"));
  }
  {
    v1::StartCanaryRequest req = StartRequest(config_id);
    req.mutable_thresholds()->set_pass(std::nan(""));
    grpc::ClientContext ctx;
    v1::StartCanaryResponse resp;
    grpc::Status s = stub_->StartCanary(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), ::testing::HasSubstr("thresholds.pass"));
  }
  {
    // Without typed thresholds, the JSON's must be complete.
    v1::StartCanaryRequest req = StartRequest(config_id);
    req.clear_thresholds();
    req.mutable_execution_request()->set_json(R"({"thresholds": {}})");
    grpc::ClientContext ctx;
    v1::StartCanaryResponse resp;
    EXPECT_EQ(stub_->StartCanary(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    v1::JudgeRequest req;
    req.set_canary_config_id(config_id);
    req.set_metric_set_pair_list_id("x");
    req.mutable_thresholds()->set_pass(std::nan(""));
    req.mutable_thresholds()->set_marginal(50);
    v1::JudgeResponse resp;
    EXPECT_EQ(stub_->Judge(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

}  // namespace
}  // namespace gennaker::kayenta
