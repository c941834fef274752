// Conversions between front50's stored objects (JSON bodies) and the messages
// of gennaker.front50.v1, and the stored keys of objects addressed by public
// keys. Reads of the JSON are type-checked: an oddly typed field never makes a
// conversion fail.
#ifndef GENNAKER_SERVICES_FRONT50_FRONT50_CONVERT_H_
#define GENNAKER_SERVICES_FRONT50_FRONT50_CONVERT_H_

#include <string>

#include "gennaker/front50/v1/front50.pb.h"
#include "services/front50/store/object_store.h"

namespace gennaker::front50 {

void FillAudit(const StoredObject& o, common::v1::AuditInfo* audit);
void ToPipeline(const StoredObject& o, v1::Pipeline* p);
void ToApplication(const StoredObject& o, v1::Application* a);
void ToVersion(const StoredObject& o, v1::ObjectVersion* v);
void ToProject(const StoredObject& o, v1::Project* p);
void ToServiceAccount(const StoredObject& o, v1::ServiceAccount* s);
void ToPermission(const StoredObject& o, v1::ApplicationPermission* p);
void ToTemplate(const StoredObject& o, v1::PipelineTemplate* t);

// Global notifications and an application's are stored apart, even for an
// application named "global".
std::string NotificationKey(bool global, const std::string& application);
// The stored key of an object addressed by its public key (notifications: app
// name).
std::string StoredKey(v1::ObjectType type, const std::string& key);
// "<id>" or "<id>:<tag>".
std::string TemplateKey(const std::string& id, const std::string& tag);

}  // namespace gennaker::front50

#endif  // GENNAKER_SERVICES_FRONT50_FRONT50_CONVERT_H_
