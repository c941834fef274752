#include "services/igor/igor_core.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/igor/ci/ci_http.h"
#include "services/igor/ci/properties.h"

namespace gennaker::igor {

using spinnaker::Json;

namespace {

constexpr size_t kMaxParams = 256;
constexpr size_t kMaxParamNameBytes = 256;
constexpr size_t kMaxParamValueBytes = 64 << 10;
constexpr size_t kMaxKeyBytes = 512;
constexpr size_t kMaxDescriptionBytes = 64 << 10;
constexpr size_t kMaxFileNameBytes = 1024;

constexpr char kPending[] = "PENDING";
constexpr char kQueued[] = "QUEUED";
// The CI server may have queued a build: never trigger again for this key.
constexpr char kUnknown[] = "UNKNOWN";

absl::Status CheckJob(const std::string& job) {
  if (job.empty()) return absl::InvalidArgumentError("job is required");
  if (job.size() > 1024) {
    return absl::InvalidArgumentError("job is longer than 1024 bytes");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::TriggerBuildResponse> FromRecord(const std::string& text) {
  absl::StatusOr<Json> j = spinnaker::ParseJson(text, "trigger record",
                                                spinnaker::kStoredJsonLimits);
  if (!j.ok()) return absl::InternalError(j.status().message());
  v1::TriggerBuildResponse resp;
  if (spinnaker::String(*j, "state") == kUnknown) {
    return absl::FailedPreconditionError(spinnaker::String(*j, "error"));
  }
  if (spinnaker::String(*j, "state") == kQueued) {
    resp.set_state(v1::TRIGGER_BUILD_STATE_QUEUED);
    resp.set_queue_id(spinnaker::String(*j, "queueId"));
  } else {
    resp.set_state(v1::TRIGGER_BUILD_STATE_PENDING);
  }
  return resp;
}

}  // namespace

IgorCore::IgorCore(std::vector<MasterEntry> masters, SeenStore* store,
                   CoreOptions options)
    : store_(store), options_(std::move(options)) {
  for (MasterEntry& m : masters) {
    std::string name = m.info.name();
    masters_.emplace(std::move(name), std::move(m));
  }
}

BuildService* IgorCore::service(const std::string& name) const {
  auto it = masters_.find(name);
  return it == masters_.end() ? nullptr : it->second.service.get();
}

std::vector<BuildService*> IgorCore::services() const {
  std::vector<BuildService*> out;
  for (const auto& [name, m] : masters_) out.push_back(m.service.get());
  return out;
}

absl::StatusOr<BuildService*> IgorCore::Find(const std::string& master) const {
  if (master.empty()) return absl::InvalidArgumentError("master is required");
  auto it = masters_.find(master);
  if (it == masters_.end()) {
    return absl::NotFoundError(
        absl::StrCat("build master '", master, "' not found"));
  }
  return it->second.service.get();
}

absl::StatusOr<BuildService*> IgorCore::FindBuild(
    const v1::BuildKey& key) const {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, Find(key.master()));
  GENNAKER_RETURN_IF_ERROR(CheckJob(key.job()));
  if (key.build_number() <= 0) {
    return absl::InvalidArgumentError("build_number must be positive");
  }
  return s;
}

std::vector<v1::BuildMaster> IgorCore::ListMasters(
    v1::BuildServiceType type) const {
  std::vector<v1::BuildMaster> out;
  for (const auto& [name, m] : masters_) {
    if (type == v1::BUILD_SERVICE_TYPE_UNSPECIFIED || m.info.type() == type) {
      out.push_back(m.info);
    }
  }
  return out;
}

absl::StatusOr<v1::BuildMaster> IgorCore::GetMaster(
    const std::string& name) const {
  GENNAKER_RETURN_IF_ERROR(Find(name).status());
  return masters_.at(name).info;
}

absl::StatusOr<std::vector<std::string>> IgorCore::ListJobs(
    const std::string& master) {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, Find(master));
  return s->ListJobs();
}

absl::StatusOr<v1::JobConfig> IgorCore::GetJobConfig(const std::string& master,
                                                     const std::string& job) {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, Find(master));
  GENNAKER_RETURN_IF_ERROR(CheckJob(job));
  return s->GetJobConfig(job);
}

