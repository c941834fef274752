#include "services/igor/igor_grpc.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/spinnaker/json.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/igor/igor_core.h"

namespace gennaker::igor {
namespace {

using grpc::ServerContext;
using grpc::Status;

constexpr int kDefaultPageSize = 1000;
constexpr int kMaxPageSize = 10000;
constexpr int64_t kMaxPageOffset = int64_t{1} << 40;

template <typename Body>
Status Serve(Body&& body) {
  return ToGrpcStatus(std::forward<Body>(body)());
}

// The slice of `all` a page asks for; fills `page_out`.
template <typename T>
absl::StatusOr<std::vector<T>> Page(std::vector<T> all,
                                    const common::v1::PageRequest& page,
                                    common::v1::PageResponse* page_out) {
  const int limit = page.page_size() > 0
                        ? std::min(page.page_size(), kMaxPageSize)
                        : kDefaultPageSize;
  int64_t offset = 0;
  if (!page.page_token().empty() &&
      (!absl::SimpleAtoi(page.page_token(), &offset) || offset < 0 ||
       offset > kMaxPageOffset)) {
    return absl::InvalidArgumentError("page.pageToken is not valid");
  }
  page_out->set_total_size(static_cast<int64_t>(all.size()));
  std::vector<T> out;
  for (int64_t i = offset; i < static_cast<int64_t>(all.size()) &&
                           out.size() < static_cast<size_t>(limit);
       ++i) {
    out.push_back(std::move(all[i]));
  }
  if (offset + limit < static_cast<int64_t>(all.size())) {
    page_out->set_next_page_token(absl::StrCat(offset + limit));
  }
  return out;
}

class IgorGrpcService final : public v1::IgorService::Service {
 public:
  explicit IgorGrpcService(IgorCore* core) : core_(core) {}

  Status ListMasters(ServerContext*, const v1::ListMastersRequest* req,
                     v1::ListMastersResponse* resp) override {
    return Serve([&]() -> absl::Status {
      for (v1::BuildMaster& m : core_->ListMasters(req->type())) {
        *resp->add_masters() = std::move(m);
      }
      return absl::OkStatus();
    });
  }

  Status GetMaster(ServerContext*, const v1::GetMasterRequest* req,
                   v1::GetMasterResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(*resp->mutable_master(),
                                core_->GetMaster(req->name()));
      return absl::OkStatus();
    });
  }

  Status ListJobs(ServerContext*, const v1::ListJobsRequest* req,
                  v1::ListJobsResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(std::vector<std::string> jobs,
                                core_->ListJobs(req->master()));
      GENNAKER_ASSIGN_OR_RETURN(
          jobs, Page(std::move(jobs), req->page(), resp->mutable_page()));
      for (std::string& j : jobs) resp->add_jobs(std::move(j));
      return absl::OkStatus();
    });
  }

  Status GetJobConfig(ServerContext*, const v1::GetJobConfigRequest* req,
                      v1::GetJobConfigResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(*resp->mutable_config(),
                                core_->GetJobConfig(req->master(), req->job()));
      return absl::OkStatus();
    });
  }

  Status GetBuild(ServerContext*, const v1::GetBuildRequest* req,
                  v1::GetBuildResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(*resp->mutable_build(),
                                core_->GetBuild(req->build()));
      return absl::OkStatus();
    });
  }

  Status ListBuilds(ServerContext*, const v1::ListBuildsRequest* req,
                    v1::ListBuildsResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(std::vector<v1::Build> builds,
                                core_->ListBuilds(req->master(), req->job()));
      GENNAKER_ASSIGN_OR_RETURN(
          builds, Page(std::move(builds), req->page(), resp->mutable_page()));
      for (v1::Build& b : builds) *resp->add_builds() = std::move(b);
      return absl::OkStatus();
    });
  }

  Status TriggerBuild(ServerContext*, const v1::TriggerBuildRequest* req,
                      v1::TriggerBuildResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(*resp, core_->TriggerBuild(*req));
      return absl::OkStatus();
    });
  }

  Status GetQueuedBuild(ServerContext*, const v1::GetQueuedBuildRequest* req,
                        v1::GetQueuedBuildResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          *resp->mutable_queued_build(),
          core_->GetQueuedBuild(req->master(), req->queue_id()));
      return absl::OkStatus();
    });
  }

  Status StopBuild(ServerContext*, const v1::StopBuildRequest* req,
                   v1::StopBuildResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          bool stopped, core_->StopBuild(req->build(), req->queue_id()));
      resp->set_stopped(stopped);
      return absl::OkStatus();
    });
  }

  Status UpdateBuildDescription(ServerContext*,
                                const v1::UpdateBuildDescriptionRequest* req,
                                v1::UpdateBuildDescriptionResponse*) override {
    return Serve([&]() -> absl::Status {
      return core_->UpdateBuildDescription(req->build(), req->description());
    });
  }

  Status GetBuildProperties(ServerContext*,
                            const v1::GetBuildPropertiesRequest* req,
                            v1::GetBuildPropertiesResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          spinnaker::Json props,
          core_->GetBuildProperties(req->build(), req->file_name()));
      resp->mutable_properties()->set_json(spinnaker::Dump(props));
      return absl::OkStatus();
    });
  }

  Status GetBuildArtifacts(ServerContext*,
                           const v1::GetBuildArtifactsRequest* req,
                           v1::GetBuildArtifactsResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          std::vector<common::v1::Artifact> artifacts,
          core_->GetBuildArtifacts(req->build(), req->property_file()));
      for (common::v1::Artifact& a : artifacts) {
        *resp->add_artifacts() = std::move(a);
      }
      return absl::OkStatus();
    });
  }

  Status ListSeenDockerTags(ServerContext*,
                            const v1::ListSeenDockerTagsRequest* req,
                            v1::ListSeenDockerTagsResponse* resp) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          std::vector<v1::DockerTag> tags,
          core_->ListSeenDockerTags(req->account(), req->repository()));
      GENNAKER_ASSIGN_OR_RETURN(
          tags, Page(std::move(tags), req->page(), resp->mutable_page()));
      for (v1::DockerTag& t : tags) *resp->add_tags() = std::move(t);
      return absl::OkStatus();
    });
  }

 private:
  IgorCore* const core_;
};

}  // namespace

std::unique_ptr<v1::IgorService::Service> NewIgorGrpcService(IgorCore* core) {
  return std::make_unique<IgorGrpcService>(core);
}

}  // namespace gennaker::igor
