#include "services/front50/front50_grpc.h"

#include <deque>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/json/json_fields.h"
#include "common/log/call_context.h"
#include "common/status/grpc_status.h"
#include "nlohmann/json.hpp"
#include "services/front50/front50_convert.h"
#include "services/front50/front50_core.h"

namespace gennaker::front50 {
namespace {

using Json = nlohmann::ordered_json;
using grpc::ServerContext;
using grpc::Status;

std::string User() {
  const std::string& user = CurrentCallContext().user;
  return user.empty() ? "anonymous" : user;
}

Kind PipelineKindOf(v1::PipelineKind kind) {
  return kind == v1::PIPELINE_KIND_STRATEGY ? Kind::kStrategy : Kind::kPipeline;
}

absl::StatusOr<Kind> KindOf(v1::ObjectType type) {
  if (type < v1::OBJECT_TYPE_APPLICATION ||
      type > v1::OBJECT_TYPE_SERVICE_ACCOUNT) {
    return absl::InvalidArgumentError("object type is required");
  }
  return static_cast<Kind>(type);
}

// Whether a pipeline has a trigger passing the request's trigger filters (echo
// loads only pipelines with enabled triggers of the types it handles).
bool HasTrigger(const StoredObject& o,
                const v1::ListAllPipelinesRequest& request) {
  Json j = Json::parse(o.body, nullptr, false);
  auto triggers = j.is_object() ? j.find("triggers") : j.end();
  if (!j.is_object() || triggers == j.end() || !triggers->is_array())
    return false;
  for (const auto& t : *triggers) {
    if (request.enabled_triggers_only() && !json::Bool(t, "enabled")) continue;
    if (request.trigger_types_size() == 0) return true;
    for (const auto& type : request.trigger_types()) {
      if (json::String(t, "type") == type) return true;
    }
  }
  return false;
}

class Front50GrpcService final : public v1::Front50Service::Service {
 public:
  Front50GrpcService(Front50Core* core, const std::atomic<bool>* stopping)
      : core_(core), stopping_(stopping) {}

  Status ListApplications(ServerContext*,
                          const v1::ListApplicationsRequest* request,
                          v1::ListApplicationsResponse* response) override {
    auto apps = core_->ListApplications();
    if (!apps.ok()) return ToGrpcStatus(apps.status());
    for (const auto& o : *apps) {
      // Spinnaker's attribute search: every given attribute contains the value,
      // ignoring case.
      Json attributes = Json::parse(o.body, nullptr, false);
      bool match = true;
      for (const auto& [key, want] : request->attribute_filters()) {
        std::string have = json::String(attributes, key.c_str());
        match = match && absl::StrContains(absl::AsciiStrToLower(have),
                                           absl::AsciiStrToLower(want));
      }
      if (match) ToApplication(o, response->add_applications());
    }
    return Status::OK;
  }

  Status GetApplication(ServerContext*,
                        const v1::GetApplicationRequest* request,
                        v1::GetApplicationResponse* response) override {
    auto app = core_->GetApplication(request->name());
    if (!app.ok()) return ToGrpcStatus(app.status());
    ToApplication(*app, response->mutable_application());
    return Status::OK;
  }

  Status CreateApplication(ServerContext*,
                           const v1::CreateApplicationRequest* request,
                           v1::CreateApplicationResponse* response) override {
    const v1::Application& a = request->application();
    Json j = a.attributes().json().empty()
                 ? Json::object()
                 : Json::parse(a.attributes().json(), nullptr, false);
    if (!j.is_object()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "attributes must be a JSON object");
    }
    if (!a.name().empty()) j["name"] = a.name();
    if (!a.email().empty()) j["email"] = a.email();
    if (!a.description().empty()) j["description"] = a.description();
    if (a.cloud_providers_size() > 0) {
      std::string joined;
      for (const auto& p : a.cloud_providers())
        absl::StrAppend(&joined, joined.empty() ? "" : ",", p);
      j["cloudProviders"] = joined;
    }
    auto created = core_->CreateApplication(json::Dump(j), User());
    if (!created.ok()) return ToGrpcStatus(created.status());
    ToApplication(*created, response->mutable_application());
    return Status::OK;
  }

  Status UpdateApplication(ServerContext*,
                           const v1::UpdateApplicationRequest* request,
                           v1::UpdateApplicationResponse* response) override {
    auto updated =
        core_->UpdateApplication(request->name(), request->attributes().json(),
                                 request->merge(), User());
    if (!updated.ok()) return ToGrpcStatus(updated.status());
    ToApplication(*updated, response->mutable_application());
    return Status::OK;
  }