absl::StatusOr<v1::Build> IgorCore::GetBuild(const v1::BuildKey& key) {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, FindBuild(key));
  return s->GetBuild(key.job(), key.build_number());
}

absl::StatusOr<std::vector<v1::Build>> IgorCore::ListBuilds(
    const std::string& master, const std::string& job) {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, Find(master));
  GENNAKER_RETURN_IF_ERROR(CheckJob(job));
  return s->ListBuilds(job);
}

absl::StatusOr<std::string> IgorCore::Queue(
    BuildService* s, const v1::TriggerBuildRequest& req) {
  // Everything before s->TriggerBuild fails without reaching the CI.
  absl::StatusOr<v1::JobConfig> got = s->GetJobConfig(req.job());
  if (!got.ok()) return internal::NotQueued(got.status());
  const v1::JobConfig& config = *got;
  if (!config.buildable()) {
    return internal::NotQueued(absl::FailedPreconditionError(
        absl::StrCat("job '", req.job(), "' on master '", req.master(),
                     "' is not buildable (disabled)")));
  }
  for (const v1::JobParameterDefinition& d : config.parameter_definitions()) {
    auto it = req.parameters().find(d.name());
    if (it == req.parameters().end() || d.choices_size() == 0) continue;
    if (std::find(d.choices().begin(), d.choices().end(), it->second) ==
        d.choices().end()) {
      return internal::NotQueued(absl::InvalidArgumentError(absl::StrCat(
          "parameter '", d.name(), "' of job '", req.job(), "' is '",
          it->second, "', which is not one of its choices")));
    }
  }
  std::map<std::string, std::string> params(req.parameters().begin(),
                                            req.parameters().end());
  absl::StatusOr<std::string> id = s->TriggerBuild(req.job(), params, config);
  if (id.ok() || internal::IsNotQueued(id.status())) return id;
  // The CI may have queued the build (the POST timed out or was reset after
  // it was sent, or the answer had no queue id): a retry must not queue a
  // second one, and nothing can be followed. FAILED_PRECONDITION, which
  // callers do not retry.
  std::string where = s->address();
  if (s->type() == v1::BUILD_SERVICE_TYPE_JENKINS) {
    absl::StatusOr<std::string> path = JenkinsJobPath(req.job());
    if (path.ok()) where = absl::StrCat(internal::WithSlash(where), *path);
  }
  SPDLOG_WARN("event=trigger_outcome_unknown master={} job={} error={}",
              req.master(), req.job(), id.status().ToString());
  return absl::FailedPreconditionError(absl::StrCat(
      id.status().message(),
      "; the CI may have queued the build, so igor "
      "does not trigger it again: check job '",
      req.job(), "' on master '", req.master(), "' (", where, ")"));
}

