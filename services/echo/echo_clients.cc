#include "services/echo/echo_clients.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace gennaker::echo {
namespace {

// Largest pipeline page asked of front50 (our channel takes 64 MiB).
constexpr int kDefaultMaxPageBytes = 48 << 20;
// A page token refused because the list changed: list again, a few times.
constexpr int kListAttempts = 3;

absl::StatusOr<Json> ParseObject(const std::string& text,
                                 absl::string_view what) {
  return spinnaker::ParseJsonObject(text, what, spinnaker::kStoredJsonLimits);
}

std::string ResultName(igor::v1::BuildResult r) {
  switch (r) {
    case igor::v1::BUILD_RESULT_SUCCESS:
      return "SUCCESS";
    case igor::v1::BUILD_RESULT_UNSTABLE:
      return "UNSTABLE";
    case igor::v1::BUILD_RESULT_FAILURE:
      return "FAILURE";
    case igor::v1::BUILD_RESULT_ABORTED:
      return "ABORTED";
    case igor::v1::BUILD_RESULT_NOT_BUILT:
      return "NOT_BUILT";
    default:
      return "";
  }
}

}  // namespace

absl::StatusOr<StartedExecution> GrpcOrcaClient::StartPipeline(
    const PipelineStart& start) {
  // The pipeline runs as the trigger's user: the call context travels as
  // x-spinnaker-user metadata.
  CallContext context = CurrentCallContext();
  if (context.request_id.empty()) context.request_id = NewRequestId();
  context.user = start.run_as_user;
  ScopedCallContext scoped(context);
  orca::v1::StartPipelineRequest req;
  req.set_pipeline_config_id(start.pipeline_id);
  req.set_application(start.application);
  req.mutable_trigger()->set_json(spinnaker::Dump(start.trigger));
  req.set_origin("echo");
  req.set_idempotency_key(start.idempotency_key);
  orca::v1::StartPipelineResponse resp;
  auto ctx = MakeClientContext(deadline_);
  grpc::Status s = stub_->StartPipeline(ctx.get(), req, &resp);
  if (!s.ok()) {
    absl::Status st = FromGrpcStatus(s);
    return absl::Status(
        st.code(), absl::StrCat("orca StartPipeline of ", start.pipeline_id,
                                ": ", st.message()));
  }
  StartedExecution e;
  e.id = resp.execution().id();
  e.application = resp.execution().application().empty()
                      ? start.application
                      : resp.execution().application();
  return e;
}

absl::StatusOr<std::vector<Json>> GrpcFront50Client::ListPipelines() {
  absl::Status last;
  for (int attempt = 0; attempt < kListAttempts; ++attempt) {
    std::vector<Json> out;
    std::string token;
    absl::Status s;
    do {
      front50::v1::ListAllPipelinesRequest req;
      req.set_kind(front50::v1::PIPELINE_KIND_PIPELINE);
      req.set_enabled_pipelines_only(true);
      req.set_max_page_bytes(max_page_bytes_ > 0 ? max_page_bytes_
                                                 : kDefaultMaxPageBytes);
      req.mutable_page()->set_page_token(token);
      front50::v1::ListAllPipelinesResponse resp;
      auto ctx = MakeClientContext(deadline_);
      grpc::Status g = stub_->ListAllPipelines(ctx.get(), req, &resp);
      if (!g.ok()) {
        s = FromGrpcStatus(g);
        break;
      }
      for (const front50::v1::Pipeline& p : resp.pipelines()) {
        if (p.deleted()) continue;
        absl::StatusOr<Json> config =
            ParseObject(p.config().json(), "pipeline config");
        if (!config.ok()) {
          SPDLOG_WARN("event=echo_pipeline_skipped pipeline={} error=\"{}\"",
                      p.id(), config.status().message());
          continue;
        }
        Json j = *std::move(config);
        j["id"] = p.id();
        j["name"] = p.name();
        j["application"] = p.application();
        j["disabled"] = p.disabled();
        out.push_back(std::move(j));
      }
      token = resp.page().next_page_token();
    } while (!token.empty());
    if (s.ok()) return out;
    last = s;
    if (s.code() != absl::StatusCode::kAborted) break;
  }
  return absl::Status(
      last.code(), absl::StrCat("front50 ListAllPipelines: ", last.message()));
}

