#include "services/front50/front50_convert.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/spinnaker/json.h"

namespace gennaker::front50 {

void FillAudit(const StoredObject& o, common::v1::AuditInfo* audit) {
  audit->set_created_at_ms(o.created_at_ms);
  audit->set_created_by(o.created_by);
  audit->set_updated_at_ms(o.updated_at_ms);
  audit->set_updated_by(o.updated_by);
}

namespace {

using spinnaker::Json;

// What this service stored itself is read with generous limits, so nothing
// it once accepted becomes unreadable.

Json Body(const StoredObject& o) {
  Json j = spinnaker::ParseJson(o.body, "stored object",
                                spinnaker::kStoredJsonLimits)
               .value_or(Json());
  return j.is_object() ? j : Json::object();
}

// Appends the string elements of the array member `key` of `j`.
void AddStrings(const Json& j, std::string_view key,
                google::protobuf::RepeatedPtrField<std::string>* out) {
  for (std::string& s : spinnaker::Strings(j, key)) out->Add(std::move(s));
}

}  // namespace

void ToPipeline(const StoredObject& o, v1::Pipeline* p) {
  Json j = Body(o);
  p->set_id(spinnaker::String(j, "id", o.id));
  p->set_name(o.name);
  p->set_application(spinnaker::String(j, "application", o.application));
  p->set_kind(o.kind == Kind::kStrategy ? v1::PIPELINE_KIND_STRATEGY
                                        : v1::PIPELINE_KIND_PIPELINE);
  if (auto it = j.find("index"); it != j.end() && it->is_number_integer()) {
    p->set_index(it->get<int>());
  }
  p->set_disabled(spinnaker::Bool(j, "disabled"));
  p->set_templated(spinnaker::String(j, "type") == "templatedPipeline");
  p->mutable_config()->set_json(o.body);
  FillAudit(o, p->mutable_audit());
  p->set_deleted(o.deleted);
}

void ToApplication(const StoredObject& o, v1::Application* a) {
  Json j = Body(o);
  a->set_name(o.id);
  a->set_email(spinnaker::String(j, "email"));
  a->set_description(spinnaker::String(j, "description"));
  if (auto it = j.find("cloudProviders"); it != j.end()) {
    if (it->is_string()) {
      for (auto p : absl::StrSplit(it->get<std::string>(), ',',
                                   absl::SkipWhitespace())) {
        a->add_cloud_providers(std::string(absl::StripAsciiWhitespace(p)));
      }
    } else {
      AddStrings(j, "cloudProviders", a->mutable_cloud_providers());
    }
  }
  a->mutable_attributes()->set_json(o.body);
  FillAudit(o, a->mutable_audit());
}

void ToVersion(const StoredObject& o, v1::ObjectVersion* v) {
  v->set_version_id(std::to_string(o.version));
  v->set_type(static_cast<v1::ObjectType>(o.kind));
  v->set_key(o.id);
  v->mutable_body()->set_json(o.body);
  v->set_updated_at_ms(o.updated_at_ms);
  v->set_updated_by(o.updated_by);
}

void ToProject(const StoredObject& o, v1::Project* p) {
  Json j = Body(o);
  p->set_id(spinnaker::String(j, "id", o.id));
  p->set_name(o.name);
  p->set_email(spinnaker::String(j, "email"));
  AddStrings(spinnaker::Object(j, "config"), "applications",
             p->mutable_applications());
  p->mutable_body()->set_json(o.body);
  FillAudit(o, p->mutable_audit());
}

void ToServiceAccount(const StoredObject& o, v1::ServiceAccount* s) {
  Json j = Body(o);
  s->set_name(o.name);
  AddStrings(j, "memberOf", s->mutable_member_of());
  s->mutable_body()->set_json(o.body);
  FillAudit(o, s->mutable_audit());
}

void ToPermission(const StoredObject& o, v1::ApplicationPermission* p) {
  Json j = Body(o);
  p->set_application(o.id);
  const Json permissions = spinnaker::Object(j, "permissions");
  AddStrings(permissions, "READ", p->mutable_read_roles());
  AddStrings(permissions, "WRITE", p->mutable_write_roles());
  AddStrings(permissions, "EXECUTE", p->mutable_execute_roles());
  p->mutable_body()->set_json(o.body);
  FillAudit(o, p->mutable_audit());
}

void ToTemplate(const StoredObject& o, v1::PipelineTemplate* t) {
  Json j = Body(o);
  t->set_id(spinnaker::String(j, "id", o.id));
  auto colon = o.id.find(':');
  if (colon != std::string::npos) t->set_tag(o.id.substr(colon + 1));
  const Json metadata = spinnaker::Object(j, "metadata");
  t->set_name(spinnaker::String(metadata, "name"));
  AddStrings(metadata, "scopes", t->mutable_scopes());
  t->mutable_body()->set_json(o.body);
  FillAudit(o, t->mutable_audit());
}

// Global notifications and an application's are stored apart even for an
// application named "global".
std::string NotificationKey(bool global, const std::string& application) {
  return global ? "global" : "application:" + application;
}

// The stored key of an object addressed by a public key (notifications:
// application name).
std::string StoredKey(v1::ObjectType type, const std::string& key) {
  if (type == v1::OBJECT_TYPE_NOTIFICATION)
    return NotificationKey(key == "global", key);
  return key;
}

std::string TemplateKey(const std::string& id, const std::string& tag) {
  return tag.empty() ? id : absl::StrCat(id, ":", tag);
}

}  // namespace gennaker::front50