absl::StatusOr<v1::TriggerBuildResponse> IgorCore::TriggerBuild(
    const v1::TriggerBuildRequest& req) {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, Find(req.master()));
  GENNAKER_RETURN_IF_ERROR(CheckJob(req.job()));
  if (req.parameters_size() > static_cast<int>(kMaxParams)) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxParams, " parameters are accepted"));
  }
  for (const auto& [k, v] : req.parameters()) {
    if (k.empty() || k.size() > kMaxParamNameBytes) {
      return absl::InvalidArgumentError(
          "parameter names must have 1 to 256 bytes");
    }
    if (v.size() > kMaxParamValueBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", k, "' is longer than 64 KiB"));
    }
  }
  if (req.idempotency_key().size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        "idempotency_key is longer than 512 bytes");
  }
  if (req.idempotency_key().empty()) {
    GENNAKER_ASSIGN_OR_RETURN(std::string id, Queue(s, req));
    v1::TriggerBuildResponse resp;
    resp.set_state(v1::TRIGGER_BUILD_STATE_QUEUED);
    resp.set_queue_id(id);
    return resp;
  }
  const std::string key = absl::StrCat("pendingOperations:", req.master(), ":",
                                       req.job(), ":", req.idempotency_key());
  GENNAKER_ASSIGN_OR_RETURN(
      bool claimed,
      store_->SetIfAbsent(key, spinnaker::Dump(Json{{"state", kPending}}),
                          options_.pending_ttl));
  if (!claimed) {
    GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> rec, store_->Get(key));
    if (!rec.has_value()) {
      // It expired between the two calls: the caller retries.
      v1::TriggerBuildResponse resp;
      resp.set_state(v1::TRIGGER_BUILD_STATE_PENDING);
      return resp;
    }
    SPDLOG_INFO("event=trigger_repeat master={} job={} key={}", req.master(),
                req.job(), req.idempotency_key());
    return FromRecord(*rec);
  }
  absl::StatusOr<std::string> id = Queue(s, req);
  if (!id.ok() && internal::IsNotQueued(id.status())) {
    // Nothing reached the CI: a retry may queue.
    absl::Status d = store_->Delete(key);
    if (!d.ok()) {
      SPDLOG_WARN("event=trigger_record_delete_failed key={} error={}", key,
                  d.ToString());
    }
    return id.status();
  }
  if (!id.ok()) {
    // Maybe queued: every repeat of this key gets the same error (the
    // record lives as long as a QUEUED one). If it cannot be written the
    // PENDING record stays until its TTL, still no second build meanwhile.
    absl::Status st =
        store_->Set(key,
                    spinnaker::Dump(Json{{"state", kUnknown},
                                         {"error", id.status().message()}}),
                    options_.queued_ttl);
    if (!st.ok()) {
      SPDLOG_ERROR("event=trigger_record_failed key={} state=UNKNOWN error={}",
                   key, st.ToString());
    }
    return id.status();
  }
  absl::Status st = store_->Set(
      key, spinnaker::Dump(Json{{"state", kQueued}, {"queueId", *id}}),
      options_.queued_ttl);
  if (!st.ok()) {
    // The build is queued; a repeat will say PENDING until the record
    // expires rather than queue a second one.
    SPDLOG_ERROR("event=trigger_record_failed key={} queue_id={} error={}", key,
                 *id, st.ToString());
  }
  v1::TriggerBuildResponse resp;
  resp.set_state(v1::TRIGGER_BUILD_STATE_QUEUED);
  resp.set_queue_id(*id);
  return resp;
}

absl::StatusOr<v1::QueuedBuild> IgorCore::GetQueuedBuild(
    const std::string& master, const std::string& queue_id) {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, Find(master));
  if (queue_id.empty() || queue_id.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError("queue_id is required");
  }
  GENNAKER_ASSIGN_OR_RETURN(QueueItem q, s->GetQueueItem(queue_id));
  v1::QueuedBuild out;
  out.set_queue_id(queue_id);
  if (q.build_number > 0) {
    out.set_build_number(q.build_number);
    out.set_build_url(q.build_url);
  }
  out.set_cancelled(q.cancelled);
  return out;
}

absl::StatusOr<bool> IgorCore::StopBuild(const v1::BuildKey& key,
                                         const std::string& queue_id) {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, Find(key.master()));
  GENNAKER_RETURN_IF_ERROR(CheckJob(key.job()));
  if (key.build_number() < 0) {
    return absl::InvalidArgumentError("build_number must not be negative");
  }
  if (key.build_number() == 0 && queue_id.empty()) {
    return absl::InvalidArgumentError(
        "a build_number or a queue_id is required");
  }
  GENNAKER_ASSIGN_OR_RETURN(
      bool stopped, s->StopBuild(key.job(), key.build_number(), queue_id));
  SPDLOG_INFO(
      "event=build_stop master={} job={} number={} queue_id={} "
      "stopped={}",
      key.master(), key.job(), key.build_number(), queue_id, stopped);
  return stopped;
}

absl::Status IgorCore::UpdateBuildDescription(const v1::BuildKey& key,
                                              const std::string& description) {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, FindBuild(key));
  if (description.size() > kMaxDescriptionBytes) {
    return absl::InvalidArgumentError("description is longer than 64 KiB");
  }
  return s->SetDescription(key.job(), key.build_number(), description);
}

