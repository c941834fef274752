#include "services/front50/front50_grpc.h"

#include <algorithm>
#include <deque>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/json.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/front50/front50_convert.h"
#include "services/front50/front50_core.h"
#include "services/orca/templates/v2_schema.h"

namespace gennaker::front50 {
namespace {

using grpc::ServerContext;
using grpc::Status;
using spinnaker::Json;

std::string User() {
  return spinnaker::UserOrAnonymous(CurrentCallContext().user);
}

// Runs one RPC's logic, written with absl::Status, and maps its result to
// gRPC: the one conversion of the adapter.
template <typename Body>
Status Serve(Body&& body) {
  return ToGrpcStatus(std::forward<Body>(body)());
}

// A JSON object sent in a request (attributes, bodies). Empty text is an empty
// object when `empty_is_object`; anything else that is not an object is
// refused as "<what> must be a JSON object", except text nested too deeply to
// handle at all, which gets the parser's own message.
absl::StatusOr<Json> RequestObject(const std::string& text,
                                   absl::string_view what,
                                   bool empty_is_object) {
  if (empty_is_object && text.empty()) return Json::object();
  absl::StatusOr<Json> j = spinnaker::ParseJson(text, what);
  if (j.ok() && j->is_object()) return j;
  if (!j.ok() && !spinnaker::WithinNesting(text)) return j.status();
  return absl::InvalidArgumentError(
      absl::StrCat(what, " must be a JSON object"));
}

// The reply of an RPC that answers with one stored object, converted into
// `out` by `to` (ToApplication, ...).
template <typename Out>
Status ReplyWith(const absl::StatusOr<StoredObject>& object,
                 void (*to)(const StoredObject&, Out*), Out* out) {
  return Serve([&]() -> absl::Status {
    GENNAKER_RETURN_IF_ERROR(object.status());
    to(*object, out);
    return absl::OkStatus();
  });
}

// The reply of an RPC that answers with a list of stored objects, each
// converted into a new element of `out` by `to`.
template <typename Out>
Status ReplyWithAll(const absl::StatusOr<std::vector<StoredObject>>& objects,
                    void (*to)(const StoredObject&, Out*),
                    google::protobuf::RepeatedPtrField<Out>* out) {
  return Serve([&]() -> absl::Status {
    GENNAKER_RETURN_IF_ERROR(objects.status());
    for (const StoredObject& o : *objects) to(o, out->Add());
    return absl::OkStatus();
  });
}

Kind PipelineKindOf(v1::PipelineKind kind) {
  return kind == v1::PIPELINE_KIND_STRATEGY ? Kind::kStrategy : Kind::kPipeline;
}

// An object addressed by type and public key, as the store knows it.
struct ObjectRef {
  Kind kind;
  std::string key;  // the stored key
};

absl::StatusOr<ObjectRef> RefOf(v1::ObjectType type, const std::string& key) {
  if (type < v1::OBJECT_TYPE_APPLICATION ||
      type > v1::OBJECT_TYPE_SERVICE_ACCOUNT) {
    return absl::InvalidArgumentError("object type is required");
  }
  return ObjectRef{static_cast<Kind>(type), StoredKey(type, key)};
}

// Whether `name` contains `filter`, ignoring case (an empty filter matches).
bool NameMatches(absl::string_view name, absl::string_view filter) {
  return filter.empty() ||
         absl::AsciiStrToLower(name).find(absl::AsciiStrToLower(filter)) !=
             std::string::npos;
}

// Whether a pipeline has a trigger passing the request's trigger filters (echo
// loads only pipelines with enabled triggers of the types it handles).
bool HasTrigger(const StoredObject& o,
                const v1::ListAllPipelinesRequest& request) {
  const Json j = spinnaker::ParseJson(o.body, "stored pipeline",
                                      spinnaker::kStoredJsonLimits)
                     .value_or(Json());
  auto triggers = j.is_object() ? j.find("triggers") : j.end();
  if (!j.is_object() || triggers == j.end() || !triggers->is_array())
    return false;
  for (const auto& t : *triggers) {
    if (request.enabled_triggers_only() && !spinnaker::Bool(t, "enabled"))
      continue;
    if (request.trigger_types_size() == 0) return true;
    for (const auto& type : request.trigger_types()) {
      if (spinnaker::String(t, "type") == type) return true;
    }
  }
  return false;
}

// Pipeline lists are served in pages of whole pipelines up to a byte budget
// (and a count when asked), so a list answers whatever it holds. A page token
// is "<offset>:<fingerprint of the list>": a list that changed between pages
// is refused (ABORTED) instead of being served with gaps or repeats.
// The budget when the caller gives none: under gRPC's default 4 MiB limit.
constexpr int64_t kDefaultPageBytes = int64_t{3} << 20;
// The smallest budget honoured, so a tiny value cannot make pages absurd.
constexpr int64_t kMinPageBytes = int64_t{16} << 10;
// Room kept for the response's other fields (etag, token, counters).
constexpr int64_t kEnvelopeBytes = 1024;

absl::StatusOr<size_t> PageOffset(const std::string& token,
                                  const std::string& fingerprint) {
  if (token.empty()) return 0;
  const size_t colon = token.find(':');
  size_t offset = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(token.substr(0, colon), &offset)) {
    return absl::InvalidArgumentError("invalid page_token");
  }
  if (token.substr(colon + 1) != fingerprint) {
    return absl::AbortedError(
        "the pipeline list changed while it was being paged: list again from "
        "the first page");
  }
  return offset;
}

// Copies into `out` the page of `all` that `page` asks for; returns the next
// page's token ("" after the last page).
template <typename List>
absl::StatusOr<std::string> CopyPage(
    const List& all, const common::v1::PageRequest& page,
    int64_t max_page_bytes, const std::string& fingerprint,
    google::protobuf::RepeatedPtrField<v1::Pipeline>* out) {
  GENNAKER_ASSIGN_OR_RETURN(size_t offset,
                            PageOffset(page.page_token(), fingerprint));
  const size_t total = static_cast<size_t>(all.size());
  if (offset > total) return absl::InvalidArgumentError("invalid page_token");
  const int64_t budget =
      (max_page_bytes > 0 ? std::max(max_page_bytes, kMinPageBytes)
                          : kDefaultPageBytes) -
      kEnvelopeBytes;
  int64_t used = 0;
  size_t i = offset;
  for (; i < total; ++i) {
    if (page.page_size() > 0 && out->size() >= page.page_size()) break;
    // The element's bytes plus its field tag and length prefix.
    const int64_t size = static_cast<int64_t>(all[i].ByteSizeLong()) + 8;
    // A page holds at least one pipeline, so paging always advances.
    if (out->size() > 0 && used + size > budget) break;
    used += size;
    *out->Add() = all[i];
  }
  return i < total ? absl::StrCat(i, ":", fingerprint) : std::string();
}

// A fingerprint of a listing: which pipelines, at which versions, in order.
std::string ListFingerprint(
    const google::protobuf::RepeatedPtrField<v1::Pipeline>& all) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  auto mix = [&h](absl::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  for (const auto& p : all) {
    mix(p.id());
    mix(absl::StrCat(p.audit().updated_at_ms()));
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

class Front50GrpcService final : public v1::Front50Service::Service {
 public:
  Front50GrpcService(Front50Core* core, const std::atomic<bool>* stopping,
                     int64_t max_send_bytes)
      : core_(core), stopping_(stopping), max_send_bytes_(max_send_bytes) {}

  Status ListApplications(ServerContext*,
                          const v1::ListApplicationsRequest* request,
                          v1::ListApplicationsResponse* response) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(auto apps, core_->ListApplications());
      for (const auto& o : apps) {
        // Spinnaker's attribute search: every given attribute contains the
        // value, ignoring case.
        const Json attributes =
            spinnaker::ParseJson(o.body, "stored application",
                                 spinnaker::kStoredJsonLimits)
                .value_or(Json());
        bool match = true;
        for (const auto& [key, want] : request->attribute_filters()) {
          std::string have = spinnaker::String(attributes, key);
          match = match && absl::StrContains(absl::AsciiStrToLower(have),
                                             absl::AsciiStrToLower(want));
        }
        if (match) ToApplication(o, response->add_applications());
      }
      return absl::OkStatus();
    });
  }

