#include "services/orca/igor_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "gennaker/igor/v1/igor.grpc.pb.h"

namespace gennaker::orca {

namespace {

namespace iv1 = ::gennaker::igor::v1;

// igor's answers are its own documents: text that does not parse is lost
// data, not a bad request. Empty text means absent.
absl::StatusOr<Json> ParseDocument(const std::string& text, const char* what) {
  if (text.empty()) return Json::object();
  absl::StatusOr<Json> j = spinnaker::ParseJson(
      text, absl::StrCat("igor's ", what), spinnaker::kStoredJsonLimits);
  if (!j.ok()) return absl::DataLossError(j.status().message());
  return j;
}

const char* ResultName(iv1::BuildResult r) {
  switch (r) {
    case iv1::BUILD_RESULT_SUCCESS:
      return "SUCCESS";
    case iv1::BUILD_RESULT_UNSTABLE:
      return "UNSTABLE";
    case iv1::BUILD_RESULT_FAILURE:
      return "FAILURE";
    case iv1::BUILD_RESULT_ABORTED:
      return "ABORTED";
    case iv1::BUILD_RESULT_NOT_BUILT:
      return "NOT_BUILT";
    default:
      return "";
  }
}

Json ArtifactJson(const common::v1::Artifact& a) {
  Json j = Json::object();
  j["type"] = a.type();
  j["customKind"] = a.custom_kind();
  j["name"] = a.name();
  j["version"] = a.version();
  j["location"] = a.location();
  j["reference"] = a.reference();
  Json metadata = Json::object();
  if (!a.metadata().json().empty()) {
    absl::StatusOr<Json> m = spinnaker::ParseJson(
        a.metadata().json(), "artifact metadata", spinnaker::kStoredJsonLimits);
    if (m.ok() && m->is_object()) metadata = std::move(*m);
  }
  j["metadata"] = std::move(metadata);
  j["artifactAccount"] = a.artifact_account();
  j["provenance"] = a.provenance();
  if (!a.uuid().empty()) j["uuid"] = a.uuid();
  return j;
}

void FillKey(const std::string& master, const std::string& job, int64_t number,
             iv1::BuildKey* key) {
  key->set_master(master);
  key->set_job(job);
  key->set_build_number(number);
}

class IgorGrpc : public Igor {
 public:
  IgorGrpc(std::shared_ptr<grpc::Channel> channel,
           std::chrono::milliseconds deadline)
      : stub_(iv1::IgorService::NewStub(std::move(channel))),
        deadline_(deadline) {}

  absl::StatusOr<CiTriggerOutcome> TriggerBuild(
      const CiBuildRequest& r) override {
    iv1::TriggerBuildRequest req;
    req.set_master(r.master);
    req.set_job(r.job);
    for (const auto& [k, v] : r.parameters) (*req.mutable_parameters())[k] = v;
    req.set_idempotency_key(r.idempotency_key);
    req.mutable_execution()->set_id(r.execution_id);
    req.mutable_execution()->set_type(r.execution_type == "ORCHESTRATION"
                                          ? common::v1::ORCHESTRATION
                                          : common::v1::PIPELINE);
    req.mutable_execution()->set_application(r.application);
    iv1::TriggerBuildResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->TriggerBuild(ctx.get(), req, &resp)));
    CiTriggerOutcome out;
    if (resp.state() == iv1::TRIGGER_BUILD_STATE_QUEUED) {
      if (resp.queue_id().empty()) {
        return absl::InternalError("igor queued a build without a queue id");
      }
      out.queue_id = resp.queue_id();
    } else {
      // PENDING, or a state this orca does not know: ask again later.
      out.pending = true;
    }
    return out;
  }

