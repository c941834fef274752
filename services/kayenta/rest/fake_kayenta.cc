#include "services/kayenta/rest/fake_kayenta.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/grpc/channel.h"
#include "nlohmann/json.hpp"

namespace gennaker::kayenta {
namespace {

using Json = nlohmann::ordered_json;

grpc::Status NotFound(const std::string& what) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, what);
}

grpc::Status Invalid(const std::string& what) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, what);
}

Json ParseOrEmpty(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json::object() : j;
}

// Paging by offset tokens.
template <typename T, typename Out>
void Page(const std::vector<T>& items, const common::v1::PageRequest& page,
          Out* out, common::v1::PageResponse* page_out) {
  int size = page.page_size() > 0 ? page.page_size() : 20;
  size_t offset = 0;
  if (!page.page_token().empty()) {
    uint64_t o = 0;
    if (absl::SimpleAtoi(page.page_token(), &o)) offset = o;
  }
  size_t end = std::min(items.size(), offset + size);
  for (size_t i = offset; i < end; ++i) *out->Add() = items[i];
  if (end < items.size()) page_out->set_next_page_token(absl::StrCat(end));
  page_out->set_total_size(static_cast<int64_t>(items.size()));
}

}  // namespace

FakeKayenta::FakeKayenta() {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port_);
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
}

FakeKayenta::~FakeKayenta() {
  if (server_) server_->Shutdown();
}

std::string FakeKayenta::Address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::shared_ptr<v1::KayentaService::StubInterface> FakeKayenta::Stub() const {
  return v1::KayentaService::NewStub(MakeChannel(Address()));
}

void FakeKayenta::FailAll(std::optional<grpc::Status> status) {
  absl::MutexLock l(&mu_);
  fail_ = std::move(status);
}

void FakeKayenta::Finish(const std::string& execution_id, double score) {
  absl::MutexLock l(&mu_);
  for (v1::CanaryExecution& e : executions_) {
    if (e.id() != execution_id) continue;
    e.set_status(v1::CANARY_STATUS_SUCCEEDED);
    e.set_score(score);
    e.set_classification(v1::SCORE_CLASSIFICATION_PASS);
    e.set_end_time_ms(Now());
    Json result = {
        {"judgeResult",
         {{"judgeName", "NetflixACAJudge-v1.0"},
          {"score", {{"score", score}, {"classification", "Pass"}}}}},
        {"canaryDuration", "PT1H"}};
    e.mutable_result()->set_json(result.dump());
  }
}

v1::StartCanaryRequest FakeKayenta::last_start() const {
  absl::MutexLock l(&mu_);
  return last_start_;
}

v1::ListCanaryExecutionsRequest FakeKayenta::last_list() const {
  absl::MutexLock l(&mu_);
  return last_list_;
}

v1::StartCanaryAnalysisRequest FakeKayenta::last_analysis_start() const {
  absl::MutexLock l(&mu_);
  return last_analysis_start_;
}

int FakeKayenta::calls() const {
  absl::MutexLock l(&mu_);
  return calls_;
}

std::optional<grpc::Status> FakeKayenta::Enter() {
  absl::MutexLock l(&mu_);
  ++calls_;
  return fail_;
}

int64_t FakeKayenta::Now() { return clock_ms_ += 1000; }