  Status GetApplication(ServerContext*,
                        const v1::GetApplicationRequest* request,
                        v1::GetApplicationResponse* response) override {
    return ReplyWith(core_->GetApplication(request->name()), ToApplication,
                     response->mutable_application());
  }

  Status CreateApplication(ServerContext*,
                           const v1::CreateApplicationRequest* request,
                           v1::CreateApplicationResponse* response) override {
    auto object = [&]() -> absl::StatusOr<StoredObject> {
      const v1::Application& a = request->application();
      GENNAKER_ASSIGN_OR_RETURN(
          Json j, RequestObject(a.attributes().json(), "attributes", true));
      if (!a.name().empty()) j["name"] = a.name();
      if (!a.email().empty()) j["email"] = a.email();
      if (!a.description().empty()) j["description"] = a.description();
      if (a.cloud_providers_size() > 0) {
        std::string joined;
        for (const auto& p : a.cloud_providers())
          absl::StrAppend(&joined, joined.empty() ? "" : ",", p);
        j["cloudProviders"] = joined;
      }
      return core_->CreateApplication(spinnaker::Dump(j), User());
    };
    return ReplyWith(object(), ToApplication, response->mutable_application());
  }

  Status UpdateApplication(ServerContext*,
                           const v1::UpdateApplicationRequest* request,
                           v1::UpdateApplicationResponse* response) override {
    return ReplyWith(
        core_->UpdateApplication(request->name(), request->attributes().json(),
                                 request->merge(), User()),
        ToApplication, response->mutable_application());
  }

