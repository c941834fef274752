// FakeKayenta: a TEST FAKE of gennaker.kayenta.v1.KayentaService that keeps
// configs, executions, analyses and metric set pair lists in memory, served by
// a real gRPC server on a loopback port. It is for testing the REST mappings
// (kayenta_rest, gate's canary routes); it runs no canaries and judges
// nothing. It answers the codes the real service does for the cases the tests
// reach (NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT) and records the last
// start request so tests can check what the mapping sent.
#ifndef GENNAKER_SERVICES_KAYENTA_REST_FAKE_KAYENTA_H_
#define GENNAKER_SERVICES_KAYENTA_REST_FAKE_KAYENTA_H_

#include <grpcpp/server.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/http/http.h"
#include "gennaker/kayenta/v1/kayenta.grpc.pb.h"

namespace gennaker::kayenta {

class FakeKayenta final : public v1::KayentaService::Service {
 public:
  // Starts the server on 127.0.0.1 (a free port).
  FakeKayenta();
  ~FakeKayenta() override;

  // host:port of the server.
  std::string Address() const;
  // A stub over a channel to the server.
  std::shared_ptr<v1::KayentaService::StubInterface> Stub() const;

  // Every call fails with `status` until cleared (nullopt).
  void FailAll(std::optional<grpc::Status> status);
  // Marks an execution finished with `score` and a result JSON.
  void Finish(const std::string& execution_id, double score);
  // The last StartCanary / StartCanaryAnalysis request.
  v1::StartCanaryRequest last_start() const;
  v1::StartCanaryAnalysisRequest last_analysis_start() const;
  // The last ListCanaryExecutions request.
  v1::ListCanaryExecutionsRequest last_list() const;
  // Number of calls received.
  int calls() const;

  grpc::Status ListCanaryConfigs(grpc::ServerContext*,
                                 const v1::ListCanaryConfigsRequest*,
                                 v1::ListCanaryConfigsResponse*) override;
  grpc::Status GetCanaryConfig(grpc::ServerContext*,
                               const v1::GetCanaryConfigRequest*,
                               v1::GetCanaryConfigResponse*) override;
  grpc::Status CreateCanaryConfig(grpc::ServerContext*,
                                  const v1::CreateCanaryConfigRequest*,
                                  v1::CreateCanaryConfigResponse*) override;
  grpc::Status UpdateCanaryConfig(grpc::ServerContext*,
                                  const v1::UpdateCanaryConfigRequest*,
                                  v1::UpdateCanaryConfigResponse*) override;
  grpc::Status DeleteCanaryConfig(grpc::ServerContext*,
                                  const v1::DeleteCanaryConfigRequest*,
                                  v1::DeleteCanaryConfigResponse*) override;
  grpc::Status StartCanary(grpc::ServerContext*, const v1::StartCanaryRequest*,
                           v1::StartCanaryResponse*) override;
  grpc::Status GetCanaryExecution(grpc::ServerContext*,
                                  const v1::GetCanaryExecutionRequest*,
                                  v1::GetCanaryExecutionResponse*) override;
  grpc::Status ListCanaryExecutions(grpc::ServerContext*,
                                    const v1::ListCanaryExecutionsRequest*,
                                    v1::ListCanaryExecutionsResponse*) override;
  grpc::Status ListJudges(grpc::ServerContext*, const v1::ListJudgesRequest*,
                          v1::ListJudgesResponse*) override;
  grpc::Status ListCredentials(grpc::ServerContext*,
                               const v1::ListCredentialsRequest*,
                               v1::ListCredentialsResponse*) override;
  grpc::Status StartCanaryAnalysis(grpc::ServerContext*,
                                   const v1::StartCanaryAnalysisRequest*,
                                   v1::StartCanaryAnalysisResponse*) override;
  grpc::Status GetCanaryAnalysis(grpc::ServerContext*,
                                 const v1::GetCanaryAnalysisRequest*,
                                 v1::GetCanaryAnalysisResponse*) override;
  grpc::Status CancelCanaryAnalysis(grpc::ServerContext*,
                                    const v1::CancelCanaryAnalysisRequest*,
                                    v1::CancelCanaryAnalysisResponse*) override;
  grpc::Status CancelCanary(grpc::ServerContext*,
                            const v1::CancelCanaryRequest*,
                            v1::CancelCanaryResponse*) override;
  grpc::Status Judge(grpc::ServerContext*, const v1::JudgeRequest*,
                     v1::JudgeResponse*) override;
  grpc::Status CreateMetricSetPairList(
      grpc::ServerContext*, const v1::CreateMetricSetPairListRequest*,
      v1::CreateMetricSetPairListResponse*) override;
  grpc::Status GetMetricSetPairList(grpc::ServerContext*,
                                    const v1::GetMetricSetPairListRequest*,
                                    v1::GetMetricSetPairListResponse*) override;
  grpc::Status ListMetricSetPairLists(
      grpc::ServerContext*, const v1::ListMetricSetPairListsRequest*,
      v1::ListMetricSetPairListsResponse*) override;
  grpc::Status DeleteMetricSetPairList(
      grpc::ServerContext*, const v1::DeleteMetricSetPairListRequest*,
      v1::DeleteMetricSetPairListResponse*) override;
  grpc::Status ListMetricDescriptors(
      grpc::ServerContext*, const v1::ListMetricDescriptorsRequest*,
      v1::ListMetricDescriptorsResponse*) override;

 private:
  // Counts the call; the forced failure, if any.
  std::optional<grpc::Status> Enter() ABSL_LOCKS_EXCLUDED(mu_);
  int64_t Now() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t clock_ms_ ABSL_GUARDED_BY(mu_) = 1735689600000;  // 2025-01-01
  int next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::optional<grpc::Status> fail_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::CanaryConfigRecord> configs_ ABSL_GUARDED_BY(mu_);
  // Executions and lists in creation order (newest last).
  std::vector<v1::CanaryExecution> executions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::CanaryAnalysis> analyses_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::MetricSetPairListRecord> lists_ ABSL_GUARDED_BY(mu_);
  v1::StartCanaryRequest last_start_ ABSL_GUARDED_BY(mu_);
  v1::ListCanaryExecutionsRequest last_list_ ABSL_GUARDED_BY(mu_);
  v1::StartCanaryAnalysisRequest last_analysis_start_ ABSL_GUARDED_BY(mu_);

  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// A request for "METHOD /path?query" as the HTTP server hands it over (query
// decoded), for the REST mapping tests that dispatch routes directly.
http::Request TestRequest(const std::string& method, const std::string& target,
                          const std::string& body);

}  // namespace gennaker::kayenta

#endif  // GENNAKER_SERVICES_KAYENTA_REST_FAKE_KAYENTA_H_
