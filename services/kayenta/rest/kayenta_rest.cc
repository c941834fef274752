#include "services/kayenta/rest/kayenta_rest.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/grpc/channel.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/time.h"
#include "common/status/grpc_status.h"
#include "services/kayenta/canary_status.h"

namespace gennaker::kayenta {
namespace {

using http::Request;
using http::Response;
using spinnaker::Json;

// How the routes reach kayenta.
struct Client {
  std::shared_ptr<KayentaStub> stub;
  std::chrono::milliseconds deadline;

  std::unique_ptr<grpc::ClientContext> Context() const {
    return MakeClientContext(deadline);
  }
};

using Handler = std::function<Response(const Client&, const Request&)>;

// Largest page walked for `page=N` of the execution list, and most pages read
// for a full list: bounds on the calls one request makes.
constexpr int kMaxPage = 1000;
// Most executions one page lists (the gRPC service's own cap); a larger
// `limit` is clamped to it.
constexpr int kMaxPageSize = 1000;
constexpr int kMaxListPages = 1000;
constexpr int kListPageSize = 500;

Response Fail(const grpc::Status& s, const Request& r) {
  return KayentaErrorResponse(FromGrpcStatus(s), r);
}

Response Fail(const absl::Status& s, const Request& r) {
  return KayentaErrorResponse(s, r);
}

Response BadRequest(absl::string_view message, const Request& r) {
  return http::Error(400, message, r.path);
}

Response NoContent(int status) {
  Response resp;
  resp.status = status;
  resp.content_type = "text/plain";
  return resp;
}

Response JsonResponse(const Json& j) {
  return http::Json(200, spinnaker::Dump(j));
}

// --- reading requests ---

absl::StatusOr<Json> ParseBody(const Request& r) {
  if (absl::StripAsciiWhitespace(r.body).empty()) {
    return absl::InvalidArgumentError("request body is required");
  }
  return spinnaker::ParseJson(r.body, "request body");
}

absl::StatusOr<Json> ParseObjectBody(const Request& r) {
  absl::StatusOr<Json> j = ParseBody(r);
  if (!j.ok()) return j.status();
  if (!j->is_object()) {
    return absl::InvalidArgumentError("request body must be a JSON object");
  }
  return j;
}

absl::StatusOr<double> QueryDouble(const Request& r, const std::string& name,
                                   double fallback) {
  absl::string_view v = absl::StripAsciiWhitespace(r.Query(name));
  if (v.empty()) return fallback;
  double d;
  if (!absl::SimpleAtod(v, &d) || !std::isfinite(d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("query parameter '", name, "' must be a number"));
  }
  return d;
}

std::string IdempotencyKey(const Request& r) {
  return r.Header("idempotency-key");
}

// An instant as Kayenta writes one: ISO-8601 UTC, milliseconds only when
// there are some.
std::string Iso(int64_t ms) { return spinnaker::FormatIsoInstant(ms); }

// An instant of a request: an ISO-8601 string with offset, or a number of
// epoch seconds (as Jackson reads a number into an Instant). Either must lie
// within years 0001..9999, so later arithmetic on it cannot overflow.
absl::StatusOr<int64_t> InstantMs(const Json& v, const std::string& where) {
  if (v.is_string()) {
    absl::StatusOr<int64_t> ms =
        spinnaker::ParseIsoInstant(v.get<std::string>());
    if (ms.ok()) return ms;
  } else if (v.is_number()) {
    const double seconds = v.get<double>();
    // Checked in double before the conversion: llround of a value outside
    // int64 is undefined.
    if (std::isfinite(seconds) &&
        seconds >= spinnaker::kMinSaneEpochMs / 1000.0 &&
        seconds <= spinnaker::kMaxSaneEpochMs / 1000.0) {
      const int64_t ms = static_cast<int64_t>(std::llround(seconds * 1000));
      if (spinnaker::SaneEpochMs(ms)) return ms;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where,
                   " must be an ISO-8601 instant such as 2025-01-01T00:00:00Z "
                   "(years 0001..9999)"));
}

// A scalar as the text a string map keeps.
std::string ScalarText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return spinnaker::Dump(v);
}

// One CanaryScope of a CanaryExecutionRequest.
absl::Status ReadScope(const Json& j, const std::string& where,
                       v1::CanaryScope* out) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " must be a JSON object"));
  }
  out->set_scope(spinnaker::String(j, "scope"));
  out->set_location(spinnaker::String(j, "location"));
  for (const char* key : {"start", "end"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    absl::StatusOr<int64_t> ms = InstantMs(*it, absl::StrCat(where, ".", key));
    if (!ms.ok()) return ms.status();
    if (std::string(key) == "start") {
      out->set_start_ms(*ms);
    } else {
      out->set_end_ms(*ms);
    }
  }
  auto step = j.find("step");
  if (step != j.end() && !step->is_null()) {
    int64_t s = spinnaker::Int(j, "step", -1);
    if (s < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".step must be a number of seconds"));
    }
    out->set_step_seconds(s);
  }
  auto params = j.find("extendedScopeParams");
  if (params != j.end() && !params->is_null()) {
    if (!params->is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".extendedScopeParams must be a JSON object"));
    }
    for (const auto& [k, v] : params->items()) {
      (*out->mutable_extended_scope_params())[k] = ScalarText(v);
    }
  }
  return absl::OkStatus();
}