absl::StatusOr<Json> IgorCore::GetBuildProperties(
    const v1::BuildKey& key, const std::string& file_name) {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, FindBuild(key));
  if (file_name.empty() || file_name.size() > kMaxFileNameBytes) {
    return absl::InvalidArgumentError("file_name is required");
  }
  if (s->type() == v1::BUILD_SERVICE_TYPE_TRAVIS) {
    GENNAKER_ASSIGN_OR_RETURN(
        std::string text,
        s->GetArtifact(key.job(), key.build_number(), file_name));
    return ParseJavaProperties(text);
  }
  std::string relative;
  const int attempts = std::max(1, options_.property_attempts);
  for (int i = 0; i < attempts && relative.empty(); ++i) {
    if (i > 0) absl::SleepFor(options_.property_retry_delay);
    GENNAKER_ASSIGN_OR_RETURN(v1::Build b,
                              s->GetBuild(key.job(), key.build_number()));
    for (const v1::BuildArtifact& a : b.artifacts()) {
      if (a.file_name() == file_name || a.relative_path() == file_name) {
        relative = a.relative_path();
        break;
      }
    }
  }
  if (relative.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "build ", key.job(), " #", key.build_number(), " on master '",
        key.master(), "' archived no file '", file_name, "'"));
  }
  GENNAKER_ASSIGN_OR_RETURN(
      std::string text,
      s->GetArtifact(key.job(), key.build_number(), relative));
  return ParseBuildProperties(file_name, text);
}

std::vector<common::v1::Artifact> ArtifactsFromProperties(
    const Json& properties) {
  std::vector<common::v1::Artifact> out;
  Json list = Json::array();
  auto it = properties.find("artifacts");
  if (it != properties.end()) {
    if (it->is_array()) {
      list = *it;
    } else if (it->is_string()) {
      absl::StatusOr<Json> parsed =
          spinnaker::ParseJson(it->get<std::string>(), "artifacts");
      if (parsed.ok() && parsed->is_array()) list = *std::move(parsed);
    }
  }
  for (const Json& a : list) {
    if (!a.is_object()) continue;
    common::v1::Artifact art;
    art.set_type(spinnaker::String(a, "type"));
    art.set_custom_kind(spinnaker::Bool(a, "customKind"));
    art.set_name(spinnaker::String(a, "name"));
    art.set_version(spinnaker::String(a, "version"));
    art.set_location(spinnaker::String(a, "location"));
    art.set_reference(spinnaker::String(a, "reference"));
    art.set_artifact_account(spinnaker::String(a, "artifactAccount"));
    art.set_provenance(spinnaker::String(a, "provenance"));
    art.set_uuid(spinnaker::String(a, "uuid"));
    const Json meta = spinnaker::Object(a, "metadata");
    if (!meta.empty()) art.mutable_metadata()->set_json(spinnaker::Dump(meta));
    if (art.type().empty() && art.name().empty() && art.reference().empty()) {
      continue;
    }
    out.push_back(std::move(art));
  }
  return out;
}

absl::StatusOr<std::vector<common::v1::Artifact>> IgorCore::GetBuildArtifacts(
    const v1::BuildKey& key, const std::string& property_file) {
  GENNAKER_ASSIGN_OR_RETURN(BuildService * s, FindBuild(key));
  if (property_file.empty()) {
    // The build must exist even when nothing is declared.
    GENNAKER_RETURN_IF_ERROR(
        s->GetBuild(key.job(), key.build_number()).status());
    return std::vector<common::v1::Artifact>{};
  }
  GENNAKER_ASSIGN_OR_RETURN(Json props, GetBuildProperties(key, property_file));
  return ArtifactsFromProperties(props);
}

absl::StatusOr<std::vector<v1::DockerTag>> IgorCore::ListSeenDockerTags(
    const std::string& account, const std::string& repository) {
  if (account.size() > kMaxKeyBytes || repository.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError("account or repository is too long");
  }
  if (!options_.docker_tags) return std::vector<v1::DockerTag>{};
  return options_.docker_tags(account, repository);
}

}  // namespace gennaker::igor