  Status ListApplicationPermissions(
      ServerContext*, const v1::ListApplicationPermissionsRequest*,
      v1::ListApplicationPermissionsResponse* response) override {
    return ReplyWithAll(core_->List(Kind::kApplicationPermission), ToPermission,
                        response->mutable_permissions());
  }

  Status GetApplicationPermission(
      ServerContext*, const v1::GetApplicationPermissionRequest* request,
      v1::GetApplicationPermissionResponse* response) override {
    return ReplyWith(
        core_->Get(Kind::kApplicationPermission, request->application()),
        ToPermission, response->mutable_permission());
  }

  Status PutApplicationPermission(
      ServerContext*, const v1::PutApplicationPermissionRequest* request,
      v1::PutApplicationPermissionResponse* response) override {
    auto object = [&]() -> absl::StatusOr<StoredObject> {
      const auto& p = request->permission();
      if (p.application().empty()) {
        return absl::InvalidArgumentError("permission application is required");
      }
      GENNAKER_ASSIGN_OR_RETURN(Json j,
                                RequestObject(p.body().json(), "body", true));
      j["name"] = p.application();
      return SaveBody(Kind::kApplicationPermission, p.application(), j);
    };
    return ReplyWith(object(), ToPermission, response->mutable_permission());
  }

  Status ListPipelines(ServerContext*, const v1::ListPipelinesRequest* request,
                       v1::ListPipelinesResponse* response) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          auto list, core_->ListPipelines(PipelineKindOf(request->kind()),
                                          request->application()));
      const bool filtered = !request->name_filter().empty() ||
                            request->enabled_only() || request->limit() > 0;
      const bool first_page = request->page().page_token().empty();
      std::string next;
      if (!filtered) {
        response->set_etag(list->etag);
        if (first_page && request->if_none_match() == list->etag) {
          response->set_not_modified(true);
          return absl::OkStatus();
        }
        auto full = FullList(request->kind(), *list);
        GENNAKER_ASSIGN_OR_RETURN(
            next, CopyPage(full->pipelines(), request->page(),
                           PageBytes(request->max_page_bytes()), list->etag,
                           response->mutable_pipelines()));
      } else {
        google::protobuf::RepeatedPtrField<v1::Pipeline> matching;
        for (const auto& o : list->objects) {
          if (request->limit() > 0 && matching.size() >= request->limit())
            break;
          if (!NameMatches(o.name, request->name_filter())) continue;
          v1::Pipeline p;
          ToPipeline(o, &p);
          if (request->enabled_only() && p.disabled()) continue;
          *matching.Add() = std::move(p);
        }
        GENNAKER_ASSIGN_OR_RETURN(
            next, CopyPage(matching, request->page(),
                           PageBytes(request->max_page_bytes()), list->etag,
                           response->mutable_pipelines()));
      }
      response->mutable_page()->set_next_page_token(next);
      return absl::OkStatus();
    });
  }

  Status ListAllPipelines(ServerContext*,
                          const v1::ListAllPipelinesRequest* request,
                          v1::ListAllPipelinesResponse* response) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(
          auto all, core_->ListAllPipelines(PipelineKindOf(request->kind())));
      const bool trigger_filter =
          request->enabled_triggers_only() || request->trigger_types_size() > 0;
      google::protobuf::RepeatedPtrField<v1::Pipeline> matching;
      for (const auto& o : all) {
        if (o.updated_at_ms <= request->modified_after_ms()) continue;
        v1::Pipeline p;
        ToPipeline(o, &p);
        if (request->enabled_pipelines_only() && p.disabled()) continue;
        if (trigger_filter && !HasTrigger(o, *request)) continue;
        *matching.Add() = std::move(p);
      }
      GENNAKER_ASSIGN_OR_RETURN(
          std::string next,
          CopyPage(matching, request->page(),
                   PageBytes(request->max_page_bytes()),
                   ListFingerprint(matching), response->mutable_pipelines()));
      response->mutable_page()->set_next_page_token(next);
      response->set_as_of_ms(absl::ToUnixMillis(absl::Now()));
      return absl::OkStatus();
    });
  }

  Status GetPipeline(ServerContext*, const v1::GetPipelineRequest* request,
                     v1::GetPipelineResponse* response) override {
    auto object = [&]() -> absl::StatusOr<StoredObject> {
      Kind kind = PipelineKindOf(request->kind());
      absl::StatusOr<StoredObject> o;
      if (!request->id().empty()) {
        o = core_->Get(kind, request->id());
      } else if (request->application().empty() || request->name().empty()) {
        return absl::InvalidArgumentError(
            "either id, or application and name, are required");
      } else {
        o = core_->GetPipelineByName(kind, request->application(),
                                     request->name());
      }
      return o;
    };
    return ReplyWith(object(), ToPipeline, response->mutable_pipeline());
  }

  Status SavePipeline(ServerContext*, const v1::SavePipelineRequest* request,
                      v1::SavePipelineResponse* response) override {
    return Serve([&]() -> absl::Status {
      std::optional<int64_t> expected;
      if (request->has_expected_updated_at_ms())
        expected = request->expected_updated_at_ms();
      GENNAKER_ASSIGN_OR_RETURN(
          auto saved,
          core_->SavePipeline(PipelineKindOf(request->kind()),
                              request->config().json(), expected, User()));
      ToPipeline(saved.object, response->mutable_pipeline());
      response->set_created(saved.created);
      return absl::OkStatus();
    });
  }

  Status ListPipelinesTriggeredBy(
      ServerContext*, const v1::ListPipelinesTriggeredByRequest* request,
      v1::ListPipelinesTriggeredByResponse* response) override {
    return ReplyWithAll(core_->PipelinesTriggeredBy(
                            request->pipeline_config_id(), request->status()),
                        ToPipeline, response->mutable_pipelines());
  }

  Status ReorderPipelines(ServerContext*,
                          const v1::ReorderPipelinesRequest* request,
                          v1::ReorderPipelinesResponse* response) override {
    return Serve([&]() -> absl::Status {
      if (request->application().empty()) {
        return absl::InvalidArgumentError("application is required");
      }
      std::map<std::string, int> indices(request->indices_by_id().begin(),
                                         request->indices_by_id().end());
      GENNAKER_ASSIGN_OR_RETURN(
          int changed, core_->Reorder(PipelineKindOf(request->kind()),
                                      request->application(), indices, User()));
      response->set_updated_count(changed);
      return absl::OkStatus();
    });
  }

  // What front50 refuses to store as a v2 template (a body that names a
  // schema is checked as the resolver will use it): a bad tag, a template
  // orca would refuse, or one whose chain of templates comes back to it.
  absl::Status CheckTemplate(const Json& body, const std::string& tag) {
    static const std::vector<std::string> kTags = {
        "latest", "stable", "unstable", "experimental", "test", "canary"};
    if (!tag.empty() &&
        std::find(kTags.begin(), kTags.end(), tag) == kTags.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "The provided tag ", tag,
          " is not supported. Pipeline template tag must be one of [",
          absl::StrJoin(kTags, ", "), "]"));
    }
    // Every template saved here is a v2 one (gate's /v2/pipelineTemplates
    // routes are its only writers): without a schema it is refused rather
    // than stored unchecked.
    if (spinnaker::String(body, "schema").empty()) {
      return absl::InvalidArgumentError(
          "a v2 pipeline template needs schema: v2");
    }
    GENNAKER_RETURN_IF_ERROR(orca::templates::ValidateTemplate(body));
    return orca::templates::CheckTemplateChain(
        body,
        [this](const orca::templates::TemplateReference& ref)
            -> absl::StatusOr<Json> {
          GENNAKER_ASSIGN_OR_RETURN(
              StoredObject o, core_->Get(Kind::kPipelineTemplate, ref.Key()));
          return spinnaker::ParseJson(o.body, "pipeline template",
                                      spinnaker::kStoredJsonLimits);
        });
  }

  Status ListPipelineTemplates(
      ServerContext*, const v1::ListPipelineTemplatesRequest* request,
      v1::ListPipelineTemplatesResponse* response) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(auto all, core_->List(Kind::kPipelineTemplate));
      for (const auto& o : all) {
        v1::PipelineTemplate t;
        ToTemplate(o, &t);
        if (!request->id().empty() &&
            absl::AsciiStrToLower(t.id()) !=
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
      return absl::OkStatus();
    });
  }

  Status GetPipelineTemplate(
      ServerContext*, const v1::GetPipelineTemplateRequest* request,
      v1::GetPipelineTemplateResponse* response) override {
    if (!request->digest().empty() && !request->tag().empty()) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          "Cannot query pipeline by 'tag' and 'digest' simultaneously. "
          "Specify one of 'tag' or 'digest'."));
    }
    const std::string key =
        request->digest().empty()
            ? TemplateKey(request->id(), request->tag())
            : absl::StrCat(request->id(), "@sha256:", request->digest());
    return ReplyWith(core_->Get(Kind::kPipelineTemplate, key), ToTemplate,
                     response->mutable_template_());
  }

  Status SavePipelineTemplate(
      ServerContext*, const v1::SavePipelineTemplateRequest* request,
      v1::SavePipelineTemplateResponse* response) override {
    auto object = [&]() -> absl::StatusOr<StoredObject> {
      const auto& t = request->template_();
      GENNAKER_ASSIGN_OR_RETURN(
          Json j, RequestObject(t.body().json(), "template", false));
      std::string id = !t.id().empty() ? t.id() : spinnaker::String(j, "id");
      if (id.empty())
        return absl::InvalidArgumentError("template id is required");
      // As Spinnaker's front50 update: stored under the path's id, which the
      // body then carries too (checked and resolved as what is stored).
      j["id"] = id;
      GENNAKER_RETURN_IF_ERROR(CheckTemplate(j, t.tag()));
      std::string key = TemplateKey(id, t.tag());
      if (request->create_only() &&
          core_->Get(Kind::kPipelineTemplate, key).ok()) {
        return absl::AlreadyExistsError(
            absl::StrCat("pipeline template '", key, "' already exists"));
      }
      return SaveBody(Kind::kPipelineTemplate, key, j);
    };
    return ReplyWith(object(), ToTemplate, response->mutable_template_());
  }

  Status ListProjects(ServerContext*, const v1::ListProjectsRequest* request,
                      v1::ListProjectsResponse* response) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(auto all, core_->List(Kind::kProject));
      for (const auto& o : all) {
        if (NameMatches(o.name, request->name_filter()))
          ToProject(o, response->add_projects());
      }
      return absl::OkStatus();
    });
  }

  Status GetProject(ServerContext*, const v1::GetProjectRequest* request,
                    v1::GetProjectResponse* response) override {
    auto object = [&]() -> absl::StatusOr<StoredObject> {
      auto o = core_->Get(Kind::kProject, request->id_or_name());
      if (!o.ok()) {
        GENNAKER_ASSIGN_OR_RETURN(auto all, core_->List(Kind::kProject));
        for (const auto& p : all) {
          if (absl::EqualsIgnoreCase(p.name, request->id_or_name())) o = p;
        }
      }
      return o;
    };
    return ReplyWith(object(), ToProject, response->mutable_project());
  }

  Status SaveProject(ServerContext*, const v1::SaveProjectRequest* request,
                     v1::SaveProjectResponse* response) override {
    auto object = [&]() -> absl::StatusOr<StoredObject> {
      const auto& p = request->project();
      GENNAKER_ASSIGN_OR_RETURN(
          Json j, RequestObject(p.body().json(), "project", true));
      if (!p.name().empty()) j["name"] = p.name();
      if (!p.email().empty()) j["email"] = p.email();
      return SaveBody(Kind::kProject, p.id(), j);
    };
    return ReplyWith(object(), ToProject, response->mutable_project());
  }

  Status GetNotifications(ServerContext*,
                          const v1::GetNotificationsRequest* request,
                          v1::GetNotificationsResponse* response) override {
    return Serve([&]() -> absl::Status {
      bool global = request->level() == v1::NOTIFICATION_LEVEL_GLOBAL;
      std::string key = global ? "global" : request->application();
      auto o = core_->Get(Kind::kNotification, NotificationKey(global, key));
      auto* n = response->mutable_notifications();
      n->set_level(global ? v1::NOTIFICATION_LEVEL_GLOBAL
                          : v1::NOTIFICATION_LEVEL_APPLICATION);
      n->set_application(key);
      if (absl::IsNotFound(o.status())) {
        // Spinnaker answers an application without notifications with an
        // empty set.
        n->mutable_body()->set_json(
            spinnaker::Dump(Json{{"application", key}}));
        return absl::OkStatus();
      }
      GENNAKER_RETURN_IF_ERROR(o.status());
      n->mutable_body()->set_json(o->body);
      FillAudit(*o, n->mutable_audit());
      return absl::OkStatus();
    });
  }

  Status SaveNotifications(ServerContext*,
                           const v1::SaveNotificationsRequest* request,
                           v1::SaveNotificationsResponse* response) override {
    return Serve([&]() -> absl::Status {
      const auto& n = request->notifications();
      bool global = n.level() == v1::NOTIFICATION_LEVEL_GLOBAL;
      std::string key = global ? "global" : n.application();
      if (key.empty()) {
        return absl::InvalidArgumentError(
            "notification application is required");
      }
      GENNAKER_ASSIGN_OR_RETURN(
          Json j, RequestObject(n.body().json(), "notifications", false));
      if (!global) j["application"] = key;
      GENNAKER_ASSIGN_OR_RETURN(
          auto o,
          SaveBody(Kind::kNotification, NotificationKey(global, key), j));
      auto* out = response->mutable_notifications();
      out->set_level(n.level());
      out->set_application(key);
      out->mutable_body()->set_json(o.body);
      FillAudit(o, out->mutable_audit());
      return absl::OkStatus();
    });
  }

  Status ListServiceAccounts(
      ServerContext*, const v1::ListServiceAccountsRequest*,
      v1::ListServiceAccountsResponse* response) override {
    return ReplyWithAll(core_->List(Kind::kServiceAccount), ToServiceAccount,
                        response->mutable_service_accounts());
  }

  Status SaveServiceAccount(ServerContext*,
                            const v1::SaveServiceAccountRequest* request,
                            v1::SaveServiceAccountResponse* response) override {
    auto object = [&]() -> absl::StatusOr<StoredObject> {
      const auto& s = request->service_account();
      GENNAKER_ASSIGN_OR_RETURN(
          Json j, RequestObject(s.body().json(), "service account", true));
      std::string name =
          !s.name().empty() ? s.name() : spinnaker::String(j, "name");
      if (name.empty()) {
        return absl::InvalidArgumentError("service account name is required");
      }
      j["name"] = name;
      if (s.member_of_size() > 0) {
        j["memberOf"] = Json::array();
        for (const auto& r : s.member_of()) j["memberOf"].push_back(r);
      }
      return SaveBody(Kind::kServiceAccount, name, j);
    };
    return ReplyWith(object(), ToServiceAccount,
                     response->mutable_service_account());
  }

  Status DeleteObject(ServerContext*, const v1::DeleteObjectRequest* request,
                      v1::DeleteObjectResponse* response) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(ObjectRef ref,
                                RefOf(request->type(), request->key()));
      GENNAKER_RETURN_IF_ERROR(core_->Delete(ref.kind, ref.key, User()));
      response->set_deleted(true);
      return absl::OkStatus();
    });
  }

  Status ListObjectHistory(ServerContext*,
                           const v1::ListObjectHistoryRequest* request,
                           v1::ListObjectHistoryResponse* response) override {
    auto versions = [&]() -> absl::StatusOr<std::vector<StoredObject>> {
      GENNAKER_ASSIGN_OR_RETURN(ObjectRef ref,
                                RefOf(request->type(), request->key()));
      return core_->History(ref.kind, ref.key, request->limit());
    };
    return ReplyWithAll(versions(), ToVersion, response->mutable_versions());
  }

  Status GetObjectVersion(ServerContext*,
                          const v1::GetObjectVersionRequest* request,
                          v1::GetObjectVersionResponse* response) override {
    auto object = [&]() -> absl::StatusOr<StoredObject> {
      GENNAKER_ASSIGN_OR_RETURN(ObjectRef ref,
                                RefOf(request->type(), request->key()));
      int64_t version = 0;
      if (!absl::SimpleAtoi(request->version_id(), &version)) {
        return absl::InvalidArgumentError("version_id must be a number");
      }
      return core_->Version(ref.kind, ref.key, version);
    };
    return ReplyWith(object(), ToVersion, response->mutable_version());
  }

  Status RecoverObject(ServerContext*, const v1::RecoverObjectRequest* request,
                       v1::RecoverObjectResponse* response) override {
    return Serve([&]() -> absl::Status {
      GENNAKER_ASSIGN_OR_RETURN(ObjectRef ref,
                                RefOf(request->type(), request->key()));
      GENNAKER_ASSIGN_OR_RETURN(auto o,
                                core_->Recover(ref.kind, ref.key, User()));
      response->set_recovered(true);
      ToVersion(o, response->mutable_current());
      return absl::OkStatus();
    });
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

  // Saves a request's body as an object of `kind` for the calling user.
  absl::StatusOr<StoredObject> SaveBody(Kind kind, const std::string& key,
                                        const Json& body) {
    return core_->SaveObject(kind, key, spinnaker::Dump(body), User());
  }

  static constexpr size_t kMaxConverted = 1024;
  // The page budget a caller asks for, never above what this server may send
  // (a caller configured with a larger limit than ours still gets pages that
  // fit).
  int64_t PageBytes(int64_t requested) const {
    if (max_send_bytes_ <= 0) return requested;
    return requested > 0 ? std::min(requested, max_send_bytes_)
                         : std::min(kDefaultPageBytes, max_send_bytes_);
  }

  Front50Core* core_;
  const std::atomic<bool>* stopping_;
  int64_t max_send_bytes_;
  absl::Mutex mu_;
  std::map<std::pair<int, std::string>,
           std::shared_ptr<const v1::ListPipelinesResponse>>
      converted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<v1::Front50Service::Service> NewFront50GrpcService(
    Front50Core* core, const std::atomic<bool>* stopping,
    int64_t max_send_bytes) {
  return std::make_unique<Front50GrpcService>(core, stopping, max_send_bytes);
}

}  // namespace gennaker::front50
