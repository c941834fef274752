#include "services/orca/rosco_client.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "gennaker/rosco/v1/rosco.grpc.pb.h"

namespace gennaker::orca {

namespace {

namespace rv1 = ::gennaker::rosco::v1;
namespace cv1 = ::gennaker::common::v1;

constexpr char kProviderPrefix[] = "CLOUD_PROVIDER_TYPE_";

// "local" -> CLOUD_PROVIDER_TYPE_LOCAL; "" -> unspecified (rosco's default).
absl::StatusOr<rv1::CloudProviderType> ProviderOf(const std::string& name) {
  if (name.empty()) return rv1::CLOUD_PROVIDER_TYPE_UNSPECIFIED;
  rv1::CloudProviderType t;
  if (!rv1::CloudProviderType_Parse(
          absl::StrCat(kProviderPrefix, absl::AsciiStrToUpper(name)), &t) ||
      t == rv1::CLOUD_PROVIDER_TYPE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown cloud provider type '", name, "' for a bake"));
  }
  return t;
}

std::string ProviderName(rv1::CloudProviderType t) {
  if (t == rv1::CLOUD_PROVIDER_TYPE_UNSPECIFIED) return "";
  std::string name = rv1::CloudProviderType_Name(t);
  if (absl::StartsWith(name, kProviderPrefix)) {
    name = name.substr(sizeof(kProviderPrefix) - 1);
  }
  return absl::AsciiStrToLower(name);
}

absl::StatusOr<rv1::PackageType> PackageTypeOf(const std::string& name) {
  if (name.empty()) return rv1::PACKAGE_TYPE_UNSPECIFIED;
  rv1::PackageType t;
  if (!rv1::PackageType_Parse(
          absl::StrCat("PACKAGE_TYPE_", absl::AsciiStrToUpper(name)), &t) ||
      t == rv1::PACKAGE_TYPE_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown package type '", name, "' (DEB, RPM or NUPKG) for a bake"));
  }
  return t;
}

// Text of an object for a JsonObject field; absent when empty.
void SetObject(const Json& j, cv1::JsonObject* out) {
  if (j.is_object() && !j.empty()) out->set_json(Dump(j));
}

cv1::Artifact ArtifactProto(const Json& j) {
  cv1::Artifact a;
  a.set_type(String(j, "type"));
  a.set_custom_kind(Bool(j, "customKind"));
  a.set_name(String(j, "name"));
  a.set_version(String(j, "version"));
  a.set_location(String(j, "location"));
  a.set_reference(String(j, "reference"));
  SetObject(spinnaker::Object(j, "metadata"), a.mutable_metadata());
  a.set_artifact_account(String(j, "artifactAccount"));
  a.set_provenance(String(j, "provenance"));
  a.set_uuid(String(j, "uuid"));
  return a;
}

// An artifact as Spinnaker's JSON; metadata that does not parse is dropped
// (it is rosco's decoration, not what the artifact is).
Json ArtifactJson(const cv1::Artifact& a) {
  Json j = {{"type", a.type()},         {"customKind", a.custom_kind()},
            {"name", a.name()},         {"version", a.version()},
            {"location", a.location()}, {"reference", a.reference()}};
  Json metadata = Json::object();
  if (!a.metadata().json().empty()) {
    absl::StatusOr<Json> m = spinnaker::ParseJson(
        a.metadata().json(), "artifact metadata", spinnaker::kStoredJsonLimits);
    if (m.ok() && m->is_object()) metadata = std::move(*m);
  }
  j["metadata"] = std::move(metadata);
  if (!a.artifact_account().empty()) {
    j["artifactAccount"] = a.artifact_account();
  }
  if (!a.provenance().empty()) j["provenance"] = a.provenance();
  if (!a.uuid().empty()) j["uuid"] = a.uuid();
  return j;
}

RoscoBakeStatus StatusOf(const rv1::BakeStatus& s) {
  RoscoBakeStatus out;
  out.id = s.id();
  switch (s.state()) {
    case rv1::BAKE_STATE_RUNNING:
      out.state = "RUNNING";
      break;
    case rv1::BAKE_STATE_COMPLETED:
      out.state = "COMPLETED";
      break;
    case rv1::BAKE_STATE_CANCELED:
      out.state = "CANCELED";
      break;
    case rv1::BAKE_STATE_SUSPENDED:
      out.state = "SUSPENDED";
      break;
    default:
      break;
  }
  switch (s.result()) {
    case rv1::BAKE_RESULT_SUCCESS:
      out.result = "SUCCESS";
      break;
    case rv1::BAKE_RESULT_FAILURE:
      out.result = "FAILURE";
      break;
    default:
      break;
  }
  out.resource_id = s.resource_id();
  out.region = s.region();
  out.bake_key = s.bake_key();
  out.created_at_ms = s.created_at_ms();
  out.updated_at_ms = s.updated_at_ms();
  out.failure_message = s.failure_message();
  return out;
}

absl::StatusOr<rv1::BakeRequest> RequestProto(const RoscoBakeRequest& r) {
  rv1::BakeRequest b;
  b.set_user(r.user);
  b.set_build_host(r.build_host);
  b.set_job(r.job);
  b.set_build_number(r.build_number);
  b.set_commit_hash(r.commit_hash);
  b.set_build_info_url(r.build_info_url);
  b.set_package_names(r.package);
  if (r.package_artifacts.is_array()) {
    for (const Json& a : r.package_artifacts) {
      if (a.is_object()) *b.add_package_artifacts() = ArtifactProto(a);
    }
  }
  GENNAKER_ASSIGN_OR_RETURN(rv1::PackageType package_type,
                            PackageTypeOf(r.package_type));
  b.set_package_type(package_type);
  GENNAKER_ASSIGN_OR_RETURN(rv1::CloudProviderType provider,
                            ProviderOf(r.cloud_provider_type));
  b.set_cloud_provider_type(provider);
  b.set_base_label(r.base_label);
  b.set_base_os(r.base_os);
  b.set_base_name(r.base_name);
  b.set_base_ami(r.base_ami);
  b.set_vm_type(r.vm_type);
  b.set_store_type(r.store_type);
  b.set_enhanced_networking(r.enhanced_networking);
  b.set_ami_name(r.ami_name);
  b.set_ami_suffix(r.ami_suffix);
  b.set_upgrade(r.upgrade);
  b.set_instance_type(r.instance_type);
  b.set_organization(r.organization);
  b.set_template_file_name(r.template_file_name);
  b.set_var_file_name(r.var_file_name);
  SetObject(r.extended_attributes, b.mutable_extended_attributes());
  b.set_account_name(r.account_name);
  b.set_spinnaker_execution_id(r.spinnaker_execution_id);
  SetObject(r.additional_attributes, b.mutable_additional_attributes());
  return b;
}

class RoscoGrpc : public Rosco {
 public:
  RoscoGrpc(std::shared_ptr<grpc::Channel> channel,
            std::chrono::milliseconds deadline)
      : stub_(rv1::RoscoService::NewStub(std::move(channel))),
        deadline_(deadline) {}

