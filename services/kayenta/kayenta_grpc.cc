#include "services/kayenta/kayenta_grpc.h"

#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/time.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/kayenta/canary_status.h"
#include "services/kayenta/kayenta_core.h"

namespace gennaker::kayenta {
namespace {

using grpc::ServerContext;
using grpc::Status;
using spinnaker::Json;

constexpr int kDefaultPageSize = 20;

template <typename Body>
Status Serve(Body&& body) {
  return ToGrpcStatus(std::forward<Body>(body)());
}

absl::StatusOr<Json> RequestObject(const std::string& text,
                                   absl::string_view what) {
  if (text.empty()) return Json::object();
  absl::StatusOr<Json> j = spinnaker::ParseJson(text, what);
  if (!j.ok()) return j.status();
  if (!j->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be a JSON object"));
  }
  return j;
}

// What StartCanary and StartCanaryAnalysis share: the config (stored id or
// inline), the application, the parent execution, accounts and the key.
template <typename Request>
absl::StatusOr<RunSource> SourceOf(const Request& req) {
  RunSource src;
  if (req.has_canary_config()) {
    GENNAKER_ASSIGN_OR_RETURN(
        src.inline_config,
        RequestObject(req.canary_config().json(), "canaryConfig"));
  }
  src.canary_config_id = req.canary_config_id();
  src.application = req.application();
  src.parent_pipeline_execution_id = req.parent_pipeline_execution_id();
  src.metrics_account = req.metrics_account();
  src.configuration_account = req.configuration_account();
  src.idempotency_key = req.idempotency_key();
  return src;
}

// A stored body that does not parse is the server's fault, not the caller's.
absl::StatusOr<Json> StoredJson(const std::string& text) {
  absl::StatusOr<Json> j =
      spinnaker::ParseJson(text, "stored record", spinnaker::kStoredJsonLimits);
  if (!j.ok()) return absl::InternalError(j.status().message());
  return j;
}

v1::CanaryStatus StatusOf(absl::string_view s) {
  return ParseCanaryStatus(s).value_or(v1::CANARY_STATUS_UNSPECIFIED);
}

void ToConfig(const Record& r, v1::CanaryConfigRecord* out) {
  out->set_id(r.id);
  out->set_name(r.name);
  for (const std::string& a : r.applications) out->add_applications(a);
  if (!r.body.empty()) out->mutable_config()->set_json(r.body);
  out->mutable_audit()->set_created_at_ms(r.created_ms);
  out->mutable_audit()->set_updated_at_ms(r.updated_ms);
}

absl::Status ToExecution(const Record& r, v1::CanaryExecution* out) {
  GENNAKER_ASSIGN_OR_RETURN(Json st, StoredJson(r.body));
  out->set_id(r.id);
  out->set_application(spinnaker::String(st, "application"));
  out->set_parent_pipeline_execution_id(
      spinnaker::String(st, "parentPipelineExecutionId"));
  out->set_canary_config_id(spinnaker::String(st, "canaryConfigId"));
  out->set_status(StatusOf(spinnaker::String(st, "status")));
  out->set_start_time_ms(spinnaker::Int(st, "startTimeMillis"));
  out->set_end_time_ms(spinnaker::Int(st, "endTimeMillis"));
  const Json result = spinnaker::Object(st, "result");
  if (!result.empty()) {
    out->mutable_result()->set_json(spinnaker::Dump(result));
    const Json judge = spinnaker::Object(result, "judgeResult");
    const Json score = spinnaker::Object(judge, "score");
    if (score.contains("score")) {
      out->set_score(spinnaker::Double(score, "score"));
    }
    const std::string c = spinnaker::String(score, "classification");
    if (c == "Pass") out->set_classification(v1::SCORE_CLASSIFICATION_PASS);
    if (c == "Marginal") {
      out->set_classification(v1::SCORE_CLASSIFICATION_MARGINAL);
    }
    if (c == "Fail") out->set_classification(v1::SCORE_CLASSIFICATION_FAIL);
    int64_t min_count = -1;
    for (const Json& m : spinnaker::Array(judge, "results")) {
      const Json stats =
          spinnaker::Object(spinnaker::Object(m, "controlMetadata"), "stats");
      if (!stats.contains("count")) continue;
      const int64_t n = spinnaker::Int(stats, "count");
      if (min_count < 0 || n < min_count) min_count = n;
    }
    out->set_min_control_sample_count(std::max<int64_t>(min_count, 0));
  }
  out->mutable_json()->set_json(r.body);
  return absl::OkStatus();
}

absl::Status ToAnalysis(const Record& r, v1::CanaryAnalysis* out) {
  GENNAKER_ASSIGN_OR_RETURN(Json st, StoredJson(r.body));
  out->set_id(r.id);
  out->set_application(spinnaker::String(st, "application"));
  out->set_user(spinnaker::String(st, "user"));
  out->set_parent_pipeline_execution_id(
      spinnaker::String(st, "parentPipelineExecutionId"));
  out->set_status(StatusOf(spinnaker::String(st, "status")));
  const Json result = spinnaker::Object(st, "canaryAnalysisExecutionResult");
  if (result.contains("didPassThresholds")) {
    out->set_did_pass_thresholds(spinnaker::Bool(result, "didPassThresholds"));
  }
  out->set_has_warnings(spinnaker::Bool(result, "hasWarnings"));
  for (const Json& s : spinnaker::Array(result, "canaryScores")) {
    if (s.is_number()) out->add_canary_scores(s.get<double>());
  }
  for (const Json& e : spinnaker::Array(result, "canaryExecutionResults")) {
    out->add_canary_execution_ids(spinnaker::String(e, "executionId"));
  }
  out->set_start_time_ms(spinnaker::Int(st, "startTimeMillis"));
  out->set_end_time_ms(spinnaker::Int(st, "endTimeMillis"));
  out->mutable_json()->set_json(r.body);
  return absl::OkStatus();
}

absl::StatusOr<Json> ScopeJson(const v1::CanaryScope& s,
                               absl::string_view where) {
  for (int64_t ms : {s.start_ms(), s.end_ms()}) {
    if (!spinnaker::SaneEpochMs(ms)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": start_ms and end_ms must lie within years 0001..9999"));
    }
  }
  Json params = Json::object();
  for (const auto& [k, v] : s.extended_scope_params()) params[k] = v;
  return Json{{"scope", s.scope()},
              {"location", s.location()},
              {"start", IsoOfMs(s.start_ms())},
              {"end", IsoOfMs(s.end_ms())},
              {"step", s.step_seconds() > 0 ? s.step_seconds() : 60},
              {"extendedScopeParams", params}};
}

