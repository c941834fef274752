#include "services/orca/kayenta_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "gennaker/kayenta/v1/kayenta.grpc.pb.h"

namespace gennaker::orca {

namespace {

namespace kv1 = ::gennaker::kayenta::v1;

// kayenta's answers are its own documents: text that does not parse is lost
// data, not a bad request. Empty text means absent.
absl::StatusOr<Json> ParseDocument(const std::string& text, const char* what) {
  if (text.empty()) return Json::object();
  absl::StatusOr<Json> j = spinnaker::ParseJson(
      text, absl::StrCat("kayenta's ", what), spinnaker::kStoredJsonLimits);
  if (!j.ok()) return absl::DataLossError(j.status().message());
  return j;
}

void FillScope(const Json& in, kv1::CanaryScope* out) {
  out->set_scope(String(in, "scope"));
  out->set_location(String(in, "location"));
  out->set_start_ms(Int(in, "start"));
  out->set_end_ms(Int(in, "end"));
  out->set_step_seconds(Int(in, "step", 60));
  const Json params = spinnaker::Object(in, "extendedScopeParams");
  for (auto it = params.begin(); it != params.end(); ++it) {
    // The metrics sources take strings; other scalars keep their JSON text.
    (*out->mutable_extended_scope_params())[it.key()] =
        it.value().is_string() ? it.value().get<std::string>()
                               : Dump(it.value());
  }
}

class KayentaGrpc : public Kayenta {
 public:
  KayentaGrpc(std::shared_ptr<grpc::Channel> channel,
              std::chrono::milliseconds deadline)
      : stub_(kv1::KayentaService::NewStub(std::move(channel))),
        deadline_(deadline) {}

  absl::StatusOr<std::string> StartCanary(const CanaryRunRequest& r) override {
    kv1::StartCanaryRequest req;
    req.set_canary_config_id(r.canary_config_id);
    req.set_application(r.application);
    req.set_parent_pipeline_execution_id(r.parent_pipeline_execution_id);
    req.set_metrics_account(r.metrics_account);
    req.set_configuration_account(r.configuration_account);
    for (auto it = r.scopes.begin(); it != r.scopes.end(); ++it) {
      kv1::CanaryScopePair& pair = (*req.mutable_scopes())[it.key()];
      FillScope(spinnaker::Object(it.value(), "controlScope"),
                pair.mutable_control_scope());
      FillScope(spinnaker::Object(it.value(), "experimentScope"),
                pair.mutable_experiment_scope());
    }
    req.mutable_thresholds()->set_pass(r.pass);
    req.mutable_thresholds()->set_marginal(r.marginal);
    if (r.site_local.is_object() && !r.site_local.empty()) {
      req.mutable_execution_request()->set_json(
          Dump(Json{{"siteLocal", r.site_local}}));
    }
    req.set_idempotency_key(r.idempotency_key);
    kv1::StartCanaryResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->StartCanary(ctx.get(), req, &resp)));
    if (resp.canary_execution_id().empty()) {
      return absl::InternalError("kayenta returned no canary execution id");
    }
    return resp.canary_execution_id();
  }

  absl::StatusOr<CanaryRun> GetCanaryExecution(const std::string& id) override {
    kv1::GetCanaryExecutionRequest req;
    req.set_canary_execution_id(id);
    kv1::GetCanaryExecutionResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetCanaryExecution(ctx.get(), req, &resp)));
    const kv1::CanaryExecution& e = resp.execution();
    CanaryRun run;
    run.id = e.id().empty() ? id : e.id();
    if (e.has_score()) run.score = e.score();
    run.end_time_ms = e.end_time_ms();
    GENNAKER_ASSIGN_OR_RETURN(run.result,
                              ParseDocument(e.result().json(), "result"));
    GENNAKER_ASSIGN_OR_RETURN(run.json,
                              ParseDocument(e.json().json(), "execution"));
    SetCanaryRunStatus(e.status(), &run);
    return run;
  }

  absl::StatusOr<bool> CancelCanary(const std::string& id) override {
    kv1::CancelCanaryRequest req;
    req.set_canary_execution_id(id);
    kv1::CancelCanaryResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->CancelCanary(ctx.get(), req, &resp)));
    return resp.canceled();
  }

  absl::StatusOr<std::vector<KayentaAccount>> ListCredentials() override {
    kv1::ListCredentialsRequest req;
    kv1::ListCredentialsResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->ListCredentials(ctx.get(), req, &resp)));
    std::vector<KayentaAccount> out;
    for (const kv1::AccountCredentials& a : resp.accounts()) {
      out.push_back({a.name(),
                     a.type(),
                     {a.supported_types().begin(), a.supported_types().end()}});
    }
    return out;
  }

 private:
  std::unique_ptr<kv1::KayentaService::Stub> stub_;
  std::chrono::milliseconds deadline_;
};

}  // namespace

void SetCanaryRunStatus(int value, CanaryRun* run) {
  switch (value) {
    case kv1::CANARY_STATUS_NOT_STARTED:
      run->status = status::kNotStarted;
      return;
    case kv1::CANARY_STATUS_RUNNING:
      run->status = status::kRunning;
      return;
    case kv1::CANARY_STATUS_SUCCEEDED:
      run->status = status::kSucceeded;
      return;
    case kv1::CANARY_STATUS_TERMINAL:
      run->status = status::kTerminal;
      return;
    case kv1::CANARY_STATUS_CANCELED:
      run->status = status::kCanceled;
      return;
    default:
      break;
  }
  const std::string name =
      kv1::CanaryStatus_IsValid(value)
          ? kv1::CanaryStatus_Name(static_cast<kv1::CanaryStatus>(value))
          : absl::StrCat(value);
  const std::string error = absl::StrCat("Canary execution ", run->id,
                                         " has a status orca does not know (",
                                         name, "); it is treated as failed");
  run->status = status::kTerminal;
  if (!run->json.is_object()) run->json = Json::object();
  run->json["exception"] = {
      {"details", {{"error", error}, {"errors", Json::array({error})}}}};
}

std::unique_ptr<Kayenta> NewKayentaGrpc(std::shared_ptr<grpc::Channel> channel,
                                        std::chrono::milliseconds deadline) {
  return std::make_unique<KayentaGrpc>(std::move(channel), deadline);
}

}  // namespace gennaker::orca