absl::Status ReadThresholds(const Json& j, const std::string& where,
                            v1::CanaryThresholds* out) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " must be a JSON object"));
  }
  for (const char* key : {"pass", "marginal"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    double d = spinnaker::Double(j, key, NAN);
    if (!std::isfinite(d)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".", key, " must be a number"));
    }
    if (std::string(key) == "pass") {
      out->set_pass(d);
    } else {
      out->set_marginal(d);
    }
  }
  return absl::OkStatus();
}

// A CanaryExecutionRequest's typed parts into `req`; the whole JSON goes in
// execution_request.
absl::Status ReadExecutionRequest(const Json& j, v1::StartCanaryRequest* req) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        "the canary execution request must be a JSON object");
  }
  auto scopes = j.find("scopes");
  if (scopes != j.end() && !scopes->is_null()) {
    if (!scopes->is_object()) {
      return absl::InvalidArgumentError("scopes must be a JSON object");
    }
    for (const auto& [name, pair] : scopes->items()) {
      const std::string where = absl::StrCat("scopes.", name);
      if (!pair.is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, " must be a JSON object"));
      }
      v1::CanaryScopePair& out = (*req->mutable_scopes())[name];
      for (const char* side : {"controlScope", "experimentScope"}) {
        auto it = pair.find(side);
        if (it == pair.end() || it->is_null()) continue;
        v1::CanaryScope* scope = std::string(side) == "controlScope"
                                     ? out.mutable_control_scope()
                                     : out.mutable_experiment_scope();
        absl::Status s = ReadScope(*it, absl::StrCat(where, ".", side), scope);
        if (!s.ok()) return s;
      }
    }
  }
  auto thresholds = j.find("thresholds");
  if (thresholds != j.end() && !thresholds->is_null()) {
    absl::Status s =
        ReadThresholds(*thresholds, "thresholds", req->mutable_thresholds());
    if (!s.ok()) return s;
  }
  req->mutable_execution_request()->set_json(spinnaker::Dump(j));
  return absl::OkStatus();
}

// The query parameters POST /canary and POST /standalone_canary_analysis
// share.
template <typename Req>
void ReadRunParams(const Request& r, Req* req) {
  req->set_application(r.Query("application"));
  req->set_parent_pipeline_execution_id(r.Query("parentPipelineExecutionId"));
  req->set_metrics_account(r.Query("metricsAccountName"));
  req->set_configuration_account(r.Query("configurationAccountName"));
  req->set_idempotency_key(IdempotencyKey(r));
}

// The ad hoc body {"canaryConfig": {...}, "executionRequest": {...}}.
absl::Status ReadAdhoc(const Json& body, Json* config, Json* execution) {
  auto c = body.find("canaryConfig");
  if (c == body.end() || !c->is_object()) {
    return absl::InvalidArgumentError(
        "canaryConfig is required and must be a JSON object");
  }
  auto e = body.find("executionRequest");
  if (e == body.end() || !e->is_object()) {
    return absl::InvalidArgumentError(
        "executionRequest is required and must be a JSON object");
  }
  *config = *c;
  *execution = *e;
  return absl::OkStatus();
}

// --- rendering answers ---

std::string StatusText(v1::CanaryStatus s) { return CanaryStatusName(s); }

bool IsComplete(v1::CanaryStatus s) { return IsCompleteCanaryStatus(s); }