absl::StatusOr<Json> GrpcFront50Client::ApplicationNotifications(
    const std::string& application) {
  front50::v1::GetNotificationsRequest req;
  req.set_level(front50::v1::NOTIFICATION_LEVEL_APPLICATION);
  req.set_application(application);
  req.set_include_global(true);
  front50::v1::GetNotificationsResponse resp;
  auto ctx = MakeClientContext(deadline_);
  grpc::Status g = stub_->GetNotifications(ctx.get(), req, &resp);
  if (g.error_code() == grpc::StatusCode::NOT_FOUND) return Json();
  if (!g.ok()) {
    absl::Status st = FromGrpcStatus(g);
    return absl::Status(
        st.code(), absl::StrCat("front50 GetNotifications: ", st.message()));
  }
  if (resp.notifications().body().json().empty()) return Json();
  return ParseObject(resp.notifications().body().json(), "notification set");
}

absl::StatusOr<Json> GrpcIgorSource::BuildInfo(const std::string& master,
                                               const std::string& job,
                                               int64_t number) {
  igor::v1::GetBuildRequest req;
  req.mutable_build()->set_master(master);
  req.mutable_build()->set_job(job);
  req.mutable_build()->set_build_number(number);
  igor::v1::GetBuildResponse resp;
  auto ctx = MakeClientContext(deadline_);
  grpc::Status g = stub_->GetBuild(ctx.get(), req, &resp);
  if (!g.ok()) {
    absl::Status st = FromGrpcStatus(g);
    return absl::Status(st.code(),
                        absl::StrCat("igor GetBuild: ", st.message()));
  }
  const igor::v1::Build& b = resp.build();
  if (!b.build_info().json().empty()) {
    return ParseObject(b.build_info().json(), "buildInfo");
  }
  Json j{{"building", b.building()},
         {"fullDisplayName", b.full_display_name()},
         {"name", b.job()},
         {"number", b.number()},
         {"duration", b.duration_ms()},
         {"timestamp", std::to_string(b.timestamp_ms())},
         {"result", ResultName(b.result())},
         {"url", b.url()},
         {"id", b.id()}};
  return j;
}

absl::StatusOr<Json> GrpcIgorSource::Properties(const std::string& master,
                                                const std::string& job,
                                                int64_t number,
                                                const std::string& file) {
  igor::v1::GetBuildPropertiesRequest req;
  req.mutable_build()->set_master(master);
  req.mutable_build()->set_job(job);
  req.mutable_build()->set_build_number(number);
  req.set_file_name(file);
  igor::v1::GetBuildPropertiesResponse resp;
  auto ctx = MakeClientContext(deadline_);
  grpc::Status g = stub_->GetBuildProperties(ctx.get(), req, &resp);
  if (!g.ok()) {
    absl::Status st = FromGrpcStatus(g);
    return absl::Status(
        st.code(), absl::StrCat("igor GetBuildProperties: ", st.message()));
  }
  return ParseObject(resp.properties().json(), "build properties");
}

Front50Watcher::Front50Watcher(
    std::shared_ptr<front50::v1::Front50Service::StubInterface> stub,
    std::function<void()> on_change)
    : stub_(std::move(stub)), on_change_(std::move(on_change)) {
  thread_ = std::thread([this] { Run(); });
}

Front50Watcher::~Front50Watcher() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  thread_.join();
}

void Front50Watcher::Run() {
  absl::Duration backoff = absl::Milliseconds(500);
  while (true) {
    grpc::ClientContext ctx;
    {
      absl::MutexLock l(&mu_);
      if (stop_) return;
      context_ = &ctx;
    }
    front50::v1::WatchChangesRequest req;
    auto reader = stub_->WatchChanges(&ctx, req);
    front50::v1::ChangeEvent change;
    bool first = true;
    while (reader->Read(&change)) {
      if (first) {
        // Connected: changes missed while away are not replayed.
        first = false;
        backoff = absl::Milliseconds(500);
      }
      if (change.type() == front50::v1::OBJECT_TYPE_PIPELINE ||
          change.application() == "*") {
        on_change_();
      }
    }
    grpc::Status s = reader->Finish();
    {
      absl::MutexLock l(&mu_);
      context_ = nullptr;
      if (stop_) return;
    }
    SPDLOG_WARN("event=echo_front50_watch_lost error=\"{}\" retry_ms={}",
                s.error_message(), absl::ToInt64Milliseconds(backoff));
    on_change_();
    absl::MutexLock l(&mu_);
    auto cond = [this]() {
      mu_.AssertHeld();
      return stop_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&cond), backoff);
    backoff = std::min(backoff * 2, absl::Seconds(30));
  }
}

}  // namespace gennaker::echo