  Status ListApplicationPermissions(
      ServerContext*, const v1::ListApplicationPermissionsRequest*,
      v1::ListApplicationPermissionsResponse* response) override {
    auto all = core_->List(Kind::kApplicationPermission);
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& o : *all) ToPermission(o, response->add_permissions());
    return Status::OK;
  }

  Status GetApplicationPermission(
      ServerContext*, const v1::GetApplicationPermissionRequest* request,
      v1::GetApplicationPermissionResponse* response) override {
    auto o = core_->Get(Kind::kApplicationPermission, request->application());
    if (!o.ok()) return ToGrpcStatus(o.status());
    ToPermission(*o, response->mutable_permission());
    return Status::OK;
  }

  Status PutApplicationPermission(
      ServerContext*, const v1::PutApplicationPermissionRequest* request,
      v1::PutApplicationPermissionResponse* response) override {
    const auto& p = request->permission();
    if (p.application().empty()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "permission application is required");
    }
    Json j = p.body().json().empty()
                 ? Json::object()
                 : Json::parse(p.body().json(), nullptr, false);
    if (!j.is_object()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "body must be a JSON object");
    }
    j["name"] = p.application();
    auto o = core_->SaveObject(Kind::kApplicationPermission, p.application(),
                               json::Dump(j), User());
    if (!o.ok()) return ToGrpcStatus(o.status());
    ToPermission(*o, response->mutable_permission());
    return Status::OK;
  }

  Status ListPipelines(ServerContext*, const v1::ListPipelinesRequest* request,
                       v1::ListPipelinesResponse* response) override {
    auto list = core_->ListPipelines(PipelineKindOf(request->kind()),
                                     request->application());
    if (!list.ok()) return ToGrpcStatus(list.status());
    const bool filtered = !request->name_filter().empty() ||
                          request->enabled_only() || request->limit() > 0;
    if (!filtered) {
      response->set_etag((*list)->etag);
      if (request->if_none_match() == (*list)->etag) {
        response->set_not_modified(true);
        return Status::OK;
      }
      *response = *FullList(request->kind(), **list);
      return Status::OK;
    }
    for (const auto& o : (*list)->objects) {
      if (request->limit() > 0 &&
          response->pipelines_size() >= request->limit())
        break;
      if (!request->name_filter().empty() &&
          absl::AsciiStrToLower(o.name).find(absl::AsciiStrToLower(
              request->name_filter())) == std::string::npos) {
        continue;
      }
      v1::Pipeline p;
      ToPipeline(o, &p);
      if (request->enabled_only() && p.disabled()) continue;
      *response->add_pipelines() = std::move(p);
    }
    return Status::OK;
  }

  Status ListAllPipelines(ServerContext*,
                          const v1::ListAllPipelinesRequest* request,
                          v1::ListAllPipelinesResponse* response) override {
    auto all = core_->ListAllPipelines(PipelineKindOf(request->kind()));
    if (!all.ok()) return ToGrpcStatus(all.status());
    const bool trigger_filter =
        request->enabled_triggers_only() || request->trigger_types_size() > 0;
    for (const auto& o : *all) {
      if (o.updated_at_ms <= request->modified_after_ms()) continue;
      v1::Pipeline p;
      ToPipeline(o, &p);
      if (request->enabled_pipelines_only() && p.disabled()) continue;
      if (trigger_filter && !HasTrigger(o, *request)) continue;
      *response->add_pipelines() = std::move(p);
    }
    response->set_as_of_ms(absl::ToUnixMillis(absl::Now()));
    return Status::OK;
  }

  Status GetPipeline(ServerContext*, const v1::GetPipelineRequest* request,
                     v1::GetPipelineResponse* response) override {
    Kind kind = PipelineKindOf(request->kind());
    absl::StatusOr<StoredObject> o =
        !request->id().empty()
            ? core_->Get(kind, request->id())
            : (request->application().empty() || request->name().empty()
                   ? absl::StatusOr<StoredObject>(absl::InvalidArgumentError(
                         "either id, or application and name, are required"))
                   : core_->GetPipelineByName(kind, request->application(),
                                              request->name()));
    if (!o.ok()) return ToGrpcStatus(o.status());
    ToPipeline(*o, response->mutable_pipeline());
    return Status::OK;
  }

  Status SavePipeline(ServerContext*, const v1::SavePipelineRequest* request,
                      v1::SavePipelineResponse* response) override {
    std::optional<int64_t> expected;
    if (request->has_expected_updated_at_ms())
      expected = request->expected_updated_at_ms();
    auto saved =
        core_->SavePipeline(PipelineKindOf(request->kind()),
                            request->config().json(), expected, User());
    if (!saved.ok()) return ToGrpcStatus(saved.status());
    ToPipeline(saved->object, response->mutable_pipeline());
    response->set_created(saved->created);
    return Status::OK;
  }

  Status ListPipelinesTriggeredBy(
      ServerContext*, const v1::ListPipelinesTriggeredByRequest* request,
      v1::ListPipelinesTriggeredByResponse* response) override {
    auto list = core_->PipelinesTriggeredBy(request->pipeline_config_id(),
                                            request->status());
    if (!list.ok()) return ToGrpcStatus(list.status());
    for (const auto& o : *list) ToPipeline(o, response->add_pipelines());
    return Status::OK;
  }

  Status ReorderPipelines(ServerContext*,
                          const v1::ReorderPipelinesRequest* request,
                          v1::ReorderPipelinesResponse* response) override {
    if (request->application().empty()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "application is required");
    }
    std::map<std::string, int> indices(request->indices_by_id().begin(),
                                       request->indices_by_id().end());
    auto changed = core_->Reorder(PipelineKindOf(request->kind()),
                                  request->application(), indices, User());
    if (!changed.ok()) return ToGrpcStatus(changed.status());
    response->set_updated_count(*changed);
    return Status::OK;
  }

  Status ListPipelineTemplates(
      ServerContext*, const v1::ListPipelineTemplatesRequest* request,
      v1::ListPipelineTemplatesResponse* response) override {
    auto all = core_->List(Kind::kPipelineTemplate);
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& o : *all) {
      v1::PipelineTemplate t;
      ToTemplate(o, &t);
      if (!request->id().empty() && absl::AsciiStrToLower(t.id()) !=
                                        absl::AsciiStrToLower(request->id())) {
        continue;
      }
      bool scoped = request->scopes().empty();
      for (const auto& want : request->scopes()) {
        for (const auto& have : t.scopes())
          scoped |= absl::EqualsIgnoreCase(want, have);
      }
      if (scoped) *response->add_templates() = std::move(t);
    }
    return Status::OK;
  }

  Status GetPipelineTemplate(
      ServerContext*, const v1::GetPipelineTemplateRequest* request,
      v1::GetPipelineTemplateResponse* response) override {
    auto o = core_->Get(Kind::kPipelineTemplate,
                        TemplateKey(request->id(), request->tag()));
    if (!o.ok()) return ToGrpcStatus(o.status());
    ToTemplate(*o, response->mutable_template_());
    return Status::OK;
  }

  Status SavePipelineTemplate(
      ServerContext*, const v1::SavePipelineTemplateRequest* request,
      v1::SavePipelineTemplateResponse* response) override {
    const auto& t = request->template_();
    Json j = Json::parse(t.body().json(), nullptr, false);
    if (!j.is_object()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "template must be a JSON object");
    }
    std::string id = !t.id().empty() ? t.id() : json::String(j, "id");
    if (id.empty())
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "template id is required");
    std::string key = TemplateKey(id, t.tag());
    if (request->create_only() &&
        core_->Get(Kind::kPipelineTemplate, key).ok()) {
      return Status(
          grpc::StatusCode::ALREADY_EXISTS,
          absl::StrCat("pipeline template '", key, "' already exists"));
    }
    auto o =
        core_->SaveObject(Kind::kPipelineTemplate, key, json::Dump(j), User());
    if (!o.ok()) return ToGrpcStatus(o.status());
    ToTemplate(*o, response->mutable_template_());
    return Status::OK;
  }

  Status ListProjects(ServerContext*, const v1::ListProjectsRequest* request,
                      v1::ListProjectsResponse* response) override {
    auto all = core_->List(Kind::kProject);
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& o : *all) {
      if (!request->name_filter().empty() &&
          absl::AsciiStrToLower(o.name).find(absl::AsciiStrToLower(
              request->name_filter())) == std::string::npos) {
        continue;
      }
      ToProject(o, response->add_projects());
    }
    return Status::OK;
  }

  Status GetProject(ServerContext*, const v1::GetProjectRequest* request,
                    v1::GetProjectResponse* response) override {
    auto o = core_->Get(Kind::kProject, request->id_or_name());
    if (!o.ok()) {
      auto all = core_->List(Kind::kProject);
      if (!all.ok()) return ToGrpcStatus(all.status());
      for (const auto& p : *all) {
        if (absl::EqualsIgnoreCase(p.name, request->id_or_name())) o = p;
      }
    }
    if (!o.ok()) return ToGrpcStatus(o.status());
    ToProject(*o, response->mutable_project());
    return Status::OK;
  }

  Status SaveProject(ServerContext*, const v1::SaveProjectRequest* request,
                     v1::SaveProjectResponse* response) override {
    const auto& p = request->project();
    Json j = p.body().json().empty()
                 ? Json::object()
                 : Json::parse(p.body().json(), nullptr, false);
    if (!j.is_object()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "project must be a JSON object");
    }
    if (!p.name().empty()) j["name"] = p.name();
    if (!p.email().empty()) j["email"] = p.email();
    auto o = core_->SaveObject(Kind::kProject, p.id(), json::Dump(j), User());
    if (!o.ok()) return ToGrpcStatus(o.status());
    ToProject(*o, response->mutable_project());
    return Status::OK;
  }

  Status GetNotifications(ServerContext*,
                          const v1::GetNotificationsRequest* request,
                          v1::GetNotificationsResponse* response) override {
    bool global = request->level() == v1::NOTIFICATION_LEVEL_GLOBAL;
    std::string key = global ? "global" : request->application();
    auto o = core_->Get(Kind::kNotification, NotificationKey(global, key));
    auto* n = response->mutable_notifications();
    n->set_level(global ? v1::NOTIFICATION_LEVEL_GLOBAL
                        : v1::NOTIFICATION_LEVEL_APPLICATION);
    n->set_application(key);
    if (absl::IsNotFound(o.status())) {
      // Spinnaker answers an application without notifications with an empty
      // set.
      n->mutable_body()->set_json(json::Dump(Json{{"application", key}}));
      return Status::OK;
    }
    if (!o.ok()) return ToGrpcStatus(o.status());
    n->mutable_body()->set_json(o->body);
    FillAudit(*o, n->mutable_audit());
    return Status::OK;
  }

  Status SaveNotifications(ServerContext*,
                           const v1::SaveNotificationsRequest* request,
                           v1::SaveNotificationsResponse* response) override {
    const auto& n = request->notifications();
    bool global = n.level() == v1::NOTIFICATION_LEVEL_GLOBAL;
    std::string key = global ? "global" : n.application();
    if (key.empty()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "notification application is required");
    }
    Json j = Json::parse(n.body().json(), nullptr, false);
    if (!j.is_object()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "notifications must be a JSON object");
    }
    if (!global) j["application"] = key;
    auto o =
        core_->SaveObject(Kind::kNotification, NotificationKey(global, key),
                          json::Dump(j), User());
    if (!o.ok()) return ToGrpcStatus(o.status());
    auto* out = response->mutable_notifications();
    out->set_level(n.level());
    out->set_application(key);
    out->mutable_body()->set_json(o->body);
    FillAudit(*o, out->mutable_audit());
    return Status::OK;
  }

  Status ListServiceAccounts(
      ServerContext*, const v1::ListServiceAccountsRequest*,
      v1::ListServiceAccountsResponse* response) override {
    auto all = core_->List(Kind::kServiceAccount);
    if (!all.ok()) return ToGrpcStatus(all.status());
    for (const auto& o : *all)
      ToServiceAccount(o, response->add_service_accounts());
    return Status::OK;
  }

  Status SaveServiceAccount(ServerContext*,
                            const v1::SaveServiceAccountRequest* request,
                            v1::SaveServiceAccountResponse* response) override {
    const auto& s = request->service_account();
    Json j = s.body().json().empty()
                 ? Json::object()
                 : Json::parse(s.body().json(), nullptr, false);
    if (!j.is_object()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "service account must be a JSON object");
    }
    std::string name = !s.name().empty() ? s.name() : json::String(j, "name");
    if (name.empty()) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "service account name is required");
    }
    j["name"] = name;
    if (s.member_of_size() > 0) {
      j["memberOf"] = Json::array();
      for (const auto& r : s.member_of()) j["memberOf"].push_back(r);
    }
    auto o =
        core_->SaveObject(Kind::kServiceAccount, name, json::Dump(j), User());
    if (!o.ok()) return ToGrpcStatus(o.status());
    ToServiceAccount(*o, response->mutable_service_account());
    return Status::OK;
  }

  Status DeleteObject(ServerContext*, const v1::DeleteObjectRequest* request,
                      v1::DeleteObjectResponse* response) override {
    auto kind = KindOf(request->type());
    if (!kind.ok()) return ToGrpcStatus(kind.status());
    absl::Status s = core_->Delete(
        *kind, StoredKey(request->type(), request->key()), User());
    if (!s.ok()) return ToGrpcStatus(s);
    response->set_deleted(true);
    return Status::OK;
  }

  Status ListObjectHistory(ServerContext*,
                           const v1::ListObjectHistoryRequest* request,
                           v1::ListObjectHistoryResponse* response) override {
    auto kind = KindOf(request->type());
    if (!kind.ok()) return ToGrpcStatus(kind.status());
    auto versions = core_->History(
        *kind, StoredKey(request->type(), request->key()), request->limit());
    if (!versions.ok()) return ToGrpcStatus(versions.status());
    for (const auto& o : *versions) ToVersion(o, response->add_versions());
    return Status::OK;
  }

  Status GetObjectVersion(ServerContext*,
                          const v1::GetObjectVersionRequest* request,
                          v1::GetObjectVersionResponse* response) override {
    auto kind = KindOf(request->type());
    if (!kind.ok()) return ToGrpcStatus(kind.status());
    int64_t version = 0;
    if (!absl::SimpleAtoi(request->version_id(), &version)) {
      return Status(grpc::StatusCode::INVALID_ARGUMENT,
                    "version_id must be a number");
    }
    auto o = core_->Version(*kind, StoredKey(request->type(), request->key()),
                            version);
    if (!o.ok()) return ToGrpcStatus(o.status());
    ToVersion(*o, response->mutable_version());
    return Status::OK;
  }

  Status RecoverObject(ServerContext*, const v1::RecoverObjectRequest* request,
                       v1::RecoverObjectResponse* response) override {
    auto kind = KindOf(request->type());
    if (!kind.ok()) return ToGrpcStatus(kind.status());
    auto o = core_->Recover(*kind, StoredKey(request->type(), request->key()),
                            User());
    if (!o.ok()) return ToGrpcStatus(o.status());
    response->set_recovered(true);
    ToVersion(*o, response->mutable_current());
    return Status::OK;
  }

  Status WatchChanges(ServerContext* context, const v1::WatchChangesRequest*,
                      grpc::ServerWriter<v1::ChangeEvent>* writer) override {
    struct Queue {
      absl::Mutex mu;
      std::deque<v1::ChangeEvent> events ABSL_GUARDED_BY(mu);
    };
    auto queue = std::make_shared<Queue>();
    auto push = [queue](Kind kind, const std::string& application) {
      v1::ChangeEvent e;
      e.set_type(static_cast<v1::ObjectType>(kind));
      e.set_application(application);
      absl::MutexLock lock(&queue->mu);
      queue->events.push_back(std::move(e));
    };
    int id = core_->Subscribe(push);
    push(Kind::kPipeline, "*");  // the subscriber starts from nothing cached
    while (!context->IsCancelled() && !*stopping_) {
      std::deque<v1::ChangeEvent> batch;
      {
        absl::MutexLock lock(&queue->mu);
        auto ready = [&queue]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue->mu) {
          return !queue->events.empty();
        };
        // Wakes regularly to notice a cancelled call or a shutdown.
        queue->mu.AwaitWithTimeout(absl::Condition(&ready),
                                   absl::Milliseconds(200));
        batch.swap(queue->events);
      }
      bool ok = true;
      for (const auto& e : batch) ok = ok && writer->Write(e);
      if (!ok) break;
    }
    core_->Unsubscribe(id);
    return Status::OK;
  }

 private:
  // The converted full list for an etag, kept so that the hot read path neither
  // parses nor converts. Equal etags mean equal lists (the etag hashes ids and
  // versions).
  std::shared_ptr<const v1::ListPipelinesResponse> FullList(
      v1::PipelineKind kind, const Front50Core::PipelineList& list) {
    const auto key = std::make_pair(static_cast<int>(kind), list.etag);
    {
      absl::MutexLock lock(&mu_);
      auto it = converted_.find(key);
      if (it != converted_.end()) return it->second;
    }
    auto response = std::make_shared<v1::ListPipelinesResponse>();
    for (const auto& o : list.objects) ToPipeline(o, response->add_pipelines());
    response->set_etag(list.etag);
    absl::MutexLock lock(&mu_);
    if (converted_.size() >= kMaxConverted)
      converted_.clear();  // old etags are dead weight
    converted_[key] = response;
    return response;
  }

  static constexpr size_t kMaxConverted = 1024;
  Front50Core* core_;
  const std::atomic<bool>* stopping_;
  absl::Mutex mu_;
  std::map<std::pair<int, std::string>,
           std::shared_ptr<const v1::ListPipelinesResponse>>
      converted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<v1::Front50Service::Service> NewFront50GrpcService(
    Front50Core* core, const std::atomic<bool>* stopping) {
  return std::make_unique<Front50GrpcService>(core, stopping);
}

}  // namespace gennaker::front50