  absl::StatusOr<CiQueuedBuild> GetQueuedBuild(
      const std::string& master, const std::string& queue_id) override {
    iv1::GetQueuedBuildRequest req;
    req.set_master(master);
    req.set_queue_id(queue_id);
    iv1::GetQueuedBuildResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetQueuedBuild(ctx.get(), req, &resp)));
    const iv1::QueuedBuild& q = resp.queued_build();
    CiQueuedBuild out;
    out.queue_id = q.queue_id().empty() ? queue_id : q.queue_id();
    if (q.has_build_number()) out.build_number = q.build_number();
    out.build_url = q.build_url();
    out.cancelled = q.cancelled();
    return out;
  }

  absl::StatusOr<CiBuild> GetBuild(const std::string& master,
                                   const std::string& job,
                                   int64_t number) override {
    iv1::GetBuildRequest req;
    FillKey(master, job, number, req.mutable_build());
    iv1::GetBuildResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetBuild(ctx.get(), req, &resp)));
    const iv1::Build& b = resp.build();
    CiBuild out;
    out.building = b.building();
    out.result = ResultName(b.result());
    out.number = b.number() > 0 ? b.number() : number;
    out.url = b.url();
    GENNAKER_ASSIGN_OR_RETURN(out.info,
                              ParseDocument(b.build_info().json(), "build"));
    if (!out.info.is_object()) out.info = Json::object();
    Json& info = out.info;
    // The typed fields are authoritative for what the stage decides on.
    info["building"] = out.building;
    info["number"] = out.number;
    if (out.result.empty()) {
      if (!info.contains("result")) info["result"] = nullptr;
    } else {
      info["result"] = out.result;
    }
    if (!info.contains("url")) info["url"] = out.url;
    if (!info.contains("name")) info["name"] = b.job().empty() ? job : b.job();
    if (!info.contains("id")) {
      info["id"] = b.id().empty() ? absl::StrCat(out.number) : b.id();
    }
    if (!info.contains("duration")) info["duration"] = b.duration_ms();
    if (!info.contains("timestamp")) {
      info["timestamp"] = absl::StrCat(b.timestamp_ms());
    }
    if (!info.contains("fullDisplayName") && !b.full_display_name().empty()) {
      info["fullDisplayName"] = b.full_display_name();
    }
    if (!info.contains("artifacts")) {
      Json artifacts = Json::array();
      for (const iv1::BuildArtifact& a : b.artifacts()) {
        artifacts.push_back({{"fileName", a.file_name()},
                             {"displayPath", a.display_path()},
                             {"relativePath", a.relative_path()},
                             {"reference", a.reference()}});
      }
      info["artifacts"] = std::move(artifacts);
    }
    return out;
  }

  absl::StatusOr<bool> StopBuild(const std::string& master,
                                 const std::string& job,
                                 const std::string& queue_id,
                                 int64_t number) override {
    iv1::StopBuildRequest req;
    FillKey(master, job, number, req.mutable_build());
    req.set_queue_id(queue_id);
    iv1::StopBuildResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->StopBuild(ctx.get(), req, &resp)));
    return resp.stopped();
  }

  absl::StatusOr<Json> GetBuildProperties(const std::string& master,
                                          const std::string& job,
                                          int64_t number,
                                          const std::string& file) override {
    iv1::GetBuildPropertiesRequest req;
    FillKey(master, job, number, req.mutable_build());
    req.set_file_name(file);
    iv1::GetBuildPropertiesResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetBuildProperties(ctx.get(), req, &resp)));
    GENNAKER_ASSIGN_OR_RETURN(
        Json props, ParseDocument(resp.properties().json(), "properties"));
    if (!props.is_object()) {
      return absl::DataLossError("igor's properties are not a JSON object");
    }
    return props;
  }

  absl::StatusOr<Json> GetBuildArtifacts(const std::string& master,
                                         const std::string& job, int64_t number,
                                         const std::string& file) override {
    iv1::GetBuildArtifactsRequest req;
    FillKey(master, job, number, req.mutable_build());
    req.set_property_file(file);
    iv1::GetBuildArtifactsResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetBuildArtifacts(ctx.get(), req, &resp)));
    Json out = Json::array();
    for (const common::v1::Artifact& a : resp.artifacts()) {
      out.push_back(ArtifactJson(a));
    }
    return out;
  }

 private:
  std::unique_ptr<iv1::IgorService::Stub> stub_;
  std::chrono::milliseconds deadline_;
};

}  // namespace

std::unique_ptr<Igor> NewIgorGrpc(std::shared_ptr<grpc::Channel> channel,
                                  std::chrono::milliseconds deadline) {
  return std::make_unique<IgorGrpc>(std::move(channel), deadline);
}

}  // namespace gennaker::orca