  absl::StatusOr<RoscoCreatedBake> CreateBake(
      const std::string& region, const RoscoBakeRequest& request, bool rebake,
      const std::string& idempotency_key) override {
    rv1::CreateBakeRequest req;
    req.set_region(region);
    GENNAKER_ASSIGN_OR_RETURN(*req.mutable_bake_request(),
                              RequestProto(request));
    req.set_rebake(rebake);
    req.set_idempotency_key(idempotency_key);
    rv1::CreateBakeResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->CreateBake(ctx.get(), req, &resp)));
    if (resp.status().id().empty()) {
      return absl::InternalError("rosco returned no bake status id");
    }
    return RoscoCreatedBake{StatusOf(resp.status()), resp.reused()};
  }

  absl::StatusOr<RoscoBakeStatus> GetBakeStatus(
      const std::string& region, const std::string& status_id) override {
    rv1::GetBakeStatusRequest req;
    req.set_region(region);
    req.set_status_id(status_id);
    rv1::GetBakeStatusResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetBakeStatus(ctx.get(), req, &resp)));
    RoscoBakeStatus s = StatusOf(resp.status());
    if (s.id.empty()) s.id = status_id;
    return s;
  }

  absl::StatusOr<RoscoBake> GetBake(const std::string& region,
                                    const std::string& bake_id) override {
    rv1::GetBakeRequest req;
    req.set_region(region);
    req.set_bake_id(bake_id);
    rv1::GetBakeResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->GetBake(ctx.get(), req, &resp)));
    const rv1::Bake& b = resp.bake();
    RoscoBake out;
    out.id = b.id().empty() ? bake_id : b.id();
    out.ami = b.ami();
    out.image_name = b.image_name();
    out.regions.assign(b.regions().begin(), b.regions().end());
    out.base_ami = b.base_ami();
    if (b.has_artifact()) out.artifact = ArtifactJson(b.artifact());
    for (const cv1::Artifact& a : b.artifacts()) {
      out.artifacts.push_back(ArtifactJson(a));
    }
    out.cloud_provider_type = ProviderName(b.cloud_provider_type());
    return out;
  }

  absl::StatusOr<bool> CancelBake(const std::string& region,
                                  const std::string& status_id) override {
    rv1::CancelBakeRequest req;
    req.set_region(region);
    req.set_status_id(status_id);
    rv1::CancelBakeResponse resp;
    auto ctx = MakeClientContext(deadline_);
    GENNAKER_RETURN_IF_ERROR(
        FromGrpcStatus(stub_->CancelBake(ctx.get(), req, &resp)));
    return resp.canceled();
  }

 private:
  std::unique_ptr<rv1::RoscoService::Stub> stub_;
  std::chrono::milliseconds deadline_;
};

}  // namespace

std::unique_ptr<Rosco> NewRoscoGrpc(std::shared_ptr<grpc::Channel> channel,
                                    std::chrono::milliseconds deadline) {
  return std::make_unique<RoscoGrpc>(std::move(channel), deadline);
}

}  // namespace gennaker::orca