// Stored JSON the service rendered, or an empty object when there is none
// (or it is unreadable: one bad row must not break a list).
Json StoredObject(const std::string& text) {
  if (text.empty()) return Json::object();
  absl::StatusOr<Json> j =
      spinnaker::ParseJson(text, "stored JSON", spinnaker::kStoredJsonLimits);
  if (!j.ok() || !j->is_object()) return Json::object();
  return *std::move(j);
}

void SetIfNotEmpty(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

void SetTimes(Json& j, const char* prefix, int64_t ms) {
  if (ms == 0) return;
  j[absl::StrCat(prefix, "Millis")] = ms;
  j[absl::StrCat(prefix, "Iso")] = Iso(ms);
}

// Kayenta's CanaryExecutionStatusResponse: the stored JSON with the typed
// fields (which the service keeps current) laid over it.
Json ExecutionJson(const v1::CanaryExecution& e) {
  Json j = StoredObject(e.json().json());
  SetIfNotEmpty(j, "application", e.application());
  SetIfNotEmpty(j, "parentPipelineExecutionId",
                e.parent_pipeline_execution_id());
  SetIfNotEmpty(j, "canaryConfigId", e.canary_config_id());
  if (!j.contains("pipelineId")) j["pipelineId"] = e.id();
  const std::string status = StatusText(e.status());
  if (!status.empty()) j["status"] = status;
  j["complete"] = IsComplete(e.status());
  if (!e.result().json().empty()) {
    j["result"] = StoredObject(e.result().json());
  }
  SetTimes(j, "startTime", e.start_time_ms());
  SetTimes(j, "endTime", e.end_time_ms());
  return j;
}

std::string UpperStatus(v1::CanaryStatus s) {
  return absl::AsciiStrToUpper(StatusText(s));
}

// Kayenta's CanaryAnalysisExecutionStatusResponse, typed fields over the
// stored JSON.
Json AnalysisJson(const v1::CanaryAnalysis& a) {
  Json j = StoredObject(a.json().json());
  SetIfNotEmpty(j, "application", a.application());
  SetIfNotEmpty(j, "user", a.user());
  SetIfNotEmpty(j, "parentPipelineExecutionId",
                a.parent_pipeline_execution_id());
  if (!j.contains("pipelineId")) j["pipelineId"] = a.id();
  const std::string status = StatusText(a.status());
  if (!status.empty()) {
    j["status"] = status;
    j["executionStatus"] = UpperStatus(a.status());
  }
  j["complete"] = IsComplete(a.status());
  Json result = spinnaker::Object(j, "canaryAnalysisExecutionResult");
  if (a.has_did_pass_thresholds()) {
    result["didPassThresholds"] = a.did_pass_thresholds();
  }
  result["hasWarnings"] = a.has_warnings();
  Json scores = Json::array();
  for (double s : a.canary_scores()) scores.push_back(s);
  result["canaryScores"] = std::move(scores);
  if (!result.contains("canaryExecutionResults")) {
    Json runs = Json::array();
    for (const std::string& id : a.canary_execution_ids()) {
      runs.push_back(Json{{"executionId", id}});
    }
    result["canaryExecutionResults"] = std::move(runs);
  }
  j["canaryAnalysisExecutionResult"] = std::move(result);
  SetTimes(j, "startTime", a.start_time_ms());
  SetTimes(j, "endTime", a.end_time_ms());
  return j;
}

Json Strings(const google::protobuf::RepeatedPtrField<std::string>& v) {
  Json out = Json::array();
  for (const std::string& s : v) out.push_back(s);
  return out;
}

// --- canary configs ---

Response ListConfigs(const Client& c, const Request& r) {
  v1::ListCanaryConfigsRequest req;
  req.set_configuration_account(r.Query("configurationAccountName"));
  for (std::string& app : r.QueryList("application")) {
    req.add_applications(std::move(app));
  }
  v1::ListCanaryConfigsResponse resp;
  grpc::Status s = c.stub->ListCanaryConfigs(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  Json out = Json::array();
  for (const v1::CanaryConfigRecord& rec : resp.configs()) {
    Json j = {{"id", rec.id()}, {"name", rec.name()}};
    const int64_t updated = rec.audit().updated_at_ms() != 0
                                ? rec.audit().updated_at_ms()
                                : rec.audit().created_at_ms();
    j["updatedTimestamp"] = updated;
    j["updatedTimestampIso"] = Iso(updated);
    j["applications"] = Strings(rec.applications());
    out.push_back(std::move(j));
  }
  return JsonResponse(out);
}

Response GetConfig(const Client& c, const Request& r) {
  v1::GetCanaryConfigRequest req;
  req.set_configuration_account(r.Query("configurationAccountName"));
  req.set_id(r.params.at("id"));
  v1::GetCanaryConfigResponse resp;
  grpc::Status s = c.stub->GetCanaryConfig(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  const std::string& text = resp.config().config().json();
  return http::Json(200, text.empty() ? "{}" : text);
}

Response CreateConfig(const Client& c, const Request& r) {
  absl::StatusOr<Json> body = ParseObjectBody(r);
  if (!body.ok()) return Fail(body.status(), r);
  v1::CreateCanaryConfigRequest req;
  req.set_configuration_account(r.Query("configurationAccountName"));
  req.mutable_config()->set_json(spinnaker::Dump(*body));
  req.set_idempotency_key(IdempotencyKey(r));
  v1::CreateCanaryConfigResponse resp;
  grpc::Status s = c.stub->CreateCanaryConfig(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return JsonResponse(Json{{"canaryConfigId", resp.canary_config_id()}});
}

Response UpdateConfig(const Client& c, const Request& r) {
  absl::StatusOr<Json> body = ParseObjectBody(r);
  if (!body.ok()) return Fail(body.status(), r);
  v1::UpdateCanaryConfigRequest req;
  req.set_configuration_account(r.Query("configurationAccountName"));
  req.set_id(r.params.at("id"));
  req.mutable_config()->set_json(spinnaker::Dump(*body));
  v1::UpdateCanaryConfigResponse resp;
  grpc::Status s = c.stub->UpdateCanaryConfig(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return JsonResponse(Json{{"canaryConfigId", resp.canary_config_id()}});
}

Response DeleteConfig(const Client& c, const Request& r, int ok_status) {
  v1::DeleteCanaryConfigRequest req;
  req.set_configuration_account(r.Query("configurationAccountName"));
  req.set_id(r.params.at("id"));
  v1::DeleteCanaryConfigResponse resp;
  grpc::Status s = c.stub->DeleteCanaryConfig(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return NoContent(ok_status);
}

// --- canary runs ---

Response StartResponse(const v1::StartCanaryResponse& resp) {
  return JsonResponse(Json{{"canaryExecutionId", resp.canary_execution_id()}});
}

Response StartCanary(const Client& c, const Request& r) {
  absl::StatusOr<Json> body = ParseObjectBody(r);
  if (!body.ok()) return Fail(body.status(), r);
  v1::StartCanaryRequest req;
  req.set_canary_config_id(r.params.at("configId"));
  ReadRunParams(r, &req);
  absl::Status read = ReadExecutionRequest(*body, &req);
  if (!read.ok()) return Fail(read, r);
  v1::StartCanaryResponse resp;
  grpc::Status s = c.stub->StartCanary(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return StartResponse(resp);
}

Response StartAdhocCanary(const Client& c, const Request& r) {
  absl::StatusOr<Json> body = ParseObjectBody(r);
  if (!body.ok()) return Fail(body.status(), r);
  Json config, execution;
  absl::Status read = ReadAdhoc(*body, &config, &execution);
  if (!read.ok()) return Fail(read, r);
  v1::StartCanaryRequest req;
  req.mutable_canary_config()->set_json(spinnaker::Dump(config));
  ReadRunParams(r, &req);
  read = ReadExecutionRequest(execution, &req);
  if (!read.ok()) return Fail(read, r);
  v1::StartCanaryResponse resp;
  grpc::Status s = c.stub->StartCanary(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return StartResponse(resp);
}

Response GetExecution(const Client& c, const Request& r) {
  v1::GetCanaryExecutionRequest req;
  req.set_canary_execution_id(r.params.at("id"));
  v1::GetCanaryExecutionResponse resp;
  grpc::Status s = c.stub->GetCanaryExecution(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return JsonResponse(ExecutionJson(resp.execution()));
}

// Executions of an application, `limit` per page, page `page` (from 1), as
// Kayenta pages them; statuses comma-separated in any case.
Response ListExecutions(const Client& c, const Request& r,
                        const std::string& application) {
  absl::StatusOr<int> limit = http::QueryPositiveInt(r, "limit", 20);
  if (!limit.ok()) return Fail(limit.status(), r);
  // The service pages at most kMaxPageSize records; a larger limit would make
  // page N start at the wrong record.
  limit = std::min(*limit, kMaxPageSize);
  absl::StatusOr<int> page = http::QueryPositiveInt(r, "page", 1);
  if (!page.ok()) return Fail(page.status(), r);
  if (*page > kMaxPage) {
    return BadRequest(
        absl::StrCat("query parameter 'page' must be at most ", kMaxPage), r);
  }
  v1::ListCanaryExecutionsRequest req;
  req.set_application(application.empty() ? "ad-hoc" : application);
  for (const std::string& st : r.QueryList("statuses")) {
    std::optional<v1::CanaryStatus> status = ParseCanaryStatus(st);
    if (!status) {
      return BadRequest(
          absl::StrCat("unknown status '", st,
                       "' (not_started, running, succeeded, terminal, "
                       "canceled)"),
          r);
    }
    req.add_statuses(*status);
  }
  req.mutable_page()->set_page_size(*limit);
  v1::ListCanaryExecutionsResponse resp;
  for (int p = 1; p <= *page; ++p) {
    resp.Clear();
    grpc::Status s =
        c.stub->ListCanaryExecutions(c.Context().get(), req, &resp);
    if (!s.ok()) return Fail(s, r);
    if (p == *page) break;
    if (resp.page().next_page_token().empty()) {
      resp.Clear();  // past the last page: nothing
      break;
    }
    req.mutable_page()->set_page_token(resp.page().next_page_token());
  }
  Json out = Json::array();
  for (const v1::CanaryExecution& e : resp.executions()) {
    out.push_back(ExecutionJson(e));
  }
  return JsonResponse(out);
}

// --- metadata, judges, credentials ---

Response ListMetricDescriptors(const Client& c, const Request& r) {
  v1::ListMetricDescriptorsRequest req;
  req.set_metrics_account(r.Query("metricsAccountName"));
  req.set_filter(r.Query("filter"));
  v1::ListMetricDescriptorsResponse resp;
  grpc::Status s = c.stub->ListMetricDescriptors(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  Json out = Json::array();
  for (const std::string& n : resp.names()) out.push_back(Json{{"name", n}});
  return JsonResponse(out);
}

Response ListJudges(const Client& c, const Request& r) {
  v1::ListJudgesResponse resp;
  grpc::Status s = c.stub->ListJudges(c.Context().get(), {}, &resp);
  if (!s.ok()) return Fail(s, r);
  Json out = Json::array();
  for (const v1::Judge& j : resp.judges()) {
    out.push_back(Json{{"name", j.name()}, {"visible", j.visible()}});
  }
  return JsonResponse(out);
}

// POST /judges/judge: Kayenta's defaults are 95 (pass) and 75 (marginal).
Response JudgeStored(const Client& c, const Request& r) {
  v1::JudgeRequest req;
  req.set_canary_config_id(r.Query("canaryConfigId"));
  req.set_metric_set_pair_list_id(r.Query("metricSetPairListId"));
  req.set_configuration_account(r.Query("configurationAccountName"));
  if (req.canary_config_id().empty() || req.metric_set_pair_list_id().empty()) {
    return BadRequest(
        "query parameters 'canaryConfigId' and 'metricSetPairListId' are "
        "required",
        r);
  }
  absl::StatusOr<double> pass = QueryDouble(r, "passThreshold", 95.0);
  if (!pass.ok()) return Fail(pass.status(), r);
  absl::StatusOr<double> marginal = QueryDouble(r, "marginalThreshold", 75.0);
  if (!marginal.ok()) return Fail(marginal.status(), r);
  req.mutable_thresholds()->set_pass(*pass);
  req.mutable_thresholds()->set_marginal(*marginal);
  v1::JudgeResponse resp;
  grpc::Status s = c.stub->Judge(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  const std::string& text = resp.result().json();
  return http::Json(200, text.empty() ? "{}" : text);
}

grpc::Status Credentials(const Client& c, v1::ListCredentialsResponse* resp) {
  return c.stub->ListCredentials(c.Context().get(), {}, resp);
}

Response ListCredentials(const Client& c, const Request& r) {
  v1::ListCredentialsResponse resp;
  grpc::Status s = Credentials(c, &resp);
  if (!s.ok()) return Fail(s, r);
  Json out = Json::array();
  for (const v1::AccountCredentials& a : resp.accounts()) {
    out.push_back(Json{{"name", a.name()},
                       {"type", a.type()},
                       {"supportedTypes", Strings(a.supported_types())}});
  }
  return JsonResponse(out);
}

// GET /metricsServices: the metrics accounts, {name, type}.
Response ListMetricsServices(const Client& c, const Request& r) {
  v1::ListCredentialsResponse resp;
  grpc::Status s = Credentials(c, &resp);
  if (!s.ok()) return Fail(s, r);
  Json out = Json::array();
  for (const v1::AccountCredentials& a : resp.accounts()) {
    for (const std::string& t : a.supported_types()) {
      if (t == "METRICS_STORE") {
        out.push_back(Json{{"name", a.name()}, {"type", a.type()}});
        break;
      }
    }
  }
  return JsonResponse(out);
}

// --- metric set pair lists ---

std::string StorageAccount(const Request& r) {
  std::string a = r.Query("storageAccountName");
  return a.empty() ? r.Query("accountName") : a;
}

Response CreatePairList(const Client& c, const Request& r) {
  absl::StatusOr<Json> body = ParseBody(r);
  if (!body.ok()) return Fail(body.status(), r);
  if (!body->is_array()) {
    return BadRequest("request body must be a JSON array of metric set pairs",
                      r);
  }
  v1::CreateMetricSetPairListRequest req;
  req.set_storage_account(StorageAccount(r));
  req.mutable_json()->set_json(spinnaker::Dump(Json{{"pairs", *body}}));
  req.set_idempotency_key(IdempotencyKey(r));
  v1::CreateMetricSetPairListResponse resp;
  grpc::Status s =
      c.stub->CreateMetricSetPairList(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return JsonResponse(
      Json{{"metricSetPairListId", resp.metric_set_pair_list_id()}});
}

Response ListPairLists(const Client& c, const Request& r) {
  v1::ListMetricSetPairListsRequest req;
  req.set_storage_account(StorageAccount(r));
  req.mutable_page()->set_page_size(kListPageSize);
  Json out = Json::array();
  for (int p = 0; p < kMaxListPages; ++p) {
    v1::ListMetricSetPairListsResponse resp;
    grpc::Status s =
        c.stub->ListMetricSetPairLists(c.Context().get(), req, &resp);
    if (!s.ok()) return Fail(s, r);
    for (const v1::MetricSetPairListRecord& rec : resp.lists()) {
      out.push_back(Json{{"id", rec.id()},
                         {"name", rec.id()},
                         {"updatedTimestamp", rec.created_ms()},
                         {"updatedTimestampIso", Iso(rec.created_ms())}});
    }
    if (resp.page().next_page_token().empty()) break;
    req.mutable_page()->set_page_token(resp.page().next_page_token());
  }
  return JsonResponse(out);
}

grpc::Status GetPairs(const Client& c, const Request& r, const std::string& id,
                      Json* pairs) {
  v1::GetMetricSetPairListRequest req;
  req.set_storage_account(StorageAccount(r));
  req.set_id(id);
  v1::GetMetricSetPairListResponse resp;
  grpc::Status s = c.stub->GetMetricSetPairList(c.Context().get(), req, &resp);
  if (!s.ok()) return s;
  *pairs = spinnaker::Array(StoredObject(resp.list().json().json()), "pairs");
  return grpc::Status::OK;
}

Response GetPairList(const Client& c, const Request& r) {
  Json pairs;
  grpc::Status s = GetPairs(c, r, r.params.at("id"), &pairs);
  if (!s.ok()) return Fail(s, r);
  return JsonResponse(pairs);
}

Response GetPair(const Client& c, const Request& r) {
  Json pairs;
  const std::string& list_id = r.params.at("id");
  const std::string& pair_id = r.params.at("pairId");
  grpc::Status s = GetPairs(c, r, list_id, &pairs);
  if (!s.ok()) return Fail(s, r);
  for (const Json& p : pairs) {
    if (spinnaker::String(p, "id") == pair_id) return JsonResponse(p);
  }
  return http::Error(404,
                     absl::StrCat("No metric set pair with id ", pair_id,
                                  " in metric set pair list ", list_id),
                     r.path);
}

Response DeletePairList(const Client& c, const Request& r) {
  v1::DeleteMetricSetPairListRequest req;
  req.set_storage_account(StorageAccount(r));
  req.set_id(r.params.at("id"));
  v1::DeleteMetricSetPairListResponse resp;
  grpc::Status s =
      c.stub->DeleteMetricSetPairList(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return NoContent(204);
}

// --- standalone canary analysis ---

void ReadAnalysisParams(const Request& r, v1::StartCanaryAnalysisRequest* req) {
  ReadRunParams(r, req);
  req->set_user(r.Query("user"));
}

Response StartAnalysisWith(const Client& c, const Request& r,
                           v1::StartCanaryAnalysisRequest& req,
                           const Json& execution) {
  if (!execution.is_object()) {
    return BadRequest("the canary analysis request must be a JSON object", r);
  }
  if (auto t = execution.find("thresholds");
      t != execution.end() && !t->is_null()) {
    v1::CanaryThresholds ignored;
    absl::Status s = ReadThresholds(*t, "thresholds", &ignored);
    if (!s.ok()) return Fail(s, r);
  }
  req.mutable_execution_request()->set_json(spinnaker::Dump(execution));
  v1::StartCanaryAnalysisResponse resp;
  grpc::Status s = c.stub->StartCanaryAnalysis(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return JsonResponse(
      Json{{"canaryAnalysisExecutionId", resp.canary_analysis_execution_id()}});
}

Response StartAnalysis(const Client& c, const Request& r) {
  absl::StatusOr<Json> body = ParseObjectBody(r);
  if (!body.ok()) return Fail(body.status(), r);
  v1::StartCanaryAnalysisRequest req;
  req.set_canary_config_id(r.params.at("configId"));
  ReadAnalysisParams(r, &req);
  return StartAnalysisWith(c, r, req, *body);
}

Response StartAdhocAnalysis(const Client& c, const Request& r) {
  absl::StatusOr<Json> body = ParseObjectBody(r);
  if (!body.ok()) return Fail(body.status(), r);
  Json config, execution;
  absl::Status read = ReadAdhoc(*body, &config, &execution);
  if (!read.ok()) return Fail(read, r);
  v1::StartCanaryAnalysisRequest req;
  req.mutable_canary_config()->set_json(spinnaker::Dump(config));
  ReadAnalysisParams(r, &req);
  return StartAnalysisWith(c, r, req, execution);
}

Response GetAnalysis(const Client& c, const Request& r) {
  v1::GetCanaryAnalysisRequest req;
  req.set_canary_analysis_execution_id(r.params.at("id"));
  v1::GetCanaryAnalysisResponse resp;
  grpc::Status s = c.stub->GetCanaryAnalysis(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return JsonResponse(AnalysisJson(resp.analysis()));
}

Response CancelAnalysis(const Client& c, const Request& r) {
  v1::CancelCanaryAnalysisRequest req;
  req.set_canary_analysis_execution_id(r.params.at("id"));
  v1::CancelCanaryAnalysisResponse resp;
  grpc::Status s = c.stub->CancelCanaryAnalysis(c.Context().get(), req, &resp);
  if (!s.ok()) return Fail(s, r);
  return NoContent(200);
}

// --- the route table ---

struct Route {
  const char* method;
  const char* pattern;
  Handler handler;
};

// Kayenta's paths. Literal segments come before {params} they would
// otherwise be taken as (the router takes the first match).
std::vector<Route> KayentaRoutes() {
  return {
      {"GET", "/canary/executions",
       [](const Client& c, const Request& r) {
         return ListExecutions(c, r, r.Query("application"));
       }},
      {"POST", "/canary", StartAdhocCanary},
      {"POST", "/canary/{configId}", StartCanary},
      {"GET", "/canary/{id}", GetExecution},
      {"GET", "/canaryConfig", ListConfigs},
      {"GET", "/canaryConfig/{id}", GetConfig},
      {"POST", "/canaryConfig", CreateConfig},
      {"PUT", "/canaryConfig/{id}", UpdateConfig},
      {"DELETE", "/canaryConfig/{id}",
       [](const Client& c, const Request& r) {
         return DeleteConfig(c, r, 204);
       }},
      {"GET", "/metadata/metricsService", ListMetricDescriptors},
      {"GET", "/judges", ListJudges},
      {"POST", "/judges/judge", JudgeStored},
      {"POST", "/metricSetPairList", CreatePairList},
      {"GET", "/metricSetPairList", ListPairLists},
      {"GET", "/metricSetPairList/{id}", GetPairList},
      {"GET", "/metricSetPairList/{id}/{pairId}", GetPair},
      {"DELETE", "/metricSetPairList/{id}", DeletePairList},
      {"GET", "/credentials", ListCredentials},
      {"GET", "/metricsServices", ListMetricsServices},
      {"POST", "/standalone_canary_analysis", StartAdhocAnalysis},
      {"POST", "/standalone_canary_analysis/{configId}", StartAnalysis},
      {"GET", "/standalone_canary_analysis/{id}", GetAnalysis},
      {"PUT", "/standalone_canary_analysis/{id}/cancel", CancelAnalysis},
      {"POST", "/standalone_canary_analysis/{id}/cancel", CancelAnalysis},
  };
}

// Gate's paths onto the same handlers.
std::vector<Route> GateRoutes() {
  return {
      {"GET", "/v2/canaryConfig", ListConfigs},
      {"GET", "/v2/canaryConfig/{id}", GetConfig},
      {"POST", "/v2/canaryConfig", CreateConfig},
      {"PUT", "/v2/canaryConfig/{id}", UpdateConfig},
      // Gate answers its DELETE with an empty 200.
      {"DELETE", "/v2/canaryConfig/{id}",
       [](const Client& c, const Request& r) {
         return DeleteConfig(c, r, 200);
       }},
      {"GET", "/v2/canaries/credentials", ListCredentials},
      {"GET", "/v2/canaries/metadata/metricsService", ListMetricDescriptors},
      {"GET", "/v2/canaries/judges", ListJudges},
      {"POST", "/v2/canaries/canary", StartAdhocCanary},
      {"POST", "/v2/canaries/canary/{configId}", StartCanary},
      {"GET", "/v2/canaries/canary/{id}", GetExecution},
      // Deprecated in Gate: the config id is ignored.
      {"GET", "/v2/canaries/canary/{configId}/{id}", GetExecution},
      {"GET", "/v2/canaries/metricSetPairList/{id}", GetPairList},
      {"GET", "/v2/canaries/{application}/executions",
       [](const Client& c, const Request& r) {
         return ListExecutions(c, r, r.params.at("application"));
       }},
  };
}

void AddAll(const AddRouteFn& add, const std::vector<Route>& routes,
            std::shared_ptr<const Client> client) {
  for (const Route& route : routes) {
    add(route.method, route.pattern,
        [client, h = route.handler](const Request& r) {
          return h(*client, r);
        });
  }
}

}  // namespace

http::Response KayentaErrorResponse(const absl::Status& status,
                                    const http::Request& request) {
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    // A message over a size limit (kayenta has no rate limits): never 429,
    // which clients retry.
    return http::Error(413, status.message(), request.path);
  }
  return http::ErrorFromStatus(status, request.path);
}

void AddKayentaRestRoutes(const AddRouteFn& add,
                          std::shared_ptr<KayentaStub> kayenta,
                          std::chrono::milliseconds deadline) {
  AddAll(add, KayentaRoutes(),
         std::make_shared<const Client>(Client{std::move(kayenta), deadline}));
}

void AddKayentaRestRoutes(http::Router& router,
                          std::shared_ptr<KayentaStub> kayenta,
                          std::chrono::milliseconds deadline) {
  AddKayentaRestRoutes(
      [&router](absl::string_view method, absl::string_view pattern,
                http::Handler h) { router.Add(method, pattern, std::move(h)); },
      std::move(kayenta), deadline);
}

void AddGateCanaryRoutes(const AddRouteFn& add,
                         std::shared_ptr<KayentaStub> kayenta,
                         std::chrono::milliseconds deadline) {
  if (kayenta == nullptr) {
    for (const Route& route : GateRoutes()) {
      add(route.method, route.pattern, [](const Request& r) {
        return http::Error(503,
                           "kayenta is not configured: set services.kayenta "
                           "in gate's configuration to use canary analysis",
                           r.path);
      });
    }
    return;
  }
  AddAll(add, GateRoutes(),
         std::make_shared<const Client>(Client{std::move(kayenta), deadline}));
}

}  // namespace gennaker::kayenta