grpc::Status FakeKayenta::ListCanaryConfigs(
    grpc::ServerContext*, const v1::ListCanaryConfigsRequest* req,
    v1::ListCanaryConfigsResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  for (const auto& [id, rec] : configs_) {
    bool keep = req->applications().empty();
    for (const std::string& a : req->applications()) {
      if (std::find(rec.applications().begin(), rec.applications().end(), a) !=
          rec.applications().end()) {
        keep = true;
      }
    }
    if (!keep) continue;
    v1::CanaryConfigRecord* out = resp->add_configs();
    *out = rec;
    out->clear_config();
  }
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::GetCanaryConfig(grpc::ServerContext*,
                                          const v1::GetCanaryConfigRequest* req,
                                          v1::GetCanaryConfigResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  auto it = configs_.find(req->id());
  if (it == configs_.end()) {
    return NotFound(absl::StrCat("No canary config with id ", req->id()));
  }
  *resp->mutable_config() = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::CreateCanaryConfig(
    grpc::ServerContext*, const v1::CreateCanaryConfigRequest* req,
    v1::CreateCanaryConfigResponse* resp) {
  if (auto f = Enter()) return *f;
  Json j = ParseOrEmpty(req->config().json());
  if (!j.value("name", Json()).is_string()) {
    return Invalid("Canary config must specify a name.");
  }
  if (!j.contains("applications") || !j["applications"].is_array() ||
      j["applications"].empty()) {
    return Invalid("Canary config must specify at least one application.");
  }
  absl::MutexLock l(&mu_);
  std::string id = j.value("id", Json()).is_string()
                       ? j["id"].get<std::string>()
                       : absl::StrCat("config-", next_id_++);
  if (configs_.count(id)) {
    return grpc::Status(
        grpc::StatusCode::ALREADY_EXISTS,
        absl::StrCat("Canary config with id ", id, " already exists"));
  }
  j["id"] = id;
  v1::CanaryConfigRecord rec;
  rec.set_id(id);
  rec.set_name(j["name"].get<std::string>());
  for (const Json& a : j["applications"]) {
    if (a.is_string()) rec.add_applications(a.get<std::string>());
  }
  int64_t now = Now();
  rec.mutable_audit()->set_created_at_ms(now);
  rec.mutable_audit()->set_updated_at_ms(now);
  rec.mutable_config()->set_json(j.dump());
  configs_[id] = rec;
  resp->set_canary_config_id(id);
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::UpdateCanaryConfig(
    grpc::ServerContext*, const v1::UpdateCanaryConfigRequest* req,
    v1::UpdateCanaryConfigResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  auto it = configs_.find(req->id());
  if (it == configs_.end()) {
    return NotFound(absl::StrCat("No canary config with id ", req->id()));
  }
  Json j = ParseOrEmpty(req->config().json());
  j["id"] = req->id();
  it->second.set_name(j.value("name", it->second.name()));
  it->second.mutable_audit()->set_updated_at_ms(Now());
  it->second.mutable_config()->set_json(j.dump());
  resp->set_canary_config_id(req->id());
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::DeleteCanaryConfig(
    grpc::ServerContext*, const v1::DeleteCanaryConfigRequest* req,
    v1::DeleteCanaryConfigResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  resp->set_existed(configs_.erase(req->id()) > 0);
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::StartCanary(grpc::ServerContext*,
                                      const v1::StartCanaryRequest* req,
                                      v1::StartCanaryResponse* resp) {
  if (auto f = Enter()) return *f;
  if (!req->has_thresholds()) {
    return Invalid("Execution request must contain thresholds");
  }
  absl::MutexLock l(&mu_);
  last_start_ = *req;
  if (req->has_canary_config_id() && !configs_.count(req->canary_config_id())) {
    return NotFound(
        absl::StrCat("No canary config with id ", req->canary_config_id()));
  }
  v1::CanaryExecution e;
  e.set_id(absl::StrCat("exec-", next_id_++));
  e.set_application(req->application().empty() ? "ad-hoc" : req->application());
  e.set_parent_pipeline_execution_id(req->parent_pipeline_execution_id());
  e.set_canary_config_id(req->canary_config_id());
  e.set_status(v1::CANARY_STATUS_RUNNING);
  e.set_start_time_ms(Now());
  Json j = {
      {"canaryExecutionRequest", ParseOrEmpty(req->execution_request().json())},
      {"stageStatus", {{"judge", "not_started"}}},
      {"metricsAccountName",
       req->metrics_account().empty() ? "prom" : req->metrics_account()}};
  e.mutable_json()->set_json(j.dump());
  executions_.push_back(e);
  resp->set_canary_execution_id(e.id());
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::GetCanaryExecution(
    grpc::ServerContext*, const v1::GetCanaryExecutionRequest* req,
    v1::GetCanaryExecutionResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  for (const v1::CanaryExecution& e : executions_) {
    if (e.id() == req->canary_execution_id()) {
      *resp->mutable_execution() = e;
      return grpc::Status::OK;
    }
  }
  return NotFound(
      absl::StrCat("No canary execution with id ", req->canary_execution_id()));
}

grpc::Status FakeKayenta::ListCanaryExecutions(
    grpc::ServerContext*, const v1::ListCanaryExecutionsRequest* req,
    v1::ListCanaryExecutionsResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  last_list_ = *req;
  std::vector<v1::CanaryExecution> matching;
  for (auto it = executions_.rbegin(); it != executions_.rend(); ++it) {
    if (it->application() != req->application()) continue;
    if (!req->statuses().empty() &&
        std::find(req->statuses().begin(), req->statuses().end(),
                  it->status()) == req->statuses().end()) {
      continue;
    }
    matching.push_back(*it);
  }
  Page(matching, req->page(), resp->mutable_executions(), resp->mutable_page());
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::ListJudges(grpc::ServerContext*,
                                     const v1::ListJudgesRequest*,
                                     v1::ListJudgesResponse* resp) {
  if (auto f = Enter()) return *f;
  v1::Judge* j = resp->add_judges();
  j->set_name("NetflixACAJudge-v1.0");
  j->set_visible(true);
  j = resp->add_judges();
  j->set_name("dredd-v1.0");
  j->set_visible(false);
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::ListCredentials(grpc::ServerContext*,
                                          const v1::ListCredentialsRequest*,
                                          v1::ListCredentialsResponse* resp) {
  if (auto f = Enter()) return *f;
  v1::AccountCredentials* a = resp->add_accounts();
  a->set_name("prom");
  a->set_type("prometheus");
  a->add_supported_types("METRICS_STORE");
  a = resp->add_accounts();
  a->set_name("store");
  a->set_type("postgres");
  a->add_supported_types("OBJECT_STORE");
  a->add_supported_types("CONFIGURATION_STORE");
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::StartCanaryAnalysis(
    grpc::ServerContext*, const v1::StartCanaryAnalysisRequest* req,
    v1::StartCanaryAnalysisResponse* resp) {
  if (auto f = Enter()) return *f;
  Json request = ParseOrEmpty(req->execution_request().json());
  if (!request.contains("scopes")) {
    return Invalid("Canary analysis execution request must contain scopes");
  }
  absl::MutexLock l(&mu_);
  last_analysis_start_ = *req;
  v1::CanaryAnalysis a;
  a.set_id(absl::StrCat("analysis-", next_id_++));
  a.set_application(req->application().empty() ? "ad-hoc" : req->application());
  a.set_user(req->user());
  a.set_status(v1::CANARY_STATUS_RUNNING);
  a.set_start_time_ms(Now());
  a.add_canary_scores(88.5);
  a.add_canary_execution_ids("exec-run-1");
  Json j = {{"canaryAnalysisExecutionRequest", request},
            {"stageStatus", Json::array()}};
  a.mutable_json()->set_json(j.dump());
  analyses_[a.id()] = a;
  resp->set_canary_analysis_execution_id(a.id());
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::GetCanaryAnalysis(
    grpc::ServerContext*, const v1::GetCanaryAnalysisRequest* req,
    v1::GetCanaryAnalysisResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  auto it = analyses_.find(req->canary_analysis_execution_id());
  if (it == analyses_.end()) {
    return NotFound(absl::StrCat("No canary analysis with id ",
                                 req->canary_analysis_execution_id()));
  }
  *resp->mutable_analysis() = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::CancelCanaryAnalysis(
    grpc::ServerContext*, const v1::CancelCanaryAnalysisRequest* req,
    v1::CancelCanaryAnalysisResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  auto it = analyses_.find(req->canary_analysis_execution_id());
  if (it == analyses_.end()) {
    return NotFound(absl::StrCat("No canary analysis with id ",
                                 req->canary_analysis_execution_id()));
  }
  resp->set_canceled(it->second.status() == v1::CANARY_STATUS_RUNNING);
  it->second.set_status(v1::CANARY_STATUS_CANCELED);
  it->second.set_did_pass_thresholds(false);
  it->second.set_end_time_ms(Now());
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::CancelCanary(grpc::ServerContext*,
                                       const v1::CancelCanaryRequest* req,
                                       v1::CancelCanaryResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  for (v1::CanaryExecution& e : executions_) {
    if (e.id() != req->canary_execution_id()) continue;
    resp->set_canceled(e.status() == v1::CANARY_STATUS_RUNNING);
    e.set_status(v1::CANARY_STATUS_CANCELED);
    return grpc::Status::OK;
  }
  return NotFound(
      absl::StrCat("No canary execution with id ", req->canary_execution_id()));
}

grpc::Status FakeKayenta::Judge(grpc::ServerContext*,
                                const v1::JudgeRequest* req,
                                v1::JudgeResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  if (!configs_.count(req->canary_config_id())) {
    return NotFound(
        absl::StrCat("No canary config with id ", req->canary_config_id()));
  }
  bool found = false;
  for (const auto& list : lists_) {
    found = found || list.id() == req->metric_set_pair_list_id();
  }
  if (!found) {
    return NotFound(absl::StrCat("No metric set pair list with id ",
                                 req->metric_set_pair_list_id()));
  }
  // Echoes the thresholds so tests can see what reached the service.
  Json j = {{"judgeName", "NetflixACAJudge-v1.0"},
            {"results", Json::array()},
            {"score",
             {{"score", 100.0},
              {"classification", "Pass"},
              {"classificationReason", ""}}},
            {"pass", req->thresholds().pass()},
            {"marginal", req->thresholds().marginal()}};
  resp->mutable_result()->set_json(j.dump());
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::CreateMetricSetPairList(
    grpc::ServerContext*, const v1::CreateMetricSetPairListRequest* req,
    v1::CreateMetricSetPairListResponse* resp) {
  if (auto f = Enter()) return *f;
  Json j = ParseOrEmpty(req->json().json());
  if (!j.contains("pairs") || !j["pairs"].is_array()) {
    return Invalid("a metric set pair list needs \"pairs\"");
  }
  absl::MutexLock l(&mu_);
  v1::MetricSetPairListRecord rec;
  rec.set_id(absl::StrCat("list-", next_id_++));
  rec.set_created_ms(Now());
  rec.mutable_json()->set_json(req->json().json());
  lists_.push_back(rec);
  resp->set_metric_set_pair_list_id(rec.id());
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::GetMetricSetPairList(
    grpc::ServerContext*, const v1::GetMetricSetPairListRequest* req,
    v1::GetMetricSetPairListResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  for (const auto& rec : lists_) {
    if (rec.id() == req->id()) {
      *resp->mutable_list() = rec;
      return grpc::Status::OK;
    }
  }
  return NotFound(absl::StrCat("No metric set pair list with id ", req->id()));
}

grpc::Status FakeKayenta::ListMetricSetPairLists(
    grpc::ServerContext*, const v1::ListMetricSetPairListsRequest* req,
    v1::ListMetricSetPairListsResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  std::vector<v1::MetricSetPairListRecord> newest_first(lists_.rbegin(),
                                                        lists_.rend());
  for (auto& rec : newest_first) rec.clear_json();
  Page(newest_first, req->page(), resp->mutable_lists(), resp->mutable_page());
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::DeleteMetricSetPairList(
    grpc::ServerContext*, const v1::DeleteMetricSetPairListRequest* req,
    v1::DeleteMetricSetPairListResponse* resp) {
  if (auto f = Enter()) return *f;
  absl::MutexLock l(&mu_);
  auto it = std::remove_if(lists_.begin(), lists_.end(),
                           [&](const auto& r) { return r.id() == req->id(); });
  resp->set_existed(it != lists_.end());
  lists_.erase(it, lists_.end());
  return grpc::Status::OK;
}

grpc::Status FakeKayenta::ListMetricDescriptors(
    grpc::ServerContext*, const v1::ListMetricDescriptorsRequest* req,
    v1::ListMetricDescriptorsResponse* resp) {
  if (auto f = Enter()) return *f;
  if (!req->metrics_account().empty() && req->metrics_account() != "prom") {
    return NotFound(
        absl::StrCat("No metrics account named ", req->metrics_account()));
  }
  const std::string filter = absl::AsciiStrToLower(req->filter());
  for (const char* name :
       {"container_cpu_usage_seconds_total", "container_memory_usage_bytes",
        "http_requests_total"}) {
    if (filter.empty() || absl::StrContains(name, filter)) {
      resp->add_names(name);
    }
  }
  return grpc::Status::OK;
}

http::Request TestRequest(const std::string& method, const std::string& target,
                          const std::string& body) {
  http::Request r;
  r.method = method;
  std::pair<std::string, std::string> parts =
      absl::StrSplit(target, absl::MaxSplits('?', 1));
  r.path = parts.first;
  for (absl::string_view kv : absl::StrSplit(parts.second, '&')) {
    if (kv.empty()) continue;
    std::pair<std::string, std::string> p =
        absl::StrSplit(kv, absl::MaxSplits('=', 1));
    r.query.emplace(http::PercentDecode(p.first, true),
                    http::PercentDecode(p.second, true));
  }
  if (!body.empty()) r.headers["content-type"] = "application/json";
  r.body = body;
  return r;
}

}  // namespace gennaker::kayenta