// Largest offset a page token may hold: far beyond any real list, and small
// enough that offset + limit cannot overflow.
constexpr int64_t kMaxPageOffset = int64_t{1} << 40;

absl::Status PageOf(const common::v1::PageRequest& page, int* limit,
                    int64_t* offset) {
  *limit = page.page_size() > 0 ? std::min(page.page_size(), 1000)
                                : kDefaultPageSize;
  *offset = 0;
  if (!page.page_token().empty() &&
      (!absl::SimpleAtoi(page.page_token(), offset) || *offset < 0 ||
       *offset > kMaxPageOffset)) {
    return absl::InvalidArgumentError("page.pageToken is not valid");
  }
  return absl::OkStatus();
}

class KayentaGrpcService final : public v1::KayentaService::Service {
 public:
  explicit KayentaGrpcService(KayentaCore* core) : core_(core) {}

  Status ListCanaryConfigs(ServerContext*,
                           const v1::ListCanaryConfigsRequest* req,
                           v1::ListCanaryConfigsResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          auto configs, core_->ListConfigs({req->applications().begin(),
                                            req->applications().end()}));
      for (const Record& r : configs) ToConfig(r, resp->add_configs());
      return absl::OkStatus();
    });
  }

  Status GetCanaryConfig(ServerContext*, const v1::GetCanaryConfigRequest* req,
                         v1::GetCanaryConfigResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(Record r, core_->GetConfig(req->id()));
      ToConfig(r, resp->mutable_config());
      return absl::OkStatus();
    });
  }

  Status CreateCanaryConfig(ServerContext*,
                            const v1::CreateCanaryConfigRequest* req,
                            v1::CreateCanaryConfigResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(Json config,
                                RequestObject(req->config().json(), "config"));
      GENNAKER_ASSIGN_OR_RETURN(
          std::string id, core_->CreateConfig(config, req->idempotency_key()));
      resp->set_canary_config_id(id);
      return absl::OkStatus();
    });
  }

  Status UpdateCanaryConfig(ServerContext*,
                            const v1::UpdateCanaryConfigRequest* req,
                            v1::UpdateCanaryConfigResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(Json config,
                                RequestObject(req->config().json(), "config"));
      GENNAKER_ASSIGN_OR_RETURN(
          std::string id, core_->UpdateConfig(req->id(), config,
                                              req->expected_updated_at_ms()));
      resp->set_canary_config_id(id);
      return absl::OkStatus();
    });
  }

  Status DeleteCanaryConfig(ServerContext*,
                            const v1::DeleteCanaryConfigRequest* req,
                            v1::DeleteCanaryConfigResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(bool existed, core_->DeleteConfig(req->id()));
      resp->set_existed(existed);
      return absl::OkStatus();
    });
  }

  Status StartCanary(ServerContext*, const v1::StartCanaryRequest* req,
                     v1::StartCanaryResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(RunSource src, SourceOf(*req));
      GENNAKER_ASSIGN_OR_RETURN(
          Json request,
          RequestObject(req->execution_request().json(), "executionRequest"));
      if (!req->scopes().empty()) {
        Json scopes = Json::object();
        for (const auto& [name, pair] : req->scopes()) {
          GENNAKER_ASSIGN_OR_RETURN(
              Json control,
              ScopeJson(pair.control_scope(),
                        absl::StrCat("scopes.", name, ".control_scope")));
          GENNAKER_ASSIGN_OR_RETURN(
              Json experiment,
              ScopeJson(pair.experiment_scope(),
                        absl::StrCat("scopes.", name, ".experiment_scope")));
          scopes[name] = Json{{"controlScope", std::move(control)},
                              {"experimentScope", std::move(experiment)}};
        }
        request["scopes"] = scopes;
      }
      if (req->has_thresholds()) {
        request["thresholds"] =
            Json{{"pass", req->thresholds().pass()},
                 {"marginal", req->thresholds().marginal()}};
      }
      GENNAKER_ASSIGN_OR_RETURN(std::string id,
                                core_->StartCanary(src, request));
      resp->set_canary_execution_id(id);
      return absl::OkStatus();
    });
  }

  Status GetCanaryExecution(ServerContext*,
                            const v1::GetCanaryExecutionRequest* req,
                            v1::GetCanaryExecutionResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          Record r, core_->GetExecution(req->canary_execution_id()));
      return ToExecution(r, resp->mutable_execution());
    });
  }

  Status ListCanaryExecutions(ServerContext*,
                              const v1::ListCanaryExecutionsRequest* req,
                              v1::ListCanaryExecutionsResponse* resp) override {
    return Serve([&]() -> absl::Status {
      int limit;
      int64_t offset;
      GENNAKER_RETURN_IF_ERROR(PageOf(req->page(), &limit, &offset));
      std::vector<std::string> statuses;
      for (int s : req->statuses()) {
        statuses.push_back(CanaryStatusName(static_cast<v1::CanaryStatus>(s)));
      }
      GENNAKER_ASSIGN_OR_RETURN(
          auto records, core_->ListExecutions(req->application(), statuses,
                                              limit + 1, offset));
      const bool more = records.size() > static_cast<size_t>(limit);
      if (more) records.resize(limit);
      for (const Record& r : records) {
        GENNAKER_RETURN_IF_ERROR(ToExecution(r, resp->add_executions()));
      }
      if (more) {
        resp->mutable_page()->set_next_page_token(absl::StrCat(offset + limit));
      }
      return absl::OkStatus();
    });
  }

  Status ListJudges(ServerContext*, const v1::ListJudgesRequest*,
                    v1::ListJudgesResponse* resp) override {
    v1::Judge* j = resp->add_judges();
    j->set_name(kNetflixAcaJudge);
    j->set_visible(true);
    return Status::OK;
  }

  Status ListCredentials(ServerContext*, const v1::ListCredentialsRequest*,
                         v1::ListCredentialsResponse* resp) override {
    for (const AccountInfo& a : core_->Accounts()) {
      v1::AccountCredentials* c = resp->add_accounts();
      c->set_name(a.name);
      c->set_type(a.type);
      for (const std::string& t : a.supported_types) c->add_supported_types(t);
    }
    return Status::OK;
  }

  Status StartCanaryAnalysis(ServerContext*,
                             const v1::StartCanaryAnalysisRequest* req,
                             v1::StartCanaryAnalysisResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(RunSource src, SourceOf(*req));
      src.user = req->user();
      GENNAKER_ASSIGN_OR_RETURN(
          Json request,
          RequestObject(req->execution_request().json(), "executionRequest"));
      GENNAKER_ASSIGN_OR_RETURN(std::string id,
                                core_->StartCanaryAnalysis(src, request));
      resp->set_canary_analysis_execution_id(id);
      return absl::OkStatus();
    });
  }

  Status GetCanaryAnalysis(ServerContext*,
                           const v1::GetCanaryAnalysisRequest* req,
                           v1::GetCanaryAnalysisResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          Record r, core_->GetAnalysis(req->canary_analysis_execution_id()));
      return ToAnalysis(r, resp->mutable_analysis());
    });
  }

  Status CancelCanaryAnalysis(ServerContext*,
                              const v1::CancelCanaryAnalysisRequest* req,
                              v1::CancelCanaryAnalysisResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          bool canceled,
          core_->CancelCanaryAnalysis(req->canary_analysis_execution_id()));
      resp->set_canceled(canceled);
      return absl::OkStatus();
    });
  }

  Status CancelCanary(ServerContext*, const v1::CancelCanaryRequest* req,
                      v1::CancelCanaryResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          bool canceled, core_->CancelCanary(req->canary_execution_id()));
      resp->set_canceled(canceled);
      return absl::OkStatus();
    });
  }

  Status Judge(ServerContext*, const v1::JudgeRequest* req,
               v1::JudgeResponse* resp) override {
    return Serve([&]() -> absl::Status {
      std::optional<Thresholds> t;
      if (req->has_thresholds()) {
        t = Thresholds{req->thresholds().pass(), req->thresholds().marginal()};
      }
      GENNAKER_ASSIGN_OR_RETURN(
          Json result, core_->Judge(req->canary_config_id(),
                                    req->metric_set_pair_list_id(), t));
      resp->mutable_result()->set_json(spinnaker::Dump(result));
      return absl::OkStatus();
    });
  }

  Status CreateMetricSetPairList(
      ServerContext*, const v1::CreateMetricSetPairListRequest* req,
      v1::CreateMetricSetPairListResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(Json list,
                                RequestObject(req->json().json(), "json"));
      GENNAKER_ASSIGN_OR_RETURN(
          std::string id, core_->CreatePairList(list, req->idempotency_key()));
      resp->set_metric_set_pair_list_id(id);
      return absl::OkStatus();
    });
  }

  Status GetMetricSetPairList(ServerContext*,
                              const v1::GetMetricSetPairListRequest* req,
                              v1::GetMetricSetPairListResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(Record r, core_->GetPairList(req->id()));
      resp->mutable_list()->set_id(r.id);
      resp->mutable_list()->set_created_ms(r.created_ms);
      resp->mutable_list()->mutable_json()->set_json(r.body);
      return absl::OkStatus();
    });
  }

  Status ListMetricSetPairLists(
      ServerContext*, const v1::ListMetricSetPairListsRequest* req,
      v1::ListMetricSetPairListsResponse* resp) override {
    return Serve([&]() -> absl::Status {
      int limit;
      int64_t offset;
      GENNAKER_RETURN_IF_ERROR(PageOf(req->page(), &limit, &offset));
      GENNAKER_ASSIGN_OR_RETURN(auto records,
                                core_->ListPairLists(limit + 1, offset));
      const bool more = records.size() > static_cast<size_t>(limit);
      if (more) records.resize(limit);
      for (const Record& r : records) {
        v1::MetricSetPairListRecord* l = resp->add_lists();
        l->set_id(r.id);
        l->set_created_ms(r.created_ms);
      }
      if (more) {
        resp->mutable_page()->set_next_page_token(absl::StrCat(offset + limit));
      }
      return absl::OkStatus();
    });
  }

  Status DeleteMetricSetPairList(
      ServerContext*, const v1::DeleteMetricSetPairListRequest* req,
      v1::DeleteMetricSetPairListResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(bool existed, core_->DeletePairList(req->id()));
      resp->set_existed(existed);
      return absl::OkStatus();
    });
  }

  Status ListMetricDescriptors(
      ServerContext*, const v1::ListMetricDescriptorsRequest* req,
      v1::ListMetricDescriptorsResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          auto names,
          core_->MetricDescriptors(req->metrics_account(), req->filter()));
      std::sort(names.begin(), names.end());
      for (const std::string& n : names) resp->add_names(n);
      return absl::OkStatus();
    });
  }

 private:
  KayentaCore* core_;
};

}  // namespace

std::unique_ptr<v1::KayentaService::Service> NewKayentaGrpcService(
    KayentaCore* core) {
  return std::make_unique<KayentaGrpcService>(core);
}

}  // namespace gennaker::kayenta
